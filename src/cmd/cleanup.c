/* vmcloak cleanup: remove what an interrupted run of vmcloak left for a VM. */
#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "core/log.h"
#include "pipeline/cleanup.h"

static const char *arg_vm;

static int check_machinery(const struct args *a, const char *value, const char *what) {
        (void)a;
        if (strcasecmp(value, "qemu") != 0) {
                log_error("%s %s is not supported: only qemu", what, value);
                return -EINVAL;
        }
        return 0;
}

static const struct optdef opts[] = {
        OPT_STRING(0, "vm", &arg_vm, "MACHINERY", "Machinery (only qemu)", .def_value = "qemu",
                   .check = check_machinery),
        { NULL },
};

static const struct posdef pos[] = {
        { "NAME", check_existing },
        { NULL },
};

static const struct cmd_spec spec = {
        "cleanup", "[--vm qemu] NAME", "Remove what a killed vmcloak left for image or VM NAME.",
        "Kills QEMU processes still using NAME's disks (unless a running vmcloak owns them), and\n"
        "removes install/modify/restore overlays of runs that are gone, init work folders, a fleet's\n"
        "template (~/.vmcloak/fleet/IMAGE.template-PID) of a snapshot of image NAME that was killed\n"
        "(the next snapshot of that image removes it too), and a VM folder that no snapshot VM row\n"
        "names if it holds only what a snapshot cut short leaves. As root it also removes image NAME's\n"
        "temporary internet (vmcloak internet off NAME: what NAME asked for, not what another image\n"
        "of the same address or its bare address asked for).", opts, 1, 1,
        .pos = pos,
};

static int run(const struct cmd_env *env) { return exit_code_for(pipeline_cleanup(env->pl, env->args->pos[0])); }

const struct cmd_def cmd_cleanup = { .spec = &spec, .run = run };
