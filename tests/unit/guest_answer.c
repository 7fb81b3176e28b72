/* Unit tests: shell quoting, answer-file rendering (read back by a real shell) and the linux
 * guest's answer file with its validation. */
#include "test.h"

#include <errno.h>

#include "core/log.h"
#include "core/proc.h"
#include "core/util.h"
#include "guest/answer.h"
#include "guest/linux.h"

static void test_shell_quote(void **state) {
        (void)state;
        char *q = shell_quote("");
        assert_string_equal(q, "''");
        free(q);
        q = shell_quote("plain");
        assert_string_equal(q, "'plain'");
        free(q);
        q = shell_quote("it's");
        assert_string_equal(q, "'it'\\''s'");
        free(q);
        q = shell_quote("''");
        assert_string_equal(q, "''\\'''\\'''");
        free(q);
}

/* Source the rendered file in /bin/sh and print a variable back, byte for byte. */
static char *sh_value(const char *file, const char *var) {
        char *script = strdup_printf(". '%s' && printf '%%s' \"$%s\"", file, var);
        char *argv[] = { "sh", "-c", script, NULL };
        char *out = NULL;
        int r = proc_run(argv, NULL, &out, NULL);
        free(script);
        assert_int_equal(r, 0);
        return out;
}

static void test_render_roundtrip(void **state) {
        (void)state;
        const char *nasty[] = {
                "it's", "$(touch /tmp/vmcloak-pwned)", "`id`", "a\nb\nc", "back\\slash", "\"dq\"", "semi; rm -rf /",
                "${HOME}", "trailing space ", "*", "",
        };
        char *d = test_tmpdir();
        char *file = path_join(d, "answers.sh");
        for (size_t i = 0; i < ELEMENTSOF(nasty); i++) {
                const char *keys[] = { "A", "VMCLOAK_X", NULL };
                const char *values[] = { "first", nasty[i], NULL };
                char *text = NULL;
                assert_int_equal(answer_file_render(keys, values, &text), 0);
                assert_int_equal(write_file(file, text, strlen(text), 0644), 0);
                char *v = sh_value(file, "VMCLOAK_X");
                assert_string_equal(v, nasty[i]);
                free(v);
                v = sh_value(file, "A");
                assert_string_equal(v, "first");
                free(v);
                free(text);
        }
        assert_false(path_exists("/tmp/vmcloak-pwned"));
        rm_rf(d);
        free(d);
        free(file);
}

static void test_render_bad_keys(void **state) {
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        const char *bad[] = { "", "1X", "A-B", "A B", "A=B", "$A" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *keys[] = { bad[i], NULL };
                const char *values[] = { "v", NULL };
                char *text = NULL;
                assert_int_equal(answer_file_render(keys, values, &text), -EINVAL);
                assert_null(text);
        }
        const char *keys[] = { "_ok9", "NULLVAL", NULL };
        const char *values[] = { "v", NULL, NULL };
        char *text = NULL;
        assert_int_equal(answer_file_render(keys, values, &text), 0);
        assert_non_null(strstr(text, "\n_ok9='v'\n"));
        assert_non_null(strstr(text, "\nNULLVAL=''\n"));
        free(text);
}

static struct install_params good(void) {
        return (struct install_params) {
                .name = "img1", .hostname = "guest-1", .ip = "10.0.2.15", .prefix = 24, .netmask = "255.255.255.0",
                .gateway = "10.0.2.2", .dns = "10.0.2.3", .dns2 = "8.8.4.4", .agent_port = 8123, .user = "cuckoo",
        };
}

static void test_linux_answers(void **state) {
        (void)state;
        struct install_params p = good();
        char *text = NULL;
        assert_int_equal(linux_answers_render(&p, "6.1.0-56-amd64", &text), 0);
        static const char *const lines[] = {
                "VMCLOAK_NAME='img1'", "VMCLOAK_HOSTNAME='guest-1'", "VMCLOAK_IP='10.0.2.15'", "VMCLOAK_PREFIX='24'",
                "VMCLOAK_NETMASK='255.255.255.0'", "VMCLOAK_GATEWAY='10.0.2.2'", "VMCLOAK_DNS='10.0.2.3'",
                "VMCLOAK_DNS2='8.8.4.4'", "VMCLOAK_AGENT_PORT='8123'", "VMCLOAK_USER='cuckoo'", "VMCLOAK_DISK='/dev/sda'",
                "VMCLOAK_KERNEL='6.1.0-56-amd64'",
        };
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                char *l = strdup_printf("\n%s\n", lines[i]);
                if (!strstr(text, l))
                        fail_msg("missing %s in:\n%s", lines[i], text);
                free(l);
        }
        free(text);

        /* Defaults: port 8000, prefix from the netmask alone, a random lower-case host name. */
        p = good();
        p.agent_port = 0;
        p.prefix = 0;
        p.netmask = "255.255.0.0";
        p.hostname = NULL;
        p.user = NULL;
        p.dns2 = NULL;
        assert_int_equal(linux_answers_render(&p, "r", &text), 0);
        assert_non_null(strstr(text, "VMCLOAK_AGENT_PORT='8000'"));
        assert_non_null(strstr(text, "VMCLOAK_PREFIX='16'"));
        assert_non_null(strstr(text, "VMCLOAK_USER=''"));
        assert_non_null(strstr(text, "VMCLOAK_DNS2=''"));
        const char *h = strstr(text, "VMCLOAK_HOSTNAME='");
        assert_non_null(h);
        h += strlen("VMCLOAK_HOSTNAME='");
        size_t hl = strcspn(h, "'");
        assert_true(hl >= 6 && hl <= 10);
        for (size_t i = 0; i < hl; i++)
                assert_true(h[i] >= 'a' && h[i] <= 'z');
        free(text);
}

static void expect_invalid(struct install_params p) {
        char *text = NULL;
        assert_int_equal(linux_answers_render(&p, "r", &text), -EINVAL);
        assert_null(text);
}

static void test_linux_answers_invalid(void **state) {
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        struct install_params p;
        p = good(), p.ip = NULL, expect_invalid(p);
        p = good(), p.ip = "10.0.2.300", expect_invalid(p);
        p = good(), p.gateway = NULL, expect_invalid(p);
        p = good(), p.gateway = "10.0.3.2", expect_invalid(p);          /* outside the network */
        p = good(), p.ip = "10.0.2.0", expect_invalid(p);               /* network address */
        p = good(), p.ip = "10.0.2.255", expect_invalid(p);             /* broadcast */
        p = good(), p.ip = "10.0.2.2", expect_invalid(p);               /* the gateway */
        p = good(), p.prefix = 16, expect_invalid(p);                   /* disagrees with the netmask */
        p = good(), p.netmask = "255.0.255.0", expect_invalid(p);       /* not contiguous */
        p = good(), p.netmask = NULL, p.prefix = 0, expect_invalid(p);
        p = good(), p.netmask = NULL, p.prefix = 31, expect_invalid(p);
        p = good(), p.dns = "dns.example", expect_invalid(p);
        p = good(), p.dns2 = "1.2.3", expect_invalid(p);
        p = good(), p.hostname = "bad_name", expect_invalid(p);
        p = good(), p.hostname = "-lead", expect_invalid(p);
        p = good(), p.hostname = "x'; reboot; '", expect_invalid(p);
        p = good(), p.hostname = "a234567890123456789012345678901234567890123456789012345678901234", expect_invalid(p);
        p = good(), p.user = "Root", expect_invalid(p);
        p = good(), p.user = "a b", expect_invalid(p);
        p = good(), p.user = "9lives", expect_invalid(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shell_quote),
                cmocka_unit_test(test_render_roundtrip),
                cmocka_unit_test(test_render_bad_keys),
                cmocka_unit_test(test_linux_answers),
                cmocka_unit_test(test_linux_answers_invalid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
