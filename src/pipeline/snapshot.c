/* snapshot: per VM an overlay on the image, a boot, hostname and address through the agent,
 * a compressed memory snapshot and machineinfo.json. */
#include "pipeline/snapshot.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/interrupt.h"
#include "core/ipnet.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/progress.h"
#include "core/random.h"
#include "core/repo.h"
#include "core/tags.h"
#include "core/util.h"
#include "core/validate.h"
#include "cloak/hardware.h"
#include "guest/profile.h"
#include "guest/unattend.h"
#include "deps/catalog.h"
#include "deps/resolve.h"
#include "deps/runner.h"
#include "pipeline/cleanup.h"
#include "pipeline/cloakcheck.h"
#include "pipeline/fwstate.h"
#include "pipeline/imagehw.h"
#include "pipeline/install.h"
#include "pipeline/machineinfo.h"
#include "pipeline/netcfg.h"
#include "pipeline/session.h"
#include "pipeline/snapshot_internal.h"
#include "pipeline/tags.h"


void snapshot_say(const char *vm, const char *fmt, ...) {
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        log_info("%s: %s", vm, buf);
}

char *snapshot_save_failed_logs(const char *vmdir, const char *vmname) {
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

static const char *const net_keys[] = { "ip", "prefix", "netmask", "gateway", "dns", "mac", "agent", NULL };

static int wait_for_enter(const char *vm) {
        snapshot_say(vm, "paused for manual changes (VNC or the VM's window); press Enter here to take the snapshot");
        char line[64];
        if (!fgets(line, sizeof line, stdin))
                return -EIO;
        return interrupted() ? -ECANCELED : 0;
}

static void vm_build_done(struct vm_build *b) {
        session_done(&b->s);
        free(b->vmdir);
        free(b->disk);
        free(b->memfile);
        hw_identity_done(&b->id);
        free(b->identity);
        free(b->os_version);
        strv_free(b->start_args);
        free(b->com1);
        free(b->cloakcheck);
        free(b->volume);
}

/* This VM's MAC, and with a hardware profile its whole identity: another machine of the same
 * model (own serials, UUID, MAC of the vendor's, machine id) with the image's drive models. */
static int vm_identity_new(struct vm_build *b) {
        const struct snapshot_ctx *x = b->x;
        if (!x->hw) {
                uint8_t macb[6];
                random_vendor_mac(macb);
                format_mac(macb, b->mac);
                return 0;
        }
        int r = hardware_identity_new(x->hw, &x->hw_image, &b->id, &b->identity);
        if (r < 0)
                return r;
        snprintf(b->mac, sizeof b->mac, "%s", b->id.mac);
        return 0;
}

void snapshot_vm_image(const struct snapshot_ctx *x, struct image *ret) {
        const struct snapshot_request *req = x->req;
        *ret = *x->img;
        ret->tpm = req->tpm && x->img->tpm;
        if (req->cpus)
                ret->cpus = (int)req->cpus;
        if (req->ram_mb)
                ret->ramsize = (int)req->ram_mb;
}

/* The overlay (or with a fleet's template, a copy of its disk), the definition (the image's,
 * with this VM's MAC, CPUs, RAM, display, serial, and the address it will move to), the boot
 * (or the start from the template's memory) and the agent. */
static int build_boot(struct vm_build *b) {
        struct snapshot_ctx *x = b->x;
        const struct snapshot_request *req = x->req;
        /* A libvirt host's VM: an overlay volume there (UEFI and TPM state are refused for
         * them before anything boots); else an overlay file with the firmware state beside it. */
        struct pipeline *pl = b->host ? b->host_pl : x->pl;
        int r;
        if (b->host) {
                free(b->disk);
                b->disk = NULL;
                if ((r = snapshot_libvirt_disk(b, &b->disk)) < 0)
                        return r;
        } else if (x->tpl_mem) {
                if ((r = snapshot_fleet_disk(b)) < 0)
                        return r;
        } else {
                b->step = "creating its overlay disk";
                if ((r = vm_disk_create_overlay(pl->conn, b->disk, x->img->path)) < 0)
                        return r;
                b->step = "copying the image's firmware state";
                if ((r = fwstate_copy(x->img, x->img->path, b->disk, req->tpm)) < 0)
                        return r;
        }
        struct image vimg;
        snapshot_vm_image(x, &vimg);
        if ((r = vm_identity_new(b)) < 0)
                return r;
        vimg.mac = b->mac;
        struct vm_options o = req->vm;
        if (o.vnc)
                o.vnc_display += (unsigned)(b->job - x->jobs);
        if (req->com1) {
                if (!(b->com1 = strdup_printf("file:%s/%s.com1", b->vmdir, b->job->name)))
                        return log_oom();
                o.serial = b->com1;
        }
        /* A remote host writes a serial file on its own disk, where no folder of ours exists. */
        if (b->host && !b->host_local && !o.serial)
                o.serial = "none";
        b->step = "configuring it";
        r = session_prepare(&b->s, pl, b->job->name, &vimg, x->prof, &o, b->disk, b->vmdir, b->identity);
        b->s.logs_move = true; /* a failed VM's folder goes: snapshot_one says where its logs went */
        b->s.persistent = b->host != NULL;
        if (r == 0 && b->host) {
                /* Its UEFI variables: libvirt's own per-domain NVRAM from the host's template (the
                 * image's vars file is on this machine, not in the host's pool). */
                free(b->s.def.nvram);
                b->s.def.nvram = NULL;
        }
        if (r < 0)
                return r;
        if (!(b->s.def.net.guest_ip2 = strdup(b->job->ip)))
                return log_oom();
        unsigned timeout_s = o.timeout_s ? o.timeout_s : AGENT_BOOT_TIMEOUT_S;
        if (x->tpl_mem) {
                /* The template's guest, on this VM's disk copy and definition: its MAC and
                 * address change in build_readdress. */
                b->step = "starting it from the template";
                int64_t t0 = now_ms();
                struct vm_start_opts so = { .memory_image = x->tpl_mem };
                r = session_start(&b->s, &so);
                if (r == 0)
                        r = session_wait_agent(&b->s, timeout_s, "Waiting for the agent");
                if (r == 0)
                        r = snapshot_fleet_reseed(b);
                if (r == 0)
                        snapshot_say(b->job->name, "restored from the template in %.1f s (MAC %s)",
                                     (double)(now_ms() - t0) / 1000.0, b->mac);
                return r;
        }
        b->step = "booting it";
        if (b->host)
                snapshot_say(b->job->name, "booting on %s (volume %s on %s, MAC %s)", b->host_uri, b->volume,
                             x->base_volume, b->mac);
        else
                snapshot_say(b->job->name, "booting (overlay on %s, MAC %s)", x->img->name, b->mac);
        r = session_start(&b->s, NULL);
        if (r == 0)
                r = session_wait_agent(&b->s, timeout_s, "Waiting for the agent");
        return r;
}

/* The in-guest half of the VM's identity (Linux machine-id, Windows MachineGuid, owner, install
 * date), through the OS profile's set_identity; before the hostname, whose Windows reboot then
 * starts the guest with both. */
static int build_identity(struct vm_build *b) {
        const char *tmpl = b->x->prof->cmd.set_identity;
        if (!b->identity || !tmpl)
                return 0;
        b->step = "giving it its own identity";
        char date[24];
        snprintf(date, sizeof date, "%lld", (long long)b->id.install_date);
        const char *k[] = { "machine_id", "machine_guid", "owner", "install_date", NULL };
        const char *v[] = { strempty(b->id.machine_id), strempty(b->id.machine_guid), strempty(b->id.owner), date,
                            NULL };
        return session_run(&b->s, tmpl, k, v, 60000, NULL);
}

/* Hostname, resolution, OS version: what the guest is told or asked before its snapshot. */
static int build_guest_settings(struct vm_build *b) {
        const struct snapshot_request *req = b->x->req;
        const struct os_profile *prof = b->x->prof;
        int r = build_identity(b);
        if (r < 0)
                return r;
        b->step = "setting its hostname";
        const char *hk[] = { "hostname", NULL }, *hv[] = { b->job->hostname, NULL };
        r = session_run(&b->s, prof->cmd.set_hostname, hk, hv, 60000, NULL);
        if (r < 0)
                return r;
        if (prof->cmd.hostname_needs_reboot) {
                b->step = "rebooting after the hostname change";
                if ((r = session_reboot(&b->s, AGENT_BOOT_TIMEOUT_S)) < 0)
                        return r;
        }
        if (req->resolution && prof->cmd.set_resolution) {
                b->step = "setting the screen resolution";
                unsigned w, h;
                parse_resolution(req->resolution, &w, &h);
                char ws[16], hs[16];
                snprintf(ws, sizeof ws, "%u", w);
                snprintf(hs, sizeof hs, "%u", h);
                const char *rk[] = { "width", "height", NULL }, *rv[] = { ws, hs, NULL };
                if ((r = session_run(&b->s, prof->cmd.set_resolution, rk, rv, 60000, NULL)) < 0)
                        return r;
        }
        if (!prof->os_version) {
                b->step = "reading its OS version";
                if ((r = session_run(&b->s, prof->cmd.os_version, NULL, NULL, 30000, &b->os_version)) < 0)
                        return r;
                b->os_version[strcspn(b->os_version, "\r\n")] = 0;
        }
        if (req->interactive && (r = wait_for_enter(b->job->name)) < 0)
                return r;
        return 0;
}

static int reboot_build(void *userdata) {
        struct vm_build *b = userdata;
        return session_reboot(&b->s, AGENT_BOOT_TIMEOUT_S);
}

/* VMCloak's final changes (threemonpatch, finalize), in the VM before its memory snapshot. */
static int build_finalize(struct vm_build *b) {
        const struct snapshot_ctx *x = b->x;
        if (x->final.n == 0)
                return 0;
        b->step = "running threemonpatch and finalize";
        snapshot_say(b->job->name, "running %s", x->final.n > 1 ? "threemonpatch and finalize" : x->final.items[0].name);
        struct install_target t = { .agent = b->s.agent, .profile = x->prof, .os = x->img->osversion,
                                    .arch = x->prof->arch, .cmd_timeout_ms = AGENT_BOOT_TIMEOUT_S * 1000,
                                    .reboot = reboot_build, .userdata = b };
        return dep_plan_run(&x->final, &t, NULL);
}

/* Windows: resolve and fetch threemonpatch and finalize before any VM starts (the patch's only
 * host is dark, so a missing file must not cost a boot). */
static int plan_final(struct snapshot_ctx *x) {
        const struct snapshot_request *req = x->req;
        unsigned kept = 0;
        for (unsigned i = 0; i < x->n; i++)
                kept += x->jobs[i].kept;
        if (!startswith(x->prof->name, "win") || kept == x->n)
                return 0;
        struct dep_catalog *own = NULL;
        int r = req->catalog ? 0 : dep_catalog_load_default(&own);
        if (r < 0)
                return r;
        char *tokens[] = { req->nopatch ? "finalize" : "threemonpatch", req->nopatch ? NULL : "finalize", NULL };
        struct install_plan tp;
        r = install_plan_parse(tokens, &tp);
        if (r == 0) {
                struct dep_resolve_input in = { .tokens = &tp, .catalog = req->catalog ? req->catalog : own,
                                                .os = x->img->osversion, .arch = x->prof->arch,
                                                .installed = x->img->installed };
                r = dep_resolve(&in, &x->final);
                install_plan_free(&tp);
        }
        if (r == 0)
                r = dep_plan_check(&x->final, x->img->osversion, x->prof->arch, false);
        struct dep_fetch_opts fo = { .files_dir = req->files_dir };
        if (r == 0)
                r = dep_plan_fetch(&x->final, &fo, false,
                                   "give the file with --files-dir DIR, or snapshot without the patch: --nopatch");
        x->catalog = own;
        return r;
}

/* The agent's own path for a profile command template that names {agent} (guests whose step is
 * one of the agent's subcommands); *ret stays NULL when tmpl does not name it. 0, or a negative
 * errno after one line. */
static int template_agent_path(struct vm_build *b, const char *tmpl, char **ret) {
        int r = strstr(tmpl, "{agent}") ? agent_path(b->s.agent, ret) : 0;
        if (r < 0)
                return log_error_errno(r, "%s: the agent cannot say where it runs from: %m", b->job->name);
        return 0;
}

/* The new address: the agent's answer may never come (its address changes under it), so the
 * client moves to the machine's second endpoint and waits there. */
static int build_readdress(struct vm_build *b) {
        const struct image *img = b->x->img;
        b->step = "changing its address";
        snapshot_say(b->job->name, "hostname %s, address %s", b->job->hostname, b->job->ip);
        char prefix[8];
        snprintf(prefix, sizeof prefix, "%u", b->x->prefix);
        const char *dns = img->dns ? img->dns : "8.8.8.8"; /* VMCloak's default; its rows keep no DNS */
        /* The agent's own path, for guests whose network step is one of its subcommands. */
        _cleanup_free_ char *agent = NULL;
        int r = template_agent_path(b, b->x->prof->cmd.set_network, &agent);
        if (r < 0)
                return r;
        const char *nv[] = { b->job->ip, prefix, img->netmask, img->gateway, dns, b->mac, strempty(agent), NULL };
        _cleanup_free_ char *setnet = NULL;
        r = guest_template_expand(b->x->prof->cmd.set_network, net_keys, nv, &setnet);
        if (r < 0)
                return r;
        r = agent_execute_nowait(b->s.agent, setnet, true, 10000);
        if (r < 0)
                return r;
        if ((r = session_use_slot(&b->s, 1)) < 0)
                return r;
        return session_wait_agent(&b->s, AGENT_READDRESS_TIMEOUT_S, "Waiting for the agent at the new address");
}

int snapshot_shrink_memory(struct vm_build *b) {
        const struct os_profile *prof = b->x->prof;
        b->step = "shrinking its memory";
        /* Bench only (docs/benchmarks.md): VMCloak's way, no memory preparation. */
        const char *bench = getenv("VMCLOAK_BENCH_NO_MEMPREP");
        if (bench && streq(bench, "1"))
                return 0;
        if (!prof->cmd.shrink_memory)
                return 0;
        /* {agent}: for guests whose preparation is one of the agent's subcommands (Windows). */
        _cleanup_free_ char *agent = NULL;
        int r = template_agent_path(b, prof->cmd.shrink_memory, &agent);
        if (r < 0)
                return r;
        const char *keys[] = { "agent", NULL }, *values[] = { strempty(agent), NULL };
        _cleanup_free_ char *cmd = NULL;
        if ((r = guest_template_expand(prof->cmd.shrink_memory, keys, values, &cmd)) < 0)
                return r;
        /* The preparation only makes the memory file smaller: when it fails in the guest (an
         * image whose agent predates memprep, no administrator rights), the VM is saved without
         * it, said in one warning. A machine that stops answering is an error as anywhere. */
        struct agent_exec_opts eo = { .timeout_ms = 120000 };
        struct agent_exec_result res = { 0 };
        r = agent_execute(b->s.agent, cmd, &eo, &res);
        if (r == 0 && res.exit_code != 0) {
                const char *why = !isempty(res.err) ? res.err : strempty(res.error);
                log_warning("%s: preparing its memory failed ('%s' exit code %d: %.*s); its memory snapshot is taken "
                            "without it (larger)%s", b->job->name, cmd, res.exit_code, (int)strcspn(why, "\r\n"), why,
                            strstr(cmd, "memprep") ? " (an image whose agent predates memprep gets it when made "
                                                     "again with this vmcloak)"
                                                   : "");
        }
        agent_exec_result_done(&res);
        return r;
}

/* Memory, start_args, machineinfo.json and the row: the VM exists from here on. */
static int build_save(struct vm_build *b) {
        struct snapshot_ctx *x = b->x;
        const struct snapshot_request *req = x->req;
        const struct image *img = x->img;
        const struct os_profile *prof = x->prof;
        int r = snapshot_shrink_memory(b);
        if (r < 0)
                return r;
        b->step = "rendering its start arguments";
        struct vm_def restored; /* as it will be restored: at its new address, nothing to move to */
        if (vm_def_copy(&b->s.def, &restored) < 0)
                return log_oom();
        free(restored.net.guest_ip);
        restored.net.guest_ip = TAKE_PTR(restored.net.guest_ip2);
        r = vm_domain_cuckoo_start_args(b->s.dom, &restored, &b->start_args);
        vm_def_done(&restored);
        if (r < 0)
                return r;
        b->step = "writing its memory snapshot";
        struct vm_save_opts so = { .compress = req->compress, .level = req->level, .quiet = req->jobs > 1 };
        if ((r = vm_domain_save_memory(b->s.dom, b->memfile, &so)) < 0)
                return r;
        char sz[32];
        snapshot_say(b->job->name, "memory snapshot %s (%s)", format_bytes(sz, sizeof sz, file_size_or_zero(b->memfile)),
            vm_compress_to_string(req->compress));

        b->step = "writing machineinfo.json";
        struct vm_host_info hi;
        if ((r = vm_host_info(x->pl->conn, &hi)) < 0)
                return r;
        struct machineinfo mi = {
                .machinery_version = hi.version, .name = b->job->name, .ip = b->job->ip,
                .agent_port = (uint16_t)img->port, .os_name = prof->os_name,
                .os_version = prof->os_version ? prof->os_version : b->os_version, .architecture = prof->arch,
                .tags = x->tags, .bridge = img->adapter, .mac = b->mac, .gateway = img->gateway, .netmask = img->netmask,
                .disk = "disk.qcow2", .start_args = b->start_args, .memory_snapshot = "memory.snapshot",
                .compression = vm_compress_to_string(req->compress),
                .net = b->s.def.net.type == VM_NET_USER ? "user" : "bridge", .hostname = b->job->hostname,
        };
        if ((r = machineinfo_write(b->vmdir, &mi)) < 0)
                return log_error_errno(r, "cannot write %s/machineinfo.json: %m", b->vmdir);
        return snapshot_record(b, NULL, NULL);
}

int snapshot_record(struct vm_build *b, const struct snapshot *where, int64_t *ret_id) {
        struct snapshot_ctx *x = b->x;
        const struct image *img = x->img;
        b->step = "recording it";
        _cleanup_free_ char *tags = NULL;
        if (tags_format(x->tags, &tags) < 0)
                return log_oom();
        struct snapshot row = { .image_id = img->id, .vmname = b->job->name, .ipaddr = b->job->ip, .port = img->port,
                                .hostname = b->job->hostname, .mac = b->mac, .tags = tags, .identity = b->identity,
                                .cloakcheck = b->cloakcheck };
        if (where) {
                row.libvirt_uri = where->libvirt_uri;
                row.libvirt_pool = where->libvirt_pool;
                row.libvirt_volume = where->libvirt_volume;
                row.libvirt_base = where->libvirt_base;
                row.libvirt_snapshot = where->libvirt_snapshot;
                row.libvirt_uuid = where->libvirt_uuid;
        }
        pthread_mutex_lock(&x->lock);
        int r = repo_snapshot_insert(x->pl->repo, &row);
        pthread_mutex_unlock(&x->lock);
        free(row.created_at);
        if (r == 0 && ret_id)
                *ret_id = row.id;
        return r;
}

/* What every snapshot VM goes through, local or on a libvirt host: the boot, its identity,
 * hostname and settings, VMCloak's final changes, its new address, and --cloakcheck. */
static int build_steps(struct vm_build *b) {
        struct snapshot_ctx *x = b->x;
        bool one_at_a_time = snapshot_fleet_one_at_a_time(x);
        if (one_at_a_time) {
                pthread_mutex_lock(&x->fleet_net_lock);
                if (interrupted()) { /* Ctrl-C while it waited for its turn */
                        pthread_mutex_unlock(&x->fleet_net_lock);
                        return -ECANCELED;
                }
        }
        int r = build_boot(b);
        if (r == 0)
                r = build_guest_settings(b);
        if (r == 0)
                r = build_finalize(b);
        if (r == 0)
                r = build_readdress(b);
        if (one_at_a_time) {
                if (r < 0 && b->s.dom)
                        vm_domain_destroy(b->s.dom); /* off the network before the next one starts */
                pthread_mutex_unlock(&x->fleet_net_lock);
        }
        if (r == 0 && b->x->req->cloakcheck) {
                b->step = "running the cloak detector";
                r = cloakcheck_vm_judge(b->s.agent, b->x->prof, &b->x->cloak_base, b->job->name, &b->cloakcheck);
        }
        return r;
}

/* A VM on a libvirt host: its folder holds its logs only (~/.vmcloak/vms/libvirt/VM). */
static int snapshot_one_libvirt(struct vm_build *b) {
        struct vm_job *job = b->job;
        int64_t t0 = now_ms();
        b->vmdir = paths_libvirt_vm_dir(job->name);
        int r = b->vmdir && (b->disk = strdup("")) ? 0 : log_oom();
        if (r == 0 && (r = mkdir_p(b->vmdir, 0775)) < 0)
                log_error_errno(r, "cannot create %s: %m", b->vmdir);
        if (r == 0)
                r = build_steps(b);
        if (r == 0)
                r = snapshot_libvirt_save(b);
        /* The domain goes (undefined unless kept) before its volume does. */
        session_done(&b->s);
        if (r == 0) {
                snapshot_say(job->name, "ready on %s as domain %s, snapshot %s, in %.1f s (logs in %s)", b->host_uri,
                             job->name, SNAPSHOT_LIBVIRT_NAME, (double)(now_ms() - t0) / 1000.0, b->vmdir);
                vm_build_done(b);
                return 0;
        }
        snapshot_libvirt_undo(b);
        _cleanup_free_ char *kept = b->vmdir ? snapshot_save_failed_logs(b->vmdir, job->name) : NULL;
        if (b->vmdir)
                rm_rf(b->vmdir);
        if (r == -ECANCELED)
                log_error("%s: interrupted while %s; removed what this run had made on the host", job->name, b->step);
        else
                log_error("%s: failed while %s; removed what this run had made on the host%s%s", job->name, b->step,
                          kept ? ", its logs are in " : "", strempty(kept));
        vm_build_done(b);
        return r;
}

static int snapshot_one(struct snapshot_ctx *x, struct vm_job *job) {
        struct vm_build b = { .x = x, .job = job, .step = "preparing" };
        if (x->n_hosts) {
                snapshot_libvirt_attach(&b);
                return snapshot_one_libvirt(&b);
        }
        b.vmdir = paths_vm_dir(job->name);
        b.disk = b.vmdir ? path_join(b.vmdir, "disk.qcow2") : NULL;
        b.memfile = b.vmdir ? path_join(b.vmdir, "memory.snapshot") : NULL;
        /* The folder is this run's only when this run makes it: one that appeared since
         * plan_vms() looked (another vmcloak making the same VM) is not touched, nor removed. */
        _cleanup_free_ char *parent = b.vmdir ? path_dirname(b.vmdir) : NULL;
        int r = b.memfile && parent ? 0 : log_oom();
        if (r == 0 && (r = mkdir_p(parent, 0775)) == 0 && mkdir(b.vmdir, 0775) < 0)
                r = -errno;
        if (r < 0 && r != -ENOMEM) {
                if (r == -EEXIST)
                        log_error("%s: %s appeared meanwhile (another vmcloak making the same VM?); left as it is",
                                  job->name, b.vmdir);
                else
                        log_error_errno(r, "cannot create %s: %m", b.vmdir);
        }
        if (r < 0) {
                vm_build_done(&b);
                return r;
        }
        r = build_steps(&b);
        if (r == 0)
                r = build_save(&b);
        /* The machine goes before its files do. */
        session_done(&b.s);
        if (r == 0) {
                snapshot_say(job->name, "ready in %s", b.vmdir);
                vm_build_done(&b);
                return 0;
        }
        _cleanup_free_ char *kept = snapshot_save_failed_logs(b.vmdir, job->name);
        rm_rf(b.vmdir);
        if (r == -ECANCELED)
                log_error("%s: interrupted while %s; removed its files", job->name, b.step);
        else
                log_error("%s: failed while %s; removed its files%s%s", job->name, b.step,
                          kept ? ", its logs are in " : "", strempty(kept));
        vm_build_done(&b);
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
                x->jobs[i].ok = x->jobs[i].kept || snapshot_one(x, &x->jobs[i]) == 0;
        }
        return NULL;
}

/* A VM of this series found from an earlier run: complete (kept), or a leftover to rebuild. */
static bool vm_complete(const char *name) {
        _cleanup_free_ char *dir = paths_vm_dir(name);
        _cleanup_free_ char *disk = dir ? path_join(dir, "disk.qcow2") : NULL;
        _cleanup_free_ char *mem = dir ? path_join(dir, "memory.snapshot") : NULL;
        _cleanup_free_ char *mi = dir ? path_join(dir, "machineinfo.json") : NULL;
        if (!mi || !path_exists(disk) || file_size_or_zero(mem) == 0)
                return false;
        json_object *root = json_object_from_file(mi);
        const char *why;
        bool ok = root && machineinfo_validate(root, &why) == 0;
        json_object_put(root);
        return ok;
}

/* Why address a cannot go to a new VM, in words; NULL when it can. */
static const char *address_problem(struct snapshot_ctx *x, const struct ipnet *net, uint32_t a, char *buf,
                                   size_t size) {
        switch (ipnet_check(net, a)) {
        case 0:
                return NULL;
        case -EDOM:
                snprintf(buf, size, "outside the network of image %s (%s/%s)", x->img->name, x->img->ipaddr,
                         x->img->netmask);
                return buf;
        case -EADDRNOTAVAIL:
                return a == ipv4_network(&net->net) ? "the network's own address" : "the network's broadcast address";
        }
        char s[16];
        format_ipv4(a, s);
        struct image **imgs = NULL;
        size_t ni = 0;
        struct snapshot **snaps = NULL;
        size_t ns = 0;
        buf[0] = 0;
        if (repo_image_list(x->pl->repo, &imgs, &ni) == 0)
                for (size_t i = 0; i < ni && !buf[0]; i++) {
                        if (streq_ptr(imgs[i]->ipaddr, s))
                                snprintf(buf, size, "the address of image %s", imgs[i]->name);
                        else if (streq_ptr(imgs[i]->gateway, s))
                                snprintf(buf, size, "the gateway of image %s", imgs[i]->name);
                }
        if (!buf[0] && repo_snapshot_list(x->pl->repo, -1, &snaps, &ns) == 0)
                for (size_t i = 0; i < ns && !buf[0]; i++)
                        if (streq_ptr(snaps[i]->ipaddr, s))
                                snprintf(buf, size, "the address of snapshot VM %s", snaps[i]->vmname);
        image_list_free(imgs, ni);
        snapshot_list_free(snaps, ns);
        if (!buf[0])
                snprintf(buf, size, "reserved by QEMU's user network (.2 is the host, .3 its DNS)");
        return buf;
}

/* The first address from network + 10 with count usable addresses in a row, or 0. */
static uint32_t free_block(struct snapshot_ctx *x, const struct ipnet *net, unsigned count) {
        char buf[128];
        uint32_t end = ipv4_broadcast(&net->net);
        for (uint64_t a = (uint64_t)ipv4_network(&net->net) + 10; a + count - 1 < end; a++) {
                unsigned k = 0;
                while (k < count && !address_problem(x, net, (uint32_t)(a + k), buf, sizeof buf))
                        k++;
                if (k == count)
                        return (uint32_t)a;
                a += k;
        }
        return 0;
}

/* Each VM name: locked, then new, kept (complete from an earlier run of this series), or an
 * incomplete leftover that is removed now and rebuilt. */
static int claim_vm(struct snapshot_ctx *x, struct vm_job *j) {
        int r = name_lock_or_complain(LOCK_VM, j->name, LOCK_EXCLUSIVE, "in use", &j->lock);
        if (r < 0)
                return r;
        _cleanup_snapshot_ struct snapshot *s = NULL;
        _cleanup_free_ char *dir = paths_vm_dir(j->name);
        if (!dir)
                return log_oom();
        if (repo_snapshot_get(x->pl->repo, j->name, &s) == 0) {
                if (s->image_id != x->img->id) {
                        log_error("a snapshot VM named %s already exists, made from image %s; delete it first "
                                  "('vmcloak delvm %s') or pick another VMNAME", j->name, strempty(s->image_name),
                                  j->name);
                        return -EEXIST;
                }
                /* A series lives in one place: a VM kept from an earlier run on libvirt hosts
                 * does not get local siblings, nor the reverse. */
                bool on_hosts = x->req->connect && *x->req->connect;
                if (!!s->libvirt_uri != on_hosts) {
                        if (s->libvirt_uri)
                                log_error("VM %s of this series lives on %s: continue the series with --connect "
                                          "(its hosts), or pick another VMNAME", j->name, s->libvirt_uri);
                        else
                                log_error("VM %s of this series is a local VM: continue it without --connect, or "
                                          "pick another VMNAME", j->name);
                        return -EEXIST;
                }
                /* A libvirt VM's row is written only once its domain is complete. */
                if (s->libvirt_uri || vm_complete(j->name)) {
                        j->kept = true;
                        snprintf(j->ip, sizeof j->ip, "%s", strempty(s->ipaddr));
                        return 0;
                }
                log_info("%s: incomplete (files missing): removing it to build it again", j->name);
                if ((r = repo_snapshot_delete(x->pl->repo, s->id)) < 0)
                        return r;
                j->rebuilt = true;
        } else if (path_exists(dir)) {
                /* No row names it: only what an interrupted snapshot leaves may go. */
                _cleanup_free_ char *foreign = NULL;
                bool finished;
                r = vm_folder_foreign(dir, j->name, &foreign, &finished);
                if (r < 0)
                        return r == -ENOMEM ? log_oom() : log_error_errno(r, "cannot read %s: %m", dir);
                if (foreign) {
                        log_error("%s exists and is no leftover of an interrupted snapshot (it holds %s%s); vmcloak "
                                  "leaves it as it is: remove it or pick another VMNAME", dir, foreign,
                                  finished ? ", a finished VM's machineinfo.json" : "");
                        return -EEXIST;
                }
                log_info("%s: the leftover of an interrupted snapshot: removing it to build it again", j->name);
                j->rebuilt = true;
        }
        if (j->rebuilt && (r = rm_rf(dir)) < 0)
                return log_error_errno(r, "cannot remove %s: %m", dir);
        return 0;
}

/* The addresses: the user's start IP and the ones after it, exactly (refused with the reason
 * when one cannot be used); without one, those of VMs kept from an earlier run of the series,
 * else the first free block from .10. Said before anything starts. */
static int plan_addresses(struct snapshot_ctx *x, struct ipnet *net) {
        const struct snapshot_request *req = x->req;
        uint32_t start = 0;
        bool picked = false; /* the first free block (another may be tried), not an address asked for */
        if (req->first_ip) {
                if (vcheck_ipv4(req->first_ip, "IP", &start) < 0)
                        return -EINVAL;
        } else {
                for (unsigned i = 0; i < x->n && !start; i++) {
                        uint32_t a;
                        if (x->jobs[i].kept && parse_ipv4(x->jobs[i].ip, &a) == 0 && a >= i)
                                start = a - i;
                }
                if (!start) {
                        picked = true;
                        if (!(start = free_block(x, net, x->n))) {
                                log_error("image %s's network %s/%u has no %u free addresses in a row for the VMs; "
                                          "pass a start IP or fewer VMs", x->img->name, x->img->ipaddr,
                                          net->net.prefix, x->n);
                                return -ENOSPC;
                        }
                }
        }
        for (unsigned i = 0; i < x->n; i++) {
                struct vm_job *j = &x->jobs[i];
                uint32_t a = start + i;
                if (j->kept) {
                        /* An address asked for is used as given or refused, never replaced. */
                        char s[16];
                        format_ipv4(a, s);
                        if (req->first_ip && !streq(j->ip, s)) {
                                log_error("%s is complete from an earlier run with the address %s, not %s; delete it "
                                          "first ('vmcloak delvm %s') or run without the IP (the series keeps its "
                                          "addresses)", j->name, j->ip, s, j->name);
                                return -EADDRINUSE;
                        }
                        continue;
                }
                char buf[160];
                const char *why = a < start ? "past the end of IPv4" : address_problem(x, net, a, buf, sizeof buf);
                char s[16];
                format_ipv4(a, s);
                /* Another snapshot run may be giving it to a VM right now (its row comes later). */
                pid_t holder = 0;
                int r = why ? 0 : name_lock(LOCK_ADDRESS, s, LOCK_EXCLUSIVE, &j->addr_lock, &holder);
                if (r == -EBUSY) {
                        if (picked) {
                                ipnet_mark_used(net, a);
                                return -EAGAIN; /* plan_addresses_locked tries a block after it */
                        }
                        snprintf(buf, sizeof buf, "being given to a VM by another vmcloak (PID %d)", (int)holder);
                        why = buf;
                } else if (r < 0)
                        return log_error_errno(r, "cannot lock the address %s: %m", s);
                if (why) {
                        log_error("%s cannot get the address %s: it is %s; pick a start IP with %u usable "
                                  "address%s in a row", j->name, s, why, x->n, x->n == 1 ? "" : "es");
                        return -EADDRINUSE;
                }
                ipnet_mark_used(net, a);
                snprintf(j->ip, sizeof j->ip, "%s", s);
        }
        return 0;
}

/* plan_addresses until the addresses it picked are not another run's (-EAGAIN): those go to
 * the used ones and a block after them is tried. */
static int plan_addresses_locked(struct snapshot_ctx *x, struct ipnet *net) {
        for (unsigned tries = 0;; tries++) {
                int r = plan_addresses(x, net);
                if (r != -EAGAIN)
                        return r;
                /* The busy address is marked used; what this try took is given back (those stay
                 * marked: a later block is taken, which is only a little further on). */
                for (unsigned i = 0; i < x->n; i++) {
                        struct vm_job *j = &x->jobs[i];
                        if (j->kept)
                                continue;
                        name_unlock(j->addr_lock);
                        j->addr_lock = NULL;
                        j->ip[0] = 0;
                }
                if (tries > 256) {
                        log_error("image %s's network: every free block of addresses is being given to VMs by "
                                  "other vmcloak runs; try again when they are done", x->img->name);
                        return -EADDRINUSE;
                }
        }
}

static int plan_vms(struct snapshot_ctx *x) {
        const struct snapshot_request *req = x->req;
        x->jobs = calloc(req->count, sizeof *x->jobs);
        if (!x->jobs)
                return log_oom();
        x->n = req->count;
        int r;
        for (unsigned i = 0; i < req->count; i++) {
                struct vm_job *j = &x->jobs[i];
                j->name = req->count == 1 ? strdup(req->vmname) : strdup_printf("%s%u", req->vmname, i + 1);
                if (!j->name)
                        return log_oom();
                if (vcheck_vm_name(j->name) < 0)
                        return -EINVAL;
                if ((r = claim_vm(x, j)) < 0)
                        return r;
                if (req->hostname)
                        snprintf(j->hostname, sizeof j->hostname, "%s", req->hostname);
                else {
                        /* Windows: a name as its Setup makes them (DESKTOP-XXXXXXX), not random
                         * letters, a tell; else at most 15 letters (NetBIOS's limit). */
                        _cleanup_free_ char *h = streq(x->prof->os_name, "windows")
                                                         ? win_computer_name_random(x->prof->name)
                                                         : random_string(8, 15);
                        if (!h)
                                return log_oom();
                        snprintf(j->hostname, sizeof j->hostname, "%s", h);
                }
        }
        /* The addresses in use, read after the claims (a leftover's row is gone by now). */
        const struct image *img = x->img;
        uint32_t ip, gw = 0;
        parse_ipv4(img->ipaddr, &ip);
        if (img->gateway)
                parse_ipv4(img->gateway, &gw);
        _cleanup_strv_free_ char **used = NULL;
        if ((r = repo_used_ips(x->pl->repo, &used)) < 0)
                return r;
        struct ipnet net;
        struct ipv4_net n = { ip, x->prefix };
        if ((r = ipnet_init(&net, &n, gw, used)) < 0)
                return log_oom();
        if (img->netmode && streq(img->netmode, "user"))
                netcfg_reserve_usernet(&net);
        r = plan_addresses_locked(x, &net);
        ipnet_done(&net);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < x->n; i++)
                if (x->n > 1 || x->jobs[i].kept)
                        log_info("%s: %s%s", x->jobs[i].name, x->jobs[i].ip,
                                 x->jobs[i].kept ? " (complete from an earlier run: kept)" : "");
        return 0;
}

/* The image's hardware profile and identity, before any VM is planned (image_open_checked
 * found them; they are loaded once for all VMs). */
static int snapshot_hardware(struct snapshot_ctx *x) {
        if (!x->img->hardware)
                return 0;
        int r = hardware_catalog_load(&x->hw_catalog);
        if (r == 0)
                r = image_hardware_find(x->img, &x->hw_catalog, &x->hw);
        if (r == 0 && (r = hw_identity_from_json(strempty(x->img->identity), &x->hw_image)) < 0)
                log_error("image %s: its hardware identity in the repository cannot be read", x->img->name);
        if (r == 0)
                log_info("The VMs of %s are %s machines, each with its own serials, UUID and MAC", x->img->name,
                         x->hw->description);
        return r;
}

int pipeline_snapshot(struct pipeline *pl, const struct snapshot_request *req) {
        struct repo *repo = pl->repo;
        /* Snapshots read the image; install, modify, delimg must wait until they are done. */
        _cleanup_name_lock_ struct name_lock *image_lock = NULL;
        int r = name_lock_or_complain(LOCK_IMAGE, req->image, LOCK_SHARED, "in use", &image_lock);
        if (r < 0)
                return r;
        _cleanup_image_ struct image *img = NULL;
        r = image_open_checked(repo, req->image, true, &img);
        if (r < 0)
                return r;
        if (req->hostname && req->count != 1) {
                log_error("--hostname names one VM; with --count %u each VM gets its own random hostname",
                          req->count);
                return -EINVAL;
        }
        struct snapshot_ctx x = { .pl = pl, .req = req, .img = img, .prof = os_profile_find(img->osversion) };
        if (req->hostname && streq(x.prof->os_name, "windows") && vcheck_windows_hostname(req->hostname) < 0)
                return -EINVAL;
        if (req->tpm && !(!req->connect || !req->connect[0])) {
                log_error("--tpm: the VMs on libvirt hosts run without a TPM (its state cannot go into their snapshots)");
                return -EINVAL;
        }
        if (req->tpm && !img->tpm) {
                log_error("--tpm: image %s has no TPM to keep", img->name);
                return -EINVAL;
        }
        if (req->tpm)
                log_warning("--tpm: the VMs of %s keep their TPM, so Cuckoo3 cannot restore them (it starts no swtpm, "
                            "and QEMU refuses their memory snapshots without one); 'vmcloak restore' can", img->name);
        else if (img->tpm)
                log_info("The VMs of %s run without its TPM, so Cuckoo3 can restore them (--tpm keeps it)", img->name);
        _cleanup_strv_free_ char **tags = NULL;
        if (req->resolution && !x.prof->cmd.set_resolution)
                log_warning("--resolution %s: the %s guest has no way to change its screen resolution; ignored",
                            req->resolution, x.prof->name);
        pthread_mutex_init(&x.lock, NULL);
        pthread_mutex_init(&x.fleet_net_lock, NULL);
        uint32_t ip;
        if (!img->ipaddr || parse_ipv4(img->ipaddr, &ip) < 0 || !img->netmask ||
            netmask_to_prefix(img->netmask, &x.prefix) < 0) {
                log_error("image %s has no valid address/netmask in the repository", img->name);
                return -EINVAL;
        }
        r = snapshot_hardware(&x);
        if (r == 0 && req->cloakcheck)
                r = cloakcheck_image_base(pl, img, &req->vm, &x.cloak_base);
        if (r == 0)
                r = plan_vms(&x);
        if (r == 0)
                r = plan_final(&x);
        /* The VMs' tags, before anything is made: the image's, its dependencies', --tag, and
         * those of what runs in each VM before its memory snapshot (threemonpatch). */
        if (r == 0)
                r = vm_tags_compute(img, req->catalog ? req->catalog : x.catalog, req->tags, &tags);
        if (r == 0 && dep_plan_tags(&x.final, &tags) < 0)
                r = log_oom();
        if (r == 0 && tags[0]) {
                _cleanup_free_ char *l = strv_join(tags, ", ");
                log_info("Machine tags of the VMs: %s", l ? l : "");
        }
        x.tags = tags;
        /* Connect (probe QEMU and KVM, or each libvirt host, uploading the image there) before
         * any thread needs it: one warning line, not one per VM. */
        if (r == 0 && !(!req->connect || !req->connect[0])) {
                for (unsigned i = 0; i < x.n; i++)
                        x.jobs[i].host = i;
                r = snapshot_hosts_open(&x);
        } else if (r == 0)
                r = pipeline_connect(pl, req->vm.accel);
        if (r < 0)
                goto done;

        /* The image is frozen from now on: its snapshot VMs are overlays on it. */
        char *old_mode = img->mode;
        img->mode = (char *)"multiattach";
        r = repo_image_update(repo, img);
        img->mode = old_mode;
        if (r < 0)
                goto done;

        unsigned jobs = req->jobs ? req->jobs : 1, kept = 0;
        for (unsigned i = 0; i < x.n; i++)
                kept += x.jobs[i].kept;
        if (jobs > x.n - kept)
                jobs = x.n - kept ? x.n - kept : 1;
        int64_t t0 = now_ms();
        const char *why = snapshot_fleet_refusal(&x, x.n - kept);
        int tr = 0;
        if (x.n - kept >= 2 && why)
                log_info("Each VM boots the image: %s", why);
        else if (x.n - kept >= 2 && (tr = snapshot_fleet_make(&x, x.n - kept)) < 0)
                x.next = x.n; /* no VM without its template */
        else if (jobs > 1 && snapshot_fleet_one_at_a_time(&x))
                log_info("On bridge %s the VMs start from the template one at a time, until each has its own MAC "
                         "and address", strempty(img->adapter));
        if (tr == 0 && x.n > kept)
                log_info("Creating %u snapshot VM%s of %s (%u at a time)", x.n - kept, x.n - kept == 1 ? "" : "s",
                         img->name, jobs);
        if (jobs > 1)
                progress_set_enabled(false);
        /* jobs - 1 threads, plus this one (none when the template failed: no VM without it). */
        pthread_t threads[64];
        unsigned started = 0;
        for (; tr == 0 && started + 1 < jobs && started < ELEMENTSOF(threads); started++)
                if (pthread_create(&threads[started], NULL, worker, &x) != 0)
                        break;
        if (tr == 0)
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
        if (tr == 0 && x.n > kept)
                log_info("Created %u of %u snapshot VMs in %.1f s%s", ok - kept, x.n - kept,
                         (double)(now_ms() - t0) / 1000.0, kept ? " (the others were complete already)" : "");
        else if (tr == 0 && x.n == 1)
                log_info("%s is complete already (from an earlier run)", x.jobs[0].name);
        else if (tr == 0)
                log_info("All %u snapshot VMs are complete already (from an earlier run)", x.n);
        r = ok == x.n ? 0 : interrupted() ? -ECANCELED : tr < 0 ? tr : -EIO;
        for (unsigned i = 0; r == 0 && req->ret_made && req->ret_kept && i < x.n; i++)
                if (strv_extend(x.jobs[i].kept ? req->ret_kept : req->ret_made, x.jobs[i].name) < 0)
                        r = log_oom();
done:
        snapshot_fleet_done(&x);
        snapshot_hosts_done(&x);
        for (unsigned i = 0; i < x.n; i++) {
                free(x.jobs[i].name);
                name_unlock(x.jobs[i].addr_lock);
                name_unlock(x.jobs[i].lock);
        }
        free(x.jobs);
        dep_plan_free(&x.final);
        if (x.catalog)
                dep_catalog_free(x.catalog);
        hw_identity_done(&x.hw_image);
        hw_catalog_done(&x.hw_catalog);
        scorecard_done(&x.cloak_base);
        pthread_mutex_destroy(&x.lock);
        pthread_mutex_destroy(&x.fleet_net_lock);
        return r;
}

