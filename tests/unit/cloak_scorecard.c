/* The scorecard: detector output parsed (each kind of bad line named by its number), the JSON
 * kept in the repository read back, worse, the printed table, the limits table, and the linux
 * detector's real output on this host parsed under BusyBox sh, its emit() cutting a long list. */
#include "test.h"

#include <errno.h>
#include <sys/wait.h>

#include "cloak/scorecard.h"
#include "core/log.h"
#include "core/util.h"

static const char good[] = "vmcloak-detector linux 1\n"
                           "dmi.sys_vendor\tdetected\tQEMU\n"
                           "cpuid.hypervisor\thidden\tno hypervisor flag\n"
                           "fw_cfg.acpi\tdetected\t/sys/bus/acpi/devices/QEMU0002:00\n"
                           "tool.virt_what\tskipped\t\n";

static void test_parse_good(void **state) {
        (void)state;
        struct scorecard s;
        assert_int_equal(scorecard_parse(good, &s), 0);
        assert_string_equal(s.os, "linux");
        assert_string_equal(s.detector_version, "1");
        assert_int_equal(s.n_checks, 4);
        assert_int_equal(s.hidden, 1);
        assert_int_equal(s.detected, 2);
        assert_int_equal(s.skipped, 1);
        assert_string_equal(s.checks[0].name, "dmi.sys_vendor");
        assert_int_equal(s.checks[0].verdict, CLOAK_DETECTED);
        assert_string_equal(s.checks[0].seen, "QEMU");
        assert_string_equal(s.checks[3].seen, "");
        scorecard_done(&s);
        assert_null(s.checks);

        /* cscript's CRLF, and no line end after the last line */
        assert_int_equal(scorecard_parse("vmcloak-detector windows 2.1\r\nwmi.bios\thidden\tDell Inc.\r\n"
                                         "reg.disk\tdetected\tQEMU HARDDISK", &s), 0);
        assert_string_equal(s.os, "windows");
        assert_string_equal(s.checks[0].seen, "Dell Inc.");
        assert_string_equal(s.checks[1].seen, "QEMU HARDDISK");
        scorecard_done(&s);
}

struct bad_case {
        const char *output;
        const char *message;   /* what stderr must hold */
};

static const struct bad_case *cur_bad;

static int parse_bad(void *arg) {
        struct scorecard *s = arg;
        return scorecard_parse(cur_bad->output, s);
}

static void test_parse_errors(void **state) {
        (void)state;
        char long_seen[300];
        snprintf(long_seen, sizeof long_seen, "vmcloak-detector linux 1\na\thidden\t%0201d\n", 0);
        const struct bad_case cases[] = {
                { "", "detector output line 1: the detector printed nothing" },
                { "hello\n", "detector output line 1: 'hello' is not 'vmcloak-detector OS VERSION'" },
                { "vmcloak-detector linux\n", "detector output line 1: 'vmcloak-detector linux' is not" },
                { "vmcloak-detector linux 1\n", "detector output line 2: no checks after the first line" },
                { "vmcloak-detector linux 1\na\thidden\tx\nb hidden x\n", "detector output line 3: 'b hidden x' is not CHECK<tab>VERDICT<tab>SEEN" },
                { "vmcloak-detector linux 1\nDMI.vendor\thidden\tx\n", "detector output line 2: check name 'DMI.vendor' is not [a-z0-9_.]+" },
                { "vmcloak-detector linux 1\na\thidden\tx\nb\thidden\tx\na\tdetected\ty\n", "detector output line 4: check a appears twice" },
                { "vmcloak-detector linux 1\na\tmaybe\tx\n", "detector output line 2: verdict 'maybe' is not hidden, detected or skipped" },
                { "vmcloak-detector linux 1\na\thidden\tx\ty\n", "detector output line 2: check a: a tab in what it saw" },
                { long_seen, "detector output line 2: check a: what it saw is longer than 200 bytes" },
                { "vmcloak-detector linux 1\na\thidden\tx\n\nb\thidden\tx\n", "detector output line 3: empty line" },
                { "Microsoft (R) Windows Script Host\nvmcloak-detector windows 1\n", "detector output line 1: 'Microsoft (R)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                cur_bad = &cases[i];
                struct scorecard s = { 0 };
                char *err = NULL;
                int r = test_capture(STDERR_FILENO, parse_bad, &s, &err);
                if (r != -EBADMSG || !strstr(err, cases[i].message))
                        fail_msg("case %zu: r=%d, stderr '%s', want '%s'", i, r, err, cases[i].message);
                assert_int_equal(strchr(err, '\n') - err + 1, strlen(err));   /* one line */
                assert_null(s.checks);
                free(err);
        }
}

#define HW_HINT "\"hint\":\"init --hardware NAME (vmcloak list hardware)\"}"
static const char good_json[] =
        "{\"name\":null,\"os\":\"linux\",\"detector_version\":\"1\",\"hidden\":1,\"detected\":2,\"skipped\":1,"
        "\"checks\":["
        "{\"name\":\"dmi.sys_vendor\",\"verdict\":\"detected\",\"seen\":\"QEMU\",\"limit\":null," HW_HINT ","
        "{\"name\":\"cpuid.hypervisor\",\"verdict\":\"hidden\",\"seen\":\"no hypervisor flag\",\"limit\":null,"
        HW_HINT ","
        "{\"name\":\"fw_cfg.acpi\",\"verdict\":\"detected\",\"seen\":\"/sys/bus/acpi/devices/QEMU0002:00\","
        "\"limit\":\"fw_cfg's ACPI device QEMU0002 (q35 always has fw_cfg): a patched QEMU renaming its _HID\","
        "\"hint\":null},"
        "{\"name\":\"tool.virt_what\",\"verdict\":\"skipped\",\"seen\":\"\",\"limit\":null,"
        "\"hint\":\"follows the dmi/cpuid checks above: hide those (init --hardware NAME)\"}]}";

static void test_json(void **state) {
        (void)state;
        struct scorecard s, back;
        char *json = NULL, *again = NULL;
        assert_int_equal(scorecard_parse(good, &s), 0);
        assert_int_equal(scorecard_to_json(&s, &json), 0);
        assert_string_equal(json, good_json);
        assert_int_equal(scorecard_from_json(json, &back), 0);
        assert_int_equal(scorecard_to_json(&back, &again), 0);
        assert_string_equal(again, json);
        assert_int_equal(back.detected, 2);
        assert_int_equal(back.n_checks, 4);
        assert_null(back.name);
        free(json);
        free(again);
        scorecard_done(&back);

        /* a named scorecard (cloakcheck VM|IMAGE) keeps its name through the repository */
        assert_non_null(s.name = strdup("win10vm_1"));
        assert_int_equal(scorecard_to_json(&s, &json), 0);
        assert_true(startswith(json, "{\"name\":\"win10vm_1\",\"os\":\"linux\","));
        assert_int_equal(scorecard_from_json(json, &back), 0);
        assert_string_equal(back.name, "win10vm_1");
        free(json);
        scorecard_done(&back);
        scorecard_done(&s);
        assert_null(s.name);

        /* a scorecard stored by an earlier vmcloak: no name, no limit, no hint */
        assert_int_equal(scorecard_from_json("{\"os\":\"linux\",\"detector_version\":\"1\",\"checks\":"
                                             "[{\"name\":\"fw_cfg.acpi\",\"verdict\":\"detected\",\"seen\":\"x\"}]}",
                                             &back), 0);
        assert_null(back.name);
        assert_int_equal(scorecard_to_json(&back, &json), 0);
        assert_non_null(strstr(json, "\"limit\":\"fw_cfg's ACPI device QEMU0002"));
        free(json);
        scorecard_done(&back);

        /* counts come from the checks, not from the stored numbers */
        assert_int_equal(scorecard_from_json("{\"os\":\"linux\",\"detector_version\":\"1\",\"hidden\":9,\"checks\":"
                                             "[{\"name\":\"a\",\"verdict\":\"detected\",\"seen\":\"\"}]}", &back), 0);
        assert_int_equal(back.hidden, 0);
        assert_int_equal(back.detected, 1);
        scorecard_done(&back);

        const char *bad[] = {
                "", "not json", "[]", "{\"os\":\"linux\",\"checks\":[]}",
                "{\"os\":\"linux\",\"detector_version\":\"1\"}",
                "{\"os\":\"linux\",\"detector_version\":\"1\",\"checks\":[{\"name\":\"a\",\"verdict\":\"maybe\",\"seen\":\"\"}]}",
                "{\"os\":\"linux\",\"detector_version\":\"1\",\"checks\":[{\"name\":\"a\",\"verdict\":\"hidden\"}]}",
                ("{\"os\":\"linux\",\"detector_version\":\"1\",\"checks\":[{\"name\":\"a\",\"verdict\":\"hidden\",\"seen\":\"\"},"
                 "{\"name\":\"a\",\"verdict\":\"hidden\",\"seen\":\"\"}]}"),
                "{\"os\":\"linux\",\"detector_version\":\"1\",\"checks\":[{\"name\":\"A B\",\"verdict\":\"hidden\",\"seen\":\"\"}]}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct scorecard b = { 0 };
                if (scorecard_from_json(bad[i], &b) != -EINVAL)
                        fail_msg("accepted bad JSON %zu: %s", i, bad[i]);
                assert_null(b.checks);
        }
}

static void test_worse(void **state) {
        (void)state;
        struct scorecard base, s;
        const char *which = NULL;
        assert_int_equal(scorecard_parse("vmcloak-detector linux 1\na\thidden\t\nb\tdetected\t\nc\tskipped\t\nd\thidden\t\n",
                                         &base), 0);
        /* the same, or better, or changed only where base was not hidden: not worse */
        assert_int_equal(scorecard_parse("vmcloak-detector linux 1\na\thidden\t\nb\thidden\t\nc\tdetected\t\n"
                                         "e\tdetected\t\n", &s), 0);
        assert_false(scorecard_worse(&s, &base, &which));
        assert_false(scorecard_worse(&base, &base, &which));
        assert_null(which);
        scorecard_done(&s);
        /* a check hidden in base and detected now: worse, the first such named */
        assert_int_equal(scorecard_parse("vmcloak-detector linux 1\nb\tdetected\t\nd\tdetected\tx\na\tdetected\ty\n",
                                         &s), 0);
        assert_true(scorecard_worse(&s, &base, &which));
        assert_string_equal(which, "d");
        assert_true(scorecard_worse(&s, &base, NULL));
        scorecard_done(&s);
        scorecard_done(&base);
}

static struct scorecard *print_sc;

static int do_print(void *arg) {
        return scorecard_print(print_sc, stdout, *(bool *)arg);
}

static void test_print(void **state) {
        (void)state;
        struct scorecard s;
        assert_int_equal(scorecard_parse(good, &s), 0);
        print_sc = &s;
        bool color = false;
        char *out = NULL;
        assert_int_equal(test_capture(STDOUT_FILENO, do_print, &color, &out), 0);
        assert_string_equal(out,
                            "linux detector 1\n"
                            "  detected  dmi.sys_vendor    QEMU\n"
                            "  hidden    cpuid.hypervisor  no hypervisor flag\n"
                            "  detected* fw_cfg.acpi       /sys/bus/acpi/devices/QEMU0002:00\n"
                            "  skipped   tool.virt_what    \n"
                            "1 hidden, 2 detected, 1 skipped\n"
                            "* not hidden by a QEMU 7.2 command line; what it would take:\n"
                            "  fw_cfg.acpi       fw_cfg's ACPI device QEMU0002 (q35 always has fw_cfg): a patched QEMU "
                            "renaming its _HID\n"
                            "detected, and how to hide it:\n"
                            "  dmi.sys_vendor    init --hardware NAME (vmcloak list hardware)\n");
        free(out);
        color = true;
        assert_int_equal(test_capture(STDOUT_FILENO, do_print, &color, &out), 0);
        assert_non_null(strstr(out, "  \033[31mdetected\033[0m* fw_cfg.acpi "));
        assert_non_null(strstr(out, "  \033[32mhidden\033[0m    cpuid.hypervisor "));
        free(out);
        scorecard_done(&s);
}

static const char *const limited[] = { "fw_cfg.acpi", "acpi.waet", "os.uptime", "pci.vga", "pci.subsystem", "bios.rom",
                                       "acpi.dsdt", "acpi.creator_id", "cdrom.model", "sound.hda_codec" };
/* The Windows detector's (data/cloak/detect-windows.js) limits: the CD's INQUIRY strings, the ACPI
 * tables' contents and WAET, the SMBIOS types QEMU does not build. */
static const char *const limited_windows[] = { "reg.scsi_identifier.cdrom", "wmi.pnp.cdrom", "wmi.cdrom",
                                               "acpi.tables", "acpi.waet", "os.uptime",
                                               "wmi.cache_memory", "wmi.voltage_probe", "wmi.slot", "wmi.fan",
                                               "wmi.pnp.acpi" };

static void test_limits_and_names(void **state) {
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(limited); i++)
                if (!cloak_check_limit(limited[i]))
                        fail_msg("%s has no limit", limited[i]);
        for (size_t i = 0; i < ELEMENTSOF(limited_windows); i++)
                if (!cloak_check_limit(limited_windows[i]))
                        fail_msg("%s has no limit", limited_windows[i]);
        const char *hideable[] = { "dmi.sys_vendor", "fw_cfg.sysfs", "cpuid.hypervisor", "cpu.model_name", "acpi.oem_id",
                                   "acpi.table_id", "disk.model", "net.mac", "pci.nic_subsystem", "tool.virt_what",
                                   "tool.systemd_detect_virt", "reg.scsi_identifier", "wmi.pnp.names",
                                   "smbios.vm_bit", "smbios.chassis_type", "display.monitor",
                                   "nonsense" };
        for (size_t i = 0; i < ELEMENTSOF(hideable); i++)
                if (cloak_check_limit(hideable[i]))
                        fail_msg("%s has a limit", hideable[i]);
        assert_null(cloak_check_limit(NULL));
        /* a hint for each hideable check vmcloak has a knob for, none where the limits note speaks */
        const char *const hw[] = { "dmi.sys_vendor", "dmi.bios_vm_bit", "cpuid.hypervisor", "cpu.model_name",
                                   "acpi.oem_id", "acpi.table_id", "disk.model", "pci.nic_subsystem",
                                   "smbios.vm_bit", "wmi.bios.serial", "reg.system_bios_version", "reg.cpu.vendor" };
        for (size_t i = 0; i < ELEMENTSOF(hw); i++)
                if (!cloak_check_hint(hw[i]) || !streq(cloak_check_hint(hw[i]), "init --hardware NAME (vmcloak list hardware)"))
                        fail_msg("%s: hint %s", hw[i], cloak_check_hint(hw[i]) ? cloak_check_hint(hw[i]) : "(none)");
        assert_non_null(strstr(cloak_check_hint("hw.cpus"), "init --cpus 2"));
        assert_non_null(strstr(cloak_check_hint("hw.cpu_count"), "init --cpus 2"));
        assert_non_null(strstr(cloak_check_hint("hw.ram"), "init --ramsize 4096"));
        assert_non_null(strstr(cloak_check_hint("hw.disk_size"), "init --hddsize 100"));
        assert_non_null(strstr(cloak_check_hint("tool.systemd_detect_virt"), "follows the dmi/cpuid checks"));
        assert_non_null(strstr(cloak_check_hint("tool.virt_what"), "follows the dmi/cpuid checks"));
        assert_non_null(strstr(cloak_check_hint("input.devices"), "pointer: ps2"));
        for (size_t i = 0; i < ELEMENTSOF(limited); i++)
                if (cloak_check_hint(limited[i]))
                        fail_msg("%s has a limit and a hint", limited[i]);
        for (size_t i = 0; i < ELEMENTSOF(limited_windows); i++)
                if (cloak_check_hint(limited_windows[i]))
                        fail_msg("%s has a limit and a hint", limited_windows[i]);
        assert_null(cloak_check_hint("nonsense"));
        assert_null(cloak_check_hint("dmi"));   /* a prefix matches only with its dot */
        assert_null(cloak_check_hint(NULL));
        assert_string_equal(cloak_verdict_to_string(CLOAK_HIDDEN), "hidden");
        assert_string_equal(cloak_verdict_to_string(CLOAK_DETECTED), "detected");
        assert_string_equal(cloak_verdict_to_string(CLOAK_SKIPPED), "skipped");
        assert_null(cloak_verdict_to_string((enum cloak_verdict)7));
}

static int detector_for_plan9(void *arg) {
        (void)arg;
        char *p = NULL;
        const char *g = NULL;
        return cloak_detector_for("plan9", &p, &g);
}

static void test_detector_for(void **state) {
        (void)state;
        char *p = NULL, *err = NULL;
        const char *g = NULL;
        assert_int_equal(cloak_detector_for("linux", &p, &g), 0);
        assert_true(endswith(p, "/cloak/detect-linux.sh"));
        assert_string_equal(g, "detect.sh");
        assert_int_equal(access(p, R_OK), 0);
        free(p);
        assert_int_equal(test_capture(STDERR_FILENO, detector_for_plan9, NULL, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err, "no cloak detector for plan9 guests"));
        free(err);
        /* a data folder without the detector; then the test run's own again (tests/meson.build
         * sets one when no build path is compiled in) */
        const char *e = getenv("VMCLOAK_DATADIR");
        _cleanup_free_ char *saved = e ? strdup(e) : NULL;
        char *d = test_tmpdir();
        setenv("VMCLOAK_DATADIR", d, 1);
        log_set_level(LOG_LEVEL_ERROR + 1);
        assert_int_equal(cloak_detector_for("linux", &p, &g), -ENOENT);
        log_set_level(LOG_LEVEL_INFO);
        if (saved)
                setenv("VMCLOAK_DATADIR", saved, 1);
        else
                unsetenv("VMCLOAK_DATADIR");
        rmdir(d);
        free(d);
}

/* The shipped detector, run on this host under BusyBox sh: whatever the host is, its output has
 * the scorecard's format and the checks the limits table names. */
static void test_detector_on_host(void **state) {
        (void)state;
        if (access("/bin/busybox", X_OK) < 0)
                skip();
        char *path = NULL;
        const char *g;
        assert_int_equal(cloak_detector_for("linux", &path, &g), 0);
        char *cmd = strdup_printf("/bin/busybox sh %s 2>/dev/null", path);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        char *out = NULL;
        size_t cap = 0, len = 0;
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
                out = realloc(out, cap = len + n + 1);
                memcpy(out + len, buf, n);
                len += n;
                out[len] = 0;
        }
        int st = pclose(f);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_non_null(out);
        struct scorecard s;
        if (scorecard_parse(out, &s) != 0)
                fail_msg("the detector's output does not parse:\n%s", out);
        assert_string_equal(s.os, "linux");
        /* the list, and every check of the limits table */
        const char *expect[] = { "dmi.sys_vendor", "dmi.product_name", "dmi.board_vendor", "dmi.bios_vendor",
                                 "dmi.bios_version", "dmi.chassis_vendor", "cpuid.hypervisor",
                                 "cpuid.hypervisor_vendor", "cpu.model_name", "acpi.oem_id", "acpi.table_id",
                                 "pci.vendor", "pci.nic_subsystem", "disk.model", "cdrom.model", "net.mac",
                                 "input.devices", "kernel.log", "clock.source", "tool.systemd_detect_virt",
                                 "tool.virt_what" };
        for (size_t i = 0; i < ELEMENTSOF(expect) + ELEMENTSOF(limited); i++) {
                const char *want = i < ELEMENTSOF(expect) ? expect[i] : limited[i - ELEMENTSOF(expect)];
                bool found = false;
                for (size_t c = 0; c < s.n_checks; c++)
                        found = found || streq(s.checks[c].name, want);
                if (!found)
                        fail_msg("the detector has no check %s", want);
        }
        scorecard_done(&s);
        free(out);
        free(cmd);
        free(path);
}

/* The detector's emit(), taken out of the shipped script and run under BusyBox sh: a list longer
 * than 200 bytes ends at a whole item and " ...", and the line still parses. */
static void test_detector_emit_cut(void **state) {
        (void)state;
        if (access("/bin/busybox", X_OK) < 0)
                skip();
        char *path = NULL;
        const char *g;
        assert_int_equal(cloak_detector_for("linux", &path, &g), 0);
        /* 40 items of 33 bytes, as pci.subsystem lists the built-in devices; one item without spaces */
        char *cmd = strdup_printf("/bin/busybox sh -c 'eval \"$(sed -n \"/^emit() {/,/^}/p\" %s)\"; "
                                  "echo vmcloak-detector linux 1; "
                                  "emit pci.subsystem detected \"$(i=0; while [ $i -lt 40 ]; do "
                                  "printf \"0000:00:%%02d.0=8086:2918/1af4:1100 \" $i; i=$((i+1)); done)\"; "
                                  "emit a detected \"$(printf %%0250d 0)\"; emit b hidden \"one\ttwo\"'",
                                  path);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        char out[4096];
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = 0;
        assert_int_equal(pclose(f), 0);
        struct scorecard s;
        if (scorecard_parse(out, &s) != 0)
                fail_msg("emit's output does not parse:\n%s", out);
        assert_int_equal(s.n_checks, 3);
        const char *seen = s.checks[0].seen;
        assert_true(strlen(seen) <= 200);
        assert_true(endswith(seen, "=8086:2918/1af4:1100 ..."));
        assert_true(startswith(seen, "0000:00:00.0=8086:2918/1af4:1100 0000:00:01.0="));
        assert_true(strlen(s.checks[1].seen) == 200 && endswith(s.checks[1].seen, "000 ..."));
        assert_string_equal(s.checks[2].seen, "one two");
        scorecard_done(&s);
        free(cmd);
        free(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_good),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_worse),
                cmocka_unit_test(test_print),
                cmocka_unit_test(test_limits_and_names),
                cmocka_unit_test(test_detector_for),
                cmocka_unit_test(test_detector_on_host),
                cmocka_unit_test(test_detector_emit_cut),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
