/* Unit tests: the fake driver through the vm_* API and the real agent client, as the pipeline uses them. */
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"
#include "fake/fake.h"
#include "machine/cuckoo.h"
#include "machine/def.h"
#include "machine/driver.h"
#include "machine/memfile.h"

#define WAIT_MS 5000                   /* generous: a fake boot takes tens of ms */

static char *dir;                      /* this test's files */
static struct vm_conn *conn;
static unsigned baseline;              /* domains an earlier, failed test left (0 when all pass) */

static int setup(void **state) {
        (void)state;
        fake_reset();
        interrupt_reset();
        baseline = fake_live_domains();
        if (baseline)
                printf("# %u fake domains left by an earlier test\n", baseline);
        dir = test_tmpdir();
        struct vm_conn_opts o = { 0 };
        return dir && vm_conn_open(&fake_driver, &o, &conn) == 0 ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        /* Every test frees what it made: no domain, agent or guest thread outlives it. */
        unsigned live = fake_live_domains();
        vm_conn_close(conn);
        conn = NULL;
        rm_rf(dir);
        free(dir);
        dir = NULL;
        fake_reset();
        interrupt_reset();
        return live == baseline ? 0 : -1;
}

/* ---- helpers ---- */

static char *tpath(const char *name) { return path_join(dir, name); }

static void touch(const char *name) {
        char *p = tpath(name);
        assert_int_equal(write_file(p, "iso", 3, 0644), 0);
        free(p);
}

static char *slurp(const char *name) {
        char *p = tpath(name), *s = NULL;
        assert_int_equal(read_full_file(p, &s, NULL), 0);
        free(p);
        return s;
}

static size_t count_files(void) {
        _cleanup_free_ char *cmd = strdup_printf("ls -A '%s' | wc -l", dir);
        FILE *f = popen(cmd, "r");
        size_t n = 0;
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%zu", &n), 1);
        pclose(f);
        return n;
}

/* A machine like the pipeline defines: disk and serial file in dir, the agent at
 * 10.0.2.15:8000, optionally a second address, and CD-ROM media (base names in dir). */
static void make_def(struct vm_def *def, const char *name, const char *ip2, const char *const *media) {
        vm_def_init(def);
        def->name = strdup(name);
        def->disk.path = strdup_printf("%s/%s.qcow2", dir, name);
        def->serial.type = VM_SERIAL_FILE;
        def->serial.path = strdup_printf("%s/%s.serial", dir, name);
        def->net.type = VM_NET_USER;
        def->net.network = strdup("10.0.2.0/24");
        def->net.host = strdup("10.0.2.2");
        def->net.dns = strdup("10.0.2.3");
        def->net.guest_ip = strdup("10.0.2.15");
        def->net.guest_ip2 = ip2 ? strdup(ip2) : NULL;
        def->net.agent_port = 8000;
        for (const char *const *m = media; m && *m; m++) {
                touch(*m);
                _cleanup_free_ char *p = tpath(*m);
                assert_int_equal(vm_def_add_cdrom(def, p), 0);
        }
}

/* Define def with its disk and log in dir. */
static struct vm_domain *define(const struct vm_def *def) {
        if (!path_exists(def->disk.path))
                assert_int_equal(vm_disk_create(conn, def->disk.path, UINT64_C(1) << 30), 0);
        _cleanup_free_ char *log = strdup_printf("%s/%s.log", dir, def->name);
        struct vm_domain_opts o = { .log_path = log };
        struct vm_domain *d = NULL;
        assert_int_equal(vm_domain_define(conn, def, &o, &d), 0);
        assert_non_null(d);
        return d;
}

static struct agent_client *client_at(struct vm_domain *d, unsigned slot) {
        char host[64];
        uint16_t port = 0;
        assert_int_equal(vm_domain_agent_endpoint(d, slot, host, sizeof host, &port), 0);
        assert_string_equal(host, "127.0.0.1");
        assert_true(port > 0);
        struct agent_client *c = NULL;
        assert_int_equal(agent_client_new(host, port, &c), 0);
        agent_client_set_timeout(c, WAIT_MS);
        return c;
}

static void expect_event(struct vm_domain *d, enum vm_event_type type) {
        struct vm_event ev;
        assert_int_equal(vm_domain_wait_event(d, WAIT_MS, &ev), 0);
        if (ev.type != type)
                printf("# event %d (%s), expected %d\n", ev.type, ev.detail, type);
        assert_int_equal(ev.type, type);
}

static void expect_state(struct vm_domain *d, enum vm_state want) {
        enum vm_state s;
        assert_int_equal(vm_domain_get_state(d, &s), 0);
        assert_int_equal(s, want);
}

/* The journal holds these lines (patterns) in this order. */
static void expect_journal(const char *const *patterns) {
        size_t from = 0;
        for (const char *const *p = patterns; *p; p++) {
                ssize_t i = fake_journal_find(*p, from);
                if (i < 0) {
                        _cleanup_free_ char *j = fake_journal_text();
                        printf("# no '%s' after line %zu in the journal:\n", *p, from);
                        for (char *save = NULL, *l = strtok_r(j, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                                printf("#   %s\n", l);
                }
                assert_true(i >= 0);
                from = (size_t)i + 1;
        }
}

/* ---- tests ---- */

/* The linux guest's install: serial markers at boot and at the end, then it powers off. */
static void test_install_boot(void **state) {
        (void)state;
        struct fake_script s;
        fake_script_init(&s);
        char *boot_lines[] = { "VMCLOAK: install: partitioning", NULL };
        char *end_lines[] = { "VMCLOAK: install: done", NULL };
        s.boot[FAKE_BOOT_INSTALL] = (struct fake_boot_script){ .boot_ms = 30, .end = FAKE_END_POWEROFF,
                                                               .serial_boot = boot_lines, .serial_end = end_lines };
        assert_int_equal(fake_set_script(&s), 0);

        struct vm_def def;
        make_def(&def, "linux", NULL, (const char *[]){ "installer.iso", NULL });
        struct vm_domain *d = define(&def);
        vm_def_done(&def);
        int64_t t0 = now_ms();
        assert_int_equal(vm_domain_start(d, NULL), 0);
        expect_state(d, VM_STATE_RUNNING);
        expect_event(d, VM_EVENT_POWEROFF);
        assert_true(now_ms() - t0 < 1000);
        /* Once off, every wait answers the event that ended the run. */
        expect_event(d, VM_EVENT_POWEROFF);
        expect_state(d, VM_STATE_OFF);
        char *serial = slurp("linux.serial");
        assert_string_equal(serial, "VMCLOAK: install: partitioning\nVMCLOAK: install: done\n");
        free(serial);
        _cleanup_free_ char *tail = vm_domain_log_tail(d, 2);
        assert_non_null(strstr(tail, "powered off"));
        /* The agent never came up. */
        struct agent_client *c = client_at(d, 0);
        assert_true(agent_ping(c) < 0);
        agent_client_free(c);
        vm_domain_free(d);
        expect_journal((const char *[]){ "disk-create linux.qcow2", "define linux", "start linux media=[installer.iso]",
                                         "poweroff linux", "free linux", NULL });
        assert_int_equal(fake_journal_count("agent-up*"), 0);
        assert_int_equal(fake_live_domains(), baseline);
}

/* Windows Setup: three reboots, then the agent answers; the media stay until ejected. */
static void test_windows_reboots(void **state) {
        (void)state;
        struct fake_script s;
        fake_script_init(&s);
        char *reboot_lines[] = { "setup: restarting", NULL };
        s.boot[FAKE_BOOT_INSTALL] = (struct fake_boot_script){ .boot_ms = 60, .reboots = 3, .end = FAKE_END_AGENT,
                                                               .serial_reboot = reboot_lines };
        s.system = "Windows";
        assert_int_equal(fake_set_script(&s), 0);
        struct fake_answer off = { .match = "shutdown /s", .effect = FAKE_EFFECT_POWEROFF };
        assert_int_equal(fake_add_answer(&off), 0);

        struct vm_def def;
        make_def(&def, "win10", NULL, (const char *[]){ "win10.iso", "config.iso", NULL });
        struct vm_domain *d = define(&def);
        vm_def_done(&def);
        assert_int_equal(vm_domain_start(d, NULL), 0);
        for (int i = 0; i < 3; i++)
                expect_event(d, VM_EVENT_REBOOT);
        struct agent_client *c = client_at(d, 0);
        assert_int_equal(agent_wait_ready(c, WAIT_MS), 0);
        char *sys = NULL;
        assert_int_equal(agent_system(c, &sys), 0);
        assert_string_equal(sys, "Windows");
        free(sys);
        char *serial = slurp("win10.serial");
        assert_string_equal(serial, "setup: restarting\nsetup: restarting\nsetup: restarting\n");
        free(serial);
        /* Nothing took the media out. */
        assert_int_equal(fake_journal_count("eject*"), 0);
        assert_int_equal(vm_domain_media_change(d, 1, NULL), 0);
        assert_int_equal(vm_domain_media_change(d, 0, NULL), 0);
        assert_int_equal(vm_domain_media_change(d, 2, NULL), -EINVAL);
        assert_true(agent_execute_nowait(c, "shutdown /s /t 0", true, WAIT_MS) >= 0);
        expect_event(d, VM_EVENT_POWEROFF);
        expect_journal((const char *[]){ "start win10 media=[win10.iso,config.iso]", "reboot win10", "reboot win10",
                                         "reboot win10", "agent-up win10", "eject win10 1", "eject win10 0",
                                         "execute win10: shutdown /s /t 0", "poweroff win10", NULL });

        /* The next boot sees the empty drives: a disk boot, whose agent answers. */
        assert_int_equal(vm_domain_start(d, NULL), 0);
        assert_int_equal(agent_wait_ready(c, WAIT_MS), 0);
        assert_int_equal(vm_domain_shutdown(d, WAIT_MS), 0);
        expect_event(d, VM_EVENT_POWEROFF);

        /* With reboot_powers_off the first reboot ends the run: REBOOT, then POWEROFF. */
        _cleanup_free_ char *iso = tpath("win10.iso");
        assert_int_equal(vm_domain_media_change(d, 0, iso), 0);
        struct vm_start_opts so = { .reboot_powers_off = true };
        assert_int_equal(vm_domain_start(d, &so), 0);
        expect_event(d, VM_EVENT_REBOOT);
        expect_event(d, VM_EVENT_POWEROFF);
        expect_event(d, VM_EVENT_POWEROFF);
        expect_journal((const char *[]){ "start win10 media=[,]", "agent-up win10", "shutdown win10", "poweroff win10",
                                         "insert win10 0 win10.iso", "start win10 media=[win10.iso,]",
                                         "reboot win10", "poweroff win10", NULL });
        agent_client_free(c);
        vm_domain_free(d);
        assert_int_equal(fake_live_domains(), baseline);
}

/* A snapshot's life: disk boot, commands, upload, reboot, readdressing, save, restore. */
static void test_disk_boot_save_restore(void **state) {
        (void)state;
        const struct fake_answer answers[] = {
                { .match = "uname -r", .out = "6.1.0-fake\n" },
                { .match = "false*", .how = FAKE_MATCH_GLOB, .exit_code = 3, .err = "nope" },
                { .match = "reboot", .effect = FAKE_EFFECT_REBOOT },
                { .match = "ip addr add *", .how = FAKE_MATCH_GLOB, .effect = FAKE_EFFECT_SET_ADDRESS },
        };
        for (size_t i = 0; i < ELEMENTSOF(answers); i++)
                assert_int_equal(fake_add_answer(&answers[i]), 0);

        struct vm_def def;
        make_def(&def, "snap1", "10.0.2.16", NULL);
        struct vm_domain *d = define(&def);
        assert_int_equal(vm_domain_start(d, NULL), 0);
        struct agent_client *c0 = client_at(d, 0);
        assert_int_equal(agent_wait_ready(c0, WAIT_MS), 0);

        struct agent_info info;
        assert_int_equal(agent_info(c0, &info), 0);
        assert_string_equal(info.message, "Cuckoo Agent!");
        assert_string_equal(info.version, "1.0");
        assert_true(strv_contains(info.features, "execute"));
        agent_info_done(&info);

        struct agent_exec_result res;
        struct agent_exec_opts eo = { .timeout_ms = WAIT_MS, .cwd = "/root" };
        assert_int_equal(agent_execute(c0, "uname -r", &eo, &res), 0);
        assert_int_equal(res.exit_code, 0);
        assert_string_equal(res.out, "6.1.0-fake\n");
        assert_string_equal(res.err, "");
        assert_null(res.error);
        agent_exec_result_done(&res);
        assert_int_equal(agent_execute(c0, "false --now", &eo, &res), 0);
        assert_int_equal(res.exit_code, 3);
        assert_string_equal(res.err, "nope");
        agent_exec_result_done(&res);
        assert_int_equal(agent_execute(c0, "echo unknown", NULL, &res), 0);
        assert_int_equal(res.exit_code, 0);
        assert_string_equal(res.out, "");
        agent_exec_result_done(&res);

        /* Files: recorded by path, size and content hash. */
        static const char content[] = "hello fake guest";
        char *local = tpath("payload.bin");
        assert_int_equal(write_file(local, content, sizeof content - 1, 0644), 0);
        assert_int_equal(agent_upload(c0, local, "/tmp/x"), 0);
        free(local);
        struct fake_upload up;
        assert_int_equal(fake_upload_find("snap1", "/tmp/x", &up), 0);
        assert_int_equal(up.size, sizeof content - 1);
        assert_true(up.hash == fake_hash(content, sizeof content - 1));
        assert_int_equal(agent_upload_buffer(c0, "", 0, "/tmp/empty"), 0);
        assert_int_equal(fake_upload_find("snap1", "/tmp/empty", &up), 0);
        assert_int_equal(up.size, 0);
        assert_int_equal(agent_mkdir(c0, "/tmp/d"), 0);
        assert_int_equal(agent_remove(c0, "/tmp/x"), 0);
        assert_int_equal(fake_upload_find("snap1", "/tmp/x", &up), -ENOENT);
        char *st = NULL, *desc = NULL;
        assert_int_equal(agent_status_set(c0, "running", "step 2"), 0);
        assert_int_equal(agent_status_get(c0, &st, &desc), 0);
        assert_string_equal(st, "running");
        assert_string_equal(desc, "step 2");
        free(st);
        free(desc);
        char *home = NULL;
        assert_int_equal(agent_getenv(c0, "HOME", &home), 0);
        assert_string_equal(home, "/root");
        free(home);

        /* A reboot command: the agent goes away, REBOOT, then it answers again. */
        assert_true(agent_execute_nowait(c0, "reboot", true, WAIT_MS) >= 0);
        assert_true(agent_ping(c0) < 0);
        expect_event(d, VM_EVENT_REBOOT);
        assert_int_equal(agent_wait_ready(c0, WAIT_MS), 0);

        /* The address change: slot 0 goes quiet, slot 1 answers. */
        assert_true(agent_execute_nowait(c0, "ip addr add 10.0.2.16/24 dev eth0", true, WAIT_MS) >= 0);
        assert_true(agent_ping(c0) < 0);
        struct agent_client *c1 = client_at(d, 1);
        assert_int_equal(agent_wait_ready(c1, WAIT_MS), 0);

        /* Save: the machine is off, the file appears whole, with lz4's magic. */
        _cleanup_free_ char *mem = tpath("memory.snapshot");
        size_t files = count_files();
        struct vm_save_opts so = { .compress = VM_COMPRESS_LZ4, .quiet = true };
        assert_int_equal(vm_domain_save_memory(d, mem, &so), 0);
        assert_int_equal(count_files(), files + 1);
        expect_state(d, VM_STATE_OFF);
        expect_event(d, VM_EVENT_DIED); /* not the guest: vmcloak stopped it */
        enum vm_compress fmt;
        assert_int_equal(vm_memfile_detect(mem, &fmt), 0);
        assert_int_equal(fmt, VM_COMPRESS_LZ4);
        assert_true(agent_ping(c1) < 0);

        /* Restore: up at once, with the agent where it was when saved. */
        struct vm_start_opts ro = { .memory_image = mem };
        assert_int_equal(vm_domain_start(d, &ro), 0);
        expect_state(d, VM_STATE_RUNNING);
        assert_int_equal(agent_ping(c1), 0);
        assert_true(agent_ping(c0) < 0);
        assert_int_equal(agent_execute(c1, "uname -r", &eo, &res), 0);
        assert_string_equal(res.out, "6.1.0-fake\n");
        agent_exec_result_done(&res);

        /* What Cuckoo3 restores: start_args for the machine at its new address. */
        struct vm_def restored;
        assert_int_equal(vm_def_copy(&def, &restored), 0);
        assert_int_equal(free_and_strdup(&restored.net.guest_ip, "10.0.2.16"), 0);
        assert_int_equal(free_and_strdup(&restored.net.guest_ip2, NULL), 0);
        _cleanup_strv_free_ char **args = NULL;
        assert_int_equal(vm_domain_cuckoo_start_args(d, &restored, &args), 0);
        assert_int_equal(cuckoo_start_args_check(args, NULL), 0);
        vm_def_done(&restored);
        vm_domain_destroy(d);
        expect_state(d, VM_STATE_OFF);

        _cleanup_free_ char *overlay = tpath("disposable.qcow2");
        assert_int_equal(vm_disk_create_overlay(conn, overlay, def.disk.path), 0);
        _cleanup_free_ char *log = tpath("cuckoo.log");
        struct vm_domain_opts o = { .log_path = log };
        struct vm_def host;   /* what restore knows: machineinfo's name, address and port */
        vm_def_init(&host);
        host.name = strdup("snap1");
        host.disk.path = strdup(overlay);
        host.net.type = VM_NET_USER;
        host.net.guest_ip = strdup("10.0.2.16");
        host.net.agent_port = 8000;
        struct vm_domain *cd = NULL;
        assert_int_equal(vm_domain_define_cuckoo(conn, args, &host, &o, &cd), 0);
        vm_def_done(&host);
        assert_int_equal(vm_domain_start(cd, &ro), 0);
        struct agent_client *cc = client_at(cd, 0);
        assert_int_equal(agent_ping(cc), 0);
        assert_int_equal(vm_domain_agent_endpoint(cd, 1, (char[64]){ 0 }, 64, &(uint16_t){ 0 }), -ENOENT);
        agent_client_free(cc);
        vm_domain_free(cd);

        expect_journal((const char *[]){ "start snap1 media=[]", "agent-up snap1", "execute snap1: uname -r",
                                         "upload snap1 /tmp/x", "mkdir snap1 /tmp/d", "remove snap1 /tmp/x",
                                         "execute snap1: reboot", "reboot snap1", "agent-up snap1",
                                         "execute snap1: ip addr add *", "address snap1 1", "save snap1 lz4",
                                         "start snap1 media=[] memory=memory.snapshot", "agent-up snap1",
                                         "destroy snap1", "disk-overlay disposable.qcow2 on snap1.qcow2",
                                         "define snap1", "start snap1 media=[] memory=memory.snapshot", NULL });
        agent_client_free(c0);
        agent_client_free(c1);
        vm_domain_free(d);
        vm_def_done(&def);
        assert_int_equal(fake_live_domains(), baseline);
}

/* Every format's magic; bad levels, bad and missing images are refused. */
static void test_save_formats(void **state) {
        (void)state;
        struct vm_def def;
        make_def(&def, "fmt", NULL, NULL);
        struct vm_domain *d = define(&def);
        vm_def_done(&def);
        assert_int_equal(vm_domain_start(d, NULL), 0);
        static const enum vm_compress formats[] = { VM_COMPRESS_GZIP, VM_COMPRESS_ZSTD, VM_COMPRESS_NONE,
                                                    VM_COMPRESS_LZ4 };
        char *prev = NULL;
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                if (prev) {
                        struct vm_start_opts ro = { .memory_image = prev };
                        assert_int_equal(vm_domain_start(d, &ro), 0);
                }
                char *mem = strdup_printf("%s/mem.%s", dir, vm_compress_to_string(formats[i]));
                struct vm_save_opts so = { .compress = formats[i], .level = 99 };
                assert_int_equal(vm_domain_save_memory(d, mem, &so), -EINVAL);
                so.level = 0;
                assert_int_equal(vm_domain_save_memory(d, mem, &so), 0);
                enum vm_compress fmt;
                assert_int_equal(vm_memfile_detect(mem, &fmt), 0);
                assert_int_equal(fmt, formats[i]);
                free(prev);
                prev = mem;
        }
        free(prev);
        struct vm_save_opts so = { 0 };
        _cleanup_free_ char *none = tpath("never");
        assert_int_equal(vm_domain_save_memory(d, none, &so), -ESRCH);
        assert_false(path_exists(none));
        struct vm_start_opts ro = { .memory_image = none };
        assert_int_equal(vm_domain_start(d, &ro), -ENOENT);
        _cleanup_free_ char *junk = tpath("junk");
        assert_int_equal(write_file(junk, "not memory", 10, 0644), 0);
        ro.memory_image = junk;
        assert_int_equal(vm_domain_start(d, &ro), -EINVAL);
        expect_state(d, VM_STATE_OFF);
        assert_int_equal(fake_journal_count("save fmt *"), 4);
        vm_domain_free(d);
}

/* The machine dies mid-boot: by the script, and by the hook at a reboot. */
static enum fake_action die_at_first_reboot(const struct fake_moment *m, int *ret_errno, void *userdata) {
        (void)ret_errno;
        (void)userdata;
        return streq(m->name, "reboot") && streq(m->arg, "1") ? FAKE_DIE : FAKE_CONTINUE;
}

static void test_dies_mid_boot(void **state) {
        (void)state;
        struct fake_script s;
        fake_script_init(&s);
        s.boot[FAKE_BOOT_DISK] = (struct fake_boot_script){ .boot_ms = 40, .end = FAKE_END_DIE,
                                                            .die_detail = "kernel panic - not syncing" };
        s.boot[FAKE_BOOT_INSTALL] = (struct fake_boot_script){ .boot_ms = 40, .reboots = 2, .end = FAKE_END_AGENT };
        assert_int_equal(fake_set_script(&s), 0);
        struct vm_def def;
        make_def(&def, "crashy", NULL, NULL);
        struct vm_domain *d = define(&def);
        vm_def_done(&def);
        assert_int_equal(vm_domain_start(d, NULL), 0);
        struct vm_event ev;
        assert_int_equal(vm_domain_wait_event(d, WAIT_MS, &ev), 0);
        assert_int_equal(ev.type, VM_EVENT_DIED);
        assert_string_equal(ev.detail, "kernel panic - not syncing");
        expect_state(d, VM_STATE_OFF);
        _cleanup_free_ char *tail = vm_domain_log_tail(d, 1);
        assert_non_null(strstr(tail, "kernel panic"));

        fake_set_hook(die_at_first_reboot, NULL);
        _cleanup_free_ char *iso = tpath("setup.iso");
        touch("setup.iso");
        assert_int_equal(vm_domain_media_change(d, 0, iso), 0);
        assert_int_equal(vm_domain_start(d, NULL), 0);
        expect_event(d, VM_EVENT_REBOOT);
        assert_int_equal(vm_domain_wait_event(d, WAIT_MS, &ev), 0);
        assert_int_equal(ev.type, VM_EVENT_DIED);
        assert_non_null(strstr(ev.detail, "died at reboot"));
        assert_int_equal(fake_journal_count("reboot crashy"), 1);
        assert_int_equal(fake_journal_count("agent-up*"), 0);
        vm_domain_free(d);
}

/* Ctrl-C and SIGTERM raised from the hook: waits answer -ECANCELED. */
static int raised;
static enum fake_action raise_at(const struct fake_moment *m, int *ret_errno, void *userdata) {
        (void)ret_errno;
        if (!streq(m->name, userdata) || raised++)
                return FAKE_CONTINUE;
        return streq(m->name, "boot") ? FAKE_SIGINT : FAKE_SIGTERM;
}

static void test_interrupts(void **state) {
        (void)state;
        struct vm_def def;
        make_def(&def, "intr", NULL, NULL);
        struct vm_domain *d = define(&def);
        vm_def_done(&def);

        raised = 0;
        fake_set_hook(raise_at, "boot");
        assert_int_equal(vm_domain_start(d, NULL), 0);
        struct vm_event ev;
        assert_int_equal(vm_domain_wait_event(d, -1, &ev), -ECANCELED);
        assert_int_equal(interrupt_signal(), SIGINT);
        assert_int_equal(vm_domain_shutdown(d, WAIT_MS), -ECANCELED);
        interrupt_reset();
        vm_domain_destroy(d);

        raised = 0;
        fake_set_hook(raise_at, "agent-up");
        assert_int_equal(vm_domain_start(d, NULL), 0);
        struct agent_client *c = client_at(d, 0);
        assert_true(fake_journal_wait("agent-up intr", WAIT_MS) >= 0);
        for (int i = 0; i < WAIT_MS / 10 && !interrupted(); i++)
                sleep_ms(10);   /* the hook runs just after the journal line */
        assert_int_equal(agent_wait_ready(c, WAIT_MS), -ECANCELED);
        assert_int_equal(interrupt_signal(), SIGTERM);
        assert_int_equal(vm_domain_wait_event(d, WAIT_MS, &ev), -ECANCELED);
        interrupt_reset();
        agent_client_free(c);
        vm_domain_free(d);
        expect_journal((const char *[]){ "start intr*", "start intr*", "agent-up intr", "destroy intr", "free intr",
                                         NULL });
}

/* The hook makes ops fail, the guest hang, and its agent answer errors. */
struct failure {
        const char *moment;
        enum fake_action action;
        int error;
};
static enum fake_action fail_at(const struct fake_moment *m, int *ret_errno, void *userdata) {
        const struct failure *f = userdata;
        if (!streq(m->name, f->moment))
                return FAKE_CONTINUE;
        *ret_errno = f->error;
        return f->action;
}

static void test_hook_failures(void **state) {
        (void)state;
        struct failure f = { "disk-create", FAKE_FAIL, ENOSPC };
        fake_set_hook(fail_at, &f);
        _cleanup_free_ char *disk = tpath("hooked.qcow2");
        assert_int_equal(vm_disk_create(conn, disk, 1 << 20), -ENOSPC);
        assert_false(path_exists(disk));
        fake_set_hook(NULL, NULL);

        struct vm_def def;
        make_def(&def, "hooked", NULL, NULL);
        struct vm_domain *d = define(&def);
        vm_def_done(&def);
        struct vm_event ev;
        f = (struct failure){ "start", FAKE_FAIL, ENOSPC };
        fake_set_hook(fail_at, &f);
        assert_int_equal(vm_domain_start(d, NULL), -ENOSPC);
        expect_state(d, VM_STATE_OFF);
        assert_int_equal(vm_domain_wait_event(d, 10, &ev), -EINVAL);   /* never started */

        f.moment = "none";
        assert_int_equal(vm_domain_start(d, NULL), 0);
        struct agent_client *c = client_at(d, 0);
        assert_int_equal(agent_wait_ready(c, WAIT_MS), 0);
        assert_int_equal(vm_domain_wait_event(d, 30, &ev), -ETIMEDOUT);

        /* A failed save leaves no file and the machine paused; resumed, it answers again. */
        f = (struct failure){ "save", FAKE_FAIL, EIO };
        _cleanup_free_ char *mem = tpath("mem");
        size_t files = count_files();
        struct vm_save_opts so = { .compress = VM_COMPRESS_ZSTD };
        assert_int_equal(vm_domain_save_memory(d, mem, &so), -EIO);
        assert_int_equal(count_files(), files);
        expect_state(d, VM_STATE_PAUSED);
        assert_true(agent_ping(c) < 0);
        assert_int_equal(vm_domain_resume(d), 0);
        assert_int_equal(agent_ping(c), 0);

        /* The agent answers 500 for a failed command or upload. */
        f = (struct failure){ "execute", FAKE_FAIL, EPERM };
        assert_true(agent_execute(c, "whoami", NULL, NULL) < 0);
        f = (struct failure){ "upload", FAKE_FAIL, ENOSPC };
        assert_true(agent_upload_buffer(c, "x", 1, "/tmp/y") < 0);
        assert_int_equal(fake_upload_find("hooked", "/tmp/y", NULL), -ENOENT);

        /* The guest hangs in a command: the request drops, ACPI is ignored, the host switches
         * it off. */
        f = (struct failure){ "execute", FAKE_HANG, 0 };
        assert_true(agent_execute(c, "hang-me", NULL, NULL) < 0);
        assert_true(agent_ping(c) < 0);
        assert_int_equal(vm_domain_shutdown(d, 50), 1);
        assert_int_equal(vm_domain_wait_event(d, WAIT_MS, &ev), 0);
        assert_int_equal(ev.type, VM_EVENT_DIED);
        assert_non_null(strstr(ev.detail, "did not shut down"));

        /* DIE at the media change. */
        f = (struct failure){ "media-change", FAKE_DIE, 0 };
        assert_int_equal(vm_domain_start(d, NULL), 0);
        assert_int_equal(vm_domain_media_change(d, 0, NULL), 0);
        assert_int_equal(vm_domain_wait_event(d, WAIT_MS, &ev), 0);
        assert_int_equal(ev.type, VM_EVENT_DIED);
        agent_client_free(c);
        vm_domain_free(d);
        expect_journal((const char *[]){ "execute hooked: whoami", "execute hooked: hang-me", "hang hooked",
                                         "shutdown hooked", "destroy hooked", "start hooked*", "died hooked:*", NULL });
}

/* Disks: new files refuse to overwrite, overlays name their backing, commits need it. */
static void test_storage(void **state) {
        (void)state;
        _cleanup_free_ char *base = tpath("base.qcow2"), *over = tpath("over.qcow2"), *gone = tpath("gone.qcow2");
        _cleanup_free_ char *over2 = tpath("over2.qcow2");
        assert_int_equal(vm_disk_create(conn, base, 4096), 0);
        assert_int_equal(vm_disk_create(conn, base, 4096), -EEXIST);
        assert_int_equal(vm_disk_create_overlay(conn, over2, gone), -ENOENT);
        assert_false(path_exists(over2));
        assert_int_equal(vm_disk_create_overlay(conn, over, base), 0);
        assert_int_equal(vm_disk_create_overlay(conn, over, base), -EEXIST);
        char *o = slurp("over.qcow2");
        _cleanup_free_ char *want = strdup_printf("backing=%s\n", base);
        assert_non_null(strstr(o, want));
        free(o);
        assert_int_equal(vm_disk_commit(conn, over), 0);
        char *b = slurp("base.qcow2");
        assert_non_null(strstr(b, "committed=over.qcow2\n"));
        free(b);
        assert_int_equal(vm_disk_commit(conn, base), -EINVAL);
        assert_int_equal(vm_disk_commit(conn, gone), -ENOENT);
        assert_int_equal(unlink(base), 0);
        assert_int_equal(vm_disk_commit(conn, over), -ENOENT);
        struct vm_host_info hi;
        assert_int_equal(vm_host_info(conn, &hi), 0);
        assert_string_equal(hi.driver, "fake");
        assert_string_equal(hi.version, "8.2.0");
        expect_journal((const char *[]){ "disk-create base.qcow2", "disk-overlay over.qcow2 on base.qcow2",
                                         "disk-commit over.qcow2 into base.qcow2", NULL });
}

/* The power button: obeyed, or ignored (then the machine is switched off: 1). */
static void test_shutdown(void **state) {
        (void)state;
        struct vm_def def;
        make_def(&def, "acpi", NULL, NULL);
        struct vm_domain *d = define(&def);
        vm_def_done(&def);
        assert_int_equal(vm_domain_start(d, NULL), 0);
        assert_int_equal(vm_domain_shutdown(d, WAIT_MS), 0);
        expect_event(d, VM_EVENT_POWEROFF);
        assert_int_equal(vm_domain_shutdown(d, WAIT_MS), 0);   /* off already */

        struct fake_script s;
        fake_script_init(&s);
        s.shutdown_ms = -1;
        assert_int_equal(fake_set_script(&s), 0);
        assert_int_equal(vm_domain_start(d, NULL), 0);
        assert_int_equal(vm_domain_shutdown(d, 40), 1);
        struct vm_event ev;
        assert_int_equal(vm_domain_wait_event(d, WAIT_MS, &ev), 0);
        assert_int_equal(ev.type, VM_EVENT_DIED);
        vm_domain_destroy(d);   /* safe when off */
        vm_domain_free(d);
        expect_journal((const char *[]){ "shutdown acpi", "poweroff acpi", "shutdown acpi", "destroy acpi",
                                         "free acpi", NULL });
}

/* kill_users spares this vmcloak's machines and stops orphans that use the path. */
static void test_kill_users(void **state) {
        (void)state;
        struct vm_def def;
        make_def(&def, "stale", NULL, NULL);
        struct vm_domain *d = define(&def);
        vm_def_done(&def);
        unsigned killed = 99;
        assert_int_equal(vm_kill_users(conn, dir, &killed, NULL), 0);
        assert_int_equal(killed, 0);   /* off: no user */
        assert_int_equal(vm_domain_start(d, NULL), 0);
        unsigned spared = 0;
        assert_int_equal(vm_kill_users(conn, dir, &killed, &spared), 0);
        assert_int_equal(killed, 0);
        assert_int_equal(spared, 1);   /* this vmcloak's own machine */
        assert_int_equal(fake_orphan("stale"), 0);
        assert_int_equal(fake_orphan("nobody"), -ENOENT);
        assert_int_equal(vm_kill_users(conn, "/nonexistent", &killed, NULL), 0);
        assert_int_equal(killed, 0);
        _cleanup_free_ char *prefix = strdup_printf("%s-not", dir);   /* a sibling, not a parent */
        assert_int_equal(vm_kill_users(conn, prefix, &killed, NULL), 0);
        assert_int_equal(killed, 0);
        _cleanup_free_ char *disk = tpath("stale.qcow2");
        assert_int_equal(vm_kill_users(conn, disk, &killed, NULL), 0);
        assert_int_equal(killed, 1);
        struct vm_event ev;
        assert_int_equal(vm_domain_wait_event(d, WAIT_MS, &ev), 0);
        assert_int_equal(ev.type, VM_EVENT_DIED);
        assert_non_null(strstr(ev.detail, "killed"));
        vm_domain_free(d);
        expect_journal((const char *[]){ "spare stale", "kill stale", NULL });
}

/* Paused start, resume, screenshot, keys, describe. */
static void test_pause_screen_keys(void **state) {
        (void)state;
        struct vm_def def;
        make_def(&def, "screen", NULL, NULL);
        struct vm_domain *d = define(&def);
        vm_def_done(&def);
        _cleanup_free_ char *png = tpath("shot.png");
        assert_int_equal(vm_domain_screenshot(d, png), -ESRCH);
        assert_int_equal(vm_domain_resume(d), -ESRCH);
        struct vm_start_opts so = { .paused = true };
        assert_int_equal(vm_domain_start(d, &so), 0);
        assert_int_equal(vm_domain_start(d, &so), -EBUSY);
        expect_state(d, VM_STATE_PAUSED);
        struct agent_client *c = client_at(d, 0);
        sleep_ms(60);   /* a paused guest does not boot */
        assert_true(agent_ping(c) < 0);
        assert_int_equal(fake_journal_count("agent-up*"), 0);
        assert_int_equal(vm_domain_resume(d), 0);
        expect_state(d, VM_STATE_RUNNING);
        assert_int_equal(agent_wait_ready(c, WAIT_MS), 0);
        assert_int_equal(vm_domain_screenshot(d, png), 0);
        char *p = slurp("shot.png");
        assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
        free(p);
        char *keys[] = { "ctrl", "alt", "delete", NULL };
        assert_int_equal(vm_domain_send_keys(d, keys, 100), 0);
        assert_non_null(strstr(vm_domain_describe(d), "fake machine screen"));
        agent_client_free(c);
        vm_domain_free(d);
        expect_journal((const char *[]){ "start screen media=[] paused", "resume screen", "agent-up screen",
                                         "screenshot screen shot.png", "keys screen ctrl+alt+delete", NULL });
}

/* What the driver refuses, each with one line. */
static void test_refusals(void **state) {
        (void)state;
        struct vm_def def;
        make_def(&def, "bad", NULL, NULL);
        struct vm_domain *d = NULL;
        assert_int_equal(vm_domain_define(conn, &def, &(struct vm_domain_opts){ 0 }, &d), -EINVAL);
        _cleanup_free_ char *log = tpath("bad.log");
        char *pass[] = { "-no-reboot", NULL };
        struct vm_domain_opts o = { .log_path = log, .passthrough = pass };
        assert_int_equal(vm_domain_define(conn, &def, &o, &d), -EINVAL);
        o.passthrough = NULL;
        def.cpus = 999;
        assert_int_equal(vm_domain_define(conn, &def, &o, &d), -EINVAL);
        def.cpus = 1;
        /* Its disk does not exist yet: it can be defined, not started. */
        assert_int_equal(vm_domain_define(conn, &def, &o, &d), 0);
        assert_int_equal(vm_domain_start(d, NULL), -ENOENT);
        char addr[64];
        uint16_t port;
        assert_int_equal(vm_domain_agent_endpoint(d, 1, addr, sizeof addr, &port), -ENOENT);
        assert_int_equal(vm_domain_agent_endpoint(d, 7, addr, sizeof addr, &port), -ENOENT);
        vm_domain_free(d);
        vm_def_done(&def);

        char *qemu[] = { "-machine", "pc", "-drive", "file=" VM_DISK_PLACEHOLDER, NULL };
        char *incoming[] = { "-machine", "fake,name=x", "-drive", "file=" VM_DISK_PLACEHOLDER, "-incoming", "defer",
                             NULL };
        char *no_disk[] = { "-machine", "fake,name=x", NULL };
        char *odd[] = { "-machine", "fake,name=x", "-drive", "file=" VM_DISK_PLACEHOLDER, "-vga", "std", NULL };
        char *empty[] = { NULL };
        char **lists[] = { qemu, incoming, no_disk, odd, empty };
        struct vm_def host;
        vm_def_init(&host);
        host.name = strdup("x");
        host.disk.path = strdup("/tmp/disk");
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                assert_int_equal(vm_domain_define_cuckoo(conn, lists[i], &host, &o, &d), -EINVAL);
        vm_def_done(&host);
        assert_int_equal(fake_live_domains(), baseline);
}

/* `vmcloak snapshot -j 2`: two machines driven from two threads at once. */
struct job {
        const char *name;
        int failures;
};

static void *snapshot_job(void *arg) {
        struct job *j = arg;
        struct vm_def def;
        make_def(&def, j->name, "10.0.2.20", NULL);
        struct vm_domain *d = define(&def);
        vm_def_done(&def);
        struct agent_client *c0 = NULL, *c1 = NULL;
        _cleanup_free_ char *mem = strdup_printf("%s/%s.mem", dir, j->name);
        struct vm_save_opts so = { .compress = VM_COMPRESS_LZ4 };
        struct vm_start_opts ro = { .memory_image = mem };
        struct agent_exec_result res;
        j->failures += vm_domain_start(d, NULL) != 0;
        c0 = client_at(d, 0);
        c1 = client_at(d, 1);
        j->failures += agent_wait_ready(c0, WAIT_MS) != 0;
        for (int i = 0; i < 5; i++) {
                j->failures += agent_execute(c0, "hostname", NULL, &res) != 0 || res.exit_code != 0;
                agent_exec_result_done(&res);
                j->failures += agent_upload_buffer(c0, j->name, strlen(j->name), "/tmp/name") != 0;
        }
        j->failures += agent_execute_nowait(c0, "ip addr add 10.0.2.20/24", true, WAIT_MS) < 0;
        j->failures += agent_wait_ready(c1, WAIT_MS) != 0;
        j->failures += vm_domain_save_memory(d, mem, &so) != 0;
        j->failures += vm_domain_start(d, &ro) != 0;
        j->failures += agent_ping(c1) != 0;
        agent_client_free(c0);
        agent_client_free(c1);
        vm_domain_free(d);
        return NULL;
}

static void test_two_threads(void **state) {
        (void)state;
        struct fake_answer a = { .match = "ip addr add", .effect = FAKE_EFFECT_SET_ADDRESS };
        assert_int_equal(fake_add_answer(&a), 0);
        struct job jobs[] = { { "vm_1", 0 }, { "vm_2", 0 } };
        pthread_t t[ELEMENTSOF(jobs)];
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++)
                assert_int_equal(pthread_create(&t[i], NULL, snapshot_job, &jobs[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                pthread_join(t[i], NULL);
                assert_int_equal(jobs[i].failures, 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                _cleanup_free_ char *p = strdup_printf("save %s lz4", jobs[i].name);
                assert_int_equal(fake_journal_count(p), 1);
                struct fake_upload up;
                assert_int_equal(fake_upload_find(jobs[i].name, "/tmp/name", &up), 0);
                assert_true(up.hash == fake_hash(jobs[i].name, strlen(jobs[i].name)));
        }
        assert_int_equal(fake_journal_count("execute vm_1: hostname"), 5);
        assert_int_equal(fake_journal_count("execute vm_2: hostname"), 5);
        assert_int_equal(fake_live_domains(), baseline);
}

int main(void) {
        log_set_level(LOG_LEVEL_WARNING);
        interrupt_install();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_install_boot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_windows_reboots, setup, teardown),
                cmocka_unit_test_setup_teardown(test_disk_boot_save_restore, setup, teardown),
                cmocka_unit_test_setup_teardown(test_save_formats, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dies_mid_boot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hook_failures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_storage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill_users, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pause_screen_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_two_threads, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
