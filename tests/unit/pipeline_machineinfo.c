/* Unit tests: machineinfo.json written field by field as Cuckoo3 reads it. */
#include "test.h"

#include <errno.h>
#include <json-c/json.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "pipeline/machineinfo.h"

static char *start_args[] = { "-nodefaults", "-M", "q35", "-drive",
                              "file=%DISPOSABLE_DISK_PATH%,format=qcow2,if=none,id=disk", "-display", "none", NULL };
static char *tags[] = { "dotnet", "java", NULL };

static const struct machineinfo sample = {
        .machinery_version = "7.2.0", .name = "win10vm_1", .ip = "192.168.30.10", .agent_port = 8000,
        .os_name = "windows", .os_version = "10", .architecture = "amd64", .tags = tags, .bridge = "qemubr0",
        .mac = "00:19:3c:1f:a2:07", .gateway = "192.168.30.1", .netmask = "255.255.255.0", .disk = "disk.qcow2",
        .start_args = start_args, .memory_snapshot = "memory.snapshot", .compression = "lz4",
};

static json_object *write_and_parse(const struct machineinfo *mi, char **dir) {
        *dir = test_tmpdir();
        assert_int_equal(machineinfo_write(*dir, mi), 0);
        char *path = strdup_printf("%s/machineinfo.json", *dir);
        json_object *root = json_object_from_file(path);
        free(path);
        assert_non_null(root);
        return root;
}

static const char *get(json_object *m, const char *k) {
        json_object *v;
        assert_true(json_object_object_get_ex(m, k, &v));
        return json_object_get_string(v);
}

static void test_fields(void **state) {
        (void)state;
        char *dir;
        json_object *root = write_and_parse(&sample, &dir), *m, *v;
        assert_true(json_object_object_get_ex(root, "vmcloak_version", &v));
        assert_null(v);
        assert_string_equal(json_object_get_string(json_object_object_get(root, "machinery")), "qemu");
        assert_string_equal(json_object_get_string(json_object_object_get(root, "machinery_version")), "7.2.0");
        assert_true(json_object_object_get_ex(root, "machine", &m));
        assert_string_equal(get(m, "name"), "win10vm_1");
        assert_string_equal(get(m, "ip"), "192.168.30.10");
        assert_int_equal(json_object_get_int(json_object_object_get(m, "agent_port")), 8000);
        assert_true(json_object_is_type(json_object_object_get(m, "agent_port"), json_type_int));
        assert_string_equal(get(m, "os_name"), "windows");
        assert_string_equal(get(m, "os_version"), "10");
        assert_string_equal(get(m, "architecture"), "amd64");
        assert_string_equal(get(m, "bridge"), "qemubr0");
        assert_string_equal(get(m, "mac"), "00:19:3c:1f:a2:07");
        assert_string_equal(get(m, "gateway"), "192.168.30.1");
        assert_string_equal(get(m, "netmask"), "255.255.255.0");
        assert_string_equal(get(m, "disk"), "disk.qcow2");
        assert_string_equal(get(m, "memory_snapshot"), "memory.snapshot");
        json_object *t = json_object_object_get(m, "tags");
        assert_int_equal(json_object_array_length(t), 2);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(t, 1)), "java");
        json_object *sa = json_object_object_get(m, "start_args");
        assert_int_equal(json_object_array_length(sa), 7);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(sa, 4)),
                            "file=%DISPOSABLE_DISK_PATH%,format=qcow2,if=none,id=disk");
        const char *why = NULL;
        assert_int_equal(machineinfo_validate(root, &why), 0);
        json_object_put(root);
        rm_rf(dir);
        free(dir);
}

static void test_pretty_two_space_indent(void **state) {
        (void)state;
        char *dir = test_tmpdir();
        assert_int_equal(machineinfo_write(dir, &sample), 0);
        char *path = strdup_printf("%s/machineinfo.json", dir), *text;
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_non_null(strstr(text, "\n  \"machine\": {\n    \"name\": \"win10vm_1\""));
        assert_null(strstr(text, "\\/"));
        free(text);
        free(path);
        rm_rf(dir);
        free(dir);
}

static void expect_invalid(struct machineinfo mi, const char *reason_part) {
        char *dir;
        json_object *root = write_and_parse(&mi, &dir);
        const char *why = NULL;
        assert_int_equal(machineinfo_validate(root, &why), -EINVAL);
        assert_non_null(strstr(why, reason_part));
        json_object_put(root);
        rm_rf(dir);
        free(dir);
}

static void test_validator_rules(void **state) {
        (void)state;
        struct machineinfo mi = sample;
        char *with_binary[] = { "/usr/bin/qemu-system-x86_64", "file=%DISPOSABLE_DISK_PATH%", NULL };
        mi.start_args = with_binary;
        expect_invalid(mi, "binary");
        char *no_placeholder[] = { "-M", "q35", NULL };
        mi.start_args = no_placeholder;
        expect_invalid(mi, "DISPOSABLE");
        char *qmp[] = { "file=%DISPOSABLE_DISK_PATH%", "-qmp", "unix:/x", NULL };
        mi.start_args = qmp;
        expect_invalid(mi, "forbids");
        char *snap_in_name[] = { "file=/x/my-snapshot.qcow2,%DISPOSABLE_DISK_PATH%", NULL };
        mi.start_args = snap_in_name;
        expect_invalid(mi, "forbids"); /* Cuckoo3's substring test */
        char *empty[] = { NULL };
        mi.start_args = empty;
        expect_invalid(mi, "non-empty");
        mi = sample;
        mi.mac = "00-19-3c-1f-a2-07";
        expect_invalid(mi, "colon");
        mi = sample;
        mi.architecture = "arm64";
        expect_invalid(mi, "architecture");
        mi = sample;
        mi.agent_port = 0;
        expect_invalid(mi, "agent_port");
}

static void test_validator_missing_machine(void **state) {
        (void)state;
        json_object *root = json_tokener_parse("{\"machinery\": \"qemu\"}");
        const char *why;
        assert_int_equal(machineinfo_validate(root, &why), -EINVAL);
        json_object_put(root);
        root = json_tokener_parse("{\"machine\": {\"name\": \"x\"}}");
        assert_int_equal(machineinfo_validate(root, &why), -EINVAL);
        assert_non_null(strstr(why, "required"));
        json_object_put(root);
}

static void test_write_never_replaces(void **state) {
        (void)state;
        char *dir = test_tmpdir();
        char *path = strdup_printf("%s/machineinfo.json", dir), *text;
        /* A VM's file, however it came to be there. */
        assert_int_equal(write_file(path, "{\"imported\": true}\n", 19, 0644), 0);
        assert_int_equal(machineinfo_write(dir, &sample), -EEXIST);
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_string_equal(text, "{\"imported\": true}\n");
        free(text);
        /* A folder that cannot take the file leaves nothing behind. */
        unlink(path);
        assert_int_equal(chmod(dir, 0500), 0);
        if (access(dir, W_OK) < 0) { /* root writes anyway */
                assert_int_equal(machineinfo_write(dir, &sample), -EACCES);
                assert_false(path_exists(path));
        }
        chmod(dir, 0700);
        free(path);
        rm_rf(dir);
        free(dir);
}

static json_object *sample_json(void) {
        char *dir;
        json_object *root = write_and_parse(&sample, &dir);
        rm_rf(dir);
        free(dir);
        return root;
}

/* Restore reads no more than it checked: another machinery, paths out of the VM's folder and
 * values it does not know are refused. */
static void test_validator_restore_rules(void **state) {
        (void)state;
        static const struct {
                const char *where, *key, *json, *reason;
        } cases[] = {
                { NULL, "machinery", "\"libvirt\"", "machinery is not qemu" },
                { NULL, "machinery", "7", "machinery is not qemu" },
                { "machine", "ip", "3232243210", "ip is not a string" },
                { "machine", "disk", "\"/home/u/.vmcloak/image/win10base.qcow2\"", "disk is not a file name" },
                { "machine", "disk", "\"..\"", "disk is not a file name" },
                { "machine", "memory_snapshot", "\"../other/memory.snapshot\"", "memory_snapshot is not" },
                { "machine", "memory_snapshot", "null", "memory_snapshot is not" },
                { "machine", "net", "\"tap\"", "net is neither bridge nor user" },
                { "machine", "tags", "{\"office\": true}", "tags is not a list" },
                { "machine", "tags", "7", "tags is not a list" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                json_object *root = sample_json();
                json_object *o = cases[i].where ? json_object_object_get(root, cases[i].where) : root;
                json_object_object_add(o, cases[i].key, json_tokener_parse(cases[i].json));
                const char *why = NULL;
                assert_int_equal(machineinfo_validate(root, &why), -EINVAL);
                if (!strstr(why, cases[i].reason))
                        fail_msg("%s=%s: '%s' not in '%s'", cases[i].key, cases[i].json, cases[i].reason, why);
                json_object_put(root);
        }
        /* No machinery key at all is read as qemu, as Cuckoo3's import does. */
        json_object *root = sample_json();
        json_object_object_del(root, "machinery");
        const char *why = NULL;
        assert_int_equal(machineinfo_validate(root, &why), 0);
        json_object_put(root);
        /* Tags as Cuckoo3's config.List takes them: null, one string, a list. */
        static const char *const tag_values[] = { "null", "\"office\"", "[]", "[\"office\", \"dotnet\"]" };
        for (size_t i = 0; i < sizeof tag_values / sizeof *tag_values; i++) {
                root = sample_json();
                json_object_object_add(json_object_object_get(root, "machine"), "tags",
                                       json_tokener_parse(tag_values[i]));
                if (machineinfo_validate(root, &why) < 0)
                        fail_msg("tags %s refused: %s", tag_values[i], why);
                json_object_put(root);
        }
}

static void test_unknown_keys(void **state) {
        (void)state;
        json_object *root = sample_json();
        char *unknown = (char *)"x";
        assert_int_equal(machineinfo_unknown_keys(root, &unknown), 0);
        assert_null(unknown);
        json_object_object_add(root, "cuckoo_import", json_object_new_boolean(1));
        json_object_object_add(json_object_object_get(root, "machine"), "tpm", json_object_new_string("2.0"));
        assert_int_equal(machineinfo_unknown_keys(root, &unknown), 0);
        assert_string_equal(unknown, "cuckoo_import, machine.tpm");
        free(unknown);
        json_object_put(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_pretty_two_space_indent),
                cmocka_unit_test(test_validator_rules),
                cmocka_unit_test(test_validator_missing_machine),
                cmocka_unit_test(test_write_never_replaces),
                cmocka_unit_test(test_validator_restore_rules),
                cmocka_unit_test(test_unknown_keys),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
