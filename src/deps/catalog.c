/* The dependency catalog: YAML entries (libyaml's document API) read and checked whole, the
 * user's deps.d merged over the shipped ones, installer choice and {{template}} expansion. */
#include "deps/catalog.h"
#include "guest/profile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"
#include "core/validate.h"
#include "core/yamlfile.h"

/* A reference to another entry (depends, os_depends, alias_of), kept with its line until the
 * whole catalog is known: a user entry may name one that only deps.d adds. */
struct dep_ref {
        const char *item;          /* name[:version], owned by the entry */
        const char *what;          /* "depends", "os_depends", "alias_of" */
        int line;
};

/* The public entry plus what only the loader needs; handed out as &pub. */
struct dep_entry {
        struct dependency pub;
        struct dep_ref *refs;
        size_t n_refs;
};

#define ENTRY(d) ((struct dep_entry *)(d))

/* ---- freeing ---- */

static void dep_file_done(struct dep_file *f) {
        free(f->version);
        free(f->os);
        free(f->arch);
        free(f->filename);
        free(f->sha256);
        free(f->sha1);
        for (size_t i = 0; i < f->n_urls; i++) {
                free(f->urls[i].url);
                free(f->urls[i].dead);
        }
        free(f->urls);
}

static void dep_step_done(struct dep_step *s) {
        free(s->src.name);
        free(s->to);
        free(s->text);
        free(s->ok);
        free(s->reboot);
        for (size_t i = 0; i < s->n_regs; i++) {
                free(s->regs[i].key);
                free(s->regs[i].value);
                free(s->regs[i].type);
                free(s->regs[i].data);
        }
        free(s->regs);
        strv_free(s->when.os);
        strv_free(s->when.arch);
        strv_free(s->when.version);
        free(s->when.setting_key);
        free(s->when.setting_value);
}

static void dep_free(struct dependency *d) {
        if (!d)
                return;
        free(d->name);
        free(d->description);
        strv_free(d->os);
        free(d->default_version);
        strv_free(d->tags);
        strv_free(d->depends);
        for (size_t i = 0; i < d->n_os_depends; i++) {
                free(d->os_depends[i].os);
                strv_free(d->os_depends[i].depends);
        }
        free(d->os_depends);
        free(d->alias_of);
        strv_free(d->no_installer_os);
        for (size_t i = 0; i < d->n_settings; i++) {
                free(d->settings[i].key);
                free(d->settings[i].default_value);
                free(d->settings[i].description);
        }
        free(d->settings);
        for (size_t i = 0; i < d->n_installers; i++)
                dep_file_done(&d->installers[i]);
        free(d->installers);
        for (size_t i = 0; i < d->n_files; i++)
                dep_file_done(&d->files[i]);
        free(d->files);
        for (size_t i = 0; i < d->n_steps; i++)
                dep_step_done(&d->steps[i]);
        free(d->steps);
        free(d->source);
        free(d->dir);
        free(ENTRY(d)->refs);
        free(ENTRY(d));
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct dependency *, dep_free)

static void recipe_done(struct dep_recipe *r) {
        free(r->os);
        strv_free(r->items);
}

void dep_catalog_free(struct dep_catalog *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++)
                dep_free(c->deps[i]);
        free(c->deps);
        for (size_t i = 0; i < c->n_recipes; i++)
                recipe_done(&c->recipes[i]);
        free(c->recipes);
        free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct dep_catalog *, dep_catalog_free)

/* ---- reading YAML nodes ---- */

/* One file being read: where messages point and what "step 3: " prefixes them. */
struct ctx {
        const char *source;
        yaml_document_t *doc;
        const char *where;         /* "step 3: " or "" */
};

static int line_of(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 1; }

static int bad_at(const struct ctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad_at(const struct ctx *c, int line, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!msg)
                return log_oom();
        log_error("%s:%d: %s%s", c->source, line, strempty(c->where), msg);
        return -EINVAL;
}
#define bad(c, n, ...) bad_at((c), line_of(n), __VA_ARGS__)

static yaml_node_t *node(const struct ctx *c, yaml_node_item_t id) { return yaml_document_get_node(c->doc, id); }

static const char *scalar(const yaml_node_t *n) {
        return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* YAML 1.1's null: an empty or ~/null plain scalar. A quoted '' is an empty string. */
static bool is_null(const yaml_node_t *n) {
        const char *s = scalar(n);
        if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        return !*s || streq(s, "~") || streq(s, "null") || streq(s, "Null") || streq(s, "NULL");
}

static size_t map_len(const yaml_node_t *m) { return m->data.mapping.pairs.top - m->data.mapping.pairs.start; }
static size_t seq_len(const yaml_node_t *s) { return s->data.sequence.items.top - s->data.sequence.items.start; }

static yaml_node_t *map_get(const struct ctx *c, const yaml_node_t *m, const char *key) {
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
                if (streq_ptr(scalar(node(c, p->key)), key))
                        return node(c, p->value);
        return NULL;
}

/* A mapping whose keys are all scalars, each once, each among known (NULL: any). */
static int check_map(const struct ctx *c, const yaml_node_t *m, const char *what, const char *const *known) {
        if (!m || m->type != YAML_MAPPING_NODE)
                return bad(c, m, "%s must be a mapping of keys to values", what);
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
                yaml_node_t *k = node(c, p->key);
                const char *ks = scalar(k);
                if (!ks)
                        return bad(c, k, "a key of %s must be a plain word", what);
                for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++)
                        if (streq_ptr(scalar(node(c, q->key)), ks))
                                return bad(c, k, "'%s' is given twice", ks);
                if (known && !strv_contains((char *const *)known, ks)) {
                        _cleanup_free_ char *list = strv_join((char *const *)known, ", ");
                        return bad(c, k, "unknown key '%s' in %s (known: %s)", ks, what, strempty(list));
                }
        }
        return 0;
}

/* A string value (any scalar; YAML's null gives NULL). */
static int get_str(const struct ctx *c, const yaml_node_t *n, const char *key, char **ret) {
        *ret = NULL;
        if (!n || is_null(n))
                return 0;
        const char *s = scalar(n);
        if (!s)
                return bad(c, n, "'%s' must be a string", key);
        if (strlen(s) != n->data.scalar.length)
                return bad(c, n, "'%s' holds a NUL character", key);
        *ret = strdup(s);
        return *ret ? 0 : log_oom();
}

static int get_bool(const struct ctx *c, const yaml_node_t *n, const char *key, bool *ret) {
        static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL };
        static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL };
        if (!n)
                return 0;
        const char *s = scalar(n);
        if (s && strv_contains((char *const *)yes, s))
                *ret = true;
        else if (s && strv_contains((char *const *)no, s))
                *ret = false;
        else
                return bad(c, n, "'%s' must be true or false", key);
        return 0;
}

/* A whole number written in decimal or 0x hex, within [min, max]. */
static bool parse_int(const yaml_node_t *n, int64_t min, int64_t max, int64_t *ret) {
        const char *s = scalar(n);
        if (!s || !*s || isspace((unsigned char)*s))
                return false;
        errno = 0;
        char *end;
        long long v;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                v = (long long)strtoull(s + 2, &end, 16);
        else
                v = strtoll(s, &end, 10);
        if (errno || *end || end == s || v < min || v > max)
                return false;
        *ret = v;
        return true;
}

static int get_uint(const struct ctx *c, const yaml_node_t *n, const char *key, int64_t max, uint64_t *ret) {
        int64_t v;
        if (!n)
                return 0;
        if (!parse_int(n, 0, max, &v))
                return bad(c, n, "'%s' must be a whole number from 0 to %" PRId64, key, max);
        *ret = (uint64_t)v;
        return 0;
}

/* A list of strings; a single string is a list of one (VMCloak's depends were either). Each
 * item is checked by valid (NULL: any), whose complaint follows "'key': 'item' ". */
static int get_strv(const struct ctx *c, const yaml_node_t *n, const char *key,
                    const char *(*valid)(const char *), char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        *ret = NULL;
        if (!n || is_null(n))
                return 0;
        if (n->type == YAML_SCALAR_NODE || n->type == YAML_SEQUENCE_NODE) {
                size_t count = n->type == YAML_SCALAR_NODE ? 1 : seq_len(n);
                l = calloc(count + 1, sizeof *l);
                if (!l)
                        return log_oom();
                for (size_t i = 0; i < count; i++) {
                        const yaml_node_t *it = n->type == YAML_SCALAR_NODE ? n
                                                                            : node(c, n->data.sequence.items.start[i]);
                        const char *s = scalar(it);
                        if (!s || is_null(it) || strlen(s) != it->data.scalar.length)
                                return bad(c, it, "'%s' must be a list of strings", key);
                        const char *why = valid ? valid(s) : NULL;
                        if (why)
                                return bad(c, it, "'%s': '%s' %s", key, s, why);
                        l[i] = strdup(s);
                        if (!l[i])
                                return log_oom();
                }
        } else
                return bad(c, n, "'%s' must be a list of strings", key);
        *ret = TAKE_PTR(l);
        return 0;
}

/* Exit codes: Windows' are DWORDs (2149842967 is 0x80240017); the agent reports them as a
 * signed 32-bit int, so codes above INT_MAX are kept as the same 32 bits. */
static int get_codes(const struct ctx *c, const yaml_node_t *n, const char *key, int **ret, size_t *ret_n) {
        if (!n)
                return 0;
        if (n->type != YAML_SEQUENCE_NODE || seq_len(n) == 0)
                return bad(c, n, "'%s' must be a list of exit codes", key);
        size_t count = seq_len(n);
        _cleanup_free_ int *codes = calloc(count, sizeof *codes);
        if (!codes)
                return log_oom();
        for (size_t i = 0; i < count; i++) {
                const yaml_node_t *it = node(c, n->data.sequence.items.start[i]);
                int64_t v;
                if (!parse_int(it, INT32_MIN, UINT32_MAX, &v))
                        return bad(c, it, "'%s' must be a list of exit codes", key);
                codes[i] = (int)(int32_t)(uint32_t)v;
        }
        *ret = TAKE_PTR(codes);
        *ret_n = count;
        return 0;
}

/* ---- what names and values may be ---- */

static bool word_chars(const char *s, const char *extra) {
        if (isempty(s))
                return false;
        for (const char *p = s; *p; p++)
                if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && !strchr(extra, *p))
                        return false;
        return true;
}

static const char *valid_name(const char *s) {
        return word_chars(s, "_-") ? NULL : "may hold only a-z, 0-9, '_' and '-'";
}

/* name or name:version, as depends and recipes write them. */
static const char *valid_item(const char *s) {
        const char *colon = strchr(s, ':');
        _cleanup_free_ char *name = colon ? strndup(s, colon - s) : strdup(s);
        if (!name)
                return "cannot be read (out of memory)";
        if (!word_chars(name, "_-"))
                return "is not name[:version] (a name holds only a-z, 0-9, '_' and '-')";
        if (colon && (!colon[1] || strchr(colon + 1, ':') || strpbrk(colon + 1, " \t")))
                return "is not name[:version]";
        return NULL;
}

static const char *valid_os(const char *s) {
        return word_chars(s, "_-") ? NULL : "is not an OS profile name (a-z, 0-9, '_', '-')";
}

/* An entry's own 'os' list: what it installs on, so an OS profile (a typo such as 'lnux' would make
 * the entry install nowhere). Installers, os_depends and recipes keep VMCloak's other names (win7x86). */
static const char *valid_profile_os(const char *s) {
        static char why[256];
        if (os_profile_find(s))
                return NULL;
        size_t n = 0;
        n += snprintf(why + n, sizeof why - n, "is not an OS profile (");
        for (const struct os_profile *const *p = os_profiles(); *p && n < sizeof why; p++)
                n += snprintf(why + n, sizeof why - n, "%s%s", p == os_profiles() ? "" : ", ", (*p)->name);
        if (n < sizeof why)
                snprintf(why + n, sizeof why - n, ")");
        return why;
}

static const char *valid_arch(const char *s) {
        return streq(s, "x86") || streq(s, "amd64") ? NULL : "is not an architecture (x86 or amd64)";
}

/* A tag goes into machineinfo.json as it is: Cuckoo3's rule (core/validate.h vcheck_machine_tag). */
static const char *valid_tag(const char *s) {
        static char why[NAME_PROBLEM_MAX + 32];
        char problem[NAME_PROBLEM_MAX];
        if (!name_problem(NAME_MACHINE_TAG, s, problem))
                return NULL;
        snprintf(why, sizeof why, "is no machine tag: %s", problem);
        return why;
}

static bool valid_setting_key(const char *s) {
        if (isempty(s))
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_')
                        return false;
        return true;
}

/* Words a template may use besides the entry's settings and files. */
static const char *const fixed_words[] = { "version", "os", "arch", "installer", "agent", NULL };

static const struct dep_setting *find_setting(const struct dependency *d, const char *key) {
        for (size_t i = 0; i < d->n_settings; i++)
                if (streq(d->settings[i].key, key))
                        return &d->settings[i];
        return NULL;
}

static const struct dep_file *find_file(const struct dependency *d, const char *filename) {
        for (size_t i = 0; i < d->n_files; i++)
                if (streq(d->files[i].filename, filename))
                        return &d->files[i];
        return NULL;
}

/* The next {{word}} at or after p: *open at its "{{", *end after its "}}"; NULL when there is
 * none. In "{{{x}}}" the word is x (the outer braces are text, as in PowerShell's @{...}); a
 * "{{" without "}}" is returned with *end NULL. */
static const char *next_template(const char *p, const char **end) {
        const char *open = strstr(p, "{{");
        if (!open)
                return NULL;
        while (open[2] == '{')
                open++;
        const char *close = strstr(open + 2, "}}");
        *end = close ? close + 2 : NULL;
        return open;
}

/* Each {{word}} of text must have a value when the step runs. Lines inside a literal block
 * (powershell: |) are counted so the message points at the word's own line. */
static int check_templates(const struct ctx *c, const yaml_node_t *n, const char *text, const struct dependency *d) {
        int base = line_of(n) + (n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE);
        const char *end;
        for (const char *p = next_template(strempty(text), &end); p; p = next_template(end, &end)) {
                int line = base;
                if (n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE)
                        for (const char *q = text; q < p; q++)
                                line += *q == '\n';
                if (!end)
                        return bad_at(c, line, "'{{' without its '}}' (a template is {{name}}; single braces are "
                                      "plain text)");
                _cleanup_free_ char *word = strndup(p + 2, end - 2 - (p + 2));
                if (!word)
                        return log_oom();
                const char *w = word;
                const char *rest;
                if (strv_contains((char *const *)fixed_words, w)) {
                        if (streq(w, "installer") && d->n_installers == 0)
                                return bad_at(c, line, "{{installer}} but the entry has no installers");
                } else if ((rest = startswith(w, "file:"))) {
                        if (!find_file(d, rest))
                                return bad_at(c, line, "{{%s}}: the entry has no file named '%s' under 'files'", w,
                                              rest);
                } else if ((rest = startswith(w, "env:"))) {
                        if (!valid_setting_key(rest))
                                return bad_at(c, line, "{{%s}} does not name an environment variable", w);
                } else if (!find_setting(d, w)) {
                        _cleanup_strv_free_ char **known = NULL;
                        for (size_t i = 0; i < d->n_settings; i++)
                                if (strv_extend(&known, d->settings[i].key) < 0)
                                        return log_oom();
                        _cleanup_free_ char *list = strv_join(known, ", ");
                        return bad_at(c, line, "unknown template {{%s}} (known: version, os, arch, installer, agent, "
                                      "file:NAME, env:NAME%s%s)", w, known ? ", settings: " : "",
                                      known ? strempty(list) : "");
                }
        }
        return 0;
}

/* ---- files (installers and extra files) ---- */

static int get_hex(const struct ctx *c, const yaml_node_t *n, const char *key, size_t len, char **ret) {
        int r = get_str(c, n, key, ret);
        if (r < 0 || !*ret)
                return r;
        bool ok = strlen(*ret) == len;
        for (char *p = *ret; ok && *p; p++) {
                ok = isxdigit((unsigned char)*p);
                *p = tolower((unsigned char)*p);
        }
        if (!ok)
                return bad(c, n, "'%s' must be %zu hexadecimal digits", key, len);
        return 0;
}

/* The file name a URL gives: its path's last part, without query or fragment. */
static char *url_basename(const char *url) {
        const char *s = strstr(url, "://");
        s = s ? s + 3 : url;
        s = strchr(s, '/');
        if (!s)
                return strdup("");
        size_t n = strcspn(s, "?#");
        const char *last = s;
        for (const char *p = s; p < s + n; p++)
                if (*p == '/')
                        last = p + 1;
        return strndup(last, s + n - last);
}

static const char *valid_filename(const char *s) {
        if (isempty(s) || streq(s, ".") || streq(s, "..") || strpbrk(s, "/\\"))
                return "is not a file name (no folders, not '.' or '..')";
        return NULL;
}

static int parse_url(const struct ctx *c, const yaml_node_t *n, struct dep_url *u) {
        static const char *const keys[] = { "url", "dead", NULL };
        const yaml_node_t *un = n;
        int r;
        if (n->type == YAML_MAPPING_NODE) {
                r = check_map(c, n, "a URL", keys);
                if (r < 0)
                        return r;
                un = map_get(c, n, "url");
                if (!un)
                        return bad(c, n, "a URL given as a mapping needs 'url'");
                r = get_str(c, map_get(c, n, "dead"), "dead", &u->dead);
                if (r < 0)
                        return r;
        }
        r = get_str(c, un, "url", &u->url);
        if (r < 0)
                return r;
        if (!u->url || !(startswith(u->url, "http://") || startswith(u->url, "https://") ||
                         startswith(u->url, "ftp://")) || strpbrk(u->url, " \t\n"))
                return bad(c, un, "'%s' is not a URL (http://, https:// or ftp://, no spaces)", strempty(u->url));
        return 0;
}

static int parse_file(const struct ctx *c, const yaml_node_t *n, bool installer, struct dep_file *f) {
        static const char *const installer_keys[] = { "version", "os", "arch", "filename", "sha256", "sha1",
                                                       "size", "urls", NULL };
        static const char *const file_keys[] = { "filename", "sha256", "sha1", "size", "urls", NULL };
        int r = check_map(c, n, installer ? "an installer" : "a file", installer ? installer_keys : file_keys);
        if (r < 0)
                return r;
        f->line = line_of(n);
        const yaml_node_t *v;
        if ((r = get_str(c, map_get(c, n, "version"), "version", &f->version)) < 0 ||
            (r = get_str(c, map_get(c, n, "os"), "os", &f->os)) < 0 ||
            (r = get_str(c, (v = map_get(c, n, "arch")), "arch", &f->arch)) < 0 ||
            (r = get_hex(c, map_get(c, n, "sha256"), "sha256", 64, &f->sha256)) < 0 ||
            (r = get_hex(c, map_get(c, n, "sha1"), "sha1", 40, &f->sha1)) < 0 ||
            (r = get_uint(c, map_get(c, n, "size"), "size", INT64_MAX, &f->size)) < 0)
                return r;
        if (f->arch && valid_arch(f->arch))
                return bad(c, v, "'arch': '%s' %s", f->arch, valid_arch(f->arch));
        if (f->os && valid_os(f->os))
                return bad(c, map_get(c, n, "os"), "'os': '%s' %s", f->os, valid_os(f->os));
        if (!f->sha256 && !f->sha1)
                return bad(c, n, "%s needs 'sha256' or 'sha1' (a file is used only once its hash matched)",
                           installer ? "an installer" : "a file");
        const yaml_node_t *urls = map_get(c, n, "urls");
        if (urls && !is_null(urls)) {
                if (urls->type != YAML_SEQUENCE_NODE)
                        return bad(c, urls, "'urls' must be a list of URLs");
                f->urls = calloc(seq_len(urls) + 1, sizeof *f->urls);
                if (!f->urls)
                        return log_oom();
                for (size_t i = 0; i < seq_len(urls); i++) {
                        r = parse_url(c, node(c, urls->data.sequence.items.start[i]), &f->urls[f->n_urls++]);
                        if (r < 0)
                                return r;
                }
        }
        v = map_get(c, n, "filename");
        if ((r = get_str(c, v, "filename", &f->filename)) < 0)
                return r;
        if (!f->filename) {
                if (f->n_urls == 0)
                        return bad(c, n, "%s needs 'filename' when it has no URLs",
                                   installer ? "an installer" : "a file");
                f->filename = url_basename(f->urls[0].url);
                if (!f->filename)
                        return log_oom();
                v = n;
        }
        if (valid_filename(f->filename))
                return bad(c, v, "'filename': '%s' %s%s", f->filename, valid_filename(f->filename),
                           v == n ? "; the first URL gives none: add 'filename'" : "");
        return 0;
}

static int parse_files(const struct ctx *c, const yaml_node_t *n, bool installer, struct dep_file **ret,
                       size_t *ret_n) {
        const char *key = installer ? "installers" : "files";
        if (!n || is_null(n))
                return 0;
        if (n->type != YAML_SEQUENCE_NODE)
                return bad(c, n, "'%s' must be a list", key);
        *ret = calloc(seq_len(n) + 1, sizeof **ret);
        if (!*ret)
                return log_oom();
        for (size_t i = 0; i < seq_len(n); i++) {
                char where[64];
                snprintf(where, sizeof where, "%s %zu: ", installer ? "installer" : "file", i + 1);
                struct ctx sub = *c;
                sub.where = where;
                int r = parse_file(&sub, node(c, n->data.sequence.items.start[i]), installer, &(*ret)[(*ret_n)++]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- steps ---- */

static const char *const step_kinds[] = {
        [DEP_STEP_UPLOAD] = "upload",         [DEP_STEP_RUN] = "run",
        [DEP_STEP_SCRIPT] = "script",         [DEP_STEP_POWERSHELL] = "powershell",
        [DEP_STEP_REGISTRY] = "registry",     [DEP_STEP_EXTRACT] = "extract",
        [DEP_STEP_ATTACH_ISO] = "attach_iso", [DEP_STEP_DETACH_ISO] = "detach_iso",
        [DEP_STEP_REMOVE] = "remove",         [DEP_STEP_SLEEP] = "sleep",
        [DEP_STEP_RESOLUTION] = "resolution", [DEP_STEP_REBOOT] = "reboot",
        NULL,
};

const char *dep_step_kind_name(enum dep_step_kind kind) {
        return (size_t)kind < ELEMENTSOF(step_kinds) - 1 ? step_kinds[kind] : "?";
}

/* A step's fields beside its kind, and which kinds take them. */
static bool field_allowed(enum dep_step_kind k, const char *field) {
        bool exec = k == DEP_STEP_RUN || k == DEP_STEP_SCRIPT || k == DEP_STEP_POWERSHELL;
        if (streq(field, "when") || streq(field, "ignore_failure"))
                return true;
        if (streq(field, "to"))
                return k == DEP_STEP_UPLOAD || k == DEP_STEP_EXTRACT;
        if (streq(field, "template"))
                return k == DEP_STEP_UPLOAD;
        if (streq(field, "ok") || streq(field, "reboot"))
                return exec;
        if (streq(field, "timeout"))
                return exec || k == DEP_STEP_REGISTRY;
        if (streq(field, "async"))
                return k == DEP_STEP_RUN;
        return false;
}

static const char *const step_fields[] = { "to", "template", "ok", "reboot", "timeout", "ignore_failure", "async",
                                           "when", NULL };

/* A path under the entry's folder: relative, no '..' part, and (after symlinks) still inside. */
static int check_data_path(const struct ctx *c, const yaml_node_t *n, const struct dependency *d, const char *path) {
        bool escapes = path[0] == '/';
        for (const char *p = path; !escapes && p; p = strchr(p, '/')) {
                if (*p == '/')
                        p++;
                escapes = strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == 0);
        }
        if (escapes)
                return bad(c, n, "data:%s leaves the entry's folder %s (data: paths are relative to it, without '..')",
                           path, d->dir);
        _cleanup_free_ char *full = path_join(d->dir, path);
        if (!full)
                return log_oom();
        _cleanup_free_ char *real = realpath(full, NULL);
        if (!real)
                return bad(c, n, "data:%s: %s: %s", path, full, strerror(errno));
        _cleanup_free_ char *real_dir = realpath(d->dir, NULL);
        if (!real_dir)
                return bad(c, n, "data:%s: %s: %s", path, d->dir, strerror(errno));
        const char *rest = startswith(real, real_dir);
        if (!rest || *rest != '/')
                return bad(c, n, "data:%s leads out of the entry's folder %s (to %s)", path, d->dir, real);
        if (is_dir(real))
                return bad(c, n, "data:%s is a folder; a step takes a file", path);
        return 0;
}

static int parse_src(const struct ctx *c, const yaml_node_t *n, const struct dependency *d, const char *kind,
                     struct dep_src *src) {
        const char *s = scalar(n);
        if (!s || is_null(n))
                return bad(c, n, "'%s' must be installer, file:NAME, data:PATH or setting:KEY", kind);
        const char *rest;
        if (streq(s, "installer")) {
                if (d->n_installers == 0)
                        return bad(c, n, "'%s: installer' but the entry has no installers", kind);
                src->kind = DEP_SRC_INSTALLER;
                return 0;
        }
        if ((rest = startswith(s, "file:"))) {
                if (!find_file(d, rest))
                        return bad(c, n, "'%s: %s': the entry has no file named '%s' under 'files'", kind, s, rest);
                src->kind = DEP_SRC_FILE;
        } else if ((rest = startswith(s, "data:"))) {
                if (!*rest)
                        return bad(c, n, "'%s: data:' needs a path", kind);
                int r = check_data_path(c, n, d, rest);
                if (r < 0)
                        return r;
                src->kind = DEP_SRC_DATA;
        } else if ((rest = startswith(s, "setting:"))) {
                if (!find_setting(d, rest))
                        return bad(c, n, "'%s: %s': the entry declares no setting '%s' under 'settings'", kind, s,
                                   rest);
                src->kind = DEP_SRC_SETTING;
        } else
                return bad(c, n, "'%s: %s' is not installer, file:NAME, data:PATH or setting:KEY", kind, s);
        src->name = strdup(rest);
        return src->name ? 0 : log_oom();
}

static int parse_regs(const struct ctx *c, const yaml_node_t *n, const struct dependency *d, struct dep_step *s) {
        static const char *const keys[] = { "key", "value", "type", "data", "delete", NULL };
        static const char *const types[] = { "REG_SZ", "REG_DWORD", "REG_QWORD", "REG_BINARY", "REG_EXPAND_SZ",
                                             "REG_MULTI_SZ", NULL };
        static const char *const roots[] = { "HKLM\\", "HKCU\\", "HKCR\\", "HKU\\", "HKCC\\", NULL };
        if (n->type != YAML_SEQUENCE_NODE || seq_len(n) == 0)
                return bad(c, n, "'registry' must be a list of {key, value, type, data} or {key, value, delete}");
        s->regs = calloc(seq_len(n), sizeof *s->regs);
        if (!s->regs)
                return log_oom();
        for (size_t i = 0; i < seq_len(n); i++) {
                const yaml_node_t *m = node(c, n->data.sequence.items.start[i]);
                struct dep_reg *g = &s->regs[s->n_regs++];
                char what[48];
                snprintf(what, sizeof what, "registry item %zu", i + 1);
                int r = check_map(c, m, what, keys);
                if (r < 0)
                        return r;
                if ((r = get_str(c, map_get(c, m, "key"), "key", &g->key)) < 0 ||
                    (r = get_str(c, map_get(c, m, "value"), "value", &g->value)) < 0 ||
                    (r = get_str(c, map_get(c, m, "type"), "type", &g->type)) < 0 ||
                    (r = get_str(c, map_get(c, m, "data"), "data", &g->data)) < 0 ||
                    (r = get_bool(c, map_get(c, m, "delete"), "delete", &g->delete)) < 0)
                        return r;
                if (!g->key)
                        return bad(c, m, "%s needs 'key'", what);
                bool root_ok = false;
                for (size_t k = 0; roots[k]; k++)
                        root_ok = root_ok || strncasecmp(g->key, roots[k], strlen(roots[k])) == 0;
                if (!root_ok)
                        return bad(c, map_get(c, m, "key"), "%s: key '%s' must start with HKLM\\, HKCU\\, HKCR\\, "
                                   "HKU\\ or HKCC\\", what, g->key);
                if (g->delete && (g->type || g->data))
                        return bad(c, m, "%s deletes a value: 'type' and 'data' do not belong to it", what);
                if (!g->delete && (!g->type || !map_get(c, m, "data")))
                        return bad(c, m, "%s needs 'type' and 'data' (or 'delete: true')", what);
                if (g->type && !strv_contains((char *const *)types, g->type))
                        return bad(c, map_get(c, m, "type"), "%s: type '%s' is not one of REG_SZ, REG_DWORD, "
                                   "REG_QWORD, REG_BINARY, REG_EXPAND_SZ, REG_MULTI_SZ", what, g->type);
                if (!g->delete && !g->data && !(g->data = strdup("")))
                        return log_oom();
                if ((r = check_templates(c, map_get(c, m, "key"), g->key, d)) < 0 ||
                    (r = check_templates(c, map_get(c, m, "value"), g->value, d)) < 0 ||
                    (r = check_templates(c, map_get(c, m, "data"), g->data, d)) < 0)
                        return r;
        }
        return 0;
}

static int parse_when(const struct ctx *c, const yaml_node_t *n, const struct dependency *d, struct dep_when *w) {
        static const char *const keys[] = { "os", "arch", "version", "setting", NULL };
        int r = check_map(c, n, "'when'", keys);
        if (r < 0)
                return r;
        if ((r = get_strv(c, map_get(c, n, "os"), "os", NULL, &w->os)) < 0 ||
            (r = get_strv(c, map_get(c, n, "arch"), "arch", NULL, &w->arch)) < 0 ||
            (r = get_strv(c, map_get(c, n, "version"), "version", NULL, &w->version)) < 0)
                return r;
        const yaml_node_t *sn = map_get(c, n, "setting");
        _cleanup_free_ char *setting = NULL;
        if ((r = get_str(c, sn, "setting", &setting)) < 0)
                return r;
        if (setting) {
                char *eq = strchr(setting, '=');
                if (!eq)
                        return bad(c, sn, "'when: setting' must be KEY=VALUE, not '%s'", setting);
                *eq = 0;
                if (!find_setting(d, setting))
                        return bad(c, sn, "'when: setting' names '%s', which the entry does not declare under "
                                   "'settings'", setting);
                w->setting_key = strdup(setting);
                w->setting_value = strdup(eq + 1);
                if (!w->setting_key || !w->setting_value)
                        return log_oom();
        }
        return 0;
}

/* A template upload of a data: file is checked now, like the catalog's own strings. */
static int check_upload_template(const struct ctx *c, const yaml_node_t *n, const struct dependency *d,
                                 const struct dep_step *s) {
        if (!s->template || s->src.kind != DEP_SRC_DATA)
                return 0;
        _cleanup_free_ char *path = path_join(d->dir, s->src.name), *text = NULL;
        if (!path)
                return log_oom();
        size_t len;
        int r = read_full_file(path, &text, &len);
        if (r < 0)
                return bad(c, n, "data:%s: %s", s->src.name, strerror(-r));
        if (strlen(text) != len)
                return bad(c, n, "data:%s holds a NUL byte; 'template: true' takes UTF-8 text", s->src.name);
        char where[256];
        snprintf(where, sizeof where, "%sdata:%s: ", strempty(c->where), s->src.name);
        struct ctx sub = *c;
        sub.where = where;
        return check_templates(&sub, n, text, d);
}

static int parse_step(const struct ctx *c, const yaml_node_t *n, const struct dependency *d, struct dep_step *s) {
        s->line = line_of(n);
        if (!n || n->type != YAML_MAPPING_NODE)
                return bad(c, n, "a step must be a mapping such as {run: COMMAND}");
        int r = check_map(c, n, "a step", NULL);
        if (r < 0)
                return r;
        /* The kind is the one key that names a kind; 'reboot' is also a field of run steps (exit
         * codes), so it is the kind only when no other kind is there. */
        int kind = -1;
        const yaml_node_t *kind_key = NULL, *val = NULL;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                const char *k = scalar(node(c, p->key));
                for (int i = 0; step_kinds[i]; i++)
                        if (streq(k, step_kinds[i]) && i != DEP_STEP_REBOOT) {
                                if (kind >= 0)
                                        return bad(c, node(c, p->key), "two kinds in one step ('%s' and '%s'): "
                                                   "write two steps", step_kinds[kind], k);
                                kind = i;
                                kind_key = node(c, p->key);
                                val = node(c, p->value);
                        }
        }
        const yaml_node_t *reboot = map_get(c, n, "reboot");
        if (kind < 0 && reboot && reboot->type == YAML_SCALAR_NODE) {
                kind = DEP_STEP_REBOOT;
                kind_key = n;
                val = reboot;
        }
        if (kind < 0) {
                _cleanup_free_ char *list = strv_join((char **)step_kinds, ", ");
                for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
                        if (!strv_contains((char *const *)step_fields, scalar(node(c, p->key))))
                                return bad(c, node(c, p->key), "unknown step kind '%s' (known: %s)",
                                           scalar(node(c, p->key)), strempty(list));
                if (reboot)
                        return bad(c, reboot, "'reboot' lists exit codes of a run, script or powershell step, and "
                                   "this step has none; a reboot of its own is {reboot: true}");
                return bad(c, n, "the step says what to do with none of %s", strempty(list));
        }
        s->kind = kind;
        const char *kname = step_kinds[kind];
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = node(c, p->key);
                const char *ks = scalar(k);
                if (k == kind_key || (kind == DEP_STEP_REBOOT && streq(ks, "reboot")))
                        continue;
                if (!strv_contains((char *const *)step_fields, ks))
                        return bad(c, k, "unknown key '%s' in a %s step", ks, kname);
                if (!field_allowed(kind, ks)) {
                        if (streq(ks, "reboot"))
                                return bad(c, k, "'reboot' (exit codes) belongs to run, script and powershell "
                                           "steps; to reboot, write a step {reboot: true}");
                        return bad(c, k, "'%s' does not belong to a %s step", ks, kname);
                }
        }

        switch (s->kind) {
        case DEP_STEP_UPLOAD:
        case DEP_STEP_SCRIPT:
        case DEP_STEP_EXTRACT:
        case DEP_STEP_ATTACH_ISO:
                r = parse_src(c, val, d, kname, &s->src);
                break;
        case DEP_STEP_RUN:
        case DEP_STEP_POWERSHELL:
        case DEP_STEP_REMOVE:
        case DEP_STEP_RESOLUTION:
                r = get_str(c, val, kname, &s->text);
                if (r >= 0 && isempty(s->text))
                        r = bad(c, val, "'%s' needs a %s", kname,
                                kind == DEP_STEP_RUN          ? "command line"
                                : kind == DEP_STEP_POWERSHELL ? "PowerShell text"
                                : kind == DEP_STEP_REMOVE     ? "guest path"
                                                              : "WxH value");
                if (r >= 0)
                        r = check_templates(c, val, s->text, d);
                break;
        case DEP_STEP_REGISTRY:
                r = parse_regs(c, val, d, s);
                break;
        case DEP_STEP_SLEEP: {
                uint64_t v = 0;
                r = get_uint(c, val, "sleep", 86400, &v);
                s->seconds = (unsigned)v;
                break;
        }
        case DEP_STEP_DETACH_ISO:
        case DEP_STEP_REBOOT: {
                bool yes = false;
                r = get_bool(c, val, kname, &yes);
                if (r >= 0 && !yes)
                        r = bad(c, val, "'%s' takes the value true", kname);
                break;
        }
        }
        if (r < 0)
                return r;

        const yaml_node_t *to = map_get(c, n, "to");
        if ((r = get_str(c, to, "to", &s->to)) < 0)
                return r;
        if ((kind == DEP_STEP_UPLOAD || kind == DEP_STEP_EXTRACT) && isempty(s->to))
                return bad(c, n, "'%s' needs 'to' (the guest %s)", kname,
                           kind == DEP_STEP_UPLOAD ? "path" : "folder");
        if ((r = check_templates(c, to, s->to, d)) < 0)
                return r;
        uint64_t timeout = 0;
        if ((r = get_bool(c, map_get(c, n, "template"), "template", &s->template)) < 0 ||
            (r = get_bool(c, map_get(c, n, "ignore_failure"), "ignore_failure", &s->ignore_failure)) < 0 ||
            (r = get_bool(c, map_get(c, n, "async"), "async", &s->async)) < 0 ||
            (r = get_uint(c, map_get(c, n, "timeout"), "timeout", UINT_MAX, &timeout)) < 0 ||
            (r = get_codes(c, map_get(c, n, "ok"), "ok", &s->ok, &s->n_ok)) < 0)
                return r;
        s->timeout_s = (unsigned)timeout;
        if (kind != DEP_STEP_REBOOT &&
            (r = get_codes(c, map_get(c, n, "reboot"), "reboot", &s->reboot, &s->n_reboot)) < 0)
                return r;
        if (s->async && (s->n_ok || s->n_reboot || s->timeout_s))
                return bad(c, n, "an async run has no exit code: 'ok', 'reboot' and 'timeout' do not belong to it");
        if ((kind == DEP_STEP_RUN || kind == DEP_STEP_SCRIPT || kind == DEP_STEP_POWERSHELL) && !s->async &&
            s->n_ok == 0) {
                s->ok = calloc(1, sizeof *s->ok);
                if (!s->ok)
                        return log_oom();
                s->n_ok = 1;
        }
        if ((r = check_upload_template(c, val, d, s)) < 0)
                return r;
        const yaml_node_t *w = map_get(c, n, "when");
        if (w && (r = parse_when(c, w, d, &s->when)) < 0)
                return r;
        return 0;
}

/* ---- an entry ---- */

static int add_ref(struct dep_entry *e, const char *item, const char *what, int line) {
        struct dep_ref *m = realloc(e->refs, (e->n_refs + 1) * sizeof *m);
        if (!m)
                return log_oom();
        e->refs = m;
        e->refs[e->n_refs++] = (struct dep_ref){ item, what, line };
        return 0;
}

static int add_refs(const struct ctx *c, struct dep_entry *e, const yaml_node_t *n, char **items, const char *what) {
        size_t i = 0;
        STRV_FOREACH(it, items) {
                const yaml_node_t *in = n->type == YAML_SEQUENCE_NODE ? node(c, n->data.sequence.items.start[i]) : n;
                int r = add_ref(e, *it, what, line_of(in));
                if (r < 0)
                        return r;
                i++;
        }
        return 0;
}

static int parse_settings(const struct ctx *c, const yaml_node_t *n, struct dependency *d) {
        static const char *const keys[] = { "required", "default", "description", NULL };
        if (!n || is_null(n))
                return 0;
        int r = check_map(c, n, "'settings'", NULL);
        if (r < 0)
                return r;
        d->settings = calloc(map_len(n) + 1, sizeof *d->settings);
        if (!d->settings)
                return log_oom();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
                const char *ks = scalar(k);
                if (!valid_setting_key(ks))
                        return bad(c, k, "setting '%s' may hold only letters, digits and '_'", ks);
                if (strv_contains((char *const *)fixed_words, ks))
                        return bad(c, k, "a setting cannot be called '%s' ({{%s}} is a template word of its own)",
                                   ks, ks);
                struct dep_setting *s = &d->settings[d->n_settings++];
                if (!(s->key = strdup(ks)))
                        return log_oom();
                if (is_null(v))
                        continue;
                char what[128];
                snprintf(what, sizeof what, "setting '%s'", ks);
                if ((r = check_map(c, v, what, keys)) < 0 ||
                    (r = get_bool(c, map_get(c, v, "required"), "required", &s->required)) < 0 ||
                    (r = get_str(c, map_get(c, v, "default"), "default", &s->default_value)) < 0 ||
                    (r = get_str(c, map_get(c, v, "description"), "description", &s->description)) < 0)
                        return r;
                if (s->required && s->default_value)
                        return bad(c, v, "setting '%s' is required and has a default: one of the two", ks);
        }
        return 0;
}

static int parse_os_depends(const struct ctx *c, const yaml_node_t *n, struct dep_entry *e) {
        struct dependency *d = &e->pub;
        if (!n || is_null(n))
                return 0;
        int r = check_map(c, n, "'os_depends'", NULL);
        if (r < 0)
                return r;
        d->os_depends = calloc(map_len(n) + 1, sizeof *d->os_depends);
        if (!d->os_depends)
                return log_oom();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
                if (valid_os(scalar(k)))
                        return bad(c, k, "'os_depends': '%s' %s", scalar(k), valid_os(scalar(k)));
                struct dep_os_depends *o = &d->os_depends[d->n_os_depends++];
                if (!(o->os = strdup(scalar(k))))
                        return log_oom();
                if ((r = get_strv(c, v, "os_depends", valid_item, &o->depends)) < 0 ||
                    (r = add_refs(c, e, v, o->depends, "os_depends")) < 0)
                        return r;
        }
        return 0;
}

static const char *const entry_keys[] = { "name", "description", "os", "default", "recommended", "multiversion",
                                          "must_reboot", "tags", "depends", "os_depends", "alias_of",
                                          "no_installer_os", "settings", "installers", "files", "steps", NULL };
/* An alias has these of its own and shares the rest with its target (VMCloak's alias classes). */
static const char *const alias_keys[] = { "name", "description", "recommended", "alias_of", NULL };

static int parse_entry(const struct ctx *c, const yaml_node_t *root, const char *file_name, struct dep_entry *e) {
        struct dependency *d = &e->pub;
        int r = check_map(c, root, "an entry", entry_keys);
        if (r < 0)
                return r;
        d->line = line_of(root);
        const yaml_node_t *v = map_get(c, root, "name");
        if (!v)
                return bad(c, root, "the entry needs 'name'");
        if ((r = get_str(c, v, "name", &d->name)) < 0)
                return r;
        if (!d->name || valid_name(d->name))
                return bad(c, v, "name '%s' may hold only a-z, 0-9, '_' and '-'", strempty(d->name));
        if (!streq(d->name, file_name))
                return bad(c, v, "name '%s' does not match the file's name %s.yaml (an entry is in <name>.yaml)",
                           d->name, file_name);
        if ((r = get_str(c, map_get(c, root, "description"), "description", &d->description)) < 0 ||
            (r = get_bool(c, map_get(c, root, "recommended"), "recommended", &d->recommended)) < 0)
                return r;
        v = map_get(c, root, "alias_of");
        if (v) {
                if ((r = get_str(c, v, "alias_of", &d->alias_of)) < 0)
                        return r;
                if (!d->alias_of || valid_name(d->alias_of))
                        return bad(c, v, "'alias_of' must name an entry");
                for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++)
                        if (!strv_contains((char *const *)alias_keys, scalar(node(c, p->key))))
                                return bad(c, node(c, p->key), "'%s' does not belong to an alias: it shares %s's "
                                           "(an alias has only name, description, recommended and alias_of)",
                                           scalar(node(c, p->key)), d->alias_of);
                if ((r = add_ref(e, d->alias_of, "alias_of", line_of(v))) < 0)
                        return r;
                d->tags = calloc(1, sizeof *d->tags);
                return d->tags ? 0 : log_oom();
        }

        if ((r = get_strv(c, map_get(c, root, "os"), "os", valid_profile_os, &d->os)) < 0 ||
            (r = get_str(c, map_get(c, root, "default"), "default", &d->default_version)) < 0 ||
            (r = get_bool(c, map_get(c, root, "multiversion"), "multiversion", &d->multiversion)) < 0 ||
            (r = get_bool(c, map_get(c, root, "must_reboot"), "must_reboot", &d->must_reboot)) < 0 ||
            (r = get_strv(c, map_get(c, root, "tags"), "tags", valid_tag, &d->tags)) < 0 ||
            (r = get_strv(c, (v = map_get(c, root, "depends")), "depends", valid_item, &d->depends)) < 0 ||
            (v && (r = add_refs(c, e, v, d->depends, "depends")) < 0) ||
            (r = parse_os_depends(c, map_get(c, root, "os_depends"), e)) < 0 ||
            (r = get_strv(c, map_get(c, root, "no_installer_os"), "no_installer_os", valid_os,
                          &d->no_installer_os)) < 0 ||
            (r = parse_settings(c, map_get(c, root, "settings"), d)) < 0 ||
            (r = parse_files(c, map_get(c, root, "installers"), true, &d->installers, &d->n_installers)) < 0 ||
            (r = parse_files(c, map_get(c, root, "files"), false, &d->files, &d->n_files)) < 0)
                return r;
        if (!d->tags && !(d->tags = calloc(1, sizeof *d->tags)))
                return log_oom();
        if (d->default_version && d->n_installers > 0) {
                _cleanup_strv_free_ char **versions = dep_versions(d);
                bool any = false;
                for (size_t i = 0; i < d->n_installers; i++)
                        any = any || !d->installers[i].version;
                if (!versions)
                        return log_oom();
                if (!any && !strv_contains(versions, d->default_version)) {
                        _cleanup_free_ char *list = strv_join(versions, ", ");
                        return bad(c, map_get(c, root, "default"), "default '%s' is none of the installers' versions "
                                   "(%s)", d->default_version, strempty(list));
                }
        }

        v = map_get(c, root, "steps");
        if (v && !is_null(v)) {
                if (v->type != YAML_SEQUENCE_NODE)
                        return bad(c, v, "'steps' must be a list");
                d->steps = calloc(seq_len(v) + 1, sizeof *d->steps);
                if (!d->steps)
                        return log_oom();
                for (size_t i = 0; i < seq_len(v); i++) {
                        char where[32];
                        snprintf(where, sizeof where, "step %zu: ", i + 1);
                        struct ctx sub = *c;
                        sub.where = where;
                        r = parse_step(&sub, node(c, v->data.sequence.items.start[i]), d, &d->steps[d->n_steps++]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int load_entry(const char *dir, const char *file, bool user, struct dependency **ret) {
        _cleanup_free_ char *path = path_join(dir, file);
        _cleanup_free_ char *stem = strndup(file, strlen(file) - strlen(".yaml"));
        _cleanup_(dep_freep) struct dependency *d = calloc(1, sizeof(struct dep_entry));
        if (!path || !stem || !d)
                return log_oom();
        d->source = strdup(path);
        d->dir = strdup(dir);
        if (!d->source || !d->dir)
                return log_oom();
        d->user = user;
        yaml_document_t doc;
        int r = yaml_file_load(path, &doc);
        if (r < 0)
                return r;
        struct ctx c = { .source = path, .doc = &doc, .where = "" };
        r = parse_entry(&c, yaml_document_get_root_node(&doc), stem, ENTRY(d));
        yaml_document_delete(&doc);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

/* ---- the catalog ---- */

static int cmp_dep(const void *a, const void *b) {
        return strcmp((*(struct dependency *const *)a)->name, (*(struct dependency *const *)b)->name);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The *.yaml files of a folder but recipes.yaml, sorted (messages and overrides do not depend on
 * readdir's order); hidden files (editors' leftovers) are skipped. */
static int list_yaml(const char *dir, char ***ret) {
        DIR *dp = opendir(dir);
        if (!dp)
                return log_error_errno(-errno, "cannot read the folder %s: %m", dir);
        _cleanup_strv_free_ char **l = NULL;
        struct dirent *de;
        int r = 0;
        while ((de = readdir(dp))) {
                if (de->d_name[0] != '.' && endswith(de->d_name, ".yml"))
                        log_warning("%s/%s is not read: catalog entries are NAME.yaml", dir, de->d_name);
                if (de->d_name[0] == '.' || !endswith(de->d_name, ".yaml") || streq(de->d_name, "recipes.yaml"))
                        continue;
                _cleanup_free_ char *p = path_join(dir, de->d_name);
                if (!p) {
                        r = log_oom();
                        break;
                }
                if (is_dir(p))
                        continue;
                /* A FIFO or device named *.yaml would block or never end: only regular files are read. */
                struct stat st;
                if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
                        log_warning("%s is not read: it is no regular file", p);
                        continue;
                }
                if (strv_extend(&l, de->d_name) < 0) {
                        r = log_oom();
                        break;
                }
        }
        closedir(dp);
        if (r < 0)
                return r;
        if (l)
                qsort(l, strv_length(l), sizeof *l, cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}

static int catalog_add(struct dep_catalog *c, struct dependency *d) {
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->deps[i]->name, d->name)) {
                        /* deps.d replaces a shipped entry whole (list deps says so). */
                        d->overrides = true;
                        log_debug("%s replaces the shipped entry %s", d->source, c->deps[i]->source);
                        dep_free(c->deps[i]);
                        c->deps[i] = d;
                        return 0;
                }
        struct dependency **m = realloc(c->deps, (c->n + 1) * sizeof *m);
        if (!m) {
                dep_free(d);
                return log_oom();
        }
        c->deps = m;
        c->deps[c->n++] = d;
        return 0;
}

static int load_folder(struct dep_catalog *c, const char *dir, bool user) {
        _cleanup_strv_free_ char **files = NULL;
        int r = list_yaml(dir, &files);
        if (r < 0)
                return r;
        STRV_FOREACH(f, files) {
                struct dependency *d = NULL;
                r = load_entry(dir, *f, user, &d);
                if (r < 0)
                        return r;
                r = catalog_add(c, d);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* name[:version] names an entry and, when it has installers that all carry a version, one of them. */
static int check_item(const struct dep_catalog *c, const char *source, int line, const char *prefix,
                      const char *item) {
        const char *colon = strchr(item, ':');
        _cleanup_free_ char *name = colon ? strndup(item, colon - item) : strdup(item);
        if (!name)
                return log_oom();
        const struct dependency *d = dep_catalog_find(c, name);
        if (!d) {
                log_error("%s:%d: %s'%s' names no entry of the catalog", source, line, prefix, item);
                return -EINVAL;
        }
        d = dep_catalog_resolve_alias(c, d);
        if (!colon || !d || d->n_installers == 0)
                return 0;
        for (size_t i = 0; i < d->n_installers; i++)
                if (!d->installers[i].version || streq(d->installers[i].version, colon + 1))
                        return 0;
        _cleanup_strv_free_ char **versions = dep_versions(d);
        _cleanup_free_ char *list = versions ? strv_join(versions, ", ") : NULL;
        if (!list)
                return log_oom();
        log_error("%s:%d: %s'%s': %s has no version %s (it has %s)", source, line, prefix, item, name, colon + 1, list);
        return -EINVAL;
}

/* Aliases get their target's list facts (os, default, flags, tags) so that callers reading
 * them need not resolve; installers, files, settings and steps stay the target's. */
static int link_alias(struct dep_catalog *c, struct dependency *d) {
        const struct dep_ref *ref = &ENTRY(d)->refs[0];
        const struct dependency *t = dep_catalog_find(c, d->alias_of);
        if (!t) {
                log_error("%s:%d: alias_of '%s' names no entry of the catalog", d->source, ref->line, d->alias_of);
                return -EINVAL;
        }
        if (t->alias_of) {
                log_error("%s:%d: alias_of '%s' is itself an alias (of %s); name %s instead", d->source, ref->line,
                          t->name, t->alias_of, t->alias_of);
                return -EINVAL;
        }
        strv_free(d->tags);
        d->tags = strv_copy(t->tags);
        d->os = t->os ? strv_copy(t->os) : NULL;
        d->default_version = t->default_version ? strdup(t->default_version) : NULL;
        if (!d->tags || (t->os && !d->os) || (t->default_version && !d->default_version))
                return log_oom();
        d->multiversion = t->multiversion;
        d->must_reboot = t->must_reboot;
        return 0;
}

static bool same_hashes(const struct dep_file *a, const struct dep_file *b) {
        if (a->sha256 && b->sha256)
                return streq(a->sha256, b->sha256);
        if (a->sha1 && b->sha1)
                return streq(a->sha1, b->sha1);
        return false;
}

/* The cache keeps files by name, so one name must mean one file across the catalog. */
static int check_filenames(const struct dep_catalog *c) {
        struct where {
                const struct dependency *d;
                const struct dep_file *f;
        };
        _cleanup_free_ struct where *seen = NULL;
        size_t n = 0;
        for (size_t i = 0; i < c->n; i++) {
                const struct dependency *d = c->deps[i];
                for (size_t k = 0; k < d->n_installers + d->n_files; k++) {
                        const struct dep_file *f = k < d->n_installers ? &d->installers[k]
                                                                       : &d->files[k - d->n_installers];
                        for (size_t j = 0; j < n; j++)
                                if (streq(seen[j].f->filename, f->filename) && !same_hashes(seen[j].f, f)) {
                                        log_error("%s:%d: file name %s is also %s:%d with another hash; files are "
                                                  "cached by name: give one of them another 'filename'",
                                                  d->source, f->line, f->filename, seen[j].d->source, seen[j].f->line);
                                        return -EINVAL;
                                }
                        struct where *m = realloc(seen, (n + 1) * sizeof *m);
                        if (!m)
                                return log_oom();
                        seen = m;
                        seen[n++] = (struct where){ d, f };
                }
        }
        return 0;
}

char *const *dep_sub_depends(const struct dependency *d, const char *os) {
        if ((d->depends && d->depends[0]) || !os)
                return d->depends;
        for (size_t i = 0; i < d->n_os_depends; i++)
                if (streq(d->os_depends[i].os, os))
                        return d->os_depends[i].depends;
        return NULL;
}

/* Depth-first from d: 1 when root is reached again (*path then holds the names from root to root). */
static int find_cycle(const struct dep_catalog *c, const struct dependency *root, const struct dependency *d,
                      const char *os, char ***path, char ***visited) {
        STRV_FOREACH(s, dep_sub_depends(d, os)) {
                _cleanup_free_ char *name = strndup(*s, strcspn(*s, ":"));
                if (!name)
                        return log_oom();
                const struct dependency *t = dep_catalog_find(c, name);
                if (!t)
                        continue; /* check_item() names it */
                t = dep_catalog_resolve_alias(c, t);
                if (!t)
                        continue;
                if (strv_extend(path, name) < 0)
                        return log_oom();
                if (t == root)
                        return 1;
                if (!strv_contains(*visited, t->name)) {
                        if (strv_extend(visited, t->name) < 0)
                                return log_oom();
                        int r = find_cycle(c, root, t, os, path, visited);
                        if (r != 0)
                                return r;
                }
                size_t n = strv_length(*path);
                free((*path)[n - 1]);
                (*path)[n - 1] = NULL;
        }
        return 0;
}

/* An entry that needs itself (directly or through others) would never install: refuse it when the
 * catalog is read, with the line of its first depends on the way round. */
static int check_cycles(const struct dep_catalog *c) {
        _cleanup_strv_free_ char **oses = NULL;
        for (size_t i = 0; i < c->n; i++)
                for (size_t k = 0; k < c->deps[i]->n_os_depends; k++)
                        if (!strv_contains(oses, c->deps[i]->os_depends[k].os) &&
                            strv_extend(&oses, c->deps[i]->os_depends[k].os) < 0)
                                return log_oom();
        size_t n_oses = strv_length(oses);
        for (size_t i = 0; i < c->n; i++) {
                const struct dependency *root = c->deps[i];
                if (root->alias_of)
                        continue;
                for (size_t o = 0; o <= n_oses; o++) {
                        const char *os = o == 0 ? NULL : oses[o - 1];
                        _cleanup_strv_free_ char **path = NULL, **visited = NULL;
                        if (strv_extend(&path, root->name) < 0)
                                return log_oom();
                        int r = find_cycle(c, root, root, os, &path, &visited);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;
                        const struct dep_entry *e = ENTRY(root);
                        const struct dep_ref *ref = NULL;
                        for (size_t k = 0; k < e->n_refs && !ref; k++)
                                if (!streq(e->refs[k].what, "alias_of") &&
                                    strncmp(e->refs[k].item, path[1], strlen(path[1])) == 0 &&
                                    strchr(":", e->refs[k].item[strlen(path[1])]))
                                        ref = &e->refs[k];
                        _cleanup_free_ char *chain = strv_join(path, " -> ");
                        if (!chain)
                                return log_oom();
                        log_error("%s:%d: %s: '%s' makes a cycle%s%s: %s (an entry cannot need itself; drop one "
                                  "of these depends)",
                                  root->source, ref ? ref->line : 1, ref ? ref->what : "depends",
                                  ref ? ref->item : path[1], os ? " on " : "", strempty(os), chain);
                        return -EINVAL;
                }
        }
        return 0;
}

static int check_catalog(struct dep_catalog *c) {
        int r;
        for (size_t i = 0; i < c->n; i++)
                if (c->deps[i]->alias_of && (r = link_alias(c, c->deps[i])) < 0)
                        return r;
        for (size_t i = 0; i < c->n; i++) {
                const struct dep_entry *e = ENTRY(c->deps[i]);
                for (size_t k = 0; k < e->n_refs; k++) {
                        if (streq(e->refs[k].what, "alias_of"))
                                continue;
                        char prefix[64];
                        snprintf(prefix, sizeof prefix, "%s: ", e->refs[k].what);
                        r = check_item(c, e->pub.source, e->refs[k].line, prefix, e->refs[k].item);
                        if (r < 0)
                                return r;
                }
        }
        r = check_cycles(c);
        if (r < 0)
                return r;
        return check_filenames(c);
}

/* recipes.yaml: os -> [name[:version], ...]; a later file's OS list replaces an earlier one's. */
static int load_recipes(struct dep_catalog *cat, const char *dir) {
        _cleanup_free_ char *path = path_join(dir, "recipes.yaml");
        if (!path)
                return log_oom();
        if (!path_exists(path))
                return 0;
        yaml_document_t doc;
        int r = yaml_file_load(path, &doc);
        if (r < 0)
                return r;
        struct ctx c = { .source = path, .doc = &doc, .where = "" };
        const yaml_node_t *root = yaml_document_get_root_node(&doc);
        r = check_map(&c, root, "recipes.yaml (OS: [name[:version], ...])", NULL);
        for (yaml_node_pair_t *p = r < 0 ? NULL : root->data.mapping.pairs.start;
             r >= 0 && p < root->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = node(&c, p->key), *v = node(&c, p->value);
                const char *os = scalar(k);
                /* A recipe is for images, so its key is an OS profile ('lnx:' would never be used). */
                if (valid_profile_os(os)) {
                        r = bad(&c, k, "'%s' %s", os, valid_profile_os(os));
                        break;
                }
                _cleanup_strv_free_ char **items = NULL;
                if ((r = get_strv(&c, v, os, valid_item, &items)) < 0)
                        break;
                char prefix[128];
                snprintf(prefix, sizeof prefix, "%s: ", os);
                for (size_t i = 0; r >= 0 && items && items[i]; i++)
                        r = check_item(cat, path, line_of(v->type == YAML_SEQUENCE_NODE
                                                                  ? node(&c, v->data.sequence.items.start[i])
                                                                  : v),
                                       prefix, items[i]);
                /* An item for an OS it does not install on would only fail at install -r. */
                for (size_t i = 0; r >= 0 && items && items[i]; i++) {
                        _cleanup_free_ char *name = strndup(items[i], strcspn(items[i], ":"));
                        if (!name) {
                                r = log_oom();
                                break;
                        }
                        const struct dependency *d = dep_catalog_resolve_alias(cat, dep_catalog_find(cat, name));
                        if (d && !dep_supports_os(d, os))
                                r = bad(&c, v->type == YAML_SEQUENCE_NODE ? node(&c, v->data.sequence.items.start[i]) : v,
                                        "%s'%s' does not install on %s (its os list)", prefix, items[i], os);
                }
                if (r < 0)
                        break;
                if (!items && !(items = calloc(1, sizeof *items))) {
                        r = log_oom();
                        break;
                }
                struct dep_recipe *rec = NULL;
                for (size_t i = 0; i < cat->n_recipes; i++)
                        if (streq(cat->recipes[i].os, os))
                                rec = &cat->recipes[i];
                if (!rec) {
                        struct dep_recipe *m = realloc(cat->recipes, (cat->n_recipes + 1) * sizeof *m);
                        if (!m) {
                                r = log_oom();
                                break;
                        }
                        cat->recipes = m;
                        rec = &cat->recipes[cat->n_recipes++];
                        *rec = (struct dep_recipe){ .os = strdup(os) };
                        if (!rec->os) {
                                r = log_oom();
                                break;
                        }
                }
                strv_free(rec->items);
                rec->items = TAKE_PTR(items);
        }
        yaml_document_delete(&doc);
        return r;
}

int dep_catalog_load(const char *datadir, const char *userdir, struct dep_catalog **ret) {
        _cleanup_free_ char *shipped = path_join(datadir, "deps");
        _cleanup_(dep_catalog_freep) struct dep_catalog *c = calloc(1, sizeof *c);
        if (!shipped || !c)
                return log_oom();
        if (!is_dir(shipped)) {
                log_error("vmcloak's dependency catalog %s is missing: reinstall vmcloak or point VMCLOAK_DATADIR at "
                          "its data folder", shipped);
                return -ENOENT;
        }
        int r = load_folder(c, shipped, false);
        if (r < 0)
                return r;
        if (userdir && path_exists(userdir)) {
                if (!is_dir(userdir)) {
                        log_error("%s is not a folder; your catalog entries go into it as NAME.yaml files", userdir);
                        return -ENOTDIR;
                }
                if ((r = load_folder(c, userdir, true)) < 0)
                        return r;
        }
        if (c->n)
                qsort(c->deps, c->n, sizeof *c->deps, cmp_dep);
        if ((r = check_catalog(c)) < 0 || (r = load_recipes(c, shipped)) < 0 ||
            (userdir && (r = load_recipes(c, userdir)) < 0))
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int dep_catalog_load_default(struct dep_catalog **ret) {
        /* From the build tree the catalog is the source's data/deps (paths_data_file knows). */
        _cleanup_free_ char *deps = paths_data_file("deps");
        _cleanup_free_ char *datadir = deps ? path_dirname(deps) : NULL;
        _cleanup_free_ char *userdir = paths_home() ? paths_deps_d() : NULL;
        if (!datadir || (paths_home() && !userdir))
                return log_oom();
        return dep_catalog_load(datadir, userdir, ret);
}

const struct dependency *dep_catalog_find(const struct dep_catalog *c, const char *name) {
        if (!c || !name)
                return NULL;
        size_t lo = 0, hi = c->n;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int k = strcmp(name, c->deps[mid]->name);
                if (k == 0)
                        return c->deps[mid];
                if (k < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

const struct dependency *dep_catalog_resolve_alias(const struct dep_catalog *c, const struct dependency *d) {
        if (!d || !d->alias_of)
                return d;
        return dep_catalog_find(c, d->alias_of);
}

const struct dep_recipe *dep_catalog_recipe(const struct dep_catalog *c, const char *os) {
        for (size_t i = 0; c && os && i < c->n_recipes; i++)
                if (streq(c->recipes[i].os, os))
                        return &c->recipes[i];
        return NULL;
}

int dep_pick_installer(const struct dependency *d, const char *version, const char *os, const char *arch,
                       const struct dep_file **ret) {
        *ret = NULL;
        if (d->n_installers == 0)
                return 0;
        if (!version)
                version = d->default_version;
        for (size_t i = 0; i < d->n_installers; i++) {
                const struct dep_file *f = &d->installers[i];
                if (f->os && os && !streq(f->os, os))
                        continue;
                if (f->arch && arch && !streq(f->arch, arch))
                        continue;
                if (f->version && version && !streq(f->version, version))
                        continue;
                *ret = f;
                return 0;
        }
        if (os && strv_contains(d->no_installer_os, os))
                return 0;
        return -ENOENT;
}

char **dep_versions(const struct dependency *d) {
        char **l = calloc(1, sizeof *l);
        if (!l)
                return NULL;
        for (size_t i = 0; i < d->n_installers; i++) {
                const char *v = d->installers[i].version;
                if (v && !strv_contains(l, v) && strv_extend(&l, v) < 0) {
                        strv_free(l);
                        return NULL;
                }
        }
        return l;
}

bool dep_supports_os(const struct dependency *d, const char *os) {
        return !d->os || (os && strv_contains(d->os, os));
}

/* ---- templates ---- */

static const char *var_value(const struct dep_vars *vars, const char *key) {
        for (size_t i = 0; vars && vars->keys && vars->keys[i]; i++)
                if (streq(vars->keys[i], key))
                        return vars->values[i];
        return NULL;
}

int dep_template_expand(const char *tmpl, const struct dep_vars *vars, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *out = open_memstream(&buf, &size);
        if (!out)
                return log_oom();
        const char *p = strempty(tmpl);
        for (;;) {
                const char *end = NULL;
                const char *open = next_template(p, &end);
                if (!open || !end) {
                        /* An unclosed {{ is text: the catalog refuses it, a template file may hold one. */
                        fputs(p, out);
                        break;
                }
                fwrite(p, 1, open - p, out);
                _cleanup_free_ char *word = strndup(open + 2, end - 2 - (open + 2));
                if (!word)
                        return log_oom();
                const char *name;
                if ((name = startswith(word, "env:"))) {
                        if (!vars || !vars->getenv) {
                                log_error("no value for {{%s}}: the guest's environment cannot be read here", word);
                                return -ENOENT;
                        }
                        _cleanup_free_ char *v = NULL;
                        int r = vars->getenv(vars->userdata, name, &v);
                        if (r < 0)
                                return r;
                        fputs(strempty(v), out);
                } else {
                        const char *v = var_value(vars, word);
                        if (!v) {
                                log_error("no value for the template {{%s}}", word);
                                return -ENOENT;
                        }
                        fputs(v, out);
                }
                p = end;
        }
        if (fflush(out) != 0 || ferror(out))
                return log_oom();
        fclose(TAKE_PTR(out));
        *ret = TAKE_PTR(buf);
        return 0;
}
