/* Unit tests: install resolution (VMCloak spec §7.1-§7.3, §11.3) on a catalog built here with
 * the shape of VMCloak's win10x64 recipe entries, and the rendering of registry commands. */
#include "test.h"

#include <errno.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "deps/catalog.h"
#include "deps/resolve.h"
#include "deps/runner.h"
#include "deps/steps.h"

/* ---- a small catalog: VMCloak's flags and sub-dependencies (spec §11.2) ---- */

static char *win10[] = { "win10x64", "win7x64", NULL };
static char *linux_only[] = { "linux", NULL };
static char *dotnet_deps[] = { "wic", "carootcert", NULL };
static char *ie11_win10[] = { "optimizeos", NULL };
static char *ie11_win7[] = { "kb:2670838", "kb:2639308", NULL };
static struct dep_os_depends ie11_os[] = { { "win10x64", ie11_win10 }, { "win7x64", ie11_win7 } };
static char *chain_deps[] = { "chain", NULL };
static char *needsadobe_deps[] = { "adobepdf", NULL };

static struct dep_file dotnet_inst[] = {
        { .version = "4.7.2", .filename = "ndp472.exe", .sha1 = "1111111111111111111111111111111111111111" },
        { .version = "4.6.1", .filename = "ndp461.exe", .sha1 = "2222222222222222222222222222222222222222" },
};
static struct dep_file vcredist_inst[] = {
        { .version = "2013", .arch = "amd64", .filename = "vc2013x64.exe", .sha1 = "3333333333333333333333333333333333333333" },
        { .version = "2019", .arch = "amd64", .filename = "vc2019x64.exe", .sha1 = "4444444444444444444444444444444444444444" },
        { .version = "2013", .arch = "x86", .filename = "vc2013x86.exe", .sha1 = "5555555555555555555555555555555555555555" },
};
static struct dep_setting office_settings[] = {
        { .key = "isopath", .required = true, .description = "the Office ISO" },
        { .key = "serialkey", .required = true },
        { .key = "activate", .default_value = "0" },
};

#define DEP(...) (&(struct dependency){ __VA_ARGS__ })
static struct dependency *all[] = {
        DEP(.name = "adobepdf", .default_version = "11.0.8"),
        DEP(.name = "carootcert"),
        DEP(.name = "chain", .depends = chain_deps),                     /* depends on itself */
        DEP(.name = "disableservices", .must_reboot = true, .os = win10),
        DEP(.name = "dotnet", .default_version = "4.7.2", .multiversion = true, .depends = dotnet_deps,
            .installers = dotnet_inst, .n_installers = 2),
        DEP(.name = "dotnet40", .alias_of = "dotnet"),
        DEP(.name = "edge"),
        DEP(.name = "ie11", .default_version = "11", .os_depends = ie11_os, .n_os_depends = 2),
        DEP(.name = "java", .default_version = "7u80", .multiversion = true),
        DEP(.name = "kb", .multiversion = true),
        DEP(.name = "needsadobe", .depends = needsadobe_deps),
        DEP(.name = "office", .default_version = "2010", .settings = office_settings, .n_settings = 3),
        DEP(.name = "only4linux", .os = linux_only),
        DEP(.name = "optimizeos", .must_reboot = true),
        DEP(.name = "vcredist", .default_version = "2005sp1", .must_reboot = true, .multiversion = true,
            .installers = vcredist_inst, .n_installers = 3),
        DEP(.name = "wallpaper"),
        DEP(.name = "wic"),
};

static char *recipe_win10[] = { "ie11", "dotnet:4.7.2", "java:7u80", "vcredist:2013", "vcredist:2019", "edge",
                                "carootcert", "adobepdf", "wallpaper", "optimizeos", "disableservices", NULL };
static struct dep_recipe recipes[] = { { "win10x64", recipe_win10 }, { "win7x64", recipe_win10 } };
static struct dep_catalog catalog = { all, ELEMENTSOF(all), recipes, ELEMENTSOF(recipes) };

/* The plan as one line: "name version", "[reboot]", "step", joined by ", ". */
static char *plan_text(const struct dep_plan *p) {
        char **l = NULL;
        for (size_t i = 0; i < p->n; i++) {
                const struct dep_plan_item *it = &p->items[i];
                if (it->kind == DEP_PLAN_REBOOT)
                        strv_extend(&l, "[reboot]");
                else if (it->kind == DEP_PLAN_STEP)
                        strv_extend(&l, it->step->name);
                else
                        strv_extendf(&l, "%s%s%s", it->name, it->version ? " " : "", strempty(it->version));
        }
        char *s = l ? strv_join(l, ", ") : strdup("");
        strv_free(l);
        return s;
}

struct run {
        int r;
        char *text;       /* plan_text */
        char *skipped;    /* joined */
        char *log;        /* what was logged */
};

static void run_done(struct run *r) {
        free(r->text);
        free(r->skipped);
        free(r->log);
}

static struct run resolve(char **tokens, const char *os, const char *installed, bool force, bool recommended) {
        struct run out = { 0 };
        char logpath[] = "/tmp/vmcloak-resolve-log.XXXXXX";
        int fd = mkstemp(logpath);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(log_open_file(logpath), 0);
        struct install_plan tp;
        assert_int_equal(install_plan_parse(tokens, &tp), 0);
        struct dep_resolve_input in = { .tokens = &tp, .catalog = &catalog, .os = os, .arch = "amd64",
                                        .installed = installed, .force_reinstall = force,
                                        .recommended = recommended };
        struct dep_plan p;
        out.r = dep_resolve(&in, &p);
        log_close_file();
        if (out.r == 0) {
                out.text = plan_text(&p);
                out.skipped = p.skipped ? strv_join(p.skipped, ", ") : strdup("");
                dep_plan_free(&p);
        }
        install_plan_free(&tp);
        assert_int_equal(read_full_file(logpath, &out.log, NULL), 0);
        unlink(logpath);
        return out;
}

static void expect_plan(char **tokens, const char *os, const char *installed, bool force, bool rec,
                        const char *want, const char *want_skipped) {
        struct run r = resolve(tokens, os, installed, force, rec);
        if (r.r != 0)
                fail_msg("resolution failed (%d): %s", r.r, r.log);
        assert_string_equal(r.text, want);
        assert_string_equal(r.skipped, want_skipped);
        run_done(&r);
}

static void expect_error(char **tokens, const char *os, bool rec, const char *want_in_log) {
        struct run r = resolve(tokens, os, NULL, false, rec);
        assert_int_equal(r.r, -EINVAL);
        if (!strstr(r.log, want_in_log))
                fail_msg("expected '%s' in: %s", want_in_log, r.log);
        run_done(&r);
}

/* §11.3's "effective order" on win10x64, word for word. */
static void test_recommended_win10_order(void **state) {
        (void)state;
        char *none[] = { NULL };
        expect_plan(none, "win10x64", NULL, false, true,
                    "optimizeos, [reboot], ie11 11, wic, carootcert, [reboot], dotnet 4.7.2, java 7u80, "
                    "vcredist 2013, [reboot], vcredist 2019, [reboot], edge, adobepdf 11.0.8, wallpaper, "
                    "disableservices",
                    "");
}

/* User tokens come after the recipe; generic steps keep their place. */
static void test_recipe_then_tokens(void **state) {
        (void)state;
        char *t[] = { "run:echo before", "wallpaper", "run:echo after", NULL };
        expect_plan(t, "win10x64", NULL, false, false, "run:echo before, wallpaper, run:echo after", "");
        char *t2[] = { "edge", NULL };
        struct run r = resolve(t2, "win10x64", NULL, false, true);
        assert_int_equal(r.r, 0);
        /* edge was planned by the recipe already: the typed one is skipped silently. */
        assert_non_null(strstr(r.text, "edge"));
        assert_null(strstr(strstr(r.text, "edge") + 1, "edge"));
        run_done(&r);
}

static void test_skip_installed_and_force(void **state) {
        (void)state;
        char *t[] = { "dotnet", "edge", NULL };
        /* Recorded: wic and carootcert (sub-dependencies) and dotnet with any version. */
        expect_plan(t, "win10x64", "wic:,carootcert:,dotnet:4.6.1,", false, false, "edge", "dotnet");
        /* A version asked for must be the one recorded. */
        char *t2[] = { "dotnet:4.7.2", NULL };
        expect_plan(t2, "win10x64", "wic:,carootcert:,dotnet:4.6.1,", false, false, "dotnet 4.7.2", "wic, carootcert");
        /* --force-reinstall runs the entries typed; sub-dependencies stay skipped (VMCloak §7.2). */
        expect_plan(t, "win10x64", "wic:,carootcert:,dotnet:4.7.2,edge:,", true, false, "dotnet 4.7.2, edge",
                    "wic, carootcert");
        /* Nothing recorded: sub-dependencies first, then a reboot. */
        expect_plan(t, "win10x64", NULL, false, false, "wic, carootcert, [reboot], dotnet 4.7.2, edge", "");
}

/* §7.1: a top-level entry that is another's sub-dependency leaves the top level (not when
 * multiversion); sub-dependencies by OS; aliases keep the typed name. */
static void test_subdeps_and_aliases(void **state) {
        (void)state;
        char *t[] = { "carootcert", "dotnet40", NULL };
        expect_plan(t, "win10x64", NULL, false, false, "wic, carootcert, [reboot], dotnet40 4.7.2", "");
        char *t2[] = { "ie11", NULL };
        expect_plan(t2, "win7x64", NULL, false, false, "kb 2670838, kb 2639308, [reboot], ie11 11", "");
        /* A must_reboot entry as the last one: no reboot, the shutdown follows (§7.3). */
        char *t3[] = { "edge", "optimizeos", NULL };
        expect_plan(t3, "win10x64", NULL, false, false, "edge, optimizeos", "");
        char *t4[] = { "optimizeos", "edge", NULL };
        expect_plan(t4, "win10x64", NULL, false, false, "optimizeos, [reboot], edge", "");
        /* A typed version that a sub-dependency overrides: the warning says which version it gets. */
        char *t5[] = { "optimizeos:5", "ie11", NULL };
        struct run r = resolve(t5, "win10x64", NULL, false, false);
        assert_int_equal(r.r, 0);
        assert_string_equal(r.text, "optimizeos, [reboot], ie11 11");
        if (!strstr(r.log, "optimizeos:5 is installed as a sub-dependency of ie11, as optimizeos (without a version): "
                           "the sub-dependency's version wins (VMCloak's rule)"))
                fail_msg("warning not found in: %s", r.log);
        run_done(&r);
        char *t6[] = { "adobepdf:9", "needsadobe", NULL };
        r = resolve(t6, "win10x64", NULL, false, false);
        assert_int_equal(r.r, 0);
        if (!strstr(r.log, "adobepdf:9 is installed as a sub-dependency of needsadobe, as adobepdf (its default "
                           "version 11.0.8)"))
                fail_msg("warning not found in: %s", r.log);
        run_done(&r);
}

static void test_settings(void **state) {
        (void)state;
        char *t[] = { "office", "office.isopath=/iso/office.iso", "office.serialkey=AAAAA", NULL };
        struct install_plan tp;
        assert_int_equal(install_plan_parse(t, &tp), 0);
        struct dep_resolve_input in = { .tokens = &tp, .catalog = &catalog, .os = "win10x64", .arch = "amd64" };
        struct dep_plan p;
        assert_int_equal(dep_resolve(&in, &p), 0);
        assert_int_equal(p.n, 1);
        assert_string_equal(dep_plan_item_setting(&p.items[0], "isopath"), "/iso/office.iso");
        assert_string_equal(dep_plan_item_setting(&p.items[0], "serialkey"), "AAAAA");
        assert_string_equal(dep_plan_item_setting(&p.items[0], "activate"), "0");   /* the default */
        dep_plan_free(&p);
        install_plan_free(&tp);
}

static void test_errors(void **state) {
        (void)state;
        char *unknown[] = { "nosuch", "edge", "neither:1", NULL };
        expect_error(unknown, "win10x64", false, "unknown dependencies: nosuch, neither; see vmcloak list deps");
        char *version[] = { "dotnet:9.9", NULL };
        expect_error(version, "win10x64", false, "dotnet has no installer for version 9.9 on win10x64 (amd64); its "
                                                "versions: 4.7.2, 4.6.1");
        char *os[] = { "only4linux", NULL };
        expect_error(os, "win10x64", false, "only4linux does not install on win10x64 (it is for linux)");
        char *missing[] = { "office", "office.serialkey=X", NULL };
        expect_error(missing, "win10x64", false, "office needs the setting office.isopath=... (the Office ISO)");
        char *badkey[] = { "office", "office.isopth=/x.iso", NULL };
        expect_error(badkey, "win10x64", false, "office has no setting 'isopth' (it has: isopath, serialkey, activate)");
        char *absent[] = { "edge", "office.isopath=/x.iso", NULL };
        expect_error(absent, "win10x64", false, "the setting office.isopath=/x.iso is for office, which is not in "
                                               "this install");
        char *none[] = { NULL };
        expect_error(none, "linux", true, "no recommended set for OS linux; the catalog has one for: win10x64, "
                                          "win7x64");
        char *cycle[] = { "chain", NULL };
        expect_error(cycle, "win10x64", false, "form a cycle");
}

/* The shipped catalog (data/deps) gives §11.3's effective order on win10x64 too, with
 * VMCloak's default versions; win7x64 puts its KBs (ie11's sub-dependencies) first. */
static void test_shipped_catalog(void **state) {
        (void)state;
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        if (!root)
                skip();
        _cleanup_free_ char *data = path_join(root, "data");
        struct dep_catalog *shipped = NULL;
        assert_int_equal(dep_catalog_load(data, NULL, &shipped), 0);
        char *none[] = { NULL };
        struct install_plan tp;
        assert_int_equal(install_plan_parse(none, &tp), 0);
        struct dep_resolve_input in = { .tokens = &tp, .catalog = shipped, .os = "win10x64", .arch = "amd64",
                                        .recommended = true };
        struct dep_plan p;
        assert_int_equal(dep_resolve(&in, &p), 0);
        char *text = plan_text(&p);
        assert_string_equal(text, "optimizeos, [reboot], ie11 11, wic, carootcert, [reboot], dotnet 4.7.2, java 7u80, "
                                  "vcredist 2013, [reboot], vcredist 2019, [reboot], edge, adobepdf 11.0.8, "
                                  "wallpaper, disableservices");
        /* Every installer picked is the one for amd64 where the entry has both. */
        for (size_t i = 0; i < p.n; i++)
                if (p.items[i].installer && p.items[i].installer->arch)
                        assert_string_equal(p.items[i].installer->arch, "amd64");
        free(text);
        dep_plan_free(&p);
        in.os = "win7x64";
        assert_int_equal(dep_resolve(&in, &p), 0);
        text = plan_text(&p);
        assert_non_null(strstr(text, "kb "));
        assert_true(strstr(text, "kb ") < strstr(text, "ie11"));
        free(text);
        dep_plan_free(&p);
        install_plan_free(&tp);
        dep_catalog_free(shipped);
}

static void test_when(void **state) {
        (void)state;
        char *oses[] = { "win7*", NULL }, *vers[] = { "4.*", NULL };
        struct dep_when w = { .os = oses, .version = vers, .setting_key = "debug", .setting_value = "1" };
        char *keys[] = { "debug", NULL }, *on[] = { "1", NULL }, *off[] = { "0", NULL };
        assert_true(dep_when_matches(&w, "win7x64", "amd64", "4.7.2", keys, on));
        assert_false(dep_when_matches(&w, "win7x64", "amd64", "4.7.2", keys, off));
        assert_false(dep_when_matches(&w, "win10x64", "amd64", "4.7.2", keys, on));
        assert_false(dep_when_matches(&w, "win7x64", "amd64", NULL, keys, on));
        struct dep_when always = { 0 };
        assert_true(dep_when_matches(&always, "linux", "amd64", NULL, NULL, NULL));
        /* A setting's value is a pattern too (wallpaper.yaml: "filepath=?*" = given, "filepath=" = not). */
        struct dep_when given = { .setting_key = "filepath", .setting_value = "?*" },
                        absent = { .setting_key = "filepath", .setting_value = "" };
        char *fk[] = { "filepath", NULL }, *fset[] = { "/tmp/a.jpg", NULL }, *fempty[] = { "", NULL };
        assert_true(dep_when_matches(&given, "win10x64", "amd64", NULL, fk, fset));
        assert_false(dep_when_matches(&given, "win10x64", "amd64", NULL, fk, fempty));
        assert_true(dep_when_matches(&absent, "win10x64", "amd64", NULL, fk, fempty));
        assert_false(dep_when_matches(&absent, "win10x64", "amd64", NULL, fk, fset));
        assert_false(dep_when_matches(&given, "win10x64", "amd64", NULL, NULL, NULL));
}

static void test_exit_code_text(void **state) {
        (void)state;
        char b[40];
        dep_exit_code_text(1603, b, sizeof b);
        assert_string_equal(b, "1603");
        dep_exit_code_text((int)2149842967u, b, sizeof b);
        assert_string_equal(b, "2149842967 (0x80240017)");
        dep_exit_code_text(0, b, sizeof b);
        assert_string_equal(b, "0");
}

static void expect_reg(struct dep_reg reg, const char *want) {
        char *s = NULL;
        assert_int_equal(dep_reg_render(&reg, &s), 0);
        assert_string_equal(s, want);
        free(s);
}

/* Golden reg.exe lines (quoting by the MS C runtime's rules, which reg.exe parses with). */
static void test_registry_rendering(void **state) {
        (void)state;
        expect_reg((struct dep_reg){ .key = "HKLM\\SOFTWARE\\Policies\\Google\\Update", .value = "UpdateDefault",
                                     .type = "REG_DWORD", .data = "0" },
                   "reg add \"HKLM\\SOFTWARE\\Policies\\Google\\Update\" /v \"UpdateDefault\" /t REG_DWORD /d \"0\" /f");
        /* edge's UIPI: the key's default value. */
        expect_reg((struct dep_reg){ .key = "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\UIPI",
                                     .type = "REG_SZ", .data = "1" },
                   "reg add \"HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\UIPI\" /ve /t "
                   "REG_SZ /d \"1\" /f");
        expect_reg((struct dep_reg){ .key = "HKLM\\SOFTWARE\\Policies\\Adobe\\FeatureLockDown\\cDefaultLaunchAttachmentPerms",
                                     .value = "tBuiltInPermList", .delete = true },
                   "reg delete \"HKLM\\SOFTWARE\\Policies\\Adobe\\FeatureLockDown\\cDefaultLaunchAttachmentPerms\" /v "
                   "\"tBuiltInPermList\" /f");
        expect_reg((struct dep_reg){ .key = "HKCU\\Software\\Old", .delete = true }, "reg delete \"HKCU\\Software\\Old\" /f");
        /* A quote inside, a trailing backslash, backslashes before a quote, spaces. */
        expect_reg((struct dep_reg){ .key = "HKCU\\Control Panel\\Desktop", .value = "Wallpaper", .type = "REG_SZ",
                                     .data = "C:\\Users\\me\\Pictures\\" },
                   "reg add \"HKCU\\Control Panel\\Desktop\" /v \"Wallpaper\" /t REG_SZ /d "
                   "\"C:\\Users\\me\\Pictures\\\\\" /f");
        expect_reg((struct dep_reg){ .key = "HKCU\\K", .value = "say \"hi\"", .data = "a\\\"b" },
                   "reg add \"HKCU\\K\" /v \"say \\\"hi\\\"\" /d \"a\\\\\\\"b\" /f");
        expect_reg((struct dep_reg){ .key = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\PowerShell\\ModuleLogging\\ModuleNames",
                                     .value = "*", .type = "REG_SZ", .data = "*" },
                   "reg add \"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\PowerShell\\ModuleLogging\\ModuleNames\" /v "
                   "\"*\" /t REG_SZ /d \"*\" /f");
}

int main(void) {
        log_set_level(LOG_LEVEL_WARNING);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_recommended_win10_order),
                cmocka_unit_test(test_recipe_then_tokens),
                cmocka_unit_test(test_skip_installed_and_force),
                cmocka_unit_test(test_subdeps_and_aliases),
                cmocka_unit_test(test_settings),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_shipped_catalog),
                cmocka_unit_test(test_when),
                cmocka_unit_test(test_exit_code_text),
                cmocka_unit_test(test_registry_rendering),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
