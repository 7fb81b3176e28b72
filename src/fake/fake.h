/* A driver for tests: a scripted guest with a real HTTP agent on 127.0.0.1, and no QEMU. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "machine/driver.h"

/*
 * fake_driver implements every op of struct vm_driver (machine/driver.h) the way its comments
 * say, for a guest whose life the test scripts, as libvirt's test driver
 * (src/test/test_driver.c) does for libvirt: the whole pipeline (init, install, snapshot,
 * restore) runs against it in milliseconds.
 *
 * What a fake domain is:
 * - vm_domain_define copies the name, the disk path, the media of each CD-ROM drive, the serial
 *   port (type and path), net.guest_ip, net.guest_ip2 and net.agent_port. It opens one agent
 *   server per address (slot 0: guest_ip, slot 1: guest_ip2) on 127.0.0.1 at an ephemeral port;
 *   vm_domain_agent_endpoint names them. They live until vm_domain_free.
 * - vm_domain_start powers it on. The kind of boot is an "install boot" when CD-ROM drive 0
 *   holds media, a "restore" with vm_start_opts.memory_image, else a "disk boot"; the script's
 *   entry for that kind says what the guest does (struct fake_boot_script).
 * - The agent speaks the Cuckoo agent protocol (GET /, /status, /system, /environ, /path,
 *   /logs, /pinning, /kill; POST /execute, /execpy, /store, /extract, /retrieve, /remove,
 *   /mkdir, /mktemp, /mkdtemp, /status) while the guest is up, running and not hung, and only at
 *   the slot its address is at; otherwise it drops every connection at once (as QEMU's user
 *   networking does for a guest that does not listen). Commands never run on the host: they
 *   are looked up in the answers the test registered (fake_add_answer).
 * - vm_domain_cuckoo_start_args writes {"-machine", "fake,name=N", "-drive",
 *   "file=%DISPOSABLE_DISK_PATH%,format=qcow2"} (and "-serial", "file:PATH" with a serial file);
 *   vm_domain_define_cuckoo takes such lists only, with the machine's name, disk and agent
 *   address from its host definition.
 * - Disks are small text files ("fake-disk 1", size=, backing=); memory files are small files
 *   that start with the format's magic (machine/memfile.h) and hold the guest's address.
 * - The hypervisor log (vm_domain_opts.log_path) gets a line per power event; the serial file
 *   (VM_SERIAL_FILE) gets the script's lines at their moments.
 *
 * Threads: each run has a guest thread, each agent a libmicrohttpd server with a thread per
 * connection. A domain is driven by one thread at a time (as the pipeline does); different
 * domains may be driven from different threads at once. Script, answers, hook, journal and
 * uploads sit behind one lock.
 *
 * Errors of the ops: -EINVAL bad arguments or a bad definition, -ESRCH the machine is off,
 * -EBUSY it already runs, -ENOENT a missing file, -EEXIST an existing one, and whatever errno a
 * hook asks for; one log_error line each (waits that time out or are interrupted log at debug
 * level: the caller words those).
 */
extern const struct vm_driver fake_driver;

/* ---- the script ---- */

enum fake_boot {
        FAKE_BOOT_INSTALL = 0,         /* CD-ROM drive 0 holds media */
        FAKE_BOOT_DISK,                /* drive 0 is empty (or there is none) */
        FAKE_BOOT_RESTORE,             /* started with a memory image */
        FAKE_BOOT_KINDS,
};

/* How a boot ends, once its time is up. */
enum fake_end {
        FAKE_END_AGENT = 0,            /* the agent starts answering; the guest runs on */
        FAKE_END_POWEROFF,             /* the guest powers the machine off (VM_EVENT_POWEROFF) */
        FAKE_END_HANG,                 /* the guest hangs: no agent, deaf to ACPI */
        FAKE_END_DIE,                  /* the machine dies: VM_EVENT_DIED with die_detail */
};

/*
 * One kind of boot. The guest spends boot_ms from power-on to its end, with its reboots evenly
 * spaced inside that time; each reboot is a VM_EVENT_REBOOT (with vm_start_opts
 * .reboot_powers_off the first one ends the run: REBOOT, then POWEROFF). A restore skips the
 * boot: its guest is up at once with its saved address, unless its end says otherwise.
 * Serial lines (NULL-terminated lists, NULL for none) are appended to the serial file at power-on,
 * at each reboot, and at the end (before the power-off, or as the agent comes up).
 */
struct fake_boot_script {
        int boot_ms;
        unsigned reboots;
        enum fake_end end;
        const char *die_detail;        /* FAKE_END_DIE: the event's detail; NULL: a stock line */
        char *const *serial_boot;
        char *const *serial_reboot;
        char *const *serial_end;
};

struct fake_script {
        struct fake_boot_script boot[FAKE_BOOT_KINDS];
        int reboot_ms;                 /* a "reboot" command: the guest is down this long, with the
                                        * VM_EVENT_REBOOT half-way */
        int shutdown_ms;               /* ACPI or a "poweroff" command: the guest is off after
                                        * this long; < 0: it ignores the power button */
        char *const *serial_shutdown;  /* appended as the guest shuts down */
        const char *system;            /* GET /system: "Linux" or "Windows" */
        char *const *environ;          /* GET /environ: "NAME=VALUE" strings */
        const char *host_version;      /* vm_host_info().version */
};

/* The defaults: install boot 20 ms then power-off, disk boot 20 ms then agent, restore at once,
 * reboot 20 ms, shutdown 10 ms, system "Linux", a small Linux environment, version "8.2.0". */
void fake_script_init(struct fake_script *s);
/* Use a copy of s from the next vm_domain_start on (a run keeps the script it started with).
 * 0 or -ENOMEM (the old script stays). */
int fake_set_script(const struct fake_script *s);

/* ---- command answers ---- */

enum fake_match {
        FAKE_MATCH_PREFIX = 0,         /* the command starts with match */
        FAKE_MATCH_GLOB,               /* fnmatch(3) without flags */
};

/* What a command does besides answering. */
enum fake_effect {
        FAKE_EFFECT_NONE = 0,
        FAKE_EFFECT_POWEROFF,          /* the guest shuts down (shutdown_ms): VM_EVENT_POWEROFF */
        FAKE_EFFECT_REBOOT,            /* down for reboot_ms, VM_EVENT_REBOOT, up again */
        FAKE_EFFECT_SET_ADDRESS,       /* the agent answers only at slot 1 from now on (at no slot
                                        * when the definition has no guest_ip2) */
};

struct fake_answer {
        const char *match;
        enum fake_match how;
        const char *domain;            /* only this domain's commands; NULL: any */
        int exit_code;
        const char *out;               /* stdout; NULL: "" */
        const char *err;               /* stderr; NULL: "" */
        enum fake_effect effect;       /* applied right after the answer is queued */
        int duration_ms;               /* a synchronous command takes this long */
};

/* Register an answer (copied). The first registered answer that matches wins; a command none
 * matches exits 0 with empty output. 0, -EINVAL (no match string), -ENOMEM. */
int fake_add_answer(const struct fake_answer *a);

/* ---- the hook ---- */

enum fake_action {
        FAKE_CONTINUE = 0,
        FAKE_DIE,                      /* the machine dies now (VM_EVENT_DIED); no effect on
                                        * storage moments, which have no machine */
        FAKE_FAIL,                     /* the op fails with *ret_errno (EIO when left 0); at guest
                                        * moments (boot, reboot, agent-up) the machine dies with
                                        * that error in its detail; the agent answers HTTP 500 */
        FAKE_HANG,                     /* the guest hangs: its agent stops answering (a request
                                        * in flight is dropped), it ignores ACPI */
        FAKE_SIGINT,                   /* raise(SIGINT) in this process, then continue */
        FAKE_SIGTERM,                  /* raise(SIGTERM), then continue */
};

/*
 * A named moment. name and arg:
 *   "start" (boot kind: "install", "disk", "restore"), "boot" (kind), "reboot" (its number in the
 *   run, "1"...), "agent-up", "execute" (the command), "upload" (the guest path), "save" (the
 *   format: "lz4"...), "media-change" ("<drive>" or "<drive> <path>"), "shutdown",
 *   "disk-create", "disk-import", "disk-overlay", "disk-commit" (the host path; domain is NULL).
 * The hook runs on the thread that reached the moment (the caller's, the guest's, or an agent
 * connection's) with no lock held; it must not call the vm_* functions of that domain.
 */
struct fake_moment {
        const char *domain;
        const char *name;
        const char *arg;
};
typedef enum fake_action (*fake_hook_fn)(const struct fake_moment *m, int *ret_errno, void *userdata);
/* Set the hook (NULL: none). */
void fake_set_hook(fake_hook_fn fn, void *userdata);

/* ---- the screen ---- */

/* What a screenshot shows: fn gives the grey level (0-255) of the whole screen of domain at
 * ms_since_power_on; vm_domain_screenshot writes it as an 8x8 grey PNG. With no fn (the default)
 * the screen is black. fn runs on the caller's thread with no lock held. */
typedef unsigned (*fake_screen_fn)(const char *domain, int64_t ms_since_power_on, void *userdata);
void fake_set_screen(fake_screen_fn fn, void *userdata);

/* ---- what happened ---- */

/*
 * The journal: one line per thing that happened, in order, with host files by their base name:
 *   "define win", "start win media=[boot.iso,config.iso]" (" kernel=K" for a direct kernel boot,
 *   " memory=F", " paused" as given),
 *   "identity win mac=M uuid=U serial=S disk=MODEL/SERIAL nic=MODEL" (after define, for a
 *   definition with an SMBIOS system UUID: a hardware profile's machine, cloak/hardware.h),
 *   "reboot win", "agent-up win", "hang win", "died win: <detail>", "poweroff win",
 *   "shutdown win" (the power button), "destroy win", "resume win", "save win lz4",
 *   "insert win 1 config.iso", "eject win 1", "keys win ctrl+alt+delete", "screenshot win s.png",
 *   "execute win: <command>", "execpy win: <path>", "upload win <guest path>",
 *   "extract win <guest dir>", "remove win <path>", "mkdir win <path>", "address win 1",
 *   "disk-create d.qcow2", "disk-import src.img into d.qcow2", "disk-overlay o.qcow2 on d.qcow2", "disk-commit o.qcow2 into d.qcow2",
 *   "kill-agent win" (/kill: the agent stops answering until the next boot),
 *   "kill win" / "spare win" (vm_kill_users), "free win".
 * A pattern matches a line it equals, or, when it ends with '*', a line that starts with the
 * rest.
 */
/* A copy of the journal (NULL-terminated; free with strv_free). NULL on -ENOMEM. */
char **fake_journal(void);
/* The journal as one string, a line each (free it). NULL on -ENOMEM. */
char *fake_journal_text(void);
/* Index of the first line at or after from that matches pattern; -ENOENT. */
ssize_t fake_journal_find(const char *pattern, size_t from);
/* How many lines match pattern. */
size_t fake_journal_count(const char *pattern);
/* Wait up to timeout_ms until a line matches pattern: its index, -ETIMEDOUT, -ECANCELED. */
ssize_t fake_journal_wait(const char *pattern, int timeout_ms);

/* A file the pipeline stored in a guest (POST /store). */
struct fake_upload {
        uint64_t size;
        uint64_t hash;                 /* fake_hash() of its content */
};
/* The last upload to guest_path in the guest of that domain (uploads outlive their domain until
 * fake_reset; /remove forgets them). 0 (ret, if not NULL, filled) or -ENOENT. */
int fake_upload_find(const char *domain, const char *guest_path, struct fake_upload *ret);
/* FNV-1a (64 bits) of data. */
uint64_t fake_hash(const void *data, size_t len);

/* How many fake domains exist (defined and not yet freed: each keeps its agent servers and,
 * while it runs, its guest thread). A test that freed everything sees 0. */
unsigned fake_live_domains(void);

/* Make the running domain named domain look as if a vmcloak that has since died started it:
 * vm_kill_users then switches it off (it spares the domains of this vmcloak). 0 or -ENOENT. */
int fake_orphan(const char *domain);

/* ---- hosts (persistent domains and storage pools, issue 14) ----
 *
 * Each connection URI (vm_conn_opts.uri; NULL is its own host) is a host that keeps, across
 * connections, the persistent domains defined on it (vm_domain_opts.persistent: removed when
 * freed unless vm_domain_keep said so), their internal snapshots, and the volumes of its
 * storage pools (vm_conn_opts.pool, default "vmcloak"; by name and size only, at
 * /var/lib/libvirt/images/POOL/NAME). vm_host_info says local unless the URI names a host
 * ("fake+tcp://h2/system" is remote, "fake:///a" local), and manager_version (the libvirt
 * version) "9.0.0" unless fake_set_manager_version changed it. vm_domain_snapshot_create refuses
 * a UEFI machine (vm_def.firmware) below VM_LIBVIRT_UEFI_SNAPSHOT_* as libvirt 9.0 does. Journal lines:
 *   "define-persistent URI NAME", "undefine URI NAME" (freed, not kept), "keep URI NAME",
 *   "snapshot-create NAME SNAP running", "domain-remove URI NAME", "volume-upload URI VOL",
 *   "volume-reuse URI VOL", "volume-overlay URI VOL on BASE", "volume-delete URI VOL";
 * the hook's moments "volume-upload", "volume-overlay", "volume-delete" (the volume name),
 * "snapshot-create" (the snapshot name), "domain-remove" and "conn-open" (the URI; a failed
 * conn-open is a host that cannot be reached). */
int fake_set_manager_version(const char *version);
/* The names of host uri's persistent domains, sorted (free with strv_free). 0 or -ENOMEM. */
int fake_host_domains(const char *uri, char ***ret);

/* Forget the script (back to fake_script_init's), the answers, the hook, the journal, the
 * uploads, the hosts' volumes and their domains that are not in use. Domains that still exist are left alone. */
void fake_reset(void);
