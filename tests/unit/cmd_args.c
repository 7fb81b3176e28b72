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
        return test_capture(STDERR_FILENO, do_parse, &c, err);
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

/* After the command -q/--quiet is a flag: the next word stays a positional, and when it is the
 * extra one the line says how to write VMCloak's value form. */
static void test_quiet_after_command(void **state) {
        (void)state;
        struct args a;
        const char *flag[] = { "demo", "-q", "n", NULL };
        assert_int_equal(parse(&a, 3, flag), 0);
        assert_true(global.quiet);
        assert_int_equal(a.npos, 1);
        assert_string_equal(a.pos[0], "n");
        args_free(&a);
        const char *eq[] = { "demo", "n", "--quiet=x", NULL };
        assert_int_equal(parse(&a, 3, eq), 0);
        assert_int_equal(a.npos, 1);
        args_free(&a);
        _cleanup_free_ char *e1 = NULL, *e2 = NULL;
        const char *extra[] = { "demo", "a", "b", "--quiet", "1", NULL };
        assert_int_equal(parse_capturing(&a, &spec, extra, &e1), -EINVAL);
        assert_string_equal(e1, "vmcloak: too many arguments for 'demo' ('1' is extra; after the command -q/--quiet "
                                "takes no value: write --quiet=1, or -q 1 before the command)\n");
        /* The same word elsewhere is plainly extra. */
        const char *other[] = { "demo", "-q", "a", "b", "1", NULL };
        assert_int_equal(parse_capturing(&a, &spec, other, &e2), -EINVAL);
        assert_string_equal(e2, "vmcloak: too many arguments for 'demo' ('1' is extra): "
                                "vmcloak demo [OPTIONS] NAME [IP]\n");
        global.quiet = false;
        log_set_level(LOG_LEVEL_INFO);
}

static void test_help_and_globals(void **state) {
        (void)state;
        const char *help[] = { "demo", "--help", NULL };
        struct args a;
        struct parse_call c = { &a, &spec, 2, (char **)help };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(test_capture(STDOUT_FILENO, do_parse, &c, &out), 1);
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

/* Option errors come first, then values in the order typed: only the first bad value is named. */
static void test_typed_error_order(void **state) {
        (void)state;
        const char *argv[] = { "typed", "--accel", "x", "--cpus", "0", NULL };
        struct args a;
        _cleanup_free_ char *err = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
        assert_int_equal(parse_capturing(&a, &typed_spec, argv, &err), -EINVAL);
        assert_string_equal(err, "vmcloak: invalid --accel 'x': use auto, kvm or tcg\n");
        const char *swapped[] = { "typed", "--cpus", "0", "--accel", "x", NULL };
        assert_int_equal(parse_capturing(&a, &typed_spec, swapped, &e2), -EINVAL);
        assert_string_equal(e2, "vmcloak: invalid value '0' for --cpus (expected a whole number from 1 to 255)\n");
        const char *unknown[] = { "typed", "--cpus", "0", "--bogus", NULL };
        assert_int_equal(parse_capturing(&a, &typed_spec, unknown, &e3), -EINVAL);
        assert_non_null(strstr(e3, "unknown option '--bogus'"));
        /* An option given twice counts where its last value was typed, and only that value. */
        const char *twice[] = { "typed", "--cpus", "0", "--accel", "x", "--cpus", "2", NULL };
        assert_int_equal(parse_capturing(&a, &typed_spec, twice, &e4), -EINVAL);
        assert_string_equal(e4, "vmcloak: invalid --accel 'x': use auto, kvm or tcg\n");
}

/* ---- checks of values and positional arguments (optdef.check, posdef.check) ---- */

static struct {
        const char *name, *mode;
        char **tags;
        int calls;
} chk;

static int check_no_semicolon(const struct args *a, const char *value, const char *what) {
        (void)a;
        chk.calls++;
        if (strchr(value, ';')) {
                log_error("%s '%s' has a ';'", what, value);
                return -EINVAL;
        }
        return 0;
}

/* Reads another argument: refuses "x" only with --mode strict. */
static int check_mode_dependent(const struct args *a, const char *value, const char *what) {
        if (streq(value, "x") && streq_ptr(args_get_or(a, "mode"), "strict")) {
                log_error("%s 'x' is refused with --mode strict", what);
                return -EINVAL;
        }
        return 0;
}

static const struct optdef checked_opts[] = {
        OPT_STRING(0, "name", &chk.name, "S", "A checked string", .check = check_no_semicolon),
        OPT_STRING(0, "mode", &chk.mode, "M", "A mode", .def_value = "lax", .check = check_no_semicolon),
        OPT_LIST(0, "tag", &chk.tags, "T", "Checked list values", .check = check_no_semicolon),
        OPT_READ(0, "raw", ARG_VALUE, "R", "Read by code, still checked", .check = check_no_semicolon),
        { NULL },
};

static const struct posdef checked_pos[] = {
        { "FIRST", check_mode_dependent },
        { "REST", check_no_semicolon },
        { NULL },
};

static const struct cmd_spec checked_spec = {
        "checked", "[OPTIONS] FIRST [REST...]", "Checked.", NULL, checked_opts, 1, -1, .pos = checked_pos,
};

static void test_value_checks(void **state) {
        (void)state;
        static const struct {
                const char *argv[8];
                const char *err;
        } cases[] = {
                { { "checked", "a", "b", "c", NULL }, "" },
                { { "checked", "--name", "a;b", "x", NULL }, "--name 'a;b' has a ';'" },
                { { "checked", "x", "--tag", "ok", "--tag", "b;c", NULL }, "--tag 'b;c' has a ';'" },
                { { "checked", "--raw", ";", "x", NULL }, "--raw ';' has a ';'" },
                /* The last posdef applies to every further positional argument. */
                { { "checked", "x", "a", "b", "c;d", NULL }, "REST 'c;d' has a ';'" },
                /* Positional arguments take their turn among the options, as typed. */
                { { "checked", "x", "a;b", "--name", "c;d", NULL }, "REST 'a;b' has a ';'" },
                { { "checked", "--name", "c;d", "x", "a;b", NULL }, "--name 'c;d' has a ';'" },
                /* A check may read other arguments, typed before or after it. */
                { { "checked", "x", "--mode", "strict", NULL }, "FIRST 'x' is refused with --mode strict" },
                { { "checked", "--mode", "strict", "y", NULL }, "" },
                /* After "--" everything is positional and checked as such. */
                { { "checked", "--", "--name", "a;b", NULL }, "REST 'a;b' has a ';'" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct args a;
                _cleanup_free_ char *err = NULL, *want = NULL;
                int r = parse_capturing(&a, &checked_spec, (const char **)cases[i].argv, &err);
                if (!*cases[i].err) {
                        assert_int_equal(r, 0);
                        assert_string_equal(err, "");
                        args_free(&a);
                        continue;
                }
                assert_int_equal(r, -EINVAL);
                want = strdup_printf("vmcloak: %s\n", cases[i].err);
                assert_string_equal(err, want);
        }
        /* A def_value is checked too, after what was given; positional arguments keep their order. */
        chk.calls = 0;
        const char *argv[] = { "checked", "one", "--tag", "t", "two", "--", "-three", NULL };
        struct args a;
        _cleanup_free_ char *err = NULL;
        assert_int_equal(parse_capturing(&a, &checked_spec, argv, &err), 0);
        assert_int_equal(chk.calls, 4); /* --tag t, two, -three, --mode's def_value */
        assert_string_equal(chk.mode, "lax");
        assert_int_equal(a.npos, 3);
        assert_string_equal(a.pos[0], "one");
        assert_string_equal(a.pos[1], "two");
        assert_string_equal(a.pos[2], "-three");
        assert_null(a.pos[3]);
        assert_int_equal(a.nevents, 4);
        args_free(&a);
        /* A cluster of short flags is one word and as many arguments. */
        const char *cluster[] = { "typed", "-ffff", "-ff", NULL };
        _cleanup_free_ char *e2 = NULL;
        assert_int_equal(parse_capturing(&a, &typed_spec, cluster, &e2), 0);
        assert_int_equal(a.nevents, 6);
        assert_true(t.flag);
        args_free(&a);
}

/* ---- the commands' own checks: first error typed, first named; nothing needs the home ---- */

struct command_call {
        const char *const *argv;
};

/* What run_builtin() does before any set-up: parse, check(), done(). */
static int do_command_check(void *p) {
        const struct command_call *cc = p;
        const struct command *cmd = find_command(cc->argv[0]);
        assert_non_null(cmd);
        int argc = 0;
        while (cc->argv[argc])
                argc++;
        struct args a;
        int r = args_parse(&a, cmd->def->spec, argc, (char **)cc->argv);
        if (r != 0)
                return r;
        if (cmd->def->check)
                r = cmd->def->check(&a);
        if (cmd->def->done)
                cmd->def->done();
        args_free(&a);
        return r;
}

#define LONG60 "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"

static void test_command_checks(void **state) {
        (void)state;
        static const struct {
                const char *argv[16];
                const char *err;   /* "": accepted; else the start of the one line */
        } cases[] = {
                /* Issue 10, fault 6: names that other tools cannot carry. */
                { { "bridge", "br0;id", "10.0.0.1/24", NULL }, "invalid bridge name 'br0;id': ';' is not allowed; " },
                { { "bridge", "br,0", "10.0.0.1/24", NULL }, "invalid bridge name 'br,0': ',' is not allowed; " },
                { { "bridge", "all", "10.0.0.1/24", NULL }, "invalid bridge name 'all': 'allow all' in " },
                { { "bridge", "br0", "10.0.0.0/24", NULL }, "invalid CIDR '10.0.0.0/24': that is the network address" },
                { { "bridge", "br0", "10.0.0.1/31", NULL }, "invalid CIDR '10.0.0.1/31': the prefix must be 1..30" },
                { { "bridge", "--delete", "br;old", NULL }, "" },   /* Linux made it: it can go */
                { { "bridge", "--delete", "a:b", NULL }, "invalid interface name 'a:b': ':' is not allowed; " },
                { { "bridge", "br;0", NULL }, "" },                 /* one argument: the help */
                { { "init", "--linux", "a;b", "br0", NULL }, "invalid image name 'a;b': ';' is not allowed; " },
                { { "init", "--linux", "x.qcow2", "br0", NULL }, "invalid image name 'x.qcow2': it contains " },
                { { "init", "--linux", ".hidden", "br0", NULL }, "invalid image name '.hidden': it starts with '.'" },
                { { "init", "--linux", "img", "br;0", NULL }, "invalid bridge name 'br;0': ';' is not allowed; " },
                { { "init", "--linux", "img", "all", NULL }, "invalid bridge name 'all': " },
                { { "init", "--linux", "--net", "user", "img", "all", NULL }, "" },
                { { "init", "--linux", "img", "net;1", "--net", "user", NULL },
                  "invalid network name 'net;1': ';' is not allowed; " },
                { { "init", "--linux", "img", "usernet0123456789", "--net", "user", NULL },
                  "invalid network name 'usernet0123456789': it is 17 bytes long; " },
                { { "snapshot", "img", "vm;1", NULL }, "invalid VM name 'vm;1': ';' is not allowed; " },
                { { "snapshot", "img", "vm,1", NULL }, "invalid VM name 'vm,1': ',' is not allowed; " },
                { { "snapshot", "img", "[vm]", NULL }, "invalid VM name '[vm]': '[' is not allowed; " },
                { { "snapshot", "--count", "1000", "img", LONG60 "x", NULL },
                  "invalid VM name '" LONG60 "x1000' (the last of --count 1000): it is 65 bytes long; a VM name " },
                { { "snapshot", "img", LONG60 "123", "--count", "1000", NULL },
                  "invalid VM name '" LONG60 "1231000' (the last of --count 1000): it is 67 bytes long; " },
                { { "snapshot", "--count", "999", "img", LONG60 "x", NULL }, "" },
                { { "snapshot", "--hostname", "a_b", "img", "vm", NULL }, "invalid hostname 'a_b': '_' is not allowed" },
                { { "snapshot", "--hostname", "pc-1", "img", "vm", NULL }, "" },
                { { "snapshot", "--hostname", "pc", "--count", "2", "img", "vm", NULL },
                  "--hostname names one VM; with --count 2 each VM gets its own random hostname" },
                { { "snapshot", "--share", "1abc=/tmp", "img", "vm", NULL },
                  "invalid share tag '1abc': it starts with '1'; " },
                { { "snapshot", "--share", "s=/tmp", "--share", "s=/", "img", "vm", NULL },
                  "--share s=/: the tag 's' is already used by --share s=/tmp; give each share its own tag" },
                { { "snapshot", "--share", "s=/tmp", "--share", "t=/,rw", "img", "vm", NULL }, "" },
                { { "install", "img", "a;b", NULL }, "invalid dependency name 'a;b': ';' is not allowed; " },
                { { "install", "img", "dotnet:4,7", NULL }, "invalid dependency version '4,7': ',' is not allowed" },
                { { "install", "img", "dotnet:", NULL }, "invalid dependency version '': it is empty; " },
                { { "install", "img", "a;b.key=v", NULL }, "invalid dependency name 'a;b': ';' is not allowed" },
                { { "install", "img", "dotnet", "dotnet.version=4 7", NULL },
                  "invalid dependency version '4 7': it contains whitespace" },
                { { "install", "img", "run:", NULL }, "invalid step 'run:': expected run:COMMAND" },
                { { "install", "img", "dotnet:4.7.2", "run:true", "dotnet.opt=x y", NULL }, "" },
                { { "clone", "old;name", "new;name", NULL }, "invalid image name 'new;name': ';' is not allowed" },
                { { "clone", "old;name", "new", NULL }, "" },
                /* Names already in a repository stay usable: the NAME_EXISTING rule. */
                { { "delimg", "old;name", NULL }, "" },
                { { "delimg", ".hidden", NULL }, "" },
                { { "delimg", "..", NULL }, "invalid image name '..': '.' and '..' are folders, not names; " },
                { { "delvm", "x.qcow2", NULL }, "" },
                { { "delvm", "a/b", NULL }, "invalid VM name 'a/b': '/' is not allowed; " },
                { { "cleanup", ".", NULL }, "invalid name '.': " },
                { { "cleanup", "old;name", NULL }, "" },
                { { "restore", "old;vm", NULL }, "" },
                { { "modify", "old;img", NULL }, "" },
                { { "snapshot", "old;img", "vm", NULL }, "" },
                { { "install", "old;img", "run:true", NULL }, "" },
                { { "doctor", "--bridge", "a b", NULL }, "invalid interface name 'a b': it contains whitespace" },
                { { "internet", "up", "10.1.1.2", NULL }, "unknown action 'up': use on, off or status" },
                { { "internet", "on", "10.1.1.2", NULL }, "internet on needs --via IFACE" },
                { { "internet", "off", "10.1.1.2", "--via", "eth0", NULL }, "--via is for internet on" },
                { { "internet", "on", "127.0.0.1", "--via", "eth0", NULL }, "127.0.0.1 is no guest address" },
                { { "internet", "on", "224.0.0.1", "--via", "eth0", NULL }, "224.0.0.1 is no guest address" },
                { { "internet", "on", "..", "--via", "eth0", NULL }, "invalid image name '..'" },
                { { "internet", "on", "img", "--via", "a b", NULL }, "invalid interface name 'a b'" },
                /* --via must exist here: lo does everywhere. */
                { { "internet", "on", "old;img", "--via", "lo", "--via", "lo", NULL }, "" },
                { { "internet", "on", "10.1.1.2", "--via", "nosuch0", NULL }, "--via nosuch0: no such interface" },
                { { "internet", "off", "10.1.1.2", "--force", NULL }, "--force is for internet on" },
                { { "internet", "status", "192.168.30.2", NULL }, "" },
                /* Issue 10, fault 10: every argument's syntax before any state, first typed first named. */
                { { "snapshot", "img", "vm", "192.168.30.300", NULL },
                  "invalid IP address '192.168.30.300' for IP (expected four numbers 0-255, e.g. 192.168.30.2)" },
                { { "snapshot", "img", "vm", "192.168.30.300", "--cpus", "0", NULL }, "invalid IP address " },
                { { "snapshot", "--cpus", "0", "img", "vm", "192.168.30.300", NULL }, "invalid value '0' for --cpus" },
                { { "snapshot", "--compress", "none", "--compress-level", "3", "img", "vm", NULL },
                  "--compress-level does not apply to --compress none" },
                { { "snapshot", "--compress-level", "99", "--compress", "gzip", "img", "vm", NULL },
                  "invalid value '99' for --compress-level (expected a whole number from 1 to 9)" },
                { { "snapshot", "--serial", "bogus", "img", "vm", NULL }, "invalid --serial 'bogus': use file," },
                { { "snapshot", "--share", "s=/nonexistent-vmcloak", "img", "vm", NULL },
                  "--share s=/nonexistent-vmcloak: /nonexistent-vmcloak is not a directory" },
                { { "init", "--linux", "--ip", "1.2.3.300", "a;b", "br0", NULL }, "invalid IP address '1.2.3.300' for --ip" },
                { { "init", "--linux", "a;b", "br0", "--ip", "1.2.3.300", NULL }, "invalid image name 'a;b'" },
                { { "init", "--linux", "img", "br;0", "--ip", "1.2.3.300", NULL }, "invalid bridge name 'br;0'" },
                { { "init", "--linux", "--gateway", "1.2.3", "img", "br0", NULL }, "invalid IP address '1.2.3' for --gateway" },
                { { "init", "--linux", "--dns", "dns", "img", "br0", NULL }, "invalid IP address 'dns' for --dns" },
                { { "init", "--linux", "--dns2", "1.1.1.1.1", "img", "br0", NULL }, "invalid IP address '1.1.1.1.1' for --dns2" },
                { { "init", "--linux", "--network", "10.0.0.0/33", "img", "br0", NULL },
                  "invalid network '10.0.0.0/33' for --network (expected ADDRESS/PREFIX" },
                { { "init", "--linux", "--network", "10.0.0.0/31", "img", "br0", NULL },
                  "invalid network '10.0.0.0/31' for --network: a /31 leaves no room for a guest and a gateway" },
                { { "init", "--linux", "--mac", "01:00:00:00:00:00", "img", "br0", NULL }, "invalid MAC address '01:00:" },
                { { "init", "--linux", "--mac", "xx", "img", "br0", NULL }, "invalid MAC address 'xx' for --mac" },
                { { "init", "--linux", "--iso", "", "img", "br0", NULL }, "--iso needs a path, not an empty string" },
                { { "init", "--linux", "--cdrom", "a.iso", "--cdrom", "", "img", "br0", NULL },
                  "--cdrom needs a path, not an empty string" },
                { { "init", "--linux", "--hddsize", "10M", "img", "br0", NULL }, "--hddsize 10M is too small" },
                { { "init", "--linux", "--vm", "vbox", "img", "br0", NULL }, "--vm vbox is not supported" },
                { { "init", "--linux", "--ip", "10.0.0.5", "--network", "10.0.0.0/24", "--gateway", "10.0.0.1",
                    "--mac", "00:19:3c:00:00:01", "img", "br0", NULL }, "" },
                { { "install", "--timeout", "0", "img", "a;b", NULL }, "invalid value '0' for --timeout" },
                { { "install", "img", "a;b", "--timeout", "0", NULL }, "invalid dependency name 'a;b'" },
                { { "restore", "vm", "--exec", "", NULL }, "--exec needs a command to run in the restored guest" },
                { { "cleanup", "--vm", "vbox", "x", NULL }, "--vm vbox is not supported: only qemu" },
                { { "createiso", "--linux", "", NULL }, "ISO_PATH needs a path, not an empty string" },
                { { "createiso", "--linux", "--ip", "1.2.3.300", "out.iso", NULL }, "invalid IP address '1.2.3.300'" },
                { { "migrate", "--revision", "5", NULL }, "unknown revision '5' for --revision: use head or one of VMCloak's" },
                { { "migrate", "--revision", "f5b14c62e62c", NULL }, "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct command_call cc = { cases[i].argv };
                _cleanup_free_ char *err = NULL;
                int r = test_capture(STDERR_FILENO, do_command_check, &cc, &err);
                if (!*cases[i].err) {
                        if (r != 0 || strchr(err, '\n') != strrchr(err, '\n'))
                                fail_msg("case %zu (%s %s): refused: %s", i, cases[i].argv[0], cases[i].argv[1], err);
                        /* Bridge's help (one argument) goes to stdout, snapshot's zstd warning to stderr. */
                        continue;
                }
                _cleanup_free_ char *want = strdup_printf("vmcloak: %s", cases[i].err);
                if (r >= 0 || !startswith(err, want) || strchr(err, '\n') != err + strlen(err) - 1)
                        fail_msg("case %zu (%s %s): rc %d, got '%s', want '%s...' on one line", i, cases[i].argv[0],
                                 cases[i].argv[1], r, err, want);
        }
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
        /* Positional checks: no more entries than arguments, each with a metavar. */
        int npos = 0;
        for (const struct posdef *p = s->pos; p && p->metavar; p++)
                npos++;
        if (s->max_pos >= 0 && npos > s->max_pos)
                PROBLEM("'%s': %d positional checks for at most %d arguments\n", c->name, npos, s->max_pos);
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
        assert_int_equal(test_capture(STDERR_FILENO, count_problems, (void *)&c, &err), 2);
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
                cmocka_unit_test(test_quiet_after_command),
                cmocka_unit_test(test_help_and_globals),
                cmocka_unit_test(test_suggest),
                cmocka_unit_test(test_typed_defaults),
                cmocka_unit_test(test_typed_good_values),
                cmocka_unit_test(test_typed_bad_values),
                cmocka_unit_test(test_typed_error_order),
                cmocka_unit_test(test_value_checks),
                cmocka_unit_test(test_command_checks),
                cmocka_unit_test(test_command_tables),
                cmocka_unit_test(test_table_check_catches),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
