/* Unit tests: install token grammar (VMCloak's plus the generic steps). */
#include "test.h"

#include <errno.h>

#include "deps/steps.h"

static void test_generic_steps(void **state) {
        (void)state;
        char *t[] = { "file:/tmp/a.txt:/root/a.txt", "run:echo hi > /tmp/x", "script:/tmp/s.sh",
                      "file:/tmp/b.exe:C:\\tools\\b.exe", NULL };
        struct install_plan p;
        assert_int_equal(install_plan_parse(t, &p), 0);
        assert_int_equal(p.n_steps, 4);
        assert_int_equal(p.steps[0].kind, STEP_FILE);
        assert_string_equal(p.steps[0].src, "/tmp/a.txt");
        assert_string_equal(p.steps[0].dest, "/root/a.txt");
        assert_int_equal(p.steps[1].kind, STEP_RUN);
        assert_string_equal(p.steps[1].command, "echo hi > /tmp/x");
        assert_int_equal(p.steps[2].kind, STEP_SCRIPT);
        assert_string_equal(p.steps[2].src, "/tmp/s.sh");
        assert_string_equal(p.steps[3].dest, "C:\\tools\\b.exe");
        char *d = install_step_describe(&p.steps[0]);
        assert_string_equal(d, "file /tmp/a.txt -> /root/a.txt");
        free(d);
        install_plan_free(&p);
}

static void test_dependencies_and_settings(void **state) {
        (void)state;
        char *t[] = { "dotnet:4.7.2", "office", "office.version=2010", "office.isopath=/x.iso", "vcredist", NULL };
        struct install_plan p;
        assert_int_equal(install_plan_parse(t, &p), 0);
        assert_int_equal(p.n_steps, 3);
        assert_string_equal(p.steps[0].name, "dotnet");
        assert_string_equal(p.steps[0].version, "4.7.2");
        assert_string_equal(p.steps[1].name, "office");
        assert_string_equal(p.steps[1].version, "2010"); /* pkg.version= sets the listed entry */
        assert_null(p.steps[2].version);
        assert_non_null(p.settings);
        assert_string_equal(p.settings[0], "office.isopath=/x.iso");
        assert_null(p.settings[1]);
        install_plan_free(&p);

        /* A setting given twice: one entry, the last value (VMCloak's dict), in its first place. */
        char *twice[] = { "office", "office.isopath=/a.iso", "office.serialkey=K", "office.isopath=/b.iso", NULL };
        assert_int_equal(install_plan_parse(twice, &p), 0);
        assert_string_equal(p.settings[0], "office.isopath=/b.iso");
        assert_string_equal(p.settings[1], "office.serialkey=K");
        assert_null(p.settings[2]);
        install_plan_free(&p);
}

static void test_invalid_tokens(void **state) {
        (void)state;
        const char *bad[] = { "file:/only-src", "file::/dest", "file:/src:", "run:", "script:", "bad name",
                              "dotnet:", ".x=1", "a.=1", NULL };
        for (const char **b = bad; *b; b++) {
                char *t[] = { (char *)*b, NULL };
                struct install_plan p;
                assert_int_equal(install_plan_parse(t, &p), -EINVAL);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_generic_steps),
                cmocka_unit_test(test_dependencies_and_settings),
                cmocka_unit_test(test_invalid_tokens),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
