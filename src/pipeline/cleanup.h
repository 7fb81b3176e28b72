/* vmcloak cleanup: remove what an interrupted or killed vmcloak left behind for one image or VM. */
#pragma once

#include <stdbool.h>

#include "pipeline/pipeline.h"

/* Stale install/modify/restore overlays whose vmcloak is gone, work folders of init, and
 * machines still using the image's or VM's disks (vm_kill_users); a VM folder no row names only
 * when every file in it is one an interrupted snapshot leaves; for an image, its temporary internet
 * rules (net/internet.h; only with CAP_NET_ADMIN). Prints what it removed. One warning line and 0
 * when name is neither an image, a VM nor a VM folder (VMCloak's cleanup of any name exits 0); -ENOTEMPTY for a folder holding other
 * files (left alone, no machine stopped); -EPROTO for a repository of an unknown schema (rows
 * it cannot fully read prove nothing is a leftover). */
int pipeline_cleanup(struct pipeline *pl, const char *name);
/* What snapshots of image name killed hard left of their fleet's template (snapshot_fleet.c):
 * <home>/fleet/<name>.template-<pid>/ whose pid is gone, after stopping a QEMU still running
 * from it. Returns how many things went (folders and machines); never fails (a folder that
 * cannot go stays for 'vmcloak cleanup'). */
unsigned pipeline_remove_stale_templates(struct pipeline *pl, const char *name);

/* Whether VM folder dir (of VM vmname) holds anything an interrupted snapshot does not leave:
 * *ret_foreign lists up to three such names ("a, b, ..."; NULL: none), *ret_finished says one
 * is machineinfo.json (a finished VM, which Cuckoo3 may still use). 0, -ENOMEM, or the errno
 * of reading the folder. A folder no row names may be removed only when there is none. */
int vm_folder_foreign(const char *dir, const char *vmname, char **ret_foreign, bool *ret_finished);
