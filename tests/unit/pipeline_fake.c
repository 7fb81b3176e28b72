/* Unit tests: the pipeline's init, snapshot and restore steps on the fake driver, with no QEMU. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "fake/fake.h"
#include "guest/profile.h"
#include "pipeline/init.h"
#include "pipeline/pipeline.h"
#include "pipeline/restore.h"
#include "pipeline/snapshot.h"

static char *home;                     /* VMCLOAK_HOME of this test */
static struct repo *repo;
static struct pipeline pl;

static int setup(void **state) {
        (void)state;
        fake_reset();
        interrupt_reset();
        home = test_tmpdir();
        if (!home || paths_init(home) < 0 || paths_ensure() < 0)
                return -1;
        _cleanup_free_ char *db = paths_repository();
        if (!db || repo_open(db, &repo) < 0)
                return -1;
        pl = (struct pipeline){ .repo = repo, .driver = &fake_driver };
        return 0;
}

static int teardown(void **state) {
        (void)state;
        unsigned live = fake_live_domains();
        pipeline_done(&pl);
        repo_close(repo);
        rm_rf(home);
        free(home);
        fake_reset();
        interrupt_reset();
        return live == 0 ? 0 : -1;
}

static bool in_home(const char *rel) {
        _cleanup_free_ char *p = path_join(home, rel);
        return path_exists(p);
}

/* The journal holds these lines (fake_journal_find patterns) in this order. */
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

/* The linux installer: its serial markers, then it powers off by itself. */
static void script_linux_install(void) {
        struct fake_script s;
        fake_script_init(&s);
        char *installing[] = { "VMCLOAK: install: partitioning", NULL };
        char *done[] = { "VMCLOAK: install: done", NULL };
        s.boot[FAKE_BOOT_INSTALL] = (struct fake_boot_script){ .boot_ms = 30, .end = FAKE_END_POWEROFF,
                                                               .serial_boot = installing, .serial_end = done };
        assert_int_equal(fake_set_script(&s), 0);
        struct fake_answer off = { .match = "poweroff", .effect = FAKE_EFFECT_POWEROFF };
        assert_int_equal(fake_add_answer(&off), 0);
}

static int init_linux(void) {
        _cleanup_free_ char *iso = path_join(home, "installer.iso");
        assert_int_equal(write_file(iso, "iso", 3, 0644), 0);
        struct init_request req = { .name = "base", .profile = os_profile_find("linux"), .port = 8000, .iso = iso,
                                    .net = { .mode = IMAGE_NET_USER } };
        return pipeline_init(&pl, &req);
}

/* vmcloak init --linux: install boot, power-off, disk boot to the agent, poweroff, the row. */
static void test_init_linux(void **state) {
        (void)state;
        script_linux_install();
        assert_int_equal(init_linux(), 0);
        expect_journal((const char *[]){ "disk-create base.qcow2", "start base media=[installer.iso]", "poweroff base",
                                         "start base media=[]", "agent-up base", "execute base: poweroff",
                                         "poweroff base", "free base", NULL });
        _cleanup_image_ struct image *img = NULL;
        assert_int_equal(repo_image_get(repo, "base", &img), 0);
        assert_string_equal(img->osversion, "linux");
        assert_true(in_home("image/base.qcow2"));
        assert_int_equal(fake_live_domains(), 0);
}

/* The machine dies in the installer: no row, no disk, no machine left. */
static void test_init_dies(void **state) {
        (void)state;
        script_linux_install();
        struct fake_script s;
        fake_script_init(&s);
        s.boot[FAKE_BOOT_INSTALL] = (struct fake_boot_script){ .boot_ms = 20, .end = FAKE_END_DIE,
                                                               .die_detail = "qemu: fatal: triple fault" };
        assert_int_equal(fake_set_script(&s), 0);
        assert_true(init_linux() < 0);
        _cleanup_image_ struct image *img = NULL;
        assert_int_equal(repo_image_get(repo, "base", &img), -ENOENT);
        assert_false(in_home("image/base.qcow2"));
        assert_int_equal(fake_journal_count("died base: qemu: fatal: triple fault"), 1);
        assert_int_equal(fake_live_domains(), 0);
}

/* A linux image as init records it, on a disk the fake made. */
static void add_image(void) {
        _cleanup_free_ char *disk = paths_image_disk("base");
        assert_int_equal(pipeline_connect(&pl, VM_ACCEL_AUTO), 0);
        assert_int_equal(vm_disk_create(pl.conn, disk, UINT64_C(1) << 30), 0);
        struct image img = { .name = "base", .path = disk, .osversion = "linux", .servicepack = "", .mode = "normal",
                             .vm = "qemu", .ipaddr = "10.0.2.15", .port = 8000, .adapter = "user",
                             .netmask = "255.255.255.0", .gateway = "10.0.2.2", .cpus = 1, .ramsize = 256,
                             .vramsize = 16, .netmode = "user", .dns = "10.0.2.3" };
        assert_int_equal(repo_image_insert(repo, &img), 0);
        free(img.created_at);
}

static void answer_linux_commands(void) {
        const struct fake_answer answers[] = {
                { .match = "/sbin/vmcloak-setnet ", .effect = FAKE_EFFECT_SET_ADDRESS },
                { .match = "uname -r", .out = "6.1.0-fake\n" },
                { .match = "echo restored", .out = "restored guest says hello\n" },
        };
        for (size_t i = 0; i < ELEMENTSOF(answers); i++)
                assert_int_equal(fake_add_answer(&answers[i]), 0);
}

/* vmcloak snapshot --count 2 -j 2, then vmcloak restore of one of them. */
static void test_snapshot_then_restore(void **state) {
        (void)state;
        answer_linux_commands();
        add_image();
        struct snapshot_request req = { .image = "base", .vmname = "vm", .count = 2, .jobs = 2,
                                        .compress = VM_COMPRESS_LZ4 };
        assert_int_equal(pipeline_snapshot(&pl, &req), 0);
        for (int i = 1; i <= 2; i++) {
                char vm[8], line[32];
                snprintf(vm, sizeof vm, "vm%d", i);
                snprintf(line, sizeof line, "address %s 1", vm);
                assert_int_equal(fake_journal_count(line), 1);
                snprintf(line, sizeof line, "save %s lz4", vm);
                assert_int_equal(fake_journal_count(line), 1);
                _cleanup_(snapshot_freep) struct snapshot *row = NULL;
                assert_int_equal(repo_snapshot_get(repo, vm, &row), 0);
                _cleanup_free_ char *mi = strdup_printf("vms/qemu/%s/machineinfo.json", vm);
                assert_true(in_home(mi));
        }
        size_t mark = (size_t)fake_journal_find("free vm*", 0);
        /* restore prints its times and the command's output on stdout: keep them off the TAP stream. */
        struct restore_request rr = { .vmname = "vm1", .timeout_s = 10, .exec = "echo restored" };
        _cleanup_free_ char *out = path_join(home, "restore.out");
        fflush(stdout);
        int saved = dup(STDOUT_FILENO), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(saved >= 0 && fd >= 0);
        dup2(fd, STDOUT_FILENO);
        close(fd);
        int r = pipeline_restore(&pl, &rr);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        assert_int_equal(r, 0);
        _cleanup_free_ char *printed = NULL;
        assert_int_equal(read_full_file(out, &printed, NULL), 0);
        assert_non_null(strstr(printed, "vm1 restored: running after"));
        assert_non_null(strstr(printed, "restored guest says hello\n"));
        assert_true(fake_journal_find("start vm1 media=[] memory=memory.snapshot", mark) > 0);
        assert_true(fake_journal_find("execute vm1: echo restored", mark) > 0);
        assert_int_equal(fake_live_domains(), 0);
}

/* Ctrl-C while the guests change address: both VMs are undone, nothing is recorded. */
static atomic_int setnet_calls;   /* the first one raises SIGINT */
static enum fake_action ctrl_c_at_setnet(const struct fake_moment *m, int *ret_errno, void *userdata) {
        (void)ret_errno;
        (void)userdata;
        if (streq(m->name, "execute") && startswith(m->arg, "/sbin/vmcloak-setnet") &&
            atomic_fetch_add(&setnet_calls, 1) == 0)
                return FAKE_SIGINT;
        return FAKE_CONTINUE;
}

static void test_snapshot_interrupted(void **state) {
        (void)state;
        answer_linux_commands();
        add_image();
        atomic_store(&setnet_calls, 0);
        fake_set_hook(ctrl_c_at_setnet, NULL);
        struct snapshot_request req = { .image = "base", .vmname = "vm", .count = 2, .jobs = 2,
                                        .compress = VM_COMPRESS_LZ4 };
        assert_int_equal(pipeline_snapshot(&pl, &req), -ECANCELED);
        assert_true(atomic_load(&setnet_calls) >= 1);   /* the other VM may be there too */
        assert_false(in_home("vms/qemu/vm1"));
        assert_false(in_home("vms/qemu/vm2"));
        _cleanup_(snapshot_freep) struct snapshot *row = NULL;
        assert_int_equal(repo_snapshot_get(repo, "vm1", &row), -ENOENT);
        assert_int_equal(fake_live_domains(), 0);
}

int main(void) {
        log_set_level(LOG_LEVEL_ERROR);
        interrupt_install();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_init_linux, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_dies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_then_restore, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_interrupted, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
