/* Accept loop and per-connection request handling: bounded head and body reads, pinning,
 * routing, multipart streaming of uploads to disk, and responses (HTTP/1.0, then close). */
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "multipart.h"

#define DRAIN_MAX (64 * 1024 * 1024)
#define DRAIN_TIMEOUT_MS 2000
#define IO_CHUNK (256 * 1024)

static int read_timeout_ms = 60000;
static int active_connections;
static int max_connections = 64;

/* --- global state --- */

static char *g_status, *g_description;
static char *g_pinned_ip;
static struct buf g_logs[2];

void state_set_status(const char *status, const char *description) {
        plat_lock();
        free(g_status);
        free(g_description);
        g_status = status ? strdup(status) : NULL;
        g_description = description ? strdup(description) : NULL;
        plat_unlock();
}

void state_get_status(char **status, char **description) {
        plat_lock();
        *status = strdup(g_status ? g_status : "init");   /* the Python agents start at "init" */
        *description = g_description ? strdup(g_description) : NULL;
        plat_unlock();
}

void logs_append(int stream, const char *data, size_t len) {
        if (stream != 1 && stream != 2)
                return;
        struct buf *b = &g_logs[stream - 1];
        plat_lock();
        /* Keep the newest bytes; trimming to half the cap keeps the memmoves rare. */
        if (len > LOGS_CAP / 2) {
                data += len - LOGS_CAP / 2;
                len = LOGS_CAP / 2;
        }
        if (b->len + len > LOGS_CAP)
                buf_consume(b, b->len + len - LOGS_CAP / 2);
        buf_append(b, data, len);
        if (b->oom)
                buf_free(b);
        plat_unlock();
}

char *state_logs(int stream) {
        plat_lock();
        struct buf *b = &g_logs[stream - 1];
        char *s = str_ndup(b->data ? b->data : "", b->len);
        plat_unlock();
        return s;
}

int state_pin(const char *ip) {
        int r = 0;
        plat_lock();
        if (g_pinned_ip)
                r = -EEXIST;
        else if (!(g_pinned_ip = strdup(ip)))
                r = -ENOMEM;
        plat_unlock();
        return r;
}

static bool pinned_elsewhere(const char *ip) {
        plat_lock();
        bool refuse = g_pinned_ip && strcmp(g_pinned_ip, ip) != 0;
        plat_unlock();
        return refuse;
}

void agent_log(const char *fmt, ...) {
        char line[1024];
        time_t t = time(NULL);
        struct tm tm;
#ifdef _WIN32
        gmtime_s(&tm, &t);
#else
        gmtime_r(&t, &tm);
#endif
        size_t n = strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S vmcloak-agent: ", &tm);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
        va_end(ap);
        size_t l = strlen(line);
        line[l] = '\n';
        line[l + 1] = 0;
        plat_log_write(line);
}

/* --- responses --- */

static void send_head(struct request *r, int status, const char *content_type, uint64_t length) {
        char head[512];
        int n = snprintf(head, sizeof head,
                         "HTTP/1.0 %d %s\r\n"
                         "Server: vmcloak-agent/" AGENT_VERSION "\r\n"
                         "Content-Type: %s\r\n"
                         "Content-Length: %llu\r\n"
                         "Connection: close\r\n\r\n",
                         status, http_status_text(status), content_type, (unsigned long long)length);
        plat_send_all(r->sock, head, (size_t)n);
}

static void log_request(struct request *r, int status) {
        agent_log("%s %s %s -> %d", r->client_ip, r->http.method ? r->http.method : "-",
                  r->http.path ? r->http.path : "-", status);
}

void respond_json(struct request *r, int status, struct json *j) {
        if (r->responded)
                return;
        r->responded = true;
        if (j->out.oom) {
                static const char oom[] = "{\"message\": \"Out of memory\", \"error_code\": 500}";
                send_head(r, 500, "application/json", sizeof oom - 1);
                plat_send_all(r->sock, oom, sizeof oom - 1);
                log_request(r, 500);
                return;
        }
        send_head(r, status, "application/json", j->out.len);
        plat_send_all(r->sock, j->out.data, j->out.len);
        log_request(r, status);
}

void respond_error(struct request *r, int status, const char *fmt, ...) {
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", msg);
        json_kv_int(&j, "error_code", status);
        if (status >= 500)
                json_kv_string(&j, "traceback", msg);
        json_end_object(&j);
        respond_json(r, status, &j);
        buf_free(&j.out);
        if (status >= 500)
                agent_log("error: %s", msg);
}

void respond_message(struct request *r, const char *msg) {
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", msg);
        json_end_object(&j);
        respond_json(r, 200, &j);
        buf_free(&j.out);
}

void respond_empty(struct request *r, int status) {
        if (r->responded)
                return;
        r->responded = true;
        send_head(r, status, "text/plain", 0);
        log_request(r, status);
}

void respond_file(struct request *r, FILE *f, uint64_t size) {
        if (r->responded)
                return;
        r->responded = true;
        send_head(r, 200, "application/octet-stream", size);
        char *chunk = malloc(IO_CHUNK);
        uint64_t left = size;
        while (chunk && left > 0) {
                size_t n = fread(chunk, 1, left < IO_CHUNK ? (size_t)left : IO_CHUNK, f);
                if (n == 0)
                        break;   /* the file shrank: the client sees a short body */
                if (plat_send_all(r->sock, chunk, n) < 0)
                        break;
                left -= n;
        }
        free(chunk);
        log_request(r, 200);
}

const char *req_field(const struct request *r, const char *name) {
        const char *v = form_get(&r->form, name);
        return v && *v ? v : NULL;
}

bool req_flag(const struct request *r, const char *name) { return req_field(r, name) != NULL; }

/* --- uploads --- */

FILE *open_temp_beside(const char *path, char **ret_tmp) {
        size_t n = strlen(path) + 32;
        char *s = malloc(n);
        if (!s) {
                errno = ENOMEM;
                return NULL;
        }
        for (int i = 0; i < 100; i++) {
                snprintf(s, n, "%s.part-%08x", path, (unsigned)plat_random());
                FILE *f = plat_fopen(s, "wbx");
                if (f) {
                        *ret_tmp = s;
                        return f;
                }
                if (errno != EEXIST)
                        break;
        }
        int e = errno;
        free(s);
        errno = e;
        return NULL;
}

char *parent_dir(const char *path) {
        const char *slash = NULL;
        for (const char *p = path; *p; p++)
                if (*p == '/' || *p == '\\')
                        slash = p;
        if (!slash)
                return NULL;
        size_t n = (size_t)(slash - path);
        /* "C:\x" keeps "C:\"; "/x" keeps "/". */
        if (n == 0 || (n == 2 && path[1] == ':'))
                n++;
        return str_ndup(path, n);
}

void upload_kept(struct request *r) {
        free(r->upload_path);
        r->upload_path = NULL;
        free(r->upload_dir);
        free(r->upload_dir_made);
        r->upload_dir = r->upload_dir_made = NULL;
}

static int upload_open(struct request *r) {
        const char *target = r->route->upload == UPLOAD_TO_FIELD ? req_field(r, r->route->target_field) : NULL;
        if (target) {
                char *dir = parent_dir(target);
                if (dir) {
                        int k = plat_mkdir_p(dir, 0777, &r->upload_dir_made);
                        if (k < 0) {
                                free(dir);
                                return k;
                        }
                        if (r->upload_dir_made)
                                r->upload_dir = dir;
                        else
                                free(dir);
                }
                r->upload_in_place = true;
                r->upload_fp = open_temp_beside(target, &r->upload_path);
                return r->upload_fp ? 0 : -errno;
        }
        char *tmp = plat_temp_dir();
        if (!tmp)
                return -ENOMEM;
        for (int i = 0; i < 100; i++) {
                char name[64];
                snprintf(name, sizeof name, "vmcloak-upload-%016llx", (unsigned long long)plat_random());
                free(r->upload_path);
                r->upload_path = plat_join(tmp, name);
                if (!r->upload_path)
                        break;
                int k = plat_create_new(r->upload_path, false);   /* private (0600 on Linux) */
                if (k == -EEXIST)
                        continue;
                free(tmp);
                if (k < 0) {
                        free(r->upload_path);
                        r->upload_path = NULL;
                        return k;
                }
                r->upload_fp = plat_fopen(r->upload_path, "wb");
                return r->upload_fp ? 0 : -errno;
        }
        free(tmp);
        return -ENOMEM;
}

void upload_discard(struct request *r) {
        if (r->upload_fp) {
                fclose(r->upload_fp);
                r->upload_fp = NULL;
        }
        if (r->upload_path) {
                plat_unlink(r->upload_path);
                free(r->upload_path);
                r->upload_path = NULL;
        }
        if (r->upload_dir_made)
                plat_rmdir_up(r->upload_dir, r->upload_dir_made);
        upload_kept(r);
}

struct part_state {
        struct request *r;
        enum { P_SKIP, P_FIELD, P_FILE } kind;
        char name[256];
        struct buf value;
        int error;   /* form limits */
};

static int on_part_begin(void *userdata, const char *name, const char *filename) {
        struct part_state *ps = userdata;
        struct request *r = ps->r;
        (void)filename;
        buf_free(&ps->value);
        ps->kind = P_SKIP;
        if (!*name)
                return 0;
        if (r->route->file_field && strcmp(name, r->route->file_field) == 0) {
                if (r->upload_present)
                        return 0;   /* only the first file part counts */
                r->upload_present = true;
                int k = upload_open(r);
                if (k < 0)
                        r->upload_errno = -k;
                ps->kind = P_FILE;
                return 0;
        }
        snprintf(ps->name, sizeof ps->name, "%s", name);
        ps->kind = P_FIELD;
        return 0;
}

static int on_part_data(void *userdata, const char *data, size_t len) {
        struct part_state *ps = userdata;
        struct request *r = ps->r;
        if (ps->kind == P_FILE) {
                r->upload_size += len;
                if (r->upload_fp && !r->upload_errno && fwrite(data, 1, len, r->upload_fp) != len)
                        r->upload_errno = errno ? errno : EIO;
        } else if (ps->kind == P_FIELD) {
                if (ps->value.len + len > FORM_MAX_BYTES || r->form.bytes + ps->value.len + len > FORM_MAX_BYTES)
                        return ps->error = -E2BIG;
                buf_append(&ps->value, data, len);
                if (ps->value.oom)
                        return ps->error = -ENOMEM;
        }
        return 0;
}

static int on_part_end(void *userdata) {
        struct part_state *ps = userdata;
        struct request *r = ps->r;
        if (ps->kind == P_FILE) {
                if (r->upload_fp) {
                        if (fclose(r->upload_fp) != 0 && !r->upload_errno)
                                r->upload_errno = errno ? errno : EIO;
                        r->upload_fp = NULL;
                }
        } else if (ps->kind == P_FIELD) {
                int k = form_add(&r->form, ps->name, strlen(ps->name), ps->value.data ? ps->value.data : "", ps->value.len);
                buf_free(&ps->value);
                if (k < 0)
                        return ps->error = k;
        }
        ps->kind = P_SKIP;
        return 0;
}

static const struct multipart_callbacks mp_callbacks = { on_part_begin, on_part_data, on_part_end };

/* Read the body (content_length bytes, of which pre_len arrived with the head). Returns 0 or
 * the status to answer (the response is sent by the caller); -1: the client is gone. */
static int read_body(struct request *r, const char *pre, size_t pre_len) {
        int64_t cl = r->http.content_length;
        if (r->http.has_transfer_encoding)
                return 411;   /* chunked bodies are not supported: send Content-Length */
        if (cl <= 0)
                return 0;     /* no body (a missing Content-Length means none, not "until close") */
        const char *ctype = http_header_get(&r->http, "Content-Type");
        bool multipart = http_media_type_is(ctype, "multipart/form-data");
        if (!multipart && cl > FORM_MAX_BYTES)
                return 413;
        if (r->http.expect_continue) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                plat_send_all(r->sock, cont, sizeof cont - 1);
        }

        uint64_t left = (uint64_t)cl;
        if (pre_len > left)
                pre_len = (size_t)left;

        if (!multipart) {
                char *body = malloc((size_t)cl + 1);
                if (!body)
                        return 500;
                memcpy(body, pre, pre_len);
                size_t got = pre_len;
                while (got < (size_t)cl) {
                        long n = plat_recv(r->sock, body + got, (size_t)cl - got, read_timeout_ms);
                        if (n <= 0) {
                                free(body);
                                return n == -ETIMEDOUT ? 408 : -1;
                        }
                        got += (size_t)n;
                }
                int k = 0;
                if (http_media_type_is(ctype, "application/x-www-form-urlencoded") || !ctype)
                        k = form_parse_urlencoded(&r->form, body, (size_t)cl);
                free(body);
                return k == -E2BIG ? 413 : k < 0 ? 500 : 0;
        }

        char boundary[MULTIPART_MAX_BOUNDARY + 1];
        if (http_header_param(ctype, "boundary", boundary, sizeof boundary) <= 0)
                return 400;
        struct part_state ps = { .r = r };
        struct multipart *mp;
        int k = multipart_new(boundary, &mp_callbacks, &ps, &mp);
        if (k < 0)
                return k == -ENOMEM ? 500 : 400;
        int status = 0;
        k = multipart_feed(mp, pre, pre_len);
        left -= pre_len;
        char *chunk = k >= 0 ? malloc(IO_CHUNK) : NULL;
        if (k >= 0 && !chunk)
                k = -ENOMEM;
        while (k >= 0 && left > 0) {
                long n = plat_recv(r->sock, chunk, left < IO_CHUNK ? (size_t)left : IO_CHUNK, read_timeout_ms);
                if (n <= 0) {
                        status = n == -ETIMEDOUT ? 408 : 400;
                        break;
                }
                left -= (uint64_t)n;
                k = multipart_feed(mp, chunk, (size_t)n);
        }
        free(chunk);
        if (!status && k >= 0)
                k = multipart_finish(mp);
        multipart_free(mp);
        buf_free(&ps.value);
        if (r->upload_fp) {   /* the part never ended */
                fclose(r->upload_fp);
                r->upload_fp = NULL;
        }
        if (status)
                return status;
        if (k == -E2BIG)
                return 413;
        if (k == -ENOMEM)
                return 500;
        if (k < 0)
                return 400;
        return 0;
}

static const char *body_error_message(int status) {
        switch (status) {
        case 400: return "Malformed or truncated request body";
        case 408: return "Timed out reading the request";
        case 411: return "Transfer-Encoding is not supported, send Content-Length";
        case 413: return "Request body or form field too large";
        default: return "Error reading the request";
        }
}

/* After the response: stop sending and swallow what the client still sends, so that closing
 * does not reset the connection before it has read our answer. */
static void finish_connection(plat_sock s) {
        plat_shutdown_send(s);
        char *junk = malloc(65536);
        uint64_t drained = 0;
        int64_t deadline = plat_now_ms() + DRAIN_TIMEOUT_MS;
        while (junk && drained < DRAIN_MAX) {
                int64_t left = deadline - plat_now_ms();
                if (left <= 0)
                        break;
                long n = plat_recv(s, junk, 65536, (int)left);
                if (n <= 0)
                        break;
                drained += (uint64_t)n;
        }
        free(junk);
        plat_close_socket(s);
}

static const struct route *find_route(const char *path) {
        for (size_t i = 0; i < n_routes; i++)
                if (strcmp(routes[i].path, path) == 0)
                        return &routes[i];
        return NULL;
}

static void handle(struct request *r) {
        char *head = malloc(HTTP_MAX_HEAD + 1);
        if (!head)
                return;
        size_t len = 0, head_len = 0;
        int64_t deadline = plat_now_ms() + read_timeout_ms;
        while (!head_len) {
                if (len == HTTP_MAX_HEAD) {
                        respond_error(r, 431, "Request head larger than %d bytes", HTTP_MAX_HEAD);
                        goto out;
                }
                int64_t left = deadline - plat_now_ms();
                long n = left > 0 ? plat_recv(r->sock, head + len, HTTP_MAX_HEAD - len, (int)left) : -ETIMEDOUT;
                if (n == -ETIMEDOUT) {
                        if (len)
                                respond_error(r, 408, "%s", body_error_message(408));
                        goto out;
                }
                if (n <= 0)
                        goto out;   /* closed (health checks connect and leave) */
                size_t from = len >= 3 ? len - 3 : 0;
                len += (size_t)n;
                size_t hl = http_head_length(head + from, len - from);
                if (hl)
                        head_len = from + hl;
        }

        int status = http_parse_head(head, head_len, &r->http);
        if (status) {
                respond_error(r, status, "Bad request (%s)", http_status_text(status));
                goto out;
        }
        if (pinned_elsewhere(r->client_ip)) {
                respond_error(r, 403, "Agent is pinned to another IP");
                goto out;
        }
        r->route = find_route(r->http.path);
        if (!r->route) {
                respond_error(r, 404, "Route not found");
                goto out;
        }
        unsigned m = strcmp(r->http.method, "GET") == 0 ? M_GET : strcmp(r->http.method, "POST") == 0 ? M_POST : 0;
        if (!(r->route->methods & m)) {
                respond_error(r, 405, "Method %s not allowed for %s", r->http.method, r->route->path);
                goto out;
        }
        if (r->http.query && form_parse_urlencoded(&r->form, r->http.query, strlen(r->http.query)) < 0) {
                respond_error(r, 413, "%s", body_error_message(413));
                goto out;
        }
        status = read_body(r, head + head_len, len - head_len);
        if (status < 0)
                goto out;
        if (status) {
                upload_discard(r);   /* before the answer: the client may look at once */
                respond_error(r, status, "%s", body_error_message(status));
                goto out;
        }
        r->route->handler(r);
        if (!r->responded)
                respond_error(r, 500, "Internal error: %s sent no response", r->route->path);
out:
        upload_discard(r);
        free(head);
}

static void connection_thread(void *arg) {
        struct request *r = arg;
        handle(r);
        finish_connection(r->sock);
        bool exit_after = r->exit_after;
        form_free(&r->form);
        free(r);
        plat_lock();
        active_connections--;
        plat_unlock();
        if (exit_after) {
                agent_log("exiting on request (/kill)");
                exit(0);
        }
}

int server_run(const struct server_config *cfg) {
        if (cfg->read_timeout_ms > 0)
                read_timeout_ms = cfg->read_timeout_ms;
        if (cfg->max_connections > 0)
                max_connections = cfg->max_connections;
        plat_sock listener;
        int port;
        int k = plat_listen(cfg->host, cfg->port, &listener, &port);
        if (k < 0) {
                agent_log("cannot listen on %s:%d: %s", cfg->host, cfg->port, strerror(-k));
                return 1;
        }
        agent_log("Listening on %s:%d (version %s)", cfg->host, port, AGENT_VERSION);
        for (;;) {
                struct request *r = calloc(1, sizeof *r);
                if (!r) {
                        plat_sleep_ms(100);
                        continue;
                }
                k = plat_accept(listener, &r->sock, r->client_ip, sizeof r->client_ip);
                if (k == -EINTR) {
                        free(r);
                        agent_log("terminating on signal");
                        plat_close_socket(listener);
                        return 0;
                }
                if (k < 0) {
                        free(r);
                        plat_sleep_ms(50);   /* EMFILE and friends: do not spin */
                        continue;
                }
                plat_lock();
                bool full = active_connections >= max_connections;
                if (!full)
                        active_connections++;
                plat_unlock();
                if (full) {
                        static const char body[] = "{\"message\": \"Too many connections, retry\", \"error_code\": 503}";
                        char busy[256];
                        int n = snprintf(busy, sizeof busy,
                                         "HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", sizeof body - 1, body);
                        plat_send_all(r->sock, busy, (size_t)n);
                        plat_close_socket(r->sock);
                        free(r);
                        continue;
                }
                if (plat_thread_start(connection_thread, r) < 0) {
                        plat_close_socket(r->sock);
                        free(r);
                        plat_lock();
                        active_connections--;
                        plat_unlock();
                }
        }
}
