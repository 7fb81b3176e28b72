/* Running an install plan in a live guest through the agent: uploads, commands, scripts. */
#pragma once

#include "deps/steps.h"

struct agent_client;
struct os_profile;

/* Where a plan runs: the guest's agent, its OS profile (paths, commands), and the machine's
 * side of a reboot. */
struct install_target {
        struct agent_client *agent;
        const struct os_profile *profile;
        int cmd_timeout_ms;            /* bounds each command */
        /* STEP_REBOOT: reboot the guest and wait until its agent answers again (the pipeline's
         * session does it, watching the machine); 0 or a negative errno after one line. */
        int (*reboot)(void *userdata);
        void *userdata;
};

/* Refuse, before any VM starts, what cannot run: host files that are missing and dependencies
 * of the catalog (its own issue). Prints one line; -ENOENT / -EOPNOTSUPP. */
int install_plan_check(const struct install_plan *plan);

/* Run every step in order; stops at the first failure (a non-zero exit code counts), printing
 * which step failed and the command's last output lines. */
int install_plan_run(const struct install_plan *plan, const struct install_target *t);
