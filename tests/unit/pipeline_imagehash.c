/* Unit tests: an image's SHA-256 read once and remembered in <home>/image/.hashes. */
#include "test.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "pipeline/image.h"


static char *home;

static int setup(void **state) {
        (void)state;
        home = test_tmpdir();
        assert_int_equal(paths_init(home), 0);
        return 0;
}

static int teardown(void **state) {
        (void)state;
        rm_rf(home);
        free(home);
        return 0;
}

static void put(const char *path, const char *text) {
        assert_int_equal(write_file(path, text, strlen(text), 0644), 0);
}

static void sha256_of(const char *text, char out[65]) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "printf '%%s' '%s' | sha256sum", text);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        assert_non_null(fgets(out, 65, p));
        pclose(p);
        out[64] = 0;
}

static void test_remembered(void **state) {
        (void)state;
        _cleanup_free_ char *dir = strdup_printf("%s/image", home);
        _cleanup_free_ char *disk = strdup_printf("%s/image/win10.qcow2", home);
        _cleanup_free_ char *memo = strdup_printf("%s/image/.hashes", home);
        assert_int_equal(mkdir_p(dir, 0755), 0);
        put(disk, "disk-1\n");
        struct image img = { .name = (char *)"win10", .path = disk };
        char want[65], got[65];
        sha256_of("disk-1\n", want);

        assert_int_equal(image_sha256(&img, got), 0);
        assert_string_equal(got, want);
        assert_true(path_exists(memo));

        /* The second call is answered from the memo: a hash planted there shows. */
        _cleanup_free_ char *text = NULL;
        size_t len;
        assert_int_equal(read_full_file(memo, &text, &len), 0);
        char *at = strstr(text, want);
        assert_non_null(at);
        memset(at, 'b', 64);
        assert_int_equal(write_file(memo, text, len, 0644), 0);
        assert_int_equal(image_sha256(&img, got), 0);
        assert_string_equal(got, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");

        /* A changed image (same size: only its times differ) is read again. */
        put(disk, "disk-2\n");
        sha256_of("disk-2\n", want);
        assert_int_equal(image_sha256(&img, got), 0);
        assert_string_equal(got, want);

        /* A missing image: one error, -ENOENT. */
        assert_int_equal(unlink(disk), 0);
        assert_int_equal(image_sha256(&img, got), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_remembered, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
