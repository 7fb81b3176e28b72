/* Ctrl-C / SIGTERM handling: a flag that long waits poll, and a registry of child
 * process groups that are killed if vmcloak is made to exit while they run. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Install SIGINT/SIGTERM/SIGHUP handlers. The first signal sets the flag (waits then
 * return -ECANCELED and the caller unwinds and cleans up); a second one kills every
 * tracked child group at once and exits 128 + the signal. */
void interrupt_install(void);
bool interrupted(void);
int interrupt_signal(void);   /* the signal that interrupted us, or 0 */
/* For tests: clear the flag. */
void interrupt_reset(void);

/* Child process groups (pgid == pid of a child started with its own group). */
void interrupt_track_child(pid_t pgid);
void interrupt_untrack_child(pid_t pgid);
/* SIGKILL every tracked group (async-signal-safe). Also runs at exit. */
void interrupt_kill_children(void);
