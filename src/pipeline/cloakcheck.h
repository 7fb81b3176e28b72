/* cloakcheck: the cloak detector (cloak/scorecard.h) run in a guest, and the scorecards kept with
 * images and snapshot VMs. */
#pragma once

#include <stdbool.h>

#include "cloak/scorecard.h"
#include "pipeline/pipeline.h"
#include "pipeline/session.h"

struct agent_client;
struct image;
struct os_profile;

/* Run os's detector in the guest behind agent: the data file (cloak_detector_for(os->os_name))
 * uploaded as <temp_dir>/vmcloak-<its guest name>, run with os->cmd.run_detector ({path}),
 * its standard output parsed, the copy removed. timeout_s 0: 300 s. 0; -EOPNOTSUPP (the
 * profile has no detector), -EPROTO (the detector exited non-zero: its stderr is shown; exit
 * 127 or 9009, "command not found" of sh or cmd.exe, asks whether the guest runs os: --os),
 * -EBADMSG (its output), the agent client's errors; one line each. */
int cloakcheck_in_guest(struct agent_client *agent, const struct os_profile *os, unsigned timeout_s,
                        struct scorecard *ret);

/* `cloakcheck IMAGE` without its lock and record: boot img on a throw-away overlay
 * (<disk>.cloakcheck-PID.qcow2, as install/modify boot it, with the image's hardware), wait
 * for the agent, run the detector, switch the machine off; the overlay (and its firmware
 * state copies) go whatever happens, so the image is unchanged. snapshot --cloakcheck uses
 * it for an image that has no scorecard yet. ret->name is the image's. */
int cloakcheck_image(struct pipeline *pl, const struct image *img, const struct vm_options *vm, struct scorecard *ret);

/* snapshot --cloakcheck: the scorecard a new VM must not be worse than: the image's stored one
 * (image.cloakcheck), or, when it has none, the image checked now as `cloakcheck IMAGE` does
 * and stored, in the repository and in img->cloakcheck (the caller's later repo_image_update
 * keeps it). 0 or a negative errno after one line. */
int cloakcheck_image_base(struct pipeline *pl, struct image *img, const struct vm_options *vm,
                          struct scorecard *ret);

/* snapshot --cloakcheck, in a new VM just before its memory snapshot: its scorecard as JSON in
 * *ret_json (for its row), or -EPERM after one line naming the first check hidden in the image
 * and detected in the VM (scorecard_worse): such a VM is not recorded. */
int cloakcheck_vm_judge(struct agent_client *agent, const struct os_profile *os, const struct scorecard *base,
                        const char *vmname, char **ret_json);

struct cloakcheck_request {
        const char *name;              /* a snapshot VM or an image (a VM first); NULL with agent */
        const char *agent;             /* "IP[:PORT]" (port 8000): a running guest with a Cuckoo agent */
        const char *os;                /* with agent: "linux", "windows" or an OS profile's name */
        struct vm_options vm;          /* how an IMAGE boots (accel, serial, qemu-arg, timeout) */
};

/* vmcloak cloakcheck: a snapshot VM restored as `vmcloak restore` does (then stopped), an
 * image booted on a throw-away overlay, or the guest at req->agent; the detector's scorecard in
 * *ret (ret->name the VM's or image's name, NULL with agent), stored in snapshot.cloakcheck
 * or image.cloakcheck (nothing stored with agent).
 * 0 or a negative errno after one line. */
int pipeline_cloakcheck(struct pipeline *pl, const struct cloakcheck_request *req, struct scorecard *ret);
