/* vmcloak createiso: build the unattended install ISO only. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"

static const struct optdef opts[] = {
        VM_ATTR_OPTS,
        ISO_ATTR_OPTS,
        { NULL },
};

static const struct cmd_spec spec = {
        "createiso", "[OPTIONS] ISO_PATH", "Build the unattended install ISO only (no VM, no image row).",
        "--network, --gateway and --ip are required.", opts, 1, 1,
};

int cmd_createiso(int argc, char **argv) {
        return cmd_not_implemented(&spec, argc, argv, "install media come with the guest issues");
}
