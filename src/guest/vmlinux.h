/* The uncompressed kernel (an ELF vmlinux) inside a bzImage, for booting the linux guest's
 * installer straight from QEMU: the guest then skips decompressing its own kernel, which under
 * TCG takes longer than the rest of the boot together. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * The payload of an x86 bzImage in memory (bz, n bytes), decompressed into a new buffer (*ret,
 * *ret_len; free() it). The payload is found through the setup header (Documentation/arch/x86/
 * boot.rst: "HdrS", protocol 2.08+, payload_offset/payload_length), else by the first XZ magic
 * as the kernel's scripts/extract-vmlinux looks for it. XZ (Debian's, CONFIG_KERNEL_XZ) and
 * legacy LZMA are decompressed with liblzma; the payload's last 4 bytes are the uncompressed
 * size (the kernel build's size_append). -ENOEXEC: not a bzImage or a corrupt payload;
 * -EPROTONOSUPPORT: another compression (gzip, zstd, ...); -ENOMEM. Nothing is logged.
 */
int vmlinux_extract(const void *bz, size_t n, void **ret, size_t *ret_len);

/* Whether elf (n bytes) is an x86-64 ELF whose PT_NOTE segments hold Xen's PVH entry note
 * (name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY = 18: xen/include/public/elfnote.h), the one
 * QEMU needs to boot an ELF kernel with -kernel (hw/i386/x86.c, pvh.bin). */
bool vmlinux_has_pvh_note(const void *elf, size_t n);

/*
 * The uncompressed, PVH-bootable kernel of the bzImage at path, cached in cache_dir/vmlinux/
 * as <bzImage name>-<first 16 hex digits of its SHA-256> (made on the first call, atomically;
 * later calls only read the bzImage to hash it). *ret: the cached file's path. A negative errno
 * with one info line saying why when it cannot be had (the caller then boots the bzImage the
 * usual way): -EPROTONOSUPPORT, -ENOEXEC (no PVH note: a kernel built without CONFIG_PVH), or
 * an I/O error.
 */
int vmlinux_get_cached(const char *bzimage, const char *cache_dir, char **ret);
