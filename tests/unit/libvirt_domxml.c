/* Golden libvirt domain XML: every rendered argv case (tests/argv/<case>.conf -> tests/domxml/
 * <case>.xml) and every shipped hardware profile (tests/domxml/hardware/<profile>.xml), plus the
 * refusals. VMCLOAK_DOMXML_REGEN=1 (or --regenerate) rewrites the goldens: review the diff before
 * committing. tests/e2e/libvirt_xml.sh defines and starts some of them on a private libvirtd. */
#include "test.h"

#include <dirent.h>
#include <errno.h>

#include "cloak/hardware.h"
#include "core/log.h"
#include "core/util.h"
#include "hw_fixture.h"
#include "libvirt/domxml.h"
#include "machine/smbios.h"
#include "qemu/config.h"

static bool regenerate;
static struct hw_catalog catalog;

static char *source_path(const char *rel) {
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        return strdup_printf("%s/%s", root ? root : ".", rel);
}

/* The host facts of a case: what the QEMU run of the .conf says about the host, in libvirt's
 * terms (the accelerator is the domain type, the UEFI code the loader, the forwarded ports the
 * agent forwards, --qemu-arg the passthrough), the SMBIOS files beside the disk as the QEMU driver
 * writes them, and file owners left alone. */
struct host {
        struct libvirt_xml_host h;
        char *t0, *t3;
};

static void host_from_run(const struct vm_def *d, const struct qemu_run *run, struct host *ret) {
        *ret = (struct host){ 0 };
        ret->h.domain_type = run->accel == VM_ACCEL_KVM ? "kvm" : "qemu";
        ret->h.emulator = run->binary;
        ret->h.ovmf_code = run->uefi_code;
        ret->h.tpm_socket = run->tpm_socket;
        ret->h.agent_forward[0] = (uint16_t)run->fwd_port;
        ret->h.agent_forward[1] = (uint16_t)run->fwd_port2;
        ret->h.passthrough = run->extra_args;
        ret->h.seclabel_none = true;
        if (vm_smbios_in_file(&d->id.smbios, 0))
                ret->h.smbios_type0_path = ret->t0 = vm_smbios_file(d->disk.path, 0);
        if (vm_smbios_in_file(&d->id.smbios, 3))
                ret->h.smbios_type3_path = ret->t3 = vm_smbios_file(d->disk.path, 3);
}

static void host_done(struct host *h) {
        free(h->t0);
        free(h->t3);
}

/* Compare got with the golden file rel (rewritten first when regenerating); names the first
 * differing line. */
static void compare(const char *name, const char *rel, const char *got) {
        _cleanup_free_ char *path = source_path(rel);
        if (regenerate)
                assert_int_equal(write_file(path, got, strlen(got), 0644), 0);
        _cleanup_free_ char *want = NULL;
        if (read_full_file(path, &want, NULL) < 0)
                fail_msg("%s: missing %s (run with VMCLOAK_DOMXML_REGEN=1)", name, path);
        if (streq(want, got))
                return;
        const char *w = want, *g = got;
        unsigned line = 1;
        while (*w && *w == *g) {
                if (*w == '\n')
                        line++;
                w++;
                g++;
        }
        const char *we = strchr(w, '\n'), *ge = strchr(g, '\n');
        fail_msg("%s: line %u differs: expected '%.*s', got '%.*s'", name, line, we ? (int)(we - w) : (int)strlen(w),
                 w, ge ? (int)(ge - g) : (int)strlen(g), g);
}

/* One argv case: state is the case name. */
static void test_case(void **state) {
        const char *name = *state;
        _cleanup_free_ char *conf_rel = strdup_printf("tests/argv/%s.conf", name);
        _cleanup_free_ char *conf = source_path(conf_rel);
        struct vm_def d;
        struct qemu_run run = { 0 };
        vm_def_init(&d);
        assert_int_equal(qemu_conf_load(conf, &d, &run, NULL), 0);
        if (!d.name)
                d.name = strdup(name);
        char reason[256] = "";
        if (vm_def_check(&d, reason, sizeof reason) < 0)
                fail_msg("%s: %s", name, reason);
        struct host h;
        host_from_run(&d, &run, &h);
        _cleanup_free_ char *xml = NULL;
        assert_int_equal(libvirt_domain_xml(&d, &h.h, &xml), 0);
        assert_true(endswith(xml, ">\n"));
        _cleanup_free_ char *rel = strdup_printf("tests/domxml/%s.xml", name);
        compare(name, rel, xml);
        host_done(&h);
        vm_def_done(&d);
        qemu_run_done(&run);
}

/* One shipped hardware profile: state is the profile. */
static void test_profile(void **state) {
        const struct hw_profile *p = *state;
        struct vm_def d;
        assert_int_equal(hw_fixed_def(p, &d), 0);
        struct qemu_run run = { .version = { 7, 2, 0 }, .accel = VM_ACCEL_KVM };
        struct host h;
        host_from_run(&d, &run, &h);
        _cleanup_free_ char *xml = NULL;
        assert_int_equal(libvirt_domain_xml(&d, &h.h, &xml), 0);
        _cleanup_free_ char *rel = strdup_printf("tests/domxml/hardware/%s.xml", p->name);
        compare(p->name, rel, xml);
        host_done(&h);
        vm_def_done(&d);
}

static void base_def(struct vm_def *d) {
        vm_def_init(d);
        d->name = strdup("t");
        d->disk.path = strdup("/tmp/d.qcow2");
}

static int render_refused(struct vm_def *d, const struct libvirt_xml_host *h) {
        char *xml = NULL;
        int r = libvirt_domain_xml(d, h, &xml);
        assert_null(xml);
        return r;
}

/* What libvirt cannot be given: each a one-line refusal and no document. */
static void test_refused(void **state) {
        (void)state;
        struct vm_def d;
        struct libvirt_xml_host h = { .domain_type = "qemu" };

        base_def(&d);
        struct libvirt_xml_host none = { 0 };
        assert_int_equal(render_refused(&d, &none), -EINVAL);
        free(d.name);
        d.name = NULL;
        assert_int_equal(render_refused(&d, &h), -EINVAL);
        vm_def_done(&d);

        base_def(&d);
        d.id.smbios.system.uuid = strdup("4c4c4544-0042-3510-8052-b7c04f4e3132");
        struct libvirt_xml_host other = { .domain_type = "qemu", .uuid = "00000000-0000-0000-0000-000000000001" };
        assert_int_equal(render_refused(&d, &other), -EINVAL);
        vm_def_done(&d);

        base_def(&d);
        struct libvirt_xml_host fwd = { .domain_type = "qemu", .agent_forward = { 18000, 0 } };
        assert_int_equal(render_refused(&d, &fwd), -EINVAL);
        d.net.type = VM_NET_USER;
        assert_int_equal(render_refused(&d, &fwd), -EINVAL);
        vm_def_done(&d);

        base_def(&d);
        struct libvirt_xml_host tpm = { .domain_type = "qemu", .tpm_socket = "/tmp/tpm.sock" };
        assert_int_equal(render_refused(&d, &tpm), -EINVAL);
        vm_def_done(&d);

        base_def(&d);
        struct libvirt_xml_host code = { .domain_type = "qemu", .ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd" };
        assert_int_equal(render_refused(&d, &code), -EINVAL);
        vm_def_done(&d);

        /* 28 shares and the fixed devices do not fit on the 31 slots of pcie.0. */
        base_def(&d);
        for (int i = 0; i < 28; i++) {
                char tag[16];
                snprintf(tag, sizeof tag, "s%d", i);
                assert_int_equal(vm_def_add_share(&d, tag, "/tmp", true), 0);
        }
        assert_int_equal(render_refused(&d, &h), -EINVAL);
        vm_def_done(&d);
}

/* Values are escaped by the writer (libvirt reads them back literally), and the domain UUID falls
 * back to the SMBIOS one. */
static void test_escaping_and_uuid(void **state) {
        (void)state;
        struct vm_def d;
        base_def(&d);
        free(d.name);
        d.name = strdup("a&b");
        d.id.smbios.system.serial = strdup("<S'N\">");
        d.id.smbios.system.uuid = strdup("4c4c4544-0042-3510-8052-b7c04f4e3132");
        d.id.smbios.processor.manufacturer = strdup("A, B");
        struct libvirt_xml_host h = { .domain_type = "qemu", .title = "t<1>", .description = "made by vmcloak" };
        _cleanup_free_ char *xml = NULL;
        assert_int_equal(libvirt_domain_xml(&d, &h, &xml), 0);
        assert_non_null(strstr(xml, "<name>a&amp;b</name>"));
        assert_non_null(strstr(xml, "<title>t&lt;1&gt;</title>"));
        assert_non_null(strstr(xml, "<description>made by vmcloak</description>"));
        assert_non_null(strstr(xml, "<entry name=\"serial\">&lt;S'N&quot;&gt;</entry>"));
        assert_non_null(strstr(xml, "<uuid>4c4c4544-0042-3510-8052-b7c04f4e3132</uuid>"));
        /* QEMU's own escape inside a -smbios value. */
        assert_non_null(strstr(xml, "type=4,manufacturer=A,, B"));
        vm_def_done(&d);
}

/* UEFI without a code file: libvirt's firmware autoselection (libvirt 9.0 refuses <loader
 * readonly/type/secure='no'> there), Secure Boot as firmware features plus SMM; a TPM without
 * the driver's swtpm is libvirt's emulator. */
static void test_uefi_autoselect_tpm_emulator(void **state) {
        (void)state;
        struct vm_def d;
        base_def(&d);
        d.firmware = VM_FIRMWARE_UEFI;
        d.secure_boot = true;
        d.nvram = strdup("/tmp/d.qcow2.nvram");
        struct libvirt_xml_host h = { .domain_type = "qemu", .ovmf_vars_template = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd" };
        _cleanup_free_ char *xml = NULL;
        assert_int_equal(libvirt_domain_xml(&d, &h, &xml), 0);
        assert_non_null(strstr(xml, "<os firmware=\"efi\">"));
        assert_non_null(strstr(xml, "<feature enabled=\"yes\" name=\"secure-boot\"/>"));
        assert_non_null(strstr(xml, "<nvram template=\"/usr/share/OVMF/OVMF_VARS_4M.ms.fd\">/tmp/d.qcow2.nvram</nvram>"));
        assert_non_null(strstr(xml, "<smm state=\"on\"/>"));
        assert_null(strstr(xml, "<loader"));
        free(xml);
        xml = NULL;
        d.secure_boot = false;
        assert_int_equal(libvirt_domain_xml(&d, &h, &xml), 0);
        assert_non_null(strstr(xml, "<feature enabled=\"no\" name=\"secure-boot\"/>"));
        assert_null(strstr(xml, "<smm"));
        free(xml);
        xml = NULL;
        /* A TPM without the driver's swtpm: libvirt runs its own. */
        d.tpm = true;
        assert_int_equal(libvirt_domain_xml(&d, &h, &xml), 0);
        assert_non_null(strstr(xml, "<backend type=\"emulator\" version=\"2.0\"/>"));
        vm_def_done(&d);
}

/* The libvirt driver on a libvirt >= 10.10.0 host (VM_LIBVIRT_UEFI_SNAPSHOT_*): win11_uefi_tpm
 * with libvirt's own per-domain variable store (no path: libvirt picks it) converted from the
 * raw template into qcow2, the NVRAM format libvirt >= 10.10 takes internal snapshots of.
 * Golden tests/domxml/libvirt-10.10/win11_uefi_tpm.xml; not run through virt-xml-validate
 * (tests/e2e/libvirt_validate.sh), whose schema here is libvirt 9.0's, without the attributes. */
static void test_nvram_qcow2(void **state) {
        (void)state;
        _cleanup_free_ char *conf = source_path("tests/argv/win11_uefi_tpm.conf");
        struct vm_def d;
        struct qemu_run run = { 0 };
        vm_def_init(&d);
        assert_int_equal(qemu_conf_load(conf, &d, &run, NULL), 0);
        if (!d.name)
                d.name = strdup("win11_uefi_tpm");
        char reason[256] = "";
        if (vm_def_check(&d, reason, sizeof reason) < 0)
                fail_msg("win11_uefi_tpm: %s", reason);
        free(d.nvram);
        d.nvram = NULL;
        struct host h;
        host_from_run(&d, &run, &h);
        h.h.ovmf_vars_template = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";
        h.h.nvram_qcow2 = true;
        _cleanup_free_ char *xml = NULL;
        assert_int_equal(libvirt_domain_xml(&d, &h.h, &xml), 0);
        assert_non_null(strstr(xml, "<nvram template=\"/usr/share/OVMF/OVMF_VARS_4M.ms.fd\" templateFormat=\"raw\" "
                                    "format=\"qcow2\"/>"));
        compare("win11_uefi_tpm (libvirt 10.10)", "tests/domxml/libvirt-10.10/win11_uefi_tpm.xml", xml);
        /* Without the flag (libvirt 9.x) the same host renders no format attributes. */
        free(xml);
        xml = NULL;
        h.h.nvram_qcow2 = false;
        assert_int_equal(libvirt_domain_xml(&d, &h.h, &xml), 0);
        assert_null(strstr(xml, "format="));
        host_done(&h);
        vm_def_done(&d);
        qemu_run_done(&run);
}

/* Every golden file belongs to a case or a shipped profile (a renamed one leaves none behind). */
static void test_no_stale_golden(void **state) {
        (void)state;
        _cleanup_free_ char *dir = source_path("tests/domxml");
        DIR *dd = opendir(dir);
        assert_non_null(dd);
        struct dirent *de;
        while ((de = readdir(dd))) {
                if (!endswith(de->d_name, ".xml"))
                        continue;
                _cleanup_free_ char *name = strndup(de->d_name, strlen(de->d_name) - strlen(".xml"));
                _cleanup_free_ char *rel = strdup_printf("tests/argv/%s.conf", name);
                _cleanup_free_ char *conf = source_path(rel);
                if (!path_exists(conf))
                        fail_msg("tests/domxml/%s has no tests/argv/%s.conf", de->d_name, name);
        }
        closedir(dd);
        _cleanup_free_ char *hdir = source_path("tests/domxml/hardware");
        dd = opendir(hdir);
        assert_non_null(dd);
        size_t n = 0;
        while ((de = readdir(dd))) {
                if (!endswith(de->d_name, ".xml"))
                        continue;
                _cleanup_free_ char *name = strndup(de->d_name, strlen(de->d_name) - strlen(".xml"));
                if (!hw_catalog_find(&catalog, name))
                        fail_msg("tests/domxml/hardware/%s is no shipped profile's", de->d_name);
                n++;
        }
        closedir(dd);
        assert_int_equal(n, catalog.n_profiles);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The argv cases that render (a .conf with an .args beside it), sorted. */
static char **argv_cases(void) {
        _cleanup_free_ char *dir = source_path("tests/argv");
        DIR *d = opendir(dir);
        if (!d)
                return NULL;
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!endswith(de->d_name, ".args"))
                        continue;
                strv_push(&names, strndup(de->d_name, strlen(de->d_name) - strlen(".args")));
        }
        closedir(d);
        qsort(names, strv_length(names), sizeof *names, cmp_str);
        return names;
}

int main(int argc, char **argv) {
        log_set_color(LOG_COLOR_NEVER);
        regenerate = (argc > 1 && streq(argv[1], "--regenerate")) || getenv("VMCLOAK_DOMXML_REGEN");
        if (hw_fixture_catalog(&catalog) < 0)
                return 1;
        _cleanup_strv_free_ char **cases = argv_cases();
        size_t nc = strv_length(cases), np = catalog.n_profiles;
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_escaping_and_uuid),
                cmocka_unit_test(test_uefi_autoselect_tpm_emulator),
                cmocka_unit_test(test_no_stale_golden),
                cmocka_unit_test(test_nvram_qcow2),
        };
        size_t total = nc + np + ELEMENTSOF(fixed);
        struct CMUnitTest *tests = calloc(total, sizeof *tests);
        for (size_t i = 0; i < nc; i++)
                tests[i] = (struct CMUnitTest){ .name = cases[i], .test_func = test_case, .initial_state = cases[i] };
        for (size_t i = 0; i < np; i++)
                tests[nc + i] = (struct CMUnitTest){ .name = catalog.profiles[i].name, .test_func = test_profile,
                                                     .initial_state = &catalog.profiles[i] };
        memcpy(tests + nc + np, fixed, sizeof fixed);
        int r = _cmocka_run_group_tests("libvirt_domxml", tests, total, NULL, NULL);
        free(tests);
        hw_catalog_done(&catalog);
        return r;
}
