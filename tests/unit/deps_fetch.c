/* Unit tests: where a catalog file is found (the user's folder, the cache, VMCloak's old cache),
 * which copies are refused, the memory of verified files, and the lines for missing files. No
 * network: downloads are tests/e2e/deps_fetch.sh's. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/download.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"
#include "deps/fetch.h"

/* "hello\n": the file every case looks for. */
#define HELLO_SHA256 "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define HELLO_SHA1 "f572d396fae9206628714fb2ce00f72e94f2258f"

struct env {
        char *tmp, *home, *user, *cache, *old;
};

static char *joined(const char *a, const char *b) {
        char *p = path_join(a, b);
        assert_non_null(p);
        return p;
}

static void put(const char *dir, const char *name, const char *text) {
        assert_int_equal(mkdir_p(dir, 0755), 0);
        _cleanup_free_ char *p = joined(dir, name);
        assert_int_equal(write_file(p, text, strlen(text), 0644), 0);
}

static int setup(void **state) {
        struct env *e = calloc(1, sizeof *e);
        assert_non_null(e);
        e->tmp = test_tmpdir();
        assert_non_null(e->tmp);
        e->home = joined(e->tmp, "home");
        e->user = joined(e->tmp, "usb");
        assert_int_equal(paths_init(e->home), 0);
        e->cache = paths_files_dir();
        e->old = paths_deps_dir();
        assert_non_null(e->cache);
        assert_non_null(e->old);
        *state = e;
        return 0;
}

static int teardown(void **state) {
        struct env *e = *state;
        rm_rf(e->tmp);
        free(e->tmp);
        free(e->home);
        free(e->user);
        free(e->cache);
        free(e->old);
        free(e);
        return 0;
}

static struct dep_url dead_url = { .url = (char *)"https://cuckoo.sh/vmcloak/hello.exe", .dead = (char *)"host gone" };

static struct dep_file hello_file(bool sha256) {
        return (struct dep_file){
                .filename = (char *)"hello.exe",
                .sha256 = sha256 ? (char *)HELLO_SHA256 : NULL,
                .sha1 = (char *)HELLO_SHA1,
                .urls = &dead_url,
                .n_urls = 1,
        };
}

static void test_where(void **state) {
        struct env *e = *state;
        struct dep_file f = hello_file(true);
        struct dep_fetch_opts o = { .files_dir = e->user, .verify = true };
        enum dep_file_where w;
        char *path = NULL;

        /* Nowhere, and its only URL is dead. */
        assert_int_equal(dep_file_locate(&f, &o, &w, &path), 0);
        assert_int_equal(w, DEP_FILE_DEAD);
        assert_null(path);
        struct dep_url live = { .url = (char *)"http://127.0.0.1:9/hello.exe" };
        struct dep_file g = f;
        g.urls = &live;
        assert_int_equal(dep_file_locate(&g, &o, &w, &path), 0);
        assert_int_equal(w, DEP_FILE_DOWNLOAD);

        /* VMCloak's old cache is read. */
        put(e->old, "hello.exe", "hello\n");
        assert_int_equal(dep_file_locate(&f, &o, &w, &path), 0);
        assert_int_equal(w, DEP_FILE_CACHED);
        _cleanup_free_ char *want_old = joined(e->old, "hello.exe");
        assert_string_equal(path, want_old);
        free(path);

        /* vmcloak's cache comes before it. */
        put(e->cache, "hello.exe", "hello\n");
        assert_int_equal(dep_file_locate(&f, &o, &w, &path), 0);
        _cleanup_free_ char *want_cache = joined(e->cache, "hello.exe");
        assert_string_equal(path, want_cache);
        free(path);

        /* The user's folder before both. */
        put(e->user, "hello.exe", "hello\n");
        assert_int_equal(dep_file_locate(&f, &o, &w, &path), 0);
        assert_int_equal(w, DEP_FILE_USER);
        _cleanup_free_ char *want_user = joined(e->user, "hello.exe");
        assert_string_equal(path, want_user);
        free(path);
}

static void test_wrong_copies(void **state) {
        struct env *e = *state;
        struct dep_file f = hello_file(false);
        struct dep_fetch_opts o = { .files_dir = e->user, .verify = true };
        enum dep_file_where w;
        char *path = NULL;

        /* A wrong file in VMCloak's cache is skipped and kept (never written). */
        put(e->old, "hello.exe", "other\n");
        assert_int_equal(dep_file_locate(&f, &o, &w, &path), 0);
        assert_int_equal(w, DEP_FILE_DEAD);
        _cleanup_free_ char *old = joined(e->old, "hello.exe");
        assert_true(path_exists(old));

        /* A wrong file in the cache is deleted. */
        put(e->cache, "hello.exe", "other\n");
        assert_int_equal(dep_file_locate(&f, &o, &w, &path), 0);
        _cleanup_free_ char *cached = joined(e->cache, "hello.exe");
        assert_false(path_exists(cached));

        /* A wrong file of the user's is refused and left alone. */
        put(e->user, "hello.exe", "other\n");
        assert_int_equal(dep_file_locate(&f, &o, &w, &path), -EBADMSG);
        _cleanup_free_ char *user = joined(e->user, "hello.exe");
        assert_true(path_exists(user));
        assert_int_equal(dep_file_fetch(&f, "hello 1.0", &o, &path), -EBADMSG);
        assert_true(path_exists(user));

        /* Without verify only the name counts (list deps). */
        o.verify = false;
        assert_int_equal(dep_file_locate(&f, &o, &w, &path), 0);
        assert_int_equal(w, DEP_FILE_USER);
        free(path);

        /* A catalog name that is a path is refused. */
        struct dep_file bad = f;
        bad.filename = (char *)"../hello.exe";
        assert_int_equal(dep_file_locate(&bad, &o, &w, &path), -EINVAL);
}

static void test_fetch_without_download(void **state) {
        struct env *e = *state;
        struct dep_file f = hello_file(true);
        struct dep_fetch_opts o = { 0 };
        char *path = NULL;
        /* Dead only and not here: -ENOENT, nothing made. */
        assert_int_equal(dep_file_fetch(&f, "hello 1.0", &o, &path), -ENOENT);
        assert_null(path);
        /* Found in VMCloak's cache: used where it is. */
        put(e->old, "hello.exe", "hello\n");
        assert_int_equal(dep_file_fetch(&f, "hello 1.0", &o, &path), 0);
        _cleanup_free_ char *want = joined(e->old, "hello.exe");
        assert_string_equal(path, want);
        free(path);
}

/* Set a file's content and its modification time (so a rewrite can keep size and time). */
static void rewrite(const char *path, const char *text, time_t mtime) {
        assert_int_equal(write_file(path, text, strlen(text), 0644), 0);
        struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
        assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_memory(void **state) {
        struct env *e = *state;
        struct dep_file f = hello_file(true);
        struct dep_fetch_opts o = { .verify = true };
        enum dep_file_where w;
        char *path = NULL;
        char sha256[SHA256_HEX_LEN + 1], sha1[SHA1_HEX_LEN + 1];
        assert_int_equal(mkdir_p(e->cache, 0755), 0);
        _cleanup_free_ char *p = joined(e->cache, "hello.exe");
        rewrite(p, "hello\n", 1700000000);
        assert_int_equal(dep_file_locate(&f, &o, &w, &path), 0);
        assert_int_equal(w, DEP_FILE_CACHED);
        free(path);
        _cleanup_free_ char *memory = joined(e->cache, ".verified");
        assert_true(path_exists(memory));

        /* Rewritten in place with the same size and modification time: the status-change time
         * moved, so the memory does not answer and the file is hashed again. */
        rewrite(p, "jello\n", 1700000000);
        assert_int_equal(dep_file_hash(p, true, sha256, sha1), 0);
        assert_string_not_equal(sha256, HELLO_SHA256);
        assert_false(dep_file_matches(&f, sha256, sha1));
        /* ... which is remembered in turn. */
        assert_int_equal(dep_file_hash(p, true, sha256, sha1), 0);
        assert_string_not_equal(sha256, HELLO_SHA256);

        /* Another modification time: hashed again. */
        rewrite(p, "hello\n", 1700000001);
        assert_int_equal(dep_file_hash(p, true, sha256, sha1), 0);
        assert_string_equal(sha256, HELLO_SHA256);
        assert_string_equal(sha1, HELLO_SHA1);

        /* An untouched file is not read again: the memory answers (a hash planted in it shows). */
        {
                _cleanup_free_ char *mem = NULL;
                size_t mlen;
                assert_int_equal(read_full_file(memory, &mem, &mlen), 0);
                char *at = strstr(mem, HELLO_SHA256);
                assert_non_null(at);
                memset(at, 'a', SHA256_HEX_LEN);
                assert_int_equal(write_file(memory, mem, mlen, 0644), 0);
                assert_int_equal(dep_file_hash(p, true, sha256, sha1), 0);
                assert_string_equal(sha256, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        }

        /* A damaged memory is no memory. */
        assert_int_equal(write_file(memory, "{ not json", 10, 0644), 0);
        assert_int_equal(dep_file_hash(p, true, sha256, sha1), 0);
        assert_string_equal(sha256, HELLO_SHA256);
        _cleanup_free_ char *text = NULL;
        size_t len;
        assert_int_equal(read_full_file(memory, &text, &len), 0);
        assert_non_null(strstr(text, HELLO_SHA256));

        /* Entries of files that are gone are dropped when the memory is written. */
        _cleanup_free_ char *q = joined(e->cache, "other.exe");
        rewrite(q, "x", 1700000000);
        assert_int_equal(dep_file_hash(q, true, sha256, sha1), 0);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(dep_file_hash(q, false, sha256, sha1), 0);
        free(text);
        text = NULL;
        assert_int_equal(read_full_file(memory, &text, &len), 0);
        assert_null(strstr(text, "hello.exe"));
        assert_non_null(strstr(text, "other.exe"));
}

static void test_texts(void **state) {
        struct env *e = *state;
        struct dep_file f = hello_file(false);
        _cleanup_free_ char *way = dep_file_way_out(&f);
        _cleanup_free_ char *want = strdup_printf("put hello.exe (SHA-1 " HELLO_SHA1 ") in %s or --files-dir DIR",
                                                  e->cache);
        assert_string_equal(way, want);
        _cleanup_free_ char *why = dep_file_mismatch_text(&f, HELLO_SHA256, "0000000000000000000000000000000000000000");
        assert_string_equal(why, "its SHA-1 is 0000000000000000000000000000000000000000, expected " HELLO_SHA1);
        /* Every hash the catalog gives must match; none given matches nothing. */
        struct dep_file both = hello_file(true);
        assert_true(dep_file_matches(&both, HELLO_SHA256, HELLO_SHA1));
        assert_false(dep_file_matches(&both, HELLO_SHA256, "0000000000000000000000000000000000000000"));
        struct dep_file none = f;
        none.sha1 = NULL;
        assert_false(dep_file_matches(&none, HELLO_SHA256, HELLO_SHA1));
        assert_string_equal(dep_file_where_text(DEP_FILE_DEAD), "dead (bring it by hand)");
        assert_string_equal(dep_file_where_name(DEP_FILE_USER), "user");
}

int main(void) {
        log_set_level((enum log_level)-1);   /* the refusals are expected */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_where, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_copies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fetch_without_download, setup, teardown),
                cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_texts, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
