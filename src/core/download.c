/* Verified downloads with mirrors, resume and retries (libcurl + OpenSSL EVP). */
#include "core/download.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/util.h"

#ifndef VMCLOAK_VERSION
#define VMCLOAK_VERSION "0.0.0"
#endif

/* A transfer that moves less than this many bytes a second for STALL_SECONDS is cut (and
 * retried: it resumes where it stopped). */
#define STALL_BYTES_PER_SECOND 1024L
#define STALL_SECONDS 60L
#define CONNECT_TIMEOUT_SECONDS 30L
#define HASH_CHUNK (1u << 20)

/* --- hashes --- */

struct hashes {
        EVP_MD_CTX *sha256;
        EVP_MD_CTX *sha1;
};

static void hashes_free(struct hashes *h) {
        EVP_MD_CTX_free(h->sha256);
        EVP_MD_CTX_free(h->sha1);
        h->sha256 = h->sha1 = NULL;
}

static int hashes_reset(struct hashes *h) {
        if (!h->sha256)
                h->sha256 = EVP_MD_CTX_new();
        if (!h->sha1)
                h->sha1 = EVP_MD_CTX_new();
        if (!h->sha256 || !h->sha1)
                return log_oom();
        if (EVP_DigestInit_ex(h->sha256, EVP_sha256(), NULL) != 1 || EVP_DigestInit_ex(h->sha1, EVP_sha1(), NULL) != 1)
                return log_error_errno(-EIO, "cannot set up SHA-256/SHA-1 (OpenSSL)");
        return 0;
}

static void hashes_update(struct hashes *h, const void *data, size_t len) {
        EVP_DigestUpdate(h->sha256, data, len);
        EVP_DigestUpdate(h->sha1, data, len);
}

static void hex(const unsigned char *d, unsigned n, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (unsigned i = 0; i < n; i++) {
                out[2 * i] = digits[d[i] >> 4];
                out[2 * i + 1] = digits[d[i] & 15];
        }
        out[2 * n] = 0;
}

static void hashes_final(struct hashes *h, char sha256[SHA256_HEX_LEN + 1], char sha1[SHA1_HEX_LEN + 1]) {
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        EVP_DigestFinal_ex(h->sha256, d, &n);
        hex(d, n, sha256);
        EVP_DigestFinal_ex(h->sha1, d, &n);
        hex(d, n, sha1);
}

/* Feed bytes [0, len) of fd into h, with a progress bar when p is given. */
static int hash_fd(int fd, uint64_t len, struct hashes *h, struct progress *p) {
        _cleanup_free_ unsigned char *buf = malloc(HASH_CHUNK);
        if (!buf)
                return log_oom();
        uint64_t done = 0;
        while (done < len) {
                if (interrupted())
                        return -ECANCELED;
                size_t want = len - done < HASH_CHUNK ? (size_t)(len - done) : HASH_CHUNK;
                ssize_t k = pread(fd, buf, want, (off_t)done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EIO;   /* shorter than it said */
                hashes_update(h, buf, (size_t)k);
                done += (uint64_t)k;
                if (p) {
                        char detail[64], a[32], b[32];
                        snprintf(detail, sizeof detail, "%s of %s", format_bytes(a, sizeof a, done),
                                 format_bytes(b, sizeof b, len));
                        progress_update(p, done, len, detail);
                }
        }
        return 0;
}

int download_hash_file(const char *path, char sha256[SHA256_HEX_LEN + 1], char sha1[SHA1_HEX_LEN + 1]) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot read %s: %m", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "cannot read %s: %m", path);
        struct hashes h = { 0 };
        int r = hashes_reset(&h);
        if (r < 0)
                return r;
        struct progress p;
        bool bar = isatty(STDERR_FILENO) && st.st_size > (off_t)(64u << 20);
        if (bar) {
                char label[96];
                const char *base = strrchr(path, '/');
                snprintf(label, sizeof label, "Checking %s", base ? base + 1 : path);
                progress_begin(&p, label);
        }
        r = hash_fd(fd, (uint64_t)st.st_size, &h, bar ? &p : NULL);
        if (bar)
                progress_end(&p, r < 0 ? "stopped" : "done");
        if (r == -ECANCELED) {
                hashes_free(&h);
                return r;
        }
        if (r < 0) {
                hashes_free(&h);
                return log_error_errno(r, "cannot read %s: %m", path);
        }
        hashes_final(&h, sha256, sha1);
        hashes_free(&h);
        return 0;
}

/* --- pure parts --- */

int download_hash_parse(const char *text, enum download_hash algo, char *ret, size_t size) {
        const char *prefix = algo == DOWNLOAD_HASH_SHA256 ? "sha256:" : "sha1:";
        size_t want = algo == DOWNLOAD_HASH_SHA256 ? SHA256_HEX_LEN : SHA1_HEX_LEN;
        if (!text || size < want + 1)
                return -EINVAL;
        while (isspace((unsigned char)*text))
                text++;
        if (strncasecmp(text, prefix, strlen(prefix)) == 0)
                text += strlen(prefix);
        size_t n = 0;
        while (isxdigit((unsigned char)text[n]))
                n++;
        const char *rest = text + n;
        while (isspace((unsigned char)*rest))
                rest++;
        if (n != want || *rest)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                ret[i] = (char)tolower((unsigned char)text[i]);
        ret[n] = 0;
        return 0;
}

static int parse_u64(const char **p, uint64_t *ret) {
        const char *s = *p;
        if (!isdigit((unsigned char)*s))
                return -EINVAL;
        uint64_t v = 0;
        for (; isdigit((unsigned char)*s); s++) {
                unsigned d = (unsigned)(*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EINVAL;
                v = v * 10 + d;
        }
        *p = s;
        *ret = v;
        return 0;
}

int download_content_range_parse(const char *value, uint64_t *first, uint64_t *last, uint64_t *total) {
        if (!value)
                return -EINVAL;
        const char *s = value;
        while (*s == ' ' || *s == '\t')
                s++;
        if (strncasecmp(s, "bytes", 5) != 0)
                return -EINVAL;
        s += 5;
        if (*s != ' ' && *s != '\t')
                return -EINVAL;
        while (*s == ' ' || *s == '\t')
                s++;
        uint64_t f, l, t;
        if (*s == '*') {
                s++;
                f = l = UINT64_MAX;
        } else {
                if (parse_u64(&s, &f) < 0 || *s++ != '-' || parse_u64(&s, &l) < 0 || l < f)
                        return -EINVAL;
        }
        if (*s++ != '/')
                return -EINVAL;
        if (*s == '*') {
                if (f == UINT64_MAX)
                        return -EINVAL;   /* a "*" on both sides says nothing */
                s++;
                t = UINT64_MAX;
        } else {
                if (parse_u64(&s, &t) < 0)
                        return -EINVAL;
                if (f != UINT64_MAX && l >= t)
                        return -EINVAL;
        }
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
        if (*s)
                return -EINVAL;
        *first = f;
        *last = l;
        *total = t;
        return 0;
}

enum download_resume download_resume_decide(uint64_t offset, long status, const char *content_range) {
        uint64_t f, l, t;
        bool cr = content_range && download_content_range_parse(content_range, &f, &l, &t) == 0;
        if (status == 200)
                return DOWNLOAD_RESTART;
        if (status == 206) {
                if (offset > 0 && cr && f == offset)
                        return DOWNLOAD_APPEND;
                return DOWNLOAD_DISCARD;
        }
        if (status == 416) {
                if (offset > 0 && cr && f == UINT64_MAX && t == offset)
                        return DOWNLOAD_COMPLETE;
                return offset > 0 ? DOWNLOAD_DISCARD : DOWNLOAD_FAILED;
        }
        return DOWNLOAD_FAILED;
}

bool download_error_transient(int curl_code, long status, bool connected) {
        switch ((CURLcode)curl_code) {
        case CURLE_HTTP_RETURNED_ERROR:
                return status >= 500 || status == 408 || status == 429;
        case CURLE_OPERATION_TIMEDOUT:
                /* Not connecting at all is an unreachable host: the next mirror is the better bet. */
                return connected;
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

/* The words for curl's errors a user meets; others get curl's own. */
static const struct {
        CURLcode code;
        const char *text;
} error_texts[] = {
        { CURLE_COULDNT_RESOLVE_HOST, "could not resolve host (offline?)" },
        { CURLE_COULDNT_RESOLVE_PROXY, "could not resolve the proxy (check http_proxy/https_proxy)" },
        { CURLE_COULDNT_CONNECT, "could not connect (refused or unreachable)" },
        { CURLE_OPERATION_TIMEDOUT, "timed out" },
        { CURLE_PARTIAL_FILE, "the connection was cut" },
        { CURLE_RECV_ERROR, "the connection was cut" },
        { CURLE_SEND_ERROR, "the connection was cut" },
        { CURLE_GOT_NOTHING, "the connection was cut" },
        { CURLE_PEER_FAILED_VERIFICATION, "its TLS certificate is not trusted" },
        { CURLE_SSL_CONNECT_ERROR, "TLS handshake failed" },
        { CURLE_UNSUPPORTED_PROTOCOL, "unsupported protocol (http, https and ftp are)" },
        { CURLE_URL_MALFORMAT, "not a valid URL" },
        { CURLE_TOO_MANY_REDIRECTS, "too many redirects" },
};

char *download_error_text(int curl_code, long status) {
        if (curl_code == CURLE_HTTP_RETURNED_ERROR)
                return strdup_printf("HTTP %ld%s", status, status == 404 || status == 410 ? " (not there)" : "");
        for (size_t i = 0; i < ELEMENTSOF(error_texts); i++)
                if ((int)error_texts[i].code == curl_code)
                        return strdup(error_texts[i].text);
        return strdup(curl_easy_strerror((CURLcode)curl_code));
}

char *download_url_basename(const char *url) {
        const char *s = strstr(url, "://");
        s = s ? s + 3 : url;
        const char *path = strchr(s, '/');
        if (!path) {
                errno = EINVAL;
                return NULL;
        }
        size_t end = strcspn(path, "?#");
        const char *last = path;
        for (size_t i = 0; i < end; i++)
                if (path[i] == '/')
                        last = path + i + 1;
        size_t n = (size_t)(path + end - last);
        if (n == 0 || (n == 1 && last[0] == '.') || (n == 2 && last[0] == '.' && last[1] == '.')) {
                errno = EINVAL;
                return NULL;
        }
        return strndup(last, n);
}

char *download_failure_line(const char *label, const struct download_attempt *attempts, size_t n,
                            const char *alternative) {
        _cleanup_strv_free_ char **parts = NULL;
        for (size_t i = 0; i < n; i++)
                if (strv_extendf(&parts, "%s: %s", attempts[i].url, attempts[i].error) < 0)
                        return NULL;
        _cleanup_free_ char *joined = parts ? strv_join(parts, "; ") : strdup("no URL to try");
        if (!joined)
                return NULL;
        if (isempty(alternative))
                return strdup_printf("cannot download %s: %s", label, joined);
        return strdup_printf("cannot download %s: %s; %s", label, joined, alternative);
}

static void format_duration(char *buf, size_t size, uint64_t s) {
        if (s >= 3600)
                snprintf(buf, size, "%" PRIu64 " h %" PRIu64 " min", s / 3600, s % 3600 / 60);
        else if (s >= 60)
                snprintf(buf, size, "%" PRIu64 " min %" PRIu64 " s", s / 60, s % 60);
        else
                snprintf(buf, size, "%" PRIu64 " s", s);
}

const char *download_progress_detail(char *buf, size_t size, uint64_t done, uint64_t total, int64_t elapsed_ms,
                                     uint64_t moved) {
        char d[32], t[32], rate[32], eta[48];
        format_bytes(d, sizeof d, done);
        double secs = elapsed_ms > 0 ? (double)elapsed_ms / 1000.0 : 0;
        double bps = secs >= 0.5 ? (double)moved / secs : 0;
        if (bps > 0) {
                format_bytes(rate, sizeof rate, (uint64_t)bps);
                strcat(rate, "/s");
        } else
                snprintf(rate, sizeof rate, "-");
        if (total > 0 && total != UINT64_MAX) {
                format_bytes(t, sizeof t, total);
                if (bps > 0 && total > done) {
                        char dur[32];
                        format_duration(dur, sizeof dur, (uint64_t)((double)(total - done) / bps + 0.5));
                        snprintf(eta, sizeof eta, ", %s left", dur);
                } else
                        eta[0] = 0;
                snprintf(buf, size, "%s of %s, %s%s", d, t, rate, eta);
        } else
                snprintf(buf, size, "%s, %s", d, rate);
        return buf;
}

/* --- the transfer --- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

struct transfer {
        const struct download_request *req;
        const char *part;
        int fd;                   /* the .part, locked */
        uint64_t offset;          /* its size when the request went out (the Range sent) */
        uint64_t written;         /* its size now */
        bool decided;             /* the response said whether to append or to restart */
        bool plain;               /* not HTTP: no status line, a Range is honoured or fails */
        enum download_resume decision;
        char content_range[128];
        struct hashes h;
        int local_error;          /* a negative errno of our own side (writing the .part) */
        bool too_big;             /* more bytes than req->size */
        struct progress progress;
        bool bar;
        int64_t started_ms;
        uint64_t moved;           /* bytes received in this try */
};

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        struct transfer *t = userdata;
        size_t len = size * nmemb;
        if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
                t->content_range[0] = 0;   /* a new response (after a redirect): forget the last one's */
        else if (len > 14 && strncasecmp(data, "Content-Range:", 14) == 0) {
                size_t n = len - 14;
                if (n >= sizeof t->content_range)
                        n = sizeof t->content_range - 1;
                memcpy(t->content_range, data + 14, n);
                t->content_range[n] = 0;
                t->content_range[strcspn(t->content_range, "\r\n")] = 0;
        }
        return len;
}

/* Write all of data at offset of fd (EINTR retried). */
static int pwrite_all(int fd, const void *data, size_t len, uint64_t offset) {
        const char *p = data;
        while (len > 0) {
                ssize_t k = pwrite(fd, p, len, (off_t)offset);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                len -= (size_t)k;
                offset += (uint64_t)k;
        }
        return 0;
}

/* Empty the .part and its hash: the server sends the whole file. */
static int restart_part(struct transfer *t) {
        if (ftruncate(t->fd, 0) < 0)
                return -errno;
        t->written = 0;
        return hashes_reset(&t->h);
}

/* The first body byte (or the end of a body-less answer): append or start again. */
static int decide(struct transfer *t, CURL *curl) {
        if (t->decided)
                return 0;
        t->decided = true;
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (t->plain)
                t->decision = t->offset > 0 ? DOWNLOAD_APPEND : DOWNLOAD_RESTART;
        else
                t->decision = download_resume_decide(t->offset, status,
                                                     t->content_range[0] ? t->content_range : NULL);
        switch (t->decision) {
        case DOWNLOAD_APPEND:
        case DOWNLOAD_COMPLETE: {
                /* The hash covers the whole file: feed it what the .part already holds. */
                int r = hashes_reset(&t->h);
                if (r < 0)
                        return r;
                r = hash_fd(t->fd, t->offset, &t->h, NULL);
                if (r < 0)
                        return r;
                t->written = t->offset;
                return 0;
        }
        case DOWNLOAD_RESTART:
                if (t->offset > 0)
                        log_debug("%s: the server sent the whole file instead of the rest; starting again", t->part);
                t->offset = 0;
                return restart_part(t);
        default:
                return 0;
        }
}

struct write_ctx {
        struct transfer *t;
        CURL *curl;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
        struct write_ctx *w = userdata;
        struct transfer *t = w->t;
        size_t len = size * nmemb;
        int r = decide(t, w->curl);
        if (r < 0) {
                t->local_error = r;
                return 0;
        }
        if (t->decision != DOWNLOAD_APPEND && t->decision != DOWNLOAD_RESTART)
                return 0;   /* a 206 from elsewhere: stop; the caller drops the .part */
        if (t->req->size && t->written + len > t->req->size) {
                t->too_big = true;
                return 0;
        }
        /* At the offset the hash has reached, never at the descriptor's position: what is on disk
         * is exactly what was hashed. */
        r = pwrite_all(t->fd, data, len, t->written);
        if (r < 0) {
                t->local_error = r;
                return 0;
        }
        hashes_update(&t->h, data, len);
        t->written += len;
        t->moved += len;
        return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        (void)dlnow, (void)ultotal, (void)ulnow;
        struct transfer *t = userdata;
        if (interrupted())
                return 1;
        if (!t->bar || !t->decided)
                return 0;
        uint64_t total = dltotal > 0 ? (t->decision == DOWNLOAD_APPEND ? t->offset : 0) + (uint64_t)dltotal
                                     : t->req->size;
        char detail[128];
        download_progress_detail(detail, sizeof detail, t->written, total, now_ms() - t->started_ms, t->moved);
        progress_update(&t->progress, t->written, total, detail);
        return 0;
}

/* The outcome of one try. */
struct try_result {
        int curl_code;
        long status;
        bool connected;
};

static int try_once(CURL *curl, const char *url, struct transfer *t, struct try_result *res) {
        struct stat st;
        if (fstat(t->fd, &st) < 0)
                return log_error_errno(-errno, "cannot read %s: %m", t->part);
        t->offset = (uint64_t)st.st_size;
        if (t->req->size && t->offset > t->req->size) {
                /* Longer than the file can be: not a part of it. */
                t->offset = 0;
                if (ftruncate(t->fd, 0) < 0)
                        return log_error_errno(-errno, "cannot write %s: %m", t->part);
        }
        t->written = t->offset;
        t->decided = false;
        t->decision = DOWNLOAD_FAILED;
        t->content_range[0] = 0;
        t->local_error = 0;
        t->too_big = false;
        t->moved = 0;
        t->started_ms = now_ms();
        t->plain = strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0;

        char range[32] = "";
        if (t->offset > 0)
                snprintf(range, sizeof range, "%" PRIu64 "-", t->offset);
        struct write_ctx w = { t, curl };
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,ftp");
        curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "vmcloak/" VMCLOAK_VERSION);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_SECONDS);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, STALL_BYTES_PER_SECOND);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &w);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);
        if (range[0])
                curl_easy_setopt(curl, CURLOPT_RANGE, range);

        CURLcode c = curl_easy_perform(curl);
        res->curl_code = (int)c;
        res->status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status);
        curl_off_t ct = 0;
        curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &ct);
        res->connected = ct > 0 || res->status > 0;
        log_debug("%s: curl %d (%s), status %ld, Range %s, Content-Range %s, %" PRIu64 " bytes", url, (int)c,
                  errbuf[0] ? errbuf : curl_easy_strerror(c), res->status, range[0] ? range : "none",
                  t->content_range[0] ? t->content_range : "none", t->moved);
        if (t->local_error == -ECANCELED)
                return -ECANCELED;
        if (t->local_error < 0)
                return log_error_errno(t->local_error, "cannot write %s: %m", t->part);
        if (c == CURLE_ABORTED_BY_CALLBACK && interrupted())
                return -ECANCELED;
        if (c == CURLE_OK || (c == CURLE_HTTP_RETURNED_ERROR && res->status == 416)) {
                /* A body-less answer (an empty file, or 416 for a .part that is already whole). */
                int r = decide(t, curl);
                if (r < 0)
                        return log_error_errno(r, "cannot read %s: %m", t->part);
                if (c != CURLE_OK && t->decision != DOWNLOAD_COMPLETE)
                        res->curl_code = CURLE_HTTP_RETURNED_ERROR;
        }
        return 0;
}

static int sleep_interruptible(unsigned ms) {
        for (unsigned waited = 0; waited < ms; waited += 100) {
                if (interrupted())
                        return -ECANCELED;
                sleep_ms(100);
        }
        return interrupted() ? -ECANCELED : 0;
}

/* Compare what arrived with what was asked for; the line for a mismatch into *why. */
static bool hashes_match(const struct download_request *req, const char *sha256, const char *sha1, char **why) {
        if (req->sha256 && !streq(req->sha256, sha256)) {
                *why = strdup_printf("delivered a file with SHA-256 %s, expected %s", sha256, req->sha256);
                return false;
        }
        if (req->sha1 && !streq(req->sha1, sha1)) {
                *why = strdup_printf("delivered a file with SHA-1 %s, expected %s", sha1, req->sha1);
                return false;
        }
        return true;
}

/* The .part is whole and verified: make it dest. */
static int finish(struct transfer *t, const char *dest) {
        struct stat st;
        if (fstat(t->fd, &st) < 0)
                return log_error_errno(-errno, "cannot read %s: %m", t->part);
        if ((uint64_t)st.st_size != t->written)
                return log_error_errno(-EIO, "%s has %" PRIu64 " bytes, %" PRIu64 " were written and verified; "
                                       "not using it", t->part, (uint64_t)st.st_size, t->written);
        if (fsync(t->fd) < 0)
                return log_error_errno(-errno, "cannot write %s: %m", t->part);
        if (rename(t->part, dest) < 0)
                return log_error_errno(-errno, "cannot rename %s to %s: %m", t->part, dest);
        return 0;
}

/* An existing dest: 1 if it is the file (nothing to do), 0 if there is none (or it was a cache
 * file that did not match and is gone now), or a negative errno. */
static int check_existing(const struct download_request *req, struct download_result *res) {
        if (!path_exists(req->dest))
                return 0;
        char sha256[SHA256_HEX_LEN + 1], sha1[SHA1_HEX_LEN + 1];
        int r = download_hash_file(req->dest, sha256, sha1);
        if (r < 0)
                return r;
        _cleanup_free_ char *why = NULL;
        if (hashes_match(req, sha256, sha1, &why)) {
                res->cached = true;
                res->size = file_size_or_zero(req->dest);
                memcpy(res->sha256, sha256, sizeof sha256);
                memcpy(res->sha1, sha1, sizeof sha1);
                return 1;
        }
        const char *what = req->sha256 ? "SHA-256" : "SHA-1";
        const char *got = req->sha256 ? sha256 : sha1;
        const char *want = req->sha256 ? req->sha256 : req->sha1;
        if (!req->dest_is_cache) {
                log_error("%s exists and is not %s (its %s is %s, expected %s); move it away or pick another "
                          "destination", req->dest, req->label, what, got, want);
                return -EEXIST;
        }
        log_warning("%s in the cache does not match (%s %s, expected %s); fetching it again", req->dest, what, got,
                    want);
        r = unlink_if_exists(req->dest);
        if (r < 0)
                return log_error_errno(r, "cannot remove %s: %m", req->dest);
        return 0;
}

/* All the tries of one URL. 0: dest is in place; 1: this URL failed (*error says how, *mismatch
 * whether it delivered a wrong file); a negative errno stops everything. */
static int fetch_url(CURL *curl, const char *url, struct transfer *t, struct download_result *res, char **error,
                     bool *mismatch) {
        const struct download_request *req = t->req;
        unsigned retries = req->retries ? req->retries : DOWNLOAD_RETRIES;
        unsigned wait = req->backoff_ms ? req->backoff_ms : DOWNLOAD_BACKOFF_MS;
        bool fresh_retry_done = false, discard_done = false;
        *mismatch = false;
        for (unsigned attempt = 0;;) {
                struct try_result tr;
                int r = try_once(curl, url, t, &tr);
                if (r < 0)
                        return r;
                bool whole = tr.curl_code == CURLE_OK && t->decision != DOWNLOAD_DISCARD && !t->too_big;
                if (t->decision == DOWNLOAD_DISCARD || t->too_big) {
                        /* The .part is not the start of what this server has. */
                        log_debug("%s: dropping %s (%s)", url, t->part,
                                  t->too_big ? "longer than expected" : "the server's range does not fit it");
                        r = restart_part(t);
                        if (r < 0)
                                return log_error_errno(r, "cannot write %s: %m", t->part);
                        if (t->too_big) {
                                *error = strdup_printf("sent more than the expected %" PRIu64 " bytes", req->size);
                                *mismatch = true;
                                return 1;
                        }
                        if (!discard_done) {
                                discard_done = true;
                                continue;
                        }
                        *error = strdup("answers a resume with a range that does not fit");
                        return 1;
                }
                if (whole || (tr.curl_code == CURLE_HTTP_RETURNED_ERROR && t->decision == DOWNLOAD_COMPLETE)) {
                        char sha256[SHA256_HEX_LEN + 1], sha1[SHA1_HEX_LEN + 1];
                        hashes_final(&t->h, sha256, sha1);
                        _cleanup_free_ char *why = NULL;
                        if (hashes_match(req, sha256, sha1, &why)) {
                                r = finish(t, req->dest);
                                if (r < 0)
                                        return r;
                                res->url = url;
                                res->size = t->written;
                                memcpy(res->sha256, sha256, sizeof sha256);
                                memcpy(res->sha1, sha1, sizeof sha1);
                                return 0;
                        }
                        r = restart_part(t);
                        if (r < 0)
                                return log_error_errno(r, "cannot write %s: %m", t->part);
                        if (res->resumed_from > 0 && !fresh_retry_done) {
                                /* The kept part may be of an older file: one more try from the start. */
                                log_warning("%s: the resumed file does not match; downloading it again from the start",
                                            url);
                                fresh_retry_done = true;
                                res->resumed_from = 0;
                                continue;
                        }
                        *error = TAKE_PTR(why);
                        *mismatch = true;
                        return 1;
                }
                _cleanup_free_ char *text = download_error_text(tr.curl_code, tr.status);
                if (!text)
                        return log_oom();
                if (!download_error_transient(tr.curl_code, tr.status, tr.connected) || attempt >= retries) {
                        if (attempt > 0)
                                *error = strdup_printf("%s (%u tries)", text, attempt + 1);
                        else
                                *error = TAKE_PTR(text);
                        return 1;
                }
                attempt++;
                log_warning("%s: %s; trying again in %.1f s (%u of %u)", url, text, wait / 1000.0, attempt, retries);
                r = sleep_interruptible(wait);
                if (r < 0)
                        return r;
                wait *= 2;
        }
}

static int check_request(const struct download_request *req) {
        if (!req->urls || !req->urls[0] || isempty(req->dest) || (!req->sha256 && !req->sha1) || !req->label)
                return log_error_errno(-EINVAL, "a download needs a URL, a destination and a hash");
        char tmp[SHA256_HEX_LEN + 1];
        if ((req->sha256 && (download_hash_parse(req->sha256, DOWNLOAD_HASH_SHA256, tmp, sizeof tmp) < 0 ||
                             !streq(tmp, req->sha256))) ||
            (req->sha1 && (download_hash_parse(req->sha1, DOWNLOAD_HASH_SHA1, tmp, sizeof tmp) < 0 ||
                           !streq(tmp, req->sha1))))
                return log_error_errno(-EINVAL, "the hash for %s is not lowercase hex of its length", req->label);
        return 0;
}

static void close_transfer(struct transfer *t) {
        if (t->fd >= 0)
                close(t->fd);
        t->fd = -1;
        hashes_free(&t->h);
}

int download_file(const struct download_request *req, struct download_result *ret) {
        int r = check_request(req);
        if (r < 0)
                return r;
        struct download_result res = { 0 };
        _cleanup_free_ char *line = NULL;
        _cleanup_free_ char *part = strdup_printf("%s.part", req->dest);
        if (!part)
                return log_oom();

        /* The lock first, then the look at dest: a second vmcloak fetching the same file either
         * waits for nothing (refused) or finds the first one's verified result. */
        struct transfer t = { .req = req, .part = part, .fd = -1 };
        t.fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (t.fd < 0)
                return log_error_errno(-errno, "cannot create %s: %m", part);
        if (flock(t.fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                close_transfer(&t);
                return log_error_errno(r, "another vmcloak is downloading %s (%s is locked)", req->dest, part);
        }
        r = check_existing(req, &res);
        if (r != 0) {
                /* dest is the file (or an error): a .part beside it is of no use, and an empty
                 * one is only what this run made. */
                struct stat st;
                if (r > 0 || (fstat(t.fd, &st) == 0 && st.st_size == 0))
                        unlink_if_exists(part);
                close_transfer(&t);
                if (r < 0)
                        return r;
                log_info("%s is already there and matches; not downloading it again", req->dest);
                if (ret)
                        *ret = res;
                return 0;
        }
        res.resumed_from = file_size_or_zero(part);
        r = hashes_reset(&t.h);
        if (r < 0) {
                close_transfer(&t);
                return r;
        }

        pthread_once(&curl_once, curl_init_once);
        CURL *curl = curl_easy_init();
        if (!curl) {
                close_transfer(&t);
                return log_oom();
        }
        size_t n = 0;
        while (req->urls[n])
                n++;
        struct download_attempt *attempts = calloc(n, sizeof *attempts);
        char **errors = calloc(n, sizeof *errors);
        if (!attempts || !errors) {
                r = log_oom();
                goto out;
        }
        size_t failed = 0, mismatches = 0, unresolved = 0, missing = 0;
        r = -EIO;
        for (size_t i = 0; i < n; i++) {
                const char *url = req->urls[i];
                char label[96];
                snprintf(label, sizeof label, "Downloading %s", req->label);
                t.bar = isatty(STDERR_FILENO);
                if (t.bar)
                        progress_begin(&t.progress, label);
                else
                        log_debug("Downloading %s from %s", req->label, url);
                if (res.resumed_from > 0)
                        log_info("resuming %s at %" PRIu64 " bytes", part, res.resumed_from);
                bool mismatch;
                int k = fetch_url(curl, url, &t, &res, &errors[failed], &mismatch);
                if (k == 0) {
                        char size[32];
                        _cleanup_free_ char *done = strdup_printf(
                                "%s, %s verified, saved as %s", format_bytes(size, sizeof size, res.size),
                                req->sha256 ? "SHA-256" : "SHA-1", req->dest);
                        if (t.bar)
                                progress_end(&t.progress, done ? done : "verified");
                        else
                                log_info("%s: %s", req->label, strempty(done));
                        r = 0;
                        goto out;
                }
                if (t.bar)
                        progress_end(&t.progress, k == -ECANCELED ? "stopped" : "failed");
                if (k == -ECANCELED) {
                        uint64_t kept = file_size_or_zero(part);
                        log_info("interrupted: %s kept with %" PRIu64 " bytes; the same command resumes it", part, kept);
                        r = k;
                        goto out;
                }
                if (k < 0) {
                        r = k;
                        goto out;
                }
                if (!errors[failed]) {
                        r = log_oom();
                        goto out;
                }
                attempts[failed] = (struct download_attempt){ url, errors[failed] };
                if (mismatch) {
                        mismatches++;
                        if (i + 1 < n)
                                log_warning("%s: %s; the file was deleted, trying the next URL", url, errors[failed]);
                } else
                        log_debug("%s: %s", url, errors[failed]);
                if (strstr(errors[failed], "could not resolve host"))
                        unresolved++;
                if (strstr(errors[failed], "(not there)"))
                        missing++;
                failed++;
                res.resumed_from = file_size_or_zero(part);
        }
        line = download_failure_line(req->label, attempts, failed, req->alternative);
        if (!line) {
                r = log_oom();
                goto out;
        }
        r = mismatches ? -EBADMSG : unresolved == failed ? -EHOSTUNREACH : missing == failed ? -ENOENT : -EIO;
        log_error("%s", line);
        if (file_size_or_zero(part) == 0)
                unlink_if_exists(part);
out:
        curl_easy_cleanup(curl);
        for (size_t i = 0; errors && i < n; i++)
                free(errors[i]);
        free(errors);
        free(attempts);
        close_transfer(&t);
        if (r == 0 && ret)
                *ret = res;
        return r;
}
