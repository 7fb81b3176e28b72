/* Buffer and JSON emitter for the agent's responses (the agent links nothing third-party). */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool buf_reserve(struct buf *b, size_t extra) {
        if (b->oom)
                return false;
        if (extra > SIZE_MAX / 2 - b->len) {
                b->oom = true;
                return false;
        }
        size_t need = b->len + extra + 1;
        if (need <= b->cap)
                return true;
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
                cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) {
                b->oom = true;
                return false;
        }
        b->data = p;
        b->cap = cap;
        return true;
}

void buf_append(struct buf *b, const void *data, size_t len) {
        if (!buf_reserve(b, len))
                return;
        if (len)
                memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = 0;
}

void buf_puts(struct buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_printf(struct buf *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char tmp[256];
        int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n < sizeof tmp) {
                buf_append(b, tmp, (size_t)n);
                return;
        }
        if (!buf_reserve(b, (size_t)n))
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

void buf_consume(struct buf *b, size_t n) {
        if (n >= b->len) {
                b->len = 0;
        } else {
                memmove(b->data, b->data + n, b->len - n);
                b->len -= n;
        }
        if (b->data)
                b->data[b->len] = 0;
}

void buf_free(struct buf *b) {
        free(b->data);
        *b = (struct buf){ 0 };
}

char *buf_steal(struct buf *b) {
        if (b->oom) {
                buf_free(b);
                return NULL;
        }
        char *p = b->data ? b->data : strdup("");
        *b = (struct buf){ 0 };
        return p;
}

char *str_ndup(const char *s, size_t n) {
        size_t l = 0;
        while (l < n && s[l])
                l++;
        char *p = malloc(l + 1);
        if (p) {
                memcpy(p, s, l);
                p[l] = 0;
        }
        return p;
}

size_t utf8_valid_len(const unsigned char *s, size_t avail) {
        unsigned char c = s[0];
        if (c < 0x80)
                return 1;
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
                n = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                cp = c & 0x07;
        } else {
                return 0;
        }
        if (avail < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

static void comma(struct json *j) {
        if (j->depth <= 0 || j->depth > 63)
                return;
        uint64_t bit = UINT64_C(1) << j->depth;
        if (j->need_comma & bit)
                buf_append(&j->out, ",", 1);
        j->need_comma |= bit;
}

static void open(struct json *j, char c) {
        comma(j);
        buf_append(&j->out, &c, 1);
        j->depth++;
        if (j->depth <= 63)
                j->need_comma &= ~(UINT64_C(1) << j->depth);
}

static void close_(struct json *j, char c) {
        j->depth--;
        buf_append(&j->out, &c, 1);
}

void json_begin_object(struct json *j) { open(j, '{'); }
void json_end_object(struct json *j) { close_(j, '}'); }
void json_begin_array(struct json *j) { open(j, '['); }
void json_end_array(struct json *j) { close_(j, ']'); }

void json_string_len(struct json *j, const char *s, size_t len) {
        comma(j);
        struct buf *b = &j->out;
        buf_append(b, "\"", 1);
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, run = 0;
        while (i < len) {
                unsigned char c = p[i];
                if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
                        i++;
                        run++;
                        continue;
                }
                buf_append(b, p + i - run, run);
                run = 0;
                if (c >= 0x80) {
                        size_t n = utf8_valid_len(p + i, len - i);
                        if (n) {
                                buf_append(b, p + i, n);
                                i += n;
                        } else {
                                buf_append(b, "\xef\xbf\xbd", 3);
                                i++;
                        }
                        continue;
                }
                switch (c) {
                case '"': buf_append(b, "\\\"", 2); break;
                case '\\': buf_append(b, "\\\\", 2); break;
                case '\n': buf_append(b, "\\n", 2); break;
                case '\r': buf_append(b, "\\r", 2); break;
                case '\t': buf_append(b, "\\t", 2); break;
                default: buf_printf(b, "\\u%04x", c); break;
                }
                i++;
        }
        buf_append(b, p + i - run, run);
        buf_append(b, "\"", 1);
}

void json_string(struct json *j, const char *s) { json_string_len(j, s, strlen(s)); }

void json_key(struct json *j, const char *key) {
        json_string(j, key);
        buf_append(&j->out, ":", 1);
        /* The value that follows must not get a comma of its own. */
        if (j->depth > 0 && j->depth <= 63)
                j->need_comma &= ~(UINT64_C(1) << j->depth);
}

void json_int(struct json *j, int64_t v) {
        comma(j);
        buf_printf(&j->out, "%lld", (long long)v);
}

void json_bool(struct json *j, bool v) {
        comma(j);
        buf_puts(&j->out, v ? "true" : "false");
}

void json_null(struct json *j) {
        comma(j);
        buf_puts(&j->out, "null");
}

void json_kv_string(struct json *j, const char *key, const char *s) {
        json_key(j, key);
        if (s)
                json_string(j, s);
        else
                json_null(j);
}

void json_kv_int(struct json *j, const char *key, int64_t v) {
        json_key(j, key);
        json_int(j, v);
}
