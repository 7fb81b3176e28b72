/* cpio "newc" archives written by libarchive; what is ours is the initramfs's rules: parents
 * before children, no duplicates, every entry root's with one mtime and its own inode number. */
#include "guest/cpio.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"

struct cpio_writer {
        struct archive *a;
        struct archive_entry *e;   /* reused for every header */
        uint32_t next_ino;
        int64_t mtime;
        char **names;      /* every path written, to add parents once and refuse duplicates */
        char **dirs;
};

/* libarchive's errno when it has one, else -EIO. */
static int archive_err(struct archive *a) {
        int e = archive_errno(a);
        return e > 0 ? -e : -EIO;
}

int cpio_writer_open(const char *path, int64_t mtime, struct cpio_writer **ret) {
        _cleanup_free_ struct cpio_writer *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->a = archive_write_new();
        w->e = archive_entry_new();
        if (!w->a || !w->e) {
                archive_write_free(w->a);
                archive_entry_free(w->e);
                return -ENOMEM;
        }
        /* newc is what the kernel unpacks; 512-byte blocks like GNU cpio (tools that read blocks
         * expect the padding; libarchive's default would pad to 10 KiB). */
        int r = 0;
        if (archive_write_set_format_cpio_newc(w->a) != ARCHIVE_OK || archive_write_add_filter_none(w->a) != ARCHIVE_OK ||
            archive_write_set_bytes_per_block(w->a, 512) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(w->a, 512) != ARCHIVE_OK)
                r = archive_err(w->a);
        else if (archive_write_open_filename(w->a, path) != ARCHIVE_OK)
                r = archive_err(w->a);
        if (r < 0) {
                archive_write_free(w->a);
                archive_entry_free(w->e);
                return r;
        }
        w->next_ino = 1;
        w->mtime = mtime < 0 ? 0 : mtime;
        *ret = TAKE_PTR(w);
        return 0;
}

void cpio_writer_free(struct cpio_writer *w) {
        if (!w)
                return;
        /* archive_write_free would write the trailer: a failed archive gets none. */
        if (w->a) {
                archive_write_fail(w->a);
                archive_write_free(w->a);
        }
        archive_entry_free(w->e);
        strv_free(w->names);
        strv_free(w->dirs);
        free(w);
}

static int write_header(struct cpio_writer *w, const char *name, uint32_t mode, uint32_t nlink, uint64_t size,
                        unsigned rmajor, unsigned rminor, const char *link_target) {
        if (size > 0xffffffffu)
                return -EFBIG;   /* newc sizes are 32-bit */
        struct archive_entry *e = archive_entry_clear(w->e);
        archive_entry_set_pathname(e, name);
        archive_entry_set_mode(e, mode);
        archive_entry_set_ino(e, w->next_ino++);
        archive_entry_set_nlink(e, nlink);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_mtime(e, w->mtime, 0);
        archive_entry_set_size(e, (la_int64_t)size);
        archive_entry_set_rdevmajor(e, rmajor);
        archive_entry_set_rdevminor(e, rminor);
        if (link_target)
                archive_entry_set_symlink(e, link_target);
        return archive_write_header(w->a, e) == ARCHIVE_OK ? 0 : archive_err(w->a);
}

static int out(struct cpio_writer *w, const void *data, size_t len) {
        la_ssize_t k = len ? archive_write_data(w->a, data, len) : 0;
        return k == (la_ssize_t)len ? 0 : k < 0 ? archive_err(w->a) : -EIO;
}

/* Archive path without leading "/" or "./" and without a trailing "/"; NULL if empty. */
static char *normalize(const char *path) {
        while (*path == '/' || (path[0] == '.' && path[1] == '/'))
                path += path[0] == '/' ? 1 : 2;
        char *n = strdup(path);
        if (!n)
                return NULL;
        size_t l = strlen(n);
        while (l > 0 && n[l - 1] == '/')
                n[--l] = 0;
        return n;
}

static int add_parents(struct cpio_writer *w, const char *name) {
        _cleanup_free_ char *copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        for (char *s = strchr(copy, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                if (!strv_contains(w->dirs, copy)) {
                        if (strv_contains(w->names, copy))
                                return -ENOTDIR;
                        int r = write_header(w, copy, S_IFDIR | 0755, 2, 0, 0, 0, NULL);
                        if (r < 0)
                                return r;
                        if (strv_extend(&w->dirs, copy) < 0 || strv_extend(&w->names, copy) < 0)
                                return -ENOMEM;
                }
                *s = '/';
        }
        return 0;
}

/* Normalise, add parents, refuse duplicates; returns the archive name in *ret. */
static int begin_entry(struct cpio_writer *w, const char *path, bool is_dir, char **ret) {
        _cleanup_free_ char *name = normalize(path);
        if (!name)
                return -ENOMEM;
        if (!*name || streq(name, "TRAILER!!!"))
                return -EINVAL;
        if (strv_contains(w->names, name))
                return is_dir && strv_contains(w->dirs, name) ? 1 : -EEXIST;
        int r = add_parents(w, name);
        if (r < 0)
                return r;
        if (strv_extend(&w->names, name) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(name);
        return 0;
}

int cpio_add_dir(struct cpio_writer *w, const char *path, mode_t mode) {
        _cleanup_free_ char *name = NULL;
        int r = begin_entry(w, path, true, &name);
        if (r != 0)
                return r > 0 ? 0 : r;
        if (strv_extend(&w->dirs, name) < 0)
                return -ENOMEM;
        return write_header(w, name, S_IFDIR | (mode & 07777), 2, 0, 0, 0, NULL);
}

int cpio_add_data(struct cpio_writer *w, const char *path, mode_t mode, const void *data, size_t len) {
        _cleanup_free_ char *name = NULL;
        int r = begin_entry(w, path, false, &name);
        if (r < 0)
                return r;
        r = write_header(w, name, S_IFREG | (mode & 07777), 1, len, 0, 0, NULL);
        return r < 0 ? r : out(w, data, len);
}

int cpio_add_file(struct cpio_writer *w, const char *path, mode_t mode, const char *host_path) {
        _cleanup_close_ int in = open(host_path, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        struct stat st;
        if (fstat(in, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        _cleanup_free_ char *name = NULL;
        int r = begin_entry(w, path, false, &name);
        if (r < 0)
                return r;
        r = write_header(w, name, S_IFREG | (mode & 07777), 1, (uint64_t)st.st_size, 0, 0, NULL);
        if (r < 0)
                return r;
        char buf[65536];
        uint64_t left = (uint64_t)st.st_size;
        while (left > 0) {
                ssize_t k = read(in, buf, left < sizeof buf ? left : sizeof buf);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;   /* the file shrank while we copied it */
                r = out(w, buf, (size_t)k);
                if (r < 0)
                        return r;
                left -= (uint64_t)k;
        }
        return 0;
}

int cpio_add_symlink(struct cpio_writer *w, const char *path, const char *target) {
        if (isempty(target))
                return -EINVAL;
        _cleanup_free_ char *name = NULL;
        int r = begin_entry(w, path, false, &name);
        if (r < 0)
                return r;
        return write_header(w, name, S_IFLNK | 0777, 1, 0, 0, 0, target);
}

int cpio_add_node(struct cpio_writer *w, const char *path, mode_t mode, unsigned major, unsigned minor) {
        if (!S_ISCHR(mode) && !S_ISBLK(mode))
                return -EINVAL;
        _cleanup_free_ char *name = NULL;
        int r = begin_entry(w, path, false, &name);
        if (r < 0)
                return r;
        return write_header(w, name, mode & (S_IFMT | 07777), 1, 0, major, minor, NULL);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int cpio_add_tree(struct cpio_writer *w, const char *prefix, const char *host_dir) {
        _cleanup_(strv_freep) char **entries = NULL;
        {
                DIR *d = opendir(host_dir);
                if (!d)
                        return -errno;
                struct dirent *de;
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && strv_extend(&entries, de->d_name) < 0) {
                                closedir(d);
                                return -ENOMEM;
                        }
                closedir(d);
        }
        /* Sorted, so an archive does not depend on the order the host filesystem lists. */
        if (entries)
                qsort(entries, strv_length(entries), sizeof(char *), compare_strings);
        STRV_FOREACH(e, entries) {
                _cleanup_free_ char *host = path_join(host_dir, *e);
                _cleanup_free_ char *arch = isempty(prefix) ? strdup(*e) : path_join(prefix, *e);
                if (!host || !arch)
                        return -ENOMEM;
                struct stat st;
                if (lstat(host, &st) < 0)
                        return -errno;
                int r;
                if (S_ISDIR(st.st_mode)) {
                        r = cpio_add_dir(w, arch, st.st_mode & 07777);
                        if (r >= 0)
                                r = cpio_add_tree(w, arch, host);
                } else if (S_ISREG(st.st_mode))
                        r = cpio_add_file(w, arch, st.st_mode & 07777, host);
                else if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t k = readlink(host, target, sizeof target - 1);
                        if (k < 0)
                                return -errno;
                        target[k] = 0;
                        r = cpio_add_symlink(w, arch, target);
                } else
                        r = 0;   /* sockets, fifos, devices: never part of what we pack */
                if (r < 0)
                        return r;
        }
        return 0;
}

int cpio_writer_finish(struct cpio_writer *w) {
        /* The trailer and the last block's padding. */
        int r = archive_write_close(w->a) == ARCHIVE_OK ? 0 : archive_err(w->a);
        archive_write_free(w->a);
        w->a = NULL;
        cpio_writer_free(w);
        return r;
}
