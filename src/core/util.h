/* Small string, string-vector, file and time helpers shared by every layer. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "core/cleanup.h"

static inline bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
/* Return the rest of s after prefix, or NULL when s does not start with it. */
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}
bool endswith(const char *s, const char *suffix);
static inline const char *strempty(const char *s) { return s ? s : ""; }
static inline bool isempty(const char *s) { return !s || !*s; }

/* POSIX shell single quoting (it's -> 'it'\''s'): safe for any byte string. New string. */
char *shell_quote(const char *s);
/* s with every c doubled (QEMU's option value escape for ','). New string or NULL. */
char *str_double_char(const char *s, char c);

/* asprintf that returns NULL on failure. */
char *strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *strdup_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Replace *p with a copy of s (NULL allowed); returns -ENOMEM on failure. */
int free_and_strdup(char **p, const char *s);

/* NULL-terminated vectors of malloc'ed strings. */
typedef char **strv_t;
void strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char *const *l);
int strv_push(char ***l, char *value);           /* takes ownership, even on failure */
int strv_extend(char ***l, const char *value);   /* copies */
int strv_extendf(char ***l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strv_extend_strv(char ***l, char *const *other);
char *strv_join(char *const *l, const char *sep);
bool strv_contains(char *const *l, const char *s);
char **strv_copy(char *const *l);
#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)

/* Files. */
bool path_exists(const char *path);
bool is_dir(const char *path);
int mkdir_p(const char *path, mode_t mode);
int rm_rf(const char *path);
int unlink_if_exists(const char *path);
int read_full_file(const char *path, char **ret, size_t *ret_len);
/* write() until all of data is out (EINTR retried). */
int write_all(int fd, const void *data, size_t len);
int write_file(const char *path, const void *data, size_t len, mode_t mode);
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Copy src to dst (dst must not exist), keeping holes where the filesystem allows. */
int copy_file(const char *src, const char *dst, mode_t mode);
char *path_join(const char *a, const char *b);

/* A path that is removed when its scope ends (a file: unlink; a folder: rm -rf), then freed.
 * DISARM(p) keeps the file and frees the string: the step that made it succeeded. errno is
 * kept, so these can run on error paths. */
void unlink_and_free(char *p);
void rm_rf_and_free(char *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, unlink_and_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, rm_rf_and_free)
#define _cleanup_unlink_ _cleanup_(unlink_and_freep)
#define _cleanup_rm_rf_ _cleanup_(rm_rf_and_freep)
#define DISARM(p) free(TAKE_PTR(p))
/* Directory part of a path, as a new string ("." when there is none). */
char *path_dirname(const char *path);
/* path when it exists, else its nearest ancestor that does (path_exists()), up to "/" (or "."
 * for a relative path): where a folder not made yet would be made, or which filesystem it would
 * be on. A new string, or NULL when out of memory. */
char *path_nearest_existing(const char *path);
uint64_t file_size_or_zero(const char *path);

/* Where run folders for sockets go: $TMPDIR when it is short (a socket path must fit in the
 * 108 bytes of sun_path) and holds only [A-Za-z0-9/._-] (such paths end up in tools' option
 * syntax: QEMU's and swtpm's commas), else /tmp. */
const char *runtime_tmpdir(void);

/* A TCP port on 127.0.0.1 free right now (the kernel's pick for a bind to port 0), for a
 * forward the caller sets up next (it may be taken meanwhile: QEMU then fails to bind and
 * says so). 0 and *ret, or -errno. */
int free_loopback_port(unsigned *ret);

/* Time. */
int64_t now_ms(void);      /* CLOCK_MONOTONIC in milliseconds */
void sleep_ms(int ms);

/* The refusal of a check function: the printf-formatted one-line reason into buf (NULL: none
 * wanted), and -EINVAL. */
int reason_fail(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Human-readable byte count, e.g. "1.5 GiB" (buf of >= 32 bytes). */
const char *format_bytes(char *buf, size_t size, uint64_t bytes);
