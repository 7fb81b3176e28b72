/* HTTP/1.x request head parsing and application/x-www-form-urlencoded fields, with hard limits. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD (32 * 1024)        /* request line + headers */
#define HTTP_MAX_HEADERS 64
#define FORM_MAX_FIELDS 256
#define FORM_MAX_BYTES (8 * 1024 * 1024)  /* all non-file field data of one request */

struct http_header {
        const char *name;
        const char *value;
};

struct http_request {
        const char *method;
        const char *target;   /* as sent */
        const char *path;     /* without query string and without an absolute-form prefix */
        const char *query;    /* after '?', or NULL */
        int version_minor;    /* HTTP/1.x */
        struct http_header headers[HTTP_MAX_HEADERS];
        size_t n_headers;
        int64_t content_length;   /* -1: no Content-Length header */
        bool has_transfer_encoding;
        bool expect_continue;
};

/* Length of the request head in buf (through the blank line, CRLF or bare LF line ends),
 * or 0 when it is not complete yet. */
size_t http_head_length(const char *buf, size_t len);

/* Parse a complete head in place (buf is modified: strings are NUL-terminated inside it).
 * Returns 0, or the HTTP status to answer with (400, 413, 431, 501, 505). */
int http_parse_head(char *buf, size_t len, struct http_request *req);

const char *http_header_get(const struct http_request *req, const char *name);
const char *http_status_text(int status);

/* Parse a header parameter (e.g. boundary= of Content-Type, name= of Content-Disposition)
 * into out. Quoted strings are unquoted. Returns length, or -1 if absent/too long. */
int http_header_param(const char *value, const char *param, char *out, size_t outsz);
/* Case-insensitive "does the media type (before ';') equal type". */
bool http_media_type_is(const char *value, const char *type);

/* Form fields (urlencoded body, query string, multipart non-file parts). Values are
 * NUL-terminated; a value may hold NUL bytes (value_len says the length). */
struct form_field {
        char *name;
        char *value;
        size_t value_len;
};

struct form {
        struct form_field *fields;
        size_t n;
        size_t cap;
        size_t bytes;   /* total name+value bytes, capped at FORM_MAX_BYTES */
};

/* Returns 0, -ENOMEM, or -E2BIG (limits). Copies name and value. */
int form_add(struct form *f, const char *name, size_t name_len, const char *value, size_t value_len);
/* Percent-decode ('+' is a space) and add every name[=value] pair separated by '&'. */
int form_parse_urlencoded(struct form *f, const char *s, size_t len);
/* The last value given for name, or NULL. */
const char *form_get(const struct form *f, const char *name);
bool form_has(const struct form *f, const char *name);
void form_free(struct form *f);
