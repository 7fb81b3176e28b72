/* Unit tests: finding the guest kernel (Debian package names, unpacked trees, --kernel and
 * --modules), reading .modinfo from ELF modules, and staging modules with their dependencies. */
#include "test.h"

#include "elf_fixture.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/log.h"
#include "core/util.h"
#include "guest/elf.h"
#include "guest/kernel.h"
#include "guest/kmod.h"
#include "guest/vmlinux.h"

static void test_package_parse(void **state) {
        (void)state;
        char *pkg = NULL;
        assert_int_equal(debian_kernel_package_parse("linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n", &pkg), 0);
        assert_string_equal(pkg, "linux-image-6.1.0-56-amd64");
        free(pkg);
        /* Alternatives ('|'), other metas and versioned dependencies are handled. */
        assert_int_equal(debian_kernel_package_parse("linux-image-amd64\n"
                                                     "  Depends: linux-image-amd64-signed-template\n"
                                                     " |Depends: linux-image-6.12.9+bpo-amd64 (= 6.12.9-1~bpo12+1)\n"
                                                     "  Depends: linux-image-6.1.0-1-amd64\n", &pkg), 0);
        assert_string_equal(pkg, "linux-image-6.12.9+bpo-amd64");
        free(pkg);
        pkg = NULL;
        assert_int_equal(debian_kernel_package_parse("", &pkg), -ENOENT);
        assert_int_equal(debian_kernel_package_parse("W: Unable to locate package linux-image-amd64\n", &pkg), -ENOENT);
        assert_int_equal(debian_kernel_package_parse("linux-image-amd64\n  Recommends: linux-image-6.1.0-5-amd64\n", &pkg),
                         -ENOENT);
        assert_int_equal(debian_kernel_package_parse(NULL, &pkg), -ENOENT);
        assert_null(pkg);
}

static void touch(const char *dir, const char *rel, const char *content) {
        char *p = path_join(dir, rel);
        char *parent = path_dirname(p);
        assert_int_equal(mkdir_p(parent, 0755), 0);
        assert_int_equal(write_file(p, content, strlen(content), 0644), 0);
        free(parent);
        free(p);
}

static void test_from_root(void **state) {
        (void)state;
        char *d = test_tmpdir();
        struct guest_kernel k = { 0 };
        assert_int_equal(guest_kernel_from_root(d, &k), -ENOENT);
        touch(d, "boot/vmlinuz-6.1.0-9-amd64", "bzImage");
        touch(d, "lib/modules/6.1.0-9-amd64/kernel/x.ko", "");
        touch(d, "lib/modules/5.10.0-1-amd64/kernel/y.ko", "");   /* leftovers without a kernel image */
        assert_int_equal(guest_kernel_from_root(d, &k), 0);
        assert_string_equal(k.release, "6.1.0-9-amd64");
        assert_true(endswith(k.image, "/boot/vmlinuz-6.1.0-9-amd64"));
        assert_true(endswith(k.modules_dir, "/lib/modules/6.1.0-9-amd64"));
        guest_kernel_done(&k);
        touch(d, "boot/vmlinuz-5.10.0-1-amd64", "bzImage");
        assert_int_equal(guest_kernel_from_root(d, &k), -ENOTUNIQ);
        rm_rf(d);
        free(d);
}

static void test_user_paths(void **state) {
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        char *d = test_tmpdir();
        touch(d, "pkg/boot/vmlinuz-7.0-test", "bzImage");
        touch(d, "pkg/lib/modules/7.0-test/kernel/a.ko", "");
        char *img = path_join(d, "pkg/boot/vmlinuz-7.0-test");
        char *mods = path_join(d, "pkg/lib/modules");
        char *rel = path_join(d, "pkg/lib/modules/7.0-test");
        struct guest_kernel k = { 0 };

        /* --modules as the release directory, or its parent with one release. */
        assert_int_equal(guest_kernel_get(img, rel, NULL, &k), 0);
        assert_string_equal(k.release, "7.0-test");
        assert_string_equal(k.image, img);
        guest_kernel_done(&k);
        assert_int_equal(guest_kernel_get(img, mods, NULL, &k), 0);
        assert_string_equal(k.release, "7.0-test");
        assert_string_equal(k.modules_dir, rel);
        guest_kernel_done(&k);
        /* --kernel alone, from an unpacked package layout. */
        assert_int_equal(guest_kernel_get(img, NULL, NULL, &k), 0);
        assert_string_equal(k.release, "7.0-test");
        guest_kernel_done(&k);

        /* Errors. */
        assert_int_equal(guest_kernel_get(NULL, mods, NULL, &k), -EINVAL);
        char *nokernel = path_join(d, "nope");
        assert_int_equal(guest_kernel_get(nokernel, mods, NULL, &k), -ENOENT);
        assert_int_equal(guest_kernel_get(img, nokernel, NULL, &k), -ENOTDIR);
        touch(d, "lone/bzImage", "x");
        char *lone = path_join(d, "lone/bzImage");
        assert_int_equal(guest_kernel_get(lone, NULL, NULL, &k), -EINVAL);   /* where are its modules? */
        touch(d, "pkg/lib/modules/7.1-test/kernel/b.ko", "");
        assert_int_equal(guest_kernel_get(img, mods, NULL, &k), -EINVAL);   /* two releases: which one? */
        char *empty = path_join(d, "empty");
        assert_int_equal(mkdir_p(empty, 0755), 0);
        assert_int_equal(guest_kernel_get(img, empty, NULL, &k), -ENOENT);
        assert_null(k.image);

        rm_rf(d);
        free(d);
        free(img);
        free(mods);
        free(rel);
        free(nokernel);
        free(lone);
        free(empty);
}

/* Entries of the kernel cache besides its lock file. */
static void cache_entries(const char *cache, unsigned *ret_downloads, unsigned *ret_other) {
        char *base = path_join(cache, "linux-kernel");
        DIR *d = opendir(base);
        assert_non_null(d);
        *ret_downloads = *ret_other = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") || streq(de->d_name, ".lock"))
                        continue;
                if (startswith(de->d_name, ".download."))
                        (*ret_downloads)++;
                else
                        (*ret_other)++;
        }
        closedir(d);
        free(base);
}

static void test_debian_download(void **state) {
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        /* apt-cache, apt-get and dpkg stand-ins; FAKE_APT picks how apt-get download goes. */
        char *d = test_tmpdir();
        touch(d, "bin/apt-cache", "#!/bin/sh\necho linux-image-amd64\necho '  Depends: linux-image-9.9.9-1-amd64'\n");
        touch(d, "bin/apt-get",
              "#!/bin/sh\n"
              "case \"$FAKE_APT\" in\n"
              "fail) echo 'E: the mirror is down' >&2; exit 100;;\n"
              "nodeb) exit 0;;\n"
              "*) : > \"$3_9.9.9-1_amd64.deb\";;\n"
              "esac\n");
        touch(d, "bin/dpkg",
              "#!/bin/sh\n"
              "mkdir -p \"$3/boot\" \"$3/lib/modules/9.9.9-1-amd64/kernel\" && : > \"$3/boot/vmlinuz-9.9.9-1-amd64\"\n");
        static const char *const tools[] = { "bin/apt-cache", "bin/apt-get", "bin/dpkg" };
        for (size_t i = 0; i < ELEMENTSOF(tools); i++) {
                char *t = path_join(d, tools[i]);
                assert_int_equal(chmod(t, 0755), 0);
                free(t);
        }
        char *cache = path_join(d, "cache");
        char *path = strdup_printf("%s/bin:/usr/bin:/bin", d);
        const char *p = getenv("PATH");
        char *saved = p ? strdup(p) : NULL;
        setenv("PATH", path, 1);
        struct guest_kernel k = { 0 };
        unsigned downloads, other;

        /* A failed download and one that brought no package leave no download folder behind. */
        setenv("FAKE_APT", "fail", 1);
        assert_int_equal(guest_kernel_get(NULL, NULL, cache, &k), -EIO);
        cache_entries(cache, &downloads, &other);
        assert_int_equal(downloads, 0);
        assert_int_equal(other, 0);
        setenv("FAKE_APT", "nodeb", 1);
        assert_int_equal(guest_kernel_get(NULL, NULL, cache, &k), -EIO);
        cache_entries(cache, &downloads, &other);
        assert_int_equal(downloads, 0);
        assert_int_equal(other, 0);
        assert_null(k.image);

        /* A good one: the unpacked package stays in the cache, its download folder does not. */
        setenv("FAKE_APT", "ok", 1);
        assert_int_equal(guest_kernel_get(NULL, NULL, cache, &k), 0);
        assert_string_equal(k.release, "9.9.9-1-amd64");
        assert_true(endswith(k.image, "/linux-image-9.9.9-1-amd64/boot/vmlinuz-9.9.9-1-amd64"));
        guest_kernel_done(&k);
        cache_entries(cache, &downloads, &other);
        assert_int_equal(downloads, 0);
        assert_int_equal(other, 1);
        /* Cached now: no download at all, even with the mirror down. */
        setenv("FAKE_APT", "fail", 1);
        assert_int_equal(guest_kernel_get(NULL, NULL, cache, &k), 0);
        guest_kernel_done(&k);

        if (saved)
                setenv("PATH", saved, 1);
        else
                unsetenv("PATH");
        unsetenv("FAKE_APT");
        rm_rf(d);
        free(saved);
        free(path);
        free(cache);
        free(d);
}

/* A relocatable ELF64 with a .modinfo section holding the given NUL-separated strings. */
static void write_module(const char *path, const char *modinfo, size_t modinfo_len) {
        static const char shstr[] = "\0.modinfo\0.shstrtab";
        size_t off_mi = sizeof(Elf64_Ehdr), off_str = off_mi + modinfo_len, off_sh = (off_str + sizeof shstr + 7) & ~7u;
        size_t len = off_sh + 3 * sizeof(Elf64_Shdr);
        unsigned char *buf = calloc(1, len);
        Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
        elf_fixture_header(eh, ET_REL, 0);
        eh->e_shoff = off_sh;
        eh->e_shentsize = sizeof(Elf64_Shdr);
        eh->e_shnum = 3;
        eh->e_shstrndx = 2;
        memcpy(buf + off_mi, modinfo, modinfo_len);
        memcpy(buf + off_str, shstr, sizeof shstr);
        Elf64_Shdr *sh = (Elf64_Shdr *)(buf + off_sh);
        sh[1] = (Elf64_Shdr) { .sh_name = 1, .sh_type = SHT_PROGBITS, .sh_offset = off_mi, .sh_size = modinfo_len };
        sh[2] = (Elf64_Shdr) { .sh_name = 10, .sh_type = SHT_STRTAB, .sh_offset = off_str, .sh_size = sizeof shstr };
        char *parent = path_dirname(path);
        assert_int_equal(mkdir_p(parent, 0755), 0);
        assert_int_equal(write_file(path, buf, len, 0644), 0);
        free(parent);
        free(buf);
}

static void module(const char *dir, const char *rel, const char *depends) {
        char mi[256];
        int n = snprintf(mi, sizeof mi, "license=GPL%cdepends=%s%cvermagic=7.0-test SMP%c", 0, depends, 0, 0);
        char *p = path_join(dir, rel);
        write_module(p, mi, (size_t)n);
        free(p);
}

/* A program's header with one program header of the given type, written to path (cut to len). */
static void write_program(const char *path, uint32_t p_type, size_t len) {
        struct {
                Elf64_Ehdr eh;
                Elf64_Phdr ph;
        } e = { 0 };
        elf_fixture_header(&e.eh, ET_EXEC, sizeof e.eh);
        e.ph.p_type = p_type;
        assert_int_equal(write_file(path, &e, len < sizeof e ? len : sizeof e, 0755), 0);
}

/* module() compressed with xz or zstd, as path rel (ending in .ko.xz or .ko.zst). */
static void packed_module(const char *dir, const char *rel, const char *depends) {
        char *plain = path_join(dir, "tmp-plain.ko"), *p = path_join(dir, rel);
        module(dir, "tmp-plain.ko", depends);
        char *data = NULL;
        size_t len, clen = 0;
        assert_int_equal(read_full_file(plain, &data, &len), 0);
        uint8_t *c = malloc(len + 4096);
        if (endswith(rel, ".zst")) {
                clen = ZSTD_compress(c, len + 4096, data, len, 3);
                assert_false(ZSTD_isError(clen));
        } else
                assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, (uint8_t *)data, len, c, &clen,
                                                         len + 4096), LZMA_OK);
        assert_int_equal(write_file(p, c, clen, 0644), 0);
        assert_int_equal(unlink(plain), 0);
        free(c);
        free(data);
        free(plain);
        free(p);
}

static void test_needs_interpreter(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *p = path_join(d, "prog"), *mod = path_join(d, "m.ko"), *sh = path_join(d, "script");
        write_program(p, PT_INTERP, SIZE_MAX);
        assert_int_equal(elf_needs_interpreter(p), 1);
        write_program(p, PT_LOAD, SIZE_MAX);
        assert_int_equal(elf_needs_interpreter(p), 0);
        write_program(p, PT_INTERP, sizeof(Elf64_Ehdr) + 8);   /* its program header cut short */
        assert_int_equal(elf_needs_interpreter(p), -ENOEXEC);
        module(d, "m.ko", "");   /* an ELF object without program headers */
        assert_int_equal(elf_needs_interpreter(mod), 0);
        assert_int_equal(write_file(sh, "#!/bin/sh\n", 10, 0755), 0);
        assert_int_equal(elf_needs_interpreter(sh), 0);
        char *missing = path_join(d, "missing");
        assert_int_equal(elf_needs_interpreter(missing), -ENOENT);
        assert_int_equal(elf_needs_interpreter(d), -EISDIR);   /* libelf's NULL: not -ENOMEM */
        rm_rf(d);
        free(d);
        free(p);
        free(mod);
        free(sh);
        free(missing);
}

static void test_module_names(void **state) {
        (void)state;
        char *n = kmod_name("kernel/crypto/crc32c-generic.ko");
        assert_string_equal(n, "crc32c_generic");
        free(n);
        n = kmod_name("8139cp");
        assert_string_equal(n, "8139cp");
        free(n);
        n = kmod_name("x.ko.xz");
        assert_string_equal(n, "x");
        free(n);
        char *d = test_tmpdir();
        char *l = path_join(d, "list");
        assert_int_equal(write_file(l, "# comment\nahci\n\n  sd_mod  # disk\ncrc32c-generic\nahci\n", 53, 0644), 0);
        char **v = NULL;
        assert_int_equal(kmod_read_list(l, &v), 0);
        assert_int_equal(strv_length(v), 3);
        assert_string_equal(v[0], "ahci");
        assert_string_equal(v[1], "sd_mod");
        assert_string_equal(v[2], "crc32c_generic");
        strv_free(v);
        rm_rf(d);
        free(d);
        free(l);
}

static bool staged(const char *root, const char *rel) {
        char *p = strdup_printf("%s/lib/modules/7.0-test/%s", root, rel);
        bool r = path_exists(p);
        free(p);
        return r;
}

static void test_stage(void **state) {
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        char *d = test_tmpdir();
        char *src = path_join(d, "src"), *dst = path_join(d, "dst"), *dst2 = path_join(d, "dst2");
        module(src, "kernel/drivers/ata/ahci.ko", "libahci,libata");
        module(src, "kernel/drivers/ata/libahci.ko", "libata");
        module(src, "kernel/drivers/ata/libata.ko", "scsi_mod");
        module(src, "kernel/drivers/scsi/scsi_mod.ko", "scsi_common,crc_builtin");
        module(src, "kernel/drivers/scsi/scsi_common.ko", "");
        module(src, "kernel/crypto/crc32c-generic.ko", "");
        module(src, "kernel/drivers/net/unused.ko", "");
        module(src, "kernel/drivers/net/broken.ko", "not_there");
        touch(src, "kernel/drivers/net/packed.ko.xz", "xz");   /* named compressed, but is not */
        packed_module(src, "kernel/drivers/net/virtio_net.ko.xz", "net_failover");   /* as Debian 13 ships them */
        packed_module(src, "kernel/drivers/net/net_failover.ko.zst", "");   /* as Ubuntu and Fedora do */
        touch(src, "modules.builtin", "kernel/lib/crc-builtin.ko\nkernel/fs/ext4/ext4.ko\n");
        touch(src, "modules.order", "kernel/drivers/ata/ahci.ko\n");

        char *wanted[] = { "ahci", "ext4", "crc32c-generic", "virtio-net", NULL };
        char **load = NULL;
        assert_int_equal(kmod_stage(src, "7.0-test", wanted, dst, NULL, &load), 0);
        /* ext4 is built in: nothing to load, nothing to copy. */
        assert_int_equal(strv_length(load), 3);
        assert_string_equal(load[0], "ahci");
        assert_string_equal(load[1], "crc32c_generic");
        assert_string_equal(load[2], "virtio_net");
        strv_free(load);
        load = NULL;
        static const char *const want_files[] = {
                "kernel/drivers/ata/ahci.ko", "kernel/drivers/ata/libahci.ko", "kernel/drivers/ata/libata.ko",
                "kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/scsi_common.ko", "kernel/crypto/crc32c-generic.ko",
                "kernel/drivers/net/virtio_net.ko", "kernel/drivers/net/net_failover.ko", "modules.builtin",
        };
        for (size_t i = 0; i < ELEMENTSOF(want_files); i++)
                if (!staged(dst, want_files[i]))
                        fail_msg("%s not staged", want_files[i]);
        assert_false(staged(dst, "kernel/drivers/net/unused.ko"));
        assert_false(staged(dst, "modules.order"));
        assert_false(staged(dst, "kernel/drivers/net/virtio_net.ko.xz"));
        /* The xz module staged unpacked: the plain module's bytes. */
        char *plain = path_join(d, "plain.ko"), *got = strdup_printf("%s/lib/modules/7.0-test/kernel/drivers/net/virtio_net.ko", dst);
        module(d, "plain.ko", "net_failover");
        char *a = NULL, *b = NULL;
        size_t al, bl;
        assert_int_equal(read_full_file(plain, &a, &al), 0);
        assert_int_equal(read_full_file(got, &b, &bl), 0);
        assert_int_equal(al, bl);
        assert_memory_equal(a, b, al);
        free(a);
        free(b);
        free(plain);
        free(got);

        /* Errors name the module: missing, a missing dependency, compressed. */
        char *missing[] = { "nosuchmod", NULL };
        assert_int_equal(kmod_stage(src, "7.0-test", missing, dst2, NULL, &load), -ENOENT);
        char *broken[] = { "broken", NULL };
        assert_int_equal(kmod_stage(src, "7.0-test", broken, dst2, NULL, &load), -ENOENT);
        char *packed[] = { "packed", NULL };
        assert_int_equal(kmod_stage(src, "7.0-test", packed, dst2, NULL, &load), -EBADMSG);
        assert_false(staged(dst2, "kernel/drivers/net/packed.ko"));
        char *nodir = path_join(d, "nodir");
        assert_true(kmod_stage(nodir, "7.0-test", wanted, dst2, NULL, &load) < 0);
        assert_null(load);

        /* depmod failing is an error too (a program that exits 1). */
        assert_int_equal(kmod_stage(src, "7.0-test", wanted, dst2, "false", &load), -EIO);
        assert_null(load);
        rm_rf(d);
        free(d);
        free(src);
        free(dst);
        free(dst2);
        free(nodir);
}

/* ---- the uncompressed kernel inside a bzImage ---- */

/* A minimal x86-64 ELF whose one PT_NOTE holds one note (name, type): 120 bytes + a 4-byte desc. */
struct tiny_elf {
        Elf64_Ehdr eh;
        Elf64_Phdr ph;
        Elf64_Nhdr nh;
        char name[4];
        uint32_t entry;
};

static struct tiny_elf tiny_elf(const char name[4], uint32_t type) {
        struct tiny_elf e = { 0 };
        elf_fixture_header(&e.eh, ET_EXEC, offsetof(struct tiny_elf, ph));
        e.ph.p_type = PT_NOTE;
        e.ph.p_offset = offsetof(struct tiny_elf, nh);
        e.ph.p_filesz = sizeof e - offsetof(struct tiny_elf, nh);
        e.nh.n_namesz = 4;
        e.nh.n_descsz = 4;
        e.nh.n_type = type;
        memcpy(e.name, name, 4);
        e.entry = 0x1000000;
        return e;
}

/* A bzImage as the kernel build lays it out: setup sectors with the "HdrS" header (protocol
 * 2.15), then the payload (XZ stream + the uncompressed size, le32) at payload_offset. With
 * header false the setup header is missing (only the XZ magic finds the payload). */
static uint8_t *tiny_bzimage(const void *payload, size_t len, bool xz, bool header, size_t *ret_len) {
        size_t cap = len + 4096, clen = 0;
        uint8_t *c = malloc(cap);
        assert_non_null(c);
        if (xz)
                assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, payload, len, c, &clen, cap), LZMA_OK);
        else {
                memcpy(c, "\x1f\x8b\x08\x00", 4);   /* a gzip member's start: another compression */
                clen = 4;
        }
        uint32_t size = (uint32_t)len;
        memcpy(c + clen, &size, 4);
        clen += 4;
        size_t off = 2 * 512 + 16;   /* setup_sects 1 (+ the boot sector), payload_offset 16 */
        uint8_t *b = calloc(1, off + clen);
        assert_non_null(b);
        if (header) {
                b[0x1f1] = 1;
                memcpy(b + 0x202, "HdrS", 4);
                b[0x206] = 0x0f;
                b[0x207] = 0x02;
                uint32_t po = 16, pl = (uint32_t)clen;
                memcpy(b + 0x248, &po, 4);
                memcpy(b + 0x24c, &pl, 4);
        }
        memcpy(b + off, c, clen);
        free(c);
        *ret_len = off + clen;
        return b;
}

static void test_vmlinux_extract(void **state) {
        (void)state;
        struct tiny_elf e = tiny_elf("Xen", 18);
        for (int header = 1; header >= 0; header--) {
                size_t n, len = 0;
                uint8_t *bz = tiny_bzimage(&e, sizeof e, true, header, &n);
                void *out = NULL;
                assert_int_equal(vmlinux_extract(bz, n, &out, &len), 0);
                assert_int_equal(len, sizeof e);
                assert_memory_equal(out, &e, sizeof e);
                assert_true(vmlinux_has_pvh_note(out, len));
                free(out);
                out = NULL;
                /* A damaged stream is refused, not returned half-decoded. */
                bz[n - 12] ^= 0x55;
                assert_int_equal(vmlinux_extract(bz, n, &out, &len), -ENOEXEC);
                assert_null(out);
                free(bz);
        }
        size_t n, len;
        void *out = NULL;
        uint8_t *gz = tiny_bzimage(&e, sizeof e, false, true, &n);
        assert_int_equal(vmlinux_extract(gz, n, &out, &len), -EPROTONOSUPPORT);
        free(gz);
        assert_int_equal(vmlinux_extract("not a kernel", 12, &out, &len), -ENOEXEC);
        assert_null(out);
}

static void test_vmlinux_pvh_note(void **state) {
        (void)state;
        struct tiny_elf e = tiny_elf("Xen", 18);
        assert_true(vmlinux_has_pvh_note(&e, sizeof e));
        assert_false(vmlinux_has_pvh_note(&e, sizeof e - 1));   /* the note cut short */
        struct tiny_elf other = tiny_elf("Xen", 17);             /* another Xen note */
        assert_false(vmlinux_has_pvh_note(&other, sizeof other));
        struct tiny_elf gnu = tiny_elf("GNU", 18);
        assert_false(vmlinux_has_pvh_note(&gnu, sizeof gnu));
        struct tiny_elf arm = tiny_elf("Xen", 18);
        arm.eh.e_machine = EM_AARCH64;
        assert_false(vmlinux_has_pvh_note(&arm, sizeof arm));
        struct tiny_elf huge = tiny_elf("Xen", 18);
        huge.nh.n_descsz = 0xfffffff0u;                          /* a size past the segment */
        assert_false(vmlinux_has_pvh_note(&huge, sizeof huge));
        assert_false(vmlinux_has_pvh_note("\177ELF", 4));
}

static void test_vmlinux_cached(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *bzpath = path_join(d, "vmlinuz-6.1.0-9-amd64"), *nopvh = path_join(d, "vmlinuz-nopvh"),
             *cache = path_join(d, "cache");
        struct tiny_elf e = tiny_elf("Xen", 18), plain = tiny_elf("Xen", 17);
        size_t n;
        uint8_t *bz = tiny_bzimage(&e, sizeof e, true, true, &n);
        assert_int_equal(write_file(bzpath, bz, n, 0644), 0);
        free(bz);
        bz = tiny_bzimage(&plain, sizeof plain, true, true, &n);
        assert_int_equal(write_file(nopvh, bz, n, 0644), 0);
        free(bz);
        char *p1 = NULL, *p2 = NULL, *data = NULL;
        size_t len;
        assert_int_equal(vmlinux_get_cached(bzpath, cache, &p1), 0);
        assert_non_null(strstr(p1, "/cache/vmlinux/vmlinuz-6.1.0-9-amd64-"));
        assert_int_equal(read_full_file(p1, &data, &len), 0);
        assert_int_equal(len, sizeof e);
        assert_memory_equal(data, &e, sizeof e);
        /* The second call finds it; a kernel without CONFIG_PVH leaves nothing in the cache. */
        assert_int_equal(vmlinux_get_cached(bzpath, cache, &p2), 0);
        assert_string_equal(p1, p2);
        char *p3 = NULL;
        assert_int_equal(vmlinux_get_cached(nopvh, cache, &p3), -ENOEXEC);
        assert_null(p3);
        char *dir = path_join(cache, "vmlinux");
        size_t entries = 0;
        DIR *dd = opendir(dir);
        assert_non_null(dd);
        for (struct dirent *de; (de = readdir(dd));)
                entries += de->d_name[0] != '.';
        closedir(dd);
        assert_int_equal(entries, 1);
        rm_rf(d);
        free(dir);
        free(data);
        free(p1);
        free(p2);
        free(bzpath);
        free(nopvh);
        free(cache);
        free(d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_package_parse),
                cmocka_unit_test(test_from_root),
                cmocka_unit_test(test_user_paths),
                cmocka_unit_test(test_debian_download),
                cmocka_unit_test(test_needs_interpreter),
                cmocka_unit_test(test_module_names),
                cmocka_unit_test(test_stage),
                cmocka_unit_test(test_vmlinux_extract),
                cmocka_unit_test(test_vmlinux_pvh_note),
                cmocka_unit_test(test_vmlinux_cached),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
