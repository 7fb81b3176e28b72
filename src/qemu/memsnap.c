/* Memory snapshots through QMP migrate to exec: pipes, and restores with -incoming. */
#include "qemu/memsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/progress.h"
#include "core/util.h"

#define SAVE_TIMEOUT_MS (10 * 60 * 1000)
#define COMPRESSOR_FINISH_MS 60000
#define POLL_MS 100
/* Migration speed cap while the guest is stopped: "as fast as possible". */
#define MAX_BANDWIDTH (10LL << 30)

/* How each format's program is run (the formats themselves: machine/memfile.h). */
struct codec {
        const char *program;
        const char *compress;     /* flags besides the level, output on stdout */
        const char *decompress;   /* flags, input on stdin */
};

static const struct codec codecs[] = {
        [VM_COMPRESS_LZ4] = { "lz4", "-c -q", "-c -d" },
        [VM_COMPRESS_GZIP] = { "gzip", "-c", "-c -d" },
        [VM_COMPRESS_ZSTD] = { "zstd", "-c -q -T0", "-c -d -q" },
        [VM_COMPRESS_NONE] = { "cat", "", "" },
};

char *qemu_memsnap_save_uri(enum vm_compress c, const char *compressor, unsigned level, const char *tmp,
                          const char *done) {
        _cleanup_free_ char *qc = shell_quote(compressor);
        _cleanup_free_ char *qt = shell_quote(tmp);
        _cleanup_free_ char *qd = shell_quote(done);
        if (!qc || !qt || !qd)
                return NULL;
        const struct codec *k = &codecs[c];
        unsigned def = 0, max = 0;
        vm_compress_level_range(c, &def, &max);
        if (!def)
                return strdup_printf("exec:%s > %s && mv -f %s %s", qc, qt, qt, qd);
        if (level == 0 || level > max)
                level = def;
        return strdup_printf("exec:%s -%u %s > %s && mv -f %s %s", qc, level, k->compress, qt, qt, qd);
}

char *qemu_memsnap_restore_uri(enum vm_compress c, const char *decompressor, const char *path) {
        _cleanup_free_ char *qc = shell_quote(decompressor);
        _cleanup_free_ char *qp = shell_quote(path);
        if (!qc || !qp)
                return NULL;
        const char *flags = codecs[c].decompress;
        return strdup_printf("exec:%s%s%s < %s", qc, *flags ? " " : "", flags, qp);
}

static char *find_codec_program(enum vm_compress c) {
        char *p = find_program(codecs[c].program);
        if (!p) {
                if (c == VM_COMPRESS_NONE)
                        log_error("cat not found in PATH");
                else
                        log_error("%s not found: install it (apt-get install %s) or choose another --compress",
                                  codecs[c].program, codecs[c].program);
        }
        return p;
}

static int qmp_cmd(struct qemu_proc *vm, const char *cmd, struct json_object *args, struct json_object **ret) {
        struct qmp *q = qemu_proc_qmp(vm);
        if (!q)
                return -ENOTCONN;
        int r = qmp_execute(q, cmd, args, 30000, ret);
        if (r == -EREMOTEIO)
                log_error("QEMU refused '%s': %s", cmd, qmp_last_error(q));
        else if (r < 0 && r != -ECANCELED)
                log_error("QMP '%s' failed: %s", cmd, strerror(-r));
        return r;
}

static const char *json_str(struct json_object *o, const char *k) {
        struct json_object *x;
        return json_object_object_get_ex(o, k, &x) ? json_object_get_string(x) : NULL;
}

static uint64_t ram_field(struct json_object *o, const char *k) {
        struct json_object *ram, *x;
        if (!json_object_object_get_ex(o, "ram", &ram) || !json_object_object_get_ex(ram, k, &x))
                return 0;
        int64_t v = json_object_get_int64(x);
        return v < 0 ? 0 : (uint64_t)v;
}

/* Stop the guest so the file holds one consistent state. */
static int stop_guest(struct qemu_proc *vm) {
        _cleanup_free_ char *st = NULL;
        int r = qemu_proc_query_status(vm, &st);
        if (r < 0)
                return log_error_errno(r, "cannot read the VM's state: %m");
        if (streq(st, "running"))
                return qmp_cmd(vm, "stop", NULL, NULL);
        if (streq(st, "paused"))
                return 0;
        if (streq(st, "postmigrate")) {
                /* QEMU refuses a second migrate right after a completed one ("paused due to
                 * previous migration"): run it again for a moment, then stop. */
                r = qmp_cmd(vm, "cont", NULL, NULL);
                return r < 0 ? r : qmp_cmd(vm, "stop", NULL, NULL);
        }
        return log_error_errno(-EBUSY, "cannot take a memory snapshot of a VM in state '%s'", st);
}

static int wait_migration(struct qemu_proc *vm, int timeout_ms, const char *label, bool quiet) {
        struct progress p;
        if (!quiet)
                progress_begin(&p, label);
        int64_t deadline = now_ms() + timeout_ms;
        int r;
        for (;;) {
                struct json_object *m = NULL;
                r = qmp_cmd(vm, "query-migrate", NULL, &m);
                if (r < 0)
                        break;
                const char *st = strempty(json_str(m, "status"));
                uint64_t done = ram_field(m, "transferred"), total = ram_field(m, "total");
                if (streq(st, "completed")) {
                        json_object_put(m);
                        if (!quiet) {
                                char b[32];
                                progress_end(&p, format_bytes(b, sizeof b, done));
                        }
                        return 0;
                }
                if (streq(st, "failed") || streq(st, "cancelled") || streq(st, "cancelling")) {
                        log_error("the migration %s: %s", st, json_str(m, "error-desc") ?: "QEMU gave no reason");
                        json_object_put(m);
                        r = -EIO;
                        break;
                }
                json_object_put(m);
                if (!quiet)
                        progress_update(&p, done, total, NULL);
                if (interrupted()) {
                        r = -ECANCELED;
                        break;
                }
                if (now_ms() >= deadline) {
                        log_error("the migration did not finish within %d s", timeout_ms / 1000);
                        r = -ETIMEDOUT;
                        break;
                }
                sleep_ms(POLL_MS);
        }
        if (!quiet)
                progress_end(&p, "failed");
        struct qmp *q = qemu_proc_qmp(vm);
        if (q && r != -EIO) {
                qmp_set_ignore_interrupt(q, true);
                qmp_execute(q, "migrate_cancel", NULL, 5000, NULL);
                qmp_set_ignore_interrupt(q, false);
        }
        return r;
}

/* The compressor runs on after QEMU reports "completed": wait for its "&& mv". */
static int wait_compressor(const char *tmp, const char *done) {
        int64_t deadline = now_ms() + COMPRESSOR_FINISH_MS;
        while (!path_exists(done)) {
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() >= deadline)
                        return log_error_errno(-ETIMEDOUT, "the compressor did not finish writing %s (disk full?)", tmp);
                sleep_ms(20);
        }
        return 0;
}

int qemu_memsnap_save(struct qemu_proc *vm, const char *path, enum vm_compress c, const struct qemu_memsnap_opts *o) {
        static const struct qemu_memsnap_opts defaults = { 0 };
        if (!o)
                o = &defaults;
        if ((unsigned)c >= ELEMENTSOF(codecs))
                return -EINVAL;
        _cleanup_free_ char *prog = find_codec_program(c);
        if (!prog)
                return -ENOENT;
        /* The compressor writes tmp and renames it to done; whatever of them is there when
         * this returns without the snapshot in place is removed. */
        _cleanup_unlink_ char *tmp = strdup_printf("%s.part", path);
        _cleanup_unlink_ char *done = strdup_printf("%s.done", path);
        if (!tmp || !done)
                return log_oom();
        unlink_if_exists(tmp);
        unlink_if_exists(done);
        _cleanup_free_ char *uri = qemu_memsnap_save_uri(c, prog, o->level, tmp, done);
        if (!uri)
                return log_oom();

        int r = stop_guest(vm);
        if (r < 0)
                return r;
        struct json_object *params = json_object_new_object();
        json_object_object_add(params, "max-bandwidth", json_object_new_int64(MAX_BANDWIDTH));
        if (qmp_execute(qemu_proc_qmp(vm), "migrate-set-parameters", params, 30000, NULL) < 0)
                log_debug("migrate-set-parameters: %s (going on at the default speed)", qmp_last_error(qemu_proc_qmp(vm)));
        log_debug("migrate to %s", uri);
        struct json_object *args = json_object_new_object();
        json_object_object_add(args, "uri", json_object_new_string(uri));
        r = qmp_cmd(vm, "migrate", args, NULL);
        if (r >= 0) {
                char label[64];
                snprintf(label, sizeof label, "Saving memory (%s)", vm_compress_to_string(c));
                r = wait_migration(vm, o->timeout_ms > 0 ? o->timeout_ms : SAVE_TIMEOUT_MS, label, o->quiet);
        }
        if (r >= 0)
                r = wait_compressor(tmp, done);
        if (r >= 0) {
                enum vm_compress got;
                int d = vm_memfile_detect(done, &got);
                if (d < 0 || got != c) {
                        log_error("the memory file %s is not a %s stream (%s): the snapshot failed", tmp, vm_compress_to_string(c),
                                  d == -ENODATA ? "it is empty" : d < 0 ? strerror(-d) : vm_compress_to_string(got));
                        r = -EIO;
                }
        }
        if (r >= 0 && rename(done, path) < 0)
                r = log_error_errno(-errno, "cannot rename %s to %s: %m", done, path);
        if (r < 0)
                return r;
        DISARM(tmp);
        DISARM(done);
        switch (o->after) {
        case QEMU_MEMSNAP_CONT:
                return qmp_cmd(vm, "cont", NULL, NULL);
        case QEMU_MEMSNAP_STAY_PAUSED:
                return 0;
        default:
                return qemu_proc_quit(vm, 10000);
        }
}

/* Does QEMU still run a child (the exec: decompressor)? Zombies do not count. */
static bool has_live_child(pid_t pid) {
        _cleanup_free_ char *path = strdup_printf("/proc/%d/task/%d/children", (int)pid, (int)pid);
        _cleanup_free_ char *list = NULL;
        if (!path || read_full_file(path, &list, NULL) < 0)
                return true;   /* cannot tell: assume it does */
        char *save = NULL;
        for (char *t = strtok_r(list, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
                _cleanup_free_ char *sp = strdup_printf("/proc/%s/stat", t);
                _cleanup_free_ char *st = NULL;
                if (!sp || read_full_file(sp, &st, NULL) < 0)
                        continue;
                const char *close = strrchr(st, ')');
                if (close && close[1] == ' ' && close[2] != 'Z')
                        return true;
        }
        return false;
}

int qemu_memsnap_incoming_uri(const char *path, char **ret) {
        enum vm_compress comp;
        int r = vm_memfile_detect(path, &comp);
        if (r == -EINVAL)
                return log_error_errno(r, "%s is not a memory snapshot (not lz4, gzip, zstd or a raw QEMU stream)", path);
        if (r == -ENODATA)
                return log_error_errno(r, "the memory snapshot %s is empty", path);
        if (r < 0)
                return log_error_errno(r, "cannot read the memory snapshot %s: %m", path);
        _cleanup_free_ char *prog = find_codec_program(comp);
        if (!prog)
                return -ENOENT;
        char abs[PATH_MAX];
        if (!realpath(path, abs))
                return log_error_errno(-errno, "cannot resolve %s: %m", path);
        *ret = qemu_memsnap_restore_uri(comp, prog, abs);
        return *ret ? 0 : log_oom();
}

int qemu_memsnap_restore(const struct vm_def *d, const struct qemu_run *run, const struct qemu_proc_opts *so,
                         const char *path, int timeout_ms, struct qemu_proc **ret) {
        struct qemu_run local = *run;
        _cleanup_free_ char *uri = NULL;
        int r = qemu_memsnap_incoming_uri(path, &uri);
        if (r < 0)
                return r;
        local.incoming = uri;
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        r = qemu_proc_start(d, &local, so, &vm);
        if (r < 0)
                return r;
        r = qemu_memsnap_incoming_wait(vm, path, timeout_ms, true);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(vm);
        return 0;
}

int qemu_memsnap_incoming_wait(struct qemu_proc *vm, const char *path, int timeout_ms, bool cont) {
        int r;
        int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : SAVE_TIMEOUT_MS);
        int64_t child_gone_ms = 0;
        for (;;) {
                _cleanup_free_ char *st = NULL;
                r = qemu_proc_query_status(vm, &st);
                if (r < 0) {
                        /* QEMU closes QMP a moment before it exits. */
                        if (r != -ECANCELED)
                                qemu_proc_wait_exit(vm, 3000, NULL, NULL);
                        if (qemu_proc_exited(vm)) {
                                _cleanup_free_ char *tail = qemu_proc_log_tail(vm, 3);
                                return log_error_errno(-EIO, "QEMU exited while restoring %s: %s", path,
                                                       isempty(tail) ? "(nothing in its log)" : tail);
                        }
                        return r == -ECANCELED ? r : log_error_errno(r, "lost QMP while restoring %s: %m", path);
                }
                if (streq(st, "running"))
                        break;
                if (streq(st, "paused") || streq(st, "postmigrate") || streq(st, "prelaunch")) {
                        if (!cont)
                                break;
                        r = qmp_cmd(vm, "cont", NULL, NULL);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!streq(st, "inmigrate"))
                        return log_error_errno(-EIO, "restoring %s left the VM in state '%s'", path, st);
                /* QEMU waits forever when the decompressor ends without writing anything (a
                 * file cut short inside the first block): notice that the pipe's writer is gone. */
                if (has_live_child(qemu_proc_pid(vm)))
                        child_gone_ms = 0;
                else if (!child_gone_ms)
                        child_gone_ms = now_ms();
                else if (now_ms() - child_gone_ms > 2000)
                        return log_error_errno(-EIO, "the decompressor ended but QEMU received no complete memory "
                                                     "image from %s (truncated or damaged file?)", path);
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() >= deadline)
                        return log_error_errno(-ETIMEDOUT, "restoring %s did not finish within %d s", path,
                                               (timeout_ms > 0 ? timeout_ms : SAVE_TIMEOUT_MS) / 1000);
                /* QEMU sends MIGRATION events (-global migration.x-events=on, argv.c) as the load
                 * goes on and when it is done: wait for the next one rather than polling; the
                 * timeout is for the decompressor check above. A lost socket shows in
                 * query-status at the top of the loop. */
                struct json_object *ev = NULL;
                r = qmp_wait_event(qemu_proc_qmp(vm), "MIGRATION", 100, &ev);
                if (ev)
                        log_debug("restore: %s", json_object_to_json_string(ev));
                json_object_put(ev);
                if (r == -ECANCELED)
                        return r;
        }
        return 0;
}
