/* Unit tests: string vectors, file helpers, random names and MACs. */
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/random.h"
#include "core/util.h"
#include "core/validate.h"

static void test_strv(void **state) {
        (void)state;
        char **l = NULL;
        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_int_equal(strv_extendf(&l, "b%d", 2), 0);
        assert_int_equal(strv_push(&l, strdup("c")), 0);
        assert_int_equal(strv_length(l), 3);
        assert_true(strv_contains(l, "b2"));
        assert_false(strv_contains(l, "b"));
        char *j = strv_join(l, ",");
        assert_string_equal(j, "a,b2,c");
        free(j);
        char **c = strv_copy(l);
        assert_int_equal(strv_length(c), 3);
        assert_string_equal(c[2], "c");
        strv_free(c);
        strv_free(l);
        char *empty[] = { NULL };
        j = strv_join(empty, ",");
        assert_string_equal(j, "");
        free(j);
        /* Empty elements keep their separators. */
        char *blanks[] = { "", "", "x", NULL };
        j = strv_join(blanks, ",");
        assert_string_equal(j, ",,x");
        free(j);
}

static void test_string_helpers(void **state) {
        (void)state;
        assert_string_equal(startswith("--home=/x", "--home="), "/x");
        assert_null(startswith("--ho", "--home"));
        assert_true(endswith("disk.qcow2", ".qcow2"));
        assert_false(endswith("qcow2", "disk.qcow2"));
        char *p = path_join("/a/", "/b");
        assert_string_equal(p, "/a/b");
        free(p);
        p = path_dirname("/a/b/c");
        assert_string_equal(p, "/a/b");
        free(p);
        p = path_dirname("c");
        assert_string_equal(p, ".");
        free(p);
        char buf[32];
        assert_string_equal(format_bytes(buf, sizeof buf, 512), "512 B");
        assert_string_equal(format_bytes(buf, sizeof buf, 3u << 20), "3.0 MiB");
}

static void test_files(void **state) {
        (void)state;
        char *d = test_tmpdir();
        assert_non_null(d);
        char *sub = strdup_printf("%s/x/y/z", d);
        /* Not there yet: the nearest folder that is (where mkdir_p starts), then the path itself. */
        char *deeper = strdup_printf("%s/x/y/z/new/er", d), *near = path_nearest_existing(deeper);
        assert_string_equal(near, d);
        free(near);
        assert_int_equal(mkdir_p(sub, 0755), 0);
        assert_true(is_dir(sub));
        near = path_nearest_existing(deeper);
        assert_string_equal(near, sub);
        free(near);
        near = path_nearest_existing(sub);
        assert_string_equal(near, sub);
        free(near);
        free(deeper);
        near = path_nearest_existing("no-such-relative-dir/x");
        assert_string_equal(near, ".");
        free(near);
        assert_int_equal(mkdir_p(sub, 0755), 0);
        char *f = strdup_printf("%s/file", sub);
        assert_int_equal(write_file_atomic(f, "hello", 5, 0600), 0);
        char *content;
        size_t len;
        assert_int_equal(read_full_file(f, &content, &len), 0);
        assert_int_equal(len, 5);
        assert_string_equal(content, "hello");
        free(content);
        struct stat st;
        assert_int_equal(stat(f, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(read_full_file("/nonexistent/x", &content, NULL), -ENOENT);
        assert_int_equal(rm_rf(d), 0);
        assert_false(path_exists(d));
        assert_int_equal(rm_rf(d), 0);
        free(f);
        free(sub);
        free(d);
}

static void test_copy_file_sparse(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *src = strdup_printf("%s/src", d), *dst = strdup_printf("%s/dst", d);
        int fd = open(src, O_WRONLY | O_CREAT, 0644);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "head", 4, 0), 4);
        assert_int_equal(pwrite(fd, "tail", 4, 64 << 20), 4);
        close(fd);
        assert_int_equal(copy_file(src, dst, 0644), 0);
        char *a, *b;
        size_t la, lb;
        assert_int_equal(read_full_file(src, &a, &la), 0);
        assert_int_equal(read_full_file(dst, &b, &lb), 0);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        struct stat st;
        assert_int_equal(stat(dst, &st), 0);
        /* The 64 MiB hole stays a hole. */
        assert_true(st.st_blocks * 512 < (8 << 20));
        /* The destination must not exist. */
        assert_int_equal(copy_file(src, dst, 0644), -EEXIST);
        free(a);
        free(b);
        rm_rf(d);
        free(src);
        free(dst);
        free(d);
}

static void test_copy_file_across_filesystems(void **state) {
        (void)state;
        /* /dev/shm (tmpfs) to /tmp: copy_file_range may refuse (EXDEV); the copy must not. */
        if (!is_dir("/dev/shm"))
                skip();
        char tmpl[] = "/dev/shm/vmcloak-test.XXXXXX";
        char *shm = mkdtemp(tmpl);
        assert_non_null(shm);
        char *d = test_tmpdir();
        char *src = strdup_printf("%s/src", shm), *dst = strdup_printf("%s/dst", d);
        char data[200000];
        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (char)(i * 7);
        assert_int_equal(write_file(src, data, sizeof data, 0644), 0);
        assert_int_equal(copy_file(src, dst, 0644), 0);
        char *back;
        size_t len;
        assert_int_equal(read_full_file(dst, &back, &len), 0);
        assert_int_equal(len, sizeof data);
        assert_memory_equal(back, data, sizeof data);
        free(back);
        rm_rf(shm);
        rm_rf(d);
        free(src);
        free(dst);
        free(d);
}

/* Entries of a directory besides "." and "..". */
static unsigned dir_entries(const char *dir) {
        DIR *d = opendir(dir);
        assert_non_null(d);
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void test_cleanup_helpers(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *f = strdup_printf("%s/f", d), *kept = strdup_printf("%s/kept", d), *sub = strdup_printf("%s/sub", d);
        assert_int_equal(write_file(f, "x", 1, 0644), 0);
        assert_int_equal(write_file(kept, "x", 1, 0644), 0);
        assert_int_equal(mkdir_p(sub, 0755), 0);
        char *deep = strdup_printf("%s/a/b", sub);
        assert_int_equal(mkdir_p(deep, 0755), 0);
        {
                _cleanup_unlink_ char *a = strdup(f);
                _cleanup_unlink_ char *b = strdup(kept);
                _cleanup_rm_rf_ char *c = strdup(sub);
                _cleanup_unlink_ char *none = NULL;
                assert_true(a && b && c && !none);
                DISARM(b);
                assert_null(b);
                errno = EXDEV;
        }
        /* errno survives the cleanups (they run on error paths, after the error was taken). */
        assert_int_equal(errno, EXDEV);
        assert_false(path_exists(f));
        assert_true(path_exists(kept));
        assert_false(path_exists(sub));
        {
                /* Nothing there any more: not an error, and nothing else is touched. */
                _cleanup_unlink_ char *gone = strdup(f);
                _cleanup_rm_rf_ char *gone_dir = strdup(sub);
                assert_true(gone && gone_dir);
        }
        assert_int_equal(dir_entries(d), 1);
        rm_rf(d);
        free(deep);
        free(sub);
        free(kept);
        free(f);
        free(d);
}

static void test_failed_writes_leave_nothing(void **state) {
        (void)state;
        /* A file size limit makes the writes fail half-way (EFBIG), after the files exist. */
        char *d = test_tmpdir();
        char *src = strdup_printf("%s/src", d), *dst = strdup_printf("%s/dst", d), *atomic = strdup_printf("%s/atomic", d);
        static char data[256 << 10];
        memset(data, 'v', sizeof data);
        assert_int_equal(write_file(src, data, sizeof data, 0644), 0);

        /* Only the soft limit changes, so it can be put back as it was. */
        struct rlimit old;
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        struct rlimit small = { 16 << 10, old.rlim_max };
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
        int r_copy = copy_file(src, dst, 0644);
        int r_atomic = write_file_atomic(atomic, data, sizeof data, 0644);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        signal(SIGXFSZ, old_handler);

        assert_int_equal(r_copy, -EFBIG);
        assert_int_equal(r_atomic, -EFBIG);
        /* Only the source is left: no half copy, no temporary file. */
        assert_false(path_exists(dst));
        assert_false(path_exists(atomic));
        assert_int_equal(dir_entries(d), 1);
        rm_rf(d);
        free(atomic);
        free(dst);
        free(src);
        free(d);
}

static void test_random(void **state) {
        (void)state;
        for (int i = 0; i < 50; i++) {
                char *s = random_string(8, 16);
                size_t l = strlen(s);
                assert_true(l >= 8 && l <= 16);
                for (size_t k = 0; k < l; k++)
                        assert_true((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z'));
                free(s);
        }
        for (int i = 0; i < 50; i++) {
                uint8_t m[6];
                random_vendor_mac(m);
                bool known = false;
                for (size_t k = 0; k < 17; k++)
                        known |= memcmp(m, vendor_ouis[k], 3) == 0;
                assert_true(known);
                assert_int_equal(m[0] & 1, 0);
        }
        uint32_t seen = 0;
        for (int i = 0; i < 200; i++)
                seen |= 1u << random_u32_below(5);
        assert_int_equal(seen, 0x1f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_string_helpers),
                cmocka_unit_test(test_files),
                cmocka_unit_test(test_copy_file_sparse),
                cmocka_unit_test(test_copy_file_across_filesystems),
                cmocka_unit_test(test_cleanup_helpers),
                cmocka_unit_test(test_failed_writes_leave_nothing),
                cmocka_unit_test(test_random),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
