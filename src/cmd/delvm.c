/* vmcloak delvm: delete a snapshot VM's row and its folder. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "pipeline/image.h"

static const struct posdef pos[] = {
        { "NAME", check_vm_existing },
        { NULL },
};

static const struct cmd_spec spec = {
        "delvm", "NAME", "Delete snapshot VM NAME: its row and ~/.vmcloak/vms/qemu/NAME/.", NULL, NULL, 1, 1,
        .pos = pos,
};

static int run(const struct cmd_env *env) { return exit_code_for(pipeline_delete_vm(env->pl, env->args->pos[0])); }

const struct cmd_def cmd_delvm = { .spec = &spec, .run = run };
