/* Unit tests: the shipped catalog (data/deps of the source tree) read by the real loader and
 * compared with VMCloak's own data (../shared/reference/vmcloak-deps.json beside the source
 * tree, vmcloak-spec.md §11): every name, flag, file and hash, the recipes of §11.3, and the
 * installer VMCloak would pick for each recipe item. */
#include "test.h"

#include <fnmatch.h>
#include <json-c/json.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "deps/catalog.h"

static struct dep_catalog *catalog;
static const char *or_none(const char *s) {
        return s ? s : "(none)";
}
static json_object *reference;   /* NULL: the reference is not beside this source tree */

static const char *source_root(void) {
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        assert_non_null(root);
        return root;
}

static int setup(void **state) {
        (void)state;
        _cleanup_free_ char *data = path_join(source_root(), "data");
        if (dep_catalog_load(data, NULL, &catalog) < 0)
                return -1;
        _cleanup_free_ char *ref = path_join(source_root(), "../shared/reference/vmcloak-deps.json");
        if (access(ref, R_OK) == 0)
                reference = json_object_from_file(ref);
        else
                fprintf(stderr, "# %s is missing: the comparisons with VMCloak's data fail\n", ref);
        return 0;
}

static int teardown(void **state) {
        (void)state;
        dep_catalog_free(catalog);
        json_object_put(reference);
        return 0;
}

/* ---- reading the reference ---- */

static json_object *ref_deps(void) {
        /* Not a skip: meson counts cmocka's "not ok # SKIP" as a failure anyway, and the line says
         * what is missing. */
        if (!reference)
                fail_msg("VMCloak's data is missing: ../shared/reference/vmcloak-deps.json beside the source tree");
        json_object *a = NULL;
        assert_true(json_object_object_get_ex(reference, "dependencies", &a));
        assert_true(json_object_is_type(a, json_type_array));
        return a;
}

static json_object *ref_dep(const char *name) {
        json_object *a = ref_deps();
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *d = json_object_array_get_idx(a, i), *n = NULL;
                if (json_object_object_get_ex(d, "name", &n) && streq(json_object_get_string(n), name))
                        return d;
        }
        fail_msg("%s is not in VMCloak's data", name);
        return NULL;
}

/* A string field, NULL when absent or null. */
static const char *ref_str(json_object *o, const char *key) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, key, &v) || !v)
                return NULL;
        return json_object_get_string(v);
}

static bool ref_bool(json_object *o, const char *key) {
        json_object *v = NULL;
        return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* VMCloak writes sub-dependency lists as a string or a list of strings. */
static size_t ref_list(json_object *v, const char **out, size_t max) {
        if (!v || json_object_is_type(v, json_type_null))
                return 0;
        if (json_object_is_type(v, json_type_string)) {
                out[0] = json_object_get_string(v);
                return 1;
        }
        size_t n = json_object_array_length(v);
        assert_true(n <= max);
        for (size_t i = 0; i < n; i++)
                out[i] = json_object_get_string(json_object_array_get_idx(v, i));
        return n;
}

static void assert_strv_equals(char *const *have, json_object *want, const char *what, const char *name) {
        const char *w[64];
        size_t n = ref_list(want, w, ELEMENTSOF(w));
        size_t k = 0;
        for (; have && have[k]; k++) {
                if (k >= n)
                        fail_msg("%s: %s has %s, VMCloak has no such item", name, what, have[k]);
                if (!streq(have[k], w[k]))
                        fail_msg("%s: %s item %zu is %s, VMCloak has %s", name, what, k, have[k], w[k]);
        }
        if (k != n)
                fail_msg("%s: %s has %zu items, VMCloak %zu", name, what, k, n);
}

/* ---- the catalog loads, and has every VMCloak name ---- */

static void test_every_name(void **state) {
        (void)state;
        assert_non_null(catalog);
        json_object *a = ref_deps();
        assert_int_equal(json_object_array_length(a), 43);
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *r = json_object_array_get_idx(a, i);
                const char *name = ref_str(r, "name");
                const struct dependency *d = dep_catalog_find(catalog, name);
                if (!d)
                        fail_msg("VMCloak's %s is not in data/deps", name);
                const char *alias = ref_str(r, "alias_of");
                if (alias || d->alias_of) {
                        if (!alias || !d->alias_of || !streq(alias, d->alias_of))
                                fail_msg("%s: alias_of %s, VMCloak's %s", name, or_none(d->alias_of), or_none(alias));
                        /* An alias installs its target: the same entry, found through it. */
                        const struct dependency *t = dep_catalog_resolve_alias(catalog, d);
                        assert_ptr_equal(t, dep_catalog_find(catalog, alias));
                        assert_null(t->alias_of);
                        assert_int_equal(d->n_installers + d->n_steps, 0);
                }
        }
        /* Nothing here that VMCloak does not have. */
        assert_int_equal(catalog->n, json_object_array_length(a));
}

/* The flags the issue asks to keep as VMCloak has them (an alias's data is its target's, and
 * VMCloak's alias classes inherit everything but the recommended flag). */
static void test_flags(void **state) {
        (void)state;
        json_object *a = ref_deps();
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *r = json_object_array_get_idx(a, i), *v = NULL;
                const char *name = ref_str(r, "name");
                const struct dependency *own = dep_catalog_find(catalog, name);
                assert_non_null(own);
                const struct dependency *d = dep_catalog_resolve_alias(catalog, own);
                if (own->recommended != ref_bool(r, "recommended"))
                        fail_msg("%s: recommended differs from VMCloak's", name);
                if (d->multiversion != ref_bool(r, "multiversion"))
                        fail_msg("%s: multiversion differs from VMCloak's", name);
                if (d->must_reboot != ref_bool(r, "must_reboot"))
                        fail_msg("%s: must_reboot differs from VMCloak's", name);
                json_object_object_get_ex(r, "tags", &v);
                assert_strv_equals(d->tags, v, "tags", name);
                v = NULL;
                json_object_object_get_ex(r, "depends", &v);
                assert_strv_equals(d->depends, v, "depends", name);
                v = NULL;
                json_object_object_get_ex(r, "no_exe", &v);
                assert_strv_equals(d->no_installer_os, v, "no_installer_os", name);

                json_object *osd = NULL;
                assert_true(json_object_object_get_ex(r, "os_depends", &osd));
                assert_int_equal(d->n_os_depends, json_object_object_length(osd));
                for (size_t k = 0; k < d->n_os_depends; k++) {
                        json_object *want = NULL;
                        if (!json_object_object_get_ex(osd, d->os_depends[k].os, &want))
                                fail_msg("%s: os_depends for %s, VMCloak has none", name, d->os_depends[k].os);
                        assert_strv_equals(d->os_depends[k].depends, want, "os_depends", name);
                }

                /* modified's port: VMCloak has no default and takes 8001 when none is given. */
                const char *def = ref_str(r, "default");
                if (streq(name, "modified"))
                        def = "8001";
                if (!streq_ptr(d->default_version, def))
                        fail_msg("%s: default %s, VMCloak's %s", name, or_none(d->default_version), or_none(def));
        }
}

/* ---- files: VMCloak's, in its order, each with a hash and the dark hosts marked ---- */

static bool dead_host(const char *url) {
        static const char *const dark[] = { "://cuckoo.sh/", "://hatching.io/", "://hatching.dev/" };
        for (size_t i = 0; i < ELEMENTSOF(dark); i++)
                if (strstr(url, dark[i]))
                        return true;
        return false;
}

/* VMCloak's file name, or the one with the version added where VMCloak gives one name to
 * several files (the cache keeps one file per name). */
static bool same_cache_name(const char *have, const char *ref, const char *version) {
        if (streq(have, ref))
                return true;
        if (!version)
                return false;
        const char *dot = strrchr(ref, '.');
        assert_non_null(dot);
        _cleanup_free_ char *renamed = strdup_printf("%.*s-%s%s", (int)(dot - ref), ref, version, dot);
        return streq(have, renamed);
}

static void assert_file_matches(const char *name, const struct dep_file *f, json_object *e) {
        const char *sha1 = ref_str(e, "sha1");
        if (!streq_ptr(f->sha1, sha1))
                fail_msg("%s line %d: sha1 %s, VMCloak's %s", name, f->line, or_none(f->sha1), or_none(sha1));
        if (!same_cache_name(f->filename, ref_str(e, "filename"), ref_str(e, "version")))
                fail_msg("%s line %d: file name %s, VMCloak's %s", name, f->line, f->filename, ref_str(e, "filename"));
        if (!streq_ptr(f->os, ref_str(e, "target")) || !streq_ptr(f->arch, ref_str(e, "arch")))
                fail_msg("%s line %d: os/arch differ from VMCloak's", name, f->line);

        /* URLs in VMCloak's order, compared end to end so that its one fused pair (winrar 5.31
         * x86, two URLs in one string) equals the two URLs here. */
        json_object *urls = NULL;
        assert_true(json_object_object_get_ex(e, "urls", &urls));
        _cleanup_free_ char *joined = strdup("");
        for (size_t k = 0; k < f->n_urls; k++) {
                char *j = strdup_printf("%s%s", joined, f->urls[k].url);
                assert_non_null(j);
                free(joined);
                joined = j;
                if (dead_host(f->urls[k].url) != !!f->urls[k].dead)
                        fail_msg("%s line %d: %s is %s", name, f->line, f->urls[k].url,
                                 f->urls[k].dead ? "marked dead but on a live host" : "on a dark host but not marked dead");
        }
        _cleanup_free_ char *want = strdup("");
        for (size_t k = 0; k < json_object_array_length(urls); k++) {
                char *j = strdup_printf("%s%s", want, json_object_get_string(json_object_array_get_idx(urls, k)));
                assert_non_null(j);
                free(want);
                want = j;
        }
        if (!streq(joined, want))
                fail_msg("%s line %d: URLs differ from VMCloak's", name, f->line);
}

static void test_files(void **state) {
        (void)state;
        /* Every file of every entry has a hash and a URL. */
        for (size_t i = 0; i < catalog->n; i++) {
                const struct dependency *d = catalog->deps[i];
                for (size_t k = 0; k < d->n_installers + d->n_files; k++) {
                        const struct dep_file *f = k < d->n_installers ? &d->installers[k] : &d->files[k - d->n_installers];
                        if (!f->sha1 && !f->sha256)
                                fail_msg("%s line %d: %s has no hash", d->name, f->line, f->filename);
                        assert_true(f->n_urls > 0);
                }
        }

        json_object *a = ref_deps();
        size_t total = 0, latest = 0;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *r = json_object_array_get_idx(a, i), *exes = NULL, *files = NULL;
                const char *name = ref_str(r, "name");
                if (ref_str(r, "alias_of"))
                        continue;
                const struct dependency *d = dep_catalog_find(catalog, name);
                assert_true(json_object_object_get_ex(r, "exes", &exes));
                assert_true(json_object_object_get_ex(r, "files", &files));
                size_t k = 0;
                for (size_t j = 0; j < json_object_array_length(exes); j++) {
                        json_object *e = json_object_array_get_idx(exes, j);
                        total++;
                        /* VMCloak's `latest` entries have no hash: left out. */
                        if (!ref_str(e, "sha1")) {
                                assert_string_equal(ref_str(e, "version"), "latest");
                                latest++;
                                continue;
                        }
                        if (k >= d->n_installers)
                                fail_msg("%s: VMCloak's installer %s is missing", name, ref_str(e, "filename"));
                        if (!streq_ptr(d->installers[k].version, ref_str(e, "version")))
                                fail_msg("%s line %d: version %s, VMCloak's %s", name, d->installers[k].line,
                                         or_none(d->installers[k].version), or_none(ref_str(e, "version")));
                        assert_file_matches(name, &d->installers[k++], e);
                }
                assert_int_equal(k, d->n_installers);
                for (size_t j = 0; j < json_object_array_length(files); j++) {
                        total++;
                        if (j >= d->n_files)
                                fail_msg("%s: VMCloak's file %zu is missing", name, j);
                        assert_file_matches(name, &d->files[j], json_object_array_get_idx(files, j));
                }
        }
        /* chrome latest x86/amd64 and flash latest, of the 335 rows of §11.5's tables. */
        assert_int_equal(latest, 3);
        assert_int_equal(total, 335);
}

/* ---- steps: what they upload is there, what they name exists ---- */

static void test_steps(void **state) {
        (void)state;
        for (size_t i = 0; i < catalog->n; i++) {
                const struct dependency *d = catalog->deps[i];
                if (d->alias_of)
                        continue;
                if (d->n_steps == 0)
                        fail_msg("%s has no steps", d->name);
                for (size_t k = 0; k < d->n_steps; k++) {
                        const struct dep_step *s = &d->steps[k];
                        if (s->kind != DEP_STEP_UPLOAD && s->kind != DEP_STEP_SCRIPT && s->kind != DEP_STEP_EXTRACT &&
                            s->kind != DEP_STEP_ATTACH_ISO)
                                continue;
                        switch (s->src.kind) {
                        case DEP_SRC_DATA: {
                                _cleanup_free_ char *p = path_join(d->dir, s->src.name);
                                if (access(p, R_OK) != 0)
                                        fail_msg("%s line %d: data:%s is not in data/deps", d->name, s->line, s->src.name);
                                break;
                        }
                        case DEP_SRC_FILE: {
                                bool found = false;
                                for (size_t f = 0; f < d->n_files; f++)
                                        found = found || streq(d->files[f].filename, s->src.name);
                                if (!found)
                                        fail_msg("%s line %d: file:%s is none of its files", d->name, s->line, s->src.name);
                                break;
                        }
                        case DEP_SRC_INSTALLER:
                                if (d->n_installers == 0)
                                        fail_msg("%s line %d: uploads an installer it does not have", d->name, s->line);
                                break;
                        case DEP_SRC_SETTING: {
                                bool found = false;
                                for (size_t f = 0; f < d->n_settings; f++)
                                        found = found || streq(d->settings[f].key, s->src.name);
                                if (!found)
                                        fail_msg("%s line %d: setting:%s is none of its settings", d->name, s->line,
                                                 s->src.name);
                                break;
                        }
                        }
                }
        }
}

/* ---- recipes: §11.3's lists, every item resolves and has an installer on its OS ---- */

static const char *const recipe_win10[] = { "ie11", "dotnet:4.7.2", "java:7u80", "vcredist:2013", "vcredist:2019", "edge",
                                            "carootcert", "adobepdf", "wallpaper", "optimizeos", "disableservices", NULL };
static const char *const recipe_win7[] = { "ie11", "dotnet:4.7.2", "java:7u80", "vcredist:2013", "vcredist:2019",
                                           "carootcert", "adobepdf", "wallpaper", "optimizeos", "disableservices", NULL };

/* name[:version] split into the entry (its alias resolved) and the version (or its default). */
static const struct dependency *item_dep(const char *item, char **ret_version) {
        const char *colon = strchr(item, ':');
        _cleanup_free_ char *name = colon ? strndup(item, colon - item) : strdup(item);
        assert_non_null(name);
        const struct dependency *d = dep_catalog_find(catalog, name);
        if (!d)
                fail_msg("recipe item %s names no entry", item);
        d = dep_catalog_resolve_alias(catalog, d);
        *ret_version = colon ? strdup(colon + 1) : (d->default_version ? strdup(d->default_version) : NULL);
        return d;
}

static void check_item(const char *os, const char *item) {
        _cleanup_free_ char *version = NULL;
        const struct dependency *d = item_dep(item, &version);
        if (!dep_supports_os(d, os))
                fail_msg("recipe %s: %s does not install on %s", os, item, os);
        const struct dep_file *f = NULL;
        int r = dep_pick_installer(d, version, os, "amd64", &f);
        if (r < 0)
                fail_msg("recipe %s: %s has no installer for %s amd64", os, item, os);
        if (!f && d->n_installers > 0 && !strv_contains(d->no_installer_os, os))
                fail_msg("recipe %s: %s picked no installer", os, item);
}

static void test_recipes(void **state) {
        (void)state;
        const struct { const char *os; const char *const *want; } vmcloak[] = {
                { "win10x64", recipe_win10 },
                { "win7x64", recipe_win7 },
        };
        for (size_t i = 0; i < ELEMENTSOF(vmcloak); i++) {
                const struct dep_recipe *r = dep_catalog_recipe(catalog, vmcloak[i].os);
                assert_non_null(r);
                size_t k = 0;
                for (; r->items[k]; k++) {
                        assert_non_null(vmcloak[i].want[k]);
                        assert_string_equal(r->items[k], vmcloak[i].want[k]);
                }
                assert_null(vmcloak[i].want[k]);
        }
        /* Ours for the OSes VMCloak has none for; every item installs there. */
        const char *const all[] = { "win10x64", "win7x64", "win11x64", "win81x64" };
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                const struct dep_recipe *r = dep_catalog_recipe(catalog, all[i]);
                assert_non_null(r);
                assert_non_null(r->items[0]);
                for (size_t k = 0; r->items[k]; k++)
                        check_item(all[i], r->items[k]);
        }
        /* No IE on Windows 11, no Edge on 8.1. */
        const struct dep_recipe *w11 = dep_catalog_recipe(catalog, "win11x64");
        assert_false(strv_contains(w11->items, "ie11"));
        assert_false(strv_contains(dep_catalog_recipe(catalog, "win81x64")->items, "edge"));
}

/* ---- VMCloak's installer choice (§11.1 step 3) from its own data, for each recipe item and its
 * sub-dependencies, against the catalog's ---- */

static json_object *ref_pick(json_object *r, const char *version, const char *os, const char *arch) {
        json_object *exes = NULL;
        assert_true(json_object_object_get_ex(r, "exes", &exes));
        for (size_t i = 0; i < json_object_array_length(exes); i++) {
                json_object *e = json_object_array_get_idx(exes, i);
                const char *t = ref_str(e, "target"), *a = ref_str(e, "arch"), *v = ref_str(e, "version");
                if ((!t || streq(t, os)) && (!a || streq(a, arch)) && (!v || !version || streq(v, version)))
                        return e;
        }
        return NULL;
}

static void check_pick(const char *os, const char *item, unsigned depth) {
        assert_true(depth < 8);
        _cleanup_free_ char *version = NULL;
        const struct dependency *d = item_dep(item, &version);
        json_object *r = ref_dep(d->name);

        const struct dep_file *f = NULL;
        int k = dep_pick_installer(d, version, os, "amd64", &f);
        json_object *want = ref_pick(r, version, os, "amd64");
        if (!want) {
                if (f)
                        fail_msg("%s on %s: picked %s, VMCloak picks nothing", item, os, f->filename);
        } else {
                if (k < 0 || !f)
                        fail_msg("%s on %s: no installer picked, VMCloak picks %s", item, os, ref_str(want, "filename"));
                assert_file_matches(item, f, want);
        }

        /* Sub-dependencies: depends, else os_depends for this OS (VMCloak's rule, §7.1). */
        json_object *v = NULL;
        const char *subs[32];
        size_t n = 0;
        if (json_object_object_get_ex(r, "depends", &v))
                n = ref_list(v, subs, ELEMENTSOF(subs));
        json_object *osd = NULL;
        if (n == 0 && json_object_object_get_ex(r, "os_depends", &osd) && json_object_object_get_ex(osd, os, &v))
                n = ref_list(v, subs, ELEMENTSOF(subs));
        for (size_t i = 0; i < n; i++)
                check_pick(os, subs[i], depth + 1);
}

static void test_reference_pick(void **state) {
        (void)state;
        ref_deps();
        for (size_t i = 0; recipe_win10[i]; i++)
                check_pick("win10x64", recipe_win10[i], 0);
        for (size_t i = 0; recipe_win7[i]; i++)
                check_pick("win7x64", recipe_win7[i], 0);
        /* ps1logging's Windows 7 chain: SP1, .NET 4.6.1 and the two WMF updates. */
        check_pick("win7x64", "ps1logging", 0);
}

/* ---- the generator reproduces the committed download blocks ---- */

static void test_generator(void **state) {
        (void)state;
        ref_deps();
        _cleanup_free_ char *cmd = strdup_printf("python3 '%s/scripts/gen-deps-catalog.py' '%s/../shared/reference/vmcloak-deps.json' "
                                                 "--data '%s/data/deps' --check",
                                                 source_root(), source_root(), source_root());
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        log_set_color(LOG_COLOR_NEVER);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_name),
                cmocka_unit_test(test_flags),
                cmocka_unit_test(test_files),
                cmocka_unit_test(test_steps),
                cmocka_unit_test(test_recipes),
                cmocka_unit_test(test_reference_pick),
                cmocka_unit_test(test_generator),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
