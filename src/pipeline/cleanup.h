/* vmcloak cleanup: remove what an interrupted or killed vmcloak left behind for one image or VM. */
#pragma once

struct repo;

/* Stale install/modify/restore overlays whose vmcloak is gone, work folders of init, and QEMU
 * processes still using the image's or VM's disks. Prints what it removed. */
int pipeline_cleanup(struct repo *repo, const char *name);
