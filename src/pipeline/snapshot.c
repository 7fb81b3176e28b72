/* snapshot: per VM an overlay on the image, a boot, hostname and address through the agent,
 * a compressed memory snapshot and machineinfo.json; restore: Cuckoo3's way back. */
#include "pipeline/snapshot.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/interrupt.h"
#include "core/ipnet.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/progress.h"
#include "core/random.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "pipeline/install.h"
#include "pipeline/machineinfo.h"
#include "pipeline/netcfg.h"
#include "qemu/argv.h"
#include "qemu/img.h"
#include "qemu/vm.h"

#define AGENT_BOOT_TIMEOUT_S 600
#define AGENT_READDRESS_TIMEOUT_S 180

struct vm_job {
        char *name;
        char ip[16];
        char hostname[64];
        bool ok;
};

struct snapshot_ctx {
        struct repo *repo;
        const struct snapshot_request *req;
        const struct image *img;
        const struct os_profile *prof;
        struct vm_job *jobs;
        unsigned n;
        unsigned next;
        pthread_mutex_t lock;
        unsigned prefix;
};

static void say(const char *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *vm, const char *fmt, ...) {
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        log_info("%s: %s", vm, buf);
}

/* Keep a failed VM's logs where the user can read them after its folder is removed. */
static char *save_failed_logs(const char *vmdir, const char *vmname) {
        _cleanup_free_ char *root = paths_log_dir();
        char *dst = root ? path_join(root, vmname) : NULL;
        if (!dst || mkdir_p(dst, 0755) < 0) {
                free(dst);
                return NULL;
        }
        static const char *const logs[] = { "qemu.log", "serial.log" };
        for (size_t i = 0; i < ELEMENTSOF(logs); i++) {
                _cleanup_free_ char *from = path_join(vmdir, logs[i]);
                _cleanup_free_ char *to = path_join(dst, logs[i]);
                if (from && to) {
                        unlink_if_exists(to);
                        if (rename(from, to) < 0)
                                copy_file(from, to, 0644);
                }
        }
        return dst;
}

static const char *const net_keys[] = { "ip", "prefix", "netmask", "gateway", "dns", NULL };

/* Render the START_ARGS of the VM as it will be restored: one forward, to its new address. */
static int restore_start_args(struct guest *g, char ***ret) {
        struct vm_config *c = &g->cfg;
        char *ip1 = c->guest_ip, *ip2 = c->guest_ip2;
        unsigned p1 = c->host_fwd_port, p2 = c->host_fwd_port2;
        if (g->user_net) {
                c->guest_ip = ip2;
                c->host_fwd_port = p2;
                c->guest_ip2 = NULL;
                c->host_fwd_port2 = 0;
        }
        int r = vm_argv_build(c, VM_ARGV_START_ARGS, ret);
        c->guest_ip = ip1;
        c->guest_ip2 = ip2;
        c->host_fwd_port = p1;
        c->host_fwd_port2 = p2;
        return r;
}

static int wait_for_enter(const char *vm) {
        say(vm, "paused for manual changes (VNC or the VM's window); press Enter here to take the snapshot");
        char line[64];
        if (!fgets(line, sizeof line, stdin))
                return -EIO;
        return interrupted() ? -ECANCELED : 0;
}

static int snapshot_one(struct snapshot_ctx *x, struct vm_job *job) {
        const struct snapshot_request *req = x->req;
        const struct image *img = x->img;
        const struct os_profile *prof = x->prof;
        _cleanup_free_ char *vmdir = paths_vm_dir(job->name);
        _cleanup_free_ char *disk = vmdir ? path_join(vmdir, "disk.qcow2") : NULL;
        _cleanup_free_ char *memfile = vmdir ? path_join(vmdir, "memory.snapshot") : NULL;
        _cleanup_free_ char *os_version = NULL;
        _cleanup_strv_free_ char **start_args = NULL;
        _cleanup_free_ char *com1 = NULL;
        if (!memfile)
                return -ENOMEM;
        struct guest g = { 0 };
        const char *step = "preparing";
        int r = mkdir_p(vmdir, 0775);
        if (r < 0) {
                log_error_errno(r, "cannot create %s: %m", vmdir);
                return r;
        }
        step = "creating its overlay disk";
        r = qemu_img_create_overlay(disk, img->path);
        if (r < 0)
                goto fail;

        struct image vimg = *img;
        if (req->cpus)
                vimg.cpus = (int)req->cpus;
        if (req->ram_mb)
                vimg.ramsize = (int)req->ram_mb;
        uint8_t macb[6];
        char mac[18];
        random_vendor_mac(macb);
        format_mac(macb, mac);
        vimg.mac = mac;
        struct vm_options o = req->vm;
        if (o.vnc)
                o.vnc_display += (unsigned)(job - x->jobs);
        com1 = req->com1 ? strdup_printf("file:%s/%s.com1", vmdir, job->name) : NULL;
        if (com1)
                o.serial = com1;
        step = "configuring it";
        r = guest_prepare(&g, job->name, &vimg, prof, &o, disk, vmdir);
        if (r < 0)
                goto fail;
        if (g.user_net) {
                uint16_t port2;
                r = free_local_port(&port2);
                if (r < 0)
                        goto fail;
                g.cfg.guest_ip2 = strdup(job->ip);
                g.cfg.host_fwd_port2 = port2;
                if (!g.cfg.guest_ip2) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        step = "booting it";
        say(job->name, "booting (overlay on %s, MAC %s)", img->name, mac);
        r = guest_start(&g);
        if (r == 0)
                r = guest_wait_agent(&g, o.timeout_s ? o.timeout_s : AGENT_BOOT_TIMEOUT_S, "Waiting for the agent");
        if (r < 0)
                goto fail;

        step = "setting its hostname";
        const char *hk[] = { "hostname", NULL }, *hv[] = { job->hostname, NULL };
        r = guest_run(&g, prof->cmd.set_hostname, hk, hv, 60000, NULL);
        if (r < 0)
                goto fail;
        if (prof->cmd.hostname_needs_reboot) {
                step = "rebooting after the hostname change";
                agent_execute_nowait(g.agent, prof->cmd.reboot, true, 10000);
                sleep_ms(5000);
                r = guest_wait_agent(&g, AGENT_BOOT_TIMEOUT_S, "Waiting for the agent after the reboot");
                if (r < 0)
                        goto fail;
        }
        if (req->resolution && prof->cmd.set_resolution) {
                step = "setting the screen resolution";
                unsigned w, h;
                parse_resolution(req->resolution, &w, &h);
                char ws[16], hs[16];
                snprintf(ws, sizeof ws, "%u", w);
                snprintf(hs, sizeof hs, "%u", h);
                const char *rk[] = { "width", "height", NULL }, *rv[] = { ws, hs, NULL };
                r = guest_run(&g, prof->cmd.set_resolution, rk, rv, 60000, NULL);
                if (r < 0)
                        goto fail;
        }
        if (!prof->os_version) {
                /* The guest's own kernel release (linux). */
                step = "reading its OS version";
                r = guest_run(&g, "uname -r", NULL, NULL, 30000, &os_version);
                if (r < 0)
                        goto fail;
                os_version[strcspn(os_version, "\r\n")] = 0;
        }
        if (req->interactive && (r = wait_for_enter(job->name)) < 0)
                goto fail;

        step = "changing its address";
        say(job->name, "hostname %s, address %s", job->hostname, job->ip);
        char prefix[8];
        snprintf(prefix, sizeof prefix, "%u", x->prefix);
        const char *dns = img->dns ? img->dns : "8.8.8.8"; /* VMCloak's default; its rows keep no DNS */
        const char *nv[] = { job->ip, prefix, img->netmask, img->gateway, dns, NULL };
        _cleanup_free_ char *setnet = NULL;
        r = guest_template_expand(prof->cmd.set_network, net_keys, nv, &setnet);
        if (r < 0)
                goto fail;
        /* The agent's answer may never come: its address changes under it. */
        r = agent_execute_nowait(g.agent, setnet, true, 10000);
        if (r < 0)
                goto fail;
        if (g.user_net)
                r = agent_client_set_address(g.agent, "127.0.0.1", (int)g.cfg.host_fwd_port2);
        else
                r = agent_client_set_address(g.agent, job->ip, img->port);
        if (r < 0)
                goto fail;
        r = guest_wait_agent(&g, AGENT_READDRESS_TIMEOUT_S, "Waiting for the agent at the new address");
        if (r < 0)
                goto fail;

        step = "shrinking its memory";
        r = guest_run(&g, prof->cmd.shrink_memory, NULL, NULL, 120000, NULL);
        if (r < 0)
                goto fail;

        step = "rendering its start arguments";
        r = restore_start_args(&g, &start_args);
        if (r < 0)
                goto fail;
        step = "writing its memory snapshot";
        struct vm_memsnap_opts mo = { .after = VM_MEMSNAP_QUIT, .level = req->level, .quiet = req->jobs > 1 };
        r = vm_memsnap_save(g.vm, memfile, req->compress, &mo);
        if (r < 0)
                goto fail;
        char sz[32];
        say(job->name, "memory snapshot %s (%s)", format_bytes(sz, sizeof sz, file_size_or_zero(memfile)),
            vm_compress_to_string(req->compress));

        step = "writing machineinfo.json";
        char *tags[] = { NULL };
        struct machineinfo mi = {
                .name = job->name, .ip = job->ip,
                .agent_port = (uint16_t)img->port, .os_name = prof->os_name,
                .os_version = prof->os_version ? prof->os_version : os_version, .architecture = prof->arch,
                .tags = tags, .bridge = img->adapter, .mac = mac, .gateway = img->gateway, .netmask = img->netmask,
                .disk = "disk.qcow2", .start_args = start_args, .memory_snapshot = "memory.snapshot",
                .compression = vm_compress_to_string(req->compress), .net = g.user_net ? "user" : "bridge",
                .hostname = job->hostname,
        };
        const struct host_env *env;
        host_env_get(VM_ACCEL_AUTO, &env);
        char ver[32];
        snprintf(ver, sizeof ver, "%u.%u.%u", env->qemu.version.major, env->qemu.version.minor,
                 env->qemu.version.micro);
        mi.machinery_version = ver;
        r = machineinfo_write(vmdir, &mi);
        if (r < 0) {
                log_error_errno(r, "cannot write %s/machineinfo.json: %m", vmdir);
                goto fail;
        }
        step = "recording it";
        struct snapshot row = { .image_id = img->id, .vmname = job->name, .ipaddr = job->ip, .port = img->port,
                                .hostname = job->hostname, .mac = mac };
        pthread_mutex_lock(&x->lock);
        r = repo_snapshot_insert(x->repo, &row);
        pthread_mutex_unlock(&x->lock);
        free(row.created_at);
        if (r < 0)
                goto fail;
        guest_done(&g);
        say(job->name, "ready in %s", vmdir);
        return 0;

fail:
        guest_done(&g);
        _cleanup_free_ char *kept = save_failed_logs(vmdir, job->name);
        rm_rf(vmdir);
        if (r == -ECANCELED)
                log_error("%s: interrupted while %s; removed its files", job->name, step);
        else
                log_error("%s: failed while %s; removed its files%s%s", job->name, step,
                          kept ? ", its logs are in " : "", strempty(kept));
        return r;
}

static void *worker(void *arg) {
        struct snapshot_ctx *x = arg;
        for (;;) {
                pthread_mutex_lock(&x->lock);
                unsigned i = x->next++;
                pthread_mutex_unlock(&x->lock);
                if (i >= x->n || interrupted())
                        break;
                x->jobs[i].ok = snapshot_one(x, &x->jobs[i]) == 0;
        }
        return NULL;
}

static int plan_vms(struct snapshot_ctx *x, struct ipnet *net) {
        const struct snapshot_request *req = x->req;
        x->jobs = calloc(req->count, sizeof *x->jobs);
        if (!x->jobs)
                return -ENOMEM;
        x->n = req->count;
        uint32_t start = 0;
        if (req->first_ip) {
                if (vcheck_ipv4(req->first_ip, "IP", &start) < 0)
                        return -EINVAL;
                if (!ipv4_in_net(&net->net, start)) {
                        log_error("IP %s is outside the network of image %s (%s/%s)", req->first_ip, x->img->name,
                                  x->img->ipaddr, x->img->netmask);
                        return -EINVAL;
                }
        }
        _cleanup_free_ uint32_t *ips = calloc(req->count, sizeof *ips);
        if (!ips)
                return -ENOMEM;
        int r = ipnet_alloc(net, req->count, start, 10, ips);
        if (r < 0) {
                log_error("not enough free addresses in %s/%u for %u VMs; pass a lower starting IP or fewer VMs",
                          x->img->ipaddr, net->net.prefix, req->count);
                return r;
        }
        for (unsigned i = 0; i < req->count; i++) {
                struct vm_job *j = &x->jobs[i];
                j->name = req->count == 1 ? strdup(req->vmname) : strdup_printf("%s%u", req->vmname, i + 1);
                if (!j->name)
                        return -ENOMEM;
                if (vcheck_name(j->name, "VM name") < 0)
                        return -EINVAL;
                format_ipv4(ips[i], j->ip);
                if (req->hostname)
                        snprintf(j->hostname, sizeof j->hostname, "%s", req->hostname);
                else {
                        _cleanup_free_ char *h = random_string(8, 16);
                        if (!h)
                                return -ENOMEM;
                        snprintf(j->hostname, sizeof j->hostname, "%s", h);
                }
                _cleanup_snapshot_ struct snapshot *s = NULL;
                if (repo_snapshot_get(x->repo, j->name, &s) == 0) {
                        log_error("a snapshot VM named %s already exists; delete it first ('vmcloak delvm %s') or "
                                  "pick another VMNAME", j->name, j->name);
                        return -EEXIST;
                }
                _cleanup_free_ char *dir = paths_vm_dir(j->name);
                if (!dir)
                        return -ENOMEM;
                if (path_exists(dir)) {
                        log_error("%s already exists but no snapshot VM is recorded for it; remove it first", dir);
                        return -EEXIST;
                }
        }
        return 0;
}

int pipeline_snapshot(struct repo *repo, const struct snapshot_request *req) {
        _cleanup_image_ struct image *img = NULL;
        int r = image_open_checked(repo, req->image, true, &img);
        if (r < 0)
                return r;
        if (req->hostname && req->count != 1) {
                log_error("--hostname names one VM; with --count %u each VM gets its own random hostname",
                          req->count);
                return -EINVAL;
        }
        struct snapshot_ctx x = { .repo = repo, .req = req, .img = img, .prof = os_profile_find(img->osversion) };
        if (req->resolution && !x.prof->cmd.set_resolution)
                log_warning("--resolution %s: the %s guest has no way to change its screen resolution; ignored",
                            req->resolution, x.prof->name);
        pthread_mutex_init(&x.lock, NULL);
        uint32_t ip, gw = 0;
        if (!img->ipaddr || parse_ipv4(img->ipaddr, &ip) < 0 || !img->netmask ||
            netmask_to_prefix(img->netmask, &x.prefix) < 0) {
                log_error("image %s has no valid address/netmask in the repository", img->name);
                return -EINVAL;
        }
        if (img->gateway)
                parse_ipv4(img->gateway, &gw);
        _cleanup_strv_free_ char **used = NULL;
        r = repo_used_ips(repo, &used);
        if (r < 0)
                return r;
        struct ipnet net;
        struct ipv4_net n = { ip, x.prefix };
        ipnet_init(&net, &n, gw, used);
        if (img->netmode && streq(img->netmode, "user"))
                netcfg_reserve_usernet(&net);
        r = plan_vms(&x, &net);
        ipnet_done(&net);
        /* Probe QEMU before any thread needs it (one warning line, not one per VM). */
        const struct host_env *env;
        if (r == 0)
                r = host_env_get(req->vm.accel, &env);
        if (r < 0)
                goto done;

        /* The image is frozen from now on: its snapshot VMs are overlays on it. */
        char *old_mode = img->mode;
        img->mode = (char *)"multiattach";
        r = repo_image_update(repo, img);
        img->mode = old_mode;
        if (r < 0)
                goto done;

        unsigned jobs = req->jobs ? req->jobs : 1;
        if (jobs > x.n)
                jobs = x.n;
        int64_t t0 = now_ms();
        log_info("Creating %u snapshot VM%s of %s (%u at a time)", x.n, x.n == 1 ? "" : "s", img->name, jobs);
        if (jobs > 1)
                progress_set_enabled(false);
        /* jobs - 1 threads, plus this one. */
        pthread_t threads[64];
        unsigned started = 0;
        for (; started + 1 < jobs && started < ELEMENTSOF(threads); started++)
                if (pthread_create(&threads[started], NULL, worker, &x) != 0)
                        break;
        worker(&x);
        for (unsigned i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        unsigned ok = 0;
        for (unsigned i = 0; i < x.n; i++)
                ok += x.jobs[i].ok;
        if (ok == 0 && old_mode && !streq(old_mode, "multiattach")) {
                /* Nothing depends on the image after all. */
                repo_image_update(repo, img);
        }
        log_info("Created %u of %u snapshot VMs in %.1f s", ok, x.n, (double)(now_ms() - t0) / 1000.0);
        r = ok == x.n ? 0 : interrupted() ? -ECANCELED : -EIO;
done:
        for (unsigned i = 0; i < x.n; i++)
                free(x.jobs[i].name);
        free(x.jobs);
        pthread_mutex_destroy(&x.lock);
        return r;
}

/* ---- restore ---- */

static int read_machineinfo(const char *vmdir, json_object **ret) {
        _cleanup_free_ char *path = path_join(vmdir, "machineinfo.json");
        if (!path)
                return -ENOMEM;
        json_object *root = json_object_from_file(path);
        if (!root) {
                log_error("cannot read %s: %s (recreate the VM with 'vmcloak delvm' and 'vmcloak snapshot')", path,
                          json_util_get_last_err());
                return -EINVAL;
        }
        const char *why;
        if (machineinfo_validate(root, &why) < 0) {
                log_error("%s is not usable: %s", path, why);
                json_object_put(root);
                return -EINVAL;
        }
        *ret = root;
        return 0;
}

static const char *mi_str(json_object *m, const char *k) {
        json_object *v;
        return json_object_object_get_ex(m, k, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

/* In a user-mode VM's -netdev, point the agent forward at a port free on this host now. */
static int retarget_hostfwd(char **arg, uint16_t port) {
        char *h = strstr(*arg, "hostfwd=tcp:127.0.0.1:");
        if (!h)
                return -ENOENT;
        char *num = h + strlen("hostfwd=tcp:127.0.0.1:");
        char *dash = strchr(num, '-');
        if (!dash)
                return -EINVAL;
        char *n = strdup_printf("%.*s%u%s", (int)(num - *arg), *arg, port, dash);
        if (!n)
                return -ENOMEM;
        free(*arg);
        *arg = n;
        return 0;
}

int pipeline_restore(struct repo *repo, const struct restore_request *req) {
        _cleanup_snapshot_ struct snapshot *s = NULL;
        int r = repo_snapshot_get(repo, req->vmname, &s);
        if (r == -ENOENT) {
                log_error("no snapshot VM named '%s' (see 'vmcloak list snapshots')", req->vmname);
                return r;
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *vmdir = paths_vm_dir(req->vmname);
        if (!vmdir)
                return -ENOMEM;
        json_object *root = NULL, *m, *sa;
        r = read_machineinfo(vmdir, &root);
        if (r < 0)
                return r;
        json_object_object_get_ex(root, "machine", &m);
        json_object_object_get_ex(m, "start_args", &sa);
        const char *memrel = mi_str(m, "memory_snapshot"), *diskrel = mi_str(m, "disk"), *ip = mi_str(m, "ip");
        const char *net = mi_str(m, "net");
        bool user = net && streq(net, "user");
        int agent_port = json_object_get_int(json_object_object_get(m, "agent_port"));
        _cleanup_free_ char *memfile = memrel ? path_join(vmdir, memrel) : NULL;
        _cleanup_free_ char *disk = diskrel ? path_join(vmdir, diskrel) : NULL;
        _cleanup_free_ char *overlay = strdup_printf("%s/disposable-%d.qcow2", vmdir, (int)getpid());
        _cleanup_free_ char *rundir = strdup_printf("%s/vmcloak-restore-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        _cleanup_free_ char *sock = NULL, *uri = NULL, *log = path_join(vmdir, "restore.log");
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_vm_ struct vm *vm = NULL;
        _cleanup_agent_client_ struct agent_client *agent = NULL;
        bool overlay_made = false, rundir_made = false;
        uint16_t fwd = 0;
        const struct host_env *env;
        if (!memfile || !disk || !overlay || !rundir || !log || !ip) {
                r = -ENOMEM;
                goto out;
        }
        r = host_env_get(VM_ACCEL_TCG, &env); /* only the binary and version: the accelerator is in start_args */
        if (r < 0)
                goto out;
        r = vm_memsnap_incoming_uri(memfile, &uri);
        if (r < 0)
                goto out;
        if (!mkdtemp(rundir)) {
                r = log_error_errno(-errno, "cannot create a run folder: %m");
                goto out;
        }
        rundir_made = true;
        sock = path_join(rundir, "qmp.sock");
        /* Cuckoo3: a disposable overlay on the VM's disk, start_args with the placeholder replaced,
         * then -qmp, -monitor none and -incoming "exec:<decompressor> < memory file". */
        r = qemu_img_create_overlay(overlay, disk);
        if (r < 0)
                goto out;
        overlay_made = true;
        if ((r = strv_extend(&argv, env->qemu.path)) < 0)
                goto out;
        for (size_t i = 0; i < json_object_array_length(sa); i++) {
                const char *a = json_object_get_string(json_object_array_get_idx(sa, i));
                const char *ph = strstr(a, "%DISPOSABLE_DISK_PATH%");
                char *v = ph ? strdup_printf("%.*s%s%s", (int)(ph - a), a, overlay, ph + strlen("%DISPOSABLE_DISK_PATH%"))
                             : strdup(a);
                if ((r = strv_push(&argv, v)) < 0)
                        goto out;
                if (user && i > 0 && streq(json_object_get_string(json_object_array_get_idx(sa, i - 1)), "-netdev") &&
                    strstr(v, "hostfwd=")) {
                        if ((r = free_local_port(&fwd)) < 0 || (r = retarget_hostfwd(&argv[strv_length(argv) - 1], fwd)) < 0)
                                goto out;
                }
        }
        if (user && !fwd) {
                log_error("%s is a user-network VM but its start_args forward no port to the agent", req->vmname);
                r = -EINVAL;
                goto out;
        }
        if ((r = strv_extend(&argv, "-qmp")) < 0 || (r = strv_extendf(&argv, "unix:%s,server=on,wait=off", sock)) < 0 ||
            (r = strv_extend(&argv, "-monitor")) < 0 || (r = strv_extend(&argv, "none")) < 0 ||
            (r = strv_extend(&argv, "-incoming")) < 0 || (r = strv_extend(&argv, uri)) < 0)
                goto out;
        if (req->vnc && ((r = strv_extend(&argv, "-vnc")) < 0 ||
                         (r = strv_extendf(&argv, "%s:%u", req->vnc_listen ? req->vnc_listen : "127.0.0.1",
                                           req->vnc_display)) < 0))
                goto out;
        unlink_if_exists(log);
        int64_t t0 = now_ms();
        struct vm_start_opts so = { .log_path = log };
        r = vm_start_argv(argv, sock, &so, &vm);
        if (r < 0)
                goto out;
        r = vm_memsnap_incoming_wait(vm, memfile, req->timeout_s ? (int)req->timeout_s * 1000 : 120000);
        if (r < 0)
                goto out;
        int64_t t_running = now_ms();
        r = agent_client_new(user ? "127.0.0.1" : ip, user ? fwd : agent_port, &agent);
        if (r < 0)
                goto out;
        r = agent_wait_ready(agent, req->timeout_s ? (int)req->timeout_s * 1000 : 60000);
        if (r < 0) {
                log_error("the restored VM's agent did not answer; QEMU's log is %s", log);
                goto out;
        }
        int64_t t_agent = now_ms();
        printf("%s restored: running after %.2f s, agent answering after %.2f s (%s:%d)\n", req->vmname,
               (double)(t_running - t0) / 1000.0, (double)(t_agent - t0) / 1000.0, ip, agent_port);
        fflush(stdout);
        if (req->exec) {
                struct agent_exec_opts eo = { .timeout_ms = 60000 };
                struct agent_exec_result res = { 0 };
                r = agent_execute(agent, req->exec, &eo, &res);
                if (r == 0) {
                        fputs(strempty(res.out), stdout);
                        fputs(strempty(res.err), stderr);
                        fflush(stdout);
                        if (res.exit_code != 0) {
                                log_error("'%s' exited with code %d in the restored VM", req->exec, res.exit_code);
                                r = -EPROTO;
                        }
                }
                agent_exec_result_done(&res);
                if (r < 0)
                        goto out;
        }
        if (req->keep) {
                log_info("%s keeps running (agent at %s); Ctrl-C stops it and discards its changes", req->vmname,
                         agent_client_address(agent));
                int status;
                r = vm_wait_exit(vm, -1, &status, NULL);
                if (r == -ECANCELED)
                        r = 0;
        }
        vm_quit(vm, 5000);
out:
        if (vm)
                vm_kill(vm);
        if (overlay_made)
                unlink_if_exists(overlay);
        if (rundir_made)
                rm_rf(rundir);
        json_object_put(root);
        return r;
}
