/* What `vmcloak install NAME TOKEN...` asks for: dependencies (name, name:version), settings
 * (pkg.key=value, VMCloak's grammar) and the generic steps file:SRC:DEST, run:COMMAND,
 * script:PATH. Parsing is pure; running goes through the agent client (steps_run). */
#pragma once

#include <stddef.h>

enum step_kind {
        STEP_DEPENDENCY,   /* name[:version] from the catalog */
        STEP_FILE,         /* upload host SRC to guest DEST */
        STEP_RUN,          /* run a command line in the guest */
        STEP_SCRIPT,       /* upload a host script and run it */
        STEP_REBOOT,       /* reboot the guest and wait for its agent (the catalog's steps; no token) */
};

struct install_step {
        enum step_kind kind;
        char *name;        /* dependency name; for generic steps the token itself (for messages) */
        char *version;     /* dependency version or NULL */
        char *src;         /* file/script: host path */
        char *dest;        /* file: guest path */
        char *command;     /* run: the command line */
};

struct install_plan {
        struct install_step *steps;
        size_t n_steps;
        char **settings;   /* "pkg.key=value" in order given */
};

/* Returns 0 or -EINVAL after printing one line naming the bad token. */
int install_plan_parse(char *const *tokens, struct install_plan *ret);
void install_plan_free(struct install_plan *p);
/* "file:SRC:DEST" etc. for messages (static buffer per call site is not used: new string). */
char *install_step_describe(const struct install_step *s);
/* Append a step of kind STEP_REBOOT. 0 or -ENOMEM. */
int install_plan_add_reboot(struct install_plan *p);
