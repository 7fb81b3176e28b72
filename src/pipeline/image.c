/* Deleting images and snapshot VMs, and copying images: rows and files kept consistent. */
#include "pipeline/image.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"

int image_get(struct repo *repo, const char *name, struct image **ret) {
        int r = repo_image_get(repo, name, ret);
        if (r == -ENOENT)
                log_error("no image named '%s' (see 'vmcloak list images')", name);
        return r;
}

int image_refuse_foreign(const char *what, const char *name, const char *vm, const char *why) {
        if (!vm || streq(vm, "qemu"))
                return 0;
        log_error("%s %s belongs to %s, not QEMU, so vmcloak leaves it as it is (%s); use VMCloak for it", what,
                  name, vm, why);
        return -EOPNOTSUPP;
}

int pipeline_delete_image(struct pipeline *pl, const char *name, bool with_snapshots) {
        struct repo *repo = pl->repo;
        _cleanup_image_ struct image *img = NULL;
        int r = image_get(repo, name, &img);
        if (r < 0)
                return r;
        if ((r = image_refuse_foreign("image", name, img->vm,
                                      "deleting it here would leave its machine registered there")) < 0)
                return r;
        struct snapshot **snaps;
        size_t n;
        if ((r = repo_snapshot_list(repo, img->id, &snaps, &n)) < 0)
                return r;
        if (n > 0 && !with_snapshots) {
                log_error("image '%s' still has %zu snapshot VM%s (first: %s); delete them with 'vmcloak delvm' "
                          "or pass --force to delete them too", name, n, n == 1 ? "" : "s", snaps[0]->vmname);
                snapshot_list_free(snaps, n);
                return -EBUSY;
        }
        /* Rows first, in one transaction; files after, so a failure never leaves a row that points
         * at a deleted disk. */
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
                return r;
        }
        int rc = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *dir = paths_vm_dir(snaps[i]->vmname);
                if (dir && rm_rf(dir) < 0) {
                        log_warning_errno(-errno, "could not remove %s: %m; remove it by hand", dir);
                        rc = -EIO;
                }
                log_info("Deleted snapshot VM %s", snaps[i]->vmname);
        }
        snapshot_list_free(snaps, n);
        if (img->path && unlink_if_exists(img->path) < 0) {
                log_warning_errno(-errno, "image row deleted, but its disk %s could not be removed: %m", img->path);
                rc = -EIO;
        }
        log_info("Deleted image %s", name);
        return rc;
}

int pipeline_delete_vm(struct pipeline *pl, const char *vmname) {
        struct repo *repo = pl->repo;
        _cleanup_snapshot_ struct snapshot *s = NULL;
        int r = repo_snapshot_get(repo, vmname, &s);
        if (r == -ENOENT) {
                _cleanup_image_ struct image *img = NULL;
                if (repo_image_get(repo, vmname, &img) == 0)
                        log_error("'%s' is an image, not a snapshot VM; delete it with 'vmcloak delimg %s'", vmname,
                                  vmname);
                else
                        log_error("not found: %s (see 'vmcloak list snapshots')", vmname);
                return r;
        }
        if (r < 0)
                return r;
        if ((r = image_refuse_foreign("snapshot VM", vmname, s->image_vm,
                                      "deleting it here would leave its machine registered there")) < 0)
                return r;
        if ((r = repo_snapshot_delete(repo, s->id)) < 0)
                return r;
        _cleanup_free_ char *dir = paths_vm_dir(vmname);
        if (!dir)
                return log_oom();
        r = rm_rf(dir);
        if (r < 0)
                return log_warning_errno(r, "VM row deleted, but %s could not be removed: %m", dir);
        log_info("Deleted snapshot VM %s", vmname);
        return 0;
}

int pipeline_clone_image(struct pipeline *pl, const char *name, const char *newname) {
        struct repo *repo = pl->repo;
        _cleanup_image_ struct image *img = NULL;
        int r = image_get(repo, name, &img);
        if (r < 0)
                return r;
        if ((r = image_refuse_foreign("image", name, img->vm, "its disk is no QEMU disk to copy")) < 0)
                return r;
        _cleanup_image_ struct image *exists = NULL;
        if (repo_image_get(repo, newname, &exists) == 0) {
                log_error("an image named '%s' already exists; pick another name or 'vmcloak delimg %s'", newname,
                          newname);
                return -EEXIST;
        }
        _cleanup_unlink_ char *dst = paths_image_disk(newname);
        if (!dst)
                return log_oom();
        if (path_exists(dst)) {
                log_error("%s already exists but no image row names it; move it away first", dst);
                free(TAKE_PTR(dst)); /* not ours: keep it */
                return -EEXIST;
        }
        log_info("Copying %s to %s ...", img->path, dst);
        r = copy_file(img->path, dst, 0644);
        if (r < 0)
                log_error_errno(r, "cannot copy %s to %s: %m", img->path, dst);
        if (r == -EEXIST)
                free(TAKE_PTR(dst)); /* another run made it meanwhile: not ours to remove */
        if (r < 0)
                return r;
        if (interrupted()) {
                log_error("clone of %s interrupted; nothing was copied", name);
                return -ECANCELED;
        }
        uint8_t mac[6];
        char macs[18];
        random_vendor_mac(mac);
        format_mac(mac, macs);
        if (free_and_strdup(&img->name, newname) < 0 || free_and_strdup(&img->path, dst) < 0 ||
            free_and_strdup(&img->mode, "normal") < 0 || free_and_strdup(&img->mac, macs) < 0 ||
            free_and_strdup(&img->created_at, NULL) < 0)
                return log_oom();
        r = repo_image_insert(repo, img);
        if (r < 0) {
                if (r == -EEXIST)
                        log_error("an image named '%s' was created meanwhile; nothing copied", newname);
                return r;
        }
        DISARM(dst);
        log_info("Cloned image %s to %s (MAC %s)", name, newname, macs);
        return 0;
}
