/* vmcloak clone: copy an image's disk and row under a new name (with its own MAC). */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "pipeline/image.h"

static const struct posdef pos[] = {
        { "NAME", check_image_existing },
        { "OUTNAME", check_image_new },
        { NULL },
};

static const struct cmd_spec spec = {
        "clone", "NAME OUTNAME", "Copy image NAME to a new image OUTNAME.",
        "The copy keeps the guest's IP address (it is configured inside the guest) but gets a new\n"
        "MAC address, so the two images never share one.", NULL, 2, 2, .pos = pos,
};

static int run(const struct cmd_env *env) {
        return exit_code_for(pipeline_clone_image(env->pl, env->args->pos[0], env->args->pos[1]));
}

const struct cmd_def cmd_clone = { .spec = &spec, .run = run };
