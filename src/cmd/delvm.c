/* vmcloak delvm: delete a snapshot VM's row and its folder. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/validate.h"
#include "pipeline/image.h"

static const struct cmd_spec spec = {
        "delvm", "NAME", "Delete snapshot VM NAME: its row and ~/.vmcloak/vms/qemu/NAME/.", NULL, NULL, 1, 1,
};

int cmd_delvm(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        const char *name = a.pos[0];
        args_free(&a);
        if (vcheck_name(name, "VM name") < 0)
                return EXIT_USAGE;
        struct pipeline *pl;
        if (global_pipeline(&pl, true) < 0)
                return 1;
        return exit_code_for(pipeline_delete_vm(pl, name));
}
