/* Host probes: which QEMU, which version, does KVM really run guests; accel resolution. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "qemu/config.h"

#define QEMU_MIN_MAJOR 2
#define QEMU_MIN_MINOR 11

/* qemu-system-x86_64 to use: the one qemu_set_binary() chose, else $VMCLOAK_QEMU if set, else
 * the first in PATH. New path in *ret; -ENOENT (nothing logged) when there is none. */
int qemu_find_binary(char **ret);

/*
 * The global --qemu-binary PATH: every later qemu_find_binary() (so every run, restore, probe
 * and doctor check of this process) uses PATH, e.g. a patched build that hides QEMU's strings
 * as CAPE's kvm-qemu.sh makes one. A name without '/' is looked up in PATH. PATH must be an
 * executable file whose `--version` names a version (qemu_probe_version()) and says it is an
 * "emulator version" (qemu-system-*; qemu-img says "qemu-img version"); the minimum version is
 * checked where QEMU is used. NULL goes back to $VMCLOAK_QEMU / PATH. 0, or -ENOENT, -EACCES,
 * -EISDIR, -EINVAL (no version, not a system emulator) after one line naming the option and the
 * fix; -ENOMEM.
 */
int qemu_set_binary(const char *path);
/* The absolute path qemu_set_binary() took (owned by this module), or NULL when none was given. */
const char *qemu_binary_override(void);

/* Find MAJOR.MINOR.PATCH[-pre][+build] in `--version` output (VMCloak's semver search).
 * ret_string (may be NULL) gets the matched text. -EINVAL when there is none. */
int qemu_parse_version_output(const char *out, struct qemu_version *ret, char **ret_string);
/* Run `BINARY --version` and parse it. */
int qemu_probe_version(const char *binary, struct qemu_version *ret, char **ret_string);

/* Binary + version in one step, refusing QEMU < 2.11 with one clear line. The version is
 * remembered per binary identity (path, inode, size, mtime) in <runtime or cache folder>/
 * qemu-version, so opening the driver costs no `--version` run while the binary is the same. */
struct qemu_binary {
        char *path;
        char *version_string;
        struct qemu_version version;
};
int qemu_binary_probe(struct qemu_binary *ret);
void qemu_binary_done(struct qemu_binary *b);

/*
 * KVM probe: /dev/kvm present and openable, then a 512-byte boot sector run under
 * "-machine pc,accel=kvm": it enters protected mode, turns on paging, touches 8 MiB of
 * memory 32 times and writes to isa-debug-exit, so QEMU exits with code 99. That takes
 * milliseconds under working KVM (and ~0.2 s under TCG); where nested KVM hangs or crawls
 * (this happens: real-mode code runs, paged code does not), the deadline expires and KVM
 * is "not usable". The run's answer is cached, keyed by QEMU binary + version, kernel
 * release and boot id, in $VMCLOAK_KVM_PROBE_CACHE, else $XDG_RUNTIME_DIR/vmcloak/kvm-probe,
 * else <vmcloak home>/cache/kvm-probe (only if the home is initialised).
 */
struct kvm_status {
        bool present;          /* /dev/kvm exists */
        bool openable;         /* and this user can open it read-write */
        bool usable;           /* and a test guest ran to completion in time */
        bool cached;           /* the answer came from the cache */
        long probe_ms;         /* how long the test guest took (when it ran) */
        char reason[256];      /* why not usable, or "" */
};

enum {
        QEMU_PROBE_NO_CACHE = 1 << 0,   /* run the test guest even if an answer is cached */
};

#define KVM_PROBE_TIMEOUT_MS 5000

int qemu_kvm_probe(const char *binary, const struct qemu_version *v, unsigned flags, struct kvm_status *ret);

/* Run the test guest under accel ("kvm" or "tcg") with a deadline. 0 when it finished;
 * -ETIMEDOUT, -EIO (QEMU failed: reason names it), -ECANCELED, -ENOMEM (reason says so).
 * Its scratch folder in $TMPDIR is gone when it returns. elapsed_ms may be NULL. */
int qemu_accel_test(const char *binary, const char *accel, int timeout_ms, long *elapsed_ms, char *reason,
                    size_t size);

/* AUTO -> KVM when usable, else TCG with ONE warning line. KVM requested: refused when
 * /dev/kvm is missing or cannot be opened; a failed test guest only warns (the user asked).
 * TCG: no probe. */
int qemu_accel_resolve(enum vm_accel requested, const char *binary, const struct qemu_version *v,
                       enum vm_accel *ret);

/* The usual preparation before qemu_proc_start(): find and version-check QEMU (one clear line
 * on failure), set run->version and run->binary, and resolve run->accel (the user's choice,
 * AUTO included) with qemu_accel_resolve(). */
int qemu_resolve_run(struct qemu_run *run);

/* Everything `vmcloak doctor` shows about QEMU. */
struct qemu_doctor {
        char *binary;                 /* NULL: not found */
        char *version_string;
        struct qemu_version version;
        bool version_ok;              /* >= 2.11 */
        char *img_binary;             /* qemu-img found in PATH, NULL if not */
        struct kvm_status kvm;
        bool tcg_ok;                  /* the test guest ran under TCG */
        long tcg_ms;
        char tcg_reason[256];
        char *ovmf_code;              /* Secure Boot firmware (Windows 11), NULL if absent */
        char *ovmf_vars;              /* its Microsoft-keys variable store template */
        char *swtpm;                  /* swtpm binary, NULL if absent */
        char *lz4, *gzip, *zstd;      /* memory snapshot compressors, NULL if absent */
};
/* flags: QEMU_PROBE_NO_CACHE. Never fails for a missing piece (that is a finding). */
int qemu_doctor_collect(struct qemu_doctor *d, unsigned flags);
/* Human-readable lines ("ok   ...", "FAIL ...", "warn ..."); returns the number of FAILs
 * (missing QEMU, too old, TCG broken). KVM unusable is a warning (TCG works, slowly). */
int qemu_doctor_print(const struct qemu_doctor *d, FILE *f);
struct json_object *qemu_doctor_to_json(const struct qemu_doctor *d);
void qemu_doctor_done(struct qemu_doctor *d);

/* The accelerators a QEMU binary was built with (`BINARY -accel help`: one name a line after a
 * header), e.g. {"kvm", "tcg"}; an empty list when it names none. strv in *ret; -EIO when the
 * binary fails, -ENOMEM. */
int qemu_binary_accels(const char *binary, char ***ret);

/*
 * Strings a stock QEMU build carries in its own file that a guest can read back (the ATA/ATAPI
 * model strings of hw/ide/core.c, the USB tablet's product name, the default CPU model name,
 * the fw_cfg ACPI device id, the Bochs VGA / BOCHS ACPI OEM names). A build patched as CAPE's
 * kvm-qemu.sh does replaces them, so their absence is how doctor tells a patched build. Fills
 * present[] (pointers into a static list) and returns how many of QEMU_TELLS_CHECKED are in the
 * file; -ENOEXEC when the file is no ELF binary (a "#!" wrapper script around QEMU: the strings
 * of the QEMU it runs cannot be checked), -errno when it cannot be read.
 */
#define QEMU_TELLS_CHECKED 7
int qemu_binary_tells(const char *binary, const char *present[QEMU_TELLS_CHECKED]);
/* The whole list qemu_binary_tells() looks for, for messages. */
extern const char *const qemu_tell_strings[QEMU_TELLS_CHECKED + 1];   /* NULL-terminated */

/* Standard firmware paths (Debian's ovmf package), NULL if missing. New strings. */
char *qemu_find_ovmf_code(bool secure_boot);
char *qemu_find_ovmf_vars(bool microsoft_keys);
