/* Client of the guest agent (Cuckoo agent HTTP protocol) over libcurl: one function per
 * endpoint. Every call has a timeout, honours Ctrl-C (interrupted()), ignores proxy
 * environment variables, and returns 0 or a negative errno after logging one error line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/cleanup.h"

struct agent_client;

int agent_client_new(const char *host, int port, struct agent_client **ret);
void agent_client_free(struct agent_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct agent_client *, agent_client_free)
#define _cleanup_agent_client_ _cleanup_(agent_client_freep)

/* Point the client at another address (after a static IP change, or a new forward). */
int agent_client_set_address(struct agent_client *c, const char *host, int port);
/* "host:port", for messages. */
const char *agent_client_address(const struct agent_client *c);
/* Timeout of the short calls (everything but execute/upload/extract/retrieve); default 30 s. */
void agent_client_set_timeout(struct agent_client *c, int timeout_ms);

/* Poll GET / until the agent answers with HTTP (a TCP connect alone proves nothing under
 * QEMU user networking), backing off up to 1 s between tries. -ETIMEDOUT with a message
 * naming the address, -ECANCELED on Ctrl-C. */
int agent_wait_ready(struct agent_client *c, int timeout_ms);
/* One quiet GET /: 0 if the agent answered 200, else a negative errno (nothing logged). */
int agent_ping(struct agent_client *c);

struct agent_info {
        char *message;    /* "Cuckoo Agent!" */
        char *version;    /* protocol version, e.g. "1.0" */
        char *agent;      /* "vmcloak-agent X.Y.Z", NULL for other agents */
        char **features;  /* strv */
};
int agent_info(struct agent_client *c, struct agent_info *ret);
void agent_info_done(struct agent_info *info);

struct agent_exec_opts {
        bool async;        /* return at once; output goes to the agent's /logs */
        bool shell;        /* Windows: through cmd.exe (Linux agents always use /bin/sh) */
        const char *cwd;
        /* The agent kills the command (its process tree) after this. Sync: 0 means 2 hours.
         * Async: 0 means never; a kill is noted in the stderr of /logs. */
        int timeout_ms;
};

struct agent_exec_result {
        int exit_code;     /* -1 when the agent reported none; 137 after a timeout */
        bool timed_out;    /* the agent killed it at opts->timeout_ms */
        char *out;         /* stdout */
        char *err;         /* stderr */
        char *error;       /* the agent's "error" field, NULL when null */
};
void agent_exec_result_done(struct agent_exec_result *r);

/* Run a command. 0 when it ran to its end (whatever its exit code: check result->exit_code);
 * result may be NULL. -ETIMEDOUT, with one error line naming the command, when it outlived
 * opts->timeout_ms and the agent killed it: result then holds what it printed until then,
 * timed_out and exit_code 137; release it with agent_exec_result_done() as after success.
 * Other failures: a negative errno, one error line naming the command, result emptied. */
int agent_execute(struct agent_client *c, const char *command, const struct agent_exec_opts *opts,
                  struct agent_exec_result *result);
/* Run the Python file at guest_path with the guest's Python (/execpy). */
int agent_execpy(struct agent_client *c, const char *guest_path, const struct agent_exec_opts *opts,
                 struct agent_exec_result *result);
/* Fire a command whose connection is expected to drop (static IP change, poweroff): returns
 * 0 if the agent answered, 1 if the connection dropped or timed out after the request went
 * out, and a negative errno only if it could not be sent at all or was refused. */
int agent_execute_nowait(struct agent_client *c, const char *command, bool async, int timeout_ms);

/* Files. Uploads and downloads stream: memory use does not grow with the file size. */
int agent_upload(struct agent_client *c, const char *local_path, const char *guest_path);
int agent_upload_buffer(struct agent_client *c, const void *data, size_t len, const char *guest_path);
int agent_extract(struct agent_client *c, const char *local_zip, const char *guest_dir);
/* -ENOENT if the guest file does not exist (local_path is then not created). */
int agent_retrieve(struct agent_client *c, const char *guest_path, const char *local_path);
int agent_mkdir(struct agent_client *c, const char *guest_path);
/* -ENOENT if the path does not exist. */
int agent_remove(struct agent_client *c, const char *guest_path);
/* New strings in *ret. dir may be NULL (the guest's temp dir). */
int agent_mkdtemp(struct agent_client *c, const char *dir, char **ret);
int agent_mktemp(struct agent_client *c, const char *dir, char **ret);

/* Environment as a strv of "NAME=VALUE". */
int agent_environ(struct agent_client *c, char ***ret);
/* One variable (exact name, else case-insensitive as on Windows). -ENOENT if unset (not logged). */
int agent_getenv(struct agent_client *c, const char *name, char **ret);
int agent_system(struct agent_client *c, char **ret);          /* "Linux", "Windows" */
int agent_path(struct agent_client *c, char **ret);            /* the agent's executable */
int agent_status_get(struct agent_client *c, char **status, char **description);
int agent_status_set(struct agent_client *c, const char *status, const char *description);
int agent_logs(struct agent_client *c, char **out, char **err);
/* Pin the agent to this client's IP; *ret_ip (may be NULL) gets the IP it saw. */
int agent_pinning(struct agent_client *c, char **ret_ip);
/* Ask the agent to exit. */
int agent_kill(struct agent_client *c);

/* Low level, for tests and odd cases: one request, nothing logged. fields is a NULL-name
 * terminated array (or NULL); with file_field, a multipart body carrying file_path. Returns 0
 * with the HTTP status and body (NUL-terminated), or a negative errno for transport errors. */
struct agent_field {
        const char *name;
        const char *value;
};
struct agent_response {
        long status;
        char *body;
        size_t len;
};
int agent_call(struct agent_client *c, const char *method, const char *path, const struct agent_field *fields,
               const char *file_field, const char *file_path, int timeout_ms, struct agent_response *ret);
void agent_response_done(struct agent_response *r);
