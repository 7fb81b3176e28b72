/* vmcloak cleanup: remove what an interrupted or killed vmcloak left behind for one image or VM. */
#pragma once

#include "pipeline/pipeline.h"

/* Stale install/modify/restore overlays whose vmcloak is gone, work folders of init, and
 * machines still using the image's or VM's disks (vm_kill_users). Prints what it removed.
 * -ENOENT (one line) when name is neither an image, a VM nor a VM folder. */
int pipeline_cleanup(struct pipeline *pl, const char *name);
