/* Unit tests: table-driven option parsing, typed bindings and their error lines, help,
 * suggestions, and a check of every command's option table. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/global.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"

/* The real command table (src/vmcloak.c) with its main() renamed, for the table check; the
 * headers it includes come first so that only its main() is renamed. */
#include "cmd/cmd.h"
#include "core/interrupt.h"
#define main vmcloak_main
#include "vmcloak.c"
#undef main

/* ---- capturing what a parse prints ---- */

/* Run fn with stream fd (stdout or stderr) redirected to a file; returns fn's result and sets
 * *ret to what was written (caller frees). */
static int capture(int fd, int (*fn)(void *), void *arg, char **ret) {
        char path[] = "/tmp/vmcloak-cmd-args.XXXXXX";
        int tmp = mkstemp(path);
        assert_true(tmp >= 0);
        fflush(stdout);
        fflush(stderr);
        int saved = dup(fd);
        dup2(tmp, fd);
        int r = fn(arg);
        fflush(stdout);
        fflush(stderr);
        dup2(saved, fd);
        close(saved);
        close(tmp);
        size_t len;
        assert_int_equal(read_full_file(path, ret, &len), 0);
        unlink(path);
        return r;
}

struct parse_call {
        struct args *a;
        const struct cmd_spec *spec;
        int argc;
        char **argv;
};

static int do_parse(void *p) {
        struct parse_call *c = p;
        return args_parse(c->a, c->spec, c->argc, c->argv);
}

/* args_parse with argv (NULL-terminated); *err gets the stderr text (caller frees). */
static int parse_capturing(struct args *a, const struct cmd_spec *spec, const char **argv, char **err) {
        int argc = 0;
        while (argv[argc])
                argc++;
        struct parse_call c = { a, spec, argc, (char **)argv };
        return capture(STDERR_FILENO, do_parse, &c, err);
}

/* ---- the generic parser (options read by code) ---- */

static const struct optdef opts[] = {
        OPT_READ(0, "ip", ARG_VALUE, "IP", "Guest IP"),
        OPT_READ(0, "port", ARG_VALUE, "PORT", "Agent port", .def_value = "8000"),
        OPT_READ(0, "vrde", ARG_FLAG, NULL, "VNC"),
        OPT_READ('c', "count", ARG_VALUE, "N", "Count", .def_value = "1"),
        OPT_READ(0, "qemu-arg", ARG_LIST, "ARG", "Extra"),
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
        _cleanup_free_ char *err = NULL;
        assert_int_equal(parse_capturing(&a, &spec, argv, &err), -EINVAL);
        assert_string_equal(err, "vmcloak: unknown option '--iq' for 'demo'; did you mean '--ip'? "
                                 "(see 'vmcloak demo --help')\n");
}

static void test_missing_value(void **state) {
        (void)state;
        const char *argv[] = { "demo", "n", "--ip", NULL };
        struct args a;
        _cleanup_free_ char *err = NULL;
        assert_int_equal(parse_capturing(&a, &spec, argv, &err), -EINVAL);
        assert_string_equal(err, "vmcloak: option '--ip' of 'demo' needs a value (see 'vmcloak demo --help')\n");
}

static void test_positional_counts(void **state) {
        (void)state;
        const char *none[] = { "demo", NULL };
        struct args a;
        _cleanup_free_ char *e1 = NULL, *e2 = NULL;
        assert_int_equal(parse_capturing(&a, &spec, none, &e1), -EINVAL);
        assert_string_equal(e1, "vmcloak: 'demo' needs more arguments: vmcloak demo [OPTIONS] NAME [IP] "
                                "(see 'vmcloak demo --help')\n");
        const char *many[] = { "demo", "a", "b", "c", NULL };
        assert_int_equal(parse_capturing(&a, &spec, many, &e2), -EINVAL);
        assert_string_equal(e2, "vmcloak: too many arguments for 'demo' ('c' is extra): "
                                "vmcloak demo [OPTIONS] NAME [IP]\n");
        const char *dashdash[] = { "demo", "--", "-weird", NULL };
        assert_int_equal(parse(&a, 3, dashdash), 0);
        assert_string_equal(a.pos[0], "-weird");
        args_free(&a);
}

static void test_help_and_globals(void **state) {
        (void)state;
        const char *help[] = { "demo", "--help", NULL };
        struct args a;
        struct parse_call c = { &a, &spec, 2, (char **)help };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(capture(STDOUT_FILENO, do_parse, &c, &out), 1);
        assert_non_null(strstr(out, "Usage: vmcloak demo [OPTIONS] NAME [IP]\n"));
        /* def_value is shown as the default. */
        assert_non_null(strstr(out, "  -c, --count N                  Count [default: 1]\n"));
        assert_non_null(strstr(out, "      --qemu-arg ARG             Extra (may be repeated)\n"));
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

/* ---- typed bindings ---- */

static struct {
        const char *str;
        bool flag;
        unsigned num;
        uint16_t port;
        const char *ip;
        struct ipv4_net net;
        uint64_t size;
        const char *res;
        char **list;
        enum vm_accel accel;
        enum image_netmode netmode;
        enum vm_compress compress;
        unsigned plain;            /* bound, no def_value */
        const char *shared;        /* bound, but the spec's unbound list takes it back */
} t;

static const struct optdef typed_opts[] = {
        OPT_STRING(0, "str", &t.str, "S", "A string"),
        OPT_BOOL('f', "flag", &t.flag, "A flag"),
        OPT_UINT(0, "cpus", &t.num, 1, 255, "N", "A number", .def_value = "1"),
        OPT_PORT(0, "port", &t.port, "PORT", "A port", .def_value = "8000"),
        OPT_IPV4(0, "vnc-listen", &t.ip, "ADDR", "An address", .def_value = "127.0.0.1"),
        OPT_CIDR(0, "network", &t.net, "CIDR", "A network"),
        OPT_SIZE(0, "hddsize", &t.size, 1ull << 30, "SIZE", "A size", .def = "256 (GiB)"),
        OPT_RESOLUTION(0, "resolution", &t.res, "WxH", "A resolution", .def_value = "1024x768"),
        OPT_LIST(0, "share", &t.list, "X", "A list"),
        OPT_ENUM(0, "accel", &t.accel, opt_accel, "ACCEL", "An accelerator", .def_value = "auto"),
        OPT_ENUM(0, "net", &t.netmode, opt_netmode, "MODE", "A network mode", .def_value = "bridge"),
        OPT_ENUM(0, "compress", &t.compress, opt_compress, "ALGO", "A compressor", .def_value = "lz4"),
        OPT_UINT(0, "plain", &t.plain, 0, 10, "N", "No default"),
        OPT_STRING(0, "shared", &t.shared, "S", "Taken back", .def_value = "dflt"),
        { NULL },
};

static const char *const typed_unbound[] = { "shared", NULL };

static const struct cmd_spec typed_spec = { "typed", "[OPTIONS]", "Typed.", NULL, typed_opts, 0, 0, typed_unbound };

/* Parse "typed OPTION VALUE" (VALUE NULL: a flag alone; OPTION NULL: nothing given). */
static int parse_one(const char *option, const char *value, char **err) {
        const char *argv[] = { "typed", option, value, NULL };
        struct args a;
        int r = parse_capturing(&a, &typed_spec, argv, err);
        if (r == 0)
                args_free(&a);
        return r;
}

static void test_typed_defaults(void **state) {
        (void)state;
        memset(&t, 0xa5, sizeof t); /* whatever a previous parse left */
        t.shared = "untouched";
        _cleanup_free_ char *err = NULL;
        assert_int_equal(parse_one(NULL, NULL, &err), 0);
        assert_string_equal(err, "");
        assert_null(t.str);
        assert_false(t.flag);
        assert_int_equal(t.num, 1);
        assert_int_equal(t.port, 8000);
        assert_string_equal(t.ip, "127.0.0.1");
        assert_int_equal(t.net.addr, 0);
        assert_int_equal(t.net.prefix, 0);
        assert_int_equal(t.size, 0);          /* a .def is shown, never parsed */
        assert_string_equal(t.res, "1024x768");
        assert_null(t.list);
        assert_int_equal(t.accel, VM_ACCEL_AUTO);
        assert_int_equal(t.netmode, IMAGE_NET_BRIDGE);
        assert_int_equal(t.compress, VM_COMPRESS_LZ4);
        assert_int_equal(t.plain, 0);
        /* A bound option the spec takes back is left alone. */
        assert_string_equal(t.shared, "untouched");
}

static void test_typed_good_values(void **state) {
        (void)state;
        const char *argv[] = { "typed", "--str", "hello", "-f", "--cpus", "255", "--port", "65535",
                               "--vnc-listen", "0.0.0.0", "--network", "10.1.2.3", "--hddsize", "4096M",
                               "--resolution", "800x600", "--share", "a=b", "--share", "c=d", "--accel", "tcg",
                               "--net", "user", "--compress", "zstd", "--plain", "0", "--shared", "zz", NULL };
        struct args a;
        _cleanup_free_ char *err = NULL;
        assert_int_equal(parse_capturing(&a, &typed_spec, argv, &err), 0);
        assert_string_equal(err, "");
        assert_string_equal(t.str, "hello");
        assert_true(t.flag);
        assert_int_equal(t.num, 255);
        assert_int_equal(t.port, 65535);
        assert_string_equal(t.ip, "0.0.0.0");
        assert_int_equal(t.net.addr, 0x0a010203);
        assert_int_equal(t.net.prefix, 24);    /* a bare address means /24 */
        assert_int_equal(t.size, 4096ull << 20);
        assert_string_equal(t.res, "800x600");
        assert_non_null(t.list);
        assert_string_equal(t.list[0], "a=b");
        assert_string_equal(t.list[1], "c=d");
        assert_null(t.list[2]);
        assert_int_equal(t.accel, VM_ACCEL_TCG);
        assert_int_equal(t.netmode, IMAGE_NET_USER);
        assert_int_equal(t.compress, VM_COMPRESS_ZSTD);
        assert_int_equal(t.plain, 0);
        assert_string_equal(args_get_or(&a, "shared"), "zz");
        args_free(&a);

        /* Units and the bare unit of a size; the last value of an option wins. */
        _cleanup_free_ char *e2 = NULL, *e3 = NULL;
        assert_int_equal(parse_one("--hddsize", "2", &e2), 0);
        assert_int_equal(t.size, 2ull << 30);
        const char *twice[] = { "typed", "--cpus", "7", "--cpus=9", "--network", "10.0.0.0/8", NULL };
        assert_int_equal(parse_capturing(&a, &typed_spec, twice, &e3), 0);
        assert_int_equal(t.num, 9);
        assert_int_equal(t.net.prefix, 8);
        args_free(&a);
}

/* Each type's refusals and the exact line each prints: the lines commands printed before. */
static void test_typed_bad_values(void **state) {
        (void)state;
        static const struct {
                const char *option, *value, *line;
        } cases[] = {
                { "--cpus", "0", "invalid value '0' for --cpus (expected a whole number from 1 to 255)" },
                { "--cpus", "256", "invalid value '256' for --cpus (expected a whole number from 1 to 255)" },
                { "--cpus", "abc", "invalid value 'abc' for --cpus (expected a whole number from 1 to 255)" },
                { "--cpus", "-1", "invalid value '-1' for --cpus (expected a whole number from 1 to 255)" },
                { "--cpus", "", "invalid value '' for --cpus (expected a whole number from 1 to 255)" },
                { "--plain", "11", "invalid value '11' for --plain (expected a whole number from 0 to 10)" },
                { "--port", "0", "invalid port '0' for --port (expected a number from 1 to 65535)" },
                { "--port", "65536", "invalid port '65536' for --port (expected a number from 1 to 65535)" },
                { "--port", "http", "invalid port 'http' for --port (expected a number from 1 to 65535)" },
                { "--vnc-listen", "1.2.3",
                  "invalid IP address '1.2.3' for --vnc-listen (expected four numbers 0-255, e.g. 192.168.30.2)" },
                { "--vnc-listen", "256.1.1.1",
                  "invalid IP address '256.1.1.1' for --vnc-listen (expected four numbers 0-255, e.g. 192.168.30.2)" },
                { "--network", "10.0.0.0/33",
                  "invalid network '10.0.0.0/33' for --network (expected ADDRESS/PREFIX, e.g. 192.168.30.0/24)" },
                { "--network", "net",
                  "invalid network 'net' for --network (expected ADDRESS/PREFIX, e.g. 192.168.30.0/24)" },
                { "--hddsize", "0", "invalid size '0' for --hddsize (expected a number with an optional unit K, M, "
                                    "G or T, e.g. 256G)" },
                { "--hddsize", "12Q", "invalid size '12Q' for --hddsize (expected a number with an optional unit K, "
                                      "M, G or T, e.g. 256G)" },
                { "--hddsize", "99999999999999T", "invalid size '99999999999999T' for --hddsize (expected a number "
                                                  "with an optional unit K, M, G or T, e.g. 256G)" },
                { "--resolution", "1024", "invalid --resolution '1024': use WIDTHxHEIGHT, e.g. 1024x768" },
                { "--resolution", "10x10", "invalid --resolution '10x10': use WIDTHxHEIGHT, e.g. 1024x768" },
                { "--accel", "hvf", "invalid --accel 'hvf': use auto, kvm or tcg" },
                { "--accel", "KVM", "invalid --accel 'KVM': use auto, kvm or tcg" },
                { "--net", "nat", "invalid --net 'nat': use bridge or user" },
                { "--compress", "xz", "invalid --compress 'xz': use lz4, gzip, zstd or none" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *err = NULL, *want = NULL;
                assert_int_equal(parse_one(cases[i].option, cases[i].value, &err), -EINVAL);
                want = strdup_printf("vmcloak: %s\n", cases[i].line);
                assert_string_equal(err, want);
        }
        /* An option the spec takes back is not parsed, so not refused. */
        _cleanup_free_ char *err = NULL;
        assert_int_equal(parse_one("--shared", "", &err), 0);
        assert_string_equal(err, "");
}

/* Option errors come first, then values in table order: only the first bad value is named. */
static void test_typed_error_order(void **state) {
        (void)state;
        const char *argv[] = { "typed", "--accel", "x", "--cpus", "0", NULL };
        struct args a;
        _cleanup_free_ char *err = NULL, *e2 = NULL;
        assert_int_equal(parse_capturing(&a, &typed_spec, argv, &err), -EINVAL);
        assert_string_equal(err, "vmcloak: invalid value '0' for --cpus (expected a whole number from 1 to 255)\n");
        const char *unknown[] = { "typed", "--cpus", "0", "--bogus", NULL };
        assert_int_equal(parse_capturing(&a, &typed_spec, unknown, &e2), -EINVAL);
        assert_non_null(strstr(e2, "unknown option '--bogus'"));
}

/* ---- every command's table ---- */

static bool kind_fits(const struct optdef *o) {
        switch (o->type) {
        case OPTION_READ:
        case OPTION_NO_EFFECT:
                return true;
        case OPTION_BOOL:
                return o->kind == ARG_FLAG;
        case OPTION_LIST:
                return o->kind == ARG_LIST;
        default:
                return o->kind == ARG_VALUE;
        }
}

static bool is_bound(const struct optdef *o) {
        return o->type != OPTION_UNBOUND && o->type != OPTION_READ && o->type != OPTION_NO_EFFECT;
}

/* Problems of one command's table, each printed; 0 when it is sound. */
#define PROBLEM(...) (print_error(__VA_ARGS__), problems++)
static int table_problems(const struct command *c) {
        int problems = 0;
        const struct cmd_def *d = c->def;
        if (d->run_argv)
                return d->spec ? PROBLEM("'%s': a main() and a spec\n", c->name) : 0;
        if (!d->spec || !d->run)
                return PROBLEM("'%s': no spec or no run()\n", c->name);
        const struct cmd_spec *s = d->spec;
        if (!streq(s->name, c->name))
                PROBLEM("'%s': its spec is named '%s'\n", c->name, s->name);
        const char *names[ARGS_MAX_OPTS];
        char shorts[ARGS_MAX_OPTS];
        size_t n = 0;
        for (const struct optdef *o = s->opts; o && o->name; o++) {
                /* Every option goes to a field, or says that the command reads it or that it has no effect. */
                if (o->type == OPTION_UNBOUND)
                        PROBLEM("'%s --%s' has no binding: give it a field (OPT_*), OPT_READ or OPT_NO_EFFECT\n",
                                c->name, o->name);
                if (!kind_fits(o))
                        PROBLEM("'%s --%s': its kind does not fit its type\n", c->name, o->name);
                if (is_bound(o) && (!o->field || !o->field_size))
                        PROBLEM("'%s --%s' is bound to no field\n", c->name, o->name);
                if (o->type == OPTION_UINT && o->min > o->max)
                        PROBLEM("'%s --%s': empty range\n", c->name, o->name);
                if (o->type == OPTION_ENUM && (!o->enumdef || !o->enumdef->parse || !o->enumdef->choices))
                        PROBLEM("'%s --%s': an enum without names\n", c->name, o->name);
                if (o->type == OPTION_SIZE && !o->unit)
                        PROBLEM("'%s --%s': a size without a unit\n", c->name, o->name);
                if (o->def_value && !is_bound(o) && o->type != OPTION_READ)
                        PROBLEM("'%s --%s': a def_value nothing reads (use .def)\n", c->name, o->name);
                if (o->kind != ARG_FLAG && !o->metavar)
                        PROBLEM("'%s --%s' has no metavar\n", c->name, o->name);
                names[n] = o->name;
                shorts[n++] = o->short_name;
        }
        /* No name twice, none shadowing a global option. */
        static const char *const global_names[] = { "debug", "quiet", "json", "no-color", "home", "help" };
        for (size_t i = 0; i < n; i++) {
                for (size_t j = i + 1; j < n; j++) {
                        if (streq(names[i], names[j]))
                                PROBLEM("'%s --%s' is defined twice\n", c->name, names[i]);
                        if (shorts[i] && shorts[i] == shorts[j])
                                PROBLEM("'%s -%c' is defined twice\n", c->name, shorts[i]);
                }
                for (size_t g = 0; g < ELEMENTSOF(global_names); g++)
                        if (streq(names[i], global_names[g]))
                                PROBLEM("'%s --%s' shadows the global option\n", c->name, names[i]);
                if (shorts[i] == 'd' || shorts[i] == 'q' || shorts[i] == 'h')
                        PROBLEM("'%s -%c' shadows a global option\n", c->name, shorts[i]);
        }
        /* What a spec takes back must be a bound option of its table. */
        for (const char *const *u = s->unbound; u && *u; u++) {
                bool found = false;
                for (const struct optdef *o = s->opts; o && o->name; o++)
                        found = found || (streq(o->name, *u) && is_bound(o));
                if (!found)
                        PROBLEM("'%s' takes back '--%s', which it does not bind\n", c->name, *u);
        }
        /* Every def_value parses by its type: the command line with only the positional arguments
         * it needs parses without a word on stderr. */
        const char *argv[8] = { c->name };
        for (int i = 0; i < s->min_pos; i++)
                argv[i + 1] = "x";
        struct args a;
        _cleanup_free_ char *err = NULL;
        if (parse_capturing(&a, s, argv, &err) != 0 || !streq(err, ""))
                PROBLEM("'%s' with no options does not parse cleanly: %s\n", c->name, err);
        else
                args_free(&a);
        return problems;
}

static int count_problems(void *command) { return table_problems(command); }

static void test_command_tables(void **state) {
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                assert_int_equal(table_problems(&commands[i]), 0);
        /* Names are unique: each finds its own row. */
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                assert_ptr_equal(find_command(commands[i].name), &commands[i]);
}

static int noop_run(const struct cmd_env *env) {
        (void)env;
        return 0;
}

/* The table check refuses an entry written without a binding, and a bad def_value. */
static void test_table_check_catches(void **state) {
        (void)state;
        static unsigned field;
        static const struct optdef bad_opts[] = {
                { "forgot", 0, ARG_VALUE, "X", NULL, "An option without a binding" },
                OPT_UINT(0, "count", &field, 1, 9, "N", "A default out of range", .def_value = "10"),
                { NULL },
        };
        static const struct cmd_spec bad_spec = { "bad", "", "Bad.", NULL, bad_opts, 0, 0 };
        static const struct cmd_def bad_def = { .spec = &bad_spec, .run = noop_run };
        const struct command c = { "bad", &bad_def, 0, "" };
        _cleanup_free_ char *err = NULL;
        assert_int_equal(capture(STDERR_FILENO, count_problems, (void *)&c, &err), 2);
        assert_non_null(strstr(err, "'bad --forgot' has no binding"));
        assert_non_null(strstr(err, "does not parse cleanly: vmcloak: invalid value '10' for --count"));
}

int main(void) {
        log_set_color(LOG_COLOR_NEVER);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_values_and_positionals),
                cmocka_unit_test(test_list_option),
                cmocka_unit_test(test_unknown_option),
                cmocka_unit_test(test_missing_value),
                cmocka_unit_test(test_positional_counts),
                cmocka_unit_test(test_help_and_globals),
                cmocka_unit_test(test_suggest),
                cmocka_unit_test(test_typed_defaults),
                cmocka_unit_test(test_typed_good_values),
                cmocka_unit_test(test_typed_bad_values),
                cmocka_unit_test(test_typed_error_order),
                cmocka_unit_test(test_command_tables),
                cmocka_unit_test(test_table_check_catches),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
