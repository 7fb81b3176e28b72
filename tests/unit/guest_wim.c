/* Unit tests: WIM XML parsing (UTF-16LE as WIMs carry it), the --product rules on hand-made
 * image lists (architectures, ambiguity), the editions/key table, and VMCloak's product.ini
 * fallback on a folder source. Real media are covered by tests/e2e/winmedia.sh. */
#include "test.h"

#include <errno.h>

#include "core/log.h"
#include "core/util.h"
#include "guest/wim.h"
#include "guest/winedition.h"
#include "guest/winsrc.h"

/* ASCII XML as a WIM stores it: UTF-16LE, with a BOM when bom is set. */
static char *utf16le(const char *s, bool bom, size_t *len) {
        size_t n = strlen(s), off = bom ? 2 : 0;
        char *b = malloc(off + 2 * n);
        assert_non_null(b);
        if (bom) {
                b[0] = (char)0xFF;
                b[1] = (char)0xFE;
        }
        for (size_t i = 0; i < n; i++) {
                b[off + 2 * i] = s[i];
                b[off + 2 * i + 1] = 0;
        }
        *len = off + 2 * n;
        return b;
}

static const char *xml_images =
        "<WIM><TOTALBYTES>1</TOTALBYTES>"
        "<IMAGE INDEX=\"2\"><NAME>Windows 10 Pro</NAME><FLAGS>Professional</FLAGS>"
        "<WINDOWS><ARCH>9</ARCH><EDITIONID>Professional</EDITIONID><INSTALLATIONTYPE>Client</INSTALLATIONTYPE>"
        "<LANGUAGES><LANGUAGE>en-US</LANGUAGE><DEFAULT>en-US</DEFAULT></LANGUAGES>"
        "<VERSION><MAJOR>10</MAJOR><MINOR>0</MINOR><BUILD>19045</BUILD><SPBUILD>2006</SPBUILD></VERSION></WINDOWS>"
        "<DISPLAYNAME>Windows 10 Pro</DISPLAYNAME></IMAGE>"
        "<IMAGE INDEX=\"1\"><NAME>Windows 10 Pro</NAME><WINDOWS><ARCH>0</ARCH><EDITIONID>Professional</EDITIONID>"
        "</WINDOWS></IMAGE>"
        "<IMAGE INDEX=\"3\"><NAME> Windows 10 Enterprise Evaluation </NAME><WINDOWS><ARCH>12</ARCH>"
        "<EDITIONID>EnterpriseEval</EDITIONID></WINDOWS></IMAGE>"
        "</WIM>";

static void test_xml(void **state) {
        (void)state;
        for (int bom = 0; bom < 2; bom++) {
                size_t len;
                _cleanup_free_ char *x = utf16le(xml_images, bom, &len);
                struct wim_image_list l = {};
                assert_int_equal(wim_xml_parse(x, len, "test", &l), 0);
                assert_int_equal(l.n, 3);
                /* sorted by INDEX */
                assert_int_equal(l.images[0].index, 1);
                assert_string_equal(l.images[0].arch, "x86");
                assert_null(l.images[0].language);
                assert_null(l.images[0].version);
                assert_int_equal(l.images[0].build, 0);
                const struct wim_image *p = &l.images[1];
                assert_int_equal(p->index, 2);
                assert_string_equal(p->name, "Windows 10 Pro");
                assert_string_equal(p->display_name, "Windows 10 Pro");
                assert_string_equal(p->edition_id, "Professional");
                assert_string_equal(p->arch, "amd64");
                assert_string_equal(p->version, "10.0.19045.2006");
                assert_int_equal(p->build, 19045);
                assert_string_equal(p->language, "en-US");
                assert_string_equal(p->installation_type, "Client");
                assert_string_equal(p->flags, "Professional");
                assert_false(p->evaluation);
                const struct wim_image *e = &l.images[2];
                assert_string_equal(e->name, "Windows 10 Enterprise Evaluation");   /* trimmed */
                assert_string_equal(e->arch, "arm64");
                assert_true(e->evaluation);
                wim_image_list_done(&l);
        }
}

static void test_xml_errors(void **state) {
        (void)state;
        static const char *const bad[] = {
                "<WIM><IMAGE><NAME>x</NAME></IMAGE></WIM>",            /* no INDEX */
                "<WIM><IMAGE INDEX=\"0\"><NAME>x</NAME></IMAGE></WIM>", /* index 0 */
                "<WIM><IMAGE INDEX=\"1x\"></IMAGE></WIM>",
                "<NOTWIM/>",
                "<WIM><IMAGE INDEX=\"1\">",                             /* not well-formed */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                size_t len;
                _cleanup_free_ char *x = utf16le(bad[i], true, &len);
                struct wim_image_list l = {};
                assert_int_equal(wim_xml_parse(x, len, "test", &l), -EBADMSG);
                wim_image_list_done(&l);
        }
}

static void test_pick_arch_and_ambiguity(void **state) {
        (void)state;
        size_t len;
        _cleanup_free_ char *x = utf16le(xml_images, true, &len);
        struct wim_image_list l = {};
        assert_int_equal(wim_xml_parse(x, len, "test", &l), 0);
        /* Two "Windows 10 Pro" images: the OS's architecture decides. */
        const struct wim_image *m = wim_image_pick(&l, "win10x64", "pro");
        assert_non_null(m);
        assert_int_equal(m->index, 2);
        m = wim_image_pick(&l, "win10x64", "windows 10 pro");
        assert_non_null(m);
        assert_int_equal(m->index, 2);
        /* Without a profile there is no architecture to decide by. */
        assert_null(wim_image_pick(&l, NULL, "Windows 10 Pro"));
        assert_null(wim_image_pick(&l, NULL, "Professional"));
        /* An index of another architecture is refused for the profile, fine without one. */
        assert_null(wim_image_pick(&l, "win10x64", "1"));
        m = wim_image_pick(&l, NULL, "1");
        assert_non_null(m);
        assert_int_equal(m->index, 1);
        /* No --product: VMCloak's preference (pro first), of the OS's architecture. */
        m = wim_image_pick(&l, "win10x64", NULL);
        assert_non_null(m);
        assert_int_equal(m->index, 2);
        /* EDITIONID, any case. */
        m = wim_image_pick(&l, NULL, "enterpriseeval");
        assert_non_null(m);
        assert_int_equal(m->index, 3);
        assert_null(wim_image_pick(&l, "win10x64", "enterprise"));
        assert_null(wim_image_pick(&l, "nosuchos", "pro"));
        /* Windows 10 build 19045 is no Windows 11 nor 7: refused for those profiles. */
        assert_null(wim_image_pick(&l, "win11x64", "pro"));
        assert_null(wim_image_pick(&l, "win7x64", "pro"));
        assert_true(win_os_version_fits("win11x64", "10.0.22631.2861", 22631));
        assert_false(win_os_version_fits("win10x64", "10.0.22631.2861", 22631));
        assert_true(win_os_version_fits("win10x64", "10.0.19045", 19045));
        assert_false(win_os_version_fits("win81x64", "6.1.7601", 7601));
        assert_true(win_os_version_fits("win7x64", "6.1.7601.17514", 7601));
        assert_false(win_os_version_fits("win7x64", "6.10.1", 1));
        assert_true(win_os_version_fits("win7x64", NULL, 0));
        _cleanup_free_ char *text = wim_image_list_format(&l);
        assert_non_null(strstr(text, "   2  \"Windows 10 Pro\"  (edition Professional, amd64, build 19045, en-US)"));
        assert_non_null(strstr(text, "   1  \"Windows 10 Pro\"  (edition Professional, x86, build ?, ?)"));
        wim_image_list_done(&l);
}

static void test_editions_table(void **state) {
        (void)state;
        const char *prefix, *arch;
        const char *const *pref;
        assert_int_equal(win_os_info("win7x64", &prefix, &arch, &pref), 0);
        assert_string_equal(prefix, "Windows 7");
        assert_string_equal(arch, "amd64");
        assert_string_equal(pref[0], "professional");
        assert_string_equal(pref[3], "homebasic");
        assert_null(pref[4]);
        assert_int_equal(win_os_info("win11x64", &prefix, NULL, NULL), 0);
        assert_string_equal(prefix, "Windows 11");
        assert_int_equal(win_os_info("win95", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(win_os_info("_about", NULL, NULL, NULL), -EINVAL);
        assert_string_equal(win_edition_from_short("win81x64", "home"), "Core");
        assert_string_equal(win_edition_from_short("win10x64", "PRO"), "Professional");
        assert_string_equal(win_edition_from_short("win7x64", "homepremium"), "HomePremium");
        assert_string_equal(win_edition_from_short("win10x64", "professional"), "Professional");
        assert_null(win_edition_from_short("win10x64", "ultimate"));
        assert_null(win_edition_from_short("win7x64", "home"));
}

static void test_keys(void **state) {
        (void)state;
        assert_true(win_key_syntax_ok("W269N-WFGWX-YVC9B-4J6C9-T83GX"));
        assert_true(win_key_syntax_ok("w269n-wfgwx-yvc9b-4j6c9-t83gx"));
        assert_false(win_key_syntax_ok("W269N-WFGWX-YVC9B-4J6C9-T83G"));
        assert_false(win_key_syntax_ok("W269N-WFGWX-YVC9B-4J6C9-T83GXX"));
        assert_false(win_key_syntax_ok("W269NWWFGWX-YVC9B-4J6C9-T83GX"));
        assert_false(win_key_syntax_ok("W269N-WFGWX-YVC9B-4J6C9-T83G_"));
        assert_false(win_key_syntax_ok(""));
        assert_false(win_key_syntax_ok(NULL));
        assert_int_equal(win_key_check("win10x64", "Professional", "W269N-WFGWX-YVC9B-4J6C9-T83GX"), WIN_KEY_MATCHES);
        assert_int_equal(win_key_check("win10x64", "Professional", "VK7JG-NPHTM-C97JM-9MPGT-3V66T"), WIN_KEY_MATCHES);
        assert_int_equal(win_key_check("win11x64", "Professional", "W269N-WFGWX-YVC9B-4J6C9-T83GX"), WIN_KEY_MATCHES);
        assert_int_equal(win_key_check("win10x64", "Core", "W269N-WFGWX-YVC9B-4J6C9-T83GX"), -EINVAL);
        assert_int_equal(win_key_check("win7x64", "Professional", "W269N-WFGWX-YVC9B-4J6C9-T83GX"), -EINVAL);
        assert_int_equal(win_key_check("win7x64", "Ultimate", "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH"), -EINVAL);
        assert_int_equal(win_key_check("win7x64", "Enterprise", "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH"), WIN_KEY_MATCHES);
        assert_int_equal(win_key_check("win7x64", "Ultimate", "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"), WIN_KEY_UNCHECKED);
        assert_int_equal(win_key_check("win10x64", "EnterpriseEval", "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"), -EINVAL);
        assert_int_equal(win_key_check("win10x64", "Professional", "W269N WFGWX YVC9B 4J6C9 T83GX"), -EINVAL);
        assert_string_equal(win_key_default("win81x64", "professional"), "GCRJD-8NW9H-F2CDX-CCM8D-9D6T9");
        assert_string_equal(win_key_default("win7x64", "Professional"), "FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4");
        assert_null(win_key_default("win10x64", "EnterpriseEval"));
        assert_null(win_key_default("win10x64", "ServerStandard"));
        assert_null(win_key_default("win10x64", NULL));
        assert_null(win_key_default("win95", "Professional"));
        assert_true(win_edition_is_evaluation(NULL, "Windows 10 Enterprise Evaluation"));
        assert_false(win_edition_is_evaluation("Enterprise", "Windows 10 Enterprise"));
        /* Every default key is the edition's own: the table cannot contradict itself. */
        static const char *const oses[] = { "win7x64", "win81x64", "win10x64", "win11x64" };
        static const char *const eds[] = { "Professional", "Enterprise", "Education", "Core", "Ultimate" };
        for (size_t o = 0; o < ELEMENTSOF(oses); o++)
                for (size_t e = 0; e < ELEMENTSOF(eds); e++) {
                        const char *k = win_key_default(oses[o], eds[e]);
                        if (k)
                                assert_int_equal(win_key_check(oses[o], eds[e], k), WIN_KEY_MATCHES);
                }
}

static void test_product_ini(void **state) {
        (void)state;
        _cleanup_rm_rf_ char *dir = test_tmpdir();
        assert_non_null(dir);
        _cleanup_free_ char *sources = path_join(dir, "Sources");
        _cleanup_free_ char *ini = path_join(sources, "PRODUCT.INI");
        assert_int_equal(mkdir_p(sources, 0755), 0);
        const char *text = "[Other]\r\nstaged=ultimate\r\n[BuildInfo]\r\n Staged = HomeBasic, Professional \r\n[X]\r\n";
        assert_int_equal(write_file(ini, text, strlen(text), 0644), 0);
        _cleanup_win_source_ struct win_source *s = NULL;
        assert_int_equal(win_source_open(dir, &s), 0);
        assert_int_equal(win_source_get_kind(s), WIN_SOURCE_DIR);
        _cleanup_free_ char *name = NULL;
        /* professional comes first in win7x64's preference */
        assert_int_equal(win_product_ini_pick(s, "win7x64", NULL, &name), 0);
        assert_string_equal(name, "Windows 7 PROFESSIONAL");
        free(name);
        name = NULL;
        assert_int_equal(win_product_ini_pick(s, "win7x64", "HomeBasic", &name), 0);
        assert_string_equal(name, "Windows 7 HOMEBASIC");
        free(name);
        name = NULL;
        /* none preferred is staged: the first staged one */
        assert_int_equal(win_product_ini_pick(s, "win10x64", NULL, &name), 0);
        assert_string_equal(name, "Windows 10 HOMEBASIC");
        assert_int_equal(win_product_ini_pick(s, "win10x64", "ultimate", &name), -EINVAL);
        /* no WIM on it */
        struct wim_image_list l;
        assert_int_equal(wim_images_read(s, &l), -ENOENT);
}

int main(void) {
        log_set_level(LOG_LEVEL_ERROR);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_xml),
                cmocka_unit_test(test_xml_errors),
                cmocka_unit_test(test_pick_arch_and_ambiguity),
                cmocka_unit_test(test_editions_table),
                cmocka_unit_test(test_keys),
                cmocka_unit_test(test_product_ini),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
