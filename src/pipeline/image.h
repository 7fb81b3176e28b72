/* Images and snapshot VMs as repository rows plus files: deleting and copying them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/pipeline.h"

struct repo;
struct image;

/* The row of image name; -ENOENT with one line pointing at 'vmcloak list images'. */
int image_get(struct repo *repo, const char *name, struct image **ret);

/* Images and snapshot VMs of another machinery (VMCloak's vm column: virtualbox, libvirt) are
 * registered there too, so vmcloak changes none of them: 0 for vm NULL or "qemu", else one line
 * naming what ("image") and why it would do harm, and -EOPNOTSUPP. */
int image_refuse_foreign(const char *what, const char *name, const char *vm, const char *why);

/* Delete image name: its row and disk. Refused while snapshot VMs depend on it, unless
 * with_snapshots (then their rows and folders go too). Rows go first, in one transaction, so a
 * failure never leaves a row pointing at a deleted file. -ENOENT, -EBUSY, -EOPNOTSUPP (one line each);
 * -EIO when a row was deleted but a file could not be removed (a warning names it). */
int pipeline_delete_image(struct pipeline *pl, const char *name, bool with_snapshots);

/* Delete snapshot VM vmname: its row and its folder. A VM on a libvirt host (its row's
 * libvirt_uri, issue 14) through pl->host_driver: its domain with its snapshot, its overlay
 * volume, and the image's volume there when nothing uses it (libvirt_volume_in_use), then
 * its row and ~/.vmcloak/vms/libvirt/VM. A host that cannot be reached keeps the row (one line)
 * unless force, which forgets the VM and says what stays on the host. A domain of that name
 * whose UUID is not the row's libvirt_uuid is not vmcloak's: -EEXIST and the row kept (one
 * line), or with force the row forgotten and that domain and the volumes left alone. -ENOENT,
 * -EOPNOTSUPP, or the driver's error (one line). */
int pipeline_delete_vm(struct pipeline *pl, const char *vmname, bool force);

/* Whether image volume base of pool on libvirt host uri (snapshot.libvirt_base, issue 14) must
 * stay: a snapshot row other than except_id (-1: none) has its disk on it, or, asked through c
 * (the open connection to that host and pool; NULL: rows only), any volume of the pool is backed
 * by it (vm_volume_users: overlays of other vmcloak homes, of the same host under another URI,
 * or of a run that has not written its rows yet). True also when the rows or the host cannot be
 * read (nothing is deleted on a doubt; the driver's line says why). */
bool libvirt_volume_in_use(struct repo *repo, struct vm_conn *c, const char *uri, const char *pool, const char *base,
                           int64_t except_id);

/* Copy image name to a new image newname (disk and row: its hardware profile and identity too) with
 * its own MAC (a profile's machine: the same vendor OUI); the copy is recorded
 * only once the disk is complete, and a failure or Ctrl-C leaves no file. -ENOENT, -EEXIST,
 * -EOPNOTSUPP (another machinery's image). */
int pipeline_clone_image(struct pipeline *pl, const char *name, const char *newname);

/* The SHA-256 of image img's disk (lowercase hex), remembered in <home>/image/.hashes while the
 * file is unchanged (core/hashmemo.h): `snapshot --connect` names the image's volume on libvirt
 * hosts by it and `export/import --bundle` match images by it, and a Windows image of tens of
 * GB is read once, not on every run. 0, or a negative errno after one line (-ECANCELED). */
int image_sha256(const struct image *img, char sha256[65]);
