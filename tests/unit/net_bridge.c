/* Unit tests: bridge creation, addresses, up/down, deletion and the bridge-mode pre-flight over
 * rtnetlink. The process first moves into a network namespace of its own (needs root), so the
 * host's interfaces are never touched; without root every test is skipped. */
#include "test.h"

#include <errno.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "core/validate.h"
#include "net/bridge.h"
#include "net/check.h"
#include "net/helper.h"

static bool in_netns;

static int group_setup(void **state) {
        (void)state;
        /* A fresh namespace has only "lo" (down, no address). */
        in_netns = unshare(CLONE_NEWNET) == 0;
        return 0;
}

static void need_netns(void) {
        if (!in_netns)
                skip();
}

/* Test-side changes go through ip(8): the product code is what is under test. */
static void sh(const char *cmd) {
        char *full = strdup_printf("%s >/dev/null 2>&1", cmd);
        int r = system(full);
        if (r != 0)
                fail_msg("'%s' failed: %d", cmd, r);
        free(full);
}

static struct ipv4_net cidr(const char *s) {
        struct ipv4_net n;
        assert_int_equal(parse_cidr(s, &n), 0);
        return n;
}

static void test_ifname_rules(void **state) {
        (void)state;
        assert_null(net_ifname_invalid_reason("qemubr0"));
        assert_null(net_ifname_invalid_reason("abcdefghijklmno"));
        assert_non_null(net_ifname_invalid_reason("abcdefghijklmnop"));
        assert_non_null(net_ifname_invalid_reason(""));
        assert_non_null(net_ifname_invalid_reason("."));
        assert_non_null(net_ifname_invalid_reason(".."));
        assert_non_null(net_ifname_invalid_reason("a/b"));
        assert_non_null(net_ifname_invalid_reason("a:b"));
        assert_non_null(net_ifname_invalid_reason("a b"));
        /* The bridge rule (core's NAME_BRIDGE): what the ACL and QEMU's -netdev carry too. */
        assert_non_null(net_ifname_invalid_reason("br0;id"));
        assert_non_null(net_ifname_invalid_reason("br,0"));
        assert_non_null(net_ifname_invalid_reason("all"));
        assert_non_null(net_ifname_invalid_reason("-br"));
        assert_string_equal(net_ifname_invalid_reason("br=0"),
                            "'=' is not allowed; a bridge name is 1 to 15 ASCII letters, digits, '.', '_' or '-', "
                            "starts with a letter or digit and is not 'all' (Linux interface names, "
                            "qemu-bridge-helper's ACL, QEMU's -netdev bridge,br=)");
        char buf[24];
        struct ipv4_net n = cidr("192.168.30.1/24");
        assert_string_equal(net_format_cidr(&n, buf, sizeof buf), "192.168.30.1/24");
}

static void test_create_and_idempotent(void **state) {
        (void)state;
        need_netns();
        struct net_link l;
        assert_int_equal(net_link_get("br-test", &l), 0);
        assert_int_equal(l.ifindex, 0);

        struct ipv4_net want = cidr("192.168.30.1/24");
        unsigned ch = 99;
        assert_int_equal(net_bridge_ensure("br-test", &want, &ch), 0);
        assert_int_equal(ch, NET_BRIDGE_CREATED | NET_BRIDGE_ADDR_ADDED | NET_BRIDGE_BROUGHT_UP);
        assert_int_equal(net_link_get("br-test", &l), 0);
        assert_true(l.ifindex > 0);
        assert_true(l.is_bridge);
        assert_string_equal(l.kind, "bridge");
        assert_true(l.up);
        assert_int_equal(l.stp_state, 0);
        assert_int_equal(l.nports, 0);
        assert_int_equal(l.naddrs, 1);
        assert_int_equal(l.addrs[0].addr, want.addr);
        assert_int_equal(l.addrs[0].prefix, 24);

        assert_int_equal(net_bridge_ensure("br-test", &want, &ch), 0);
        assert_int_equal(ch, 0);

        uint32_t a;
        unsigned p;
        assert_int_equal(net_iface_ipv4("br-test", &a, &p), 0);
        assert_int_equal(a, want.addr);
        assert_int_equal(p, 24);

        /* Down again: only "up" is redone. */
        sh("ip link set br-test down");
        assert_int_equal(net_bridge_ensure("br-test", &want, &ch), 0);
        assert_int_equal(ch, NET_BRIDGE_BROUGHT_UP);

        assert_int_equal(net_bridge_delete("br-test"), 0);
        assert_int_equal(net_link_get("br-test", &l), 0);
        assert_int_equal(l.ifindex, 0);
        assert_int_equal(net_bridge_delete("br-test"), -ENODEV);
}

static void test_conflicting_address(void **state) {
        (void)state;
        need_netns();
        struct ipv4_net first = cidr("10.9.9.1/24"), other = cidr("192.168.30.1/24"), wider = cidr("10.9.9.1/16");
        assert_int_equal(net_bridge_ensure("br-c", &first, NULL), 0);
        unsigned ch = 99;
        assert_int_equal(net_bridge_ensure("br-c", &other, &ch), -EADDRINUSE);
        assert_int_equal(ch, 0);
        assert_int_equal(net_bridge_ensure("br-c", &wider, &ch), -EADDRINUSE); /* same IP, other prefix */
        struct net_link l;
        assert_int_equal(net_link_get("br-c", &l), 0);
        assert_int_equal(l.naddrs, 1);
        assert_int_equal(l.addrs[0].addr, first.addr);
        assert_int_equal(l.addrs[0].prefix, 24);

        /* A second address that is the one asked for: nothing to do. */
        sh("ip addr add 192.168.30.1/24 dev br-c");
        assert_int_equal(net_bridge_ensure("br-c", &other, &ch), 0);
        assert_int_equal(ch, 0);
        assert_int_equal(net_bridge_delete("br-c"), 0);
}

static void test_existing_bridge_made_elsewhere(void **state) {
        (void)state;
        need_netns();
        /* A bridge without address, made by someone else with STP on: address and up are added,
         * STP is reported but left as it is (VMCloak sets it only when it creates the bridge). */
        sh("ip link add br-x type bridge stp_state 1");
        struct net_link l;
        assert_int_equal(net_link_get("br-x", &l), 0);
        assert_true(l.is_bridge);
        assert_false(l.up);
        assert_int_equal(l.stp_state, 1);
        uint32_t a;
        assert_int_equal(net_iface_ipv4("br-x", &a, NULL), -EADDRNOTAVAIL);
        struct ipv4_net want = cidr("10.7.0.1/16");
        unsigned ch = 0;
        assert_int_equal(net_bridge_ensure("br-x", &want, &ch), 0);
        assert_int_equal(ch, NET_BRIDGE_ADDR_ADDED | NET_BRIDGE_BROUGHT_UP);

        /* Ports: a veth end enslaved to the bridge counts as one. */
        sh("ip link add vx0 type veth peer name vx1");
        sh("ip link set vx0 master br-x");
        assert_int_equal(net_link_get("br-x", &l), 0);
        assert_int_equal(l.nports, 1);
        assert_int_equal(net_link_get("vx1", &l), 0);
        assert_string_equal(l.kind, "veth");
        assert_false(l.is_bridge);

        /* Never turned into a bridge or deleted when it is not one. */
        assert_int_equal(net_bridge_ensure("vx1", &want, &ch), -EEXIST);
        assert_int_equal(net_bridge_delete("vx1"), -EMEDIUMTYPE);
        assert_int_equal(net_bridge_delete("lo"), -EMEDIUMTYPE);
        sh("ip link del vx0");
        assert_int_equal(net_bridge_delete("br-x"), 0);
}

static void test_iface_ipv4_missing(void **state) {
        (void)state;
        need_netns();
        uint32_t a;
        assert_int_equal(net_iface_ipv4("nosuchif", &a, NULL), -ENODEV);
        assert_int_equal(net_iface_ipv4("bad/name", &a, NULL), -EINVAL);
        struct ipv4_net want = cidr("10.1.1.1/24");
        assert_int_equal(net_bridge_ensure("bad/name", &want, NULL), -EINVAL);
}

static void test_preflight(void **state) {
        (void)state;
        need_netns();
        char *tmp = test_tmpdir();
        char *helper = strdup_printf("%s/qemu-bridge-helper", tmp);
        char *acl = strdup_printf("%s/bridge.conf", tmp);
        assert_int_equal(write_file(helper, "x", 1, 0755), 0);
        assert_int_equal(chmod(helper, 0755), 0);
        setenv(NET_HELPER_ENV, helper, 1);
        setenv(NET_ACL_ENV, acl, 1);

        struct net_report rep;
        assert_int_equal(net_bridge_check("br-pf", &rep), -EHOSTUNREACH);
        assert_non_null(strstr(rep.message, "no interface named br-pf"));
        assert_non_null(strstr(rep.fix, "vmcloak bridge br-pf 192.168.30.1/24"));

        sh("ip link add br-pf type bridge");
        assert_int_equal(net_bridge_check("br-pf", &rep), -EHOSTUNREACH);
        assert_non_null(strstr(rep.message, "br-pf is down"));

        sh("ip link set br-pf up");
        assert_int_equal(net_bridge_check("br-pf", &rep), -EHOSTUNREACH);
        assert_non_null(strstr(rep.message, "no IPv4 address"));

        sh("ip addr add 10.5.5.1/24 dev br-pf");
        assert_int_equal(net_bridge_check("br-pf", &rep), -EHOSTUNREACH);
        assert_non_null(strstr(rep.message, "does not exist"));
        assert_non_null(strstr(rep.fix, "--setup-helper br-pf 10.5.5.1/24")); /* keeps the bridge's own address */

        assert_int_equal(write_file(acl, "allow other\n", 12, 0644), 0);
        assert_int_equal(net_bridge_check("br-pf", &rep), -EHOSTUNREACH);
        assert_non_null(strstr(rep.message, "no 'allow br-pf'"));

        assert_int_equal(unlink(acl), 0);
        assert_int_equal(write_file(acl, "allow br-pf\n", 12, 0644), 0);
        int r = net_bridge_check("br-pf", &rep);
        if (geteuid() == 0)
                assert_int_equal(r, 0); /* root needs no setuid bit */
        assert_int_equal(unlink(acl), 0);
        assert_int_equal(write_file(acl, "allow all\ndeny br-pf\n", 21, 0644), 0);
        assert_int_equal(net_bridge_check("br-pf", &rep), -EHOSTUNREACH);
        assert_non_null(strstr(rep.message, "bridge.conf:2 denies br-pf"));

        /* The doctor's list: every check present, in order. */
        struct net_check c[NET_CHECKS_MAX];
        size_t n = net_bridge_checks("br-pf", NULL, c);
        const char *ids[] = { "bridge-exists", "bridge-up", "bridge-address", "tun", "helper-found", "helper-setuid", "acl" };
        assert_int_equal(n, ELEMENTSOF(ids));
        for (size_t i = 0; i < n; i++)
                assert_string_equal(c[i].id, ids[i]);
        assert_int_equal(c[0].status, NET_CHECK_OK);
        assert_int_equal(c[6].status, NET_CHECK_FAIL);

        setenv(NET_HELPER_ENV, "/nonexistent/helper", 1);
        n = net_bridge_checks("br-pf", NULL, c);
        assert_int_equal(c[4].status, NET_CHECK_FAIL);
        assert_int_equal(c[5].status, NET_CHECK_SKIP);
        assert_int_equal(c[6].status, NET_CHECK_SKIP);

        sh("ip link del br-pf");
        unsetenv(NET_HELPER_ENV);
        unsetenv(NET_ACL_ENV);
        rm_rf(tmp);
        free(tmp);
        free(helper);
        free(acl);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ifname_rules),
                cmocka_unit_test(test_create_and_idempotent),
                cmocka_unit_test(test_conflicting_address),
                cmocka_unit_test(test_existing_bridge_made_elsewhere),
                cmocka_unit_test(test_iface_ipv4_missing),
                cmocka_unit_test(test_preflight),
        };
        return cmocka_run_group_tests(tests, group_setup, NULL);
}
