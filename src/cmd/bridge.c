/* vmcloak bridge (also vmcloak-qemubridge): create the host bridge and set up qemu-bridge-helper. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"

static const struct optdef opts[] = {
        { "delete", 0, ARG_FLAG, NULL, NULL, "Remove the bridge" },
        { "setup-helper", 0, ARG_FLAG, NULL, NULL, "Also allow the bridge in qemu-bridge-helper's ACL and make it setuid" },
        { NULL },
};

static const struct cmd_spec spec = {
        "bridge", "[OPTIONS] [BRIDGE [CIDR]]",
        "Create bridge BRIDGE with address CIDR (root). Defaults: qemubr0 192.168.30.1/24.", NULL, opts, 0, 2,
};

int cmd_bridge(int argc, char **argv) {
        return cmd_not_implemented(&spec, argc, argv, "bridge creation comes with the bridge issue");
}
