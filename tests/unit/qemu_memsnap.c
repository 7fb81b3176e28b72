/* Unit tests: memory snapshot formats (magic), exec: URIs and shell quoting, version probing. */
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/util.h"
#include "qemu/memsnap.h"
#include "qemu/probe.h"

static void write_bytes(const char *path, const void *b, size_t n) {
        assert_int_equal(write_file(path, b, n, 0644), 0);
}

static void test_detect(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *p = strdup_printf("%s/m", d);
        enum vm_compress c;
        static const struct {
                unsigned char b[6];
                size_t n;
                int r;
                enum vm_compress c;
        } cases[] = {
                { { 0x04, 0x22, 0x4d, 0x18, 0x64, 0x40 }, 6, 0, VM_COMPRESS_LZ4 },
                { { 0x1f, 0x8b, 0x08, 0x00 }, 4, 0, VM_COMPRESS_GZIP },
                { { 0x28, 0xb5, 0x2f, 0xfd, 0x00 }, 5, 0, VM_COMPRESS_ZSTD },
                { { 'Q', 'E', 'V', 'M', 0, 0 }, 6, 0, VM_COMPRESS_NONE },
                { { 0x04, 0x22, 0x4d }, 3, -EINVAL, 0 },   /* too short for the lz4 magic */
                { { 0x1f, 0x8b }, 2, 0, VM_COMPRESS_GZIP },
                { { 'Q', 'E', 'V', 'X' }, 4, -EINVAL, 0 },
                { { 0 }, 0, -ENODATA, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                write_bytes(p, cases[i].b, cases[i].n);
                int r = vm_memfile_detect(p, &c);
                if (r != cases[i].r)
                        fail_msg("case %zu: got %d, expected %d", i, r, cases[i].r);
                if (r == 0)
                        assert_int_equal(c, cases[i].c);
        }
        assert_int_equal(vm_memfile_detect("/nonexistent/m", &c), -ENOENT);
        rm_rf(d);
        free(d);
        free(p);
}

static void test_names(void **state) {
        (void)state;
        enum vm_compress c;
        static const char *const names[] = { "lz4", "gzip", "zstd", "none" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                assert_int_equal(vm_compress_from_string(names[i], &c), 0);
                assert_string_equal(vm_compress_to_string(c), names[i]);
        }
        assert_int_equal(vm_compress_from_string("xz", &c), -EINVAL);
        assert_true(vm_compress_cuckoo_compatible(VM_COMPRESS_LZ4));
        assert_true(vm_compress_cuckoo_compatible(VM_COMPRESS_GZIP));
        assert_true(vm_compress_cuckoo_compatible(VM_COMPRESS_NONE));
        assert_false(vm_compress_cuckoo_compatible(VM_COMPRESS_ZSTD));
}

static void test_uris(void **state) {
        (void)state;
        char *u = qemu_memsnap_save_uri(VM_COMPRESS_LZ4, "/usr/bin/lz4", 0, "/vms/a/m.part", "/vms/a/m.done");
        assert_string_equal(u, "exec:'/usr/bin/lz4' -7 -c -q > '/vms/a/m.part' && mv -f '/vms/a/m.part' '/vms/a/m.done'");
        free(u);
        u = qemu_memsnap_save_uri(VM_COMPRESS_LZ4, "/usr/bin/lz4", 1, "/t", "/d");
        assert_string_equal(u, "exec:'/usr/bin/lz4' -1 -c -q > '/t' && mv -f '/t' '/d'");
        free(u);
        u = qemu_memsnap_save_uri(VM_COMPRESS_ZSTD, "/usr/bin/zstd", 99, "/t", "/d");
        assert_string_equal(u, "exec:'/usr/bin/zstd' -3 -c -q -T0 > '/t' && mv -f '/t' '/d'");
        free(u);
        u = qemu_memsnap_save_uri(VM_COMPRESS_NONE, "/bin/cat", 5, "/t", "/d");
        assert_string_equal(u, "exec:'/bin/cat' > '/t' && mv -f '/t' '/d'");
        free(u);
        u = qemu_memsnap_restore_uri(VM_COMPRESS_LZ4, "/usr/bin/lz4", "/vms/a/memory.snapshot");
        assert_string_equal(u, "exec:'/usr/bin/lz4' -c -d < '/vms/a/memory.snapshot'");
        free(u);
        u = qemu_memsnap_restore_uri(VM_COMPRESS_GZIP, "/bin/gzip", "/m");
        assert_string_equal(u, "exec:'/bin/gzip' -c -d < '/m'");
        free(u);
        u = qemu_memsnap_restore_uri(VM_COMPRESS_ZSTD, "/usr/bin/zstd", "/m");
        assert_string_equal(u, "exec:'/usr/bin/zstd' -c -d -q < '/m'");
        free(u);
        u = qemu_memsnap_restore_uri(VM_COMPRESS_NONE, "/bin/cat", "/m");
        assert_string_equal(u, "exec:'/bin/cat' < '/m'");
        free(u);
}

/* A quoted path survives /bin/sh exactly, whatever it holds. */
static void test_shell_quote_roundtrip(void **state) {
        (void)state;
        static const char *const paths[] = {
                "/plain/path", "/with space/x", "/it's/here", "/$(touch /tmp/pwned-vmcloak)/`id`",
                "/a;b|c&d>e<f", "/'''", "/new\nline", "", "/back\\slash", "/*?[a]",
        };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                char *q = shell_quote(paths[i]);
                char *cmd = strdup_printf("printf %%s %s", q);
                char *argv[] = { "/bin/sh", "-c", cmd, NULL };
                char *out = NULL;
                assert_int_equal(proc_run(argv, NULL, &out, NULL), 0);
                assert_string_equal(out, paths[i]);
                free(out);
                free(cmd);
                free(q);
        }
        assert_false(path_exists("/tmp/pwned-vmcloak"));
}

static void test_version_output(void **state) {
        (void)state;
        struct qemu_version v;
        char *s = NULL;
        assert_int_equal(qemu_parse_version_output("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n"
                                                   "Copyright (c) 2003-2022 Fabrice Bellard\n",
                                                   &v, &s),
                         0);
        assert_int_equal(v.major, 7);
        assert_int_equal(v.minor, 2);
        assert_int_equal(v.micro, 22);
        assert_string_equal(s, "7.2.22");
        free(s);
        assert_int_equal(qemu_parse_version_output("QEMU emulator version 2.11.1(Debian 1:2.11+dfsg-1ubuntu7.41)", &v,
                                                   NULL),
                         0);
        assert_int_equal(v.major, 2);
        assert_int_equal(v.minor, 11);
        assert_int_equal(v.micro, 1);
        assert_int_equal(qemu_parse_version_output("QEMU emulator version 8.1.3-rc1+git", &v, &s), 0);
        assert_int_equal(v.major, 8);
        assert_string_equal(s, "8.1.3");
        free(s);
        assert_int_equal(qemu_parse_version_output("version 10.0.0", &v, NULL), 0);
        assert_int_equal(v.major, 10);
        assert_int_equal(qemu_parse_version_output("QEMU emulator version 7.2", &v, NULL), -EINVAL);
        assert_int_equal(qemu_parse_version_output("no version here", &v, NULL), -EINVAL);
        assert_int_equal(qemu_parse_version_output("", &v, NULL), -EINVAL);
}

static void test_find_binary(void **state) {
        (void)state;
        char *p = NULL;
        setenv("VMCLOAK_QEMU", "/nonexistent/qemu", 1);
        assert_int_equal(qemu_find_binary(&p), -ENOENT);
        setenv("VMCLOAK_QEMU", "/bin/sh", 1);
        assert_int_equal(qemu_find_binary(&p), 0);
        assert_string_equal(p, "/bin/sh");
        free(p);
        unsetenv("VMCLOAK_QEMU");
}

/* --qemu-binary: wins over $VMCLOAK_QEMU for every lookup until reset; its tell strings counted. */
static void test_set_binary(void **state) {
        (void)state;
        char dir[] = "/tmp/vmcloak-setbin.XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *fake = strdup_printf("%s/qemu", dir);
        static const char script[] = "#!/bin/sh\necho 'QEMU emulator version 9.1.0'\n# QEMU HARDDISK Bochs\n";
        assert_int_equal(write_file(fake, script, strlen(script), 0755), 0);
        _cleanup_free_ char *noexec = strdup_printf("%s/noexec", dir);
        assert_int_equal(write_file(noexec, script, strlen(script), 0644), 0);

        assert_int_equal(qemu_set_binary(noexec), -EACCES);
        assert_int_equal(qemu_set_binary(dir), -EISDIR);
        assert_int_equal(qemu_set_binary("/nonexistent/qemu"), -ENOENT);
        assert_int_equal(qemu_set_binary(fake), 0);
        setenv("VMCLOAK_QEMU", "/bin/sh", 1);
        char *p = NULL;
        assert_int_equal(qemu_find_binary(&p), 0);
        assert_string_equal(p, fake);
        free(p);
        struct qemu_binary b;
        assert_int_equal(qemu_binary_probe(&b), 0);
        assert_string_equal(b.path, fake);
        assert_int_equal(b.version.major, 9);
        qemu_binary_done(&b);
        const char *present[QEMU_TELLS_CHECKED];
        /* A wrapper script holds none of the strings of the QEMU it starts: no verdict. */
        assert_int_equal(qemu_binary_tells(fake, present), -ENOEXEC);
        _cleanup_free_ char *elf = strdup_printf("%s/elf", dir);
        static const char elf_bytes[] = "\177ELF\2\1\1 ... QEMU HARDDISK ... Bochs ...";
        assert_int_equal(write_file(elf, elf_bytes, sizeof elf_bytes - 1, 0755), 0);
        assert_int_equal(qemu_binary_tells(elf, present), 2);
        assert_string_equal(present[0], "QEMU HARDDISK");
        assert_string_equal(present[1], "Bochs");
        unlink(elf);

        /* A bare name is looked up in PATH; another QEMU tool is no emulator. */
        _cleanup_free_ char *old_path = strdup(getenv("PATH"));
        setenv("PATH", dir, 1);
        assert_int_equal(qemu_set_binary("qemu"), 0);
        assert_int_equal(qemu_find_binary(&p), 0);
        assert_string_equal(p, fake);
        free(p);
        assert_int_equal(qemu_set_binary("no-such-qemu"), -ENOENT);
        setenv("PATH", old_path, 1);
        _cleanup_free_ char *img = strdup_printf("%s/qemu-img", dir);
        static const char img_script[] = "#!/bin/sh\necho 'qemu-img version 7.2.9 (Debian 1:7.2+dfsg-7)'\n";
        assert_int_equal(write_file(img, img_script, strlen(img_script), 0755), 0);
        assert_int_equal(qemu_set_binary(img), -EINVAL);
        unlink(img);
        assert_int_equal(qemu_set_binary(NULL), 0);
        assert_int_equal(qemu_find_binary(&p), 0);
        assert_string_equal(p, "/bin/sh");
        free(p);
        unsetenv("VMCLOAK_QEMU");
        unlink(fake);
        unlink(noexec);
        rmdir(dir);
}

static void test_kvm_probe_without_device(void **state) {
        (void)state;
        struct kvm_status s;
        struct qemu_version v = { 7, 2, 0 };
        setenv("VMCLOAK_KVM_DEVICE", "/nonexistent/kvm", 1);
        assert_int_equal(qemu_kvm_probe("/bin/false", &v, 0, &s), 0);
        assert_false(s.present);
        assert_false(s.usable);
        assert_non_null(strstr(s.reason, "does not exist"));
        /* A device that cannot be opened read-write. */
        char *d = test_tmpdir();
        char *dev = strdup_printf("%s/kvm", d);
        char *cache = strdup_printf("%s/cache", d);
        setenv("VMCLOAK_KVM_PROBE_CACHE", cache, 1);
        write_bytes(dev, "", 0);
        chmod(dev, 0);
        setenv("VMCLOAK_KVM_DEVICE", dev, 1);
        assert_int_equal(qemu_kvm_probe("/bin/false", &v, 0, &s), 0);
        if (getuid() != 0) {
                assert_true(s.present);
                assert_false(s.openable);
                assert_non_null(strstr(s.reason, "kvm group"));
        }
        assert_false(s.usable);
        unsetenv("VMCLOAK_KVM_DEVICE");
        unsetenv("VMCLOAK_KVM_PROBE_CACHE");
        rm_rf(d);
        free(d);
        free(dev);
        free(cache);
}

static bool dir_is_empty(const char *path) {
        DIR *d = opendir(path);
        assert_non_null(d);
        struct dirent *de;
        bool empty = true;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        empty = false;
        closedir(d);
        return empty;
}

static void test_accel_test_cleans_up(void **state) {
        (void)state;
        /* The test guest's scratch folder goes away whichever way the run fails. */
        char *d = test_tmpdir();
        const char *t = getenv("TMPDIR");
        char *saved = t ? strdup(t) : NULL;
        setenv("TMPDIR", d, 1);
        char reason[256];
        assert_int_equal(qemu_accel_test("/nonexistent/qemu-system-x86_64", "tcg", 5000, NULL, reason, sizeof reason),
                         -EIO);
        assert_non_null(strstr(reason, "cannot start"));
        assert_true(dir_is_empty(d));
        long ms = -1;
        assert_int_equal(qemu_accel_test("/bin/false", "tcg", 5000, &ms, reason, sizeof reason), -EIO);
        assert_non_null(strstr(reason, "could not run a test guest"));
        assert_true(ms >= 0);
        assert_true(dir_is_empty(d));
        if (saved)
                setenv("TMPDIR", saved, 1);
        else
                unsetenv("TMPDIR");
        rm_rf(d);
        free(saved);
        free(d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_detect),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_uris),
                cmocka_unit_test(test_shell_quote_roundtrip),
                cmocka_unit_test(test_version_output),
                cmocka_unit_test(test_find_binary),
                cmocka_unit_test(test_set_binary),
                cmocka_unit_test(test_kvm_probe_without_device),
                cmocka_unit_test(test_accel_test_cleans_up),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
