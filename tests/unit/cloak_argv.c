/* Golden argv per shipped hardware profile: a fixed machine with a fixed identity (written out
 * here, not random) made into each profile's machine by hw_apply and rendered by qemu_argv_build,
 * compared with tests/hardware/<profile>.args. `test_cloak_argv --regenerate` (or
 * VMCLOAK_ARGV_REGEN=1, as tests/argv has it) rewrites them: review the diff before committing.
 * tests/e2e/qemu_accept.sh runs each through the real QEMU. */
#include "test.h"

#include <dirent.h>
#include <errno.h>

#include "cloak/hardware.h"
#include "hw_fixture.h"
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

static void render(const struct hw_profile *p, enum qemu_argv_purpose purpose, char ***ret) {
        struct vm_def d;
        assert_int_equal(hw_fixed_def(p, &d), 0);
        struct qemu_run run = { .version = { 7, 2, 0 }, .accel = VM_ACCEL_KVM };
        char reason[256] = "";
        if (qemu_argv_check(&d, &run, purpose, reason, sizeof reason) < 0)
                fail_msg("%s: refused: %s", p->name, reason);
        assert_int_equal(qemu_argv_build(&d, &run, purpose, ret), 0);
        vm_def_done(&d);
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
        /* ... and import --bundle's allow-list of what this builder renders (the VM's folder at
         * @TMP@, made absolute). */
        for (size_t i = 0; sa[i]; i++) {
                char *at = strstr(sa[i], "@TMP@");
                if (!at)
                        continue;
                char *n = strdup_printf("%.*s/srv/vm%s", (int)(at - sa[i]), sa[i], at + 5);
                assert_non_null(n);
                free(sa[i]);
                sa[i] = n;
        }
        if (cuckoo_start_args_allowed(sa, "/srv/vm", &why) < 0)
                fail_msg("%s: start_args refused by the bundle allow-list: %s", p->name, why);
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
        if (hw_fixture_catalog(&catalog) < 0)
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
