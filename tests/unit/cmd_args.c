/* Unit tests: table-driven option parsing, help, suggestions. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/global.h"

static const struct optdef opts[] = {
        { "ip", 0, ARG_VALUE, "IP", NULL, "Guest IP" },
        { "port", 0, ARG_VALUE, "PORT", "8000", "Agent port" },
        { "vrde", 0, ARG_FLAG, NULL, NULL, "VNC" },
        { "count", 'c', ARG_VALUE, "N", "1", "Count" },
        { "qemu-arg", 0, ARG_LIST, "ARG", NULL, "Extra" },
        { NULL },
};

static const struct cmd_spec spec = { "demo", "[OPTIONS] NAME [IP]", "Demo.", NULL, opts, 1, 2 };

static int parse(struct args *a, int argc, const char **argv) {
        return args_parse(a, &spec, argc, (char **)argv);
}

static void test_parse_values_and_positionals(void **state) {
        (void)state;
        const char *argv[] = { "demo", "name", "--ip", "1.2.3.4", "--vrde", "-c", "3", "10.0.0.1", NULL };
        struct args a;
        assert_int_equal(parse(&a, 8, argv), 0);
        assert_string_equal(args_get(&a, "ip"), "1.2.3.4");
        assert_true(args_flag(&a, "vrde"));
        assert_string_equal(args_get(&a, "count"), "3");
        assert_null(args_get(&a, "port"));
        assert_string_equal(args_get_or(&a, "port"), "8000");
        assert_int_equal(a.npos, 2);
        assert_string_equal(a.pos[0], "name");
        assert_string_equal(a.pos[1], "10.0.0.1");
        args_free(&a);
}

static void test_list_option(void **state) {
        (void)state;
        const char *argv[] = { "demo", "--qemu-arg", "-a", "--qemu-arg=-b", "n", NULL };
        struct args a;
        assert_int_equal(parse(&a, 5, argv), 0);
        char **l = args_list(&a, "qemu-arg");
        assert_non_null(l);
        assert_string_equal(l[0], "-a");
        assert_string_equal(l[1], "-b");
        assert_null(l[2]);
        args_free(&a);
}

static void test_unknown_option(void **state) {
        (void)state;
        const char *argv[] = { "demo", "--iq", "x", "n", NULL };
        struct args a;
        assert_int_equal(parse(&a, 4, argv), -EINVAL);
}

static void test_missing_value(void **state) {
        (void)state;
        const char *argv[] = { "demo", "n", "--ip", NULL };
        struct args a;
        assert_int_equal(parse(&a, 3, argv), -EINVAL);
}

static void test_positional_counts(void **state) {
        (void)state;
        const char *none[] = { "demo", NULL };
        struct args a;
        assert_int_equal(parse(&a, 1, none), -EINVAL);
        const char *many[] = { "demo", "a", "b", "c", NULL };
        assert_int_equal(parse(&a, 4, many), -EINVAL);
        const char *dashdash[] = { "demo", "--", "-weird", NULL };
        assert_int_equal(parse(&a, 3, dashdash), 0);
        assert_string_equal(a.pos[0], "-weird");
        args_free(&a);
}

static void test_help_and_globals(void **state) {
        (void)state;
        const char *help[] = { "demo", "--help", NULL };
        struct args a;
        /* The help text goes to stdout, which carries this test's TAP stream: hide it. */
        fflush(stdout);
        int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        int r = parse(&a, 2, help);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        close(null);
        assert_int_equal(r, 1);
        const char *glob[] = { "demo", "--json", "n", "--home", "/tmp/h", NULL };
        assert_int_equal(parse(&a, 5, glob), 0);
        assert_true(global.json);
        assert_string_equal(global.home, "/tmp/h");
        args_free(&a);
        global.json = false;
        global.home = NULL;
}

static void test_suggest(void **state) {
        (void)state;
        const char *cands[] = { "init", "install", "snapshot", "list", "delimg" };
        assert_string_equal(args_suggest("snapshto", cands, 5), "snapshot");
        assert_string_equal(args_suggest("instal", cands, 5), "install");
        assert_string_equal(args_suggest("lst", cands, 5), "list");
        assert_null(args_suggest("frobnicate", cands, 5));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_values_and_positionals),
                cmocka_unit_test(test_list_option),
                cmocka_unit_test(test_unknown_option),
                cmocka_unit_test(test_missing_value),
                cmocka_unit_test(test_positional_counts),
                cmocka_unit_test(test_help_and_globals),
                cmocka_unit_test(test_suggest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
