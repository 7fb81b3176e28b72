/* vmcloak delimg: delete an image row and its disk (and, with --force, its snapshots). */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/validate.h"
#include "pipeline/image.h"

static const struct optdef opts[] = {
        { "force", 'f', ARG_FLAG, NULL, NULL, "Also delete the snapshot VMs made from it" },
        { NULL },
};

static const struct cmd_spec spec = {
        "delimg", "[--force] NAME", "Delete image NAME: its row in repository.db and its disk file.",
        "Refuses while snapshot VMs depend on the image, unless --force (which deletes them too).", opts, 1, 1,
};

int cmd_delimg(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        const char *name = a.pos[0];
        bool force = args_flag(&a, "force");
        args_free(&a);
        if (vcheck_name(name, "image name") < 0)
                return EXIT_USAGE;
        struct pipeline *pl;
        if (global_pipeline(&pl, true) < 0)
                return 1;
        return exit_code_for(pipeline_delete_image(pl, name, force));
}
