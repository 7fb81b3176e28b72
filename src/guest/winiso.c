/* The Windows ISO catalog: data/windows/isos.json parsed with json-c. */
#include "guest/winiso.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/download.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"

static void winiso_free(struct winiso *w) {
        free(w->key);
        free(w->description);
        free(w->filename);
        free(w->sha1);
        free(w->sha256);
        free(w->cuckoo3);
        for (size_t i = 0; i < w->n_urls; i++) {
                free(w->urls[i].url);
                free(w->urls[i].from);
                free(w->urls[i].dead);
                free(w->urls[i].note);
        }
        free(w->urls);
}

void winiso_catalog_done(struct winiso_catalog *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++)
                winiso_free(&c->isos[i]);
        free(c->isos);
        *c = (struct winiso_catalog){ 0 };
}

/* An optional string member into *ret (NULL when absent); -EINVAL when it is not a string. */
static int get_string(json_object *o, const char *name, char **ret) {
        json_object *v;
        *ret = NULL;
        if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static bool is_date(const char *s) {
        static const char shape[] = "dddd-dd-dd";
        if (strlen(s) != sizeof shape - 1)
                return false;
        for (size_t i = 0; shape[i]; i++)
                if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
                        return false;
        return true;
}

static int fail(const char *origin, const char *key, const char *what) {
        log_error("%s: entry %s: %s", origin, strempty(key), what);
        return -EINVAL;
}

static int parse_hash(json_object *o, const char *name, enum download_hash algo, char **ret) {
        int r = get_string(o, name, ret);
        if (r < 0 || !*ret)
                return r;
        char buf[SHA256_HEX_LEN + 1];
        if (download_hash_parse(*ret, algo, buf, sizeof buf) < 0)
                return -EINVAL;
        strcpy(*ret, buf);   /* never longer than what it replaces */
        return 0;
}

static int parse_entry(json_object *e, const char *origin, struct winiso *w) {
        if (!json_object_is_type(e, json_type_object))
                return fail(origin, "?", "is not an object");
        if (get_string(e, "key", &w->key) < 0 || isempty(w->key))
                return fail(origin, "?", "has no \"key\" string");
        const char *k = w->key;
        if (get_string(e, "description", &w->description) < 0 || get_string(e, "cuckoo3", &w->cuckoo3) < 0)
                return fail(origin, k, "\"description\" and \"cuckoo3\" must be strings");
        if (get_string(e, "filename", &w->filename) < 0 || isempty(w->filename) || strchr(w->filename, '/') ||
            streq(w->filename, ".") || streq(w->filename, ".."))
                return fail(origin, k, "needs a \"filename\" that is a file name (no '/')");
        if (parse_hash(e, "sha1", DOWNLOAD_HASH_SHA1, &w->sha1) < 0)
                return fail(origin, k, "\"sha1\" is not 40 hex digits");
        if (parse_hash(e, "sha256", DOWNLOAD_HASH_SHA256, &w->sha256) < 0)
                return fail(origin, k, "\"sha256\" is not 64 hex digits");
        if (!w->sha1 && !w->sha256)
                return fail(origin, k, "has neither \"sha1\" nor \"sha256\" (a download must be checked)");
        json_object *v;
        if (json_object_object_get_ex(e, "size", &v)) {
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
                        return fail(origin, k, "\"size\" is not a positive number of bytes");
                w->size = (uint64_t)json_object_get_int64(v);
        }
        json_object *urls;
        if (!json_object_object_get_ex(e, "urls", &urls) || !json_object_is_type(urls, json_type_array) ||
            json_object_array_length(urls) == 0)
                return fail(origin, k, "needs a non-empty \"urls\" array");
        size_t n = json_object_array_length(urls);
        w->urls = calloc(n, sizeof *w->urls);
        if (!w->urls)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                json_object *u = json_object_array_get_idx(urls, i);
                struct winiso_url *wu = &w->urls[w->n_urls++];
                if (!json_object_is_type(u, json_type_object) || get_string(u, "url", &wu->url) < 0 ||
                    isempty(wu->url))
                        return fail(origin, k, "each of \"urls\" needs a \"url\" string");
                if (get_string(u, "from", &wu->from) < 0 || get_string(u, "note", &wu->note) < 0 ||
                    get_string(u, "dead", &wu->dead) < 0 || (wu->dead && !is_date(wu->dead)))
                        return fail(origin, k, "a URL's \"from\"/\"note\" must be strings, \"dead\" a YYYY-MM-DD date");
        }
        return 0;
}

int winiso_catalog_parse(const char *json, const char *origin, struct winiso_catalog *ret) {
        json_object *root = json_tokener_parse(json);
        if (!root) {
                log_error("%s is not valid JSON", origin);
                return -EINVAL;
        }
        struct winiso_catalog c = { 0 };
        int r = 0;
        json_object *isos;
        if (!json_object_object_get_ex(root, "isos", &isos) || !json_object_is_type(isos, json_type_array)) {
                log_error("%s has no \"isos\" array", origin);
                r = -EINVAL;
                goto out;
        }
        size_t n = json_object_array_length(isos);
        c.isos = calloc(n ? n : 1, sizeof *c.isos);
        if (!c.isos) {
                r = log_oom();
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                struct winiso *w = &c.isos[c.n++];
                r = parse_entry(json_object_array_get_idx(isos, i), origin, w);
                if (r < 0)
                        goto out;
                for (size_t j = 0; j + 1 < c.n; j++)
                        if (streq(c.isos[j].key, w->key)) {
                                r = fail(origin, w->key, "is there twice");
                                goto out;
                        }
        }
        *ret = c;
        c = (struct winiso_catalog){ 0 };
out:
        winiso_catalog_done(&c);
        json_object_put(root);
        return r;
}

int winiso_catalog_load(const char *path, struct winiso_catalog *ret) {
        _cleanup_free_ char *def = NULL;
        if (!path) {
                def = paths_data_file("windows/isos.json");
                if (!def)
                        return log_oom();
                path = def;
        }
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot read the Windows ISO catalog %s: %m (set VMCLOAK_DATADIR to "
                                       "the folder that holds windows/isos.json)", path);
        return winiso_catalog_parse(text, path, ret);
}

const struct winiso *winiso_find(const struct winiso_catalog *c, const char *key) {
        for (size_t i = 0; key && i < c->n; i++)
                if (streq(c->isos[i].key, key))
                        return &c->isos[i];
        return NULL;
}

char **winiso_urls(const struct winiso *iso) {
        char **l = calloc(1, sizeof *l);
        if (!l)
                return NULL;
        for (int dead = 0; dead <= 1; dead++)
                for (size_t i = 0; i < iso->n_urls; i++)
                        if (!!iso->urls[i].dead == dead && strv_extend(&l, iso->urls[i].url) < 0) {
                                strv_free(l);
                                return NULL;
                        }
        return l;
}

bool winiso_all_dead(const struct winiso *iso) {
        for (size_t i = 0; i < iso->n_urls; i++)
                if (!iso->urls[i].dead)
                        return false;
        return true;
}
