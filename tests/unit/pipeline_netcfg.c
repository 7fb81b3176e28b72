/* Unit tests: an image's network from init's options. */
#include "test.h"

#include <errno.h>

#include "pipeline/netcfg.h"

static uint32_t ip(const char *s) {
        uint32_t a;
        assert_int_equal(parse_ipv4(s, &a), 0);
        return a;
}

static void test_user_defaults(void **state) {
        (void)state;
        struct netcfg_opts o = { .mode = IMAGE_NET_USER, .adapter = "lnet" };
        struct netcfg c;
        assert_int_equal(netcfg_resolve(&o, 0, 0, NULL, &c), 0);
        assert_string_equal(c.ip_s, "10.0.2.15");
        assert_string_equal(c.gateway_s, "10.0.2.2");
        assert_string_equal(c.dns_s, "10.0.2.3");
        assert_string_equal(c.netmask_s, "255.255.255.0");
        assert_int_equal(c.net.prefix, 24);
        char *used[] = { "10.0.2.15", NULL };
        assert_int_equal(netcfg_resolve(&o, 0, 0, used, &c), 0);
        assert_string_equal(c.ip_s, "10.0.2.16");
}

static void test_bridge_from_interface(void **state) {
        (void)state;
        struct netcfg_opts o = { .mode = IMAGE_NET_BRIDGE, .adapter = "qemubr0" };
        struct netcfg c;
        assert_int_equal(netcfg_resolve(&o, ip("192.168.30.1"), 24, NULL, &c), 0);
        assert_string_equal(c.gateway_s, "192.168.30.1");
        assert_string_equal(c.ip_s, "192.168.30.2"); /* never the bridge's own .1 (VMCloak quirk 11) */
        assert_string_equal(c.dns_s, "8.8.8.8");
        assert_string_equal(c.dns2_s, "8.8.4.4");
        o.ip = "192.168.30.50";
        assert_int_equal(netcfg_resolve(&o, ip("192.168.30.1"), 24, NULL, &c), 0);
        assert_string_equal(c.ip_s, "192.168.30.50");
}

static void test_bridge_errors(void **state) {
        (void)state;
        struct netcfg c;
        struct netcfg_opts o = { .mode = IMAGE_NET_BRIDGE, .adapter = "qemubr0" };
        /* No address on the bridge and no --gateway. */
        assert_int_equal(netcfg_resolve(&o, 0, 0, NULL, &c), -EINVAL);
        /* --gateway that is not the bridge's address. */
        o.gateway = "192.168.30.254";
        assert_int_equal(netcfg_resolve(&o, ip("192.168.30.1"), 24, NULL, &c), -EINVAL);
        o.gateway = NULL;
        o.ip = "192.168.31.5";
        assert_int_equal(netcfg_resolve(&o, ip("192.168.30.1"), 24, NULL, &c), -EINVAL);
        o.ip = "192.168.30.1";
        assert_int_equal(netcfg_resolve(&o, ip("192.168.30.1"), 24, NULL, &c), -EINVAL);
        o.ip = "192.168.30.255";
        assert_int_equal(netcfg_resolve(&o, ip("192.168.30.1"), 24, NULL, &c), -EINVAL);
        char *used[] = { "192.168.30.7", NULL };
        o.ip = "192.168.30.7";
        assert_int_equal(netcfg_resolve(&o, ip("192.168.30.1"), 24, used, &c), -EINVAL);
        o.ip = "192.168.30.300";
        assert_int_equal(netcfg_resolve(&o, ip("192.168.30.1"), 24, used, &c), -EINVAL);
}

static void test_explicit_network(void **state) {
        (void)state;
        struct netcfg_opts o = { .mode = IMAGE_NET_BRIDGE, .adapter = "br", .network = "10.9.0.0/16",
                                 .gateway = "10.9.0.1" };
        struct netcfg c;
        assert_int_equal(netcfg_resolve(&o, 0, 0, NULL, &c), 0);
        assert_string_equal(c.netmask_s, "255.255.0.0");
        assert_string_equal(c.ip_s, "10.9.0.2");
        o.network = "10.9.0.0/31";
        assert_int_equal(netcfg_resolve(&o, 0, 0, NULL, &c), -EINVAL);
        o.network = "10.9.0.0/16";
        o.gateway = "10.10.0.1";
        assert_int_equal(netcfg_resolve(&o, 0, 0, NULL, &c), -EINVAL);
        o.gateway = "10.9.0.1";
        o.dns = "1.1.1.999";
        assert_int_equal(netcfg_resolve(&o, 0, 0, NULL, &c), -EINVAL);
}

static void test_netmode_strings(void **state) {
        (void)state;
        enum image_netmode m;
        assert_int_equal(image_netmode_from_string("user", &m), 0);
        assert_int_equal(m, IMAGE_NET_USER);
        assert_string_equal(image_netmode_to_string(m), "user");
        assert_int_equal(image_netmode_from_string("nat", &m), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_user_defaults),
                cmocka_unit_test(test_bridge_from_interface),
                cmocka_unit_test(test_bridge_errors),
                cmocka_unit_test(test_explicit_network),
                cmocka_unit_test(test_netmode_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
