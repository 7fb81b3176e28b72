/* Test driver for the QEMU layer's end-to-end tests: runs golden argv, snapshots, restores,
 * probes and lifecycle steps through the library, printing key=value lines for the scripts. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/util.h"
#include "qemu/argv.h"
#include "qemu/img.h"
#include "qemu/memsnap.h"
#include "qemu/probe.h"
#include "qemu/proc.h"

static int usage(void) {
        fprintf(stderr, "usage: qemu-drive accept ARGSFILE\n"
                        "       qemu-drive probe [no-cache]\n"
                        "       qemu-drive snapshot CONF MEMFILE lz4|gzip|zstd|none PATTERN\n"
                        "       qemu-drive snapshot-twice CONF MEM1 MEM2 lz4|gzip|zstd|none PATTERN\n"
                        "       qemu-drive restore CONF MEMFILE PATTERN\n"
                        "       qemu-drive run CONF\n"
                        "       qemu-drive cdrom CONF ISO\n"
                        "       qemu-drive stop CONF\n"
                        "       qemu-drive start-args CONF\n"
                        "       qemu-drive smbios CONF\n"
                        "       qemu-drive resolve CONF\n");
        return 2;
}

static int load(const char *path, struct vm_def *c, struct qemu_run *rt) {
        vm_def_init(c);
        memset(rt, 0, sizeof *rt);
        return qemu_conf_load(path, c, rt, NULL);
}

/* Wait until the file holds needle (the guest printed it on its serial port). */
static int wait_for_text(struct qemu_proc *vm, const char *path, const char *needle, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        for (;;) {
                _cleanup_free_ char *s = NULL;
                if (read_full_file(path, &s, NULL) == 0 && strstr(s, needle))
                        return 0;
                if (vm && qemu_proc_exited(vm)) {
                        _cleanup_free_ char *t = qemu_proc_log_tail(vm, 3);
                        log_error("QEMU exited before '%s' appeared in %s: %s", needle, path, t);
                        return -ECHILD;
                }
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() > deadline) {
                        log_error("'%s' did not appear in %s in time", needle, path);
                        return -ETIMEDOUT;
                }
                sleep_ms(100);
        }
}

/* Run a golden argv (already made concrete by the script) paused, ask its state, quit. */
static int cmd_accept(const char *file) {
        _cleanup_free_ char *text = NULL;
        if (read_full_file(file, &text, NULL) < 0)
                return log_error_errno(-errno, "cannot read %s", file);
        _cleanup_strv_free_ char **argv = NULL;
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                strv_extend(&argv, l);
        _cleanup_free_ char *dir = path_dirname(file);
        _cleanup_free_ char *qmp = NULL;
        STRV_FOREACH(a, argv)
                if (streq(*a, "-qmp") && a[1]) {
                        const char *p = startswith(a[1], "unix:");
                        if (p)
                                qmp = strndup(p, strcspn(p, ","));
                }
        if (!qmp) {
                qmp = path_join(dir, "accept-qmp.sock");
                strv_extend(&argv, "-qmp");
                strv_extendf(&argv, "unix:%s,server=on,wait=off", qmp);
        }
        if (!strv_contains(argv, "-S"))
                strv_extend(&argv, "-S");
        _cleanup_free_ char *log = path_join(dir, "accept.log");
        struct qemu_proc_opts o = { .log_path = log, .qmp_timeout_ms = 20000 };
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        int r = qemu_proc_start_argv(argv, qmp, &o, &vm);
        if (r < 0)
                return r;
        _cleanup_free_ char *st = NULL;
        r = qemu_proc_query_status(vm, &st);
        if (r < 0)
                return log_error_errno(r, "query-status failed: %m");
        printf("status=%s\n", st);
        r = qmp_execute(qemu_proc_qmp(vm), "quit", NULL, 10000, NULL);
        int status = -1;
        if (qemu_proc_wait_exit(vm, 10000, &status, NULL) < 0)
                return log_error_errno(-ETIMEDOUT, "QEMU did not quit");
        char b[64];
        printf("exit=%s\n", proc_status_string(status, b, sizeof b));
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int cmd_probe(bool no_cache) {
        struct qemu_doctor d;
        int r = qemu_doctor_collect(&d, no_cache ? QEMU_PROBE_NO_CACHE : 0);
        if (r < 0)
                return r;
        int fails = qemu_doctor_print(&d, stdout);
        struct json_object *j = qemu_doctor_to_json(&d);
        printf("json=%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        printf("kvm_present=%d kvm_openable=%d kvm_usable=%d kvm_cached=%d tcg_ok=%d fails=%d\n", d.kvm.present,
               d.kvm.openable, d.kvm.usable, d.kvm.cached, d.tcg_ok, fails);
        enum vm_accel a;
        if (d.version_ok) {
                r = qemu_accel_resolve(VM_ACCEL_AUTO, d.binary, &d.version, &a);
                printf("auto=%s\n", r < 0 ? "error" : vm_accel_to_string(a));
        }
        qemu_doctor_done(&d);
        return 0;
}

static int cmd_snapshot(const char *conf, const char *mem, const char *comp, const char *pattern) {
        struct vm_def c;
        struct qemu_run rt;
        int r = load(conf, &c, &rt);
        enum vm_compress k;
        if (r >= 0 && vm_compress_from_string(comp, &k) < 0)
                r = log_error_errno(-EINVAL, "unknown compressor %s", comp);
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        if (r >= 0)
                r = qemu_proc_start(&c, &rt, NULL, &vm);
        if (r >= 0)
                r = wait_for_text(vm, c.serial.path, pattern, 90000);
        if (r >= 0) {
                printf("qemu_pid=%d\n", (int)qemu_proc_pid(vm));
                fflush(stdout);
                r = qemu_memsnap_save(vm, mem, k, NULL);
        }
        if (r >= 0) {
                int status = -1;
                r = qemu_proc_wait_exit(vm, 10000, &status, NULL);
                printf("saved=%s exited=%d\n", mem, r == 0);
        }
        vm_def_done(&c);
        qemu_run_done(&rt);
        return r;
}

/* Two snapshots of one VM: the first leaves it in "postmigrate", where QEMU refuses a plain
 * second migrate; the second must still work (cont, stop, migrate). */
static int cmd_snapshot_twice(const char *conf, const char *mem1, const char *mem2, const char *comp2,
                              const char *pattern) {
        struct vm_def c;
        struct qemu_run rt;
        int r = load(conf, &c, &rt);
        enum vm_compress k2;
        if (r >= 0 && vm_compress_from_string(comp2, &k2) < 0)
                r = log_error_errno(-EINVAL, "unknown compressor %s", comp2);
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        if (r >= 0)
                r = qemu_proc_start(&c, &rt, NULL, &vm);
        if (r >= 0)
                r = wait_for_text(vm, c.serial.path, pattern, 90000);
        struct qemu_memsnap_opts o = { .after = QEMU_MEMSNAP_STAY_PAUSED, .quiet = true };
        if (r >= 0)
                r = qemu_memsnap_save(vm, mem1, VM_COMPRESS_LZ4, &o);
        if (r >= 0) {
                _cleanup_free_ char *st = NULL;
                r = qemu_proc_query_status(vm, &st);
                printf("between=%s\n", strempty(st));
        }
        if (r >= 0)
                r = qemu_memsnap_save(vm, mem2, k2, NULL);
        if (r >= 0)
                printf("saved_twice=1\n");
        vm_def_done(&c);
        qemu_run_done(&rt);
        return r;
}

static int cmd_restore(const char *conf, const char *mem, const char *pattern) {
        struct vm_def c;
        struct qemu_run rt;
        int r = load(conf, &c, &rt);
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        int64_t t0 = now_ms();
        if (r >= 0)
                r = qemu_memsnap_restore(&c, &rt, NULL, mem, 60000, &vm);
        if (r >= 0) {
                printf("restore_ms=%lld\n", (long long)(now_ms() - t0));
                _cleanup_free_ char *st = NULL;
                r = qemu_proc_query_status(vm, &st);
                printf("status=%s\n", strempty(st));
        }
        if (r >= 0)
                r = wait_for_text(vm, c.serial.path, pattern, 60000);
        if (r >= 0) {
                printf("seen=%s\n", pattern);
                r = qemu_proc_quit(vm, 10000);
        }
        vm_def_done(&c);
        qemu_run_done(&rt);
        return r;
}

/* Start a VM and wait until interrupted: the script signals us and checks QEMU is gone. */
static int cmd_run(const char *conf) {
        struct vm_def c;
        struct qemu_run rt;
        int r = load(conf, &c, &rt);
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        if (r >= 0)
                r = qemu_proc_start(&c, &rt, NULL, &vm);
        if (r >= 0) {
                printf("qemu_pid=%d\n", (int)qemu_proc_pid(vm));
                fflush(stdout);
                r = qemu_proc_wait_exit(vm, -1, NULL, NULL);
                if (r == -ECANCELED)
                        printf("interrupted=%d\n", interrupt_signal());
        }
        vm_def_done(&c);
        qemu_run_done(&rt);
        return r;
}

static int medium_of(struct qemu_proc *vm, const char *drive, char **ret) {
        struct json_object *blocks = NULL;
        int r = qmp_execute(qemu_proc_qmp(vm), "query-block", NULL, 10000, &blocks);
        if (r < 0)
                return r;
        *ret = NULL;
        for (size_t i = 0; i < json_object_array_length(blocks); i++) {
                struct json_object *b = json_object_array_get_idx(blocks, i), *dev, *ins, *file;
                if (!json_object_object_get_ex(b, "device", &dev) || !streq(json_object_get_string(dev), drive))
                        continue;
                if (json_object_object_get_ex(b, "inserted", &ins) && json_object_object_get_ex(ins, "file", &file))
                        *ret = strdup(json_object_get_string(file));
                else
                        *ret = strdup("");
        }
        json_object_put(blocks);
        return *ret ? 0 : -ENOENT;
}

static int cmd_cdrom(const char *conf, const char *iso) {
        struct vm_def c;
        struct qemu_run rt;
        int r = load(conf, &c, &rt);
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        if (r >= 0)
                r = qemu_proc_start(&c, &rt, NULL, &vm);
        _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL;
        if (r >= 0)
                r = medium_of(vm, "cdrom", &m1);
        if (r >= 0)
                r = qemu_proc_cdrom_change(vm, "cdrom", iso);
        if (r >= 0)
                r = medium_of(vm, "cdrom", &m2);
        if (r >= 0)
                r = qemu_proc_cdrom_eject(vm, "cdrom");
        if (r >= 0)
                r = medium_of(vm, "cdrom", &m3);
        if (r >= 0) {
                printf("before=%s\ninserted=%s\nafter=%s\n", m1, m2, m3);
                printf("missing_iso=%d\n", qemu_proc_cdrom_change(vm, "cdrom", "/nonexistent.iso"));
                printf("bad_drive=%d\n", qemu_proc_cdrom_eject(vm, "nosuchdrive"));
                r = qemu_proc_quit(vm, 10000);
        }
        vm_def_done(&c);
        qemu_run_done(&rt);
        return r;
}

/* qemu_proc_stop on a guest that ignores the ACPI power button: escalates to quit. */
static int cmd_stop(const char *conf) {
        struct vm_def c;
        struct qemu_run rt;
        int r = load(conf, &c, &rt);
        _cleanup_qemu_proc_ struct qemu_proc *vm = NULL;
        if (r >= 0)
                r = qemu_proc_start(&c, &rt, NULL, &vm);
        if (r >= 0) {
                pid_t pid = qemu_proc_pid(vm);
                int64_t t0 = now_ms();
                r = qemu_proc_stop(vm, 1000);
                printf("stopped=%d gone=%d ms=%lld\n", r == 0, kill(pid, 0) < 0, (long long)(now_ms() - t0));
        }
        vm_def_done(&c);
        qemu_run_done(&rt);
        return r;
}

/* qemu_resolve_config on a config: prints the version and accelerator it chose. */
static int cmd_resolve(const char *conf) {
        struct vm_def c;
        struct qemu_run rt;
        int r = load(conf, &c, &rt);
        if (r >= 0)
                r = qemu_resolve_run(&rt);
        if (r >= 0)
                printf("binary=%s version=%u.%u.%u accel=%s\n", rt.binary, rt.version.major, rt.version.minor,
                       rt.version.micro, vm_accel_to_string(rt.accel));
        vm_def_done(&c);
        qemu_run_done(&rt);
        return r;
}

/* The SMBIOS files CONF's arguments name, written as the driver writes them before a start. */
static int cmd_smbios(const char *conf) {
        struct vm_def c;
        struct qemu_run rt;
        int r = load(conf, &c, &rt);
        if (r >= 0)
                r = qemu_smbios_write(&c);
        vm_def_done(&c);
        qemu_run_done(&rt);
        return r;
}

static int cmd_start_args(const char *conf) {
        struct vm_def c;
        struct qemu_run rt;
        int r = load(conf, &c, &rt);
        _cleanup_strv_free_ char **v = NULL;
        if (r >= 0)
                r = qemu_argv_build(&c, &rt, QEMU_ARGV_START_ARGS, &v);
        STRV_FOREACH(a, v)
                printf("%s\n", *a);
        vm_def_done(&c);
        qemu_run_done(&rt);
        return r;
}

int main(int argc, char **argv) {
        interrupt_install();
        if (getenv("QEMU_DRIVE_DEBUG"))
                log_set_level(LOG_LEVEL_DEBUG);
        if (argc < 2)
                return usage();
        const char *c = argv[1];
        int r;
        if (streq(c, "accept") && argc == 3)
                r = cmd_accept(argv[2]);
        else if (streq(c, "probe"))
                r = cmd_probe(argc > 2 && streq(argv[2], "no-cache"));
        else if (streq(c, "snapshot") && argc == 6)
                r = cmd_snapshot(argv[2], argv[3], argv[4], argv[5]);
        else if (streq(c, "snapshot-twice") && argc == 7)
                r = cmd_snapshot_twice(argv[2], argv[3], argv[4], argv[5], argv[6]);
        else if (streq(c, "restore") && argc == 5)
                r = cmd_restore(argv[2], argv[3], argv[4]);
        else if (streq(c, "run") && argc == 3)
                r = cmd_run(argv[2]);
        else if (streq(c, "cdrom") && argc == 4)
                r = cmd_cdrom(argv[2], argv[3]);
        else if (streq(c, "stop") && argc == 3)
                r = cmd_stop(argv[2]);
        else if (streq(c, "resolve") && argc == 3)
                r = cmd_resolve(argv[2]);
        else if (streq(c, "start-args") && argc == 3)
                r = cmd_start_args(argv[2]);
        else if (streq(c, "smbios") && argc == 3)
                r = cmd_smbios(argv[2]);
        else
                return usage();
        fflush(stdout);
        if (r == -ECANCELED)
                return 130;
        return r < 0 ? 1 : 0;
}
