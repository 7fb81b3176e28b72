/* vmcloak install: boot an image and install dependencies through the agent. */
#include <stddef.h>

#include <errno.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/validate.h"
#include "deps/steps.h"
#include "pipeline/install.h"

static const struct optdef opts[] = {
        { "vm-visible", 0, ARG_FLAG, NULL, NULL, "Show the VM's screen (-display gtk)" },
        { "vrde", 0, ARG_FLAG, NULL, NULL, "Enable VNC" },
        { "vrde-port", 0, ARG_VALUE, "N", "3389", "VNC display number; QEMU listens on TCP 5900+N" },
        { "vnc-listen", 0, ARG_VALUE, "ADDR", "127.0.0.1", "Address VNC listens on" },
        { "force-reinstall", 0, ARG_FLAG, NULL, NULL, "Install dependencies already recorded as installed" },
        { "no-machine-start", 0, ARG_FLAG, NULL, NULL, "Use an already running VM; do not start or stop it" },
        { "recommended", 'r', ARG_FLAG, NULL, NULL, "Install the OS's recommended set first" },
        VM_RUN_OPTS,
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

int cmd_install(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        struct install_plan plan = { 0 };
        struct install_request q = { .name = a.pos[0], .plan = &plan, .force_reinstall = args_flag(&a, "force-reinstall"),
                                     .no_machine_start = args_flag(&a, "no-machine-start") };
        int rc = EXIT_USAGE;
        if (vcheck_name(q.name, "image name") < 0 || install_plan_parse(a.pos + 1, &plan) < 0 ||
            vm_options_parse(&a, &q.vm) < 0)
                goto out;
        if (args_flag(&a, "recommended")) {
                log_error("--recommended installs the dependency catalog's recipe, which is not implemented yet; "
                          "nothing was changed");
                goto out;
        }
        if (plan.n_steps == 0) {
                log_error("nothing to install: name dependencies or steps (file:SRC:DEST, run:COMMAND, script:PATH)");
                goto out;
        }
        struct pipeline *pl;
        rc = 1;
        if (global_pipeline(&pl, true) < 0)
                goto out;
        r = pipeline_install(pl, &q);
        rc = r == -EOPNOTSUPP ? EXIT_USAGE : exit_code_for(r);
out:
        install_plan_free(&plan);
        args_free(&a);
        return rc;
}
