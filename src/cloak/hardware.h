/* Hardware profiles: real PC models as data, and the identity one machine of a model gets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/def.h"

/*
 * A hardware profile describes one real PC model (a Dell OptiPlex 7050, a Lenovo ThinkPad T480,
 * ...) the way a guest can read it: SMBIOS tables (DMTF DSP0134 types 0, 1, 2, 3, 4, 17), the
 * CPU, the NIC's MAC OUIs and PCI subsystem ids, disk and optical drive models that shipped in
 * it, the ACPI OEM ids, the pointing device. vmcloak ships profiles in <datadir>/hardware/NAME.yaml
 * (data/hardware/ in the source tree); the user's ~/.vmcloak/hardware.d/NAME.yaml add profiles or
 * replace a shipped one of the same name whole. One file holds one profile; the file's name
 * without .yaml is the profile's name.
 *
 * Format (YAML 1.1 read with libyaml; unknown keys are errors; strings are YAML scalars):
 *
 *   name: dell-optiplex-7050        # required, = file name; [a-z0-9-], 1..48 characters
 *   description: Dell OptiPlex 7050 Tower (2017, Core i7-7700, Q270)   # required, one line
 *   vendor: Dell                    # required: who made it (list hardware groups by it)
 *   form: desktop                   # required: desktop | laptop | mini | all-in-one
 *   year: 2017                      # required: first shipped, 2005..2030
 *   bios:                           # SMBIOS type 0 (all required but release)
 *     vendor: Dell Inc.
 *     version: 1.8.3
 *     date: 03/12/2018              # MM/DD/YYYY as SMBIOS has it
 *     release: "1.8"                # optional: "major.minor" (BIOS release), both 0..255
 *   system:                         # type 1
 *     manufacturer: Dell Inc.       # required
 *     product: OptiPlex 7050        # required
 *     version: ""                   # optional
 *     family: OptiPlex              # optional
 *     sku: 07A1                     # optional
 *     serial: "???????"             # required: a serial pattern (below); the UUID is always random
 *   baseboard:                      # type 2
 *     manufacturer: Dell Inc.       # required
 *     product: 0NW6H5               # required
 *     version: A00                  # optional
 *     serial: "/{system}/CN129####@####@/"   # required: a pattern
 *     asset: ""                     # optional
 *     location: ""                  # optional
 *   chassis:                        # type 3
 *     manufacturer: Dell Inc.       # required
 *     type: 3                       # required: SMBIOS chassis type, 1..36 (3 desktop, 10 notebook,
 *                                   #   35 mini PC); QEMU 7.2 cannot set it (docs/cloaking.md)
 *     version: ""                   # optional
 *     serial: "{system}"            # required: a pattern
 *     asset: ""                     # optional
 *     sku: ""                       # optional
 *   processor:                      # type 4
 *     socket: CPU                   # required: QEMU's sock_pfx, the designation before " 0"
 *     manufacturer: Intel(R) Corporation   # required
 *     version: Intel(R) Core(TM) i7-7700 CPU @ 3.60GHz   # required
 *     max_speed: 4200               # required, MHz
 *     current_speed: 3600           # required, MHz
 *     part: ""                      # optional
 *   memory:                         # type 17 (one module type; QEMU makes one entry per DIMM)
 *     manufacturer: Samsung         # required
 *     part: M378A1K43CB2-CRC        # required
 *     speed: 2400                   # required, MT/s
 *     locator: DIMM                 # required: QEMU's loc_pfx ("DIMM 0", "DIMM 1", ...)
 *     bank: BANK 0                  # optional
 *     serial: "%%%%%%%%"            # required: a pattern
 *   cpu:
 *     model: Skylake-Client         # required: a QEMU 7.2 CPU model (qemu-system-x86_64 -cpu help)
 *                                   #   whose features TCG can emulate or KVM can pass through
 *     model_id: Intel(R) Core(TM) i7-7700 CPU @ 3.60GHz   # required, no comma: the CPUID brand string
 *     family: 6                     # optional (all three or none): CPUID leaf 1 of the real CPU
 *     model_number: 158             #   (i7-8700: 6/158/10), when the QEMU model's differ; Windows
 *     stepping: 10                  #   11 Setup judges the CPU generation by them
 *     threads_per_core: 2           # optional, 1 (default) or 2: the CPU has SMT (Hyper-Threading);
 *                                   #   the VM's CPUs are then cores x 2 threads, as the brand says
 *   defaults:                       # what a real one had; init uses them unless told otherwise
 *     cpus: 4                       # required, 1..64
 *     ram_mb: 8192                  # required, 1024..262144
 *     disk_gb: 256                  # required, 32..8192
 *   nic:
 *     ouis: ["F8:B1:56", "18:66:DA"]   # required, 1..: the vendor's IEEE OUIs (upper-case hex)
 *     model: e1000e                 # required: the QEMU NIC the profile wants when the OS
 *                                   #   profile does not insist on its own (e1000e, e1000, rtl8139)
 *     subsystem_vendor: 0x1028      # optional (both or neither): PCI subsystem ids, e1000e only
 *     subsystem_device: 0x07a1
 *   disks:                          # required, 1..: drives that shipped in the model
 *     - model: ST1000DM010-2EP102   # required, ATA model, at most 40 characters
 *       firmware: CC43              # required, ATA firmware revision, at most 8 characters
 *       serial: "Z9A#####"          # required: a pattern, at most 20 characters once expanded
 *       rotation_rate: 7200         # optional: ATA nominal media rotation rate, 1 for an SSD
 *                                   #   (non-rotating), else the rpm (5400, 7200); QEMU's rotation_rate=
 *   optical:                        # required, 1..: optical drives it shipped with (a model
 *     - model: HL-DT-ST DVD+-RW GU90N   #   sold without one: the vendor's external drive; QEMU's
 *       firmware: A1C2              #   boot CD-ROM drive is always there)
 *       serial: "K###@####"         # optional
 *   acpi:
 *     oem_id: DELL                  # required, 1..6 characters (ACPI 6.4 §5.2.6)
 *     oem_table_id: CBX3            # required, 1..8 characters
 *   pointer: ps2                    # required: ps2 (no USB tablet: the PS/2 mouse QEMU always
 *                                   #   has) | tablet (QEMU's "QEMU USB Tablet": absolute pointer)
 *
 * A serial pattern: '#' a decimal digit, '@' an upper-case letter, '?' an upper-case letter or a
 * digit, '%' an upper-case hex digit, '&' a lower-case hex digit, '\' makes the next character
 * literal, "{system}" the system serial of the same identity (Dell puts its service tag into the
 * chassis and baseboard serials), anything else itself. At least 4 random characters in the
 * system, baseboard and disk serials (clones must differ; "{system}" counts as 4: the system serial
 * differs between clones); no comma in a pattern. Other strings may hold commas (QEMU's
 * -smbios takes them doubled, which the argv builder does), except cpu.model_id: the brand
 * string travels in a -cpu value, which cannot hold one.
 *
 * Errors: every problem in a file is reported as one line "FILE:LINE: PROFILE: FIELD: problem"
 * (e.g. "data/hardware/dell-optiplex-7050.yaml:12: dell-optiplex-7050: bios.date: '2018-03-12'
 * is not MM/DD/YYYY"), and the load fails with -EINVAL.
 */

enum hw_form {
        HW_FORM_DESKTOP,
        HW_FORM_LAPTOP,
        HW_FORM_MINI,
        HW_FORM_ALL_IN_ONE,
};

enum hw_pointer {
        HW_POINTER_PS2,               /* no USB tablet */
        HW_POINTER_TABLET,
};

struct hw_drive {
        char *model;                  /* ATA model string */
        char *firmware;               /* ATA firmware revision (QEMU's ver=) */
        char *serial;                 /* a serial pattern; NULL: none (optical only) */
        unsigned rotation_rate;       /* disks: 1 SSD, else rpm; 0: not given */
};

struct hw_profile {
        char *name;
        char *description;
        char *vendor;
        enum hw_form form;
        unsigned year;
        char *source;                 /* the file it came from */
        unsigned line;                /* the line of its name: key */

        struct { char *vendor, *version, *date, *release; } bios;
        struct { char *manufacturer, *product, *version, *family, *sku, *serial; } system;
        struct { char *manufacturer, *product, *version, *serial, *asset, *location; } baseboard;
        struct { char *manufacturer, *version, *serial, *asset, *sku; unsigned type; } chassis;
        struct {
                char *socket, *manufacturer, *version, *part;
                unsigned max_speed_mhz, current_speed_mhz;
        } processor;
        struct { char *manufacturer, *part, *locator, *bank, *serial; unsigned speed_mts; } memory;
        struct { char *model, *model_id; unsigned family, model_number, stepping, threads_per_core; } cpu;
        unsigned cpus, ram_mb, disk_gb;
        struct {
                char **ouis;          /* "F8:B1:56", NULL-terminated */
                char *model;
                uint16_t subsystem_vendor, subsystem_device;   /* 0: not set */
        } nic;
        struct hw_drive *disks;
        size_t n_disks;
        struct hw_drive *optical;
        size_t n_optical;
        struct { char *oem_id, *oem_table_id; } acpi;
        enum hw_pointer pointer;
};

struct hw_catalog {
        struct hw_profile *profiles;  /* sorted by name */
        size_t n_profiles;
};

/*
 * Load the shipped profiles (<datadir>/hardware, $VMCLOAK_DATADIR honoured) and then the user's
 * (user_dir, normally ~/.vmcloak/hardware.d; NULL or missing: none). A user file whose name is
 * a shipped profile's replaces it whole. 0, -ENOENT when the shipped folder is missing (one line
 * naming it and VMCLOAK_DATADIR), -EINVAL after one line per problem (format above), -ENOMEM.
 */
int hw_catalog_load(const char *user_dir, struct hw_catalog *ret);
/* Load exactly these files (tests, `vmcloak list hardware --file`); same errors. */
int hw_catalog_load_files(char *const *files, struct hw_catalog *ret);
void hw_catalog_done(struct hw_catalog *c);
const struct hw_profile *hw_catalog_find(const struct hw_catalog *c, const char *name);
/* "random": one profile chosen uniformly (core/random.h). NULL when the catalog is empty. */
const struct hw_profile *hw_catalog_random(const struct hw_catalog *c);
/* NAME or "random" → the profile; otherwise one line listing the names, and NULL. */
const struct hw_profile *hw_catalog_pick(const struct hw_catalog *c, const char *name_or_random);

const char *hw_form_to_string(enum hw_form f);
const char *hw_pointer_to_string(enum hw_pointer p);

/*
 * The identity of one machine of a profile: what differs between two real PCs of one model.
 * An image gets one at init (install and modify boot with it, so Windows sees the same devices);
 * each snapshot VM gets its own with the image's drive models kept (hw_identity_new's keep).
 * All strings malloc'ed.
 */
struct hw_identity {
        char *profile;                /* the profile's name */
        char *system_serial;          /* SMBIOS 1 */
        char *uuid;                   /* SMBIOS 1, lower-case 8-4-4-4-12, version 4 */
        char *baseboard_serial;       /* SMBIOS 2 */
        char *chassis_serial;         /* SMBIOS 3 */
        char *memory_serial;          /* SMBIOS 17 */
        char *disk_model, *disk_firmware, *disk_serial;
        uint64_t disk_wwn;            /* NAA 5 World Wide Name: the vendor's IEEE OUI, 0: none */
        char *optical_model, *optical_firmware, *optical_serial;   /* serial may be NULL */
        char *mac;                    /* "f8:b1:56:12:34:56": one of the profile's OUIs */
        /* In-guest identity, set through the OS profile's set_identity command. */
        char *machine_id;             /* 32 lower-case hex digits: Linux /etc/machine-id */
        char *machine_guid;           /* lower-case UUID: Windows HKLM\SOFTWARE\Microsoft\Cryptography MachineGuid */
        char *owner;                  /* Windows RegisteredOwner: a plausible first name */
        int64_t install_date;         /* Unix seconds, 60..900 days before now: Windows InstallDate */
};

/*
 * A fresh identity of profile p (randomness from core/random.h). keep: NULL to pick the drive
 * models at random from the profile's lists, else the image's identity whose drive models and
 * firmware are kept (a VM's disk is the image's disk). 0, -EINVAL for a profile the loader would
 * refuse (no drives, a bad serial pattern), -ENOMEM.
 */
int hw_identity_new(const struct hw_profile *p, const struct hw_identity *keep, struct hw_identity *ret);
void hw_identity_done(struct hw_identity *id);
/* Expand one serial pattern (format above); system_serial fills "{system}" (NULL: refused).
 * 0, -EINVAL for a bad pattern, -ENOMEM. */
int hw_serial_expand(const char *pattern, const char *system_serial, char **ret);

/* The identity as one JSON object (json-c; the keys are the field names above) and back; the
 * repository keeps it in image.identity / snapshot.identity. from_json: 0, -EINVAL for a text
 * that is no such object (one line naming the key), -ENOMEM. */
int hw_identity_to_json(const struct hw_identity *id, char **ret);
int hw_identity_from_json(const char *text, struct hw_identity *ret);

/*
 * Make d the machine p describes with identity id: SMBIOS tables 0-4 and 17, the CPU (p's model
 * and brand string, the hypervisor CPUID bit off, the KVM signature hidden), ACPI OEM ids, the
 * disk's and the boot CD-ROM's model/firmware/serial (and the disk's WWN), the NIC's MAC and, when
 * d->nic.model is NULL (the OS profile does not insist), p's NIC model; the PCI subsystem ids
 * when the NIC is an e1000e; the pointer (no USB tablet for ps2); no VMware backdoor port. d's CPUs/RAM are left alone
 * (the image's row decides them). 0 or -ENOMEM.
 */
int hw_apply(const struct hw_profile *p, const struct hw_identity *id, struct vm_def *d);
