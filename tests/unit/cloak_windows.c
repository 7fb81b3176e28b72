/* Unit tests: the Windows detector's output as captured under Wine (tests/fixtures/
 * cloak-wine-windows.txt, CRLF line ends as cscript writes them) through the scorecard parser
 * and JSON; tests/e2e/cloak_wine.sh checks the detector still prints these checks in this order. */
#include "test.h"

#include <errno.h>

#include "cloak/scorecard.h"
#include "core/util.h"

static char *fixture(void) {
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        _cleanup_free_ char *path = strdup_printf("%s/tests/fixtures/cloak-wine-windows.txt", root ? root : ".");
        char *text = NULL;
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        return text;
}

static const struct cloak_check *find(const struct scorecard *s, const char *name) {
        for (size_t i = 0; i < s->n_checks; i++)
                if (streq(s->checks[i].name, name))
                        return &s->checks[i];
        return NULL;
}

static void test_wine_capture(void **state) {
        (void)state;
        _cleanup_free_ char *text = fixture();
        assert_non_null(strstr(text, "\r\n"));
        struct scorecard s = { 0 };
        assert_int_equal(scorecard_parse(text, &s), 0);
        assert_string_equal(s.os, "windows");
        assert_string_equal(s.detector_version, "1");
        assert_int_equal(s.n_checks, 57);
        assert_int_equal(s.hidden + s.detected + s.skipped, s.n_checks);
        /* env.wine, wmi.bios.serial ("0"), os.uptime (Wine's boot is its wineserver's start) */
        assert_int_equal(s.detected, 3);
        assert_int_equal(s.skipped, 16);
        const struct cloak_check *c = find(&s, "env.wine");
        assert_non_null(c);
        assert_int_equal(c->verdict, CLOAK_DETECTED);
        c = find(&s, "wmi.fan");
        assert_int_equal(c->verdict, CLOAK_SKIPPED);
        assert_string_equal(c->seen, "WMI class Win32_Fan not found (0x80041002)");
        /* The checks a VM's false "hidden" came from, each apart: the CD from the disks, the ACPI
         * tables' bytes, SMBIOS read raw, the monitor, the classes QEMU leaves empty. */
        c = find(&s, "reg.scsi_identifier.cdrom");
        assert_non_null(c);
        assert_int_equal(c->verdict, CLOAK_SKIPPED);
        c = find(&s, "acpi.tables");
        assert_int_equal(c->verdict, CLOAK_SKIPPED);
        assert_string_equal(c->seen, "no REG_BINARY table under HKEY_LOCAL_MACHINE\\HARDWARE\\ACPI");
        c = find(&s, "smbios.vm_bit");
        assert_int_equal(c->verdict, CLOAK_SKIPPED);
        assert_string_equal(c->seen, "no MSSmBios_RawSMBiosTables SMBiosData");
        c = find(&s, "wmi.slot");
        assert_string_equal(c->seen, "WMI class CIM_Slot not found (0x80041002)");
        c = find(&s, "os.uptime");
        assert_int_equal(c->verdict, CLOAK_DETECTED);
        assert_non_null(strstr(c->seen, " s [< 12 minutes]"));
        c = find(&s, "display.monitor");
        assert_int_equal(c->verdict, CLOAK_HIDDEN);
        assert_non_null(strstr(c->seen, "DISPLAY\\Default_Monitor"));
        for (const char *const *n = (const char *const[]){ "acpi.waet", "smbios.chassis_type", "wmi.pnp.cdrom",
                                                             "wmi.cache_memory", "wmi.voltage_probe", NULL };
             *n; n++)
                if (!find(&s, *n))
                        fail_msg("%s is missing", *n);
        c = find(&s, "wmi.computer_system");
        assert_int_equal(c->verdict, CLOAK_HIDDEN);
        assert_string_equal(c->seen, "The Wine Project | Wine");   /* no "\r" left on the last field */
        /* Through JSON and back: the same checks. */
        _cleanup_free_ char *json = NULL;
        assert_int_equal(scorecard_to_json(&s, &json), 0);
        struct scorecard back = { 0 };
        assert_int_equal(scorecard_from_json(json, &back), 0);
        assert_int_equal(back.n_checks, s.n_checks);
        for (size_t i = 0; i < s.n_checks; i++) {
                assert_string_equal(back.checks[i].name, s.checks[i].name);
                assert_int_equal(back.checks[i].verdict, s.checks[i].verdict);
                assert_string_equal(back.checks[i].seen, s.checks[i].seen);
        }
        scorecard_done(&back);
        scorecard_done(&s);
}

/* A detector line broken the way a careless edit of the script would break it. */
static void test_broken_line(void **state) {
        (void)state;
        struct scorecard s = { 0 };
        assert_int_equal(scorecard_parse("vmcloak-detector windows 1\r\nreg.cpu.name\thidden\tAMD\r\n"
                                         "wmi.Fan\tskipped\tno\r\n", &s), -EBADMSG);
        assert_int_equal(scorecard_parse("vmcloak-detector windows 1\r\nreg.cpu.name\tmaybe\tAMD\r\n", &s), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_wine_capture),
                cmocka_unit_test(test_broken_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
