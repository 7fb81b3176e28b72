/* Locks on named things (an image, a snapshot VM): who may change, use or delete one right now. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "core/cleanup.h"

/*
 * One lock file per name in <home>/locks/ (<kind>-<name>.lock), locked with POSIX record locks
 * (fcntl F_SETLK): shared by the commands that use a thing (restore, a snapshot reading its
 * image, the source of a clone), exclusive for those that create, change or delete it (init,
 * install, modify, a snapshot VM being built, delimg, delvm, cleanup, the new name of a clone).
 * Never waits: a conflicting lock is refused at once and F_GETLK names a holder's PID. The
 * kernel drops the locks when vmcloak exits however it exits, so a killed run never leaves a
 * stale lock; lock files themselves stay (removing them would race). A name is thereby
 * reserved before any file of it is made.
 *
 * POSIX locks belong to the process: one process must lock each name once (name_lock refuses a
 * second lock of a name it holds with -EDEADLK rather than silently sharing it).
 */

enum lock_kind {
        LOCK_IMAGE,
        LOCK_VM,
        LOCK_ADDRESS,   /* an IPv4 address a snapshot run is giving to a VM (until its row exists) */
};

enum lock_mode {
        LOCK_SHARED,
        LOCK_EXCLUSIVE,
};

struct name_lock;

/* Lock kind/name in mode. -EBUSY when another process holds a conflicting lock (*ret_holder, may
 * be NULL, gets its PID, 0 when unknown); -EDEADLK when this process holds it already; other
 * negative errnos for I/O. Nothing is logged: name_lock_error() words -EBUSY. */
int name_lock(enum lock_kind kind, const char *name, enum lock_mode mode, struct name_lock **ret, pid_t *ret_holder);
/* Release and free (NULL is fine). */
void name_unlock(struct name_lock *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct name_lock *, name_unlock)
#define _cleanup_name_lock_ _cleanup_(name_unlockp)

/* The one line for a refused lock: "image NAME is <what> by another vmcloak (PID N: vmcloak
 * install NAME); wait for it to finish or stop it with 'kill N'". what: "being changed",
 * "in use", ... Returns -EBUSY. */
int name_lock_error(enum lock_kind kind, const char *name, pid_t holder, const char *what);

/* name_lock, and on -EBUSY/-EDEADLK name_lock_error with what; other errors logged too. */
int name_lock_or_complain(enum lock_kind kind, const char *name, enum lock_mode mode, const char *what,
                          struct name_lock **ret);
