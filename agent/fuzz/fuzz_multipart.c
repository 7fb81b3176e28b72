/* libFuzzer harness: the streaming multipart parser. The same body is parsed whole and in
 * small slices; both must give the same events (a differential check), and nothing may crash. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "multipart.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

struct trace {
        struct buf log;
};

static int on_begin(void *u, const char *name, const char *filename) {
        struct trace *t = u;
        buf_printf(&t->log, "<B %s|%s>", name, filename);
        return 0;
}
static int on_data(void *u, const char *d, size_t n) {
        struct trace *t = u;
        buf_append(&t->log, d, n);
        return 0;
}
static int on_end(void *u) {
        struct trace *t = u;
        buf_puts(&t->log, "<E>");
        return 0;
}
static const struct multipart_callbacks cb = { on_begin, on_data, on_end };

static int run(const char *boundary, const unsigned char *body, size_t len, size_t step, struct trace *t) {
        struct multipart *m;
        int r = multipart_new(boundary, &cb, t, &m);
        if (r < 0)
                return r;
        for (size_t off = 0; off < len && r >= 0; off += step)
                r = multipart_feed(m, (const char *)body + off, len - off < step ? len - off : step);
        if (r >= 0)
                r = multipart_finish(m);
        multipart_free(m);
        return r;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        static const char *const boundaries[] = { "b", "XyZ", "------------------------d74496d66958873e", "\r\n--" };
        if (size < 2)
                return 0;
        const char *boundary = boundaries[data[0] & 3];
        size_t step = (size_t)(data[1] % 64) + 1;
        data += 2;
        size -= 2;
        struct trace whole = { 0 }, sliced = { 0 };
        int a = run(boundary, data, size, size ? size : 1, &whole);
        int b = run(boundary, data, size, step, &sliced);
        /* Successful parses must agree exactly; an error must be an error both ways. */
        if ((a < 0) != (b < 0))
                abort();
        if (a >= 0 && (whole.log.len != sliced.log.len || (whole.log.len && memcmp(whole.log.data, sliced.log.data, whole.log.len) != 0)))
                abort();
        buf_free(&whole.log);
        buf_free(&sliced.log);
        return 0;
}
