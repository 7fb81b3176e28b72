/* Memory snapshots: QMP migrate to a compressed file, and restore with -incoming. */
#pragma once

#include <stdbool.h>

#include "qemu/config.h"
#include "qemu/proc.h"

#include "machine/memfile.h"

/* "exec:<compressor> ... > 'tmp' && mv -f 'tmp' 'done'" (done appears only when the
 * compressor finished). compressor is the program's path. */
char *qemu_memsnap_save_uri(enum vm_compress c, const char *compressor, unsigned level, const char *tmp,
                          const char *done);
/* "exec:<decompressor> -c -d < 'path'" ("cat < 'path'" for raw), as Cuckoo3 builds it. */
char *qemu_memsnap_restore_uri(enum vm_compress c, const char *decompressor, const char *path);

/* What happens to the VM once the file is written. */
enum qemu_memsnap_after {
        QEMU_MEMSNAP_QUIT = 0,      /* QMP quit and wait for QEMU to exit (VMCloak's way) */
        QEMU_MEMSNAP_CONT,          /* let the guest run on */
        QEMU_MEMSNAP_STAY_PAUSED,   /* leave it stopped ("postmigrate") */
};

struct qemu_memsnap_opts {
        int timeout_ms;               /* the migration; 0: 10 minutes */
        enum qemu_memsnap_after after;
        unsigned level;               /* compression level; 0: the default (lz4 9, gzip 3, zstd 3) */
        bool quiet;                   /* no progress line */
};

/* stop (or cont+stop after an earlier migration), migrate-set-parameters max-bandwidth,
 * migrate to FILE through the compressor, poll query-migrate (with progress) until
 * completed, wait for the compressor, check the file's magic, rename it into place, then
 * (o->after) quit QEMU and wait for it. path is replaced atomically; on failure nothing is
 * left and the guest stays stopped. */
int qemu_memsnap_save(struct qemu_proc *vm, const char *path, enum vm_compress c, const struct qemu_memsnap_opts *o);

/* Start the VM c (must be the same devices as the one that wrote path) with
 * -incoming "exec:<decompressor> < path", wait until the migration completed and the state
 * is paused/postmigrate, then cont. Returns the running VM. */
/* For a VM started with an -incoming URI some other way (e.g. Cuckoo3's start_args): wait
 * until the migration from path completed, then cont (unless cont is false: it stays paused). */
int qemu_memsnap_incoming_wait(struct qemu_proc *vm, const char *path, int timeout_ms, bool cont);
/* The decompressor command line for a memory file, chosen by its magic like Cuckoo3
 * ("exec:lz4 -c -d < 'FILE'"); one line on stderr for an unknown or unreadable file. */
int qemu_memsnap_incoming_uri(const char *path, char **ret);
int qemu_memsnap_restore(const struct vm_def *d, const struct qemu_run *run, const struct qemu_proc_opts *so,
                       const char *path, int timeout_ms, struct qemu_proc **ret);
