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
