/* Unit tests: golden argv cases (tests/argv: .args to render, .err to refuse), definition checks,
 * Cuckoo3 start_args rules and restore, the loader. */
#include "test.h"

#include <dirent.h>
#include <errno.h>

#include "core/log.h"
#include "core/util.h"
#include "qemu/argv.h"
#include "qemu/config.h"
#include "machine/cuckoo.h"

static char *argv_dir(void) {
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        return strdup_printf("%s/tests/argv", root ? root : ".");
}

static void load_case(const char *name, struct vm_def *d, struct qemu_run *run, enum qemu_argv_purpose *p,
                      char **ret_conf) {
        _cleanup_free_ char *dir = argv_dir();
        char *conf = strdup_printf("%s/%s.conf", dir, name);
        vm_def_init(d);
        *run = (struct qemu_run){ 0 };
        *p = QEMU_ARGV_RUN;
        assert_int_equal(qemu_conf_load(conf, d, run, p), 0);
        *ret_conf = conf;
}

/* A definition that must be refused (libvirt's DO_TEST_FAILURE): <case>.err holds its one
 * line, which is what the user sees after "cannot start VM NAME: ". */
static void test_golden_failure(const char *name, const struct vm_def *d, const struct qemu_run *run,
                                enum qemu_argv_purpose p, const char *err_path) {
        char reason[256] = "";
        assert_int_equal(qemu_argv_check(d, run, p, reason, sizeof reason), -EINVAL);
        _cleanup_free_ char *got = strdup_printf("%s\n", reason);
        if (getenv("VMCLOAK_ARGV_REGEN"))
                assert_int_equal(write_file(err_path, got, strlen(got), 0644), 0);
        _cleanup_free_ char *want = NULL;
        assert_int_equal(read_full_file(err_path, &want, NULL), 0);
        if (!streq(want, got))
                fail_msg("%s: expected error '%s', got '%s'", name, want, got);
        assert_null(strchr(reason, '\n'));
        char **v = NULL;
        assert_int_equal(qemu_argv_build(d, run, p, &v), -EINVAL);
        assert_null(v);
}

/* One golden case: state is the case name. */
static void test_golden(void **state) {
        const char *name = *state;
        _cleanup_free_ char *dir = argv_dir();
        _cleanup_free_ char *args = strdup_printf("%s/%s.args", dir, name);
        _cleanup_free_ char *err = strdup_printf("%s/%s.err", dir, name);
        _cleanup_free_ char *conf = NULL;
        struct vm_def d;
        struct qemu_run run;
        enum qemu_argv_purpose p;
        load_case(name, &d, &run, &p, &conf);
        if (path_exists(err)) {
                test_golden_failure(name, &d, &run, p, err);
                vm_def_done(&d);
                qemu_run_done(&run);
                return;
        }
        char reason[256] = "";
        int r = qemu_argv_check(&d, &run, p, reason, sizeof reason);
        if (r < 0)
                fail_msg("%s: %s", name, reason);
        char **v = NULL;
        assert_int_equal(qemu_argv_build(&d, &run, p, &v), 0);
        _cleanup_free_ char *got = strv_join(v, "\n");
        _cleanup_free_ char *got_nl = strdup_printf("%s\n", got);
        if (p == QEMU_ARGV_START_ARGS) {
                const char *why = NULL;
                if (cuckoo_start_args_check(v, &why) < 0)
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
        vm_def_done(&d);
        qemu_run_done(&run);
}

/* VMCloak §6.5, >= 4.1, literally: the whole default list, word for word. */
static void test_vmcloak_default_literal(void **state) {
        (void)state;
        struct vm_def d;
        vm_def_init(&d);
        struct qemu_run run = { .version = { 4, 2, 1 }, .accel = VM_ACCEL_KVM };
        d.net.bridge = strdup("qemubr0");
        d.nic.mac = strdup("00:19:3c:1f:a2:07");
        char **v = NULL;
        assert_int_equal(qemu_argv_build(&d, &run, QEMU_ARGV_START_ARGS, &v), 0);
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
        run.version = (struct qemu_version){ 2, 11, 0 };
        assert_int_equal(qemu_argv_build(&d, &run, QEMU_ARGV_START_ARGS, &v), 0);
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
        vm_def_done(&d);
}

static void check_refused(const struct vm_def *d, const struct qemu_run *run, enum qemu_argv_purpose p,
                          const char *needle) {
        char reason[256] = "";
        assert_int_equal(qemu_argv_check(d, run, p, reason, sizeof reason), -EINVAL);
        if (!strstr(reason, needle))
                fail_msg("reason '%s' does not mention '%s'", reason, needle);
        char **v = NULL;
        assert_int_equal(qemu_argv_build(d, run, p, &v), -EINVAL);
        assert_null(v);
}

static void base_def(struct vm_def *d, struct qemu_run *run) {
        vm_def_init(d);
        *run = (struct qemu_run){ .version = { 7, 2, 0 }, .accel = VM_ACCEL_TCG };
        d->disk.path = strdup("/tmp/d.qcow2");
}

/* What the golden .err cases cannot express through the loader. */
static void test_def_refused(void **state) {
        (void)state;
        struct vm_def d;
        struct qemu_run run;

        base_def(&d, &run);
        d.tpm = true;
        check_refused(&d, &run, QEMU_ARGV_RUN, "swtpm");
        vm_def_done(&d);

        base_def(&d, &run);
        d.nvram = strdup("/tmp/vars.fd");
        check_refused(&d, &run, QEMU_ARGV_RUN, "UEFI");
        vm_def_done(&d);

        base_def(&d, &run);
        d.firmware = VM_FIRMWARE_UEFI;
        run.uefi_code = strdup("/usr/share/OVMF/OVMF_CODE_4M.fd");
        check_refused(&d, &run, QEMU_ARGV_RUN, "variable store");
        vm_def_done(&d);
        qemu_run_done(&run);

        base_def(&d, &run);
        assert_int_equal(vm_def_add_cpu_feature(&d, "bad,name", false), 0);
        check_refused(&d, &run, QEMU_ARGV_RUN, "CPU feature");
        vm_def_done(&d);

        base_def(&d, &run);
        assert_int_equal(vm_def_add_cdrom(&d, ""), 0);
        check_refused(&d, &run, QEMU_ARGV_RUN, "empty media path");
        vm_def_done(&d);

        base_def(&d, &run);
        run.fwd_port = 18000;
        check_refused(&d, &run, QEMU_ARGV_RUN, "user networking");
        vm_def_done(&d);

        /* A START_ARGS that Cuckoo3 would refuse because a path holds "-snapshot" renders for RUN. */
        base_def(&d, &run);
        assert_int_equal(vm_def_add_share(&d, "samples", "/vms/my-snapshot/samples", true), 0);
        char **v = NULL;
        assert_int_equal(qemu_argv_build(&d, &run, QEMU_ARGV_RUN, &v), 0);
        strv_free(v);
        check_refused(&d, &run, QEMU_ARGV_START_ARGS, "-snapshot");
        vm_def_done(&d);

        /* A serial log path is not rendered into START_ARGS (-serial null keeps the device). */
        base_def(&d, &run);
        d.serial.type = VM_SERIAL_FILE;
        d.serial.path = strdup("/vms/my-snapshot/serial.log");
        assert_int_equal(qemu_argv_check(&d, &run, QEMU_ARGV_START_ARGS, NULL, 0), 0);
        vm_def_done(&d);
}

/* A deep copy renders the same arguments and shares no memory with the original. */
static void test_def_copy(void **state) {
        (void)state;
        struct vm_def d, c;
        struct qemu_run run;
        _cleanup_free_ char *conf = NULL;
        enum qemu_argv_purpose p;
        load_case("full_cloak", &d, &run, &p, &conf);
        assert_int_equal(vm_def_add_cdrom(&d, "/srv/extra.iso"), 0);
        assert_int_equal(free_and_strdup(&d.cdroms[1].firmware, "1.01"), 0);
        assert_int_equal(vm_def_add_share(&d, "s", "/srv", false), 0);
        assert_int_equal(strv_extend(&d.id.smbios.oem_strings, "a,b"), 0);
        assert_int_equal(vm_def_copy(&d, &c), 0);
        char **a = NULL, **b = NULL;
        assert_int_equal(qemu_argv_build(&d, &run, p, &a), 0);
        vm_def_done(&d);
        assert_int_equal(qemu_argv_build(&c, &run, p, &b), 0);
        _cleanup_free_ char *ja = strv_join(a, " ");
        _cleanup_free_ char *jb = strv_join(b, " ");
        assert_string_equal(ja, jb);
        assert_non_null(strstr(jb, "-smbios type=11,value=a,,b"));
        /* The drive strings issue 13 added are copied too (not only shared pointers). */
        assert_non_null(strstr(jb, ",ver=CC43,wwn=0x5000c500a1b2c3d4"));
        assert_non_null(strstr(jb, "drive=cdrom,bootindex=1,model=PLDS DVD+-RW DU-8A5LH,serial=3524472 2N2125501154,ver=6D1M"));
        assert_non_null(strstr(jb, "drive=cdrom1,ver=1.01"));
        strv_free(a);
        strv_free(b);
        vm_def_done(&c);
        qemu_run_done(&run);
}

/* Cuckoo3 restores the same machine: START_ARGS of the fully cloaked PC are RUN's arguments
 * without the binary, the disk path being the placeholder (every cloaking knob identical). */
static void test_start_args_same_machine(void **state) {
        (void)state;
        struct vm_def d;
        struct qemu_run run;
        _cleanup_free_ char *conf = NULL;
        enum qemu_argv_purpose p;
        load_case("full_cloak", &d, &run, &p, &conf);
        _cleanup_strv_free_ char **r = NULL, **sa = NULL;
        assert_int_equal(qemu_argv_build(&d, &run, QEMU_ARGV_RUN, &r), 0);
        assert_int_equal(qemu_argv_build(&d, &run, QEMU_ARGV_START_ARGS, &sa), 0);
        assert_int_equal(strv_length(r), strv_length(sa) + 1);
        size_t differ = 0;
        for (size_t i = 0; sa[i]; i++)
                if (!streq(r[i + 1], sa[i])) {
                        assert_non_null(strstr(sa[i], VM_DISK_PLACEHOLDER));
                        differ++;
                }
        assert_int_equal(differ, 1);
        assert_int_equal(cuckoo_start_args_check(sa, NULL), 0);
        vm_def_done(&d);
        qemu_run_done(&run);
}

/* Cuckoo3's restore through the builder: placeholder escaped, forward moved, VNC and the
 * process knobs rendered by the same helpers as every other run. */
static void test_from_start_args(void **state) {
        (void)state;
        char *sa[] = { "-m", "512", "-netdev",
                       "type=user,net=10.0.2.0/24,restrict=on,hostfwd=tcp:127.0.0.1:18001-10.0.2.20:8000,id=net0",
                       "-drive", "file=%DISPOSABLE_DISK_PATH%,format=qcow2,if=none,id=disk", NULL };
        struct vm_vnc vnc = { .enabled = true, .display = 5, .listen = (char *)"::1" };
        struct qemu_run run = { .fwd_port = 23456, .qmp_socket = (char *)"/run/q,s.sock", .monitor_none = true,
                                .incoming = (char *)"exec:lz4 -c -d < '/vm/memory.snapshot'" };
        char **v = NULL;
        assert_int_equal(qemu_argv_from_start_args(sa, "/vms/a,b/disposable-1.qcow2", &vnc, &run, &v), 0);
        _cleanup_free_ char *j = strv_join(v, " ");
        assert_string_equal(j, "qemu-system-x86_64 -m 512 -netdev "
                               "type=user,net=10.0.2.0/24,restrict=on,hostfwd=tcp:127.0.0.1:23456-10.0.2.20:8000,id=net0 "
                               "-drive file=/vms/a,,b/disposable-1.qcow2,format=qcow2,if=none,id=disk "
                               "-vnc [::1]:5 -qmp unix:/run/q,,s.sock,server=on,wait=off -monitor none "
                               "-global migration.x-events=on -incoming exec:lz4 -c -d < '/vm/memory.snapshot'");
        strv_free(v);
        /* Writes discarded: the disk's -drive (only it) gets snapshot=on. */
        run.disk_snapshot = true;
        assert_int_equal(qemu_argv_from_start_args(sa, "/vms/a,b/disk.qcow2", &vnc, &run, &v), 0);
        free(j);
        j = strv_join(v, " ");
        assert_non_null(strstr(j, "-drive file=/vms/a,,b/disk.qcow2,format=qcow2,if=none,id=disk,snapshot=on -vnc"));
        assert_int_equal(strv_length(v), 17);
        run.disk_snapshot = false;
        strv_free(v);
        /* A forward asked of start_args that have none, and start_args Cuckoo3 refuses. */
        char *bridge[] = { "-netdev", "type=bridge,br=br0,id=net0", "-drive", "file=%DISPOSABLE_DISK_PATH%", NULL };
        assert_int_equal(qemu_argv_from_start_args(bridge, "/d.qcow2", NULL, &run, &v), -EINVAL);
        char *bad[] = { "-drive", "file=/x.qcow2", NULL };
        struct qemu_run plain = { 0 };
        assert_int_equal(qemu_argv_from_start_args(bad, "/d.qcow2", NULL, &plain, &v), -EINVAL);
}

/* snapshot --tpm: the TPM chardev of the run that wrote start_args points at this run's swtpm
 * socket (escaped); without a socket of this run it stays as it was (Cuckoo3's way: it fails). */
static void test_from_start_args_tpm(void **state) {
        (void)state;
        char *sa[] = { "-drive", "file=%DISPOSABLE_DISK_PATH%,format=qcow2,if=none,id=disk", "-chardev",
                       "socket,id=chrtpm,path=/tmp/gone/tpm.sock", "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                       "-device", "tpm-tis,tpmdev=tpm0", NULL };
        struct qemu_run run = { .tpm_socket = (char *)"/run/vm,1/tpm.sock" };
        char **v = NULL;
        assert_int_equal(qemu_argv_from_start_args(sa, "/d.qcow2", NULL, &run, &v), 0);
        _cleanup_free_ char *j = strv_join(v, " ");
        assert_non_null(strstr(j, " -chardev socket,id=chrtpm,path=/run/vm,,1/tpm.sock -tpmdev "));
        assert_null(strstr(j, "/tmp/gone"));
        strv_free(v);
        struct qemu_run none = { 0 };
        assert_int_equal(qemu_argv_from_start_args(sa, "/d.qcow2", NULL, &none, &v), 0);
        _cleanup_free_ char *k = strv_join(v, " ");
        assert_non_null(strstr(k, "path=/tmp/gone/tpm.sock"));
        strv_free(v);
}

static void test_start_args_rules(void **state) {
        (void)state;
        const char *why;
        char *ok[] = { "-m", "512", "-drive", "file=%DISPOSABLE_DISK_PATH%,format=qcow2", NULL };
        assert_int_equal(cuckoo_start_args_check(ok, &why), 0);
        assert_null(why);

        char *empty[] = { NULL };
        assert_int_equal(cuckoo_start_args_check(empty, &why), -EINVAL);
        assert_non_null(strstr(why, "empty"));
        assert_int_equal(cuckoo_start_args_check(NULL, &why), -EINVAL);

        char *binary[] = { "/usr/bin/qemu-system-x86_64", "-drive", "file=%DISPOSABLE_DISK_PATH%", NULL };
        assert_int_equal(cuckoo_start_args_check(binary, &why), -EINVAL);
        assert_non_null(strstr(why, "binary"));

        char *nodisk[] = { "-m", "512", "-drive", "file=/x.qcow2", NULL };
        assert_int_equal(cuckoo_start_args_check(nodisk, &why), -EINVAL);
        assert_non_null(strstr(why, "DISPOSABLE"));

        static const char *const bad[] = { "-incoming", "-monitor", "-qmp", "-loadvm", "-no-shutdown",
                                           "-qmp-pretty", "-snapshot" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *a[] = { "-drive", "file=%DISPOSABLE_DISK_PATH%", (char *)bad[i], "x", NULL };
                assert_int_equal(cuckoo_start_args_check(a, &why), -EINVAL);
                assert_non_null(strstr(why, bad[i]));
        }
        /* A plain substring test, as Cuckoo3 does: a file name is enough to be refused. */
        char *sub[] = { "-drive", "file=%DISPOSABLE_DISK_PATH%", "-serial", "file:/vm/x-snapshot.log", NULL };
        assert_int_equal(cuckoo_start_args_check(sub, &why), -EINVAL);
        /* The placeholder may be split across arguments only by the join's space. */
        char *split[] = { "%DISPOSABLE_DISK_PATH%", NULL };
        assert_int_equal(cuckoo_start_args_check(split, NULL), 0);
        /* Cuckoo3 joins with spaces, so neither a forbidden flag nor the placeholder can span
         * two arguments (the check looks at each argument alone, allocating nothing). */
        char *apart[] = { "-drive", "file=%DISPOSABLE_DISK_PATH%", "-no", "-shutdown", "x-snap", "shot", NULL };
        assert_int_equal(cuckoo_start_args_check(apart, &why), 0);
        char *halves[] = { "-drive", "file=%DISPOSABLE_", "DISK_PATH%", NULL };
        assert_int_equal(cuckoo_start_args_check(halves, &why), -EINVAL);
        assert_non_null(strstr(why, "DISPOSABLE"));
        /* The first forbidden flag in Cuckoo3's order is named, wherever it appears. */
        char *two[] = { "-drive", "file=%DISPOSABLE_DISK_PATH%", "-snapshot", "-monitor", "none", NULL };
        assert_int_equal(cuckoo_start_args_check(two, &why), -EINVAL);
        assert_non_null(strstr(why, "'-monitor'"));
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
        struct vm_def d;
        struct qemu_run run;
        base_def(&d, &run);
        d.vnc.enabled = true;
        assert_int_equal(vm_def_add_cdrom(&d, "/isos/win10.iso"), 0);
        assert_int_equal(vm_def_add_cdrom(&d, "/isos/extra.iso"), 0);
        run.qmp_socket = strdup("/run/q.sock");
        run.incoming = strdup("defer");
        run.pidfile = strdup("/run/q.pid");
        run.no_reboot = run.paused = run.monitor_none = true;
        char **v = NULL;
        assert_int_equal(qemu_argv_build(&d, &run, QEMU_ARGV_START_ARGS, &v), 0);
        _cleanup_free_ char *j = strv_join(v, " ");
        assert_null(strstr(j, "-vnc"));
        assert_null(strstr(j, "-qmp"));
        assert_null(strstr(j, "-monitor"));
        assert_null(strstr(j, "-incoming"));
        assert_null(strstr(j, "-pidfile"));
        assert_null(strstr(j, "-no-reboot"));
        assert_null(strstr(j, " -S"));
        assert_null(strstr(j, ".iso"));
        assert_null(strstr(j, "d.qcow2"));
        assert_non_null(strstr(j, "if=none,id=cdrom1,readonly=on"));
        strv_free(v);
        assert_int_equal(qemu_argv_build(&d, &run, QEMU_ARGV_RUN, &v), 0);
        free(j);
        j = strv_join(v, " ");
        assert_string_equal(v[0], "qemu-system-x86_64");
        assert_non_null(strstr(j, "-vnc 127.0.0.1:0"));
        assert_non_null(strstr(j, "-qmp unix:/run/q.sock,server=on,wait=off -monitor none -pidfile /run/q.pid "
                                  "-no-reboot -S -global migration.x-events=on -incoming defer"));
        assert_non_null(strstr(j, "file=/isos/win10.iso,format=raw,if=none,id=cdrom,readonly=on"));
        strv_free(v);
        vm_def_done(&d);
        qemu_run_done(&run);
}

static void test_loader_errors(void **state) {
        (void)state;
        static const char *const bad[] = {
                "bogus=1\n", "cpus=many\n", "net=wifi\n", "version=seven\n", "vnc=maybe\n",
                "share=nopath\n", "smbios.x=a=b\n", "smbios.1=novalue\n", "smbios.1=colour=red\n",
                "smbios.11=text=a\n", "cpu_flag=x=y\n", "cpu_flag=-\n", "audio=loud\n", "purpose=later\n",
                "just a line\n", "nic_subsystem=1028-07a1\n", "nic_subsystem=+028:07a1\n", "nic_subsystem=1028:7a1\n",
                "cpu_fms=6/158\n", "cpu_fms=6/-1/10\n", "cpu_fms=6/ 158/10\n", "disk_wwn=0xg\n", "disk_wwn=-1\n",
                "pointer=mouse\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct vm_def d;
                struct qemu_run run = { 0 };
                vm_def_init(&d);
                assert_int_equal(qemu_conf_load_string(bad[i], "t", &d, &run, NULL), -EINVAL);
                vm_def_done(&d);
                qemu_run_done(&run);
        }
        struct vm_def d;
        struct qemu_run run = { 0 };
        enum qemu_argv_purpose p = QEMU_ARGV_RUN;
        vm_def_init(&d);
        assert_int_equal(qemu_conf_load_string("# c\n\n  cpus = 3\r\nshare=a=/x,rw\nshare=b=/y\npurpose=start_args\n"
                                               "qmp=/q\nsmbios.1=product=A,B\nsmbios.1=sku=1\nsmbios.4=max-speed=3400\n"
                                               "cdrom_model=M\nextra_cdrom=/e.iso\ncpu_flag=+vmx\ncdrom_firmware=1.0\n"
                                               "nic_subsystem=1028:07A1\ncpu_fms=6/158/10\ndisk_wwn=0x5000c500a1b2c3d4\n"
                                               "pointer=ps2\nchassis_type=10\n",
                                               "t", &d, &run, &p),
                         0);
        assert_int_equal(d.cpus, 3);
        assert_int_equal(d.n_shares, 2);
        assert_false(d.shares[0].readonly);
        assert_true(d.shares[1].readonly);
        assert_string_equal(d.shares[0].path, "/x");
        assert_int_equal(p, QEMU_ARGV_START_ARGS);
        assert_string_equal(run.qmp_socket, "/q");
        assert_string_equal(d.id.smbios.system.product, "A,B");
        assert_string_equal(d.id.smbios.system.sku, "1");
        assert_int_equal(d.id.smbios.processor.max_speed_mhz, 3400);
        assert_int_equal(d.n_cdroms, 2);
        assert_string_equal(d.cdroms[0].model, "M");
        assert_string_equal(d.cdroms[1].model, "M");
        assert_string_equal(d.cdroms[0].firmware, "1.0");
        assert_string_equal(d.cdroms[1].firmware, "1.0");
        assert_int_equal(d.nic.subsystem_vendor, 0x1028);
        assert_int_equal(d.nic.subsystem_device, 0x07a1);
        assert_int_equal(d.id.cpu.family, 6);
        assert_int_equal(d.id.cpu.model_number, 158);
        assert_int_equal(d.id.cpu.stepping, 10);
        assert_true(d.disk.wwn == 0x5000c500a1b2c3d4ull);
        assert_int_equal(d.pointer, VM_POINTER_PS2);
        assert_int_equal(d.id.smbios.chassis.type, 10);
        assert_null(d.cdroms[0].media);
        assert_int_equal(d.id.cpu.n_features, 1);
        assert_true(d.id.cpu.features[0].enabled);
        vm_def_done(&d);
        qemu_run_done(&run);
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
                cmocka_unit_test(test_def_refused),
                cmocka_unit_test(test_def_copy),
                cmocka_unit_test(test_start_args_same_machine),
                cmocka_unit_test(test_from_start_args_tpm),
                cmocka_unit_test(test_from_start_args),
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
