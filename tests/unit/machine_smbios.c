/* Unit tests: SMBIOS type 0 and type 3 structures checked byte by byte against DSP0134 3.6, then
 * decoded by the real dmidecode from a dump file (an SMBIOS 3.0 entry point + the table). */
#include "test.h"

#include <errno.h>

#include "core/util.h"
#include "machine/smbios.h"

static struct vm_smbios dell(void) {
        return (struct vm_smbios){
                .bios = { .vendor = "Dell Inc.", .version = "1.22.0", .date = "08/10/2022", .release = "1.22" },
                .chassis = { .manufacturer = "Dell Inc.", .serial = "7QK4F72", .sku = "085A", .type = 3 },
        };
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint64_t le64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

/* String number n (from 1) of a structure's string-set, NULL when there is no such string. */
static const char *string_of(const uint8_t *b, size_t size, unsigned n) {
        const char *s = (const char *)b + b[1];
        for (unsigned i = 1; n && (const uint8_t *)s < b + size && *s; i++, s += strlen(s) + 1)
                if (i == n)
                        return s;
        return NULL;
}

static void test_bios_bytes(void **state) {
        (void)state;
        struct vm_smbios m = dell();
        _cleanup_free_ uint8_t *b = NULL;
        size_t n;
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_BIOS, 0, &b, &n), 0);
        assert_int_equal(b[0], 0);                      /* type */
        assert_int_equal(b[1], 0x1A);                   /* length: up to Extended BIOS ROM Size */
        assert_int_equal(le16(b + 2), 0x0000);          /* handle: QEMU's own for type 0 */
        assert_string_equal(string_of(b, n, b[0x04]), "Dell Inc.");
        assert_string_equal(string_of(b, n, b[0x05]), "1.22.0");
        assert_int_equal(le16(b + 0x06), 0xF000);       /* starting address segment */
        assert_string_equal(string_of(b, n, b[0x08]), "08/10/2022");
        assert_int_equal(b[0x04], 1);                   /* strings numbered in field order */
        assert_int_equal(b[0x05], 2);
        assert_int_equal(b[0x08], 3);
        assert_int_equal(b[0x09], 0xFF);                /* ROM size: see the extended field */
        uint64_t ch = le64(b + 0x0A);
        assert_false(ch & (1u << 3));                   /* not "characteristics not supported" (QEMU's) */
        assert_true(ch & (1u << 7));                    /* PCI */
        assert_true(ch & (1u << 11));                   /* flash upgradeable */
        assert_true(ch & (1u << 15));                   /* boot from CD */
        assert_int_equal(b[0x12], 0x03);                /* ACPI, USB legacy; no smart battery on a desktop */
        assert_int_equal(b[0x13], 0x07);                /* boot spec, network boot, targeted content */
        assert_false(b[0x13] & 0x10);                   /* no virtual machine bit */
        assert_int_equal(b[0x14], 1);                   /* release 1.22 */
        assert_int_equal(b[0x15], 22);
        assert_int_equal(b[0x16], 0xFF);                /* no embedded controller */
        assert_int_equal(b[0x17], 0xFF);
        assert_int_equal(le16(b + 0x18), 16);           /* 16 MB */
        /* Three strings and the double NUL: nothing after it. */
        size_t strings = strlen("Dell Inc.") + 1 + strlen("1.22.0") + 1 + strlen("08/10/2022") + 1;
        assert_int_equal(n, 0x1A + strings + 1);
        assert_int_equal(b[n - 1], 0);
        assert_int_equal(b[n - 2], 0);
}

static void test_bios_uefi_notebook(void **state) {
        (void)state;
        struct vm_smbios m = dell();
        m.chassis.type = 10;
        _cleanup_free_ uint8_t *b = NULL;
        size_t n;
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_UEFI, 0, &b, &n), 0);
        assert_int_equal(b[0x13], 0x0F);                /* UEFI bit (3), still no VM bit (4) */
        assert_int_equal(b[0x12], 0x83);                /* smart battery on a notebook */
}

static void test_bios_unset_strings(void **state) {
        (void)state;
        struct vm_smbios m = { .bios = { .vendor = "", .version = "A07" } };
        _cleanup_free_ uint8_t *b = NULL;
        size_t n;
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_BIOS, 0, &b, &n), 0);
        assert_int_equal(b[0x04], 0);                   /* empty string: number 0, not in the set */
        assert_int_equal(b[0x05], 1);
        assert_int_equal(b[0x08], 0);
        assert_int_equal(b[0x14], 0xFF);                /* no release: "not supported" */
        assert_int_equal(b[0x15], 0xFF);
        assert_int_equal(n, 0x1A + 4 + 1);
        assert_memory_equal(b + 0x1A, "A07\0\0", 5);
}

static void test_chassis_bytes(void **state) {
        (void)state;
        struct vm_smbios m = dell();
        _cleanup_free_ uint8_t *b = NULL;
        size_t n;
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_BIOS, 3, &b, &n), 0);
        assert_int_equal(b[0], 3);
        assert_int_equal(b[1], 0x16);
        assert_int_equal(le16(b + 2), 0x0300);          /* QEMU's type 2 names its chassis by it */
        assert_string_equal(string_of(b, n, b[0x04]), "Dell Inc.");
        assert_int_equal(b[0x05], 3);                   /* desktop, no lock bit */
        assert_int_equal(b[0x06], 0);                   /* version unset */
        assert_string_equal(string_of(b, n, b[0x07]), "7QK4F72");
        assert_int_equal(b[0x08], 0);                   /* asset unset */
        assert_int_equal(b[0x09], 3);                   /* boot-up state safe */
        assert_int_equal(b[0x0A], 3);                   /* power supply safe */
        assert_int_equal(b[0x0B], 3);                   /* thermal safe */
        assert_int_equal(b[0x0C], 3);                   /* security none */
        assert_memory_equal(b + 0x0D, "\0\0\0\0", 4);   /* OEM-defined */
        assert_int_equal(b[0x11], 0);                   /* height unspecified */
        assert_int_equal(b[0x12], 1);                   /* one power cord */
        assert_int_equal(b[0x13], 0);                   /* no contained elements */
        assert_int_equal(b[0x14], 0);
        assert_string_equal(string_of(b, n, b[0x15]), "085A");
        assert_int_equal(b[0x15], 3);
        assert_int_equal(n, 0x16 + strlen("Dell Inc.") + 1 + strlen("7QK4F72") + 1 + strlen("085A") + 1 + 1);
}

static void test_chassis_no_strings(void **state) {
        (void)state;
        struct vm_smbios m = { .chassis = { .type = 10 } };
        _cleanup_free_ uint8_t *b = NULL;
        size_t n;
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_BIOS, 3, &b, &n), 0);
        assert_int_equal(n, 0x16 + 2);                  /* an empty string-set is two NULs */
        assert_int_equal(b[0x05], 10);
}

static void test_refused(void **state) {
        (void)state;
        struct vm_smbios m = dell();
        uint8_t *b = NULL;
        size_t n;
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_BIOS, 1, &b, &n), -EINVAL);
        static const char *const bad[] = { "1", "1.256", "1.2.3", "x.1", "-1.2", "1.2 ", "", "1.+5", "1. 5", "1.", "0001.2" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                m.bios.release = (char *)bad[i];
                assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_BIOS, 0, &b, &n), -EINVAL);
        }
        m.bios.release = "255.0";
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_BIOS, 0, &b, &n), 0);
        assert_int_equal(b[0x14], 255);
        assert_int_equal(b[0x15], 0);
        free(b);
        b = NULL;
        m = dell();
        m.chassis.type = 0x80;
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_BIOS, 3, &b, &n), -EINVAL);
        assert_null(b);
}

static void test_which_types(void **state) {
        (void)state;
        struct vm_smbios m = { 0 };
        assert_false(vm_smbios_needs_files(&m));
        m.chassis.manufacturer = "Dell Inc.";       /* -smbios type=3 can carry it */
        assert_false(vm_smbios_needs_files(&m));
        m.chassis.type = 3;
        assert_true(vm_smbios_in_file(&m, 3));
        assert_false(vm_smbios_in_file(&m, 0));
        m.bios.date = "01/02/2020";
        assert_true(vm_smbios_in_file(&m, 0));
        assert_false(vm_smbios_in_file(&m, 1));
        _cleanup_free_ char *dir = vm_smbios_dir("/v/disk.qcow2");
        _cleanup_free_ char *f = vm_smbios_file("/v/disk.qcow2", 3);
        assert_string_equal(dir, "/v/disk.qcow2.smbios");
        assert_string_equal(f, "/v/disk.qcow2.smbios/type3.bin");
}

/* A dmidecode dump: SMBIOS 3.0 entry point at 0, the table at 0x20 (dmidecode's own layout for
 * --dump-bin), ended by a type 127 structure. */
static void write_dump(const char *path, const uint8_t *t0, size_t n0, const uint8_t *t3, size_t n3) {
        static const uint8_t end[] = { 127, 4, 0xFF, 0x7F, 0, 0 };
        size_t len = n0 + n3 + sizeof end;
        size_t size = 0x20 + len;
        uint8_t *d = calloc(1, size);
        memcpy(d, "_SM3_", 5);
        d[6] = 0x18;          /* entry point length */
        d[7] = 3;             /* SMBIOS 3.3: what Coffee Lake firmware says */
        d[8] = 3;
        d[10] = 1;            /* entry point revision */
        d[12] = (uint8_t)len; /* structure table maximum size */
        d[13] = (uint8_t)(len >> 8);
        d[16] = 0x20;         /* structure table address */
        uint8_t sum = 0;
        for (int i = 0; i < 0x18; i++)
                sum += d[i];
        d[5] = (uint8_t)-sum;
        memcpy(d + 0x20, t0, n0);
        memcpy(d + 0x20 + n0, t3, n3);
        memcpy(d + 0x20 + n0 + n3, end, sizeof end);
        assert_int_equal(write_file(path, d, size, 0644), 0);
        free(d);
}

static void test_dmidecode(void **state) {
        (void)state;
        if (access("/usr/sbin/dmidecode", X_OK) != 0) {
                skip();
                return;
        }
        struct vm_smbios m = dell();
        _cleanup_free_ uint8_t *t0 = NULL, *t3 = NULL;
        size_t n0, n3;
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_UEFI, 0, &t0, &n0), 0);
        assert_int_equal(vm_smbios_encode(&m, VM_FIRMWARE_UEFI, 3, &t3, &n3), 0);
        _cleanup_free_ char *dir = test_tmpdir();
        _cleanup_free_ char *dump = path_join(dir, "dmi.bin");
        write_dump(dump, t0, n0, t3, n3);
        _cleanup_free_ char *cmd = strdup_printf("/usr/sbin/dmidecode --from-dump %s 2>&1", dump);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char out[8192];
        size_t len = fread(out, 1, sizeof out - 1, p);
        out[len] = 0;
        assert_int_equal(pclose(p), 0);
        rm_rf(dir);
        if (getenv("SMBIOS_TEST_VERBOSE"))
                fputs(out, stderr);
        static const char *const want[] = {
                "Vendor: Dell Inc.", "Version: 1.22.0", "Release Date: 08/10/2022", "ROM Size: 16 MB",
                "Address: 0xF0000", "PCI is supported", "BIOS is upgradeable", "Boot from CD is supported",
                "ACPI is supported", "USB legacy is supported", "UEFI is supported", "BIOS Revision: 1.22",
                "Chassis Information", "Manufacturer: Dell Inc.", "Type: Desktop", "Lock: Not Present",
                "Serial Number: 7QK4F72", "Boot-up State: Safe", "Power Supply State: Safe",
                "Thermal State: Safe", "Security Status: None", "Number Of Power Cords: 1",
                "Contained Elements: 0", "SKU Number: 085A", "Handle 0x0000, DMI type 0, 26 bytes",
                "Handle 0x0300, DMI type 3, 22 bytes", "End Of Table",
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                if (!strstr(out, want[i]))
                        fail_msg("dmidecode does not say '%s'", want[i]);
        /* dmidecode names the VM bit "System is a virtual machine": it must not. */
        assert_null(strstr(out, "virtual machine"));
        assert_null(strstr(out, "Invalid"));
        assert_null(strstr(out, "<OUT OF SPEC>"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bios_bytes),     cmocka_unit_test(test_bios_uefi_notebook),
                cmocka_unit_test(test_bios_unset_strings), cmocka_unit_test(test_chassis_bytes),
                cmocka_unit_test(test_chassis_no_strings), cmocka_unit_test(test_refused),
                cmocka_unit_test(test_which_types),    cmocka_unit_test(test_dmidecode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
