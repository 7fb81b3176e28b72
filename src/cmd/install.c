/* vmcloak install: boot an image and install dependencies through the agent. */
#include <errno.h>
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/validate.h"
#include "deps/steps.h"
#include "pipeline/install.h"

static struct install_request req;
static struct install_plan plan;
static bool arg_recommended;

static const struct optdef opts[] = {
        VM_DISPLAY_OPTS(req.vm),
        OPT_BOOL(0, "force-reinstall", &req.force_reinstall, "Install dependencies already recorded as installed"),
        OPT_BOOL(0, "no-machine-start", &req.no_machine_start, "Use an already running VM; do not start or stop it"),
        OPT_BOOL('r', "recommended", &arg_recommended, "Install the OS's recommended set first"),
        VM_RUN_OPTS(req.vm),
        { NULL },
};

static const struct cmd_spec spec = {
        "install", "[OPTIONS] NAME [DEPENDENCY...]", "Boot image NAME and install dependencies into it.",
        "A DEPENDENCY is name, name:version, pkg.key=value (a setting), or a generic step:\n"
        "  file:SRC:DEST     upload the host file SRC to DEST in the guest\n"
        "  run:COMMAND       run COMMAND in the guest (fails on a non-zero exit code)\n"
        "  script:PATH       upload the host script PATH and run it",
        opts, 1, -1,
};

static int check(const struct args *a) {
        req.name = a->pos[0];
        req.plan = &plan;
        if (vcheck_name(req.name, "image name") < 0 || install_plan_parse(a->pos + 1, &plan) < 0)
                return -EINVAL;
        if (arg_recommended) {
                log_error("--recommended installs the dependency catalog's recipe, which is not implemented yet; "
                          "nothing was changed");
                return -EOPNOTSUPP;
        }
        if (plan.n_steps == 0) {
                log_error("nothing to install: name dependencies or steps (file:SRC:DEST, run:COMMAND, script:PATH)");
                return -EINVAL;
        }
        return vm_options_check(&req.vm) < 0 ? -EINVAL : 0;
}

static int run(const struct cmd_env *env) {
        int r = pipeline_install(env->pl, &req);
        return r == -EOPNOTSUPP ? EXIT_USAGE : exit_code_for(r);
}

static void done(void) { install_plan_free(&plan); }

const struct cmd_def cmd_install = { .spec = &spec, .check = check, .run = run, .done = done };
