/* init: media -> disk -> unattended install -> boot from disk -> agent -> power-off -> row.
 * Every failure (and Ctrl-C) removes the disk and the work folder and records nothing. */
#include "pipeline/init.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/proc.h"
#include "core/progress.h"
#include "core/random.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "net/bridge.h"
#include "net/check.h"
#include "pipeline/serialwatch.h"
#include "qemu/img.h"
#include "qemu/vm.h"

/* Wait for the installer to power the VM off, showing its progress markers. */
static int wait_install(struct guest *g, unsigned timeout_s) {
        struct serial_watch w = { .path = g->cfg.serial == VM_SERIAL_FILE ? g->cfg.serial_path : NULL };
        struct progress p;
        progress_begin(&p, "Installing the OS");
        int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
        int status = 0, r;
        for (;;) {
                r = vm_wait_exit(g->vm, 500, &status, NULL);
                serial_watch_poll(&w, g->profile);
                if (r == 0)
                        break;
                if (r != -ETIMEDOUT) {
                        progress_end(&p, "interrupted");
                        return r;
                }
                if (now_ms() >= deadline) {
                        progress_end(&p, "timed out");
                        log_error("the OS install did not finish within %u s (--timeout)%s%s", timeout_s,
                                  w.last[0] ? "; last step: " : "", w.last);
                        guest_log_hint(g);
                        return -ETIMEDOUT;
                }
                progress_update(&p, 0, 0, w.last[0] ? w.last : "booting the installer");
        }
        if (w.failed) {
                progress_end(&p, "failed");
                log_error("the unattended install failed inside the guest at: %s", w.failed_step);
                guest_log_hint(g);
                return -EIO;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                progress_end(&p, "failed");
                char sb[64];
                _cleanup_free_ char *tail = vm_log_tail(g->vm, 3);
                log_error("QEMU ended the install with %s%s%s", proc_status_string(status, sb, sizeof sb),
                          tail ? ": " : "", strempty(tail));
                guest_log_hint(g);
                return -EIO;
        }
        if (w.path && g->profile->serial_install_done && !w.done) {
                progress_end(&p, "failed");
                log_error("the VM powered off before the installer reported success%s%s",
                          w.last[0] ? "; last step: " : "", w.last);
                guest_log_hint(g);
                return -EIO;
        }
        progress_end(&p, "done");
        return 0;
}

struct init_state {
        char *disk;
        char *workdir;
        bool disk_created;
};

static void init_state_cleanup(struct init_state *s, bool failed) {
        if (s->workdir)
                rm_rf(s->workdir);
        if (failed && s->disk_created && s->disk)
                unlink_if_exists(s->disk);
        free(s->disk);
        free(s->workdir);
}

static int resolve_network(struct repo *repo, const struct init_request *req, struct netcfg *ret) {
        uint32_t baddr = 0;
        unsigned bprefix = 0;
        if (req->net.mode == IMAGE_NET_BRIDGE) {
                struct net_report rep;
                if (net_bridge_check(req->adapter, &rep) < 0) {
                        log_error("%s", rep.message);
                        if (rep.fix[0])
                                log_error("fix: %s (or use --net user, which needs no bridge)", rep.fix);
                        return -EHOSTUNREACH;
                }
                int r = net_iface_ipv4(req->adapter, &baddr, &bprefix);
                if (r < 0 && r != -EADDRNOTAVAIL)
                        return log_error_errno(r, "cannot read the address of bridge %s: %m", req->adapter);
        }
        _cleanup_strv_free_ char **used = NULL;
        int r = repo_used_ips(repo, &used);
        if (r < 0)
                return r;
        return netcfg_resolve(&req->net, baddr, bprefix, used, ret);
}

int pipeline_init(struct repo *repo, const struct init_request *req) {
        const struct os_profile *prof = req->profile;
        struct init_state st = { 0 };
        struct guest g = { 0 };
        struct install_media media = { 0 };
        int r;
        int64_t t0 = now_ms();
        /* Declared before the first goto, so the cleanup never sees an uninitialised pointer. */
        _cleanup_free_ char *hostname = NULL, *tempdir = NULL, *cache = NULL, *logroot = NULL, *logdir = NULL;
        _cleanup_free_ char *system = NULL;

        _cleanup_image_ struct image *existing = NULL;
        if (repo_image_get(repo, req->name, &existing) == 0) {
                log_error("an image named '%s' already exists; pick another name or remove it with 'vmcloak "
                          "delimg %s'", req->name, req->name);
                return -EEXIST;
        }
        st.disk = paths_image_disk(req->name);
        if (!st.disk)
                return -ENOMEM;
        if (path_exists(st.disk)) {
                log_error("%s already exists but no image is recorded for it (left by another tool or an "
                          "interrupted VMCloak run?); move it away or pick another name", st.disk);
                free(st.disk);
                return -EEXIST;
        }

        struct netcfg net;
        r = resolve_network(repo, req, &net);
        if (r < 0)
                goto fail;

        uint8_t macb[6];
        char mac[18];
        if (req->mac) {
                if (vcheck_mac(req->mac, "--mac", macb) < 0) {
                        r = -EINVAL;
                        goto fail;
                }
        } else
                random_vendor_mac(macb);
        format_mac(macb, mac);
        hostname = random_string(8, 14);
        if (!hostname) {
                r = -ENOMEM;
                goto fail;
        }

        /* Install media, built in a private folder under --tempdir. */
        tempdir = req->tempdir ? strdup(req->tempdir) : paths_iso_dir();
        cache = paths_cache_dir();
        if (!tempdir || !cache) {
                r = -ENOMEM;
                goto fail;
        }
        if ((r = mkdir_p(tempdir, 0755)) < 0 || (r = mkdir_p(cache, 0755)) < 0) {
                log_error_errno(r, "cannot create %s or %s: %m", tempdir, cache);
                goto fail;
        }
        st.workdir = strdup_printf("%s/vmcloak-%s-XXXXXX", tempdir, req->name);
        if (!st.workdir || !mkdtemp(st.workdir)) {
                r = st.workdir ? -errno : -ENOMEM;
                log_error_errno(r, "cannot create a work folder in %s: %m", tempdir);
                goto fail;
        }
        log_info("Creating image %s: %s, %s %s/%u (gateway %s), %u MiB RAM", req->name, prof->name,
                 req->net.mode == IMAGE_NET_USER ? "user network" : req->adapter, net.ip_s, net.net.prefix,
                 net.gateway_s, req->ram_mb);
        if (req->iso) {
                if (access(req->iso, R_OK) < 0) {
                        r = log_error_errno(-errno, "cannot read --iso %s: %m", req->iso);
                        goto fail;
                }
                media.boot_iso = strdup(req->iso);
        } else {
                struct install_params ip = {
                        .name = req->name, .hostname = hostname, .ip = net.ip_s, .prefix = net.net.prefix,
                        .netmask = net.netmask_s, .gateway = net.gateway_s, .dns = net.dns_s, .dns2 = net.dns2_s,
                        .agent_port = req->port, .resolution = req->resolution, .disk_bytes = req->disk_bytes,
                        .workdir = st.workdir, .cache_dir = cache, .kernel = req->kernel, .modules = req->modules,
                        .iso_mount = req->iso_mount, .serial_key = req->serial_key, .product = req->product,
                        .python_version = req->python_version,
                };
                struct progress p;
                progress_begin(&p, "Building the install media");
                r = prof->build_media(prof, &ip, &media);
                progress_end(&p, r < 0 ? "failed" : "done");
                if (r < 0)
                        goto fail;
        }
        if (interrupted()) {
                r = -ECANCELED;
                goto fail;
        }

        r = qemu_img_create_base(st.disk, req->disk_bytes);
        if (r < 0)
                goto fail;
        st.disk_created = true;

        /* The row this image will get, used to configure its VM runs. */
        struct image img = {
                .name = (char *)req->name, .path = st.disk, .osversion = (char *)prof->name,
                .servicepack = (char *)prof->servicepack, .mode = (char *)"normal", .vm = (char *)"qemu",
                .ipaddr = net.ip_s, .port = req->port, .adapter = (char *)req->adapter, .netmask = net.netmask_s,
                .gateway = net.gateway_s, .cpus = (int)req->cpus, .ramsize = (int)req->ram_mb,
                .vramsize = (int)req->vram_mb, .mac = mac,
                .netmode = (char *)image_netmode_to_string(req->net.mode), .dns = net.dns_s,
        };
        logroot = paths_log_dir();
        logdir = logroot ? path_join(logroot, req->name) : NULL;
        if (!logdir) {
                r = -ENOMEM;
                goto fail;
        }
        r = guest_prepare(&g, req->name, &img, prof, &req->vm, NULL, logdir);
        if (r < 0)
                goto fail;
        g.cfg.cdrom_path = strdup(media.boot_iso);
        if (!g.cfg.cdrom_path) {
                r = -ENOMEM;
                goto fail;
        }
        if (media.extra_iso && strv_extend(&g.cfg.extra_cdroms, media.extra_iso) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        if (req->extra_cdroms && strv_extend_strv(&g.cfg.extra_cdroms, req->extra_cdroms) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        g.rt.no_reboot = true;
        unsigned timeout = req->vm.timeout_s ? req->vm.timeout_s : prof->install_timeout_s;
        r = guest_start(&g);
        if (r < 0)
                goto fail;
        r = wait_install(&g, timeout);
        if (r < 0)
                goto fail;
        vm_free(g.vm);
        g.vm = NULL;

        /* First boot from its own disk: the image counts only once its agent answers. */
        free(g.cfg.cdrom_path);
        g.cfg.cdrom_path = NULL;
        strv_free(g.cfg.extra_cdroms);
        g.cfg.extra_cdroms = NULL;
        g.rt.no_reboot = false;
        r = guest_start(&g);
        if (r < 0)
                goto fail;
        r = guest_wait_agent(&g, timeout, "Booting the installed system");
        if (r < 0)
                goto fail;
        if (agent_system(g.agent, &system) == 0)
                log_debug("agent reports system %s", system);
        struct progress p;
        progress_begin(&p, "Shutting down");
        r = guest_poweroff(&g, 120);
        progress_end(&p, r < 0 ? "failed" : "done");
        if (r < 0) {
                log_error("the guest did not shut down cleanly after its first boot");
                guest_log_hint(&g);
                goto fail;
        }

        struct image row = img;
        row.netmode = (char *)image_netmode_to_string(req->net.mode);
        row.created_at = NULL;
        r = repo_image_insert(repo, &row);
        free(row.created_at);
        if (r == -EEXIST)
                log_error("an image named '%s' was created by another vmcloak meanwhile; this one is discarded",
                          req->name);
        if (r < 0)
                goto fail;
        guest_done(&g);
        install_media_free(&media);
        init_state_cleanup(&st, false);
        log_info("Image %s is ready (%s, %.1f s). Next: vmcloak install %s ... or vmcloak snapshot %s VMNAME",
                 req->name, net.ip_s, (double)(now_ms() - t0) / 1000.0, req->name, req->name);
        return 0;

fail:
        guest_done(&g);
        install_media_free(&media);
        init_state_cleanup(&st, true);
        if (r == -ECANCELED)
                log_error("init of %s interrupted; removed its disk and work files", req->name);
        else
                log_error("init of %s failed; nothing was recorded%s", req->name,
                          st.disk_created ? " and its disk was removed" : "");
        return r;
}
