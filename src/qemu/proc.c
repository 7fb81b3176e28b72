/* Running QEMU: spawn, QMP handshake, waits with deadlines, stop/kill, CD-ROM media. */
#include "qemu/proc.h"

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/util.h"
#include "machine/smbios.h"
#include "qemu/argv.h"

#define QMP_DEFAULT_TIMEOUT_MS 30000
#define QMP_CMD_TIMEOUT_MS 30000
#define SWTPM_TIMEOUT_MS 5000

struct qemu_proc {
        pid_t pid;
        pid_t swtpm_pid;
        bool exited;
        int status;
        bool shutdown_event;
        struct qmp *qmp;
        char *rundir;          /* private, removed by qemu_proc_free */
        char *qmp_path;
        char *log_path;
        off_t log_offset;      /* where this run's lines start in the log */
};

pid_t qemu_proc_pid(const struct qemu_proc *vm) { return vm->pid; }
struct qmp *qemu_proc_qmp(struct qemu_proc *vm) { return vm->qmp; }
const char *qemu_proc_log_path(const struct qemu_proc *vm) { return vm->log_path; }

static int qemu_proc_new(struct qemu_proc **ret) {
        struct qemu_proc *vm = calloc(1, sizeof *vm);
        if (!vm)
                return log_oom();
        *ret = vm;
        return 0;
}

/* The private run folder, made on first use: a caller that names its log and QMP socket
 * (the QEMU driver) leaves no folder behind even when vmcloak is killed. */
static int rundir_path(struct qemu_proc *vm, const char *name, char **ret) {
        if (!vm->rundir) {
                _cleanup_free_ char *tmpl = strdup_printf("%s/vmcloak-vm.XXXXXX", runtime_tmpdir());
                if (!tmpl)
                        return log_oom();
                if (!mkdtemp(tmpl))
                        return log_error_errno(-errno, "cannot create a run folder for QEMU: %m");
                vm->rundir = TAKE_PTR(tmpl);
        }
        *ret = path_join(vm->rundir, name);
        return *ret ? 0 : log_oom();
}

char *qemu_log_tail(char *text, unsigned lines) {
        _cleanup_strv_free_ char **l = NULL;
        char *save = NULL;
        for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                t[strcspn(t, "\r")] = 0;
                if (*t && !strstr(t, "warning: TCG doesn't support requested feature"))
                        strv_extend(&l, t);
        }
        size_t n = strv_length(l);
        if (n == 0)
                return strdup("");
        return strv_join(l + (n > lines ? n - lines : 0), " / ");
}

char *qemu_proc_log_tail(const struct qemu_proc *vm, unsigned lines) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (!vm->log_path || read_full_file(vm->log_path, &text, &len) < 0)
                return strdup("");
        size_t start = (size_t)vm->log_offset <= len ? (size_t)vm->log_offset : 0;
        return qemu_log_tail(text + start, lines);
}

/* Reap if it exited; true once it is gone. */
static bool reap(struct qemu_proc *vm) {
        if (vm->exited || vm->pid <= 0)
                return true;
        int st;
        int r = proc_try_wait(vm->pid, &st);
        if (r == 0)
                return false;
        vm->exited = true;
        vm->status = r > 0 ? st : 0;
        return true;
}

bool qemu_proc_exited(struct qemu_proc *vm) { return reap(vm); }

static int died_error(struct qemu_proc *vm, const char *when) {
        _cleanup_free_ char *tail = qemu_proc_log_tail(vm, 3);
        char st[80];
        log_error("QEMU exited %s (%s): %s", when, proc_status_string(vm->status, st, sizeof st),
                  isempty(tail) ? "(nothing in its log)" : tail);
        return -ECHILD;
}

static void kill_swtpm(struct qemu_proc *vm) {
        if (vm->swtpm_pid > 0) {
                kill(-vm->swtpm_pid, SIGKILL);
                proc_terminate(vm->swtpm_pid, 0);
                vm->swtpm_pid = 0;
        }
}

void qemu_proc_kill(struct qemu_proc *vm) {
        if (!vm)
                return;
        if (vm->pid > 0 && !reap(vm)) {
                kill(-vm->pid, SIGKILL);
                kill(vm->pid, SIGKILL);
                int st;
                while (waitpid(vm->pid, &st, 0) < 0 && errno == EINTR)
                        ;
                interrupt_untrack_child(vm->pid);
                vm->exited = true;
                vm->status = st;
        }
        kill_swtpm(vm);
}

void qemu_proc_free(struct qemu_proc *vm) {
        if (!vm)
                return;
        qemu_proc_kill(vm);
        qmp_free(vm->qmp);
        if (vm->rundir)
                rm_rf(vm->rundir);
        free(vm->rundir);
        free(vm->qmp_path);
        free(vm->log_path);
        free(vm);
}

static int start_swtpm(struct qemu_proc *vm, const char *sock, const char *state_dir) {
        _cleanup_free_ char *bin = find_program("swtpm");
        if (!bin)
                return log_error_errno(-ENOENT, "swtpm not found: install swtpm and swtpm-tools (needed for a TPM)");
        int r = mkdir_p(state_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "cannot create the TPM state directory %s: %m", state_dir);
        unlink_if_exists(sock);
        /* swtpm splits --tpmstate on commas with no escape: a link without one stands in. */
        _cleanup_free_ char *link = NULL;
        if (strchr(state_dir, ',')) {
                if ((r = rundir_path(vm, "tpmstate", &link)) < 0)
                        return r;
                if (symlink(state_dir, link) < 0)
                        return log_error_errno(-errno, "cannot link %s to %s: %m", link, state_dir);
                state_dir = link;
        }
        _cleanup_free_ char *state = strdup_printf("dir=%s", state_dir);
        _cleanup_free_ char *ctrl = strdup_printf("type=unixio,path=%s", sock);
        if (!state || !ctrl)
                return log_oom();
        char *argv[] = { bin, "socket", "--tpm2", "--tpmstate", state, "--ctrl", ctrl, "--terminate", NULL };
        struct proc_opts o = { .stdout_path = vm->log_path, .stderr_path = vm->log_path, .new_pgroup = true,
                               .pdeathsig = true };
        r = proc_spawn(argv, &o, &vm->swtpm_pid);
        if (r < 0)
                return log_error_errno(r, "cannot start swtpm: %m");
        int64_t deadline = now_ms() + SWTPM_TIMEOUT_MS;
        struct stat st;
        while (stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                int status;
                if (proc_try_wait(vm->swtpm_pid, &status) != 0) {
                        vm->swtpm_pid = 0;
                        _cleanup_free_ char *tail = qemu_proc_log_tail(vm, 2);
                        log_error("swtpm exited at once: %s", isempty(tail) ? "(nothing in the log)" : tail);
                        return -ECHILD;
                }
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() > deadline)
                        return log_error_errno(-ETIMEDOUT, "swtpm did not create its socket %s in time", sock);
                sleep_ms(10);
        }
        return 0;
}

static int wait_qmp(struct qemu_proc *vm, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        for (;;) {
                if (reap(vm))
                        return died_error(vm, "during start-up");
                int64_t left = deadline - now_ms();
                int r = qmp_connect(vm->qmp_path, (int)(left > 0 ? left : 1), &vm->qmp);
                if (r == 0)
                        return 0;
                if (r == -ECANCELED)
                        return r;
                if (r != -ENOENT && r != -ECONNREFUSED && r != -ECONNRESET && r != -ETIMEDOUT) {
                        if (reap(vm))
                                return died_error(vm, "during start-up");
                        return log_error_errno(r, "cannot talk QMP to QEMU on %s: %m", vm->qmp_path);
                }
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() >= deadline) {
                        _cleanup_free_ char *tail = qemu_proc_log_tail(vm, 3);
                        return log_error_errno(-ETIMEDOUT, "QEMU did not answer on its QMP socket within %d s%s%s",
                                               timeout_ms / 1000, isempty(tail) ? "" : ": ", strempty(tail));
                }
                /* The socket appears within QEMU's first tens of ms: a short step (a failed
                 * connect costs microseconds) rather than a coarse one that adds its half on average. */
                sleep_ms(2);
        }
}

static int set_log(struct qemu_proc *vm, const struct qemu_proc_opts *o) {
        if (vm->log_path)
                return 0;
        if (o && o->log_path) {
                if (!(vm->log_path = strdup(o->log_path)))
                        return log_oom();
        } else {
                int r = rundir_path(vm, "qemu.log", &vm->log_path);
                if (r < 0)
                        return r;
        }
        vm->log_offset = (off_t)file_size_or_zero(vm->log_path);
        return 0;
}

static int spawn(struct qemu_proc *vm, char *const *argv, const struct qemu_proc_opts *o) {
        int r = set_log(vm, o);
        if (r < 0)
                return r;
        _cleanup_free_ char *cmd = strv_join((char **)argv, " ");
        log_debug("starting: %s", strempty(cmd));
        /* QEMU's default audio backend fills the log with ALSA/PulseAudio noise on a
         * headless host; the guest sees the same sound card either way. */
        _cleanup_free_ char *tmpdir = o && o->tmpdir ? strdup_printf("TMPDIR=%s", o->tmpdir) : NULL;
        if (o && o->tmpdir && !tmpdir)
                return log_oom();
        char *env[] = { "QEMU_AUDIO_DRV=none", tmpdir, NULL };
        struct proc_opts po = { .stdout_path = vm->log_path, .stderr_path = vm->log_path, .new_pgroup = true,
                                .pdeathsig = true, .env_extra = env };
        r = proc_spawn(argv, &po, &vm->pid);
        if (r == -ENOENT)
                return log_error_errno(r, "%s not found: install qemu-system-x86, or give one with --qemu-binary PATH or VMCLOAK_QEMU", argv[0]);
        if (r < 0)
                return log_error_errno(r, "cannot start %s: %m", argv[0]);
        return wait_qmp(vm, o && o->qmp_timeout_ms > 0 ? o->qmp_timeout_ms : QMP_DEFAULT_TIMEOUT_MS);
}

int qemu_proc_start_argv(char *const *argv, const char *qmp_socket, const struct qemu_proc_opts *o, struct qemu_proc **ret) {
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        int r = qemu_proc_new(&vm);
        if (r < 0)
                return r;
        vm->qmp_path = strdup(qmp_socket);
        if (!vm->qmp_path)
                return log_oom();
        if (o && o->tpm_state_dir && o->tpm_socket) {
                r = set_log(vm, o);
                if (r == 0)
                        r = start_swtpm(vm, o->tpm_socket, o->tpm_state_dir);
                if (r < 0)
                        return r;
        }
        r = spawn(vm, argv, o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(vm);
        return 0;
}

int qemu_smbios_write(const struct vm_def *d) {
        const struct vm_smbios *m = &d->id.smbios;
        if (!vm_smbios_needs_files(m))
                return 0;
        _cleanup_free_ char *dir = vm_smbios_dir(d->disk.path);
        if (!dir)
                return log_oom();
        if (mkdir(dir, 0755) < 0 && (errno != EEXIST || !is_dir(dir)))
                return log_error_errno(-errno, "cannot create the SMBIOS folder %s: %m", dir);
        static const unsigned types[] = { 0, 3 };
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                if (!vm_smbios_in_file(m, types[i]))
                        continue;
                _cleanup_free_ uint8_t *b = NULL;
                size_t n;
                int r = vm_smbios_encode(m, d->firmware, types[i], &b, &n);
                if (r < 0)
                        return log_error_errno(r, "cannot encode SMBIOS type %u of VM %s: %m", types[i], strempty(d->name));
                _cleanup_free_ char *f = vm_smbios_file(d->disk.path, types[i]);
                if (!f)
                        return log_oom();
                if ((r = write_file_atomic(f, b, n, 0644)) < 0)
                        return log_error_errno(r, "cannot write %s: %m", f);
        }
        return 0;
}

int qemu_proc_start(const struct vm_def *d, const struct qemu_run *run, const struct qemu_proc_opts *o,
                    struct qemu_proc **ret) {
        char reason[256];
        int r = qemu_argv_check(d, run, QEMU_ARGV_RUN, reason, sizeof reason);
        if (r < 0)
                return log_error_errno(r, "cannot start VM %s: %s", strempty(d->name), reason);
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        r = qemu_proc_new(&vm);
        if (r < 0)
                return r;
        struct qemu_run local = *run;
        if (!isempty(run->qmp_socket)) {
                if (!(vm->qmp_path = strdup(run->qmp_socket)))
                        return log_oom();
        } else if ((r = rundir_path(vm, "qmp.sock", &vm->qmp_path)) < 0)
                return r;
        local.qmp_socket = vm->qmp_path;
        unlink_if_exists(vm->qmp_path);
        _cleanup_strv_free_ char **argv = NULL;
        r = qemu_argv_build(d, &local, QEMU_ARGV_RUN, &argv);
        if (r < 0)
                return log_error_errno(r, "cannot build QEMU arguments for %s: %m", strempty(d->name));
        if ((r = qemu_smbios_write(d)) < 0)
                return r;
        r = set_log(vm, o);
        if (r < 0)
                return r;
        if (d->tpm && o && o->tpm_state_dir) {
                r = start_swtpm(vm, run->tpm_socket, o->tpm_state_dir);
                if (r < 0)
                        return r;
        }
        r = spawn(vm, argv, o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(vm);
        return 0;
}

int qemu_proc_poll_events(struct qemu_proc *vm, int timeout_ms, struct qemu_proc_events *acc) {
        if (!vm->qmp) {
                if (timeout_ms > 0)
                        sleep_ms(timeout_ms);
                return interrupted() ? -ECANCELED : 0;
        }
        int r = qmp_poll(vm->qmp, timeout_ms);
        if (r == -ECANCELED)
                return r;
        struct json_object *e, *data, *v;
        while ((e = qmp_pop_event(vm->qmp, NULL))) {
                const char *name = json_object_get_string(json_object_object_get(e, "event"));
                log_debug("QMP event: %s", json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
                json_object *ts = json_object_object_get(e, "timestamp");
                int64_t us = json_object_get_int64(json_object_object_get(ts, "seconds")) * 1000000 +
                             json_object_get_int64(json_object_object_get(ts, "microseconds"));
                data = json_object_object_get(e, "data");
                bool guest = json_object_object_get_ex(data, "guest", &v) && json_object_get_boolean(v);
                const char *reason = json_object_object_get_ex(data, "reason", &v) ? json_object_get_string(v) : "";
                if (name && streq(name, "SHUTDOWN")) {
                        vm->shutdown_event = true;
                        acc->shutdown = true;
                        acc->shutdown_guest = guest;
                        snprintf(acc->shutdown_reason, sizeof acc->shutdown_reason, "%s", strempty(reason));
                } else if (name && streq(name, "RESET") && guest) {
                        /* SeaBIOS answers a warm reset with a hard reset of its own ("Attempting a
                         * hard reboot"): one guest reboot, two RESET events ~50 ms apart. No OS
                         * reboots twice within the window. */
                        if (!acc->resets || us - acc->last_reset_us > QEMU_RESET_WINDOW_US)
                                acc->resets++;
                        acc->last_reset_us = us;
                }
                json_object_put(e);
        }
        if (r < 0) {
                /* A closed socket just means QEMU is going. */
                qmp_free(vm->qmp);
                vm->qmp = NULL;
        }
        return 0;
}

int qemu_proc_exit_status(const struct qemu_proc *vm) { return vm->status; }

int qemu_proc_wait_exit(struct qemu_proc *vm, int timeout_ms, int *ret_status, bool *ret_shutdown_event) {
        int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
        for (;;) {
                if (vm->qmp) {
                        /* Collect events (SHUTDOWN) while waiting; a closed socket just means QEMU is going. */
                        int r = qmp_poll(vm->qmp, 50);
                        if (r == -ECANCELED)
                                return r;
                        struct json_object *e;
                        while ((e = qmp_pop_event(vm->qmp, "SHUTDOWN"))) {
                                vm->shutdown_event = true;
                                json_object_put(e);
                        }
                        if (r < 0) {
                                qmp_free(vm->qmp);
                                vm->qmp = NULL;
                        }
                } else
                        sleep_ms(50);
                if (reap(vm)) {
                        if (ret_status)
                                *ret_status = vm->status;
                        if (ret_shutdown_event)
                                *ret_shutdown_event = vm->shutdown_event;
                        return 0;
                }
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() >= deadline)
                        return -ETIMEDOUT;
        }
}

/* Best-effort QMP command on the way down: Ctrl-C must not stop the shutdown itself. */
static int qmp_best_effort(struct qemu_proc *vm, const char *cmd) {
        if (!vm->qmp)
                return -ENOTCONN;
        qmp_set_ignore_interrupt(vm->qmp, true);
        int r = qmp_execute(vm->qmp, cmd, NULL, 5000, NULL);
        qmp_set_ignore_interrupt(vm->qmp, false);
        return r;
}

/* Like qemu_proc_wait_exit but ignores Ctrl-C: used while already stopping. */
static bool wait_gone(struct qemu_proc *vm, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        while (!reap(vm)) {
                if (now_ms() >= deadline)
                        return false;
                sleep_ms(20);
        }
        return true;
}

int qemu_proc_quit(struct qemu_proc *vm, int timeout_ms) {
        if (reap(vm))
                return 0;
        int r = qmp_best_effort(vm, "quit");
        if (r < 0 && r != -ECONNRESET)
                log_debug("QMP quit failed (%s); killing QEMU", vm->qmp ? qmp_last_error(vm->qmp) : "no QMP");
        if (!wait_gone(vm, timeout_ms)) {
                log_debug("QEMU did not quit within %d ms; killing it", timeout_ms);
                qemu_proc_kill(vm);
        }
        kill_swtpm(vm);
        return 0;
}

int qemu_proc_stop(struct qemu_proc *vm, int powerdown_ms) {
        if (reap(vm))
                return 0;
        if (!interrupted() && powerdown_ms > 0 && qmp_best_effort(vm, "system_powerdown") == 0) {
                int r = qemu_proc_wait_exit(vm, powerdown_ms, NULL, NULL);
                if (r == 0) {
                        kill_swtpm(vm);
                        return 0;
                }
                log_debug("the guest did not power off within %d ms", powerdown_ms);
        }
        return qemu_proc_quit(vm, 5000);
}

int qemu_proc_query_status(struct qemu_proc *vm, char **ret_status) {
        if (!vm->qmp)
                return -ENOTCONN;
        struct json_object *ret = NULL, *st;
        int r = qmp_execute(vm->qmp, "query-status", NULL, QMP_CMD_TIMEOUT_MS, &ret);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(ret, "status", &st)) {
                json_object_put(ret);
                return -EPROTO;
        }
        *ret_status = strdup(json_object_get_string(st));
        json_object_put(ret);
        return *ret_status ? 0 : -ENOMEM;
}

static int simple(struct qemu_proc *vm, const char *cmd) {
        if (!vm->qmp)
                return -ENOTCONN;
        int r = qmp_execute(vm->qmp, cmd, NULL, QMP_CMD_TIMEOUT_MS, NULL);
        if (r == -EREMOTEIO)
                log_error("QEMU refused '%s': %s", cmd, qmp_last_error(vm->qmp));
        return r;
}

int qemu_proc_cont(struct qemu_proc *vm) { return simple(vm, "cont"); }
int qemu_proc_pause(struct qemu_proc *vm) { return simple(vm, "stop"); }

int qemu_proc_cdrom_eject(struct qemu_proc *vm, const char *drive) {
        if (!vm->qmp)
                return -ENOTCONN;
        struct json_object *a = json_object_new_object();
        json_object_object_add(a, "device", json_object_new_string(drive));
        json_object_object_add(a, "force", json_object_new_boolean(true));
        int r = qmp_execute(vm->qmp, "eject", a, QMP_CMD_TIMEOUT_MS, NULL);
        if (r == -EREMOTEIO)
                return log_error_errno(r, "cannot eject CD-ROM '%s': %s", drive, qmp_last_error(vm->qmp));
        return r;
}

static int change_medium(struct qemu_proc *vm, const char *drive, const char *path) {
        struct json_object *a = json_object_new_object();
        json_object_object_add(a, "device", json_object_new_string(drive));
        json_object_object_add(a, "filename", json_object_new_string(path));
        json_object_object_add(a, "format", json_object_new_string("raw"));
        return qmp_execute(vm->qmp, "blockdev-change-medium", a, QMP_CMD_TIMEOUT_MS, NULL);
}

int qemu_proc_cdrom_change(struct qemu_proc *vm, const char *drive, const char *path) {
        if (!vm->qmp)
                return -ENOTCONN;
        if (!path_exists(path))
                return log_error_errno(-ENOENT, "cannot insert %s into CD-ROM '%s': no such file", path, drive);
        int r = change_medium(vm, drive, path);
        if (r == -EREMOTEIO) {
                /* A guest that mounted the disc locks the tray: force it open and retry. */
                log_debug("blockdev-change-medium: %s; forcing the tray open", qmp_last_error(vm->qmp));
                struct json_object *a = json_object_new_object();
                json_object_object_add(a, "device", json_object_new_string(drive));
                json_object_object_add(a, "force", json_object_new_boolean(true));
                qmp_execute(vm->qmp, "blockdev-open-tray", a, QMP_CMD_TIMEOUT_MS, NULL);
                r = change_medium(vm, drive, path);
        }
        if (r == -EREMOTEIO)
                return log_error_errno(r, "cannot insert %s into CD-ROM '%s': %s", path, drive, qmp_last_error(vm->qmp));
        return r;
}
