/* Golden argv per shipped hardware profile: a fixed machine with a fixed identity (written out
 * here, not random) made into each profile's machine by hw_apply and rendered by qemu_argv_build,
 * compared with tests/hardware/<profile>.args. `test_cloak_argv --regenerate` (or
 * VMCLOAK_ARGV_REGEN=1, as tests/argv has it) rewrites them: review the diff before committing.
 * tests/e2e/qemu_accept.sh runs each through the real QEMU. */
#include "test.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>

#include "cloak/hardware.h"
#include "core/log.h"
#include "core/util.h"
#include "machine/cuckoo.h"
#include "qemu/argv.h"

static bool regenerate;
static struct hw_catalog catalog;

static char *source_path(const char *rel) {
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        return strdup_printf("%s/%s", root ? root : ".", rel);
}

/* The identity every golden machine gets: each per-VM field a fixed value of its real form, the
 * drives the profile's first, the MAC on the profile's first OUI. The WWN is one fixed NAA 5 value
 * (Seagate's OUI) whatever the drive: this checks the rendering; which OUI hw_identity_new puts
 * there is tested in cloak_hardware.c. */
static void fixed_identity(const struct hw_profile *p, struct hw_identity *id) {
        *id = (struct hw_identity){
                .profile = strdup(p->name),
                .system_serial = strdup("7XK2Q13"),
                .uuid = strdup("4c4c4544-0042-3510-8052-b7c04f4e3132"),
                .baseboard_serial = strdup("/7XK2Q13/CN7016379A00QK/"),
                .chassis_serial = strdup("7XK2Q13"),
                .memory_serial = strdup("3A1F09C2"),
                .disk_model = strdup(p->disks[0].model),
                .disk_firmware = strdup(p->disks[0].firmware),
                .disk_serial = strdup("Z9A0K3TQ"),
                .disk_wwn = UINT64_C(0x5000c500a1b2c3d4),
                .optical_model = strdup(p->optical[0].model),
                .optical_firmware = strdup(p->optical[0].firmware),
                .optical_serial = p->optical[0].serial ? strdup("K8EA4M21") : NULL,
                .mac = strdup_printf("%.8s:1a:2b:3c", p->nic.ouis[0]),
                .machine_id = strdup("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
                .machine_guid = strdup("1b4e28ba-2fa1-41d2-883f-0016d3cca427"),
                .owner = strdup("Laura"),
                .install_date = 1700000000,
        };
        for (char *m = id->mac; *m; m++)
                *m = (char)tolower((unsigned char)*m);
}

static void render(const struct hw_profile *p, enum qemu_argv_purpose purpose, char ***ret) {
        struct hw_identity id;
        fixed_identity(p, &id);
        struct vm_def d;
        vm_def_init(&d);
        d.name = strdup(p->name);
        d.cpus = p->cpus;
        d.ram_mb = p->ram_mb;
        d.disk.path = strdup("@TMP@/disk.qcow2");
        d.net.type = VM_NET_BRIDGE;
        d.net.bridge = strdup("qemubr0");
        assert_int_equal(hw_apply(p, &id, &d), 0);
        struct qemu_run run = { .version = { 7, 2, 0 }, .accel = VM_ACCEL_KVM };
        char reason[256] = "";
        if (qemu_argv_check(&d, &run, purpose, reason, sizeof reason) < 0)
                fail_msg("%s: refused: %s", p->name, reason);
        assert_int_equal(qemu_argv_build(&d, &run, purpose, ret), 0);
        vm_def_done(&d);
        hw_identity_done(&id);
}

/* state: the profile. */
static void test_profile(void **state) {
        const struct hw_profile *p = *state;
        char **v = NULL;
        render(p, QEMU_ARGV_RUN, &v);
        _cleanup_free_ char *joined = strv_join(v, "\n");
        _cleanup_free_ char *got = strdup_printf("%s\n", joined);
        _cleanup_free_ char *rel = strdup_printf("tests/hardware/%s.args", p->name);
        _cleanup_free_ char *path = source_path(rel);
        if (regenerate)
                assert_int_equal(write_file(path, got, strlen(got), 0644), 0);
        _cleanup_free_ char *want = NULL;
        if (read_full_file(path, &want, NULL) < 0)
                fail_msg("%s: missing %s (run test_cloak_argv --regenerate)", p->name, path);
        if (!streq(want, got)) {
                /* Name the first differing line: a regression is a one-line diff. */
                _cleanup_strv_free_ char **w = NULL;
                char *save = NULL;
                for (char *t = strtok_r(want, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
                        assert_int_equal(strv_extend(&w, t), 0);
                size_t i = 0;
                while (w && w[i] && v[i] && streq(w[i], v[i]))
                        i++;
                fail_msg("%s: argument %zu differs: expected '%s', got '%s'", p->name, i,
                         w && w[i] ? w[i] : "(end)", v[i] ? v[i] : "(end)");
        }
        strv_free(v);

        /* Cuckoo3's import rules take the same machine's start_args. */
        char **sa = NULL;
        render(p, QEMU_ARGV_START_ARGS, &sa);
        const char *why = NULL;
        if (cuckoo_start_args_check(sa, &why) < 0)
                fail_msg("%s: start_args refused: %s", p->name, why);
        strv_free(sa);
}

/* Every golden file belongs to a shipped profile (a renamed profile leaves none behind). */
static void test_no_stale_golden(void **state) {
        (void)state;
        _cleanup_free_ char *dir = source_path("tests/hardware");
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *de;
        size_t n = 0;
        while ((de = readdir(d))) {
                if (!endswith(de->d_name, ".args"))
                        continue;
                _cleanup_free_ char *name = strndup(de->d_name, strlen(de->d_name) - strlen(".args"));
                if (!hw_catalog_find(&catalog, name))
                        fail_msg("tests/hardware/%s is no shipped profile's", de->d_name);
                n++;
        }
        closedir(d);
        assert_int_equal(n, catalog.n_profiles);
}

int main(int argc, char **argv) {
        log_set_color(LOG_COLOR_NEVER);
        regenerate = (argc > 1 && streq(argv[1], "--regenerate")) || getenv("VMCLOAK_ARGV_REGEN");
        _cleanup_free_ char *dir = source_path("data/hardware");
        DIR *d = opendir(dir);
        if (!d) {
                fprintf(stderr, "cannot open %s\n", dir);
                return 1;
        }
        _cleanup_strv_free_ char **files = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (endswith(de->d_name, ".yaml"))
                        strv_push(&files, path_join(dir, de->d_name));
        closedir(d);
        if (hw_catalog_load_files(files, &catalog) < 0)
                return 1;
        size_t n = catalog.n_profiles;
        struct CMUnitTest *tests = calloc(n + 1, sizeof *tests);
        for (size_t i = 0; i < n; i++)
                tests[i] = (struct CMUnitTest){ .name = catalog.profiles[i].name, .test_func = test_profile,
                                                .initial_state = &catalog.profiles[i] };
        tests[n] = (struct CMUnitTest){ .name = "no_stale_golden", .test_func = test_no_stale_golden };
        int r = _cmocka_run_group_tests("cloak_argv", tests, n + 1, NULL, NULL);
        free(tests);
        hw_catalog_done(&catalog);
        return r;
}
