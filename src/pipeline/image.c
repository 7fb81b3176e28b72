/* Deleting images and snapshot VMs, and copying images: rows and files kept consistent. */
#include "pipeline/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/hashmemo.h"
#include "core/interrupt.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "pipeline/fwstate.h"
#include "pipeline/imagehw.h"

/* Machines not started by a running vmcloak that use path (e.g. Cuckoo3 restoring a VM): a
 * delete would pull the files from under them. The locks cover vmcloak's own runs. */
static int files_unused(struct pipeline *pl, const char *path) {
        if (!pl->conn && pipeline_connect(pl, VM_ACCEL_TCG) < 0)
                return 0; /* no QEMU on this host: nothing can be using it */
        _cleanup_strv_free_ char **users = NULL;
        int r = vm_find_users(pl->conn, path, &users);
        if (r < 0 || !users)
                return 0;
        log_error("%s is in use by %s; stop %s first", path, users[0], strv_length(users) > 1 ? "them" : "it");
        return -EBUSY;
}

/* When the last snapshot VM of an image is gone, nothing is an overlay on it any more: it may
 * change again (install, modify). Skipped while another vmcloak uses the image (a snapshot may
 * be making VMs of it right now). */
static void thaw_image(struct repo *repo, int64_t image_id) {
        struct image **imgs = NULL;
        size_t ni = 0;
        if (repo_image_list(repo, &imgs, &ni) < 0)
                return;
        struct image *img = NULL;
        for (size_t i = 0; i < ni && !img; i++)
                if (imgs[i]->id == image_id)
                        img = imgs[i];
        struct snapshot **snaps = NULL;
        size_t ns = 0;
        struct name_lock *lock = NULL;
        if (img && img->mode && streq(img->mode, "multiattach") && repo_snapshot_list(repo, image_id, &snaps, &ns) == 0 &&
            ns == 0 && name_lock(LOCK_IMAGE, img->name, LOCK_EXCLUSIVE, &lock, NULL) == 0) {
                char *old = img->mode;
                img->mode = (char *)"normal";
                if (repo_image_update(repo, img) == 0)
                        log_info("Image %s has no snapshot VMs any more: it can change again (install, modify)",
                                 img->name);
                img->mode = old;
        }
        name_unlock(lock);
        snapshot_list_free(snaps, ns);
        image_list_free(imgs, ni);
}

int image_get(struct repo *repo, const char *name, struct image **ret) {
        int r = repo_image_get(repo, name, ret);
        if (r == -ENOENT)
                log_error("no image named '%s' (see 'vmcloak list images')", name);
        return r;
}

/* Exclusive locks on the VMs about to go: none of them may be in use (a restore, a snapshot). */
static int lock_vms(struct snapshot **snaps, size_t n, struct name_lock **locks) {
        for (size_t i = 0; i < n; i++) {
                int r = name_lock_or_complain(LOCK_VM, snaps[i]->vmname, LOCK_EXCLUSIVE, "in use", &locks[i]);
                if (r < 0)
                        return r;
        }
        return 0;
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
        _cleanup_name_lock_ struct name_lock *lock = NULL;
        int r = name_lock_or_complain(LOCK_IMAGE, name, LOCK_EXCLUSIVE, "in use", &lock);
        if (r < 0)
                return r;
        _cleanup_image_ struct image *img = NULL;
        r = image_get(repo, name, &img);
        if (r < 0)
                return r;
        if ((r = image_refuse_foreign("image", name, img->vm,
                                      "deleting it here would leave its machine registered there")) < 0)
                return r;
        struct snapshot **snaps;
        size_t n;
        if ((r = repo_snapshot_list(repo, img->id, &snaps, &n)) < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (snaps[i]->libvirt_uri) {
                        log_error("image '%s' has snapshot VM %s on libvirt host %s; delete its VMs there with "
                                  "'vmcloak delvm' first (it removes their domains and volumes)", name,
                                  snaps[i]->vmname, snaps[i]->libvirt_uri);
                        snapshot_list_free(snaps, n);
                        return -EBUSY;
                }
        if (n > 0 && !with_snapshots) {
                log_error("image '%s' still has %zu snapshot VM%s (first: %s); delete them with 'vmcloak delvm' "
                          "or pass --force to delete them too", name, n, n == 1 ? "" : "s", snaps[0]->vmname);
                snapshot_list_free(snaps, n);
                return -EBUSY;
        }
        _cleanup_free_ struct name_lock **vm_locks = calloc(n + 1, sizeof *vm_locks);
        r = vm_locks ? lock_vms(snaps, n, vm_locks) : log_oom();
        if (r == 0)
                r = files_unused(pl, img->path);
        if (r < 0) {
                for (size_t i = 0; vm_locks && i < n; i++)
                        name_unlock(vm_locks[i]);
                snapshot_list_free(snaps, n);
                return r;
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
        for (size_t i = 0; i < n; i++)
                name_unlock(vm_locks[i]);
        if (img->path && unlink_if_exists(img->path) < 0) {
                log_warning_errno(-errno, "image row deleted, but its disk %s could not be removed: %m", img->path);
                rc = -EIO;
        }
        if (img->path)
                fwstate_remove(img->path);
        log_info("Deleted image %s", name);
        return rc;
}

bool libvirt_volume_in_use(struct repo *repo, struct vm_conn *c, const char *uri, const char *pool, const char *base,
                           int64_t except_id) {
        struct snapshot **rows = NULL;
        size_t n = 0;
        bool used = true;   /* when the rows cannot be read, leave the volume */
        if (repo_snapshot_list(repo, -1, &rows, &n) == 0) {
                used = false;
                for (size_t i = 0; i < n && !used; i++)
                        used = rows[i]->id != except_id && streq_ptr(rows[i]->libvirt_uri, uri) &&
                               streq_ptr(rows[i]->libvirt_pool, pool) && streq_ptr(rows[i]->libvirt_base, base);
        }
        snapshot_list_free(rows, n);
        if (used || !c)
                return used;
        unsigned users = 0;
        int r = vm_volume_users(c, base, &users);
        if (r == -ENOENT)
                return false;
        if (r < 0)
                return true;
        if (users > 0)
                log_info("volume %s kept on %s: %u volume(s) of pool %s are backed by it", base, uri, users, pool);
        return users > 0;
}

/* A VM that lives on a libvirt host (issue 14): its domain (with its snapshot), its overlay
 * volume, and the image's volume when no other VM on that host uses it, then its row and log
 * folder. A host that cannot be reached keeps the row (one line) unless force: then only the row
 * and the folder go, and the line names what is left there. */
static int delete_libvirt_vm(struct pipeline *pl, const struct snapshot *s, bool force) {
        if (!pl->host_driver) {
                log_error("snapshot VM %s lives on libvirt host %s, and this vmcloak has no libvirt driver", s->vmname,
                          s->libvirt_uri);
                return -EOPNOTSUPP;
        }
        struct vm_conn_opts o = { .accel = VM_ACCEL_AUTO, .uri = s->libvirt_uri, .pool = s->libvirt_pool };
        _cleanup_(vm_conn_closep) struct vm_conn *c = NULL;
        int r = vm_conn_open(pl->host_driver, &o, &c);
        if (r < 0 && !force) {
                log_error("snapshot VM %s kept: its host %s cannot be reached (above); try again, or 'vmcloak delvm "
                          "--force %s' to forget it (its domain and volumes stay there)", s->vmname, s->libvirt_uri,
                          s->vmname);
                return r;
        }
        bool foreign = false;
        if (c && s->libvirt_uuid) {
                /* Only the domain vmcloak made: one of that name with another UUID is someone
                 * else's (vmcloak's was removed by hand and the name reused). */
                struct vm_domain_info info;
                r = vm_conn_domain_info(c, s->vmname, &info);
                if (r < 0 && r != -ENOENT && !force)
                        return r;
                if (r == 0 && !streq(info.uuid, s->libvirt_uuid)) {
                        if (!force) {
                                log_error("snapshot VM %s kept: domain %s on %s has UUID %s, not %s (the one vmcloak "
                                          "made): it is not vmcloak's; 'vmcloak delvm --force %s' forgets the VM and "
                                          "leaves that domain and the volumes alone", s->vmname, s->vmname,
                                          s->libvirt_uri, info.uuid, s->libvirt_uuid, s->vmname);
                                return -EEXIST;
                        }
                        log_warning("%s: forgetting it; domain %s on %s is another one (UUID %s), left alone with "
                                    "volume %s", s->vmname, s->vmname, s->libvirt_uri, info.uuid,
                                    strempty(s->libvirt_volume));
                        foreign = true;
                }
        }
        if (c && !foreign) {
                r = vm_conn_domain_remove(c, s->vmname);
                if (r < 0 && r != -ENOENT && !force)
                        return r;
                if (s->libvirt_volume && (r = vm_volume_delete(c, s->libvirt_volume)) < 0 && r != -ENOENT && !force)
                        return r;
                if (s->libvirt_base && !libvirt_volume_in_use(pl->repo, c, s->libvirt_uri, s->libvirt_pool, s->libvirt_base, s->id) &&
                    (r = vm_volume_delete(c, s->libvirt_base)) == 0)
                        log_info("Removed volume %s from %s: no other VM uses it", s->libvirt_base, s->libvirt_uri);
        } else if (!foreign)
                log_warning("%s: forgetting it; domain %s, volume %s and the image's volume %s stay on %s",
                            s->vmname, s->vmname, strempty(s->libvirt_volume), strempty(s->libvirt_base),
                            s->libvirt_uri);
        if ((r = repo_snapshot_delete(pl->repo, s->id)) < 0)
                return r;
        _cleanup_free_ char *dir = paths_libvirt_vm_dir(s->vmname);
        if (dir && (r = rm_rf(dir)) < 0)
                log_warning_errno(r, "VM row deleted, but %s could not be removed: %m", dir);
        if (c && !foreign)
                log_info("Deleted snapshot VM %s from %s", s->vmname, s->libvirt_uri);
        else
                log_info("Forgot snapshot VM %s (what it had on %s stays there)", s->vmname, s->libvirt_uri);
        thaw_image(pl->repo, s->image_id);
        return 0;
}

int pipeline_delete_vm(struct pipeline *pl, const char *vmname, bool force) {
        struct repo *repo = pl->repo;
        _cleanup_name_lock_ struct name_lock *lock = NULL;
        int r = name_lock_or_complain(LOCK_VM, vmname, LOCK_EXCLUSIVE, "in use", &lock);
        if (r < 0)
                return r;
        _cleanup_snapshot_ struct snapshot *s = NULL;
        r = repo_snapshot_get(repo, vmname, &s);
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
        if (s->libvirt_uri)
                return delete_libvirt_vm(pl, s, force);
        _cleanup_free_ char *dir = paths_vm_dir(vmname);
        if (!dir)
                return log_oom();
        if ((r = files_unused(pl, dir)) < 0)
                return r;
        if ((r = repo_snapshot_delete(repo, s->id)) < 0)
                return r;
        r = rm_rf(dir);
        if (r < 0)
                return log_warning_errno(r, "VM row deleted, but %s could not be removed: %m", dir);
        log_info("Deleted snapshot VM %s", vmname);
        thaw_image(repo, s->image_id);
        return 0;
}

int pipeline_clone_image(struct pipeline *pl, const char *name, const char *newname) {
        struct repo *repo = pl->repo;
        /* The source is read (no install may change it meanwhile); the new name is reserved before
         * its disk exists, so a second clone to it stops here instead of racing for the file. */
        _cleanup_name_lock_ struct name_lock *src_lock = NULL, *dst_lock = NULL;
        int r = name_lock_or_complain(LOCK_IMAGE, name, LOCK_SHARED, "in use", &src_lock);
        if (r == 0)
                r = name_lock_or_complain(LOCK_IMAGE, newname, LOCK_EXCLUSIVE, "in use", &dst_lock);
        if (r < 0)
                return r;
        _cleanup_image_ struct image *img = NULL;
        r = image_get(repo, name, &img);
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
                log_error("%s already exists but no image row names it and no vmcloak is making it: 'vmcloak "
                          "cleanup %s' removes it", dst, newname);
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
        /* Its UEFI vars and TPM state too: the copy boots as the image does. */
        if (r == 0 && (r = fwstate_copy(img, img->path, dst, true)) < 0)
                return r;
        if (interrupted()) {
                fwstate_remove(dst);
                log_error("clone of %s interrupted; nothing was copied", name);
                return -ECANCELED;
        }
        uint8_t mac[6];
        char macs[18];
        random_vendor_mac(mac);
        /* A copy of a hardware profile's machine (its profile and identity are copied with the
         * row) keeps its vendor: the source MAC's OUI, with its own last three bytes, which its
         * identity gets too (image_identity_set_mac below). */
        if (img->hardware && img->mac &&
            sscanf(img->mac, "%2hhx:%2hhx:%2hhx:", &mac[0], &mac[1], &mac[2]) != 3)
                random_vendor_mac(mac);
        format_mac(mac, macs);
        if (free_and_strdup(&img->name, newname) < 0 || free_and_strdup(&img->path, dst) < 0 ||
            free_and_strdup(&img->mode, "normal") < 0 || free_and_strdup(&img->mac, macs) < 0 ||
            free_and_strdup(&img->created_at, NULL) < 0)
                return log_oom();
        if ((r = image_identity_set_mac(img, macs)) < 0) {
                fwstate_remove(dst);
                return r;
        }
        r = repo_image_insert(repo, img);
        if (r < 0) {
                fwstate_remove(dst);
                if (r == -EEXIST)
                        log_error("an image named '%s' was created meanwhile; nothing copied", newname);
                return r;
        }
        DISARM(dst);
        log_info("Cloned image %s to %s (MAC %s)", name, newname, macs);
        return 0;
}

int image_sha256(const struct image *img, char sha256[65]) {
        _cleanup_free_ char *dir = paths_image_dir();
        _cleanup_free_ char *memo = dir ? path_join(dir, ".hashes") : NULL;
        char sha1[SHA1_HEX_LEN + 1];
        if (!memo)
                return log_oom();
        return hash_file_remembered(img->path, memo, true, sha256, sha1);
}
