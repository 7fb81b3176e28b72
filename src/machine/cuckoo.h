/* What Cuckoo3 accepts as a machine's start_args (its `cuckoo machine import qemu` rules). */
#pragma once

/* The disk path Cuckoo3 replaces with a disposable overlay at every restore. */
#define VM_DISK_PLACEHOLDER "%DISPOSABLE_DISK_PATH%"

/* Cuckoo3's import rules for machineinfo start_args (cuckoo3-qemu.md): a non-empty list, the
 * first element not containing "qemu-system", the joined string containing
 * %DISPOSABLE_DISK_PATH% and none of -incoming -monitor -qmp -loadvm -no-shutdown -qmp-pretty
 * -snapshot (a plain substring test, as Cuckoo3 does). 0, or -EINVAL and a static reason in
 * *ret_reason (may be NULL). Allocates nothing, so it cannot fail otherwise. */
int cuckoo_start_args_check(char *const *args, const char **ret_reason);

/* Whether every argument of start_args (arguments only, as in machineinfo.json) is one vmcloak's
 * QEMU argv builder emits for start_args (src/qemu/argv.c, QEMU_ARGV_START_ARGS; the golden
 * cases start_args*.args and win11x64_snapshot*.args in tests/argv): only its options, each with
 * only the suboption keys and values it renders. Every file an option names must be
 * %DISPOSABLE_DISK_PATH% or lie under vmdir (an absolute folder, the VM's), except the
 * read-only UEFI code under /usr/share/ and the swtpm socket <tmp>/vmcloak-vm.XXXXXX/tpm.sock
 * (replaced at every restore), and a -netdev bridge helper= other than the system's
 * qemu-bridge-helper (/usr/lib/qemu, /usr/libexec, /usr/local/libexec). A bundle's start_args come from another host: vmcloak restore
 * and Cuckoo3 run them, so anything else (-netdev helper=/script=, tap, exec:, -plugin,
 * -chardev/-object/-drive files elsewhere, -loadvm, -incoming, -run-with, -daemonize, -D,
 * -trace, -virtfs, ...) is refused. 0, or -EINVAL and in *ret_reason (may be NULL; a
 * thread-local buffer) one line naming the argument and why. Allocates nothing. */
int cuckoo_start_args_allowed(char *const *args, const char *vmdir, const char **ret_reason);
