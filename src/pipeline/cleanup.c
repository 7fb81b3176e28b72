/* Leftovers of a vmcloak that was killed hard (SIGKILL, power loss): overlays named after a
 * pid that no longer runs, init work folders, QEMU processes still holding a disk. */
#include "pipeline/cleanup.h"

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"

static bool pid_alive(long pid) { return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM); }

/* "<prefix><pid><suffix>" with a pid that is not running. */
static bool stale_pid_name(const char *name, const char *prefix, const char *suffix) {
        const char *p = startswith(name, prefix);
        if (!p || !endswith(p, suffix))
                return false;
        char *end;
        long pid = strtol(p, &end, 10);
        return end != p && streq(end, suffix) && !pid_alive(pid);
}

/* "<prefix>XXXXXX": what mkdtemp made from the prefix, exactly (so the prefix "vmcloak-a-"
 * does not match image a-b's "vmcloak-a-b-XXXXXX"). */
static bool mkdtemp_name(const char *name, const char *prefix) {
        const char *p = startswith(name, prefix);
        if (!p || strlen(p) != 6)
                return false;
        for (; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
                        return false;
        return true;
}

static unsigned remove_matching(const char *dir, const char *prefix, const char *suffix, bool pid_named) {
        DIR *d = opendir(dir);
        if (!d)
                return 0;
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                bool match = pid_named ? stale_pid_name(de->d_name, prefix, suffix) : mkdtemp_name(de->d_name, prefix);
                if (!match)
                        continue;
                _cleanup_free_ char *p = path_join(dir, de->d_name);
                if (p && rm_rf(p) == 0) {
                        log_info("removed %s", p);
                        n++;
                }
        }
        closedir(d);
        return n;
}

/* Machines of the driver's host that still use path and belong to no running vmcloak;
 * *ret_spared (may be NULL) counts those a running vmcloak owns. */
static unsigned kill_users(struct pipeline *pl, const char *path, unsigned *ret_spared) {
        if (!pl->conn && pipeline_connect(pl, VM_ACCEL_TCG) < 0) {
                log_warning("cannot look for machines still using %s; removing files only", path);
                return 0;
        }
        unsigned n = 0;
        vm_kill_users(pl->conn, path, &n, ret_spared);
        return n;
}

/* A name with no row: what an init, clone or snapshot killed hard (SIGKILL, power loss) left,
 * now that the locks show no vmcloak is making it: the VM folder, the image disk with its UEFI
 * and TPM state, init's work folders. -ENOENT when there is none. */
static int cleanup_unrecorded(struct pipeline *pl, const char *name, unsigned *n) {
        _cleanup_free_ char *vmdir = paths_vm_dir(name);
        _cleanup_free_ char *disk = paths_image_disk(name);
        _cleanup_free_ char *isodir = paths_iso_dir();
        _cleanup_free_ char *work = strdup_printf("vmcloak-%s-", name);
        _cleanup_free_ char *nvram = disk ? strdup_printf("%s.nvram", disk) : NULL;
        _cleanup_free_ char *tpm = disk ? strdup_printf("%s.tpm", disk) : NULL;
        if (!vmdir || !disk || !isodir || !work || !nvram || !tpm)
                return log_oom();
        const char *const files[] = { vmdir, disk, nvram, tpm };
        unsigned found = 0;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (!path_exists(files[i]))
                        continue;
                found++;
                *n += kill_users(pl, files[i], NULL);
                if (rm_rf(files[i]) == 0) {
                        log_info("removed %s (nothing in the repository names it)", files[i]);
                        (*n)++;
                }
        }
        unsigned w = remove_matching(isodir, work, "", false);
        *n += w;
        if (!found && !w) {
                log_error("no image or snapshot VM named '%s', and nothing left of one (%s, %s)", name, disk, vmdir);
                return -ENOENT;
        }
        return 0;
}

int pipeline_cleanup(struct pipeline *pl, const char *name) {
        struct repo *repo = pl->repo;
        _cleanup_image_ struct image *img = NULL;
        _cleanup_snapshot_ struct snapshot *snap = NULL;
        /* Whatever NAME is, no other vmcloak may be working on it: both kinds are locked. */
        _cleanup_name_lock_ struct name_lock *image_lock = NULL, *vm_lock = NULL;
        int r = name_lock_or_complain(LOCK_IMAGE, name, LOCK_EXCLUSIVE, "in use", &image_lock);
        if (r == 0)
                r = name_lock_or_complain(LOCK_VM, name, LOCK_EXCLUSIVE, "in use", &vm_lock);
        if (r < 0)
                return r;
        bool is_img = repo_image_get(repo, name, &img) == 0;
        bool is_vm = !is_img && repo_snapshot_get(repo, name, &snap) == 0;
        unsigned n = 0;
        if (is_img) {
                _cleanup_free_ char *dir = path_dirname(img->path);
                const char *base = strrchr(img->path, '/') ? strrchr(img->path, '/') + 1 : img->path;
                _cleanup_free_ char *inst = strdup_printf("%s.install-", base);
                _cleanup_free_ char *mod = strdup_printf("%s.modify-", base);
                _cleanup_free_ char *isodir = paths_iso_dir();
                _cleanup_free_ char *work = strdup_printf("vmcloak-%s-", name);
                if (!dir || !inst || !mod || !isodir || !work)
                        return log_oom();
                n += kill_users(pl, img->path, NULL);
                n += remove_matching(dir, inst, ".qcow2", true);
                n += remove_matching(dir, mod, ".qcow2", true);
                n += remove_matching(isodir, work, "", false);
        } else if (is_vm) {
                _cleanup_free_ char *dir = paths_vm_dir(name);
                if (!dir)
                        return log_oom();
                n += kill_users(pl, dir, NULL);
                n += remove_matching(dir, "disposable-", ".qcow2", true);
        } else if ((r = cleanup_unrecorded(pl, name, &n)) < 0)
                return r;
        if (n)
                log_info("cleaned up %u leftover%s of %s", n, n == 1 ? "" : "s", name);
        else
                log_info("nothing to clean up for %s", name);
        return 0;
}
