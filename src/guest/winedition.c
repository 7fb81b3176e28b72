/* The editions table: data/windows/editions.json read once with json-c; lookups by OS,
 * EDITIONID, short name and key. */
#include "guest/winedition.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"

static json_object *table;
static int table_error;

/* The preference arrays handed out by win_os_info, one per OS, kept with the table. */
struct pref_cache {
        char *os;
        const char **names;
};
static struct pref_cache *prefs;
static size_t n_prefs;

static json_object *load(void) {
        if (table || table_error)
                return table;
        _cleanup_free_ char *path = paths_data_file("windows/editions.json");
        if (!path) {
                table_error = log_oom();
                return NULL;
        }
        table = json_object_from_file(path);
        if (!table || !json_object_is_type(table, json_type_object)) {
                log_error("vmcloak's data file %s cannot be read: %s (set VMCLOAK_DATADIR or reinstall vmcloak)", path,
                          json_util_get_last_err() ? json_util_get_last_err() : "not a JSON object");
                json_object_put(table);
                table = NULL;
                table_error = path_exists(path) ? -EIO : -ENOENT;
        }
        return table;
}

static json_object *os_entry(const char *os) {
        json_object *t = load(), *o = NULL;
        if (!t || !os || *os == '_' || !json_object_object_get_ex(t, os, &o) || !json_object_is_type(o, json_type_object))
                return NULL;
        return o;
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int win_os_info(const char *os, const char **name_prefix, const char **arch, const char *const **preference) {
        json_object *o = os_entry(os);
        if (!o) {
                if (table_error)
                        return table_error;
                log_error("no Windows editions known for %s", strempty(os));
                return -EINVAL;
        }
        if (name_prefix)
                *name_prefix = get_string(o, "name");
        if (arch)
                *arch = get_string(o, "arch");
        if (!preference)
                return 0;
        for (size_t i = 0; i < n_prefs; i++)
                if (streq(prefs[i].os, os)) {
                        *preference = prefs[i].names;
                        return 0;
                }
        json_object *p = NULL;
        json_object_object_get_ex(o, "preference", &p);
        size_t n = json_object_is_type(p, json_type_array) ? json_object_array_length(p) : 0;
        struct pref_cache *m = realloc(prefs, (n_prefs + 1) * sizeof *m);
        if (!m)
                return log_oom();
        prefs = m;
        const char **names = calloc(n + 1, sizeof *names);
        char *os_copy = strdup(os);
        if (!names || !os_copy) {
                free(names);
                free(os_copy);
                return log_oom();
        }
        for (size_t i = 0, k = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(p, i);
                if (json_object_is_type(v, json_type_string))
                        names[k++] = json_object_get_string(v);
        }
        prefs[n_prefs++] = (struct pref_cache){ .os = os_copy, .names = names };
        *preference = names;
        return 0;
}

bool win_os_version_fits(const char *os, const char *version, uint32_t build) {
        json_object *o = os_entry(os), *b = NULL;
        const char *want = get_string(o, "version");
        if (!version || !want)
                return true;
        size_t l = strlen(want);
        if (strncmp(version, want, l) != 0 || (version[l] != '.' && version[l] != 0))
                return false;
        if (!json_object_object_get_ex(o, "builds", &b) || !json_object_is_type(b, json_type_array) ||
            json_object_array_length(b) != 2)
                return true;
        int64_t lo = json_object_get_int64(json_object_array_get_idx(b, 0));
        int64_t hi = json_object_get_int64(json_object_array_get_idx(b, 1));
        return build >= lo && build <= hi;
}

static bool array_has(json_object *o, const char *key, const char *s) {
        json_object *a;
        if (!o || !json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                const char *v = json_object_get_string(json_object_array_get_idx(a, i));
                if (v && strcasecmp(v, s) == 0)
                        return true;
        }
        return false;
}

/* The editions object of os, or NULL. */
static json_object *editions_of(json_object *os_obj) {
        json_object *e;
        if (!os_obj || !json_object_object_get_ex(os_obj, "editions", &e) || !json_object_is_type(e, json_type_object))
                return NULL;
        return e;
}

const char *win_edition_from_short(const char *os, const char *name) {
        json_object *eds = editions_of(os_entry(os));
        if (!eds || isempty(name))
                return NULL;
        json_object_object_foreach(eds, id, ed) {
                if (strcasecmp(id, name) == 0 || array_has(ed, "short", name))
                        return id;
        }
        return NULL;
}

bool win_key_syntax_ok(const char *key) {
        if (!key || strlen(key) != 29)
                return false;
        for (int i = 0; i < 29; i++) {
                bool dash = i % 6 == 5;
                if (dash ? key[i] != '-' : !isalnum((unsigned char)key[i]))
                        return false;
        }
        return true;
}

bool win_edition_is_evaluation(const char *edition_id, const char *name) {
        return (edition_id && strcasestr(edition_id, "eval")) || (name && strcasestr(name, "evaluation"));
}

/* Which OS and edition the table knows key for, the requested OS first. */
static bool key_owner(const char *os, const char *key, const char **ret_os, const char **ret_edition) {
        json_object *t = load();
        if (!t)
                return false;
        for (int pass = 0; pass < 2; pass++) {
                json_object_object_foreach(t, o_name, o) {
                        if (*o_name == '_' || (pass == 0) != streq(o_name, strempty(os)))
                                continue;
                        json_object *eds = editions_of(o);
                        if (!eds)
                                continue;
                        json_object_object_foreach(eds, id, ed) {
                                if (array_has(ed, "kms", key) || array_has(ed, "generic", key)) {
                                        *ret_os = o_name;
                                        *ret_edition = id;
                                        return true;
                                }
                        }
                }
        }
        return false;
}

int win_key_check(const char *os, const char *edition_id, const char *key) {
        if (!win_key_syntax_ok(key)) {
                log_error("product key \"%s\" is not five groups of five letters or digits (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)",
                          strempty(key));
                return -EINVAL;
        }
        if (win_edition_is_evaluation(edition_id, NULL)) {
                log_error("product key %s given for %s, an evaluation edition: evaluation media take no key", key,
                          edition_id);
                return -EINVAL;
        }
        const char *k_os = NULL, *k_ed = NULL;
        if (!key_owner(os, key, &k_os, &k_ed))
                return table_error ? table_error : WIN_KEY_UNCHECKED;
        if (streq(k_os, strempty(os)) && edition_id && strcasecmp(k_ed, edition_id) == 0)
                return WIN_KEY_MATCHES;
        const char *k_prefix = NULL, *prefix = NULL;
        win_os_info(k_os, &k_prefix, NULL, NULL);
        if (os_entry(os))
                win_os_info(os, &prefix, NULL, NULL);
        log_error("product key %s is the public key of %s %s, not of %s %s (the edition to install): Setup would install "
                  "another edition or wait at its key page; give a key of that edition, or none",
                  key, strempty(k_prefix), k_ed, prefix ? prefix : strempty(os), strempty(edition_id));
        return -EINVAL;
}

const char *win_key_default(const char *os, const char *edition_id) {
        if (isempty(edition_id) || win_edition_is_evaluation(edition_id, NULL))
                return NULL;
        json_object *eds = editions_of(os_entry(os));
        if (!eds)
                return NULL;
        json_object_object_foreach(eds, id, ed) {
                if (strcasecmp(id, edition_id) == 0)
                        return get_string(ed, "default");
        }
        return NULL;
}
