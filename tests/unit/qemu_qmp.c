/* Unit tests: the QMP client against a fake server on a socketpair. */
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/util.h"
#include "qemu/qmp.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, " \
                 "\"package\": \"Debian\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define CAPS_OK "{\"return\": {}, \"id\": 1}\r\n"

struct pair {
        int client, server;
};

static void make_pair(struct pair *p) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        p->client = sv[0];
        p->server = sv[1];
}

/*
 * The fake QEMU: a thread that plays a script. A step with "expect" first reads one
 * command line from the client and checks that it contains expect; then it writes "send"
 * (in pieces of "chunk" bytes with a pause between them, or at once when chunk is 0).
 * A step with close set closes the server end.
 */
struct step {
        const char *expect;
        const char *send;
        size_t chunk;
        bool close;
        int delay_ms;         /* pause before sending */
};

struct server {
        int fd;
        const struct step *steps;
        pthread_t thread;
        char bad[512];        /* first script mismatch, "" if none */
        char *received;       /* every line the client sent */
};

static bool read_line(int fd, char *buf, size_t size) {
        size_t n = 0;
        while (n + 1 < size) {
                char ch;
                ssize_t k = read(fd, &ch, 1);
                if (k <= 0)
                        return false;
                buf[n++] = ch;
                if (ch == '\n')
                        break;
        }
        buf[n] = 0;
        return true;
}

static void *server_thread(void *arg) {
        struct server *s = arg;
        for (const struct step *st = s->steps; st->expect || st->send || st->close; st++) {
                if (st->expect) {
                        char line[4096];
                        if (!read_line(s->fd, line, sizeof line)) {
                                snprintf(s->bad, sizeof s->bad, "client closed before sending '%s'", st->expect);
                                break;
                        }
                        char *n = strdup_printf("%s%s", s->received, line);
                        free(s->received);
                        s->received = n;
                        if (!strstr(line, st->expect)) {
                                snprintf(s->bad, sizeof s->bad, "expected '%s' in '%.200s'", st->expect, line);
                                break;
                        }
                }
                if (st->delay_ms)
                        usleep((useconds_t)st->delay_ms * 1000);
                if (st->send) {
                        size_t l = strlen(st->send), chunk = st->chunk ? st->chunk : l;
                        for (size_t i = 0; i < l; i += chunk) {
                                size_t k = l - i < chunk ? l - i : chunk;
                                if (send(s->fd, st->send + i, k, MSG_NOSIGNAL) != (ssize_t)k)
                                        break;
                                if (st->chunk)
                                        usleep(200);
                        }
                }
                if (st->close) {
                        close(s->fd);
                        s->fd = -1;
                }
        }
        return NULL;
}

static void server_start(struct server *s, int fd, const struct step *steps) {
        memset(s, 0, sizeof *s);
        s->fd = fd;
        s->steps = steps;
        s->received = strdup("");
        assert_int_equal(pthread_create(&s->thread, NULL, server_thread, s), 0);
}

/* Join the script and fail on any mismatch; returns what the client sent (caller frees). */
static char *server_finish(struct server *s) {
        if (s->fd >= 0)
                shutdown(s->fd, SHUT_RDWR);
        pthread_join(s->thread, NULL);
        if (s->fd >= 0)
                close(s->fd);
        if (s->bad[0])
                fail_msg("fake server: %s", s->bad);
        return s->received;
}

#define HELLO { NULL, GREETING, 0, false }, { "qmp_capabilities", CAPS_OK, 0, false }

static struct qmp *open_client(struct pair *p) {
        struct qmp *q = NULL;
        assert_int_equal(qmp_open_fd(p->client, 5000, &q), 0);
        return q;
}

static void test_handshake_and_execute(void **state) {
        (void)state;
        struct pair p;
        make_pair(&p);
        static const struct step script[] = {
                HELLO,
                { "\"query-status\"", "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 2}\r\n" },
                { "\"eject\"", "{\"return\": {}, \"id\": 3}\r\n" },
                { 0 },
        };
        struct server srv;
        server_start(&srv, p.server, script);
        struct qmp *q = open_client(&p);
        struct qemu_version v = qmp_qemu_version(q);
        assert_int_equal(v.major, 7);
        assert_int_equal(v.minor, 2);
        assert_int_equal(v.micro, 22);
        struct json_object *ret = NULL;
        assert_int_equal(qmp_execute(q, "query-status", NULL, 2000, &ret), 0);
        struct json_object *st;
        assert_true(json_object_object_get_ex(ret, "status", &st));
        assert_string_equal(json_object_get_string(st), "running");
        json_object_put(ret);
        struct json_object *args = json_object_new_object();
        json_object_object_add(args, "device", json_object_new_string("cdrom"));
        assert_int_equal(qmp_execute(q, "eject", args, 2000, NULL), 0);
        qmp_free(q);
        char *sent = server_finish(&srv);
        assert_string_equal(sent, "{\"execute\":\"qmp_capabilities\",\"id\":1}\n"
                                  "{\"execute\":\"query-status\",\"id\":2}\n"
                                  "{\"execute\":\"eject\",\"arguments\":{\"device\":\"cdrom\"},\"id\":3}\n");
        free(sent);
}

static void test_split_reads(void **state) {
        (void)state;
        /* 1, 3 and 7 bytes at a time: every object arrives over many reads, and pieces of
         * two objects share a read. A string holding braces and quotes must not confuse it. */
        static const size_t chunks[] = { 1, 3, 7 };
        for (size_t c = 0; c < ELEMENTSOF(chunks); c++) {
                struct pair p;
                make_pair(&p);
                const struct step script[] = {
                        { NULL, GREETING, chunks[c] },
                        { "qmp_capabilities", CAPS_OK, chunks[c] },
                        { "\"x\"",
                          "{\"event\": \"STOP\", \"data\": {}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"
                          "{\"return\": {\"a\": \"x\\\"}{y\"}, \"id\": 2}\r\n",
                          chunks[c] },
                        { 0 },
                };
                struct server srv;
                server_start(&srv, p.server, script);
                struct qmp *q = open_client(&p);
                struct json_object *ret = NULL;
                assert_int_equal(qmp_execute(q, "x", NULL, 5000, &ret), 0);
                struct json_object *a;
                assert_true(json_object_object_get_ex(ret, "a", &a));
                assert_string_equal(json_object_get_string(a), "x\"}{y");
                json_object_put(ret);
                assert_int_equal(qmp_wait_event(q, "STOP", 0, NULL), 0);
                qmp_free(q);
                free(server_finish(&srv));
        }
}

static const char *event_name(struct json_object *e) {
        struct json_object *n;
        return json_object_object_get_ex(e, "event", &n) ? json_object_get_string(n) : NULL;
}

static void test_many_objects_one_read(void **state) {
        (void)state;
        struct pair p;
        make_pair(&p);
        static const struct step script[] = {
                HELLO,
                { "\"x\"", "{\"event\": \"RESUME\"}{\"event\": \"STOP\"}\n{\"event\": \"MIGRATION\", \"data\": "
                           "{\"status\": \"completed\"}}{\"return\": 42, \"id\": 2}{\"event\": \"SHUTDOWN\"}" },
                { 0 },
        };
        struct server srv;
        server_start(&srv, p.server, script);
        struct qmp *q = open_client(&p);
        struct json_object *ret = NULL;
        assert_int_equal(qmp_execute(q, "x", NULL, 2000, &ret), 0);
        assert_int_equal(json_object_get_int(ret), 42);
        json_object_put(ret);
        /* By name, out of order, then the rest oldest first. */
        struct json_object *e = qmp_pop_event(q, "MIGRATION");
        assert_non_null(e);
        json_object_put(e);
        assert_null(qmp_pop_event(q, "MIGRATION"));
        e = qmp_pop_event(q, NULL);
        assert_string_equal(event_name(e), "RESUME");
        json_object_put(e);
        e = qmp_pop_event(q, NULL);
        assert_string_equal(event_name(e), "STOP");
        json_object_put(e);
        /* SHUTDOWN came in the same read as the reply and is queued too. */
        assert_int_equal(qmp_wait_event(q, "SHUTDOWN", 0, NULL), 0);
        assert_null(qmp_pop_event(q, NULL));
        qmp_free(q);
        free(server_finish(&srv));
}

static void test_events_interleaved_with_replies(void **state) {
        (void)state;
        struct pair p;
        make_pair(&p);
        /* A stale reply (id 1 again), events, then ours; then the next command's reply. */
        static const struct step script[] = {
                HELLO,
                { "\"x\"", "{\"event\": \"A\"}\n{\"return\": \"stale\", \"id\": 1}\n{\"event\": \"B\"}\n"
                           "{\"return\": \"mine\", \"id\": 2}\n{\"event\": \"C\"}\n" },
                { "\"y\"", "{\"event\": \"D\"}\n{\"return\": \"next\", \"id\": 3}\n" },
                { 0 },
        };
        struct server srv;
        server_start(&srv, p.server, script);
        struct qmp *q = open_client(&p);
        struct json_object *ret = NULL;
        assert_int_equal(qmp_execute(q, "x", NULL, 2000, &ret), 0);
        assert_string_equal(json_object_get_string(ret), "mine");
        json_object_put(ret);
        assert_int_equal(qmp_execute(q, "y", NULL, 2000, &ret), 0);
        assert_string_equal(json_object_get_string(ret), "next");
        json_object_put(ret);
        struct json_object *e = NULL;
        assert_int_equal(qmp_wait_event(q, "C", 0, &e), 0);
        assert_string_equal(event_name(e), "C");
        json_object_put(e);
        assert_int_equal(qmp_wait_event(q, "A", 0, NULL), 0);
        assert_int_equal(qmp_wait_event(q, "B", 0, NULL), 0);
        assert_int_equal(qmp_wait_event(q, "D", 0, NULL), 0);
        qmp_free(q);
        free(server_finish(&srv));
}

static void test_error_reply(void **state) {
        (void)state;
        struct pair p;
        make_pair(&p);
        static const struct step script[] = {
                HELLO,
                { "\"eject\"", "{\"id\": 2, \"error\": {\"class\": \"GenericError\", \"desc\": \"Device 'x' not found\"}}" },
                /* An error without id (QEMU could not parse the command) belongs to the one in flight. */
                { "\"x\"", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}" },
                { "\"y\"", "{\"return\": {}, \"id\": 4}" },
                { 0 },
        };
        struct server srv;
        server_start(&srv, p.server, script);
        struct qmp *q = open_client(&p);
        assert_int_equal(qmp_execute(q, "eject", NULL, 2000, NULL), -EREMOTEIO);
        assert_non_null(strstr(qmp_last_error(q), "GenericError: Device 'x' not found"));
        assert_int_equal(qmp_execute(q, "x", NULL, 2000, NULL), -EREMOTEIO);
        assert_non_null(strstr(qmp_last_error(q), "JSON parse error"));
        /* The connection stays usable after an error reply. */
        assert_int_equal(qmp_execute(q, "y", NULL, 2000, NULL), 0);
        qmp_free(q);
        free(server_finish(&srv));
}

static void test_malformed(void **state) {
        (void)state;
        static const char *const bad[] = {
                "{\"return\": }",
                "[1, 2]",
                "nonsense",
                "{\"return\": {}, \"id\": 2}}",
                "\"a string\"",
                "{\"neither\": 1}",
                "null ",
                "{\"return\": \"\xff\xfe\", \"id\": 2}\n]",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct pair p;
                make_pair(&p);
                const struct step script[] = { HELLO, { "\"x\"", bad[i] }, { 0 } };
                struct server srv;
                server_start(&srv, p.server, script);
                struct qmp *q = open_client(&p);
                int r = qmp_execute(q, "x", NULL, 1000, NULL);
                if (r == 0) {
                        /* The reply itself was fine; what follows it in the stream is not. */
                        r = qmp_wait_event(q, NULL, 1000, NULL);
                }
                if (r != -EPROTO)
                        fail_msg("case %zu ('%s'): got %d, expected -EPROTO", i, bad[i], r);
                /* Sticky: the stream cannot be trusted any more. */
                assert_int_equal(qmp_execute(q, "z", NULL, 1000, NULL), -EPROTO);
                assert_int_equal(qmp_wait_event(q, NULL, 100, NULL), -EPROTO);
                qmp_free(q);
                free(server_finish(&srv));
        }
        /* Not QMP at all during the handshake. */
        struct pair p;
        make_pair(&p);
        static const struct step script[] = { { NULL, "SSH-2.0-OpenSSH\r\n" }, { 0 } };
        struct server srv;
        server_start(&srv, p.server, script);
        struct qmp *q = NULL;
        assert_int_equal(qmp_open_fd(p.client, 1000, &q), -EPROTO);
        assert_null(q);
        free(server_finish(&srv));
}

static void test_eof_and_timeout(void **state) {
        (void)state;
        struct pair p;
        make_pair(&p);
        static const struct step script[] = {
                HELLO,
                { "\"x\"", NULL },                           /* never answered */
                { NULL, "{\"event\": \"SHUT", 0, true, 500 }, /* half an object, then EOF */
                { 0 },
        };
        struct server srv;
        server_start(&srv, p.server, script);
        struct qmp *q = open_client(&p);
        assert_int_equal(qmp_execute(q, "x", NULL, 100, NULL), -ETIMEDOUT);
        assert_non_null(strstr(qmp_last_error(q), "did not answer"));
        assert_int_equal(qmp_wait_event(q, "SHUTDOWN", 2000, NULL), -ECONNRESET);
        assert_int_equal(qmp_execute(q, "x", NULL, 1000, NULL), -ECONNRESET);
        qmp_free(q);
        free(server_finish(&srv));

        /* No greeting at all. */
        make_pair(&p);
        static const struct step silent[] = { { 0 } };
        server_start(&srv, p.server, silent);
        q = NULL;
        assert_int_equal(qmp_open_fd(p.client, 100, &q), -ETIMEDOUT);
        free(server_finish(&srv));
}

static void test_poll_and_wait(void **state) {
        (void)state;
        struct pair p;
        make_pair(&p);
        static const struct step script[] = {
                HELLO,
                { "\"stop\"", "{\"return\": {}, \"id\": 2}\n" },
                { NULL, "{\"event\": \"STOP\"}\n", 2 },
                { 0 },
        };
        struct server srv;
        server_start(&srv, p.server, script);
        struct qmp *q = open_client(&p);
        assert_int_equal(qmp_poll(q, 0), 0);
        assert_int_equal(qmp_execute(q, "stop", NULL, 2000, NULL), 0);
        /* The event is still on its way, in 2-byte pieces. */
        struct json_object *e = NULL;
        assert_int_equal(qmp_wait_event(q, "STOP", 5000, &e), 0);
        assert_string_equal(event_name(e), "STOP");
        json_object_put(e);
        assert_int_equal(qmp_wait_event(q, "STOP", 50, NULL), -ETIMEDOUT);
        qmp_free(q);
        free(server_finish(&srv));
}

static void test_interrupted(void **state) {
        (void)state;
        interrupt_install();
        struct pair p;
        make_pair(&p);
        /* The cancelled command used id 2 without sending it. */
        static const struct step script[] = { HELLO, { "\"quit\"", "{\"return\": {}, \"id\": 3}" }, { 0 } };
        struct server srv;
        server_start(&srv, p.server, script);
        struct qmp *q = open_client(&p);
        raise(SIGINT);
        assert_int_equal(qmp_wait_event(q, "SHUTDOWN", 5000, NULL), -ECANCELED);
        assert_int_equal(qmp_execute(q, "quit", NULL, 5000, NULL), -ECANCELED);
        /* Cleanup paths can still talk to QEMU. */
        qmp_set_ignore_interrupt(q, true);
        assert_int_equal(qmp_execute(q, "quit", NULL, 1000, NULL), 0);
        interrupt_reset();
        qmp_free(q);
        free(server_finish(&srv));
}

static void test_garbage_never_crashes(void **state) {
        (void)state;
        /* Deterministic pseudo-random bytes, half of them JSON-ish: errors, never a crash. */
        unsigned seed = 12345;
        static const char alphabet[] = "{}[]\":,0123456789abc \n\\eventreturnid";
        for (int round = 0; round < 200; round++) {
                struct pair p;
                make_pair(&p);
                char buf[256];
                size_t n = 1 + (seed = seed * 1103515245 + 12345) % (sizeof buf - 2);
                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245 + 12345;
                        char ch = round % 2 ? (char)(seed >> 16) : alphabet[(seed >> 16) % (sizeof alphabet - 1)];
                        buf[i] = ch ? ch : ' ';
                }
                buf[n] = 0;
                const struct step script[] = { HELLO, { "\"x\"", buf, 0, true }, { 0 } };
                struct server srv;
                server_start(&srv, p.server, script);
                struct qmp *q = open_client(&p);
                int r = qmp_execute(q, "x", NULL, 2000, NULL);
                assert_true(r == 0 || r == -EPROTO || r == -ECONNRESET || r == -EREMOTEIO);
                qmp_free(q);
                free(server_finish(&srv));
        }
}

static void test_connect_missing_socket(void **state) {
        (void)state;
        struct qmp *q = NULL;
        assert_int_equal(qmp_connect("/nonexistent/dir/qmp.sock", 100, &q), -ENOENT);
        char longpath[200];
        memset(longpath, 'a', sizeof longpath - 1);
        longpath[sizeof longpath - 1] = 0;
        assert_int_equal(qmp_connect(longpath, 100, &q), -ENAMETOOLONG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_handshake_and_execute),
                cmocka_unit_test(test_split_reads),
                cmocka_unit_test(test_many_objects_one_read),
                cmocka_unit_test(test_events_interleaved_with_replies),
                cmocka_unit_test(test_error_reply),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_eof_and_timeout),
                cmocka_unit_test(test_poll_and_wait),
                cmocka_unit_test(test_interrupted),
                cmocka_unit_test(test_garbage_never_crashes),
                cmocka_unit_test(test_connect_missing_socket),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
