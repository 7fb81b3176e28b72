/* libFuzzer harness: the zip reader (central directory, ZIP64, names and their clashes, limits)
 * and the raw DEFLATE decoder, over memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inflate.h"
#include "zip.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

struct mem {
        const unsigned char *p;
        size_t len, off;
        uint64_t out;
};

static int read_at(void *u, uint64_t off, void *buf, size_t len) {
        struct mem *m = u;
        if (off > m->len || m->len - off < len)
                return -EBADMSG;
        memcpy(buf, m->p + off, len);
        return 0;
}

static long stream_read(void *u, unsigned char *buf, size_t len) {
        struct mem *m = u;
        size_t n = m->len - m->off < len ? m->len - m->off : len;
        memcpy(buf, m->p + m->off, n);
        m->off += n;
        return (long)n;
}

static int count(void *u, const unsigned char *d, size_t n) {
        struct mem *m = u;
        (void)d;
        m->out += n;
        return 0;
}

static int s_dir(void *u, const char *name) {
        (void)u;
        /* Names reaching the sink must be safe: relative, no "..", no '\\' or ':'. */
        if (!*name || name[0] == '/' || strchr(name, '\\') || strchr(name, ':'))
                abort();
        for (const char *c = name; *c;) {
                size_t n = strcspn(c, "/");
                if (n == 0 || (n == 2 && c[0] == '.' && c[1] == '.'))
                        abort();
                c += n;
                if (*c)
                        c++;
        }
        return 0;
}
static int s_begin(void *u, const char *name, uint32_t mode) {
        (void)mode;
        return s_dir(u, name);
}
static int s_data(void *u, const void *d, size_t n) {
        struct mem *m = u;
        (void)d;
        m->out += n;
        return 0;
}
static int s_end(void *u, bool ok) {
        (void)u;
        (void)ok;
        return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        if (size < 1)
                return 0;
        const uint64_t max = 1 << 20;
        if (data[0] & 1) {
                struct mem m = { data + 1, size - 1, 0, 0 };
                struct inflate_io io = { stream_read, count, &m };
                uint64_t n = 0;
                inflate_raw(&io, max, &n);
                if (m.out > max)
                        abort();
                return 0;
        }
        struct mem m = { data + 1, size - 1, 0, 0 };
        struct zip_source src = { read_at, m.len, &m };
        struct zip_sink sink = { s_dir, s_begin, s_data, s_end, &m };
        struct zip_limits lim = { max, 1000, (data[0] & 2) != 0 };
        char err[256];
        struct zip *z;
        if (zip_open(&src, &lim, &z, err, sizeof err) < 0)
                return 0;
        /* An opened archive has no clashes: in path order no name repeats as a file, and no
         * file is followed by something under it. */
        for (size_t i = 0; i + 1 < zip_count(z); i++) {
                bool dir_a, dir_b;
                const char *a = zip_name(z, i, &dir_a), *b = zip_name(z, i + 1, &dir_b);
                s_dir(&m, a);
                if (!dir_a && zip_name_within(z, b, a, strlen(a)))
                        abort();
        }
        zip_unpack(z, &sink, err, sizeof err);
        zip_close(z);
        if (m.out > max)
                abort();
        return 0;
}
