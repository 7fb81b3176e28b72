/* vmcloak snapshot: analysis VMs (overlay, memory snapshot, machineinfo.json) from an image. */
#pragma once

#include <stdbool.h>

#include "machine/memfile.h"
#include "pipeline/pipeline.h"
#include "pipeline/session.h"

struct dep_catalog;

struct snapshot_request {
        const char *image;
        const char *vmname;
        const char *first_ip;          /* NULL: the image network's .10 (next free) */
        unsigned count;
        unsigned jobs;
        const char *hostname;          /* only with count 1 */
        const char *resolution;        /* NULL: unchanged */
        unsigned cpus, ram_mb;         /* 0: the image's */
        enum vm_compress compress;
        unsigned level;                /* 0: the compressor's default */
        bool interactive;
        bool com1;
        bool tpm;                      /* keep the image's TPM (default: the VMs run without it) */
        bool boot_each;                /* --boot-each: every VM boots the image (no fleet template) */
        bool nopatch;                  /* Windows: no threemonpatch before the memory snapshot */
        const char *files_dir;         /* --files-dir for threemonpatch's and finalize's files */
        const struct dep_catalog *catalog;  /* NULL: the shipped one and deps.d (Windows images only) */
        bool cloakcheck;               /* run the cloak detector in each VM before its memory snapshot and
                                        * refuse one that scores worse than the image (pipeline/cloakcheck.h) */
        char **tags;                   /* --tag: machine tags of these VMs besides the image's (NULL: none) */
        struct vm_options vm;
        /* --connect (issue 14): libvirt connection URIs (NULL-terminated; NULL or empty: the VMs
         * are local Cuckoo3 VMs) the VMs are spread over round-robin, through pl->host_driver, as
         * persistent domains with their disks in storage pool pool (NULL: "vmcloak"). */
        char *const *connect;
        const char *pool;
        /* Filled on success when not NULL (--json): the VM names of the series, in order, each
         * made by this run or kept (complete from an earlier one); free with strv_free. */
        char ***ret_made, ***ret_kept;
};

/* Each VM gets its own copy of the image's UEFI variable store beside its disk, and runs
 * without the image's TPM unless req->tpm: Cuckoo3 restores with -incoming and starts no
 * swtpm, and QEMU refuses a memory snapshot holding a TPM without one (docs/architecture.md,
 * "Firmware state and Cuckoo3"). With req->tpm each VM gets its own copy of the TPM state.
 * Each VM's machine tags (machineinfo.json, its row) are the image's, its installed
 * dependencies' and req->tags (pipeline/tags.h vm_tags_compute).
 * An image with a hardware profile (issue 13, pipeline/imagehw.h): each VM is another machine of
 * that model, with its own identity (hw_identity_new keeping the image's drive models: system,
 * baseboard, chassis, memory and disk serials, UUID, WWN, a MAC of the profile's OUIs, machine
 * id, MachineGuid, owner, install date), its definition and start_args built from it, the OS
 * profile's set_identity run in the guest before the hostname, and the identity stored in its
 * row (snapshot.identity). A profile gone from the catalog refuses the snapshot before any VM
 * is planned. Without a profile each VM gets a random PC vendor's MAC, as VMCloak's.
 * Make req->count VMs (req->jobs at a time); each one that fails or is interrupted leaves no
 * row and no folder (its logs move to ~/.vmcloak/log/VM). 0 when every VM was made.
 * Windows images (OS profile names "win..."): each VM runs the catalog's threemonpatch (unless
 * req->nopatch) and finalize through its agent before its memory snapshot, as VMCloak's
 * snapshot does (spec §8.1 step 6, §11.2), skipping those the image records as installed;
 * their files are fetched before any VM starts, and one that cannot be had refuses the
 * snapshot with one line naming --files-dir and --nopatch. Linux images run neither. */
/* With req->connect (issue 14, docs/libvirt.md): VM i goes to host i mod the number of hosts.
 * Before any VM boots, each host is connected to and checked (a UEFI image needs libvirt
 * VM_LIBVIRT_UEFI_SNAPSHOT_* (machine/driver.h) for an internal snapshot; a user-network image needs a local
 * host: CAPE reaches the agent at the VM's own IP), and the image is uploaded to each host once,
 * as volume vmcloak-<image>-<first 12 hex of its SHA-256>.qcow2 (reused when there). Each VM
 * gets an overlay volume <VM>.qcow2 on it, a persistent domain named after it, the boot,
 * identity, hostname and address steps of a local VM, then a running-state internal snapshot
 * named "vmcloak" (snapshot_internal.h), is switched off (CAPE reverts a shut-off domain with
 * flags 0), kept, and recorded with snapshot.libvirt_* filled. Its logs stay in
 * ~/.vmcloak/vms/libvirt/VM/ (no memory file, no machineinfo.json). One that fails or is
 * interrupted leaves no domain, no overlay volume and no row; the image's volume stays only
 * where a row uses it. --tpm and --compress have no meaning there (the command refuses them). */
/* A fleet (issue 15): when 2 or more local VMs remain to be built and snapshot_fleet_refusal()
 * finds no reason against it, the image boots once as a template whose memory is saved raw in
 * <home>/fleet/<image>.template-<pid>/ (removed at the end, on failure and on Ctrl-C; `vmcloak
 * cleanup IMAGE` removes what a killed run left), and each VM starts from that memory on a copy
 * of the template's disk, with its own definition (MAC, address), its random pool reseeded and
 * its MAC set by the profile's set_network; the rest of its steps are the same. Otherwise (one
 * info line says why) every VM boots the image.
 * VMCLOAK_BENCH_NO_MEMPREP=1 (bench only) skips the OS profile's shrink_memory. */
int pipeline_snapshot(struct pipeline *pl, const struct snapshot_request *req);
