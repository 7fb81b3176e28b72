/* vmcloak delimg: delete an image row and its disk (and, with --force, its snapshots). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"

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

        struct repo *repo;
        if (global_repo(&repo, true) < 0)
                return 1;
        _cleanup_image_ struct image *img = NULL;
        r = repo_image_get(repo, name, &img);
        if (r == -ENOENT) {
                log_error("no image named '%s' (see 'vmcloak list images')", name);
                return 1;
        }
        if (r < 0)
                return 1;
        struct snapshot **snaps;
        size_t n;
        if (repo_snapshot_list(repo, img->id, &snaps, &n) < 0)
                return 1;
        if (n > 0 && !force) {
                log_error("image '%s' still has %zu snapshot VM%s (first: %s); delete them with 'vmcloak delvm' "
                          "or pass --force to delete them too", name, n, n == 1 ? "" : "s", snaps[0]->vmname);
                snapshot_list_free(snaps, n);
                return 1;
        }
        /* Rows first, in one transaction; files after, so a failure never leaves a row
         * that points at a deleted disk. */
        r = repo_begin(repo);
        for (size_t i = 0; r == 0 && i < n; i++)
                r = repo_snapshot_delete(repo, snaps[i]->id);
        if (r == 0)
                r = repo_image_delete(repo, img->id);
        if (r == 0)
                r = repo_commit(repo);
        else
                repo_rollback(repo);
        if (r < 0) {
                snapshot_list_free(snaps, n);
                return 1;
        }
        int rc = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *dir = paths_vm_dir(snaps[i]->vmname);
                if (dir && rm_rf(dir) < 0) {
                        log_warning_errno(-errno, "could not remove %s: %m; remove it by hand", dir);
                        rc = 1;
                }
                log_info("Deleted snapshot VM %s", snaps[i]->vmname);
        }
        snapshot_list_free(snaps, n);
        if (img->path && unlink_if_exists(img->path) < 0) {
                log_warning_errno(-errno, "image row deleted, but its disk %s could not be removed: %m", img->path);
                rc = 1;
        }
        log_info("Deleted image %s", name);
        return rc;
}
