/* Memory snapshots: QMP migrate to a compressed file, and restore with -incoming. */
#pragma once

#include <stdbool.h>

#include "qemu/config.h"
#include "qemu/vm.h"

/*
 * The file is QEMU's migration stream, piped through a compressor (QEMU runs
 * "exec:<compressor> > FILE" via /bin/sh). Cuckoo3 recognises it by its magic and restores
 * lz4, gzip or raw ("QEVM") with "exec:lz4 -c -d < FILE" etc., so those are what
 * snapshots meant for Cuckoo3 must use. zstd is for vmcloak's own restore only.
 * Default lz4 at level 9 (VMCloak used lz4's default level 1): a smaller file that
 * decompresses as fast.
 */
enum vm_compress {
        VM_COMPRESS_LZ4 = 0,
        VM_COMPRESS_GZIP,
        VM_COMPRESS_ZSTD,
        VM_COMPRESS_NONE,
};

const char *vm_compress_to_string(enum vm_compress c);
int vm_compress_from_string(const char *s, enum vm_compress *ret);   /* lz4 gzip zstd none */
/* Whether Cuckoo3 can restore files written with c. */
bool vm_compress_cuckoo_compatible(enum vm_compress c);

/* The format of a memory file by its first bytes: lz4 frame 04 22 4d 18, gzip 1f 8b,
 * zstd 28 b5 2f fd, raw migration stream "QEVM". -ENOENT, -ENODATA (empty), -EINVAL
 * (none of those). */
int vm_memsnap_detect(const char *path, enum vm_compress *ret);

/* "exec:<compressor> ... > 'tmp' && mv -f 'tmp' 'done'" (done appears only when the
 * compressor finished). compressor is the program's path. */
char *vm_memsnap_save_uri(enum vm_compress c, const char *compressor, unsigned level, const char *tmp,
                          const char *done);
/* The compressor's default and highest level (0, 0 for none). */
int vm_compress_level_range(enum vm_compress c, unsigned *ret_default, unsigned *ret_max);
/* "exec:<decompressor> -c -d < 'path'" ("cat < 'path'" for raw), as Cuckoo3 builds it. */
char *vm_memsnap_restore_uri(enum vm_compress c, const char *decompressor, const char *path);

/* What happens to the VM once the file is written. */
enum vm_memsnap_after {
        VM_MEMSNAP_QUIT = 0,      /* QMP quit and wait for QEMU to exit (VMCloak's way) */
        VM_MEMSNAP_CONT,          /* let the guest run on */
        VM_MEMSNAP_STAY_PAUSED,   /* leave it stopped ("postmigrate") */
};

struct vm_memsnap_opts {
        int timeout_ms;               /* the migration; 0: 10 minutes */
        enum vm_memsnap_after after;
        unsigned level;               /* compression level; 0: the default (lz4 9, gzip 3, zstd 3) */
        bool quiet;                   /* no progress line */
};

/* stop (or cont+stop after an earlier migration), migrate-set-parameters max-bandwidth,
 * migrate to FILE through the compressor, poll query-migrate (with progress) until
 * completed, wait for the compressor, check the file's magic, rename it into place, then
 * (o->after) quit QEMU and wait for it. path is replaced atomically; on failure nothing is
 * left and the guest stays stopped. */
int vm_memsnap_save(struct vm *vm, const char *path, enum vm_compress c, const struct vm_memsnap_opts *o);

/* Start the VM c (must be the same devices as the one that wrote path) with
 * -incoming "exec:<decompressor> < path", wait until the migration completed and the state
 * is paused/postmigrate, then cont. Returns the running VM. */
/* For a VM started with an -incoming URI some other way (e.g. Cuckoo3's start_args): wait
 * until the migration from path completed, then cont. */
int vm_memsnap_incoming_wait(struct vm *vm, const char *path, int timeout_ms);
/* The decompressor command line for a memory file, chosen by its magic like Cuckoo3
 * ("exec:lz4 -c -d < 'FILE'"); one line on stderr for an unknown or unreadable file. */
int vm_memsnap_incoming_uri(const char *path, char **ret);
int vm_memsnap_restore(const struct vm_config *c, const struct vm_runtime *rt, const struct vm_start_opts *so,
                       const char *path, int timeout_ms, struct vm **ret);
