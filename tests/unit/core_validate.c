/* Unit tests: names, IPv4/CIDR, MAC, sizes, ports, resolutions. */
#include "test.h"

#include <errno.h>

#include "core/log.h"
#include "core/validate.h"

static void test_names_valid(void **state) {
        (void)state;
        assert_null(name_invalid_reason("win10base"));
        assert_null(name_invalid_reason("win10vm_1"));
        assert_null(name_invalid_reason("a.b-c_d"));
        char s64[65];
        memset(s64, 'a', 64);
        s64[64] = 0;
        assert_null(name_invalid_reason(s64));
}

static void test_names_invalid(void **state) {
        (void)state;
        assert_non_null(name_invalid_reason(""));
        assert_non_null(name_invalid_reason(NULL));
        assert_non_null(name_invalid_reason("a/b"));
        assert_non_null(name_invalid_reason(".."));
        assert_non_null(name_invalid_reason("."));
        assert_non_null(name_invalid_reason("x..y"));
        assert_non_null(name_invalid_reason("-rf"));
        assert_non_null(name_invalid_reason("a\nb"));
        assert_non_null(name_invalid_reason("a\x7f"));
        assert_non_null(name_invalid_reason("a b"));
        char s65[66];
        memset(s65, 'a', 65);
        s65[65] = 0;
        assert_non_null(name_invalid_reason(s65));
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
        uint8_t m[6];
        assert_int_equal(vcheck_mac("01:00:00:00:00:00", "--mac", m), -EINVAL); /* multicast */
        assert_int_equal(vcheck_mac("00:19:3c:00:00:01", "--mac", m), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_valid),
                cmocka_unit_test(test_names_invalid),
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
