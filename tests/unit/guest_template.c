/* Unit tests: {key} template expansion of guest commands and configs. */
#include "test.h"

#include <errno.h>

#include "core/log.h"
#include "guest/profile.h"

static const char *const keys[] = { "ip", "prefix", "hostname", "path", NULL };
static const char *const values[] = { "10.0.2.15", "24", "win-7ab", "/tmp/x y.sh", NULL };

static void expect(const char *tmpl, const char *want) {
        char *out = NULL;
        assert_int_equal(guest_template_expand(tmpl, keys, values, &out), 0);
        assert_string_equal(out, want);
        free(out);
}

static void expect_error(const char *tmpl) {
        char *out = (char *)"untouched";
        assert_int_equal(guest_template_expand(tmpl, keys, values, &out), -EINVAL);
        assert_string_equal(out, "untouched");
}

static void test_fields(void **state) {
        (void)state;
        expect("", "");
        expect("poweroff", "poweroff");
        expect("{ip}", "10.0.2.15");
        expect("/sbin/vmcloak-setnet {ip} {prefix}", "/sbin/vmcloak-setnet 10.0.2.15 24");
        expect("{ip}/{prefix} {ip}", "10.0.2.15/24 10.0.2.15");
        expect("sh '{path}'", "sh '/tmp/x y.sh'");
        expect("{hostname}{ip}", "win-7ab10.0.2.15");
}

static void test_literal_braces(void **state) {
        (void)state;
        expect("{{}}", "{}");
        expect("a {{ip}} b", "a {ip} b");
        expect("{{{ip}}}", "{10.0.2.15}");
        expect("for %i in (1) do {{ echo }}", "for %i in (1) do { echo }");
}

static void test_errors(void **state) {
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        expect_error("{gateway}");          /* unknown key */
        expect_error("{ip} {IP}");          /* keys are lower-case */
        expect_error("{ip");                /* unterminated */
        expect_error("{}");                 /* empty field */
        expect_error("{ ip }");             /* spaces */
        expect_error("a } b");              /* single closing brace */
        expect_error("${HOME}");            /* shell syntax must be escaped */
        char *out = NULL;
        const char *k[] = { "dns", NULL };
        const char *v[] = { NULL, NULL };
        assert_int_equal(guest_template_expand("x {dns}", k, v, &out), -EINVAL);   /* key without a value */
        assert_int_equal(guest_template_expand(NULL, k, v, &out), -EINVAL);
        assert_int_equal(guest_template_expand("{ip}", NULL, NULL, &out), -EINVAL);
        assert_int_equal(guest_template_expand("plain", NULL, NULL, &out), 0);
        assert_string_equal(out, "plain");
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_literal_braces),
                cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
