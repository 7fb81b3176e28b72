/* Unit tests: doctor --connect's host report against libvirt's built-in test driver
 * (test:///default: network "default" on virbr0, pool "default-pool", interface "eth1", no
 * domain capabilities) and a URI nothing listens on (127.0.0.1 only). */
#include "test.h"

#include "core/util.h"
#include "libvirt/hostcheck.h"

static void test_version_string(void **state) {
        (void)state;
        char b[32];
        assert_string_equal(libvirt_version_string(LIBVIRT_VERSION_UEFI_INTERNAL_SNAPSHOT, b, sizeof b), "10.10.0");
        assert_string_equal(libvirt_version_string(LIBVIRT_VERSION_DOMXML, b, sizeof b), "8.2.0");
        assert_string_equal(libvirt_version_string(9000000, b, sizeof b), "9.0.0");
        assert_string_equal(libvirt_version_string(LIBVIRT_VERSION_EXTERNAL_REVERT, b, sizeof b), "9.9.0");
}

static void test_report(void **state) {
        (void)state;
        struct libvirt_host_report r;
        assert_int_equal(libvirt_host_report("test:///default", "default-pool", "virbr0", &r), 0);
        assert_true(r.connected);
        assert_string_equal(r.connect_error, "");
        assert_true(r.libvirt_version >= LIBVIRT_VERSION_DOMXML);
        assert_string_equal(r.hv_type, "TEST");
        /* the test driver has no domain capabilities: neither type, and the reason */
        assert_false(r.type_kvm);
        assert_false(r.type_qemu);
        assert_non_null(strstr(r.caps_error, "not supported"));
        assert_true(r.pool_exists);
        assert_true(r.pool_active);
        assert_int_equal(r.pool_capacity, 100ULL << 30);
        assert_int_equal(r.n_networks, 1);
        assert_string_equal(r.networks, "default (bridge virbr0, active)");
        assert_int_equal(r.bridge, LIBVIRT_BRIDGE_NETWORK);
        assert_string_equal(r.bridge_network, "default");
        assert_true(r.bridge_active);

        /* a host interface, a bridge nobody has, a pool the host lacks, nothing asked */
        assert_int_equal(libvirt_host_report("test:///default", "nosuchpool", "eth1", &r), 0);
        assert_int_equal(r.bridge, LIBVIRT_BRIDGE_INTERFACE);
        assert_false(r.pool_exists);
        assert_int_equal(libvirt_host_report("test:///default", NULL, "nosuchbr", &r), 0);
        assert_int_equal(r.bridge, LIBVIRT_BRIDGE_MISSING);
        assert_int_equal(libvirt_host_report("test:///default", NULL, NULL, &r), 0);
        assert_int_equal(r.bridge, LIBVIRT_BRIDGE_NOT_CHECKED);
}

static void test_unreachable(void **state) {
        (void)state;
        struct libvirt_host_report r;
        assert_int_equal(libvirt_host_report("qemu+tcp://127.0.0.1:1/system", "vmcloak", "br0", &r), 0);
        assert_false(r.connected);
        assert_non_null(strstr(r.connect_error, "127.0.0.1"));
        assert_null(strchr(r.connect_error, '\n'));
        assert_int_equal(r.libvirt_version, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_version_string),
                cmocka_unit_test(test_report),
                cmocka_unit_test(test_unreachable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
