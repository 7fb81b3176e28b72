/* The QEMU driver: the driver table's ops on qemu-system-x86_64 processes, QMP and qemu-img. */
#include "qemu/driver.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/util.h"
#include "net/helper.h"
#include "qemu/argv.h"
#include "qemu/img.h"
#include "qemu/memsnap.h"
#include "qemu/probe.h"
#include "qemu/proc.h"
#include "qemu/qmp.h"

#define QMP_CMD_TIMEOUT_MS 30000
#define RESTORE_TIMEOUT_MS 120000

struct qemu_conn {
        struct vm_conn base;
        struct qemu_binary qemu;
        enum vm_accel accel;
};

struct qemu_domain {
        struct vm_domain base;
        struct vm_def def;
        struct qemu_run run;           /* host facts; the process knobs are set per start */
        char **start_args;             /* a Cuckoo3 machine (define_cuckoo), else NULL */
        char *rundir;                  /* QMP and swtpm sockets (short paths for sun_path) */
        char *log_path;
        struct qemu_proc *proc;        /* the last run, kept after it ended for its log and status */
        struct qemu_proc_events ev;    /* of the current run */
        unsigned resets_reported;
        bool reboot_powers_off;
        bool ended;                    /* the current run ended and `end` says how */
        struct vm_event end;
        char describe[64];
};

static struct qemu_conn *CONN(struct vm_conn *c) { return (struct qemu_conn *)c; }
static struct qemu_domain *DOM(struct vm_domain *d) { return (struct qemu_domain *)d; }

/* ---- connection ---- */

static int conn_open(const struct vm_conn_opts *o, struct vm_conn **ret) {
        if (o && !isempty(o->uri)) {
                log_error("the qemu driver runs machines on this host only (no URI '%s')", o->uri);
                return -EINVAL;
        }
        struct qemu_conn *c = calloc(1, sizeof *c);
        if (!c)
                return log_oom();
        int r = qemu_binary_probe(&c->qemu);
        if (r == 0)
                r = qemu_accel_resolve(o ? o->accel : VM_ACCEL_AUTO, c->qemu.path, &c->qemu.version, &c->accel);
        if (r < 0) {
                qemu_binary_done(&c->qemu);
                free(c);
                return r;
        }
        *ret = &c->base;
        return 0;
}

static void conn_close(struct vm_conn *vc) {
        struct qemu_conn *c = CONN(vc);
        qemu_binary_done(&c->qemu);
        free(c);
}

static int host_info(struct vm_conn *vc, struct vm_host_info *ret) {
        struct qemu_conn *c = CONN(vc);
        *ret = (struct vm_host_info){ .driver = "qemu", .accel = c->accel };
        snprintf(ret->version, sizeof ret->version, "%u.%u.%u", c->qemu.version.major, c->qemu.version.minor,
                 c->qemu.version.micro);
        return 0;
}

static int disk_create(struct vm_conn *c, const char *path, uint64_t bytes) {
        (void)c;
        return qemu_img_create_base(path, bytes);
}

static int disk_create_overlay(struct vm_conn *c, const char *path, const char *backing) {
        (void)c;
        return qemu_img_create_overlay(path, backing);
}

static int disk_commit(struct vm_conn *c, const char *overlay) {
        (void)c;
        return qemu_img_commit(overlay);
}

static int disk_import(struct vm_conn *c, const char *src, const char *dst) {
        (void)c;
        return qemu_img_convert(src, dst);
}

static int disk_rebase(struct vm_conn *c, const char *overlay, const char *backing) {
        (void)c;
        return qemu_img_rebase_unsafe(overlay, backing);
}

/* The parent of pid, or 0. */
static long parent_of(long pid) {
        char f[64];
        snprintf(f, sizeof f, "/proc/%ld/stat", pid);
        _cleanup_free_ char *stat = NULL;
        long ppid = 0;
        if (read_full_file(f, &stat, NULL) == 0) {
                const char *rp = strrchr(stat, ')');
                if (rp)
                        sscanf(rp + 2, "%*c %ld", &ppid);
        }
        return ppid;
}

/* A QEMU process of this host whose command line names path. */
struct qemu_user {
        long pid, ppid;
        char *parent;          /* the parent's command line, spaces for NULs; NULL when unknown */
};

static char *cmdline_of(long pid) {
        char f[64];
        snprintf(f, sizeof f, "/proc/%ld/cmdline", pid);
        char *cmd = NULL;
        size_t len = 0;
        if (read_full_file(f, &cmd, &len) < 0 || len == 0) {
                free(cmd);
                return NULL;
        }
        for (size_t i = 0; i + 1 < len; i++)
                if (!cmd[i])
                        cmd[i] = ' ';
        return cmd;
}

/* Every QEMU using path, for fn; stops at fn's first error. */
static int for_each_user(const char *path, int (*fn)(const struct qemu_user *u, void *userdata), void *userdata) {
        DIR *d = opendir("/proc");
        if (!d)
                return log_error_errno(-errno, "cannot list processes in /proc: %m");
        int r = 0;
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 1 || pid == getpid())
                        continue;
                char f[64];
                snprintf(f, sizeof f, "/proc/%ld/cmdline", pid);
                _cleanup_free_ char *cmd = NULL;
                size_t len;
                if (read_full_file(f, &cmd, &len) < 0 || len == 0 || !strstr(cmd, "qemu-system"))
                        continue;
                bool uses = false;
                for (size_t i = 0; i < len && !uses; i += strlen(cmd + i) + 1)
                        uses = strstr(cmd + i, path) != NULL;
                if (!uses)
                        continue;
                long ppid = parent_of(pid);
                struct qemu_user u = { .pid = pid, .ppid = ppid, .parent = ppid > 1 ? cmdline_of(ppid) : NULL };
                r = fn(&u, userdata);
                free(u.parent);
        }
        closedir(d);
        return r;
}

/* A parent whose program is vmcloak: that run owns its QEMU. */
static bool parent_is_vmcloak(const struct qemu_user *u) {
        if (!u->parent)
                return false;
        const char *prog = u->parent;
        const char *sp = strchr(prog, ' '), *slash = strrchr(prog, '/');
        if (slash && (!sp || slash < sp))
                prog = slash + 1;
        return startswith(prog, "vmcloak") != NULL;
}

struct kill_ctx {
        const char *path;
        unsigned killed, spared;
};

static int kill_one(const struct qemu_user *u, void *userdata) {
        struct kill_ctx *k = userdata;
        if (parent_is_vmcloak(u)) {
                log_warning("QEMU %ld uses %s for a running vmcloak (pid %ld); left alone", u->pid, k->path, u->ppid);
                k->spared++;
        } else if (kill((pid_t)u->pid, SIGKILL) == 0) {
                log_info("killed QEMU %ld, which still used %s", u->pid, k->path);
                k->killed++;
        }
        return 0;
}

/* QEMU processes whose command line names path, not started by a vmcloak that still runs. */
static int kill_users(struct vm_conn *c, const char *path, unsigned *ret_killed, unsigned *ret_spared) {
        (void)c;
        struct kill_ctx k = { .path = path };
        int r = for_each_user(path, kill_one, &k);
        *ret_killed = k.killed;
        *ret_spared = k.spared;
        return r;
}

static int describe_one(const struct qemu_user *u, void *userdata) {
        char ***l = userdata;
        if (u->ppid == getpid())
                return 0;
        return strv_extendf(l, "QEMU PID %ld (started by PID %ld%s%.80s)", u->pid, u->ppid, u->parent ? ": " : "",
                            strempty(u->parent)) < 0 ? log_oom() : 0;
}

static int find_users(struct vm_conn *c, const char *path, char ***ret) {
        (void)c;
        char **l = NULL;
        int r = for_each_user(path, describe_one, &l);
        if (r < 0) {
                strv_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

/* ---- domains ---- */

static void domain_free(struct vm_domain *vd) {
        struct qemu_domain *d = DOM(vd);
        qemu_proc_free(d->proc);
        if (d->rundir)
                rm_rf(d->rundir);
        free(d->rundir);
        free(d->log_path);
        strv_free(d->start_args);
        vm_def_done(&d->def);
        qemu_run_done(&d->run);
        free(d);
}

/* The part of define both kinds share: copy, log path, run folder, binary, forwards. */
static int domain_new(struct qemu_conn *c, const struct vm_def *def, const struct vm_domain_opts *o,
                      struct qemu_domain **ret) {
        if (!o || isempty(o->log_path)) {
                log_error("the qemu driver needs a log path for machine %s", strempty(def->name));
                return -EINVAL;
        }
        struct qemu_domain *d = calloc(1, sizeof *d);
        if (!d)
                return log_oom();
        d->base.driver = &qemu_driver;
        if (vm_def_copy(def, &d->def) < 0) {
                free(d);
                return log_oom();
        }
        _cleanup_free_ char *rundir = strdup_printf("%s/vmcloak-vm.XXXXXX", runtime_tmpdir());
        d->log_path = strdup(o->log_path);
        d->run.binary = strdup(c->qemu.path);
        d->run.version = c->qemu.version;
        d->run.accel = c->accel;
        d->run.audio_none = qemu_version_cmp(&c->qemu.version, 4, 0, 0) >= 0;
        if (!rundir || !d->log_path || !d->run.binary || (o->passthrough && !(d->run.extra_args = strv_copy(o->passthrough)))) {
                domain_free(&d->base);
                return log_oom();
        }
        int r;
        if (!mkdtemp(rundir)) {
                r = log_error_errno(-errno, "cannot create a run folder for machine %s: %m", strempty(def->name));
                domain_free(&d->base);
                return r;
        }
        d->rundir = TAKE_PTR(rundir);   /* domain_free() removes it from here on */
        const struct vm_net *n = &def->net;
        if (n->type == VM_NET_USER && n->agent_port) {
                if ((!isempty(n->guest_ip) && (r = free_loopback_port(&d->run.fwd_port)) < 0) ||
                    (!isempty(n->guest_ip2) && (r = free_loopback_port(&d->run.fwd_port2)) < 0)) {
                        domain_free(&d->base);
                        return log_error_errno(r, "cannot find a free TCP port on 127.0.0.1: %m");
                }
        }
        snprintf(d->describe, sizeof d->describe, "QEMU (not started)");
        *ret = d;
        return 0;
}

/* UEFI firmware code and this machine's own variable store (a copy of the template). */
static int prepare_uefi(struct qemu_domain *d) {
        const struct vm_def *def = &d->def;
        d->run.uefi_code = qemu_find_ovmf_code(def->secure_boot);
        if (!d->run.uefi_code) {
                log_error("UEFI firmware (OVMF%s) not found: install the ovmf package",
                          def->secure_boot ? " with Secure Boot" : "");
                return -ENOENT;
        }
        if (isempty(def->nvram) || path_exists(def->nvram))
                return 0;
        _cleanup_free_ char *tmpl = qemu_find_ovmf_vars(def->secure_boot);
        if (!tmpl) {
                log_error("the UEFI variable store template (OVMF_VARS%s) was not found: install the ovmf package",
                          def->secure_boot ? " with Microsoft keys" : "");
                return -ENOENT;
        }
        int r = copy_file(tmpl, def->nvram, 0644);
        if (r < 0)
                return log_error_errno(r, "cannot copy %s to %s: %m", tmpl, def->nvram);
        return 0;
}

static int domain_define(struct vm_conn *vc, const struct vm_def *def, const struct vm_domain_opts *o,
                         struct vm_domain **ret) {
        struct qemu_conn *c = CONN(vc);
        struct qemu_domain *d = NULL;
        int r = domain_new(c, def, o, &d);
        if (r < 0)
                return r;
        if (def->net.type == VM_NET_BRIDGE) {
                /* Run the helper the bridge checks looked at (net/check.h). */
                char *helper = NULL;
                if (net_helper_find(c->qemu.path, &helper) == 0)
                        d->run.bridge_helper = helper;
        }
        if (def->firmware == VM_FIRMWARE_UEFI && (r = prepare_uefi(d)) < 0)
                goto fail;
        if (def->tpm) {
                if (isempty(def->tpm_state)) {
                        r = log_error_errno(-EINVAL, "machine %s has a TPM but no folder for its state",
                                            strempty(def->name));
                        goto fail;
                }
                if (!(d->run.tpm_socket = path_join(d->rundir, "tpm.sock"))) {
                        r = log_oom();
                        goto fail;
                }
        }
        char reason[256];
        r = qemu_argv_check(&d->def, &d->run, QEMU_ARGV_RUN, reason, sizeof reason);
        if (r < 0) {
                log_error("cannot define VM %s: %s", strempty(def->name), reason);
                goto fail;
        }
        *ret = &d->base;
        return 0;
fail:
        domain_free(&d->base);
        return r;
}

static int domain_define_cuckoo(struct vm_conn *vc, char *const *start_args, const struct vm_def *host,
                                const struct vm_domain_opts *o, struct vm_domain **ret) {
        const char *why;
        if (cuckoo_start_args_check(start_args, &why) < 0) {
                log_error("the start_args of %s cannot be run: %s", strempty(host->name), why);
                return -EINVAL;
        }
        bool forwards = false;
        for (size_t i = 1; start_args[i]; i++)
                if (streq(start_args[i - 1], "-netdev") && strstr(start_args[i], "hostfwd="))
                        forwards = true;
        if (host->net.type == VM_NET_USER && host->net.agent_port && !forwards) {
                log_error("%s is a user-network VM but its start_args forward no port to the agent", strempty(host->name));
                return -EINVAL;
        }
        struct vm_def h;
        if (vm_def_copy(host, &h) < 0)
                return log_oom();
        free(h.net.guest_ip2);
        h.net.guest_ip2 = NULL;
        if (!forwards)
                h.net.type = VM_NET_BRIDGE; /* no forward to make: the agent is reached at its address */
        struct qemu_domain *d = NULL;
        int r = domain_new(CONN(vc), &h, o, &d);
        vm_def_done(&h);
        if (r < 0)
                return r;
        if (!(d->start_args = strv_copy(start_args))) {
                domain_free(&d->base);
                return log_oom();
        }
        d->run.disk_snapshot = o && o->discard_disk_writes;
        /* A machine with a TPM (snapshot --tpm): its swtpm runs on host's state folder, on a
         * socket of this run. Without one (Cuckoo3's way) QEMU refuses such a memory file. */
        if (strv_contains(start_args, "-tpmdev") && host->tpm && !isempty(host->tpm_state) &&
            !(d->run.tpm_socket = path_join(d->rundir, "tpm.sock"))) {
                domain_free(&d->base);
                return log_oom();
        }
        *ret = &d->base;
        return 0;
}

static void run_reset(struct qemu_domain *d) {
        qemu_proc_free(d->proc);
        d->proc = NULL;
        d->ev = (struct qemu_proc_events){ 0 };
        d->resets_reported = 0;
        d->ended = false;
        d->end = (struct vm_event){ 0 };
}

static int start(struct vm_domain *vd, const struct vm_start_opts *o) {
        struct qemu_domain *d = DOM(vd);
        if (d->proc && !qemu_proc_exited(d->proc)) {
                log_error("VM %s is running already", strempty(d->def.name));
                return -EBUSY;
        }
        run_reset(d);
        struct qemu_run run = d->run;   /* shallow: the process knobs of this start only */
        _cleanup_free_ char *uri = NULL, *qmp = path_join(d->rundir, "qmp.sock");
        if (!qmp)
                return log_oom();
        run.qmp_socket = qmp;
        run.no_reboot = o->reboot_powers_off;
        run.paused = o->paused && !o->memory_image;
        if (o->memory_image) {
                int r = qemu_memsnap_incoming_uri(o->memory_image, &uri);
                if (r < 0)
                        return r;
                run.incoming = uri;
        }
        struct qemu_proc_opts po = { .log_path = d->log_path, .tpm_state_dir = d->def.tpm ? d->def.tpm_state : NULL,
                                     .tpm_socket = d->run.tpm_socket };
        /* A disk under snapshot=on keeps the run's writes in a temporary file beside it (in the
         * VM's folder, on its file system), not in /var/tmp, which may be small or in RAM. */
        _cleanup_free_ char *disk_dir = d->run.disk_snapshot && d->def.disk.path ? path_dirname(d->def.disk.path) : NULL;
        po.tmpdir = disk_dir;
        int r;
        if (d->start_args) {
                run.monitor_none = true;   /* as Cuckoo3 does */
                _cleanup_strv_free_ char **argv = NULL;
                r = qemu_argv_from_start_args(d->start_args, d->def.disk.path, &d->def.vnc, &run, &argv);
                if (r < 0)
                        return log_error_errno(r, "cannot build the restore command of %s: %m", strempty(d->def.name));
                unlink_if_exists(qmp);
                r = qemu_proc_start_argv(argv, qmp, &po, &d->proc);
        } else
                r = qemu_proc_start(&d->def, &run, &po, &d->proc);
        if (r < 0)
                return r;
        d->reboot_powers_off = o->reboot_powers_off;
        log_debug("%s: QEMU up, QMP connected", strempty(d->def.name));
        snprintf(d->describe, sizeof d->describe, "QEMU pid %d", (int)qemu_proc_pid(d->proc));
        if (o->memory_image) {
                r = qemu_memsnap_incoming_wait(d->proc, o->memory_image, o->timeout_ms > 0 ? o->timeout_ms
                                                                                           : RESTORE_TIMEOUT_MS,
                                               !o->paused);
                if (r < 0) {
                        qemu_proc_kill(d->proc);
                        return r;
                }
        }
        return 0;
}

/* How the run ended, once QEMU is gone. */
static void set_end(struct qemu_domain *d) {
        d->ended = true;
        int st = qemu_proc_exit_status(d->proc);
        bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (clean && (d->ev.shutdown_guest || !d->ev.shutdown)) {
                /* The guest powered off (or reset under -no-reboot). A clean exit whose SHUTDOWN
                 * event was lost in the race with the socket closing counts too. */
                d->end.type = VM_EVENT_POWEROFF;
                return;
        }
        d->end.type = VM_EVENT_DIED;
        char sb[64];
        _cleanup_free_ char *tail = qemu_proc_log_tail(d->proc, 3);
        snprintf(d->end.detail, sizeof d->end.detail, "QEMU ended with %s%s%s: %s",
                 proc_status_string(st, sb, sizeof sb), d->ev.shutdown ? ", shutdown reason " : "",
                 d->ev.shutdown ? d->ev.shutdown_reason : "", isempty(tail) ? "(nothing in its log)" : tail);
}

static int wait_event(struct vm_domain *vd, int timeout_ms, struct vm_event *ret) {
        struct qemu_domain *d = DOM(vd);
        if (!d->proc) {
                log_error("VM %s was never started", strempty(d->def.name));
                return -ENOTCONN;
        }
        int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
        for (;;) {
                if (d->ended) {
                        *ret = d->end;
                        return 0;
                }
                int r = qemu_proc_poll_events(d->proc, 50, &d->ev);
                if (r < 0)
                        return r;
                bool reset_off = d->reboot_powers_off && d->ev.shutdown && streq(d->ev.shutdown_reason, "guest-reset");
                if (d->ev.resets > d->resets_reported || (reset_off && d->resets_reported == 0)) {
                        d->resets_reported++;
                        ret->type = VM_EVENT_REBOOT;
                        return 0;
                }
                if (qemu_proc_exited(d->proc)) {
                        set_end(d);
                        continue;
                }
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() >= deadline)
                        return -ETIMEDOUT;
        }
}

static int shutdown_domain(struct vm_domain *vd, int grace_ms) {
        struct qemu_domain *d = DOM(vd);
        if (!d->proc || qemu_proc_exited(d->proc))
                return 0;
        struct qmp *q = qemu_proc_qmp(d->proc);
        if (!interrupted() && grace_ms > 0 && q) {
                qmp_set_ignore_interrupt(q, true);
                int r = qmp_execute(q, "system_powerdown", NULL, 5000, NULL);
                qmp_set_ignore_interrupt(q, false);
                if (r == 0) {
                        struct vm_event ev;
                        int64_t deadline = now_ms() + grace_ms;
                        while ((r = wait_event(vd, (int)(deadline - now_ms()), &ev)) == 0 && ev.type == VM_EVENT_REBOOT)
                                ;
                        if (r == 0 && ev.type == VM_EVENT_POWEROFF)
                                return 0;
                }
        }
        qemu_proc_quit(d->proc, 5000);
        if (!d->ended) {
                d->ended = true;
                d->end = (struct vm_event){ .type = VM_EVENT_DIED };
                snprintf(d->end.detail, sizeof d->end.detail, "switched off by vmcloak");
        }
        return 1;
}

static void destroy(struct vm_domain *vd) {
        struct qemu_domain *d = DOM(vd);
        if (!d->proc)
                return;
        bool was_running = !qemu_proc_exited(d->proc);
        qemu_proc_kill(d->proc);
        if (was_running && !d->ended) {
                d->ended = true;
                d->end = (struct vm_event){ .type = VM_EVENT_DIED };
                snprintf(d->end.detail, sizeof d->end.detail, "switched off by vmcloak");
        }
}

static int get_state(struct vm_domain *vd, enum vm_state *ret) {
        struct qemu_domain *d = DOM(vd);
        if (!d->proc || qemu_proc_exited(d->proc)) {
                *ret = VM_STATE_OFF;
                return 0;
        }
        _cleanup_free_ char *st = NULL;
        int r = qemu_proc_query_status(d->proc, &st);
        if (r < 0)
                return r;
        *ret = streq(st, "running") ? VM_STATE_RUNNING : VM_STATE_PAUSED;
        return 0;
}

static int running_proc(struct qemu_domain *d) {
        if (!d->proc || qemu_proc_exited(d->proc)) {
                log_error("VM %s is not running", strempty(d->def.name));
                return -ENOTCONN;
        }
        return 0;
}

static int resume(struct vm_domain *vd) {
        struct qemu_domain *d = DOM(vd);
        int r = running_proc(d);
        return r < 0 ? r : qemu_proc_cont(d->proc);
}

static int save_memory(struct vm_domain *vd, const char *path, const struct vm_save_opts *o) {
        struct qemu_domain *d = DOM(vd);
        int r = running_proc(d);
        if (r < 0)
                return r;
        struct qemu_memsnap_opts mo = { .after = QEMU_MEMSNAP_QUIT, .level = o->level, .quiet = o->quiet,
                                        .timeout_ms = o->timeout_ms };
        r = qemu_memsnap_save(d->proc, path, o->compress, &mo);
        if (r == 0) {
                d->ended = true;
                d->end = (struct vm_event){ .type = VM_EVENT_DIED };
                snprintf(d->end.detail, sizeof d->end.detail, "stopped after its memory was saved");
        }
        return r;
}

static int media_change(struct vm_domain *vd, size_t cdrom, const char *path) {
        struct qemu_domain *d = DOM(vd);
        int r = running_proc(d);
        if (r < 0)
                return r;
        if (cdrom > 0 && cdrom >= d->def.n_cdroms) {
                log_error("VM %s has no CD-ROM drive %zu", strempty(d->def.name), cdrom);
                return -ENOENT;
        }
        char id[32];
        if (cdrom == 0)
                snprintf(id, sizeof id, "cdrom");
        else
                snprintf(id, sizeof id, "cdrom%zu", cdrom);
        return path ? qemu_proc_cdrom_change(d->proc, id, path) : qemu_proc_cdrom_eject(d->proc, id);
}

static int send_keys(struct vm_domain *vd, char *const *keys, int hold_ms) {
        struct qemu_domain *d = DOM(vd);
        int r = running_proc(d);
        if (r < 0)
                return r;
        struct json_object *a = json_object_new_object(), *l = json_object_new_array();
        STRV_FOREACH(k, keys) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "type", json_object_new_string("qcode"));
                json_object_object_add(o, "data", json_object_new_string(*k));
                json_object_array_add(l, o);
        }
        json_object_object_add(a, "keys", l);
        if (hold_ms > 0)
                json_object_object_add(a, "hold-time", json_object_new_int(hold_ms));
        struct qmp *q = qemu_proc_qmp(d->proc);
        r = qmp_execute(q, "send-key", a, QMP_CMD_TIMEOUT_MS, NULL);
        if (r == -EREMOTEIO)
                log_error("QEMU refused the keys: %s", qmp_last_error(q));
        return r;
}

static int screenshot(struct vm_domain *vd, const char *png_path) {
        struct qemu_domain *d = DOM(vd);
        int r = running_proc(d);
        if (r < 0)
                return r;
        if (qemu_version_cmp(&d->run.version, 7, 1, 0) < 0) {
                log_error("PNG screenshots need QEMU 7.1 or newer");
                return -EOPNOTSUPP;
        }
        struct json_object *a = json_object_new_object();
        json_object_object_add(a, "filename", json_object_new_string(png_path));
        json_object_object_add(a, "format", json_object_new_string("png"));
        struct qmp *q = qemu_proc_qmp(d->proc);
        r = qmp_execute(q, "screendump", a, QMP_CMD_TIMEOUT_MS, NULL);
        if (r == -EREMOTEIO)
                log_error("QEMU could not take a screenshot: %s", qmp_last_error(q));
        return r;
}

static int agent_endpoint(struct vm_domain *vd, unsigned slot, char *host, size_t size, uint16_t *port) {
        struct qemu_domain *d = DOM(vd);
        const struct vm_net *n = &d->def.net;
        const char *ip = slot == 0 ? n->guest_ip : slot == 1 ? n->guest_ip2 : NULL;
        if (isempty(ip) || !n->agent_port || n->type == VM_NET_NONE)
                return -ENOENT;
        if (n->type == VM_NET_USER) {
                unsigned p = slot == 0 ? d->run.fwd_port : d->run.fwd_port2;
                if (!p)
                        return -ENOENT;
                snprintf(host, size, "127.0.0.1");
                *port = (uint16_t)p;
                return 0;
        }
        snprintf(host, size, "%s", ip);
        *port = (uint16_t)n->agent_port;
        return 0;
}

static int cuckoo_start_args(struct vm_domain *vd, const struct vm_def *as_restored, char ***ret) {
        struct qemu_domain *d = DOM(vd);
        struct qemu_run run = d->run;  /* shallow: host facts only, no process knobs */
        run.qmp_socket = run.incoming = run.pidfile = NULL;
        run.monitor_none = run.no_reboot = run.paused = false;
        run.fwd_port = run.fwd_port2 = 0;
        const struct vm_net *n = &as_restored->net;
        if (n->type == VM_NET_USER && !isempty(n->guest_ip) && n->agent_port) {
                /* The forward that reaches the restored guest's address in this run. */
                if (streq_ptr(n->guest_ip, d->def.net.guest_ip2) && d->run.fwd_port2)
                        run.fwd_port = d->run.fwd_port2;
                else if (streq_ptr(n->guest_ip, d->def.net.guest_ip))
                        run.fwd_port = d->run.fwd_port;
        }
        char reason[256];
        int r = qemu_argv_check(as_restored, &run, QEMU_ARGV_START_ARGS, reason, sizeof reason);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_error("cannot write the start_args of %s: %s", strempty(as_restored->name), reason);
                return r;
        }
        r = qemu_argv_build(as_restored, &run, QEMU_ARGV_START_ARGS, ret);
        return r == -ENOMEM ? log_oom() : r;
}

static char *log_tail(struct vm_domain *vd, unsigned lines) {
        struct qemu_domain *d = DOM(vd);
        return d->proc ? qemu_proc_log_tail(d->proc, lines) : strdup("");
}

static const char *describe(struct vm_domain *vd) { return DOM(vd)->describe; }

const struct vm_driver qemu_driver = {
        .name = "qemu",
        .conn_open = conn_open,
        .conn_close = conn_close,
        .host_info = host_info,
        .disk_create = disk_create,
        .disk_import = disk_import,
        .disk_rebase = disk_rebase,
        .disk_create_overlay = disk_create_overlay,
        .disk_commit = disk_commit,
        .kill_users = kill_users,
        .find_users = find_users,
        .domain_define = domain_define,
        .domain_define_cuckoo = domain_define_cuckoo,
        .domain_free = domain_free,
        .start = start,
        .wait_event = wait_event,
        .shutdown = shutdown_domain,
        .destroy = destroy,
        .get_state = get_state,
        .resume = resume,
        .save_memory = save_memory,
        .media_change = media_change,
        .send_keys = send_keys,
        .screenshot = screenshot,
        .agent_endpoint = agent_endpoint,
        .cuckoo_start_args = cuckoo_start_args,
        .log_tail = log_tail,
        .describe = describe,
};
