/* Unit tests: the cpio "newc" writer (libarchive under our rules), read back by a strict parser
 * here and by GNU cpio. */
#include "test.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/util.h"
#include "guest/cpio.h"

struct entry {
        char name[256];
        unsigned ino, mode, uid, gid, nlink, mtime, size, rmajor, rminor;
        const char *data;
};

static unsigned hex8(const char *p) {
        char b[9];
        memcpy(b, p, 8);
        b[8] = 0;
        for (int i = 0; i < 8; i++)
                assert_true(isxdigit((unsigned char)b[i]));   /* the kernel reads either case */
        return (unsigned)strtoul(b, NULL, 16);
}

/* Parse an archive strictly (magic, alignment, trailer); returns the entry count. */
static size_t parse(const char *buf, size_t len, struct entry *out, size_t max) {
        size_t off = 0, n = 0;
        for (;;) {
                assert_true(off + 110 <= len);
                assert_int_equal(off % 4, 0);
                assert_memory_equal(buf + off, "070701", 6);
                const char *h = buf + off + 6;
                struct entry e = { 0 };
                e.ino = hex8(h);
                e.mode = hex8(h + 8);
                e.uid = hex8(h + 16);
                e.gid = hex8(h + 24);
                e.nlink = hex8(h + 32);
                e.mtime = hex8(h + 40);
                e.size = hex8(h + 48);
                assert_int_equal(hex8(h + 56), 0);   /* devmajor */
                assert_int_equal(hex8(h + 64), 0);   /* devminor */
                e.rmajor = hex8(h + 72);
                e.rminor = hex8(h + 80);
                unsigned namesize = hex8(h + 88);
                assert_int_equal(hex8(h + 96), 0);   /* check */
                assert_true(namesize >= 2 && namesize < sizeof e.name);
                assert_true(off + 110 + namesize <= len);
                memcpy(e.name, buf + off + 110, namesize);
                assert_int_equal(e.name[namesize - 1], 0);
                assert_int_equal(strlen(e.name), namesize - 1);
                off = (off + 110 + namesize + 3) & ~(size_t)3;
                e.data = buf + off;
                assert_true(off + e.size <= len);
                off = (off + e.size + 3) & ~(size_t)3;
                if (streq(e.name, "TRAILER!!!"))
                        break;
                assert_true(n < max);
                out[n++] = e;
        }
        assert_int_equal(len % 512, 0);
        for (size_t i = off; i < len; i++)
                assert_int_equal(buf[i], 0);
        return n;
}

static const struct entry *find(const struct entry *e, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(e[i].name, name))
                        return &e[i];
        return NULL;
}

static size_t index_of(const struct entry *e, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(e[i].name, name))
                        return i;
        fail_msg("%s not in archive", name);
        return 0;
}

static void test_write_and_parse(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *arch = path_join(d, "a.cpio"), *host = path_join(d, "host.bin");
        char big[70000];
        for (size_t i = 0; i < sizeof big; i++)
                big[i] = (char)(i * 7);
        assert_int_equal(write_file(host, big, sizeof big, 0600), 0);

        struct cpio_writer *w = NULL;
        assert_int_equal(cpio_writer_open(arch, 1700000000, &w), 0);
        assert_int_equal(cpio_add_dir(w, "/etc", 0755), 0);
        assert_int_equal(cpio_add_dir(w, "etc/", 0700), 0);   /* same directory again: no-op */
        assert_int_equal(cpio_add_data(w, "etc/hostname", 0644, "guest\n", 6), 0);
        assert_int_equal(cpio_add_data(w, "./a/b/c/odd", 0600, "x", 1), 0);   /* parents added */
        assert_int_equal(cpio_add_data(w, "empty", 0644, "", 0), 0);
        assert_int_equal(cpio_add_file(w, "usr/lib/host.bin", 0755, host), 0);
        assert_int_equal(cpio_add_symlink(w, "bin/sh", "/bin/busybox"), 0);
        assert_int_equal(cpio_add_node(w, "dev/console", S_IFCHR | 0600, 5, 1), 0);
        assert_int_equal(cpio_add_node(w, "dev/sda", S_IFBLK | 0660, 8, 0), 0);
        /* Refusals. */
        assert_int_equal(cpio_add_data(w, "etc/hostname", 0644, "", 0), -EEXIST);
        assert_int_equal(cpio_add_dir(w, "etc/hostname", 0755), -EEXIST);
        assert_int_equal(cpio_add_data(w, "etc/hostname/x", 0644, "", 0), -ENOTDIR);
        assert_int_equal(cpio_add_node(w, "dev/x", S_IFREG | 0644, 1, 1), -EINVAL);
        assert_int_equal(cpio_add_symlink(w, "bin/x", ""), -EINVAL);
        assert_int_equal(cpio_add_data(w, "/", 0644, "", 0), -EINVAL);
        assert_int_equal(cpio_add_data(w, "TRAILER!!!", 0644, "", 0), -EINVAL);
        assert_int_equal(cpio_add_file(w, "nope", 0644, "/nonexistent/file"), -ENOENT);
        assert_int_equal(cpio_add_file(w, "adir", 0644, d), -EINVAL);
        assert_int_equal(cpio_writer_finish(w), 0);

        char *buf = NULL;
        size_t len = 0;
        assert_int_equal(read_full_file(arch, &buf, &len), 0);
        struct entry e[64];
        size_t n = parse(buf, len, e, 64);
        assert_int_equal(n, 15);   /* etc, hostname, a, a/b, a/b/c, odd, empty, usr, usr/lib, host.bin, bin, sh, dev, console, sda */

        const struct entry *x = find(e, n, "etc");
        assert_non_null(x);
        assert_int_equal(x->mode, S_IFDIR | 0755);
        x = find(e, n, "etc/hostname");
        assert_int_equal(x->mode, S_IFREG | 0644);
        assert_int_equal(x->size, 6);
        assert_memory_equal(x->data, "guest\n", 6);
        assert_int_equal(x->mtime, 1700000000);
        assert_int_equal(x->uid, 0);
        assert_int_equal(x->gid, 0);
        assert_int_equal(x->nlink, 1);
        x = find(e, n, "a/b/c/odd");
        assert_int_equal(x->mode, S_IFREG | 0600);
        assert_int_equal(find(e, n, "a/b")->mode, S_IFDIR | 0755);
        assert_true(index_of(e, n, "a") < index_of(e, n, "a/b"));
        assert_true(index_of(e, n, "a/b/c") < index_of(e, n, "a/b/c/odd"));
        assert_int_equal(find(e, n, "empty")->size, 0);
        x = find(e, n, "usr/lib/host.bin");
        assert_int_equal(x->mode, S_IFREG | 0755);
        assert_int_equal(x->size, sizeof big);
        assert_memory_equal(x->data, big, sizeof big);
        x = find(e, n, "bin/sh");
        assert_int_equal(x->mode, S_IFLNK | 0777);
        assert_int_equal(x->size, strlen("/bin/busybox"));
        assert_memory_equal(x->data, "/bin/busybox", x->size);
        x = find(e, n, "dev/console");
        assert_int_equal(x->mode, S_IFCHR | 0600);
        assert_int_equal(x->rmajor, 5);
        assert_int_equal(x->rminor, 1);
        x = find(e, n, "dev/sda");
        assert_int_equal(x->mode, S_IFBLK | 0660);
        assert_int_equal(x->rmajor, 8);
        /* Inode numbers are unique. */
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        assert_int_not_equal(e[i].ino, e[j].ino);

        /* GNU cpio reads it too. */
        char *cpio = find_program("cpio");
        if (cpio) {
                char *cmd = strdup_printf("cpio -t --quiet < '%s'", arch);
                char *argv[] = { "sh", "-c", cmd, NULL };
                char *out = NULL;
                assert_int_equal(proc_run(argv, NULL, &out, NULL), 0);
                assert_non_null(strstr(out, "usr/lib/host.bin\n"));
                assert_non_null(strstr(out, "a/b/c/odd\n"));
                assert_non_null(strstr(out, "dev/console\n"));
                free(out);
                free(cmd);
                free(cpio);
        }
        free(buf);
        rm_rf(d);
        free(d);
        free(arch);
        free(host);
}

static void test_tree(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *src = path_join(d, "src"), *arch = path_join(d, "t.cpio");
        char *sub = path_join(src, "lib/modules/1.0/kernel");
        assert_int_equal(mkdir_p(sub, 0755), 0);
        char *f1 = path_join(sub, "b.ko"), *f2 = path_join(sub, "a.ko"), *lnk = path_join(src, "lib/link");
        assert_int_equal(write_file(f1, "BBB", 3, 0644), 0);
        assert_int_equal(write_file(f2, "AA", 2, 0600), 0);
        assert_int_equal(symlink("modules/1.0", lnk), 0);

        struct cpio_writer *w = NULL;
        assert_int_equal(cpio_writer_open(arch, 0, &w), 0);
        assert_int_equal(cpio_add_dir(w, "lib", 0755), 0);   /* the tree merges into existing folders */
        assert_int_equal(cpio_add_tree(w, "", src), 0);
        assert_int_equal(cpio_add_tree(w, "copy", src), 0);
        assert_int_equal(cpio_add_tree(w, "", "/nonexistent/dir"), -ENOENT);
        assert_int_equal(cpio_writer_finish(w), 0);

        char *buf = NULL;
        size_t len;
        assert_int_equal(read_full_file(arch, &buf, &len), 0);
        struct entry e[64];
        size_t n = parse(buf, len, e, 64);
        const struct entry *x = find(e, n, "lib/modules/1.0/kernel/a.ko");
        assert_non_null(x);
        assert_int_equal(x->mode, S_IFREG | 0600);
        assert_memory_equal(x->data, "AA", 2);
        /* Sorted: a.ko before b.ko whatever readdir said. */
        assert_true(index_of(e, n, "lib/modules/1.0/kernel/a.ko") < index_of(e, n, "lib/modules/1.0/kernel/b.ko"));
        x = find(e, n, "lib/link");
        assert_int_equal(x->mode, S_IFLNK | 0777);
        assert_memory_equal(x->data, "modules/1.0", 11);
        assert_non_null(find(e, n, "copy/lib/modules/1.0/kernel/b.ko"));
        free(buf);
        rm_rf(d);
        free(d);
        free(src);
        free(arch);
        free(sub);
        free(f1);
        free(f2);
        free(lnk);
}

static void test_open_errors(void **state) {
        (void)state;
        struct cpio_writer *w = NULL;
        assert_int_equal(cpio_writer_open("/nonexistent/dir/a.cpio", 0, &w), -ENOENT);
        cpio_writer_free(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_and_parse),
                cmocka_unit_test(test_tree),
                cmocka_unit_test(test_open_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
