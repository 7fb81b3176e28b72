/* Memory files: the formats a saved machine's memory may take, and which of them Cuckoo3 reads. */
#pragma once

#include <stdbool.h>

/*
 * A memory file is QEMU's migration stream ("QEVM" magic), raw or through a compressor.
 * Cuckoo3 recognises lz4, gzip and raw by their magic and restores them with
 * "exec:lz4 -c -d < FILE" and the like (cuckoo3-qemu.md), so files meant for Cuckoo3 use one
 * of those; zstd is for vmcloak's own restore. Default lz4 at level 7 (VMCloak ran lz4's
 * default, level 1): a 19 % smaller file that decompresses as fast. Level 7, not 9: 0.3 %
 * larger for 40 % less CPU per snapshot (docs/benchmarks.md, "Memory file levers"; issue 15).
 */
enum vm_compress {
        VM_COMPRESS_LZ4 = 0,
        VM_COMPRESS_GZIP,
        VM_COMPRESS_ZSTD,
        VM_COMPRESS_NONE,
};

const char *vm_compress_to_string(enum vm_compress c);                 /* "lz4" ... "none", "?" */
int vm_compress_from_string(const char *s, enum vm_compress *ret);     /* -EINVAL */
/* Whether Cuckoo3 can restore files written with c. */
bool vm_compress_cuckoo_compatible(enum vm_compress c);
/* The compressor's default and highest level (0, 0 for none): lz4 7/12, gzip 3/9, zstd 3/19.
 * -EINVAL for an unknown c. */
int vm_compress_level_range(enum vm_compress c, unsigned *ret_default, unsigned *ret_max);

/* The format of a memory file by its first bytes: lz4 frame 04 22 4d 18, gzip 1f 8b, zstd
 * 28 b5 2f fd, raw migration stream "QEVM". -ENOENT (no file), -ENODATA (empty), -EINVAL
 * (none of those), -EIO. */
int vm_memfile_detect(const char *path, enum vm_compress *ret);
