/* vmcloak doctor: check that this host can build and run vmcloak VMs. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"

static const struct optdef opts[] = {
        { "bridge", 0, ARG_VALUE, "NAME", NULL, "Also check bridge mode with this bridge" },
        { NULL },
};

static const struct cmd_spec spec = {
        "doctor", "[--bridge NAME]", "Check QEMU, KVM, disks, agent binaries and (with --bridge) networking.",
        NULL, opts, 0, 0,
};

int cmd_doctor(int argc, char **argv) {
        return cmd_not_implemented(&spec, argc, argv, "the checks come with the QEMU and bridge issues");
}
