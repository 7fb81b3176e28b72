/* vmcloak cleanup: remove what an interrupted run of vmcloak left for a VM. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"

static const struct optdef opts[] = {
        { "vm", 0, ARG_VALUE, "MACHINERY", "qemu", "Machinery (only qemu)" },
        { NULL },
};

static const struct cmd_spec spec = {
        "cleanup", "[--vm qemu] NAME", "Remove leftovers (processes, temporary files) of a VM.", NULL, opts, 1, 1,
};

int cmd_cleanup(int argc, char **argv) {
        return cmd_not_implemented(&spec, argc, argv, "comes with the pipeline issue");
}
