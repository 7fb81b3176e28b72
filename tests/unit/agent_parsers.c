/* Unit tests of the agent's own parsers: JSON emitter, HTTP head, urlencoded and multipart
 * forms, raw DEFLATE and the zip reader (names, limits, corrupt input). */
#include "test.h"

#include <errno.h>

#include "../../agent/http.h"
#include "../../agent/inflate.h"
#include "../../agent/json.h"
#include "../../agent/multipart.h"
#include "../../agent/zip.h"
#include "core/proc.h"
#include "core/util.h"

/* --- JSON --- */

static void test_json(void **state) {
        (void)state;
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "a", "x\"y\\z\n\t\x01");
        json_kv_int(&j, "n", -42);
        json_key(&j, "list");
        json_begin_array(&j);
        json_string(&j, "1");
        json_int(&j, 2);
        json_begin_object(&j);
        json_end_object(&j);
        json_null(&j);
        json_end_array(&j);
        json_kv_string(&j, "null", NULL);
        json_key(&j, "t");
        json_bool(&j, true);
        json_end_object(&j);
        assert_string_equal(j.out.data,
                            "{\"a\":\"x\\\"y\\\\z\\n\\t\\u0001\",\"n\":-42,\"list\":[\"1\",2,{},null],\"null\":null,\"t\":true}");
        buf_free(&j.out);

        /* Valid UTF-8 passes; invalid bytes, overlongs and surrogates become U+FFFD. */
        struct json k = { 0 };
        json_string(&k, "\xc3\xa4\xe4\xb8\xad\xf0\x9f\x98\x80|\xff|\xc0\xaf|\xed\xa0\x80|\xe4\xb8");
        assert_string_equal(k.out.data, "\"\xc3\xa4\xe4\xb8\xad\xf0\x9f\x98\x80|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\"");
        buf_free(&k.out);
        struct json l = { 0 };
        json_string_len(&l, "a\0b", 3);
        assert_string_equal(l.out.data, "\"a\\u0000b\"");
        buf_free(&l.out);
}

/* --- HTTP head --- */

static int parse(const char *text, struct http_request *req, char **keep) {
        *keep = strdup(text);
        size_t hl = http_head_length(*keep, strlen(*keep));
        if (!hl)
                return -1;
        return http_parse_head(*keep, hl, req);
}

static void test_http_head(void **state) {
        (void)state;
        struct http_request req;
        char *b;
        assert_int_equal(parse("POST /store?x=1&y=%20 HTTP/1.1\r\nHost: a\r\ncontent-length:  12 \r\n"
                               "Content-Type: multipart/form-data; boundary=\"ab cd\"\r\nExpect: 100-Continue\r\n\r\nBODY",
                               &req, &b), 0);
        assert_string_equal(req.method, "POST");
        assert_string_equal(req.path, "/store");
        assert_string_equal(req.query, "x=1&y=%20");
        assert_int_equal(req.version_minor, 1);
        assert_int_equal(req.content_length, 12);
        assert_true(req.expect_continue);
        assert_string_equal(http_header_get(&req, "HOST"), "a");
        assert_null(http_header_get(&req, "Missing"));
        char boundary[100];
        assert_int_equal(http_header_param(http_header_get(&req, "content-type"), "boundary", boundary, sizeof boundary), 5);
        assert_string_equal(boundary, "ab cd");
        assert_true(http_media_type_is(http_header_get(&req, "content-type"), "Multipart/Form-Data"));
        assert_false(http_media_type_is("multipart/form-dataX", "multipart/form-data"));
        free(b);

        /* Bare LF line ends, HTTP/1.0, no body, absolute-form target. */
        assert_int_equal(parse("GET http://10.0.0.1:8000/status HTTP/1.0\nA: b\n\n", &req, &b), 0);
        assert_string_equal(req.path, "/status");
        assert_int_equal(req.content_length, -1);
        assert_false(req.expect_continue);
        free(b);

        static const struct {
                const char *text;
                int status;
        } bad[] = {
                { "GET /\r\n\r\n", 400 },
                { "GET / HTTP/2.0\r\n\r\n", 505 },
                { "GET / FTP/1.0\r\n\r\n", 400 },
                { "G(T / HTTP/1.1\r\n\r\n", 400 },
                { "GET  HTTP/1.1\r\n\r\n", 400 },
                { "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400 },
                { "GET / HTTP/1.1\r\n: empty\r\n\r\n", 400 },
                { "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400 },
                { "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
                { "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400 },
                { "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 413 },
                { "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400 },
                { "GET relative HTTP/1.1\r\n\r\n", 400 },
                { "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400 },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(parse(bad[i].text, &req, &b), bad[i].status);
                free(b);
        }
        /* Same Content-Length twice is fine. */
        assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", &req, &b), 0);
        free(b);

        /* Too many headers. */
        char *many = strdup("GET / HTTP/1.1\r\n");
        for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++) {
                char *t = strdup_printf("%sH%d: v\r\n", many, i);
                free(many);
                many = t;
        }
        char *t = strdup_printf("%s\r\n", many);
        free(many);
        assert_int_equal(parse(t, &req, &b), 431);
        free(b);
        free(t);
        assert_int_equal(http_head_length("GET / HTTP/1.1\r\nA: b\r\n", 23), 0);
        char nul[] = "GET / HTTP/1.1\r\nA: \0b\r\n\r\n";
        assert_int_equal(http_parse_head(nul, sizeof nul - 1, &req), 400);
}

static void test_header_param(void **state) {
        (void)state;
        char out[16];
        assert_int_equal(http_header_param("form-data; name=\"a\\\"b\"; filename=f.txt", "name", out, sizeof out), 3);
        assert_string_equal(out, "a\"b");
        assert_int_equal(http_header_param("form-data; name=\"a\\\"b\"; filename=f.txt", "filename", out, sizeof out), 5);
        assert_string_equal(out, "f.txt");
        /* "name" must not match inside "filename", nor inside a quoted value. */
        assert_int_equal(http_header_param("form-data; filename=\"x; name=y\"", "name", out, sizeof out), -1);
        assert_int_equal(http_header_param("form-data; name=\"unterminated", "name", out, sizeof out), -1);
        assert_int_equal(http_header_param("x; boundary=0123456789abcdefXYZ", "boundary", out, sizeof out), -1);
        assert_int_equal(http_header_param(NULL, "name", out, sizeof out), -1);
}

static void test_urlencoded(void **state) {
        (void)state;
        struct form f = { 0 };
        const char *s = "command=echo+hi%3B%20ls&&=skipped&flag&x=1&x=2&bad=%zz%4&nul=a%00b";
        assert_int_equal(form_parse_urlencoded(&f, s, strlen(s)), 0);
        assert_string_equal(form_get(&f, "command"), "echo hi; ls");
        assert_true(form_has(&f, "flag"));
        assert_string_equal(form_get(&f, "flag"), "");
        assert_string_equal(form_get(&f, "x"), "2");   /* the last value wins */
        assert_string_equal(form_get(&f, "bad"), "%zz%4");
        assert_null(form_get(&f, "missing"));
        for (size_t i = 0; i < f.n; i++)
                if (strcmp(f.fields[i].name, "nul") == 0)
                        assert_int_equal(f.fields[i].value_len, 3);
        form_free(&f);

        /* Field count limit. */
        char *many = strdup("");
        for (int i = 0; i < FORM_MAX_FIELDS + 1; i++) {
                char *t = strdup_printf("%sf%d=v&", many, i);
                free(many);
                many = t;
        }
        assert_int_equal(form_parse_urlencoded(&f, many, strlen(many)), -E2BIG);
        form_free(&f);
        free(many);
}

/* --- multipart --- */

struct trace {
        struct buf log;
        int fail_on_begin;
};

static int t_begin(void *u, const char *name, const char *filename) {
        struct trace *t = u;
        buf_printf(&t->log, "[begin %s|%s]", name, filename);
        return t->fail_on_begin ? -EIO : 0;
}
static int t_data(void *u, const char *d, size_t n) {
        struct trace *t = u;
        buf_append(&t->log, d, n);
        return 0;
}
static int t_end(void *u) {
        struct trace *t = u;
        buf_puts(&t->log, "[end]");
        return 0;
}
static const struct multipart_callbacks tcb = { t_begin, t_data, t_end };

/* Parse body fed in chunks of `step` bytes; returns feed/finish status and the trace. */
static int mp_run(const char *boundary, const char *body, size_t len, size_t step, char **trace) {
        struct trace t = { 0 };
        struct multipart *m;
        int r = multipart_new(boundary, &tcb, &t, &m);
        if (r < 0)
                return r;
        for (size_t off = 0; off < len && r >= 0; off += step)
                r = multipart_feed(m, body + off, len - off < step ? len - off : step);
        if (r >= 0)
                r = multipart_finish(m);
        multipart_free(m);
        *trace = buf_steal(&t.log);
        return r;
}

static void test_multipart(void **state) {
        (void)state;
        const char body[] = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"filepath\"\r\n\r\n/tmp/a b\r\n"
                            "--XyZ  \r\ncontent-disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n"
                            "Content-Type: application/octet-stream\r\n\r\n\r\n--Xy\r\n-not-a-boundary\r\n\r\n"
                            "--XyZ\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--XyZ--\r\nepilogue";
        const char *expect = "[begin filepath|]/tmp/a b[end][begin file|x.bin]\r\n--Xy\r\n-not-a-boundary\r\n[end]"
                             "[begin empty|][end]";
        for (size_t step = 1; step <= sizeof body; step++) {
                char *trace;
                assert_int_equal(mp_run("XyZ", body, sizeof body - 1, step, &trace), 0);
                assert_string_equal(trace, expect);
                free(trace);
        }
        /* The body may start with the delimiter; LF-only part heads are accepted. */
        const char lf[] = "--b\nContent-Disposition: form-data; name=\"a\"\n\nvalue\r\n--b--";
        char *trace;
        assert_int_equal(mp_run("b", lf, sizeof lf - 1, 3, &trace), 0);
        assert_string_equal(trace, "[begin a|]value[end]");
        free(trace);

        /* Truncations and garbage. */
        const char *bad[] = {
                "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",          /* no close */
                "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n",                 /* head cut */
                "--bX\r\n\r\nv\r\n--b--",                                              /* junk after delimiter */
                "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--b--",  /* not form-data */
                "--b\r\nNo colon here\r\n\r\nv\r\n--b--",
                "no delimiter at all",
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(mp_run("b", bad[i], strlen(bad[i]), 2, &trace), -EBADMSG);
                free(trace);
        }
        /* A part head without its blank line past the cap. */
        size_t n = MULTIPART_MAX_PART_HEAD + 100;
        char *huge = malloc(n + 16);
        memcpy(huge, "--b\r\nX: ", 8);
        memset(huge + 8, 'h', n);
        assert_int_equal(mp_run("b", huge, n + 8, 4096, &trace), -E2BIG);
        free(trace);
        free(huge);
        /* Bad boundaries; callback errors propagate. */
        struct multipart *m;
        assert_int_equal(multipart_new("", &tcb, NULL, &m), -EINVAL);
        char longb[MULTIPART_MAX_BOUNDARY + 2];
        memset(longb, 'b', sizeof longb - 1);
        longb[sizeof longb - 1] = 0;
        assert_int_equal(multipart_new(longb, &tcb, NULL, &m), -EINVAL);
        struct trace t = { .fail_on_begin = 1 };
        assert_int_equal(multipart_new("b", &tcb, &t, &m), 0);
        assert_int_equal(multipart_feed(m, lf, sizeof lf - 1), -EIO);
        assert_int_equal(multipart_feed(m, "x", 1), -EIO);   /* stays failed */
        multipart_free(m);
        buf_free(&t.log);
}

/* --- inflate --- */

struct mem {
        const unsigned char *p;
        size_t len, off;
        struct buf out;
};

static long mem_read(void *u, unsigned char *buf, size_t len) {
        struct mem *m = u;
        size_t n = m->len - m->off < len ? m->len - m->off : len;
        memcpy(buf, m->p + m->off, n);
        m->off += n;
        return (long)n;
}

static int mem_write(void *u, const unsigned char *d, size_t n) {
        struct mem *m = u;
        buf_append(&m->out, d, n);
        return 0;
}

static int inflate_mem(const void *data, size_t len, uint64_t max, struct buf *out) {
        struct mem m = { data, len, 0, { 0 } };
        struct inflate_io io = { mem_read, mem_write, &m };
        uint64_t n = 0;
        int r = inflate_raw(&io, max, &n);
        if (r == 0)
                assert_int_equal(n, m.out.len);
        *out = m.out;
        return r;
}

static void test_inflate(void **state) {
        (void)state;
        struct buf out;
        /* Fixed Huffman "a". */
        assert_int_equal(inflate_mem("\x4b\x04\x00", 3, 100, &out), 0);
        assert_int_equal(out.len, 1);
        assert_memory_equal(out.data, "a", 1);
        buf_free(&out);
        /* Stored block "hello". */
        assert_int_equal(inflate_mem("\x01\x05\x00\xfa\xffhello", 10, 100, &out), 0);
        assert_memory_equal(out.data, "hello", 5);
        buf_free(&out);
        /* Bad stored length complement, reserved block type, truncation, empty input. */
        assert_int_equal(inflate_mem("\x01\x05\x00\xfa\xfehello", 10, 100, &out), -EBADMSG);
        buf_free(&out);
        assert_int_equal(inflate_mem("\x07", 1, 100, &out), -EBADMSG);
        buf_free(&out);
        assert_int_equal(inflate_mem("\x4b", 1, 100, &out), -EBADMSG);
        buf_free(&out);
        assert_int_equal(inflate_mem("", 0, 100, &out), -EBADMSG);
        buf_free(&out);
        /* Output cap. */
        assert_int_equal(inflate_mem("\x01\x05\x00\xfa\xffhello", 10, 4, &out), -EFBIG);
        buf_free(&out);
        /* A back-reference before the start: fixed block, length code 257, distance 1 at position 0. */
        assert_int_equal(inflate_mem("\x03\x02\x00", 3, 100, &out), -EBADMSG);
        buf_free(&out);
}

/* --- zip --- */

static void test_zip_names(void **state) {
        (void)state;
        static const struct {
                const char *raw, *norm;
                bool dir;
        } ok[] = {
                { "a.txt", "a.txt", false },
                { "a/b/c.txt", "a/b/c.txt", false },
                { "a\\b\\c.txt", "a/b/c.txt", false },
                { "./a//b/./c", "a/b/c", false },
                { "dir/", "dir", true },
                { "a..b/..c/d..", "a..b/..c/d..", false },
                { "\xc3\xa4.txt", "\xc3\xa4.txt", false },
        };
        char out[ZIP_MAX_NAME + 1];
        bool dir;
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                assert_int_equal(zip_check_name(ok[i].raw, strlen(ok[i].raw), out, sizeof out, &dir), 0);
                assert_string_equal(out, ok[i].norm);
                assert_int_equal(dir, ok[i].dir);
        }
        static const char *const bad[] = { "", "/", "/etc/passwd", "\\x", "\\\\server\\share\\x", "..", "../x",
                                           "a/../../x", "a/..", "..\\x", "C:x", "C:/x", "c:\\x", "a/b:c", "x:stream",
                                           "...", ". .", ".. /x", "a/\x01b", "./", "." };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(zip_check_name(bad[i], strlen(bad[i]), out, sizeof out, &dir), -EPERM);
}

struct zmem {
        char *data;
        size_t len;
};

static int zread(void *u, uint64_t off, void *buf, size_t len) {
        struct zmem *z = u;
        if (off > z->len || z->len - off < len)
                return -EBADMSG;
        memcpy(buf, z->data + off, len);
        return 0;
}

struct zcheck {
        const char *ref;
        char *name;
        struct buf data;
        int files, dirs;
};

static int zc_dir(void *u, const char *name) {
        struct zcheck *c = u;
        char *p = strdup_printf("%s/%s", c->ref, name);
        assert_true(is_dir(p));
        free(p);
        c->dirs++;
        return 0;
}
static int zc_begin(void *u, const char *name, uint32_t mode) {
        (void)mode;
        struct zcheck *c = u;
        c->name = strdup(name);
        return 0;
}
static int zc_data(void *u, const void *d, size_t n) {
        struct zcheck *c = u;
        buf_append(&c->data, d, n);
        return 0;
}
static int zc_end(void *u, bool ok) {
        struct zcheck *c = u;
        if (ok) {
                char *p = strdup_printf("%s/%s", c->ref, c->name), *s = NULL;
                size_t n = 0;
                assert_int_equal(read_full_file(p, &s, &n), 0);
                assert_int_equal(n, c->data.len);
                assert_true(n == 0 || memcmp(s, c->data.data, n) == 0);
                free(s);
                free(p);
                c->files++;
        }
        free(c->name);
        buf_free(&c->data);
        return 0;
}

static int extract_mem(const char *path, const char *ref, uint64_t max_total, uint32_t max_entries, struct zcheck *c,
                       char *err, size_t errsz) {
        struct zmem z = { 0 };
        assert_int_equal(read_full_file(path, &z.data, &z.len), 0);
        struct zip_source src = { zread, z.len, &z };
        *c = (struct zcheck){ .ref = ref };
        struct zip_sink sink = { zc_dir, zc_begin, zc_data, zc_end, c };
        struct zip_limits lim = { max_total, max_entries, false };
        int r = zip_extract(&src, &sink, &lim, err, errsz);
        free(z.data);
        return r;
}

static void test_zip_extract(void **state) {
        (void)state;
        char *d = test_tmpdir();
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        char *script = strdup_printf("%s/tests/fixtures/agent-zips.py", root ? root : ".");
        char *argv[] = { "python3", script, d, NULL };
        assert_int_equal(proc_run(argv, NULL, NULL, NULL), 0);
        char *good = strdup_printf("%s/good.zip", d), *ref = strdup_printf("%s/ref", d);
        struct zcheck c;
        char err[256];
        assert_int_equal(extract_mem(good, ref, UINT64_C(1) << 32, 1000, &c, err, sizeof err), 0);
        assert_int_equal(c.files, 7);
        assert_int_equal(c.dirs, 1);
        /* Limits are checked before anything is written. */
        assert_int_equal(extract_mem(good, ref, 1000, 1000, &c, err, sizeof err), -EFBIG);
        assert_int_equal(c.files, 0);
        assert_non_null(strstr(err, "more than"));
        assert_int_equal(extract_mem(good, ref, UINT64_C(1) << 32, 3, &c, err, sizeof err), -EFBIG);
        for (int i = 0; i < 9; i++) {
                char *evil = strdup_printf("%s/evil-%d.zip", d, i);
                assert_int_equal(extract_mem(evil, ref, UINT64_C(1) << 32, 1000, &c, err, sizeof err), -EPERM);
                assert_int_equal(c.files, 0);
                assert_non_null(strstr(err, "unsafe"));
                free(evil);
        }
        char *bomb = strdup_printf("%s/bomb.zip", d), *corrupt = strdup_printf("%s/corrupt.zip", d);
        assert_int_equal(extract_mem(bomb, ref, UINT64_C(1) << 32, 1000, &c, err, sizeof err), -EBADMSG);
        assert_int_equal(extract_mem(corrupt, ref, UINT64_C(1) << 32, 1000, &c, err, sizeof err), -EBADMSG);
        /* Every truncation of the archive fails cleanly. */
        struct zmem z = { 0 };
        assert_int_equal(read_full_file(good, &z.data, &z.len), 0);
        size_t full = z.len;
        for (size_t cut = 0; cut < full; cut += 997) {
                z.len = cut;
                struct zip_source src = { zread, z.len, &z };
                struct zip_sink sink = { 0 };
                struct zip_limits lim = { UINT64_C(1) << 32, 1000, false };
                assert_true(zip_extract(&src, &sink, &lim, err, sizeof err) < 0);
        }
        free(z.data);
        free(bomb);
        free(corrupt);
        free(good);
        free(ref);
        free(script);
        rm_rf(d);
        free(d);
}

/* Names that cannot all be made are refused before the sink sees any entry, naming one. */
static void test_zip_clashes(void **state) {
        (void)state;
        char *d = test_tmpdir();
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        char *script = strdup_printf("%s/tests/fixtures/agent-zips.py", root ? root : ".");
        char *argv[] = { "python3", script, d, NULL };
        assert_int_equal(proc_run(argv, NULL, NULL, NULL), 0);
        char err[512];
        struct zcheck c;
        static const struct {
                const char *zip, *names;
        } clashes[] = {
                { "clash-0.zip", "'lib/x.py' is inside 'lib'" },   /* issue 10 */
                { "clash-1.zip", "'lib/x.py' is inside 'lib'" },
                { "clash-2.zip", "'lib' is both a file and a directory" },
                { "clash-3.zip", "duplicate zip entry 'b.txt'" },
                { "clash-4.zip", "'x/y/z/w.txt' is inside 'x/y/z'" },
                { "clash-5.zip", "'lib/y' is inside 'lib'" },
        };
        for (size_t i = 0; i < ELEMENTSOF(clashes); i++) {
                char *zip = strdup_printf("%s/%s", d, clashes[i].zip);
                for (int win = 0; win < 2; win++) {
                        struct zmem z = { 0 };
                        assert_int_equal(read_full_file(zip, &z.data, &z.len), 0);
                        struct zip_source src = { zread, z.len, &z };
                        struct zip_limits lim = { UINT64_C(1) << 32, 1000, win };
                        c = (struct zcheck){ .ref = d };
                        struct zip_sink sink = { zc_dir, zc_begin, zc_data, zc_end, &c };
                        assert_int_equal(zip_extract(&src, &sink, &lim, err, sizeof err), -EEXIST);
                        if (!strstr(err, clashes[i].names))
                                printf("# %s: %s\n", clashes[i].zip, err);
                        assert_non_null(strstr(err, clashes[i].names));
                        assert_int_equal(c.files + c.dirs, 0);
                        free(z.data);
                }
                free(zip);
        }

        /* Path order: a name, then everything under it; "lib/y" before "lib-2/x" and "lib.txt". */
        static const struct {
                const char *zip;
                bool win;
                int r;
                const char *order, *err;
        } cases[] = {
                { "order.zip", false, 0, "Lib/z|lib/y|lib-2/x|lib.txt", NULL },
                { "order.zip", true, 0, "lib/y|Lib/z|lib-2/x|lib.txt", NULL },
                { "dupdir.zip", false, 0, "d/|d/|d/f.txt|e/g/", NULL },
                { "case.zip", false, 0, "README.TXT|Readme.txt", NULL },
                { "case.zip", true, -EEXIST, NULL, "'Readme.txt' and 'README.TXT' are the same file on Windows" },
                { "winname.zip", false, 0, "src/aux.c", NULL },
                { "winname.zip", true, -EPERM, NULL, "'src/aux.c' (a Windows device name)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *zip = strdup_printf("%s/%s", d, cases[i].zip);
                struct zmem z = { 0 };
                assert_int_equal(read_full_file(zip, &z.data, &z.len), 0);
                struct zip_source src = { zread, z.len, &z };
                struct zip_limits lim = { UINT64_C(1) << 32, 1000, cases[i].win };
                struct zip *zp = NULL;
                assert_int_equal(zip_open(&src, &lim, &zp, err, sizeof err), cases[i].r);
                if (cases[i].r < 0) {
                        assert_null(zp);
                        if (!strstr(err, cases[i].err))
                                printf("# %s: %s\n", cases[i].zip, err);
                        assert_non_null(strstr(err, cases[i].err));
                } else {
                        char *order = strdup("");
                        for (size_t k = 0; k < zip_count(zp); k++) {
                                bool is_dir;
                                const char *name = zip_name(zp, k, &is_dir);
                                char *t = strdup_printf("%s%s%s%s", order, k ? "|" : "", name, is_dir ? "/" : "");
                                free(order);
                                order = t;
                        }
                        assert_string_equal(order, cases[i].order);
                        free(order);
                        zip_close(zp);
                }
                free(z.data);
                free(zip);
        }

        /* zip_name_within: the prefix itself or under it, on whole components. */
        struct zmem z = { 0 };
        char *zip = strdup_printf("%s/order.zip", d);
        assert_int_equal(read_full_file(zip, &z.data, &z.len), 0);
        struct zip_source src = { zread, z.len, &z };
        struct zip *exact = NULL, *folded = NULL;
        struct zip_limits lim = { UINT64_C(1) << 32, 1000, false };
        assert_int_equal(zip_open(&src, &lim, &exact, err, sizeof err), 0);
        lim.windows_names = true;
        assert_int_equal(zip_open(&src, &lim, &folded, err, sizeof err), 0);
        assert_true(zip_name_within(exact, "lib/y", "lib", 3));
        assert_true(zip_name_within(exact, "lib", "lib", 3));
        assert_false(zip_name_within(exact, "lib-2/x", "lib", 3));
        assert_false(zip_name_within(exact, "li", "lib", 3));
        assert_false(zip_name_within(exact, "Lib/z", "lib", 3));
        assert_true(zip_name_within(folded, "Lib/z", "lib", 3));
        assert_true(zip_name_within(exact, "a/b/c", "a/b/c/d", 3));   /* only the first len bytes count */
        zip_close(exact);
        zip_close(folded);
        free(z.data);
        free(zip);

        /* An archive without entries opens (and extracts to nothing). */
        static const char empty[22] = "PK\x05\x06";
        z = (struct zmem){ (char *)empty, sizeof empty };
        src = (struct zip_source){ zread, z.len, &z };
        struct zip *none = NULL;
        assert_int_equal(zip_open(&src, &lim, &none, err, sizeof err), 0);
        assert_int_equal(zip_count(none), 0);
        zip_close(none);

        /* The local headers are checked before anything is written, too. */
        char *good = strdup_printf("%s/good.zip", d);
        assert_int_equal(read_full_file(good, &z.data, &z.len), 0);
        z.data[0] ^= 0x55;   /* the first local header's signature */
        src = (struct zip_source){ zread, z.len, &z };
        c = (struct zcheck){ .ref = d };
        struct zip_sink sink = { zc_dir, zc_begin, zc_data, zc_end, &c };
        lim.windows_names = false;
        assert_int_equal(zip_extract(&src, &sink, &lim, err, sizeof err), -EBADMSG);
        assert_int_equal(c.files + c.dirs, 0);
        assert_non_null(strstr(err, "local header"));
        free(z.data);
        free(good);

        free(script);
        rm_rf(d);
        free(d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_http_head),
                cmocka_unit_test(test_header_param),
                cmocka_unit_test(test_urlencoded),
                cmocka_unit_test(test_multipart),
                cmocka_unit_test(test_inflate),
                cmocka_unit_test(test_zip_names),
                cmocka_unit_test(test_zip_extract),
                cmocka_unit_test(test_zip_clashes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
