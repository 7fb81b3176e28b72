/* Name locks: POSIX record locks on <home>/locks/<kind>-<name>.lock. */
#include "core/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"

struct name_lock {
        int fd;
        char *path;
        struct name_lock *next;
};

/* This process's locks: POSIX locks are per process, so a second lock of the same file would
 * merge with the first and closing either fd would drop both. */
static struct name_lock *held;
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *kind_name(enum lock_kind k) {
        return k == LOCK_IMAGE ? "image" : k == LOCK_ADDRESS ? "address" : "vm";
}
static const char *kind_label(enum lock_kind k) {
        return k == LOCK_IMAGE ? "image" : k == LOCK_ADDRESS ? "address" : "snapshot VM";
}

static char *lock_path(enum lock_kind kind, const char *name) {
        return strdup_printf("%s/locks/%s-%s.lock", paths_home(), kind_name(kind), name);
}

int name_lock(enum lock_kind kind, const char *name, enum lock_mode mode, struct name_lock **ret, pid_t *ret_holder) {
        if (ret_holder)
                *ret_holder = 0;
        _cleanup_free_ char *path = lock_path(kind, name);
        _cleanup_free_ char *dir = path_join(paths_home(), "locks");
        if (!path || !dir)
                return -ENOMEM;
        int r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        pthread_mutex_lock(&held_lock);
        for (struct name_lock *l = held; l; l = l->next)
                if (streq(l->path, path)) {
                        pthread_mutex_unlock(&held_lock);
                        if (ret_holder)
                                *ret_holder = getpid();
                        return -EDEADLK;
                }
        pthread_mutex_unlock(&held_lock);
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        struct flock fl = { .l_type = mode == LOCK_SHARED ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
        if (fcntl(fd, F_SETLK, &fl) < 0) {
                r = -errno;
                if (r != -EAGAIN && r != -EACCES)
                        return r;
                struct flock q = { .l_type = fl.l_type, .l_whence = SEEK_SET };
                if (ret_holder && fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK)
                        *ret_holder = q.l_pid;
                return -EBUSY;
        }
        struct name_lock *l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->fd = TAKE_FD(fd);
        l->path = TAKE_PTR(path);
        pthread_mutex_lock(&held_lock);
        l->next = held;
        held = l;
        pthread_mutex_unlock(&held_lock);
        *ret = l;
        return 0;
}

void name_unlock(struct name_lock *l) {
        if (!l)
                return;
        pthread_mutex_lock(&held_lock);
        for (struct name_lock **p = &held; *p; p = &(*p)->next)
                if (*p == l) {
                        *p = l->next;
                        break;
                }
        pthread_mutex_unlock(&held_lock);
        close(l->fd);
        free(l->path);
        free(l);
}

/* "vmcloak install NAME" from /proc/PID/cmdline, or NULL. */
static char *command_of(pid_t pid) {
        char f[64];
        snprintf(f, sizeof f, "/proc/%d/cmdline", (int)pid);
        _cleanup_free_ char *cmd = NULL;
        size_t len = 0;
        if (pid <= 0 || read_full_file(f, &cmd, &len) < 0 || len == 0)
                return NULL;
        for (size_t i = 0; i + 1 < len; i++)
                if (cmd[i] == 0)
                        cmd[i] = ' ';
        const char *base = strrchr(cmd, '/');
        const char *sp = strchr(cmd, ' ');
        /* Drop the directory of the program, keep its arguments. */
        return strdup(base && (!sp || base < sp) ? base + 1 : cmd);
}

int name_lock_error(enum lock_kind kind, const char *name, pid_t holder, const char *what) {
        if (holder == getpid()) {
                log_error("%s %s is %s by this very command (it names it twice?)", kind_label(kind), name, what);
                return -EBUSY;
        }
        _cleanup_free_ char *cmd = command_of(holder);
        if (holder > 0)
                log_error("%s %s is %s by another vmcloak (PID %d%s%s); wait for it to finish or stop it with "
                          "'kill %d'", kind_label(kind), name, what, (int)holder, cmd ? ": " : "", strempty(cmd),
                          (int)holder);
        else
                log_error("%s %s is %s by another vmcloak; wait for it to finish", kind_label(kind), name, what);
        return -EBUSY;
}

int name_lock_or_complain(enum lock_kind kind, const char *name, enum lock_mode mode, const char *what,
                          struct name_lock **ret) {
        pid_t holder = 0;
        int r = name_lock(kind, name, mode, ret, &holder);
        if (r == -EBUSY || r == -EDEADLK)
                return name_lock_error(kind, name, holder, what);
        if (r < 0)
                return log_error_errno(r, "cannot lock %s %s in %s/locks: %m", kind_label(kind), name, paths_home());
        return 0;
}
