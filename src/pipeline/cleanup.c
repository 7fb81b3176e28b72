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

static unsigned remove_matching(const char *dir, const char *prefix, const char *suffix, bool pid_named) {
        DIR *d = opendir(dir);
        if (!d)
                return 0;
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                bool match = pid_named ? stale_pid_name(de->d_name, prefix, suffix)
                                       : startswith(de->d_name, prefix) != NULL;
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

int pipeline_cleanup(struct pipeline *pl, const char *name) {
        struct repo *repo = pl->repo;
        _cleanup_image_ struct image *img = NULL;
        _cleanup_snapshot_ struct snapshot *snap = NULL;
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
        } else {
                /* A VM folder without a row: what an interrupted snapshot could leave if killed hard. */
                _cleanup_free_ char *dir = paths_vm_dir(name);
                if (!dir)
                        return log_oom();
                if (!is_dir(dir)) {
                        log_error("no image or snapshot VM named '%s', and no folder %s", name, dir);
                        return -ENOENT;
                }
                unsigned spared = 0;
                n += kill_users(pl, dir, &spared);
                if (spared) {
                        /* A snapshot building this VM right now: its folder is not a leftover. */
                        log_info("%s is in use by a running vmcloak; left alone", dir);
                } else if (rm_rf(dir) == 0) {
                        log_info("removed %s (no snapshot VM is recorded for it)", dir);
                        n++;
                }
        }
        if (n)
                log_info("cleaned up %u leftover%s of %s", n, n == 1 ? "" : "s", name);
        else
                log_info("nothing to clean up for %s", name);
        return 0;
}
