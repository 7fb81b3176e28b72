/* The argv builder: a pure function from a VM config (+ runtime) to QEMU's arguments. */
#pragma once

#include <stddef.h>

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
 *   then (RUN only) -vnc; then only what is set, in this order: extra CD-ROMs, UEFI
 *   pflash, TPM, serial, 9p shares, -cpu, -smbios, extra raw args; then (RUN only) the
 *   runtime: -qmp, -pidfile, -no-reboot, -S, -incoming.
 * Knobs that modify VMCloak's own arguments do so in place: vram (-device VGA,vgamem_mb=N
 * replaces -vga std), smm/ACPI OEM ids (-M q35,...), disk/CD-ROM model and serial,
 * audio=none, user/none networking, the accelerator (-accel tcg replaces -enable-kvm).
 */

/* 0 if c can be rendered for p; else -EINVAL and one line in reason (may be NULL). */
int vm_config_check(const struct vm_config *c, enum vm_argv_purpose p, char *reason, size_t size);

/* argv for c, NULL-terminated, free with strv_free. RUN starts with the binary
 * ("qemu-system-x86_64") and has no runtime arguments; START_ARGS is Cuckoo3's list.
 * Returns -EINVAL when vm_config_check() refuses c, -ENOMEM. */
int vm_argv_build(const struct vm_config *c, enum vm_argv_purpose p, char ***ret);
/* The same with a runtime (binary, -qmp, -incoming, ...; ignored for START_ARGS). */
int vm_argv_build_runtime(const struct vm_config *c, const struct vm_runtime *rt, enum vm_argv_purpose p,
                          char ***ret);

/* Cuckoo3's import rules for machineinfo start_args (cuckoo3-qemu.md): a non-empty list,
 * the first element not containing "qemu-system", the joined string containing
 * %DISPOSABLE_DISK_PATH% and none of -incoming -monitor -qmp -loadvm -no-shutdown
 * -qmp-pretty -snapshot (a plain substring test, as Cuckoo3 does). 0 or -EINVAL + reason. */
int vm_start_args_check(char *const *args, const char **ret_reason);

/* QEMU option value escaping: every ',' doubled. New string or NULL. */
char *qemu_opt_escape(const char *s);
