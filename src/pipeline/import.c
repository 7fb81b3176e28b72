/* import: a hand-made disk copied into the home, booted until its agent answers, checked, recorded. */
#include "pipeline/import.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/progress.h"
#include "core/util.h"
#include "guest/profile.h"

/* The source: a readable regular file that no machine of this host has open. */
static int check_source(struct pipeline *pl, const char *src) {
        struct stat st;
        if (access(src, R_OK) < 0 || stat(src, &st) < 0)
                return log_error_errno(-errno, "cannot read the disk %s: %m", src);
        if (!S_ISREG(st.st_mode)) {
                log_error("%s is no disk file", src);
                return -EINVAL;
        }
        _cleanup_strv_free_ char **users = NULL;
        int r = vm_find_users(pl->conn, src, &users);
        if (r < 0)
                return r;
        if (users) {
                log_error("%s is in use by %s: shut that machine down first (a running guest's disk copies "
                          "half-written)", src, users[0]);
                return -EBUSY;
        }
        return 0;
}

static int import_steps(struct pipeline *pl, const struct init_request *req, struct new_image *n, const char *src,
                        struct vm_session *s, bool *ret_made) {
        const struct os_profile *prof = req->profile;
        int r = check_source(pl, src);
        if (r < 0)
                return r;
        log_info("Importing %s as image %s: %s, %s %s/%u, %u MiB RAM", src, req->name, prof->name,
                 req->net.mode == IMAGE_NET_USER ? "user network" : req->adapter, n->net.ip_s, n->net.net.prefix,
                 req->ram_mb);
        struct progress p;
        progress_begin(&p, "Copying the disk");
        r = vm_disk_import(pl->conn, src, n->disk);
        progress_end(&p, r == -ECANCELED ? "interrupted" : r < 0 ? "failed" : "done");
        if (r < 0)
                return r;
        *ret_made = true;
        if (interrupted())
                return -ECANCELED;
        _cleanup_free_ char *logdir = paths_image_log_dir(req->name);
        if (!logdir)
                return log_oom();
        if ((r = session_prepare(s, pl, req->name, &n->row, prof, &req->vm, NULL, logdir, NULL)) < 0 ||
            (r = session_start(s, NULL)) < 0)
                return r;
        unsigned timeout = req->vm.timeout_s ? req->vm.timeout_s : IMPORT_TIMEOUT_S;
        if ((r = session_wait_agent(s, timeout, "Booting the imported disk")) < 0)
                return r;
        _cleanup_free_ char *version = NULL;
        if ((r = new_image_check_os(s, prof, &version)) < 0)
                return r;
        _cleanup_free_ char *build = windows_build_of(version);
        n->row.os_build = build;
        r = new_image_record(s, pl->repo, &n->row);
        n->row.os_build = NULL;
        return r;
}

int pipeline_import(struct pipeline *pl, const struct init_request *req, const char *disk_path, bool move) {
        int64_t t0 = now_ms();
        _cleanup_(new_image_done) struct new_image n = { 0 };
        /* The connection first: the source check asks it which machines use the disk. */
        int r = pipeline_connect(pl, req->vm.accel);
        if (r < 0)
                return r;
        if ((r = new_image_prepare(pl, req, &n)) < 0)
                return r;
        struct vm_session s = { 0 };
        bool made = false;
        r = import_steps(pl, req, &n, disk_path, &s, &made);
        /* Switch the machine off before its files go. */
        session_done(&s);
        if (r == 0) {
                if (move && unlink(disk_path) < 0)
                        log_warning("image %s is recorded, but its source %s could not be removed: %m", req->name,
                                    disk_path);
                log_info("Image %s is ready (%s, %.1f s). Next: vmcloak install %s ... or vmcloak snapshot %s "
                         "VMNAME", req->name, n.net.ip_s, (double)(now_ms() - t0) / 1000.0, req->name, req->name);
                return 0;
        }
        if (made)
                new_image_remove_files(n.disk);
        log_error("import of %s %s; nothing was recorded%s", req->name, r == -ECANCELED ? "interrupted" : "failed",
                  made ? " and its copy of the disk was removed (the source is untouched)" : "");
        return r;
}
