/* vmcloak delvm: delete a snapshot VM's row and its folder. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "pipeline/image.h"

static bool force;

static const struct optdef opts[] = {
        OPT_BOOL(0, "force", &force,
                 "A VM on a libvirt host that cannot be reached: forget it anyway (its domain and volumes stay there)"),
        { NULL },
};

static const struct posdef pos[] = {
        { "NAME", check_vm_existing },
        { NULL },
};

static const struct cmd_spec spec = {
        "delvm", "[--force] NAME", "Delete snapshot VM NAME: its row and ~/.vmcloak/vms/qemu/NAME/.",
        "A VM on a libvirt host (snapshot --connect): its domain with its snapshot, its overlay volume, and\n"
        "the image's volume when no other VM there uses it. When the host cannot be reached the VM is\n"
        "kept, unless --force.",
        opts, 1, 1, .pos = pos,
};

static int run(const struct cmd_env *env) { return exit_code_for(pipeline_delete_vm(env->pl, env->args->pos[0], force)); }

const struct cmd_def cmd_delvm = { .spec = &spec, .run = run };
