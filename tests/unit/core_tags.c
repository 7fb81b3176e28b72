/* Unit tests: machine tag sets (core/tags.h), as the repository stores them. */
#include "test.h"

#include "core/tags.h"
#include "core/util.h"

static char *joined(char *const *set) {
        char *s = strv_join(set, "|");
        assert_non_null(s);
        return s;
}

static void test_parse(void **state) {
        (void)state;
        char **set;
        assert_int_equal(tags_parse(NULL, &set), 0);
        assert_non_null(set);
        assert_int_equal(strv_length(set), 0);
        strv_free(set);
        assert_int_equal(tags_parse("", &set), 0);
        assert_int_equal(strv_length(set), 0);
        strv_free(set);
        /* A hand-edited row: out of order, a duplicate, empty items. */
        assert_int_equal(tags_parse("office,,dotnet,office,", &set), 0);
        char *j = joined(set);
        assert_string_equal(j, "dotnet|office");
        free(j);
        strv_free(set);
}

static void test_add_sorted_unique(void **state) {
        (void)state;
        char **set = NULL;
        assert_int_equal(tags_add(&set, "pdfreader"), 0);
        assert_int_equal(tags_add(&set, "adobepdf"), 0);
        assert_int_equal(tags_add(&set, "office"), 0);
        assert_int_equal(tags_add(&set, "adobepdf"), 0);
        assert_int_equal(tags_add(&set, "zzz"), 0);
        char *extra[] = { "browser_edge", "office", NULL };
        assert_int_equal(tags_add_all(&set, extra), 0);
        assert_int_equal(tags_add_all(&set, NULL), 0);
        char *j = joined(set);
        assert_string_equal(j, "adobepdf|browser_edge|office|pdfreader|zzz");
        free(j);
        char *text;
        assert_int_equal(tags_format(set, &text), 0);
        assert_string_equal(text, "adobepdf,browser_edge,office,pdfreader,zzz");
        /* What is stored reads back as the same set. */
        char **back;
        assert_int_equal(tags_parse(text, &back), 0);
        j = joined(back);
        assert_string_equal(j, "adobepdf|browser_edge|office|pdfreader|zzz");
        free(j);
        strv_free(back);
        free(text);
        strv_free(set);
}

static void test_format_empty(void **state) {
        (void)state;
        char *text = (char *)"x";
        assert_int_equal(tags_format(NULL, &text), 0);
        assert_null(text);
        char *none[] = { NULL };
        text = (char *)"x";
        assert_int_equal(tags_format(none, &text), 0);
        assert_null(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_add_sorted_unique),
                cmocka_unit_test(test_format_empty),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
