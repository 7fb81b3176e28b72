/* Test program for the QEMU driver through the driver table (machine/driver.h): events, power,
 * media, keys, screenshots, memory files and Cuckoo3 start_args on a real QEMU, printing
 * key=value lines for tests/e2e/qemu_driver.sh. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"
#include "machine/driver.h"
#include "qemu/config.h"
#include "qemu/driver.h"

#define EVENT_MS 90000

struct machine {
        struct vm_conn *conn;
        struct vm_def def;
        struct qemu_run run;     /* only its extra_args are used: the passthrough */
        char *log;
        struct vm_domain *dom;
};

static void machine_done(struct machine *m) {
        vm_domain_free(m->dom);
        vm_conn_close(m->conn);
        vm_def_done(&m->def);
        qemu_run_done(&m->run);
        free(m->log);
}

static int machine_define(struct machine *m, const char *conf, const char *log) {
        memset(m, 0, sizeof *m);
        vm_def_init(&m->def);
        int r = qemu_conf_load(conf, &m->def, &m->run, NULL);
        if (r < 0)
                return r;
        struct vm_conn_opts co = { .accel = VM_ACCEL_TCG };
        if ((r = vm_conn_open(&qemu_driver, &co, &m->conn)) < 0)
                return r;
        if (!(m->log = strdup(log)))
                return -ENOMEM;
        struct vm_domain_opts o = { .log_path = m->log, .passthrough = m->run.extra_args };
        return vm_domain_define(m->conn, &m->def, &o, &m->dom);
}

/* Wait until the serial log holds needle. */
static int wait_serial(struct machine *m, const char *needle, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        for (;;) {
                _cleanup_free_ char *s = NULL;
                if (read_full_file(m->def.serial.path, &s, NULL) == 0 && strstr(s, needle))
                        return 0;
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() > deadline)
                        return log_error_errno(-ETIMEDOUT, "'%s' did not appear in %s", needle, m->def.serial.path);
                sleep_ms(100);
        }
}

/* Print every event until the one that ends the run (or max events). */
static int cmd_events(const char *conf, const char *log, unsigned max, bool no_reboot) {
        struct machine m;
        int r = machine_define(&m, conf, log);
        struct vm_start_opts so = { .reboot_powers_off = no_reboot };
        if (r == 0)
                r = vm_domain_start(m.dom, &so);
        printf("describe=%s\n", r == 0 ? vm_domain_describe(m.dom) : "");
        fflush(stdout);
        for (unsigned i = 0; r == 0 && i < max; i++) {
                struct vm_event ev;
                r = vm_domain_wait_event(m.dom, EVENT_MS, &ev);
                if (r < 0)
                        break;
                printf("event=%s%s%s\n", vm_event_type_to_string(ev.type), ev.detail[0] ? " detail=" : "", ev.detail);
                fflush(stdout);
                if (ev.type != VM_EVENT_REBOOT) {
                        /* The machine is off: every further call answers the same event. */
                        struct vm_event again;
                        if (vm_domain_wait_event(m.dom, 0, &again) == 0)
                                printf("again=%s\n", vm_event_type_to_string(again.type));
                        enum vm_state st;
                        if (vm_domain_get_state(m.dom, &st) == 0)
                                printf("state=%s\n", vm_state_to_string(st));
                        break;
                }
        }
        machine_done(&m);
        return r;
}

/* State, media, keys, screenshot, the power button on a guest that ignores it, destroy. */
static int cmd_ops(const char *conf, const char *log, const char *iso, const char *png) {
        struct machine m;
        int r = machine_define(&m, conf, log);
        if (r == 0)
                r = vm_domain_start(m.dom, NULL);
        if (r == 0)
                r = wait_serial(&m, " n=2", EVENT_MS);
        enum vm_state st;
        if (r == 0 && (r = vm_domain_get_state(m.dom, &st)) == 0)
                printf("state=%s\n", vm_state_to_string(st));
        if (r == 0) {
                r = vm_domain_media_change(m.dom, 0, iso);
                printf("insert=%d\n", r);
                r = vm_domain_media_change(m.dom, 0, NULL);
                printf("eject=%d\n", r);
                printf("bad_drive=%d\n", vm_domain_media_change(m.dom, 7, iso));
        }
        if (r == 0) {
                char *keys[] = { "ctrl", "alt", "f1", NULL };
                r = vm_domain_send_keys(m.dom, keys, 100);
                printf("keys=%d\n", r);
        }
        if (r == 0) {
                r = vm_domain_screenshot(m.dom, png);
                printf("screenshot=%d\n", r);
        }
        if (r == 0) {
                int64_t t0 = now_ms();
                int s = vm_domain_shutdown(m.dom, 3000);
                printf("shutdown=%d ms=%lld\n", s, (long long)(now_ms() - t0));
                struct vm_event ev;
                if (vm_domain_wait_event(m.dom, 0, &ev) == 0)
                        printf("after_shutdown=%s\n", vm_event_type_to_string(ev.type));
                if (vm_domain_get_state(m.dom, &st) == 0)
                        printf("state=%s\n", vm_state_to_string(st));
        }
        machine_done(&m);
        return r;
}

/* Save the memory, start from it, then the same as Cuckoo3 does from start_args. */
static int cmd_save_restore(const char *conf, const char *log, const char *mem, const char *disk2) {
        struct machine m;
        int r = machine_define(&m, conf, log);
        if (r == 0)
                r = vm_domain_start(m.dom, NULL);
        if (r == 0)
                r = wait_serial(&m, " n=3", EVENT_MS);
        _cleanup_strv_free_ char **sa = NULL;
        if (r == 0)
                r = vm_domain_cuckoo_start_args(m.dom, &m.def, &sa);
        if (r == 0) {
                _cleanup_free_ char *j = strv_join(sa, " ");
                printf("start_args=%s\n", j);
        }
        struct vm_save_opts so = { .compress = VM_COMPRESS_LZ4, .quiet = true };
        if (r == 0)
                r = vm_domain_save_memory(m.dom, mem, &so);
        enum vm_state st;
        if (r == 0 && vm_domain_get_state(m.dom, &st) == 0)
                printf("saved_state=%s\n", vm_state_to_string(st));
        /* The same domain from its memory file. */
        unlink_if_exists(m.def.serial.path);
        struct vm_start_opts from = { .memory_image = mem };
        if (r == 0)
                r = vm_domain_start(m.dom, &from);
        if (r == 0 && vm_domain_get_state(m.dom, &st) == 0)
                printf("restored_state=%s\n", vm_state_to_string(st));
        if (r == 0)
                r = wait_serial(&m, " n=", EVENT_MS);
        if (r == 0)
                vm_domain_destroy(m.dom);
        /* Cuckoo3's way: start_args, another disk in place of the placeholder. */
        if (r == 0) {
                struct vm_def host;
                vm_def_init(&host);
                host.name = strdup("cuckoo");
                host.disk.path = strdup(disk2);
                host.net.type = m.def.net.type;
                struct vm_domain_opts o = { .log_path = m.log };
                struct vm_domain *c = NULL;
                r = vm_domain_define_cuckoo(m.conn, sa, &host, &o, &c);
                if (r == 0)
                        r = vm_domain_start(c, &from);
                if (r == 0 && vm_domain_get_state(c, &st) == 0)
                        printf("cuckoo_state=%s\n", vm_state_to_string(st));
                vm_domain_free(c);
                vm_def_done(&host);
        }
        machine_done(&m);
        return r;
}

/* A machine with a TPM: swtpm started on its state folder, the machine running. */
static int cmd_tpm(const char *conf, const char *log) {
        struct machine m;
        int r = machine_define(&m, conf, log);
        if (r == 0)
                r = vm_domain_start(m.dom, NULL);
        enum vm_state st;
        if (r == 0 && vm_domain_get_state(m.dom, &st) == 0)
                printf("tpm_state=%s\n", vm_state_to_string(st));
        machine_done(&m);
        return r;
}

/* Wait until the file go exists (the script's checks of the running machine are done). */
static int wait_go(const char *go, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        while (!path_exists(go)) {
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() > deadline)
                        return log_error_errno(-ETIMEDOUT, "%s did not appear", go);
                sleep_ms(100);
        }
        return 0;
}

/* Boot until the serial log shows mark, say so, let the script look (go file), write the
 * memory file, print Cuckoo3's start_args of the machine, and free it (its swtpm goes too). */
static int cmd_boot_save(const char *conf, const char *log, const char *mark, const char *mem, const char *go) {
        struct machine m;
        int r = machine_define(&m, conf, log);
        if (r == 0)
                r = vm_domain_start(m.dom, NULL);
        if (r == 0)
                r = wait_serial(&m, mark, 150000);
        if (r == 0) {
                printf("booted\n");
                fflush(stdout);
                r = wait_go(go, 60000);
        }
        _cleanup_strv_free_ char **sa = NULL;
        if (r == 0)
                r = vm_domain_cuckoo_start_args(m.dom, &m.def, &sa);
        struct vm_save_opts so = { .compress = VM_COMPRESS_LZ4, .quiet = true };
        int64_t t0 = now_ms();
        if (r == 0)
                r = vm_domain_save_memory(m.dom, mem, &so);
        if (r == 0) {
                _cleanup_free_ char *j = strv_join(sa, "\n");
                printf("save_ms=%lld\n", (long long)(now_ms() - t0));
                /* One argument a line, for the script to hand to cmd_cuckoo. */
                _cleanup_free_ char *sapath = strdup_printf("%s.start_args", mem);
                r = sapath && j ? write_file(sapath, j, strlen(j), 0644) : -ENOMEM;
        }
        enum vm_state st;
        if (r == 0 && vm_domain_get_state(m.dom, &st) == 0)
                printf("saved_state=%s\n", vm_state_to_string(st));
        machine_done(&m);
        return r;
}

/* The same definition started from its memory file (a new swtpm when it has a TPM); runs until
 * the script has looked (go file). */
static int cmd_resume_from(const char *conf, const char *log, const char *mem, const char *go) {
        struct machine m;
        int r = machine_define(&m, conf, log);
        struct vm_start_opts from = { .memory_image = mem };
        int64_t t0 = now_ms();
        if (r == 0)
                r = vm_domain_start(m.dom, &from);
        enum vm_state st;
        if (r == 0 && vm_domain_get_state(m.dom, &st) == 0) {
                printf("restore_ms=%lld\nrestored_state=%s\n", (long long)(now_ms() - t0), vm_state_to_string(st));
                fflush(stdout);
        }
        if (r == 0)
                r = wait_go(go, 60000);
        machine_done(&m);
        return r;
}

/* Cuckoo3's restore: start_args (one a line in the file sa) on disk, -incoming from mem, no
 * swtpm. The serial port is pointed at serial so the script sees the guest run on (start_args
 * say -serial null; the backend is no device, so the memory file's devices still match). */
static int cmd_cuckoo(const char *sa, const char *log, const char *mem, const char *disk, const char *serial,
                      const char *go, const char *tpm_state) {
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(sa, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot read %s: %m", sa);
        _cleanup_strv_free_ char **args = NULL;
        for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                if ((nl = strchr(line, '\n')))
                        *nl = 0;
                if (strv_extend(&args, line) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 1; args[i]; i++)
                if (streq(args[i - 1], "-serial") && streq(args[i], "null")) {
                        free(args[i]);
                        if (!(args[i] = strdup_printf("file:%s", serial)))
                                return -ENOMEM;
                }
        struct vm_conn *conn = NULL;
        struct vm_conn_opts co = { .accel = VM_ACCEL_TCG };
        if ((r = vm_conn_open(&qemu_driver, &co, &conn)) < 0)
                return r;
        struct vm_def host;
        vm_def_init(&host);
        host.name = strdup("cuckoo");
        host.disk.path = strdup(disk);
        host.net.type = VM_NET_NONE;
        /* vmcloak restore's way for a snapshot --tpm VM: its swtpm on a copy of the TPM state. */
        host.tpm = tpm_state != NULL;
        host.tpm_state = tpm_state ? strdup(tpm_state) : NULL;
        struct vm_domain_opts o = { .log_path = log };
        struct vm_domain *c = NULL;
        r = vm_domain_define_cuckoo(conn, args, &host, &o, &c);
        struct vm_start_opts from = { .memory_image = mem, .timeout_ms = 60000 };
        if (r == 0)
                r = vm_domain_start(c, &from);
        enum vm_state st;
        printf("cuckoo_start=%d\n", r);
        if (r == 0 && vm_domain_get_state(c, &st) == 0)
                printf("cuckoo_state=%s\n", vm_state_to_string(st));
        fflush(stdout);
        if (r == 0)
                r = wait_go(go, 60000);
        vm_domain_free(c);
        vm_def_done(&host);
        vm_conn_close(conn);
        return r;
}

int main(int argc, char **argv) {
        interrupt_install();
        if (getenv("DRIVE_DEBUG"))
                log_set_level(LOG_LEVEL_DEBUG);
        if (argc >= 5 && streq(argv[1], "events"))
                return cmd_events(argv[2], argv[3], (unsigned)atoi(argv[4]), argc > 5 && streq(argv[5], "no-reboot")) < 0;
        if (argc == 6 && streq(argv[1], "ops"))
                return cmd_ops(argv[2], argv[3], argv[4], argv[5]) < 0;
        if (argc == 4 && streq(argv[1], "tpm"))
                return cmd_tpm(argv[2], argv[3]) < 0;
        if (argc == 7 && streq(argv[1], "boot-save"))
                return cmd_boot_save(argv[2], argv[3], argv[4], argv[5], argv[6]) < 0;
        if (argc == 6 && streq(argv[1], "resume-from"))
                return cmd_resume_from(argv[2], argv[3], argv[4], argv[5]) < 0;
        if ((argc == 8 || argc == 9) && streq(argv[1], "cuckoo"))
                return cmd_cuckoo(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], argc == 9 ? argv[8] : NULL) < 0;
        if (argc == 6 && streq(argv[1], "save-restore"))
                return cmd_save_restore(argv[2], argv[3], argv[4], argv[5]) < 0;
        fprintf(stderr, "usage: driver-drive events CONF LOG N [no-reboot]\n"
                        "       driver-drive ops CONF LOG ISO PNG\n"
                        "       driver-drive save-restore CONF LOG MEMFILE DISK2\n"
                        "       driver-drive tpm CONF LOG\n"
                        "       driver-drive boot-save CONF LOG SERIAL-MARK MEMFILE GOFILE\n"
                        "       driver-drive resume-from CONF LOG MEMFILE GOFILE\n"
                        "       driver-drive cuckoo START-ARGS-FILE LOG MEMFILE DISK SERIAL GOFILE [TPM-STATE]\n");
        return 2;
}
