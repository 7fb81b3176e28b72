/* QMP client over a unix socket with a streaming json-c parser. */
#include "qemu/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"

#define QMP_MAX_EVENTS 1024

struct qmp {
        int fd;
        struct json_tokener *tok;
        int broken;                   /* sticky negative errno once the stream is unusable */
        bool ignore_interrupt;
        bool greeted;
        struct qemu_version version;
        int64_t next_id;
        int64_t waiting_id;           /* id of the command in flight, 0 when none */
        struct json_object *reply;    /* its reply, once read */
        struct json_object **events;  /* FIFO */
        size_t n_events;
        char error[512];
};

static int64_t deadline_of(int timeout_ms) { return timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms; }

static void set_error(struct qmp *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct qmp *q, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(q->error, sizeof q->error, fmt, ap);
        va_end(ap);
}

static void queue_event(struct qmp *q, struct json_object *o) {
        if (q->n_events >= QMP_MAX_EVENTS) {
                /* Nobody is reading them: drop the oldest rather than grow without bound. */
                json_object_put(q->events[0]);
                memmove(q->events, q->events + 1, (q->n_events - 1) * sizeof *q->events);
                q->n_events--;
        }
        struct json_object **n = realloc(q->events, (q->n_events + 1) * sizeof *n);
        if (!n) {
                json_object_put(o);
                return;
        }
        q->events = n;
        q->events[q->n_events++] = o;
}

static void parse_greeting(struct qmp *q, struct json_object *g) {
        struct json_object *ver, *qemu, *x;
        q->greeted = true;
        if (!json_object_object_get_ex(g, "version", &ver) || !json_object_object_get_ex(ver, "qemu", &qemu))
                return;
        if (json_object_object_get_ex(qemu, "major", &x))
                q->version.major = (unsigned)json_object_get_int(x);
        if (json_object_object_get_ex(qemu, "minor", &x))
                q->version.minor = (unsigned)json_object_get_int(x);
        if (json_object_object_get_ex(qemu, "micro", &x))
                q->version.micro = (unsigned)json_object_get_int(x);
}

/* One complete top-level value from the stream. Takes ownership of o. */
static int handle_object(struct qmp *q, struct json_object *o) {
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                set_error(q, "QMP sent something that is not a JSON object");
                return -EPROTO;
        }
        struct json_object *x;
        if (json_object_object_get_ex(o, "QMP", &x)) {
                parse_greeting(q, x);
                json_object_put(o);
                return 0;
        }
        if (json_object_object_get_ex(o, "event", &x)) {
                queue_event(q, o);
                return 0;
        }
        if (json_object_object_get_ex(o, "return", NULL) || json_object_object_get_ex(o, "error", NULL)) {
                struct json_object *id;
                bool has_id = json_object_object_get_ex(o, "id", &id);
                bool ours = q->waiting_id != 0 && !q->reply &&
                            (has_id ? json_object_is_type(id, json_type_int) && json_object_get_int64(id) == q->waiting_id
                                    /* QEMU omits the id only when it could not parse the command. */
                                    : json_object_object_get_ex(o, "error", NULL));
                if (ours)
                        q->reply = o;
                else {
                        log_debug("qmp: dropping a reply that matches no command in flight");
                        json_object_put(o);
                }
                return 0;
        }
        json_object_put(o);
        set_error(q, "QMP sent an object that is neither a reply nor an event");
        return -EPROTO;
}

/* Feed bytes to the tokener; complete objects are handled, a partial one stays in it. */
static int feed(struct qmp *q, const char *data, size_t len, int *count) {
        size_t off = 0;
        while (off < len) {
                struct json_object *o = json_tokener_parse_ex(q->tok, data + off, (int)(len - off));
                enum json_tokener_error e = json_tokener_get_error(q->tok);
                if (e == json_tokener_continue)
                        return 0;
                if (e != json_tokener_success) {
                        set_error(q, "malformed JSON from QMP: %s", json_tokener_error_desc(e));
                        return -EPROTO;
                }
                size_t used = json_tokener_get_parse_end(q->tok);
                json_tokener_reset(q->tok);
                if (used == 0) {
                        json_object_put(o);
                        set_error(q, "QMP parser made no progress");
                        return -EPROTO;
                }
                off += used;
                /* A successful parse of "null" yields NULL: not a QMP object either. */
                if (!o) {
                        set_error(q, "QMP sent something that is not a JSON object");
                        return -EPROTO;
                }
                int r = handle_object(q, o);
                if (r < 0)
                        return r;
                (*count)++;
        }
        return 0;
}

/* Wait until readable (or deadline), read once, parse. Returns objects handled (>= 0). */
static int read_some(struct qmp *q, int64_t deadline) {
        if (q->broken)
                return q->broken;
        for (;;) {
                if (!q->ignore_interrupt && interrupted())
                        return -ECANCELED;
                int64_t left = deadline == INT64_MAX ? 200 : deadline - now_ms();
                if (left < 0)
                        left = 0;
                /* Short slices so Ctrl-C is noticed promptly. */
                struct pollfd p = { .fd = q->fd, .events = POLLIN };
                int n = poll(&p, 1, (int)(left > 200 ? 200 : left));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0) {
                        if (now_ms() >= deadline)
                                return -ETIMEDOUT;
                        continue;
                }
                char buf[8192];
                ssize_t k = read(q->fd, buf, sizeof buf);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return q->broken = -errno;
                }
                if (k == 0) {
                        set_error(q, "QEMU closed the QMP connection");
                        return q->broken = -ECONNRESET;
                }
                int count = 0;
                int r = feed(q, buf, (size_t)k, &count);
                if (r < 0)
                        return q->broken = r;
                return count;
        }
}

static int qmp_write_all(struct qmp *q, const char *s, size_t len, int64_t deadline) {
        while (len > 0) {
                if (!q->ignore_interrupt && interrupted())
                        return -ECANCELED;
                ssize_t k = send(q->fd, s, len, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return q->broken = (errno == EPIPE ? -ECONNRESET : -errno);
                        int64_t left = deadline - now_ms();
                        if (left <= 0)
                                return -ETIMEDOUT;
                        struct pollfd p = { .fd = q->fd, .events = POLLOUT };
                        poll(&p, 1, (int)(left > 200 ? 200 : left));
                        continue;
                }
                s += k;
                len -= (size_t)k;
        }
        return 0;
}

int qmp_execute(struct qmp *q, const char *command, struct json_object *args, int timeout_ms,
                struct json_object **ret_return) {
        if (q->broken) {
                json_object_put(args);
                return q->broken;
        }
        int64_t deadline = deadline_of(timeout_ms);
        struct json_object *cmd = json_object_new_object();
        int64_t id = ++q->next_id;
        json_object_object_add(cmd, "execute", json_object_new_string(command));
        if (args)
                json_object_object_add(cmd, "arguments", args);
        json_object_object_add(cmd, "id", json_object_new_int64(id));
        _cleanup_free_ char *line = strdup_printf("%s\n", json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN));
        json_object_put(cmd);
        if (!line)
                return -ENOMEM;
        log_debug("qmp -> %.*s", (int)strlen(line) - 1, line);
        q->waiting_id = id;
        q->error[0] = 0;
        int r = qmp_write_all(q, line, strlen(line), deadline);
        while (r >= 0 && !q->reply)
                r = read_some(q, deadline);
        q->waiting_id = 0;
        struct json_object *reply = TAKE_PTR(q->reply);
        if (r < 0) {
                json_object_put(reply);
                if (r == -ETIMEDOUT)
                        set_error(q, "QEMU did not answer '%s' in time", command);
                return r;
        }
        struct json_object *x;
        if (json_object_object_get_ex(reply, "error", &x)) {
                struct json_object *cls, *desc;
                set_error(q, "%s: %s",
                          json_object_object_get_ex(x, "class", &cls) ? json_object_get_string(cls) : "Error",
                          json_object_object_get_ex(x, "desc", &desc) ? json_object_get_string(desc) : "?");
                json_object_put(reply);
                return -EREMOTEIO;
        }
        if (ret_return) {
                json_object_object_get_ex(reply, "return", &x);
                *ret_return = json_object_get(x);
        }
        json_object_put(reply);
        return 0;
}

static struct json_object *take_event(struct qmp *q, const char *name) {
        for (size_t i = 0; i < q->n_events; i++) {
                struct json_object *e = q->events[i], *n;
                if (name && (!json_object_object_get_ex(e, "event", &n) || !streq(json_object_get_string(n), name)))
                        continue;
                memmove(q->events + i, q->events + i + 1, (q->n_events - i - 1) * sizeof *q->events);
                q->n_events--;
                return e;
        }
        return NULL;
}

struct json_object *qmp_pop_event(struct qmp *q, const char *name) { return take_event(q, name); }

int qmp_wait_event(struct qmp *q, const char *name, int timeout_ms, struct json_object **ret) {
        int64_t deadline = deadline_of(timeout_ms);
        for (;;) {
                struct json_object *e = take_event(q, name);
                if (e) {
                        if (ret)
                                *ret = e;
                        else
                                json_object_put(e);
                        return 0;
                }
                int r = read_some(q, deadline);
                if (r < 0)
                        return r;
        }
}

int qmp_poll(struct qmp *q, int timeout_ms) {
        int r = read_some(q, now_ms() + (timeout_ms < 0 ? 0 : timeout_ms));
        return r == -ETIMEDOUT ? 0 : r;
}

int qmp_open_fd(int fd, int timeout_ms, struct qmp **ret) {
        struct qmp *q = calloc(1, sizeof *q);
        if (!q) {
                close(fd);
                return -ENOMEM;
        }
        q->fd = fd;
        q->tok = json_tokener_new();
        if (!q->tok) {
                qmp_free(q);
                return -ENOMEM;
        }
        /* Not JSON_TOKENER_STRICT: strict mode refuses a second object after the first in
         * the same buffer, which is exactly what a QMP stream is. */
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0)
                fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        int64_t deadline = deadline_of(timeout_ms);
        int r = 0;
        while (r >= 0 && !q->greeted)
                r = read_some(q, deadline);
        if (r >= 0) {
                int64_t left = deadline == INT64_MAX ? -1 : deadline - now_ms();
                r = qmp_execute(q, "qmp_capabilities", NULL, deadline == INT64_MAX ? -1 : (int)(left < 0 ? 0 : left),
                                NULL);
        }
        if (r < 0) {
                log_debug("qmp: handshake failed: %s", q->error[0] ? q->error : strerror(-r));
                qmp_free(q);
                return r;
        }
        *ret = q;
        return 0;
}

int qmp_connect(const char *path, int timeout_ms, struct qmp **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return qmp_open_fd(fd, timeout_ms, ret);
}

void qmp_free(struct qmp *q) {
        if (!q)
                return;
        if (q->fd >= 0)
                close(q->fd);
        if (q->tok)
                json_tokener_free(q->tok);
        json_object_put(q->reply);
        for (size_t i = 0; i < q->n_events; i++)
                json_object_put(q->events[i]);
        free(q->events);
        free(q);
}

const char *qmp_last_error(const struct qmp *q) { return q->error[0] ? q->error : "no error"; }
struct qemu_version qmp_qemu_version(const struct qmp *q) { return q->version; }
int qmp_fd(const struct qmp *q) { return q->fd; }
void qmp_set_ignore_interrupt(struct qmp *q, bool ignore) { q->ignore_interrupt = ignore; }
