/* vmcloak install: boot an image and install dependencies through the agent. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"

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
        return cmd_not_implemented(&spec, argc, argv, "the install pipeline comes with the pipeline issue");
}
