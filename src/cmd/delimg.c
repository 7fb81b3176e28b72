/* vmcloak delimg: delete an image row and its disk (and, with --force, its snapshots). */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "pipeline/image.h"

static bool arg_force;

static const struct optdef opts[] = {
        OPT_BOOL('f', "force", &arg_force, "Also delete the snapshot VMs made from it"),
        { NULL },
};

static const struct posdef pos[] = {
        { "NAME", check_image_existing },
        { NULL },
};

static const struct cmd_spec spec = {
        "delimg", "[--force] NAME", "Delete image NAME: its row in repository.db and its disk file.",
        "Refuses while snapshot VMs depend on the image, unless --force (which deletes them too).", opts, 1, 1,
        .pos = pos,
};

static int run(const struct cmd_env *env) {
        return exit_code_for(pipeline_delete_image(env->pl, env->args->pos[0], arg_force));
}

const struct cmd_def cmd_delimg = { .spec = &spec, .run = run };
