/* vmcloak cleanup: remove what an interrupted run of vmcloak left for a VM. */
#include <stddef.h>

#include <strings.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/validate.h"
#include "pipeline/cleanup.h"

static const struct optdef opts[] = {
        { "vm", 0, ARG_VALUE, "MACHINERY", "qemu", "Machinery (only qemu)" },
        { NULL },
};

static const struct cmd_spec spec = {
        "cleanup", "[--vm qemu] NAME", "Remove what a killed vmcloak left for image or VM NAME.",
        "Kills QEMU processes still using NAME's disks (unless a running vmcloak owns them), and\n"
        "removes install/modify/restore overlays of runs that are gone, init work folders, and a\n"
        "VM folder that no snapshot VM row names.", opts, 1, 1,
};

int cmd_cleanup(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        const char *name = a.pos[0], *vm = args_get_or(&a, "vm");
        int rc = EXIT_USAGE;
        if (strcasecmp(vm, "qemu") != 0)
                log_error("--vm %s is not supported: only qemu", vm);
        else if (vcheck_name(name, "name") == 0) {
                struct pipeline *pl;
                rc = global_pipeline(&pl, false) < 0 ? 1 : exit_code_for(pipeline_cleanup(pl, name));
        }
        args_free(&a);
        return rc;
}
