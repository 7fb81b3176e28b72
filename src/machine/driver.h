/* The driver table: how the pipeline runs a machine, whatever runs it (QEMU, libvirt, a fake). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cleanup.h"
#include "machine/def.h"
#include "machine/memfile.h"

/*
 * Modelled on libvirt's hypervisor driver table (src/driver-hypervisor.h): a connection to a
 * host (libvirt's virConnect) owns storage and host facts; a domain is one defined machine
 * that can be started, watched, saved and stopped many times. The pipeline calls only the
 * vm_* functions below; each dispatches to the driver's op, and an op a driver lacks answers
 * -EOPNOTSUPP with one line naming the driver.
 *
 * Errors: 0 or a negative errno, after one log line (but for the answers that are not
 * failures: -ETIMEDOUT and -ECANCELED of a wait, -ENOENT of an agent endpoint slot that has
 * no address; the caller words those). Every wait honours Ctrl-C/SIGTERM
 * (core/interrupt.h) by returning -ECANCELED; the caller then frees the domain, which stops
 * whatever the driver started. A domain never outlives vmcloak.
 *
 * Drivers: src/qemu/driver.c (QEMU run directly, qemu_driver), src/libvirt/driver.c (any
 * libvirt host through the libvirt C API, libvirt_driver: issue 14) and src/fake/ (a scripted
 * guest for tests, fake_driver).
 */

enum vm_accel {
        VM_ACCEL_AUTO = 0,   /* KVM when it really works (probed), else TCG with one warning */
        VM_ACCEL_KVM,
        VM_ACCEL_TCG,
};
const char *vm_accel_to_string(enum vm_accel a);
int vm_accel_from_string(const char *s, enum vm_accel *ret);   /* auto, kvm, tcg; -EINVAL */

struct vm_conn_opts {
        enum vm_accel accel;           /* what the user asked for */
        const char *uri;               /* driver-specific host address; NULL: this machine
                                        * (libvirt: a connection URI, NULL: qemu:///system) */
        const char *pool;              /* drivers with storage pools (libvirt): the pool the
                                        * vm_volume_* calls work in; NULL: "vmcloak" */
};

/* The first libvirt release that takes and reverts internal (running-state) snapshots of a
 * domain with UEFI (pflash) firmware: 10.10.0 (created since 10.9.0 with a qcow2 NVRAM, reverted
 * correctly since 10.10.0; libvirt's NEWS.rst; 9.0, Debian 12's, refuses them: docs/libvirt.md).
 * The one place of this rule: snapshot --connect refuses a UEFI image on an older host
 * (vm_host_info.manager_version), doctor --connect reports it (libvirt/hostcheck.h). */
#define VM_LIBVIRT_UEFI_SNAPSHOT_MAJOR 10
#define VM_LIBVIRT_UEFI_SNAPSHOT_MINOR 10
#define VM_LIBVIRT_UEFI_SNAPSHOT_MICRO 0
/* Whether libvirt version ("9.0.0", vm_host_info.manager_version) is at least that one; false
 * for "" or what is no version. */
bool vm_libvirt_takes_uefi_snapshots(const char *version);

/* Facts about the host a connection runs machines on. */
struct vm_host_info {
        const char *driver;            /* "qemu", "libvirt" */
        char version[32];              /* hypervisor version, machineinfo's machinery_version: "7.2.22" */
        enum vm_accel accel;           /* resolved: KVM or TCG */
        char manager_version[32];      /* libvirt: the daemon's libvirt version "9.0.0"; "" otherwise */
        bool local;                    /* the machines run on this machine (a file path here is a
                                        * path there; a forwarded 127.0.0.1 port reaches them) */
};

/* Host-side settings of one domain. */
struct vm_domain_opts {
        const char *log_path;          /* the hypervisor's own log (appended); required */
        char *const *passthrough;      /* raw hypervisor arguments (--qemu-arg); drivers that
                                        * cannot take them refuse a non-empty list */
        bool discard_disk_writes;      /* vm_domain_define_cuckoo only: the disk (host->disk.path)
                                        * is read, never written; the guest's writes go to a
                                        * temporary overlay the hypervisor makes at start and
                                        * deletes (QEMU's -drive snapshot=on): a disposable run
                                        * with no overlay file to create first or remove after */
        bool persistent;               /* a domain the host keeps (libvirt's virDomainDefineXML,
                                        * named vm_def.name, refused when the host has one of that
                                        * name: -EEXIST); it outlives vmcloak only once
                                        * vm_domain_keep() said so: until then vm_domain_free()
                                        * removes it. Drivers without them answer -EOPNOTSUPP. */
};

/* A domain the host keeps, as vm_conn_domain_info() finds it by name. */
struct vm_domain_info {
        bool active;                   /* running or paused (else shut off) */
        unsigned snapshots;            /* internal snapshots it has */
        char current_snapshot[128];    /* "" when it has none */
        bool current_snapshot_running; /* that snapshot holds a running machine (what CAPE reverts) */
        char uuid[40];
};

struct vm_start_opts {
        bool paused;                   /* CPUs stopped until vm_domain_resume() */
        bool reboot_powers_off;        /* a guest reboot ends the run as a power-off would */
        const char *memory_image;      /* start from this memory file (vm_domain_save_memory);
                                        * returns once it is loaded and the guest runs (or
                                        * stays paused when paused is set) */
        int timeout_ms;                /* loading the memory image; 0: 120 s */
};

enum vm_event_type {
        VM_EVENT_NONE = 0,
        VM_EVENT_REBOOT,               /* the guest reset the machine; it runs on (unless the
                                        * run has reboot_powers_off: a POWEROFF follows) */
        VM_EVENT_POWEROFF,             /* the guest shut the machine down: it is off, cleanly */
        VM_EVENT_DIED,                 /* the machine ended without the guest shutting down:
                                        * killed, crashed, switched off by vmcloak (destroy, a
                                        * forced shutdown) or stopped after save_memory */
};

/* "reboot", "poweroff", "died", "none"; "running", "paused", "off" (for logs and test drivers). */
const char *vm_event_type_to_string(enum vm_event_type t);

struct vm_event {
        enum vm_event_type type;
        char detail[512];              /* DIED: how it ended and the hypervisor's last log lines */
};

enum vm_state {
        VM_STATE_OFF = 0,
        VM_STATE_RUNNING,
        VM_STATE_PAUSED,
};

const char *vm_state_to_string(enum vm_state s);

struct vm_save_opts {
        enum vm_compress compress;
        unsigned level;                /* 0: the compressor's default (memfile.h) */
        int timeout_ms;                /* 0: 10 minutes */
        bool quiet;                    /* no progress line */
};

struct vm_conn;
struct vm_domain;

struct vm_driver {
        const char *name;
        /* Connection: probe the host once (binary, version, accelerator). */
        int (*conn_open)(const struct vm_conn_opts *o, struct vm_conn **ret);
        void (*conn_close)(struct vm_conn *c);
        int (*host_info)(struct vm_conn *c, struct vm_host_info *ret);
        /* Storage, by path. */
        int (*disk_create)(struct vm_conn *c, const char *path, uint64_t bytes);
        int (*disk_create_overlay)(struct vm_conn *c, const char *path, const char *backing);
        int (*disk_commit)(struct vm_conn *c, const char *overlay);
        int (*disk_import)(struct vm_conn *c, const char *src, const char *dst);
        int (*disk_rebase)(struct vm_conn *c, const char *overlay, const char *backing);
        int (*kill_users)(struct vm_conn *c, const char *path, unsigned *ret_killed, unsigned *ret_spared);
        int (*find_users)(struct vm_conn *c, const char *path, char ***ret);
        /* Domains. */
        int (*domain_define)(struct vm_conn *c, const struct vm_def *def, const struct vm_domain_opts *o,
                             struct vm_domain **ret);
        int (*domain_define_cuckoo)(struct vm_conn *c, char *const *start_args, const struct vm_def *host,
                                    const struct vm_domain_opts *o, struct vm_domain **ret);
        void (*domain_free)(struct vm_domain *d);
        int (*start)(struct vm_domain *d, const struct vm_start_opts *o);
        int (*wait_event)(struct vm_domain *d, int timeout_ms, struct vm_event *ret);
        int (*shutdown)(struct vm_domain *d, int grace_ms);
        void (*destroy)(struct vm_domain *d);
        int (*get_state)(struct vm_domain *d, enum vm_state *ret);
        int (*resume)(struct vm_domain *d);
        int (*save_memory)(struct vm_domain *d, const char *path, const struct vm_save_opts *o);
        int (*media_change)(struct vm_domain *d, size_t cdrom, const char *path);
        int (*send_keys)(struct vm_domain *d, char *const *keys, int hold_ms);
        int (*screenshot)(struct vm_domain *d, const char *png_path);
        int (*agent_endpoint)(struct vm_domain *d, unsigned slot, char *host, size_t size, uint16_t *port);
        int (*cuckoo_start_args)(struct vm_domain *d, const struct vm_def *as_restored, char ***ret);
        char *(*log_tail)(struct vm_domain *d, unsigned lines);
        const char *(*describe)(struct vm_domain *d);
        /* Persistent domains and storage pools (libvirt; issue 14). */
        int (*snapshot_create)(struct vm_domain *d, const char *name, const char *description);
        int (*keep)(struct vm_domain *d);
        int (*conn_domain_info)(struct vm_conn *c, const char *name, struct vm_domain_info *ret);
        int (*conn_domain_remove)(struct vm_conn *c, const char *name);
        int (*volume_upload)(struct vm_conn *c, const char *local_path, const char *name, char **ret_path,
                             bool *ret_uploaded);
        int (*volume_create_overlay)(struct vm_conn *c, const char *name, const char *backing_path,
                                     char **ret_path);
        int (*volume_delete)(struct vm_conn *c, const char *name);
        int (*volume_list)(struct vm_conn *c, char ***ret_names);
        int (*volume_users)(struct vm_conn *c, const char *name, unsigned *ret_n);
};

/* What every driver's connection and domain start with (drivers embed these first). */
struct vm_conn {
        const struct vm_driver *driver;
};
struct vm_domain {
        const struct vm_driver *driver;
        struct vm_conn *conn;
};

/* ---- connection ---- */

/* Open a connection: the driver probes its host here (QEMU: binary, version >= 2.11, KVM). */
int vm_conn_open(const struct vm_driver *drv, const struct vm_conn_opts *o, struct vm_conn **ret);
void vm_conn_close(struct vm_conn *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vm_conn *, vm_conn_close)
int vm_host_info(struct vm_conn *c, struct vm_host_info *ret);

/* A new empty qcow2 disk of bytes (refuses an existing path: -EEXIST); a qcow2 overlay on
 * backing (which must not move afterwards); an overlay's changes written into its backing
 * file, which is never stopped half-way (a Ctrl-C meanwhile waits for it). A failed call leaves
 * no file behind. */
int vm_disk_create(struct vm_conn *c, const char *path, uint64_t bytes);
int vm_disk_create_overlay(struct vm_conn *c, const char *path, const char *backing);
int vm_disk_commit(struct vm_conn *c, const char *overlay);
/* A new qcow2 disk at dst (refused when it exists: -EEXIST) with the content of the disk src,
 * in any format the driver reads (QEMU: qemu-img convert: qcow2, raw, vmdk, vdi, vhdx); src is
 * only read. A failed or interrupted copy (-ECANCELED) leaves no dst. For `vmcloak import`. */
int vm_disk_import(struct vm_conn *c, const char *src, const char *dst);
/* Make the overlay name backing (a qcow2 with the very content of the one it was made on, found
 * elsewhere: another home, another host) as its backing file, without reading or changing any
 * cluster (QEMU: qemu-img rebase -u -F qcow2 -b ABSOLUTE_PATH). Only the overlay's header
 * changes; a backing file of other content silently corrupts the guest's disk, so the caller
 * must have checked it (import --bundle: by SHA-256). The overlay may come from another host,
 * so it is read first (QEMU: qemu-img info --output=json) and refused (-EPERM, one line) unless
 * it is a plain qcow2: no other format, no external data file (qcow2 data-file), no encryption.
 * For `vmcloak import --bundle`. */
int vm_disk_rebase(struct vm_conn *c, const char *overlay, const char *backing);
/* Stop machines of this host that still use path (a disk, or any file under a folder) and
 * were not started by a vmcloak that still runs; *ret_killed counts those, *ret_spared the
 * machines of running vmcloaks left alone (each may be NULL). */
int vm_kill_users(struct vm_conn *c, const char *path, unsigned *ret_killed, unsigned *ret_spared);
/* The machines of this host, not of this process, that use path (a file, or any file under a
 * folder), each described for a message ("QEMU PID 4242 (started by PID 4200: cuckoo ...)");
 * *ret is NULL when there is none. For commands that delete files. */
int vm_find_users(struct vm_conn *c, const char *path, char ***ret);

/* ---- domains ---- */

/* Define a machine from def (checked here: -EINVAL and one line naming the field). Nothing
 * runs yet. The driver copies what it needs: def may be freed afterwards. */
int vm_domain_define(struct vm_conn *c, const struct vm_def *def, const struct vm_domain_opts *o,
                     struct vm_domain **ret);
/* Define a machine from Cuckoo3 machineinfo.json start_args (cuckoo3-qemu.md): the machine
 * Cuckoo3 restores. The devices come from start_args; host gives what start_args cannot say:
 * name, disk.path (in place of %DISPOSABLE_DISK_PATH%), net.type, net.guest_ip and agent_port
 * (where the agent is), vnc, and tpm + tpm_state when start_args hold a TPM (snapshot --tpm: the
 * driver then runs its emulator on that state; without, the restore fails as in Cuckoo3). Drivers that cannot run start_args answer -EOPNOTSUPP. */
int vm_domain_define_cuckoo(struct vm_conn *c, char *const *start_args, const struct vm_def *host,
                            const struct vm_domain_opts *o, struct vm_domain **ret);
/* Stop the machine if it runs (hard), release everything the driver made for it. NULL is fine. */
void vm_domain_free(struct vm_domain *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vm_domain *, vm_domain_free)
#define _cleanup_vm_domain_ _cleanup_(vm_domain_freep)

/* Power on (the machine must be off). */
int vm_domain_start(struct vm_domain *d, const struct vm_start_opts *o);
/* Wait up to timeout_ms (< 0: forever) for the next event. 0 and the event; -ETIMEDOUT (no
 * event); -ECANCELED on Ctrl-C. Once the machine is off, every call answers the event that
 * ended it. */
int vm_domain_wait_event(struct vm_domain *d, int timeout_ms, struct vm_event *ret);
/* Press the power button and wait up to grace_ms for the guest to shut down, then switch the
 * machine off hard. 0 when the guest shut down by itself, 1 when it had to be switched off. */
int vm_domain_shutdown(struct vm_domain *d, int grace_ms);
/* Switch off at once (libvirt's destroy). Safe on a machine that is off. */
void vm_domain_destroy(struct vm_domain *d);
int vm_domain_get_state(struct vm_domain *d, enum vm_state *ret);
int vm_domain_resume(struct vm_domain *d);
/* Pause the guest, write its memory and device state to path through the compressor (the
 * format Cuckoo3 restores: memfile.h), then switch the machine off. path appears atomically;
 * on failure nothing is left and the machine stays paused. */
int vm_domain_save_memory(struct vm_domain *d, const char *path, const struct vm_save_opts *o);
/* Put path into CD-ROM drive cdrom (its index in vm_def.cdroms) or, with path NULL, take the
 * medium out. A tray the guest locked is forced open. */
int vm_domain_media_change(struct vm_domain *d, size_t cdrom, const char *path);
/* Press keys together (QEMU qcodes: "ctrl", "alt", "delete", "ret", "a"), held hold_ms. */
int vm_domain_send_keys(struct vm_domain *d, char *const *keys, int hold_ms);
/* The screen as a PNG file. */
int vm_domain_screenshot(struct vm_domain *d, const char *png_path);
/* Where the host reaches the guest's agent: slot 0 at vm_net.guest_ip, slot 1 at guest_ip2.
 * host is a numeric address. -ENOENT when the slot has no address. */
int vm_domain_agent_endpoint(struct vm_domain *d, unsigned slot, char *host, size_t size, uint16_t *port);
/* Cuckoo3's start_args for this machine as it will be restored (as_restored: its definition
 * after the address change), with the host facts of this run (cuckoo3-qemu.md). */
int vm_domain_cuckoo_start_args(struct vm_domain *d, const struct vm_def *as_restored, char ***ret);
/* The hypervisor log's last lines of this run joined with " / " (new string, maybe ""). */
char *vm_domain_log_tail(struct vm_domain *d, unsigned lines);
/* "QEMU pid 1234" or the like, for debug lines. */
const char *vm_domain_describe(struct vm_domain *d);

/* ---- persistent domains and storage pools (libvirt; issue 14) ----
 *
 * What `snapshot --connect` and `delvm` need from a libvirt host (libvirt.md): a VM lives
 * there as a persistent domain with a running-state internal snapshot, its disk a qcow2
 * overlay volume in the connection's storage pool on a volume holding the image (uploaded once
 * per host). The QEMU and fake drivers without these answer -EOPNOTSUPP (the fake driver keeps
 * them in memory for the pipeline's unit tests). */

/* Take a running-state internal snapshot named name of the running (or paused) machine: memory,
 * device state and disks, atomically (libvirt: virDomainSnapshotCreateXML with
 * VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC); the machine runs on afterwards. What CAPE's and Cuckoo3's
 * kvm machineries revert with flags 0. -EOPNOTSUPP with one line naming what the host lacks
 * (libvirt 9.0 refuses internal snapshots of UEFI/pflash domains, docs/libvirt.md). */
int vm_domain_snapshot_create(struct vm_domain *d, const char *name, const char *description);
/* From now on the persistent domain stays on its host when vm_domain_free() runs (which still
 * switches it off if it runs). A domain defined without opts.persistent: -EINVAL. */
int vm_domain_keep(struct vm_domain *d);
/* The persistent domain name on c's host: 0 and *ret, -ENOENT (no line) when the host has none. */
int vm_conn_domain_info(struct vm_conn *c, const char *name, struct vm_domain_info *ret);
/* Remove the persistent domain name from c's host: switch it off if it runs, delete its
 * snapshots, undefine it with its NVRAM and the volumes its driver made for it (not its disk:
 * vm_volume_delete). -ENOENT (no line) when the host has no such domain. */
int vm_conn_domain_remove(struct vm_conn *c, const char *name);
/* Put the local file local_path into the pool as volume name, once: a volume of that name whose
 * size is the file's is reused (*ret_uploaded false: callers name volumes by content, e.g.
 * the image's SHA-256), one of another size (a cut upload) is replaced, unless a shorter one
 * still grows (another process uploading it: -EBUSY after its line; libvirt has no volume
 * rename, so no upload under a temporary name). An upload that fails
 * or is interrupted (-ECANCELED) leaves no volume. *ret_path: the volume's path on the host
 * (what a domain's disk names). ret_uploaded may be NULL. */
int vm_volume_upload(struct vm_conn *c, const char *local_path, const char *name, char **ret_path,
                     bool *ret_uploaded);
/* A new qcow2 volume name in the pool backed by the qcow2 file backing_path on the host (a
 * volume of the same pool), the backing file's size. -EEXIST when the pool has one. */
int vm_volume_create_overlay(struct vm_conn *c, const char *name, const char *backing_path, char **ret_path);
/* Delete volume name of the pool. -ENOENT (no line) when there is none. */
int vm_volume_delete(struct vm_conn *c, const char *name);
/* The names of the pool's volumes (NULL-terminated, sorted; an empty list when there are none). */
int vm_volume_list(struct vm_conn *c, char ***ret_names);
/* How many volumes of the pool are backed by volume name (their backing store's path is name's
 * path), as the host sees them now: what decides whether an image's base volume may go (overlays
 * of other vmcloak homes, other URIs of the same host, or a run still making them count; local
 * rows cannot see those). 0 and *ret_n; -ENOENT (no line) when the pool has no volume name;
 * else an error after its line. */
int vm_volume_users(struct vm_conn *c, const char *name, unsigned *ret_n);
