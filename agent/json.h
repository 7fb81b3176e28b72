/* A growable byte buffer and a minimal JSON emitter (objects, arrays, strings, numbers). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
        char *data;     /* always NUL-terminated when non-NULL */
        size_t len;
        size_t cap;
        bool oom;       /* an allocation failed; the content is incomplete */
};

void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);
/* Take the data (NUL-terminated, never NULL unless out of memory) and reset the buffer. */
char *buf_steal(struct buf *b);

/* JSON writer: the caller emits the structure in order; commas are inserted automatically. */
struct json {
        struct buf out;
        int depth;
        uint64_t need_comma;   /* bit per nesting level */
};

void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);
/* Strings are written as valid UTF-8: invalid byte sequences become U+FFFD. */
void json_string(struct json *j, const char *s);
void json_string_len(struct json *j, const char *s, size_t len);
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* Shorthands for "key": value inside an object. */
void json_kv_string(struct json *j, const char *key, const char *s);  /* NULL writes null */
void json_kv_int(struct json *j, const char *key, int64_t v);

/* strndup (not in every C library the agent is built with). */
char *str_ndup(const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there are not one. */
size_t utf8_valid_len(const unsigned char *s, size_t avail);
