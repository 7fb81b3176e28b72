/* Where a catalog file is on this host: the user's folder, the cache, VMCloak's old cache, or a
 * download into the cache; verified files are remembered so a second run does not hash them again. */
#include "deps/fetch.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/download.h"
#include "core/hashmemo.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"

/* --- what is known about a file's content --- */

bool dep_file_matches(const struct dep_file *f, const char *sha256, const char *sha1) {
        if (!f->sha256 && !f->sha1)
                return false;   /* the catalog refuses such entries; never take a file unchecked */
        return (!f->sha256 || streq(f->sha256, sha256)) && (!f->sha1 || streq(f->sha1, sha1));
}

/* The hash a message shows: the stronger one the catalog knows. */
static const char *shown_algo(const struct dep_file *f) { return f->sha256 ? "SHA-256" : "SHA-1"; }
static const char *shown_hash(const struct dep_file *f) { return f->sha256 ? f->sha256 : f->sha1; }

char *dep_file_mismatch_text(const struct dep_file *f, const char *sha256, const char *sha1) {
        return strdup_printf("its %s is %s, expected %s", shown_algo(f), f->sha256 ? sha256 : sha1, shown_hash(f));
}

char *dep_file_way_out(const struct dep_file *f) {
        _cleanup_free_ char *cache = paths_files_dir();
        if (!cache)
                return NULL;
        return strdup_printf("put %s (%s %s) in %s or --files-dir DIR", f->filename, shown_algo(f), shown_hash(f),
                             cache);
}

/* --- the memory of verified files: <files>/.verified (core/hashmemo.h) --- */

int dep_file_hash(const char *path, bool remembered, char sha256[SHA256_HEX_LEN + 1], char sha1[SHA1_HEX_LEN + 1]) {
        _cleanup_free_ char *dir = paths_files_dir();
        _cleanup_free_ char *memo = dir ? path_join(dir, ".verified") : NULL;
        if (!memo)
                return log_oom();
        return hash_file_remembered(path, memo, remembered, sha256, sha1);
}

/* --- finding a file --- */

const char *dep_file_where_text(enum dep_file_where w) {
        switch (w) {
        case DEP_FILE_USER:
                return "user-supplied";
        case DEP_FILE_CACHED:
                return "cached";
        case DEP_FILE_DOWNLOAD:
                return "must download";
        case DEP_FILE_DEAD:
                return "dead (bring it by hand)";
        }
        return "?";
}

const char *dep_file_where_name(enum dep_file_where w) {
        switch (w) {
        case DEP_FILE_USER:
                return "user";
        case DEP_FILE_CACHED:
                return "cached";
        case DEP_FILE_DOWNLOAD:
                return "download";
        case DEP_FILE_DEAD:
                return "dead";
        }
        return "?";
}

enum place { PLACE_USER, PLACE_CACHE, PLACE_VMCLOAK };

/* Whether dir/<filename> is the file: 1 (path in *ret), 0 (not there, or not taken), or a negative
 * errno after one line (a user's file that is another file: -EBADMSG). */
static int look_at(const struct dep_file *f, const char *dir, const char *name, enum place place, bool verify,
                   char **ret) {
        _cleanup_free_ char *path = path_join(dir, name);
        if (!path)
                return log_oom();
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
                /* Something the user put there under the file's name that cannot be it: said, not skipped
                 * in silence (the download that follows would otherwise look unexplained). */
                if (place == PLACE_USER && lstat(path, &st) == 0)
                        log_warning("%s is no regular file (a dangling link, a folder?); not using it", path);
                return 0;
        }
        if (verify) {
                char sha256[SHA256_HEX_LEN + 1], sha1[SHA1_HEX_LEN + 1];
                int r = dep_file_hash(path, true, sha256, sha1);
                if (r < 0)
                        return r;
                if (!dep_file_matches(f, sha256, sha1)) {
                        _cleanup_free_ char *why = dep_file_mismatch_text(f, sha256, sha1);
                        if (!why)
                                return log_oom();
                        switch (place) {
                        case PLACE_USER:
                                log_error("%s is not the %s the catalog names (%s); it is left alone: remove or "
                                          "rename it, or bring the right file", path, f->filename, why);
                                return -EBADMSG;
                        case PLACE_CACHE:
                                log_warning("%s in the cache is not the catalog's file (%s); deleted", path, why);
                                r = unlink_if_exists(path);
                                if (r < 0)
                                        return log_error_errno(r, "cannot remove %s: %m", path);
                                return 0;
                        case PLACE_VMCLOAK:
                                log_warning("%s (VMCloak's cache) is not the catalog's file (%s); not using it", path,
                                            why);
                                return 0;
                        }
                }
        }
        *ret = TAKE_PTR(path);
        return 1;
}

/* The basename of the first URL's path (what VMCloak names a file without an explicit name), or
 * NULL when there is none or it is no plain file name. */
static char *url_basename(const struct dep_file *f) {
        if (f->n_urls == 0)
                return NULL;
        const char *u = f->urls[0].url, *end = u + strcspn(u, "?#"), *slash = end;
        while (slash > u && slash[-1] != '/')
                slash--;
        if (slash == end || slash == u)
                return NULL;
        char *name = strndup(slash, (size_t)(end - slash));
        if (name && (streq(name, ".") || streq(name, ".."))) {
                free(name);
                return NULL;
        }
        return name;
}

static bool has_live_url(const struct dep_file *f) {
        for (size_t i = 0; i < f->n_urls; i++)
                if (!f->urls[i].dead)
                        return true;
        return false;
}

int dep_file_locate(const struct dep_file *f, const struct dep_fetch_opts *o, enum dep_file_where *ret_where,
                    char **ret_path) {
        if (isempty(f->filename) || strchr(f->filename, '/') || streq(f->filename, ".") || streq(f->filename, ".."))
                return log_error_errno(-EINVAL, "the catalog file name '%s' is not a plain file name",
                                       strempty(f->filename));
        _cleanup_free_ char *cache = paths_files_dir();
        _cleanup_free_ char *old = paths_deps_dir();
        if (!cache || !old)
                return log_oom();
        const struct {
                const char *dir;
                enum place place;
                enum dep_file_where where;
        } places[] = {
                { o ? o->files_dir : NULL, PLACE_USER, DEP_FILE_USER },
                { cache, PLACE_CACHE, DEP_FILE_CACHED },
                { old, PLACE_VMCLOAK, DEP_FILE_CACHED },
        };
        for (size_t i = 0; i < ELEMENTSOF(places); i++) {
                if (!places[i].dir)
                        continue;
                char *path = NULL;
                int r = look_at(f, places[i].dir, f->filename, places[i].place, o && o->verify, &path);
                if (r < 0)
                        return r;
                /* VMCloak cached a file under its first URL's basename (spec §10.5), which the catalog
                 * renamed where VMCloak gave several files one name (vcredist_x64.exe): such a file is
                 * taken only once its hash says which one it is. */
                _cleanup_free_ char *vmcloak_name = r == 0 && places[i].place == PLACE_VMCLOAK ? url_basename(f) : NULL;
                if (vmcloak_name && !streq(vmcloak_name, f->filename))
                        r = look_at(f, places[i].dir, vmcloak_name, places[i].place, true, &path);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret_where = places[i].where;
                        *ret_path = path;
                        return 0;
                }
        }
        *ret_where = has_live_url(f) ? DEP_FILE_DOWNLOAD : DEP_FILE_DEAD;
        *ret_path = NULL;
        return 0;
}

/* "URL (dead: why), ..." for the failure line; NULL when no URL is dead. */
static char *dead_urls_text(const struct dep_file *f) {
        _cleanup_strv_free_ char **l = NULL;
        for (size_t i = 0; i < f->n_urls; i++)
                if (f->urls[i].dead && strv_extendf(&l, "%s (dead: %s)", f->urls[i].url, f->urls[i].dead) < 0)
                        return NULL;
        return l ? strv_join(l, ", ") : NULL;
}

int dep_file_fetch(const struct dep_file *f, const char *label, const struct dep_fetch_opts *o, char **ret_path) {
        struct dep_fetch_opts look = o ? *o : (struct dep_fetch_opts){ 0 };
        look.verify = true;   /* a file is used only once its hash matched */
        enum dep_file_where where;
        _cleanup_free_ char *found = NULL;
        int r = dep_file_locate(f, &look, &where, &found);
        if (r < 0)
                return r;
        if (found) {
                log_debug("%s: using %s (%s)", label, found, dep_file_where_text(where));
                *ret_path = TAKE_PTR(found);
                return 0;
        }

        _cleanup_free_ char *way_out = dep_file_way_out(f);
        _cleanup_free_ char *dead = dead_urls_text(f);
        _cleanup_free_ char *what = strdup_printf("%s (%s)", label, f->filename);
        if (!way_out || !what)
                return log_oom();
        if (where == DEP_FILE_DEAD || look.no_download) {
                if (look.no_download)
                        log_error("%s is not on this host; %s", what, way_out);
                else
                        log_error("cannot download %s: %s%s; %s", what,
                                  dead ? "every URL is marked dead: " : "the catalog lists no URL for it",
                                  strempty(dead), way_out);
                return -ENOENT;
        }

        _cleanup_free_ const char **urls = calloc(f->n_urls + 1, sizeof *urls);
        if (!urls)
                return log_oom();
        for (size_t i = 0, n = 0; i < f->n_urls; i++)
                if (!f->urls[i].dead)
                        urls[n++] = f->urls[i].url;
        _cleanup_free_ char *alternative =
                dead ? strdup_printf("not tried: %s; %s", dead, way_out) : strdup(way_out);
        _cleanup_free_ char *cache = paths_files_dir();
        _cleanup_free_ char *dest = cache ? path_join(cache, f->filename) : NULL;
        if (!alternative || !dest)
                return log_oom();
        r = mkdir_p(cache, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create %s: %m", cache);
        struct download_request req = {
                .urls = urls, .dest = dest, .sha256 = f->sha256, .sha1 = f->sha1, .size = f->size,
                .label = what, .alternative = alternative, .dest_is_cache = true,
        };
        struct download_result res;
        r = download_file(&req, &res);
        if (r < 0)
                return r;
        _cleanup_free_ char *memo = path_join(cache, ".verified");
        if (memo)
                hash_file_remember(dest, memo, res.sha256, res.sha1);
        *ret_path = TAKE_PTR(dest);
        return 0;
}
