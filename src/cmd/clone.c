/* vmcloak clone: copy an image's disk and row under a new name (with its own MAC). */
#include <errno.h>
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "core/validate.h"
#include "pipeline/image.h"

static const struct cmd_spec spec = {
        "clone", "NAME OUTNAME", "Copy image NAME to a new image OUTNAME.",
        "The copy keeps the guest's IP address (it is configured inside the guest) but gets a new\n"
        "MAC address, so the two images never share one.", NULL, 2, 2,
};

static int check(const struct args *a) {
        if (vcheck_name(a->pos[0], "image name") < 0 || vcheck_name(a->pos[1], "image name") < 0)
                return -EINVAL;
        return 0;
}

static int run(const struct cmd_env *env) {
        return exit_code_for(pipeline_clone_image(env->pl, env->args->pos[0], env->args->pos[1]));
}

const struct cmd_def cmd_clone = { .spec = &spec, .check = check, .run = run };
