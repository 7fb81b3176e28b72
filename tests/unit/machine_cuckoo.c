/* Unit tests: cuckoo_start_args_allowed, the allow-list of what vmcloak's argv builder renders
 * for start_args. Every golden start_args case of tests/argv passes; each hostile argument
 * (from a bundle of another host) is refused with a line naming it. */
#include "test.h"

#include <errno.h>
#include <stdio.h>

#include "core/util.h"
#include "machine/cuckoo.h"

#define VMDIR "/srv/home/vms/qemu/win11vm1"

/* tests/argv/<name>.args as a string list, @TMP@ replaced by VMDIR. */
static char **golden(const char *name) {
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        _cleanup_free_ char *p = strdup_printf("%s/tests/argv/%s.args", root ? root : ".", name);
        FILE *f = fopen(p, "re");
        if (!f)
                fail_msg("cannot read %s", p);
        char **v = NULL;
        char line[4096];
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = 0;
                char *at = strstr(line, "@TMP@");
                char *s = at ? strdup_printf("%.*s%s%s", (int)(at - line), line, VMDIR, at + 5) : strdup(line);
                assert_int_equal(strv_push(&v, s), 0);
        }
        fclose(f);
        return v;
}

static void test_golden_accepted(void **state) {
        (void)state;
        static const char *const cases[] = { "start_args", "start_args_pre41", "start_args_serial",
                                             "full_cloak_start_args", "win11x64_snapshot", "win11x64_snapshot_tpm" };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char **v = golden(cases[i]);
                const char *why = NULL;
                if (cuckoo_start_args_allowed(v, VMDIR, &why) < 0)
                        fail_msg("%s refused: %s", cases[i], why);
                strv_free(v);
        }
}

/* The real TPM socket of a snapshot run: <tmp>/vmcloak-vm.XXXXXX/tpm.sock. */
static void test_tpm_socket_of_run(void **state) {
        (void)state;
        char *v[] = { "-chardev", "socket,id=chrtpm,path=/tmp/vmcloak-vm.Ab12Cd/tpm.sock", "-drive",
                      "file=" VM_DISK_PLACEHOLDER ",format=qcow2,if=none,id=disk", NULL };
        assert_int_equal(cuckoo_start_args_allowed(v, VMDIR, NULL), 0);
}

/* A bridge VM's start_args name the system's qemu-bridge-helper (driver.c: net_helper_find). */
static void test_bridge_helper(void **state) {
        (void)state;
        char *v[] = { "-netdev", "type=bridge,br=qemubr0,helper=/usr/lib/qemu/qemu-bridge-helper,id=net0", "-drive",
                      "file=" VM_DISK_PLACEHOLDER ",format=qcow2,if=none,id=disk", NULL };
        const char *why = NULL;
        if (cuckoo_start_args_allowed(v, VMDIR, &why) < 0)
                fail_msg("refused: %s", why);
}

/* Each pair is appended to a real start_args: only it can be refused. */
static void test_hostile_refused(void **state) {
        (void)state;
        static const char *const bad[][3] = {
                { "-netdev", "bridge,id=x,helper=/tmp/x", "'helper=/tmp/x' is not a value" },
                { "-netdev", "bridge,id=x,helper=/usr/lib/qemu/../../../tmp/qemu-bridge-helper", "helper=" },
                { "-netdev", "type=bridge,br=qemubr0,id=net0,helper=/tmp/evil", "helper=" },
                { "-netdev", "tap,id=x,script=/tmp/x", "tap" },
                { "-netdev", "type=tap,id=x,downscript=/tmp/x", "type=tap" },
                { "-netdev", "user,id=x,smb=/", "smb=" },
                { "-netdev", "user,id=x,guestfwd=tcp:10.0.2.1:80-cmd:sh", "guestfwd=" },
                { "-chardev", "file,id=c,path=/root/.ssh/authorized_keys", "-chardev" },
                { "-chardev", "socket,id=chrtpm,path=/var/run/docker.sock", "chrtpm" },
                { "-chardev", "socket,id=chrtpm,path=" VMDIR "/../../x/tpm.sock", "chrtpm" },
                { "-drive", "file=/dev/sda,format=raw,if=none,id=d2", "/dev/sda" },
                { "-drive", "file=" VMDIR "/../other/disk.qcow2,format=qcow2,if=none,id=d2", "neither" },
                { "-drive", "file=/etc/shadow,format=raw,if=pflash,unit=1", "/etc/shadow" },
                { "-drive", "file=/usr/share/x.fd,format=raw,if=pflash,unit=1", "/usr/share/x.fd" },
                { "-drive", "file=" VMDIR "/d,format=vvfat,if=none,id=d2", "format=" },
                { "-drive", "file=" VMDIR "/d,format=raw,if=none,file=/etc/shadow", "/etc/shadow" },
                { "-blockdev", "driver=file,filename=/etc/shadow,node-name=x", "-blockdev" },
                { "-smbios", "file=/etc/shadow", "/etc/shadow" },
                { "-smbios", "type=11,path=/etc/shadow", "path=" },
                { "-serial", "file:/root/.bashrc", "-serial" },
                { "-serial", "exec:sh", "-serial" },
                { "-serial", "unix:" VMDIR "/s,server=on,wait=off,path=/x", "-serial" },
                { "-object", "memory-backend-file,id=m,mem-path=/etc/passwd", "-object" },
                { "-plugin", "/tmp/evil.so", "-plugin" },
                { "-loadvm", "snap", "-loadvm" },
                { "-incoming", "exec:sh -c id", "-incoming" },
                { "-monitor", "unix:/tmp/m,server", "-monitor" },
                { "-qmp", "unix:/tmp/q,server", "-qmp" },
                { "-run-with", "chroot=/", "-run-with" },
                { "-daemonize", NULL, "-daemonize" },
                { "-D", "/root/.bashrc", "-D" },
                { "-trace", "file=/root/.bashrc", "-trace" },
                { "-virtfs", "local,path=/,mount_tag=r,security_model=none", "-virtfs" },
                { "-global", "ide-hd.drive=x", "ide-hd.drive=" },
                { "-global", "driver=ide-hd,property=drive,value=x", "cfi.pflash01" },
                { "-device", "vhost-user-fs-pci,chardev=c", "vhost-user-fs-pci" },
                { "-device", "ide-hd,drive=disk,file=/etc/shadow", "file=" },
                { "-accel", "xen", "xen" },
                { "-M", "q35,accel=xen", "accel=xen" },
                { "-chardev", NULL, "lacks" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char **v = golden("start_args");
                assert_int_equal(strv_extend(&v, bad[i][0]), 0);
                if (bad[i][1])
                        assert_int_equal(strv_extend(&v, bad[i][1]), 0);
                const char *why = NULL;
                if (cuckoo_start_args_allowed(v, VMDIR, &why) != -EINVAL)
                        fail_msg("%s %s accepted", bad[i][0], strempty(bad[i][1]));
                assert_non_null(why);
                if (bad[i][2] && !strstr(why, bad[i][2]))
                        fail_msg("%s %s: the reason '%s' does not name '%s'", bad[i][0], strempty(bad[i][1]), why,
                                 bad[i][2]);
                strv_free(v);
        }
}

/* Cuckoo3's own rules still apply first. */
static void test_cuckoo_rules_first(void **state) {
        (void)state;
        char *none[] = { "-m", "512", NULL };
        const char *why = NULL;
        assert_int_equal(cuckoo_start_args_allowed(none, VMDIR, &why), -EINVAL);
        assert_non_null(strstr(why, VM_DISK_PLACEHOLDER));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden_accepted),
                cmocka_unit_test(test_tpm_socket_of_run),
                cmocka_unit_test(test_bridge_helper),
                cmocka_unit_test(test_hostile_refused),
                cmocka_unit_test(test_cuckoo_rules_first),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
