/* restore: Cuckoo3's way back into a snapshot VM, through the driver, timed. */
#include "pipeline/restore.h"

#include <errno.h>
#include <signal.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/interrupt.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "pipeline/fwstate.h"
#include "pipeline/machineinfo.h"

static int read_machineinfo(const char *vmdir, json_object **ret) {
        _cleanup_free_ char *path = path_join(vmdir, "machineinfo.json");
        if (!path)
                return log_oom();
        json_object *root = json_object_from_file(path);
        if (!root) {
                const char *e = json_util_get_last_err();
                log_error("cannot read %s: %.*s (recreate the VM with 'vmcloak delvm' and 'vmcloak snapshot')", path,
                          e ? (int)strcspn(e, "\n") : 0, strempty(e));
                return -EINVAL;
        }
        const char *why;
        if (machineinfo_validate(root, &why) < 0) {
                log_error("%s is not usable: %s", path, why);
                json_object_put(root);
                return -EINVAL;
        }
        /* What a newer vmcloak or another tool added: not read, and said so. */
        _cleanup_free_ char *unknown = NULL;
        if (machineinfo_unknown_keys(root, &unknown) < 0) {
                json_object_put(root);
                return log_oom();
        }
        if (unknown)
                log_warning("%s has keys this vmcloak does not know (%s); restoring from the ones it knows", path,
                            unknown);
        *ret = root;
        return 0;
}

static const char *mi_str(json_object *m, const char *k) {
        json_object *v;
        return json_object_object_get_ex(m, k, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

/* What start_args cannot say: where the disk and the agent are, and the VNC display. */
static int host_def(const struct restore_request *req, json_object *m, const char *disk, struct vm_def *d) {
        vm_def_init(d);
        const char *net = mi_str(m, "net");
        d->net.type = net && streq(net, "user") ? VM_NET_USER : VM_NET_BRIDGE;
        d->net.agent_port = (unsigned)json_object_get_int(json_object_object_get(m, "agent_port"));
        d->vnc.enabled = req->vnc;
        d->vnc.display = req->vnc_display;
        if (!(d->name = strdup(req->vmname)) || !(d->disk.path = strdup(disk)) ||
            !(d->net.guest_ip = strdup(mi_str(m, "ip"))) || (req->vnc_listen && !(d->vnc.listen = strdup(req->vnc_listen))))
                return log_oom();
        return 0;
}

void restore_result_done(struct restore_result *r) {
        free(r->ip);
        free(r->exec_stdout);
        free(r->exec_stderr);
        *r = (struct restore_result){ 0 };
}

/* Run the user's command in the restored guest and print its output (or keep it in result). */
static int exec_in_guest(struct agent_client *agent, const char *command, unsigned timeout_s,
                         struct restore_result *result) {
        struct agent_exec_opts eo = { .timeout_ms = timeout_s ? (int)timeout_s * 1000 : 60000 };
        struct agent_exec_result res = { 0 };
        int r = agent_execute(agent, command, &eo, &res);
        if (r == 0 && result) {
                result->exec_ran = true;
                result->exec_exit_code = res.exit_code;
                result->exec_stdout = TAKE_PTR(res.out);
                result->exec_stderr = TAKE_PTR(res.err);
        } else if (r == 0) {
                fputs(strempty(res.out), stdout);
                fputs(strempty(res.err), stderr);
                fflush(stdout);
        }
        if (r == 0 && res.exit_code != 0) {
                log_error("'%s' exited with code %d in the restored VM", command, res.exit_code);
                r = -EREMOTEIO;
        }
        agent_exec_result_done(&res);
        return r;
}

/* --keep: run until the guest shuts down (fine), the machine dies (an error) or Ctrl-C (the way
 * to end it: fine). Another signal (SIGTERM) is an interruption like anywhere else. */
static int keep_running(struct vm_domain *dom, const char *vmname, const char *log) {
        for (;;) {
                struct vm_event ev;
                int r = vm_domain_wait_event(dom, -1, &ev);
                if (r == -ECANCELED && interrupt_signal() == SIGINT) {
                        log_info("%s stopped (Ctrl-C); its changes are discarded", vmname);
                        return 0;
                }
                if (r < 0)
                        return r;
                if (ev.type == VM_EVENT_POWEROFF)
                        return 0;
                if (ev.type == VM_EVENT_DIED) {
                        log_error("%s stopped: %s (log %s)", vmname, ev.detail, log);
                        return -EIO;
                }
        }
}

static int restore_run(struct pipeline *pl, const struct restore_request *req, json_object *m, const char *vmdir,
                       const char *overlay, int64_t t0) {
        const char *memrel = mi_str(m, "memory_snapshot"), *diskrel = mi_str(m, "disk"), *ip = mi_str(m, "ip");
        json_object *sa = json_object_object_get(m, "start_args");
        int agent_port = json_object_get_int(json_object_object_get(m, "agent_port"));
        _cleanup_free_ char *memfile = memrel ? path_join(vmdir, memrel) : NULL;
        _cleanup_free_ char *disk = diskrel ? path_join(vmdir, diskrel) : NULL;
        _cleanup_free_ char *log = path_join(vmdir, "restore.log");
        _cleanup_strv_free_ char **start_args = NULL;
        if (!memfile || !disk || !log || !ip)
                return log_oom();
        for (size_t i = 0; i < json_object_array_length(sa); i++)
                if (strv_extend(&start_args, json_object_get_string(json_object_array_get_idx(sa, i))) < 0)
                        return log_oom();
        /* Only the binary and version: the accelerator is in start_args. */
        int r = pipeline_connect(pl, VM_ACCEL_TCG);
        if (r < 0)
                return r;
        log_debug("restore: +%lld ms: driver connected", (long long)(now_ms() - t0));
        struct vm_def host;
        /* The disk as it is, its writes kept in a temporary overlay QEMU makes and deletes (as
         * Cuckoo3's own disposable overlay, without a qemu-img run first). */
        r = host_def(req, m, disk, &host);
        /* A VM with a TPM (snapshot --tpm): swtpm runs on a copy of the VM's TPM state named
         * after this run's disposable disk (overlay: a name only, no file is made), so restores
         * side by side never share it. */
        _cleanup_rm_rf_ char *tpm_copy = NULL;
        if (r == 0 && strv_contains(start_args, "-tpmdev")) {
                struct image with_tpm = { .tpm = 1 };
                r = fwstate_copy(&with_tpm, disk, overlay, true);
                if (r == 0 && !(tpm_copy = fwstate_tpm_path(overlay)))
                        r = log_oom();
                if (r == 0) {
                        host.tpm = true;
                        if (!(host.tpm_state = strdup(tpm_copy)))
                                r = log_oom();
                }
        }
        _cleanup_vm_domain_ struct vm_domain *dom = NULL;
        struct vm_domain_opts o = { .log_path = log, .discard_disk_writes = true };
        unlink_if_exists(log);
        if (r == 0)
                r = vm_domain_define_cuckoo(pl->conn, start_args, &host, &o, &dom);
        vm_def_done(&host);
        if (r < 0)
                return r;
        log_debug("restore: +%lld ms: starting QEMU", (long long)(now_ms() - t0));
        struct vm_start_opts so = { .memory_image = memfile, .timeout_ms = req->timeout_s ? (int)req->timeout_s * 1000 : 0 };
        r = vm_domain_start(dom, &so);
        if (r < 0)
                return r;
        int64_t t_running = now_ms();
        log_debug("restore: +%lld ms: running", (long long)(t_running - t0));
        char host_s[64];
        uint16_t port;
        _cleanup_agent_client_ struct agent_client *agent = NULL;
        r = vm_domain_agent_endpoint(dom, 0, host_s, sizeof host_s, &port);
        if (r < 0)
                return log_error_errno(r, "%s has no address its agent can be reached at: %m", req->vmname);
        r = agent_client_new(host_s, port, &agent);
        if (r < 0)
                return r;
        r = agent_wait_ready(agent, req->timeout_s ? (int)req->timeout_s * 1000 : 60000);
        if (r < 0) {
                if (r != -ECANCELED)
                        log_error("the restored VM's agent did not answer; QEMU's log is %s", log);
                return r;
        }
        int64_t t_agent = now_ms();
        _cleanup_free_ char *timing = strdup_printf("%s restored: running after %.2f s, agent answering after %.2f s (%s:%d)",
                                                    req->vmname, (double)(t_running - t0) / 1000.0,
                                                    (double)(t_agent - t0) / 1000.0, ip, agent_port);
        if (!timing)
                return log_oom();
        if (req->result) {
                req->result->running_s = (double)(t_running - t0) / 1000.0;
                req->result->agent_s = (double)(t_agent - t0) / 1000.0;
                req->result->port = agent_port;
                if (!(req->result->ip = strdup(ip)))
                        return log_oom();
        }
        if (req->quiet || req->result)
                log_info("%s", timing);
        else
                printf("%s\n", timing);
        fflush(stdout);
        if (req->exec && (r = exec_in_guest(agent, req->exec, req->timeout_s, req->result)) < 0)
                return r;
        if (req->in_guest && (r = req->in_guest(agent, req->userdata)) < 0)
                return r;
        if (req->keep) {
                log_info("%s keeps running (agent at %s); Ctrl-C stops it and discards its changes", req->vmname,
                         agent_client_address(agent));
                r = keep_running(dom, req->vmname, log);
        }
        vm_domain_shutdown(dom, 0);
        return r;
}

int pipeline_restore(struct pipeline *pl, const struct restore_request *req) {
        /* Shared: restores may run side by side; delvm and cleanup wait until they are done. */
        _cleanup_name_lock_ struct name_lock *lock = NULL;
        int r = name_lock_or_complain(LOCK_VM, req->vmname, LOCK_SHARED, "in use", &lock);
        if (r < 0)
                return r;
        _cleanup_snapshot_ struct snapshot *s = NULL;
        r = repo_snapshot_get(pl->repo, req->vmname, &s);
        if (r == -ENOENT) {
                log_error("no snapshot VM named '%s' (see 'vmcloak list snapshots')", req->vmname);
                return r;
        }
        if (r < 0)
                return r;
        if (s->libvirt_uri) {
                log_error("%s lives as a libvirt domain on %s with running-state snapshot %s: CAPE reverts it there "
                          "(virsh -c %s snapshot-revert %s %s); vmcloak restore runs local Cuckoo3 VMs only",
                          req->vmname, s->libvirt_uri, strempty(s->libvirt_snapshot), s->libvirt_uri, req->vmname,
                          strempty(s->libvirt_snapshot));
                return -EOPNOTSUPP;
        }
        _cleanup_free_ char *vmdir = paths_vm_dir(req->vmname);
        if (!vmdir)
                return log_oom();
        json_object *root = NULL;
        r = read_machineinfo(vmdir, &root);
        /* The printed figures count from here: everything a restore does after reading
         * machineinfo.json, as the limit (QEMU started paused and quit, plus decompression) is
         * compared with. */
        int64_t t0 = now_ms();
        _cleanup_free_ char *overlay = strdup_printf("%s/disposable-%d.qcow2", vmdir, (int)getpid());
        if (r == 0)
                r = overlay ? restore_run(pl, req, json_object_object_get(root, "machine"), vmdir, overlay, t0) : log_oom();
        json_object_put(root);
        /* -EREMOTEIO: --exec's command failed in the restored VM (said): the restore itself worked. */
        if (r < 0 && r != -EREMOTEIO)
                log_error("restore of %s %s; the VM's files are unchanged", req->vmname,
                          r == -ECANCELED ? "interrupted" : "failed");
        return r;
}
