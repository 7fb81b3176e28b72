/* Unit tests: every pipeline flow (init, install, snapshot, restore) and its failure paths, run
 * through the fake driver's scripted guest in milliseconds. After each one: no row, file or
 * machine is left but what a success made. */
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/progress.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/download.h"
#include "deps/catalog.h"
#include "deps/steps.h"
#include "cloak/hardware.h"
#include "fake/fake.h"
#include "guest/profile.h"
#include "guest/windows.h"
#include "pipeline/cleanup.h"
#include "pipeline/image.h"
#include "pipeline/imagehw.h"
#include "pipeline/import.h"
#include "pipeline/init.h"
#include "pipeline/install.h"
#include "pipeline/machineinfo.h"
#include "pipeline/restore.h"
#include "pipeline/snapshot.h"
#include "pipeline/snapshot_internal.h"
#include "pipeline/stuck.h"

#include <json-c/json.h>

extern const struct os_profile os_profile_linux;

/* ---- fixtures ---- */

struct env {
        char *home;
        struct repo *repo;
        struct pipeline pl;
};

/* The install media a profile builds: two small files in the work folder. */
static int fake_media(const struct os_profile *self, const struct install_params *p, struct install_media *ret) {
        (void)self;
        ret->boot_iso = path_join(p->workdir, "boot.iso");
        ret->config_iso = path_join(p->workdir, "config.iso");
        if (!ret->boot_iso || !ret->config_iso)
                return -ENOMEM;
        int r = write_file(ret->boot_iso, "boot", 4, 0644);
        return r < 0 ? r : write_file(ret->config_iso, "config", 6, 0644);
}

/* Media that say what they install, as Windows media do (the WIM's build, edition, language). */
static int fake_media_facts(const struct os_profile *self, const struct install_params *p, struct install_media *ret) {
        int r = fake_media(self, p, ret);
        if (r < 0)
                return r;
        ret->os_build = strdup("6.1.0-57");
        ret->os_edition = strdup("busybox");
        ret->os_language = strdup("en-US");
        return ret->os_build && ret->os_edition && ret->os_language ? 0 : -ENOMEM;
}

/* The linux profile's media: the boot ISO and its installer's kernel booted directly. */
static int fake_media_kernel(const struct os_profile *self, const struct install_params *p, struct install_media *ret) {
        int r = fake_media(self, p, ret);
        if (r < 0)
                return r;
        ret->kernel = path_join(p->workdir, "vmlinux");
        ret->initrd = path_join(p->workdir, "install.img");
        ret->cmdline = strdup("console=ttyS0,115200 quiet");
        return ret->kernel && ret->initrd && ret->cmdline ? 0 : -ENOMEM;
}

/* The linux profile with media that need no kernel package. */
static struct os_profile linux_profile;

/* A Windows-like install: Setup boots from its ISO with the answer CD beside it, reboots three
 * times and the agent answers at first logon; only then do the media leave. */
static const struct install_phase winlike_install[] = {
        { .title = "Windows Setup", .boot = true,
          .media = INSTALL_MEDIA_BOOT | INSTALL_MEDIA_CONFIG | INSTALL_MEDIA_USER, .until = INSTALL_UNTIL_AGENT,
          .max_reboots = 3, .eject_at_end = INSTALL_MEDIA_BOOT | INSTALL_MEDIA_CONFIG | INSTALL_MEDIA_USER },
};
static struct os_profile winlike_profile;

static void profiles_init(void) {
        linux_profile = os_profile_linux;
        linux_profile.build_media = fake_media_kernel;
        winlike_profile = os_profile_linux;
        winlike_profile.name = "winlike";
        winlike_profile.os_name = "windows";
        winlike_profile.os_version = "10";
        winlike_profile.path_sep = '\\';
        winlike_profile.rtc_localtime = true;
        winlike_profile.install = (struct install_flow){ winlike_install, ELEMENTSOF(winlike_install) };
        winlike_profile.serial_install_done = NULL;
        winlike_profile.build_media = fake_media;
}

/* The linux guest's commands, answered as the real guest would. */
static void linux_answers(void) {
        struct fake_answer a[] = {
                { .match = "touch /run/vmcloak-poweroff; poweroff", .effect = FAKE_EFFECT_POWEROFF },
                { .match = "poweroff", .effect = FAKE_EFFECT_POWEROFF },
                { .match = "reboot", .effect = FAKE_EFFECT_REBOOT },
                { .match = "ip link set dev eth0 address ", .effect = FAKE_EFFECT_SET_ADDRESS },
                { .match = "uname -r", .out = "6.1.0-fake-amd64\n" },
                { .match = "false", .exit_code = 1, .err = "it failed" },
        };
        for (size_t i = 0; i < ELEMENTSOF(a); i++)
                assert_int_equal(fake_add_answer(&a[i]), 0);
}

static char *const install_serial[] = { "VMCLOAK: install: partitioning", "VMCLOAK: install: done", NULL };

static void default_script(struct fake_script *s) {
        fake_script_init(s);
        s->boot[FAKE_BOOT_INSTALL].serial_end = install_serial;
}

static int setup(void **state) {
        struct env *e = calloc(1, sizeof *e);
        e->home = test_tmpdir();
        assert_non_null(e->home);
        assert_int_equal(paths_init(e->home), 0);
        assert_int_equal(paths_ensure(), 0);
        _cleanup_free_ char *db = paths_repository();
        assert_int_equal(repo_open(db, &e->repo), 0);
        e->pl = (struct pipeline){ .repo = e->repo, .driver = &fake_driver };
        fake_reset();
        struct fake_script s;
        default_script(&s);
        assert_int_equal(fake_set_script(&s), 0);
        linux_answers();
        interrupt_reset();
        *state = e;
        return 0;
}

static int teardown(void **state) {
        struct env *e = *state;
        pipeline_done(&e->pl);
        repo_close(e->repo);
        rm_rf(e->home);
        free(e->home);
        free(e);
        fake_reset();
        interrupt_reset();
        return 0;
}

/* ---- what is left ---- */

static size_t n_images(struct env *e) {
        struct image **l;
        size_t n;
        assert_int_equal(repo_image_list(e->repo, &l, &n), 0);
        image_list_free(l, n);
        return n;
}

static size_t n_snapshots(struct env *e) {
        struct snapshot **l;
        size_t n;
        assert_int_equal(repo_snapshot_list(e->repo, -1, &l, &n), 0);
        snapshot_list_free(l, n);
        return n;
}

/* The names in a folder of the home, sorted, joined with ' ' ("" when empty or missing). */
static char *listing(const char *sub) {
        _cleanup_free_ char *dir = path_join(paths_home(), sub);
        _cleanup_strv_free_ char **names = NULL;
        DIR *d = opendir(dir);
        if (d) {
                struct dirent *de;
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.')
                                strv_extend(&names, de->d_name);
                closedir(d);
        }
        size_t n = strv_length(names);
        for (size_t i = 0; i + 1 < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (strcmp(names[i], names[j]) > 0) {
                                char *t = names[i];
                                names[i] = names[j];
                                names[j] = t;
                        }
        return n ? strv_join(names, " ") : strdup("");
}

static void assert_listing(const char *sub, const char *want) {
        _cleanup_free_ char *got = listing(sub);
        if (!streq(got, want))
                fail_msg("%s holds '%s', expected '%s'", sub, got, want);
}

/* Nothing of a failed step: no machine, no work folder, no disk beyond those named. */
static void assert_nothing_left(struct env *e, size_t images, size_t snapshots, const char *image_dir) {
        assert_int_equal(fake_live_domains(), 0);
        assert_int_equal(n_images(e), images);
        assert_int_equal(n_snapshots(e), snapshots);
        assert_listing("iso", "");
        assert_listing("image", image_dir);
}

static void assert_journal_has(const char *pattern) {
        if (fake_journal_find(pattern, 0) < 0) {
                _cleanup_free_ char *j = fake_journal_text();
                fail_msg("the journal has no '%s':\n%s", pattern, strempty(j));
        }
}

static ssize_t journal_at(const char *pattern) {
        ssize_t i = fake_journal_find(pattern, 0);
        if (i < 0) {
                _cleanup_free_ char *j = fake_journal_text();
                fail_msg("the journal has no '%s':\n%s", pattern, strempty(j));
        }
        return i;
}

/* Run fn with stdout going nowhere: restore prints its times and --exec output there, which is
 * no TAP line. */
static int quiet_stdout(int (*fn)(struct pipeline *, const struct restore_request *), struct pipeline *pl,
                        const struct restore_request *rq) {
        fflush(stdout);
        int saved = dup(STDOUT_FILENO);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        assert_true(saved >= 0 && null >= 0);
        dup2(null, STDOUT_FILENO);
        close(null);
        int r = fn(pl, rq);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        return r;
}

/* ---- hooks ---- */

struct trap {
        const char *name;       /* the moment */
        const char *arg;        /* its argument starts with this (NULL: any) */
        const char *domain;     /* NULL: any */
        unsigned skip;          /* let this many matching moments pass first */
        enum fake_action action;
        int err;
        unsigned hits;
};

static enum fake_action trap_hook(const struct fake_moment *m, int *ret_errno, void *userdata) {
        struct trap *t = userdata;
        if (!streq(m->name, t->name) || (t->arg && (!m->arg || !startswith(m->arg, t->arg))) ||
            (t->domain && !streq_ptr(m->domain, t->domain)))
                return FAKE_CONTINUE;
        if (__atomic_fetch_add(&t->hits, 1, __ATOMIC_SEQ_CST) < t->skip)
                return FAKE_CONTINUE;
        *ret_errno = t->err;
        return t->action;
}

/* ---- init ---- */

static struct init_request init_req(const char *name, const struct os_profile *p) {
        return (struct init_request){
                .name = name, .adapter = "lnet", .profile = p,
                .net = { .mode = IMAGE_NET_USER, .adapter = "lnet" },
                .port = 8000, .cpus = 1, .ram_mb = 512, .vram_mb = 16, .disk_bytes = 2ull << 30,
                .resolution = "1024x768", .vm = { .accel = VM_ACCEL_TCG },
        };
}

static int init_image(struct env *e, const char *name) {
        struct init_request q = init_req(name, &linux_profile);
        return pipeline_init(&e->pl, &q);
}

static void test_init_linux_flow(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "lbase"), 0);
        assert_nothing_left(e, 1, 0, "lbase.qcow2");
        /* The installer's kernel boots directly with the built ISO in its drive and ends with a
         * power-off under -no-reboot; the installed system boots from its disk (no media, no
         * kernel) until its agent answers; then it powers off. */
        ssize_t inst = journal_at("start lbase media=[boot.iso] kernel=vmlinux*");
        ssize_t off1 = fake_journal_find("poweroff lbase", (size_t)inst);
        ssize_t disk = fake_journal_find("start lbase media=[]*", (size_t)off1);
        assert_int_equal(fake_journal_count("start lbase media=[] kernel=*"), 0);
        ssize_t up = fake_journal_find("agent-up lbase", (size_t)disk);
        ssize_t cmd = fake_journal_find("execute lbase: touch /run/vmcloak-poweroff; poweroff", (size_t)up);
        assert_true(off1 > inst && disk > off1 && up > disk && cmd > up);
        assert_true(fake_journal_find("poweroff lbase", (size_t)cmd) > cmd);
        assert_journal_has("disk-create lbase.qcow2");
        _cleanup_image_ struct image *img = NULL;
        assert_int_equal(repo_image_get(e->repo, "lbase", &img), 0);
        assert_string_equal(img->osversion, "linux");
        assert_string_equal(img->netmode, "user");
        assert_string_equal(img->ipaddr, "10.0.2.15");
}

/* A prepared ISO goes through the same flow, without building media. */
static void test_init_iso(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *iso = path_join(e->home, "mine.iso");
        assert_int_equal(write_file(iso, "x", 1, 0644), 0);
        struct init_request q = init_req("fromiso", &linux_profile);
        q.iso = iso;
        assert_int_equal(pipeline_init(&e->pl, &q), 0);
        assert_journal_has("start fromiso media=[mine.iso]*");
        assert_journal_has("start fromiso media=[]*");
        assert_int_equal(fake_journal_count("start fromiso *kernel=*"), 0);   /* the user's ISO boots itself */
        assert_nothing_left(e, 1, 0, "fromiso.qcow2");
}

static void test_init_windows_like(void **state) {
        struct env *e = *state;
        struct fake_script s;
        default_script(&s);
        s.boot[FAKE_BOOT_INSTALL].reboots = 3;
        s.boot[FAKE_BOOT_INSTALL].end = FAKE_END_AGENT;
        s.boot[FAKE_BOOT_INSTALL].serial_end = NULL;
        s.system = "Windows";
        assert_int_equal(fake_set_script(&s), 0);
        _cleanup_free_ char *extra = path_join(e->home, "drivers.iso");
        assert_int_equal(write_file(extra, "d", 1, 0644), 0);
        char *cdroms[] = { extra, NULL };
        struct init_request q = init_req("win", &winlike_profile);
        q.extra_cdroms = cdroms;
        assert_int_equal(pipeline_init(&e->pl, &q), 0);
        assert_nothing_left(e, 1, 0, "win.qcow2");
        /* One boot with Setup's ISO, the answer CD and the user's disc, three reboots, and the
         * answer CD still in its drive when the agent first answers. */
        ssize_t start = journal_at("start win media=[boot.iso,config.iso,drivers.iso]*");
        assert_int_equal(fake_journal_count("start win*"), 1);
        assert_int_equal(fake_journal_count("reboot win"), 3);
        ssize_t up = journal_at("agent-up win");
        ssize_t eject = journal_at("eject win 1");
        assert_true(start < up && up < eject);
        assert_int_equal(fake_journal_count("eject win *"), 3);
        assert_true(journal_at("execute win: touch /run/vmcloak-poweroff; poweroff") > eject);
}

/* The installed guest is not the OS the profile installs (a Linux ISO given to --win10x64): its
 * agent says so, and init fails with nothing recorded or left, before shutting it down. */
static void test_init_wrong_os(void **state) {
        struct env *e = *state;
        struct fake_script s;
        default_script(&s);
        s.boot[FAKE_BOOT_INSTALL].end = FAKE_END_AGENT;
        s.boot[FAKE_BOOT_INSTALL].serial_end = NULL;
        s.system = "Linux";
        assert_int_equal(fake_set_script(&s), 0);
        struct init_request q = init_req("notwin", &winlike_profile);
        assert_int_equal(pipeline_init(&e->pl, &q), -EMEDIUMTYPE);
        assert_nothing_left(e, 0, 0, "");
        assert_int_equal(fake_journal_count("execute notwin: *poweroff"), 0);
}

static void test_init_windows_like_loops(void **state) {
        struct env *e = *state;
        struct fake_script s;
        default_script(&s);
        s.boot[FAKE_BOOT_INSTALL].reboots = 4;
        s.boot[FAKE_BOOT_INSTALL].end = FAKE_END_AGENT;
        assert_int_equal(fake_set_script(&s), 0);
        struct init_request q = init_req("loop", &winlike_profile);
        assert_int_equal(pipeline_init(&e->pl, &q), -EIO);
        assert_nothing_left(e, 0, 0, "");
}

static void test_init_installer_reports_failure(void **state) {
        struct env *e = *state;
        struct fake_script s;
        default_script(&s);
        char *const failed[] = { "VMCLOAK: install: FAILED partitioning", NULL };
        s.boot[FAKE_BOOT_INSTALL].serial_end = failed;
        assert_int_equal(fake_set_script(&s), 0);
        assert_int_equal(init_image(e, "bad"), -EIO);
        assert_nothing_left(e, 0, 0, "");
        /* The logs stay where the error said. */
        assert_listing("log", "bad");
}

/* A first-logon bootstrap that reports a failed step (Windows: "vmcloak-phase: failed
 * network") ends the wait for the agent at once, naming the step, not at the timeout. */
static void test_init_bootstrap_reports_failure(void **state) {
        struct env *e = *state;
        struct fake_script s;
        default_script(&s);
        char *const failed[] = { "VMCLOAK: install: FAILED network", NULL };
        s.boot[FAKE_BOOT_INSTALL].end = FAKE_END_HANG;
        s.boot[FAKE_BOOT_INSTALL].serial_boot = failed;
        s.system = "Windows";
        assert_int_equal(fake_set_script(&s), 0);
        struct init_request q = init_req("bootfail", &winlike_profile);
        q.vm.timeout_s = 60;
        int64_t t0 = now_ms();
        assert_int_equal(pipeline_init(&e->pl, &q), -EIO);
        assert_true(now_ms() - t0 < 10000);
        assert_nothing_left(e, 0, 0, "");
}

/* The machine dies in each phase: the installer, the first boot, the power-off. */
static void test_init_machine_dies(void **state) {
        struct env *e = *state;
        struct trap traps[] = {
                { .name = "boot", .arg = "install", .action = FAKE_DIE },
                { .name = "boot", .arg = "disk", .action = FAKE_DIE },
                { .name = "agent-up", .action = FAKE_DIE },
                { .name = "execute", .arg = "touch /run/vmcloak-poweroff; poweroff", .action = FAKE_DIE },
        };
        for (size_t i = 0; i < ELEMENTSOF(traps); i++) {
                fake_set_hook(trap_hook, &traps[i]);
                char name[16];
                snprintf(name, sizeof name, "dies%zu", i);
                int r = init_image(e, name);
                if (r >= 0)
                        fail_msg("init survived the machine dying at %s %s", traps[i].name, strempty(traps[i].arg));
                assert_true(traps[i].hits > 0);
                assert_nothing_left(e, 0, 0, "");
        }
        fake_set_hook(NULL, NULL);
}

static void test_init_agent_never_answers(void **state) {
        struct env *e = *state;
        struct fake_script s;
        default_script(&s);
        s.boot[FAKE_BOOT_DISK].end = FAKE_END_HANG;
        s.shutdown_ms = -1;
        assert_int_equal(fake_set_script(&s), 0);
        struct init_request q = init_req("deaf", &linux_profile);
        q.vm.timeout_s = 1;
        assert_int_equal(pipeline_init(&e->pl, &q), -ETIMEDOUT);
        assert_nothing_left(e, 0, 0, "");
}

/* Ctrl-C (and SIGTERM) in each phase of init. */
static void test_init_interrupted(void **state) {
        struct env *e = *state;
        struct trap traps[] = {
                { .name = "disk-create", .action = FAKE_SIGINT },
                { .name = "start", .arg = "install", .action = FAKE_SIGINT },
                { .name = "boot", .arg = "disk", .action = FAKE_SIGTERM },
                { .name = "agent-up", .action = FAKE_SIGINT },
                { .name = "execute", .arg = "touch /run/vmcloak-poweroff; poweroff", .action = FAKE_SIGTERM },
        };
        for (size_t i = 0; i < ELEMENTSOF(traps); i++) {
                interrupt_reset();
                fake_set_hook(trap_hook, &traps[i]);
                char name[16];
                snprintf(name, sizeof name, "int%zu", i);
                int r = init_image(e, name);
                if (r != -ECANCELED)
                        fail_msg("init interrupted at %s %s returned %d", traps[i].name, strempty(traps[i].arg), r);
                assert_nothing_left(e, 0, 0, "");
        }
        fake_set_hook(NULL, NULL);
}

/* ---- install ---- */

static char *disk_text(const char *name) {
        _cleanup_free_ char *p = paths_image_disk(name);
        char *t = NULL;
        assert_int_equal(read_full_file(p, &t, NULL), 0);
        return t;
}

static void test_install_reboot_step(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        char *tokens[] = { "run:echo one", "run:echo two", NULL };
        struct install_plan plan;
        assert_int_equal(install_plan_parse(tokens, &plan), 0);
        /* run, reboot, run: the catalog's shape (a reboot between two commands). */
        assert_int_equal(install_plan_add_reboot(&plan), 0);
        struct install_step two = plan.steps[1];
        plan.steps[1] = plan.steps[2];
        plan.steps[2] = two;
        struct install_request q = { .name = "base", .plan = &plan, .vm = { .accel = VM_ACCEL_TCG } };
        size_t mark = fake_journal_count("*");
        assert_int_equal(pipeline_install(&e->pl, &q), 0);
        ssize_t one = fake_journal_find("execute base: echo one", mark);
        ssize_t boot = fake_journal_find("execute base: reboot", (size_t)one);
        ssize_t rb = fake_journal_find("reboot base", (size_t)boot);
        ssize_t up = fake_journal_find("agent-up base", (size_t)rb);
        ssize_t second = fake_journal_find("execute base: echo two", (size_t)up);
        ssize_t commit = fake_journal_find("disk-commit base.qcow2.install-*", (size_t)second);
        assert_true(one >= 0 && boot > one && rb > boot && up > rb && second > up && commit > second);
        install_plan_free(&plan);
        assert_nothing_left(e, 1, 0, "base.qcow2");
}

/* ---- install from a catalog (deps/resolve.h, deps/runner.h) ---- */

static char *cat_linux[] = { "linux", NULL };
static char *cat_a_deps[] = { "b", NULL };
static int cat_reboot_codes[] = { 7 };
static struct dep_step cat_b_steps[] = { { .kind = DEP_STEP_RUN, .text = "echo b-ran" } };
static struct dep_step cat_a_steps[] = {
        { .kind = DEP_STEP_UPLOAD, .src = { DEP_SRC_INSTALLER }, .to = "/tmp/{{installer}}" },
        { .kind = DEP_STEP_UPLOAD, .src = { DEP_SRC_DATA, "hello.txt" }, .to = "/tmp/hello-{{version}}.txt" },
        { .kind = DEP_STEP_RUN, .text = "wants-reboot {{version}}", .reboot = cat_reboot_codes, .n_reboot = 1 },
        { .kind = DEP_STEP_RUN, .text = "echo a-ran" },
};
static struct dep_step cat_bad_steps[] = {
        { .kind = DEP_STEP_RUN, .text = "echo fine" },
        { .kind = DEP_STEP_RUN, .text = "false --really" },
};
static struct dep_step cat_iso_steps[] = {
        { .kind = DEP_STEP_ATTACH_ISO, .src = { DEP_SRC_SETTING, "isopath" } },
        { .kind = DEP_STEP_RUN, .text = "echo on-cd", .when = { .setting_key = "skip", .setting_value = "0" } },
        { .kind = DEP_STEP_DETACH_ISO },
};
static struct dep_setting cat_iso_settings[] = { { .key = "isopath", .required = true }, { .key = "skip", .default_value = "0" } };
static struct dep_file cat_a_inst[] = { { .version = "1.0", .filename = "a-setup.bin" } };
static struct dep_url cat_dead[] = { { .url = "http://127.0.0.1:9/gone.bin", .dead = "its host went dark" } };
static struct dep_file cat_gone_inst[] = { { .filename = "gone.bin", .sha1 = "0000000000000000000000000000000000000000",
                                             .urls = cat_dead, .n_urls = 1 } };
static struct dep_step cat_gone_steps[] = { { .kind = DEP_STEP_UPLOAD, .src = { DEP_SRC_INSTALLER }, .to = "/tmp/gone" } };

struct cat_env {
        char *dir;               /* the entries' data folder and --files-dir */
        struct dependency a, b, bad, gone, iso;
        struct dependency *deps[5];
        struct dep_catalog cat;
};

static void cat_init(struct cat_env *c) {
        c->dir = test_tmpdir();
        _cleanup_free_ char *hello = path_join(c->dir, "hello.txt"), *inst = path_join(c->dir, "a-setup.bin");
        assert_int_equal(write_file(hello, "hello\n", 6, 0644), 0);
        assert_int_equal(write_file(inst, "installer\n", 10, 0644), 0);
        static char sha256[SHA256_HEX_LEN + 1], sha1[SHA1_HEX_LEN + 1];
        assert_int_equal(download_hash_file(inst, sha256, sha1), 0);
        cat_a_inst[0].sha256 = sha256;
        c->a = (struct dependency){ .name = "a", .os = cat_linux, .default_version = "1.0", .depends = cat_a_deps,
                                    .installers = cat_a_inst, .n_installers = 1, .steps = cat_a_steps,
                                    .n_steps = ELEMENTSOF(cat_a_steps), .dir = c->dir };
        c->b = (struct dependency){ .name = "b", .os = cat_linux, .steps = cat_b_steps, .n_steps = 1, .dir = c->dir };
        c->bad = (struct dependency){ .name = "bad", .steps = cat_bad_steps, .n_steps = 2, .dir = c->dir };
        c->iso = (struct dependency){ .name = "iso", .steps = cat_iso_steps, .n_steps = 3, .settings = cat_iso_settings,
                                      .n_settings = 2, .dir = c->dir };
        c->gone = (struct dependency){ .name = "gone", .installers = cat_gone_inst, .n_installers = 1,
                                       .steps = cat_gone_steps, .n_steps = 1, .dir = c->dir };
        c->deps[0] = &c->a, c->deps[1] = &c->b, c->deps[2] = &c->bad, c->deps[3] = &c->gone, c->deps[4] = &c->iso;
        c->cat = (struct dep_catalog){ .deps = c->deps, .n = 5 };
        struct fake_answer ans[] = { { .match = "wants-reboot", .exit_code = 7 } };
        assert_int_equal(fake_add_answer(&ans[0]), 0);
}

static void cat_done(struct cat_env *c) {
        rm_rf(c->dir);
        free(c->dir);
}

static int install_tokens_skip(struct env *e, struct cat_env *c, const char *image, char **tokens, bool force,
                               bool skip_unavailable) {
        struct install_plan plan;
        assert_int_equal(install_plan_parse(tokens, &plan), 0);
        struct install_request q = { .name = image, .plan = &plan, .vm = { .accel = VM_ACCEL_TCG },
                                     .catalog = &c->cat, .files_dir = c->dir, .force_reinstall = force,
                                     .skip_unavailable = skip_unavailable };
        int r = pipeline_install(&e->pl, &q);
        install_plan_free(&plan);
        return r;
}

static int install_tokens(struct env *e, struct cat_env *c, const char *image, char **tokens, bool force) {
        return install_tokens_skip(e, c, image, tokens, force, false);
}

static char *installed_of(struct env *e, const char *name) {
        struct image *img = NULL;
        assert_int_equal(image_get(e->repo, name, &img), 0);
        char *s = strdup(strempty(img->installed));
        image_free(img);
        return s;
}

/* a depends on b: b first, a reboot after it, a's installer (from --files-dir) and data file
 * uploaded with templates expanded, an exit code in `reboot` reboots after a; both recorded;
 * a second install skips them without booting; --force-reinstall runs a again (not b). */
static void test_install_catalog(void **state) {
        struct env *e = *state;
        struct cat_env c;
        cat_init(&c);
        assert_int_equal(init_image(e, "cat"), 0);
        char *tokens[] = { "a", NULL };
        size_t mark = fake_journal_count("*");
        assert_int_equal(install_tokens(e, &c, "cat", tokens, false), 0);
        ssize_t b = fake_journal_find("execute cat: echo b-ran", mark);
        ssize_t rb1 = fake_journal_find("reboot cat", (size_t)b);
        ssize_t up1 = fake_journal_find("upload cat /tmp/a-setup.bin", (size_t)rb1);
        ssize_t up2 = fake_journal_find("upload cat /tmp/hello-1.0.txt", (size_t)up1);
        ssize_t wr = fake_journal_find("execute cat: wants-reboot 1.0", (size_t)up2);
        ssize_t a = fake_journal_find("execute cat: echo a-ran", (size_t)wr);
        ssize_t rb2 = fake_journal_find("reboot cat", (size_t)a);
        ssize_t commit = fake_journal_find("disk-commit cat.qcow2.install-*", (size_t)a);
        if (!(b >= 0 && rb1 > b && up1 > rb1 && up2 > up1 && wr > up2 && a > wr && commit > a))
                fail_msg("order: b %zd reboot %zd uploads %zd %zd run %zd a %zd commit %zd\n%s", b, rb1, up1, up2, wr,
                         a, commit, fake_journal_text());
        /* a was the last: its reboot request is left to the shutdown. */
        assert_true(rb2 < 0 || rb2 > commit);
        struct fake_upload u;
        assert_int_equal(fake_upload_find("cat", "/tmp/hello-1.0.txt", &u), 0);
        assert_int_equal(u.size, 6);
        char *inst = installed_of(e, "cat");
        assert_true(installed_has(inst, "a", "1.0") && installed_has(inst, "b", NULL));
        free(inst);

        /* Recorded: nothing boots. */
        mark = fake_journal_count("*");
        assert_int_equal(install_tokens(e, &c, "cat", tokens, false), 0);
        assert_true(fake_journal_find("start cat*", mark) < 0);

        /* --force-reinstall: a again; b, its sub-dependency, stays skipped (VMCloak §7.2). */
        mark = fake_journal_count("*");
        assert_int_equal(install_tokens(e, &c, "cat", tokens, true), 0);
        assert_true(fake_journal_find("execute cat: echo a-ran", mark) >= 0);
        assert_true(fake_journal_find("execute cat: echo b-ran", mark) < 0);
        cat_done(&c);
        assert_nothing_left(e, 1, 0, "cat.qcow2");
}

/* A failing step stops the install: the image and its record are unchanged; a required
 * setting missing and a missing ISO are refused before anything boots; attach_iso puts the
 * ISO into the install VM's drive. */
static void test_install_catalog_refusals(void **state) {
        struct env *e = *state;
        struct cat_env c;
        cat_init(&c);
        assert_int_equal(init_image(e, "cat2"), 0);
        char *before = disk_text("cat2"), *inst_before = installed_of(e, "cat2");
        char *bad[] = { "b", "bad", NULL };
        assert_int_equal(install_tokens(e, &c, "cat2", bad, false), -EPROTO);
        assert_true(fake_journal_find("execute cat2: false --really", 0) >= 0);
        char *after = disk_text("cat2"), *inst_after = installed_of(e, "cat2");
        assert_string_equal(before, after);
        assert_string_equal(inst_before, inst_after);
        free(after);
        free(inst_after);

        size_t mark = fake_journal_count("*");
        char *nosetting[] = { "iso", NULL };
        assert_int_equal(install_tokens(e, &c, "cat2", nosetting, false), -EINVAL);
        char *noiso[] = { "iso", "iso.isopath=/nonexistent/x.iso", NULL };
        assert_int_equal(install_tokens(e, &c, "cat2", noiso, false), -ENOENT);
        assert_true(fake_journal_find("start cat2*", mark) < 0);

        _cleanup_free_ char *iso = path_join(c.dir, "x.iso");
        assert_int_equal(write_file(iso, "iso", 3, 0644), 0);
        _cleanup_free_ char *setting = strdup_printf("iso.isopath=%s", iso);
        char *withiso[] = { "iso", setting, NULL };
        mark = fake_journal_count("*");
        assert_int_equal(install_tokens(e, &c, "cat2", withiso, false), 0);
        ssize_t in = fake_journal_find("insert cat2 0 x.iso", mark);
        ssize_t run = fake_journal_find("execute cat2: echo on-cd", (size_t)in);
        ssize_t out = fake_journal_find("eject cat2 0", (size_t)run);
        if (!(in >= 0 && run > in && out > run))
                fail_msg("insert %zd run %zd eject %zd\n%s", in, run, out, fake_journal_text());

        /* A file that cannot be had: nothing boots; with --skip-unavailable the entry is left
         * out (and not recorded) and the others install. */
        char *gone[] = { "gone", "b", NULL };
        mark = fake_journal_count("*");
        assert_int_equal(install_tokens(e, &c, "cat2", gone, false), -ENOENT);
        assert_true(fake_journal_find("start cat2*", mark) < 0);
        assert_int_equal(install_tokens_skip(e, &c, "cat2", gone, false, true), 0);
        assert_true(fake_journal_find("execute cat2: echo b-ran", mark) >= 0);
        assert_true(fake_journal_find("upload cat2 /tmp/gone", mark) < 0);
        char *inst = installed_of(e, "cat2");
        assert_true(installed_has(inst, "b", NULL) && !installed_has(inst, "gone", NULL));
        free(inst);
        free(before);
        free(inst_before);
        cat_done(&c);
        assert_nothing_left(e, 1, 0, "cat2.qcow2");
}

/* A failing step, the machine dying during a step, Ctrl-C during a step and at the commit:
 * the image stays exactly as it was and no overlay is left. */
static void test_install_failures(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "img"), 0);
        char *before = disk_text("img");
        struct {
                struct trap t;
                int want;
        } cases[] = {
                { { .name = "none" }, -EPROTO },
                { { .name = "execute", .arg = "sleep", .action = FAKE_DIE }, 0 },
                { { .name = "execute", .arg = "sleep", .action = FAKE_SIGINT }, -ECANCELED },
                /* Too late to stop: the commit runs to its end and the install counts. */
                { { .name = "disk-commit", .action = FAKE_SIGTERM }, 1 },
                { { .name = "disk-overlay", .action = FAKE_FAIL, .err = ENOSPC }, -ENOSPC },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                interrupt_reset();
                fake_set_hook(trap_hook, &cases[i].t);
                char *tokens[] = { i == 0 ? "run:false" : "run:sleep 1", NULL };
                struct install_plan plan;
                assert_int_equal(install_plan_parse(tokens, &plan), 0);
                struct install_request q = { .name = "img", .plan = &plan, .vm = { .accel = VM_ACCEL_TCG } };
                int r = pipeline_install(&e->pl, &q);
                install_plan_free(&plan);
                if (cases[i].want == 1 ? r != 0 : cases[i].want ? r != cases[i].want : r >= 0)
                        fail_msg("install case %zu returned %d", i, r);
                char *after = disk_text("img");
                if (cases[i].want != 1)
                        assert_string_equal(before, after);
                free(before);
                before = after;
                assert_nothing_left(e, 1, 0, "img.qcow2");
        }
        free(before);
        fake_set_hook(NULL, NULL);
}

/* ---- snapshot and restore ---- */

static struct snapshot_request snap_req(const char *image, const char *vmname, unsigned count, unsigned jobs) {
        return (struct snapshot_request){ .image = image, .vmname = vmname, .count = count, .jobs = jobs,
                                          .compress = VM_COMPRESS_LZ4, .vm = { .accel = VM_ACCEL_TCG } };
}

static void assert_vm_complete_os(const char *vm, const char *os_version) {
        _cleanup_free_ char *dir = paths_vm_dir(vm);
        static const char *const files[] = { "disk.qcow2", "memory.snapshot", "machineinfo.json" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = path_join(dir, files[i]);
                if (!path_exists(p))
                        fail_msg("%s has no %s", vm, files[i]);
        }
        _cleanup_free_ char *mi = path_join(dir, "machineinfo.json");
        json_object *root = json_object_from_file(mi);
        assert_non_null(root);
        const char *why = NULL;
        if (machineinfo_validate(root, &why) < 0)
                fail_msg("%s: %s", mi, why);
        json_object *m = json_object_object_get(root, "machine");
        assert_string_equal(json_object_get_string(json_object_object_get(m, "os_version")), os_version);
        assert_string_equal(json_object_get_string(json_object_object_get(root, "machinery_version")), "8.2.0");
        json_object_put(root);
}

static void assert_vm_complete(const char *vm) { assert_vm_complete_os(vm, "6.1.0-fake-amd64"); }

static void test_snapshot_count3_jobs2(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct snapshot_request q = snap_req("base", "vm", 3, 2);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_nothing_left(e, 1, 3, "base.qcow2");
        assert_listing("vms/qemu", "vm1 vm2 vm3");
        const char *ips[] = { "10.0.2.10", "10.0.2.11", "10.0.2.12" };
        for (int i = 0; i < 3; i++) {
                char name[8];
                snprintf(name, sizeof name, "vm%d", i + 1);
                assert_vm_complete(name);
                _cleanup_snapshot_ struct snapshot *s = NULL;
                assert_int_equal(repo_snapshot_get(e->repo, name, &s), 0);
                assert_string_equal(s->ipaddr, ips[i]);
                /* It took its new address and was saved there. */
                char pat[64];
                snprintf(pat, sizeof pat, "address %s 1", name);
                assert_journal_has(pat);
                snprintf(pat, sizeof pat, "save %s lz4", name);
                assert_journal_has(pat);
        }
        _cleanup_image_ struct image *img = NULL;
        assert_int_equal(repo_image_get(e->repo, "base", &img), 0);
        assert_string_equal(img->mode, "multiattach");
}

/* A Windows 10 image (the real profile's flow and commands, media from the fake) through init
 * and a snapshot: init reads the build from "ver" and shuts down with shutdown /s; each VM gets
 * a Setup-style computer name through WMI, reboots, and moves to its address through the agent's
 * netcfg subcommand by its own MAC; the agent's memprep prepares its memory before it is saved
 * (a memprep failure is a warning: the VM is saved without it). */
/* threemonpatch and finalize as the shipped catalog has them (data/deps), the patch's file
 * in a folder for --files-dir. */
static char *wf_os[] = { "win10x64", NULL };
static struct dep_url wf_dead[] = { { .url = "https://hatching.dev/hatchvm/patchandgo_amd64_vmcloak.exe",
                                      .dead = "hatching.dev is offline" } };
static struct dep_file wf_patch[] = { { .arch = "amd64", .filename = "patchandgo_amd64_vmcloak.exe", .urls = wf_dead,
                                        .n_urls = 1 } };
static struct dep_step wf_patch_steps[] = {
        { .kind = DEP_STEP_UPLOAD, .src = { DEP_SRC_INSTALLER }, .to = "C:\\patchandgo.exe" },
        { .kind = DEP_STEP_RUN, .text = "C:\\patchandgo.exe", .timeout_s = 600 },
        { .kind = DEP_STEP_REMOVE, .text = "C:\\patchandgo.exe" },
};
static struct dep_step wf_fin_steps[] = {
        { .kind = DEP_STEP_POWERSHELL, .text = "Stop-Service wuauserv\n" },
        /* a .ps1 script step runs with PowerShell (cmd /c would open it in Notepad) */
        { .kind = DEP_STEP_SCRIPT, .src = { DEP_SRC_DATA, "fin.ps1" } },
};

struct win_final {
        char *dir;
        struct dependency patch, fin;
        struct dependency *deps[2];
        struct dep_catalog cat;
};

static void win_final_init(struct win_final *w) {
        w->dir = test_tmpdir();
        _cleanup_free_ char *f = path_join(w->dir, "patchandgo_amd64_vmcloak.exe");
        assert_int_equal(write_file(f, "MZ patch", 8, 0644), 0);
        static char sha256[SHA256_HEX_LEN + 1], sha1[SHA1_HEX_LEN + 1];
        assert_int_equal(download_hash_file(f, sha256, sha1), 0);
        wf_patch[0].sha1 = sha1;
        w->patch = (struct dependency){ .name = "threemonpatch", .os = wf_os, .installers = wf_patch,
                                        .n_installers = 1, .steps = wf_patch_steps, .n_steps = 3 };
        _cleanup_free_ char *ps1 = path_join(w->dir, "fin.ps1");
        assert_int_equal(write_file(ps1, "exit 0\r\n", 8, 0644), 0);
        w->fin = (struct dependency){ .name = "finalize", .os = wf_os, .steps = wf_fin_steps, .n_steps = 2,
                                      .dir = w->dir };
        w->deps[0] = &w->fin, w->deps[1] = &w->patch;
        w->cat = (struct dep_catalog){ .deps = w->deps, .n = 2 };
}

static void win_final_done(struct win_final *w) {
        rm_rf(w->dir);
        free(w->dir);
}

static void test_windows_image_snapshot(void **state) {
        struct env *e = *state;
        struct os_profile w10 = os_profile_win10x64;
        w10.build_media = fake_media_facts;
        struct fake_script s;
        default_script(&s);
        s.boot[FAKE_BOOT_INSTALL].end = FAKE_END_AGENT;
        s.boot[FAKE_BOOT_INSTALL].serial_end = NULL;
        s.system = "Windows";
        assert_int_equal(fake_set_script(&s), 0);
        struct fake_answer a[] = {
                { .match = "cmd /c ver", .out = "\r\nMicrosoft Windows [Version 10.0.19045.2965]\r\n" },
                { .match = "shutdown /s", .effect = FAKE_EFFECT_POWEROFF },
                { .match = "shutdown /r", .effect = FAKE_EFFECT_REBOOT },
                { .match = "*\" netcfg --mac *", .how = FAKE_MATCH_GLOB, .effect = FAKE_EFFECT_SET_ADDRESS },
        };
        for (size_t i = 0; i < ELEMENTSOF(a); i++)
                assert_int_equal(fake_add_answer(&a[i]), 0);
        struct init_request iq = init_req("w10", &w10);
        assert_int_equal(pipeline_init(&e->pl, &iq), 0);
        _cleanup_image_ struct image *row = NULL;
        assert_int_equal(repo_image_get(e->repo, "w10", &row), 0);
        assert_string_equal(row->osversion, "win10x64");
        assert_string_equal(row->os_build, "19045"); /* the guest's "ver", over the media's */
        assert_journal_has("execute w10: shutdown /s /t 0");
        /* The catalog's threemonpatch and finalize, their shape as shipped: the patch's only URL is
         * dark, so without its file the snapshot is refused before any VM starts. */
        struct win_final wf;
        win_final_init(&wf);
        struct snapshot_request q = snap_req("w10", "wvm", 1, 1);
        q.catalog = &wf.cat;
        size_t mark = fake_journal_count("*");
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -ENOENT);
        assert_true(fake_journal_find("start wvm*", mark) < 0);
        q.files_dir = wf.dir;
        mark = fake_journal_count("*");
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_vm_complete_os("wvm", "10");
        ssize_t up = fake_journal_find("upload wvm C:\\patchandgo.exe", mark);
        ssize_t run = fake_journal_find("execute wvm: C:\\patchandgo.exe", (size_t)up);
        ssize_t fin = fake_journal_find("execute wvm: powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass "
                                        "-File \"C:\\Windows\\Temp\\vmcloak-finalize-1.ps1\"", (size_t)run);
        ssize_t scr = fake_journal_find("execute wvm: powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass "
                                        "-File \"C:\\Windows\\Temp\\vmcloak-fin.ps1\"", (size_t)fin);
        ssize_t net = fake_journal_find("address wvm 1", (size_t)scr);
        if (!(up >= 0 && run > up && fin > run && scr > fin && net > scr))
                fail_msg("patch %zd %zd finalize %zd script %zd readdressed %zd\n%s", up, run, fin, scr, net,
                         fake_journal_text());
        /* --nopatch: finalize only. */
        q.vmname = "wvm2";
        q.nopatch = true;
        q.files_dir = NULL;
        mark = fake_journal_count("*");
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_true(fake_journal_find("execute wvm2: C:\\patchandgo.exe", mark) < 0);
        assert_true(fake_journal_find("execute wvm2: powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass*",
                                      mark) >= 0);
        /* shrink_memory: the agent's memprep by its own path, after the move, before the save. */
        ssize_t mp = fake_journal_find("execute wvm: \"/opt/fake/agent\" memprep", (size_t)net);
        ssize_t save = fake_journal_find("save wvm *", (size_t)(mp < 0 ? 0 : mp));
        if (!(mp > net && save > mp))
                fail_msg("readdressed %zd memprep %zd saved %zd\n%s", net, mp, save, fake_journal_text());
        /* memprep failing (not an administrator, or an agent that predates it): one warning, and
         * the VM is saved without the preparation. */
        struct fake_answer denied = { .match = "\"/opt/fake/agent\" memprep", .domain = "wvm3", .exit_code = 1,
                                      .err = "memprep: empty the working sets (MemoryEmptyWorkingSets) failed "
                                             "(0xC0000061 STATUS_PRIVILEGE_NOT_HELD): the agent must run as an "
                                             "administrator\r\n" };
        assert_int_equal(fake_add_answer(&denied), 0);
        q.vmname = "wvm3";
        mark = fake_journal_count("*");
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        ssize_t mp3 = fake_journal_find("execute wvm3: \"/opt/fake/agent\" memprep", mark);
        assert_true(mp3 >= 0);
        assert_true(fake_journal_find("save wvm3 *", (size_t)mp3) > mp3);
        _cleanup_snapshot_ struct snapshot *saved3 = NULL;
        assert_int_equal(repo_snapshot_get(e->repo, "wvm3", &saved3), 0);
        win_final_done(&wf);
        q.vmname = "wvm";
        _cleanup_snapshot_ struct snapshot *sn = NULL;
        assert_int_equal(repo_snapshot_get(e->repo, "wvm", &sn), 0);
        /* DESKTOP- and 7 letters or digits, as Windows Setup names computers. */
        assert_true(strncmp(sn->hostname, "DESKTOP-", 8) == 0 && strlen(sn->hostname) == 15);
        char pat[256];
        snprintf(pat, sizeof pat,
                 "execute wvm: powershell -NoProfile -NonInteractive -Command \"(Get-WmiObject "
                 "Win32_ComputerSystem).Rename('%s')\"", sn->hostname);
        assert_journal_has(pat);
        assert_journal_has("execute wvm: shutdown /r /t 1");
        /* {agent} is the agent's own path (its /path answer). */
        snprintf(pat, sizeof pat,
                 "execute wvm: \"/opt/fake/agent\" netcfg --mac %s --ip %s/24 --gateway 10.0.2.2 --dns 10.0.2.3",
                 sn->mac, sn->ipaddr);
        assert_journal_has(pat);
        assert_journal_has("address wvm 1");
        assert_int_equal(fake_journal_count("execute wvm: sync*"), 0);
}

/* One VM of three dies while it boots: the other two are complete, it leaves nothing. */
static void test_snapshot_one_fails(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct trap t = { .name = "boot", .domain = "vm2", .action = FAKE_DIE };
        fake_set_hook(trap_hook, &t);
        struct snapshot_request q = snap_req("base", "vm", 3, 2);
        q.boot_each = true; /* each VM's own boot (the fleet's: test_snapshot_fleet_one_fails) */
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EIO);
        fake_set_hook(NULL, NULL);
        assert_listing("vms/qemu", "vm1 vm3");
        assert_vm_complete("vm1");
        assert_vm_complete("vm3");
        assert_nothing_left(e, 1, 2, "base.qcow2");
        assert_listing("log", "base vm2");
}

/* Ctrl-C at each moment of a VM's build: it leaves nothing; the VMs done before stay. */
static void test_snapshot_interrupted(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct trap traps[] = {
                { .name = "disk-overlay", .action = FAKE_SIGINT },
                { .name = "boot", .arg = "disk", .action = FAKE_SIGINT },
                { .name = "execute", .arg = "ip link set dev eth0 address ", .action = FAKE_SIGTERM },
                { .name = "save", .action = FAKE_SIGINT },
        };
        size_t done = 0;
        for (size_t i = 0; i < ELEMENTSOF(traps); i++) {
                interrupt_reset();
                /* The first VM of each run completes; the second is interrupted. */
                traps[i].skip = 1;
                fake_set_hook(trap_hook, &traps[i]);
                char prefix[16];
                snprintf(prefix, sizeof prefix, "s%zu_", i);
                struct snapshot_request q = snap_req("base", prefix, 2, 1);
                q.boot_each = true; /* the fleet's moments: test_snapshot_fleet_interrupted */
                int r = pipeline_snapshot(&e->pl, &q);
                if (r != -ECANCELED)
                        fail_msg("snapshot interrupted at %s returned %d", traps[i].name, r);
                done++;
                char first[32], second[32];
                snprintf(first, sizeof first, "%s1", prefix);
                snprintf(second, sizeof second, "%s2", prefix);
                assert_vm_complete(first);
                _cleanup_free_ char *dir2 = paths_vm_dir(second);
                assert_false(path_exists(dir2));
                assert_nothing_left(e, 1, done, "base.qcow2");
        }
        fake_set_hook(NULL, NULL);
}

/* ---- snapshot --count N from one boot (issue 15) ---- */

/* "<home>/fleet" holds nothing. */
static void assert_no_template(void) { assert_listing("fleet", ""); }

/* Three VMs, two at a time: the image boots once (the template, saved raw), each VM is started
 * from that memory on its own copy of the template's disk, reseeded, and moved to its own MAC and
 * address; the template's folder is gone afterwards. */
static void test_snapshot_fleet(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        size_t mark = fake_journal_count("*");
        struct snapshot_request q = snap_req("base", "vm", 3, 2);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_nothing_left(e, 1, 3, "base.qcow2");
        assert_no_template();
        assert_listing("vms/qemu", "vm1 vm2 vm3");
        assert_int_equal(fake_journal_count("start template media=[]"), 1); /* a disk boot */
        assert_int_equal(fake_journal_count("save template none"), 1);
        assert_int_equal(fake_journal_count("disk-overlay*"), 1);
        assert_true(fake_journal_find("disk-overlay disk.qcow2 on base.qcow2", mark) >= 0);
        ssize_t saved = fake_journal_find("save template none", mark);
        for (int i = 1; i <= 3; i++) {
                char name[8], pat[160];
                snprintf(name, sizeof name, "vm%d", i);
                assert_vm_complete(name);
                _cleanup_snapshot_ struct snapshot *sn = NULL;
                assert_int_equal(repo_snapshot_get(e->repo, name, &sn), 0);
                snprintf(pat, sizeof pat, "start %s media=[] memory=memory.snapshot", name);
                ssize_t st = fake_journal_find(pat, (size_t)saved);
                snprintf(pat, sizeof pat, "execute %s: echo *", name);
                ssize_t seed = fake_journal_find(pat, (size_t)st);
                if (seed >= 0) { /* the pool, then the clock from the RTC */
                        _cleanup_strv_free_ char **j = fake_journal();
                        assert_non_null(j);
                        assert_true(endswith(j[seed], " > /dev/urandom && hwclock -s -u"));
                }
                snprintf(pat, sizeof pat,
                         "execute %s: ip link set dev eth0 address %s && echo %s > /etc/vmcloak/mac && "
                         "/sbin/vmcloak-setnet %s *",
                         name, sn->mac, sn->mac, sn->ipaddr);
                ssize_t net = fake_journal_find(pat, (size_t)seed);
                snprintf(pat, sizeof pat, "save %s lz4", name);
                ssize_t sv = fake_journal_find(pat, (size_t)net);
                if (!(st > saved && seed > st && net > seed && sv > net))
                        fail_msg("%s: start %zd seed %zd net %zd save %zd\n%s", name, st, seed, net, sv,
                                 fake_journal_text());
                snprintf(pat, sizeof pat, "start %s media=[]", name);
                assert_int_equal(fake_journal_count(pat), 0); /* no boot of its own */
        }
}

/* Another snapshot run (a child process here) is giving 10.0.2.10 to a VM: a run without an IP
 * takes the block after it, one asking for it is refused; an address asked for a VM kept from
 * an earlier run must be its own. */
static void test_snapshot_address_locks(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        int go[2], done[2];
        assert_int_equal(pipe(go), 0);
        assert_int_equal(pipe(done), 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                struct name_lock *l = NULL;
                char c = name_lock(LOCK_ADDRESS, "10.0.2.10", LOCK_EXCLUSIVE, &l, NULL) == 0 ? 'y' : 'n';
                (void)!write(go[1], &c, 1);
                (void)!read(done[0], &c, 1);
                _exit(0);
        }
        char c = 0;
        assert_int_equal(read(go[0], &c, 1), 1);
        assert_int_equal(c, 'y');
        struct snapshot_request q = snap_req("base", "al", 2, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        _cleanup_snapshot_ struct snapshot *a1 = NULL, *a2 = NULL;
        assert_int_equal(repo_snapshot_get(e->repo, "al1", &a1), 0);
        assert_int_equal(repo_snapshot_get(e->repo, "al2", &a2), 0);
        assert_string_equal(a1->ipaddr, "10.0.2.11");
        assert_string_equal(a2->ipaddr, "10.0.2.12");
        q = snap_req("base", "asked", 1, 1);
        q.first_ip = "10.0.2.10";
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EADDRINUSE);
        (void)!write(done[1], "x", 1);
        int st;
        assert_int_equal(waitpid(child, &st, 0), child);
        /* The lock is gone with its process: the address can be given now. */
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        /* A kept VM with another address than the one asked for: refused, not replaced. */
        q = snap_req("base", "al", 2, 1);
        q.first_ip = "10.0.2.40";
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EADDRINUSE);
        q.first_ip = "10.0.2.11";
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        close(go[0]);
        close(go[1]);
        close(done[0]);
        close(done[1]);
}

/* One VM of three dies as it starts from the template: the others are complete, it leaves
 * nothing, and the template goes. */
static void test_snapshot_fleet_one_fails(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct trap t = { .name = "start", .arg = "restore", .domain = "vm2", .action = FAKE_FAIL };
        fake_set_hook(trap_hook, &t);
        struct snapshot_request q = snap_req("base", "vm", 3, 2);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EIO);
        fake_set_hook(NULL, NULL);
        assert_int_equal(t.hits, 1);
        assert_listing("vms/qemu", "vm1 vm3");
        assert_vm_complete("vm1");
        assert_vm_complete("vm3");
        assert_nothing_left(e, 1, 2, "base.qcow2");
        assert_no_template();
        /* A template that fails: no VM starts, nothing stays. */
        struct trap tt = { .name = "agent-up", .domain = "template", .action = FAKE_DIE };
        fake_set_hook(trap_hook, &tt);
        q = snap_req("base", "t", 2, 1);
        size_t mark = fake_journal_count("*");
        assert_int_not_equal(pipeline_snapshot(&e->pl, &q), 0);
        fake_set_hook(NULL, NULL);
        assert_true(fake_journal_find("define t1", mark) < 0);
        assert_listing("vms/qemu", "vm1 vm3");
        assert_nothing_left(e, 1, 2, "base.qcow2");
        assert_no_template();
}

/* Ctrl-C while the template boots or saves, and at each moment of a clone's build: no template
 * folder, no machine, no row of the interrupted VM; the VMs done before stay. */
static void test_snapshot_fleet_interrupted(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct trap traps[] = {
                { .name = "agent-up", .domain = "template", .action = FAKE_SIGINT },
                { .name = "save", .domain = "template", .action = FAKE_SIGTERM },
                { .name = "start", .arg = "restore", .skip = 1, .action = FAKE_SIGINT },
                { .name = "execute", .arg = "echo ", .skip = 1, .action = FAKE_SIGINT },
                { .name = "execute", .arg = "ip link set dev eth0 address ", .skip = 1, .action = FAKE_SIGTERM },
                { .name = "save", .arg = "lz4", .skip = 1, .action = FAKE_SIGINT },
        };
        size_t done = 0;
        for (size_t i = 0; i < ELEMENTSOF(traps); i++) {
                interrupt_reset();
                fake_set_hook(trap_hook, &traps[i]);
                char prefix[16];
                snprintf(prefix, sizeof prefix, "f%zu_", i);
                struct snapshot_request q = snap_req("base", prefix, 2, 1);
                int r = pipeline_snapshot(&e->pl, &q);
                if (r != -ECANCELED)
                        fail_msg("snapshot interrupted at %s of %s returned %d", traps[i].name,
                                 strempty(traps[i].domain), r);
                char first[32], second[32];
                snprintf(first, sizeof first, "%s1", prefix);
                snprintf(second, sizeof second, "%s2", prefix);
                _cleanup_free_ char *dir1 = paths_vm_dir(first), *dir2 = paths_vm_dir(second);
                if (traps[i].skip) {
                        assert_vm_complete(first);
                        done++;
                } else
                        assert_false(path_exists(dir1));
                assert_false(path_exists(dir2));
                assert_nothing_left(e, 1, done, "base.qcow2");
                assert_no_template();
        }
        fake_set_hook(NULL, NULL);
}

/* Each reason to boot every VM: the request's (--boot-each, --tpm, --connect, one VM), the OS
 * profile's (no running rename: Windows) and the image's (a hardware profile); a fleet needs none. */
static void test_snapshot_fleet_refusals(void **state) {
        struct env *e = *state;
        struct snapshot_request q = snap_req("base", "vm", 3, 1);
        struct os_profile lin = linux_profile;
        struct snapshot_ctx x = { .req = &q, .prof = &lin };
        assert_null(snapshot_fleet_refusal(&x, 3));
        assert_null(snapshot_fleet_refusal(&x, 1)); /* one VM: no template, no line */
        q.boot_each = true;
        assert_string_equal(snapshot_fleet_refusal(&x, 3), "--boot-each");
        q.boot_each = false;
        q.tpm = true;
        assert_non_null(strstr(snapshot_fleet_refusal(&x, 2), "--tpm"));
        q.tpm = false;
        x.n_hosts = 1;
        assert_non_null(strstr(snapshot_fleet_refusal(&x, 2), "libvirt hosts"));
        x.n_hosts = 0;
        x.prof = &os_profile_win10x64;
        assert_string_equal(snapshot_fleet_refusal(&x, 2), "the OS needs a reboot after a rename");
        x.prof = &lin;
        struct hw_profile hw = { 0 };
        x.hw = &hw;
        assert_non_null(strstr(snapshot_fleet_refusal(&x, 2), "hardware profile"));
        x.hw = NULL;
        /* A fleet on a bridge starts its VMs one at a time (each is the template, MAC and
         * address, until its own); in user mode, or without a fleet, side by side. */
        struct image bimg = { .netmode = (char *)"bridge" }, uimg = { .netmode = (char *)"user" }, nimg = { 0 };
        x.img = &bimg;
        assert_false(snapshot_fleet_one_at_a_time(&x));
        x.tpl_mem = (char *)"memory.snapshot";
        assert_true(snapshot_fleet_one_at_a_time(&x));
        x.img = &nimg; /* VMCloak's rows: no netmode is a bridge */
        assert_true(snapshot_fleet_one_at_a_time(&x));
        x.img = &uimg;
        assert_false(snapshot_fleet_one_at_a_time(&x));
        x.tpl_mem = NULL;
        x.img = NULL;
        /* Through the pipeline: --boot-each boots each VM from its own overlay; no template. */
        assert_int_equal(init_image(e, "base"), 0);
        q = snap_req("base", "vm", 2, 1);
        q.boot_each = true;
        size_t mark = fake_journal_count("*");
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_true(fake_journal_find("define template", mark) < 0);
        assert_true(fake_journal_find("start vm1 media=[]", mark) >= 0 && fake_journal_find("start vm2 media=[]", mark) >= 0);
        assert_int_equal(fake_journal_count("*memory=*"), 0);
        assert_nothing_left(e, 1, 2, "base.qcow2");
        assert_no_template();
}

/* cleanup IMAGE: a template folder of a run that was killed (its pid gone) goes; one of a
 * running vmcloak (this process) stays. */
static void test_cleanup_fleet_template(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        _cleanup_free_ char *root = paths_fleet_dir();
        pid_t dead = fork();
        if (dead == 0)
                _exit(0);
        waitpid(dead, NULL, 0);
        _cleanup_free_ char *stale = strdup_printf("%s/base.template-%d", root, (int)dead);
        _cleanup_free_ char *live = strdup_printf("%s/base.template-%d", root, (int)getpid());
        _cleanup_free_ char *other = strdup_printf("%s/based.template-%d", root, (int)dead);
        const char *dirs[] = { stale, live, other };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                assert_int_equal(mkdir_p(dirs[i], 0700), 0);
                _cleanup_free_ char *f = path_join(dirs[i], "memory.snapshot");
                assert_int_equal(write_file(f, "QEVM", 4, 0644), 0);
        }
        assert_int_equal(pipeline_cleanup(&e->pl, "base"), 0);
        assert_false(path_exists(stale));
        assert_true(path_exists(live));
        assert_true(path_exists(other)); /* another image's */
        /* The next fleet snapshot of the image removes a killed run's template too. */
        assert_int_equal(mkdir_p(stale, 0700), 0);
        assert_int_equal(rm_rf(live), 0); /* named after this process: a running snapshot's, which stays */
        struct snapshot_request q = snap_req("base", "fl", 2, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_false(path_exists(stale));
        assert_true(path_exists(other));
        rm_rf(root);
}

/* ---- snapshot --connect: VMs as persistent domains on libvirt hosts (issue 14) ---- */

static char *lv_two_hosts[] = { "fake:///h1", "fake:///h2", NULL };
static char *lv_one_host[] = { "fake:///h1", NULL };
static char *lv_remote_host[] = { "fake+tcp://far/system", NULL };

static struct snapshot_request lv_req(struct env *e, const char *vmname, unsigned count, unsigned jobs, char **hosts) {
        e->pl.host_driver = &fake_driver;
        struct snapshot_request q = snap_req("base", vmname, count, jobs);
        q.connect = hosts;
        return q;
}

/* "a b c": the host's persistent domains, or its pool's volumes (the image's shown as BASE). */
static char *lv_domains(const char *uri) {
        _cleanup_strv_free_ char **l = NULL;
        assert_int_equal(fake_host_domains(uri, &l), 0);
        return l[0] ? strv_join(l, " ") : strdup("");
}

static char *lv_volumes(const char *uri) {
        struct vm_conn_opts o = { .uri = uri };
        _cleanup_(vm_conn_closep) struct vm_conn *c = NULL;
        assert_int_equal(vm_conn_open(&fake_driver, &o, &c), 0);
        _cleanup_strv_free_ char **l = NULL;
        assert_int_equal(vm_volume_list(c, &l), 0);
        _cleanup_strv_free_ char **out = NULL;
        for (char **v = l; v && *v; v++)
                if ((startswith(*v, "vmcloak-base-") || startswith(*v, "vmcloak-w11-")) && endswith(*v, ".qcow2") &&
                    strlen(strrchr(*v, '-')) == 1 + 12 + strlen(".qcow2"))
                        assert_int_equal(strv_extend(&out, "BASE"), 0);
        for (char **v = l; v && *v; v++)
                if (!startswith(*v, "vmcloak-"))
                        assert_int_equal(strv_extend(&out, *v), 0);
        return out ? strv_join(out, " ") : strdup("");
}

static void assert_lv_host(const char *uri, const char *domains, const char *volumes) {
        _cleanup_free_ char *d = lv_domains(uri), *v = lv_volumes(uri);
        if (!streq(d, domains) || !streq(v, volumes))
                fail_msg("%s holds domains '%s' and volumes '%s', expected '%s' and '%s'", uri, d, v, domains, volumes);
}

/* Three VMs over two hosts, two at a time: VM i on host i mod 2, each a kept persistent domain
 * with a running snapshot "vmcloak", switched off, its overlay on the image uploaded once per
 * host; rows name where they live; no memory file, no machineinfo.json; delvm takes everything
 * back, the image's volume with the last VM of its host. */
static void test_snapshot_libvirt_spread(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct snapshot_request q = lv_req(e, "lv", 3, 2, lv_two_hosts);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_nothing_left(e, 1, 3, "base.qcow2");
        assert_lv_host("fake:///h1", "lv1 lv3", "BASE lv1.qcow2 lv3.qcow2");
        assert_lv_host("fake:///h2", "lv2", "BASE lv2.qcow2");
        assert_int_equal(fake_journal_count("volume-upload fake:///h1 vmcloak-base-*"), 1);
        assert_int_equal(fake_journal_count("volume-upload fake:///h2 vmcloak-base-*"), 1);
        assert_int_equal(fake_journal_count("save *"), 0);
        assert_listing("vms/qemu", "");
        assert_listing("vms/libvirt", "lv1 lv2 lv3");
        const char *hosts[] = { "fake:///h1", "fake:///h2", "fake:///h1" };
        for (int i = 0; i < 3; i++) {
                char name[8], pat[96];
                snprintf(name, sizeof name, "lv%d", i + 1);
                _cleanup_snapshot_ struct snapshot *s = NULL;
                assert_int_equal(repo_snapshot_get(e->repo, name, &s), 0);
                assert_string_equal(s->libvirt_uri, hosts[i]);
                assert_string_equal(s->libvirt_pool, "vmcloak");
                assert_string_equal(s->libvirt_snapshot, "vmcloak");
                snprintf(pat, sizeof pat, "%s.qcow2", name);
                assert_string_equal(s->libvirt_volume, pat);
                assert_true(startswith(s->libvirt_base, "vmcloak-base-"));
                assert_non_null(s->libvirt_uuid); /* the domain's, for delvm's check */
                assert_true(startswith(s->libvirt_uuid, "fake-"));
                /* Readdressed, then the snapshot of the running machine, then off, then kept. */
                snprintf(pat, sizeof pat, "address %s 1", name);
                ssize_t a = journal_at(pat);
                snprintf(pat, sizeof pat, "snapshot-create %s vmcloak running", name);
                ssize_t sn = journal_at(pat);
                snprintf(pat, sizeof pat, "destroy %s", name);
                ssize_t off = journal_at(pat);
                snprintf(pat, sizeof pat, "keep %s %s", hosts[i], name);
                ssize_t k = journal_at(pat);
                assert_true(a < sn && sn < off && off < k);
                struct vm_conn_opts o = { .uri = hosts[i] };
                _cleanup_(vm_conn_closep) struct vm_conn *c = NULL;
                assert_int_equal(vm_conn_open(&fake_driver, &o, &c), 0);
                struct vm_domain_info di;
                assert_int_equal(vm_conn_domain_info(c, name, &di), 0);
                assert_false(di.active);
                assert_string_equal(di.current_snapshot, "vmcloak");
                assert_true(di.current_snapshot_running);
                _cleanup_free_ char *dir = paths_libvirt_vm_dir(name);
                _cleanup_free_ char *mi = path_join(dir, "machineinfo.json");
                assert_false(path_exists(mi));
        }
        /* Again: the complete VMs are kept, nothing is built or uploaded twice. */
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_int_equal(fake_journal_count("volume-upload *"), 2);
        assert_int_equal(fake_journal_count("define-persistent *"), 3);
        /* A series lives in one place: the same series without --connect, or a local series
         * continued on hosts, is refused before anything is made. */
        struct snapshot_request local = snap_req("base", "lv", 4, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &local), -EEXIST);
        assert_int_equal(n_snapshots(e), 3);
        assert_listing("vms/qemu", "");

        assert_int_equal(pipeline_delete_vm(&e->pl, "lv1", false), 0);
        assert_lv_host("fake:///h1", "lv3", "BASE lv3.qcow2");
        assert_int_equal(pipeline_delete_vm(&e->pl, "lv3", false), 0);
        assert_lv_host("fake:///h1", "", "");
        assert_int_equal(pipeline_delete_vm(&e->pl, "lv2", false), 0);
        assert_lv_host("fake:///h2", "", "");
        assert_nothing_left(e, 1, 0, "base.qcow2");
        assert_listing("vms/libvirt", "");
        _cleanup_image_ struct image *img = NULL;
        assert_int_equal(repo_image_get(e->repo, "base", &img), 0);
        assert_string_equal(img->mode, "normal");
}

/* delvm of a VM whose host cannot be reached keeps its row (and the host its domain); with
 * force the row goes and the host keeps what it has. */
static void test_snapshot_libvirt_delvm_unreachable(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct snapshot_request q = lv_req(e, "lv", 2, 1, lv_two_hosts);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        struct trap t = { .name = "conn-open", .arg = "fake:///h2", .action = FAKE_FAIL, .err = ECONNREFUSED };
        fake_set_hook(trap_hook, &t);
        assert_int_equal(pipeline_delete_vm(&e->pl, "lv2", false), -ECONNREFUSED);
        assert_int_equal(n_snapshots(e), 2);
        assert_listing("vms/libvirt", "lv1 lv2");
        assert_int_equal(pipeline_delete_vm(&e->pl, "lv2", true), 0);
        fake_set_hook(NULL, NULL);
        assert_int_equal(n_snapshots(e), 1);
        assert_listing("vms/libvirt", "lv1");
        assert_lv_host("fake:///h2", "lv2", "BASE lv2.qcow2");
        assert_int_equal(pipeline_delete_vm(&e->pl, "lv1", false), 0);
        assert_lv_host("fake:///h1", "", "");
        assert_nothing_left(e, 1, 0, "base.qcow2");
}

/* One VM of three dies while it boots: it leaves no domain, no volume, no row; its host keeps
 * no copy of the image (no VM there uses it); the others are complete. */
static void test_snapshot_libvirt_one_fails(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct trap t = { .name = "boot", .domain = "lv2", .action = FAKE_DIE };
        fake_set_hook(trap_hook, &t);
        struct snapshot_request q = lv_req(e, "lv", 3, 2, lv_two_hosts);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EIO);
        fake_set_hook(NULL, NULL);
        assert_nothing_left(e, 1, 2, "base.qcow2");
        assert_lv_host("fake:///h1", "lv1 lv3", "BASE lv1.qcow2 lv3.qcow2");
        assert_lv_host("fake:///h2", "", "");
        assert_journal_has("undefine fake:///h2 lv2");
        assert_listing("vms/libvirt", "lv1 lv3");
        assert_listing("log", "base lv2");
}

/* Ctrl-C at each moment of a libvirt VM's build: it leaves no domain, volume or row; the VMs
 * done before stay, and so does the image's volume they use. Ctrl-C during the upload leaves
 * nothing at all. */
static void test_snapshot_libvirt_interrupted(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct trap up = { .name = "volume-upload", .action = FAKE_SIGINT };
        fake_set_hook(trap_hook, &up);
        struct snapshot_request q0 = lv_req(e, "u", 2, 1, lv_one_host);
        assert_int_equal(pipeline_snapshot(&e->pl, &q0), -ECANCELED);
        assert_lv_host("fake:///h1", "", "");
        assert_nothing_left(e, 1, 0, "base.qcow2");
        struct trap traps[] = {
                { .name = "volume-overlay", .action = FAKE_SIGINT },
                { .name = "boot", .arg = "disk", .action = FAKE_SIGINT },
                { .name = "execute", .arg = "ip link set dev eth0 address ", .action = FAKE_SIGTERM },
                { .name = "snapshot-create", .action = FAKE_SIGINT },
        };
        _cleanup_strv_free_ char **done = NULL;
        for (size_t i = 0; i < ELEMENTSOF(traps); i++) {
                interrupt_reset();
                traps[i].skip = 1;   /* the first VM of each run completes; the second is interrupted */
                fake_set_hook(trap_hook, &traps[i]);
                char prefix[16];
                snprintf(prefix, sizeof prefix, "s%zu_", i);
                struct snapshot_request q = lv_req(e, prefix, 2, 1, lv_one_host);
                int r = pipeline_snapshot(&e->pl, &q);
                if (r != -ECANCELED)
                        fail_msg("snapshot --connect interrupted at %s returned %d", traps[i].name, r);
                char first[32];
                snprintf(first, sizeof first, "%s1", prefix);
                assert_int_equal(strv_extend(&done, first), 0);
                _cleanup_free_ char *doms = strv_join(done, " ");
                _cleanup_strv_free_ char **vols = NULL;
                assert_int_equal(strv_extend(&vols, "BASE"), 0);
                STRV_FOREACH(d, done) {
                        _cleanup_free_ char *v = strdup_printf("%s.qcow2", *d);
                        assert_int_equal(strv_extend(&vols, v), 0);
                }
                _cleanup_free_ char *vl = strv_join(vols, " ");
                assert_lv_host("fake:///h1", doms, vl);
                assert_nothing_left(e, 1, i + 1, "base.qcow2");
        }
        fake_set_hook(NULL, NULL);
}

/* What a host cannot hold is refused before anything boots or is uploaded: a UEFI image on
 * libvirt 9.0 (no internal snapshots of pflash VMs), a user-network image on a remote host. */
static void test_snapshot_libvirt_refusals(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct snapshot_request q = lv_req(e, "far", 1, 1, lv_remote_host);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EOPNOTSUPP);
        struct os_profile w11 = linux_profile;
        w11.uefi = true;
        struct init_request iq = init_req("w11", &w11);
        iq.no_tpm = true;
        assert_int_equal(pipeline_init(&e->pl, &iq), 0);
        q = lv_req(e, "uefi", 1, 1, lv_one_host);
        q.image = "w11";
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EOPNOTSUPP);
        q.tpm = true;
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EINVAL);
        assert_int_equal(fake_journal_count("volume-*"), 0);
        assert_int_equal(fake_journal_count("define-persistent *"), 0);
        assert_lv_host("fake:///h1", "", "");
        assert_lv_host("fake+tcp://far/system", "", "");
        assert_nothing_left(e, 2, 0, "base.qcow2 w11.qcow2 w11.qcow2.nvram");
        assert_listing("vms/libvirt", "");
        /* A host whose libvirt can: the UEFI VM is made. */
        assert_int_equal(fake_set_manager_version("10.10.0"), 0);
        q.tpm = false;
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_journal_has("snapshot-create uefi vmcloak running");
        assert_lv_host("fake:///h1", "uefi", "BASE uefi.qcow2");
}

static void test_restore(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct snapshot_request q = snap_req("base", "r", 1, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        _cleanup_free_ char *vmdir = paths_vm_dir("r");
        _cleanup_free_ char *mem = path_join(vmdir, "memory.snapshot");
        _cleanup_free_ char *mem_before = NULL;
        assert_int_equal(read_full_file(mem, &mem_before, NULL), 0);
        struct fake_answer a = { .match = "hostname", .out = "restored-host\n" };
        assert_int_equal(fake_add_answer(&a), 0);
        struct restore_request rq = { .vmname = "r", .exec = "hostname" };
        size_t mark = fake_journal_count("*");
        assert_int_equal(quiet_stdout(pipeline_restore, &e->pl, &rq), 0);
        ssize_t start = fake_journal_find("start r media=[] memory=memory.snapshot*", mark);
        assert_true(start >= 0);
        assert_true(fake_journal_find("execute r: hostname", (size_t)start) > start);
        assert_listing("vms/qemu/r", "disk.qcow2 machineinfo.json memory.snapshot qemu.log restore.log");
        _cleanup_free_ char *mem_after = NULL;
        assert_int_equal(read_full_file(mem, &mem_after, NULL), 0);
        assert_string_equal(mem_before, mem_after);
        assert_int_equal(fake_live_domains(), 0);

        /* The machine dies while it restores; Ctrl-C while it restores; an agent that never
         * answers: an error each time, and no disposable overlay left. */
        struct trap traps[] = {
                { .name = "start", .arg = "restore", .action = FAKE_FAIL, .err = EIO },
                { .name = "start", .arg = "restore", .action = FAKE_SIGINT },
                { .name = "start", .arg = "restore", .action = FAKE_HANG },
        };
        for (size_t i = 0; i < ELEMENTSOF(traps); i++) {
                interrupt_reset();
                fake_set_hook(trap_hook, &traps[i]);
                rq = (struct restore_request){ .vmname = "r", .timeout_s = 1 };
                int r = quiet_stdout(pipeline_restore, &e->pl, &rq);
                if (r >= 0)
                        fail_msg("restore case %zu succeeded", i);
                _cleanup_free_ char *l = listing("vms/qemu/r");
                if (strstr(l, "disposable"))
                        fail_msg("restore case %zu left %s", i, l);
                _cleanup_free_ char *mem_now = NULL;
                assert_int_equal(read_full_file(mem, &mem_now, NULL), 0);
                assert_string_equal(mem_before, mem_now);
                assert_int_equal(fake_live_domains(), 0);
        }
        fake_set_hook(NULL, NULL);
}

/* A --count run that lost a VM, run again: the complete ones are kept, the missing one is built
 * at the address the series gives it, an incomplete leftover is rebuilt. */
/* ---- firmware state (UEFI vars, TPM) through every step ---- */

/* What a file beside image NAME's disk (suffix ".nvram", ".tpm/tpm2-00.permall") holds; NULL: none. */
static char *beside(const char *disk, const char *suffix) {
        _cleanup_free_ char *p = strdup_printf("%s%s", disk, suffix);
        char *t = NULL;
        return read_full_file(p, &t, NULL) == 0 ? t : NULL;
}

static void expect_beside(const char *disk, const char *suffix, const char *want) {
        _cleanup_free_ char *got = beside(disk, suffix);
        if (!streq_ptr(got, want))
                fail_msg("%s%s holds '%s', expected '%s'", disk, suffix, got ? got : "(none)", want ? want : "(none)");
}

/* init of a profile that needs UEFI and a TPM (Windows 11's needs on the linux flow): the row
 * says so, the first boots made the vars and TPM state beside the disk; --no-tpm leaves the TPM
 * out; a failed init removes them with the disk. */
static void test_init_uefi_tpm(void **state) {
        struct env *e = *state;
        struct os_profile w11 = linux_profile;
        w11.uefi = true;
        w11.tpm = true;
        struct init_request q = init_req("w11", &w11);
        assert_int_equal(pipeline_init(&e->pl, &q), 0);
        _cleanup_image_ struct image *row = NULL;
        assert_int_equal(repo_image_get(e->repo, "w11", &row), 0);
        assert_string_equal(row->firmware, "uefi");
        assert_int_equal(row->secure_boot, 1);
        assert_int_equal(row->tpm, 1);
        assert_journal_has("firmware w11 uefi+sb nvram=w11.qcow2.nvram tpm=w11.qcow2.tpm");
        _cleanup_free_ char *disk = paths_image_disk("w11");
        expect_beside(disk, ".nvram", "boot w11\nboot w11\n");   /* the install boot, the disk boot */
        expect_beside(disk, ".tpm/tpm2-00.permall", "boot w11\nboot w11\n");
        q = init_req("w11n", &w11);
        q.no_tpm = true;
        assert_int_equal(pipeline_init(&e->pl, &q), 0);
        _cleanup_image_ struct image *rown = NULL;
        assert_int_equal(repo_image_get(e->repo, "w11n", &rown), 0);
        assert_int_equal(rown->secure_boot, 1);
        assert_int_equal(rown->tpm, 0);
        assert_journal_has("firmware w11n uefi+sb nvram=w11n.qcow2.nvram tpm=none");
        assert_listing("image", "w11.qcow2 w11.qcow2.nvram w11.qcow2.tpm w11n.qcow2 w11n.qcow2.nvram");
        /* A machine that dies during the install: nothing of it is left. */
        struct trap t = { .name = "start", .domain = "w11x", .skip = 1, .action = FAKE_FAIL, .err = EIO };
        fake_set_hook(trap_hook, &t);
        q = init_req("w11x", &w11);
        assert_true(pipeline_init(&e->pl, &q) < 0);
        fake_set_hook(NULL, NULL);
        assert_listing("image", "w11.qcow2 w11.qcow2.nvram w11.qcow2.tpm w11n.qcow2 w11n.qcow2.nvram");
}

static void test_firmware_state_through_steps(void **state) {
        struct env *e = *state;
        /* init records what it read of the OS and the profile's firmware (linux: BIOS). */
        struct os_profile facts = linux_profile;
        facts.build_media = fake_media_facts;
        struct init_request iq = init_req("base", &facts);
        assert_int_equal(pipeline_init(&e->pl, &iq), 0);
        _cleanup_image_ struct image *row = NULL;
        assert_int_equal(repo_image_get(e->repo, "base", &row), 0);
        assert_string_equal(row->firmware, "bios");
        assert_int_equal(row->secure_boot, 0);
        assert_int_equal(row->tpm, 0);
        assert_string_equal(row->os_build, "6.1.0-57");
        assert_string_equal(row->os_edition, "busybox");
        assert_string_equal(row->os_language, "en-US");
        /* Windows 11's row: UEFI, Secure Boot, a TPM (the linux profile's flow runs it). */
        _cleanup_image_ struct image *img = NULL;
        assert_int_equal(repo_image_get(e->repo, "base", &img), 0);
        assert_int_equal(free_and_strdup(&img->firmware, "uefi"), 0);
        img->secure_boot = 1;
        img->tpm = 1;
        assert_int_equal(repo_image_update(e->repo, img), 0);
        _cleanup_free_ char *disk = paths_image_disk("base");

        /* install: the run boots copies beside its overlay; they become the image's. */
        char *ok[] = { "run:echo one", NULL };
        struct install_plan plan;
        assert_int_equal(install_plan_parse(ok, &plan), 0);
        struct install_request q = { .name = "base", .plan = &plan, .vm = { .accel = VM_ACCEL_TCG } };
        assert_int_equal(pipeline_install(&e->pl, &q), 0);
        install_plan_free(&plan);
        assert_journal_has("firmware base uefi+sb nvram=base.qcow2.install-*"); /* + tpm=base.qcow2.install-PID.qcow2.tpm */
        expect_beside(disk, ".nvram", "boot base\n");
        expect_beside(disk, ".tpm/tpm2-00.permall", "boot base\n");
        assert_nothing_left(e, 1, 0, "base.qcow2 base.qcow2.nvram base.qcow2.tpm");

        /* A failed install: the image's vars and TPM are as they were, no copy is left. */
        char *bad[] = { "run:false", NULL };
        assert_int_equal(install_plan_parse(bad, &plan), 0);
        q.plan = &plan;
        assert_int_equal(pipeline_install(&e->pl, &q), -EPROTO);
        install_plan_free(&plan);
        expect_beside(disk, ".nvram", "boot base\n");
        expect_beside(disk, ".tpm/tpm2-00.permall", "boot base\n");
        assert_nothing_left(e, 1, 0, "base.qcow2 base.qcow2.nvram base.qcow2.tpm");

        /* snapshot: the VM's own vars copy, and no TPM (Cuckoo3 restores it without swtpm). */
        struct snapshot_request sq = snap_req("base", "vm", 1, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &sq), 0);
        assert_journal_has("firmware vm uefi+sb nvram=disk.qcow2.nvram tpm=none");
        _cleanup_free_ char *vmdir = paths_vm_dir("vm");
        _cleanup_free_ char *vmdisk = path_join(vmdir, "disk.qcow2");
        expect_beside(vmdisk, ".nvram", "boot base\nboot vm\n");
        expect_beside(vmdisk, ".tpm/tpm2-00.permall", NULL);
        expect_beside(disk, ".nvram", "boot base\n");     /* the image's own is untouched */

        /* A fleet of a UEFI image: each VM's vars are a copy of the template's, which booted
         * once (the VMs started from its memory, not from the firmware); no TPM. */
        sq = snap_req("base", "uf", 2, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &sq), 0);
        assert_journal_has("firmware template uefi+sb nvram=disk.qcow2.nvram tpm=none");
        for (int i = 1; i <= 2; i++) {
                char name[8];
                snprintf(name, sizeof name, "uf%d", i);
                _cleanup_free_ char *ufdir = paths_vm_dir(name);
                _cleanup_free_ char *ufdisk = path_join(ufdir, "disk.qcow2");
                expect_beside(ufdisk, ".nvram", "boot base\nboot template\n");
                expect_beside(ufdisk, ".tpm/tpm2-00.permall", NULL);
        }
        assert_listing("fleet", "");

        /* snapshot --tpm: the VM's own TPM copy too; restore runs on a copy of it, left nowhere. */
        sq = snap_req("base", "vt", 1, 1);
        sq.tpm = true;
        assert_int_equal(pipeline_snapshot(&e->pl, &sq), 0);
        assert_journal_has("firmware vt uefi+sb nvram=disk.qcow2.nvram tpm=disk.qcow2.tpm");
        _cleanup_free_ char *vtdir = paths_vm_dir("vt");
        _cleanup_free_ char *vtdisk = path_join(vtdir, "disk.qcow2");
        expect_beside(vtdisk, ".tpm/tpm2-00.permall", "boot base\nboot vt\n");
        struct restore_request rq = { .vmname = "vt" };
        assert_int_equal(quiet_stdout(pipeline_restore, &e->pl, &rq), 0);
        assert_listing("vms/qemu/vt", "disk.qcow2 disk.qcow2.nvram disk.qcow2.tpm machineinfo.json memory.snapshot "
                                      "qemu.log restore.log");
        /* What killed runs leave (a dead PID in the name): cleanup removes the state copies too. */
        _cleanup_free_ char *lo_nv = strdup_printf("%s.install-999999.qcow2.nvram", disk);
        _cleanup_free_ char *lo_tpm = strdup_printf("%s.modify-999999.qcow2.tpm", disk);
        _cleanup_free_ char *lo_rtpm = path_join(vtdir, "disposable-999999.qcow2.tpm");
        /* ... and the SMBIOS folders the QEMU driver writes beside an overlay it boots. */
        _cleanup_free_ char *lo_smbios = strdup_printf("%s.install-999999.qcow2.smbios", disk);
        _cleanup_free_ char *lo_rsmbios = path_join(vtdir, "disposable-999999.qcow2.smbios");
        assert_int_equal(write_file(lo_nv, "x", 1, 0644), 0);
        assert_int_equal(mkdir_p(lo_tpm, 0700), 0);
        assert_int_equal(mkdir_p(lo_rtpm, 0700), 0);
        assert_int_equal(mkdir_p(lo_smbios, 0755), 0);
        assert_int_equal(mkdir_p(lo_rsmbios, 0755), 0);
        assert_int_equal(pipeline_cleanup(&e->pl, "base"), 0);
        assert_int_equal(pipeline_cleanup(&e->pl, "vt"), 0);
        assert_false(path_exists(lo_nv));
        assert_false(path_exists(lo_tpm));
        assert_false(path_exists(lo_rtpm));
        assert_false(path_exists(lo_smbios));
        assert_false(path_exists(lo_rsmbios));
        assert_listing("image", "base.qcow2 base.qcow2.nvram base.qcow2.tpm");
        /* --tpm on an image without one is refused before anything is made. */
        assert_int_equal(init_image(e, "plain"), 0);
        sq = snap_req("plain", "vp", 1, 1);
        sq.tpm = true;
        assert_int_equal(pipeline_snapshot(&e->pl, &sq), -EINVAL);
        assert_int_equal(pipeline_delete_image(&e->pl, "plain", false), 0);

        /* clone copies both; delimg removes both. */
        assert_int_equal(pipeline_clone_image(&e->pl, "base", "copy"), 0);
        _cleanup_free_ char *cdisk = paths_image_disk("copy");
        expect_beside(cdisk, ".nvram", "boot base\n");
        expect_beside(cdisk, ".tpm/tpm2-00.permall", "boot base\n");
        assert_int_equal(pipeline_delete_image(&e->pl, "copy", false), 0);
        assert_int_equal(pipeline_delete_image(&e->pl, "base", true), 0);
        assert_nothing_left(e, 0, 0, "");
}

static void test_snapshot_resume(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct trap t = { .name = "boot", .domain = "vm2", .action = FAKE_DIE };
        fake_set_hook(trap_hook, &t);
        struct snapshot_request q = snap_req("base", "vm", 3, 1);
        q.boot_each = true;
        q.first_ip = "10.0.2.30";
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EIO);
        fake_set_hook(NULL, NULL);
        assert_listing("vms/qemu", "vm1 vm3");
        /* vm3's memory file lost: incomplete, rebuilt; vm1 kept; vm2 built. */
        _cleanup_free_ char *dir3 = paths_vm_dir("vm3");
        _cleanup_free_ char *mem3 = path_join(dir3, "memory.snapshot");
        assert_int_equal(unlink(mem3), 0);
        size_t mark = fake_journal_count("*");
        q.first_ip = NULL; /* the series' own addresses, from vm1 */
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        assert_true(fake_journal_find("define vm1", mark) < 0);
        assert_true(fake_journal_find("define vm2", mark) >= 0);
        assert_true(fake_journal_find("define vm3", mark) >= 0);
        const char *want[] = { "10.0.2.30", "10.0.2.31", "10.0.2.32" };
        for (int i = 0; i < 3; i++) {
                char name[8];
                snprintf(name, sizeof name, "vm%d", i + 1);
                assert_vm_complete(name);
                _cleanup_snapshot_ struct snapshot *sn = NULL;
                assert_int_equal(repo_snapshot_get(e->repo, name, &sn), 0);
                assert_string_equal(sn->ipaddr, want[i]);
        }
        assert_nothing_left(e, 1, 3, "base.qcow2");
}

/* An address the user asked for is used as given or refused with the reason, never moved. */
static void test_snapshot_addresses(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct snapshot_request q = snap_req("base", "a", 1, 1);
        q.first_ip = "10.0.2.40";
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        const char *bad[] = { "10.0.2.2", "10.0.2.3", "10.0.2.255", "10.0.2.0", "10.0.2.40", "10.0.2.15",
                              "10.0.3.5" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                q = snap_req("base", "b", 1, 1);
                q.first_ip = bad[i];
                int r = pipeline_snapshot(&e->pl, &q);
                if (r >= 0)
                        fail_msg("snapshot at %s succeeded", bad[i]);
        }
        /* A sequence running into a used address is refused as a whole. */
        q = snap_req("base", "c", 3, 1);
        q.first_ip = "10.0.2.38";
        assert_true(pipeline_snapshot(&e->pl, &q) < 0);
        assert_nothing_left(e, 1, 1, "base.qcow2");
        assert_listing("vms/qemu", "a");
        /* Without a start IP: a free block, said before it starts. */
        q = snap_req("base", "d", 2, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        _cleanup_snapshot_ struct snapshot *d1 = NULL;
        assert_int_equal(repo_snapshot_get(e->repo, "d1", &d1), 0);
        assert_string_equal(d1->ipaddr, "10.0.2.10");
}

/* Hold a name lock in another process (as a running vmcloak does) until release_holder(). */
static pid_t hold_lock_elsewhere(enum lock_kind kind, const char *name, enum lock_mode mode, int *ret_pipe) {
        int p[2], ready[2];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(pipe(ready), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[1]);
                close(ready[0]);
                struct name_lock *l = NULL;
                char c = name_lock(kind, name, mode, &l, NULL) == 0 ? 'y' : 'n';
                if (write(ready[1], &c, 1) != 1 || read(p[0], &c, 1) < 0)
                        _exit(1);
                _exit(0);
        }
        close(p[0]);
        close(ready[1]);
        char c = 0;
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        assert_int_equal(c, 'y');
        *ret_pipe = p[1];
        return pid;
}

static void release_holder(pid_t pid, int fd) {
        close(fd);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* cleanup, delvm, delimg and a second init or clone of a name another vmcloak holds: refused,
 * naming its PID, and nothing of it touched. */
static void test_locked_names(void **state) {
        struct env *e = *state;
        assert_int_equal(init_image(e, "base"), 0);
        struct snapshot_request q = snap_req("base", "busy", 1, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), 0);
        _cleanup_free_ char *vmdir = paths_vm_dir("busy");
        int fd;
        pid_t pid = hold_lock_elsewhere(LOCK_VM, "busy", LOCK_SHARED, &fd); /* a restore --keep */
        assert_int_equal(pipeline_cleanup(&e->pl, "busy"), -EBUSY);
        assert_int_equal(pipeline_delete_vm(&e->pl, "busy", false), -EBUSY);
        assert_int_equal(pipeline_delete_image(&e->pl, "base", true), -EBUSY);
        assert_true(is_dir(vmdir));
        assert_int_equal(n_snapshots(e), 1);
        release_holder(pid, fd);

        pid = hold_lock_elsewhere(LOCK_IMAGE, "twin", LOCK_EXCLUSIVE, &fd); /* an init or clone of twin */
        assert_int_equal(pipeline_clone_image(&e->pl, "base", "twin"), -EBUSY);
        assert_int_equal(init_image(e, "twin"), -EBUSY);
        assert_listing("image", "base.qcow2");
        release_holder(pid, fd);

        pid = hold_lock_elsewhere(LOCK_IMAGE, "base", LOCK_EXCLUSIVE, &fd); /* an install of base */
        q = snap_req("base", "later", 1, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &q), -EBUSY);
        release_holder(pid, fd);

        /* Free again: cleanup of a live VM has nothing to do, delvm goes ahead. */
        assert_int_equal(pipeline_cleanup(&e->pl, "busy"), 0);
        assert_int_equal(pipeline_delete_vm(&e->pl, "busy", false), 0);
        assert_false(is_dir(vmdir));
        assert_int_equal(fake_live_domains(), 0);
        /* Its last snapshot VM gone, the image may change again. */
        _cleanup_image_ struct image *img = NULL;
        assert_int_equal(repo_image_get(e->repo, "base", &img), 0);
        assert_string_equal(img->mode, "normal");
}

/* After a hard kill: cleanup of a name with no row removes what an init or a snapshot left. */
static void test_cleanup_unrecorded(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *disk = paths_image_disk("k9");
        _cleanup_free_ char *iso = paths_iso_dir();
        _cleanup_free_ char *work = strdup_printf("%s/vmcloak-k9-AbC123", iso);
        assert_int_equal(write_file(disk, "x", 1, 0644), 0);
        assert_int_equal(mkdir_p(work, 0755), 0);
        assert_int_equal(pipeline_cleanup(&e->pl, "k9"), 0);
        assert_false(path_exists(disk));
        assert_false(path_exists(work));
        assert_int_equal(pipeline_cleanup(&e->pl, "k9"), 0); /* nothing left: exit 0, as VMCloak */
        assert_int_equal(init_image(e, "k9"), 0);
}

/* Bad --serial and --share values are refused before any step builds or starts anything. */
static void test_vm_options_check(void **state) {
        (void)state;
        struct vm_options o = { 0 };
        assert_int_equal(vm_options_check(&o), 0);
        const char *serials[] = { "file", "file:/tmp/a,b/log", "pty", "unix:/tmp/s", "none" };
        for (size_t i = 0; i < ELEMENTSOF(serials); i++) {
                o.serial = serials[i];
                assert_int_equal(vm_options_check(&o), 0);
        }
        const char *bad[] = { "bogus", "file:", "unix:" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                o.serial = bad[i];
                assert_int_equal(vm_options_check(&o), -EINVAL);
        }
        o.serial = NULL;
        char *good[] = { "t=/tmp", "u=/tmp,rw", NULL };
        o.shares = good;
        assert_int_equal(vm_options_check(&o), 0);
        char *notag[] = { "notag", NULL }, *missing[] = { "t=/nonexistent-dir", NULL };
        o.shares = notag;
        assert_int_equal(vm_options_check(&o), -EINVAL);
        o.shares = missing;
        assert_int_equal(vm_options_check(&o), -ENOTDIR);
}

/* ---- the stuck detector and press_key_s ---- */

/* An install boot that hangs without a word (no agent, deaf to ACPI); *s for more changes. */
static void hung_script(struct fake_script *s) {
        default_script(s);
        s->boot[FAKE_BOOT_INSTALL].end = FAKE_END_HANG;
        s->boot[FAKE_BOOT_INSTALL].serial_end = NULL;
        s->shutdown_ms = -1;
}

static void hung_install(void) {
        struct fake_script s;
        hung_script(&s);
        assert_int_equal(fake_set_script(&s), 0);
}

static const char *const winlike_causes[] = { "the product key does not fit the chosen edition", "no disk found",
                                              NULL };
/* The Windows-like flow with its likely causes and a boot disc that asks for a key. */
static struct install_phase stuck_phase[1];
static struct os_profile stuck_profile;

static void stuck_profile_init(unsigned press_key_s) {
        stuck_phase[0] = winlike_install[0];
        stuck_phase[0].stuck_causes = winlike_causes;
        stuck_phase[0].press_key_s = press_key_s;
        stuck_profile = winlike_profile;
        stuck_profile.install = (struct install_flow){ stuck_phase, 1 };
}

/* Run init of name with the log mirrored to a file; returns init's result, *ret_log the log. */
static int init_logged(struct env *e, struct init_request *q, char **ret_log) {
        _cleanup_free_ char *log = path_join(e->home, "test.log");
        assert_non_null(log);
        assert_int_equal(log_open_file(log), 0);
        int r = pipeline_init(&e->pl, q);
        log_close_file();
        assert_int_equal(read_full_file(log, ret_log, NULL), 0);
        unlink(log);
        return r;
}

/* Init of name with the stuck profile under the given limits; *ret_log gets the log. */
static int init_stuck(struct env *e, const char *name, unsigned timeout_s, unsigned stuck_after_s, char **ret_log) {
        struct init_request q = init_req(name, &stuck_profile);
        q.vm.timeout_s = timeout_s;
        q.stuck_after_s = stuck_after_s;
        return init_logged(e, &q, ret_log);
}

static size_t count_lines(const char *text, const char *needle) {
        size_t n = 0;
        for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

static char *logfile_of(struct env *e, const char *image, const char *file) {
        return strdup_printf("%s/log/%s/%s", e->home, image, file);
}

static bool is_png(const char *path) {
        unsigned char *pix = NULL;
        size_t n;
        unsigned w, h;
        int r = png_read_rgb(path, &pix, &n, &w, &h);
        free(pix);
        return r == 0 && n > 0;
}

/* Setup sits at a dialog: a still screen and a hung guest. One report naming the phase, the
 * screenshot and the causes, long before the timeout, whose message names the last screen. */
static void test_stuck_reported_once(void **state) {
        struct env *e = *state;
        stuck_profile_init(0);
        hung_install();
        _cleanup_free_ char *log = NULL;
        assert_int_equal(init_stuck(e, "stuck", 3, 1, &log), -ETIMEDOUT);
        _cleanup_free_ char *png = logfile_of(e, "stuck", "stuck.png");
        _cleanup_free_ char *last = logfile_of(e, "stuck", "last-screen.png");
        _cleanup_free_ char *line = strdup_printf("at \"Windows Setup\": see %s\n", png);
        _cleanup_free_ char *tmo = strdup_printf("its last screen: %s\n", last);
        if (count_lines(log, "WARNING: Setup seems stuck since ") != 1 || !strstr(log, line) || !strstr(log, tmo))
                fail_msg("want one stuck report (%s) and the timeout naming %s:\n%s", line, last, log);
        assert_int_equal(count_lines(log, "WARNING:   likely: "), 2);
        assert_non_null(strstr(log, "likely: no disk found\n"));
        /* The report came before the timeout's line. */
        assert_true(strstr(log, "Setup seems stuck") < strstr(log, "did not answer"));
        assert_true(is_png(png));
        assert_true(is_png(last));
        _cleanup_free_ char *roll = logfile_of(e, "stuck", "screen-0.png");
        assert_false(path_exists(roll));
        assert_int_equal(fake_journal_count("keys *"), 0);
        assert_nothing_left(e, 0, 0, "");
}

/* A screen that keeps changing (a progress bar) is never stuck. */
static unsigned moving_screen(const char *domain, int64_t ms, void *userdata) {
        (void)domain, (void)userdata;
        return (unsigned)(ms / 100);
}

/* A prompt's blinking cursor: two frames in turn are a still screen. */
static unsigned blinking(const char *domain, int64_t ms, void *userdata) {
        (void)domain, (void)userdata;
        return (ms / 300) % 2 ? 7 : 8;
}

/* Still until 1.6 s, one change, still again: two stuck periods, two reports. */
static unsigned one_change(const char *domain, int64_t ms, void *userdata) {
        (void)domain, (void)userdata;
        return ms < 1600 ? 10 : 200;
}


/* A moving screen is never stuck; one that changes once is stuck twice; a blinking cursor is
 * still. */
static void test_stuck_screen_moves(void **state) {
        struct env *e = *state;
        stuck_profile_init(0);
        hung_install();
        struct {
                fake_screen_fn fn;
                unsigned timeout_s;
                size_t reports;
        } cases[] = { { moving_screen, 2, 0 }, { one_change, 4, 2 }, { blinking, 3, 1 } };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                fake_set_screen(cases[i].fn, NULL);
                char name[16];
                snprintf(name, sizeof name, "moves%zu", i);
                _cleanup_free_ char *log = NULL;
                assert_int_equal(init_stuck(e, name, cases[i].timeout_s, 1, &log), -ETIMEDOUT);
                if (count_lines(log, "Setup seems stuck since ") != cases[i].reports)
                        fail_msg("case %zu: want %zu stuck reports:\n%s", i, cases[i].reports, log);
                assert_nothing_left(e, 0, 0, "");
        }
}

/* Serial progress and guest reboots are signs of life too: a still screen with a reboot (and
 * its serial marker) every 1.2 s is not stuck after 1.5 s. */
static char *const reboot_serial[] = { "VMCLOAK: rebooting", NULL };
static void test_stuck_serial_alive(void **state) {
        struct env *e = *state;
        stuck_profile_init(0);
        struct fake_script s;
        hung_script(&s);
        s.boot[FAKE_BOOT_INSTALL].boot_ms = 3600;
        s.boot[FAKE_BOOT_INSTALL].reboots = 2;
        s.boot[FAKE_BOOT_INSTALL].serial_reboot = reboot_serial;
        assert_int_equal(fake_set_script(&s), 0);
        _cleanup_free_ char *log = NULL;
        assert_int_equal(init_stuck(e, "alive", 3, 2, &log), -ETIMEDOUT);
        if (count_lines(log, "Setup seems stuck since ") != 0)
                fail_msg("a guest that reboots was reported stuck:\n%s", log);
        assert_int_equal(fake_journal_count("reboot alive"), 2);
        assert_nothing_left(e, 0, 0, "");
}

/* press_key_s 2: Enter about every second for the first 2 s of the boot, then no more, though
 * the phase runs on until the agent answers at 3.5 s. */
static void test_press_key(void **state) {
        struct env *e = *state;
        stuck_profile_init(2);
        struct fake_script s;
        default_script(&s);
        s.boot[FAKE_BOOT_INSTALL].end = FAKE_END_AGENT;
        s.boot[FAKE_BOOT_INSTALL].boot_ms = 3500;
        s.boot[FAKE_BOOT_INSTALL].serial_end = NULL;
        s.system = "Windows";
        assert_int_equal(fake_set_script(&s), 0);
        struct init_request q = init_req("keys", &stuck_profile);
        assert_int_equal(pipeline_init(&e->pl, &q), 0);
        size_t n = fake_journal_count("keys keys ret");
        if (n < 2 || n > 3) {
                _cleanup_free_ char *j = fake_journal_text();
                fail_msg("want 2 or 3 Enter presses, got %zu:\n%s", n, strempty(j));
        }
        /* Every key went to the install boot, before its agent answered. */
        ssize_t start = journal_at("start keys media=[boot.iso*");
        ssize_t up = journal_at("agent-up keys");
        ssize_t first = journal_at("keys keys ret");
        assert_true(first > start && fake_journal_find("keys keys ret", (size_t)up) < 0);
        assert_nothing_left(e, 1, 0, "keys.qcow2");
}

/* Defaults for KVM, five times those under TCG; --stuck-after sets the threshold and shortens the
 * interval to a sixth of it, never below 250 ms. */
static void test_stuck_thresholds(void **state) {
        (void)state;
        int64_t after, every;
        stuck_thresholds(VM_ACCEL_KVM, 0, &after, &every);
        assert_true(after == 180000 && every == 10000);
        stuck_thresholds(VM_ACCEL_TCG, 0, &after, &every);
        assert_true(after == 900000 && every == 50000);
        stuck_thresholds(VM_ACCEL_TCG, 30, &after, &every);
        assert_true(after == 30000 && every == 5000);
        stuck_thresholds(VM_ACCEL_KVM, 1, &after, &every);
        assert_true(after == 1000 && every == 250);
}

/* ---- import ---- */

static const char hand_disk[] = "fake-disk 1\nsize=2147483648\nhand-built\n";

/* A hand-built disk of the linux guest, at the address init would give it. */
static char *make_hand_disk(struct env *e) {
        char *p = path_join(e->home, "hand.img");
        assert_non_null(p);
        assert_int_equal(write_file(p, hand_disk, strlen(hand_disk), 0644), 0);
        return p;
}

static void assert_hand_disk_intact(const char *p) {
        _cleanup_free_ char *t = NULL;
        assert_int_equal(read_full_file(p, &t, NULL), 0);
        assert_string_equal(t, hand_disk);
}

static struct init_request import_req(const char *name) {
        struct init_request q = init_req(name, &linux_profile);
        q.net.ip = "10.0.2.15";
        return q;
}

/* Copied, booted with no media, the OS asked, shut down through the agent, then recorded; the
 * source untouched; the image then takes snapshots like any other. */
static void test_import(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *src = make_hand_disk(e);
        struct init_request q = import_req("imp");
        assert_int_equal(pipeline_import(&e->pl, &q, src, false), 0);
        ssize_t cp = journal_at("disk-import hand.img into imp.qcow2");
        ssize_t boot = fake_journal_find("start imp media=[]*", (size_t)cp);
        ssize_t up = fake_journal_find("agent-up imp", (size_t)boot);
        ssize_t ver = fake_journal_find("execute imp: uname -r", (size_t)up);
        ssize_t off = fake_journal_find("execute imp: touch /run/vmcloak-poweroff; poweroff", (size_t)ver);
        assert_true(cp >= 0 && boot > cp && up > boot && ver > up && off > ver);
        assert_int_equal(fake_journal_count("start imp *"), 1);
        assert_hand_disk_intact(src);
        _cleanup_image_ struct image *img = NULL;
        assert_int_equal(repo_image_get(e->repo, "imp", &img), 0);
        assert_string_equal(img->osversion, "linux");
        assert_string_equal(img->ipaddr, "10.0.2.15");
        assert_string_equal(img->netmode, "user");
        assert_nothing_left(e, 1, 0, "imp.qcow2");
        struct snapshot_request sq = snap_req("imp", "impvm", 1, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &sq), 0);
        assert_vm_complete("impvm");
        /* --move: the source goes once the row is in. */
        struct init_request q2 = import_req("imp2");
        q2.net.ip = "10.0.2.16";
        assert_int_equal(pipeline_import(&e->pl, &q2, src, true), 0);
        assert_false(path_exists(src));
}

/* Every failure leaves no row, no disk and the source as it was. */
static void test_import_failures(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *src = make_hand_disk(e);
        struct fake_script s;
        /* Another OS on the disk. */
        default_script(&s);
        s.system = "Windows";
        assert_int_equal(fake_set_script(&s), 0);
        struct init_request q = import_req("bad");
        assert_int_equal(pipeline_import(&e->pl, &q, src, true), -EMEDIUMTYPE);
        assert_nothing_left(e, 0, 0, "");
        assert_hand_disk_intact(src);
        /* No agent. */
        default_script(&s);
        s.boot[FAKE_BOOT_DISK].end = FAKE_END_HANG;
        s.shutdown_ms = -1;
        assert_int_equal(fake_set_script(&s), 0);
        q.vm.timeout_s = 1;
        assert_int_equal(pipeline_import(&e->pl, &q, src, true), -ETIMEDOUT);
        assert_nothing_left(e, 0, 0, "");
        assert_hand_disk_intact(src);
        /* The machine dies, the copy fails, Ctrl-C at each moment. */
        default_script(&s);
        assert_int_equal(fake_set_script(&s), 0);
        q.vm.timeout_s = 0;
        struct {
                struct trap t;
                int want;
        } traps[] = {
                { { .name = "disk-import", .action = FAKE_FAIL, .err = ENOSPC }, -ENOSPC },
                { { .name = "disk-import", .action = FAKE_SIGINT }, -ECANCELED },
                { { .name = "boot", .arg = "disk", .action = FAKE_DIE }, -ECHILD },
                { { .name = "agent-up", .action = FAKE_SIGTERM }, -ECANCELED },
                { { .name = "execute", .arg = "uname", .action = FAKE_SIGINT }, -ECANCELED },
                { { .name = "execute", .arg = "touch /run/vmcloak-poweroff; poweroff", .action = FAKE_SIGINT }, -ECANCELED },
        };
        for (size_t i = 0; i < ELEMENTSOF(traps); i++) {
                interrupt_reset();
                fake_set_hook(trap_hook, &traps[i].t);
                int r = pipeline_import(&e->pl, &q, src, true);
                if (r != traps[i].want)
                        fail_msg("import trapped at %s %s returned %d, not %d", traps[i].t.name,
                                 strempty(traps[i].t.arg), r, traps[i].want);
                assert_nothing_left(e, 0, 0, "");
                assert_hand_disk_intact(src);
        }
        fake_set_hook(NULL, NULL);
        interrupt_reset();
        /* No source; a name that exists. */
        _cleanup_free_ char *none = path_join(e->home, "none.img");
        assert_int_equal(pipeline_import(&e->pl, &q, none, false), -ENOENT);
        assert_nothing_left(e, 0, 0, "");
        assert_int_equal(init_image(e, "taken"), 0);
        struct init_request q2 = import_req("taken");
        q2.net.ip = "10.0.2.20";
        assert_int_equal(pipeline_import(&e->pl, &q2, src, false), -EEXIST);
        assert_nothing_left(e, 1, 0, "taken.qcow2");
        assert_hand_disk_intact(src);
}

/* ---- hardware profiles (issue 13) ---- */

/* The tests' own profile (tests/fixtures/hardware/test-pc.yaml) in the home's hardware.d. */
static char *install_test_profile(void) {
        _cleanup_free_ char *src = strdup_printf("%s/tests/fixtures/hardware/test-pc.yaml",
                                                 getenv("VMCLOAK_SOURCE_ROOT"));
        _cleanup_free_ char *dir = paths_hardware_d();
        char *dst = path_join(dir, "test-pc.yaml");
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_int_equal(copy_file(src, dst, 0644), 0);
        return dst;
}

static struct hw_identity identity_of(const char *json) {
        struct hw_identity id = { 0 };
        assert_non_null(json);
        assert_int_equal(hw_identity_from_json(json, &id), 0);
        return id;
}

/* The "identity NAME ..." journal line of the machine's last definition (fake.h). */
static char *identity_line(const char *name, size_t from) {
        char pat[64];
        snprintf(pat, sizeof pat, "identity %s *", name);
        _cleanup_strv_free_ char **j = fake_journal();
        ssize_t last = -1;
        for (ssize_t i = (ssize_t)from; (i = fake_journal_find(pat, (size_t)i)) >= 0; i++)
                last = i;
        if (last < 0)
                fail_msg("no '%s' in the journal", pat);
        return strdup(j[last]);
}

/* init NAME --linux --hardware test-pc [--mac MAC]: its row. */
static struct image *init_test_pc(struct env *e, const struct hw_catalog *cat, const char *name, const char *mac) {
        struct init_request q = init_req(name, &linux_profile);
        q.hardware = hw_catalog_find(cat, "test-pc");
        q.mac = mac;
        assert_non_null(q.hardware);
        assert_int_equal(pipeline_init(&e->pl, &q), 0);
        struct image *img = NULL;
        assert_int_equal(repo_image_get(e->repo, name, &img), 0);
        assert_string_equal(img->hardware, "test-pc");
        return img;
}

static char *expected_identity_line(const char *name, const struct hw_identity *id) {
        return strdup_printf("identity %s mac=%s uuid=%s serial=%s disk=%s/%s nic=e1000e", name, id->mac, id->uuid,
                             id->system_serial, id->disk_model, id->disk_serial);
}

/* init --hardware gives the image an identity its runs boot with (install too); each snapshot VM
 * gets its own (serials, UUID, MAC of the profile's vendor, machine id set in the guest before
 * its memory snapshot) with the image's drive models, in its row, its machineinfo.json's MAC and
 * its definition. */
static void test_hardware_identity_flow(void **state) {
        struct env *e = *state;
        free(install_test_profile());
        _cleanup_(hw_catalog_done) struct hw_catalog cat = { 0 };
        assert_int_equal(hardware_catalog_load(&cat), 0);
        _cleanup_image_ struct image *img = init_test_pc(e, &cat, "hw", NULL);
        struct hw_identity iid = identity_of(img->identity);
        assert_string_equal(iid.profile, "test-pc");
        assert_string_equal(img->mac, iid.mac);
        assert_true(startswith(iid.mac, "d8:9e:f3:") || startswith(iid.mac, "e4:54:e8:"));
        _cleanup_free_ char *want = expected_identity_line("hw", &iid);
        _cleanup_free_ char *got = identity_line("hw", 0);
        assert_string_equal(got, want);

        /* install boots the same machine. */
        char *tokens[] = { "run:echo one", NULL };
        struct install_plan plan;
        assert_int_equal(install_plan_parse(tokens, &plan), 0);
        struct install_request iq = { .name = "hw", .plan = &plan, .vm = { .accel = VM_ACCEL_TCG } };
        size_t mark = fake_journal_count("*");
        assert_int_equal(pipeline_install(&e->pl, &iq), 0);
        install_plan_free(&plan);
        free(got);
        got = identity_line("hw", mark);
        assert_string_equal(got, want);

        struct snapshot_request sq = snap_req("hw", "hwvm", 2, 2);
        assert_int_equal(pipeline_snapshot(&e->pl, &sq), 0);
        assert_nothing_left(e, 1, 2, "hw.qcow2");
        struct hw_identity vid[2];
        for (int i = 0; i < 2; i++) {
                char name[8];
                snprintf(name, sizeof name, "hwvm%d", i + 1);
                assert_vm_complete(name);
                _cleanup_snapshot_ struct snapshot *s = NULL;
                assert_int_equal(repo_snapshot_get(e->repo, name, &s), 0);
                vid[i] = identity_of(s->identity);
                assert_string_equal(s->mac, vid[i].mac);
                assert_true(startswith(vid[i].mac, "d8:9e:f3:") || startswith(vid[i].mac, "e4:54:e8:"));
                /* Its drives are the image's. */
                assert_string_equal(vid[i].disk_model, iid.disk_model);
                assert_string_equal(vid[i].disk_firmware, iid.disk_firmware);
                assert_string_equal(vid[i].optical_model, iid.optical_model);
                _cleanup_free_ char *w = expected_identity_line(name, &vid[i]);
                _cleanup_free_ char *g = identity_line(name, 0);
                assert_string_equal(g, w);
                /* The guest got its machine id before the memory snapshot. */
                _cleanup_free_ char *cmd = strdup_printf("execute %s: echo %s > /etc/machine-id*", name,
                                                         vid[i].machine_id);
                char save[32];
                snprintf(save, sizeof save, "save %s lz4", name);
                ssize_t set = journal_at(cmd), saved = journal_at(save);
                assert_true(set < saved);
                _cleanup_free_ char *dir = paths_vm_dir(name);
                _cleanup_free_ char *mi = path_join(dir, "machineinfo.json");
                json_object *root = json_object_from_file(mi);
                json_object *m = json_object_object_get(root, "machine");
                assert_string_equal(json_object_get_string(json_object_object_get(m, "mac")), vid[i].mac);
                json_object_put(root);
        }
        /* Every per-VM identifier differs: between the VMs and from the image. */
        const char *what[] = { "uuid", "system serial", "baseboard serial", "chassis serial", "disk serial", "mac",
                               "machine id" };
        for (int k = 0; k < 3; k++) {
                const struct hw_identity *a = k < 2 ? &vid[0] : &vid[1], *b = k == 0 ? &vid[1] : &iid;
                const char *av[] = { a->uuid, a->system_serial, a->baseboard_serial, a->chassis_serial,
                                     a->disk_serial, a->mac, a->machine_id };
                const char *bv[] = { b->uuid, b->system_serial, b->baseboard_serial, b->chassis_serial,
                                     b->disk_serial, b->mac, b->machine_id };
                for (size_t f = 0; f < ELEMENTSOF(av); f++)
                        if (streq_ptr(av[f], bv[f]))
                                fail_msg("two machines share the %s %s", what[f], strempty(av[f]));
        }
        hw_identity_done(&vid[0]);
        hw_identity_done(&vid[1]);

        /* A clone is the same model with the same identity, and a MAC of its own of the same OUI,
         * which its identity says too (json_extract(identity,'$.mac') = mac, as for any image). */
        assert_int_equal(pipeline_clone_image(&e->pl, "hw", "hwcopy"), 0);
        _cleanup_image_ struct image *copy = NULL;
        assert_int_equal(repo_image_get(e->repo, "hwcopy", &copy), 0);
        assert_string_equal(copy->hardware, "test-pc");
        assert_string_not_equal(copy->mac, img->mac);
        assert_memory_equal(copy->mac, img->mac, 9);
        struct hw_identity cid = identity_of(copy->identity);
        assert_string_equal(cid.mac, copy->mac);
        free(cid.mac);
        cid.mac = strdup(iid.mac);
        _cleanup_free_ char *cjson = NULL;
        assert_int_equal(hw_identity_to_json(&cid, &cjson), 0);
        assert_string_equal(cjson, img->identity);       /* all else is the source's */
        hw_identity_done(&cid);
        hw_identity_done(&iid);
}

static int do_hardware_check(void *img) { return image_hardware_check(img); }

/* The identity keeps the SHA-256 of the profile's file it was drawn from; a file edited after
 * init is named in one warning line (once per image) when the image is used, an identity from
 * before the fingerprint is left alone. */
static void test_hardware_profile_changed(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *yaml = install_test_profile();
        _cleanup_(hw_catalog_done) struct hw_catalog cat = { 0 };
        assert_int_equal(hardware_catalog_load(&cat), 0);
        _cleanup_image_ struct image *img = init_test_pc(e, &cat, "hwedit", NULL);
        log_set_level(LOG_LEVEL_WARNING);
        struct hw_identity iid = identity_of(img->identity);
        char sha[SHA256_HEX_LEN + 1], sha1[SHA1_HEX_LEN + 1];
        assert_int_equal(download_hash_file(yaml, sha, sha1), 0);
        assert_non_null(iid.profile_sha256);
        assert_string_equal(iid.profile_sha256, sha);
        _cleanup_free_ char *err = NULL;
        assert_int_equal(test_capture(STDERR_FILENO, do_hardware_check, img, &err), 0);
        assert_string_equal(err, "");

        /* The BIOS version edited: the machine the image's VMs get is another one. */
        _cleanup_free_ char *text = NULL, *orig = NULL;
        assert_int_equal(read_full_file(yaml, &text, NULL), 0);
        orig = strdup(text);
        char *v = strstr(text, "version: 1.4.2");
        assert_non_null(v);
        memcpy(v + strlen("version: "), "1.5.0", 5);
        assert_int_equal(write_file(yaml, text, strlen(text), 0644), 0);
        _cleanup_free_ char *err2 = NULL, *want = strdup_printf(
                "vmcloak: warning: hardware profile test-pc changed since image hwedit was made (%s): its VMs get "
                "the new values, and Windows may see new devices; put the old file back to keep the image's machine\n",
                yaml);
        assert_int_equal(test_capture(STDERR_FILENO, do_hardware_check, img, &err2), 0);
        assert_string_equal(err2, want);
        const struct hw_profile *p = hw_catalog_find(&cat, "test-pc");
        assert_int_equal(image_hardware_changed(img, p), 1);
        /* A snapshot run asks for each VM: said once. */
        _cleanup_free_ char *err3 = NULL;
        assert_int_equal(test_capture(STDERR_FILENO, do_hardware_check, img, &err3), 0);
        assert_string_equal(err3, "");

        /* An identity without the field (made before it was kept): nothing to compare. */
        free(iid.profile_sha256);
        iid.profile_sha256 = NULL;
        free(img->identity);
        assert_int_equal(hw_identity_to_json(&iid, &img->identity), 0);
        assert_null(strstr(img->identity, "\"profile_sha256\":\""));
        assert_int_equal(image_hardware_changed(img, p), 0);
        /* The file put back: the same machine again. */
        hw_identity_done(&iid);
        assert_int_equal(write_file(yaml, orig, strlen(orig), 0644), 0);
        _cleanup_image_ struct image *again = NULL;
        assert_int_equal(repo_image_get(e->repo, "hwedit", &again), 0);
        assert_int_equal(image_hardware_changed(again, p), 0);
        log_set_level(LOG_LEVEL_ERROR);
}

/* A profile that is gone is refused before anything boots; a VM whose identity cannot be set
 * in its guest leaves nothing; an image without a profile runs as before (no identity). */
static void test_hardware_refusals(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *yaml = install_test_profile();
        _cleanup_(hw_catalog_done) struct hw_catalog cat = { 0 };
        assert_int_equal(hardware_catalog_load(&cat), 0);
        _cleanup_image_ struct image *img = init_test_pc(e, &cat, "hw", "00:1A:2B:3C:4D:5E");
        /* --mac wins over the identity's, and the identity says so. */
        assert_string_equal(img->mac, "00:1a:2b:3c:4d:5e");
        struct hw_identity iid = identity_of(img->identity);
        assert_string_equal(iid.mac, "00:1a:2b:3c:4d:5e");
        hw_identity_done(&iid);

        /* The profile's file goes: install and snapshot refuse before any machine is defined,
         * naming the profile and where it was looked for. */
        assert_int_equal(unlink(yaml), 0);
        size_t mark = fake_journal_count("*");
        char *tokens[] = { "run:echo one", NULL };
        struct install_plan plan;
        assert_int_equal(install_plan_parse(tokens, &plan), 0);
        struct install_request iq = { .name = "hw", .plan = &plan, .vm = { .accel = VM_ACCEL_TCG } };
        assert_int_equal(pipeline_install(&e->pl, &iq), -ENOENT);
        install_plan_free(&plan);
        struct snapshot_request sq2 = snap_req("hw", "gone", 1, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &sq2), -ENOENT);
        assert_int_equal(fake_journal_find("define *", mark), -ENOENT);
        assert_nothing_left(e, 1, 0, "hw.qcow2");
        assert_listing("vms/qemu", "");
        _cleanup_image_ struct image *after = NULL;
        assert_int_equal(repo_image_get(e->repo, "hw", &after), 0);
        assert_string_equal(after->mode, "normal");

        /* Back again; set_identity fails in the second VM: it leaves nothing, the first is complete. */
        free(install_test_profile());
        struct trap t = { .name = "execute", .arg = "echo", .domain = "hwf2", .action = FAKE_FAIL };
        fake_set_hook(trap_hook, &t);
        struct snapshot_request sq = snap_req("hw", "hwf", 2, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &sq), -EIO);
        fake_set_hook(NULL, NULL);
        assert_listing("vms/qemu", "hwf1");
        assert_nothing_left(e, 1, 1, "hw.qcow2");

        /* import --hardware: the adopted disk becomes a machine of the profile too. */
        _cleanup_free_ char *src = make_hand_disk(e);
        struct init_request iq2 = import_req("himp");
        iq2.hardware = hw_catalog_find(&cat, "test-pc");
        iq2.net.ip = "10.0.2.16";
        assert_int_equal(pipeline_import(&e->pl, &iq2, src, false), 0);
        _cleanup_image_ struct image *imp = NULL;
        assert_int_equal(repo_image_get(e->repo, "himp", &imp), 0);
        assert_string_equal(imp->hardware, "test-pc");
        struct hw_identity mid = identity_of(imp->identity);
        assert_string_equal(imp->mac, mid.mac);
        _cleanup_free_ char *wimp = expected_identity_line("himp", &mid);
        _cleanup_free_ char *gimp = identity_line("himp", 0);
        assert_string_equal(gimp, wimp);
        hw_identity_done(&mid);

        /* Without a profile nothing of it shows: no identity in the rows or the definitions. */
        assert_int_equal(init_image(e, "plain"), 0);
        struct snapshot_request pq = snap_req("plain", "pvm", 1, 1);
        assert_int_equal(pipeline_snapshot(&e->pl, &pq), 0);
        _cleanup_snapshot_ struct snapshot *s = NULL;
        assert_int_equal(repo_snapshot_get(e->repo, "pvm", &s), 0);
        assert_null(s->identity);
        _cleanup_image_ struct image *plain = NULL;
        assert_int_equal(repo_image_get(e->repo, "plain", &plain), 0);
        assert_null(plain->hardware);
        assert_null(plain->identity);
        assert_int_equal(fake_journal_count("identity plain *"), 0);
        assert_int_equal(fake_journal_count("identity pvm *"), 0);
        assert_int_equal(fake_journal_count("execute pvm: echo*"), 0);
}

int main(void) {
        interrupt_install();
        progress_set_enabled(false);
        log_set_level(LOG_LEVEL_ERROR);
        profiles_init();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_init_linux_flow, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hardware_identity_flow, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hardware_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hardware_profile_changed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_iso, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_windows_like, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_wrong_os, setup, teardown),
                cmocka_unit_test_setup_teardown(test_windows_image_snapshot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_bootstrap_reports_failure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_windows_like_loops, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_installer_reports_failure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_machine_dies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_agent_never_answers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_interrupted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_install_reboot_step, setup, teardown),
                cmocka_unit_test_setup_teardown(test_install_failures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_install_catalog, setup, teardown),
                cmocka_unit_test_setup_teardown(test_install_catalog_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_count3_jobs2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_one_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_interrupted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_fleet, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_address_locks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_fleet_one_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_fleet_interrupted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_fleet_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cleanup_fleet_template, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_libvirt_spread, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_libvirt_one_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_libvirt_delvm_unreachable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_libvirt_interrupted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_libvirt_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_uefi_tpm, setup, teardown),
                cmocka_unit_test_setup_teardown(test_firmware_state_through_steps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_resume, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_addresses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_locked_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cleanup_unrecorded, setup, teardown),
                cmocka_unit_test(test_vm_options_check),
                cmocka_unit_test_setup_teardown(test_stuck_reported_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stuck_screen_moves, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stuck_serial_alive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_press_key, setup, teardown),
                cmocka_unit_test(test_stuck_thresholds),
                cmocka_unit_test_setup_teardown(test_import, setup, teardown),
                cmocka_unit_test_setup_teardown(test_import_failures, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
