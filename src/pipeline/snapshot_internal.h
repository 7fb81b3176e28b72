/* What snapshot.c and snapshot_libvirt.c share: the run, each VM's job, a VM being built. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "cloak/hardware.h"
#include "core/lock.h"
#include "deps/resolve.h"
#include "pipeline/cloakcheck.h"
#include "pipeline/session.h"
#include "pipeline/snapshot.h"

#define AGENT_BOOT_TIMEOUT_S 600
#define AGENT_READDRESS_TIMEOUT_S 180

struct image;
struct snapshot;
struct os_profile;
struct snapshot_host;

struct vm_job {
        char *name;
        char ip[16];
        char hostname[64];
        struct name_lock *lock;        /* the name, held from planning to the end */
        struct name_lock *addr_lock;   /* its address (LOCK_ADDRESS), held likewise: two runs at once
                                        * never give one address to two VMs */
        bool kept;                     /* complete from an earlier run of the series */
        bool rebuilt;                  /* an incomplete leftover, removed */
        bool ok;
        unsigned host;                 /* --connect: its index in snapshot_ctx.hosts */
};

struct snapshot_ctx {
        struct pipeline *pl;
        const struct snapshot_request *req;
        struct dep_plan final;         /* Windows: threemonpatch, finalize (empty: nothing to run) */
        struct dep_catalog *catalog;   /* loaded for it (NULL: none, or the request's) */
        const struct image *img;
        const struct os_profile *prof;
        struct vm_job *jobs;
        unsigned n;
        unsigned next;
        pthread_mutex_t lock;
        unsigned prefix;
        char **tags;                   /* every VM's machine tags (vm_tags_compute) */
        /* The image's hardware profile (issue 13; NULL: none, VMCloak's machine) and identity,
         * whose drive models each VM keeps while it gets its own serials, UUID and MAC. */
        struct hw_catalog hw_catalog;
        const struct hw_profile *hw;
        struct hw_identity hw_image;
        struct scorecard cloak_base;   /* --cloakcheck: what no VM may score worse than */
        /* --connect (snapshot_libvirt.c): the libvirt hosts, one pipeline each; NULL: local VMs. */
        struct snapshot_host *hosts;
        unsigned n_hosts;
        char *base_volume;             /* the image's volume name on every host */
        /* A fleet's template (snapshot_fleet.c; NULL: each VM boots the image): its folder
         * <home>/fleet/<image>.template-<pid>, its overlay on the image and its raw memory file. */
        char *fleet_dir, *tpl_disk, *tpl_mem;
        /* Bridged fleets: held by one VM from its start as the template until its own MAC and
         * address (build_steps). */
        pthread_mutex_t fleet_net_lock;
};

/* One snapshot VM being made: what its steps share, and what its failure removes. */
struct vm_build {
        struct snapshot_ctx *x;
        struct vm_job *job;
        char *vmdir;
        char *disk;
        char *memfile;
        char mac[18];
        struct hw_identity id;         /* its own identity (hw_identity_new), with a profile */
        char *identity;                /* the same as JSON: the session's machine and the row's */
        char *os_version;
        char **start_args;
        char *com1;
        char *cloakcheck;              /* --cloakcheck: its scorecard (JSON) for its row */
        struct vm_session s;
        const char *step;              /* for the failure message: "while <step>" */
        /* --connect: its host, and its overlay volume there (NULL until created). */
        struct snapshot_host *host;
        struct pipeline *host_pl;      /* the host's pipeline (its connection) */
        const char *host_uri;
        bool host_local;               /* vm_host_info.local */
        char *volume;
};


/* The VM's row (step "recording it"): address, hostname, MAC, tags, identity, scorecard, and
 * with where (a VM on a libvirt host) its five libvirt_* columns. *ret_id (may be NULL): its id.
 * 0 or the repository's error (one line). */
int snapshot_record(struct vm_build *b, const struct snapshot *where, int64_t *ret_id);
/* Keep a failed VM's logs (qemu.log, serial.log of vmdir) where the user can read them after its
 * folder is removed: moved to <home>/log/<vmname>/. That folder (new string), or NULL when it
 * cannot be made. */
char *snapshot_save_failed_logs(const char *vmdir, const char *vmname);
/* The OS profile's shrink_memory in the guest, right before its snapshot (step "shrinking its memory"). */
int snapshot_shrink_memory(struct vm_build *b);

/* The definition's image for every machine of this run: the image's, with the request's CPUs,
 * RAM and TPM choice (mac left to the caller). */
void snapshot_vm_image(const struct snapshot_ctx *x, struct image *ret);

/* ---- snapshot_fleet.c: a fleet built from one boot (issue 15) ---- */

/* Why the VMs still to build (to_build of them) cannot be made from one template boot, in words
 * for the info line ("the OS needs a reboot after a rename"); NULL when they can. */
const char *snapshot_fleet_refusal(const struct snapshot_ctx *x, unsigned to_build);
/* Boot the template once (an overlay on the image in a private folder of this run, its own MAC,
 * the VMs' CPUs/RAM), wait for its agent, save its memory uncompressed, switch it off: sets
 * x->fleet_dir, tpl_disk, tpl_mem. 0, or a negative errno after one line (-ECANCELED on Ctrl-C);
 * what it made stays for snapshot_fleet_done to remove. */
int snapshot_fleet_make(struct snapshot_ctx *x, unsigned to_build);
/* VM b's disk: a sparse (reflinked where the filesystem can) copy of the template's overlay,
 * its backing file the image's, and the template's UEFI variables beside it. */
int snapshot_fleet_disk(struct vm_build *b);
/* Whether the fleet's VMs must start one at a time and hold fleet_net_lock until each has its
 * own MAC and address: they start as the template (its MAC, the image's address), and on a
 * bridge two of them up at once would be one machine twice on that network (agent commands
 * could reach the other). A user-network image's VMs each have their own network: false; no
 * fleet (each VM boots the image with its own MAC): false. */
bool snapshot_fleet_one_at_a_time(const struct snapshot_ctx *x);
/* Right after b was started from the template's memory and its agent answered: its own random
 * pool (the OS profile's reseed). */
int snapshot_fleet_reseed(struct vm_build *b);
/* Remove the template's folder (safe when none was made). */
void snapshot_fleet_done(struct snapshot_ctx *x);

/* ---- snapshot_libvirt.c: the VMs on libvirt hosts (snapshot --connect, issue 14) ---- */

/* The running-state internal snapshot each VM's domain gets: what CAPE's kvm.conf `snapshot`
 * names (and what it reverts to when none is named: libvirt's current snapshot). */
#define SNAPSHOT_LIBVIRT_NAME "vmcloak"
/* The storage pool when the request names none (libvirt/driver.h's default). */
#define SNAPSHOT_LIBVIRT_POOL "vmcloak"

/* "VM: message" on the progress log. */
void snapshot_say(const char *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Connect to every --connect host, refuse what they cannot hold (a UEFI image on a libvirt
 * that cannot snapshot it, a user-network image on a remote host), and upload the image to each
 * (once: a volume of that name is reused) before any VM boots. 0 or a negative errno after one
 * line; what was uploaded is removed by snapshot_hosts_done when no VM uses it. */
int snapshot_hosts_open(struct snapshot_ctx *x);
/* Remove the image's volume from each host where no row uses it (and it was uploaded by this
 * run), close the connections. */
void snapshot_hosts_done(struct snapshot_ctx *x);
/* Put b on the host its job was given (snapshot_ctx.hosts[job->host]). */
void snapshot_libvirt_attach(struct vm_build *b);
/* The VM's overlay volume <vm>.qcow2 on its host's copy of the image; *ret_disk its path there. */
int snapshot_libvirt_disk(struct vm_build *b, char **ret_disk);
/* Take the running-state snapshot, switch the domain off, keep it and record the row. */
int snapshot_libvirt_save(struct vm_build *b);
/* After a failure: delete the VM's overlay volume (the domain went with its session). */
void snapshot_libvirt_undo(struct vm_build *b);
