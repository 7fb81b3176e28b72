/* Settings shared by every command (global options) and the one repository handle. */
#pragma once

#include <stdbool.h>

#include "pipeline/pipeline.h"

struct repo;

struct global {
        bool json;
        bool debug;
        bool quiet;
        const char *home;  /* --home, or NULL */
        const char *argv0_name; /* "vmcloak" or "vmcloak-qemubridge" */
        /* -u/--user: the account to run as once the options parsed (global_drop_user). */
        const char *user;
        unsigned user_uid, user_gid;
        char *user_home;
};

extern struct global global;

/* Apply one global option (by long name). Returns 1 for --help, 0, or -EINVAL (after one line
 * for a value that is wrong: --qemu-binary's path, see qemu_set_binary()). */
int global_apply_option(const char *name, const char *value);

/*
 * -u/--user USER (VMCloak's global option): become USER once the options parsed (the
 * dispatcher calls global_drop_user() before the command's check()), before any file the
 * command names is read and anything of the home is touched. global_apply_option("user")
 * looks USER up (a name, or a number for a uid) and refuses, with one line and -EINVAL, an
 * unknown user and, unless we run as root, any user but ourselves. global_drop_user() then does what VMCloak does (initgroups,
 * setgid, setuid, HOME := the user's home) and more: USER and LOGNAME := USER, XDG_RUNTIME_DIR :=
 * /run/user/UID when that is USER's, else unset; TMPDIR unset when USER cannot write it. Unlike
 * VMCloak, the home (~/.vmcloak) is resolved afterwards, so it is USER's (VMCloak kept the
 * invoking user's, which USER cannot write). Refused with one line, as USER: a --home /
 * $VMCLOAK_HOME USER cannot write (or create), a --qemu-binary USER cannot execute (it was
 * checked as the invoking user). 0 (also when no -u was given, or USER is who we are), or a
 * negative errno after one line.
 */
int global_drop_user(void);

/* Resolve the home (--home, $VMCLOAK_HOME, ~/.vmcloak) and create it with its folders, for
 * commands that write there without the repository. 0, or a negative errno after one line. */
int global_home(void);

/* Resolve paths and open (creating if needed) the repository. The dispatcher (src/vmcloak.c)
 * calls this for commands flagged NEED_REPO*, after their options checked out, so "--help"
 * and usage errors never touch ~/.vmcloak. Returns 0, or a negative errno after one line.
 * `write` asks for a schema that is current. */
int global_repo(struct repo **ret, bool write);
/* The repository (as global_repo) and the machine driver (QEMU), for pipeline steps. */
int global_pipeline(struct pipeline **ret, bool write);
void global_close(void);
