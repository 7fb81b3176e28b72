/* Global options and lazily opened repository shared by the commands. */
#include "cmd/global.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/progress.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "libvirt/driver.h"
#include "qemu/driver.h"
#include "qemu/probe.h"

struct global global = { .argv0_name = "vmcloak" };
static struct repo *the_repo;
static struct pipeline the_pipeline;

static void free_user(void) { free(global.user_home); }

/* -u USER: looked up now, so a wrong one fails before any work starts. */
static int set_user(const char *value) {
        unsigned uid;
        struct passwd *pw = getpwnam(value);
        if (!pw && parse_uint(value, 0, UINT32_MAX - 1, &uid) == 0)
                pw = getpwuid((uid_t)uid);
        if (!pw) {
                log_error("-u/--user %s: no such user on this host (see getent passwd)", value);
                return -EINVAL;
        }
        if (geteuid() != 0 && pw->pw_uid != geteuid()) {
                log_error("-u/--user %s: only root can run vmcloak as another user; run it as root or leave -u out",
                          value);
                return -EINVAL;
        }
        char *home = strdup(isempty(pw->pw_dir) ? "/" : pw->pw_dir);
        if (!home)
                return log_oom();
        if (!global.user_home)
                atexit(free_user);
        free(global.user_home);
        global.user_home = home;
        global.user = value;
        global.user_uid = pw->pw_uid;
        global.user_gid = pw->pw_gid;
        return 0;
}

/* The invoking user's XDG_RUNTIME_DIR and TMPDIR, once we are USER: XDG_RUNTIME_DIR (the KVM
 * probe and QEMU version caches, qemu/probe.c) becomes USER's own /run/user/UID when there is
 * one (pam_systemd's), else goes; TMPDIR stays unless USER cannot write it. 0 or -ENOMEM. */
static int user_environment(void) {
        _cleanup_free_ char *run = strdup_printf("/run/user/%u", global.user_uid);
        if (!run)
                return log_oom();
        struct stat st;
        if (stat(run, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == global.user_uid) {
                if (setenv("XDG_RUNTIME_DIR", run, 1) < 0)
                        return log_oom();
        } else if (getenv("XDG_RUNTIME_DIR") && unsetenv("XDG_RUNTIME_DIR") < 0)
                return log_oom();
        const char *t = getenv("TMPDIR");
        if (t && access(t, W_OK | X_OK) < 0) {
                log_debug("TMPDIR %s is not writable by %s: unset", t, global.user);
                if (unsetenv("TMPDIR") < 0)
                        return log_oom();
        }
        return 0;
}

/* --home / $VMCLOAK_HOME as given must be USER's to write (or, not there yet, to create):
 * checked as USER, so every command stops before it does anything. 0 or -EACCES after one line. */
static int user_can_use_home(void) {
        const char *h = !isempty(global.home) ? global.home : getenv("VMCLOAK_HOME");
        if (isempty(h))
                return 0; /* USER's ~/.vmcloak: paths_init() says what is wrong with it */
        /* The home, else the nearest folder above it that exists (where it will be made). */
        _cleanup_free_ char *p = path_nearest_existing(h);
        if (!p)
                return log_oom();
        if (access(p, W_OK | X_OK) == 0)
                return 0;
        if (streq(p, h))
                return log_error_errno(-EACCES, "-u/--user %s: the home %s is not writable by %s (chown it to %s, "
                                       "or give --home a folder of %s's)", global.user, h, global.user, global.user,
                                       global.user);
        return log_error_errno(-EACCES, "-u/--user %s: cannot make the home %s: %s is not writable by %s (give --home "
                               "a folder of %s's)", global.user, h, p, global.user, global.user);
}

int global_drop_user(void) {
        if (!global.user || (global.user_uid == getuid() && global.user_uid == geteuid()))
                return 0;
        struct passwd *pw = getpwuid((uid_t)global.user_uid);
        const char *name = pw ? pw->pw_name : global.user;
        if (initgroups(name, (gid_t)global.user_gid) < 0 || setgid((gid_t)global.user_gid) < 0 ||
            setuid((uid_t)global.user_uid) < 0)
                return log_error_errno(-errno, "-u/--user %s: cannot become that user: %m", global.user);
        /* setuid from root drops every uid; make sure there is no way back. */
        if (global.user_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
                log_error("-u/--user %s: root privileges are still there after setuid; refusing to go on", global.user);
                return -EPERM;
        }
        if (setenv("HOME", global.user_home, 1) < 0 || setenv("USER", name, 1) < 0 || setenv("LOGNAME", name, 1) < 0)
                return log_oom();
        int r = user_environment();
        if (r < 0)
                return r;
        r = user_can_use_home();
        if (r < 0)
                return r;
        /* --qemu-binary was checked as the invoking user (it is parsed before -u takes effect). */
        const char *qemu = qemu_binary_override();
        if (qemu && access(qemu, X_OK) < 0)
                return log_error_errno(-EACCES, "-u/--user %s: --qemu-binary %s is not executable by %s "
                                       "(chmod o+rx it and its folders, or give another path)", global.user, qemu, name);
        const char *xdg = getenv("XDG_RUNTIME_DIR"), *tmp = getenv("TMPDIR");
        log_debug("running as %s (uid %u, gid %u), HOME=%s USER=LOGNAME=%s XDG_RUNTIME_DIR=%s TMPDIR=%s", name,
                  global.user_uid, global.user_gid, global.user_home, name, xdg ? xdg : "(unset)",
                  tmp ? tmp : "(unset)");
        return 0;
}

int global_apply_option(const char *name, const char *value) {
        if (streq(name, "help"))
                return 1;
        if (streq(name, "debug")) {
                global.debug = true;
                log_set_level(LOG_LEVEL_DEBUG);
        } else if (streq(name, "quiet")) {
                global.quiet = true;
                log_set_level(LOG_LEVEL_WARNING);
                progress_set_enabled(false);
        } else if (streq(name, "json"))
                global.json = true;
        else if (streq(name, "no-color"))
                log_set_color(LOG_COLOR_NEVER);
        else if (streq(name, "home"))
                global.home = value;
        else if (streq(name, "user"))
                return set_user(value);
        else if (streq(name, "qemu-binary")) {
                /* Checked here, so a wrong path fails before any work starts. */
                int r = qemu_set_binary(value);
                if (r < 0)
                        return r == -ECANCELED || r == -ENOMEM ? r : -EINVAL;
        } else
                return -EINVAL;
        return 0;
}

int global_home(void) {
        int r = paths_init(global.home);
        if (r < 0)
                return r;
        return paths_ensure();
}

int global_repo(struct repo **ret, bool write) {
        if (!the_repo) {
                int r = global_home();
                if (r < 0)
                        return r;
                _cleanup_free_ char *db = paths_repository();
                if (!db)
                        return log_oom();
                r = repo_open(db, &the_repo);
                if (r < 0)
                        return r;
        }
        if (write) {
                int r = repo_require_current(the_repo);
                if (r < 0)
                        return r;
        }
        *ret = the_repo;
        return 0;
}

int global_pipeline(struct pipeline **ret, bool write) {
        int r = global_repo(&the_pipeline.repo, write);
        if (r < 0)
                return r;
        if (!the_pipeline.driver)
                the_pipeline.driver = &qemu_driver;
        if (!the_pipeline.host_driver)   /* VMs on libvirt hosts: snapshot --connect, their delvm */
                the_pipeline.host_driver = &libvirt_driver;
        *ret = &the_pipeline;
        return 0;
}

void global_close(void) {
        pipeline_done(&the_pipeline);
        the_pipeline = (struct pipeline){ 0 };
        repo_close(the_repo);
        the_repo = NULL;
}
