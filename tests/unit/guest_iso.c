/* Unit tests: the ISO builder, checked by reading the image back here (volume descriptors,
 * El Torito boot catalog, boot info table, directory records, Rock Ridge names). */
#include "test.h"

#include <errno.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/util.h"
#include "guest/iso.h"

#define SECTOR 2048

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

struct image {
        unsigned char *data;
        size_t len;
};

static const unsigned char *sector(const struct image *im, uint32_t lba) {
        assert_true((size_t)(lba + 1) * SECTOR <= im->len);
        return im->data + (size_t)lba * SECTOR;
}

/* The Rock Ridge NM name in a directory record's system use area, or NULL. */
static char *rr_name(const unsigned char *rec) {
        unsigned len = rec[0], nl = rec[32];
        unsigned off = 33 + nl + ((nl & 1) ? 0 : 1);
        while (off + 4 <= len) {
                unsigned sl = rec[off + 2];
                if (sl < 4 || off + sl > len)
                        break;
                if (rec[off] == 'N' && rec[off + 1] == 'M')
                        return strndup((const char *)rec + off + 5, sl - 5);
                off += sl;
        }
        return NULL;
}

struct found {
        uint32_t lba, size;
        bool dir;
        char iso_name[64];
};

/* Look a name up in a directory by its Rock Ridge name (ISO name as a fallback). */
static bool dir_lookup(const struct image *im, uint32_t lba, uint32_t size, const char *name, struct found *f) {
        for (uint32_t s = 0; s < (size + SECTOR - 1) / SECTOR; s++) {
                const unsigned char *sec = sector(im, lba + s);
                for (unsigned off = 0; off < SECTOR;) {
                        const unsigned char *rec = sec + off;
                        if (rec[0] == 0)
                                break;
                        assert_true(off + rec[0] <= SECTOR);
                        unsigned nl = rec[32];
                        if (!(nl == 1 && (rec[33] == 0 || rec[33] == 1))) {
                                char *rr = rr_name(rec);
                                assert_non_null(rr);   /* every entry carries its Rock Ridge name */
                                bool hit = streq(rr, name);
                                free(rr);
                                if (hit) {
                                        f->lba = le32(rec + 2);
                                        f->size = le32(rec + 10);
                                        f->dir = rec[25] & 2;
                                        snprintf(f->iso_name, sizeof f->iso_name, "%.*s", (int)nl, (const char *)rec + 33);
                                        return true;
                                }
                        }
                        off += rec[0];
                }
        }
        return false;
}

static bool lookup(const struct image *im, const char *path, struct found *f) {
        const unsigned char *pvd = sector(im, 16);
        const unsigned char *root = pvd + 156;
        struct found cur = { .lba = le32(root + 2), .size = le32(root + 10), .dir = true };
        char *copy = strdup(path), *save = NULL;
        bool ok = true;
        for (char *t = strtok_r(copy, "/", &save); t && ok; t = strtok_r(NULL, "/", &save)) {
                assert_true(cur.dir);
                ok = dir_lookup(im, cur.lba, cur.size, t, &cur);
        }
        free(copy);
        if (ok)
                *f = cur;
        return ok;
}

static void test_bootable_iso(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *boot = path_join(d, "isolinux.bin"), *cfg = path_join(d, "isolinux.cfg"), *big = path_join(d, "big"),
             *tree = path_join(d, "tree"), *treefile = path_join(d, "tree/sub/deep.txt"), *out = path_join(d, "out.iso");
        unsigned char bootimg[4096];
        for (size_t i = 0; i < sizeof bootimg; i++)
                bootimg[i] = (unsigned char)(i * 13 + 1);
        assert_int_equal(write_file(boot, bootimg, sizeof bootimg, 0644), 0);
        assert_int_equal(write_file(cfg, "DEFAULT install\n", 16, 0644), 0);
        size_t big_len = 3 * SECTOR + 100;
        char *bigdata = malloc(big_len);
        for (size_t i = 0; i < big_len; i++)
                bigdata[i] = (char)(i % 251);
        assert_int_equal(write_file(big, bigdata, big_len, 0644), 0);
        char *subdir = path_join(d, "tree/sub");
        assert_int_equal(mkdir_p(subdir, 0755), 0);
        free(subdir);
        assert_int_equal(write_file(treefile, "deep", 4, 0644), 0);

        const struct guest_iso_entry entries[] = {
                { "isolinux/isolinux.bin", boot },
                { "isolinux/isolinux.cfg", cfg },
                { "/vmcloak/rootfs.cpio", big },
                { "vmcloak/answers.sh", cfg },
                { "extra", tree },
        };
        const struct guest_iso_boot b = { "isolinux/isolinux.bin", "isolinux/boot.cat", 4, true };
        const struct guest_iso_opts o = { .volume_id = "VMCLOAK_TEST", .boot = &b };
        assert_int_equal(guest_iso_build(out, &o, entries, ELEMENTSOF(entries)), 0);

        struct image im;
        assert_int_equal(read_full_file(out, (char **)&im.data, &im.len), 0);
        assert_int_equal(im.len % SECTOR, 0);

        /* Primary volume descriptor. */
        const unsigned char *pvd = sector(&im, 16);
        assert_int_equal(pvd[0], 1);
        assert_memory_equal(pvd + 1, "CD001", 5);
        assert_memory_equal(pvd + 40, "VMCLOAK_TEST", 12);
        assert_int_equal(le16(pvd + 128), SECTOR);
        assert_true((size_t)le32(pvd + 80) * SECTOR <= im.len);
        /* Boot record volume descriptor: El Torito, pointing at the catalog. */
        const unsigned char *brvd = sector(&im, 17);
        assert_int_equal(brvd[0], 0);
        assert_memory_equal(brvd + 1, "CD001", 5);
        assert_memory_equal(brvd + 7, "EL TORITO SPECIFICATION", 23);
        uint32_t cat_lba = le32(brvd + 71);
        const unsigned char *cat = sector(&im, cat_lba);
        /* Validation entry: header id 1, platform x86, key bytes, words summing to zero. */
        assert_int_equal(cat[0], 1);
        assert_int_equal(cat[1], 0);
        assert_int_equal(cat[30], 0x55);
        assert_int_equal(cat[31], 0xAA);
        uint16_t sum = 0;
        for (int i = 0; i < 32; i += 2)
                sum = (uint16_t)(sum + le16(cat + i));
        assert_int_equal(sum, 0);
        /* Initial entry: bootable, no emulation, 4 sectors, at the boot file. */
        const unsigned char *ent = cat + 32;
        assert_int_equal(ent[0], 0x88);
        assert_int_equal(ent[1], 0);
        assert_true(le16(ent + 2) == 0 || le16(ent + 2) == 0x7c0);
        assert_int_equal(le16(ent + 6), 4);
        uint32_t boot_lba = le32(ent + 8);

        struct found f;
        assert_true(lookup(&im, "isolinux/isolinux.bin", &f));
        assert_int_equal(f.lba, boot_lba);
        assert_int_equal(f.size, sizeof bootimg);
        assert_true(lookup(&im, "isolinux/boot.cat", &f));
        assert_int_equal(f.lba, cat_lba);
        /* Boot info table at byte 8: PVD LBA, boot file LBA, length, checksum of bytes 64.. */
        const unsigned char *bi = sector(&im, boot_lba);
        assert_memory_equal(bi, bootimg, 8);
        assert_int_equal(le32(bi + 8), 16);
        assert_int_equal(le32(bi + 12), boot_lba);
        assert_int_equal(le32(bi + 16), sizeof bootimg);
        uint32_t csum = 0;
        for (size_t i = 64; i < sizeof bootimg; i += 4)
                csum += le32(bi + i);
        assert_int_equal(le32(bi + 20), csum);
        assert_memory_equal(bi + 64, bootimg + 64, sizeof bootimg - 64);

        /* Files: Rock Ridge names, 8.3-style ISO names, contents. */
        assert_true(lookup(&im, "isolinux/isolinux.cfg", &f));
        assert_false(f.dir);
        assert_string_equal(f.iso_name, "ISOLINUX.CFG;1");
        assert_memory_equal(im.data + (size_t)f.lba * SECTOR, "DEFAULT install\n", 16);
        assert_true(lookup(&im, "vmcloak/rootfs.cpio", &f));
        assert_int_equal(f.size, big_len);
        assert_memory_equal(im.data + (size_t)f.lba * SECTOR, bigdata, big_len);
        assert_true(lookup(&im, "vmcloak/answers.sh", &f));
        assert_true(lookup(&im, "vmcloak", &f));
        assert_true(f.dir);
        assert_true(lookup(&im, "extra/sub/deep.txt", &f));
        assert_memory_equal(im.data + (size_t)f.lba * SECTOR, "deep", 4);
        assert_false(lookup(&im, "vmcloak/missing", &f));
        /* Padding after the last file, so BIOS read-ahead stays on the medium. */
        assert_true(im.len >= (size_t)(f.lba + 150) * SECTOR);

        free(im.data);
        free(bigdata);
        rm_rf(d);
        free(d);
        free(boot);
        free(cfg);
        free(big);
        free(tree);
        free(treefile);
        free(out);
}

static void test_errors(void **state) {
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        char *d = test_tmpdir();
        char *f = path_join(d, "f"), *out = path_join(d, "out.iso");
        assert_int_equal(write_file(f, "x", 1, 0644), 0);

        const struct guest_iso_opts plain = { .volume_id = "T" };
        const struct guest_iso_entry missing[] = { { "a/b", "/nonexistent/file" } };
        assert_true(guest_iso_build(out, &plain, missing, 1) < 0);
        assert_false(path_exists(out));

        const struct guest_iso_entry dup[] = { { "a/b", f }, { "a/b", f } };
        assert_int_equal(guest_iso_build(out, &plain, dup, 2), -EEXIST);
        assert_false(path_exists(out));

        const struct guest_iso_entry notdir[] = { { "a", f }, { "a/b", f } };
        assert_true(guest_iso_build(out, &plain, notdir, 2) < 0);

        const struct guest_iso_boot b = { "boot/none.bin", "boot/boot.cat", 4, true };
        const struct guest_iso_opts bo = { .volume_id = "T", .boot = &b };
        const struct guest_iso_entry one[] = { { "boot/x", f } };
        assert_true(guest_iso_build(out, &bo, one, 1) < 0);   /* the boot image is not in the tree */
        assert_false(path_exists(out));

        assert_true(guest_iso_build("/nonexistent/dir/out.iso", &plain, one, 1) < 0);

        /* Not bootable, one file, Joliet on: fine. */
        const struct guest_iso_opts jo = { .volume_id = "T", .joliet = true };
        assert_int_equal(guest_iso_build(out, &jo, one, 1), 0);
        assert_true(path_exists(out));
        rm_rf(d);
        free(d);
        free(f);
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bootable_iso),
                cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
