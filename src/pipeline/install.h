/* vmcloak install / modify: run an image, change it, shut it down cleanly. */
#pragma once

#include <stdbool.h>

#include "deps/steps.h"
#include "pipeline/pipeline.h"
#include "pipeline/session.h"

struct repo;
struct dep_catalog;

struct install_request {
        const char *name;
        const struct install_plan *plan;
        bool force_reinstall;
        bool no_machine_start;       /* the VM already runs: only talk to its agent */
        bool recommended;            /* -r: the OS's recipe first (deps/resolve.h) */
        bool skip_unavailable;       /* a dependency whose file cannot be had is left out (and said so) */
        const char *files_dir;       /* --files-dir: files the user brought (deps/fetch.h) */
        const struct dep_catalog *catalog;  /* NULL: the shipped one and deps.d, loaded when a
                                             * dependency is named (tests and snapshot give theirs) */
        char **tags;                 /* --tag: machine tags stored on the image after a successful install */
        struct vm_options vm;
        struct install_result *result; /* filled on success when not NULL (--json) */
};

/* What a successful install did, as its summary line says it (install_result_done frees). */
struct install_result {
        char **installed;            /* each dependency run and recorded, "name:version" or "name", in order */
        char **skipped;              /* recorded as installed already, not run */
        char **left_out;             /* --skip-unavailable: its file could not be had */
        size_t steps;                /* generic steps run (file:, run:, script:) */
        unsigned reboots;
};
void install_result_done(struct install_result *r);

/* Resolve the plan against the catalog and the image (deps/resolve.h) and fetch its files,
 * all before anything boots; then boot image req->name on a throw-away overlay, run the plan
 * through the agent, power off, commit the overlay into the image (a failure leaves the image
 * exactly as it was) and record each dependency installed as name:version (VMCloak §7.3).
 * After that the image's tags get req->tags and its dependencies' (pipeline/tags.h).
 * With req->no_machine_start only the running guest's agent is used (no host bridge is
 * checked): reboots go through the OS profile's reboot command and are seen as a fresh agent
 * (-ETIMEDOUT after one line when the guest keeps answering as before, or does not come back,
 * within --timeout), a reboot asked for by the last dependency is done too, and the
 * dependencies that ran to their end are recorded even when a later one fails (nothing can be
 * undone there). Errors: one line and a negative errno. */
int pipeline_install(struct pipeline *pl, const struct install_request *req);

struct modify_request {
        const char *name;
        const char *iso;             /* inserted into the CD-ROM drive after start, or NULL */
        struct vm_options vm;
};

/* Boot image req->name (VNC unless visible) for manual changes; they are kept only when the guest
 * shuts itself down. */
int pipeline_modify(struct pipeline *pl, const struct modify_request *req);

/* Shared by install, modify and snapshot: the image must exist, be a QEMU image in mode
 * normal (unless allow_frozen), with a mode, network mode and OS this vmcloak knows, and its
 * network usable (bridge checks in bridge mode). Else one line and a negative errno. */
struct image;
int image_open_checked(struct repo *repo, const char *name, bool allow_frozen, struct image **ret);
