/* Linux side of the platform interface: BSD sockets, pthreads, posix_spawn through /bin/sh. */
#include "platform.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

extern char **environ;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t terminate_signal;

static void on_terminate(int sig) { terminate_signal = sig; }

int plat_init(void) {
        signal(SIGPIPE, SIG_IGN);
        /* SIGTERM/SIGINT are blocked everywhere and only let through while the accept loop
         * waits (ppoll), so the main thread alone sees them and can exit cleanly. */
        struct sigaction sa = { .sa_handler = on_terminate };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

const char *plat_system(void) {
        static struct utsname u;
        if (uname(&u) < 0)
                return "Linux";
        return u.sysname;
}

char *plat_self_path(void) {
        char buf[4096];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n <= 0)
                return strdup("vmcloak-agent");
        buf[n] = 0;
        return strdup(buf);
}

void plat_log_write(const char *line) {
        size_t len = strlen(line);
        while (len > 0) {
                ssize_t n = write(STDERR_FILENO, line, len);
                if (n <= 0)
                        return;
                line += n;
                len -= (size_t)n;
        }
}

uint64_t plat_random(void) {
        uint64_t v;
        if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
                return v;
        static uint64_t x = 0x9e3779b97f4a7c15u;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        x ^= (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
}

int64_t plat_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void plat_sleep_ms(int ms) {
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* --- sockets --- */

int plat_listen(const char *host, int port, plat_sock *ret, int *ret_port) {
        struct sockaddr_storage ss = { 0 };
        socklen_t sl;
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons((uint16_t)port);
                sl = sizeof *in4;
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t)port);
                sl = sizeof *in6;
        } else {
                return -EINVAL;   /* a numeric address is required (no resolver in a static binary) */
        }
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
                int k = -errno;
                close(fd);
                return k;
        }
        sl = sizeof ss;
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        *ret_port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
        *ret = fd;
        return 0;
}

int plat_accept(plat_sock listener, plat_sock *ret, char *ip, size_t ipsz) {
        struct pollfd p = { .fd = (int)listener, .events = POLLIN };
        sigset_t none;
        sigemptyset(&none);
        int n = ppoll(&p, 1, NULL, &none);
        if (terminate_signal)
                return -EINTR;
        if (n < 0)
                return errno == EINTR ? -EAGAIN : -errno;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4((int)listener, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct timeval tv = { .tv_sec = 60 };
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        char buf[INET6_ADDRSTRLEN] = "?";
        if (ss.ss_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof buf);
        else if (ss.ss_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof buf);
        /* IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d. */
        const char *shown = strncmp(buf, "::ffff:", 7) == 0 && strchr(buf, '.') ? buf + 7 : buf;
        snprintf(ip, ipsz, "%s", shown);
        *ret = fd;
        return 0;
}

long plat_recv(plat_sock s, void *buf, size_t len, int timeout_ms) {
        struct pollfd p = { .fd = (int)s, .events = POLLIN };
        int64_t deadline = plat_now_ms() + timeout_ms;
        for (;;) {
                int64_t left = deadline - plat_now_ms();
                if (left < 0)
                        left = 0;
                int n = poll(&p, 1, (int)left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ETIMEDOUT;
                ssize_t k = recv((int)s, buf, len, 0);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                return k < 0 ? -errno : (long)k;
        }
}

int plat_send_all(plat_sock s, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t n = send((int)s, p, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

void plat_shutdown_send(plat_sock s) { shutdown((int)s, SHUT_WR); }
void plat_close_socket(plat_sock s) { close((int)s); }

/* --- threads --- */

struct thread_start {
        void (*fn)(void *);
        void *arg;
};

static void *thread_main(void *p) {
        struct thread_start ts = *(struct thread_start *)p;
        free(p);
        ts.fn(ts.arg);
        return NULL;
}

int plat_thread_start(void (*fn)(void *), void *arg) {
        struct thread_start *ts = malloc(sizeof *ts);
        if (!ts)
                return -ENOMEM;
        *ts = (struct thread_start){ fn, arg };
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 512 * 1024);
        pthread_t t;
        int k = pthread_create(&t, &attr, thread_main, ts);
        pthread_attr_destroy(&attr);
        if (k) {
                free(ts);
                return -k;
        }
        return 0;
}

void plat_lock(void) { pthread_mutex_lock(&lock); }
void plat_unlock(void) { pthread_mutex_unlock(&lock); }

/* --- processes --- */

/* Start sh -c command with stdout/stderr on two pipes, in its own process group. */
static int spawn_sh(const struct plat_exec *e, pid_t *ret_pid, int *ret_out, int *ret_err) {
        int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
        if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
                int k = -errno;
                if (po[0] >= 0) {
                        close(po[0]);
                        close(po[1]);
                }
                return k;
        }
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
        if (e->cwd)
                posix_spawn_file_actions_addchdir_np(&fa, e->cwd);
        sigset_t none, defaults;
        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGINT);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        char *argv[] = { (char *)"sh", (char *)"-c", (char *)e->command, NULL };
        pid_t pid;
        int k = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(po[1]);
        close(pe[1]);
        if (k) {
                close(po[0]);
                close(pe[0]);
                return -k;
        }
        *ret_pid = pid;
        *ret_out = po[0];
        *ret_err = pe[0];
        return 0;
}

struct collector {
        struct buf *bufs[2];   /* sync: capture; NULL: to logs_append */
        bool truncated[2];
};

static void collect_bytes(struct collector *c, int which, const char *data, size_t len) {
        struct buf *b = c->bufs[which];
        if (!b) {
                logs_append(which + 1, data, len);
                return;
        }
        if (b->len >= EXEC_OUTPUT_CAP) {
                c->truncated[which] = true;
                return;
        }
        if (len > EXEC_OUTPUT_CAP - b->len) {
                len = EXEC_OUTPUT_CAP - b->len;
                c->truncated[which] = true;
        }
        buf_append(b, data, len);
}

/* Read both pipes until they close or, once the process has exited, until a grace period
 * ends (a daemon it started may hold them open forever). Kills the group with SIGKILL at
 * timeout (128 + SIGKILL = EXEC_KILLED_EXIT_CODE). */
static int collect(pid_t pid, int fds[2], int timeout_ms, struct collector *c, bool *timed_out) {
        int64_t deadline = timeout_ms > 0 ? plat_now_ms() + timeout_ms : -1;
        int64_t drain_until = -1;
        bool exited = false;
        int status = 0;
        char *chunk = malloc(65536);
        while ((fds[0] >= 0 || fds[1] >= 0) && chunk) {
                struct pollfd p[2];
                nfds_t n = 0;
                int idx[2];
                for (int i = 0; i < 2; i++)
                        if (fds[i] >= 0) {
                                p[n] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
                                idx[n++] = i;
                        }
                int k = poll(p, n, 200);
                if (k < 0 && errno != EINTR)
                        break;
                for (nfds_t i = 0; k > 0 && i < n; i++) {
                        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        ssize_t r = read(p[i].fd, chunk, 65536);
                        if (r > 0) {
                                collect_bytes(c, idx[i], chunk, (size_t)r);
                        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                                close(fds[idx[i]]);
                                fds[idx[i]] = -1;
                        }
                }
                int64_t now = plat_now_ms();
                if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
                        exited = true;
                        drain_until = now + 1000;
                }
                if (exited && now > drain_until)
                        break;
                if (!exited && deadline > 0 && now > deadline) {
                        kill(-pid, SIGKILL);
                        kill(pid, SIGKILL);
                        *timed_out = true;
                        deadline = -1;
                }
        }
        free(chunk);
        for (int i = 0; i < 2; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
        if (!exited)
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
        /* It may have ended on its own just before the kill: then it did not time out. */
        if (*timed_out && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
                *timed_out = false;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return -1;
}

static const char truncated_note[] = "\n[vmcloak-agent: output truncated]\n";

int plat_run(const struct plat_exec *e, struct plat_exec_result *ret) {
        pid_t pid;
        int fds[2];
        int k = spawn_sh(e, &pid, &fds[0], &fds[1]);
        if (k < 0)
                return k;
        struct collector c = { .bufs = { &ret->out, &ret->err } };
        ret->timed_out = false;
        ret->exit_code = collect(pid, fds, e->timeout_ms, &c, &ret->timed_out);
        for (int i = 0; i < 2; i++)
                if (c.truncated[i])
                        buf_append(c.bufs[i], truncated_note, sizeof truncated_note - 1);
        return 0;
}

struct async_proc {
        pid_t pid;
        int fds[2];
        int timeout_ms;
};

static void async_thread(void *arg) {
        struct async_proc *a = arg;
        struct collector c = { .bufs = { NULL, NULL } };
        bool timed_out = false;
        int code = collect(a->pid, a->fds, a->timeout_ms, &c, &timed_out);
        if (timed_out) {
                char note[160];
                snprintf(note, sizeof note, "\n[vmcloak-agent: process %d timed out after %d ms and was killed]\n",
                         (int)a->pid, a->timeout_ms);
                logs_append(2, note, strlen(note));
                agent_log("async process %d timed out after %d ms; killed (exit code %d)", (int)a->pid, a->timeout_ms, code);
        } else {
                agent_log("async process %d exited with code %d", (int)a->pid, code);
        }
        free(a);
}

int plat_spawn(const struct plat_exec *e) {
        struct async_proc *a = malloc(sizeof *a);
        if (!a)
                return -ENOMEM;
        a->timeout_ms = e->timeout_ms;
        int k = spawn_sh(e, &a->pid, &a->fds[0], &a->fds[1]);
        if (k < 0) {
                free(a);
                return k;
        }
        agent_log("async process %d started", (int)a->pid);
        k = plat_thread_start(async_thread, a);
        if (k < 0) {
                close(a->fds[0]);
                close(a->fds[1]);
                if (a->timeout_ms > 0) {
                        /* Nobody would enforce its timeout: stop it and say it did not start. */
                        kill(-a->pid, SIGKILL);
                        while (waitpid(a->pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                        free(a);
                        return k;
                }
                /* Nobody would read its output: let it run with closed pipes. */
                free(a);
        }
        return 0;
}

char *plat_quote_arg(const char *arg) {
        size_t n = 3;
        for (const char *p = arg; *p; p++)
                n += *p == '\'' ? 4 : 1;
        char *s = malloc(n), *o = s;
        if (!s)
                return NULL;
        *o++ = '\'';
        for (const char *p = arg; *p; p++) {
                if (*p == '\'') {
                        memcpy(o, "'\\''", 4);
                        o += 4;
                } else {
                        *o++ = *p;
                }
        }
        *o++ = '\'';
        *o = 0;
        return s;
}

char *plat_find_python(void) {
        const char *path = getenv("PATH");
        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        static const char *const names[] = { "python3", "python" };
        for (size_t i = 0; i < 2; i++) {
                const char *p = path;
                while (*p) {
                        const char *colon = strchr(p, ':');
                        size_t len = colon ? (size_t)(colon - p) : strlen(p);
                        char cand[4096];
                        if (len > 0 && len + strlen(names[i]) + 2 < sizeof cand) {
                                memcpy(cand, p, len);
                                cand[len] = '/';
                                strcpy(cand + len + 1, names[i]);
                                if (access(cand, X_OK) == 0)
                                        return strdup(cand);
                        }
                        p += len;
                        if (*p == ':')
                                p++;
                }
        }
        return NULL;
}

/* --- files --- */

FILE *plat_fopen(const char *path, const char *mode) {
        char m[8];
        snprintf(m, sizeof m, "%se", mode);   /* close-on-exec: children must not inherit it */
        return fopen(path, m);
}

static void fill_stat(const struct stat *st, struct plat_stat *ret) {
        ret->is_dir = S_ISDIR(st->st_mode);
        ret->is_link = S_ISLNK(st->st_mode);
        ret->size = (uint64_t)st->st_size;
}

int plat_stat(const char *path, struct plat_stat *ret) {
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        fill_stat(&st, ret);
        return 0;
}

int plat_lstat(const char *path, struct plat_stat *ret) {
        struct stat st;
        if (lstat(path, &st) < 0)
                return -errno;
        fill_stat(&st, ret);
        return 0;
}

void plat_rmdir_up(const char *path, const char *top) {
        size_t tl = strlen(top);
        char *p = strdup(path);
        if (!p)
                return;
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = 0;
        while (n >= tl && n > 0 && rmdir(p) == 0) {
                while (n > 0 && p[n - 1] != '/')
                        n--;
                while (n > 1 && p[n - 1] == '/')
                        n--;
                p[n] = 0;
        }
        free(p);
}

int plat_mkdir_p(const char *path, unsigned mode, char **ret_created) {
        if (ret_created)
                *ret_created = NULL;
        size_t n = strlen(path);
        if (n == 0)
                return -EINVAL;
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        size_t first = 0, last = 0;   /* the topmost and deepest directories made (lengths) */
        int k = 0;
        for (size_t i = 1; i <= n && k == 0; i++) {
                if ((p[i] != '/' && p[i] != 0) || p[i - 1] == '/')
                        continue;
                char saved = p[i];
                p[i] = 0;
                if (mkdir(p, (mode_t)mode) == 0) {
                        if (!first)
                                first = i;
                        last = i;
                } else {
                        struct stat st;
                        if (errno != EEXIST || stat(p, &st) < 0)
                                k = -errno;
                        else if (!S_ISDIR(st.st_mode))
                                k = i == n ? -EEXIST : -ENOTDIR;
                }
                p[i] = saved;
        }
        if (k < 0 && first) {
                /* Below the first directory made, every one was made here: remove them all. */
                p[last] = 0;
                char *top = str_ndup(path, first);
                if (top)
                        plat_rmdir_up(p, top);
                free(top);
        } else if (k == 0 && first && ret_created && !(*ret_created = str_ndup(path, first))) {
                k = -ENOMEM;
        }
        free(p);
        return k;
}

int plat_create_new(const char *path, bool directory) {
        if (directory)
                return mkdir(path, 0700) < 0 ? -errno : 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

static int remove_at(int at, const char *name, int depth) {
        struct stat st;
        if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(at, name, 0) < 0 ? -errno : 0;
        if (depth > 256)
                return -ELOOP;
        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int k = -errno;
                close(fd);
                return k;
        }
        int k = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int r = remove_at(dirfd(d), de->d_name, depth + 1);
                if (r < 0 && r != -ENOENT && k == 0)
                        k = r;
        }
        closedir(d);
        if (unlinkat(at, name, AT_REMOVEDIR) < 0 && k == 0)
                k = -errno;
        return k;
}

int plat_remove_tree(const char *path) { return remove_at(AT_FDCWD, path, 0); }

/* What would stop remove_at() part-way: immutable or append-only entries, mount points,
 * directories whose entries we may not delete. path names the entry, for the message. */
static int check_at(int at, const char *name, const char *path, const struct stat *parent, int depth,
                    char **ret_blocker) {
        struct statx sx;
        if (statx(at, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID, &sx) < 0)
                return errno == ENOENT ? 0 : -errno;
        int k = 0;
        if (sx.stx_attributes & (STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND))
                k = -EPERM;
        else if (parent && (parent->st_mode & S_ISVTX) && geteuid() != 0 && geteuid() != parent->st_uid &&
                 geteuid() != sx.stx_uid)
                k = -EPERM;   /* a sticky directory: only owners may delete */
        if (k < 0 || !S_ISDIR(sx.stx_mode)) {
                if (k < 0)
                        *ret_blocker = strdup(path);
                return k;
        }
        if (depth > 256)
                return -ELOOP;
        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                k = -errno;
                *ret_blocker = strdup(path);
                return k;
        }
        struct stat st;
        DIR *d = fstat(fd, &st) == 0 ? fdopendir(fd) : NULL;
        if (!d) {
                k = -errno;
                close(fd);
                *ret_blocker = strdup(path);
                return k;
        }
        if (parent && st.st_dev != parent->st_dev) {
                closedir(d);
                *ret_blocker = strdup(path);
                return -EBUSY;   /* a mount point */
        }
        bool writable = faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) == 0;
        struct dirent *de;
        while (k == 0 && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (!writable) {
                        *ret_blocker = strdup(path);
                        k = -EACCES;
                        break;
                }
                char *child = plat_join(path, de->d_name);
                if (!child) {
                        k = -ENOMEM;
                        break;
                }
                k = check_at(dirfd(d), de->d_name, child, &st, depth + 1, ret_blocker);
                free(child);
        }
        closedir(d);
        return k;
}

int plat_check_removable(const char *path, char **ret_blocker) {
        *ret_blocker = NULL;
        return check_at(AT_FDCWD, path, path, NULL, 0, ret_blocker);
}

int plat_rename(const char *from, const char *to, bool replace) {
        if (replace)
                return rename(from, to) < 0 ? -errno : 0;
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -errno;
        /* A filesystem without RENAME_NOREPLACE: check, then rename. */
        struct stat st;
        if (lstat(to, &st) == 0)
                return -EEXIST;
        return rename(from, to) < 0 ? -errno : 0;
}

int plat_unlink(const char *path) { return unlink(path) < 0 ? -errno : 0; }
int plat_chmod_exec(const char *path) { return chmod(path, 0755) < 0 ? -errno : 0; }

char *plat_temp_dir(void) {
        const char *t = getenv("TMPDIR");
        return strdup(t && *t == '/' ? t : "/tmp");
}

char *plat_join(const char *dir, const char *name) {
        size_t dl = strlen(dir);
        bool slash = dl > 0 && dir[dl - 1] == '/';
        size_t n = dl + strlen(name) + 2;
        char *s = malloc(n);
        if (s)
                snprintf(s, n, "%s%s%s", dir, slash ? "" : "/", name);
        return s;
}

bool plat_is_abs(const char *path) { return path[0] == '/'; }

/* --- environment --- */

void plat_environ(void (*fn)(void *userdata, const char *name, const char *value), void *userdata) {
        for (char **e = environ; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                if (!eq || eq == *e)
                        continue;
                char name[1024];
                size_t n = (size_t)(eq - *e);
                if (n >= sizeof name)
                        continue;
                memcpy(name, *e, n);
                name[n] = 0;
                fn(userdata, name, eq + 1);
        }
}

/* --- network adapters: /sys/class/net/<name>/{address,ifindex} --- */

static int read_line(const char *dir, const char *name, const char *file, char *buf, size_t size) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s/%s", dir, name, file);
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        bool ok = fgets(buf, (int)size, f) != NULL;
        fclose(f);
        if (!ok)
                return -EIO;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

int plat_adapters(struct netcfg_adapter **ret, size_t *n) {
        const char *dir = "/sys/class/net";
        DIR *d = opendir(dir);
        if (!d)
                return -errno;
        struct netcfg_adapter *list = NULL;
        size_t count = 0;
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                char mac[64], idx[32];
                unsigned char m[6];
                if (de->d_name[0] == '.' || read_line(dir, de->d_name, "address", mac, sizeof mac) < 0 ||
                    read_line(dir, de->d_name, "ifindex", idx, sizeof idx) < 0)
                        continue;
                struct netcfg_adapter *nl = realloc(list, (count + 1) * sizeof *list);
                if (!nl) {
                        r = -ENOMEM;
                        break;
                }
                list = nl;
                struct netcfg_adapter *a = &list[count];
                *a = (struct netcfg_adapter){ .name = strdup(de->d_name), .index = (unsigned)strtoul(idx, NULL, 10) };
                if (!a->name) {
                        r = -ENOMEM;
                        break;
                }
                count++;
                if (netcfg_parse_mac(mac, m) == 0) {
                        memcpy(a->mac, m, 6);
                        a->mac_len = 6;
                }
        }
        closedir(d);
        if (r < 0) {
                plat_adapters_free(list, count);
                return r;
        }
        *ret = list;
        *n = count;
        return 0;
}

void plat_adapters_free(struct netcfg_adapter *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(list[i].name);
        free(list);
}

/* Windows' memory lists do not exist here: memprep says so (Linux guests use drop_caches). */
bool plat_mem_supported(void) { return false; }
uint32_t plat_mem_privilege(const char *name) {
        (void)name;
        return 50; /* ERROR_NOT_SUPPORTED */
}
uint32_t plat_mem_command(enum memprep_command command) {
        (void)command;
        return MEMPREP_STATUS_NOT_SUPPORTED;
}
uint32_t plat_mem_query(struct memprep_lists *ret) {
        *ret = (struct memprep_lists){ 0 };
        return MEMPREP_STATUS_NOT_SUPPORTED;
}
int plat_mem_total(uint64_t *ret_pages, unsigned *ret_page_size) {
        (void)ret_pages;
        (void)ret_page_size;
        return -EOPNOTSUPP;
}
