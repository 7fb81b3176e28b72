/* createiso: the profile's install media built into a work folder and moved into place. */
#include "pipeline/createiso.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"

/* Move the built ISO to where the user wants it (another filesystem: copy, then rename). */
static int move_into_place(const char *src, const char *dst) {
        if (rename(src, dst) == 0)
                return 0;
        if (errno != EXDEV)
                return -errno;
        _cleanup_unlink_ char *tmp = strdup_printf("%s.tmp%d", dst, (int)getpid());
        if (!tmp)
                return -ENOMEM;
        unlink(tmp);
        int r = copy_file(src, tmp, 0644);
        if (r < 0)
                return r;
        if (rename(tmp, dst) < 0)
                return -errno;
        DISARM(tmp);
        return 0;
}

/* Reserve the output name: an empty file made with O_EXCL, replaced by the ISO at the end (a
 * second createiso to the same path stops here instead of overwriting it). */
static int reserve_output(const char *out) {
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST) {
                log_error("%s exists already (another createiso may be writing it); remove it or pick another path",
                          out);
                return -EEXIST;
        }
        if (fd < 0)
                return log_error_errno(-errno, "cannot create %s: %m", out);
        close(fd);
        return 0;
}

int pipeline_createiso(struct pipeline *pl, const struct createiso_request *req) {
        _cleanup_strv_free_ char **used = NULL;
        int r = repo_used_ips(pl->repo, &used);
        if (r < 0)
                return r;
        if (strv_contains(used, req->ip)) {
                log_error("IP address %s is already used by an image or snapshot (see 'vmcloak list images' and "
                          "'vmcloak list snapshots'); pick another --ip", req->ip);
                return -EADDRINUSE;
        }
        if ((r = reserve_output(req->out)) < 0)
                return r;
        _cleanup_unlink_ char *placeholder = strdup(req->out);
        if (!placeholder)
                return log_oom();
        _cleanup_free_ char *tempdir = req->tempdir ? strdup(req->tempdir) : paths_iso_dir();
        _cleanup_free_ char *cache = paths_cache_dir();
        if (!tempdir || !cache)
                return log_oom();
        r = mkdir_p(tempdir, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create the work folder %s: %m (pick another with --tempdir)", tempdir);
        _cleanup_rm_rf_ char *workdir = strdup_printf("%s/vmcloak-createiso.XXXXXX", tempdir);
        if (!workdir)
                return log_oom();
        if (!mkdtemp(workdir)) {
                r = log_error_errno(-errno, "cannot create a work folder in %s: %m (pick another with --tempdir)",
                                    tempdir);
                free(TAKE_PTR(workdir));
                return r;
        }
        char netmask[16], mac[18] = "";
        format_ipv4(ipv4_netmask(req->prefix), netmask);
        if (req->profile->iso_is_source && mac_given_or_random(req->mac, "--mac", mac) < 0)
                return -EINVAL;
        struct install_params p = {
                .ip = req->ip, .prefix = req->prefix, .netmask = netmask, .gateway = req->gateway, .dns = req->dns,
                .dns2 = req->dns2, .agent_port = req->agent_port, .resolution = req->resolution, .workdir = workdir,
                .cache_dir = cache, .kernel = req->kernel, .modules = req->modules, .hostname = req->hostname,
                .iso = req->iso, .iso_mount = req->iso_mount, .serial_key = req->serial_key, .product = req->product,
                .user = req->user, .password = req->password, .locale = req->locale, .kblayout = req->kblayout,
                .timezone = req->timezone, .uefi = req->profile->uefi, .secure_boot = req->profile->uefi,
                .tpm = req->profile->tpm && !req->no_tpm, .one_iso = true, .mac = *mac ? mac : NULL,
        };
        struct install_media m = { 0 };
        r = req->profile->build_media(req->profile, &p, &m);
        if (r >= 0 && interrupted())
                r = -ECANCELED;
        if (r >= 0) {
                r = move_into_place(m.boot_iso, req->out);
                if (r < 0)
                        log_error_errno(r, "cannot write %s: %m", req->out);
                else
                        DISARM(placeholder);
        }
        if (r >= 0) {
                char sz[32];
                log_info("Wrote %s (%s%s%s)", req->out, format_bytes(sz, sizeof sz, file_size_or_zero(req->out)),
                         m.kernel_version ? ", kernel " : "", strempty(m.kernel_version));
                if (*mac) {
                        uint32_t a = 0;
                        (void)parse_ipv4(req->ip, &a);
                        char net[16];
                        format_ipv4(a & ipv4_netmask(req->prefix), net);
                        log_info("Its guest sets %s/%u on the NIC with MAC %s, agent port %u: install it with "
                                 "'vmcloak init --%s --iso %s --mac %s --ip %s --network %s/%u --gateway %s --dns %s "
                                 "--port %u%s NAME ADAPTER'", req->ip, req->prefix, mac, req->agent_port,
                                 req->profile->name, req->out, mac, req->ip, net, req->prefix, req->gateway, req->dns,
                                 req->agent_port, req->no_tpm ? " --no-tpm" : "");
                }
        } else if (r == -ECANCELED)
                log_error("interrupted; nothing was written");
        install_media_free(&m);
        return r;
}
