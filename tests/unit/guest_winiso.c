/* Unit tests: the Windows ISO catalog (data/windows/isos.json as shipped, and what it refuses). */
#include "test.h"

#include <errno.h>

#include "core/util.h"
#include "guest/winiso.h"

/* The shipped catalog carries VMCloak's hashes and URLs (spec §2.9), dead ones marked. */
static void test_shipped(void **state) {
        (void)state;
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        assert_non_null(root);
        _cleanup_free_ char *path = strdup_printf("%s/data/windows/isos.json", root);
        struct winiso_catalog c = { 0 };
        assert_int_equal(winiso_catalog_load(path, &c), 0);
        const struct winiso *w7 = winiso_find(&c, "win7x64"), *w10 = winiso_find(&c, "win10x64");
        assert_non_null(w7);
        assert_non_null(w10);
        assert_null(winiso_find(&c, "win81x64"));
        assert_string_equal(w7->sha1, "36ae90defbad9d9539e649b193ae573b77a71c83");
        assert_string_equal(w7->filename, "win7ultimate.iso");
        assert_string_equal(w10->sha1, "ce8005a659e8df7fe9b080352cb1c313c3e9adce");
        assert_string_equal(w10->filename, "Win10_1703_English_x64.iso");
        assert_null(w10->sha256);
        assert_non_null(w10->cuckoo3);
        assert_int_equal(w10->n_urls, 2);
        assert_string_equal(w10->urls[0].url, "https://cuckoo-hatch.cert.ee/static/vm/Win10_1703_English_x64.iso");
        assert_string_equal(w10->urls[1].url, "https://hatching.dev/hatchvm/Win10_1703_English_x64.iso");
        assert_true(winiso_all_dead(w7) && winiso_all_dead(w10));
        winiso_catalog_done(&c);
}

/* Live URLs first in catalog order, dead ones after them. */
static void test_url_order(void **state) {
        (void)state;
        const char *json = "{\"isos\":[{\"key\":\"k\",\"filename\":\"f.iso\","
                           "\"sha1\":\"A9993E364706816ABA3E25717850C26C9CD0D89D\",\"size\":3,"
                           "\"urls\":[{\"url\":\"http://dead1/\",\"dead\":\"2025-01-02\"},{\"url\":\"http://live1/\"},"
                           "{\"url\":\"http://dead2/\",\"dead\":\"2025-01-03\"},{\"url\":\"http://live2/\"}]}]}";
        struct winiso_catalog c = { 0 };
        assert_int_equal(winiso_catalog_parse(json, "test", &c), 0);
        const struct winiso *w = winiso_find(&c, "k");
        assert_non_null(w);
        assert_string_equal(w->sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");   /* normalized */
        assert_int_equal(w->size, 3);
        char **u = winiso_urls(w);
        _cleanup_free_ char *j = strv_join(u, " ");
        assert_string_equal(j, "http://live1/ http://live2/ http://dead1/ http://dead2/");
        strv_free(u);
        assert_false(winiso_all_dead(w));
        winiso_catalog_done(&c);
}

static void test_refused(void **state) {
        (void)state;
        const char *bad[] = {
                "not json",
                "{\"isos\":{}}",
                "{\"isos\":[{\"filename\":\"f\",\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"urls\":[{\"url\":\"u\"}]}]}",
                "{\"isos\":[{\"key\":\"k\",\"filename\":\"a/f\",\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"urls\":[{\"url\":\"u\"}]}]}",
                "{\"isos\":[{\"key\":\"k\",\"filename\":\"..\",\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"urls\":[{\"url\":\"u\"}]}]}",
                "{\"isos\":[{\"key\":\"k\",\"filename\":\"f\",\"urls\":[{\"url\":\"u\"}]}]}",
                "{\"isos\":[{\"key\":\"k\",\"filename\":\"f\",\"sha1\":\"a9993e\",\"urls\":[{\"url\":\"u\"}]}]}",
                "{\"isos\":[{\"key\":\"k\",\"filename\":\"f\",\"sha256\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"urls\":[{\"url\":\"u\"}]}]}",
                "{\"isos\":[{\"key\":\"k\",\"filename\":\"f\",\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"urls\":[]}]}",
                "{\"isos\":[{\"key\":\"k\",\"filename\":\"f\",\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"urls\":[{\"url\":\"u\",\"dead\":\"yesterday\"}]}]}",
                "{\"isos\":[{\"key\":\"k\",\"filename\":\"f\",\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"size\":-1,\"urls\":[{\"url\":\"u\"}]}]}",
                /* the same key twice */
                ("{\"isos\":[{\"key\":\"k\",\"filename\":\"f\",\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"urls\":[{\"url\":\"u\"}]},"
                 "{\"key\":\"k\",\"filename\":\"g\",\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"urls\":[{\"url\":\"u\"}]}]}"),
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct winiso_catalog c = { 0 };
                if (winiso_catalog_parse(bad[i], "test", &c) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
                assert_null(c.isos);
        }
        struct winiso_catalog c = { 0 };
        assert_int_equal(winiso_catalog_load("/nonexistent/isos.json", &c), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shipped),
                cmocka_unit_test(test_url_order),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
