/* Zip archive reader for /extract. Two passes over the central directory: the first (zip_open)
 * checks every name, clash, method, size and local header so that a bad archive writes
 * nothing; the second (zip_unpack) extracts. */
#include "zip.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "inflate.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define EOCD_LEN 22
#define CENTRAL_LEN 46
#define LOCAL_LEN 30

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static int seterr(char *err, size_t errsz, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int seterr(char *err, size_t errsz, int r, const char *fmt, ...) {
        if (err && errsz) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err, errsz, fmt, ap);
                va_end(ap);
        }
        return r;
}

int zip_check_name(const char *raw, size_t len, char *out, size_t outsz, bool *is_dir) {
        if (len == 0 || len >= outsz || len > ZIP_MAX_NAME)
                return -EPERM;
        *is_dir = raw[len - 1] == '/' || raw[len - 1] == '\\';
        if (raw[0] == '/' || raw[0] == '\\')
                return -EPERM;   /* absolute, or a UNC path */
        size_t o = 0;
        size_t i = 0;
        while (i < len) {
                size_t start = i;
                while (i < len && raw[i] != '/' && raw[i] != '\\')
                        i++;
                size_t clen = i - start;
                const char *comp = raw + start;
                i++;   /* skip the separator */
                if (clen == 0 || (clen == 1 && comp[0] == '.'))
                        continue;
                /* Only-dots-and-spaces components: "..", and what Windows trims to it (".. ", "..."). */
                bool dots = true;
                for (size_t k = 0; k < clen; k++)
                        if (comp[k] != '.' && comp[k] != ' ')
                                dots = false;
                if (dots)
                        return -EPERM;
                for (size_t k = 0; k < clen; k++) {
                        unsigned char c = (unsigned char)comp[k];
                        /* ':' makes drive letters ("C:x") and NTFS streams; control bytes are never names. */
                        if (c < 0x20 || c == ':' || c == 0x7f)
                                return -EPERM;
                }
                if (o)
                        out[o++] = '/';
                memcpy(out + o, comp, clen);
                o += clen;
        }
        if (o == 0) {
                if (*is_dir)
                        return -EPERM;   /* "./" and the like: nothing to create */
                return -EPERM;
        }
        out[o] = 0;
        return 0;
}

/* One entry in path order (the names live in zip.names). */
struct path {
        const char *name;
        bool is_dir;
};

struct zip {
        const struct zip_source *src;
        struct zip_limits limits;
        uint64_t cd_offset, cd_size, entries;
        struct buf_names {
                char *data;
                size_t len, cap;
        } names;                        /* every normalised name, NUL-terminated, in archive order */
        struct path *paths;             /* sorted by path_cmp */
        size_t n_paths;
        char raw[65536 + 1];            /* scratch for one entry's name and extra field */
        unsigned char extra[65536];
};

struct entry {
        char name[ZIP_MAX_NAME + 1];
        bool is_dir;
        uint16_t flags, method;
        uint32_t crc, unix_mode;
        uint64_t csize, usize, local_offset;
        uint64_t next;   /* offset of the next central header */
};

static int find_eocd(struct zip *z, char *err, size_t errsz) {
        const struct zip_source *src = z->src;
        if (src->size < EOCD_LEN)
                return seterr(err, errsz, -EBADMSG, "not a zip file (too short)");
        uint64_t tail = src->size < EOCD_LEN + 65535 ? src->size : EOCD_LEN + 65535;
        unsigned char *buf = malloc(tail);
        if (!buf)
                return -ENOMEM;
        int r = src->read_at(src->userdata, src->size - tail, buf, tail);
        if (r < 0) {
                free(buf);
                return r;
        }
        long at = -1;
        for (long i = (long)tail - EOCD_LEN; i >= 0; i--)
                if (le32(buf + i) == SIG_EOCD && (uint64_t)i + EOCD_LEN + le16(buf + i + 20) <= tail) {
                        at = i;
                        break;
                }
        if (at < 0) {
                free(buf);
                return seterr(err, errsz, -EBADMSG, "not a zip file (no end of central directory)");
        }
        const unsigned char *e = buf + at;
        uint64_t eocd_off = src->size - tail + (uint64_t)at;
        uint16_t disk = le16(e + 4), cd_disk = le16(e + 6);
        z->entries = le16(e + 10);
        z->cd_size = le32(e + 12);
        z->cd_offset = le32(e + 16);
        free(buf);

        if (z->entries == 0xffff || z->cd_size == 0xffffffffu || z->cd_offset == 0xffffffffu) {
                unsigned char loc[20], e64[56];
                if (eocd_off < 20)
                        return seterr(err, errsz, -EBADMSG, "corrupt zip (ZIP64 locator missing)");
                r = src->read_at(src->userdata, eocd_off - 20, loc, sizeof loc);
                if (r < 0)
                        return r;
                if (le32(loc) != SIG_LOC64)
                        return seterr(err, errsz, -EBADMSG, "corrupt zip (ZIP64 locator missing)");
                uint64_t off64 = le64(loc + 8);
                if (off64 > src->size || src->size - off64 < sizeof e64)
                        return seterr(err, errsz, -EBADMSG, "corrupt zip (bad ZIP64 record offset)");
                r = src->read_at(src->userdata, off64, e64, sizeof e64);
                if (r < 0)
                        return r;
                if (le32(e64) != SIG_EOCD64)
                        return seterr(err, errsz, -EBADMSG, "corrupt zip (bad ZIP64 record)");
                disk = (uint16_t)(le32(e64 + 16) ? 1 : 0);
                cd_disk = (uint16_t)(le32(e64 + 20) ? 1 : 0);
                z->entries = le64(e64 + 32);
                z->cd_size = le64(e64 + 40);
                z->cd_offset = le64(e64 + 48);
                eocd_off = off64;
        }
        if (disk != 0 || cd_disk != 0)
                return seterr(err, errsz, -ENOTSUP, "multi-disk zip archives are not supported");
        if (z->cd_offset > eocd_off || z->cd_size > eocd_off - z->cd_offset)
                return seterr(err, errsz, -EBADMSG, "corrupt zip (central directory out of range)");
        return 0;
}

/* Read the central header at off into e and check it. */
static int read_entry(struct zip *z, uint64_t off, struct entry *e, char *err, size_t errsz) {
        const struct zip_source *src = z->src;
        uint64_t cd_end = z->cd_offset + z->cd_size;
        unsigned char h[CENTRAL_LEN];
        if (off > cd_end || cd_end - off < CENTRAL_LEN)
                return seterr(err, errsz, -EBADMSG, "corrupt zip (central directory truncated)");
        int r = src->read_at(src->userdata, off, h, sizeof h);
        if (r < 0)
                return r;
        if (le32(h) != SIG_CENTRAL)
                return seterr(err, errsz, -EBADMSG, "corrupt zip (bad central directory entry)");
        uint16_t made_by = le16(h + 4);
        e->flags = le16(h + 8);
        e->method = le16(h + 10);
        e->crc = le32(h + 16);
        e->csize = le32(h + 20);
        e->usize = le32(h + 24);
        uint16_t nlen = le16(h + 28), xlen = le16(h + 30), clen = le16(h + 32);
        uint16_t disk = le16(h + 34);
        uint32_t ext = le32(h + 38);
        e->local_offset = le32(h + 42);
        e->unix_mode = (made_by >> 8) == 3 ? ext >> 16 : 0;
        uint64_t var = (uint64_t)nlen + xlen + clen;
        if (cd_end - off - CENTRAL_LEN < var)
                return seterr(err, errsz, -EBADMSG, "corrupt zip (central directory truncated)");
        e->next = off + CENTRAL_LEN + var;

        char *raw = z->raw;
        unsigned char *extra = z->extra;
        r = src->read_at(src->userdata, off + CENTRAL_LEN, raw, nlen);
        if (r < 0)
                return r;
        raw[nlen] = 0;
        r = src->read_at(src->userdata, off + CENTRAL_LEN + nlen, extra, xlen);
        if (r < 0)
                return r;
        if (memchr(raw, 0, nlen))
                return seterr(err, errsz, -EPERM, "zip entry name contains a NUL byte");
        if (zip_check_name(raw, nlen, e->name, sizeof e->name, &e->is_dir) < 0)
                return seterr(err, errsz, -EPERM, "unsafe zip entry name '%.200s' (absolute, '..', drive or stream)", raw);

        /* ZIP64 extended information: the fields that are all ones follow in order. */
        for (size_t p = 0; p + 4 <= xlen;) {
                uint16_t id = le16(extra + p), sz = le16(extra + p + 2);
                if (p + 4 + sz > xlen)
                        break;
                if (id == 0x0001) {
                        const unsigned char *q = extra + p + 4, *qe = q + sz;
                        if (e->usize == 0xffffffffu) {
                                if (qe - q < 8)
                                        return seterr(err, errsz, -EBADMSG, "corrupt zip (ZIP64 field)");
                                e->usize = le64(q);
                                q += 8;
                        }
                        if (e->csize == 0xffffffffu) {
                                if (qe - q < 8)
                                        return seterr(err, errsz, -EBADMSG, "corrupt zip (ZIP64 field)");
                                e->csize = le64(q);
                                q += 8;
                        }
                        if (e->local_offset == 0xffffffffu) {
                                if (qe - q < 8)
                                        return seterr(err, errsz, -EBADMSG, "corrupt zip (ZIP64 field)");
                                e->local_offset = le64(q);
                                q += 8;
                        }
                        if (disk == 0xffff) {
                                if (qe - q < 4)
                                        return seterr(err, errsz, -EBADMSG, "corrupt zip (ZIP64 field)");
                                disk = (uint16_t)(le32(q) ? 1 : 0);
                        }
                }
                p += 4 + (size_t)sz;
        }
        if (disk != 0)
                return seterr(err, errsz, -ENOTSUP, "multi-disk zip archives are not supported");
        if (e->flags & 0x41)
                return seterr(err, errsz, -ENOTSUP, "zip entry '%s' is encrypted", e->name);
        if (e->method != 0 && e->method != 8)
                return seterr(err, errsz, -ENOTSUP, "zip entry '%s' uses compression method %u (only stored and deflate are supported)",
                              e->name, e->method);
        if (e->method == 0 && e->csize != e->usize)
                return seterr(err, errsz, -EBADMSG, "corrupt zip (stored entry '%s' sizes differ)", e->name);
        if (e->local_offset >= z->cd_offset)
                return seterr(err, errsz, -EBADMSG, "corrupt zip (entry '%s' out of range)", e->name);
        return 0;
}

struct limited {
        const struct zip_source *src;
        uint64_t off, left;
        const struct zip_sink *sink;
        uint32_t crc;
        uint64_t written;
};

static long limited_read(void *userdata, unsigned char *buf, size_t len) {
        struct limited *l = userdata;
        if (len > l->left)
                len = (size_t)l->left;
        if (len == 0)
                return 0;
        int r = l->src->read_at(l->src->userdata, l->off, buf, len);
        if (r < 0)
                return r;
        l->off += len;
        l->left -= len;
        return (long)len;
}

static int sink_write(void *userdata, const unsigned char *data, size_t len) {
        struct limited *l = userdata;
        l->crc = (uint32_t)crc32_z(l->crc, data, len);
        l->written += len;
        return l->sink->file_data ? l->sink->file_data(l->sink->userdata, data, len) : 0;
}

/* Find where the entry's data starts (after its local header) and check it fits. */
static int data_offset(struct zip *z, const struct entry *e, uint64_t *ret, char *err, size_t errsz) {
        const struct zip_source *src = z->src;
        unsigned char h[LOCAL_LEN];
        int r = src->read_at(src->userdata, e->local_offset, h, sizeof h);
        if (r < 0)
                return r == -EBADMSG ? seterr(err, errsz, -EBADMSG, "corrupt zip (local header of '%s' truncated)", e->name) : r;
        if (le32(h) != SIG_LOCAL)
                return seterr(err, errsz, -EBADMSG, "corrupt zip (bad local header of '%s')", e->name);
        uint64_t data = e->local_offset + LOCAL_LEN + le16(h + 26) + le16(h + 28);
        if (data > z->cd_offset || z->cd_offset - data < e->csize)
                return seterr(err, errsz, -EBADMSG, "corrupt zip (data of '%s' out of range)", e->name);
        *ret = data;
        return 0;
}

static int extract_entry(struct zip *z, const struct entry *e, const struct zip_sink *sink, char *err, size_t errsz) {
        const struct zip_source *src = z->src;
        uint64_t data;
        int r = data_offset(z, e, &data, err, errsz);
        if (r < 0)
                return r;

        if (e->is_dir)
                return sink->dir ? sink->dir(sink->userdata, e->name) : 0;

        if (sink->file_begin) {
                r = sink->file_begin(sink->userdata, e->name, e->unix_mode);
                if (r < 0)
                        return r;
        }
        struct limited l = { .src = src, .off = data, .left = e->csize, .sink = sink };
        if (e->method == 0) {
                unsigned char buf[16384];
                for (;;) {
                        long n = limited_read(&l, buf, sizeof buf);
                        if (n <= 0) {
                                r = (int)n;
                                break;
                        }
                        r = sink_write(&l, buf, (size_t)n);
                        if (r < 0)
                                break;
                }
        } else {
                struct inflate_io io = { limited_read, sink_write, &l };
                uint64_t out = 0;
                r = inflate_raw(&io, e->usize, &out);
                if (r == -EFBIG)
                        r = seterr(err, errsz, -EBADMSG, "corrupt zip ('%s' inflates past its stated size)", e->name);
                else if (r == -EBADMSG)
                        r = seterr(err, errsz, -EBADMSG, "corrupt zip (bad deflate data in '%s')", e->name);
        }
        if (r >= 0 && l.written != e->usize)
                r = seterr(err, errsz, -EBADMSG, "corrupt zip ('%s' has %llu bytes, expected %llu)", e->name,
                           (unsigned long long)l.written, (unsigned long long)e->usize);
        if (r >= 0 && l.crc != e->crc)
                r = seterr(err, errsz, -EBADMSG, "corrupt zip (CRC mismatch in '%s')", e->name);
        if (sink->file_end) {
                int k = sink->file_end(sink->userdata, r >= 0);
                if (r >= 0 && k < 0)
                        r = k;
        }
        return r;
}

/* --- names: order and clashes --- */

static bool windows_device(const char *comp, size_t len) {
        /* CON, PRN, AUX, NUL, COM0-9, LPT0-9, also with an extension ("nul.txt"). */
        size_t base = 0;
        while (base < len && comp[base] != '.')
                base++;
        while (base > 0 && comp[base - 1] == ' ')
                base--;
        char b[5] = "";
        if (base < 3 || base > 4)
                return false;
        for (size_t i = 0; i < base; i++)
                b[i] = (char)(comp[i] >= 'a' && comp[i] <= 'z' ? comp[i] - 32 : comp[i]);
        if (base == 3)
                return !strcmp(b, "CON") || !strcmp(b, "PRN") || !strcmp(b, "AUX") || !strcmp(b, "NUL");
        return (!strncmp(b, "COM", 3) || !strncmp(b, "LPT", 3)) && b[3] >= '0' && b[3] <= '9';
}

/* A normalised name that Windows would refuse, or treat as another name or a device. */
static const char *windows_name_problem(const char *name) {
        for (const char *c = name; *c;) {
                size_t n = strcspn(c, "/");
                if (c[n - 1] == '.' || c[n - 1] == ' ')
                        return "Windows drops trailing dots and spaces";
                if (windows_device(c, n))
                        return "a Windows device name";
                for (size_t i = 0; i < n; i++)
                        if (strchr("<>\"|?*", c[i]))
                                return "a character Windows does not allow";
                c += n;
                if (*c)
                        c++;
        }
        return NULL;
}

/* Byte order with '/' lowest, so that a name comes right before everything under it;
 * optionally ASCII case-insensitive. */
static int name_byte(unsigned char c, bool fold) {
        if (c == '/')
                return 1;
        if (fold && c >= 'A' && c <= 'Z')
                return c + 32;
        return c;
}

static int name_ncmp(const char *a, const char *b, size_t n, bool fold) {
        for (size_t i = 0; i < n; i++) {
                int x = name_byte((unsigned char)a[i], fold), y = name_byte((unsigned char)b[i], fold);
                if (x != y || !x)
                        return x - y;
        }
        return 0;
}

static int path_cmp_exact(const void *a, const void *b) {
        return name_ncmp(((const struct path *)a)->name, ((const struct path *)b)->name, SIZE_MAX, false);
}

static int path_cmp_fold(const void *a, const void *b) {
        return name_ncmp(((const struct path *)a)->name, ((const struct path *)b)->name, SIZE_MAX, true);
}

bool zip_name_within(const struct zip *z, const char *name, const char *prefix, size_t len) {
        return name_ncmp(name, prefix, len, z->limits.windows_names) == 0 && strlen(name) >= len &&
               (name[len] == 0 || name[len] == '/');
}

/* After sorting, every clash sits next to its partner: a name equals its neighbour, or a file
 * is followed by something under it. */
static int check_clashes(struct zip *z, char *err, size_t errsz) {
        bool fold = z->limits.windows_names;
        for (size_t i = 0; i + 1 < z->n_paths; i++) {
                const struct path *a = &z->paths[i], *b = &z->paths[i + 1];
                if (name_ncmp(a->name, b->name, SIZE_MAX, fold) == 0) {
                        if (a->is_dir && b->is_dir)
                                continue;   /* a directory named twice is harmless */
                        if (a->is_dir != b->is_dir)
                                return seterr(err, errsz, -EEXIST, "zip entry '%.300s' is both a file and a directory", b->name);
                        if (strcmp(a->name, b->name) != 0)
                                return seterr(err, errsz, -EEXIST, "zip entries '%.300s' and '%.300s' are the same file on Windows",
                                              a->name, b->name);
                        return seterr(err, errsz, -EEXIST, "duplicate zip entry '%.300s'", b->name);
                }
                if (!a->is_dir && zip_name_within(z, b->name, a->name, strlen(a->name)))
                        return seterr(err, errsz, -EEXIST, "zip entry '%.300s' is inside '%.300s', which the archive holds as a file",
                                      b->name, a->name);
        }
        return 0;
}

/* --- the archive --- */

int zip_open(const struct zip_source *src, const struct zip_limits *limits, struct zip **ret, char *err, size_t errsz) {
        if (err && errsz)
                err[0] = 0;
        *ret = NULL;
        struct zip *zp = calloc(1, sizeof *zp);
        struct entry *e = malloc(sizeof *e);
        if (!zp || !e) {
                free(zp);
                free(e);
                return -ENOMEM;
        }
        zp->src = src;
        zp->limits = *limits;
        int r = find_eocd(zp, err, errsz);
        if (r < 0)
                goto out;
        if (zp->entries > limits->max_entries) {
                r = seterr(err, errsz, -EFBIG, "zip has %llu entries, more than the limit of %u",
                           (unsigned long long)zp->entries, limits->max_entries);
                goto out;
        }
        if (zp->entries * CENTRAL_LEN > zp->cd_size) {
                r = seterr(err, errsz, -EBADMSG, "corrupt zip (entry count does not fit the central directory)");
                goto out;
        }

        uint64_t total = 0, off = zp->cd_offset;
        for (uint64_t i = 0; i < zp->entries; i++) {
                r = read_entry(zp, off, e, err, errsz);
                if (r < 0)
                        goto out;
                if (e->usize > limits->max_total || total > limits->max_total - e->usize) {
                        r = seterr(err, errsz, -EFBIG, "zip would extract to more than %llu bytes",
                                   (unsigned long long)limits->max_total);
                        goto out;
                }
                total += e->usize;
                uint64_t data;
                r = data_offset(zp, e, &data, err, errsz);
                if (r < 0)
                        goto out;
                const char *why = limits->windows_names ? windows_name_problem(e->name) : NULL;
                if (why) {
                        r = seterr(err, errsz, -EPERM, "unsafe zip entry name '%.300s' (%s)", e->name, why);
                        goto out;
                }
                size_t len = strlen(e->name) + 1;
                struct buf_names *nb = &zp->names;
                if (nb->len + len > ZIP_MAX_NAME_BYTES) {
                        r = seterr(err, errsz, -EFBIG, "zip entry names take more than %u bytes", ZIP_MAX_NAME_BYTES);
                        goto out;
                }
                if (nb->len + len + 1 > nb->cap) {
                        size_t cap = nb->cap ? nb->cap * 2 : 65536;
                        while (cap < nb->len + len + 1)
                                cap *= 2;
                        char *p = realloc(nb->data, cap);
                        if (!p) {
                                r = -ENOMEM;
                                goto out;
                        }
                        nb->data = p;
                        nb->cap = cap;
                }
                memcpy(nb->data + nb->len, e->name, len);
                /* The directory flag rides in the byte after the NUL, until the paths are made. */
                nb->data[nb->len + len] = e->is_dir ? 1 : 0;
                nb->len += len + 1;
                off = e->next;
        }

        zp->paths = zp->entries ? calloc((size_t)zp->entries, sizeof *zp->paths) : NULL;
        if (zp->entries && !zp->paths) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t at = 0; zp->n_paths < zp->entries; zp->n_paths++) {
                const char *name = zp->names.data + at;
                size_t len = strlen(name);
                zp->paths[zp->n_paths] = (struct path){ name, name[len + 1] == 1 };
                at += len + 2;
        }
        if (zp->n_paths)
                qsort(zp->paths, zp->n_paths, sizeof *zp->paths, limits->windows_names ? path_cmp_fold : path_cmp_exact);
        r = check_clashes(zp, err, errsz);
out:
        free(e);
        if (r < 0)
                zip_close(zp);
        else
                *ret = zp;
        return r;
}

void zip_close(struct zip *z) {
        if (!z)
                return;
        free(z->paths);
        free(z->names.data);
        free(z);
}

size_t zip_count(const struct zip *z) { return z->n_paths; }

const char *zip_name(const struct zip *z, size_t i, bool *is_dir) {
        *is_dir = z->paths[i].is_dir;
        return z->paths[i].name;
}

int zip_unpack(struct zip *z, const struct zip_sink *sink, char *err, size_t errsz) {
        if (err && errsz)
                err[0] = 0;
        struct entry *e = malloc(sizeof *e);
        if (!e)
                return -ENOMEM;
        int r = 0;
        uint64_t off = z->cd_offset;
        for (uint64_t i = 0; i < z->entries && r >= 0; i++) {
                r = read_entry(z, off, e, err, errsz);
                if (r >= 0)
                        r = extract_entry(z, e, sink, err, errsz);
                off = e->next;
        }
        free(e);
        return r < 0 ? r : 0;
}

int zip_extract(const struct zip_source *src, const struct zip_sink *sink, const struct zip_limits *limits,
                char *err, size_t errsz) {
        struct zip *z;
        int r = zip_open(src, limits, &z, err, errsz);
        if (r < 0)
                return r;
        r = zip_unpack(z, sink, err, errsz);
        zip_close(z);
        return r;
}
