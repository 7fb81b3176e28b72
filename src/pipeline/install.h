/* vmcloak install / modify: run an image, change it, shut it down cleanly. */
#pragma once

#include <stdbool.h>

#include "deps/steps.h"
#include "pipeline/vmrun.h"

struct repo;

struct install_request {
        const char *name;
        const struct install_plan *plan;
        bool force_reinstall;
        bool no_machine_start;       /* the VM already runs: only talk to its agent */
        struct vm_options vm;
};

int pipeline_install(struct repo *repo, const struct install_request *req);

struct modify_request {
        const char *name;
        const char *iso;             /* inserted into the CD-ROM drive after start, or NULL */
        struct vm_options vm;
};

int pipeline_modify(struct repo *repo, const struct modify_request *req);

/* Shared by install, modify and snapshot: the image must exist, be a QEMU image in mode
 * normal (unless allow_frozen), and its network usable (bridge checks in bridge mode). */
struct image;
int image_open_checked(struct repo *repo, const char *name, bool allow_frozen, struct image **ret);
