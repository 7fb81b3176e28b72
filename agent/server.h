/* The HTTP server loop, one request per connection, and the request context handlers use. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "http.h"
#include "json.h"
#include "platform.h"

struct request;
typedef void (*handler_fn)(struct request *r);

enum upload_mode {
        UPLOAD_NONE,
        UPLOAD_TO_FIELD,   /* into the path named by another field (spooled if that comes later) */
        UPLOAD_SPOOL,      /* into a temporary file the handler consumes */
};

enum { M_GET = 1, M_POST = 2 };

struct route {
        const char *path;
        unsigned methods;
        handler_fn handler;
        const char *file_field;   /* multipart part that carries a file, or NULL */
        enum upload_mode upload;
        const char *target_field; /* UPLOAD_TO_FIELD: the field naming the destination */
};

struct request {
        plat_sock sock;
        char client_ip[64];
        struct http_request http;
        const struct route *route;
        struct form form;

        /* The route's file part, if one came. */
        bool upload_present;
        char *upload_path;        /* file that holds the data */
        bool upload_in_place;     /* upload_path is a temp name beside the destination */
        char *upload_dir;         /* the destination's directory, if directories were made for it */
        char *upload_dir_made;    /* the topmost of them: removed again unless the upload is kept */
        FILE *upload_fp;
        int upload_errno;         /* a write failed: the rest was discarded */
        uint64_t upload_size;

        /* Response. */
        bool responded;
        bool exit_after;          /* /kill */
};

/* Response helpers: each sends one complete response. */
void respond_json(struct request *r, int status, struct json *j);
/* {"message": msg, "error_code": status} (+ "traceback" for 500). */
void respond_error(struct request *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* {"message": msg} and 200. */
void respond_message(struct request *r, const char *msg);
void respond_empty(struct request *r, int status);
/* Stream an open file (closed by the caller) of the given size as application/octet-stream. */
void respond_file(struct request *r, FILE *f, uint64_t size);

/* Upload helpers. A new file beside path ("path.part-XXXXXXXX"), open for writing; NULL and
 * errno set on failure. */
FILE *open_temp_beside(const char *path, char **ret_tmp);
/* The directory part of path ("C:\\x" keeps "C:\\", "/x" keeps "/"), or NULL if it has none. */
char *parent_dir(const char *path);
/* The upload is in its place: keep the directories made for it. */
void upload_kept(struct request *r);
/* Remove the upload's file and the directories made for it, unless kept. Handlers call it
 * before they answer a failure (the client may look at once); the server calls it after
 * every request anyway. */
void upload_discard(struct request *r);

/* Field helpers: the Python agents ignore blank urlencoded values, so "" counts as absent. */
const char *req_field(const struct request *r, const char *name);
bool req_flag(const struct request *r, const char *name);

/* Global state behind the lock. */
void state_set_status(const char *status, const char *description);
void state_get_status(char **status, char **description);
char *state_logs(int stream);
/* 0 and the pinned IP stored, or -EEXIST if already pinned. */
int state_pin(const char *ip);

struct server_config {
        const char *host;
        int port;
        int read_timeout_ms;
        int max_connections;
};

/* Listen and serve until a termination signal or /kill. Returns the exit code. */
int server_run(const struct server_config *cfg);

/* Routes (handlers.c). */
extern const struct route routes[];
extern const size_t n_routes;
