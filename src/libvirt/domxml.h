/* A VM definition rendered as libvirt domain XML (issue 14). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "machine/def.h"

/*
 * What the definition cannot say and the libvirt host decides: the domain type, firmware
 * files and the files the driver put on the host for this domain. Every path is a path on the
 * libvirt host (a volume's path when the host is remote). NULL/0 fields are left out.
 */
struct libvirt_xml_host {
        const char *domain_type;       /* "kvm" on a KVM host, "qemu" (TCG) otherwise; required */
        const char *emulator;          /* <emulator>; NULL: libvirt's own choice */
        const char *machine;           /* <type machine=...>; NULL: the QEMU driver's (the same
                                        * machine type the argv builder uses) */
        const char *uuid;              /* <uuid>; NULL: SMBIOS system uuid when set, else libvirt's */
        const char *title;             /* <title> */
        const char *description;       /* <description> */
        /* UEFI: the read-only code and the template libvirt copies into nvram (vm_def.nvram,
         * or libvirt's own per-domain path when that is NULL). */
        const char *ovmf_code, *ovmf_vars_template;
        /* UEFI: the per-domain variable store in qcow2, converted from the raw template
         * (<nvram template=... templateFormat='raw' format='qcow2'/>, libvirt >= 10.10.0,
         * formatdomain.rst "nvram"): the only NVRAM libvirt >= 10.10 takes internal snapshots
         * of. Leave false for older daemons, which do not know the attributes. */
        bool nvram_qcow2;
        /* Binary SMBIOS type 0 and 3 structures (machine/smbios.h) on the host, for what
         * <sysinfo> cannot say (the "virtual machine" bit of type 0, the chassis type): given
         * with <qemu:commandline> -smbios file=... and then left out of <sysinfo>. */
        const char *smbios_type0_path, *smbios_type3_path;
        /* User-mode networking: the 127.0.0.1 ports forwarded to guest_ip:agent_port (slot 0)
         * and guest_ip2:agent_port (slot 1); 0: none. libvirt 9.0 has no <portForward> for the
         * user backend, so a user NIC is a <qemu:commandline> -netdev/-device pair. */
        uint16_t agent_forward[2];
        /* TPM: the control socket of a swtpm the driver runs itself over vm_def.tpm_state
         * (<backend type='external'>, libvirt 9.0 has no element for the emulator's state
         * folder); NULL: <backend type='emulator'>, libvirt runs swtpm over its own
         * /var/lib/libvirt/swtpm/<uuid>/. */
        const char *tpm_socket;
        char *const *passthrough;      /* raw QEMU arguments (--qemu-arg) as <qemu:arg> */
        bool seclabel_none;            /* <seclabel type='none' model='dac'/>: leave file owners alone */
};

/*
 * Render def (checked by the caller with vm_def_check) for host h as a libvirt domain XML
 * document (libxml2's writer, UTF-8, indented, ending in a newline; the format is libvirt's
 * formatdomain.html and docs/schemas/domain.rng, validated by virt-xml-validate in the tests).
 * Each vm_def field maps onto the element its comment in machine/def.h names; what libvirt 9.0
 * has no element for goes through <qemu:override> (device properties by user alias ua-disk,
 * ua-cdrom[N], ua-net0: ATA model/firmware/WWN, a drive serial with a space, e1000e subsystem
 * ids) or <qemu:commandline> (SMBIOS 4/17, the binary tables and fields set to "", CPUID
 * family/model/stepping, brand string and tcg-cpuid=off as -global x86_64-cpu.*, ACPI OEM ids
 * as a second -machine, the user-mode or backend-less NIC), the same values the QEMU driver's
 * argv carries (src/qemu/argv.c), every PCI device at the slot QEMU gives argv.c's
 * (docs/architecture.md "The libvirt driver's domain XML"). The domain UUID is h->uuid, else the
 * SMBIOS system UUID. *ret: a new string. 0, -EINVAL (one line: no domain type or name, a
 * domain UUID that is not the SMBIOS one, UEFI files for a BIOS machine, agent forwards without
 * user networking or the guest's address, more 9p shares than PCI slots), -ENOMEM.
 */
int libvirt_domain_xml(const struct vm_def *def, const struct libvirt_xml_host *h, char **ret);
