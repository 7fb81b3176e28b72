/* The pure parts of a bundle (export/import --bundle): its manifest, bundle.json, and the
 * rewriting of a VM's start_args for another home. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/repo.h"

/*
 * A bundle is a POSIX pax tar (libarchive) whose first member is bundle.json, then the files it
 * lists, each once: "vm/<file>" for the VM's folder (vms/qemu/NAME: disk.qcow2, memory.snapshot,
 * machineinfo.json, disk.qcow2.nvram, disk.qcow2.smbios/type0.bin, disk.qcow2.tpm/...), and with
 * the image "image/<name>.qcow2" with its firmware state ("image/<name>.qcow2.nvram", ".tpm/...").
 * bundle.json (a JSON object):
 *   format              BUNDLE_FORMAT; a reader refuses a higher one (a newer vmcloak's)
 *   vmcloak_version     the writer's version (for messages)
 *   home, vmdir         the exporting home and the VM's folder there: what start_args name
 *   vm                  the VM's repository row (snapshot table columns, without ids)
 *   image               its image's row (image table columns, without id; path as it was there)
 *   image_sha256, image_size   the SHA-256 (hex) and byte size of the image's qcow2: the overlay is
 *                       only valid on a backing file of exactly that content
 *   with_image          the image's files are members too (its disk's entry has image_size and
 *                       image_sha256)
 *   files               [{name, size, sha256}] of every other member, in the tar's order
 */
#define BUNDLE_FORMAT 1
#define BUNDLE_MANIFEST "bundle.json"
#define BUNDLE_MANIFEST_MAX (16u << 20)   /* bytes: larger is no manifest of ours */

struct bundle_file {
        char *name;                    /* member path: "vm/disk.qcow2" */
        uint64_t size;                 /* bytes */
        char sha256[65];               /* lowercase hex */
};

struct bundle_manifest {
        int format;
        char *vmcloak_version;
        char *home;
        char *vmdir;
        struct snapshot vm;            /* id, image_id, image_name, image_vm unused */
        struct image image;            /* id unused */
        char image_sha256[65];
        uint64_t image_size;
        bool with_image;
        struct bundle_file *files;
        size_t n_files;
};

/* Add a member (name copied). 0 or -ENOMEM. */
int bundle_manifest_add_file(struct bundle_manifest *m, const char *name, uint64_t size, const char *sha256);
/* The member name's entry, or NULL. */
const struct bundle_file *bundle_manifest_find(const struct bundle_manifest *m, const char *name);
/* bundle.json's text (2-space indented, new string). 0 or -ENOMEM. */
int bundle_manifest_to_json(const struct bundle_manifest *m, char **ret);
/* Parse bundle.json. 0; -EINVAL (not a manifest of a bundle: *reason says what is wrong);
 * -EPROTONOSUPPORT (a newer format: ret->format holds it); -ENOMEM. Member names are checked:
 * relative, under vm/ or image/, no "." or ".." component. Nothing is logged. */
int bundle_manifest_from_json(const char *text, struct bundle_manifest *ret, char *reason, size_t size);
void bundle_manifest_done(struct bundle_manifest *m);

/* Whether a member name is one a bundle may hold (see bundle_manifest_from_json). */
bool bundle_member_name_ok(const char *name);

/*
 * start_args name host paths as QEMU option values ("file=/h/vms/qemu/vm1/disk.qcow2.nvram",
 * "if=pflash,...,file=...", "file=/h/vms/qemu/vm1/disk.qcow2.smbios/type0.bin"), with QEMU's
 * option escaping (a comma doubled). A path p names folder dir when p is dir or lies under it;
 * it starts an argument or follows '=' or ':' or a separating ',' and ends at the argument's end
 * or a separating ','.
 *
 * bundle_rewrite_arg: arg with every path under from[i] moved under to[i] (pairs tried in order
 * at each place, so a VM folder's pair goes before its home's); *ret is a new string, *ret_n the
 * number of paths moved. 0 or -ENOMEM.
 */
int bundle_rewrite_arg(const char *arg, char *const *from, char *const *to, char **ret, unsigned *ret_n);
