/* Kernel modules for a guest: pick modules by name out of a kernel's modules tree, add what
 * they depend on (their .modinfo "depends", read by libkmod), copy them (unpacked) into a
 * staging root and run depmod there, so BusyBox modprobe in the guest finds them through
 * modules.dep. */
#pragma once

/* Read a module list file: one name per line, '#' comments and blank lines ignored. */
int kmod_read_list(const char *path, char ***ret);

/* Normalised module name of a file name or module name: "crc32c-generic.ko" -> "crc32c_generic". */
char *kmod_name(const char *s);

/* Copy the modules in wanted (and their dependencies) from src_dir (a .../lib/modules/<release>
 * tree) into <dest_root>/lib/modules/<release>/, then run depmod on dest_root. Modules built
 * into the kernel (modules.builtin) are skipped. *ret_load lists the wanted modules that are
 * files (what the guest must modprobe), in the given order. depmod may be NULL: no depmod.
 * Dependencies are read with libkmod; compressed modules (.ko.xz/.ko.zst/.ko.gz) are staged
 * unpacked (libarchive). Errors (logged): -ENOENT for a module or dependency that is neither a
 * file nor built in, -EBADMSG for a corrupt compressed module, -EIO when depmod fails. */
int kmod_stage(const char *src_dir, const char *release, char *const *wanted, const char *dest_root,
               const char *depmod, char ***ret_load);
