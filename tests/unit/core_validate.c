/* Unit tests: names (every kind), IPv4/CIDR, MAC, sizes, ports, resolutions. */
#include "test.h"

#include <errno.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"

/* ---- names: one table of good and bad names per kind, the problem each bad one gets ---- */

struct name_case {
        enum name_kind kind;
        const char *name;
        const char *why;   /* NULL: accepted; else the problem, before "; <rule>" */
};

#define S64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define S15 "abcdefghijklmno"

static const struct name_case name_cases[] = {
        /* New images: the disk is NAME.qcow2 in ~/.vmcloak/image, its work files NAME.qcow2.*. */
        { NAME_IMAGE, "win10base", NULL },
        { NAME_IMAGE, "win10vm_1", NULL },
        { NAME_IMAGE, "a.b-c_d", NULL },
        { NAME_IMAGE, "x..y", NULL },
        { NAME_IMAGE, "7zip", NULL },
        { NAME_IMAGE, "x.qcow", NULL },
        { NAME_IMAGE, S64, NULL },
        { NAME_IMAGE, "", "it is empty" },
        { NAME_IMAGE, NULL, "it is empty" },
        { NAME_IMAGE, "a;b", "';' is not allowed" },
        { NAME_IMAGE, "\xc3\xa4", "it contains a non-ASCII character" },
        { NAME_IMAGE, "a$(id)", "'$' is not allowed" },
        { NAME_IMAGE, ".hidden", "it starts with '.'" },
        { NAME_IMAGE, "x.qcow2", "it contains '.qcow2'" },
        { NAME_IMAGE, "x.qcow2.install-5", "it contains '.qcow2'" },
        { NAME_IMAGE, "-rf", "it starts with '-'" },
        { NAME_IMAGE, "_x", "it starts with '_'" },
        { NAME_IMAGE, "a/b", "'/' is not allowed" },
        { NAME_IMAGE, "..", "it starts with '.'" },
        { NAME_IMAGE, "a b", "it contains whitespace" },
        { NAME_IMAGE, "a\nb", "it contains whitespace" },
        { NAME_IMAGE, "a\x01", "it contains a control character" },
        { NAME_IMAGE, "a\x7f", "it contains a control character" },
        { NAME_IMAGE, "a,b", "',' is not allowed" },
        { NAME_IMAGE, S64 "a", "it is 65 bytes long" },
        /* New snapshot VMs: a folder, Cuckoo3's machine, CAPE's kvm.conf (INI). */
        { NAME_VM, "win10vm_1", NULL },
        { NAME_VM, "vm.1", NULL },
        { NAME_VM, "1vm", NULL },
        { NAME_VM, "x.qcow2", NULL },
        { NAME_VM, "[x]", "'[' is not allowed" },
        { NAME_VM, "a]", "']' is not allowed" },
        { NAME_VM, "a=b", "'=' is not allowed" },
        { NAME_VM, "a#b", "'#' is not allowed" },
        { NAME_VM, "a:b", "':' is not allowed" },
        { NAME_VM, "a,b", "',' is not allowed" },
        { NAME_VM, ".vm", "it starts with '.'" },
        { NAME_VM, S64 "1", "it is 65 bytes long" },
        /* Existing images and VMs: whatever an older rule or VMCloak let in, if it is one file name. */
        { NAME_EXISTING, "a;b", NULL },
        { NAME_EXISTING, ".hidden", NULL },
        { NAME_EXISTING, "x.qcow2", NULL },
        { NAME_EXISTING, "\xc3\xa4", NULL },
        { NAME_EXISTING, "a b", NULL },
        { NAME_EXISTING, "-rf", NULL },
        { NAME_EXISTING, S64 S64, NULL },
        { NAME_EXISTING, "", "it is empty" },
        { NAME_EXISTING, ".", "'.' and '..' are folders, not names" },
        { NAME_EXISTING, "..", "'.' and '..' are folders, not names" },
        { NAME_EXISTING, "a/b", "'/' is not allowed" },
        { NAME_EXISTING, "../x", "'/' is not allowed" },
        /* Bridges vmcloak makes or attaches to: Linux, the helper's ACL, QEMU's -netdev. */
        { NAME_BRIDGE, "qemubr0", NULL },
        { NAME_BRIDGE, "br-lan", NULL },
        { NAME_BRIDGE, "vmbr0.100", NULL },
        { NAME_BRIDGE, "br_0", NULL },
        { NAME_BRIDGE, S15, NULL },
        { NAME_BRIDGE, "ALL", NULL },
        { NAME_BRIDGE, "br0;id", "';' is not allowed" },
        { NAME_BRIDGE, "br,0", "',' is not allowed" },
        { NAME_BRIDGE, "br=0", "'=' is not allowed" },
        { NAME_BRIDGE, "br:0", "':' is not allowed" },
        { NAME_BRIDGE, "br#0", "'#' is not allowed" },
        { NAME_BRIDGE, "all", "'allow all' in qemu-bridge-helper's ACL means every bridge" },
        { NAME_BRIDGE, S15 "p", "it is 16 bytes long" },
        { NAME_BRIDGE, "-br", "it starts with '-'" },
        { NAME_BRIDGE, ".", "it starts with '.'" },
        { NAME_BRIDGE, "br 0", "it contains whitespace" },
        { NAME_BRIDGE, "a/b", "'/' is not allowed" },
        { NAME_BRIDGE, "", "it is empty" },
        /* Existing interfaces: Linux's own rule. */
        { NAME_IFNAME, "br;id", NULL },
        { NAME_IFNAME, "all", NULL },
        { NAME_IFNAME, "br,0", NULL },
        { NAME_IFNAME, S15, NULL },
        { NAME_IFNAME, "", "it is empty" },
        { NAME_IFNAME, ".", "'.' and '..' are no interface names" },
        { NAME_IFNAME, "..", "'.' and '..' are no interface names" },
        { NAME_IFNAME, "a/b", "'/' is not allowed" },
        { NAME_IFNAME, "a:b", "':' is not allowed" },
        { NAME_IFNAME, "a b", "it contains whitespace" },
        { NAME_IFNAME, "a\x01", "it contains a control character" },
        { NAME_IFNAME, S15 "p", "it is 16 bytes long" },
        /* --net user's ADAPTER: where a bridge name goes. */
        { NAME_NETWORK, "usernet", NULL },
        { NAME_NETWORK, "all", NULL },
        { NAME_NETWORK, "net;1", "';' is not allowed" },
        { NAME_NETWORK, S15 "p", "it is 16 bytes long" },
        { NAME_NETWORK, "-n", "it starts with '-'" },
        /* --hostname: a DNS label. */
        { NAME_HOSTNAME, "win10-pc", NULL },
        { NAME_HOSTNAME, "a", NULL },
        { NAME_HOSTNAME, "123", NULL },
        { NAME_HOSTNAME, "ABCdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0", NULL },
        { NAME_HOSTNAME, "", "it is empty" },
        { NAME_HOSTNAME, "-a", "it starts with '-'" },
        { NAME_HOSTNAME, "a-", "it ends with '-'" },
        { NAME_HOSTNAME, "a_b", "'_' is not allowed" },
        { NAME_HOSTNAME, "a.b", "'.' is not allowed" },
        { NAME_HOSTNAME, S64, "it is 64 bytes long" },
        /* Windows computer names (NetBIOS). */
        { NAME_WINDOWS_HOSTNAME, "DESKTOP-1A2B3C", NULL },
        { NAME_WINDOWS_HOSTNAME, "pc-", NULL },
        { NAME_WINDOWS_HOSTNAME, "1pc", NULL },
        { NAME_WINDOWS_HOSTNAME, "12345", "it is all digits" },
        { NAME_WINDOWS_HOSTNAME, "-pc", "it starts with '-'" },
        { NAME_WINDOWS_HOSTNAME, "pc_1", "'_' is not allowed" },
        { NAME_WINDOWS_HOSTNAME, "pc.lan", "'.' is not allowed" },
        { NAME_WINDOWS_HOSTNAME, "DESKTOP-1A2B3C4D", "it is 16 bytes long" },
        /* 9p share tags: QEMU's -fsdev id, virtio-9p's 31 bytes. */
        { NAME_SHARE_TAG, "share", NULL },
        { NAME_SHARE_TAG, "s.1_x-y", NULL },
        { NAME_SHARE_TAG, "abcdefghijklmnopqrstuvwxyz01234", NULL },
        { NAME_SHARE_TAG, "1abc", "it starts with '1'" },
        { NAME_SHARE_TAG, "_a", "it starts with '_'" },
        { NAME_SHARE_TAG, "a;b", "';' is not allowed" },
        { NAME_SHARE_TAG, "a,b", "',' is not allowed" },
        { NAME_SHARE_TAG, "abcdefghijklmnopqrstuvwxyz012345", "it is 32 bytes long" },
        /* install's dependency names and versions. */
        { NAME_DEPENDENCY, "dotnet", NULL },
        { NAME_DEPENDENCY, "ie11", NULL },
        { NAME_DEPENDENCY, "win-update_1", NULL },
        { NAME_DEPENDENCY, "a.b", "'.' is not allowed" },
        { NAME_DEPENDENCY, "a:b", "':' is not allowed" },
        { NAME_DEPENDENCY, "a;b", "';' is not allowed" },
        { NAME_DEPENDENCY, "_x", "it starts with '_'" },
        { NAME_DEPENDENCY, S64 "a", "it is 65 bytes long" },
        { NAME_DEP_VERSION, "4.7.2", NULL },
        { NAME_DEP_VERSION, "2019", NULL },
        { NAME_DEP_VERSION, "3.7.3-x64", NULL },
        { NAME_DEP_VERSION, "", "it is empty" },
        { NAME_DEP_VERSION, "4,7", "',' is not allowed" },
        { NAME_DEP_VERSION, "1 2", "it contains whitespace" },
        { NAME_DEP_VERSION, "a:b", "':' is not allowed" },
        /* Cuckoo3's machine tags: VMCloak's and Cuckoo3's own are accepted as they are. */
        { NAME_MACHINE_TAG, "dotnet", NULL },
        { NAME_MACHINE_TAG, "browser_internet_explorer", NULL },
        { NAME_MACHINE_TAG, "win10.22h2-lab", NULL },
        { NAME_MACHINE_TAG, "vcredist", NULL },
        { NAME_MACHINE_TAG, S64, NULL },
        { NAME_MACHINE_TAG, "", "it is empty" },
        { NAME_MACHINE_TAG, "office,java", "',' is not allowed" },      /* Cuckoo3 splits tags on ',' */
        { NAME_MACHINE_TAG, "Office", "it contains the upper-case 'O'" },
        { NAME_MACHINE_TAG, "java 8", "it contains whitespace" },
        { NAME_MACHINE_TAG, " java", "it contains whitespace" },       /* config.String strips it */
        { NAME_MACHINE_TAG, "a:b", "':' is not allowed" },               /* a YAML mapping */
        { NAME_MACHINE_TAG, "a#b", "'#' is not allowed" },
        { NAME_MACHINE_TAG, "1.0", "it starts with '1'" },               /* a YAML float */
        { NAME_MACHINE_TAG, "_x", "it starts with '_'" },
        { NAME_MACHINE_TAG, "-x", "it starts with '-'" },                /* a YAML list item */
        { NAME_MACHINE_TAG, "yes", "YAML reads it as a boolean or null, so Cuckoo3's machine config would not keep it" },
        { NAME_MACHINE_TAG, "off", "YAML reads it as a boolean or null, so Cuckoo3's machine config would not keep it" },
        { NAME_MACHINE_TAG, "null", "YAML reads it as a boolean or null, so Cuckoo3's machine config would not keep it" },
        { NAME_MACHINE_TAG, "offline", NULL },
        { NAME_MACHINE_TAG, "caf\xc3\xa9", "it contains a non-ASCII character" },
        { NAME_MACHINE_TAG, S64 "a", "it is 65 bytes long" },
};

static void test_name_rules(void **state) {
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(name_cases); i++) {
                const struct name_case *c = &name_cases[i];
                char buf[NAME_PROBLEM_MAX];
                const char *got = name_problem(c->kind, c->name, buf);
                if (!c->why) {
                        if (got)
                                fail_msg("%s '%s' refused: %s", name_kind_label(c->kind), c->name, got);
                        continue;
                }
                if (!got)
                        fail_msg("%s '%s' accepted", name_kind_label(c->kind), c->name);
                /* "<why>; <rule>" */
                size_t l = strlen(c->why);
                if (strncmp(got, c->why, l) != 0 || strncmp(got + l, "; ", 2) != 0)
                        fail_msg("%s '%s': got '%s', want '%s; ...'", name_kind_label(c->kind), c->name, got, c->why);
        }
}

/* ---- the exact line of each kind ---- */

struct vcheck_call {
        int (*fn)(const char *);
        const char *value;
};

static int do_vcheck(void *p) {
        const struct vcheck_call *c = p;
        return c->fn(c->value);
}

static int vcheck_existing_vm(const char *v) { return vcheck_existing_name(v, "VM name"); }

static void test_name_messages(void **state) {
        (void)state;
        static const struct {
                int (*fn)(const char *);
                const char *value, *line;
        } cases[] = {
                { vcheck_image_name, "x.qcow2",
                  "invalid image name 'x.qcow2': it contains '.qcow2'; an image name is 1 to 64 ASCII letters, "
                  "digits, '.', '_' or '-', starts with a letter or digit and does not contain '.qcow2' (its disk "
                  "is NAME.qcow2, its work files NAME.qcow2.*)" },
                { vcheck_image_name, "win10base", NULL },
                { vcheck_vm_name, "a;b",
                  "invalid VM name 'a;b': ';' is not allowed; a VM name is 1 to 64 ASCII letters, digits, '.', '_' "
                  "or '-' and starts with a letter or digit (its folder, its machine in Cuckoo3, its section in "
                  "CAPE's kvm.conf)" },
                { vcheck_existing_vm, "..",
                  "invalid VM name '..': '.' and '..' are folders, not names; the name of an existing image or VM "
                  "is not empty, has no '/' and is not '.' or '..'" },
                { vcheck_existing_vm, "old;name", NULL },
                { vcheck_bridge_name, "br0;id",
                  "invalid bridge name 'br0;id': ';' is not allowed; a bridge name is 1 to 15 ASCII letters, "
                  "digits, '.', '_' or '-', starts with a letter or digit and is not 'all' (Linux interface names, "
                  "qemu-bridge-helper's ACL, QEMU's -netdev bridge,br=)" },
                { vcheck_ifname, "a:b",
                  "invalid interface name 'a:b': ':' is not allowed; a Linux interface name is 1 to 15 bytes "
                  "without '/', ':', whitespace or control characters and is not '.' or '..'" },
                { vcheck_network_name, "net;1",
                  "invalid network name 'net;1': ';' is not allowed; a network name is 1 to 15 ASCII letters, "
                  "digits, '.', '_' or '-' and starts with a letter or digit (it is recorded where a bridge name "
                  "goes)" },
                { vcheck_hostname, "a_b",
                  "invalid hostname 'a_b': '_' is not allowed; a hostname is a DNS label: 1 to 63 ASCII letters, "
                  "digits or '-', not starting or ending with '-'" },
                { vcheck_windows_hostname, "12345",
                  "invalid Windows computer name '12345': it is all digits; a Windows computer name is 1 to 15 "
                  "ASCII letters, digits or '-', not all digits and not starting with '-' (NetBIOS)" },
                { vcheck_share_tag, "1abc",
                  "invalid share tag '1abc': it starts with '1'; a share tag is 1 to 31 ASCII letters, digits, '.', "
                  "'_' or '-' and starts with a letter (QEMU makes it the -fsdev id; virtio-9p takes at most 31 "
                  "bytes)" },
                { vcheck_dependency_name, "a.b",
                  "invalid dependency name 'a.b': '.' is not allowed; a dependency name is 1 to 64 ASCII letters, "
                  "digits, '_' or '-' and starts with a letter or digit (':' starts its version, '.' a setting)" },
                { vcheck_dependency_version, "4,7",
                  "invalid dependency version '4,7': ',' is not allowed; a dependency version is 1 to 64 ASCII "
                  "letters, digits, '.', '_' or '-' (the image records name:version in a comma-separated list)" },
                { vcheck_machine_tag, "Office",
                  "invalid machine tag 'Office': it contains the upper-case 'O'; a machine tag is 1 to 64 "
                  "lower-case ASCII letters, digits, '_', '-' or '.' and starts with a letter (Cuckoo3 writes tags "
                  "unquoted into its YAML machine config, splits them on ',' and matches them exactly; its own "
                  "tags are lower case, e.g. office, browser_edge)" },
                { vcheck_machine_tag, "pdfreader", NULL },
                /* A control character is shown escaped: the message stays one line. */
                { vcheck_image_name, "a\nb",
                  "invalid image name 'a\\x0ab': it contains whitespace; an image name is 1 to 64 ASCII letters, "
                  "digits, '.', '_' or '-', starts with a letter or digit and does not contain '.qcow2' (its disk "
                  "is NAME.qcow2, its work files NAME.qcow2.*)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct vcheck_call c = { cases[i].fn, cases[i].value };
                _cleanup_free_ char *err = NULL, *want = NULL;
                int r = test_capture(STDERR_FILENO, do_vcheck, &c, &err);
                if (!cases[i].line) {
                        assert_int_equal(r, 0);
                        assert_string_equal(err, "");
                        continue;
                }
                assert_int_equal(r, -EINVAL);
                want = strdup_printf("vmcloak: %s\n", cases[i].line);
                assert_string_equal(err, want);
        }
}

/* Every kind has a label and a rule, and a long value is cut in the message. */
static void test_name_kinds_complete(void **state) {
        (void)state;
        for (int k = 0; k < NAME_KIND_COUNT; k++) {
                char buf[NAME_PROBLEM_MAX];
                assert_non_null(name_kind_label((enum name_kind)k));
                const char *p = name_problem((enum name_kind)k, "", buf);
                assert_non_null(p);
                assert_true(strlen(p) > strlen("it is empty; ") + 20);
        }
        char big[300];
        memset(big, ';', sizeof big - 1);
        big[sizeof big - 1] = 0;
        struct vcheck_call c = { vcheck_image_name, big };
        _cleanup_free_ char *err = NULL;
        assert_int_equal(test_capture(STDERR_FILENO, do_vcheck, &c, &err), -EINVAL);
        assert_non_null(strstr(err, ";;;...': ';' is not allowed"));
}

static void test_ipv4(void **state) {
        (void)state;
        uint32_t a;
        assert_int_equal(parse_ipv4("192.168.30.2", &a), 0);
        assert_int_equal(a, 0xc0a81e02u);
        char buf[16];
        format_ipv4(a, buf);
        assert_string_equal(buf, "192.168.30.2");
        assert_int_equal(parse_ipv4("0.0.0.0", &a), 0);
        assert_int_equal(parse_ipv4("255.255.255.255", &a), 0);
        assert_int_equal(a, 0xffffffffu);
}

static void test_ipv4_invalid(void **state) {
        (void)state;
        uint32_t a;
        const char *bad[] = { "192.168.30.300", "1.2.3", "1.2.3.4.5", "a.b.c.d", "", "1..2.3", "01.2.3.4",
                              "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "1234.1.1.1" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                assert_int_equal(parse_ipv4(bad[i], &a), -EINVAL);
}

static void test_cidr(void **state) {
        (void)state;
        struct ipv4_net n;
        assert_int_equal(parse_cidr("192.168.30.0/24", &n), 0);
        assert_int_equal(n.prefix, 24);
        assert_int_equal(ipv4_network(&n), 0xc0a81e00u);
        assert_int_equal(ipv4_broadcast(&n), 0xc0a81effu);
        /* A bare address means /24, host bits allowed (VMCloak). */
        assert_int_equal(parse_cidr("192.168.30.1", &n), 0);
        assert_int_equal(n.prefix, 24);
        assert_int_equal(ipv4_network(&n), 0xc0a81e00u);
        assert_true(ipv4_in_net(&n, 0xc0a81e63u));
        assert_false(ipv4_in_net(&n, 0xc0a81f01u));
        assert_int_equal(parse_cidr("10.0.0.0/8", &n), 0);
        assert_int_equal(ipv4_netmask(8), 0xff000000u);
        assert_int_equal(ipv4_netmask(0), 0);
        assert_int_equal(ipv4_netmask(32), 0xffffffffu);
        assert_int_equal(parse_cidr("10.0.0.0/33", &n), -EINVAL);
        assert_int_equal(parse_cidr("10.0.0.0/", &n), -EINVAL);
        assert_int_equal(parse_cidr("/24", &n), -EINVAL);
        assert_int_equal(parse_cidr("10.0.0.300/24", &n), -EINVAL);
}

static void test_netmask(void **state) {
        (void)state;
        unsigned p;
        assert_int_equal(netmask_to_prefix("255.255.255.0", &p), 0);
        assert_int_equal(p, 24);
        assert_int_equal(netmask_to_prefix("255.255.0.0", &p), 0);
        assert_int_equal(p, 16);
        assert_int_equal(netmask_to_prefix("0.0.0.0", &p), 0);
        assert_int_equal(p, 0);
        assert_int_equal(netmask_to_prefix("255.0.255.0", &p), -EINVAL);
}

static void test_mac(void **state) {
        (void)state;
        uint8_t m[6];
        char buf[18];
        assert_int_equal(parse_mac("00:19:3C:1F:A2:07", m), 0);
        format_mac(m, buf);
        assert_string_equal(buf, "00:19:3c:1f:a2:07");
        assert_int_equal(parse_mac("00-19-3c-1f-a2-07", m), 0);
        assert_int_equal(parse_mac("00:19:3c:1f:a2", m), -EINVAL);
        assert_int_equal(parse_mac("00:19:3c:1f:a2:0g", m), -EINVAL);
        assert_int_equal(parse_mac("00:19-3c:1f:a2:07", m), -EINVAL);
        assert_int_equal(parse_mac("0019.3c1f.a207.", m), -EINVAL);
}

static void test_size(void **state) {
        (void)state;
        uint64_t v;
        assert_int_equal(parse_size("256", 1ull << 30, &v), 0);
        assert_int_equal(v, 256ull << 30);
        assert_int_equal(parse_size("256G", 1, &v), 0);
        assert_int_equal(v, 256ull << 30);
        assert_int_equal(parse_size("4096M", 1ull << 30, &v), 0);
        assert_int_equal(v, 4096ull << 20);
        assert_int_equal(parse_size("1T", 1, &v), 0);
        assert_int_equal(v, 1ull << 40);
        assert_int_equal(parse_size("2GiB", 1, &v), 0);
        assert_int_equal(v, 2ull << 30);
        assert_int_equal(parse_size("0", 1, &v), -EINVAL);
        assert_int_equal(parse_size("-1G", 1, &v), -EINVAL);
        assert_int_equal(parse_size("12Q", 1, &v), -EINVAL);
        assert_int_equal(parse_size("G", 1, &v), -EINVAL);
        assert_int_equal(parse_size("99999999999999999999", 1, &v), -ERANGE);
        assert_int_equal(parse_size("17179869184T", 1, &v), -ERANGE);
}

static void test_port(void **state) {
        (void)state;
        uint16_t p;
        assert_int_equal(parse_port("8000", &p), 0);
        assert_int_equal(p, 8000);
        assert_int_equal(parse_port("65535", &p), 0);
        assert_int_not_equal(parse_port("0", &p), 0);
        assert_int_not_equal(parse_port("65536", &p), 0);
        assert_int_not_equal(parse_port("80x", &p), 0);
        assert_int_not_equal(parse_port("", &p), 0);
}

static void test_uint_and_resolution(void **state) {
        (void)state;
        unsigned v, w, h;
        assert_int_equal(parse_uint("4", 1, 64, &v), 0);
        assert_int_equal(parse_uint("65", 1, 64, &v), -ERANGE);
        assert_int_equal(parse_uint("+4", 1, 64, &v), -EINVAL);
        assert_int_equal(parse_resolution("1024x768", &w, &h), 0);
        assert_int_equal(w, 1024);
        assert_int_equal(h, 768);
        assert_int_equal(parse_resolution("1024", &w, &h), -EINVAL);
        assert_int_equal(parse_resolution("x768", &w, &h), -EINVAL);
}

static void test_vcheck_messages(void **state) {
        (void)state;
        /* The wrappers print one line and return -EINVAL. */
        uint32_t a;
        assert_int_equal(vcheck_ipv4("192.168.30.300", "--ip", &a), -EINVAL);
        assert_int_equal(vcheck_ipv4("192.168.30.3", "--ip", &a), 0);
        assert_int_equal(vcheck_name("a/b", "image name"), -EINVAL);
        assert_int_equal(vcheck_name("old;name", "VM name"), 0); /* the NAME_EXISTING rule */
        uint8_t m[6];
        assert_int_equal(vcheck_mac("01:00:00:00:00:00", "--mac", m), -EINVAL); /* multicast */
        assert_int_equal(vcheck_mac("00:19:3c:00:00:01", "--mac", m), 0);
}

int main(void) {
        log_set_color(LOG_COLOR_NEVER);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_name_rules),
                cmocka_unit_test(test_name_messages),
                cmocka_unit_test(test_name_kinds_complete),
                cmocka_unit_test(test_ipv4),
                cmocka_unit_test(test_ipv4_invalid),
                cmocka_unit_test(test_cidr),
                cmocka_unit_test(test_netmask),
                cmocka_unit_test(test_mac),
                cmocka_unit_test(test_size),
                cmocka_unit_test(test_port),
                cmocka_unit_test(test_uint_and_resolution),
                cmocka_unit_test(test_vcheck_messages),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
