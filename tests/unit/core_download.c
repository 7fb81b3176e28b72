/* Unit tests: the pure parts of core/download (hash parsing, Content-Range, the resume decision,
 * which errors are retried, file names from URLs, the failure line) and file hashing. */
#include "test.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>

#include "core/download.h"
#include "core/util.h"

static void test_hash_parse(void **state) {
        (void)state;
        char h[SHA256_HEX_LEN + 1];
        const char *sum = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_int_equal(download_hash_parse(sum, DOWNLOAD_HASH_SHA256, h, sizeof h), 0);
        assert_string_equal(h, sum);
        /* Upper case, Packer's prefix and blanks around are taken; the result is lower case. */
        assert_int_equal(download_hash_parse("  SHA256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\n",
                                             DOWNLOAD_HASH_SHA256, h, sizeof h), 0);
        assert_string_equal(h, sum);
        assert_int_equal(download_hash_parse("sha1:36AE90DEFBAD9D9539E649B193AE573B77A71C83", DOWNLOAD_HASH_SHA1, h,
                                             sizeof h), 0);
        assert_string_equal(h, "36ae90defbad9d9539e649b193ae573b77a71c83");
        /* Wrong length, a SHA-1 where a SHA-256 is asked, a stray character, the other prefix. */
        assert_int_equal(download_hash_parse("abc", DOWNLOAD_HASH_SHA256, h, sizeof h), -EINVAL);
        assert_int_equal(download_hash_parse("36ae90defbad9d9539e649b193ae573b77a71c83", DOWNLOAD_HASH_SHA256, h,
                                             sizeof h), -EINVAL);
        assert_int_equal(download_hash_parse("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
                                             DOWNLOAD_HASH_SHA256, h, sizeof h), -EINVAL);
        assert_int_equal(download_hash_parse("sha256:36ae90defbad9d9539e649b193ae573b77a71c83", DOWNLOAD_HASH_SHA1, h,
                                             sizeof h), -EINVAL);
        assert_int_equal(download_hash_parse("36ae90defbad9d9539e649b193ae573b77a71c83 x", DOWNLOAD_HASH_SHA1, h,
                                             sizeof h), -EINVAL);
        assert_int_equal(download_hash_parse(NULL, DOWNLOAD_HASH_SHA1, h, sizeof h), -EINVAL);
        assert_int_equal(download_hash_parse(sum, DOWNLOAD_HASH_SHA256, h, 10), -EINVAL);
}

static void test_content_range(void **state) {
        (void)state;
        uint64_t f, l, t;
        assert_int_equal(download_content_range_parse(" bytes 100-199/200", &f, &l, &t), 0);
        assert_true(f == 100 && l == 199 && t == 200);
        assert_int_equal(download_content_range_parse("bytes 0-0/*\r\n", &f, &l, &t), 0);
        assert_true(f == 0 && l == 0 && t == UINT64_MAX);
        assert_int_equal(download_content_range_parse("bytes */4096", &f, &l, &t), 0);
        assert_true(f == UINT64_MAX && l == UINT64_MAX && t == 4096);
        assert_int_equal(download_content_range_parse("bytes 5-4/10", &f, &l, &t), -EINVAL);   /* last < first */
        assert_int_equal(download_content_range_parse("bytes 0-10/10", &f, &l, &t), -EINVAL);  /* past the end */
        assert_int_equal(download_content_range_parse("bytes */*", &f, &l, &t), -EINVAL);
        assert_int_equal(download_content_range_parse("items 0-1/2", &f, &l, &t), -EINVAL);
        assert_int_equal(download_content_range_parse("bytes 0-1/2 x", &f, &l, &t), -EINVAL);
        assert_int_equal(download_content_range_parse("bytes 99999999999999999999-1/2", &f, &l, &t), -EINVAL);
        assert_int_equal(download_content_range_parse(NULL, &f, &l, &t), -EINVAL);
}

static void test_resume_decide(void **state) {
        (void)state;
        static const struct {
                uint64_t offset;
                long status;
                const char *content_range;
                enum download_resume want;
        } cases[] = {
                /* 206 from where the .part ends: append. */
                { 1000, 206, "bytes 1000-4095/4096", DOWNLOAD_APPEND },
                /* 206 from elsewhere, without a Content-Range, or to a request without Range: drop the .part. */
                { 1000, 206, "bytes 0-4095/4096", DOWNLOAD_DISCARD },
                { 1000, 206, NULL, DOWNLOAD_DISCARD },
                { 0, 206, "bytes 0-4095/4096", DOWNLOAD_DISCARD },
                /* 200: the server ignored Range (or none was sent): start again. */
                { 1000, 200, NULL, DOWNLOAD_RESTART },
                { 0, 200, NULL, DOWNLOAD_RESTART },
                /* 416 with the .part's size as the total: whole already; another total: drop it. */
                { 4096, 416, "bytes */4096", DOWNLOAD_COMPLETE },
                { 5000, 416, "bytes */4096", DOWNLOAD_DISCARD },
                { 5000, 416, NULL, DOWNLOAD_DISCARD },
                { 0, 416, "bytes */4096", DOWNLOAD_FAILED },
                { 1000, 404, NULL, DOWNLOAD_FAILED },
                { 1000, 500, NULL, DOWNLOAD_FAILED },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (download_resume_decide(cases[i].offset, cases[i].status, cases[i].content_range) != cases[i].want)
                        fail_msg("case %zu: offset %llu, status %ld", i, (unsigned long long)cases[i].offset,
                                 cases[i].status);
}

static void test_transient(void **state) {
        (void)state;
        static const struct {
                int code;
                long status;
                bool connected, want;
        } cases[] = {
                { CURLE_HTTP_RETURNED_ERROR, 500, true, true },
                { CURLE_HTTP_RETURNED_ERROR, 503, true, true },
                { CURLE_HTTP_RETURNED_ERROR, 429, true, true },
                { CURLE_HTTP_RETURNED_ERROR, 408, true, true },
                { CURLE_HTTP_RETURNED_ERROR, 404, true, false },
                { CURLE_HTTP_RETURNED_ERROR, 403, true, false },
                { CURLE_HTTP_RETURNED_ERROR, 410, true, false },
                { CURLE_PARTIAL_FILE, 200, true, true },
                { CURLE_RECV_ERROR, 0, true, true },
                { CURLE_OPERATION_TIMEDOUT, 200, true, true },
                /* Never connected: the next mirror rather than another wait. */
                { CURLE_OPERATION_TIMEDOUT, 0, false, false },
                { CURLE_COULDNT_RESOLVE_HOST, 0, false, false },
                { CURLE_COULDNT_CONNECT, 0, false, false },
                { CURLE_PEER_FAILED_VERIFICATION, 0, true, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (download_error_transient(cases[i].code, cases[i].status, cases[i].connected) != cases[i].want)
                        fail_msg("case %zu: curl %d, status %ld", i, cases[i].code, cases[i].status);
}

static void test_error_text(void **state) {
        (void)state;
        char *s = download_error_text(CURLE_COULDNT_RESOLVE_HOST, 0);
        assert_string_equal(s, "could not resolve host (offline?)");
        free(s);
        s = download_error_text(CURLE_HTTP_RETURNED_ERROR, 404);
        assert_string_equal(s, "HTTP 404 (not there)");
        free(s);
        s = download_error_text(CURLE_HTTP_RETURNED_ERROR, 503);
        assert_string_equal(s, "HTTP 503");
        free(s);
}

static void test_url_basename(void **state) {
        (void)state;
        struct {
                const char *url, *want;
        } cases[] = {
                { "https://hatching.dev/hatchvm/win7ultimate.iso", "win7ultimate.iso" },
                { "http://127.0.0.1:8080/a/b/file.bin?token=x/y#frag", "file.bin" },
                { "ftp://host/x.iso", "x.iso" },
                { "http://host/dir/", NULL },
                { "http://host", NULL },
                { "http://host/..", NULL },
                { "http://host/.?x", NULL },
                { "http://host/?q=a/b.iso", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *b = download_url_basename(cases[i].url);
                if (cases[i].want)
                        assert_string_equal(b, cases[i].want);
                else
                        assert_null(b);
                free(b);
        }
}

static void test_failure_line(void **state) {
        (void)state;
        struct download_attempt a[] = {
                { "http://a/x.iso", "could not resolve host (offline?)" },
                { "http://b/x.iso", "HTTP 404 (not there)" },
        };
        char *s = download_failure_line("x.iso", a, 2, "put it at /d/x.iso");
        assert_string_equal(s, "cannot download x.iso: http://a/x.iso: could not resolve host (offline?); "
                               "http://b/x.iso: HTTP 404 (not there); put it at /d/x.iso");
        free(s);
        s = download_failure_line("x.iso", a, 1, NULL);
        assert_string_equal(s, "cannot download x.iso: http://a/x.iso: could not resolve host (offline?)");
        free(s);
        assert_null(strchr(s = download_failure_line("x", NULL, 0, "alt"), '\n'));
        free(s);
}

static void test_progress_detail(void **state) {
        (void)state;
        char buf[128];
        /* 1 MiB of 4 MiB in 1 s (all of it this run): 1 MiB/s, 3 s left. */
        download_progress_detail(buf, sizeof buf, 1 << 20, 4 << 20, 1000, 1 << 20);
        assert_string_equal(buf, "1.0 MiB of 4.0 MiB, 1.0 MiB/s, 3 s left");
        /* Resumed at 3 MiB, 0.5 MiB moved in 1 s: the rate is of this run. */
        download_progress_detail(buf, sizeof buf, 7u << 19, 4 << 20, 1000, 1 << 19);
        assert_string_equal(buf, "3.5 MiB of 4.0 MiB, 512.0 KiB/s, 1 s left");
        download_progress_detail(buf, sizeof buf, 1 << 20, 0, 2000, 1 << 20);
        assert_string_equal(buf, "1.0 MiB, 512.0 KiB/s");
        download_progress_detail(buf, sizeof buf, 0, 100, 0, 0);
        assert_string_equal(buf, "0 B of 100 B, -");
}

static void test_hash_file(void **state) {
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir();
        assert_non_null(dir);
        _cleanup_free_ char *p = path_join(dir, "abc");
        assert_int_equal(write_file(p, "abc", 3, 0644), 0);
        char s256[SHA256_HEX_LEN + 1], s1[SHA1_HEX_LEN + 1];
        assert_int_equal(download_hash_file(p, s256, s1), 0);
        /* FIPS 180-2 test vectors. */
        assert_string_equal(s256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_string_equal(s1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_int_equal(write_file(p, "", 0, 0644) < 0 ? -1 : 0, 0);
        assert_int_equal(download_hash_file(p, s256, s1), 0);
        assert_string_equal(s256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        _cleanup_free_ char *missing = path_join(dir, "missing");
        assert_int_equal(download_hash_file(missing, s256, s1), -ENOENT);
        rm_rf(dir);
}

/* Requests download_file refuses before any network: no URL, no hash, an upper-case hash. */
static void test_request_checks(void **state) {
        (void)state;
        const char *urls[] = { "http://127.0.0.1:9/x", NULL };
        const char *none[] = { NULL };
        struct download_request r = { .urls = urls, .dest = "/nonexistent/x", .label = "x" };
        assert_int_equal(download_file(&r, NULL), -EINVAL);
        r.sha1 = "A9993E364706816ABA3E25717850C26C9CD0D89D";
        assert_int_equal(download_file(&r, NULL), -EINVAL);
        r.sha1 = "a9993e364706816aba3e25717850c26c9cd0d89d";
        r.urls = none;
        assert_int_equal(download_file(&r, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hash_parse),     cmocka_unit_test(test_content_range),
                cmocka_unit_test(test_resume_decide),  cmocka_unit_test(test_transient),
                cmocka_unit_test(test_error_text),     cmocka_unit_test(test_url_basename),
                cmocka_unit_test(test_failure_line),   cmocka_unit_test(test_progress_detail),
                cmocka_unit_test(test_hash_file),      cmocka_unit_test(test_request_checks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
