/* Unit tests: machine tags of images and VMs (pipeline/tags.h) from a small catalog, built by
 * hand and read from real YAML files through the loader, with the user's deps.d. */
#include "test.h"

#include <errno.h>
#include <sys/stat.h>

#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "deps/catalog.h"
#include "deps/resolve.h"
#include "pipeline/tags.h"

static char *dotnet_tags[] = { "dotnet", NULL };
static char *pdf_tags[] = { "adobepdf", "pdfreader", NULL };
static char *none[] = { NULL };

/* VMCloak's facts (vmcloak-spec.md §11.2): dotnet40 is an alias of dotnet; wic has no tags. */
static struct dependency adobepdf = { .name = "adobepdf", .tags = pdf_tags };
static struct dependency dotnet = { .name = "dotnet", .tags = dotnet_tags };
static struct dependency dotnet40 = { .name = "dotnet40", .tags = none, .alias_of = "dotnet" };
static struct dependency wic = { .name = "wic", .tags = none };
static struct dependency *deps[] = { &adobepdf, &dotnet, &dotnet40, &wic };  /* sorted by name */
static const struct dep_catalog catalog = { .deps = deps, .n = 4 };

static char *joined(char *const *set) {
        char *s = strv_join(set, ",");
        assert_non_null(s);
        return s;
}

static void expect_vm_tags(const char *stored, const char *installed, char **given, const char *want) {
        struct image img = { .name = "win10base", .tags = (char *)stored, .installed = (char *)installed };
        char **set = NULL;
        assert_int_equal(vm_tags_compute(&img, &catalog, given, &set), 0);
        assert_non_null(set);
        char *got = joined(set);
        if (!streq(got, want))
                fail_msg("tags '%s' + installed '%s': got '%s', want '%s'", strempty(stored), strempty(installed), got,
                         want);
        free(got);
        strv_free(set);
}

static void test_union(void **state) {
        (void)state;
        char *given[] = { "lab", "dotnet", NULL };
        /* The image's stored tags, every installed dependency's, and --tag: sorted, each once. */
        expect_vm_tags("office", "dotnet:4.7.2,wic:,adobepdf:11.0.8", given, "adobepdf,dotnet,lab,office,pdfreader");
        /* A VMCloak row: no stored tags, its installed column alone decides (its VMs had them). */
        expect_vm_tags(NULL, "wic:,adobepdf:11.0.8", NULL, "adobepdf,pdfreader");
        /* A name the catalog does not know gives nothing, and is no error. */
        expect_vm_tags(NULL, "gone:1,dotnet:4.7.2", NULL, "dotnet");
        /* An alias gives the tags of what it aliases. */
        expect_vm_tags(NULL, "dotnet40:4.7.2", NULL, "dotnet");
        /* Two versions of one dependency (multiversion): its tags once. */
        expect_vm_tags(NULL, "dotnet:4.7.2,dotnet:4.8", NULL, "dotnet");
        /* Nothing at all: an empty list (machineinfo.json's "tags": []). */
        expect_vm_tags(NULL, NULL, NULL, "");
        expect_vm_tags("", "", none, "");
        /* Only --tag. */
        char *one[] = { "win10", NULL };
        expect_vm_tags(NULL, NULL, one, "win10");
}

static void test_image_after_install(void **state) {
        (void)state;
        struct image img = { .name = "win10base" };
        img.tags = strdup("lab");
        img.installed = strdup("wic:,dotnet:4.7.2");
        char *given[] = { "office", NULL };
        assert_int_equal(image_tags_after_install(&img, given, &catalog), 0);
        assert_string_equal(img.tags, "dotnet,lab,office");
        /* Again with nothing new: the same text (repo_image_update then writes nothing). */
        assert_int_equal(image_tags_after_install(&img, NULL, &catalog), 0);
        assert_string_equal(img.tags, "dotnet,lab,office");
        free(img.tags);
        free(img.installed);
        /* No tags at all stays NULL, as VMCloak's rows are. */
        struct image bare = { .name = "plain", .installed = (char *)"wic:" };
        assert_int_equal(image_tags_after_install(&bare, NULL, &catalog), 0);
        assert_null(bare.tags);
}

/* What snapshot runs in each VM (threemonpatch, finalize) gives the VM its tags; a dependency
 * --skip-unavailable left out gives none, nor do generic steps and reboots. */
static void test_plan_tags(void **state) {
        (void)state;
        static char *patch_tags[] = { "threemonpatch", NULL };
        static char *office_tags[] = { "office", NULL };
        struct dependency patch = { .name = "threemonpatch", .tags = patch_tags };
        struct dependency finalize = { .name = "finalize", .tags = none };
        struct dependency office = { .name = "office", .tags = office_tags };
        struct dep_plan_item items[] = {
                { .kind = DEP_PLAN_DEP, .name = "threemonpatch", .dep = &patch },
                { .kind = DEP_PLAN_REBOOT, .name = "after threemonpatch" },
                { .kind = DEP_PLAN_DEP, .name = "finalize", .dep = &finalize },
                { .kind = DEP_PLAN_DEP, .name = "office", .dep = &office, .left_out = true },
                { .kind = DEP_PLAN_STEP },
        };
        struct dep_plan plan = { .items = items, .n = ELEMENTSOF(items) };
        char *start[] = { "lab", "zeta", NULL };
        char **set = strv_copy(start);
        assert_int_equal(dep_plan_tags(&plan, &set), 0);
        char *got = joined(set);
        assert_string_equal(got, "lab,threemonpatch,zeta");
        free(got);
        strv_free(set);
        struct dep_plan empty = { 0 };
        set = NULL;
        assert_int_equal(dep_plan_tags(&empty, &set), 0);
        assert_null(set);
}

static void put(const char *dir, const char *name, const char *text) {
        char *p = path_join(dir, name);
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_int_equal(write_file(p, text, strlen(text), 0644), 0);
        free(p);
}

/* cat NULL: the catalog is the data folder's plus the user's deps.d, read only when the image
 * has installed something. */
static void test_default_catalog(void **state) {
        (void)state;
        char *root = test_tmpdir();
        char *data = path_join(root, "data"), *home = path_join(root, "home");
        char *shipped = path_join(data, "deps"), *user = path_join(home, "deps.d");
        setenv("VMCLOAK_DATADIR", data, 1);
        assert_int_equal(paths_init(home), 0);
        struct image img = { .name = "linux", .tags = (char *)"lab" };
        char *given[] = { "vm1", NULL };
        char **set = NULL;
        /* Nothing installed: no catalog needed, not even a data folder. */
        assert_int_equal(vm_tags_compute(&img, NULL, given, &set), 0);
        char *got = joined(set);
        assert_string_equal(got, "lab,vm1");
        free(got);
        strv_free(set);
        /* Something installed and no catalog: the loader's error, nothing made up. */
        img.installed = (char *)"office:2010,tools:1";
        set = NULL;
        assert_int_equal(vm_tags_compute(&img, NULL, given, &set), -ENOENT);
        assert_null(set);
        /* A shipped entry, and a user entry that replaces another shipped one whole. */
        put(shipped, "office.yaml", "name: office\ndescription: Microsoft Office\ntags: [office]\n");
        put(shipped, "tools.yaml", "name: tools\ndescription: shipped\ntags: [shipped_tools]\n");
        put(user, "tools.yaml", "name: tools\ndescription: mine\ntags: [lab_tools, sysinternals]\n");
        assert_int_equal(vm_tags_compute(&img, NULL, given, &set), 0);
        got = joined(set);
        assert_string_equal(got, "lab,lab_tools,office,sysinternals,vm1");
        free(got);
        strv_free(set);
        /* A user entry whose tag Cuckoo3 would change is refused when the catalog loads. */
        put(user, "tools.yaml", "name: tools\ntags: [Sysinternals]\n");
        set = NULL;
        assert_int_equal(vm_tags_compute(&img, NULL, NULL, &set), -EINVAL);
        assert_null(set);
        unsetenv("VMCLOAK_DATADIR");
        rm_rf(root);
        free(root);
        free(data);
        free(home);
        free(shipped);
        free(user);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_union),
                cmocka_unit_test(test_image_after_install),
                cmocka_unit_test(test_plan_tags),
                cmocka_unit_test(test_default_catalog),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
