/* vmcloak delvm: delete a snapshot VM's row and its folder. */
#include <stddef.h>

#include <errno.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"

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
        struct repo *repo;
        if (global_repo(&repo, true) < 0)
                return 1;
        _cleanup_snapshot_ struct snapshot *s = NULL;
        r = repo_snapshot_get(repo, name, &s);
        if (r == -ENOENT) {
                _cleanup_image_ struct image *img = NULL;
                if (repo_image_get(repo, name, &img) == 0)
                        log_error("'%s' is an image, not a snapshot VM; delete it with 'vmcloak delimg %s'", name,
                                  name);
                else
                        log_error("not found: %s (see 'vmcloak list snapshots')", name);
                return 1;
        }
        if (r < 0)
                return 1;
        if (repo_snapshot_delete(repo, s->id) < 0)
                return 1;
        _cleanup_free_ char *dir = paths_vm_dir(name);
        if (!dir)
                return 1;
        r = rm_rf(dir);
        if (r < 0) {
                log_warning_errno(r, "VM row deleted, but %s could not be removed: %m", dir);
                return 1;
        }
        log_info("Deleted snapshot VM %s", name);
        return 0;
}
