/* Child processes: spawn with redirections and their own process group, wait with
 * deadlines that honour Ctrl-C, run-and-capture for short tools (qemu-img, lz4, ...). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct proc_opts {
        const char *cwd;
        const char *stdout_path;   /* append; NULL: inherit (or /dev/null if quiet_stdout) */
        const char *stderr_path;   /* append; NULL: inherit */
        bool quiet_stdout;
        bool new_pgroup;           /* own process group, tracked for cleanup on exit/signal */
        bool pdeathsig;            /* SIGKILL the child when vmcloak dies */
        char *const *env_extra;    /* "KEY=VALUE" entries added to the environment */
};

/* Start argv[0] (searched in PATH). stdin is /dev/null. */
int proc_spawn(char *const argv[], const struct proc_opts *opts, pid_t *ret_pid);

/* Wait for pid. timeout_ms < 0: forever. Returns 0 and the raw wait status, -ETIMEDOUT,
 * or -ECANCELED when vmcloak was interrupted (the child keeps running). */
int proc_wait(pid_t pid, int timeout_ms, int *ret_status);
/* Non-blocking: 1 and status if it exited, 0 if still running. */
int proc_try_wait(pid_t pid, int *ret_status);

/* SIGTERM, wait grace_ms, then SIGKILL the process (group, if it has one) and reap it. */
int proc_terminate(pid_t pid, int grace_ms);

/* Run to completion capturing stdout and stderr (each capped at 16 MiB). Returns the exit
 * code (>= 0) or a negative errno; 128+N when killed by signal N. Output pointers may be NULL. */
int proc_run(char *const argv[], const char *cwd, char **ret_stdout, char **ret_stderr);

/* The same for a tool that must not stop half-way (qemu-img commit writes into the image): it
 * runs in its own process group, so the terminal's Ctrl-C does not reach it, and vmcloak waits
 * for it even when interrupted. */
int proc_run_to_end(char *const argv[], const char *cwd, char **ret_stdout, char **ret_stderr);

/* Describe a wait status for messages ("exit code 1", "killed by signal 9"). */
const char *proc_status_string(int status, char *buf, unsigned size);

/* Look a program up in PATH; returns a new string or NULL. */
char *find_program(const char *name);
