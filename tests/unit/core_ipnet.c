/* Unit tests: address allocation (VMCloak's IPNet semantics, minus its quirks). */
#include "test.h"

#include <errno.h>

#include "core/ipnet.h"

static uint32_t ip(const char *s) {
        uint32_t a;
        assert_int_equal(parse_ipv4(s, &a), 0);
        return a;
}

static void test_check(void **state) {
        (void)state;
        struct ipv4_net net;
        parse_cidr("192.168.30.0/24", &net);
        char *used[] = { "192.168.30.2", "10.0.0.5", NULL };
        struct ipnet n;
        ipnet_init(&n, &net, ip("192.168.30.1"), used);
        assert_int_equal(ipnet_check(&n, ip("192.168.30.3")), 0);
        assert_int_equal(ipnet_check(&n, ip("192.168.30.2")), -EADDRINUSE);
        assert_int_equal(ipnet_check(&n, ip("192.168.30.1")), -EADDRINUSE);  /* the gateway */
        assert_int_equal(ipnet_check(&n, ip("192.168.30.0")), -EADDRNOTAVAIL);
        assert_int_equal(ipnet_check(&n, ip("192.168.30.255")), -EADDRNOTAVAIL);
        assert_int_equal(ipnet_check(&n, ip("192.168.31.3")), -EDOM);
        ipnet_done(&n);
}

static void test_alloc_snapshot_offset(void **state) {
        (void)state;
        struct ipv4_net net;
        parse_cidr("192.168.30.0/24", &net);
        char *used[] = { "192.168.30.11", NULL };
        struct ipnet n;
        ipnet_init(&n, &net, ip("192.168.30.1"), used);
        uint32_t r[3];
        assert_int_equal(ipnet_alloc(&n, 3, 0, 10, r), 0);
        assert_int_equal(r[0], ip("192.168.30.10"));
        assert_int_equal(r[1], ip("192.168.30.12")); /* .11 is taken */
        assert_int_equal(r[2], ip("192.168.30.13"));
        /* Allocated addresses are now used. */
        assert_int_equal(ipnet_check(&n, ip("192.168.30.12")), -EADDRINUSE);
        ipnet_done(&n);
}

static void test_alloc_first_image_ip_skips_gateway(void **state) {
        (void)state;
        struct ipv4_net net;
        parse_cidr("192.168.30.0/24", &net);
        struct ipnet n;
        ipnet_init(&n, &net, ip("192.168.30.1"), NULL);
        uint32_t r;
        assert_int_equal(ipnet_alloc(&n, 1, 0, 1, &r), 0);
        assert_int_equal(r, ip("192.168.30.2"));
        ipnet_done(&n);
}

static void test_alloc_runs_out(void **state) {
        (void)state;
        struct ipv4_net net;
        parse_cidr("10.0.0.0/30", &net); /* .1 and .2 usable */
        struct ipnet n;
        ipnet_init(&n, &net, ip("10.0.0.1"), NULL);
        uint32_t r[2];
        assert_int_equal(ipnet_alloc(&n, 2, 0, 1, r), -ENOSPC);
        assert_int_equal(ipnet_alloc(&n, 1, ip("10.0.0.2"), 0, r), 0);
        assert_int_equal(r[0], ip("10.0.0.2"));
        assert_int_equal(ipnet_alloc(&n, 1, ip("10.1.0.2"), 0, r), -EDOM);
        ipnet_done(&n);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_alloc_snapshot_offset),
                cmocka_unit_test(test_alloc_first_image_ip_skips_gateway),
                cmocka_unit_test(test_alloc_runs_out),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
