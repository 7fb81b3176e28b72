/* Resolution of install tokens into an ordered plan (VMCloak install.py, spec §7). */
#include "deps/resolve.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/repo.h"
#include "core/util.h"

/* Deeper than any real chain (ie10 -> kb is two): a longer one is a cycle in the data. */
#define MAX_DEPTH 16

/* One top-level entry: a dependency (name, asked version) or a generic step. */
struct queued {
        char *name;
        char *version;
        const struct install_step *step;
        bool dropped;      /* another entry's sub-dependency: installed as part of it (§7.1) */
};

struct resolver {
        const struct dep_resolve_input *in;
        struct dep_plan plan;
        char **planned;    /* "name\nversion" of entries planned in this run (§7.2: "installed earlier") */
        char **seen;       /* every name reachable (top level and sub-dependencies) */
};

static void item_done(struct dep_plan_item *it) {
        free(it->name);
        free(it->version);
        strv_free(it->set_keys);
        strv_free(it->set_values);
        free(it->installer_path);
        strv_free(it->file_paths);
}

void dep_plan_free(struct dep_plan *p) {
        for (size_t i = 0; i < p->n; i++)
                item_done(&p->items[i]);
        free(p->items);
        strv_free(p->skipped);
        *p = (struct dep_plan){ 0 };
}

size_t dep_plan_count_deps(const struct dep_plan *p) {
        size_t n = 0;
        for (size_t i = 0; i < p->n; i++)
                if (p->items[i].kind == DEP_PLAN_DEP && !p->items[i].left_out)
                        n++;
        return n;
}

const char *dep_plan_item_setting(const struct dep_plan_item *it, const char *key) {
        for (size_t i = 0; it->set_keys && it->set_keys[i]; i++)
                if (streq(it->set_keys[i], key))
                        return it->set_values[i];
        return NULL;
}

static bool any_match(char *const *patterns, const char *s) {
        STRV_FOREACH(p, patterns)
                if (fnmatch(*p, s, 0) == 0)
                        return true;
        return false;
}

bool dep_when_matches(const struct dep_when *w, const char *os, const char *arch, const char *version,
                      char *const *keys, char *const *values) {
        if (w->os && !any_match(w->os, strempty(os)))
                return false;
        if (w->arch && !any_match(w->arch, strempty(arch)))
                return false;
        if (w->version && !any_match(w->version, strempty(version)))
                return false;
        if (w->setting_key) {
                const char *v = "";
                for (size_t i = 0; keys && keys[i]; i++)
                        if (streq(keys[i], w->setting_key))
                                v = strempty(values[i]);
                /* A pattern like the others (catalog.h): "filepath=?*" means "given". */
                if (fnmatch(strempty(w->setting_value), v, 0) != 0)
                        return false;
        }
        return true;
}

/* Split "name[:version]" (VMCloak splits on the first ':'). */
static int split_token(const char *tok, char **ret_name, char **ret_version) {
        const char *colon = strchr(tok, ':');
        _cleanup_free_ char *name = colon ? strndup(tok, (size_t)(colon - tok)) : strdup(tok);
        _cleanup_free_ char *version = colon && colon[1] ? strdup(colon + 1) : NULL;
        if (!name || (colon && colon[1] && !version))
                return -ENOMEM;
        *ret_name = TAKE_PTR(name);
        *ret_version = TAKE_PTR(version);
        return 0;
}

static const struct dependency *data_of(const struct resolver *rs, const char *name) {
        const struct dependency *d = dep_catalog_find(rs->in->catalog, name);
        return d ? dep_catalog_resolve_alias(rs->in->catalog, d) : NULL;
}

/* Every name reachable from name, into rs->seen; unknown names into *unknown. */
static int collect(struct resolver *rs, const char *name, unsigned depth, char ***unknown) {
        if (depth > MAX_DEPTH) {
                log_error("the dependencies of %s form a cycle in the catalog (deeper than %d); fix its depends",
                          name, MAX_DEPTH);
                return -EINVAL;
        }
        const struct dependency *d = data_of(rs, name);
        if (!d)
                return strv_contains(*unknown, name) ? 0 : strv_extend(unknown, name);
        if (!strv_contains(rs->seen, name) && strv_extend(&rs->seen, name) < 0)
                return -ENOMEM;
        STRV_FOREACH(s, dep_sub_depends(d, rs->in->os)) {
                _cleanup_free_ char *n = NULL, *v = NULL;
                int r = split_token(*s, &n, &v);
                if (r == 0)
                        r = collect(rs, n, depth + 1, unknown);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_sub_dep_of(const struct resolver *rs, const char *parent, const char *name, unsigned depth,
                          char **ret_version) {
        const struct dependency *d = data_of(rs, parent);
        if (!d || depth > MAX_DEPTH)
                return false;
        STRV_FOREACH(s, dep_sub_depends(d, rs->in->os)) {
                _cleanup_free_ char *n = NULL, *v = NULL;
                if (split_token(*s, &n, &v) < 0)
                        continue;
                if (streq(n, name)) {
                        *ret_version = TAKE_PTR(v);
                        return true;
                }
                if (is_sub_dep_of(rs, n, name, depth + 1, ret_version))
                        return true;
        }
        return false;
}

static int push(struct resolver *rs, struct dep_plan_item *it) {
        struct dep_plan_item *n = realloc(rs->plan.items, sizeof *n * (rs->plan.n + 1));
        if (!n) {
                item_done(it);
                return -ENOMEM;
        }
        n[rs->plan.n++] = *it;
        rs->plan.items = n;
        return 0;
}

static int push_reboot(struct resolver *rs, const char *fmt, const char *name) {
        struct dep_plan_item it = { .kind = DEP_PLAN_REBOOT, .name = strdup_printf(fmt, name) };
        return it.name ? push(rs, &it) : -ENOMEM;
}

static bool planned(const struct resolver *rs, const char *name, const char *version) {
        size_t len = strlen(name);
        STRV_FOREACH(p, rs->planned)
                if (strncmp(*p, name, len) == 0 && (*p)[len] == '\n' &&
                    (!version || streq(*p + len + 1, version)))
                        return true;
        return false;
}

static int fill_settings(const struct resolver *rs, const char *name, const struct dependency *d,
                         struct dep_plan_item *it) {
        size_t len = strlen(name);
        for (size_t i = 0; i < d->n_settings; i++) {
                const struct dep_setting *s = &d->settings[i];
                const char *value = s->default_value;
                STRV_FOREACH(t, rs->in->tokens->settings)
                        if (strncmp(*t, name, len) == 0 && (*t)[len] == '.' &&
                            strncmp(*t + len + 1, s->key, strlen(s->key)) == 0 && (*t)[len + 1 + strlen(s->key)] == '=')
                                value = *t + len + 1 + strlen(s->key) + 1;
                if (!value) {
                        if (!s->required)
                                continue;
                        log_error("%s needs the setting %s.%s=...%s%s%s", name, name, s->key,
                                  s->description ? " (" : "", strempty(s->description), s->description ? ")" : "");
                        return -EINVAL;
                }
                if (strv_extend(&it->set_keys, s->key) < 0 || strv_extend(&it->set_values, value) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int pick_installer(const char *name, const struct dependency *d, const char *version, const char *os,
                          const char *arch, const struct dep_file **ret) {
        int r = dep_pick_installer(d, version, os, arch, ret);
        if (r != -ENOENT)
                return r;
        _cleanup_strv_free_ char **versions = dep_versions(d);
        _cleanup_free_ char *list = versions ? strv_join(versions, ", ") : NULL;
        if (!list)
                return -ENOMEM;
        if (version)
                log_error("%s has no installer for version %s on %s (%s); its versions: %s", name, version, os, arch,
                          isempty(list) ? "none" : list);
        else
                log_error("%s has no installer for %s (%s); its versions: %s", name, os, arch,
                          isempty(list) ? "none" : list);
        return -EINVAL;
}

/* VMCloak's _do_install (§7.2): 1 when something was planned, 0 when skipped, or an error. */
static int plan_one(struct resolver *rs, const char *name, const char *asked, bool skip_installed, bool sub,
                    unsigned depth) {
        const struct dep_resolve_input *in = rs->in;
        const struct dependency *d = data_of(rs, name);
        if (!d)
                return -EINVAL;  /* collect() named it */
        if (skip_installed && (installed_has(in->installed, name, asked) || planned(rs, name, asked))) {
                if (!planned(rs, name, asked)) {
                        const char *rec = asked ? asked : NULL;
                        if (!strv_contains(rs->plan.skipped, name) &&
                            (rec ? strv_extendf(&rs->plan.skipped, "%s:%s", name, rec)
                                 : strv_extend(&rs->plan.skipped, name)) < 0)
                                return -ENOMEM;
                }
                return 0;
        }
        if (!dep_supports_os(d, in->os)) {
                _cleanup_free_ char *oses = d->os ? strv_join(d->os, ", ") : NULL;
                log_error("%s does not install on %s (it is for %s)", name, in->os, strempty(oses));
                return -EINVAL;
        }
        bool subs_ran = false;
        STRV_FOREACH(s, dep_sub_depends(d, in->os)) {
                _cleanup_free_ char *n = NULL, *v = NULL;
                int r = split_token(*s, &n, &v);
                if (r < 0)
                        return r;
                r = plan_one(rs, n, v, true, true, depth + 1);
                if (r < 0)
                        return r;
                subs_ran |= r > 0;
        }
        if (subs_ran) {
                int r = push_reboot(rs, "after the sub-dependencies of %s", name);
                if (r < 0)
                        return r;
        }
        struct dep_plan_item it = { .kind = DEP_PLAN_DEP, .dep = d, .sub = sub };
        const char *version = asked ? asked : d->default_version;
        int r = pick_installer(name, d, version, in->os, in->arch, &it.installer);
        if (r < 0)
                return r;
        it.name = strdup(name);
        it.version = version ? strdup(version) : NULL;
        if (!it.name || (version && !it.version)) {
                item_done(&it);
                return -ENOMEM;
        }
        r = fill_settings(rs, name, d, &it);
        if (r < 0) {
                item_done(&it);
                return r;
        }
        r = push(rs, &it);
        if (r < 0)
                return r;
        /* Both the version chosen and "any version" count as planned for later entries. */
        return strv_extendf(&rs->planned, "%s\n%s", name, strempty(version)) < 0 ? -ENOMEM : 1;
}

/* §2.5: "pkg.key=value" goes to the entry named pkg; it must be in the plan and declare key. */
static int check_settings(const struct resolver *rs) {
        STRV_FOREACH(t, rs->in->tokens->settings) {
                const char *dot = strchr(*t, '.'), *eq = strchr(*t, '=');
                _cleanup_free_ char *pkg = strndup(*t, (size_t)(dot - *t));
                _cleanup_free_ char *key = strndup(dot + 1, (size_t)(eq - dot - 1));
                if (!pkg || !key)
                        return -ENOMEM;
                const struct dependency *d = rs->in->catalog && strv_contains(rs->seen, pkg) ? data_of(rs, pkg) : NULL;
                if (!d) {
                        log_error("the setting %s is for %s, which is not in this install; name %s too, or drop the "
                                  "setting", *t, pkg, pkg);
                        return -EINVAL;
                }
                if (streq(key, "version")) {
                        log_error("%s: the version of %s is given twice (as %s:VERSION or earlier); give it once", *t,
                                  pkg, pkg);
                        return -EINVAL;
                }
                bool known = false;
                _cleanup_strv_free_ char **keys = NULL;
                for (size_t i = 0; i < d->n_settings; i++) {
                        known |= streq(d->settings[i].key, key);
                        if (strv_extend(&keys, d->settings[i].key) < 0)
                                return -ENOMEM;
                }
                if (!known) {
                        _cleanup_free_ char *list = keys ? strv_join(keys, ", ") : NULL;
                        log_error("%s has no setting '%s' (%s%s)", pkg, key, list ? "it has: " : "it has none",
                                  strempty(list));
                        return -EINVAL;
                }
        }
        return 0;
}

/* -r: the recipe's entries before the typed ones (§11.3). */
static int queue_recipe(const struct resolver *rs, struct queued **q, size_t *n) {
        const struct dep_recipe *rec = rs->in->catalog ? dep_catalog_recipe(rs->in->catalog, rs->in->os) : NULL;
        if (!rec) {
                _cleanup_strv_free_ char **oses = NULL;
                for (size_t i = 0; rs->in->catalog && i < rs->in->catalog->n_recipes; i++)
                        if (strv_extend(&oses, rs->in->catalog->recipes[i].os) < 0)
                                return -ENOMEM;
                _cleanup_free_ char *list = oses ? strv_join(oses, ", ") : NULL;
                log_error("no recommended set for OS %s; the catalog has one for: %s", rs->in->os,
                          list ? list : "none");
                return -EINVAL;
        }
        STRV_FOREACH(s, rec->items) {
                struct queued *nq = realloc(*q, sizeof **q * (*n + 1));
                if (!nq)
                        return -ENOMEM;
                *q = nq;
                nq[*n] = (struct queued){ 0 };
                if (split_token(*s, &nq[*n].name, &nq[*n].version) < 0)
                        return -ENOMEM;
                (*n)++;
        }
        return 0;
}

static int queue_tokens(const struct install_plan *tokens, struct queued **q, size_t *n) {
        for (size_t i = 0; i < tokens->n_steps; i++) {
                const struct install_step *s = &tokens->steps[i];
                struct queued *nq = realloc(*q, sizeof **q * (*n + 1));
                if (!nq)
                        return -ENOMEM;
                *q = nq;
                nq[*n] = (struct queued){ .step = s };
                if (s->kind == STEP_DEPENDENCY) {
                        nq[*n].step = NULL;
                        nq[*n].name = strdup(s->name);
                        nq[*n].version = s->version ? strdup(s->version) : NULL;
                        if (!nq[*n].name || (s->version && !nq[*n].version))
                                return -ENOMEM;
                }
                (*n)++;
        }
        return 0;
}

/* Reboots next to each other are one; a reboot with nothing after it is none (§7.3: the
 * shutdown follows). */
static void tidy_reboots(struct dep_plan *p) {
        size_t w = 0;
        for (size_t i = 0; i < p->n; i++) {
                bool reboot = p->items[i].kind == DEP_PLAN_REBOOT;
                if (reboot && (w == 0 || p->items[w - 1].kind == DEP_PLAN_REBOOT)) {
                        item_done(&p->items[i]);
                        continue;
                }
                p->items[w++] = p->items[i];
        }
        while (w > 0 && p->items[w - 1].kind == DEP_PLAN_REBOOT)
                item_done(&p->items[--w]);
        p->n = w;
}

static int resolve(struct resolver *rs, struct queued *q, size_t n) {
        const struct dep_resolve_input *in = rs->in;
        _cleanup_strv_free_ char **unknown = NULL;
        for (size_t i = 0; i < n; i++) {
                if (q[i].step)
                        continue;
                if (!in->catalog) {
                        log_error("%s: no dependency catalog is loaded", q[i].name);
                        return -EINVAL;
                }
                int r = collect(rs, q[i].name, 0, &unknown);
                if (r < 0)
                        return r;
        }
        if (unknown) {
                _cleanup_free_ char *list = strv_join(unknown, ", ");
                if (!list)
                        return -ENOMEM;
                log_error("unknown dependenc%s: %s; see vmcloak list deps", strv_length(unknown) == 1 ? "y" : "ies",
                          list);
                return -EINVAL;
        }
        int r = check_settings(rs);
        if (r < 0)
                return r;
        /* §7.1: an entry that another one installs as its sub-dependency leaves the top level. */
        for (size_t i = 0; i < n; i++) {
                if (q[i].step || data_of(rs, q[i].name)->multiversion)
                        continue;
                for (size_t j = 0; j < n && !q[i].dropped; j++) {
                        _cleanup_free_ char *subv = NULL;
                        if (j == i || q[j].step || q[j].dropped || !is_sub_dep_of(rs, q[j].name, q[i].name, 0, &subv))
                                continue;
                        q[i].dropped = true;
                        if (q[i].version && !streq_ptr(q[i].version, subv)) {
                                /* Say which version it gets: the sub-dependency's, else the default. */
                                const char *dflt = data_of(rs, q[i].name)->default_version;
                                _cleanup_free_ char *as = subv ? strdup_printf("%s:%s", q[i].name, subv)
                                                          : dflt ? strdup_printf("%s (its default version %s)",
                                                                                 q[i].name, dflt)
                                                                 : strdup_printf("%s (without a version)", q[i].name);
                                if (!as)
                                        return log_oom();
                                log_warning("%s:%s is installed as a sub-dependency of %s, as %s: the "
                                            "sub-dependency's version wins (VMCloak's rule)",
                                            q[i].name, q[i].version, q[j].name, as);
                        }
                }
        }
        size_t last = 0;
        for (size_t i = 0; i < n; i++)
                if (!q[i].dropped)
                        last = i;
        for (size_t i = 0; i < n; i++) {
                if (q[i].dropped)
                        continue;
                if (q[i].step) {
                        struct dep_plan_item it = { .kind = q[i].step->kind == STEP_REBOOT ? DEP_PLAN_REBOOT
                                                                                             : DEP_PLAN_STEP,
                                                    .step = q[i].step, .name = strdup(q[i].step->name) };
                        if (!it.name || push(rs, &it) < 0)
                                return -ENOMEM;
                        continue;
                }
                r = plan_one(rs, q[i].name, q[i].version, !in->force_reinstall, false, 0);
                if (r < 0)
                        return r;
                if (r > 0 && i != last && data_of(rs, q[i].name)->must_reboot) {
                        r = push_reboot(rs, "%s must reboot", q[i].name);
                        if (r < 0)
                                return r;
                }
        }
        tidy_reboots(&rs->plan);
        return 0;
}

int dep_resolve(const struct dep_resolve_input *in, struct dep_plan *ret) {
        struct resolver rs = { .in = in };
        struct queued *q = NULL;
        size_t n = 0;
        int r = in->recommended ? queue_recipe(&rs, &q, &n) : 0;
        if (r == 0)
                r = queue_tokens(in->tokens, &q, &n);
        if (r == 0)
                r = resolve(&rs, q, n);
        for (size_t i = 0; i < n; i++) {
                free(q[i].name);
                free(q[i].version);
        }
        free(q);
        strv_free(rs.planned);
        strv_free(rs.seen);
        if (r < 0) {
                dep_plan_free(&rs.plan);
                return r == -ENOMEM ? log_oom() : r;
        }
        *ret = rs.plan;
        return 0;
}
