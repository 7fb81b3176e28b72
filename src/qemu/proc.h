/* One QEMU process: start it as a child, talk QMP, wait, stop, change CD-ROMs; none outlives us. */
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
 * into qemu_proc_free() (which kills it); a second signal, exit() and vmcloak's own death kill it
 * too. Errors are logged as one line (with the last lines of QEMU's log when it died).
 */

struct qemu_proc_opts {
        const char *log_path;       /* QEMU's stdout+stderr (appended); NULL: a file in a private run dir */
        const char *tpm_state_dir;  /* with a TPM: start swtpm on run->tpm_socket with this state dir
                                     * (created if missing); NULL: someone else runs swtpm */
        const char *tpm_socket;     /* qemu_proc_start_argv only: the socket that argv's TPM
                                     * chardev names (qemu_proc_start takes run->tpm_socket) */
        int qmp_timeout_ms;         /* how long QEMU may take to answer QMP; 0: 30 s */
        const char *tmpdir;         /* QEMU's TMPDIR (where a snapshot=on disk keeps its writes,
                                     * in a file QEMU unlinks at once); NULL: inherited */
};

struct qemu_proc;

/* Build argv (QEMU_ARGV_RUN) from d + run and start it; when run has no QMP socket one is
 * made in a private run dir (removed by qemu_proc_free). The SMBIOS files the arguments name
 * are written first (qemu_smbios_write). The accelerator must be resolved (probe.h). Returns
 * once QMP has answered. */
int qemu_proc_start(const struct vm_def *d, const struct qemu_run *run, const struct qemu_proc_opts *o,
                    struct qemu_proc **ret);
/* Write the SMBIOS structures d's arguments take from files (machine/smbios.h: type 0 and 3 in
 * "<disk>.smbios/typeN.bin", the folder created when missing, each file replaced atomically)
 * from d; nothing when d needs none. Written on every start, so a changed profile is what the
 * next boot sees. 0, or a negative errno after one line. */
int qemu_smbios_write(const struct vm_def *d);

/* Start a ready-made argv that holds "-qmp unix:QMP_SOCKET,server=on,wait=off". */
int qemu_proc_start_argv(char *const *argv, const char *qmp_socket, const struct qemu_proc_opts *o, struct qemu_proc **ret);

pid_t qemu_proc_pid(const struct qemu_proc *vm);
struct qmp *qemu_proc_qmp(struct qemu_proc *vm);
const char *qemu_proc_log_path(const struct qemu_proc *vm);
/* The last lines QEMU wrote in this run, joined with " / " (new string), as qemu_log_tail. */
char *qemu_proc_log_tail(const struct qemu_proc *vm, unsigned lines);
/* The last non-empty lines of log text (changed in place), joined with " / "; NULL on ENOMEM.
 * TCG's "warning: TCG doesn't support requested feature: ..." lines are left out: a named CPU
 * model (a hardware profile's Skylake-Client) prints one per missing feature at every start
 * under TCG, harmless, and they would push out the line that says why QEMU ended. */
char *qemu_log_tail(char *text, unsigned lines);
bool qemu_proc_exited(struct qemu_proc *vm);

/* Wait for QEMU to exit (guest shutdown ends QEMU unless -no-shutdown), collecting QMP
 * events meanwhile. 0 and the wait status; -ETIMEDOUT; -ECANCELED on Ctrl-C. timeout < 0:
 * forever. *ret_shutdown_event (may be NULL) tells whether a SHUTDOWN event was seen. */
int qemu_proc_wait_exit(struct qemu_proc *vm, int timeout_ms, int *ret_status, bool *ret_shutdown_event);

/* What QEMU reported about the guest (QMP events), accumulated over calls. */
#define QEMU_RESET_WINDOW_US (2 * 1000 * 1000)
struct qemu_proc_events {
        unsigned resets;               /* guest reboots: RESET events with guest=true, those within
                                        * QEMU_RESET_WINDOW_US of the one before counted once */
        int64_t last_reset_us;         /* QMP timestamp of the last RESET */
        bool shutdown;                 /* SHUTDOWN arrived */
        bool shutdown_guest;           /* ... caused by the guest (power-off, or a reset under -no-reboot) */
        char shutdown_reason[32];      /* QEMU's reason: "guest-shutdown", "guest-reset", "host-signal", ... */
};
/* Read QMP for up to timeout_ms and add what arrived to acc (other events are dropped). A
 * closed QMP socket is not an error (QEMU is going). 0 or -ECANCELED on Ctrl-C. */
int qemu_proc_poll_events(struct qemu_proc *vm, int timeout_ms, struct qemu_proc_events *acc);
/* The raw wait status once qemu_proc_exited() said so. */
int qemu_proc_exit_status(const struct qemu_proc *vm);

/* Graceful stop: system_powerdown and wait powerdown_ms, then QMP quit and wait 5 s, then
 * SIGKILL. 0 once QEMU is gone (however it went). */
int qemu_proc_stop(struct qemu_proc *vm, int powerdown_ms);
/* QMP quit, wait timeout_ms, then SIGKILL. */
int qemu_proc_quit(struct qemu_proc *vm, int timeout_ms);
/* SIGKILL QEMU's process group (and swtpm) and reap. Safe to call twice. */
void qemu_proc_kill(struct qemu_proc *vm);
/* Kill if still running, close QMP, remove the run dir, free. */
void qemu_proc_free(struct qemu_proc *vm);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qemu_proc *, qemu_proc_free)
#define _cleanup_qemu_proc_ _cleanup_(qemu_proc_freep)

/* QMP query-status: "running", "paused", "postmigrate", "inmigrate", "prelaunch", ... */
int qemu_proc_query_status(struct qemu_proc *vm, char **ret_status);
int qemu_proc_cont(struct qemu_proc *vm);
int qemu_proc_pause(struct qemu_proc *vm);

/* Put an ISO into a CD-ROM drive / take it out (VMCloak's attach_iso/detach_iso). drive
 * is the -drive id: "cdrom" for the boot CD-ROM, "cdrom1".. for extra ones. A tray the
 * guest has locked is forced open. */
int qemu_proc_cdrom_change(struct qemu_proc *vm, const char *drive, const char *path);
int qemu_proc_cdrom_eject(struct qemu_proc *vm, const char *drive);
