/* cpio "newc" writer: 110-byte ASCII headers, names and data padded to 4 bytes. */
#include "guest/cpio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"

struct cpio_writer {
        int fd;
        uint32_t next_ino;
        int64_t mtime;
        uint64_t bytes;
        char **names;      /* every path written, to add parents once and refuse duplicates */
        char **dirs;
};

static int out(struct cpio_writer *w, const void *data, size_t len) {
        int r = write_all(w->fd, data, len);
        if (r == 0)
                w->bytes += len;
        return r;
}

static int pad4(struct cpio_writer *w) {
        static const char zeros[4];
        size_t n = (4 - (w->bytes & 3)) & 3;
        return n ? out(w, zeros, n) : 0;
}

int cpio_writer_open(const char *path, int64_t mtime, struct cpio_writer **ret) {
        _cleanup_free_ struct cpio_writer *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (w->fd < 0)
                return -errno;
        w->next_ino = 1;
        w->mtime = mtime < 0 ? 0 : mtime;
        *ret = TAKE_PTR(w);
        return 0;
}

void cpio_writer_free(struct cpio_writer *w) {
        if (!w)
                return;
        if (w->fd >= 0)
                close(w->fd);
        strv_free(w->names);
        strv_free(w->dirs);
        free(w);
}

uint64_t cpio_writer_bytes(const struct cpio_writer *w) { return w->bytes; }

static int write_header(struct cpio_writer *w, const char *name, uint32_t mode, uint32_t nlink, uint64_t size,
                        unsigned rmajor, unsigned rminor) {
        if (size > 0xffffffffu)
                return -EFBIG;   /* newc sizes are 32-bit */
        size_t namesize = strlen(name) + 1;
        char hdr[111];
        uint32_t ino = name[0] && !streq(name, "TRAILER!!!") ? w->next_ino++ : 0;
        snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u, 0u,
                 nlink, (uint32_t)w->mtime, (uint32_t)size, 0u, 0u, rmajor, rminor, (uint32_t)namesize, 0u);
        int r = out(w, hdr, 110);
        if (r < 0)
                return r;
        r = out(w, name, namesize);
        if (r < 0)
                return r;
        return pad4(w);
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
                        int r = write_header(w, copy, S_IFDIR | 0755, 2, 0, 0, 0);
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
        return write_header(w, name, S_IFDIR | (mode & 07777), 2, 0, 0, 0);
}

int cpio_add_data(struct cpio_writer *w, const char *path, mode_t mode, const void *data, size_t len) {
        _cleanup_free_ char *name = NULL;
        int r = begin_entry(w, path, false, &name);
        if (r < 0)
                return r;
        r = write_header(w, name, S_IFREG | (mode & 07777), 1, len, 0, 0);
        if (r < 0)
                return r;
        r = out(w, data, len);
        if (r < 0)
                return r;
        return pad4(w);
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
        r = write_header(w, name, S_IFREG | (mode & 07777), 1, (uint64_t)st.st_size, 0, 0);
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
        return pad4(w);
}

int cpio_add_symlink(struct cpio_writer *w, const char *path, const char *target) {
        if (isempty(target))
                return -EINVAL;
        _cleanup_free_ char *name = NULL;
        int r = begin_entry(w, path, false, &name);
        if (r < 0)
                return r;
        size_t len = strlen(target);
        r = write_header(w, name, S_IFLNK | 0777, 1, len, 0, 0);
        if (r < 0)
                return r;
        r = out(w, target, len);
        if (r < 0)
                return r;
        return pad4(w);
}

int cpio_add_node(struct cpio_writer *w, const char *path, mode_t mode, unsigned major, unsigned minor) {
        if (!S_ISCHR(mode) && !S_ISBLK(mode))
                return -EINVAL;
        _cleanup_free_ char *name = NULL;
        int r = begin_entry(w, path, false, &name);
        if (r < 0)
                return r;
        return write_header(w, name, mode & (S_IFMT | 07777), 1, 0, major, minor);
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
        int r = write_header(w, "TRAILER!!!", 0, 1, 0, 0, 0);
        if (r == 0) {
                /* Pad to 512 bytes like GNU cpio: harmless, and tools that read blocks expect it. */
                static const char zeros[512];
                size_t n = (512 - (w->bytes % 512)) % 512;
                if (n)
                        r = out(w, zeros, n);
        }
        if (close(w->fd) < 0 && r == 0)
                r = -errno;
        w->fd = -1;
        cpio_writer_free(w);
        return r;
}
