/* /extract as one transaction: check the archive and the destination, unpack into a private
 * folder inside the destination, move the entries into place with a journal, undo on failure. */
#include "extract.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "platform.h"
#include "zip.h"

static int fail(char *err, size_t errsz, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errsz, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
        return r;
}

static int file_read_at(void *userdata, uint64_t off, void *buf, size_t len) {
        FILE *f = userdata;
#ifdef _WIN32
        if (_fseeki64(f, (long long)off, SEEK_SET) != 0)
#else
        if (fseeko(f, (off_t)off, SEEK_SET) != 0)
#endif
                return -EIO;
        if (len && fread(buf, 1, len, f) != len)
                return ferror(f) ? -EIO : -EBADMSG;
        return 0;
}

/* The platform's path of the first len bytes of name ('/'-separated) under dir. */
static char *under(const char *dir, const char *name, size_t len) {
        char *rel = str_ndup(name, len);
        char *p = rel ? plat_join(dir, rel) : NULL;
        free(rel);
#ifdef _WIN32
        for (char *c = p; c && *c; c++)
                if (*c == '/')
                        *c = '\\';
#endif
        return p;
}

/* Visit every directory and file the archive makes, parents first and each once: the
 * prefixes of every name in path order, minus those shared with the name before. When step
 * returns 1, nothing under that prefix is visited. */
typedef int (*step_fn)(void *userdata, const char *entry, size_t len, bool is_dir);

static int walk(struct zip *z, step_fn step, void *userdata) {
        const char *prev = NULL, *skip = NULL;
        size_t skip_len = 0;
        for (size_t i = 0; i < zip_count(z); i++) {
                bool is_dir;
                const char *name = zip_name(z, i, &is_dir);
                size_t n = strlen(name);
                if (skip && zip_name_within(z, name, skip, skip_len)) {
                        prev = name;
                        continue;
                }
                for (size_t k = 1; k <= n; k++) {
                        if (k < n && name[k] != '/')
                                continue;
                        if (prev && zip_name_within(z, prev, name, k))
                                continue;   /* visited with the name before */
                        int r = step(userdata, name, k, k < n || is_dir);
                        if (r < 0)
                                return r;
                        if (r == 1) {
                                skip = name;
                                skip_len = k;
                                break;
                        }
                }
                prev = name;
        }
        return 0;
}

/* --- 1. the destination as it is --- */

struct check {
        const char *dest;
        char *err;
        size_t errsz;
};

static int check_step(void *userdata, const char *entry, size_t len, bool is_dir) {
        struct check *c = userdata;
        char *path = under(c->dest, entry, len);
        if (!path)
                return -ENOMEM;
        struct plat_stat st;
        int k = plat_lstat(path, &st);
        if (k == -ENOENT || k == -ENOTDIR)
                k = 1;   /* nothing there, nor under it */
        else if (k < 0)
                k = fail(c->err, c->errsz, k, "cannot check %s: %s", path, strerror(-k));
        else if (is_dir && st.is_link)
                k = fail(c->err, c->errsz, -EEXIST, "zip entry '%.300s' would be written through the link %s", entry, path);
        else if (is_dir && !st.is_dir)
                k = fail(c->err, c->errsz, -EEXIST, "zip entry '%.300s' needs a directory where %s is a file", entry, path);
        else if (!is_dir && st.is_dir)
                k = fail(c->err, c->errsz, -EEXIST, "zip entry '%.300s' is a file where %s is a directory", entry, path);
        else
                k = 0;   /* a directory to fill, or a file to replace */
        free(path);
        return k;
}

/* --- 2. unpack into the private folder --- */

struct unpack {
        const char *root;
        FILE *out;
        char *path;
        uint32_t mode;
        bool clash;       /* the filesystem saw two entries as one (e.g. Unicode case) */
        char msg[512];
};

static int unpack_error(struct unpack *u, const char *name, const char *path, int k) {
        if (k == -EEXIST || k == -ENOTDIR || k == -EISDIR) {
                u->clash = true;
                return fail(u->msg, sizeof u->msg, -EEXIST, "zip entry '%.300s' clashes with another entry on this file system",
                            name);
        }
        return fail(u->msg, sizeof u->msg, k, "cannot create %s: %s", path, strerror(-k));
}

static int unpack_dir(void *userdata, const char *name) {
        struct unpack *u = userdata;
        char *p = under(u->root, name, strlen(name));
        if (!p)
                return -ENOMEM;
        int k = plat_mkdir_p(p, 0777, NULL);
        if (k < 0)
                k = unpack_error(u, name, p, k);
        free(p);
        return k;
}

static int unpack_begin(void *userdata, const char *name, uint32_t mode) {
        struct unpack *u = userdata;
        u->path = under(u->root, name, strlen(name));
        if (!u->path)
                return -ENOMEM;
        u->mode = mode;
        int k = 0;
        const char *slash = strrchr(name, '/');
        if (slash) {
                char *parent = under(u->root, name, (size_t)(slash - name));
                k = parent ? plat_mkdir_p(parent, 0777, NULL) : -ENOMEM;
                if (k < 0 && k != -ENOMEM)
                        k = unpack_error(u, name, parent, k);
                free(parent);
        }
        /* A new file only: an entry never overwrites another in the private folder. */
        if (k == 0 && !(u->out = plat_fopen(u->path, "wbx")))
                k = unpack_error(u, name, u->path, -(errno ? errno : EIO));
        if (k < 0) {
                free(u->path);
                u->path = NULL;
        }
        return k;
}

static int unpack_data(void *userdata, const void *data, size_t len) {
        struct unpack *u = userdata;
        if (fwrite(data, 1, len, u->out) != len) {
                int k = -(errno ? errno : EIO);
                return fail(u->msg, sizeof u->msg, k, "cannot write %s: %s", u->path, strerror(-k));
        }
        return 0;
}

static int unpack_end(void *userdata, bool ok) {
        struct unpack *u = userdata;
        int k = 0;
        if (fclose(u->out) != 0) {
                k = -(errno ? errno : EIO);
                if (ok)
                        fail(u->msg, sizeof u->msg, k, "cannot write %s: %s", u->path, strerror(-k));
        }
        u->out = NULL;
        if (ok && k == 0 && (u->mode & 0111))
                plat_chmod_exec(u->path);
        free(u->path);
        u->path = NULL;
        return k;
}

/* --- 3. move into place, with a journal to undo --- */

struct move {
        char *dst;        /* in the destination */
        char *src;        /* where it came from in the private folder */
        char *backup;     /* the file it replaced, kept in the private folder; or NULL */
};

struct mover {
        const char *dest, *from, *backups;
        struct move *log;
        size_t n, cap;
        char *err;
        size_t errsz;
};

static int journal(struct mover *m, char *dst, char *src, char *backup) {
        if (m->n == m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 64;
                struct move *p = realloc(m->log, cap * sizeof *p);
                if (!p)
                        return -ENOMEM;
                m->log = p;
                m->cap = cap;
        }
        m->log[m->n++] = (struct move){ dst, src, backup };
        return 0;
}

static int move_step(void *userdata, const char *entry, size_t len, bool is_dir) {
        struct mover *m = userdata;
        char *dst = under(m->dest, entry, len), *src = under(m->from, entry, len), *backup = NULL;
        int k = dst && src ? 0 : -ENOMEM;
        struct plat_stat st;
        int s = k == 0 ? plat_lstat(dst, &st) : 0;
        if (k < 0) {
                /* out of memory */
        } else if (s == -ENOENT) {
                /* Absent: the whole subtree goes in one rename. */
                k = plat_rename(src, dst, false);
                if (k < 0)
                        k = fail(m->err, m->errsz, k, "cannot move %s into place: %s", dst, strerror(-k));
                else if ((k = journal(m, dst, src, NULL)) == 0) {
                        dst = src = NULL;
                        k = 1;
                }
        } else if (s < 0) {
                k = fail(m->err, m->errsz, s, "cannot check %s: %s", dst, strerror(-s));
        } else if (is_dir && st.is_dir && !st.is_link) {
                k = 0;   /* an existing directory: fill it */
        } else if (!is_dir && !st.is_dir) {
                char name[32];
                snprintf(name, sizeof name, "%zu", m->n);
                backup = plat_join(m->backups, name);
                k = backup ? plat_rename(dst, backup, false) : -ENOMEM;
                if (k < 0) {
                        k = fail(m->err, m->errsz, k, "cannot replace %s: %s", dst, strerror(-k));
                } else if ((k = plat_rename(src, dst, false)) < 0) {
                        k = fail(m->err, m->errsz, k, "cannot move %s into place: %s", dst, strerror(-k));
                        int r = plat_rename(backup, dst, false);
                        if (r < 0)
                                agent_log("error: cannot put %s back in place: %s", dst, strerror(-r));
                } else if ((k = journal(m, dst, src, backup)) == 0) {
                        dst = src = backup = NULL;
                }
        } else {
                k = fail(m->err, m->errsz, -EEXIST, "%s changed on disk during the extraction of '%.300s'", dst, entry);
        }
        free(dst);
        free(src);
        free(backup);
        return k;
}

/* Undo the journal, newest first. Returns 0, or the first error (everything is still tried). */
static int undo(struct mover *m) {
        int r = 0;
        for (size_t i = m->n; i-- > 0;) {
                struct move *mv = &m->log[i];
                int k = plat_rename(mv->dst, mv->src, false);
                if (k == 0 && mv->backup)
                        k = plat_rename(mv->backup, mv->dst, false);
                if (k < 0) {
                        agent_log("error: cannot undo the extraction into %s: %s", mv->dst, strerror(-k));
                        if (r == 0)
                                r = k;
                }
        }
        return r;
}

static void journal_free(struct mover *m) {
        for (size_t i = 0; i < m->n; i++) {
                free(m->log[i].dst);
                free(m->log[i].src);
                free(m->log[i].backup);
        }
        free(m->log);
}

/* --- the transaction --- */

/* A new private folder in dir whose name no top-level entry of the archive has. */
static int make_private_dir(struct zip *z, const char *dir, char **ret) {
        for (int attempt = 0; attempt < 100; attempt++) {
                char name[32];
                snprintf(name, sizeof name, ".extract-%08x", (unsigned)plat_random());
                bool taken = false;
                for (size_t i = 0; i < zip_count(z) && !taken; i++) {
                        bool is_dir;
                        taken = zip_name_within(z, zip_name(z, i, &is_dir), name, strlen(name));
                }
                if (taken)
                        continue;
                char *p = plat_join(dir, name);
                if (!p)
                        return -ENOMEM;
                int k = plat_create_new(p, true);
                if (k == 0) {
                        *ret = p;
                        return 0;
                }
                free(p);
                if (k != -EEXIST)
                        return k;
        }
        return -EEXIST;
}

int extract_zip(const char *zip_path, uint64_t zip_size, const char *dirpath, char *err, size_t errsz,
                bool *ret_refused) {
        err[0] = 0;
        *ret_refused = false;
        FILE *f = plat_fopen(zip_path, "rb");
        if (!f)
                return fail(err, errsz, -(errno ? errno : EIO), "cannot open the uploaded zip: %s", strerror(errno ? errno : EIO));
        struct zip_source source = { file_read_at, zip_size, f };
        struct zip_limits limits = { EXTRACT_MAX_TOTAL, EXTRACT_MAX_ENTRIES, PLAT_WINDOWS_NAMES };
        struct zip *z = NULL;
        char *created = NULL, *priv = NULL, *from = NULL, *backups = NULL;
        struct mover m = { .err = err, .errsz = errsz };

        int k = zip_open(&source, &limits, &z, err, errsz);
        if (k < 0) {
                *ret_refused = k != -ENOMEM && k != -EIO;
                goto out;
        }
        struct check c = { dirpath, err, errsz };
        k = walk(z, check_step, &c);
        if (k < 0) {
                *ret_refused = k == -EEXIST;
                goto out;
        }

        /* Nothing has been written so far. */
        k = plat_mkdir_p(dirpath, 0777, &created);
        if (k < 0) {
                fail(err, errsz, k, "cannot create %s: %s", dirpath, strerror(-k));
                goto out;
        }
        k = make_private_dir(z, dirpath, &priv);
        if (k < 0) {
                fail(err, errsz, k, "cannot create a private folder in %s: %s", dirpath, strerror(-k));
                goto out;
        }
        from = plat_join(priv, "x");
        backups = plat_join(priv, "b");
        if (!from || !backups) {
                k = -ENOMEM;
                goto out;
        }
        if ((k = plat_create_new(from, true)) < 0 || (k = plat_create_new(backups, true)) < 0) {
                fail(err, errsz, k, "cannot create a private folder in %s: %s", priv, strerror(-k));
                goto out;
        }

        struct unpack u = { .root = from };
        struct zip_sink sink = { unpack_dir, unpack_begin, unpack_data, unpack_end, &u };
        k = zip_unpack(z, &sink, err, errsz);
        if (u.out) {
                fclose(u.out);
                free(u.path);
        }
        if (k < 0) {
                if (u.msg[0])
                        snprintf(err, errsz, "%s", u.msg);
                *ret_refused = u.clash || (k == -EBADMSG && !u.msg[0]);
                goto out;
        }

        m.dest = dirpath;
        m.from = from;
        m.backups = backups;
        k = walk(z, move_step, &m);
        if (k < 0) {
                *ret_refused = k == -EEXIST;
                size_t n = strlen(err);
                if (undo(&m) < 0)
                        snprintf(err + n, errsz - n, "; undoing the extraction failed too, %s may hold part of the archive",
                                 dirpath);
                else
                        snprintf(err + n, errsz - n, "; the extraction was undone");
        }
out:
        if (priv) {
                int r = plat_remove_tree(priv);
                if (r < 0)
                        agent_log("error: cannot remove the private folder %s: %s", priv, strerror(-r));
        }
        if (k < 0 && created)
                plat_rmdir_up(dirpath, created);
        if (k < 0 && !err[0])
                fail(err, errsz, k, "%s", strerror(-k));
        journal_free(&m);
        free(from);
        free(backups);
        free(priv);
        free(created);
        zip_close(z);
        fclose(f);
        return k < 0 ? k : 0;
}
