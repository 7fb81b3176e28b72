/* SMBIOS type 0 and type 3 structures (DMTF DSP0134 3.6 §6.1, §7.1, §7.4), byte by byte. */
#include "machine/smbios.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Type 0 field offsets (§7.1, Table 6). Length 0x1A: the 3.1 Extended BIOS ROM Size is there. */
enum {
        T0_VENDOR = 0x04,
        T0_VERSION = 0x05,
        T0_SEGMENT = 0x06,
        T0_DATE = 0x08,
        T0_ROM_SIZE = 0x09,
        T0_CHARACTERISTICS = 0x0A,
        T0_EXT1 = 0x12,
        T0_EXT2 = 0x13,
        T0_MAJOR = 0x14,
        T0_MINOR = 0x15,
        T0_EC_MAJOR = 0x16,
        T0_EC_MINOR = 0x17,
        T0_EXT_ROM_SIZE = 0x18,
        T0_LENGTH = 0x1A,
};

/* Type 3 field offsets (§7.4, Table 16) with no contained elements (n = m = 0): SKU at 0x15. */
enum {
        T3_MANUFACTURER = 0x04,
        T3_TYPE = 0x05,
        T3_VERSION = 0x06,
        T3_SERIAL = 0x07,
        T3_ASSET = 0x08,
        T3_BOOT_STATE = 0x09,
        T3_POWER_STATE = 0x0A,
        T3_THERMAL_STATE = 0x0B,
        T3_SECURITY = 0x0C,
        T3_OEM = 0x0D,
        T3_HEIGHT = 0x11,
        T3_POWER_CORDS = 0x12,
        T3_ELEMENT_COUNT = 0x13,
        T3_ELEMENT_LENGTH = 0x14,
        T3_SKU = 0x15,
        T3_LENGTH = 0x16,
};

/* BIOS Characteristics (§7.1.1, Table 7): what Dell, HP and Lenovo firmware of the
 * Skylake..Coffee Lake years report (dmidecode of real machines). Bit 3 ("not supported") is
 * what QEMU writes. */
#define BIT(n) (UINT64_C(1) << (n))
static const uint64_t pc_characteristics =
        BIT(7) |     /* PCI */
        BIT(9) |     /* Plug and Play */
        BIT(11) |    /* BIOS is upgradeable (flash) */
        BIT(12) |    /* BIOS shadowing is allowed */
        BIT(15) |    /* boot from CD */
        BIT(16) |    /* selectable boot */
        BIT(19) |    /* EDD */
        BIT(23) |    /* int 13h 5.25"/1.2 MB floppy */
        BIT(24) |    /* int 13h 3.5"/720 KB floppy */
        BIT(25) |    /* int 13h 3.5"/2.88 MB floppy */
        BIT(26) |    /* int 5h print screen */
        BIT(27) |    /* int 9h 8042 keyboard */
        BIT(28) |    /* int 14h serial */
        BIT(29);     /* int 17h printer */

/* Extension Byte 1 (§7.1.2.1, Table 8) and 2 (§7.1.2.2, Table 9). */
enum {
        EXT1_ACPI = 1 << 0,
        EXT1_USB_LEGACY = 1 << 1,
        EXT1_SMART_BATTERY = 1 << 7,
        EXT2_BOOT_SPEC = 1 << 0,
        EXT2_NETWORK_BOOT = 1 << 1,
        EXT2_TARGETED_CONTENT = 1 << 2,
        EXT2_UEFI = 1 << 3,
        EXT2_VIRTUAL_MACHINE = 1 << 4,   /* never set: it is what gives a VM away */
};

/* Chassis types (§7.4.1, Table 17) of machines that run on a battery. */
static bool portable(unsigned type) {
        switch (type) {
        case 0x08: case 0x09: case 0x0A: case 0x0E:   /* portable, laptop, notebook, sub notebook */
        case 0x1E: case 0x1F: case 0x20:             /* tablet, convertible, detachable */
                return true;
        default:
                return false;
        }
}

/* A structure under construction: formatted area, then the string-set. */
struct sm {
        uint8_t *b;
        size_t size;        /* formatted area + strings written so far */
        unsigned strings;   /* strings in the set */
};

static int sm_new(struct sm *s, uint8_t type, uint8_t length, uint16_t handle) {
        *s = (struct sm){ .b = calloc(1, length), .size = length };
        if (!s->b)
                return -ENOMEM;
        s->b[0] = type;
        s->b[1] = length;
        s->b[2] = handle & 0xff;
        s->b[3] = handle >> 8;
        return 0;
}

/* Add string v to the set and put its number at offset; unset and empty strings are 0 (§6.1.3). */
static int sm_string(struct sm *s, size_t offset, const char *v) {
        if (isempty(v)) {
                s->b[offset] = 0;
                return 0;
        }
        if (s->strings == 0xff)
                return -EINVAL;
        size_t n = strlen(v) + 1;
        uint8_t *b = realloc(s->b, s->size + n);
        if (!b)
                return -ENOMEM;
        memcpy(b + s->size, v, n);
        s->b = b;
        s->size += n;
        s->b[offset] = ++s->strings;
        return 0;
}

/* The set's end: one more NUL after the last string's, two when there is none (§6.1.3). */
static int sm_finish(struct sm *s, uint8_t **ret, size_t *ret_size) {
        size_t end = s->strings ? 1 : 2;
        uint8_t *b = realloc(s->b, s->size + end);
        if (!b)
                return -ENOMEM;
        memset(b + s->size, 0, end);
        *ret = b;
        *ret_size = s->size + end;
        s->b = NULL;
        return 0;
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = v & 0xff;
        p[1] = v >> 8;
}

static void put64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (v >> (8 * i)) & 0xff;
}

/* "MAJOR.MINOR", each 0..255, as QEMU's release= takes it. */
static int parse_release(const char *s, uint8_t *major, uint8_t *minor) {
        unsigned a, b;
        int end = 0;
        size_t digits = strspn(s, "0123456789");
        /* Digits, one dot, digits: sscanf alone would take signs and blanks. */
        if (digits == 0 || s[digits] != '.' || strspn(s + digits + 1, "0123456789") != strlen(s + digits + 1) ||
            sscanf(s, "%3u.%3u%n", &a, &b, &end) != 2 || s[end] || a > 255 || b > 255)
                return -EINVAL;
        *major = (uint8_t)a;
        *minor = (uint8_t)b;
        return 0;
}

static int encode_bios(const struct vm_smbios *m, enum vm_firmware fw, struct sm *s) {
        const struct vm_smbios_bios *v = &m->bios;
        uint8_t major = 0xff, minor = 0xff;
        if (v->release && parse_release(v->release, &major, &minor) < 0)
                return -EINVAL;
        int r = sm_new(s, 0, T0_LENGTH, 0x0000);
        if (r < 0)
                return r;
        put16(s->b + T0_SEGMENT, 0xF000);
        /* 16 MB SPI flash: 0xFF says "see Extended BIOS ROM Size", which is 16 in MB units. */
        s->b[T0_ROM_SIZE] = 0xff;
        put16(s->b + T0_EXT_ROM_SIZE, 16);
        put64(s->b + T0_CHARACTERISTICS, pc_characteristics);
        s->b[T0_EXT1] = EXT1_ACPI | EXT1_USB_LEGACY | (portable(m->chassis.type) ? EXT1_SMART_BATTERY : 0);
        s->b[T0_EXT2] = EXT2_BOOT_SPEC | EXT2_NETWORK_BOOT | EXT2_TARGETED_CONTENT |
                        (fw == VM_FIRMWARE_UEFI ? EXT2_UEFI : 0);
        s->b[T0_MAJOR] = major;
        s->b[T0_MINOR] = minor;
        s->b[T0_EC_MAJOR] = 0xff;
        s->b[T0_EC_MINOR] = 0xff;
        if ((r = sm_string(s, T0_VENDOR, v->vendor)) < 0 || (r = sm_string(s, T0_VERSION, v->version)) < 0 ||
            (r = sm_string(s, T0_DATE, v->date)) < 0)
                return r;
        return 0;
}

static int encode_chassis(const struct vm_smbios *m, struct sm *s) {
        const struct vm_smbios_chassis *c = &m->chassis;
        if (c->type > 0x7f)
                return -EINVAL;
        int r = sm_new(s, 3, T3_LENGTH, 0x0300);
        if (r < 0)
                return r;
        /* Unset: 2 (unknown), as DSP0134 has it; bit 7 (lock present) stays clear. */
        s->b[T3_TYPE] = c->type ? (uint8_t)c->type : 0x02;
        s->b[T3_BOOT_STATE] = 0x03;      /* safe */
        s->b[T3_POWER_STATE] = 0x03;     /* safe */
        s->b[T3_THERMAL_STATE] = 0x03;   /* safe */
        s->b[T3_SECURITY] = 0x03;        /* none */
        /* OEM-defined 0 and height 0 (unspecified) as calloc left them. */
        s->b[T3_POWER_CORDS] = 1;
        s->b[T3_ELEMENT_COUNT] = 0;
        s->b[T3_ELEMENT_LENGTH] = 0;
        if ((r = sm_string(s, T3_MANUFACTURER, c->manufacturer)) < 0 || (r = sm_string(s, T3_VERSION, c->version)) < 0 ||
            (r = sm_string(s, T3_SERIAL, c->serial)) < 0 || (r = sm_string(s, T3_ASSET, c->asset)) < 0 ||
            (r = sm_string(s, T3_SKU, c->sku)) < 0)
                return r;
        return 0;
}

int vm_smbios_encode(const struct vm_smbios *m, enum vm_firmware fw, unsigned type, uint8_t **ret,
                     size_t *ret_size) {
        struct sm s = { 0 };
        int r = type == 0 ? encode_bios(m, fw, &s) : type == 3 ? encode_chassis(m, &s) : -EINVAL;
        if (r == 0)
                r = sm_finish(&s, ret, ret_size);
        free(s.b);
        return r;
}

bool vm_smbios_in_file(const struct vm_smbios *m, unsigned type) {
        const struct vm_smbios_bios *b = &m->bios;
        switch (type) {
        case 0:
                return b->vendor || b->version || b->date || b->release;
        case 3:
                return m->chassis.type != 0;
        default:
                return false;
        }
}

bool vm_smbios_needs_files(const struct vm_smbios *m) { return vm_smbios_in_file(m, 0) || vm_smbios_in_file(m, 3); }

char *vm_smbios_dir(const char *disk) { return strdup_printf("%s.smbios", disk); }

char *vm_smbios_file(const char *disk, unsigned type) { return strdup_printf("%s.smbios/type%u.bin", disk, type); }
