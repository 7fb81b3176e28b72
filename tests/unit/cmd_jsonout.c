/* The JSON builders of --json (cmd/jsonout.c): rows as objects, installed pairs, seconds, printing. */
#include "test.h"

#include <json-c/json.h>

#include "cmd/jsonout.h"
#include "core/repo.h"

static const char *str_of(json_object *o, const char *key) {
        json_object *v = NULL;
        assert_true(json_object_object_get_ex(o, key, &v));
        return v ? json_object_get_string(v) : NULL;
}

static void test_dep_pairs(void **state) {
        (void)state;
        char *pairs[] = { "dotnet:4.7.2", "finalize:", "labtools", "odd:1:2", NULL };
        json_object *a = dep_pairs_to_json(pairs);
        assert_int_equal(json_object_array_length(a), 4);
        assert_string_equal(str_of(json_object_array_get_idx(a, 0), "name"), "dotnet");
        assert_string_equal(str_of(json_object_array_get_idx(a, 0), "version"), "4.7.2");
        /* VMCloak's "name:" and a bare name both mean no version: null. */
        assert_string_equal(str_of(json_object_array_get_idx(a, 1), "name"), "finalize");
        assert_null(str_of(json_object_array_get_idx(a, 1), "version"));
        assert_string_equal(str_of(json_object_array_get_idx(a, 2), "name"), "labtools");
        assert_null(str_of(json_object_array_get_idx(a, 2), "version"));
        /* Split at the first colon only. */
        assert_string_equal(str_of(json_object_array_get_idx(a, 3), "version"), "1:2");
        json_object_put(a);
        a = dep_pairs_to_json(NULL);
        assert_int_equal(json_object_array_length(a), 0);
        json_object_put(a);
}

static void test_image(void **state) {
        (void)state;
        struct image m = { .name = "win10", .vm = "qemu", .ipaddr = "192.168.30.2", .port = 8000, .cpus = 2,
                           .ramsize = 4096, .installed = "dotnet:4.7.2,finalize:", .tags = "dotnet,lab" };
        json_object *o = image_to_json(&m);
        assert_string_equal(str_of(o, "name"), "win10");
        assert_string_equal(str_of(o, "ip"), "192.168.30.2");
        assert_null(str_of(o, "mac"));           /* not stored: null, not "" */
        assert_string_equal(str_of(o, "net"), "bridge"); /* VMCloak's rows have no network mode */
        assert_string_equal(str_of(o, "firmware"), "bios");
        json_object *inst = NULL, *tags = NULL;
        assert_true(json_object_object_get_ex(o, "installed", &inst));
        assert_int_equal(json_object_array_length(inst), 2);
        assert_string_equal(str_of(json_object_array_get_idx(inst, 1), "name"), "finalize");
        assert_true(json_object_object_get_ex(o, "tags", &tags));
        assert_int_equal(json_object_array_length(tags), 2);
        json_object_put(o);
}

static void test_snapshot(void **state) {
        (void)state;
        struct snapshot s = { .vmname = "vm1", .ipaddr = "10.0.2.20", .port = 8000,
                              .cloakcheck = "{\"hidden\": 3}", .identity = "not json" };
        json_object *o = snapshot_to_json(&s);
        assert_string_equal(str_of(o, "vmname"), "vm1");
        assert_null(str_of(o, "image"));         /* the image row is gone */
        assert_null(str_of(o, "libvirt_uri"));   /* a local VM */
        json_object *cc = NULL, *id = NULL, *h = NULL;
        assert_true(json_object_object_get_ex(o, "cloakcheck", &cc));
        assert_true(json_object_object_get_ex(cc, "hidden", &h));
        assert_int_equal(json_object_get_int(h), 3);
        /* A stored column that is not JSON: null rather than a broken document. */
        assert_true(json_object_object_get_ex(o, "identity", &id));
        assert_null(id);
        json_object_put(o);
}

static int print_doc(void *arg) {
        (void)arg;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "seconds", json_seconds(12.3456));
        json_object_object_add(o, "none", NULL);
        return json_print_put(o);
}

static void test_print(void **state) {
        (void)state;
        char *out = NULL;
        assert_int_equal(test_capture(STDOUT_FILENO, print_doc, NULL, &out), 0);
        /* Seconds as typed with 3 decimals, null kept, one document and a newline. */
        assert_non_null(strstr(out, "\"seconds\": 12.346"));
        assert_non_null(strstr(out, "\"none\": null"));
        assert_int_equal(out[strlen(out) - 1], '\n');
        json_object *back = json_tokener_parse(out);
        assert_non_null(back);
        json_object_put(back);
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dep_pairs),
                cmocka_unit_test(test_image),
                cmocka_unit_test(test_snapshot),
                cmocka_unit_test(test_print),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
