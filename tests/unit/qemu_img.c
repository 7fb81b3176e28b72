/* Unit tests: qemu-img create (base, overlay) and info parsing. */
#include "test.h"

#include <errno.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/util.h"
#include "qemu/img.h"

static void test_parse_overlay_json(void **state) {
        (void)state;
        static const char json[] =
                "{\n    \"backing-filename-format\": \"qcow2\",\n    \"virtual-size\": 1073741824,\n"
                "    \"filename\": \"/tmp/o.qcow2\",\n    \"cluster-size\": 2097152,\n    \"format\": \"qcow2\",\n"
                "    \"actual-size\": 6295552,\n    \"format-specific\": {\"type\": \"qcow2\", \"data\": {\"compat\": "
                "\"1.1\", \"lazy-refcounts\": true, \"refcount-bits\": 16, \"corrupt\": false}},\n"
                "    \"full-backing-filename\": \"/tmp/b.qcow2\",\n    \"backing-filename\": \"/tmp/b.qcow2\",\n"
                "    \"dirty-flag\": false\n}\n";
        struct qemu_img_info i;
        assert_int_equal(qemu_img_info_parse(json, &i), 0);
        assert_string_equal(i.format, "qcow2");
        assert_int_equal(i.virtual_size, 1073741824ULL);
        assert_int_equal(i.actual_size, 6295552ULL);
        assert_int_equal(i.cluster_size, 2097152ULL);
        assert_string_equal(i.backing_file, "/tmp/b.qcow2");
        assert_string_equal(i.full_backing_file, "/tmp/b.qcow2");
        assert_string_equal(i.backing_format, "qcow2");
        assert_true(i.lazy_refcounts);
        assert_false(i.dirty);
        assert_null(i.data_file);
        assert_false(i.encrypted);
        qemu_img_info_done(&i);
}

/* What qemu-img 7.2 prints for a qcow2 with an external data file, and for an encrypted one:
 * rebase refuses both (a bundle's overlay). */
static void test_parse_data_file_encrypted(void **state) {
        (void)state;
        struct qemu_img_info i;
        assert_int_equal(qemu_img_info_parse("{\"virtual-size\": 1048576, \"format\": \"qcow2\", \"format-specific\": "
                                             "{\"type\": \"qcow2\", \"data\": {\"compat\": \"1.1\", \"data-file\": "
                                             "\"/dev/sda\", \"data-file-raw\": false}}}", &i), 0);
        assert_string_equal(i.data_file, "/dev/sda");
        assert_false(i.encrypted);
        qemu_img_info_done(&i);
        assert_int_equal(qemu_img_info_parse("{\"virtual-size\": 1, \"format\": \"qcow2\", \"encrypted\": true}", &i), 0);
        assert_true(i.encrypted);
        qemu_img_info_done(&i);
}

static void test_parse_raw_and_bad(void **state) {
        (void)state;
        struct qemu_img_info i;
        assert_int_equal(qemu_img_info_parse("{\"virtual-size\": 512, \"format\": \"raw\", \"actual-size\": 0}", &i), 0);
        assert_string_equal(i.format, "raw");
        assert_null(i.backing_file);
        assert_null(i.backing_format);
        assert_false(i.lazy_refcounts);
        qemu_img_info_done(&i);
        assert_int_equal(qemu_img_info_parse("", &i), -EINVAL);
        assert_int_equal(qemu_img_info_parse("not json", &i), -EINVAL);
        assert_int_equal(qemu_img_info_parse("[1]", &i), -EINVAL);
        assert_int_equal(qemu_img_info_parse("{\"format\": \"qcow2\"}", &i), -EINVAL);
        assert_int_equal(qemu_img_info_parse("{\"virtual-size\": 1}", &i), -EINVAL);
        /* Wrong types are ignored rather than trusted. */
        assert_int_equal(qemu_img_info_parse("{\"virtual-size\": \"big\", \"format\": \"qcow2\", "
                                             "\"backing-filename\": 7}", &i), 0);
        assert_int_equal(i.virtual_size, 0);
        assert_null(i.backing_file);
        qemu_img_info_done(&i);
}

static void test_create_base_and_overlay(void **state) {
        (void)state;
        char *img = find_program("qemu-img");
        if (!img)
                skip();
        free(img);
        char *d = test_tmpdir();
        char *base = strdup_printf("%s/base.qcow2", d);
        char *ovl = strdup_printf("%s/vm/disk.qcow2", d);
        char *vmdir = strdup_printf("%s/vm", d);
        assert_int_equal(mkdir_p(vmdir, 0755), 0);
        assert_int_equal(qemu_img_create_base(base, 2ULL << 30), 0);
        struct qemu_img_info i;
        assert_int_equal(qemu_img_info(base, &i), 0);
        assert_string_equal(i.format, "qcow2");
        assert_int_equal(i.virtual_size, 2ULL << 30);
        assert_int_equal(i.cluster_size, 2ULL << 20);
        assert_true(i.lazy_refcounts);
        assert_null(i.backing_file);
        qemu_img_info_done(&i);
        /* A base is never overwritten. */
        assert_int_equal(qemu_img_create_base(base, 1ULL << 30), -EEXIST);
        assert_int_equal(qemu_img_create_base(ovl, 1000), -EINVAL);

        /* The overlay records the absolute backing path even when given a relative one. */
        char cwd[4096];
        assert_non_null(getcwd(cwd, sizeof cwd));
        assert_int_equal(chdir(d), 0);
        assert_int_equal(qemu_img_create_overlay(ovl, "base.qcow2"), 0);
        assert_int_equal(chdir(cwd), 0);
        assert_int_equal(qemu_img_info(ovl, &i), 0);
        assert_string_equal(i.backing_file, base);
        assert_string_equal(i.backing_format, "qcow2");
        assert_int_equal(i.virtual_size, 2ULL << 30);
        assert_int_equal(i.cluster_size, 2ULL << 20);
        assert_true(i.lazy_refcounts);
        qemu_img_info_done(&i);
        assert_int_equal(qemu_img_create_overlay(ovl, base), -EEXIST);

        /* Errors: a missing backing file, a missing image, a missing qemu-img. */
        char *ovl2 = strdup_printf("%s/vm/other.qcow2", d);
        assert_int_equal(qemu_img_create_overlay(ovl2, "/nonexistent/base.qcow2"), -ENOENT);
        assert_false(path_exists(ovl2));
        assert_true(qemu_img_info("/nonexistent.qcow2", &i) < 0);
        setenv("VMCLOAK_QEMU_IMG", "/nonexistent/qemu-img", 1);
        assert_int_equal(qemu_img_create_base(ovl2, 1ULL << 30), -ENOENT);
        assert_false(path_exists(ovl2));
        unsetenv("VMCLOAK_QEMU_IMG");
        /* convert: a qcow2 and a raw disk with an MBR are disks; garbage and an ISO-like file
         * (no partition table) are refused before qemu-img runs, and nothing is made. */
        char *conv = strdup_printf("%s/conv.qcow2", d), *raw = strdup_printf("%s/raw.img", d),
             *junk = strdup_printf("%s/junk.bin", d), *conv2 = strdup_printf("%s/conv2.qcow2", d);
        assert_int_equal(qemu_img_convert(base, conv), 0);
        unsigned char mbr[1024] = { 0 };
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        assert_int_equal(write_file(raw, mbr, sizeof mbr, 0644), 0);
        assert_int_equal(qemu_img_convert(raw, conv2), 0);
        assert_int_equal(qemu_img_info(conv2, &i), 0);
        assert_string_equal(i.format, "qcow2");
        qemu_img_info_done(&i);
        unlink(conv2);
        assert_int_equal(write_file(junk, "this is no disk\n", 16, 0644), 0);
        assert_int_equal(qemu_img_convert(junk, conv2), -EMEDIUMTYPE);
        assert_false(path_exists(conv2));
        free(conv), free(raw), free(junk), free(conv2);
        /* qemu-img itself failing (a directory is no image): its message, the file removed. */
        char *bad = strdup_printf("%s/nodir/x.qcow2", d);
        assert_int_equal(qemu_img_create_base(bad, 1ULL << 30), -EIO);
        rm_rf(d);
        free(d);
        free(base);
        free(ovl);
        free(ovl2);
        free(vmdir);
        free(bad);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_overlay_json),
                cmocka_unit_test(test_parse_raw_and_bad),
                cmocka_unit_test(test_parse_data_file_encrypted),
                cmocka_unit_test(test_create_base_and_overlay),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
