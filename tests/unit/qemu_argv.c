/* Unit tests: golden argv cases (tests/argv), config checks, Cuckoo3 start_args rules, loader. */
#include "test.h"

#include <dirent.h>
#include <errno.h>

#include "core/log.h"
#include "core/util.h"
#include "qemu/argv.h"
#include "qemu/config.h"

static char *argv_dir(void) {
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        return strdup_printf("%s/tests/argv", root ? root : ".");
}

/* One golden case: state is the case name. */
static void test_golden(void **state) {
        const char *name = *state;
        _cleanup_free_ char *dir = argv_dir();
        _cleanup_free_ char *conf = strdup_printf("%s/%s.conf", dir, name);
        _cleanup_free_ char *args = strdup_printf("%s/%s.args", dir, name);
        struct vm_config c;
        struct vm_runtime rt = { 0 };
        enum vm_argv_purpose p = VM_ARGV_RUN;
        vm_config_init(&c);
        assert_int_equal(vm_config_load(conf, &c, &rt, &p), 0);
        char reason[256] = "";
        int r = vm_config_check(&c, p, reason, sizeof reason);
        if (r < 0)
                fail_msg("%s: %s", name, reason);
        char **v = NULL;
        assert_int_equal(vm_argv_build_runtime(&c, &rt, p, &v), 0);
        _cleanup_free_ char *got = strv_join(v, "\n");
        _cleanup_free_ char *got_nl = strdup_printf("%s\n", got);
        if (p == VM_ARGV_START_ARGS) {
                const char *why = NULL;
                if (vm_start_args_check(v, &why) < 0)
                        fail_msg("%s: start_args refused: %s", name, why);
        }
        if (getenv("VMCLOAK_ARGV_REGEN"))
                assert_int_equal(write_file(args, got_nl, strlen(got_nl), 0644), 0);
        _cleanup_free_ char *want = NULL;
        if (read_full_file(args, &want, NULL) < 0)
                fail_msg("%s: missing %s (run with VMCLOAK_ARGV_REGEN=1)", name, args);
        if (!streq(want, got_nl)) {
                /* Name the first differing line: a regression is a one-line diff. */
                _cleanup_strv_free_ char **w = NULL;
                char *save = NULL;
                for (char *t = strtok_r(want, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
                        strv_extend(&w, t);
                size_t i = 0;
                while (w && w[i] && v[i] && streq(w[i], v[i]))
                        i++;
                fail_msg("%s: argument %zu differs: expected '%s', got '%s'", name, i, w && w[i] ? w[i] : "(end)",
                         v[i] ? v[i] : "(end)");
        }
        strv_free(v);
        vm_config_done(&c);
        vm_runtime_done(&rt);
}

/* VMCloak §6.5, >= 4.1, literally: the whole default list, word for word. */
static void test_vmcloak_default_literal(void **state) {
        (void)state;
        struct vm_config c;
        vm_config_init(&c);
        c.version = (struct qemu_version){ 4, 2, 1 };
        c.accel = VM_ACCEL_KVM;
        c.bridge = strdup("qemubr0");
        c.mac = strdup("00:19:3c:1f:a2:07");
        char **v = NULL;
        assert_int_equal(vm_argv_build(&c, VM_ARGV_START_ARGS, &v), 0);
        _cleanup_free_ char *j = strv_join(v, " ");
        assert_string_equal(j,
                "-nodefaults -M q35 -vga std -smp 1 -overcommit mem-lock=off "
                "-rtc base=localtime,driftfix=slew -m 2048 "
                "-netdev type=bridge,br=qemubr0,id=net0 "
                "-device rtl8139,netdev=net0,mac=00:19:3c:1f:a2:07,bus=pcie.0,addr=3 "
                "-device ich9-ahci,id=ahci "
                "-device ide-hd,bus=ahci.0,unit=0,drive=disk,bootindex=2 "
                "-device ide-cd,bus=ahci.1,unit=0,drive=cdrom,bootindex=1 "
                "-device usb-ehci,id=ehci -device usb-tablet,bus=ehci.0 "
                "-device intel-hda -device hda-duplex "
                "-enable-kvm "
                "-drive if=none,id=cdrom,readonly=on "
                "-drive file=%DISPOSABLE_DISK_PATH%,format=qcow2,if=none,id=disk "
                "-display none");
        strv_free(v);
        c.version = (struct qemu_version){ 2, 11, 0 };
        assert_int_equal(vm_argv_build(&c, VM_ARGV_START_ARGS, &v), 0);
        free(j);
        j = strv_join(v, " ");
        assert_string_equal(j,
                "-M q35 -nodefaults -vga std -rtc base=localtime,driftfix=slew -realtime mlock=off "
                "-m 2048 -smp 1 "
                "-netdev type=bridge,br=qemubr0,id=net0 "
                "-device rtl8139,netdev=net0,mac=00:19:3c:1f:a2:07,bus=pcie.0,addr=3 "
                "-device ich9-ahci,id=ahci "
                "-device ide-drive,bus=ahci.0,unit=0,drive=disk,bootindex=2 "
                "-device ide-cd,bus=ahci.1,unit=0,drive=cdrom,bootindex=1 "
                "-device usb-ehci,id=ehci -device usb-tablet,bus=ehci.0 "
                "-device intel-hda -device hda-duplex "
                "--enable-kvm "
                "-drive if=none,id=cdrom,readonly=on "
                "-drive file=%DISPOSABLE_DISK_PATH%,format=qcow2,if=none,id=disk "
                "-display none");
        strv_free(v);
        vm_config_done(&c);
}

static void check_refused(struct vm_config *c, enum vm_argv_purpose p, const char *needle) {
        char reason[256] = "";
        assert_int_equal(vm_config_check(c, p, reason, sizeof reason), -EINVAL);
        if (!strstr(reason, needle))
                fail_msg("reason '%s' does not mention '%s'", reason, needle);
        char **v = NULL;
        assert_int_equal(vm_argv_build(c, p, &v), -EINVAL);
        assert_null(v);
}

static void base_config(struct vm_config *c) {
        vm_config_init(c);
        c->version = (struct qemu_version){ 7, 2, 0 };
        c->accel = VM_ACCEL_TCG;
        c->disk_path = strdup("/tmp/d.qcow2");
}

static void test_config_refused(void **state) {
        (void)state;
        struct vm_config c;

        base_config(&c);
        c.accel = VM_ACCEL_AUTO;
        check_refused(&c, VM_ARGV_RUN, "accelerator");
        vm_config_done(&c);

        base_config(&c);
        c.cpus = 0;
        check_refused(&c, VM_ARGV_RUN, "CPU");
        vm_config_done(&c);

        base_config(&c);
        c.ram_mb = 8;
        check_refused(&c, VM_ARGV_RUN, "RAM");
        vm_config_done(&c);

        base_config(&c);
        free(c.disk_path);
        c.disk_path = NULL;
        check_refused(&c, VM_ARGV_RUN, "disk");
        vm_config_done(&c);

        base_config(&c);
        c.vram_mb = 48;
        check_refused(&c, VM_ARGV_RUN, "VRAM");
        vm_config_done(&c);

        base_config(&c);
        c.mac = strdup("00-19-3c-1f-a2-07");
        check_refused(&c, VM_ARGV_RUN, "MAC");
        vm_config_done(&c);

        base_config(&c);
        c.bridge = strdup("br,0");
        check_refused(&c, VM_ARGV_RUN, "bridge");
        vm_config_done(&c);

        base_config(&c);
        c.net_mode = VM_NET_USER;
        c.host_fwd_port = 18000;
        check_refused(&c, VM_ARGV_RUN, "guest IP");
        vm_config_done(&c);

        base_config(&c);
        c.serial = VM_SERIAL_FILE;
        check_refused(&c, VM_ARGV_RUN, "serial");
        vm_config_done(&c);

        base_config(&c);
        c.uefi_code = strdup("/usr/share/OVMF/OVMF_CODE_4M.fd");
        check_refused(&c, VM_ARGV_RUN, "UEFI");
        vm_config_done(&c);

        base_config(&c);
        c.secure_boot = true;
        check_refused(&c, VM_ARGV_RUN, "Secure Boot");
        vm_config_done(&c);

        base_config(&c);
        c.version = (struct qemu_version){ 4, 2, 1 };
        c.cloak.acpi_oem_id = strdup("DELL");
        check_refused(&c, VM_ARGV_RUN, "6.0");
        vm_config_done(&c);

        base_config(&c);
        strv_extend(&c.cloak.cpu_flags, "model-id=a,b");
        check_refused(&c, VM_ARGV_RUN, "comma");
        vm_config_done(&c);

        base_config(&c);
        c.cloak.acpi_oem_table_id = strdup("123456789");
        check_refused(&c, VM_ARGV_RUN, "8 bytes");
        vm_config_done(&c);

        base_config(&c);
        c.version = (struct qemu_version){ 3, 1, 0 };
        c.audio = VM_AUDIO_NONE;
        check_refused(&c, VM_ARGV_RUN, "4.0");
        vm_config_done(&c);

        base_config(&c);
        for (int i = 0; i < 5; i++)
                strv_extend(&c.extra_cdroms, "/x.iso");
        check_refused(&c, VM_ARGV_RUN, "CD-ROM");
        vm_config_done(&c);

        base_config(&c);
        c.vnc = true;
        c.vnc_display = 60000;
        check_refused(&c, VM_ARGV_RUN, "VNC");
        vm_config_done(&c);

        /* A START_ARGS that Cuckoo3 would refuse because a path holds "-snapshot". */
        base_config(&c);
        assert_int_equal(vm_config_add_share(&c, "samples", "/vms/my-snapshot/samples", true), 0);
        char **v = NULL;
        assert_int_equal(vm_argv_build(&c, VM_ARGV_RUN, &v), 0);
        strv_free(v);
        check_refused(&c, VM_ARGV_START_ARGS, "-snapshot");
        vm_config_done(&c);

        /* A serial log path is not rendered into START_ARGS (-serial null keeps the device). */
        base_config(&c);
        c.serial = VM_SERIAL_FILE;
        c.serial_path = strdup("/vms/my-snapshot/serial.log");
        assert_int_equal(vm_config_check(&c, VM_ARGV_START_ARGS, NULL, 0), 0);
        vm_config_done(&c);
}

static void test_start_args_rules(void **state) {
        (void)state;
        const char *why;
        char *ok[] = { "-m", "512", "-drive", "file=%DISPOSABLE_DISK_PATH%,format=qcow2", NULL };
        assert_int_equal(vm_start_args_check(ok, &why), 0);
        assert_null(why);

        char *empty[] = { NULL };
        assert_int_equal(vm_start_args_check(empty, &why), -EINVAL);
        assert_non_null(strstr(why, "empty"));
        assert_int_equal(vm_start_args_check(NULL, &why), -EINVAL);

        char *binary[] = { "/usr/bin/qemu-system-x86_64", "-drive", "file=%DISPOSABLE_DISK_PATH%", NULL };
        assert_int_equal(vm_start_args_check(binary, &why), -EINVAL);
        assert_non_null(strstr(why, "binary"));

        char *nodisk[] = { "-m", "512", "-drive", "file=/x.qcow2", NULL };
        assert_int_equal(vm_start_args_check(nodisk, &why), -EINVAL);
        assert_non_null(strstr(why, "DISPOSABLE"));

        static const char *const bad[] = { "-incoming", "-monitor", "-qmp", "-loadvm", "-no-shutdown",
                                           "-qmp-pretty", "-snapshot" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *a[] = { "-drive", "file=%DISPOSABLE_DISK_PATH%", (char *)bad[i], "x", NULL };
                assert_int_equal(vm_start_args_check(a, &why), -EINVAL);
                assert_non_null(strstr(why, bad[i]));
        }
        /* A plain substring test, as Cuckoo3 does: a file name is enough to be refused. */
        char *sub[] = { "-drive", "file=%DISPOSABLE_DISK_PATH%", "-serial", "file:/vm/x-snapshot.log", NULL };
        assert_int_equal(vm_start_args_check(sub, &why), -EINVAL);
        /* The placeholder may be split across arguments only by the join's space. */
        char *split[] = { "%DISPOSABLE_DISK_PATH%", NULL };
        assert_int_equal(vm_start_args_check(split, NULL), 0);
}

static void test_escape(void **state) {
        (void)state;
        char *e = qemu_opt_escape("a,b,,c");
        assert_string_equal(e, "a,,b,,,,c");
        free(e);
        e = qemu_opt_escape("");
        assert_string_equal(e, "");
        free(e);
}

static void test_runtime_not_in_start_args(void **state) {
        (void)state;
        struct vm_config c;
        base_config(&c);
        c.vnc = true;
        c.cdrom_path = strdup("/isos/win10.iso");
        strv_extend(&c.extra_cdroms, "/isos/extra.iso");
        struct vm_runtime rt = { .qmp_socket = strdup("/run/q.sock"), .incoming = strdup("defer"),
                                 .pidfile = strdup("/run/q.pid"), .no_reboot = true, .paused = true };
        char **v = NULL;
        assert_int_equal(vm_argv_build_runtime(&c, &rt, VM_ARGV_START_ARGS, &v), 0);
        _cleanup_free_ char *j = strv_join(v, " ");
        assert_null(strstr(j, "-vnc"));
        assert_null(strstr(j, "-qmp"));
        assert_null(strstr(j, "-incoming"));
        assert_null(strstr(j, "-pidfile"));
        assert_null(strstr(j, "-no-reboot"));
        assert_null(strstr(j, " -S"));
        assert_null(strstr(j, ".iso"));
        assert_null(strstr(j, "d.qcow2"));
        assert_non_null(strstr(j, "if=none,id=cdrom1,readonly=on"));
        strv_free(v);
        assert_int_equal(vm_argv_build_runtime(&c, &rt, VM_ARGV_RUN, &v), 0);
        free(j);
        j = strv_join(v, " ");
        assert_string_equal(v[0], "qemu-system-x86_64");
        assert_non_null(strstr(j, "-vnc 127.0.0.1:0"));
        assert_non_null(strstr(j, "-qmp unix:/run/q.sock,server=on,wait=off -pidfile /run/q.pid -no-reboot -S "
                                  "-incoming defer"));
        assert_non_null(strstr(j, "file=/isos/win10.iso,format=raw,if=none,id=cdrom,readonly=on"));
        strv_free(v);
        vm_config_done(&c);
        vm_runtime_done(&rt);
}

static void test_loader_errors(void **state) {
        (void)state;
        static const char *const bad[] = {
                "bogus=1\n", "cpus=many\n", "net=wifi\n", "version=seven\n", "vnc=maybe\n",
                "share=nopath\n", "smbios.x=a=b\n", "smbios.1=novalue\n", "purpose=later\n", "just a line\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct vm_config c;
                vm_config_init(&c);
                assert_int_equal(vm_config_load_string(bad[i], "t", &c, NULL, NULL), -EINVAL);
                vm_config_done(&c);
        }
        struct vm_config c;
        struct vm_runtime rt = { 0 };
        enum vm_argv_purpose p = VM_ARGV_RUN;
        vm_config_init(&c);
        assert_int_equal(vm_config_load_string("# c\n\n  cpus = 3\r\nshare=a=/x,rw\nshare=b=/y\npurpose=start_args\n"
                                               "qmp=/q\nsmbios.1=product=A,B\nsmbios.1=sku=1\n",
                                               "t", &c, &rt, &p),
                         0);
        assert_int_equal(c.cpus, 3);
        assert_int_equal(c.n_shares, 2);
        assert_false(c.shares[0].readonly);
        assert_true(c.shares[1].readonly);
        assert_string_equal(c.shares[0].path, "/x");
        assert_int_equal(p, VM_ARGV_START_ARGS);
        assert_string_equal(rt.qmp_socket, "/q");
        assert_int_equal(c.cloak.n_smbios, 1);
        assert_int_equal(strv_length(c.cloak.smbios[0].fields), 2);
        vm_config_done(&c);
        vm_runtime_done(&rt);
}

static void test_version_parse(void **state) {
        (void)state;
        struct qemu_version v;
        assert_int_equal(qemu_version_parse("7.2.22", &v), 0);
        assert_int_equal(v.major, 7);
        assert_int_equal(v.minor, 2);
        assert_int_equal(v.micro, 22);
        assert_int_equal(qemu_version_parse("4.1", &v), 0);
        assert_false(qemu_version_pre_4_1(&v));
        assert_int_equal(qemu_version_parse("4.0.9", &v), 0);
        assert_true(qemu_version_pre_4_1(&v));
        assert_int_equal(qemu_version_parse("x", &v), -EINVAL);
        assert_int_equal(qemu_version_parse("7", &v), -EINVAL);
        assert_int_equal(qemu_version_parse("7.2.", &v), -EINVAL);
        struct qemu_version zero = { 0, 0, 0 };
        assert_true(qemu_version_pre_4_1(&zero));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
        _cleanup_free_ char *dir = argv_dir();
        DIR *d = opendir(dir);
        if (!d) {
                fprintf(stderr, "cannot open %s\n", dir);
                return 1;
        }
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (endswith(de->d_name, ".conf"))
                        strv_push(&names, strndup(de->d_name, strlen(de->d_name) - 5));
        closedir(d);
        size_t n = strv_length(names);
        /* Sorted, so the TAP numbering is stable. */
        qsort(names, n, sizeof *names, cmp_str);
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_vmcloak_default_literal),
                cmocka_unit_test(test_config_refused),
                cmocka_unit_test(test_start_args_rules),
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_runtime_not_in_start_args),
                cmocka_unit_test(test_loader_errors),
                cmocka_unit_test(test_version_parse),
        };
        size_t total = n + ELEMENTSOF(fixed);
        struct CMUnitTest *tests = calloc(total, sizeof *tests);
        for (size_t i = 0; i < n; i++)
                tests[i] = (struct CMUnitTest){ .name = names[i], .test_func = test_golden, .initial_state = names[i] };
        memcpy(tests + n, fixed, sizeof fixed);
        int r = _cmocka_run_group_tests("qemu_argv", tests, total, NULL, NULL);
        free(tests);
        return r;
}
