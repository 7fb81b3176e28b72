/* Windows install sources: UDF through libudfread, ISO 9660 through libisofs (its tree is
 * indexed once at open, file data then read by sector), folders through the file system.
 * All three share one case-insensitive walk over a "list a folder" operation. */
#include "guest/isowrite.h"   /* libisofs */
#include <udfread/udfread.h>

#include "guest/winsrc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"
#include "guest/le.h"

#define SECTOR 2048u

/* A node of the ISO 9660 tree, copied out of libisofs at open. */
struct iso_ix {
        char *name;
        bool dir;
        uint64_t size;
        struct iso_file_section *sections;   /* files: extents (several for files > 4 GiB) */
        int n_sections;
        struct iso_ix *children;
        size_t n_children;
};

struct win_source {
        enum win_source_kind kind;
        char *path;
        char *label;
        int fd;                 /* the image (ISO kinds) */
        udfread *udf;
        struct iso_ix iso_root;
};

struct win_file {
        struct win_source *src;
        char *path;
        uint64_t size;
        int fd;                          /* folder source */
        UDFFILE *udf;
        const struct iso_ix *iso;
};

struct win_dirent {
        char *name;
        bool dir;
        uint64_t size;
};

static void dirents_free(struct win_dirent *e, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(e[i].name);
        free(e);
}

static void iso_ix_done(struct iso_ix *n) {
        for (size_t i = 0; i < n->n_children; i++)
                iso_ix_done(&n->children[i]);
        free(n->children);
        free(n->sections);
        free(n->name);
}

const char *win_source_kind_name(enum win_source_kind k) {
        switch (k) {
        case WIN_SOURCE_DIR:
                return "folder";
        case WIN_SOURCE_UDF:
                return "UDF";
        case WIN_SOURCE_ISO9660:
                return "ISO 9660";
        }
        return "?";
}

enum win_source_kind win_source_get_kind(const struct win_source *s) { return s->kind; }
const char *win_source_path(const struct win_source *s) { return s->path; }
const char *win_source_label(const struct win_source *s) { return s->label; }

void win_source_free(struct win_source *s) {
        if (!s)
                return;
        if (s->udf)
                udfread_close(s->udf);
        iso_ix_done(&s->iso_root);
        if (s->fd >= 0)
                close(s->fd);
        free(s->label);
        free(s->path);
        free(s);
}

/* Exactly len bytes at off; -EIO when the file ends first. */
static int pread_all(int fd, void *buf, size_t len, uint64_t off) {
        for (size_t done = 0; done < len;) {
                ssize_t k = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EIO;
                done += (size_t)k;
        }
        return 0;
}

static int read_sectors(int fd, void *buf, uint32_t lba, uint32_t count) {
        return pread_all(fd, buf, (size_t)count * SECTOR, (uint64_t)lba * SECTOR);
}

/* Which file systems the volume descriptors announce (ECMA-119 §8, ECMA-167 2/9.1): ISO 9660
 * descriptors run from sector 16 to their terminator, the UDF recognition sequence follows. */
static void detect(int fd, bool *iso9660, bool *udf, char label[33]) {
        unsigned char sec[SECTOR];
        *iso9660 = *udf = false;
        label[0] = 0;
        for (uint32_t lba = 16; lba < 16 + 64; lba++) {
                if (read_sectors(fd, sec, lba, 1) < 0)
                        return;
                const char *id = (const char *)sec + 1;
                if (memcmp(id, "CD001", 5) == 0) {
                        if (sec[0] == 1) {
                                *iso9660 = true;
                                memcpy(label, sec + 40, 32);
                                label[32] = 0;
                        }
                } else if (memcmp(id, "NSR02", 5) == 0 || memcmp(id, "NSR03", 5) == 0) {
                        *udf = true;
                } else if (memcmp(id, "TEA01", 5) == 0) {
                        return;
                } else if (memcmp(id, "BEA01", 5) != 0 && memcmp(id, "BOOT2", 5) != 0 &&
                           memcmp(id, "CDW02", 5) != 0) {
                        return;
                }
        }
}

static char *trimmed(const char *s) {
        while (*s == ' ')
                s++;
        size_t l = strlen(s);
        while (l > 0 && s[l - 1] == ' ')
                l--;
        return l ? strndup(s, l) : NULL;
}

static int iso_ix_fill(IsoDir *dir, struct iso_ix *out) {
        IsoDirIter *it = NULL;
        if (iso_dir_get_children(dir, &it) < 0)
                return -ENOMEM;
        IsoNode *node;
        int r = 0;
        while (r == 0 && iso_dir_iter_next(it, &node) == 1) {
                enum IsoNodeType t = iso_node_get_type(node);
                if (t != LIBISO_DIR && t != LIBISO_FILE)
                        continue;   /* boot catalog, symlinks, devices: nothing Windows reads */
                struct iso_ix *n = realloc(out->children, (out->n_children + 1) * sizeof *n);
                if (!n) {
                        r = -ENOMEM;
                        break;
                }
                out->children = n;
                struct iso_ix *c = &out->children[out->n_children];
                *c = (struct iso_ix){ .name = strdup(iso_node_get_name(node)), .dir = t == LIBISO_DIR };
                out->n_children++;
                if (!c->name) {
                        r = -ENOMEM;
                        break;
                }
                if (c->dir)
                        r = iso_ix_fill((IsoDir *)node, c);
                else {
                        c->size = (uint64_t)iso_file_get_size((IsoFile *)node);
                        if (iso_file_get_old_image_sections((IsoFile *)node, &c->n_sections, &c->sections, 0) < 0)
                                r = -EIO;
                }
        }
        iso_dir_iter_free(it);
        return r;
}

/* The ISO 9660 tree through libisofs (Rock Ridge names, else Joliet, else ISO 9660), copied
 * into our index so no libisofs state outlives this call. */
static int open_iso9660(struct win_source *s) {
        if (iso_init() < 0)
                return log_error_errno(-EIO, "%s: cannot initialise libisofs", s->path);
        iso_set_msgs_severities((char *)"NEVER", (char *)"NEVER", (char *)"vmcloak");
        IsoDataSource *ds = NULL;
        IsoReadOpts *ro = NULL;
        IsoImage *img = NULL;
        IsoReadImageFeatures *features = NULL;
        int r = iso_data_source_new_from_file(s->path, &ds);
        if (r >= 0)
                r = iso_read_opts_new(&ro, 0);
        if (r >= 0)
                r = iso_image_new("vmcloak", &img);
        if (r >= 0)
                r = iso_image_import(img, ds, ro, &features);
        int ret = 0;
        if (r < 0)
                ret = log_error_errno(-EIO, "%s: cannot read its ISO 9660 file system: %s", s->path,
                                      iso_error_to_msg(r));
        else if ((ret = iso_ix_fill(iso_image_get_root(img), &s->iso_root)) < 0)
                ret = ret == -ENOMEM ? log_oom() : log_error_errno(ret, "%s: cannot read its ISO 9660 tree", s->path);
        s->iso_root.dir = true;
        if (features)
                iso_read_image_features_destroy(features);
        if (img)
                iso_image_unref(img);
        if (ro)
                iso_read_opts_free(ro);
        if (ds)
                iso_data_source_unref(ds);
        return ret;
}

int win_source_open(const char *path, struct win_source **ret) {
        _cleanup_win_source_ struct win_source *s = calloc(1, sizeof *s);
        if (!s)
                return log_oom();
        s->fd = -1;
        s->path = strdup(path);
        if (!s->path)
                return log_oom();
        struct stat st;
        if (stat(path, &st) < 0)
                return log_error_errno(-errno, "%s: %m", path);
        if (S_ISDIR(st.st_mode)) {
                s->kind = WIN_SOURCE_DIR;
                *ret = TAKE_PTR(s);
                return 0;
        }
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0)
                return log_error_errno(-errno, "%s: %m", path);
        bool iso9660, udf;
        char pvd_label[33];
        detect(s->fd, &iso9660, &udf, pvd_label);
        if (udf) {
                s->udf = udfread_init();
                if (!s->udf)
                        return log_oom();
                if (udfread_open(s->udf, path) < 0) {
                        udfread_close(s->udf);
                        s->udf = NULL;
                        if (!iso9660)
                                return log_error_errno(-EIO, "%s: its UDF file system cannot be read", path);
                        log_warning("%s: its UDF file system cannot be read; reading its ISO 9660 one instead", path);
                } else {
                        s->kind = WIN_SOURCE_UDF;
                        const char *v = udfread_get_volume_id(s->udf);
                        if (v && *v && !(s->label = strdup(v)))
                                return log_oom();
                        *ret = TAKE_PTR(s);
                        return 0;
                }
        }
        if (!iso9660)
                return log_error_errno(-EMEDIUMTYPE, "%s: not an ISO 9660/UDF image", path);
        s->kind = WIN_SOURCE_ISO9660;
        s->label = trimmed(pvd_label);
        int r = open_iso9660(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* --- listing one folder (a path as the medium spells it, "" = root) ---------------------- */

static int push_dirent(struct win_dirent **e, size_t *n, const char *name, bool dir, uint64_t size) {
        struct win_dirent *m = realloc(*e, (*n + 1) * sizeof **e);
        if (!m)
                return -ENOMEM;
        *e = m;
        m[*n] = (struct win_dirent){ .name = strdup(name), .dir = dir, .size = size };
        if (!m[*n].name)
                return -ENOMEM;
        (*n)++;
        return 0;
}

static const struct iso_ix *iso_ix_find(const struct iso_ix *root, const char *real) {
        const struct iso_ix *cur = root;
        for (const char *p = real; *p;) {
                const char *slash = strchrnul(p, '/');
                size_t len = (size_t)(slash - p);
                const struct iso_ix *next = NULL;
                for (size_t i = 0; cur->dir && i < cur->n_children; i++)
                        if (strlen(cur->children[i].name) == len && memcmp(cur->children[i].name, p, len) == 0)
                                next = &cur->children[i];
                if (!next)
                        return NULL;
                cur = next;
                p = *slash ? slash + 1 : slash;
        }
        return cur;
}

static int list_udf(struct win_source *s, const char *real, bool with_sizes, struct win_dirent **e, size_t *n) {
        _cleanup_free_ char *abs = strdup_printf("/%s", real);
        if (!abs)
                return -ENOMEM;
        UDFDIR *d = udfread_opendir(s->udf, abs);
        if (!d)
                return -ENOENT;
        struct udfread_dirent ent;
        int r = 0;
        while (r == 0 && udfread_readdir(d, &ent)) {
                if (streq(ent.d_name, ".") || streq(ent.d_name, ".."))
                        continue;
                uint64_t size = 0;
                if (with_sizes && ent.d_type != UDF_DT_DIR) {
                        UDFFILE *f = udfread_file_openat(d, ent.d_name);
                        if (!f) {
                                r = -EIO;
                                break;
                        }
                        int64_t sz = udfread_file_size(f);
                        udfread_file_close(f);
                        size = sz > 0 ? (uint64_t)sz : 0;
                }
                r = push_dirent(e, n, ent.d_name, ent.d_type == UDF_DT_DIR, size);
        }
        udfread_closedir(d);
        return r;
}

static int list_dir(struct win_source *s, const char *real, struct win_dirent **e, size_t *n) {
        _cleanup_free_ char *abs = path_join(s->path, real);
        if (!abs)
                return -ENOMEM;
        DIR *d = opendir(abs);
        if (!d)
                return -errno;
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
                        r = -errno;
                        break;
                }
                if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                        continue;
                r = push_dirent(e, n, de->d_name, S_ISDIR(st.st_mode), (uint64_t)st.st_size);
        }
        closedir(d);
        return r;
}

static int dirent_cmp(const void *a, const void *b) {
        return strcmp(((const struct win_dirent *)a)->name, ((const struct win_dirent *)b)->name);
}

/* The entries of one folder, sorted by name so walks are the same whatever the medium. Sizes
 * only when asked: on UDF each one opens the file. */
static int list_folder(struct win_source *s, const char *real, bool with_sizes, struct win_dirent **e, size_t *n) {
        *e = NULL;
        *n = 0;
        int r;
        switch (s->kind) {
        case WIN_SOURCE_UDF:
                r = list_udf(s, real, with_sizes, e, n);
                break;
        case WIN_SOURCE_DIR:
                r = list_dir(s, real, e, n);
                break;
        default: {
                const struct iso_ix *d = iso_ix_find(&s->iso_root, real);
                r = !d ? -ENOENT : !d->dir ? -ENOTDIR : 0;
                for (size_t i = 0; r == 0 && d && i < d->n_children; i++)
                        r = push_dirent(e, n, d->children[i].name, d->children[i].dir, d->children[i].size);
        }
        }
        if (r < 0) {
                dirents_free(*e, *n);
                *e = NULL;
                *n = 0;
        } else if (*n > 1)
                qsort(*e, *n, sizeof **e, dirent_cmp);
        return r;
}

/* path (any case, '/' separated) -> the medium's spelling, whether it is a folder, its size.
 * -ENOENT when some component is missing. */
static int resolve(struct win_source *s, const char *path, char **ret, bool *is_dir, uint64_t *size) {
        _cleanup_free_ char *real = strdup("");
        if (!real)
                return -ENOMEM;
        bool dir = true;
        uint64_t sz = 0;
        for (const char *p = path; *p;) {
                if (*p == '/') {
                        p++;
                        continue;
                }
                const char *slash = strchrnul(p, '/');
                size_t len = (size_t)(slash - p);
                if (!dir)
                        return -ENOENT;
                struct win_dirent *e;
                size_t n;
                int r = list_folder(s, real, size != NULL, &e, &n);
                if (r < 0)
                        return r;
                const struct win_dirent *hit = NULL;
                for (size_t i = 0; i < n && !hit; i++)
                        if (strlen(e[i].name) == len && strncasecmp(e[i].name, p, len) == 0)
                                hit = &e[i];
                char *next = hit ? strdup_printf("%s%s%s", real, *real ? "/" : "", hit->name) : NULL;
                if (hit) {
                        dir = hit->dir;
                        sz = hit->size;
                }
                dirents_free(e, n);
                if (!hit)
                        return -ENOENT;
                if (!next)
                        return -ENOMEM;
                free(real);
                real = next;
                p = slash;
        }
        *ret = TAKE_PTR(real);
        if (is_dir)
                *is_dir = dir;
        if (size)
                *size = sz;
        return 0;
}

bool win_source_exists(struct win_source *s, const char *path) {
        _cleanup_free_ char *real = NULL;
        return resolve(s, path, &real, NULL, NULL) == 0;
}

/* --- files --------------------------------------------------------------------------------- */

void win_file_close(struct win_file *f) {
        if (!f)
                return;
        if (f->udf)
                udfread_file_close(f->udf);
        if (f->fd >= 0)
                close(f->fd);
        free(f->path);
        free(f);
}

/* path already spelt as on the medium: "a/b", no empty, "." or ".." components. */
static bool is_plain_path(const char *path) {
        if (!*path)
                return false;
        for (const char *p = path; *p;) {
                const char *slash = strchrnul(p, '/');
                size_t len = (size_t)(slash - p);
                if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p = *slash ? slash + 1 : slash;
        }
        return true;
}

/* The file at exactly this spelling, without listing folders (a walk's paths, or a caller
 * that spells names as the medium does); false when it is not there as spelt. */
static bool open_exact(struct win_source *s, const char *path, struct win_file *f) {
        if (!is_plain_path(path))
                return false;
        if (s->kind == WIN_SOURCE_UDF) {
                _cleanup_free_ char *abs = strdup_printf("/%s", path);
                f->udf = abs ? udfread_file_open(s->udf, abs) : NULL;
                if (!f->udf)
                        return false;
                int64_t sz = udfread_file_size(f->udf);
                f->size = sz > 0 ? (uint64_t)sz : 0;
        } else if (s->kind == WIN_SOURCE_DIR) {
                _cleanup_free_ char *abs = path_join(s->path, path);
                struct stat st;
                f->fd = abs ? open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
                if (f->fd < 0 || fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                        if (f->fd >= 0)
                                close(f->fd);
                        f->fd = -1;
                        return false;
                }
                f->size = (uint64_t)st.st_size;
        } else {
                f->iso = iso_ix_find(&s->iso_root, path);
                if (!f->iso || f->iso->dir) {
                        f->iso = NULL;
                        return false;
                }
                f->size = f->iso->size;
        }
        f->path = strdup(path);
        return f->path != NULL;
}

int win_file_open(struct win_source *s, const char *path, struct win_file **ret) {
        _cleanup_(win_file_closep) struct win_file *f = calloc(1, sizeof *f);
        if (!f)
                return log_oom();
        f->src = s;
        f->fd = -1;
        if (open_exact(s, path + strspn(path, "/"), f)) {
                *ret = TAKE_PTR(f);
                return 0;
        }
        _cleanup_free_ char *real = NULL;
        bool dir;
        uint64_t size;
        int r = resolve(s, path, &real, &dir, &size);
        if (r == -ENOENT)
                return r;
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "%s: cannot read %s: %m", s->path, path);
        if (dir)
                return log_error_errno(-EISDIR, "%s: %s is a folder", s->path, real);
        f->size = size;
        switch (s->kind) {
        case WIN_SOURCE_UDF: {
                _cleanup_free_ char *abs = strdup_printf("/%s", real);
                if (!abs)
                        return log_oom();
                f->udf = udfread_file_open(s->udf, abs);
                if (!f->udf)
                        return log_error_errno(-EIO, "%s: cannot open %s in its UDF file system", s->path, real);
                int64_t sz = udfread_file_size(f->udf);
                f->size = sz > 0 ? (uint64_t)sz : 0;
                break;
        }
        case WIN_SOURCE_DIR: {
                _cleanup_free_ char *abs = path_join(s->path, real);
                if (!abs)
                        return log_oom();
                f->fd = open(abs, O_RDONLY | O_CLOEXEC);
                if (f->fd < 0)
                        return log_error_errno(-errno, "cannot open %s: %m", abs);
                break;
        }
        case WIN_SOURCE_ISO9660:
                f->iso = iso_ix_find(&s->iso_root, real);
                if (!f->iso)
                        return -ENOENT;
                break;
        }
        f->path = TAKE_PTR(real);
        *ret = TAKE_PTR(f);
        return 0;
}

uint64_t win_file_size(const struct win_file *f) { return f->size; }
const char *win_file_path(const struct win_file *f) { return f->path; }

static int pread_iso(struct win_file *f, char *buf, size_t len, uint64_t off) {
        uint64_t base = 0;
        for (int i = 0; i < f->iso->n_sections && len > 0; i++) {
                const struct iso_file_section *sec = &f->iso->sections[i];
                if (off < base + sec->size) {
                        uint64_t in = off - base;
                        size_t k = (size_t)(sec->size - in) < len ? (size_t)(sec->size - in) : len;
                        int r = pread_all(f->src->fd, buf, k, (uint64_t)sec->block * SECTOR + in);
                        if (r < 0)
                                return r;
                        buf += k;
                        len -= k;
                        off += k;
                }
                base += sec->size;
        }
        return len ? -EIO : 0;
}

int win_file_pread(struct win_file *f, void *buf, size_t len, uint64_t offset) {
        int r = 0;
        if (offset > f->size || len > f->size - offset)
                r = -EIO;
        else if (f->udf) {
                if (udfread_file_seek(f->udf, (int64_t)offset, UDF_SEEK_SET) != (int64_t)offset)
                        r = -EIO;
                for (size_t done = 0; r == 0 && done < len;) {
                        ssize_t k = udfread_file_read(f->udf, (char *)buf + done, len - done);
                        if (k <= 0)
                                r = -EIO;
                        else
                                done += (size_t)k;
                }
        } else if (f->fd >= 0)
                r = pread_all(f->fd, buf, len, offset);
        else
                r = pread_iso(f, buf, len, offset);
        if (r < 0)
                return log_error_errno(r, "%s: cannot read %s at byte %llu: %m", f->src->path, f->path,
                                       (unsigned long long)offset);
        return 0;
}

int win_source_read(struct win_source *s, const char *path, void **data, size_t *len, size_t max) {
        _cleanup_(win_file_closep) struct win_file *f = NULL;
        int r = win_file_open(s, path, &f);
        if (r < 0)
                return r;
        if (f->size > max)
                return log_error_errno(-EFBIG, "%s: %s is larger than expected (%llu bytes)", s->path, f->path,
                                       (unsigned long long)f->size);
        _cleanup_free_ char *buf = malloc((size_t)f->size + 1);
        if (!buf)
                return log_oom();
        r = win_file_pread(f, buf, (size_t)f->size, 0);
        if (r < 0)
                return r;
        buf[f->size] = 0;
        *len = (size_t)f->size;
        *data = TAKE_PTR(buf);
        return 0;
}

struct extract_job {
        struct win_file *f;
        const char *dest;
};

static int fill_extract(int fd, void *userdata) {
        struct extract_job *j = userdata;
        const size_t chunk = 1u << 20;
        _cleanup_free_ char *buf = malloc(chunk);
        if (!buf)
                return log_oom();
        for (uint64_t off = 0; off < j->f->size; off += chunk) {
                if (interrupted())
                        return -ECANCELED;
                size_t k = j->f->size - off < chunk ? (size_t)(j->f->size - off) : chunk;
                int r = win_file_pread(j->f, buf, k, off);
                if (r < 0)
                        return r;
                if ((r = write_all(fd, buf, k)) < 0)
                        return log_error_errno(r, "cannot write %s: %m", j->dest);
        }
        return 0;
}

int win_source_extract(struct win_source *s, const char *path, const char *dest) {
        _cleanup_(win_file_closep) struct win_file *f = NULL;
        int r = win_file_open(s, path, &f);
        if (r == -ENOENT)
                return log_error_errno(r, "%s: no %s on it", s->path, path);
        if (r < 0)
                return r;
        if (path_exists(dest))
                return log_error_errno(-EEXIST, "%s already exists", dest);
        struct extract_job j = { .f = f, .dest = dest };
        return guest_write_atomic(dest, false, fill_extract, &j);
}

/* --- walking ------------------------------------------------------------------------------- */

static int walk(struct win_source *s, const char *real, const char *rel, win_walk_fn fn, void *userdata) {
        struct win_dirent *e;
        size_t n;
        int r = list_folder(s, real, true, &e, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; r == 0 && i < n; i++) {
                _cleanup_free_ char *sub_real = strdup_printf("%s%s%s", real, *real ? "/" : "", e[i].name);
                _cleanup_free_ char *sub_rel = strdup_printf("%s%s%s", rel, *rel ? "/" : "", e[i].name);
                if (!sub_real || !sub_rel) {
                        r = -ENOMEM;
                        break;
                }
                r = fn(sub_rel, e[i].dir, e[i].size, userdata);
                if (r == 0 && e[i].dir)
                        r = walk(s, sub_real, sub_rel, fn, userdata);
        }
        dirents_free(e, n);
        return r;
}

int win_source_walk(struct win_source *s, const char *dir, win_walk_fn fn, void *userdata) {
        _cleanup_free_ char *real = NULL;
        bool is_dir;
        int r = resolve(s, strempty(dir), &real, &is_dir, NULL);
        if (r == -ENOMEM)
                return log_oom();
        if (r == 0 && !is_dir)
                r = -ENOTDIR;
        if (r < 0)
                return log_error_errno(r, "%s: cannot list %s: %m", s->path, isempty(dir) ? "/" : dir);
        r = walk(s, real, "", fn, userdata);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0 && r != -ECANCELED)
                return log_error_errno(r, "%s: cannot list %s: %m", s->path, isempty(dir) ? "/" : dir);
        return r;
}

static int list_one(const char *path, bool is_dir, uint64_t size, void *userdata) {
        (void)size;
        return is_dir ? strv_extendf(userdata, "%s/", path) : strv_extend(userdata, path);
}

int win_source_list(struct win_source *s, const char *dir, char ***names) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return log_oom();
        int r = win_source_walk(s, dir, list_one, &l);
        if (r < 0)
                return r;
        *names = TAKE_PTR(l);
        return 0;
}

/* --- El Torito ----------------------------------------------------------------------------- */

/* The file whose data starts at lba (its name for the boot entry); NULL when none. */
static int file_at_lba(struct win_source *s, const char *real, uint32_t lba, char **ret, uint64_t *size) {
        struct win_dirent *e;
        size_t n;
        int r = list_folder(s, real, true, &e, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; r == 0 && !*ret && i < n; i++) {
                _cleanup_free_ char *sub = strdup_printf("%s%s%s", real, *real ? "/" : "", e[i].name);
                if (!sub) {
                        r = -ENOMEM;
                        break;
                }
                if (e[i].dir) {
                        r = file_at_lba(s, sub, lba, ret, size);
                        continue;
                }
                uint32_t at = 0;
                if (s->kind == WIN_SOURCE_UDF) {
                        _cleanup_free_ char *abs = strdup_printf("/%s", sub);
                        UDFFILE *f = abs ? udfread_file_open(s->udf, abs) : NULL;
                        if (f) {
                                at = e[i].size ? udfread_file_lba(f, 0) : 0;
                                udfread_file_close(f);
                        }
                } else {
                        const struct iso_ix *x = iso_ix_find(&s->iso_root, sub);
                        at = x && x->n_sections > 0 && x->size ? x->sections[0].block : 0;
                }
                if (at == lba) {
                        *ret = TAKE_PTR(sub);
                        *size = e[i].size;
                }
        }
        dirents_free(e, n);
        return r;
}

/* A boot image kept apart from the file tree (an authoring tool that did not share the
 * extent): the file Windows media boot from, when it starts with the same bytes. */
static int same_as_known_file(struct win_source *s, struct win_boot_image *img) {
        const char *known = img->platform_id == 0xEF ? "efi/microsoft/boot/efisys.bin" : "boot/etfsboot.com";
        _cleanup_(win_file_closep) struct win_file *f = NULL;
        if (win_file_open(s, known, &f) < 0)
                return 0;
        /* What the entry loads (UEFI entries often say 1 sector: then compare one 2048 one). */
        size_t n = img->load_sectors > 4 ? (size_t)img->load_sectors * 512 : SECTOR;
        if (n > f->size || n > 64 * SECTOR)
                n = f->size < 64 * SECTOR ? (size_t)f->size : 64 * SECTOR;
        if (n == 0)
                return 0;
        _cleanup_free_ char *a = malloc(n), *b = malloc(n);
        if (!a || !b)
                return -ENOMEM;
        if (pread_all(s->fd, a, n, (uint64_t)img->lba * SECTOR) < 0 || win_file_pread(f, b, n, 0) < 0)
                return 0;
        if (memcmp(a, b, n) != 0)
                return 0;
        img->path = strdup(f->path);
        img->size = f->size;
        return img->path ? 0 : -ENOMEM;
}

static int take_entry(struct win_source *s, struct win_boot_images *b, uint8_t platform, const unsigned char *e) {
        if (e[0] != 0x88)
                return 0;   /* not bootable */
        struct win_boot_image *img = platform == 0xEF ? &b->uefi : platform == 0 ? &b->bios : NULL;
        if (!img || img->present)
                return 0;
        *img = (struct win_boot_image){
                .present = true,
                .platform_id = platform,
                .media_type = e[1] & 0x0F,
                .load_segment = le16(e + 2),
                .load_sectors = le16(e + 6),
                .lba = le32(e + 8),
        };
        int r = file_at_lba(s, "", img->lba, &img->path, &img->size);
        if (r < 0)
                return r;
        if (!img->path)
                r = same_as_known_file(s, img);
        if (r == 0 && !img->path)
                img->size = (uint64_t)img->load_sectors * 512;
        return r;
}

/* El Torito 1.0: the Boot Record Volume Descriptor (type 0, "EL TORITO SPECIFICATION") holds
 * the catalog's sector; the catalog is a validation entry, the initial entry, then sections
 * (header 0x90, or 0x91 for the last) of entries, each maybe followed by extensions (0x44). */
static int boot_catalog(struct win_source *s, struct win_boot_images *b) {
        unsigned char sec[SECTOR];
        uint32_t cat = 0;
        for (uint32_t lba = 16; lba < 16 + 64 && !cat; lba++) {
                if (read_sectors(s->fd, sec, lba, 1) < 0 || memcmp(sec + 1, "CD001", 5) != 0 || sec[0] == 255)
                        break;
                if (sec[0] == 0 && memcmp(sec + 7, "EL TORITO SPECIFICATION", 23) == 0)
                        cat = le32(sec + 0x47);
        }
        if (!cat)
                return 0;
        uint64_t cat_size;
        int r = file_at_lba(s, "", cat, &b->catalog_path, &cat_size);
        if (r < 0)
                return r;
        unsigned char c[4 * SECTOR];
        if (read_sectors(s->fd, c, cat, 4) < 0 && read_sectors(s->fd, c, cat, 1) < 0)
                return log_error_errno(-EIO, "%s: cannot read its El Torito boot catalog", s->path);
        uint16_t sum = 0;
        for (int i = 0; i < 32; i += 2)
                sum = (uint16_t)(sum + le16(c + i));
        if (c[0] != 0x01 || c[30] != 0x55 || c[31] != 0xAA || sum != 0)
                return log_error_errno(-EIO, "%s: its El Torito boot catalog is damaged", s->path);
        r = take_entry(s, b, c[1], c + 32);
        size_t off = 64;
        while (r == 0 && off + 32 <= sizeof c && (c[off] == 0x90 || c[off] == 0x91)) {
                bool last = c[off] == 0x91;
                uint8_t platform = c[off + 1];
                unsigned count = le16(c + off + 2);
                off += 32;
                for (unsigned i = 0; r == 0 && i < count && off + 32 <= sizeof c; i++) {
                        r = take_entry(s, b, platform, c + off);
                        off += 32;
                        while (off + 32 <= sizeof c && c[off] == 0x44)
                                off += 32;
                }
                if (last)
                        break;
        }
        return r;
}

static int boot_from_folder(struct win_source *s, struct win_boot_image *img, uint8_t platform, const char *path) {
        uint64_t size;
        bool dir;
        int r = resolve(s, path, &img->path, &dir, &size);
        if (r == -ENOENT || (r == 0 && dir)) {
                free(img->path);
                img->path = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        img->present = true;
        img->platform_id = platform;
        img->size = size;
        img->load_sectors = (uint16_t)((size + 511) / 512 > 0xFFFF ? 0xFFFF : (size + 511) / 512);
        return 0;
}

int win_source_boot_images(struct win_source *s, struct win_boot_images *ret) {
        struct win_boot_images b = {};
        int r;
        if (s->kind == WIN_SOURCE_DIR) {
                r = boot_from_folder(s, &b.bios, 0, "boot/etfsboot.com");
                if (r == 0)
                        r = boot_from_folder(s, &b.uefi, 0xEF, "efi/microsoft/boot/efisys.bin");
        } else
                r = boot_catalog(s, &b);
        if (r == 0 && !b.bios.present && !b.uefi.present)
                r = log_error_errno(-ENOENT, "%s: not bootable (no El Torito BIOS or UEFI boot image)", s->path);
        else if (r == -ENOMEM)
                log_oom();
        else if (r < 0 && r != -EIO)
                log_error_errno(r, "%s: cannot find its boot images: %m", s->path);
        if (r < 0) {
                win_boot_images_done(&b);
                return r;
        }
        *ret = b;
        return 0;
}

void win_boot_images_done(struct win_boot_images *b) {
        free(b->bios.path);
        free(b->uefi.path);
        free(b->catalog_path);
        b->bios.path = b->uefi.path = b->catalog_path = NULL;
}
