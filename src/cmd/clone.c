/* vmcloak clone: copy an image's disk and row under a new name (with its own MAC). */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/validate.h"
#include "pipeline/image.h"

static const struct cmd_spec spec = {
        "clone", "NAME OUTNAME", "Copy image NAME to a new image OUTNAME.",
        "The copy keeps the guest's IP address (it is configured inside the guest) but gets a new\n"
        "MAC address, so the two images never share one.", NULL, 2, 2,
};

int cmd_clone(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        const char *name = a.pos[0], *out = a.pos[1];
        args_free(&a);
        if (vcheck_name(name, "image name") < 0 || vcheck_name(out, "image name") < 0)
                return EXIT_USAGE;
        struct pipeline *pl;
        if (global_pipeline(&pl, true) < 0)
                return 1;
        return exit_code_for(pipeline_clone_image(pl, name, out));
}
