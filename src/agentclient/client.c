/* libcurl client of the guest agent: a fresh easy handle per request (as VMCloak opens a new
 * session each time), proxies off, streaming uploads/downloads, and one error line per failure. */
#include "agentclient/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"

#define DEFAULT_TIMEOUT_MS 30000
#define EXECUTE_DEFAULT_TIMEOUT_MS (2 * 3600 * 1000)
#define CONNECT_TIMEOUT_MS 10000
#define STALL_SECONDS 120              /* transfers slower than 1 byte/s this long fail */
#define BODY_CAP (128 * 1024 * 1024)   /* JSON answers (execute output is capped by the agent) */

struct agent_client {
        char *host;
        int port;
        char address[300];
        int timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int agent_client_set_address(struct agent_client *c, const char *host, int port) {
        if (isempty(host) || port <= 0 || port > 65535)
                return log_error_errno(-EINVAL, "Invalid agent address %s:%d", strempty(host), port);
        char *h = strdup(host);
        if (!h)
                return log_oom();
        free(c->host);
        c->host = h;
        c->port = port;
        /* IPv6 literals need brackets in URLs. */
        bool v6 = strchr(host, ':') != NULL;
        snprintf(c->address, sizeof c->address, v6 ? "[%s]:%d" : "%s:%d", host, port);
        return 0;
}

int agent_client_new(const char *host, int port, struct agent_client **ret) {
        pthread_once(&curl_once, curl_init_once);
        struct agent_client *c = calloc(1, sizeof *c);
        if (!c)
                return log_oom();
        c->timeout_ms = DEFAULT_TIMEOUT_MS;
        int r = agent_client_set_address(c, host, port);
        if (r < 0) {
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void agent_client_free(struct agent_client *c) {
        if (!c)
                return;
        free(c->host);
        free(c);
}

const char *agent_client_address(const struct agent_client *c) { return c->address; }
void agent_client_set_timeout(struct agent_client *c, int timeout_ms) {
        c->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
}

/* --- one request --- */

struct request {
        const char *method;
        const char *path;
        const struct agent_field *fields;
        /* Multipart file part: from a path (streamed) or a buffer. */
        const char *file_field;
        const char *file_path;
        const void *file_data;
        size_t file_len;
        const char *file_name;
        int out_fd;            /* >= 0: a 200 body goes here instead of memory */
        int timeout_ms;        /* total; 0: none (a stall limit applies) */
        const char *what;      /* names the request in error lines instead of "METHOD PATH" */
};

struct reply {
        long status;
        struct {
                char *data;
                size_t len, cap;
                bool overflow;
        } body;
        int out_fd;
        CURL *curl;
        int write_errno;
        bool connected;        /* the TCP connection was made */
        char errbuf[CURL_ERROR_SIZE];
};

static size_t on_write(char *data, size_t size, size_t n, void *userdata) {
        struct reply *rp = userdata;
        size_t len = size * n;
        long code = 0;
        curl_easy_getinfo(rp->curl, CURLINFO_RESPONSE_CODE, &code);
        if (rp->out_fd >= 0 && code == 200) {
                for (size_t off = 0; off < len;) {
                        ssize_t k = write(rp->out_fd, data + off, len - off);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                rp->write_errno = k < 0 ? errno : EIO;
                                return 0;   /* makes curl fail with CURLE_WRITE_ERROR */
                        }
                        off += (size_t)k;
                }
                return len;
        }
        if (rp->body.len + len > BODY_CAP) {
                rp->body.overflow = true;
                return 0;
        }
        if (rp->body.len + len + 1 > rp->body.cap) {
                size_t cap = rp->body.cap ? rp->body.cap : 4096;
                while (cap < rp->body.len + len + 1)
                        cap *= 2;
                char *p = realloc(rp->body.data, cap);
                if (!p) {
                        rp->write_errno = ENOMEM;
                        return 0;
                }
                rp->body.data = p;
                rp->body.cap = cap;
        }
        memcpy(rp->body.data + rp->body.len, data, len);
        rp->body.len += len;
        rp->body.data[rp->body.len] = 0;
        return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        (void)userdata;
        (void)dltotal;
        (void)dlnow;
        (void)ultotal;
        (void)ulnow;
        return interrupted() ? 1 : 0;
}

static int curl_errno(CURLcode cc) {
        switch (cc) {
        case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
        case CURLE_ABORTED_BY_CALLBACK: return -ECANCELED;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE: return -ECONNRESET;
        case CURLE_OUT_OF_MEMORY: return -ENOMEM;
        case CURLE_READ_ERROR:
        case CURLE_FILE_COULDNT_READ_FILE: return -EIO;
        default: return -EIO;
        }
}

/* Perform; 0 with rp->status set when any HTTP answer came, else a negative errno with
 * rp->errbuf describing it. */
static int perform(struct agent_client *c, const struct request *rq, struct reply *rp) {
        memset(rp, 0, sizeof *rp);
        rp->out_fd = rq->out_fd;
        CURL *curl = curl_easy_init();
        if (!curl)
                return -ENOMEM;
        rp->curl = curl;
        _cleanup_free_ char *url = strdup_printf("http://%s%s", c->address, rq->path);
        if (!url) {
                curl_easy_cleanup(curl);
                return -ENOMEM;
        }
        curl_mime *mime = NULL;
        char *form = NULL;
        struct curl_slist *headers = curl_slist_append(NULL, "Expect:");   /* no 1 s 100-continue wait */

        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
        curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, rp->errbuf);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, rp);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, rp);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "vmcloak/" VMCLOAK_VERSION);
        long connect_ms = CONNECT_TIMEOUT_MS;
        if (rq->timeout_ms > 0 && rq->timeout_ms < connect_ms)
                connect_ms = rq->timeout_ms;
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        if (rq->timeout_ms > 0) {
                curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms);
        } else {
                curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
                curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)STALL_SECONDS);
        }

        int r = 0;
        bool post = streq(rq->method, "POST");
        if (rq->file_field) {
                mime = curl_mime_init(curl);
                for (const struct agent_field *f = rq->fields; f && f->name; f++) {
                        curl_mimepart *part = curl_mime_addpart(mime);
                        curl_mime_name(part, f->name);
                        curl_mime_data(part, f->value, CURL_ZERO_TERMINATED);
                }
                curl_mimepart *part = curl_mime_addpart(mime);
                curl_mime_name(part, rq->file_field);
                if (rq->file_path) {
                        /* Streamed from disk by curl in small blocks. */
                        if (curl_mime_filedata(part, rq->file_path) != CURLE_OK)
                                r = -EIO;
                } else {
                        curl_mime_data(part, rq->file_data ? rq->file_data : "", rq->file_len);
                }
                curl_mime_filename(part, rq->file_name ? rq->file_name : "file");
                curl_mime_type(part, "application/octet-stream");
                curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
        } else if (post) {
                /* urlencoded; an empty body for field-less POSTs. */
                struct buf { char *s; } b = { strdup("") };
                for (const struct agent_field *f = rq->fields; f && f->name && b.s; f++) {
                        char *k = curl_easy_escape(curl, f->name, 0);
                        char *v = curl_easy_escape(curl, f->value ? f->value : "", 0);
                        char *n = k && v ? strdup_printf("%s%s%s=%s", b.s, *b.s ? "&" : "", k, v) : NULL;
                        curl_free(k);
                        curl_free(v);
                        free(b.s);
                        b.s = n;
                }
                form = b.s;
                if (!form)
                        r = -ENOMEM;
                else {
                        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
                        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
                }
        } else {
                curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        }

        if (r == 0) {
                CURLcode cc = curl_easy_perform(curl);
                curl_off_t connect_us = 0;
                rp->connected = curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us) == CURLE_OK && connect_us > 0;
                if (cc == CURLE_OK) {
                        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &rp->status);
                } else {
                        r = curl_errno(cc);
                        if (cc == CURLE_WRITE_ERROR && rp->write_errno)
                                r = -rp->write_errno;
                        else if (cc == CURLE_WRITE_ERROR && rp->body.overflow)
                                r = -EFBIG;
                        if (!rp->errbuf[0])
                                snprintf(rp->errbuf, sizeof rp->errbuf, "%s", curl_easy_strerror(cc));
                        if (r == -ECANCELED)
                                snprintf(rp->errbuf, sizeof rp->errbuf, "interrupted");
                        else if (cc == CURLE_WRITE_ERROR && rp->write_errno)
                                snprintf(rp->errbuf, sizeof rp->errbuf, "cannot write the download: %s",
                                         strerror(rp->write_errno));
                }
        }
        curl_mime_free(mime);
        curl_slist_free_all(headers);
        free(form);
        curl_easy_cleanup(curl);
        return r;
}

static void reply_done(struct reply *rp) {
        free(rp->body.data);
        rp->body.data = NULL;
}

static int status_errno(long status) {
        switch (status) {
        case 400: return -EINVAL;
        case 403: return -EACCES;
        case 404: return -ENOENT;
        case 405: return -EOPNOTSUPP;
        case 408: return -ETIMEDOUT;
        case 411:
        case 413: return -E2BIG;
        default: return -EIO;
        }
}

/* The "message" of a JSON error answer, or a short excerpt of the body. */
static char *answer_message(const struct reply *rp) {
        if (!rp->body.data || rp->body.len == 0)
                return strdup("(empty answer)");
        json_object *j = json_tokener_parse(rp->body.data);
        json_object *m;
        char *s = NULL;
        if (j && json_object_object_get_ex(j, "message", &m) && json_object_is_type(m, json_type_string))
                s = strdup(json_object_get_string(m));
        json_object_put(j);
        if (!s)
                s = strdup_printf("%.80s", rp->body.data);
        return s;
}

/* perform() + the one error line + status check. Returns 0 only for HTTP 200. */
static int call(struct agent_client *c, const struct request *rq, struct reply *rp) {
        int r = perform(c, rq, rp);
        _cleanup_free_ char *what = rq->what ? strdup(rq->what) : strdup_printf("%s %s", rq->method, rq->path);
        if (!what)
                return log_oom();
        if (r == -ECANCELED)
                return log_error_errno(r, "Agent %s: %s interrupted", c->address, what);
        if (r < 0)
                return log_error_errno(r, "Agent %s: %s failed: %s", c->address, what,
                                       rp->errbuf[0] ? rp->errbuf : strerror(-r));
        if (rp->status != 200) {
                _cleanup_free_ char *msg = answer_message(rp);
                return log_error_errno(status_errno(rp->status), "Agent %s: %s failed: HTTP %ld: %s", c->address, what,
                                       rp->status, strempty(msg));
        }
        return 0;
}

/* call() + parse the JSON answer. */
static int call_json(struct agent_client *c, const struct request *rq, json_object **ret) {
        struct reply rp;
        int r = call(c, rq, &rp);
        if (r < 0) {
                reply_done(&rp);
                return r;
        }
        json_object *j = rp.body.data ? json_tokener_parse(rp.body.data) : NULL;
        if (!j || !json_object_is_type(j, json_type_object)) {
                json_object_put(j);
                r = log_error_errno(-EBADMSG, "Agent %s: %s %s: the answer is not a JSON object: %.60s", c->address,
                                    rq->method, rq->path, strempty(rp.body.data));
                reply_done(&rp);
                return r;
        }
        reply_done(&rp);
        *ret = j;
        return 0;
}

static int simple(struct agent_client *c, const char *method, const char *path, const struct agent_field *fields) {
        struct request rq = { .method = method, .path = path, .fields = fields, .out_fd = -1, .timeout_ms = c->timeout_ms };
        json_object *j = NULL;
        int r = call_json(c, &rq, &j);
        json_object_put(j);
        return r;
}

/* A string member (NULL when absent or null); -EBADMSG with a message when required and missing. */
static int get_string(struct agent_client *c, const char *path, json_object *j, const char *key, bool required,
                      char **ret) {
        json_object *v;
        *ret = NULL;
        if (json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_string)) {
                *ret = strdup(json_object_get_string(v));
                return *ret ? 0 : log_oom();
        }
        if (required)
                return log_error_errno(-EBADMSG, "Agent %s: the answer of %s has no \"%s\"", c->address, path, key);
        return 0;
}

static int simple_string(struct agent_client *c, const char *method, const char *path,
                         const struct agent_field *fields, const char *key, char **ret) {
        struct request rq = { .method = method, .path = path, .fields = fields, .out_fd = -1, .timeout_ms = c->timeout_ms };
        json_object *j = NULL;
        int r = call_json(c, &rq, &j);
        if (r >= 0)
                r = get_string(c, path, j, key, true, ret);
        json_object_put(j);
        return r;
}

/* --- public calls --- */

int agent_call(struct agent_client *c, const char *method, const char *path, const struct agent_field *fields,
               const char *file_field, const char *file_path, int timeout_ms, struct agent_response *ret) {
        struct request rq = { .method = method, .path = path, .fields = fields, .file_field = file_field,
                              .file_path = file_path, .out_fd = -1,
                              .timeout_ms = timeout_ms > 0 ? timeout_ms : c->timeout_ms };
        struct reply rp;
        int r = perform(c, &rq, &rp);
        if (r < 0) {
                reply_done(&rp);
                return r;
        }
        ret->status = rp.status;
        ret->len = rp.body.len;
        ret->body = rp.body.data ? rp.body.data : strdup("");
        return ret->body ? 0 : -ENOMEM;
}

void agent_response_done(struct agent_response *r) {
        free(r->body);
        r->body = NULL;
}

int agent_ping(struct agent_client *c) {
        struct request rq = { .method = "GET", .path = "/", .out_fd = -1, .timeout_ms = 3000 };
        struct reply rp;
        int r = perform(c, &rq, &rp);
        if (r >= 0 && rp.status != 200)
                r = status_errno(rp.status);
        reply_done(&rp);
        return r;
}

int agent_wait_ready(struct agent_client *c, int timeout_ms) {
        int64_t start = now_ms();
        /* A restored guest answers a few ms after it runs: start with short steps (an attempt
         * costs a local connect), doubling to 1 s for a guest that is still booting. */
        int delay = 10;
        char last[CURL_ERROR_SIZE] = "no answer yet";
        for (;;) {
                if (interrupted())
                        return log_error_errno(-ECANCELED, "Interrupted while waiting for the agent at %s", c->address);
                struct request rq = { .method = "GET", .path = "/", .out_fd = -1, .timeout_ms = 3000 };
                struct reply rp;
                int r = perform(c, &rq, &rp);
                if (r >= 0 && rp.status == 200) {
                        reply_done(&rp);
                        return 0;
                }
                if (r == -ECANCELED) {
                        reply_done(&rp);
                        continue;   /* reported above on the next turn */
                }
                if (r < 0)
                        snprintf(last, sizeof last, "%s", rp.errbuf[0] ? rp.errbuf : strerror(-r));
                else
                        snprintf(last, sizeof last, "HTTP %ld", rp.status);
                log_debug("agent at %s: not ready after %lld ms (%s)", c->address, (long long)(now_ms() - start), last);
                reply_done(&rp);
                int64_t left = start + timeout_ms - now_ms();
                if (left <= 0)
                        return log_error_errno(-ETIMEDOUT,
                                               "The agent at http://%s/ did not answer within %d s (last attempt: %s). "
                                               "Is the guest up and the agent running on that port?",
                                               c->address, (timeout_ms + 999) / 1000, last);
                int wait = delay < left ? delay : (int)left;
                for (int slept = 0; slept < wait && !interrupted(); slept += 50)
                        sleep_ms(wait - slept < 50 ? wait - slept : 50);
                delay = delay * 2 > 1000 ? 1000 : delay * 2;
        }
}

int agent_info(struct agent_client *c, struct agent_info *ret) {
        memset(ret, 0, sizeof *ret);
        struct request rq = { .method = "GET", .path = "/", .out_fd = -1, .timeout_ms = c->timeout_ms };
        json_object *j = NULL;
        int r = call_json(c, &rq, &j);
        if (r < 0)
                return r;
        if ((r = get_string(c, "/", j, "message", false, &ret->message)) < 0 ||
            (r = get_string(c, "/", j, "version", true, &ret->version)) < 0 ||
            (r = get_string(c, "/", j, "agent", false, &ret->agent)) < 0)
                goto out;
        json_object *f;
        if (json_object_object_get_ex(j, "features", &f) && json_object_is_type(f, json_type_array))
                for (size_t i = 0; i < json_object_array_length(f); i++) {
                        json_object *e = json_object_array_get_idx(f, i);
                        if (json_object_is_type(e, json_type_string) &&
                            strv_extend(&ret->features, json_object_get_string(e)) < 0) {
                                r = log_oom();
                                goto out;
                        }
                }
        r = 0;
out:
        json_object_put(j);
        if (r < 0)
                agent_info_done(ret);
        return r;
}

void agent_info_done(struct agent_info *info) {
        free(info->message);
        free(info->version);
        free(info->agent);
        strv_free(info->features);
        memset(info, 0, sizeof *info);
}

void agent_exec_result_done(struct agent_exec_result *r) {
        free(r->out);
        free(r->err);
        free(r->error);
        memset(r, 0, sizeof *r);
        r->exit_code = -1;
}

static int exec_common(struct agent_client *c, const char *path, const char *key, const char *value,
                       const struct agent_exec_opts *opts, struct agent_exec_result *result) {
        static const struct agent_exec_opts none = { 0 };
        if (!opts)
                opts = &none;
        if (result) {
                memset(result, 0, sizeof *result);
                result->exit_code = -1;
        }
        /* The agent enforces the timeout (the client's own is a margin above it), so a
         * command never outlives the call that waits for it, even with the default. */
        int timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : opts->async ? 0 : EXECUTE_DEFAULT_TIMEOUT_MS;
        char timeout[32] = "";
        struct agent_field fields[6];
        size_t n = 0;
        fields[n++] = (struct agent_field){ key, value };
        if (opts->async)
                fields[n++] = (struct agent_field){ "async", "true" };
        if (opts->shell)
                fields[n++] = (struct agent_field){ "shell", "true" };
        if (opts->cwd)
                fields[n++] = (struct agent_field){ "cwd", opts->cwd };
        if (timeout_ms > 0) {
                snprintf(timeout, sizeof timeout, "%.3f", timeout_ms / 1000.0);
                fields[n++] = (struct agent_field){ "timeout", timeout };
        }
        fields[n] = (struct agent_field){ NULL, NULL };
        _cleanup_free_ char *what = strdup_printf("POST %s '%.200s'", path, value);
        if (!what)
                return log_oom();
        struct request rq = { .method = "POST", .path = path, .fields = fields, .out_fd = -1, .what = what,
                              .timeout_ms = opts->async ? c->timeout_ms : timeout_ms + 30000 };
        json_object *j = NULL;
        int r = call_json(c, &rq, &j);
        if (r < 0)
                return r;
        json_object *v;
        int exit_code = -1;
        bool has_exit_code = false, timed_out = false;
        if (json_object_object_get_ex(j, "exit_code", &v) && json_object_is_type(v, json_type_int)) {
                exit_code = json_object_get_int(v);
                has_exit_code = true;
        }
        if (json_object_object_get_ex(j, "timed_out", &v) && json_object_is_type(v, json_type_boolean))
                timed_out = json_object_get_boolean(v);
        _cleanup_free_ char *error = NULL;
        if ((r = get_string(c, path, j, "error", false, &error)) < 0)
                goto out;
        /* Agents before "timed_out" answered a timeout with an error and a null exit_code. */
        if (!opts->async && error && !has_exit_code)
                timed_out = true;
        if (result) {
                result->exit_code = exit_code;
                result->timed_out = timed_out;
                if ((r = get_string(c, path, j, "stdout", false, &result->out)) < 0 ||
                    (r = get_string(c, path, j, "stderr", false, &result->err)) < 0)
                        goto out;
                if (error && !(result->error = strdup(error))) {
                        r = log_oom();
                        goto out;
                }
        }
        if (timed_out && !opts->async) {
                char secs[32];
                if (timeout_ms % 1000 == 0)
                        snprintf(secs, sizeof secs, "%d s", timeout_ms / 1000);
                else
                        snprintf(secs, sizeof secs, "%.1f s", timeout_ms / 1000.0);
                r = log_error_errno(-ETIMEDOUT, "Agent %s: %s timed out after %s; the agent killed it", c->address, what,
                                    secs);
                json_object_put(j);
                return r;   /* the result keeps what the command printed before */
        }
        r = 0;
out:
        json_object_put(j);
        if (r < 0 && result)
                agent_exec_result_done(result);
        return r;
}

int agent_execute(struct agent_client *c, const char *command, const struct agent_exec_opts *opts,
                  struct agent_exec_result *result) {
        return exec_common(c, "/execute", "command", command, opts, result);
}

int agent_execpy(struct agent_client *c, const char *guest_path, const struct agent_exec_opts *opts,
                 struct agent_exec_result *result) {
        return exec_common(c, "/execpy", "filepath", guest_path, opts, result);
}

int agent_execute_nowait(struct agent_client *c, const char *command, bool async, int timeout_ms) {
        struct agent_field fields[] = { { "command", command }, { async ? "async" : NULL, "true" }, { NULL, NULL } };
        struct request rq = { .method = "POST", .path = "/execute", .fields = fields, .out_fd = -1,
                              .timeout_ms = timeout_ms > 0 ? timeout_ms : 5000 };
        struct reply rp;
        int r = perform(c, &rq, &rp);
        if ((r == -ETIMEDOUT || r == -ECONNRESET) && rp.connected) {
                /* The request went out; the guest dropped the link as expected. */
                log_debug("Agent %s: connection dropped after '%s' (%s), as expected", c->address, command, rp.errbuf);
                reply_done(&rp);
                return 1;
        }
        if (r < 0) {
                r = log_error_errno(r, "Agent %s: POST /execute failed: %s", c->address,
                                    rp.errbuf[0] ? rp.errbuf : strerror(-r));
        } else if (rp.status != 200) {
                _cleanup_free_ char *msg = answer_message(&rp);
                r = log_error_errno(status_errno(rp.status), "Agent %s: POST /execute failed: HTTP %ld: %s", c->address,
                                    rp.status, strempty(msg));
        }
        reply_done(&rp);
        return r;
}

static const char *base_name(const char *p) {
        const char *b = strrchr(p, '/');
        return b ? b + 1 : p;
}

int agent_upload(struct agent_client *c, const char *local_path, const char *guest_path) {
        if (access(local_path, R_OK) < 0)
                return log_error_errno(-errno, "Cannot upload %s to the guest: %m", local_path);
        struct agent_field fields[] = { { "filepath", guest_path }, { NULL, NULL } };
        struct request rq = { .method = "POST", .path = "/store", .fields = fields, .file_field = "file",
                              .file_path = local_path, .file_name = base_name(local_path), .out_fd = -1 };
        struct reply rp;
        int r = call(c, &rq, &rp);
        reply_done(&rp);
        return r;
}

int agent_upload_buffer(struct agent_client *c, const void *data, size_t len, const char *guest_path) {
        struct agent_field fields[] = { { "filepath", guest_path }, { NULL, NULL } };
        struct request rq = { .method = "POST", .path = "/store", .fields = fields, .file_field = "file",
                              .file_data = data, .file_len = len, .file_name = "data", .out_fd = -1 };
        struct reply rp;
        int r = call(c, &rq, &rp);
        reply_done(&rp);
        return r;
}

int agent_extract(struct agent_client *c, const char *local_zip, const char *guest_dir) {
        if (access(local_zip, R_OK) < 0)
                return log_error_errno(-errno, "Cannot upload %s to the guest: %m", local_zip);
        struct agent_field fields[] = { { "dirpath", guest_dir }, { NULL, NULL } };
        struct request rq = { .method = "POST", .path = "/extract", .fields = fields, .file_field = "zipfile",
                              .file_path = local_zip, .file_name = base_name(local_zip), .out_fd = -1 };
        struct reply rp;
        int r = call(c, &rq, &rp);
        reply_done(&rp);
        return r;
}

int agent_retrieve(struct agent_client *c, const char *guest_path, const char *local_path) {
        /* A new name beside local_path (never someone's LOCAL.part), renamed over it at the end. */
        _cleanup_free_ char *tmp = strdup_printf("%s.part-XXXXXX", local_path);
        if (!tmp)
                return log_oom();
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "Cannot create a file beside %s: %m", local_path);
        (void)fchmod(fd, 0644);   /* what open(..., 0644) gave before; mkostemp makes 0600 */
        struct agent_field fields[] = { { "filepath", guest_path }, { NULL, NULL } };
        struct request rq = { .method = "POST", .path = "/retrieve", .fields = fields, .out_fd = fd };
        struct reply rp;
        int r = perform(c, &rq, &rp);
        if (close(fd) < 0 && r >= 0)
                r = log_error_errno(-errno, "Cannot write %s: %m", tmp);
        if (r == -ECANCELED)
                log_error_errno(r, "Agent %s: retrieving %s interrupted", c->address, guest_path);
        else if (r < 0)
                log_error_errno(r, "Agent %s: retrieving %s failed: %s", c->address, guest_path,
                                rp.errbuf[0] ? rp.errbuf : strerror(-r));
        else if (rp.status == 404)
                r = log_error_errno(-ENOENT, "Agent %s: %s does not exist in the guest", c->address, guest_path);
        else if (rp.status != 200) {
                _cleanup_free_ char *msg = answer_message(&rp);
                r = log_error_errno(status_errno(rp.status), "Agent %s: retrieving %s failed: HTTP %ld: %s", c->address,
                                    guest_path, rp.status, strempty(msg));
        } else if (rename(tmp, local_path) < 0)
                r = log_error_errno(-errno, "Cannot rename %s to %s: %m", tmp, local_path);
        if (r < 0)
                unlink(tmp);
        reply_done(&rp);
        return r;
}

int agent_mkdir(struct agent_client *c, const char *guest_path) {
        struct agent_field fields[] = { { "dirpath", guest_path }, { NULL, NULL } };
        return simple(c, "POST", "/mkdir", fields);
}

int agent_remove(struct agent_client *c, const char *guest_path) {
        struct agent_field fields[] = { { "path", guest_path }, { NULL, NULL } };
        return simple(c, "POST", "/remove", fields);
}

int agent_mkdtemp(struct agent_client *c, const char *dir, char **ret) {
        /* GET without fields, as Cuckoo3 calls it; POST when a directory is given. */
        struct agent_field fields[] = { { "dirpath", dir }, { NULL, NULL } };
        return simple_string(c, dir ? "POST" : "GET", "/mkdtemp", dir ? fields : NULL, "dirpath", ret);
}

int agent_mktemp(struct agent_client *c, const char *dir, char **ret) {
        struct agent_field fields[] = { { "dirpath", dir }, { NULL, NULL } };
        return simple_string(c, "POST", "/mktemp", dir ? fields : NULL, "filepath", ret);
}

int agent_environ(struct agent_client *c, char ***ret) {
        struct request rq = { .method = "GET", .path = "/environ", .out_fd = -1, .timeout_ms = c->timeout_ms };
        json_object *j = NULL;
        int r = call_json(c, &rq, &j);
        if (r < 0)
                return r;
        json_object *env;
        if (!json_object_object_get_ex(j, "environ", &env) || !json_object_is_type(env, json_type_object)) {
                json_object_put(j);
                return log_error_errno(-EBADMSG, "Agent %s: the answer of /environ has no \"environ\" object", c->address);
        }
        char **l = NULL;
        json_object_object_foreach(env, key, val) {
                r = strv_extendf(&l, "%s=%s", key, json_object_is_type(val, json_type_string) ? json_object_get_string(val) : "");
                if (r < 0)
                        break;
        }
        json_object_put(j);
        if (r < 0) {
                strv_free(l);
                return log_oom();
        }
        if (!l && !(l = calloc(1, sizeof *l)))
                return log_oom();
        *ret = l;
        return 0;
}

int agent_getenv(struct agent_client *c, const char *name, char **ret) {
        _cleanup_strv_free_ char **env = NULL;
        int r = agent_environ(c, &env);
        if (r < 0)
                return r;
        size_t n = strlen(name);
        const char *found = NULL;
        STRV_FOREACH(e, env)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
                        found = *e + n + 1;
                        break;
                }
        if (!found)
                STRV_FOREACH(e, env)
                        if (strncasecmp(*e, name, n) == 0 && (*e)[n] == '=') {
                                found = *e + n + 1;
                                break;
                        }
        if (!found)
                return -ENOENT;
        *ret = strdup(found);
        return *ret ? 0 : log_oom();
}

int agent_system(struct agent_client *c, char **ret) { return simple_string(c, "GET", "/system", NULL, "system", ret); }
int agent_path(struct agent_client *c, char **ret) { return simple_string(c, "GET", "/path", NULL, "filepath", ret); }

int agent_status_get(struct agent_client *c, char **status, char **description) {
        struct request rq = { .method = "GET", .path = "/status", .out_fd = -1, .timeout_ms = c->timeout_ms };
        json_object *j = NULL;
        int r = call_json(c, &rq, &j);
        if (r < 0)
                return r;
        r = get_string(c, "/status", j, "status", false, status);
        if (r >= 0)
                r = get_string(c, "/status", j, "description", false, description);
        json_object_put(j);
        return r;
}

int agent_status_set(struct agent_client *c, const char *status, const char *description) {
        struct agent_field fields[] = { { "status", status }, { description ? "description" : NULL, description },
                                        { NULL, NULL } };
        return simple(c, "POST", "/status", fields);
}

int agent_logs(struct agent_client *c, char **out, char **err) {
        struct request rq = { .method = "GET", .path = "/logs", .out_fd = -1, .timeout_ms = c->timeout_ms };
        json_object *j = NULL;
        int r = call_json(c, &rq, &j);
        if (r < 0)
                return r;
        r = get_string(c, "/logs", j, "stdout", true, out);
        if (r >= 0)
                r = get_string(c, "/logs", j, "stderr", true, err);
        json_object_put(j);
        return r;
}

int agent_pinning(struct agent_client *c, char **ret_ip) {
        char *ip = NULL;
        int r = simple_string(c, "GET", "/pinning", NULL, "client_ip", &ip);
        if (r >= 0 && ret_ip)
                *ret_ip = TAKE_PTR(ip);
        free(ip);
        return r;
}

int agent_kill(struct agent_client *c) { return simple(c, "GET", "/kill", NULL); }
