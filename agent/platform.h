/* What differs between Linux and Windows, behind one interface (posix.c, win32.c):
 * sockets, threads, processes, files, temp names, environment. Paths and text are UTF-8;
 * functions return 0 / a count, or a negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "memprep.h"
#include "netcfg.h"

/* --- process-wide --- */
int plat_init(void);                 /* sockets, signals, locks */
const char *plat_system(void);       /* "Linux", "Windows" (what Python's platform.system() says) */
char *plat_self_path(void);          /* the agent's own executable */
void plat_log_write(const char *line);   /* one log line (already formatted, ends in '\n') */
uint64_t plat_random(void);
int64_t plat_now_ms(void);           /* monotonic */
void plat_sleep_ms(int ms);
/* Block until SIGTERM/SIGINT (Ctrl-C on Windows) or until exit is requested; then return. */

/* --- sockets --- */
typedef intptr_t plat_sock;
#define PLAT_SOCK_INVALID ((plat_sock)-1)
int plat_listen(const char *host, int port, plat_sock *ret, int *ret_port);
/* Wait for a connection. Returns 0, -EINTR when a termination signal arrived, or another
 * negative errno (transient errors are worth retrying). */
int plat_accept(plat_sock listener, plat_sock *ret, char *ip, size_t ipsz);
/* > 0 bytes, 0 at end of stream, -ETIMEDOUT after timeout_ms without data, other -errno. */
long plat_recv(plat_sock s, void *buf, size_t len, int timeout_ms);
int plat_send_all(plat_sock s, const void *buf, size_t len);
void plat_shutdown_send(plat_sock s);
void plat_close_socket(plat_sock s);

/* --- threads and one global lock --- */
int plat_thread_start(void (*fn)(void *), void *arg);
void plat_lock(void);
void plat_unlock(void);

/* --- processes --- */
struct plat_exec {
        const char *command;   /* a command line (Linux: run by /bin/sh -c) */
        bool shell;            /* Windows: through cmd.exe /c (Linux: always a shell) */
        const char *cwd;       /* NULL: the agent's */
        int timeout_ms;        /* 0: none. The process tree is killed at expiry */
};

struct plat_exec_result {
        int exit_code;         /* 128+N when killed by signal N (POSIX); EXEC_KILLED_EXIT_CODE after a timeout */
        bool timed_out;        /* the agent killed it at timeout_ms */
        struct buf out, err;   /* capped at EXEC_OUTPUT_CAP each */
};

#define EXEC_OUTPUT_CAP (8 * 1024 * 1024)
/* The exit code of a process the agent killed at its timeout, the same on both platforms:
 * 128 + SIGKILL, what a shell reports for a killed process (Windows: the job is terminated
 * with this code). */
#define EXEC_KILLED_EXIT_CODE 137

/* Run to completion, capturing output. -errno if it could not be started (e.g. bad cwd). */
int plat_run(const struct plat_exec *e, struct plat_exec_result *ret);
/* Start and return; output goes to logs_append() (agent.h) as it arrives. With a timeout the
 * process tree is killed at expiry and a line saying so goes to the stderr of /logs. */
int plat_spawn(const struct plat_exec *e);
/* Quote one argument for a command line run by plat_run (sh on Linux, CommandLineToArgv rules on Windows). */
char *plat_quote_arg(const char *arg);
/* An interpreter for /execpy, or NULL if the guest has none. */
char *plat_find_python(void);

/* --- files --- */
/* File names follow Windows rules there: case-insensitive, no device names (CON, NUL...), no
 * trailing dots or spaces, none of <>"|?*. */
#ifdef _WIN32
#define PLAT_WINDOWS_NAMES true
#else
#define PLAT_WINDOWS_NAMES false
#endif

struct plat_stat {
        bool is_dir;
        bool is_link;          /* plat_lstat: a symbolic link, junction or other reparse point */
        uint64_t size;
};
/* NULL and errno set on failure. Modes: "rb", "wb", and "wbx" (create a new file: EEXIST if
 * the name is taken). */
FILE *plat_fopen(const char *path, const char *mode);
int plat_stat(const char *path, struct plat_stat *ret);  /* -ENOENT if absent */
int plat_lstat(const char *path, struct plat_stat *ret); /* the link itself, not its target */
/* Create a directory and its parents; existing directories are fine. All or nothing: on
 * failure it removes the directories it made. On success *ret_created (may be NULL) gets the
 * topmost directory it made, or NULL if it made none (see plat_rmdir_up). */
int plat_mkdir_p(const char *path, unsigned mode, char **ret_created);
/* Remove the empty directory path and its parents up to and including top (a result of
 * plat_mkdir_p); stops quietly at the first that is not empty. */
void plat_rmdir_up(const char *path, const char *top);
/* Create a new file or directory; -EEXIST if the name is taken. */
int plat_create_new(const char *path, bool directory);
int plat_remove_tree(const char *path);                  /* file or directory tree; -ENOENT */
/* 0 if everything in the tree at path can be removed as far as can be told beforehand
 * (permissions, immutable files, mount points; Windows: files open without delete sharing),
 * else a negative errno and, in *ret_blocker, the entry in the way. */
int plat_check_removable(const char *path, char **ret_blocker);
/* Rename within a filesystem, never by copying: -EXDEV across filesystems. With replace an
 * existing file at to is replaced atomically; without, -EEXIST if to exists. */
int plat_rename(const char *from, const char *to, bool replace);
int plat_unlink(const char *path);
int plat_chmod_exec(const char *path);                   /* make executable (no-op on Windows) */
char *plat_temp_dir(void);
char *plat_join(const char *dir, const char *name);      /* dir + separator + name */
bool plat_is_abs(const char *path);

/* --- environment --- */
void plat_environ(void (*fn)(void *userdata, const char *name, const char *value), void *userdata);

/* --- network adapters (netcfg) --- */
/* Every adapter that has a hardware address, as a malloc'ed array (free with
 * plat_adapters_free), or a negative errno. */
int plat_adapters(struct netcfg_adapter **ret, size_t *n);
void plat_adapters_free(struct netcfg_adapter *list, size_t n);

/* --- physical memory lists (memprep; Windows only) --- */
/* Whether this OS has Windows' memory lists at all (false on Linux: memprep exits 2). */
bool plat_mem_supported(void);
/* Enable the named privilege (e.g. "SeProfileSingleProcessPrivilege") on the agent's process
 * token: 0, or a Win32 error code (1300 ERROR_NOT_ALL_ASSIGNED: the account does not hold it). */
uint32_t plat_mem_privilege(const char *name);
/* NtSetSystemInformation(SystemMemoryListInformation, command): its NTSTATUS
 * (MEMPREP_STATUS_PROCEDURE_NOT_FOUND when ntdll lacks the function). */
uint32_t plat_mem_command(enum memprep_command command);
/* NtQuerySystemInformation(SystemMemoryListInformation) into *ret (pages): its NTSTATUS. */
uint32_t plat_mem_query(struct memprep_lists *ret);
/* Physical memory in pages and the page size in bytes: 0, or a negative errno. */
int plat_mem_total(uint64_t *ret_pages, unsigned *ret_page_size);
