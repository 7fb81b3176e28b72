/* Leftovers of a vmcloak that was killed hard (SIGKILL, power loss): overlays named after a
 * pid that no longer runs, init work folders, QEMU processes still holding a disk. */
#include "pipeline/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/proc.h"
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

/* QEMU processes whose command line names path (a disk of ours), not started by a live vmcloak. */
static unsigned kill_qemus_using(const char *path) {
        DIR *d = opendir("/proc");
        if (!d)
                return 0;
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 1 || pid == getpid())
                        continue;
                char f[64];
                snprintf(f, sizeof f, "/proc/%ld/cmdline", pid);
                _cleanup_free_ char *cmd = NULL;
                size_t len;
                if (read_full_file(f, &cmd, &len) < 0 || len == 0)
                        continue;
                if (!strstr(cmd, "qemu-system"))
                        continue;
                bool uses = false;
                for (size_t i = 0; i < len && !uses; i += strlen(cmd + i) + 1)
                        uses = strstr(cmd + i, path) != NULL;
                if (!uses)
                        continue;
                /* A QEMU whose parent is a running vmcloak belongs to that run: leave it. */
                snprintf(f, sizeof f, "/proc/%ld/stat", pid);
                _cleanup_free_ char *stat = NULL;
                long ppid = 0;
                if (read_full_file(f, &stat, NULL) == 0) {
                        const char *rp = strrchr(stat, ')');
                        if (rp)
                                sscanf(rp + 2, "%*c %ld", &ppid);
                }
                snprintf(f, sizeof f, "/proc/%ld/comm", ppid);
                _cleanup_free_ char *comm = NULL;
                if (ppid > 1 && read_full_file(f, &comm, NULL) == 0 && startswith(comm, "vmcloak")) {
                        log_warning("QEMU %ld uses %s for a running vmcloak (pid %ld); left alone", pid, path, ppid);
                        continue;
                }
                if (kill((pid_t)pid, SIGKILL) == 0) {
                        log_info("killed QEMU %ld, which still used %s", pid, path);
                        n++;
                }
        }
        closedir(d);
        return n;
}

int pipeline_cleanup(struct repo *repo, const char *name) {
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
                        return -ENOMEM;
                n += kill_qemus_using(img->path);
                n += remove_matching(dir, inst, ".qcow2", true);
                n += remove_matching(dir, mod, ".qcow2", true);
                n += remove_matching(isodir, work, "", false);
        } else if (is_vm) {
                _cleanup_free_ char *dir = paths_vm_dir(name);
                if (!dir)
                        return -ENOMEM;
                n += kill_qemus_using(dir);
                n += remove_matching(dir, "disposable-", ".qcow2", true);
        } else {
                /* A VM folder without a row: what an interrupted snapshot could leave if killed hard. */
                _cleanup_free_ char *dir = paths_vm_dir(name);
                if (!dir)
                        return -ENOMEM;
                if (!is_dir(dir)) {
                        log_error("no image or snapshot VM named '%s', and no folder %s", name, dir);
                        return -ENOENT;
                }
                n += kill_qemus_using(dir);
                if (rm_rf(dir) == 0) {
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
