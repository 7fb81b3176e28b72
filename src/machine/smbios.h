/* SMBIOS structures as a real PC's firmware writes them, for the tables QEMU cannot build itself. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/def.h"

/*
 * QEMU 7.2 builds the SMBIOS BIOS Information (type 0) itself as soon as one of its fields is
 * given on the command line, and then sets the "virtual machine" bit (Extension Byte 2 bit 4,
 * DSP0134 3.6 §7.1.2.2): systemd-detect-virt reports vm-other on that bit alone. Its System
 * Enclosure (type 3) always has chassis type 1 (other): -smbios type=3 has no key for it. Both
 * are fixed by giving QEMU the whole structure (-smbios file=PATH, hw/smbios/smbios.c
 * smbios_entry_add): the file's structure replaces QEMU's own of that type. QEMU reads one
 * structure per file (it looks at the first header's type only and counts one structure), so
 * each type has its own file, in a folder beside the machine's disk (vm_smbios_dir) that goes
 * wherever the disk's other firmware state goes (pipeline/fwstate.h).
 *
 * Handles are QEMU's own for these types (0x0000, 0x0300): QEMU's type 2 names its chassis
 * by handle 0x0300.
 */

/* Whether type (0 or 3) of m goes through a file: type 0 when one of its fields is set (QEMU
 * would build it with the VM bit), type 3 when the chassis type is set (QEMU cannot). */
bool vm_smbios_in_file(const struct vm_smbios *m, unsigned type);

/* Whether any type of m goes through a file. */
bool vm_smbios_needs_files(const struct vm_smbios *m);

/* The structure of type (0 or 3) for m, as the file QEMU's -smbios file= takes: formatted area,
 * string-set (strings numbered from 1 in field order, an unset or empty string is number 0),
 * double NUL end. Type 0: m->bios with a 16 MB flash ROM at segment 0xF000, the BIOS
 * characteristics of a desktop's or notebook's firmware (PCI, PnP, flash upgradeable,
 * shadowing, boot from CD, selectable boot, EDD, the int 13h/5h/9h/14h/17h services; ACPI, USB
 * legacy, smart battery on a portable chassis; BIOS Boot Specification, network boot, targeted
 * content distribution, UEFI when fw is VM_FIRMWARE_UEFI, never the VM bit), the release
 * "MAJOR.MINOR" (unset: 0xFF.0xFF, "not supported") and no embedded controller release. Type 3:
 * m->chassis with boot-up, power supply and thermal state safe, security status none, one power
 * cord, no contained elements. *ret (free() it) and *ret_size. -EINVAL for another type, a
 * release that is not two numbers 0..255 or a chassis type over 0x7F; -ENOMEM. */
int vm_smbios_encode(const struct vm_smbios *m, enum vm_firmware fw, unsigned type, uint8_t **ret,
                     size_t *ret_size);

/* "<disk>.smbios": the folder of the files beside a disk (new string, NULL on OOM). */
char *vm_smbios_dir(const char *disk);

/* "<disk>.smbios/type<N>.bin": the file of one type (new string, NULL on OOM). */
char *vm_smbios_file(const char *disk, unsigned type);
