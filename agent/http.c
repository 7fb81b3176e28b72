/* HTTP request head parser and form decoding for the agent; every input is bounded. */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t http_head_length(const char *buf, size_t len) {
        /* A blank line ends the head: "\n\n" or "\n\r\n". */
        for (size_t i = 0; i < len; i++) {
                if (buf[i] != '\n')
                        continue;
                if (i + 1 < len && buf[i + 1] == '\n')
                        return i + 2;
                if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
                        return i + 3;
        }
        return 0;
}

static bool is_tchar(unsigned char c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static bool strcaseeq(const char *a, const char *b) {
        for (; *a && *b; a++, b++)
                if (lower(*a) != lower(*b))
                        return false;
        return *a == *b;
}

/* Next line of the head: NUL-terminate it in place (dropping CR) and advance *pos. */
static char *next_line(char *buf, size_t len, size_t *pos) {
        size_t start = *pos;
        if (start >= len)
                return NULL;
        char *nl = memchr(buf + start, '\n', len - start);
        if (!nl)
                return NULL;
        size_t end = (size_t)(nl - buf);
        *pos = end + 1;
        if (end > start && buf[end - 1] == '\r')
                end--;
        buf[end] = 0;
        return buf + start;
}

static int parse_content_length(const char *v, int64_t *ret) {
        if (!*v)
                return -1;
        int64_t n = 0;
        for (const char *p = v; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -1;
                if (n > (INT64_MAX - 9) / 10)
                        return -2;
                n = n * 10 + (*p - '0');
        }
        *ret = n;
        return 0;
}

int http_parse_head(char *buf, size_t len, struct http_request *req) {
        memset(req, 0, sizeof *req);
        req->content_length = -1;
        if (len > HTTP_MAX_HEAD)
                return 431;
        if (memchr(buf, 0, len))
                return 400;

        size_t pos = 0;
        char *line = next_line(buf, len, &pos);
        /* Tolerate one empty line before the request line (RFC 9112 2.2). */
        if (line && !*line)
                line = next_line(buf, len, &pos);
        if (!line || !*line)
                return 400;

        char *sp1 = strchr(line, ' ');
        if (!sp1)
                return 400;
        *sp1 = 0;
        char *target = sp1 + 1;
        char *sp2 = strchr(target, ' ');
        if (!sp2)
                return 400;
        *sp2 = 0;
        const char *version = sp2 + 1;
        for (const char *m = line; *m; m++)
                if (!is_tchar((unsigned char)*m))
                        return 400;
        if (!*line || !*target)
                return 400;
        for (const char *t = target; *t; t++)
                if ((unsigned char)*t <= 0x20 || *t == 0x7f)
                        return 400;
        if (strncmp(version, "HTTP/1.", 7) != 0) {
                if (strncmp(version, "HTTP/", 5) == 0)
                        return 505;
                return 400;
        }
        if (version[7] < '0' || version[7] > '9' || version[8])
                return 400;
        req->version_minor = version[7] - '0';
        req->method = line;
        req->target = target;

        /* Absolute form (proxies): skip "scheme://authority". */
        char *path = target;
        if (*path != '/') {
                char *scheme_end = strstr(path, "://");
                if (!scheme_end)
                        return 400;
                path = strchr(scheme_end + 3, '/');
                if (!path)
                        path = (char *)"/";
        }
        char *q = strchr(path, '?');
        if (q) {
                /* path lives inside buf unless it is the literal "/" above, which has no '?'. */
                *q = 0;
                req->query = q + 1;
        }
        char *hash = strchr(path, '#');
        if (hash)
                *hash = 0;
        req->path = path;

        for (;;) {
                line = next_line(buf, len, &pos);
                if (!line)
                        return 400;   /* the head must end with a blank line */
                if (!*line)
                        break;
                if (*line == ' ' || *line == '\t')
                        return 400;   /* obsolete line folding */
                if (req->n_headers >= HTTP_MAX_HEADERS)
                        return 431;
                char *colon = strchr(line, ':');
                if (!colon || colon == line)
                        return 400;
                *colon = 0;
                for (const char *n = line; *n; n++)
                        if (!is_tchar((unsigned char)*n))
                                return 400;
                char *v = colon + 1;
                while (*v == ' ' || *v == '\t')
                        v++;
                char *e = v + strlen(v);
                while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                        *--e = 0;
                for (const char *c = v; *c; c++)
                        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
                                return 400;
                req->headers[req->n_headers++] = (struct http_header){ line, v };

                if (strcaseeq(line, "Content-Length")) {
                        int64_t n;
                        int r = parse_content_length(v, &n);
                        if (r == -2)
                                return 413;
                        if (r < 0)
                                return 400;
                        /* Repeated headers must agree (request smuggling defence). */
                        if (req->content_length >= 0 && req->content_length != n)
                                return 400;
                        req->content_length = n;
                } else if (strcaseeq(line, "Transfer-Encoding")) {
                        req->has_transfer_encoding = true;
                } else if (strcaseeq(line, "Expect")) {
                        if (strcaseeq(v, "100-continue"))
                                req->expect_continue = true;
                }
        }
        if (req->version_minor == 0)
                req->expect_continue = false;
        return 0;
}

const char *http_header_get(const struct http_request *req, const char *name) {
        for (size_t i = 0; i < req->n_headers; i++)
                if (strcaseeq(req->headers[i].name, name))
                        return req->headers[i].value;
        return NULL;
}

const char *http_status_text(int status) {
        switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 411: return "Length Required";
        case 413: return "Payload Too Large";
        case 414: return "URI Too Long";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
        }
}

bool http_media_type_is(const char *value, const char *type) {
        if (!value)
                return false;
        while (*value == ' ' || *value == '\t')
                value++;
        size_t n = strlen(type);
        for (size_t i = 0; i < n; i++)
                if (lower(value[i]) != lower(type[i]))
                        return false;
        char c = value[n];
        return c == 0 || c == ';' || c == ' ' || c == '\t';
}

int http_header_param(const char *value, const char *param, char *out, size_t outsz) {
        if (!value || outsz == 0)
                return -1;
        size_t plen = strlen(param);
        const char *p = value;
        /* Skip the leading token (media type or disposition type). */
        bool in_quote = false;
        for (;;) {
                /* Find the next ';' outside quotes. */
                while (*p && (in_quote || *p != ';')) {
                        if (*p == '\\' && in_quote && p[1])
                                p++;
                        else if (*p == '"')
                                in_quote = !in_quote;
                        p++;
                }
                if (!*p)
                        return -1;
                p++;
                while (*p == ' ' || *p == '\t')
                        p++;
                bool match = true;
                for (size_t i = 0; i < plen; i++)
                        if (lower(p[i]) != lower(param[i])) {
                                match = false;
                                break;
                        }
                if (!match)
                        continue;
                const char *v = p + plen;
                while (*v == ' ' || *v == '\t')
                        v++;
                if (*v != '=')
                        continue;
                v++;
                while (*v == ' ' || *v == '\t')
                        v++;
                size_t o = 0;
                if (*v == '"') {
                        v++;
                        while (*v && *v != '"') {
                                if (*v == '\\' && v[1])
                                        v++;
                                if (o + 1 >= outsz)
                                        return -1;
                                out[o++] = *v++;
                        }
                        if (*v != '"')
                                return -1;
                } else {
                        while (*v && *v != ';' && *v != ' ' && *v != '\t') {
                                if (o + 1 >= outsz)
                                        return -1;
                                out[o++] = *v++;
                        }
                }
                out[o] = 0;
                return (int)o;
        }
}

int form_add(struct form *f, const char *name, size_t name_len, const char *value, size_t value_len) {
        if (f->n >= FORM_MAX_FIELDS || name_len > FORM_MAX_BYTES || value_len > FORM_MAX_BYTES ||
            f->bytes + name_len + value_len > FORM_MAX_BYTES)
                return -E2BIG;
        if (f->n == f->cap) {
                size_t cap = f->cap ? f->cap * 2 : 8;
                struct form_field *n = realloc(f->fields, cap * sizeof *n);
                if (!n)
                        return -ENOMEM;
                f->fields = n;
                f->cap = cap;
        }
        char *k = malloc(name_len + 1);
        char *v = malloc(value_len + 1);
        if (!k || !v) {
                free(k);
                free(v);
                return -ENOMEM;
        }
        memcpy(k, name, name_len);
        k[name_len] = 0;
        if (value_len)
                memcpy(v, value, value_len);
        v[value_len] = 0;
        f->fields[f->n++] = (struct form_field){ k, v, value_len };
        f->bytes += name_len + value_len;
        return 0;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = lower(c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* Decode in place; returns the new length. */
static size_t pct_decode(char *s, size_t len) {
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '+') {
                        s[o++] = ' ';
                } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
                        s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                        i += 2;
                } else {
                        s[o++] = s[i];
                }
        }
        return o;
}

int form_parse_urlencoded(struct form *f, const char *s, size_t len) {
        if (len > FORM_MAX_BYTES)
                return -E2BIG;
        char *copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, s, len);
        copy[len] = 0;
        int r = 0;
        size_t i = 0;
        while (i < len) {
                char *pair = copy + i;
                char *amp = memchr(pair, '&', len - i);
                size_t plen = amp ? (size_t)(amp - pair) : len - i;
                i += plen + 1;
                if (plen == 0)
                        continue;
                char *eq = memchr(pair, '=', plen);
                size_t nlen = eq ? (size_t)(eq - pair) : plen;
                char *val = eq ? eq + 1 : pair + plen;
                size_t vlen = eq ? plen - nlen - 1 : 0;
                nlen = pct_decode(pair, nlen);
                vlen = pct_decode(val, vlen);
                if (nlen == 0)
                        continue;
                r = form_add(f, pair, nlen, val, vlen);
                if (r < 0)
                        break;
        }
        free(copy);
        return r;
}

const char *form_get(const struct form *f, const char *name) {
        for (size_t i = f->n; i > 0; i--)
                if (strcmp(f->fields[i - 1].name, name) == 0)
                        return f->fields[i - 1].value;
        return NULL;
}

bool form_has(const struct form *f, const char *name) { return form_get(f, name) != NULL; }

void form_free(struct form *f) {
        for (size_t i = 0; i < f->n; i++) {
                free(f->fields[i].name);
                free(f->fields[i].value);
        }
        free(f->fields);
        *f = (struct form){ 0 };
}
