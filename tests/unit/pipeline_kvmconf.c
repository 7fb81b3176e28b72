/* Unit tests: CAPE's kvm.conf and Cuckoo3's kvm.yaml against golden files (tests/kvmconf; set
 * VMCLOAK_KVMCONF_REGEN=1 to rewrite them), the refusals, and rows -> machines. */
#include "test.h"

#include <errno.h>

#include "core/repo.h"
#include "core/util.h"
#include "pipeline/kvmconf.h"

static char *tags_office[] = { "dotnet", "office", NULL };
static char *tags_x64[] = { "x64", "pdf", NULL };

static const struct kvmconf_machine win10[] = {
        { .name = "cape1", .label = "cape1", .platform = "windows", .os_version = "10", .os_tag = "win10",
          .arch = "amd64", .ip = "192.168.30.11", .agent_port = 8000, .mac = "52:54:00:1f:a2:07",
          .snapshot = "vmcloak", .interface = "br0", .tags = tags_office },
        { .name = "cape2", .label = "cape2", .platform = "windows", .os_version = "10", .os_tag = "win10",
          .arch = "amd64", .ip = "192.168.30.12", .agent_port = 8000, .mac = "52:54:00:1f:a2:08",
          .snapshot = "vmcloak", .interface = "br0", .tags = tags_x64 },
};

static const struct kvmconf_machine linux_one[] = {
        { .name = "lin1", .label = "lin1", .platform = "linux", .os_version = "linux", .arch = "amd64",
          .ip = "10.13.0.5", .agent_port = 8001, .interface = "vmcloakbr" },
};

static const struct kvmconf_machine mixed[] = {
        { .name = "w11", .label = "w11", .platform = "windows", .os_version = "11", .os_tag = "win11",
          .arch = "amd64", .ip = "192.168.122.50", .agent_port = 8000, .snapshot = "s-2026", .interface = "virbr0" },
        { .name = "w7", .label = "w7", .platform = "windows", .os_version = "7", .os_tag = "win7", .arch = "x86",
          .ip = "192.168.122.51", .agent_port = 8000, .snapshot = "vmcloak", .interface = "br1" },
};

struct golden {
        const char *name;
        struct kvmconf c;
};

static const struct golden goldens[] = {
        { "win10_two", { .dsn = "qemu+ssh://root@sandbox2/system", .resultserver_ip = "192.168.30.1",
                         .resultserver_port = 2042, .machines = win10, .n_machines = 2 } },
        { "linux_percent", { .dsn = "qemu+ssh://root@host/system?keyfile=/root/k%20ey", .machines = linux_one,
                             .n_machines = 1 } },
        { "mixed_interface", { .dsn = "qemu:///system", .interface = "virbr0", .machines = mixed, .n_machines = 2 } },
};

static void compare_golden(const char *name, const char *ext, const char *got) {
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        _cleanup_free_ char *path = strdup_printf("%s/tests/kvmconf/%s.%s", root ? root : ".", name, ext);
        if (getenv("VMCLOAK_KVMCONF_REGEN"))
                assert_int_equal(write_file(path, got, strlen(got), 0644), 0);
        _cleanup_free_ char *want = NULL;
        assert_int_equal(read_full_file(path, &want, NULL), 0);
        if (!streq(want, got))
                fail_msg("%s differs from what was rendered:\n%s", path, got);
}

static void test_golden(void **state) {
        const struct golden *g = *state;
        _cleanup_free_ char *cape = NULL, *c3 = NULL;
        assert_int_equal(kvmconf_render(&g->c, KVMCONF_CAPE, &cape), 0);
        compare_golden(g->name, "kvm.conf", cape);
        assert_int_equal(kvmconf_render(&g->c, KVMCONF_CUCKOO3, &c3), 0);
        compare_golden(g->name, "kvm.yaml", c3);
}

/* One machine changed by fn must be refused in format f. */
static void refused(enum kvmconf_format f, void (*change)(struct kvmconf_machine *m)) {
        struct kvmconf_machine m[2] = { win10[0], win10[1] };
        change(&m[0]);
        struct kvmconf c = { .dsn = "qemu:///system", .machines = m, .n_machines = 2 };
        char *out = NULL;
        assert_int_equal(kvmconf_render(&c, f, &out), -EINVAL);
        assert_null(out);
}

static void name_kvm(struct kvmconf_machine *m) { m->name = "kvm"; }
static void name_default(struct kvmconf_machine *m) { m->name = "DEFAULT"; }
static void name_comma(struct kvmconf_machine *m) { m->name = "a,b"; }
static void name_twice(struct kvmconf_machine *m) { m->name = "cape2"; }
static void label_bool(struct kvmconf_machine *m) { m->label = "Yes"; }
static void label_number(struct kvmconf_machine *m) { m->label = "1234"; }
static void label_underscore(struct kvmconf_machine *m) { m->label = "1_2"; } /* Python's int(): 12 */
static void name_signed(struct kvmconf_machine *m) { m->name = "-0_7"; }
static void snapshot_off(struct kvmconf_machine *m) { m->snapshot = "off"; }
static void ip_newline(struct kvmconf_machine *m) { m->ip = "192.168.30.11\n[evil]"; }
static void ip_blank(struct kvmconf_machine *m) { m->ip = " 192.168.30.11"; }
static void no_ip(struct kvmconf_machine *m) { m->ip = NULL; }
static void no_interface(struct kvmconf_machine *m) { m->interface = ""; }
static void windows_no_tag(struct kvmconf_machine *m) { m->os_tag = NULL; }
static void no_os_version(struct kvmconf_machine *m) { m->os_version = NULL; }

static void test_refused(void **state) {
        (void)state;
        void (*cape_only[])(struct kvmconf_machine *) = { name_kvm, name_default, name_comma, label_bool,
                                                           label_number, label_underscore, name_signed,
                                                           snapshot_off, windows_no_tag };
        for (size_t i = 0; i < ELEMENTSOF(cape_only); i++)
                refused(KVMCONF_CAPE, cape_only[i]);
        void (*both[])(struct kvmconf_machine *) = { name_twice, ip_newline, ip_blank, no_ip, no_interface };
        for (size_t i = 0; i < ELEMENTSOF(both); i++) {
                refused(KVMCONF_CAPE, both[i]);
                refused(KVMCONF_CUCKOO3, both[i]);
        }
        refused(KVMCONF_CUCKOO3, no_os_version);
        /* Names Python's int() does not take pass: "1__2", "1_", "_1". */
        static const char *const fine[] = { "1__2", "1_", "_1", "cape1" };
        for (size_t i = 0; i < ELEMENTSOF(fine); i++) {
                struct kvmconf_machine fm = win10[0];
                fm.label = fine[i];
                struct kvmconf fc = { .dsn = "qemu:///system", .machines = &fm, .n_machines = 1 };
                _cleanup_free_ char *fo = NULL;
                assert_int_equal(kvmconf_render(&fc, KVMCONF_CAPE, &fo), 0);
        }
        /* Cuckoo3's YAML quotes what would be misread: a label "yes" is fine there. */
        struct kvmconf_machine m = win10[0];
        m.label = "yes";
        struct kvmconf c = { .dsn = "qemu:///system", .machines = &m, .n_machines = 1 };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(kvmconf_render(&c, KVMCONF_CUCKOO3, &out), 0);
        assert_non_null(strstr(out, "label: 'yes'"));
        struct kvmconf none = { .dsn = "qemu:///system" };
        char *o2 = NULL;
        assert_int_equal(kvmconf_render(&none, KVMCONF_CAPE, &o2), -EINVAL);
}

static void test_from_rows(void **state) {
        (void)state;
        struct image img = { .name = "win10img", .osversion = "win10x64", .netmode = "bridge", .adapter = "br0",
                             .port = 8000 };
        struct snapshot s = { .vmname = "cape1", .ipaddr = "192.168.30.11", .port = 8000, .mac = "52:54:00:00:00:01",
                              .tags = "office,dotnet", .libvirt_uri = "qemu:///system", .libvirt_pool = "vmcloak",
                              .libvirt_volume = "cape1.qcow2", .libvirt_snapshot = "vmcloak" };
        struct kvmconf_vm v;
        char reason[512] = "";
        assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), 0);
        assert_string_equal(v.m.platform, "windows");
        assert_string_equal(v.m.os_tag, "win10");
        assert_string_equal(v.m.os_version, "10");
        assert_string_equal(v.m.arch, "amd64");
        assert_string_equal(v.m.interface, "br0");
        assert_string_equal(v.m.snapshot, "vmcloak");
        assert_string_equal(v.m.label, "cape1");
        assert_int_equal(kvmconf_vm_cape_check(&v, reason, sizeof reason), 0);
        assert_string_equal(v.m.tags[0], "dotnet");
        assert_string_equal(v.m.tags[1], "office");
        assert_null(v.m.tags[2]);
        kvmconf_vm_done(&v);

        /* an agent on another port: fine for Cuckoo3 (agent_port), refused for CAPE (fixed 8000) */
        s.port = 8001;
        assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), 0);
        assert_int_equal(v.m.agent_port, 8001);
        assert_int_equal(kvmconf_vm_cape_check(&v, reason, sizeof reason), -EINVAL);
        assert_non_null(strstr(reason, "CUCKOO_GUEST_PORT"));
        assert_null(strchr(reason, '\n'));
        kvmconf_vm_done(&v);
        s.port = 8000;

        /* names CAPE misreads or cannot take as a section: refused per VM (a whole-host export
         * skips them with a warning instead of writing nothing) */
        const char *bad_names[] = { "yes", "1234", "1_2", "kvm", "DEFAULT", "a,b" };
        const char *good = s.vmname;
        for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
                s.vmname = (char *)bad_names[i];
                assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), 0);
                assert_int_equal(kvmconf_vm_cape_check(&v, reason, sizeof reason), -EINVAL);
                assert_non_null(strstr(reason, bad_names[i]));
                assert_null(strchr(reason, '\n'));
                kvmconf_vm_done(&v);
        }
        s.vmname = (char *)good;

        /* Windows 8.1 and 11, linux */
        img.osversion = "win81x64";
        assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), 0);
        assert_string_equal(v.m.os_tag, "win8");
        kvmconf_vm_done(&v);
        img.osversion = "win11x64";
        assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), 0);
        assert_string_equal(v.m.os_tag, "win11");
        kvmconf_vm_done(&v);
        img.osversion = "linux";
        assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), 0);
        assert_null(v.m.os_tag);
        assert_string_equal(v.m.platform, "linux");
        assert_string_equal(v.m.os_version, "linux");
        kvmconf_vm_done(&v);

        /* refused: an unknown OS, user-mode networking, a local Cuckoo3 VM */
        img.osversion = "win95";
        assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), -EINVAL);
        img.osversion = "win10x64";
        img.netmode = "user";
        assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), -EINVAL);
        assert_non_null(strstr(reason, "user-mode networking"));
        assert_null(strchr(reason, '\n'));
        img.netmode = NULL; /* a VMCloak row: bridge */
        assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), 0);
        kvmconf_vm_done(&v);
        s.libvirt_uri = NULL;
        assert_int_equal(kvmconf_vm_from_rows(&s, &img, &v, reason, sizeof reason), -EINVAL);
        assert_non_null(strstr(reason, "snapshot --connect"));
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(goldens) + 2];
        for (size_t i = 0; i < ELEMENTSOF(goldens); i++)
                tests[i] = (struct CMUnitTest){ .name = goldens[i].name, .test_func = test_golden,
                                                .initial_state = (void *)&goldens[i] };
        tests[ELEMENTSOF(goldens)] = (struct CMUnitTest)cmocka_unit_test(test_refused);
        tests[ELEMENTSOF(goldens) + 1] = (struct CMUnitTest)cmocka_unit_test(test_from_rows);
        return _cmocka_run_group_tests("pipeline_kvmconf", tests, ELEMENTSOF(tests), NULL, NULL);
}
