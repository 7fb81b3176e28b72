/* Unit tests: bundle.json written and read back, and start_args paths moved to another home. */
#include "test.h"

#include <errno.h>
#include <json-c/json.h>

#include "core/util.h"
#include "pipeline/bundlefmt.h"

static const char sum_a[] = "acae2f7000bf9d6b0a0d5ce0d1c3a2b8d1f1ad9c5f3c0b3f2b9b2a1c0d9e8f7a";
static const char sum_b[] = "0000000000000000000000000000000000000000000000000000000000000001";

static void sample(struct bundle_manifest *m) {
        *m = (struct bundle_manifest){ .format = BUNDLE_FORMAT, .with_image = true, .image_size = 90177536 };
        m->vmcloak_version = strdup("0.1.0");
        m->home = strdup("/srv/a,b/home");
        m->vmdir = strdup("/srv/a,b/home/vms/qemu/vm1");
        m->vm.vmname = strdup("vm1");
        m->vm.ipaddr = strdup("10.0.2.20");
        m->vm.port = 8000;
        m->vm.tags = strdup("lab,office");
        m->image.name = strdup("lbase");
        m->image.path = strdup("/srv/a,b/home/image/lbase.qcow2");
        m->image.osversion = strdup("linux");
        m->image.tpm = 1;
        m->image.ramsize = 512;
        snprintf(m->image_sha256, sizeof m->image_sha256, "%s", sum_a);
        assert_int_equal(bundle_manifest_add_file(m, "vm/disk.qcow2", 37748736, sum_b), 0);
        assert_int_equal(bundle_manifest_add_file(m, "vm/machineinfo.json", 1677, sum_b), 0);
        assert_int_equal(bundle_manifest_add_file(m, "vm/disk.qcow2.smbios/type0.bin", 54, sum_b), 0);
        assert_int_equal(bundle_manifest_add_file(m, "image/lbase.qcow2", 90177536, sum_a), 0);
}

static void test_round_trip(void **state) {
        (void)state;
        struct bundle_manifest m, back;
        sample(&m);
        char *json = NULL;
        assert_int_equal(bundle_manifest_to_json(&m, &json), 0);
        char reason[160] = "";
        assert_int_equal(bundle_manifest_from_json(json, &back, reason, sizeof reason), 0);
        assert_int_equal(back.format, BUNDLE_FORMAT);
        assert_string_equal(back.home, m.home);
        assert_string_equal(back.vmdir, m.vmdir);
        assert_string_equal(back.vm.vmname, "vm1");
        assert_string_equal(back.vm.tags, "lab,office");
        assert_int_equal(back.vm.port, 8000);
        assert_null(back.vm.libvirt_uri);
        assert_string_equal(back.image.name, "lbase");
        assert_string_equal(back.image.osversion, "linux");
        assert_int_equal(back.image.tpm, 1);
        assert_int_equal(back.image.ramsize, 512);
        assert_null(back.image.firmware);
        assert_string_equal(back.image_sha256, sum_a);
        assert_true(back.image_size == 90177536);
        assert_true(back.with_image);
        assert_int_equal(back.n_files, 4);
        assert_string_equal(back.files[2].name, "vm/disk.qcow2.smbios/type0.bin");
        assert_true(back.files[2].size == 54);
        assert_non_null(bundle_manifest_find(&back, "image/lbase.qcow2"));
        assert_null(bundle_manifest_find(&back, "image/other.qcow2"));
        free(json);
        bundle_manifest_done(&m);
        bundle_manifest_done(&back);
}

/* Change one key of the sample's JSON (NULL value: remove it) and parse it. */
static int parse_changed(const char *key, json_object *value, char *reason, size_t size, int *ret_format) {
        struct bundle_manifest m, back;
        sample(&m);
        char *json = NULL;
        assert_int_equal(bundle_manifest_to_json(&m, &json), 0);
        bundle_manifest_done(&m);
        json_object *root = json_tokener_parse(json);
        free(json);
        if (value)
                json_object_object_add(root, key, value);
        else
                json_object_object_del(root, key);
        int r = bundle_manifest_from_json(json_object_to_json_string(root), &back, reason, size);
        json_object_put(root);
        if (ret_format)
                *ret_format = back.format;
        bundle_manifest_done(&back);
        return r;
}

static void test_refusals(void **state) {
        (void)state;
        char reason[160];
        struct bundle_manifest m;
        int format = 0;
        assert_int_equal(parse_changed("format", json_object_new_int(BUNDLE_FORMAT + 1), reason, sizeof reason, &format),
                         -EPROTONOSUPPORT);
        assert_int_equal(format, BUNDLE_FORMAT + 1);
        assert_int_equal(parse_changed("format", NULL, reason, sizeof reason, NULL), -EINVAL);
        assert_string_equal(reason, "bundle.json has no format version");
        assert_int_equal(parse_changed("image_sha256", json_object_new_string("ABC"), reason, sizeof reason, NULL),
                         -EINVAL);
        assert_string_equal(reason, "bundle.json has no image_sha256");
        assert_int_equal(parse_changed("vm", json_object_new_string("x"), reason, sizeof reason, NULL), -EINVAL);
        assert_int_equal(parse_changed("home", NULL, reason, sizeof reason, NULL), -EINVAL);
        /* A member outside vm/ and image/, or climbing out of the folder. */
        const char *bad[] = { "../etc/passwd", "/etc/passwd", "vm/../../x", "vm/./x", "other/x", "vm/", "vm//x", "vm/x/" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_false(bundle_member_name_ok(bad[i]));
                json_object *files = json_object_new_array(), *f = json_object_new_object();
                json_object_object_add(f, "name", json_object_new_string(bad[i]));
                json_object_object_add(f, "size", json_object_new_int(1));
                json_object_object_add(f, "sha256", json_object_new_string(sum_b));
                json_object_array_add(files, f);
                assert_int_equal(parse_changed("files", files, reason, sizeof reason, NULL), -EINVAL);
                assert_string_equal(reason, "bundle.json's files list has a bad entry (#1)");
        }
        assert_true(bundle_member_name_ok("vm/disk.qcow2.tpm/tpm2-00.permall"));
        assert_true(bundle_member_name_ok("image/lbase.qcow2"));
        /* With the image, its disk must be a member of the image's size and hash. */
        assert_int_equal(parse_changed("image_size", json_object_new_int(1), reason, sizeof reason, NULL), -EINVAL);
        assert_string_equal(reason, "bundle.json says the image travels with the VM, but lists no image/lbase.qcow2 "
                                    "of the image's size and SHA-256");
        assert_int_equal(parse_changed("with_image", json_object_new_boolean(0), reason, sizeof reason, NULL), 0);
        assert_int_equal(bundle_manifest_from_json("[1, 2]", &m, reason, sizeof reason), -EINVAL);
        assert_int_equal(bundle_manifest_from_json("{\"format\": 1", &m, reason, sizeof reason), -EINVAL);
        assert_string_equal(reason, "bundle.json is no JSON object");
}

static char *rewrite(const char *arg, unsigned *n) {
        char *from[] = { "/old/home/vms/qemu/vm1", "/old/home", NULL };
        char *to[] = { "/new,x/vms/qemu/vm2", "/new,x", NULL };
        char *out = NULL;
        assert_int_equal(bundle_rewrite_arg(arg, from, to, &out, n), 0);
        return out;
}

static void test_rewrite(void **state) {
        (void)state;
        static const struct {
                const char *in, *out;
                unsigned n;
        } cases[] = {
                /* The VM's folder goes to the new VM's, with QEMU's comma escaping. */
                { "file=/old/home/vms/qemu/vm1/disk.qcow2.smbios/type0.bin",
                  "file=/new,,x/vms/qemu/vm2/disk.qcow2.smbios/type0.bin", 1 },
                { "if=pflash,format=raw,unit=1,file=/old/home/vms/qemu/vm1/disk.qcow2.nvram",
                  "if=pflash,format=raw,unit=1,file=/new,,x/vms/qemu/vm2/disk.qcow2.nvram", 1 },
                /* Elsewhere in the home: the home's pair. */
                { "file=/old/home/image/lbase.qcow2,format=qcow2", "file=/new,,x/image/lbase.qcow2,format=qcow2", 1 },
                { "/old/home/x", "/new,,x/x", 1 },
                { "file:/old/home/vms/qemu/vm1/vm1.com1", "file:/new,,x/vms/qemu/vm2/vm1.com1", 1 },
                { "path=/old/home", "path=/new,,x", 1 },
                /* Two in one argument. */
                { "a=/old/home/p,b=/old/home/vms/qemu/vm1/q", "a=/new,,x/p,b=/new,,x/vms/qemu/vm2/q", 2 },
                /* Not the home: another folder that starts with its name, a path under another
                 * folder, a path whose comma is part of it, the placeholder, plain options. */
                { "file=/old/home2/x", "file=/old/home2/x", 0 },
                { "file=/srv/old/home/x", "file=/srv/old/home/x", 0 },
                { "file=/old/home,,x/y", "file=/old/home,,x/y", 0 },
                { "file=%DISPOSABLE_DISK_PATH%,format=qcow2,if=none,id=disk",
                  "file=%DISPOSABLE_DISK_PATH%,format=qcow2,if=none,id=disk", 0 },
                { "-smbios", "-smbios", 0 },
                { "", "", 0 },
                /* An escaped comma before the path: part of another value, not a separator. */
                { "x=a,,/old/home/y", "x=a,,/old/home/y", 0 },
                { "x=a,,,/old/home/y", "x=a,,,/new,,x/y", 1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned n = 99;
                char *out = rewrite(cases[i].in, &n);
                if (!streq(out, cases[i].out) || n != cases[i].n)
                        fail_msg("case %zu: '%s' -> '%s' (%u), expected '%s' (%u)", i, cases[i].in, out, n,
                                 cases[i].out, cases[i].n);
                free(out);
        }
}

/* The VM keeps its name when only the home changes; the VM's pair is tried first. */
static void test_rewrite_order(void **state) {
        (void)state;
        char *from[] = { "/h/vms/qemu/a", "/h", NULL }, *to[] = { "/h/vms/qemu/b", "/h", NULL };
        char *out = NULL;
        unsigned n;
        assert_int_equal(bundle_rewrite_arg("file=/h/vms/qemu/a/disk.qcow2.nvram", from, to, &out, &n), 0);
        assert_string_equal(out, "file=/h/vms/qemu/b/disk.qcow2.nvram");
        free(out);
        assert_int_equal(bundle_rewrite_arg("file=/h/vms/qemu/ab/x", from, to, &out, &n), 0);
        assert_string_equal(out, "file=/h/vms/qemu/ab/x");
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_rewrite),
                cmocka_unit_test(test_rewrite_order),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
