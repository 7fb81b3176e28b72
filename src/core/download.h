/* Downloads you can trust: mirrors in order, resume, retries, and a hash check before a file
 * gets its final name (libcurl for the transfer, OpenSSL's EVP for SHA-256 and SHA-1). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_LEN 64
#define SHA1_HEX_LEN 40

struct download_request {
        /* Tried in this order (mirrors); NULL-terminated, at least one. http, https and ftp (a
         * redirect may lead to http or https only). */
        const char *const *urls;
        /* The final path. The transfer goes to "<dest>.part" in the same folder, which is renamed
         * to dest only once its hash matched. */
        const char *dest;
        /* Expected hashes, lowercase hex (download_hash_parse()); at least one. Both are checked
         * when both are given. */
        const char *sha256;
        const char *sha1;
        uint64_t size;            /* expected size in bytes (progress, early refusal); 0: unknown */
        const char *label;        /* what it is, for messages: "the win10x64 ISO" */
        /* The way out the failure line offers: "download it elsewhere and put it at DEST". */
        const char *alternative;
        /* dest belongs to vmcloak's cache: an existing dest that does not match is deleted and
         * fetched again. Otherwise it is the user's file: refused and left alone. */
        bool dest_is_cache;
        unsigned retries;         /* per URL, for transient errors; 0: DOWNLOAD_RETRIES */
        unsigned backoff_ms;      /* the first wait between tries, doubled each time; 0: DOWNLOAD_BACKOFF_MS */
};

#define DOWNLOAD_RETRIES 3
#define DOWNLOAD_BACKOFF_MS 1000

struct download_result {
        bool cached;              /* dest was already there and matched: no transfer */
        const char *url;          /* the URL that delivered it (one of req->urls), NULL when cached */
        uint64_t size;            /* bytes of dest */
        uint64_t resumed_from;    /* bytes of a .part kept from an earlier try or run (0: none) */
        char sha256[SHA256_HEX_LEN + 1];  /* of dest, always computed */
        char sha1[SHA1_HEX_LEN + 1];
};

/*
 * Make req->dest the file whose hashes req names.
 * In: req as above; ret may be NULL.
 * Out: 0 with dest in place and verified (ret filled). Negative errno after one line on stderr:
 *   -EINVAL   a request without URL, dest or hash
 *   -EEXIST   dest exists, differs and is not a cache file (left alone)
 *   -EBUSY    another process is downloading the same dest (its .part is locked)
 *   -EBADMSG  no URL delivered the file and at least one delivered a file whose hash differs (the
 *             line shows the expected and the actual hash; nothing of it is kept)
 *   -ENOENT, -EHOSTUNREACH, -EIO  every URL failed (the line names each URL with its error,
 *             "offline?" when a host name does not resolve, and req->alternative)
 *   -ECANCELED  Ctrl-C/SIGTERM (core/interrupt.h): the .part stays and the next run resumes it
 *   other     the .part or dest could not be written (disk full, permissions)
 * Rules: an existing dest that matches is not downloaded again (a cache). A .part is resumed with
 * "Range: bytes=N-" when the server answers 206 from N, started again when it answers 200
 * (RFC 9110 §14, §15.3.7). Transient errors (5xx, 408, 429, a cut or stalled transfer, a timeout
 * once connected) are retried on the same URL with a doubling wait; 4xx, a name that does not
 * resolve and a refused connection go on to the next URL at once. A mismatch deletes the file and
 * goes on to the next URL; a resumed file that mismatches is fetched once more from the start.
 * Proxies come from libcurl's environment (http_proxy, https_proxy, ALL_PROXY, NO_PROXY; the
 * upper-case HTTP_PROXY is ignored by libcurl on purpose). A progress bar (bytes, rate, ETA) on
 * a terminal; otherwise one line when it starts and one when it ends.
 * Where it comes from: VMCloak's download_file (spec §10.4: no resume, no timeout, a sha1 only
 * logged) and Dependency.download (§10.5: mirrors in order, a mismatch tries the next), without
 * their quirk of accepting a partial file.
 */
int download_file(const struct download_request *req, struct download_result *ret);

/* The SHA-256 and SHA-1 of a file, as lowercase hex (a progress bar on a terminal for big files).
 * 0, or a negative errno after one line (-ECANCELED on Ctrl-C). */
int download_hash_file(const char *path, char sha256[SHA256_HEX_LEN + 1], char sha1[SHA1_HEX_LEN + 1]);

/* --- the pure parts, exposed for tests --- */

enum download_hash {
        DOWNLOAD_HASH_SHA256,
        DOWNLOAD_HASH_SHA1,
};

/* A hash as a user or a catalog writes it: hex of the algorithm's length, any case, optionally
 * prefixed "sha256:" / "sha1:" (Packer's iso_checksum form) and surrounded by blanks. Writes the
 * lowercase hex into ret (size >= 65). 0, or -EINVAL (no line printed). */
int download_hash_parse(const char *text, enum download_hash algo, char *ret, size_t size);

/* An HTTP Content-Range value (RFC 9110 §14.4): "bytes FIRST-LAST/TOTAL", or with "*" as TOTAL
 * (unknown: *total = UINT64_MAX), or with "*" as FIRST-LAST, as a 416 answer sends it (then
 * *first = *last = UINT64_MAX). 0, or -EINVAL. */
int download_content_range_parse(const char *value, uint64_t *first, uint64_t *last, uint64_t *total);

enum download_resume {
        DOWNLOAD_APPEND,    /* 206 from our offset: append to the .part */
        DOWNLOAD_RESTART,   /* 200: the whole file; empty the .part and write from 0 */
        DOWNLOAD_COMPLETE,  /* 416 and the server's size is the .part's: nothing left to fetch */
        DOWNLOAD_DISCARD,   /* 206 from another offset, or 416 otherwise: drop the .part, ask again without Range */
        DOWNLOAD_FAILED,    /* any other status: an HTTP error (download_error_transient decides) */
};

/* What to do with a .part of `offset` bytes given the response's status and Content-Range (NULL:
 * none). offset 0 means no Range was sent. */
enum download_resume download_resume_decide(uint64_t offset, long status, const char *content_range);

/* Whether a failed try is worth another on the same URL: curl_code a CURLcode, status the HTTP
 * status (0: none), connected whether a connection to the server (or proxy) was made. */
bool download_error_transient(int curl_code, long status, bool connected);

/* A short text for a failed try ("could not resolve host (offline?)", "HTTP 404"). New string. */
char *download_error_text(int curl_code, long status);

/* The last path segment of a URL, without query or fragment: the file name to save it under.
 * New string; NULL with errno EINVAL when there is none that is a safe file name ("", ".", "..",
 * a "/" after decoding is never produced: no percent-decoding is done). */
char *download_url_basename(const char *url);

/* One failed URL: the URL and the text of its last error. */
struct download_attempt {
        const char *url;
        const char *error;
};

/* The one line for "every URL failed": "cannot download LABEL: URL1: ERR1; URL2: ERR2; ALTERNATIVE".
 * alternative may be NULL. New string. */
char *download_failure_line(const char *label, const struct download_attempt *attempts, size_t n,
                            const char *alternative);

/* "1.2 GiB of 4.0 GiB, 11.3 MiB/s, 5 min 10 s left" into buf: done bytes, total (0: unknown),
 * elapsed ms of this transfer and bytes moved in it (the rate is of this run, not of a resumed
 * part). */
const char *download_progress_detail(char *buf, size_t size, uint64_t done, uint64_t total, int64_t elapsed_ms,
                                     uint64_t moved);
