/* One machine of a pipeline step: definition from an image row, runs through the driver, agent. */
#include "pipeline/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentclient/client.h"
#include "core/interrupt.h"
#include "core/ipnet.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "pipeline/fwstate.h"
#include "pipeline/imagehw.h"
#include "pipeline/netcfg.h"

#define DEFAULT_AGENT_PORT 8000
#define POLL_MS 250

int logdir_prepare(const char *dir) {
        int r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create the log folder %s: %m", dir);
        /* stuck.png and the others: the stuck detector's screenshots (pipeline/stuck.h) */
        static const char *const logs[] = { "qemu.log",     "serial.log",   "stuck.png",   "last-screen.png",
                                            "screen-0.png", "screen-1.png", "screen-2.png" };
        for (size_t i = 0; i < ELEMENTSOF(logs); i++) {
                _cleanup_free_ char *p = path_join(dir, logs[i]);
                if (!p)
                        return log_oom();
                unlink_if_exists(p);
        }
        return 0;
}

static int apply_serial(struct vm_serial *s, const char *spec, const char *logdir) {
        const char *rest;
        if (!spec || streq(spec, "file")) {
                s->type = VM_SERIAL_FILE;
                s->path = path_join(logdir, "serial.log");
        } else if ((rest = startswith(spec, "file:")) && *rest) {
                s->type = VM_SERIAL_FILE;
                s->path = strdup(rest);
        } else if (streq(spec, "pty")) {
                s->type = VM_SERIAL_PTY;
                return 0;
        } else if ((rest = startswith(spec, "unix:")) && *rest) {
                s->type = VM_SERIAL_UNIX;
                s->path = strdup(rest);
        } else if (streq(spec, "none")) {
                s->type = VM_SERIAL_NONE;
                return 0;
        } else {
                log_error("invalid --serial '%s': use file, file:PATH, pty, unix:PATH or none", spec);
                return -EINVAL;
        }
        return s->path ? 0 : log_oom();
}

static int apply_shares(struct vm_def *d, char *const *shares) {
        STRV_FOREACH(s, shares) {
                const char *eq = strchr(*s, '=');
                if (!eq || eq == *s || !eq[1]) {
                        log_error("invalid --share '%s': use TAG=DIR or TAG=DIR,rw", *s);
                        return -EINVAL;
                }
                _cleanup_free_ char *tag = strndup(*s, (size_t)(eq - *s));
                _cleanup_free_ char *dir = strdup(eq + 1);
                if (!tag || !dir)
                        return log_oom();
                bool ro = true;
                if (endswith(dir, ",rw")) {
                        dir[strlen(dir) - 3] = 0;
                        ro = false;
                } else if (endswith(dir, ",ro"))
                        dir[strlen(dir) - 3] = 0;
                if (!is_dir(dir)) {
                        log_error("--share %s: %s is not a directory", *s, dir);
                        return -ENOTDIR;
                }
                if (vm_def_add_share(d, tag, dir, ro) < 0)
                        return log_oom();
        }
        return 0;
}

int vm_options_check(const struct vm_options *o) {
        struct vm_def d;
        vm_def_init(&d);
        int r = apply_serial(&d.serial, o->serial, "/");
        if (r == 0)
                r = apply_shares(&d, o->shares);
        vm_def_done(&d);
        return r;
}

/* The image's network as the machine's attachment (user mode: QEMU's slirp conventions). */
static int apply_network(struct vm_net *n, const struct image *img) {
        n->agent_port = img->port > 0 ? (unsigned)img->port : DEFAULT_AGENT_PORT;
        if (!img->netmode || !streq(img->netmode, "user")) {
                n->type = VM_NET_BRIDGE;
                if ((img->adapter && !(n->bridge = strdup(img->adapter))) ||
                    (img->ipaddr && !(n->guest_ip = strdup(img->ipaddr))))
                        return log_oom();
                return 0;
        }
        unsigned prefix = 24;
        uint32_t ip;
        if (!img->ipaddr || parse_ipv4(img->ipaddr, &ip) < 0 || !img->netmask ||
            netmask_to_prefix(img->netmask, &prefix) < 0) {
                log_error("image %s has no valid IP address/netmask in the repository", img->name);
                return -EINVAL;
        }
        struct ipv4_net net = { ip, prefix };
        char net_s[16], dns_s[16];
        format_ipv4(ipv4_network(&net), net_s);
        format_ipv4(ipv4_network(&net) + USERNET_DNS_OFFSET, dns_s);
        n->type = VM_NET_USER;
        n->isolated = true;
        n->network = strdup_printf("%s/%u", net_s, prefix);
        n->dns = strdup(dns_s);
        n->guest_ip = strdup(img->ipaddr);
        if (!n->network || !n->dns || !n->guest_ip || (img->gateway && !(n->host = strdup(img->gateway))))
                return log_oom();
        return 0;
}

/* The image row says what the machine boots with (schema 3; older rows: BIOS); the UEFI vars
 * and TPM state live beside the disk this run boots, so they travel with it (fwstate.h). */
static int apply_firmware(struct vm_def *d, const struct image *img) {
        if (image_is_uefi(img)) {
                d->firmware = VM_FIRMWARE_UEFI;
                d->secure_boot = img->secure_boot != 0;
                if (!(d->nvram = fwstate_nvram_path(d->disk.path)))
                        return log_oom();
        }
        if (img->tpm) {
                d->tpm = true;
                if (!(d->tpm_state = fwstate_tpm_path(d->disk.path)))
                        return log_oom();
        }
        return 0;
}

int session_prepare(struct vm_session *s, struct pipeline *pl, const char *name, const struct image *img,
                    const struct os_profile *p, const struct vm_options *o, const char *disk_path,
                    const char *logdir, const char *identity) {
        memset(s, 0, sizeof *s);
        vm_def_init(&s->def);
        s->pl = pl;
        s->profile = p;
        s->passthrough = o->qemu_args;
        int r = pipeline_connect(pl, o->accel);
        if (r < 0)
                return r;
        s->name = strdup(name);
        s->logdir = strdup(logdir);
        s->log_path = path_join(logdir, "qemu.log");
        if (!s->name || !s->logdir || !s->log_path)
                return log_oom();
        r = logdir_prepare(logdir);
        if (r < 0)
                return r;
        struct vm_def *d = &s->def;
        d->name = strdup(name);
        d->disk.path = strdup(disk_path ? disk_path : img->path);
        if (!d->name || !d->disk.path || (img->mac && !(d->nic.mac = strdup(img->mac))) ||
            (o->vnc_listen && !(d->vnc.listen = strdup(o->vnc_listen))))
                return log_oom();
        d->cpus = img->cpus > 0 ? (unsigned)img->cpus : 1;
        d->ram_mb = img->ramsize > 0 ? (unsigned)img->ramsize : p->default_ram_mb;
        d->vram_mb = img->vramsize > 0 ? (unsigned)img->vramsize : VM_DEFAULT_VRAM_MB;
        d->clock = p->rtc_localtime ? VM_CLOCK_LOCALTIME : VM_CLOCK_UTC;
        if (p->nic_model && !(d->nic.model = strdup(p->nic_model)))
                return log_oom();
        d->display = o->visible ? VM_DISPLAY_WINDOW : VM_DISPLAY_NONE;
        d->vnc.enabled = o->vnc;
        d->vnc.display = o->vnc_display;
        if ((r = apply_serial(&d->serial, o->serial, logdir)) < 0 || (r = apply_shares(d, o->shares)) < 0 ||
            (r = apply_network(&d->net, img)) < 0 || (r = apply_firmware(d, img)) < 0)
                return r;
        /* After the OS profile's NIC: a model it insists on (an inbox driver) wins over the
         * hardware profile's. */
        return image_hardware_apply(img, identity, d);
}

static int connect_agent(struct vm_session *s) {
        char host[64];
        uint16_t port;
        int r = vm_domain_agent_endpoint(s->dom, s->agent_slot, host, sizeof host, &port);
        if (r < 0)
                return log_error_errno(r, "%s has no address its agent can be reached at (slot %u)", s->name,
                                       s->agent_slot);
        if (s->agent)
                return agent_client_set_address(s->agent, host, port);
        return agent_client_new(host, port, &s->agent);
}

int session_start(struct vm_session *s, const struct vm_start_opts *so) {
        vm_domain_free(s->dom);
        s->dom = NULL;
        struct vm_domain_opts o = { .log_path = s->log_path, .passthrough = s->passthrough,
                                    .persistent = s->persistent };
        int r = vm_domain_define(s->pl->conn, &s->def, &o, &s->dom);
        if (r < 0)
                return r;
        s->started_ms = now_ms();
        r = vm_domain_start(s->dom, so);
        if (r < 0)
                return r;
        log_debug("%s: %s started, log %s", s->name, vm_domain_describe(s->dom), s->log_path);
        return connect_agent(s);
}

int session_use_slot(struct vm_session *s, unsigned slot) {
        s->agent_slot = slot;
        return connect_agent(s);
}

void session_report_end(struct vm_session *s) {
        struct vm_event ev;
        if (!s->dom || vm_domain_wait_event(s->dom, 0, &ev) < 0 || ev.type == VM_EVENT_REBOOT)
                return;
        if (ev.type == VM_EVENT_POWEROFF)
                log_error("%s: the guest powered off", s->name);
        else
                log_error("%s: %s", s->name, ev.detail);
}

void session_log_hint(const struct vm_session *s) {
        if (!s->logs_move)
                log_error("the VM's QEMU log and serial console are in %s", s->logdir);
}

/* An event that ends a wait for the agent: the machine is off. */
static int machine_ended(struct vm_session *s, const struct vm_event *ev, const char *before) {
        if (ev->type == VM_EVENT_POWEROFF)
                log_error("the guest powered off before %s", before);
        else
                log_error("QEMU exited before %s: %s", before, ev->detail);
        session_log_hint(s);
        return -ECHILD;
}

int session_wait_agent(struct vm_session *s, unsigned timeout_s, const char *what) {
        struct progress p;
        progress_begin(&p, what);
        int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
        for (;;) {
                struct vm_event ev;
                int r = vm_domain_wait_event(s->dom, POLL_MS, &ev);
                if (r == 0 && ev.type == VM_EVENT_REBOOT)
                        log_debug("%s: the guest rebooted", s->name);
                else if (r == 0) {
                        progress_end(&p, "failed");
                        return machine_ended(s, &ev, "the guest's agent answered");
                } else if (r == -ECANCELED) {
                        progress_end(&p, "interrupted");
                        return r;
                } else if (r != -ETIMEDOUT) {
                        progress_end(&p, "failed");
                        return r;
                }
                if (agent_ping(s->agent) == 0)
                        break;
                if (interrupted()) {
                        progress_end(&p, "interrupted");
                        return -ECANCELED;
                }
                if (now_ms() >= deadline) {
                        progress_end(&p, "timed out");
                        log_error("the guest's agent did not answer at %s within %u s (--timeout); the guest may "
                                  "have failed to boot or to start its agent",
                                  agent_client_address(s->agent), timeout_s);
                        session_log_hint(s);
                        return -ETIMEDOUT;
                }
                progress_update(&p, 0, 0, "waiting for the agent");
        }
        progress_end(&p, "agent answered");
        return 0;
}

int session_run(struct vm_session *s, const char *tmpl, const char *const *keys, const char *const *values,
                int timeout_ms, char **ret_stdout) {
        _cleanup_free_ char *cmd = NULL;
        int r = guest_template_expand(tmpl, keys, values, &cmd);
        if (r < 0)
                return r;
        struct agent_exec_opts o = { .timeout_ms = timeout_ms };
        struct agent_exec_result res = { 0 };
        r = agent_execute(s->agent, cmd, &o, &res);
        if (r == 0 && res.exit_code != 0) {
                log_error("'%s' failed in the guest (exit code %d): %s", cmd, res.exit_code,
                          !isempty(res.err) ? res.err : strempty(res.error));
                r = -EPROTO;
        }
        if (r == 0 && ret_stdout)
                *ret_stdout = TAKE_PTR(res.out);
        agent_exec_result_done(&res);
        return r;
}

int session_wait_poweroff(struct vm_session *s, unsigned timeout_s) {
        int64_t deadline = timeout_s ? now_ms() + (int64_t)timeout_s * 1000 : INT64_MAX;
        for (;;) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct vm_event ev;
                int r = vm_domain_wait_event(s->dom, timeout_s ? (int)(left > INT32_MAX ? INT32_MAX : left) : -1, &ev);
                if (r < 0)
                        return r;
                if (ev.type == VM_EVENT_POWEROFF)
                        return 0;
                if (ev.type == VM_EVENT_DIED) {
                        log_error("%s: %s", s->name, ev.detail);
                        return -EIO;
                }
        }
}

int session_reboot(struct vm_session *s, unsigned timeout_s) {
        int r = agent_execute_nowait(s->agent, s->profile->cmd.reboot, true, 10000);
        if (r < 0)
                return r;
        /* The agent may still answer for a moment before the guest goes down: wait for the reset. */
        int64_t deadline = now_ms() + 120000;
        for (;;) {
                struct vm_event ev;
                r = vm_domain_wait_event(s->dom, (int)(deadline - now_ms()), &ev);
                if (r == -ETIMEDOUT) {
                        log_error("%s did not reboot within 120 s of being asked to", s->name);
                        session_log_hint(s);
                        return r;
                }
                if (r < 0)
                        return r;
                if (ev.type == VM_EVENT_REBOOT)
                        break;
                return machine_ended(s, &ev, "it came back from its reboot");
        }
        return session_wait_agent(s, timeout_s, "Waiting for the agent after the reboot");
}

int session_poweroff(struct vm_session *s, unsigned timeout_s) {
        enum vm_state st;
        if (!s->dom || vm_domain_get_state(s->dom, &st) < 0 || st == VM_STATE_OFF)
                return 0;
        int r = agent_execute_nowait(s->agent, s->profile->cmd.poweroff, true, 10000);
        if (r == -ECANCELED)
                return r;
        if (r >= 0) {
                r = session_wait_poweroff(s, timeout_s);
                if (r == 0 || r == -ECANCELED || r == -EIO)
                        return r;
        }
        log_warning("%s did not power off through its agent within %u s; asking it over ACPI", s->name, timeout_s);
        return vm_domain_shutdown(s->dom, 30000) == 0 ? -ETIMEDOUT : -EIO;
}

void session_done(struct vm_session *s) {
        vm_domain_free(s->dom);
        agent_client_free(s->agent);
        vm_def_done(&s->def);
        free(s->name);
        free(s->logdir);
        free(s->log_path);
        memset(s, 0, sizeof *s);
}
