/* String vectors, file helpers and clocks used throughout vmcloak. */
#include "core/util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

char *str_double_char(const char *s, char c) {
        size_t n = 0;
        for (const char *p = s; *p; p++)
                n += *p == c ? 2 : 1;
        char *o = malloc(n + 1), *q = o;
        if (!o)
                return NULL;
        for (const char *p = s; *p; p++) {
                *q++ = *p;
                if (*p == c)
                        *q++ = c;
        }
        *q = 0;
        return o;
}

char *shell_quote(const char *s) {
        size_t n = 2;
        for (const char *p = s; *p; p++)
                n += *p == '\'' ? 4 : 1;
        char *q = malloc(n + 1), *o = q;
        if (!q)
                return NULL;
        *o++ = '\'';
        for (const char *p = s; *p; p++) {
                if (*p == '\'') {
                        memcpy(o, "'\\''", 4);
                        o += 4;
                } else
                        *o++ = *p;
        }
        *o++ = '\'';
        *o = 0;
        return q;
}

char *strdup_vprintf(const char *fmt, va_list ap) {
        char *s = NULL;
        return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = strdup_vprintf(fmt, ap);
        va_end(ap);
        return s;
}

int free_and_strdup(char **p, const char *s) {
        char *n = NULL;
        if (s) {
                n = strdup(s);
                if (!n)
                        return -ENOMEM;
        }
        free(*p);
        *p = n;
        return 0;
}

void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

int strv_push(char ***l, char *value) {
        if (!value)
                return -ENOMEM;
        size_t n = strv_length(*l);
        char **c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        char *v = strdup(value);
        if (!v)
                return -ENOMEM;
        return strv_push(l, v);
}

int strv_extendf(char ***l, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_push(l, s);
}

int strv_extend_strv(char ***l, char *const *other) {
        STRV_FOREACH(s, other) {
                int r = strv_extend(l, *s);
                if (r < 0)
                        return r;
        }
        return 0;
}

char **strv_copy(char *const *l) {
        char **c = calloc(1, sizeof(char *));
        if (!c)
                return NULL;
        if (strv_extend_strv(&c, l) < 0) {
                strv_free(c);
                return NULL;
        }
        return c;
}

char *strv_join(char *const *l, const char *sep) {
        size_t n = 0, sl = strlen(sep);
        STRV_FOREACH(s, l)
                n += strlen(*s) + sl;
        char *r = malloc(n + 1), *p = r;
        if (!r)
                return NULL;
        *p = 0;
        STRV_FOREACH(s, l) {
                if (s != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *s);
        }
        return r;
}

bool strv_contains(char *const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

bool path_exists(const char *path) { return access(path, F_OK) == 0; }

bool is_dir(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0) {
                if (errno != EEXIST)
                        return -errno;
                if (!is_dir(p))
                        return -ENOTDIR;
        }
        return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void)st;
        (void)ftw;
        int r = (type == FTW_DP) ? rmdir(path) : unlink(path);
        return r < 0 && errno != ENOENT ? -1 : 0;
}

int rm_rf(const char *path) {
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 ? -errno : 0;
        if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
                return -errno;
        return 0;
}

int unlink_if_exists(const char *path) {
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int read_full_file(const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap > (size_t)1 << 30)
                                return -EFBIG;
                        char *n = realloc(buf, cap * 2);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        cap *= 2;
                }
                ssize_t k = read(fd, buf + len, cap - len - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int write_all(int fd, const void *data, size_t len) {
        const char *p = data;
        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                len -= (size_t)k;
        }
        return 0;
}

int write_file(const char *path, const void *data, size_t len, mode_t mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, data, len);
        if (r < 0)
                return r;
        return close(TAKE_FD(fd)) < 0 ? -errno : 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode) {
        _cleanup_free_ char *tmpl = strdup_printf("%s.tmpXXXXXX", path);
        if (!tmpl)
                return -ENOMEM;
        _cleanup_close_ int fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Armed only now: a failed mkostemp() may leave someone else's name in the template. */
        _cleanup_unlink_ char *tmp = TAKE_PTR(tmpl);
        int r = write_all(fd, data, len);
        if (r < 0)
                return r;
        if (fchmod(fd, mode) < 0 || fsync(fd) < 0 || close(TAKE_FD(fd)) < 0 || rename(tmp, path) < 0)
                return -errno;
        DISARM(tmp);
        return 0;
}

int copy_file(const char *src, const char *dst, mode_t mode) {
        _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        struct stat st;
        if (fstat(in, &st) < 0)
                return -errno;
        _cleanup_free_ char *d = strdup(dst);
        if (!d)
                return -ENOMEM;
        _cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (out < 0)
                return -errno;
        /* Ours from here (O_EXCL): removed on every failure below. */
        _cleanup_unlink_ char *made = TAKE_PTR(d);
        off_t pos = 0;
        /* Walk the data extents so sparse qcow2 files stay sparse. */
        while (pos < st.st_size) {
                off_t data = lseek(in, pos, SEEK_DATA);
                if (data < 0) {
                        if (errno == ENXIO)
                                break;
                        return -errno;
                }
                off_t hole = lseek(in, data, SEEK_HOLE);
                if (hole < 0)
                        return -errno;
                off_t o_in = data, o_out = data;
                bool plain = false;
                while (o_in < hole && !plain) {
                        ssize_t k = copy_file_range(in, &o_in, out, &o_out, (size_t)(hole - o_in), 0);
                        if (k < 0) {
                                if (errno == EINTR)
                                        continue;
                                /* Across filesystems (older kernels, overlayfs) or where the
                                 * filesystem cannot: copy through a buffer instead. */
                                if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
                                        plain = true;
                                        break;
                                }
                                return -errno;
                        }
                        if (k == 0)
                                break;
                }
                while (plain && o_in < hole) {
                        char buf[65536];
                        size_t want = (size_t)(hole - o_in) < sizeof buf ? (size_t)(hole - o_in) : sizeof buf;
                        ssize_t k = pread(in, buf, want, o_in);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                return k < 0 ? -errno : -EIO;
                        for (ssize_t done = 0; done < k;) {
                                ssize_t w = pwrite(out, buf + done, (size_t)(k - done), o_out);
                                if (w < 0 && errno == EINTR)
                                        continue;
                                if (w < 0)
                                        return -errno;
                                done += w;
                                o_out += w;
                        }
                        o_in += k;
                }
                pos = hole;
        }
        if (ftruncate(out, st.st_size) < 0 || close(TAKE_FD(out)) < 0)
                return -errno;
        DISARM(made);
        return 0;
}

char *path_join(const char *a, const char *b) {
        size_t la = strlen(a);
        while (*b == '/')
                b++;
        return strdup_printf("%s%s%s", a, la > 0 && a[la - 1] == '/' ? "" : "/", b);
}

char *path_dirname(const char *path) {
        const char *s = strrchr(path, '/');
        if (!s)
                return strdup(".");
        if (s == path)
                return strdup("/");
        return strndup(path, (size_t)(s - path));
}

char *path_nearest_existing(const char *path) {
        char *p = strdup(path);
        while (p && !path_exists(p)) {
                char *d = path_dirname(p);
                bool top = d && streq(d, p);
                free(p);
                p = d;
                if (top)
                        break;
        }
        return p;
}

uint64_t file_size_or_zero(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms) {
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

const char *format_bytes(char *buf, size_t size, uint64_t bytes) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double)bytes;
        size_t u = 0;
        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%llu B", (unsigned long long)bytes);
        else
                snprintf(buf, size, "%.1f %s", v, units[u]);
        return buf;
}

void unlink_and_free(char *p) {
        if (!p)
                return;
        int saved = errno;
        unlink_if_exists(p);
        free(p);
        errno = saved;
}

void rm_rf_and_free(char *p) {
        if (!p)
                return;
        int saved = errno;
        rm_rf(p);
        free(p);
        errno = saved;
}

const char *runtime_tmpdir(void) {
        const char *t = getenv("TMPDIR");
        if (isempty(t) || strlen(t) > 60 || t[0] != '/')
                return "/tmp";
        for (const char *p = t; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-", *p))
                        return "/tmp";
        return t;
}

int reason_fail(char *buf, size_t size, const char *fmt, ...) {
        if (buf && size) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(buf, size, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

int free_loopback_port(unsigned *ret) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &l) < 0)
                return -errno;
        *ret = ntohs(a.sin_port);
        return 0;
}
