/* VM lifecycle: start QEMU as a child, talk QMP, wait, stop, change CD-ROMs; none outlives us. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "core/cleanup.h"
#include "qemu/config.h"
#include "qemu/qmp.h"

/*
 * QEMU runs in its own process group with stdin on /dev/null, stdout+stderr appended to
 * the VM's log file, PR_SET_PDEATHSIG=SIGKILL, and is tracked in core/interrupt.h's
 * registry: a Ctrl-C/SIGTERM makes every wait here return -ECANCELED so the caller unwinds
 * into vm_free() (which kills it); a second signal, exit() and vmcloak's own death kill it
 * too. Errors are logged as one line (with the last lines of QEMU's log when it died).
 */

struct vm_start_opts {
        const char *log_path;       /* QEMU's stdout+stderr (appended); NULL: a file in a private run dir */
        const char *tpm_state_dir;  /* with c->tpm_socket: start swtpm on that socket with this state dir
                                     * (created if missing); NULL: someone else runs swtpm */
        int qmp_timeout_ms;         /* how long QEMU may take to answer QMP; 0: 30 s */
};

struct vm;

/* Build argv (VM_ARGV_RUN) from c + rt and start it. rt may be NULL; when rt has no QMP
 * socket one is made in a private run dir (removed by vm_free). The accelerator must be
 * resolved (probe.h). Returns once QMP has answered. */
int vm_start(const struct vm_config *c, const struct vm_runtime *rt, const struct vm_start_opts *o, struct vm **ret);
/* Start a ready-made argv that holds "-qmp unix:QMP_SOCKET,server=on,wait=off". */
int vm_start_argv(char *const *argv, const char *qmp_socket, const struct vm_start_opts *o, struct vm **ret);

pid_t vm_pid(const struct vm *vm);
struct qmp *vm_qmp(struct vm *vm);
const char *vm_log_path(const struct vm *vm);
/* The last lines QEMU wrote in this run, joined with " / " (new string). */
char *vm_log_tail(const struct vm *vm, unsigned lines);
bool vm_exited(struct vm *vm);

/* Wait for QEMU to exit (guest shutdown ends QEMU unless -no-shutdown), collecting QMP
 * events meanwhile. 0 and the wait status; -ETIMEDOUT; -ECANCELED on Ctrl-C. timeout < 0:
 * forever. *ret_shutdown_event (may be NULL) tells whether a SHUTDOWN event was seen. */
int vm_wait_exit(struct vm *vm, int timeout_ms, int *ret_status, bool *ret_shutdown_event);

/* Graceful stop: system_powerdown and wait powerdown_ms, then QMP quit and wait 5 s, then
 * SIGKILL. 0 once QEMU is gone (however it went). */
int vm_stop(struct vm *vm, int powerdown_ms);
/* QMP quit, wait timeout_ms, then SIGKILL. */
int vm_quit(struct vm *vm, int timeout_ms);
/* SIGKILL QEMU's process group (and swtpm) and reap. Safe to call twice. */
void vm_kill(struct vm *vm);
/* Kill if still running, close QMP, remove the run dir, free. */
void vm_free(struct vm *vm);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vm *, vm_free)
#define _cleanup_vm_ _cleanup_(vm_freep)

/* QMP query-status: "running", "paused", "postmigrate", "inmigrate", "prelaunch", ... */
int vm_query_status(struct vm *vm, char **ret_status);
int vm_cont(struct vm *vm);
int vm_pause(struct vm *vm);

/* Put an ISO into a CD-ROM drive / take it out (VMCloak's attach_iso/detach_iso). drive
 * is the -drive id: "cdrom" for the boot CD-ROM, "cdrom1".. for extra ones. A tray the
 * guest has locked is forced open. */
int vm_cdrom_change(struct vm *vm, const char *drive, const char *path);
int vm_cdrom_eject(struct vm *vm, const char *drive);
