/* init: media -> disk -> the profile's install flow -> power-off -> row.
 * Every failure (and Ctrl-C) removes the disk and the work folder and records nothing. */
#include "pipeline/init.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/interrupt.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/proc.h"
#include "core/progress.h"
#include "core/random.h"
#include "core/repo.h"
#include "core/tags.h"
#include "core/util.h"
#include "core/validate.h"
#include "cloak/hardware.h"
#include "guest/profile.h"
#include "net/bridge.h"
#include "net/check.h"
#include "pipeline/flow.h"
#include "pipeline/fwstate.h"
#include "pipeline/imagehw.h"

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

/* What init made so far: each is removed when init fails (the cleanup attributes). */
struct init_run {
        struct pipeline *pl;
        const struct init_request *req;
        struct netcfg net;
        char mac[18];
        char *hostname;
        char *cache;
        char *disk;                    /* set once the disk exists */
        char *workdir;
        struct install_media media;
        struct vm_session s;
};

static void init_run_done(struct init_run *x) {
        session_done(&x->s);
        install_media_free(&x->media);
        free(x->hostname);
        free(x->cache);
}

/* Install media, built in a private folder under --tempdir (or the user's --iso). */
static int make_media(struct init_run *x) {
        const struct init_request *req = x->req;
        const struct os_profile *prof = req->profile;
        if (req->iso && access(req->iso, R_OK) < 0)
                return log_error_errno(-errno, "cannot read --iso %s: %m", req->iso);
        if (req->iso && !prof->iso_is_source)
                return (x->media.boot_iso = strdup(req->iso)) ? 0 : log_oom();
        struct install_params ip = {
                .name = req->name, .hostname = x->hostname, .ip = x->net.ip_s, .prefix = x->net.net.prefix,
                .netmask = x->net.netmask_s, .gateway = x->net.gateway_s, .dns = x->net.dns_s, .dns2 = x->net.dns2_s,
                .agent_port = req->port, .resolution = req->resolution, .disk_bytes = req->disk_bytes,
                .workdir = x->workdir, .cache_dir = x->cache, .kernel = req->kernel, .modules = req->modules,
                .mac = x->mac, .iso = req->iso, .iso_mount = req->iso_mount, .serial_key = req->serial_key,
                .product = req->product, .python_version = req->python_version, .user = req->user,
                .password = req->password, .locale = req->locale, .kblayout = req->kblayout,
                .timezone = req->timezone, .uefi = prof->uefi, .secure_boot = prof->uefi && prof->tpm,
                .tpm = prof->tpm && !req->no_tpm,
        };
        struct progress p;
        progress_begin(&p, "Building the install media");
        int r = prof->build_media(prof, &ip, &x->media);
        progress_end(&p, r < 0 ? "failed" : "done");
        return r;
}

static int make_workdir(struct init_run *x) {
        const struct init_request *req = x->req;
        _cleanup_free_ char *tempdir = req->tempdir ? strdup(req->tempdir) : paths_iso_dir();
        x->cache = paths_cache_dir();
        if (!tempdir || !x->cache)
                return log_oom();
        int r;
        if ((r = mkdir_p(tempdir, 0755)) < 0 || (r = mkdir_p(x->cache, 0755)) < 0)
                return log_error_errno(r, "cannot create %s or %s: %m", tempdir, x->cache);
        char *w = strdup_printf("%s/vmcloak-%s-XXXXXX", tempdir, req->name);
        if (!w)
                return log_oom();
        if (!mkdtemp(w)) {
                r = log_error_errno(-errno, "cannot create a work folder in %s: %m", tempdir);
                free(w);
                return r;
        }
        x->workdir = w;
        return 0;
}

/* The profile's default --timeout fits a KVM host; under TCG an OS that takes an hour there
 * takes many, and the user should know before waiting. */
static void warn_slow_install(struct init_run *x, unsigned timeout) {
        struct vm_host_info hi;
        if (x->req->vm.timeout_s || x->req->profile->install_timeout_s < 3600 || vm_host_info(x->pl->conn, &hi) < 0 ||
            hi.accel != VM_ACCEL_TCG)
                return;
        log_warning("no usable KVM here: a %s install under TCG takes many hours, more than the default --timeout "
                    "%u s, which fits a KVM host; raise it, e.g. --timeout %u", x->req->profile->name, timeout,
                    timeout * 8);
}

char *windows_build_of(const char *ver) {
        const char *v = ver ? strstr(ver, "[Version ") : NULL;
        unsigned major, minor, build;
        if (!v || sscanf(v + 9, "%u.%u.%u", &major, &minor, &build) != 3)
                return NULL;
        return strdup_printf("%u", build);
}

int new_image_check_os(struct vm_session *s, const struct os_profile *prof, char **ret_version) {
        _cleanup_free_ char *system = NULL;
        int r = agent_system(s->agent, &system);
        if (r < 0)
                return log_error_errno(r, "the agent did not say which OS it runs on: %m");
        if (strcasecmp(system, prof->os_name) != 0) {
                log_error("the guest runs %s, not %s: check that the disk or install media are for --%s", system,
                          prof->os_name, prof->name);
                return -EMEDIUMTYPE;
        }
        _cleanup_free_ char *out = NULL;
        r = session_run(s, prof->cmd.os_version, NULL, NULL, 60000, &out);
        if (r < 0) {
                if (r != -ECANCELED)
                        log_error("the guest could not tell its OS version ('%s' failed)", prof->cmd.os_version);
                return r;
        }
        /* cmd's "ver" starts with an empty line. */
        char *line = out + strspn(out, "\r\n");
        line[strcspn(line, "\r\n")] = 0;
        if (!*line) {
                log_error("the guest's OS version command '%s' printed nothing", prof->cmd.os_version);
                return -EMEDIUMTYPE;
        }
        log_info("The guest runs %s %s", strempty(system), line);
        return (*ret_version = strdup(line)) ? 0 : log_oom();
}

/* The agent answered: the guest must be the OS the profile installs (a wrong --iso boots
 * something else); a Windows guest's build is recorded as it reports it. */
static int check_installed_os(struct init_run *x, struct image *img) {
        const struct os_profile *prof = x->req->profile;
        _cleanup_free_ char *version = NULL;
        int r = new_image_check_os(&x->s, prof, &version);
        if (r < 0)
                return r;
        _cleanup_free_ char *build = windows_build_of(version);
        if (build && x->media.os_build && !streq(x->media.os_build, build))
                log_warning("the media said build %s, the guest reports %s (recording the guest's)", x->media.os_build,
                            build);
        if (build) {
                free(x->media.os_build);
                x->media.os_build = TAKE_PTR(build);
        }
        img->os_build = x->media.os_build;
        img->os_edition = x->media.os_edition;
        img->os_language = x->media.os_language;
        if (img->os_build || img->os_edition)
                log_info("Installed %s build %s, %s, %s", prof->name, strempty(img->os_build),
                         strempty(img->os_edition), strempty(img->os_language));
        return 0;
}

/* Everything after the checks: returns with the image recorded, or fails leaving its files to
 * the caller's cleanup. */
static int init_steps(struct init_run *x, struct image *img) {
        const struct init_request *req = x->req;
        const struct os_profile *prof = req->profile;
        int r = make_workdir(x);
        if (r < 0)
                return r;
        log_info("Creating image %s: %s, %s %s/%u (gateway %s), %u MiB RAM", req->name, prof->name,
                 req->net.mode == IMAGE_NET_USER ? "user network" : req->adapter, x->net.ip_s, x->net.net.prefix,
                 x->net.gateway_s, req->ram_mb);
        char disk[32];
        if (req->hardware)
                log_info("Hardware %s: %s; %u CPU%s, a %s disk", req->hardware->name, req->hardware->description,
                         req->cpus, req->cpus == 1 ? "" : "s", format_bytes(disk, sizeof disk, req->disk_bytes));
        if ((r = make_media(x)) < 0)
                return r;
        if (interrupted())
                return -ECANCELED;
        _cleanup_free_ char *logdir = paths_image_log_dir(req->name);
        if (!logdir)
                return log_oom();
        r = session_prepare(&x->s, x->pl, req->name, img, prof, &req->vm, NULL, logdir, NULL);
        if (r < 0)
                return r;
        r = vm_disk_create(x->pl->conn, img->path, req->disk_bytes);
        if (r < 0)
                return r;
        x->disk = img->path;
        unsigned timeout = req->vm.timeout_s ? req->vm.timeout_s : prof->install_timeout_s;
        warn_slow_install(x, timeout);
        r = install_flow_run(&x->s, &prof->install, &x->media, req->extra_cdroms, timeout, req->stuck_after_s);
        if (r < 0)
                return r;
        if ((r = check_installed_os(x, img)) < 0)
                return r;
        r = new_image_record(&x->s, x->pl->repo, img);
        img->os_build = img->os_edition = img->os_language = NULL; /* owned by x->media */
        return r;
}

int new_image_record(struct vm_session *s, struct repo *repo, struct image *img) {
        struct progress p;
        progress_begin(&p, "Shutting down");
        int r = session_poweroff(s, 120);
        progress_end(&p, r == -ECANCELED ? "interrupted" : r < 0 ? "failed" : "done");
        if (r < 0) {
                if (r != -ECANCELED) {
                        log_error("the guest did not shut down cleanly");
                        session_log_hint(s);
                }
                return r;
        }
        r = repo_image_insert(repo, img);
        free(img->created_at);
        img->created_at = NULL;
        if (r == -EEXIST)
                log_error("an image named '%s' was created by another vmcloak meanwhile; this one is discarded",
                          img->name);
        return r;
}

void new_image_done(struct new_image *n) {
        name_unlock(n->lock);
        free(n->disk);
        free(n->tags);
        free(n->identity);
        *n = (struct new_image){ 0 };
}

/* The MAC, and with a hardware profile the identity of one machine of that model: its MAC is
 * --mac when the user gave one (the identity describes the machine as it boots). */
static int new_image_identity(const struct init_request *req, struct new_image *n) {
        if ((!req->hardware || req->mac) && mac_given_or_random(req->mac, "--mac", n->mac) < 0)
                return -EINVAL;
        if (!req->hardware)
                return 0;
        struct hw_identity id = { 0 };
        int r = hardware_identity_new(req->hardware, NULL, &id, &n->identity);
        if (r == 0 && req->mac) {
                free(n->identity);
                n->identity = NULL;
                if (free_and_strdup(&id.mac, n->mac) < 0 || hw_identity_to_json(&id, &n->identity) < 0)
                        r = log_oom();
        } else if (r == 0)
                snprintf(n->mac, sizeof n->mac, "%s", id.mac);
        hw_identity_done(&id);
        return r;
}

int new_image_prepare(struct pipeline *pl, const struct init_request *req, struct new_image *ret) {
        _cleanup_(new_image_done) struct new_image n = { 0 };
        /* The name is reserved before anything is made: a second init of it stops here. */
        int r = name_lock_or_complain(LOCK_IMAGE, req->name, LOCK_EXCLUSIVE, "in use", &n.lock);
        if (r < 0)
                return r;
        _cleanup_image_ struct image *existing = NULL;
        if (repo_image_get(pl->repo, req->name, &existing) == 0) {
                log_error("an image named '%s' already exists; pick another name or remove it with 'vmcloak "
                          "delimg %s'", req->name, req->name);
                return -EEXIST;
        }
        if (!(n.disk = paths_image_disk(req->name)))
                return log_oom();
        if (path_exists(n.disk)) {
                log_error("%s already exists but no image is recorded for it and no vmcloak is making it (left by "
                          "an interrupted run or another tool): 'vmcloak cleanup %s' removes it", n.disk, req->name);
                return -EEXIST;
        }
        if ((r = resolve_network(pl->repo, req, &n.net)) < 0)
                return r;
        if ((r = new_image_identity(req, &n)) < 0)
                return r;
        _cleanup_strv_free_ char **tags = NULL;
        if (tags_add_all(&tags, req->tags) < 0 || tags_format(tags, &n.tags) < 0)
                return log_oom();
        const struct os_profile *prof = req->profile;
        n.row = (struct image){
                .name = (char *)req->name, .path = n.disk, .osversion = (char *)prof->name,
                .servicepack = (char *)prof->servicepack, .mode = (char *)"normal", .vm = (char *)"qemu",
                .ipaddr = n.net.ip_s, .port = req->port, .adapter = (char *)req->adapter, .netmask = n.net.netmask_s,
                .gateway = n.net.gateway_s, .cpus = (int)req->cpus, .ramsize = (int)req->ram_mb,
                .vramsize = (int)req->vram_mb, .mac = n.mac,
                .netmode = (char *)image_netmode_to_string(req->net.mode), .dns = n.net.dns_s,
                /* What the profile boots with; Windows 11's Secure Boot comes with its UEFI + TPM
                 * needs and stays without the TPM (--no-tpm). */
                .firmware = (char *)(prof->uefi ? "uefi" : "bios"), .secure_boot = prof->uefi && prof->tpm,
                .tpm = prof->tpm && !req->no_tpm,
                .hardware = req->hardware ? req->hardware->name : NULL,
        };
        *ret = n;
        n = (struct new_image){ 0 };
        /* The row points into *ret, wherever the caller keeps it. */
        ret->row.path = ret->disk;
        ret->row.ipaddr = ret->net.ip_s;
        ret->row.netmask = ret->net.netmask_s;
        ret->row.gateway = ret->net.gateway_s;
        ret->row.dns = ret->net.dns_s;
        ret->row.mac = ret->mac;
        ret->row.tags = ret->tags;
        ret->row.identity = ret->identity;
        return 0;
}

void new_image_remove_files(const char *disk) {
        unlink_if_exists(disk);
        fwstate_remove(disk);
}

int pipeline_init(struct pipeline *pl, const struct init_request *req) {
        int64_t t0 = now_ms();
        _cleanup_(new_image_done) struct new_image n = { 0 };
        int r = new_image_prepare(pl, req, &n);
        if (r < 0)
                return r;
        struct init_run x = { .pl = pl, .req = req, .net = n.net };
        memcpy(x.mac, n.mac, sizeof x.mac);
        if (req->hostname && !(x.hostname = strdup(req->hostname)))
                return log_oom();
        r = init_steps(&x, &n.row);
        /* Switch the machine off before its files go. */
        init_run_done(&x);
        if (x.workdir)
                rm_rf_and_free(x.workdir);
        if (r == 0) {
                log_info("Image %s is ready (%s, %.1f s). Next: vmcloak install %s ... or vmcloak snapshot %s "
                         "VMNAME", req->name, x.net.ip_s, (double)(now_ms() - t0) / 1000.0, req->name, req->name);
                return 0;
        }
        if (x.disk)
                new_image_remove_files(x.disk);
        if (r == -ECANCELED)
                log_error("init of %s interrupted; removed its disk and work files", req->name);
        else
                log_error("init of %s failed; nothing was recorded%s", req->name,
                          x.disk ? " and its disk was removed" : "");
        return r;
}
