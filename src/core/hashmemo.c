/* File hashes remembered across runs in a JSON memo: absolute path -> identity and hashes. */
#include "core/hashmemo.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/util.h"

static void json_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

/* What makes a file "the same file, unchanged": see hashmemo.h. */
static json_object *identity(const struct stat *st) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        char mtime[48], ctime_[48];
        snprintf(mtime, sizeof mtime, "%lld.%09ld", (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
        snprintf(ctime_, sizeof ctime_, "%lld.%09ld", (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
        json_object_object_add(o, "size", json_object_new_int64((int64_t)st->st_size));
        json_object_object_add(o, "mtime", json_object_new_string(mtime));
        json_object_object_add(o, "ctime", json_object_new_string(ctime_));
        json_object_object_add(o, "dev", json_object_new_int64((int64_t)st->st_dev));
        json_object_object_add(o, "ino", json_object_new_int64((int64_t)st->st_ino));
        return o;
}

static bool same_identity(json_object *entry, const struct stat *st) {
        _cleanup_json_ json_object *now = identity(st);
        if (!now)
                return false;
        json_object_object_foreach(now, key, value) {
                json_object *was;
                if (!json_object_object_get_ex(entry, key, &was) ||
                    !streq(json_object_get_string(was), json_object_get_string(value)))
                        return false;
        }
        return true;
}

/* The memo as an object; an unreadable or damaged one is an empty one (it only saves time). */
static json_object *memo_load(const char *memo) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (read_full_file(memo, &text, &len) == 0) {
                json_object *o = json_tokener_parse(text);
                if (o && json_object_is_type(o, json_type_object))
                        return o;
                if (o)
                        json_object_put(o);
                log_debug("%s is damaged; files will be hashed again", memo);
        }
        return json_object_new_object();
}

static bool memo_recall(const char *memo, const char *abs, const struct stat *st, char sha256[SHA256_HEX_LEN + 1],
                        char sha1[SHA1_HEX_LEN + 1]) {
        _cleanup_json_ json_object *m = memo_load(memo);
        json_object *e, *h256, *h1;
        if (!m || !json_object_object_get_ex(m, abs, &e) || !same_identity(e, st) ||
            !json_object_object_get_ex(e, "sha256", &h256) || !json_object_object_get_ex(e, "sha1", &h1) ||
            json_object_get_string_len(h256) != SHA256_HEX_LEN || json_object_get_string_len(h1) != SHA1_HEX_LEN)
                return false;
        memcpy(sha256, json_object_get_string(h256), SHA256_HEX_LEN + 1);
        memcpy(sha1, json_object_get_string(h1), SHA1_HEX_LEN + 1);
        return true;
}

static void memo_store(const char *memo, const char *abs, const struct stat *st, const char *sha256,
                       const char *sha1) {
        _cleanup_free_ char *dir = path_dirname(memo);
        _cleanup_json_ json_object *m = memo_load(memo);
        if (!dir || !m)
                return;
        _cleanup_strv_free_ char **gone = NULL;
        json_object_object_foreach(m, key, value) {
                (void)value;
                if (!path_exists(key) && strv_extend(&gone, key) < 0)
                        return;
        }
        STRV_FOREACH(k, gone)
                json_object_object_del(m, *k);
        json_object *e = identity(st);
        if (!e)
                return;
        json_object_object_add(e, "sha256", json_object_new_string(sha256));
        json_object_object_add(e, "sha1", json_object_new_string(sha1));
        json_object_object_add(m, abs, e);
        const char *text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
        int r = mkdir_p(dir, 0755);
        if (r >= 0)
                r = write_file_atomic(memo, text, strlen(text), 0644);
        if (r < 0)
                log_debug_errno(r, "cannot write %s (files will be hashed again next time): %m", memo);
}

int hash_file_remembered(const char *path, const char *memo, bool recall, char sha256[SHA256_HEX_LEN + 1],
                         char sha1[SHA1_HEX_LEN + 1]) {
        _cleanup_free_ char *abs = realpath(path, NULL);
        if (!abs)
                return log_error_errno(-errno, "cannot read %s: %m", path);
        struct stat st;
        if (stat(abs, &st) < 0)
                return log_error_errno(-errno, "cannot read %s: %m", path);
        if (recall && memo_recall(memo, abs, &st, sha256, sha1)) {
                log_debug("%s: hashes remembered from an earlier run (%s)", path, memo);
                return 0;
        }
        int r = download_hash_file(abs, sha256, sha1);
        if (r < 0)
                return r;
        /* The file may have changed while it was read: remember it only as it was before. */
        struct stat after;
        if (stat(abs, &after) == 0 && after.st_size == st.st_size && after.st_mtim.tv_sec == st.st_mtim.tv_sec &&
            after.st_mtim.tv_nsec == st.st_mtim.tv_nsec && after.st_ctim.tv_sec == st.st_ctim.tv_sec &&
            after.st_ctim.tv_nsec == st.st_ctim.tv_nsec)
                memo_store(memo, abs, &st, sha256, sha1);
        return 0;
}

void hash_file_remember(const char *path, const char *memo, const char *sha256, const char *sha1) {
        _cleanup_free_ char *abs = realpath(path, NULL);
        struct stat st;
        if (abs && stat(abs, &st) == 0)
                memo_store(memo, abs, &st, sha256, sha1);
}
