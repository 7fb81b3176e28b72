/* Module selection and staging: the closure over the modules' "depends" (read by libkmod, with
 * the kernel's own modinfo rules), depmod writes the index the guest's modprobe reads. */
#include "guest/kmod.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libkmod.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/util.h"

char *kmod_name(const char *s) {
        const char *b = strrchr(s, '/');
        b = b ? b + 1 : s;
        char *n = strdup(b);
        if (!n)
                return NULL;
        char *dot = strstr(n, ".ko");
        if (dot && (dot[3] == 0 || dot[3] == '.'))
                *dot = 0;
        for (char *p = n; *p; p++)
                if (*p == '-')
                        *p = '_';
        return n;
}

int kmod_read_list(const char *path, char ***ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL);
        if (r < 0)
                return r;
        _cleanup_(strv_freep) char **l = NULL;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *hash = strchr(line, '#');
                if (hash)
                        *hash = 0;
                char *s = line + strspn(line, " \t");
                size_t n = strcspn(s, " \t\r");
                if (n == 0)
                        continue;
                s[n] = 0;
                _cleanup_free_ char *name = kmod_name(s);
                if (!name)
                        return -ENOMEM;
                if (!strv_contains(l, name) && strv_extend(&l, name) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

struct index {
        char **names;   /* parallel: module name, path relative to the release dir */
        char **paths;
};

static void index_done(struct index *ix) {
        strv_free(ix->names);
        strv_free(ix->paths);
}

static int index_walk(struct index *ix, const char *root, const char *rel) {
        _cleanup_free_ char *dir = path_join(root, rel);
        if (!dir)
                return -ENOMEM;
        DIR *d = opendir(dir);
        if (!d)
                return -errno;
        int r = 0;
        struct dirent *de;
        while (r >= 0 && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = path_join(rel, de->d_name);
                _cleanup_free_ char *full = path_join(root, sub);
                if (!sub || !full) {
                        r = -ENOMEM;
                        break;
                }
                struct stat st;
                if (lstat(full, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode))
                        r = index_walk(ix, root, sub);
                else if (S_ISREG(st.st_mode) && strstr(de->d_name, ".ko")) {
                        char *n = kmod_name(de->d_name);
                        if (!n || strv_push(&ix->names, n) < 0 || strv_extend(&ix->paths, sub) < 0)
                                r = -ENOMEM;
                }
        }
        closedir(d);
        return r;
}

static const char *index_find(const struct index *ix, const char *name) {
        for (size_t i = 0; ix->names && ix->names[i]; i++)
                if (streq(ix->names[i], name))
                        return ix->paths[i];
        return NULL;
}

static int read_builtin(const char *src_dir, char ***ret) {
        _cleanup_free_ char *p = path_join(src_dir, "modules.builtin");
        if (!p)
                return -ENOMEM;
        _cleanup_(strv_freep) char **names = NULL;
        int r = kmod_read_list(p, &names);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret = TAKE_PTR(names);
        return 0;
}

/* libkmod's own messages go to our debug log: the errors it returns are reported by us. */
static void kmod_log(void *data, int priority, const char *file, int line, const char *fn, const char *format,
                     va_list args) {
        (void)data, (void)priority, (void)file, (void)line, (void)fn;
        _cleanup_free_ char *m = NULL;
        if (vasprintf(&m, format, args) < 0)
                return;
        size_t l = strlen(m);
        if (l > 0 && m[l - 1] == '\n')
                m[l - 1] = 0;
        log_debug("libkmod: %s", m);
}

static void kmod_ctx_unrefp(struct kmod_ctx **c) {
        if (*c)
                kmod_unref(*c);
}

/* The names in the "depends" field of a module file's .modinfo (strv; NULL when none). */
static int module_depends(struct kmod_ctx *ctx, const char *path, char ***ret) {
        struct kmod_module *mod = NULL;
        int r = kmod_module_new_from_path(ctx, path, &mod);
        if (r < 0)
                return r;
        struct kmod_list *info = NULL;
        r = kmod_module_get_info(mod, &info);
        _cleanup_(strv_freep) char **deps = NULL;
        struct kmod_list *i;
        kmod_list_foreach(i, info) {
                if (!streq(kmod_module_info_get_key(i), "depends"))
                        continue;
                char *save = NULL;
                _cleanup_free_ char *v = strdup(kmod_module_info_get_value(i));
                if (!v) {
                        r = -ENOMEM;
                        break;
                }
                for (char *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                        char *n = kmod_name(tok);
                        if (!n || strv_push(&deps, n) < 0) {
                                free(n);
                                r = -ENOMEM;
                                break;
                        }
                }
                if (r < 0)
                        break;
        }
        kmod_module_info_free_list(info);
        kmod_module_unref(mod);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(deps);
        return 0;
}

/* A compressed module (.ko.xz, .ko.zst, .ko.gz: Debian 13 ships xz) unpacked to dst by
 * libarchive's filters, so the guest's BusyBox modprobe gets a plain .ko whatever it was built
 * to read. -EBADMSG when the file is not compressed or is corrupt. */
static int unpack_module(const char *src, const char *dst) {
        struct archive *a = archive_read_new();
        if (!a)
                return -ENOMEM;
        int r = 0;
        struct archive_entry *e;
        if (archive_read_support_filter_all(a) != ARCHIVE_OK || archive_read_support_format_raw(a) != ARCHIVE_OK ||
            archive_read_open_filename(a, src, 65536) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
                r = archive_errno(a) > 0 ? -archive_errno(a) : -EBADMSG;
        else if (archive_filter_count(a) < 2)
                r = -EBADMSG;   /* only the raw reader: the name says compressed, the content is not */
        _cleanup_close_ int fd = r < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (r == 0 && fd < 0)
                r = -errno;
        char buf[65536];
        for (la_ssize_t k; r == 0 && (k = archive_read_data(a, buf, sizeof buf)) != 0;)
                r = k < 0 ? -EBADMSG : write_all(fd, buf, (size_t)k);
        archive_read_free(a);
        if (r < 0 && fd >= 0)
                unlink(dst);
        return r;
}

/* rel copied from src_dir to dst_dir; a compressed module is unpacked under its .ko name.
 * *ret_dst (may be NULL): the copy's path. */
static int copy_into(const char *src_dir, const char *dst_dir, const char *rel, char **ret_dst) {
        const char *ko = strstr(rel, ".ko.");
        _cleanup_free_ char *src = path_join(src_dir, rel);
        _cleanup_free_ char *dst = ko ? strdup_printf("%s/%.*s", dst_dir, (int)(ko + 3 - rel), rel) : path_join(dst_dir, rel);
        _cleanup_free_ char *parent = dst ? path_dirname(dst) : NULL;
        if (!src || !dst || !parent)
                return -ENOMEM;
        int r = mkdir_p(parent, 0755);
        if (r < 0)
                return r;
        if (!path_exists(dst) && (r = ko ? unpack_module(src, dst) : copy_file(src, dst, 0644)) < 0)
                return r;
        if (ret_dst)
                *ret_dst = TAKE_PTR(dst);
        return 0;
}

int kmod_stage(const char *src_dir, const char *release, char *const *wanted, const char *dest_root,
               const char *depmod, char ***ret_load) {
        _cleanup_(index_done) struct index ix = { 0 };
        _cleanup_free_ char *kdir = path_join(src_dir, "kernel");
        if (!kdir)
                return log_oom();
        int r = index_walk(&ix, src_dir, is_dir(kdir) ? "kernel" : "");
        if (r < 0)
                return log_error_errno(r, "cannot read the kernel modules in %s: %m", src_dir);
        _cleanup_(strv_freep) char **builtin = NULL;
        r = read_builtin(src_dir, &builtin);
        if (r < 0)
                return log_error_errno(r, "cannot read %s/modules.builtin: %m", src_dir);

        _cleanup_(strv_freep) char **load = NULL, **queue = NULL;
        STRV_FOREACH(w, wanted) {
                _cleanup_free_ char *n = kmod_name(*w);
                if (!n)
                        return log_oom();
                if (index_find(&ix, n)) {
                        if (strv_extend(&load, n) < 0 || strv_extend(&queue, n) < 0)
                                return log_oom();
                } else if (!strv_contains(builtin, n)) {
                        log_error("kernel module %s is missing from %s (neither a module file nor built in): the guest "
                                  "needs it; use a Debian linux-image-amd64 kernel or pass --modules with it", n, src_dir);
                        return -ENOENT;
                }
        }

        _cleanup_free_ char *dst_dir = strdup_printf("%s/lib/modules/%s", dest_root, release);
        if (!dst_dir)
                return log_oom();
        /* No configuration: the host's /etc/modprobe.d has no say over the guest's modules. */
        static const char *const no_config[] = { NULL };
        _cleanup_(kmod_ctx_unrefp) struct kmod_ctx *ctx = kmod_new(src_dir, no_config);
        if (!ctx)
                return log_oom();
        kmod_set_log_fn(ctx, kmod_log, NULL);
        /* Breadth-first over dependencies; the queue grows while we walk it. */
        for (size_t i = 0; queue && queue[i]; i++) {
                const char *rel = index_find(&ix, queue[i]);
                /* Staged first, then read: libkmod reads a plain module whatever it was built to unpack. */
                _cleanup_free_ char *staged = NULL;
                r = copy_into(src_dir, dst_dir, rel, &staged);
                if (r == -EBADMSG) {
                        log_error("kernel module %s (%s/%s) is not a valid compressed file: reinstall that kernel "
                                  "package, or pass --modules with plain .ko modules", queue[i], src_dir, rel);
                        return r;
                }
                if (r < 0)
                        return log_error_errno(r, "cannot copy kernel module %s: %m", rel);
                _cleanup_(strv_freep) char **deps = NULL;
                r = module_depends(ctx, staged, &deps);
                if (r < 0)
                        return log_error_errno(r, "cannot read the dependencies of kernel module %s/%s: %m", src_dir,
                                               rel);
                STRV_FOREACH(dn, deps) {
                        if (strv_contains(queue, *dn) || strv_contains(builtin, *dn))
                                continue;
                        if (!index_find(&ix, *dn)) {
                                log_error("kernel module %s needs %s, which is missing from %s", queue[i], *dn, src_dir);
                                return -ENOENT;
                        }
                        if (strv_extend(&queue, *dn) < 0)
                                return log_oom();
                }
        }
        r = mkdir_p(dst_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create %s: %m", dst_dir);
        /* modprobe of a built-in name succeeds only when modules.builtin says so. (modules.order
         * lists every module of the kernel: 160 KB the guest does not need.) */
        static const char *const meta[] = { "modules.builtin", "modules.builtin.modinfo" };
        for (size_t i = 0; i < ELEMENTSOF(meta); i++) {
                _cleanup_free_ char *s = path_join(src_dir, meta[i]);
                if (!s)
                        return log_oom();
                if (path_exists(s) && (r = copy_into(src_dir, dst_dir, meta[i], NULL)) < 0)
                        return log_error_errno(r, "cannot copy %s: %m", s);
        }
        if (depmod) {
                char *argv[] = { (char *)depmod, (char *)"-b", (char *)dest_root, (char *)release, NULL };
                _cleanup_free_ char *err = NULL;
                r = proc_run(argv, NULL, NULL, &err);
                if (r == -ECANCELED)
                        return r;
                if (r < 0)
                        return log_error_errno(r, "cannot run %s: %m", depmod);
                if (r != 0) {
                        log_error("depmod -b %s %s failed: %s", dest_root, release, strempty(err));
                        return -EIO;
                }
        }
        *ret_load = TAKE_PTR(load);
        return 0;
}
