/* Unit tests: qemu-bridge-helper lookup, the ACL path compiled into a binary, the ACL rules as the
 * helper applies them, and --setup-helper's changes, all on temporary files. */
#include "test.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "net/helper.h"

static char *tmp;

static int setup(void **state) {
        (void)state;
        tmp = test_tmpdir();
        unsetenv(NET_HELPER_ENV);
        unsetenv(NET_ACL_ENV);
        return tmp ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        rm_rf(tmp);
        free(tmp);
        unsetenv(NET_HELPER_ENV);
        unsetenv(NET_ACL_ENV);
        return 0;
}

static char *tpath(const char *name) { return strdup_printf("%s/%s", tmp, name); }

static void write_bytes(const char *path, const void *data, size_t len, mode_t mode) {
        assert_int_equal(write_file(path, data, len, mode), 0);
        assert_int_equal(chmod(path, mode), 0);
}

static void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text), 0644); }

/* A fake binary: ELF-ish junk, decoys that must not match, then the real string. */
static char *fake_binary(const char *name, const char *real) {
        char *p = tpath(name);
        char buf[4096];
        size_t n = 0;
        const char *parts[] = {
                "\x7f" "ELF\x02\x01\x01",
                "bridge.conf",                              /* no folder */
                "/etc/qemu/bridge.conf.bak",                /* does not end there */
                "default=/etc/qemu/bridge.conf)",           /* not a path of its own */
                "relative/bridge.conf",                     /* not absolute */
                real,
                "\xff\xfe trailing junk",
        };
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                size_t l = strlen(parts[i]);
                memcpy(buf + n, parts[i], l + 1); /* keep each NUL */
                n += l + 1;
                buf[n++] = (char)0x90;
        }
        write_bytes(p, buf, n, 0755);
        return p;
}

static void test_binary_find_path(void **state) {
        (void)state;
        char *bin = fake_binary("helper", "/opt/q/etc/qemu/bridge.conf");
        char *found = NULL;
        assert_int_equal(net_binary_find_path(bin, "/bridge.conf", &found), 0);
        assert_string_equal(found, "/opt/q/etc/qemu/bridge.conf");
        free(found);
        assert_int_equal(net_binary_find_path(bin, "/qemu-bridge-helper", &found), -ENOENT);

        char *empty = tpath("empty");
        write_bytes(empty, "", 0, 0644);
        assert_int_equal(net_binary_find_path(empty, "/bridge.conf", &found), -ENOENT);
        assert_int_equal(net_binary_find_path("/nonexistent/x", "/bridge.conf", &found), -ENOENT);
        assert_int_equal(net_binary_find_path(tmp, "/bridge.conf", &found), -EINVAL); /* a folder */
        free(empty);
        free(bin);
}

static void test_acl_path(void **state) {
        (void)state;
        char *bin = fake_binary("helper", "/usr/local/etc/qemu/bridge.conf");
        char *acl = NULL;
        assert_int_equal(net_helper_acl_path(bin, &acl), 0);
        assert_string_equal(acl, "/usr/local/etc/qemu/bridge.conf");
        free(acl);
        setenv(NET_ACL_ENV, "/tmp/override.conf", 1);
        assert_int_equal(net_helper_acl_path(bin, &acl), 0);
        assert_string_equal(acl, "/tmp/override.conf");
        free(acl);
        unsetenv(NET_ACL_ENV);
        free(bin);
}

static void test_helper_find(void **state) {
        (void)state;
        char *helper = fake_binary("qemu-bridge-helper", "/etc/qemu/bridge.conf");
        char *found = NULL;
        setenv(NET_HELPER_ENV, helper, 1);
        assert_int_equal(net_helper_find(NULL, &found), 0);
        assert_string_equal(found, helper);
        free(found);
        char *missing = tpath("no-such-helper");
        setenv(NET_HELPER_ENV, missing, 1);
        assert_int_equal(net_helper_find(NULL, &found), -ENOENT);
        unsetenv(NET_HELPER_ENV);

        /* The default compiled into the QEMU binary comes first. */
        char *qemu_str = strdup_printf("%s", helper);
        char *qemu = fake_binary("qemu-system-x86_64", qemu_str);
        assert_int_equal(net_helper_find(qemu, &found), 0);
        assert_string_equal(found, helper);
        free(found);
        /* A helper beside the QEMU binary is found when the compiled-in one is absent. */
        char *q2dir = tpath("bin");
        assert_int_equal(mkdir(q2dir, 0755), 0);
        char *q2 = strdup_printf("%s/qemu-system-x86_64", q2dir);
        char *h2 = strdup_printf("%s/qemu-bridge-helper", q2dir);
        assert_int_equal(copy_file(qemu, q2, 0755), 0);
        assert_int_equal(copy_file(helper, h2, 0755), 0);
        assert_int_equal(unlink(helper), 0);
        assert_int_equal(net_helper_find(q2, &found), 0);
        /* /usr/lib/qemu etc. come before "beside QEMU": accept a system helper if this host has one. */
        assert_true(streq(found, h2) || startswith(found, "/usr/"));
        free(found);
        free(q2dir);
        free(q2);
        free(h2);
        free(qemu);
        free(qemu_str);
        free(missing);
        free(helper);
}

struct acl_case {
        const char *text;
        const char *bridge;
        bool allowed;
        bool error;
        const char *allow_line;   /* ":N" expected at the end of allow_at, or NULL for none */
        const char *deny_line;
        const char *msg_part;     /* part of error_msg */
};

static void check_case(const struct acl_case *k, const char *path) {
        struct net_acl a;
        assert_int_equal(net_acl_check(path, k->bridge, &a), 0);
        if (a.allowed != k->allowed || (a.error != 0) != k->error)
                fail_msg("ACL %s for %s: allowed=%d error=%d (%s), expected allowed=%d error=%d", k->text, k->bridge,
                         a.allowed, a.error, strempty(a.error_msg), k->allowed, k->error);
        if (k->allow_line) {
                assert_non_null(a.allow_at);
                assert_true(endswith(a.allow_at, k->allow_line));
        } else if (!k->error)
                assert_null(a.allow_at);
        if (k->deny_line) {
                assert_non_null(a.deny_at);
                assert_true(endswith(a.deny_at, k->deny_line));
        } else if (!k->error)
                assert_null(a.deny_at);
        if (k->msg_part) {
                assert_non_null(a.error_msg);
                if (!strstr(a.error_msg, k->msg_part))
                        fail_msg("error '%s' lacks '%s'", a.error_msg, k->msg_part);
        }
        net_acl_done(&a);
}

static void test_acl_forms(void **state) {
        (void)state;
        static const struct acl_case cases[] = {
                { "allow br0\n", "br0", true, false, ":1", NULL, NULL },
                { "allow br1\n", "br0", false, false, NULL, NULL, NULL },
                { "allow all\n", "anything", true, false, ":1", NULL, NULL },
                { "deny br0\n", "br0", false, false, NULL, ":1", NULL },
                { "allow all\ndeny br0\n", "br0", false, false, ":1", ":2", NULL },
                { "allow all\ndeny br0\n", "br1", true, false, ":1", NULL, NULL },
                { "deny br0\nallow br0\n", "br0", false, false, ":2", ":1", NULL },   /* deny wins, any order */
                { "deny all\nallow br0\n", "br0", false, false, ":2", ":1", NULL },
                { "deny br1\nallow br0\n", "br0", true, false, ":2", NULL, NULL },
                { "# comment\n\n   \n\t allow   br0  \r\n", "br0", true, false, ":4", NULL, NULL },
                { "  # allow br0\n", "br0", false, false, NULL, NULL, NULL },
                { "allow br0", "br0", true, false, ":1", NULL, NULL },                 /* no final newline */
                { "allow\tbr0\n", "br0", true, false, ":1", NULL, NULL },              /* a tab separates too */
                { "allow all # c\n", "br0", false, false, NULL, NULL, NULL },          /* name "all # c" */
                { "allow all # not a comment\n", "br0", false, true, NULL, NULL, "longer than 15" },
                { "", "br0", false, false, NULL, NULL, NULL },
                /* Lines the helper refuses: the whole file fails, whatever came before. */
                { "allow br0\nbogus x\n", "br0", false, true, NULL, NULL, ":2: unknown command 'bogus'" },
                { "ALLOW br0\n", "br0", false, true, NULL, NULL, "unknown command 'ALLOW'" },
                { "allow br0\nallow\n", "br0", false, true, NULL, NULL, ":2: 'allow' has no argument" },
                { "allow\tbr0 x\n", "br0", false, true, NULL, NULL, "unknown command 'allow\tbr0'" }, /* space first */
                { "allow abcdefghijklmnop\n", "br0", false, true, NULL, NULL, "longer than 15" },
                { "deny abcdefghijklmnop\n", "br0", false, true, NULL, NULL, "longer than 15" },
                { "allow abcdefghijklmno\n", "abcdefghijklmno", true, false, ":1", NULL, NULL }, /* 15 is fine */
        };
        char *path = tpath("bridge.conf");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                write_text(path, cases[i].text);
                check_case(&cases[i], path);
        }
        free(path);
}

static void test_acl_include(void **state) {
        (void)state;
        char *main_acl = tpath("bridge.conf"), *inc = tpath("inc.conf"), *bad = tpath("bad.conf"),
             *denyall = tpath("deny.conf"), *loop = tpath("loop.conf");
        write_text(inc, "allow br0\n");
        write_text(bad, "allow br0\nbogus\nallow br9\n");
        write_text(denyall, "deny all\n");

        char *t = strdup_printf("include %s\n", inc);
        write_text(main_acl, t);
        struct acl_case k1 = { t, "br0", true, false, "inc.conf:1", NULL, NULL };
        check_case(&k1, main_acl);
        free(t);

        /* A missing include is ignored. */
        t = strdup_printf("include %s/missing.conf\nallow br0\n", tmp);
        write_text(main_acl, t);
        struct acl_case k2 = { t, "br0", true, false, "bridge.conf:2", NULL, NULL };
        check_case(&k2, main_acl);
        free(t);

        /* An error in an included file is ignored, but only the rules before it count. */
        t = strdup_printf("include   %s  \n", bad);
        write_text(main_acl, t);
        struct acl_case k3 = { t, "br0", true, false, "bad.conf:1", NULL, NULL };
        check_case(&k3, main_acl);
        struct acl_case k4 = { t, "br9", false, false, NULL, NULL, NULL };
        check_case(&k4, main_acl);
        free(t);

        t = strdup_printf("allow br0\ninclude %s\n", denyall);
        write_text(main_acl, t);
        struct acl_case k5 = { t, "br0", false, false, "bridge.conf:1", "deny.conf:1", NULL };
        check_case(&k5, main_acl);
        free(t);

        /* Include loops end (the helper would recurse until it runs out of file descriptors). */
        t = strdup_printf("include %s\nallow br0\n", loop);
        write_text(loop, t);
        struct acl_case k6 = { t, "br0", true, false, "loop.conf:2", NULL, NULL };
        check_case(&k6, loop);
        free(t);

        /* An include line's argument is a path: no length limit. */
        t = strdup_printf("include %s/./././././././././inc.conf\n", tmp);
        write_text(main_acl, t);
        struct acl_case k7 = { t, "br0", true, false, "inc.conf:1", NULL, NULL };
        check_case(&k7, main_acl);
        free(t);

        free(main_acl);
        free(inc);
        free(bad);
        free(denyall);
        free(loop);
}

static void test_acl_missing(void **state) {
        (void)state;
        char *p = tpath("nope.conf");
        struct net_acl a;
        assert_int_equal(net_acl_check(p, "br0", &a), 0);
        assert_int_equal(a.error, -ENOENT);
        assert_false(a.allowed);
        assert_non_null(strstr(a.error_msg, "nope.conf"));
        net_acl_done(&a);
        free(p);
}

static mode_t mode_of(const char *p) {
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        return st.st_mode & 07777;
}

static void test_setup_creates(void **state) {
        (void)state;
        char *helper = fake_binary("qemu-bridge-helper", "/etc/qemu/bridge.conf");
        char *acl = tpath("etc/qemu/bridge.conf");
        unsigned ch = 0;
        if (geteuid() != 0) {
                /* A helper not owned by root is refused (setuid would not make it root). */
                assert_int_equal(net_helper_setup(helper, acl, "br0", &ch), -EPERM);
                assert_true(ch & NET_SETUP_ALLOW_ADDED);
                free(acl);
                free(helper);
                skip();
        }
        assert_int_equal(net_helper_setup(helper, acl, "br0", &ch), 0);
        assert_int_equal(ch, NET_SETUP_DIR_CREATED | NET_SETUP_ACL_CREATED | NET_SETUP_ALLOW_ADDED | NET_SETUP_SETUID);
        char *c = NULL;
        assert_int_equal(read_full_file(acl, &c, NULL), 0);
        assert_string_equal(c, "allow br0\n");
        free(c);
        assert_int_equal(mode_of(acl), 0644);
        assert_int_equal(mode_of(helper), 04755);

        /* Idempotent. */
        assert_int_equal(net_helper_setup(helper, acl, "br0", &ch), 0);
        assert_int_equal(ch, 0);
        /* A second bridge only adds its line. */
        assert_int_equal(net_helper_setup(helper, acl, "br1", &ch), 0);
        assert_int_equal(ch, NET_SETUP_ALLOW_ADDED);
        assert_int_equal(read_full_file(acl, &c, NULL), 0);
        assert_string_equal(c, "allow br0\nallow br1\n");
        free(c);
        free(acl);
        free(helper);
}

static void test_setup_existing_acl(void **state) {
        (void)state;
        if (geteuid() != 0)
                skip();
        char *helper = fake_binary("qemu-bridge-helper", "/etc/qemu/bridge.conf");
        char *acl = tpath("bridge.conf");
        write_text(acl, "# mine\nallow other");   /* no final newline */
        assert_int_equal(chmod(acl, 0600), 0);
        unsigned ch = 0;
        assert_int_equal(net_helper_setup(helper, acl, "br0", &ch), 0);
        assert_int_equal(ch, NET_SETUP_ALLOW_ADDED | NET_SETUP_ACL_READABLE | NET_SETUP_SETUID);
        char *c = NULL;
        assert_int_equal(read_full_file(acl, &c, NULL), 0);
        assert_string_equal(c, "# mine\nallow other\nallow br0\n");
        free(c);
        assert_int_equal(mode_of(acl), 0644);

        /* "allow all" already allows: nothing to add. */
        write_text(acl, "allow all\n");
        assert_int_equal(net_helper_setup(helper, acl, "br5", &ch), 0);
        assert_int_equal(ch, 0);

        /* A deny rule or a malformed file is reported, never edited. */
        const char *refused[] = { "deny br0\n", "allow br0\nfrobnicate x\n" };
        int want[] = { -EACCES, -EINVAL };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                write_text(acl, refused[i]);
                assert_int_equal(net_helper_setup(helper, acl, "br0", &ch), want[i]);
                assert_int_equal(ch, 0);
                assert_int_equal(read_full_file(acl, &c, NULL), 0);
                assert_string_equal(c, refused[i]);
                free(c);
        }

        /* A helper owned by someone else is not made setuid. */
        write_text(acl, "allow br0\n");
        assert_int_equal(chmod(helper, 0755), 0);
        assert_int_equal(chown(helper, 65534, 65534), 0);
        assert_int_equal(net_helper_setup(helper, acl, "br0", &ch), -EPERM);
        assert_int_equal(mode_of(helper), 0755);

        assert_int_equal(net_helper_setup(helper, acl, "bad/name", &ch), -EINVAL);
        free(acl);
        free(helper);
}

static void test_helper_stat(void **state) {
        (void)state;
        char *h = fake_binary("h", "/x/bridge.conf");
        struct net_helper_mode m;
        assert_int_equal(net_helper_stat(h, &m), 0);
        assert_false(m.setuid_root);
        assert_int_equal(m.mode, 0755);
        if (geteuid() == 0) {
                assert_int_equal(chmod(h, 04755), 0);
                assert_int_equal(net_helper_stat(h, &m), 0);
                assert_true(m.setuid_root);
                assert_true(m.owner_root);
        }
        char *missing = tpath("missing");
        assert_int_equal(net_helper_stat(missing, &m), -ENOENT);
        free(missing);
        free(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_binary_find_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_acl_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_helper_find, setup, teardown),
                cmocka_unit_test_setup_teardown(test_acl_forms, setup, teardown),
                cmocka_unit_test_setup_teardown(test_acl_include, setup, teardown),
                cmocka_unit_test_setup_teardown(test_acl_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_setup_creates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_setup_existing_acl, setup, teardown),
                cmocka_unit_test_setup_teardown(test_helper_stat, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
