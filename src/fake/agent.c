/* The fake guest's agent: the Cuckoo agent HTTP protocol over libmicrohttpd, answering from the script. */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/util.h"
#include "fake/internal.h"

#define POST_BUFFER 16384
#define FIELDS_MAX (4u << 20)          /* form fields of one request (files are not kept) */

struct fake_agent {
        struct fake_domain *d;
        unsigned slot;
        struct MHD_Daemon *mhd;
        uint16_t port;
        unsigned temps;                /* names handed out by /mktemp and /mkdtemp */
};

struct field {
        char *name;
        char *value;
        size_t len;
};

/* One request while it is read. */
struct request {
        struct MHD_PostProcessor *pp;
        struct field *fields;
        size_t n_fields;
        size_t field_bytes;
        bool file_present;             /* a file part (it has a file name) */
        uint64_t file_size;
        uint64_t file_hash;
        bool bad;                      /* too large, or out of memory */
};

/* Whether this agent may answer now: the guest is up, runs, does not hang, and is at this slot. */
static bool gate_open(struct fake_agent *a) {
        struct fake_domain *d = a->d;
        pthread_mutex_lock(&d->lock);
        bool open = !d->freeing && d->state == VM_STATE_RUNNING && d->up && !d->hung && d->slot == a->slot;
        pthread_mutex_unlock(&d->lock);
        return open;
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen) {
        (void)addr;
        (void)addrlen;
        /* MHD_NO closes the connection at once: the client sees it dropped, as it would with
         * QEMU's user networking and a guest that does not listen. */
        return gate_open(cls) ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_post_data(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                    const char *content_type, const char *transfer_encoding, const char *data,
                                    uint64_t off, size_t size) {
        struct request *rq = cls;
        (void)kind;
        (void)content_type;
        (void)transfer_encoding;
        if (filename) {
                rq->file_present = true;
                rq->file_size += size;
                rq->file_hash = fake_hash_update(rq->file_hash, data, size);
                return MHD_YES;
        }
        if (rq->field_bytes + size > FIELDS_MAX) {
                rq->bad = true;
                return MHD_NO;
        }
        struct field *f = rq->n_fields ? &rq->fields[rq->n_fields - 1] : NULL;
        if (off == 0 || !f || !streq(f->name, key)) {
                struct field *n = realloc(rq->fields, (rq->n_fields + 1) * sizeof *n);
                if (!n) {
                        rq->bad = true;
                        return MHD_NO;
                }
                rq->fields = n;
                f = &rq->fields[rq->n_fields];
                *f = (struct field){ .name = strdup(key), .value = calloc(1, 1) };
                if (!f->name || !f->value) {
                        free(f->name);
                        free(f->value);
                        rq->bad = true;
                        return MHD_NO;
                }
                rq->n_fields++;
        }
        char *v = realloc(f->value, f->len + size + 1);
        if (!v) {
                rq->bad = true;
                return MHD_NO;
        }
        memcpy(v + f->len, data, size);
        f->len += size;
        v[f->len] = 0;
        f->value = v;
        rq->field_bytes += size;
        return MHD_YES;
}

static void request_free(struct request *rq) {
        if (!rq)
                return;
        if (rq->pp)
                MHD_destroy_post_processor(rq->pp);
        for (size_t i = 0; i < rq->n_fields; i++) {
                free(rq->fields[i].name);
                free(rq->fields[i].value);
        }
        free(rq->fields);
        free(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
        (void)cls;
        (void)conn;
        (void)toe;
        request_free(*con_cls);
        *con_cls = NULL;
}

static const char *field(const struct request *rq, const char *name) {
        for (size_t i = 0; i < rq->n_fields; i++)
                if (streq(rq->fields[i].name, name))
                        return rq->fields[i].value;
        return NULL;
}

/* ---- answers ---- */

static enum MHD_Result respond_raw(struct MHD_Connection *conn, unsigned status, const char *body, const char *type) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        if (type)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        /* As the agents do: one request per connection. */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        enum MHD_Result r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

/* Send j (taken over) as the answer. */
static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, json_object *j) {
        if (!j)
                return MHD_NO;
        const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        enum MHD_Result r = s ? respond_raw(conn, status, s, "application/json") : MHD_NO;
        json_object_put(j);
        return r;
}

static void add_string(json_object *j, const char *key, const char *value) {
        json_object_object_add(j, key, value ? json_object_new_string(value) : NULL);
}

static enum MHD_Result respond_message(struct MHD_Connection *conn, const char *message) {
        json_object *j = json_object_new_object();
        if (j)
                add_string(j, "message", message);
        return respond_json(conn, MHD_HTTP_OK, j);
}

/* The agents' error shape: message, error_code, and a traceback for 5xx. */
static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        json_object *j = json_object_new_object();
        if (j) {
                add_string(j, "message", msg);
                json_object_object_add(j, "error_code", json_object_new_int((int)status));
                if (status >= 500)
                        add_string(j, "traceback", msg);
        }
        return respond_json(conn, status, j);
}

/* A guest moment in an agent request: FAIL gives *ret_errno, DIE and HANG act on the guest and
 * drop the request (false). */
static bool agent_moment(struct fake_domain *d, const char *moment, const char *arg, int *ret_errno) {
        enum fake_action a = fake_hook_call(d->name, moment, arg, ret_errno);
        if (a == FAKE_FAIL)
                return true;
        *ret_errno = 0;
        fake_guest_act(d, moment, a, 0);
        return a != FAKE_DIE && a != FAKE_HANG;
}

/* ---- endpoints ---- */

static enum MHD_Result h_index(struct MHD_Connection *conn) {
        json_object *j = json_object_new_object(), *f = json_object_new_array();
        if (!j || !f) {
                json_object_put(j);
                json_object_put(f);
                return MHD_NO;
        }
        static const char *const features[] = { "execpy", "execute", "pinning", "logs", "largefile", "unicodepath" };
        for (size_t i = 0; i < ELEMENTSOF(features); i++)
                json_object_array_add(f, json_object_new_string(features[i]));
        add_string(j, "message", "Cuckoo Agent!");
        add_string(j, "version", "1.0");
        json_object_object_add(j, "features", f);
        add_string(j, "agent", "fake-agent 1.0");
        return respond_json(conn, MHD_HTTP_OK, j);
}

static enum MHD_Result h_status(struct fake_agent *a, struct MHD_Connection *conn, bool post,
                                const struct request *rq) {
        struct fake_domain *d = a->d;
        if (post) {
                const char *status = field(rq, "status");
                if (!status)
                        return respond_error(conn, 400, "No status has been provided");
                char *s = strdup(status), *desc = NULL;
                const char *dv = field(rq, "description");
                if (!s || (dv && !(desc = strdup(dv)))) {
                        free(s);
                        return respond_error(conn, 500, "Out of memory");
                }
                pthread_mutex_lock(&d->lock);
                free(d->status);
                free(d->status_description);
                d->status = s;
                d->status_description = desc;
                pthread_mutex_unlock(&d->lock);
                return respond_message(conn, "Analysis status updated");
        }
        json_object *j = json_object_new_object();
        if (!j)
                return MHD_NO;
        add_string(j, "message", "Analysis status");
        pthread_mutex_lock(&d->lock);
        add_string(j, "status", d->status);
        add_string(j, "description", d->status_description);
        pthread_mutex_unlock(&d->lock);
        return respond_json(conn, MHD_HTTP_OK, j);
}

static enum MHD_Result h_system(struct MHD_Connection *conn) {
        _cleanup_free_ char *system = NULL;
        json_object *j = json_object_new_object();
        if (!j || fake_facts(&system, NULL, NULL) < 0) {
                json_object_put(j);
                return respond_error(conn, 500, "Out of memory");
        }
        add_string(j, "message", "System");
        add_string(j, "system", system);
        return respond_json(conn, MHD_HTTP_OK, j);
}

static enum MHD_Result h_environ(struct MHD_Connection *conn) {
        _cleanup_strv_free_ char **env = NULL;
        json_object *j = json_object_new_object(), *e = json_object_new_object();
        if (!j || !e || fake_facts(NULL, &env, NULL) < 0) {
                json_object_put(j);
                json_object_put(e);
                return respond_error(conn, 500, "Out of memory");
        }
        STRV_FOREACH(v, env) {
                const char *eq = strchr(*v, '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *name = strndup(*v, (size_t)(eq - *v));
                if (name)
                        add_string(e, name, eq + 1);
        }
        add_string(j, "message", "Environment variables");
        json_object_object_add(j, "environ", e);
        return respond_json(conn, MHD_HTTP_OK, j);
}

static enum MHD_Result h_string(struct MHD_Connection *conn, const char *message, const char *key, const char *value) {
        json_object *j = json_object_new_object();
        if (!j)
                return MHD_NO;
        add_string(j, "message", message);
        add_string(j, key, value);
        return respond_json(conn, MHD_HTTP_OK, j);
}

static enum MHD_Result h_logs(struct MHD_Connection *conn) {
        json_object *j = json_object_new_object();
        if (!j)
                return MHD_NO;
        add_string(j, "message", "Agent logs");
        add_string(j, "stdout", "");
        add_string(j, "stderr", "");
        return respond_json(conn, MHD_HTTP_OK, j);
}

static enum MHD_Result h_temp(struct fake_agent *a, struct MHD_Connection *conn, const struct request *rq, bool dir) {
        const char *parent = field(rq, "dirpath");
        pthread_mutex_lock(&a->d->lock);
        unsigned n = ++a->temps;
        pthread_mutex_unlock(&a->d->lock);
        char path[512];
        snprintf(path, sizeof path, "%s/fake-tmp%u", parent ? parent : "/tmp", n);
        return h_string(conn, dir ? "Successfully created temporary directory" : "Successfully created temporary file",
                        dir ? "dirpath" : "filepath", path);
}

static enum MHD_Result h_store(struct fake_agent *a, struct MHD_Connection *conn, const struct request *rq) {
        struct fake_domain *d = a->d;
        const char *path = field(rq, "filepath");
        if (!path)
                return respond_error(conn, 400, "No filepath has been provided");
        if (!rq->file_present)
                return respond_error(conn, 400, "No file has been provided");
        int error;
        if (!agent_moment(d, "upload", path, &error))
                return MHD_NO;
        if (error)
                return respond_error(conn, 500, "Error storing file %s: %s", path, strerror(error));
        if (fake_upload_record(d->name, path, rq->file_size, rq->file_hash) < 0)
                return respond_error(conn, 500, "Error storing file %s: %s", path, strerror(ENOMEM));
        fake_journal_add("upload %s %s", d->name, path);
        return respond_message(conn, "Successfully stored file");
}

/* Wait while a command runs in the guest; false when the guest went away meanwhile. */
static bool command_runs(struct fake_agent *a, int duration_ms) {
        struct fake_domain *d = a->d;
        int64_t deadline = now_ms() + duration_ms;
        pthread_mutex_lock(&d->lock);
        uint64_t gen = d->gen;
        bool ok;
        for (;;) {
                ok = !d->freeing && d->gen == gen && d->state != VM_STATE_OFF && !d->hung;
                if (!ok || now_ms() >= deadline)
                        break;
                fake_cond_wait_until(d, deadline);
        }
        pthread_mutex_unlock(&d->lock);
        return ok;
}

/* What a command does to the guest once its answer is queued. */
static void apply_effect(struct fake_agent *a, enum fake_effect e) {
        struct fake_domain *d = a->d;
        if (e == FAKE_EFFECT_NONE)
                return;
        pthread_mutex_lock(&d->lock);
        if (d->state != VM_STATE_OFF && !d->hung) {
                if (e == FAKE_EFFECT_SET_ADDRESS) {
                        d->slot = 1;
                        fake_journal_add("address %s 1", d->name);
                        fake_log_append(d, "the guest moved to %s", d->ip[1] ? d->ip[1] : "an address not defined");
                } else {
                        /* The guest goes down at once; its thread carries the rest out. */
                        d->up = false;
                        d->effect = e;
                }
                pthread_cond_broadcast(&d->cond);
        }
        pthread_mutex_unlock(&d->lock);
}

static enum MHD_Result h_execute(struct fake_agent *a, struct MHD_Connection *conn, const struct request *rq, bool py) {
        struct fake_domain *d = a->d;
        const char *command = field(rq, py ? "filepath" : "command");
        if (!command)
                return respond_error(conn, 400, "No %s has been provided", py ? "Python file" : "command");
        bool async = field(rq, "async") != NULL;   /* presence means true (agent-protocol.md) */
        fake_journal_add("%s %s: %s", py ? "execpy" : "execute", d->name, command);
        int error;
        if (!agent_moment(d, "execute", command, &error))
                return MHD_NO;
        if (error) {
                char msg[512];
                snprintf(msg, sizeof msg, "Error executing command: %s", strerror(error));
                json_object *j = json_object_new_object();
                if (!j)
                        return MHD_NO;
                add_string(j, "message", msg);
                json_object_object_add(j, "error_code", json_object_new_int(500));
                add_string(j, "traceback", msg);
                add_string(j, "error", msg);
                json_object_object_add(j, "exit_code", NULL);
                return respond_json(conn, 500, j);
        }
        struct fake_answer ans;
        if (fake_answer_lookup(d->name, command, &ans) < 0)
                return respond_error(conn, 500, "Out of memory");
        _cleanup_free_ char *out = (char *)ans.out, *err = (char *)ans.err;
        if (!async && ans.duration_ms > 0 && !command_runs(a, ans.duration_ms))
                return MHD_NO;
        json_object *j = json_object_new_object();
        if (!j)
                return MHD_NO;
        add_string(j, "message", "Successfully executed command");
        if (!async) {
                add_string(j, "stdout", strempty(out));
                add_string(j, "stderr", strempty(err));
                json_object_object_add(j, "exit_code", json_object_new_int(ans.exit_code));
                add_string(j, "error", NULL);
        }
        enum MHD_Result r = respond_json(conn, MHD_HTTP_OK, j);
        apply_effect(a, ans.effect);
        return r;
}

static enum MHD_Result h_path_op(struct fake_agent *a, struct MHD_Connection *conn, const struct request *rq,
                                 const char *key, const char *verb) {
        const char *path = field(rq, key);
        if (!path)
                return respond_error(conn, 400, "No %s has been provided", key);
        fake_journal_add("%s %s %s", verb, a->d->name, path);
        if (streq(verb, "remove")) {
                fake_upload_forget(a->d->name, path);
                return respond_message(conn, "Successfully deleted file");
        }
        if (streq(verb, "extract"))
                return rq->file_present ? respond_message(conn, "Successfully extracted zip file")
                                        : respond_error(conn, 400, "No zip file has been provided");
        return respond_message(conn, "Successfully created directory");
}

static enum MHD_Result h_kill(struct fake_agent *a, struct MHD_Connection *conn) {
        struct fake_domain *d = a->d;
        enum MHD_Result r = respond_message(conn, "Quit the Cuckoo Agent");
        pthread_mutex_lock(&d->lock);
        d->up = false;   /* the agent process exits; the guest runs on */
        fake_journal_add("kill-agent %s", d->name);
        pthread_mutex_unlock(&d->lock);
        return r;
}

static enum MHD_Result dispatch(struct fake_agent *a, struct MHD_Connection *conn, const char *url, bool post,
                                const struct request *rq) {
        if (rq->bad)
                return respond_error(conn, 413, "Request too large");
        if (streq(url, "/") && !post)
                return h_index(conn);
        if (streq(url, "/status"))
                return h_status(a, conn, post, rq);
        if (streq(url, "/system") && !post)
                return h_system(conn);
        if (streq(url, "/environ") && !post)
                return h_environ(conn);
        if (streq(url, "/path") && !post)
                return h_string(conn, "Agent path", "filepath", "/opt/fake/agent");
        if (streq(url, "/logs") && !post)
                return h_logs(conn);
        if (streq(url, "/pinning"))
                return h_string(conn, "Successfully pinned Agent", "client_ip", "127.0.0.1");
        if (streq(url, "/kill"))
                return h_kill(a, conn);
        if (streq(url, "/mkdtemp"))
                return h_temp(a, conn, rq, true);
        if (!post)
                return respond_error(conn, 404, "Route not found");
        if (streq(url, "/execute"))
                return h_execute(a, conn, rq, false);
        if (streq(url, "/execpy"))
                return h_execute(a, conn, rq, true);
        if (streq(url, "/store"))
                return h_store(a, conn, rq);
        if (streq(url, "/mktemp"))
                return h_temp(a, conn, rq, false);
        if (streq(url, "/mkdir"))
                return h_path_op(a, conn, rq, "dirpath", "mkdir");
        if (streq(url, "/remove"))
                return h_path_op(a, conn, rq, "path", "remove");
        if (streq(url, "/extract"))
                return h_path_op(a, conn, rq, "dirpath", "extract");
        if (streq(url, "/retrieve")) {
                /* The fake keeps no file contents: every file is absent, as the agents say it. */
                if (!field(rq, "filepath"))
                        return respond_error(conn, 400, "No filepath has been provided");
                return respond_raw(conn, 404, "", NULL);
        }
        return respond_error(conn, 404, "Route not found");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        struct fake_agent *a = cls;
        (void)version;
        bool post = streq(method, "POST");
        struct request *rq = *con_cls;
        if (!rq) {
                /* The guest may have gone down since the connection was accepted. */
                if (!gate_open(a))
                        return MHD_NO;
                rq = calloc(1, sizeof *rq);
                if (!rq)
                        return MHD_NO;
                rq->file_hash = FAKE_HASH_INIT;
                /* NULL for a body that is neither urlencoded nor multipart: no fields then. */
                if (post)
                        rq->pp = MHD_create_post_processor(conn, POST_BUFFER, on_post_data, rq);
                *con_cls = rq;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                if (rq->pp && !rq->bad && MHD_post_process(rq->pp, upload_data, *upload_data_size) != MHD_YES)
                        rq->bad = true;
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (!gate_open(a))
                return MHD_NO;
        return dispatch(a, conn, url, post, rq);
}

int fake_agent_new(struct fake_domain *d, unsigned slot, struct fake_agent **ret) {
        struct fake_agent *a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->d = d;
        a->slot = slot;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        a->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0,
                                  on_accept, a, on_request, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_END);
        const union MHD_DaemonInfo *info = a->mhd ? MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT) : NULL;
        if (!info || info->port == 0) {
                fake_agent_free(a);
                return -EIO;
        }
        a->port = info->port;
        *ret = a;
        return 0;
}

void fake_agent_free(struct fake_agent *a) {
        if (!a)
                return;
        if (a->mhd)
                MHD_stop_daemon(a->mhd);
        free(a);
}

uint16_t fake_agent_port(const struct fake_agent *a) { return a->port; }
