/* One machine of a pipeline step: its definition from an image, its runs, its agent, its power-off. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "machine/def.h"
#include "machine/driver.h"
#include "pipeline/pipeline.h"

struct image;
struct os_profile;
struct agent_client;

/* VM knobs every VM-starting command takes (src/cmd/vmopts.h). */
struct vm_options {
        enum vm_accel accel;          /* requested: AUTO, KVM or TCG */
        bool visible;                 /* a window on the host's desktop */
        bool vnc;
        unsigned vnc_display;         /* VMCloak's --vrde-port: TCP 5900+N */
        const char *vnc_listen;
        const char *serial;           /* file (default), file:PATH, pty, unix:PATH, none */
        char **shares;                /* TAG=DIR[,rw] */
        char **qemu_args;             /* passed to the driver as raw arguments */
        unsigned timeout_s;           /* 0: the step's default */
};

/*
 * A session owns the machine's definition (def, which the step may change between boots:
 * media, the address it moves to), the driver's domain while it exists, and the agent client
 * pointed at the endpoint of agent_slot (0: the guest's address, 1: the address it moves to).
 * Each session_start() defines the domain anew from def, so changes take effect at the next
 * boot. session_done() switches the machine off if it still runs and frees everything.
 */
struct vm_session {
        struct pipeline *pl;
        char *name;
        char *logdir;
        char *log_path;               /* the hypervisor's log: <logdir>/qemu.log */
        struct vm_def def;
        char **passthrough;           /* vm_options.qemu_args (borrowed) */
        const struct os_profile *profile;
        struct vm_domain *dom;
        struct agent_client *agent;
        unsigned agent_slot;
        int64_t started_ms;
        bool logs_move;               /* the step moves the logs on failure and says where:
                                       * session_log_hint stays quiet */
        bool persistent;              /* session_start defines a persistent domain
                                       * (vm_domain_opts.persistent; set after session_prepare) */
};

/* Check the options' own syntax and files (--serial, --share: the folder must exist) before a
 * step builds or starts anything: -EINVAL or -ENOTDIR after one line. */
int vm_options_check(const struct vm_options *o);

/* Fill s for image img (its disk, or disk_path: an install overlay or a snapshot VM's disk),
 * its logs in logdir (created; old qemu.log and serial.log removed). Opens the pipeline's
 * connection. Nothing runs yet. Prints one line on a bad option (--serial, --share). An image
 * with a hardware profile (image.hardware, issue 13) is that machine (pipeline/imagehw.h): with
 * identity, a snapshot VM's own hw_identity JSON, or NULL for the image's (init, install,
 * modify, import); a profile gone from the catalog is refused here, before anything boots. */
int session_prepare(struct vm_session *s, struct pipeline *pl, const char *name, const struct image *img,
                    const struct os_profile *p, const struct vm_options *o, const char *disk_path,
                    const char *logdir, const char *identity);
/* Define the machine from s->def and start it; point the agent client at agent_slot (not
 * waiting for the agent). so may be NULL. */
int session_start(struct vm_session *s, const struct vm_start_opts *so);
/* Wait for the agent (progress line "what"), watching the machine: it powering off or dying
 * first is an error naming the logs; guest reboots are fine. -ETIMEDOUT after timeout_s
 * with a line naming the address and --timeout; -ECANCELED on Ctrl-C; -ECHILD when the
 * machine ended. */
int session_wait_agent(struct vm_session *s, unsigned timeout_s, const char *what);
/* Point the agent client at another endpoint slot of the running machine. */
int session_use_slot(struct vm_session *s, unsigned slot);
/* Run a profile command template with {key} values; its exit code must be 0 (-EPROTO). */
int session_run(struct vm_session *s, const char *tmpl, const char *const *keys, const char *const *values,
                int timeout_ms, char **ret_stdout);
/* Reboot the guest through its agent and wait until the agent answers again. */
int session_reboot(struct vm_session *s, unsigned timeout_s);
/* Power the guest off through its agent and wait for the machine to be off; falls back to
 * the power button and then to switching it off. 0 only when the guest shut down by itself
 * (a clean disk). */
int session_poweroff(struct vm_session *s, unsigned timeout_s);
/* Wait for the guest to power the machine off by itself (timeout_s 0: forever): 0, -EIO when
 * the machine ended otherwise (the detail is printed), -ETIMEDOUT, -ECANCELED. */
int session_wait_poweroff(struct vm_session *s, unsigned timeout_s);
/* Switch the machine off if it runs, free everything. */
void session_done(struct vm_session *s);

/* After a step failed: if the machine is off by now, say how it ended (a step's own error,
 * e.g. "Empty reply from server", does not name a QEMU that died). */
void session_report_end(struct vm_session *s);
/* "... logs: DIR" after an error about the machine. */
void session_log_hint(const struct vm_session *s);
/* Create dir and remove old qemu.log, serial.log and the stuck detector's screenshots in it. */
int logdir_prepare(const char *dir);
