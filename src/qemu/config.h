/* What one QEMU run needs besides the machine's definition: host facts and this process's knobs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/def.h"
#include "machine/driver.h"

/*
 * The QEMU driver renders a struct vm_def (machine/def.h: what the machine is) together with
 * a struct qemu_run: which QEMU runs it, what this host provides (bridge helper, firmware
 * code, swtpm socket, forwarded ports) and the knobs of this one process (QMP socket,
 * incoming migration, -no-reboot, -S). argv.c turns both into argv; the same pair renders
 * Cuckoo3's start_args (QEMU_ARGV_START_ARGS), which leave the process knobs out.
 *
 * Ownership: every char * / char ** is malloc'ed and owned; qemu_run_done() frees them.
 */

/* The QEMU version decides which of two argument families is emitted (VMCloak §6.4:
 * < 4.1 uses -realtime mlock=off and ide-drive; an unknown version 0.0.0 counts as < 4.1). */
struct qemu_version {
        unsigned major, minor, micro;
};

struct qemu_run {
        /* Host facts. */
        char *binary;                  /* NULL: "qemu-system-x86_64" */
        struct qemu_version version;
        enum vm_accel accel;           /* must be resolved to KVM or TCG (probe.h) */
        char *bridge_helper;           /* bridge mode: NULL = QEMU's compiled-in helper */
        bool audio_none;               /* -audiodev none: the host needs no sound system (QEMU >= 4.0);
                                        * the guest sees the same HDA device either way */
        char *uefi_code;               /* UEFI: the firmware code, read-only pflash 0 */
        char *tpm_socket;              /* TPM: swtpm's control socket */
        /* User networking: 127.0.0.1:fwd_port -> net.guest_ip:agent_port, and fwd_port2 ->
         * net.guest_ip2 (0: no forward). */
        unsigned fwd_port;
        unsigned fwd_port2;
        char **extra_args;             /* raw arguments appended last (--qemu-arg) */
        /* This process; never in start_args. */
        char *qmp_socket;              /* -qmp unix:PATH,server=on,wait=off */
        bool monitor_none;             /* -monitor none (Cuckoo3's restore adds it) */
        char *incoming;                /* -incoming URI, e.g. "exec:lz4 -c -d < '/path'" */
        char *pidfile;                 /* -pidfile PATH */
        bool no_reboot;                /* -no-reboot: a guest reboot ends QEMU */
        bool paused;                   /* -S: start with the CPUs stopped */
        bool disk_snapshot;            /* start_args' disk -drive gets snapshot=on: writes go to a
                                        * temporary overlay QEMU deletes (vm_domain_opts.
                                        * discard_disk_writes) */
};

#define QEMU_DEFAULT_BINARY "qemu-system-x86_64"

void qemu_run_done(struct qemu_run *r);

/* Version helpers. */
int qemu_version_cmp(const struct qemu_version *a, unsigned major, unsigned minor, unsigned micro);
static inline bool qemu_version_pre_4_1(const struct qemu_version *v) {
        return qemu_version_cmp(v, 4, 1, 0) < 0;
}
/* Parse "7.2.22" (also accepts "7.2"). -EINVAL, -ERANGE. */
int qemu_version_parse(const char *s, struct qemu_version *ret);

/* What argv.c renders: the command vmcloak runs, or Cuckoo3's machineinfo start_args. */
enum qemu_argv_purpose {
        QEMU_ARGV_RUN = 0,
        QEMU_ARGV_START_ARGS,
};

/*
 * Key=value loader for golden argv cases and the QEMU layer's test driver (tests/argv/README).
 * One "key=value" per line, '#' comments, blank lines ignored, repeatable keys append. Every
 * key fills one field of the definition or of the run (conffile.c lists them). def and run
 * must be initialised; ret_purpose may be NULL. On error -EINVAL and one line
 * "FILE:LINE: key: reason" (or -ENOMEM and "out of memory").
 */
int qemu_conf_load(const char *path, struct vm_def *def, struct qemu_run *run, enum qemu_argv_purpose *ret_purpose);
int qemu_conf_load_string(const char *text, const char *origin, struct vm_def *def, struct qemu_run *run,
                          enum qemu_argv_purpose *ret_purpose);
