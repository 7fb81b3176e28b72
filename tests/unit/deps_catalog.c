/* Unit tests: the dependency catalog read from YAML files in temporary folders (a full entry
 * read back, aliases, deps.d, recipes), VMCloak's installer choice, templates, and the exact
 * line for each kind of bad entry. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"
#include "deps/catalog.h"

/* ---- a catalog in a temporary folder ---- */

struct tree {
        char *root;      /* datadir: root/deps holds the shipped entries */
        char *deps;
        char *user;      /* root/deps.d */
};

static void tree_make(struct tree *t) {
        t->root = test_tmpdir();
        assert_non_null(t->root);
        t->deps = path_join(t->root, "deps");
        t->user = path_join(t->root, "deps.d");
        assert_int_equal(mkdir(t->deps, 0755), 0);
        assert_int_equal(mkdir(t->user, 0755), 0);
}

static void tree_done(struct tree *t) {
        rm_rf(t->root);
        free(t->root);
        free(t->deps);
        free(t->user);
}

static void put(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = path_join(dir, name);
        _cleanup_free_ char *parent = path_dirname(p);
        assert_int_equal(mkdir_p(parent, 0755), 0);
        assert_int_equal(write_file(p, text, strlen(text), 0644), 0);
}

struct load_call {
        const struct tree *t;
        bool with_user;
        struct dep_catalog *c;
};

static int do_load(void *p) {
        struct load_call *l = p;
        return dep_catalog_load(l->t->root, l->with_user ? l->t->user : NULL, &l->c);
}

static struct dep_catalog *load_ok(const struct tree *t) {
        struct load_call l = { t, true, NULL };
        _cleanup_free_ char *err = NULL;
        int r = test_capture(STDERR_FILENO, do_load, &l, &err);
        if (r != 0)
                fprintf(stderr, "unexpected: %s", err);
        assert_int_equal(r, 0);
        assert_string_equal(err, "");
        return l.c;
}

#define SHA1_A "0123456789abcdef0123456789abcdef01234567"
#define SHA1_B "89abcdef0123456789abcdef0123456789abcdef"
#define SHA256_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* Every key of the format once (catalog.h's header comment). */
static const char full_entry[] =
        "# a complete entry\n"
        "name: dotnet\n"
        "description: Microsoft .NET Framework\n"
        "os: [win7x64, win10x64]\n"
        "default: 4.7.2\n"
        "recommended: true\n"
        "multiversion: yes\n"
        "must_reboot: false\n"
        "tags: [dotnet, framework]\n"
        "depends: [wic, 'carootcert']\n"
        "os_depends:\n"
        "  win7x64: [wic:1.0]\n"
        "  win10x64: wic\n"
        "no_installer_os: [win10x64]\n"
        "settings:\n"
        "  isopath: {required: true, description: An ISO}\n"
        "  activate: {default: \"0\"}\n"
        "  dir:\n"
        "installers:\n"
        "  - version: 4.7.2\n"
        "    os: win7x64\n"
        "    arch: amd64\n"
        "    filename: NDP472.exe\n"
        "    sha256: " SHA256_A "\n"
        "    sha1: 0123456789ABCDEF0123456789abcdef01234567\n"
        "    size: 84873432\n"
        "    urls:\n"
        "      - https://download.example.com/ndp/NDP472-x.exe?x=1\n"
        "      - {url: \"https://cuckoo.sh/vmcloak/NDP472.exe\", dead: \"cuckoo.sh went dark in 2023\"}\n"
        "  - version: 4.0\n"
        "    sha1: " SHA1_B "\n"
        "    urls: [\"http://mirror.example.org/a/dotNetFx40_Full_x86_x64.exe#frag\"]\n"
        "files:\n"
        "  - {filename: isrgrootx1.der, sha1: " SHA1_A ", urls: [https://letsencrypt.org/certs/isrgrootx1.der]}\n"
        "steps:\n"
        "  - upload: installer\n"
        "    to: 'C:\\{{installer}}'\n"
        "  - run: 'C:\\{{installer}} /passive /norestart'\n"
        "    ok: [0, 3010, 40008, 2149842967, -1, 0x80070005]\n"
        "    reboot: [3010]\n"
        "    timeout: 1800\n"
        "    ignore_failure: true\n"
        "  - run: 'C:\\first.exe'\n"
        "    async: true\n"
        "  - script: data:scripts/optimize.ps1\n"
        "  - powershell: |\n"
        "      Set-Service DPS -StartupType Disabled\n"
        "      if ($x) { Write-Host '{{os}} {{arch}}' }\n"
        "  - registry:\n"
        "      - {key: 'HKLM\\SOFTWARE\\Policies\\Google\\Update', value: UpdateDefault, type: REG_DWORD, data: 0}\n"
        "      - {key: 'HKCU\\Software\\{{version}}', value: tBuiltInPermList, delete: true}\n"
        "      - {key: 'HKLM\\Software\\X', type: REG_SZ, data: ''}\n"
        "  - extract: setting:isopath\n"
        "    to: '{{env:USERPROFILE}}\\{{dir}}'\n"
        "  - attach_iso: setting:isopath\n"
        "  - detach_iso: true\n"
        "  - remove: 'C:\\{{file:isrgrootx1.der}}'\n"
        "  - sleep: 120\n"
        "  - resolution: '{{version}}'\n"
        "  - reboot: true\n"
        "    when: {os: [win7x64, win7x86], arch: amd64, version: [\"4.*\"], setting: \"activate=1\"}\n"
        "  - upload: data:config.xml\n"
        "    to: 'C:\\config.xml'\n"
        "    template: true\n"
        "  - upload: file:isrgrootx1.der\n"
        "    to: 'C:\\{{agent}}.der'\n";

static void put_small(const char *dir, const char *name) {
        _cleanup_free_ char *file = strdup_printf("%s.yaml", name);
        _cleanup_free_ char *text = strdup_printf("name: %s\ndescription: %s\n", name, name);
        put(dir, file, text);
}

static void put_full(const struct tree *t) {
        put(t->deps, "dotnet.yaml", full_entry);
        put(t->deps, "scripts/optimize.ps1", "Write-Host optimize\n");
        put(t->deps, "config.xml", "<PIDKEY Value=\"{{isopath}}\"/> {single}\n");
        put(t->deps, "wic.yaml",
            "name: wic\n"
            "installers:\n"
            "  - {version: '1.0', sha1: " SHA1_A ", filename: wic_x64.exe}\n");
        put_small(t->deps, "carootcert");
}

static void test_full_entry(void **state) {
        (void)state;
        struct tree t;
        tree_make(&t);
        put_full(&t);
        struct dep_catalog *c = load_ok(&t);
        assert_int_equal(c->n, 3);
        assert_string_equal(c->deps[0]->name, "carootcert");
        assert_string_equal(c->deps[1]->name, "dotnet");
        assert_string_equal(c->deps[2]->name, "wic");

        const struct dependency *d = dep_catalog_find(c, "dotnet");
        assert_non_null(d);
        assert_string_equal(d->description, "Microsoft .NET Framework");
        assert_int_equal(strv_length(d->os), 2);
        assert_string_equal(d->os[1], "win10x64");
        assert_string_equal(d->default_version, "4.7.2");
        assert_true(d->recommended && d->multiversion && !d->must_reboot);
        assert_int_equal(strv_length(d->tags), 2);
        assert_string_equal(d->tags[1], "framework");
        assert_int_equal(strv_length(d->depends), 2);
        assert_string_equal(d->depends[1], "carootcert");
        assert_int_equal(d->n_os_depends, 2);
        assert_string_equal(d->os_depends[0].os, "win7x64");
        assert_string_equal(d->os_depends[0].depends[0], "wic:1.0");
        assert_string_equal(d->os_depends[1].depends[0], "wic");
        assert_null(d->os_depends[1].depends[1]);
        assert_null(d->alias_of);
        assert_string_equal(d->no_installer_os[0], "win10x64");
        assert_int_equal(d->n_settings, 3);
        assert_string_equal(d->settings[0].key, "isopath");
        assert_true(d->settings[0].required);
        assert_string_equal(d->settings[0].description, "An ISO");
        assert_null(d->settings[0].default_value);
        assert_string_equal(d->settings[1].default_value, "0");
        assert_false(d->settings[1].required);
        assert_string_equal(d->settings[2].key, "dir");

        assert_int_equal(d->n_installers, 2);
        const struct dep_file *f = &d->installers[0];
        assert_string_equal(f->version, "4.7.2");
        assert_string_equal(f->os, "win7x64");
        assert_string_equal(f->arch, "amd64");
        assert_string_equal(f->filename, "NDP472.exe");
        assert_string_equal(f->sha256, SHA256_A);
        assert_string_equal(f->sha1, SHA1_A);   /* lower-cased */
        assert_int_equal(f->size, 84873432);
        assert_int_equal(f->n_urls, 2);
        assert_string_equal(f->urls[0].url, "https://download.example.com/ndp/NDP472-x.exe?x=1");
        assert_null(f->urls[0].dead);
        assert_string_equal(f->urls[1].url, "https://cuckoo.sh/vmcloak/NDP472.exe");
        assert_string_equal(f->urls[1].dead, "cuckoo.sh went dark in 2023");
        assert_int_equal(f->line, 20);
        f = &d->installers[1];
        assert_string_equal(f->version, "4.0");
        assert_null(f->os);
        assert_null(f->arch);
        assert_null(f->sha256);
        assert_int_equal(f->size, 0);
        assert_string_equal(f->filename, "dotNetFx40_Full_x86_x64.exe");   /* the URL's, no fragment */
        assert_int_equal(d->n_files, 1);
        assert_string_equal(d->files[0].filename, "isrgrootx1.der");
        assert_string_equal(d->files[0].urls[0].url, "https://letsencrypt.org/certs/isrgrootx1.der");

        assert_int_equal(d->n_steps, 15);
        const struct dep_step *s = d->steps;
        assert_int_equal(s[0].kind, DEP_STEP_UPLOAD);
        assert_int_equal(s[0].src.kind, DEP_SRC_INSTALLER);
        assert_null(s[0].src.name);
        assert_string_equal(s[0].to, "C:\\{{installer}}");
        assert_int_equal(s[0].line, 36);
        assert_int_equal(s[1].kind, DEP_STEP_RUN);
        assert_string_equal(s[1].text, "C:\\{{installer}} /passive /norestart");
        assert_int_equal(s[1].n_ok, 6);
        assert_int_equal(s[1].ok[1], 3010);
        assert_int_equal(s[1].ok[3], (int)(int32_t)UINT32_C(2149842967));   /* as the agent reports it */
        assert_int_equal(s[1].ok[4], -1);
        assert_int_equal(s[1].ok[5], (int)(int32_t)UINT32_C(0x80070005));
        assert_int_equal(s[1].n_reboot, 1);
        assert_int_equal(s[1].reboot[0], 3010);
        assert_int_equal(s[1].timeout_s, 1800);
        assert_true(s[1].ignore_failure);
        assert_false(s[1].async);
        assert_true(s[2].async);
        assert_int_equal(s[2].n_ok, 0);
        assert_int_equal(s[3].kind, DEP_STEP_SCRIPT);
        assert_int_equal(s[3].src.kind, DEP_SRC_DATA);
        assert_string_equal(s[3].src.name, "scripts/optimize.ps1");
        assert_int_equal(s[3].n_ok, 1);   /* the default: 0 */
        assert_int_equal(s[3].ok[0], 0);
        assert_int_equal(s[4].kind, DEP_STEP_POWERSHELL);
        assert_string_equal(s[4].text,
                            "Set-Service DPS -StartupType Disabled\nif ($x) { Write-Host '{{os}} {{arch}}' }\n");
        assert_int_equal(s[5].kind, DEP_STEP_REGISTRY);
        assert_int_equal(s[5].n_regs, 3);
        assert_string_equal(s[5].regs[0].key, "HKLM\\SOFTWARE\\Policies\\Google\\Update");
        assert_string_equal(s[5].regs[0].value, "UpdateDefault");
        assert_string_equal(s[5].regs[0].type, "REG_DWORD");
        assert_string_equal(s[5].regs[0].data, "0");
        assert_false(s[5].regs[0].delete);
        assert_true(s[5].regs[1].delete);
        assert_null(s[5].regs[1].type);
        assert_null(s[5].regs[2].value);
        assert_string_equal(s[5].regs[2].data, "");
        assert_int_equal(s[6].kind, DEP_STEP_EXTRACT);
        assert_int_equal(s[6].src.kind, DEP_SRC_SETTING);
        assert_string_equal(s[6].src.name, "isopath");
        assert_string_equal(s[6].to, "{{env:USERPROFILE}}\\{{dir}}");
        assert_int_equal(s[7].kind, DEP_STEP_ATTACH_ISO);
        assert_int_equal(s[8].kind, DEP_STEP_DETACH_ISO);
        assert_int_equal(s[9].kind, DEP_STEP_REMOVE);
        assert_string_equal(s[9].text, "C:\\{{file:isrgrootx1.der}}");
        assert_int_equal(s[10].kind, DEP_STEP_SLEEP);
        assert_int_equal(s[10].seconds, 120);
        assert_int_equal(s[11].kind, DEP_STEP_RESOLUTION);
        assert_int_equal(s[12].kind, DEP_STEP_REBOOT);
        assert_string_equal(s[12].when.os[1], "win7x86");
        assert_string_equal(s[12].when.arch[0], "amd64");
        assert_null(s[12].when.arch[1]);
        assert_string_equal(s[12].when.version[0], "4.*");
        assert_string_equal(s[12].when.setting_key, "activate");
        assert_string_equal(s[12].when.setting_value, "1");
        assert_null(s[11].when.os);
        assert_int_equal(s[13].kind, DEP_STEP_UPLOAD);
        assert_true(s[13].template);
        assert_int_equal(s[13].src.kind, DEP_SRC_DATA);
        assert_int_equal(s[14].src.kind, DEP_SRC_FILE);
        assert_string_equal(s[14].src.name, "isrgrootx1.der");

        _cleanup_free_ char *src = path_join(t.deps, "dotnet.yaml");
        assert_string_equal(d->source, src);
        assert_string_equal(d->dir, t.deps);
        assert_false(d->user);
        assert_false(d->overrides);
        assert_int_equal(d->line, 2);

        _cleanup_strv_free_ char **v = dep_versions(d);
        assert_int_equal(strv_length(v), 2);
        assert_string_equal(v[0], "4.7.2");
        assert_string_equal(v[1], "4.0");
        assert_true(dep_supports_os(d, "win10x64"));
        assert_false(dep_supports_os(d, "win11x64"));
        assert_true(dep_supports_os(dep_catalog_find(c, "wic"), "linux"));   /* no os: every OS */
        assert_null(dep_catalog_find(c, "nope"));
        assert_int_equal(c->n_recipes, 0);
        assert_null(dep_catalog_recipe(c, "win10x64"));
        dep_catalog_free(c);
        tree_done(&t);
}

static void test_alias_user_recipes(void **state) {
        (void)state;
        struct tree t;
        tree_make(&t);
        put(t.deps, "dotnet.yaml",
            "name: dotnet\ndefault: '4.7.2'\nmultiversion: true\ntags: [dotnet]\nos: [win10x64, win7x64]\n"
            "installers:\n  - {version: 4.7.2, sha1: " SHA1_A ", urls: [https://x.example/a.exe]}\n"
            "steps:\n  - run: a\n");
        put(t.deps, "dotnet40.yaml",
            "name: dotnet40\ndescription: the old name\nrecommended: false\nalias_of: dotnet\n");
        put(t.deps, "wallpaper.yaml", "name: wallpaper\ndescription: shipped\nsteps: [{sleep: 1}]\n");
        put(t.deps, "recipes.yaml",
            "win10x64: [dotnet:4.7.2, wallpaper]\n"
            "win7x64:\n  - dotnet40\n");
        /* deps.d: one replaces a shipped entry, one is new, a recipe is replaced */
        put(t.user, "wallpaper.yaml", "name: wallpaper\ndescription: mine\n");
        put(t.user, "mytool.yaml", "name: mytool\ndepends: wallpaper\nsteps:\n  - script: data:tool/run.bat\n");
        put(t.user, "tool/run.bat", "echo hi\r\n");
        put(t.user, "recipes.yaml", "win7x64: [mytool]\n");
        put(t.user, "notes.txt", "not an entry\n");
        put(t.user, ".#mytool.yaml", "an editor's lock file\n");

        struct dep_catalog *c = load_ok(&t);
        dep_catalog_free(c);
        /* A .yml file is not read, and said so. */
        put(t.user, "other.yml", "name: other\n");
        struct load_call lw = { &t, true, NULL };
        _cleanup_free_ char *warn = NULL;
        assert_int_equal(test_capture(STDERR_FILENO, do_load, &lw, &warn), 0);
        _cleanup_free_ char *want = strdup_printf("vmcloak: warning: %s/other.yml is not read: catalog entries are "
                                                  "NAME.yaml\n", t.user);
        assert_string_equal(warn, want);
        assert_null(dep_catalog_find(lw.c, "other"));
        c = lw.c;
        assert_int_equal(c->n, 4);
        const struct dependency *a = dep_catalog_find(c, "dotnet40");
        assert_string_equal(a->alias_of, "dotnet");
        assert_string_equal(a->description, "the old name");
        assert_false(a->recommended);
        /* copied for list deps and tags; the rest is read through the target */
        assert_string_equal(a->tags[0], "dotnet");
        assert_string_equal(a->default_version, "4.7.2");
        assert_true(a->multiversion);
        assert_true(dep_supports_os(a, "win7x64"));
        assert_false(dep_supports_os(a, "win81x64"));
        assert_int_equal(a->n_installers, 0);
        const struct dependency *target = dep_catalog_resolve_alias(c, a);
        assert_ptr_equal(target, dep_catalog_find(c, "dotnet"));
        assert_int_equal(target->n_installers, 1);
        assert_ptr_equal(dep_catalog_resolve_alias(c, target), target);

        const struct dependency *w = dep_catalog_find(c, "wallpaper");
        assert_string_equal(w->description, "mine");
        assert_true(w->user && w->overrides);
        assert_int_equal(w->n_steps, 0);
        assert_string_equal(w->dir, t.user);
        const struct dependency *m = dep_catalog_find(c, "mytool");
        assert_true(m->user);
        assert_false(m->overrides);
        assert_string_equal(m->steps[0].src.name, "tool/run.bat");
        assert_string_equal(m->dir, t.user);
        assert_false(dep_catalog_find(c, "dotnet")->user);

        assert_int_equal(c->n_recipes, 2);
        const struct dep_recipe *r = dep_catalog_recipe(c, "win10x64");
        assert_int_equal(strv_length(r->items), 2);
        assert_string_equal(r->items[0], "dotnet:4.7.2");
        r = dep_catalog_recipe(c, "win7x64");
        assert_int_equal(strv_length(r->items), 1);
        assert_string_equal(r->items[0], "mytool");
        assert_null(dep_catalog_recipe(c, "win11x64"));
        dep_catalog_free(c);

        /* Without the user's folder the shipped ones stand. */
        struct load_call l = { &t, false, NULL };
        _cleanup_free_ char *err = NULL;
        assert_int_equal(test_capture(STDERR_FILENO, do_load, &l, &err), 0);
        assert_int_equal(l.c->n, 3);
        assert_string_equal(dep_catalog_find(l.c, "wallpaper")->description, "shipped");
        assert_string_equal(dep_catalog_recipe(l.c, "win7x64")->items[0], "dotnet40");
        dep_catalog_free(l.c);
        tree_done(&t);
}

static void test_missing_datadir(void **state) {
        (void)state;
        struct tree t;
        tree_make(&t);
        assert_int_equal(rm_rf(t.deps), 0);
        struct load_call l = { &t, true, NULL };
        _cleanup_free_ char *err = NULL;
        assert_int_equal(test_capture(STDERR_FILENO, do_load, &l, &err), -ENOENT);
        _cleanup_free_ char *want = strdup_printf("vmcloak: vmcloak's dependency catalog %s is missing: reinstall "
                                                  "vmcloak or point VMCLOAK_DATADIR at its data folder\n", t.deps);
        assert_string_equal(err, want);

        /* An empty catalog folder and no deps.d: an empty catalog. */
        assert_int_equal(mkdir(t.deps, 0755), 0);
        assert_int_equal(rm_rf(t.user), 0);
        struct dep_catalog *c = load_ok(&t);
        assert_int_equal(c->n, 0);
        dep_catalog_free(c);
        tree_done(&t);
}

/* vmcloak's own folders: $VMCLOAK_DATADIR/deps and <home>/deps.d. */
static void test_load_default(void **state) {
        (void)state;
        struct tree t;
        tree_make(&t);
        put_small(t.deps, "edge");
        put_small(t.user, "mine");
        setenv("VMCLOAK_DATADIR", t.root, 1);
        assert_int_equal(paths_init(t.root), 0);   /* home: root, so deps.d is t.user */
        struct dep_catalog *c = NULL;
        assert_int_equal(dep_catalog_load_default(&c), 0);
        assert_int_equal(c->n, 2);
        assert_false(dep_catalog_find(c, "edge")->user);
        assert_true(dep_catalog_find(c, "mine")->user);
        dep_catalog_free(c);
        unsetenv("VMCLOAK_DATADIR");
        tree_done(&t);
}

/* ---- installer choice (VMCloak spec §11.1 step 3) ---- */

static void test_pick_installer(void **state) {
        (void)state;
        struct dep_file inst[] = {
                { .version = "7u80", .arch = "x86", .filename = "jre-7u80-x86.exe" },
                { .version = "7u80", .arch = "amd64", .filename = "jre-7u80-x64.exe" },
                { .version = "8", .filename = "jre-8-any.exe" },
                { .version = "kb1", .os = "win7x64", .filename = "kb1-win7.msu" },
                { .version = "kb1", .filename = "kb1-any.msu" },
                { .filename = "anyversion.exe", .os = "win81x64" },
        };
        char *no_inst[] = { "win10x64", NULL };
        struct dependency d = { .name = "java", .default_version = "7u80", .installers = inst,
                                .n_installers = ELEMENTSOF(inst), .no_installer_os = no_inst };
        const struct dep_file *f;
        /* version and arch */
        assert_int_equal(dep_pick_installer(&d, "7u80", "win7x64", "amd64", &f), 0);
        assert_ptr_equal(f, &inst[1]);
        assert_int_equal(dep_pick_installer(&d, "7u80", "win7x64", "x86", &f), 0);
        assert_ptr_equal(f, &inst[0]);
        /* the default version when none is asked for */
        assert_int_equal(dep_pick_installer(&d, NULL, "win7x64", "amd64", &f), 0);
        assert_ptr_equal(f, &inst[1]);
        /* an entry without arch (a 32-bit installer) serves amd64 too */
        assert_int_equal(dep_pick_installer(&d, "8", "win10x64", "amd64", &f), 0);
        assert_ptr_equal(f, &inst[2]);
        /* os: the first match in file order */
        assert_int_equal(dep_pick_installer(&d, "kb1", "win7x64", "amd64", &f), 0);
        assert_ptr_equal(f, &inst[3]);
        assert_int_equal(dep_pick_installer(&d, "kb1", "win10x64", "amd64", &f), 0);
        assert_ptr_equal(f, &inst[4]);
        /* an installer without version matches any version (on its OS) */
        assert_int_equal(dep_pick_installer(&d, "9", "win81x64", "amd64", &f), 0);
        assert_ptr_equal(f, &inst[5]);
        /* none: -ENOENT, except on a no_installer_os OS */
        assert_int_equal(dep_pick_installer(&d, "9", "win7x64", "amd64", &f), -ENOENT);
        assert_null(f);
        assert_int_equal(dep_pick_installer(&d, "9", "win10x64", "amd64", &f), 0);
        assert_null(f);
        /* no installers at all */
        struct dependency none = { .name = "edge" };
        f = &inst[0];
        assert_int_equal(dep_pick_installer(&none, "1", "win10x64", "amd64", &f), 0);
        assert_null(f);
}

/* ---- templates ---- */

static int fake_getenv(void *userdata, const char *name, char **ret) {
        assert_string_equal(userdata, "guest");
        if (streq(name, "USERPROFILE")) {
                *ret = strdup("C:\\Users\\John");
                return 0;
        }
        if (streq(name, "EMPTY")) {
                *ret = strdup("");
                return 0;
        }
        return -ENOENT;
}

struct expand_call {
        const char *tmpl;
        const struct dep_vars *vars;
        char *out;
};

static int do_expand(void *p) {
        struct expand_call *e = p;
        return dep_template_expand(e->tmpl, e->vars, &e->out);
}

static void test_template_expand(void **state) {
        (void)state;
        const char *keys[] = { "version", "os", "arch", "installer", "file:isrgrootx1.der", "serialkey", "agent",
                               NULL };
        const char *values[] = { "4.7.2", "win10x64", "amd64", "NDP472.exe", "isrgrootx1.der", "AAAAA-BBBBB",
                                 "C:\\vmcloak\\agent.exe", NULL };
        struct dep_vars vars = { keys, values, fake_getenv, "guest" };
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "C:\\{{installer}} /passive", "C:\\NDP472.exe /passive" },
                { "{{os}}-{{arch}}-{{version}}", "win10x64-amd64-4.7.2" },
                { "certutil -addstore root c:\\{{file:isrgrootx1.der}}", "certutil -addstore root c:\\isrgrootx1.der" },
                { "<PIDKEY Value=\"{{serialkey}}\"/>", "<PIDKEY Value=\"AAAAA-BBBBB\"/>" },
                { "{{env:USERPROFILE}}\\Pictures", "C:\\Users\\John\\Pictures" },
                { "[{{env:EMPTY}}]", "[]" },
                { "bcdedit /set {current} bootstatuspolicy ignoreallfailures",
                  "bcdedit /set {current} bootstatuspolicy ignoreallfailures" },
                { "if ($a) { $b } {{agent}}", "if ($a) { $b } C:\\vmcloak\\agent.exe" },
                { "{{{version}}}", "{4.7.2}" },
                { "left {{ open", "left {{ open" },
                { "", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *out = NULL;
                assert_int_equal(dep_template_expand(cases[i].in, &vars, &out), 0);
                assert_string_equal(out, cases[i].out);
                free(out);
        }

        static const struct {
                const char *in, *err;
                bool no_getenv;
        } bad[] = {
                { "{{serial}}", "vmcloak: no value for the template {{serial}}\n", false },
                { "{{ version }}", "vmcloak: no value for the template {{ version }}\n", false },
                { "{{file:other.der}}", "vmcloak: no value for the template {{file:other.der}}\n", false },
                { "{{env:TEMP}}", "", false },   /* the callback's error, its own message */
                { "{{env:TEMP}}", "vmcloak: no value for {{env:TEMP}}: the guest's environment cannot be read "
                                  "here\n", true },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct dep_vars v = vars;
                if (bad[i].no_getenv)
                        v.getenv = NULL;
                struct expand_call e = { bad[i].in, &v, NULL };
                _cleanup_free_ char *err = NULL;
                assert_int_equal(test_capture(STDERR_FILENO, do_expand, &e, &err), -ENOENT);
                assert_null(e.out);
                assert_string_equal(err, bad[i].err);
        }
}

/* ---- bad entries: one line each, FILE:LINE: problem ---- */

#define TAG_RULE                                                                                            \
        "a machine tag is 1 to 64 lower-case ASCII letters, digits, '_', '-' or '.' and starts with a letter " \
        "(Cuckoo3 writes tags unquoted into its YAML machine config, splits them on ',' and matches them "   \
        "exactly; its own tags are lower case, e.g. office, browser_edge)"

static void test_bad_entries(void **state) {
        (void)state;
        static const struct {
                const char *file;   /* in deps/, or "d/NAME" for deps.d */
                const char *text;
                int line;
                const char *msg;
        } cases[] = {
                { "foo.yaml", "name: foo\ndescription: Java: the runtime\n", 2,
                  "not valid YAML: mapping values are not allowed in this context" },
                { "foo.yaml", "name: foo\nsteps: [\n  - run: x\n", 3,
                  "not valid YAML: did not find expected node content (while parsing a flow node)" },
                { "foo.yaml", "name: foo\ndescription: x\ncolour: blue\n", 3,
                  "unknown key 'colour' in an entry (known: name, description, os, default, recommended, multiversion, "
                  "must_reboot, tags, depends, os_depends, alias_of, no_installer_os, settings, installers, files, "
                  "steps)" },
                { "foo.yaml", "name: foo\nrecommended: maybe\n", 2, "'recommended' must be true or false" },
                { "foo.yaml", "name: foo\ntags: {a: b}\n", 2, "'tags' must be a list of strings" },
                /* A tag Cuckoo3's machine config would change (core/validate.h NAME_MACHINE_TAG). */
                { "foo.yaml", "name: foo\ntags: [office, Word]\n", 2,
                  "'tags': 'Word' is no machine tag: it contains the upper-case 'W'; " TAG_RULE },
                { "foo.yaml", "name: foo\ntags: ['pdf,reader']\n", 2,
                  "'tags': 'pdf,reader' is no machine tag: ',' is not allowed; " TAG_RULE },
                { "foo.yaml", "name: bar\n", 1,
                  "name 'bar' does not match the file's name foo.yaml (an entry is in <name>.yaml)" },
                { "Foo.yaml", "name: Foo\n", 1, "name 'Foo' may hold only a-z, 0-9, '_' and '-'" },
                { "foo.yaml", "name: foo\ninstallers:\n  - version: 1\n    urls: [http://h/a.exe]\n", 3,
                  "installer 1: an installer needs 'sha256' or 'sha1' (a file is used only once its hash matched)" },
                { "foo.yaml",
                  "name: foo\nfiles:\n  - filename: a.der\n    sha1: 0123456789abcdef0123456789abcdef0123456z\n",
                  4, "file 1: 'sha1' must be 40 hexadecimal digits" },
                { "foo.yaml", "name: foo\ninstallers:\n  - {sha256: " SHA1_A ", filename: a.exe}\n", 3,
                  "installer 1: 'sha256' must be 64 hexadecimal digits" },
                { "foo.yaml", "name: foo\nsteps:\n  - run: 'C:\\{{installr}}'\n", 3,
                  "step 1: unknown template {{installr}} (known: version, os, arch, installer, agent, file:NAME, "
                  "env:NAME)" },
                { "foo.yaml", "name: foo\nsettings: {key: }\nsteps:\n  - powershell: |\n      a\n      b {{kee}}\n", 6,
                  "step 1: unknown template {{kee}} (known: version, os, arch, installer, agent, file:NAME, env:NAME, "
                  "settings: key)" },
                { "foo.yaml", "name: foo\nsteps:\n  - run: 'C:\\{{installer}}'\n", 3,
                  "step 1: {{installer}} but the entry has no installers" },
                { "foo.yaml", "name: foo\ndepends: [bar, baz]\n", 2, "depends: 'baz' names no entry of the catalog" },
                { "foo.yaml", "name: foo\nos_depends:\n  win7x64:\n    - bar:2\n", 4,
                  "os_depends: 'bar:2': bar has no version 2 (it has 1)" },
                { "foo.yaml", "name: foo\nsteps:\n  - script: data:../outside.ps1\n", 3, NULL /* below */ },
                { "foo.yaml", "name: foo\nsteps:\n  - script: data:missing.ps1\n", 3, NULL },
                { "foo.yaml", "name: foo\nsteps:\n  - upload: data:link.ps1\n    to: x\n", 3, NULL },
                { "foo.yaml", "name: foo\nsteps:\n  - install: setup.exe\n", 3,
                  "step 1: unknown step kind 'install' (known: upload, run, script, powershell, registry, extract, "
                  "attach_iso, detach_iso, remove, sleep, resolution, reboot)" },
                { "foo.yaml", "name: foo\nsteps:\n  - run: a\n  - run: b\n    powershell: c\n", 5,
                  "step 2: two kinds in one step ('run' and 'powershell'): write two steps" },
                { "foo.yaml", "name: foo\nsteps:\n  - upload: installer\n    to: x\n", 3,
                  "step 1: 'upload: installer' but the entry has no installers" },
                { "foo.yaml", "name: foo\nsteps:\n  - remove: x\n    reboot: true\n", 4,
                  "step 1: 'reboot' (exit codes) belongs to run, script and powershell steps; to reboot, write a step "
                  "{reboot: true}" },
                { "foo.yaml", "name: foo\nsteps:\n  - instal: x\n    reboot: [3010]\n", 3,
                  "step 1: unknown step kind 'instal' (known: upload, run, script, powershell, registry, extract, "
                  "attach_iso, detach_iso, remove, sleep, resolution, reboot)" },
                { "foo.yaml", "name: foo\nsteps:\n  - reboot: [3010]\n", 3,
                  "step 1: 'reboot' lists exit codes of a run, script or powershell step, and this step has none; a "
                  "reboot of its own is {reboot: true}" },
                { "foo.yaml", "name: foo\nsteps:\n  - reboot: false\n", 3, "step 1: 'reboot' takes the value true" },
                { "foo.yaml", "name: foo\nsteps:\n  - remove: x\n    to: y\n", 4,
                  "step 1: 'to' does not belong to a remove step" },
                { "foo.yaml", "name: foo\nsteps:\n  - upload: data:a.ps1\n", 3,
                  "step 1: 'upload' needs 'to' (the guest path)" },
                { "foo.yaml", "name: foo\ninstallers:\n  - {sha1: " SHA1_A ", filename: a.exe, arch: x64}\n", 3,
                  "installer 1: 'arch': 'x64' is not an architecture (x86 or amd64)" },
                { "foo.yaml", "name: foo\nsteps:\n  - run: x\n    ok: [0, success]\n", 4,
                  "step 1: 'ok' must be a list of exit codes" },
                { "foo.yaml", "name: foo\nsteps:\n  - run: x\n    ok: 0\n", 4,
                  "step 1: 'ok' must be a list of exit codes" },
                { "foo.yaml", "name: foo\nsteps:\n  - run: x\n    ok: [4294967296]\n", 4,
                  "step 1: 'ok' must be a list of exit codes" },
                { "foo.yaml", "name: foo\nalias_of: bar2\n", 2,
                  "alias_of 'bar2' is itself an alias (of bar); name bar instead" },
                { "foo.yaml", "name: foo\nalias_of: nothing\n", 2, "alias_of 'nothing' names no entry of the catalog" },
                /* an entry's os is what it installs on: a typo would make it install nowhere */
                { "foo.yaml", "name: foo\nos:\n  - win10x64\n  - lnux\n", 4,
                  "'os': 'lnux' is not an OS profile (linux, win7x64, win81x64, win10x64, win11x64)" },
                /* an entry that needs itself never installs: refused when the catalog is read */
                { "foo.yaml", "name: foo\ndepends: [bar, 'foo:1']\n", 2,
                  "depends: 'foo:1' makes a cycle: foo -> foo (an entry cannot need itself; drop one of these "
                  "depends)" },
                { "d/foo.yaml", "name: foo\nos_depends:\n  win7x64: [bar2]\n  linux:\n    - bar\n    - foo\n", 6,
                  "os_depends: 'foo' makes a cycle on linux: foo -> foo (an entry cannot need itself; drop one of "
                  "these depends)" },
                { "foo.yaml", "name: foo\nalias_of: bar\nsteps: []\n", 3,
                  "'steps' does not belong to an alias: it shares bar's (an alias has only name, description, "
                  "recommended and alias_of)" },
                { "recipes.yaml", "win10x64:\n  - bar\n  - ie12\n", 3,
                  "win10x64: 'ie12' names no entry of the catalog" },
                { "d/recipes.yaml", "win10x64: [bar:1, bar:3]\n", 1,
                  "win10x64: 'bar:3': bar has no version 3 (it has 1)" },
                /* a recipe is for an OS profile, and each item must install on it */
                { "recipes.yaml", "win10x64: [bar]\nlnx: [bar]\n", 2,
                  "'lnx' is not an OS profile (linux, win7x64, win81x64, win10x64, win11x64)" },
                { "d/recipes.yaml", "win7x64:\n  - bar2\n", 2, "win7x64: 'bar2' does not install on win7x64 (its os list)" },
                { "foo.yaml", "name: foo\nsettings:\n  version: {default: x}\n", 3,
                  "a setting cannot be called 'version' ({{version}} is a template word of its own)" },
                { "foo.yaml", "name: foo\nsteps:\n  - extract: setting:zip\n    to: x\n", 3,
                  "step 1: 'extract: setting:zip': the entry declares no setting 'zip' under 'settings'" },
                { "foo.yaml",
                  "name: foo\nfiles: [{filename: a, sha1: " SHA1_A "}]\nsteps:\n  - upload: file:b\n    to: x\n",
                  4, "step 1: 'upload: file:b': the entry has no file named 'b' under 'files'" },
                { "foo.yaml", "name: foo\nsteps:\n  - reboot: true\n    when: {os: win7x64, setting: debug}\n", 4,
                  "step 1: 'when: setting' must be KEY=VALUE, not 'debug'" },
                { "foo.yaml", "name: foo\nsteps:\n  - reboot: true\n    when: {osversion: win7x64}\n", 4,
                  "step 1: unknown key 'osversion' in 'when' (known: os, arch, version, setting)" },
                { "foo.yaml", "name: foo\ninstallers:\n  - {sha1: " SHA1_A ", urls: ['https://h/?id=1']}\n", 3,
                  "installer 1: 'filename': '' is not a file name (no folders, not '.' or '..'); the first URL gives "
                  "none: add 'filename'" },
                { "foo.yaml", "name: foo\ninstallers:\n  - {sha1: " SHA1_A ", filename: bar.exe}\n", 3, NULL },
                { "foo.yaml", "name: foo\ndescription: a\ndescription: b\n", 3, "'description' is given twice" },
                { "foo.yaml",
                  "name: foo\ndefault: 2\ninstallers:\n  - {version: 1, sha1: " SHA1_A ", filename: f.exe}\n",
                  2, "default '2' is none of the installers' versions (1)" },
                { "foo.yaml", "name: foo\nsteps:\n  - run: x\n    async: true\n    ok: [0]\n", 3,
                  "step 1: an async run has no exit code: 'ok', 'reboot' and 'timeout' do not belong to it" },
                { "foo.yaml", "", 1, "the file is empty" },
                { "foo.yaml", "name: foo\nsteps:\n  - upload: data:t.xml\n    to: x\n    template: true\n", 3,
                  "step 1: data:t.xml: unknown template {{nope}} (known: version, os, arch, installer, agent, "
                  "file:NAME, env:NAME)" },
                { "foo.yaml", "name: foo\nsteps:\n  - run: 'echo {{version'\n", 3,
                  "step 1: '{{' without its '}}' (a template is {{name}}; single braces are plain text)" },
                { "foo.yaml", "name: foo\n---\nname: foo\n", 2, "a second YAML document; a file holds one" },
                { "d/foo.yaml",
                  "name: foo\nsteps:\n  - registry:\n      - {key: 'HKEY\\x', type: REG_SZ, data: 1}\n", 4,
                  "step 1: registry item 1: key 'HKEY\\x' must start with HKLM\\, HKCU\\, HKCR\\, HKU\\ or HKCC\\" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct tree t;
                tree_make(&t);
                /* bar (versions 1, Windows 10 and 11), bar2 (an alias of it) exist in every case; a.ps1 is
                 * a data file */
                put(t.deps, "bar.yaml",
                    "name: bar\ninstallers:\n  - {version: '1', sha1: " SHA1_B ", filename: bar.exe}\n"
                    "os: [win10x64, win11x64]\n");
                put(t.deps, "bar2.yaml", "name: bar2\nalias_of: bar\n");
                put(t.deps, "a.ps1", "x\n");
                put(t.deps, "t.xml", "<a>\n{{nope}}</a>\n");
                _cleanup_free_ char *outside = path_join(t.root, "outside.ps1");
                assert_int_equal(write_file(outside, "x", 1, 0644), 0);
                _cleanup_free_ char *link = path_join(t.deps, "link.ps1");
                assert_int_equal(symlink(outside, link), 0);
                const char *name = cases[i].file;
                const char *dir = t.deps;
                if (startswith(name, "d/")) {
                        name += 2;
                        dir = t.user;
                }
                put(dir, name, cases[i].text);
                _cleanup_free_ char *path = path_join(dir, name);
                _cleanup_free_ char *msg = NULL;
                if (cases[i].msg)
                        msg = strdup(cases[i].msg);
                else if (strstr(cases[i].text, "../outside"))
                        msg = strdup_printf("step 1: data:../outside.ps1 leaves the entry's folder %s (data: paths are "
                                            "relative to it, without '..')", t.deps);
                else if (strstr(cases[i].text, "missing.ps1"))
                        msg = strdup_printf("step 1: data:missing.ps1: %s/missing.ps1: No such file or directory",
                                            t.deps);
                else if (strstr(cases[i].text, "link.ps1"))
                        msg = strdup_printf("step 1: data:link.ps1 leads out of the entry's folder %s (to %s)", t.deps,
                                            outside);
                else {
                        _cleanup_free_ char *bar = path_join(t.deps, "bar.yaml");
                        msg = strdup_printf("file name bar.exe is also %s:3 with another hash; files are cached by "
                                            "name: give one of them another 'filename'", bar);
                        /* the catalog is sorted: bar comes first, foo is the one named */
                }
                _cleanup_free_ char *want = strdup_printf("vmcloak: %s:%d: %s\n", path, cases[i].line, msg);
                struct load_call l = { &t, true, NULL };
                _cleanup_free_ char *err = NULL;
                int r = test_capture(STDERR_FILENO, do_load, &l, &err);
                if (!streq(err, want))
                        fprintf(stderr, "case %zu (%s):\n  got  %s  want %s", i, cases[i].text, err, want);
                assert_int_equal(r, -EINVAL);
                assert_null(l.c);
                assert_string_equal(err, want);
                tree_done(&t);
        }
}

int main(void) {
        log_set_color(LOG_COLOR_NEVER);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_entry),
                cmocka_unit_test(test_alias_user_recipes),
                cmocka_unit_test(test_missing_datadir),
                cmocka_unit_test(test_load_default),
                cmocka_unit_test(test_pick_installer),
                cmocka_unit_test(test_template_expand),
                cmocka_unit_test(test_bad_entries),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
