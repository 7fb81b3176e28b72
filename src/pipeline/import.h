/* vmcloak import: adopt a disk whose guest and agent were installed by hand. */
#pragma once

#include <stdbool.h>

#include "pipeline/init.h"

/*
 * Make image req->name from the disk at disk_path (any format the driver reads: qcow2, raw,
 * vmdk, vdi), whose guest is the OS of req->profile, has its agent installed at req->port and
 * its static address req->net.ip in the network init would give it. Takes from req what init
 * does for the image (name, adapter, net, port, cpus, ram_mb, vram_mb, mac, vm); the install
 * media fields are not used.
 *
 * Steps: the name reserved and checked as init does (new_image_prepare); the source must be a
 * readable file no machine of this host uses; it is copied (converted to qcow2 by the driver's
 * vm_disk_import; the source is only read) to ~/.vmcloak/image/NAME.qcow2; the machine boots
 * from the copy with the image's network (bridge, or user mode as init's); the agent must answer
 * within req->vm.timeout_s (0: IMPORT_TIMEOUT_S); the guest must be the profile's OS (the
 * agent's /system is the profile's os_name; the profile's os_version command runs and its first
 * line is shown); it must shut down cleanly through its agent; then the row is recorded. With
 * move, the source is removed once the row is in.
 *
 * Errors, each after one line: -EEXIST (the name, its disk), -ENOENT/-EACCES (the source),
 * -EBUSY (a machine uses the source), -ETIMEDOUT (no agent), -EMEDIUMTYPE (another OS), -EIO,
 * -ECANCELED (Ctrl-C). Every failure leaves no row and no disk; the logs stay in
 * ~/.vmcloak/log/NAME.
 */
#define IMPORT_TIMEOUT_S 300
int pipeline_import(struct pipeline *pl, const struct init_request *req, const char *disk_path, bool move);
