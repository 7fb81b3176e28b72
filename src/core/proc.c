/* Spawning, waiting for and capturing child processes. */
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/util.h"

extern char **environ;

static void child_redirect(const char *path, int target, bool quiet) {
        int fd;
        if (path)
                fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        else if (quiet)
                fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        else
                return;
        if (fd < 0)
                _exit(127);
        if (dup2(fd, target) < 0)
                _exit(127);
}

int proc_spawn(char *const argv[], const struct proc_opts *opts, pid_t *ret_pid) {
        static const struct proc_opts none = { 0 };
        if (!opts)
                opts = &none;
        /* A pipe that closes on exec tells the parent whether exec worked. */
        int errpipe[2];
        if (pipe2(errpipe, O_CLOEXEC) < 0)
                return -errno;
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(errpipe[0]);
                close(errpipe[1]);
                return -e;
        }
        if (pid == 0) {
                close(errpipe[0]);
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGHUP, SIG_DFL);
                signal(SIGPIPE, SIG_DFL);
                if (opts->new_pgroup)
                        setpgid(0, 0);
                if (opts->pdeathsig) {
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        if (getppid() != parent)
                                _exit(127);
                }
                int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (nul < 0 || dup2(nul, STDIN_FILENO) < 0)
                        _exit(127);
                child_redirect(opts->stdout_path, STDOUT_FILENO, opts->quiet_stdout);
                child_redirect(opts->stderr_path, STDERR_FILENO, false);
                if (opts->cwd && chdir(opts->cwd) < 0) {
                        int e = errno;
                        ssize_t k = write(errpipe[1], &e, sizeof e);
                        (void)k;
                        _exit(127);
                }
                for (char *const *e = opts->env_extra; e && *e; e++)
                        putenv(*e);
                execvp(argv[0], argv);
                int e = errno;
                ssize_t k = write(errpipe[1], &e, sizeof e);
                (void)k;
                _exit(127);
        }
        close(errpipe[1]);
        if (opts->new_pgroup) {
                setpgid(pid, pid); /* avoid the race with the child's own setpgid */
                interrupt_track_child(pid);
        }
        int child_errno = 0;
        ssize_t k;
        do
                k = read(errpipe[0], &child_errno, sizeof child_errno);
        while (k < 0 && errno == EINTR);
        close(errpipe[0]);
        if (k == sizeof child_errno) {
                waitpid(pid, NULL, 0);
                if (opts->new_pgroup)
                        interrupt_untrack_child(pid);
                return -child_errno;
        }
        *ret_pid = pid;
        return 0;
}

int proc_try_wait(pid_t pid, int *ret_status) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r < 0)
                return -errno;
        if (r == 0)
                return 0;
        interrupt_untrack_child(pid);
        if (ret_status)
                *ret_status = status;
        return 1;
}

int proc_wait(pid_t pid, int timeout_ms, int *ret_status) {
        int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
        int delay = 5;
        for (;;) {
                int r = proc_try_wait(pid, ret_status);
                if (r != 0)
                        return r < 0 ? r : 0;
                if (interrupted())
                        return -ECANCELED;
                if (now_ms() >= deadline)
                        return -ETIMEDOUT;
                sleep_ms(delay);
                if (delay < 100)
                        delay *= 2;
        }
}

int proc_terminate(pid_t pid, int grace_ms) {
        int status;
        if (proc_try_wait(pid, &status) != 0)
                return 0;
        pid_t pg = getpgid(pid);
        bool own_group = pg == pid;
        kill(own_group ? -pid : pid, SIGTERM);
        int64_t deadline = now_ms() + grace_ms;
        while (now_ms() < deadline) {
                if (proc_try_wait(pid, &status) != 0)
                        return 0;
                sleep_ms(20);
        }
        kill(own_group ? -pid : pid, SIGKILL);
        if (waitpid(pid, &status, 0) < 0 && errno != ECHILD)
                return -errno;
        interrupt_untrack_child(pid);
        return 0;
}

#define CAPTURE_MAX (16u << 20)

struct capture {
        int fd;
        char *buf;
        size_t len, cap;
};

static int capture_read(struct capture *c) {
        char tmp[8192];
        ssize_t k = read(c->fd, tmp, sizeof tmp);
        if (k < 0)
                return errno == EINTR || errno == EAGAIN ? 1 : -errno;
        if (k == 0) {
                close(c->fd);
                c->fd = -1;
                return 0;
        }
        if (c->len + (size_t)k + 1 > c->cap && c->len < CAPTURE_MAX) {
                size_t ncap = c->cap ? c->cap * 2 : 8192;
                while (ncap < c->len + (size_t)k + 1)
                        ncap *= 2;
                char *n = realloc(c->buf, ncap);
                if (!n)
                        return -ENOMEM;
                c->buf = n;
                c->cap = ncap;
        }
        if (c->len + (size_t)k + 1 <= c->cap) {
                memcpy(c->buf + c->len, tmp, (size_t)k);
                c->len += (size_t)k;
                c->buf[c->len] = 0;
        }
        return 1;
}

static int run_capture(char *const argv[], const char *cwd, bool to_the_end, char **ret_stdout, char **ret_stderr) {
        int out[2], err[2];
        if (pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(err, O_CLOEXEC) < 0) {
                int e = errno;
                close(out[0]);
                close(out[1]);
                return -e;
        }
        int errpipe[2];
        if (pipe2(errpipe, O_CLOEXEC) < 0) {
                int e = errno;
                close(out[0]); close(out[1]); close(err[0]); close(err[1]);
                return -e;
        }
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(out[0]); close(out[1]); close(err[0]); close(err[1]);
                close(errpipe[0]); close(errpipe[1]);
                return -e;
        }
        if (pid == 0) {
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGPIPE, SIG_DFL);
                if (to_the_end)
                        setpgid(0, 0); /* out of the terminal's reach: Ctrl-C goes to vmcloak only */
                else
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (nul < 0 || dup2(nul, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
                        _exit(127);
                if (cwd && chdir(cwd) < 0)
                        _exit(127);
                execvp(argv[0], argv);
                int e = errno;
                ssize_t k = write(errpipe[1], &e, sizeof e);
                (void)k;
                _exit(127);
        }
        close(out[1]);
        close(err[1]);
        close(errpipe[1]);
        int child_errno = 0;
        ssize_t k;
        do
                k = read(errpipe[0], &child_errno, sizeof child_errno);
        while (k < 0 && errno == EINTR);
        close(errpipe[0]);

        struct capture c[2] = { { .fd = out[0] }, { .fd = err[0] } };
        int r = 0;
        while (c[0].fd >= 0 || c[1].fd >= 0) {
                struct pollfd p[2] = { { .fd = c[0].fd, .events = POLLIN }, { .fd = c[1].fd, .events = POLLIN } };
                int n = poll(p, 2, 200);
                if (n < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                if (interrupted() && !to_the_end) {
                        kill(pid, SIGKILL);
                        r = -ECANCELED;
                        break;
                }
                for (int i = 0; i < 2; i++)
                        if (c[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                                int q = capture_read(&c[i]);
                                if (q < 0) {
                                        r = q;
                                        break;
                                }
                        }
                if (r < 0)
                        break;
        }
        for (int i = 0; i < 2; i++)
                if (c[i].fd >= 0)
                        close(c[i].fd);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r == 0 && k == sizeof child_errno)
                r = -child_errno;
        if (r == 0)
                r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        for (int i = 0; i < 2; i++) {
                char **dst = i == 0 ? ret_stdout : ret_stderr;
                if (dst && r >= 0) {
                        *dst = c[i].buf ? c[i].buf : strdup("");
                        c[i].buf = NULL;
                }
                free(c[i].buf);
        }
        return r;
}

const char *proc_status_string(int status, char *buf, unsigned size) {
        if (WIFEXITED(status))
                snprintf(buf, size, "exit code %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "status 0x%x", status);
        return buf;
}

char *find_program(const char *name) {
        if (strchr(name, '/'))
                return access(name, X_OK) == 0 ? strdup(name) : NULL;
        const char *path = getenv("PATH");
        if (!path)
                path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return NULL;
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char *p = path_join(d, name);
                if (p && access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

int proc_run(char *const argv[], const char *cwd, char **ret_stdout, char **ret_stderr) {
        return run_capture(argv, cwd, false, ret_stdout, ret_stderr);
}

int proc_run_to_end(char *const argv[], const char *cwd, char **ret_stdout, char **ret_stderr) {
        return run_capture(argv, cwd, true, ret_stdout, ret_stderr);
}
