/* Running an OS profile's install flow (guest/profile.h) on a session, through any driver. */
#pragma once

#include "guest/profile.h"
#include "pipeline/session.h"

/*
 * Runs flow's phases in order on s (whose definition has the disk to install onto): a phase
 * that boots puts its media into the CD-ROM drives (boot, config, user, in that order; the
 * others stay out) and starts the machine, then every phase waits for its signal, showing
 * the serial console's progress markers: the guest powering off (the profile's serial
 * markers deciding success when serial_verdict), or its agent answering. Guest reboots are
 * counted against max_reboots. Media named in eject_at_end leave their drives at the end.
 * timeout_s bounds each phase. A phase with press_key_s presses Enter about once a second for
 * its first press_key_s seconds. While a phase waits, the stuck detector (pipeline/stuck.h)
 * watches its screen: stuck_after_s seconds (0: the default for the connection's accelerator)
 * of a still screen and a silent serial console print one report naming the screenshot
 * (<logdir>/stuck.png) and the phase's stuck_causes, once per stuck period; the phase still
 * waits for its signal or its timeout, whose message names the last screen
 * (<logdir>/last-screen.png, kept with the logs). Errors are printed (one line, then where the logs are):
 * -ETIMEDOUT, -EIO (the guest failed or the machine died), -ECANCELED (Ctrl-C).
 */
int install_flow_run(struct vm_session *s, const struct install_flow *flow, const struct install_media *media,
                     char *const *user_cdroms, unsigned timeout_s, unsigned stuck_after_s);
