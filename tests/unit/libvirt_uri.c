/* Unit tests: which libvirt URI a connection uses and whether it is this machine (libvirt/uri.h). */
#include "test.h"

#include <errno.h>
#include <stdbool.h>

#include "libvirt/uri.h"

static bool local_of(const char *uri) {
        bool local = false;
        assert_int_equal(libvirt_uri_is_local(uri, &local), 0);
        return local;
}

static void test_local(void **state) {
        (void)state;
        assert_true(local_of("qemu:///system"));
        assert_true(local_of("qemu:///session"));
        assert_true(local_of("qemu+unix:///system"));
        assert_true(local_of("qemu:///embed?root=/tmp/x"));
        assert_true(local_of("qemu+unix:///system?socket=/run/libvirt/libvirt-sock"));
}

/* A host part makes it remote, loopback included: that daemon's files are not ours. */
static void test_remote(void **state) {
        (void)state;
        assert_false(local_of("qemu+ssh://root@host.example/system"));
        assert_false(local_of("qemu+ssh://root@10.0.0.5:2222/system?keyfile=/k&no_verify=1"));
        assert_false(local_of("qemu+tcp://127.0.0.1:16509/system"));
        assert_false(local_of("qemu+tls://[2001:db8::1]/system"));
        assert_false(local_of("qemu://localhost/system"));
}

static void test_not_uris(void **state) {
        (void)state;
        bool local;
        assert_int_equal(libvirt_uri_is_local("notauri", &local), -EINVAL);
        assert_int_equal(libvirt_uri_is_local("", &local), -EINVAL);
        assert_int_equal(libvirt_uri_is_local(NULL, &local), -EINVAL);
        assert_int_equal(libvirt_uri_is_local("qemu+ssh://bad host/system", &local), -EINVAL);
}

static void test_choose(void **state) {
        (void)state;
        unsetenv("VMCLOAK_LIBVIRT_URI");
        assert_string_equal(libvirt_uri_choose(NULL), "qemu:///system");
        assert_string_equal(libvirt_uri_choose(""), "qemu:///system");
        setenv("VMCLOAK_LIBVIRT_URI", "qemu+ssh://root@h/system", 1);
        assert_string_equal(libvirt_uri_choose(NULL), "qemu+ssh://root@h/system");
        assert_string_equal(libvirt_uri_choose("qemu:///session"), "qemu:///session");
        setenv("VMCLOAK_LIBVIRT_URI", "", 1);
        assert_string_equal(libvirt_uri_choose(NULL), "qemu:///system");
        unsetenv("VMCLOAK_LIBVIRT_URI");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_local),
                cmocka_unit_test(test_remote),
                cmocka_unit_test(test_not_uris),
                cmocka_unit_test(test_choose),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
