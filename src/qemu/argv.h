/* The argv builder: a pure function from a machine's definition and a QEMU run to QEMU's arguments. */
#pragma once

#include <stddef.h>

#include "machine/cuckoo.h"
#include "machine/def.h"
#include "qemu/config.h"

/*
 * Order (the device order matters for restoring a memory snapshot):
 *   VMCloak's block, exactly as VMCloak 4.1+ / pre-4.1 emits it (vmcloak-spec.md §6.5),
 *   with field values substituted:
 *     -nodefaults -M q35 -vga std -smp N -overcommit mem-lock=off
 *     -rtc base=localtime,driftfix=slew -m N -netdev ... -device rtl8139,...
 *     -device ich9-ahci,id=ahci -device ide-hd,... -device ide-cd,...
 *     -device usb-ehci,id=ehci -device usb-tablet,bus=ehci.0 -device intel-hda -device hda-duplex
 *     -enable-kvm -drive <cdrom> -drive <disk> -display none
 *   then (RUN only) -vnc; then only what is set, in this order: further CD-ROMs, UEFI
 *   pflash, TPM, serial, 9p shares, -cpu, -smbios, extra raw args; then (RUN only) the
 *   process knobs: -qmp, -monitor none, -pidfile, -no-reboot, -S, -incoming.
 * Knobs that modify VMCloak's own arguments do so in place: vram (-device VGA,vgamem_mb=N
 * replaces -vga std), smm/ACPI OEM ids (-M q35,...), disk/CD-ROM model, serial, firmware
 * revision (ver=) and disk WWN, e1000e's PCI subsystem ids (subsys_ven=, subsys=), the PS/2
 * pointer (drops usb-ehci and usb-tablet), audio_none, user/none networking, the accelerator
 * (-accel tcg replaces -enable-kvm). CPUID family/model/stepping go at the end of -cpu; hiding
 * KVM (kvm=off) also hides TCG's signature (tcg-cpuid=off). SMBIOS type 0 (when a BIOS field is
 * set) and type 3 (when the chassis type is set) are -smbios file=<disk>.smbios/typeN.bin, the
 * structures of machine/smbios.h the QEMU driver writes beside the disk, in place of
 * -smbios type=0/type=3 (QEMU would set the VM bit, and cannot set the chassis type). START_ARGS
 * carry every cloaking knob exactly as RUN does, so Cuckoo3 restores the same machine.
 * Every host path that enters a QEMU option goes through qemu_opt_escape().
 */

/* 0 if def + run can be rendered for p; else -EINVAL and one line in reason (may be NULL):
 * vm_def_check()'s rules, then the QEMU driver's own (accelerator resolved, a disk path to
 * run, at most 4 further CD-ROMs on the AHCI controller, firmware code for UEFI, swtpm's
 * socket for a TPM, audio_none from QEMU 4.0, ACPI OEM ids from QEMU 6.0, no comma in a -cpu
 * value, user-mode forwards with their addresses, PCI subsystem ids only on e1000e, a disk path
 * and a valid BIOS release when SMBIOS tables go through files), and for
 * START_ARGS Cuckoo3's rules (which
 * renders the arguments, so START_ARGS may also fail with -ENOMEM, reason untouched). */
int qemu_argv_check(const struct vm_def *def, const struct qemu_run *run, enum qemu_argv_purpose p, char *reason,
                    size_t size);

/* argv for def + run, NULL-terminated, free with strv_free. RUN starts with the binary;
 * START_ARGS is Cuckoo3's list (no binary, no -qmp/-monitor/-vnc/-incoming/-S..., the disk
 * as VM_DISK_PLACEHOLDER, every CD-ROM as an empty tray, the serial port as -serial null).
 * -EINVAL when qemu_argv_check() refuses, -ENOMEM. */
int qemu_argv_build(const struct vm_def *def, const struct qemu_run *run, enum qemu_argv_purpose p, char ***ret);

/* Cuckoo3's restore command (cuckoo3-qemu.md): the binary, start_args with the placeholder
 * replaced by disk (escaped; its -drive gets ",snapshot=on" when run->disk_snapshot), the user-mode agent forward moved to run->fwd_port when that is
 * set, the TPM's chardev (id chrtpm, as build_tpm names it) pointed at run->tpm_socket when that
 * is set, then vnc (may be NULL) and run's process knobs. -EINVAL when start_args break
 * Cuckoo3's rules or a forward is asked of start_args that have none. */
int qemu_argv_from_start_args(char *const *start_args, const char *disk, const struct vm_vnc *vnc,
                              const struct qemu_run *run, char ***ret);

/* QEMU option value escaping: every ',' doubled. New string or NULL. */
char *qemu_opt_escape(const char *s);
