/* multipart/form-data parser (RFC 7578). Data is scanned for "\r\n--boundary" in a window
 * that keeps only a delimiter's worth of unconsumed bytes, so memory stays fixed. */
#include "multipart.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define WINDOW (64 * 1024)

enum state {
        S_PREAMBLE,     /* looking for the first delimiter */
        S_AFTER_DELIM,  /* right after a delimiter: "--" (end) or transport padding + CRLF */
        S_HEADERS,      /* part headers up to the blank line */
        S_DATA,         /* part body up to the next delimiter */
        S_EPILOGUE,     /* after the close delimiter: ignored */
        S_ERROR,
};

struct multipart {
        const struct multipart_callbacks *cb;
        void *userdata;
        enum state state;
        int error;
        char delim[MULTIPART_MAX_BOUNDARY + 5];   /* "\r\n--" + boundary */
        size_t delim_len;
        char *buf;           /* WINDOW + delimiter bytes */
        size_t len;
        size_t head_len;     /* bytes of part headers accumulated in S_HEADERS */
};

int multipart_new(const char *boundary, const struct multipart_callbacks *cb, void *userdata,
                  struct multipart **ret) {
        size_t bl = strlen(boundary);
        if (bl == 0 || bl > MULTIPART_MAX_BOUNDARY)
                return -EINVAL;
        struct multipart *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->buf = malloc(WINDOW + sizeof m->delim);
        if (!m->buf) {
                free(m);
                return -ENOMEM;
        }
        memcpy(m->delim, "\r\n--", 4);
        memcpy(m->delim + 4, boundary, bl);
        m->delim_len = bl + 4;
        m->cb = cb;
        m->userdata = userdata;
        /* The body may begin with the delimiter itself (no preamble): pretend a CRLF came
         * first so one search finds both. */
        memcpy(m->buf, "\r\n", 2);
        m->len = 2;
        m->state = S_PREAMBLE;
        *ret = m;
        return 0;
}

void multipart_free(struct multipart *m) {
        if (!m)
                return;
        free(m->buf);
        free(m);
}

static void consume(struct multipart *m, size_t n) {
        memmove(m->buf, m->buf + n, m->len - n);
        m->len -= n;
}

static int fail(struct multipart *m, int r) {
        m->state = S_ERROR;
        m->error = r;
        return r;
}

/* Find the delimiter in the window; returns its offset or -1. */
static long find_delim(const struct multipart *m) {
        if (m->len < m->delim_len)
                return -1;
        const char *p = m->buf, *end = m->buf + m->len - m->delim_len + 1;
        while (p < end) {
                const char *cr = memchr(p, '\r', (size_t)(end - p));
                if (!cr)
                        return -1;
                if (memcmp(cr, m->delim, m->delim_len) == 0)
                        return cr - m->buf;
                p = cr + 1;
        }
        return -1;
}

static int parse_part_head(struct multipart *m, char *head) {
        char name[1024] = "", filename[1024] = "";
        char *save = head;
        for (;;) {
                char *nl = strchr(save, '\n');
                if (nl)
                        *nl = 0;
                size_t l = strlen(save);
                if (l && save[l - 1] == '\r')
                        save[l - 1] = 0;
                if (*save) {
                        char *colon = strchr(save, ':');
                        if (!colon)
                                return -EBADMSG;
                        *colon = 0;
                        if (http_media_type_is(save, "Content-Disposition")) {
                                char *v = colon + 1;
                                while (*v == ' ' || *v == '\t')
                                        v++;
                                if (!http_media_type_is(v, "form-data"))
                                        return -EBADMSG;
                                if (http_header_param(v, "name", name, sizeof name) < 0)
                                        name[0] = 0;
                                if (http_header_param(v, "filename", filename, sizeof filename) < 0)
                                        filename[0] = 0;
                        }
                }
                if (!nl)
                        break;
                save = nl + 1;
        }
        return m->cb->part_begin ? m->cb->part_begin(m->userdata, name, filename) : 0;
}

/* Run the state machine over the window; stops when more input is needed. */
static int process(struct multipart *m) {
        for (;;) {
                switch (m->state) {
                case S_PREAMBLE:
                case S_DATA: {
                        long at = find_delim(m);
                        size_t emit;
                        if (at >= 0)
                                emit = (size_t)at;
                        else if (m->len >= m->delim_len)
                                emit = m->len - (m->delim_len - 1);  /* keep a possible partial delimiter */
                        else
                                emit = 0;
                        if (emit && m->state == S_DATA && m->cb->part_data) {
                                int r = m->cb->part_data(m->userdata, m->buf, emit);
                                if (r < 0)
                                        return fail(m, r);
                        }
                        consume(m, emit);
                        if (at < 0)
                                return 0;
                        consume(m, m->delim_len);
                        if (m->state == S_DATA && m->cb->part_end) {
                                int r = m->cb->part_end(m->userdata);
                                if (r < 0)
                                        return fail(m, r);
                        }
                        m->state = S_AFTER_DELIM;
                        break;
                }
                case S_AFTER_DELIM: {
                        if (m->len >= 2 && m->buf[0] == '-' && m->buf[1] == '-') {
                                m->state = S_EPILOGUE;
                                break;
                        }
                        /* Transport padding (spaces/tabs) then CRLF. */
                        size_t i = 0;
                        while (i < m->len && (m->buf[i] == ' ' || m->buf[i] == '\t'))
                                i++;
                        if (i > 256)
                                return fail(m, -EBADMSG);
                        if (i == m->len || (m->len < 2 && m->buf[0] == '-'))
                                return 0;
                        if (m->buf[i] == '\n') {
                                consume(m, i + 1);
                        } else if (m->buf[i] == '\r') {
                                if (i + 1 == m->len)
                                        return 0;
                                if (m->buf[i + 1] != '\n')
                                        return fail(m, -EBADMSG);
                                consume(m, i + 2);
                        } else {
                                return fail(m, -EBADMSG);
                        }
                        m->state = S_HEADERS;
                        m->head_len = 0;
                        break;
                }
                case S_HEADERS: {
                        /* Headers end with an empty line; the window holds them whole. */
                        size_t end = 0;
                        if (m->len >= 2 && m->buf[0] == '\r' && m->buf[1] == '\n')
                                end = 2;
                        else if (m->len >= 1 && m->buf[0] == '\n')
                                end = 1;
                        size_t hl = end ? 0 : http_head_length(m->buf, m->len);
                        if (!end && !hl) {
                                if (m->len > MULTIPART_MAX_PART_HEAD)
                                        return fail(m, -E2BIG);
                                return 0;
                        }
                        if (hl > MULTIPART_MAX_PART_HEAD)
                                return fail(m, -E2BIG);
                        char head[MULTIPART_MAX_PART_HEAD + 1];
                        size_t n = end ? 0 : hl;
                        memcpy(head, m->buf, n);
                        head[n] = 0;
                        if (memchr(head, 0, n))
                                return fail(m, -EBADMSG);
                        consume(m, end ? end : hl);
                        int r = parse_part_head(m, head);
                        if (r < 0)
                                return fail(m, r);
                        m->state = S_DATA;
                        break;
                }
                case S_EPILOGUE:
                        m->len = 0;
                        return 0;
                case S_ERROR:
                        return m->error;
                }
        }
}

int multipart_feed(struct multipart *m, const char *data, size_t len) {
        if (m->state == S_ERROR)
                return m->error;
        const size_t cap = WINDOW + sizeof m->delim;
        while (len > 0) {
                if (m->state == S_EPILOGUE)
                        return 0;
                size_t n = cap - m->len;
                if (n > len)
                        n = len;
                memcpy(m->buf + m->len, data, n);
                m->len += n;
                data += n;
                len -= n;
                int r = process(m);
                if (r < 0)
                        return r;
        }
        return 0;
}

int multipart_finish(struct multipart *m) {
        if (m->state == S_ERROR)
                return m->error;
        if (m->state != S_EPILOGUE)
                return fail(m, -EBADMSG);
        return 0;
}
