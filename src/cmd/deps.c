/* vmcloak deps fetch|verify: fill the dependency cache ahead of time (air-gapped hosts) and
 * check what it holds. */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/download.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"
#include "deps/catalog.h"
#include "deps/fetch.h"
#include "guest/profile.h"

static void dep_catalog_freep(struct dep_catalog **c) { dep_catalog_free(*c); }

static bool arg_all, arg_recommended;
static const char *arg_os, *arg_arch, *arg_files_dir;

static const struct optdef opts[] = {
        OPT_BOOL(0, "all", &arg_all, "fetch: every file of every catalog entry (all versions, all OSes)"),
        OPT_BOOL(0, "recommended", &arg_recommended, "fetch: the recipe of --os (what 'install -r' installs)"),
        OPT_STRING(0, "os", &arg_os, "OS", "fetch: the OS whose installers are chosen", .def_value = "win10x64"),
        OPT_STRING(0, "arch", &arg_arch, "ARCH", "fetch: x86 or amd64", .def_value = "amd64"),
        OPT_STRING(0, "files-dir", &arg_files_dir, "DIR",
                   "Files you brought, used (not copied) when their name and hash match"),
        { NULL },
};

static const struct cmd_spec spec = {
        "deps", "fetch [NAME[:VERSION]...] [--all] [--recommended] [--os OS] [--arch ARCH] | verify",
        "Fetch dependency files ahead of time, or verify the cache.",
        "fetch: downloads what 'vmcloak install' would need into <home>/files: for each NAME the\n"
        "installer VMCloak would pick for --os and --arch (its default version, or VERSION), its\n"
        "extra files and those of its sub-dependencies. Files already cached, in VMCloak's\n"
        "<home>/deps or in --files-dir are checked by hash and not downloaded again. Files whose\n"
        "every URL is dead are listed at the end to be brought by hand. Exit 1 when any is missing.\n"
        "verify: hashes every file in <home>/files (and --files-dir) again: a cache file that is not\n"
        "the catalog's is deleted, one in --files-dir is reported and left alone, files the catalog\n"
        "does not name are listed. Exit 1 on a mismatch.",
        opts, 1, -1,
};

static int check(const struct args *a) {
        const char *verb = a->pos[0];
        if (streq(verb, "verify")) {
                static const char *const fetch_only[] = { "all", "recommended", "os", "arch" };
                for (size_t i = 0; i < ELEMENTSOF(fetch_only); i++)
                        if (args_flag(a, fetch_only[i]) || args_get(a, fetch_only[i])) {
                                log_error("--%s goes with 'deps fetch'; 'deps verify' checks every file there is",
                                          fetch_only[i]);
                                return -EINVAL;
                        }
                if (a->npos > 1) {
                        log_error("'deps verify' takes no names (it checks every file in the cache); got '%s'",
                                  a->pos[1]);
                        return -EINVAL;
                }
                return 0;
        }
        if (!streq(verb, "fetch")) {
                log_error("unknown 'deps %s': use 'vmcloak deps fetch NAME...' or 'vmcloak deps verify'", verb);
                return -EINVAL;
        }
        if (a->npos == 1 && !arg_all && !arg_recommended) {
                log_error("nothing to fetch: name dependencies (dotnet, dotnet:4.7.2), or pass --recommended or --all");
                return -EINVAL;
        }
        if (!streq(arg_arch, "x86") && !streq(arg_arch, "amd64")) {
                log_error("--arch %s: use x86 or amd64", arg_arch);
                return -EINVAL;
        }
        return 0;
}

/* --- fetch: what is wanted --- */

struct want {
        const struct dep_file *f;
        char *label;               /* "dotnet 4.7.2" */
};

struct wants {
        struct want *v;
        size_t n;
        char **seen;               /* name:version already expanded (cycles, repeats) */
};

static void wants_done(struct wants *w) {
        for (size_t i = 0; i < w->n; i++)
                free(w->v[i].label);
        free(w->v);
        strv_free(w->seen);
}

/* One file, once: two entries naming the same file (aliases, shared installers) fetch it once. */
static int wants_add(struct wants *w, const struct dep_file *f, const char *name, const char *version) {
        for (size_t i = 0; i < w->n; i++)
                if (streq(w->v[i].f->filename, f->filename) && streq_ptr(w->v[i].f->sha256, f->sha256) &&
                    streq_ptr(w->v[i].f->sha1, f->sha1))
                        return 0;
        struct want *n = realloc(w->v, (w->n + 1) * sizeof *n);
        if (!n)
                return log_oom();
        w->v = n;
        char *label = version ? strdup_printf("%s %s", name, version) : strdup(name);
        if (!label)
                return log_oom();
        w->v[w->n++] = (struct want){ f, label };
        return 0;
}

/* A NAME[:VERSION] of the command line, a recipe or a depends list: its installer for os/arch, its
 * files and its sub-dependencies'. top: named by the user (an OS it does not install on is an error). */
static int want_entry(const struct dep_catalog *cat, const char *token, const char *os, const char *arch, bool top,
                      struct wants *w) {
        _cleanup_free_ char *name = strdup(token);
        if (!name)
                return log_oom();
        char *colon = strchr(name, ':');
        const char *version = NULL;
        if (colon) {
                *colon = 0;
                version = colon + 1;
        }
        const struct dependency *d = dep_catalog_find(cat, name);
        if (!d) {
                log_error("'%s' is no dependency of the catalog (see 'vmcloak list deps --name-only')", name);
                return -ENOENT;
        }
        const struct dependency *data = dep_catalog_resolve_alias(cat, d);
        if (isempty(version))
                version = data->default_version;
        if (strv_contains(w->seen, token))
                return 0;
        int r = strv_extend(&w->seen, token);
        if (r < 0)
                return log_oom();
        if (top && !dep_supports_os(data, os)) {
                _cleanup_free_ char *list = data->os ? strv_join(data->os, ", ") : NULL;
                log_error("%s does not install on %s (it does on %s); pick another --os", name, os, strempty(list));
                return -EINVAL;
        }
        const struct dep_file *inst = NULL;
        r = dep_pick_installer(data, version, os, arch, &inst);
        if (r == -ENOENT) {
                _cleanup_strv_free_ char **versions = dep_versions(data);
                _cleanup_free_ char *list = versions ? strv_join(versions, ", ") : NULL;
                log_error("%s has no installer%s%s for %s %s (its versions: %s)", name, version ? " of version " : "",
                          strempty(version), os, arch, list ? list : "none");
                return r;
        }
        if (r < 0)
                return r;
        if (inst && (r = wants_add(w, inst, d->name, inst->version ? inst->version : version)) < 0)
                return r;
        for (size_t i = 0; i < data->n_files; i++)
                if ((r = wants_add(w, &data->files[i], d->name, NULL)) < 0)
                        return r;
        STRV_FOREACH(s, dep_sub_depends(data, os))
                if ((r = want_entry(cat, *s, os, arch, false, w)) < 0)
                        return r;
        return 0;
}

static int want_all(const struct dep_catalog *cat, struct wants *w) {
        for (size_t i = 0; i < cat->n; i++) {
                const struct dependency *d = cat->deps[i];
                int r;
                if (d->alias_of)
                        continue;   /* its data is the other entry's */
                for (size_t k = 0; k < d->n_installers; k++)
                        if ((r = wants_add(w, &d->installers[k], d->name, d->installers[k].version)) < 0)
                                return r;
                for (size_t k = 0; k < d->n_files; k++)
                        if ((r = wants_add(w, &d->files[k], d->name, NULL)) < 0)
                                return r;
        }
        return 0;
}

/* Whether the catalog knows os (an OS profile, a recipe or an installer names it). */
static bool os_known(const struct dep_catalog *cat, const char *os) {
        if (os_profile_find(os) || dep_catalog_recipe(cat, os))
                return true;
        for (size_t i = 0; i < cat->n; i++)
                for (size_t k = 0; k < cat->deps[i]->n_installers; k++)
                        if (streq_ptr(cat->deps[i]->installers[k].os, os))
                                return true;
        return false;
}

static int files_dir_check(void) {
        if (arg_files_dir && !is_dir(arg_files_dir)) {
                log_error("--files-dir %s is not a folder", arg_files_dir);
                return -ENOENT;
        }
        return 0;
}

/* --- fetch --- */

static int deps_fetch(char **names) {
        _cleanup_(dep_catalog_freep) struct dep_catalog *cat = NULL;
        int r = dep_catalog_load_default(&cat);
        if (r < 0)
                return r;
        if (!os_known(cat, arg_os)) {
                /* Every OS profile by name (linux too: it was hidden behind "..."). */
                _cleanup_strv_free_ char **oses = NULL;
                for (const struct os_profile *const *p = os_profiles(); *p; p++)
                        if (strv_extend(&oses, (*p)->name) < 0)
                                return log_oom();
                _cleanup_free_ char *list = strv_join(oses, ", ");
                if (!list)
                        return log_oom();
                log_error("--os %s is no OS the catalog knows (the OS profiles: %s; or an OS a recipe or an installer "
                          "names, such as win7x86)", arg_os, list);
                return -EINVAL;
        }
        _cleanup_(wants_done) struct wants w = { 0 };
        if (arg_all)
                r = want_all(cat, &w);
        if (r >= 0 && arg_recommended) {
                const struct dep_recipe *rec = dep_catalog_recipe(cat, arg_os);
                if (!rec) {
                        log_error("the catalog has no recommended set for %s (recipes.yaml); name the dependencies",
                                  arg_os);
                        return -ENOENT;
                }
                STRV_FOREACH(s, rec->items)
                        if ((r = want_entry(cat, *s, arg_os, arg_arch, true, &w)) < 0)
                                break;
        }
        STRV_FOREACH(s, names) {
                if (r < 0)
                        break;
                r = want_entry(cat, *s, arg_os, arg_arch, true, &w);
        }
        if (r < 0)
                return r;

        if (w.n == 0)
                printf("Nothing to fetch: these dependencies need no files (they run commands only).\n");
        struct dep_fetch_opts o = { .files_dir = arg_files_dir, .verify = true };
        unsigned fetched = 0, cached = 0, user = 0;
        _cleanup_strv_free_ char **missing = NULL;
        for (size_t i = 0; i < w.n; i++) {
                const struct dep_file *f = w.v[i].f;
                enum dep_file_where where = DEP_FILE_DEAD;
                _cleanup_free_ char *path = NULL;
                const char *what = "missing";
                r = dep_file_locate(f, &o, &where, &path);
                if (r == 0 && path) {
                        what = where == DEP_FILE_USER ? "user-supplied" : "cached";
                        *(where == DEP_FILE_USER ? &user : &cached) += 1;
                } else if (r == 0) {
                        /* A dead-only file too: its error line names the dead URLs and the way out. */
                        r = dep_file_fetch(f, w.v[i].label, &o, &path);
                        if (r == 0) {
                                what = "fetched";
                                fetched++;
                        }
                }
                if (r == -ECANCELED || interrupted())
                        return -ECANCELED;
                if (!path) {
                        const char *why = r == -EBADMSG && where != DEP_FILE_DOWNLOAD
                                                  ? "the file in --files-dir is another file"
                                          : where == DEP_FILE_DEAD ? "every URL is dead"
                                                                   : "the download failed";
                        if (strv_extendf(&missing, "%s (%s %s) for %s: %s", f->filename,
                                         f->sha256 ? "SHA-256" : "SHA-1", f->sha256 ? f->sha256 : f->sha1,
                                         w.v[i].label, why) < 0)
                                return log_oom();
                }
                printf("%-14s %-28s %s\n", what, w.v[i].label, path ? path : f->filename);
        }
        if (missing) {
                _cleanup_free_ char *cache = paths_files_dir();
                printf("\nMust be brought by hand (into %s, or a folder given with --files-dir):\n", strempty(cache));
                STRV_FOREACH(s, missing)
                        printf("  %s\n", *s);
        }
        printf("%u fetched, %u already cached, %u user-supplied, %zu missing\n", fetched, cached, user,
               strv_length(missing));
        return missing ? -ENOENT : 0;
}

/* --- verify --- */

/* The catalog's files named name (entries may share one), NULL-terminated in *ret. */
static int files_named(const struct dep_catalog *cat, const char *name, const struct dep_file ***ret, size_t *n) {
        *ret = NULL;
        *n = 0;
        for (size_t i = 0; i < cat->n; i++) {
                const struct dependency *d = cat->deps[i];
                for (size_t pass = 0; pass < 2; pass++) {
                        const struct dep_file *l = pass ? d->files : d->installers;
                        size_t m = pass ? d->n_files : d->n_installers;
                        for (size_t k = 0; k < m; k++) {
                                if (!streq(l[k].filename, name))
                                        continue;
                                const struct dep_file **g = realloc(*ret, (*n + 1) * sizeof *g);
                                if (!g)
                                        return log_oom();
                                g[(*n)++] = &l[k];
                                *ret = g;
                        }
                }
        }
        return 0;
}

struct verify_counts {
        unsigned matched, mismatched, unknown;
};

static int verify_dir(const struct dep_catalog *cat, const char *dir, bool is_cache, struct verify_counts *c) {
        struct dirent **ents = NULL;
        int n = scandir(dir, &ents, NULL, alphasort);
        if (n < 0) {
                if (errno == ENOENT && is_cache)
                        return 0;   /* nothing fetched yet */
                return log_error_errno(-errno, "cannot read %s: %m", dir);
        }
        int r = 0;
        for (int i = 0; i < n; i++) {
                const char *name = ents[i]->d_name;
                _cleanup_free_ char *path = path_join(dir, name);
                _cleanup_free_ const struct dep_file **cands = NULL;
                size_t m = 0;
                struct stat st;
                if (r < 0 || name[0] == '.')
                        continue;   /* ., .., the memory of verified files and its temporaries */
                if (!path) {
                        r = log_oom();
                        continue;
                }
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (is_cache && endswith(name, ".part")) {
                        /* Only the .part of a catalog file is resumed; another one is unknown, as in --files-dir. */
                        _cleanup_free_ char *base = strndup(name, strlen(name) - strlen(".part"));
                        _cleanup_free_ const struct dep_file **parts = NULL;
                        size_t np = 0;
                        if (!base) {
                                r = log_oom();
                                continue;
                        }
                        r = files_named(cat, base, &parts, &np);
                        if (r < 0)
                                continue;
                        if (np > 0) {
                                printf("%-10s %s (an unfinished download; the next fetch resumes it)\n", "partial",
                                       path);
                                continue;
                        }
                }
                r = files_named(cat, name, &cands, &m);
                if (r < 0)
                        continue;
                if (m == 0) {
                        printf("%-10s %s (not in the catalog; left alone)\n", "unknown", path);
                        c->unknown++;
                        continue;
                }
                char sha256[SHA256_HEX_LEN + 1], sha1[SHA1_HEX_LEN + 1];
                r = dep_file_hash(path, false, sha256, sha1);
                if (r < 0)
                        continue;
                bool ok = false;
                for (size_t k = 0; k < m && !ok; k++)
                        ok = dep_file_matches(cands[k], sha256, sha1);
                if (ok) {
                        printf("%-10s %s\n", "ok", path);
                        c->matched++;
                        continue;
                }
                _cleanup_free_ char *why = dep_file_mismatch_text(cands[0], sha256, sha1);
                if (!why) {
                        r = log_oom();
                        continue;
                }
                c->mismatched++;
                if (is_cache) {
                        int k = unlink_if_exists(path);
                        if (k < 0)
                                log_error_errno(k, "cannot remove %s: %m", path);
                        printf("%-10s %s: %s; %s\n", "MISMATCH", path, why,
                               k < 0 ? "could not delete it" : "deleted (the next fetch downloads it again)");
                } else
                        printf("%-10s %s: %s; left alone (it is yours)\n", "MISMATCH", path, why);
        }
        for (int i = 0; i < n; i++)
                free(ents[i]);
        free(ents);
        return r;
}

static int deps_verify(void) {
        _cleanup_(dep_catalog_freep) struct dep_catalog *cat = NULL;
        int r = dep_catalog_load_default(&cat);
        if (r < 0)
                return r;
        _cleanup_free_ char *cache = paths_files_dir();
        if (!cache)
                return log_oom();
        struct verify_counts c = { 0 };
        r = verify_dir(cat, cache, true, &c);
        if (r >= 0 && arg_files_dir)
                r = verify_dir(cat, arg_files_dir, false, &c);
        if (r < 0)
                return r;
        printf("%u matched, %u mismatched, %u unknown\n", c.matched, c.mismatched, c.unknown);
        return c.mismatched ? -EBADMSG : 0;
}

static int run(const struct cmd_env *env) {
        int r = global_home();
        if (r >= 0)
                r = files_dir_check();
        if (r >= 0)
                r = streq(env->args->pos[0], "fetch") ? deps_fetch(env->args->pos + 1) : deps_verify();
        return r == -ECANCELED ? 130 : exit_code_for(r);
}

const struct cmd_def cmd_deps = { .spec = &spec, .check = check, .run = run };

/* --- list deps --- */

static json_object *jstrv(char *const *l) {
        if (!l)
                return NULL;
        json_object *a = json_object_new_array();
        STRV_FOREACH(s, l)
                json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static json_object *jstr_or_null(const char *s) { return s ? json_object_new_string(s) : NULL; }

static json_object *file_json(const struct dep_file *f, const char *kind, const struct dep_fetch_opts *o) {
        enum dep_file_where where = DEP_FILE_DEAD;
        _cleanup_free_ char *path = NULL;
        json_object *j = json_object_new_object();
        json_object_object_add(j, "kind", json_object_new_string(kind));
        json_object_object_add(j, "filename", jstr_or_null(f->filename));
        json_object_object_add(j, "version", jstr_or_null(f->version));
        json_object_object_add(j, "os", jstr_or_null(f->os));
        json_object_object_add(j, "arch", jstr_or_null(f->arch));
        json_object_object_add(j, "sha256", jstr_or_null(f->sha256));
        json_object_object_add(j, "sha1", jstr_or_null(f->sha1));
        json_object_object_add(j, "size", f->size ? json_object_new_int64((int64_t)f->size) : NULL);
        bool ok = dep_file_locate(f, o, &where, &path) == 0;
        json_object_object_add(j, "where", ok ? json_object_new_string(dep_file_where_name(where)) : NULL);
        json_object_object_add(j, "path", jstr_or_null(path));
        json_object *urls = json_object_new_array();
        for (size_t i = 0; i < f->n_urls; i++) {
                json_object *u = json_object_new_object();
                json_object_object_add(u, "url", json_object_new_string(f->urls[i].url));
                json_object_object_add(u, "dead", jstr_or_null(f->urls[i].dead));
                json_object_array_add(urls, u);
        }
        json_object_object_add(j, "urls", urls);
        return j;
}

static json_object *dep_json(const struct dep_catalog *cat, const struct dependency *d, const struct dep_fetch_opts *o) {
        const struct dependency *data = dep_catalog_resolve_alias(cat, d);
        json_object *j = json_object_new_object();
        json_object_object_add(j, "name", json_object_new_string(d->name));
        json_object_object_add(j, "description", jstr_or_null(d->description ? d->description : data->description));
        json_object_object_add(j, "os", jstrv(data->os));
        json_object_object_add(j, "default", jstr_or_null(data->default_version));
        _cleanup_strv_free_ char **versions = dep_versions(data);
        json_object_object_add(j, "versions", versions ? jstrv(versions) : json_object_new_array());
        json_object_object_add(j, "recommended", json_object_new_boolean(d->recommended));
        json_object_object_add(j, "multiversion", json_object_new_boolean(data->multiversion));
        json_object_object_add(j, "must_reboot", json_object_new_boolean(data->must_reboot));
        json_object_object_add(j, "tags", data->tags ? jstrv(data->tags) : json_object_new_array());
        json_object_object_add(j, "depends", data->depends ? jstrv(data->depends) : json_object_new_array());
        json_object *osd = json_object_new_object();
        for (size_t i = 0; i < data->n_os_depends; i++)
                json_object_object_add(osd, data->os_depends[i].os, jstrv(data->os_depends[i].depends));
        json_object_object_add(j, "os_depends", osd);
        json_object_object_add(j, "alias_of", jstr_or_null(d->alias_of));
        json_object_object_add(j, "user", json_object_new_boolean(d->user));
        json_object_object_add(j, "overrides", json_object_new_boolean(d->overrides));
        json_object_object_add(j, "source", jstr_or_null(d->source));
        /* The settings the user may give as NAME.KEY=VALUE (office.isopath=...). */
        json_object *settings = json_object_new_array();
        for (size_t i = 0; i < data->n_settings; i++) {
                const struct dep_setting *st = &data->settings[i];
                json_object *sj = json_object_new_object();
                json_object_object_add(sj, "key", json_object_new_string(st->key));
                json_object_object_add(sj, "required", json_object_new_boolean(st->required));
                json_object_object_add(sj, "default", jstr_or_null(st->default_value));
                json_object_object_add(sj, "description", jstr_or_null(st->description));
                json_object_array_add(settings, sj);
        }
        json_object_object_add(j, "settings", settings);
        json_object *files = json_object_new_array();
        for (size_t i = 0; i < data->n_installers; i++)
                json_object_array_add(files, file_json(&data->installers[i], "installer", o));
        for (size_t i = 0; i < data->n_files; i++)
                json_object_array_add(files, file_json(&data->files[i], "file", o));
        json_object_object_add(j, "files", files);
        return j;
}

/* "<filename> (<version> <os> <arch>): <where>" for the default version's installers and the files. */
static void print_where(const struct dep_file *f, const struct dep_fetch_opts *o) {
        enum dep_file_where where;
        _cleanup_free_ char *path = NULL;
        if (dep_file_locate(f, o, &where, &path) < 0)
                return;
        /* Only the parts that are set, one space apart: "(amd64)", not "( amd64)". */
        const char *v = strempty(f->version), *os = strempty(f->os), *arch = strempty(f->arch);
        _cleanup_free_ char *what = strdup_printf("%s%s%s%s%s", v, !isempty(v) && !isempty(os) ? " " : "", os,
                                                  (!isempty(v) || !isempty(os)) && !isempty(arch) ? " " : "", arch);
        /* A file the user must bring is named with its hash: what --files-dir is matched by. */
        _cleanup_free_ char *hash = where == DEP_FILE_USER || where == DEP_FILE_CACHED ? NULL
                                    : f->sha256 ? strdup_printf(" (SHA-256 %s)", f->sha256)
                                                : strdup_printf(" (SHA-1 %s)", strempty(f->sha1));
        printf("  %s%s%s%s: %s%s%s%s\n", f->filename, isempty(what) ? "" : " (", strempty(what),
               isempty(what) ? "" : ")", dep_file_where_text(where), path ? " " : "", strempty(path), strempty(hash));
}

static void print_dep(const struct dep_catalog *cat, const struct dependency *d, const struct dep_fetch_opts *o,
                      bool vmcloak_layout) {
        const struct dependency *data = dep_catalog_resolve_alias(cat, d);
        /* VMCloak's lines first (spec §2.14): the name, then one line per installer. */
        printf("%s\n", d->name);
        size_t w = 0;
        for (size_t i = 0; i < data->n_installers; i++)
                if (strlen(data->installers[i].version ? data->installers[i].version : "None") > w)
                        w = strlen(data->installers[i].version ? data->installers[i].version : "None");
        for (size_t i = 0; i < data->n_installers; i++) {
                const struct dep_file *f = &data->installers[i];
                bool dflt = f->version && streq_ptr(f->version, data->default_version);
                printf("%s %s %-*s %s %s %s\n", d->name, dflt ? "*" : "", (int)w, f->version ? f->version : "None",
                       f->os ? f->os : "None", f->sha1 ? f->sha1 : "None", strempty(f->arch));
        }
        if (vmcloak_layout) {
                printf("--------------------\n");
                return;
        }
        /* Then what VMCloak did not show. */
        const char *desc = d->description ? d->description : data->description;
        if (desc)
                printf("  %s\n", desc);
        _cleanup_strv_free_ char **versions = dep_versions(data);
        _cleanup_strv_free_ char **facts = NULL;
        if (versions && versions[0]) {
                _cleanup_strv_free_ char **marked = NULL;
                STRV_FOREACH(v, versions)
                        strv_extendf(&marked, "%s%s", *v, streq_ptr(*v, data->default_version) ? "*" : "");
                _cleanup_free_ char *l = marked ? strv_join(marked, " ") : NULL;
                strv_extendf(&facts, "versions: %s", strempty(l));
        }
        _cleanup_free_ char *os = data->os ? strv_join(data->os, " ") : NULL;
        strv_extendf(&facts, "os: %s", os ? os : "any");
        if (d->recommended)
                strv_extend(&facts, "recommended");
        if (data->tags && data->tags[0]) {
                _cleanup_free_ char *t = strv_join(data->tags, " ");
                strv_extendf(&facts, "tags: %s", strempty(t));
        }
        if (data->depends && data->depends[0]) {
                _cleanup_free_ char *t = strv_join(data->depends, " ");
                strv_extendf(&facts, "depends: %s", strempty(t));
        }
        for (size_t i = 0; i < data->n_os_depends; i++) {
                _cleanup_free_ char *t = strv_join(data->os_depends[i].depends, " ");
                strv_extendf(&facts, "on %s depends: %s", data->os_depends[i].os, strempty(t));
        }
        if (d->alias_of)
                strv_extendf(&facts, "alias of %s", d->alias_of);
        if (d->user)
                strv_extendf(&facts, "from %s%s", strempty(d->source), d->overrides ? " (replaces the shipped entry)" : "");
        _cleanup_free_ char *line = facts ? strv_join(facts, "; ") : NULL;
        if (line)
                printf("  %s\n", line);
        /* Settings, as typed on the command line: without them nobody knows office.isopath=... */
        for (size_t i = 0; i < data->n_settings; i++) {
                const struct dep_setting *st = &data->settings[i];
                _cleanup_free_ char *how = st->required ? strdup("required")
                                           : strdup_printf("default '%s'", strempty(st->default_value));
                printf("  setting %s.%s=... (%s)%s%s\n", d->name, st->key, strempty(how), st->description ? ": " : "",
                       strempty(st->description));
        }
        for (size_t i = 0; i < data->n_installers; i++)
                if (!data->default_version || streq_ptr(data->installers[i].version, data->default_version))
                        print_where(&data->installers[i], o);
        for (size_t i = 0; i < data->n_files; i++)
                print_where(&data->files[i], o);
        printf("--------------------\n");
}

int cmd_list_deps(bool name_only, const char *files_dir, bool vmcloak_layout) {
        if (files_dir && !is_dir(files_dir)) {
                log_error("--files-dir %s is not a folder", files_dir);
                return -ENOENT;
        }
        _cleanup_(dep_catalog_freep) struct dep_catalog *cat = NULL;
        int r = dep_catalog_load_default(&cat);
        if (r < 0)
                return r;
        /* Existence only: listing never reads gigabytes (deps verify does). */
        struct dep_fetch_opts o = { .files_dir = files_dir, .no_download = true };
        if (global.json) {
                /* --name-only --json: an array of the names, not every entry whole. */
                json_object *arr = json_object_new_array();
                for (size_t i = 0; i < cat->n; i++)
                        json_object_array_add(arr, name_only ? json_object_new_string(cat->deps[i]->name)
                                                             : dep_json(cat, cat->deps[i], &o));
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(arr);
                return 0;
        }
        /* VMCloak prints its header before the names of --name-only too. */
        if (!name_only || vmcloak_layout)
                printf("Name version target sha1 arch\n\n");
        if (name_only) {
                for (size_t i = 0; i < cat->n; i++)
                        printf("%s\n", cat->deps[i]->name);
                return 0;
        }
        for (size_t i = 0; i < cat->n; i++)
                print_dep(cat, cat->deps[i], &o, vmcloak_layout);
        return 0;
}
