/* vmcloak restore: restore a snapshot VM the way Cuckoo3 does and time it. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"

static const struct optdef opts[] = {
        { "keep", 0, ARG_FLAG, NULL, NULL, "Leave the restored VM running (stop it with Ctrl-C)" },
        { "vm-visible", 0, ARG_FLAG, NULL, NULL, "Show the VM's screen (-display gtk)" },
        { "vrde", 0, ARG_FLAG, NULL, NULL, "Enable VNC" },
        { "vrde-port", 0, ARG_VALUE, "N", "3389", "VNC display number; QEMU listens on TCP 5900+N" },
        { "vnc-listen", 0, ARG_VALUE, "ADDR", "127.0.0.1", "Address VNC listens on" },
        VM_RUN_OPTS,
        { NULL },
};

static const struct cmd_spec spec = {
        "restore", "[OPTIONS] VMNAME",
        "Restore snapshot VMNAME (disposable overlay + memory file), wait for its agent, report the time.",
        NULL, opts, 1, 1,
};

int cmd_restore(int argc, char **argv) {
        return cmd_not_implemented(&spec, argc, argv, "the pipeline comes with the pipeline issue");
}
