/* Unit tests: home resolution and the ~/.vmcloak layout. */
#include "test.h"

#include <sys/stat.h>

#include "core/paths.h"
#include "core/util.h"

static void test_home_resolution(void **state) {
        (void)state;
        setenv("HOME", "/home/someone", 1);
        unsetenv("VMCLOAK_HOME");
        assert_int_equal(paths_init(NULL), 0);
        assert_string_equal(paths_home(), "/home/someone/.vmcloak");
        setenv("VMCLOAK_HOME", "/srv/vmc/", 1);
        assert_int_equal(paths_init(NULL), 0);
        assert_string_equal(paths_home(), "/srv/vmc");
        assert_int_equal(paths_init("/explicit"), 0);
        assert_string_equal(paths_home(), "/explicit");
        unsetenv("VMCLOAK_HOME");
}

static void test_layout(void **state) {
        (void)state;
        assert_int_equal(paths_init("/h"), 0);
        char *p = paths_repository();
        assert_string_equal(p, "/h/repository.db");
        free(p);
        p = paths_image_disk("win10");
        assert_string_equal(p, "/h/image/win10.qcow2");
        free(p);
        p = paths_vm_dir("vm1");
        assert_string_equal(p, "/h/vms/qemu/vm1");
        free(p);
        p = paths_deps_dir();
        assert_string_equal(p, "/h/deps");
        free(p);
}

static void test_ensure_creates_with_modes(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *home = strdup_printf("%s/nested/home", d);
        assert_int_equal(paths_init(home), 0);
        assert_int_equal(paths_ensure(), 0);
        struct stat st;
        assert_int_equal(stat(home, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        char *img = strdup_printf("%s/image", home);
        assert_int_equal(stat(img, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0755);
        char *iso = strdup_printf("%s/iso", home), *deps = strdup_printf("%s/deps", home);
        assert_true(is_dir(iso));
        assert_true(is_dir(deps));
        assert_int_equal(paths_ensure(), 0);
        rm_rf(d);
        free(img);
        free(iso);
        free(deps);
        free(home);
        free(d);
}

static void test_relative_home_made_absolute(void **state) {
        (void)state;
        assert_int_equal(paths_init("rel/dir"), 0);
        assert_true(paths_home()[0] == '/');
        assert_true(endswith(paths_home(), "/rel/dir"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_home_resolution),
                cmocka_unit_test(test_layout),
                cmocka_unit_test(test_ensure_creates_with_modes),
                cmocka_unit_test(test_relative_home_made_absolute),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
