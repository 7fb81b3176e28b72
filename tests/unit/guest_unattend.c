/* Unit tests: answer files. Golden files per OS and firmware (tests/unattend/<case>.xml,
 * VMCLOAK_UNATTEND_REGEN=1 rewrites them), then the output parsed back with libxml2 and
 * checked with XPath; escaping and non-ASCII round trips; the structure checker on broken
 * files; the name rules. */
#include "test.h"

#include <errno.h>
#include <iconv.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "core/util.h"
#include "guest/unattend.h"

#define CMD "cmd /d /c for %i in (D E F G H I J K L M N O P Q R S T U V W X Y Z) do @if exist " \
            "%i:\\vmcloak\\bootstrap.cmd call %i:\\vmcloak\\bootstrap.cmd"

/* The fixed parameters of the golden cases. */
static struct unattend_params base(const char *os) {
        return (struct unattend_params){
                .os = os, .arch = "amd64", .image_name = "Windows 10 Pro", .product_key = "W269N-WFGWX-YVC9B-4J6C9-T83GX",
                .user = "Administrator", .password = "cuckoo", .oobe_account = "sandbox", .computer_name = "DESKTOP-7K2Q9XA",
                .ui_language = "en-US", .input_locale = "de-DE", .timezone = "W. Europe Standard Time",
                .width = 1024, .height = 768,
        };
}

struct golden_case {
        const char *name;
        struct unattend_params p;
};

static struct golden_case *golden_cases(size_t *n) {
        static struct golden_case c[6];
        c[0] = (struct golden_case){ "win7x64-bios", base("win7x64") };
        c[0].p.image_name = "Windows 7 ULTIMATE";
        c[0].p.product_key = NULL;
        c[0].p.computer_name = "JOHN-PC";
        c[1] = (struct golden_case){ "win81x64-bios", base("win81x64") };
        c[1].p.image_name = NULL;
        c[1].p.image_index = 2;
        c[1].p.product_key = "GCRJD-8NW9H-F2CDX-CCM8D-9D6T9";
        c[1].p.computer_name = "MARIA-PC";
        c[2] = (struct golden_case){ "win10x64-bios", base("win10x64") };
        c[3] = (struct golden_case){ "win10x64-uefi", base("win10x64") };
        c[3].p.uefi = true;
        c[3].p.user = "analyst";
        c[3].p.input_locale = "0409:00000409";
        c[3].p.timezone = "GMT Standard Time";
        c[4] = (struct golden_case){ "win11x64-uefi-tpm", base("win11x64") };
        c[4].p.uefi = true;
        c[4].p.image_name = "Windows 11 Pro";
        c[5] = (struct golden_case){ "win11x64-bypass", base("win11x64") };
        c[5].p.uefi = true;
        c[5].p.bypass_checks = true;
        c[5].p.image_name = NULL;
        c[5].p.image_index = 6;
        c[5].p.product_key = NULL;
        *n = ELEMENTSOF(c);
        return c;
}

static char *render_ok(const struct unattend_params *p) {
        char *xml = NULL;
        assert_int_equal(unattend_render(p, &xml), 0);
        assert_non_null(xml);
        return xml;
}

static void test_golden(void **state) {
        (void)state;
        size_t n;
        struct golden_case *c = golden_cases(&n);
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        assert_non_null(root);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *xml = render_ok(&c[i].p);
                _cleanup_free_ char *path = strdup_printf("%s/tests/unattend/%s.xml", root, c[i].name);
                if (getenv("VMCLOAK_UNATTEND_REGEN"))
                        assert_int_equal(write_file(path, xml, strlen(xml), 0644), 0);
                _cleanup_free_ char *want = NULL;
                size_t len = 0;
                assert_int_equal(read_full_file(path, &want, &len), 0);
                if (strlen(xml) != len || memcmp(xml, want, len) != 0) {
                        fprintf(stderr, "# %s differs from %s:\n%s\n", c[i].name, path, xml);
                        fail_msg("golden mismatch: %s", c[i].name);
                }
                assert_int_equal(unattend_check(xml, NULL), 0);
        }
}

/* --- XPath --- */

struct xp {
        xmlDocPtr doc;
        xmlXPathContextPtr ctx;
};

static struct xp xp_open(const char *xml) {
        struct xp x = { .doc = xmlReadMemory(xml, (int)strlen(xml), "a.xml", NULL, XML_PARSE_NONET) };
        assert_non_null(x.doc);
        x.ctx = xmlXPathNewContext(x.doc);
        xmlXPathRegisterNs(x.ctx, BAD_CAST "u", BAD_CAST "urn:schemas-microsoft-com:unattend");
        xmlXPathRegisterNs(x.ctx, BAD_CAST "wcm", BAD_CAST "http://schemas.microsoft.com/WMIConfig/2002/State");
        return x;
}

static void xp_close(struct xp *x) {
        xmlXPathFreeContext(x->ctx);
        xmlFreeDoc(x->doc);
}

/* The string value of an XPath expression (new string). */
static char *xs(struct xp *x, const char *fmt, ...) {
        char expr[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(expr, sizeof expr, fmt, ap);
        va_end(ap);
        _cleanup_free_ char *wrapped = strdup_printf("string(%s)", expr);
        xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST wrapped, x->ctx);
        assert_non_null(o);
        char *s = strdup((const char *)o->stringval);
        xmlXPathFreeObject(o);
        return s;
}

static double xn(struct xp *x, const char *expr) {
        xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x->ctx);
        assert_non_null(o);
        double v = xmlXPathCastToNumber(o);
        xmlXPathFreeObject(o);
        return v;
}

#define assert_xs(x, want, ...)                                   \
        do {                                                      \
                _cleanup_free_ char *got_ = xs((x), __VA_ARGS__); \
                assert_string_equal(got_, (want));                \
        } while (0)

#define SHELL "/u:unattend/u:settings[@pass='oobeSystem']/u:component[@name='Microsoft-Windows-Shell-Setup']"
#define SETUP "/u:unattend/u:settings[@pass='windowsPE']/u:component[@name='Microsoft-Windows-Setup']"

/* base64 of UTF-16LE(s): what Windows stores for PlainText=false. */
static char *decode_password(const char *b64) {
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t len = strlen(b64), o = 0;
        _cleanup_free_ unsigned char *raw = malloc(len);
        unsigned bits = 0, acc = 0;
        for (size_t i = 0; i < len && b64[i] != '='; i++) {
                const char *p = strchr(tab, b64[i]);
                assert_non_null(p);
                acc = acc << 6 | (unsigned)(p - tab);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        raw[o++] = (unsigned char)(acc >> bits);
                }
        }
        char *out = calloc(1, o * 2 + 1), *op = out, *ip = (char *)raw;
        size_t il = o, ol = o * 2;
        iconv_t cd = iconv_open("UTF-8", "UTF-16LE");
        assert_true(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
        iconv_close(cd);
        return out;
}

static void test_xpath_every_case(void **state) {
        (void)state;
        size_t n;
        struct golden_case *c = golden_cases(&n);
        for (size_t i = 0; i < n; i++) {
                const struct unattend_params *p = &c[i].p;
                _cleanup_free_ char *xml = render_ok(p);
                struct xp x = xp_open(xml);
                /* Passes and components. */
                assert_true(xn(&x, "count(/u:unattend/u:settings[@pass='windowsPE'])") == 1);
                assert_true(xn(&x, "count(/u:unattend/u:settings[@pass='specialize'])") == 1);
                assert_true(xn(&x, "count(/u:unattend/u:settings[@pass='oobeSystem'])") == 1);
                assert_true(xn(&x, "count(/u:unattend/u:settings[@pass='offlineServicing'])") == 1);
                double comps = xn(&x, "count(//u:component)");
                assert_true(comps >= 10);
                assert_true(xn(&x, "count(//u:component[@processorArchitecture='amd64' and "
                                   "@publicKeyToken='31bf3856ad364e35' and @language='neutral' and "
                                   "@versionScope='nonSxS'])") == comps);
                /* Image, key, names, locale, keyboard. */
                if (p->image_name) {
                        assert_xs(&x, "/IMAGE/NAME", SETUP "//u:InstallFrom/u:MetaData/u:Key");
                        assert_xs(&x, p->image_name, SETUP "//u:InstallFrom/u:MetaData/u:Value");
                } else {
                        char idx[16];
                        snprintf(idx, sizeof idx, "%u", p->image_index);
                        assert_xs(&x, "/IMAGE/INDEX", SETUP "//u:InstallFrom/u:MetaData/u:Key");
                        assert_xs(&x, idx, SETUP "//u:InstallFrom/u:MetaData/u:Value");
                }
                assert_true(xn(&x, "count(" SETUP "//u:InstallFrom/u:MetaData[@wcm:action='add'])") == 1);
                assert_xs(&x, p->product_key ? p->product_key : "", SETUP "/u:UserData/u:ProductKey/u:Key");
                assert_true(xn(&x, "count(" SETUP "/u:UserData/u:ProductKey)") == (p->product_key ? 1 : 0));
                assert_xs(&x, p->computer_name, "//u:settings[@pass='specialize']//u:ComputerName");
                assert_xs(&x, p->user, SHELL "/u:AutoLogon/u:Username");
                assert_xs(&x, "true", SHELL "/u:AutoLogon/u:Enabled");
                assert_xs(&x, p->ui_language, "//u:component[@name='Microsoft-Windows-International-Core-WinPE']/u:UILanguage");
                assert_xs(&x, p->ui_language,
                          "//u:component[@name='Microsoft-Windows-International-Core-WinPE']/u:SetupUILanguage/u:UILanguage");
                const char *kbd = streq(p->input_locale, "de-DE") ? "0407:00000407" : p->input_locale;
                assert_xs(&x, kbd, "//u:component[@name='Microsoft-Windows-International-Core-WinPE']/u:InputLocale");
                assert_xs(&x, kbd, "//u:component[@name='Microsoft-Windows-International-Core']/u:InputLocale");
                assert_xs(&x, p->timezone, SHELL "/u:TimeZone");
                /* The account: the user, or the extra OOBE account beside the built-in Administrator. */
                assert_xs(&x, streq(p->user, "Administrator") ? p->oobe_account : p->user,
                          SHELL "/u:UserAccounts/u:LocalAccounts/u:LocalAccount[@wcm:action='add']/u:Name");
                assert_xs(&x, "Administrators", SHELL "/u:UserAccounts/u:LocalAccounts/u:LocalAccount/u:Group");
                _cleanup_free_ char *pw = xs(&x, SHELL "/u:AutoLogon/u:Password/u:Value");
                _cleanup_free_ char *pw_plain = decode_password(pw);
                assert_string_equal(pw_plain, "cuckooPassword");
                _cleanup_free_ char *apw = xs(&x, SHELL "/u:UserAccounts/u:AdministratorPassword/u:Value");
                _cleanup_free_ char *apw_plain = decode_password(apw);
                assert_string_equal(apw_plain, "cuckooAdministratorPassword");
                assert_xs(&x, "false", SHELL "/u:AutoLogon/u:Password/u:PlainText");
                /* First logon runs the bootstrap. */
                assert_xs(&x, CMD, SHELL "/u:FirstLogonCommands/u:SynchronousCommand[u:Order='1']/u:CommandLine");
                /* Firewall, LUA, Defender, activation, dynamic update, no TCPIP interface by name. */
                assert_xs(&x, "false", "//u:component[@name='Networking-MPSSVC-Svc']/u:PublicProfile_EnableFirewall");
                assert_xs(&x, "false", "//u:settings[@pass='offlineServicing']/u:component[@name='Microsoft-Windows-LUA-Settings']/u:EnableLUA");
                assert_xs(&x, "true", "//u:component[@name='Security-Malware-Windows-Defender']/u:DisableAntiSpyware");
                assert_xs(&x, "true", "//u:component[@name='Microsoft-Windows-Security-SPP-UX']/u:SkipAutoActivation");
                assert_xs(&x, "false", SETUP "/u:DynamicUpdate/u:Enable");
                assert_true(xn(&x, "count(//u:component[@name='Microsoft-Windows-TCPIP'])") == 0);
                assert_true(xn(&x, "count(//u:Path[contains(., 'NewNetworkWindowOff')])") == 1);
                /* Disk layout. */
                const char *disk = SETUP "/u:DiskConfiguration/u:Disk[@wcm:action='add' and u:DiskID='0']";
                if (p->uefi) {
                        assert_xs(&x, "EFI", "%s/u:CreatePartitions/u:CreatePartition[u:Order='1']/u:Type", disk);
                        assert_xs(&x, "MSR", "%s/u:CreatePartitions/u:CreatePartition[u:Order='2']/u:Type", disk);
                        assert_xs(&x, "true", "%s/u:CreatePartitions/u:CreatePartition[u:Order='3']/u:Extend", disk);
                        assert_xs(&x, "FAT32", "%s/u:ModifyPartitions/u:ModifyPartition[u:PartitionID='1']/u:Format", disk);
                        assert_xs(&x, "NTFS", "%s/u:ModifyPartitions/u:ModifyPartition[u:PartitionID='3']/u:Format", disk);
                        assert_xs(&x, "3", SETUP "//u:InstallTo/u:PartitionID");
                        assert_true(xn(&x, "count(//u:Active)") == 0);
                } else {
                        assert_xs(&x, "300", "%s/u:CreatePartitions/u:CreatePartition[u:Order='1']/u:Size", disk);
                        assert_xs(&x, "Primary", "%s/u:CreatePartitions/u:CreatePartition[u:Order='1']/u:Type", disk);
                        assert_xs(&x, "true", "%s/u:ModifyPartitions/u:ModifyPartition[u:PartitionID='1']/u:Active", disk);
                        assert_xs(&x, "NTFS", "%s/u:ModifyPartitions/u:ModifyPartition[u:PartitionID='2']/u:Format", disk);
                        assert_xs(&x, "2", SETUP "//u:InstallTo/u:PartitionID");
                        assert_true(xn(&x, "count(//u:CreatePartition[u:Type='EFI'])") == 0);
                }
                assert_true(xn(&x, "count(//u:CreatePartitions)") == 1);
                assert_xs(&x, "0", SETUP "//u:InstallTo/u:DiskID");
                /* Windows 11 only: LabConfig when bypassing, BypassNRO, PreventDeviceEncryption. */
                bool w11 = streq(p->os, "win11x64");
                assert_true(xn(&x, "count(" SETUP "/u:RunSynchronous/u:RunSynchronousCommand[contains(u:Path, 'LabConfig')])") ==
                            (p->bypass_checks ? 4 : 0));
                if (p->bypass_checks) {
                        assert_true(xn(&x, "count(" SETUP "/u:RunSynchronous/u:RunSynchronousCommand[contains(u:Path, 'BypassTPMCheck')])") == 1);
                        assert_xs(&x, "4", SETUP "/u:RunSynchronous/u:RunSynchronousCommand[contains(u:Path, 'BypassCPUCheck')]/u:Order");
                }
                assert_true(xn(&x, "count(//u:Path[contains(., 'BypassNRO')])") == (w11 ? 1 : 0));
                assert_true(xn(&x, "count(//u:component[@name='Microsoft-Windows-SecureStartup-FilterDriver']/u:PreventDeviceEncryption[.='true'])") ==
                            (w11 ? 1 : 0));
                /* Display where the OS takes it (7, 8.1). */
                bool display = streq(p->os, "win7x64") || streq(p->os, "win81x64");
                assert_xs(&x, display ? "1024" : "", SHELL "/u:Display/u:HorizontalResolution");
                xp_close(&x);
        }
}

/* Characters XML must escape, and non-ASCII, come back exactly. */
static void test_round_trip(void **state) {
        (void)state;
        struct unattend_params p = base("win10x64");
        p.password = "p<&\"'\xc3\xa4\xe2\x82\xac";
        p.user = "J\xc3\xbcrgen";
        p.image_name = "Windows 10 Pro <&\"'> \xc3\xa9\xe2\x82\xac";
        p.first_logon_command = "cmd /c \"echo <&>|^ 'x' \xc3\xb6\" > C:\\out.txt";
        _cleanup_free_ char *xml = render_ok(&p);
        assert_null(strstr(xml, "<&"));
        struct xp x = xp_open(xml);
        assert_xs(&x, p.user, SHELL "/u:AutoLogon/u:Username");
        assert_xs(&x, p.user, SETUP "/u:UserData/u:FullName");
        assert_xs(&x, p.image_name, SETUP "//u:InstallFrom/u:MetaData/u:Value");
        assert_xs(&x, p.first_logon_command, SHELL "/u:FirstLogonCommands/u:SynchronousCommand/u:CommandLine");
        _cleanup_free_ char *pw = xs(&x, SHELL "/u:AutoLogon/u:Password/u:Value");
        _cleanup_free_ char *plain = decode_password(pw);
        _cleanup_free_ char *want = strdup_printf("%sPassword", p.password);
        assert_string_equal(plain, want);
        xp_close(&x);
}

static void test_refused_params(void **state) {
        (void)state;
        char *xml = NULL;
        struct unattend_params p = base("win10x64");
        p.computer_name = "THIS-NAME-IS-TOO-LONG";
        assert_int_equal(unattend_render(&p, &xml), -EINVAL);
        p = base("win10x64");
        p.computer_name = "12345";
        assert_int_equal(unattend_render(&p, &xml), -EINVAL);
        p = base("win10x64");
        p.user = "a/b";
        assert_int_equal(unattend_render(&p, &xml), -EINVAL);
        p = base("win10x64");
        p.product_key = "W269N-WFGWX-YVC9B-4J6C9";
        assert_int_equal(unattend_render(&p, &xml), -EINVAL);
        p = base("win10x64");
        p.input_locale = "xx-YY";
        assert_int_equal(unattend_render(&p, &xml), -EINVAL);
        p = base("win10x64");
        p.arch = "arm64";
        assert_int_equal(unattend_render(&p, &xml), -EINVAL);
        p = base("win10x64");
        p.image_name = NULL;
        p.image_index = 0;
        assert_int_equal(unattend_render(&p, &xml), -EINVAL);
        p = base("winxp");
        assert_int_equal(unattend_render(&p, &xml), -ENOENT);
        p = base("../etc");
        assert_int_equal(unattend_render(&p, &xml), -EINVAL);
        p = base("win10x64");
        p.timezone = "Europe/Berlin\n";
        assert_int_equal(unattend_render(&p, &xml), -EINVAL);
        assert_null(xml);
}

/* s with the first from replaced by to (from must occur). */
static char *replace_once(const char *s, const char *from, const char *to) {
        const char *at = strstr(s, from);
        assert_non_null(at);
        size_t off = (size_t)(at - s);
        return strdup_printf("%.*s%s%s", (int)off, s, to, s + off + strlen(from));
}

/* Each rule of the checker on a file that breaks it. */
static void test_check_rules(void **state) {
        (void)state;
        struct unattend_params p = base("win10x64");
        _cleanup_free_ char *good = render_ok(&p);
        assert_int_equal(unattend_check(good, NULL), 0);
        struct {
                const char *from, *to, *problem;
        } cases[] = {
                { "urn:schemas-microsoft-com:unattend", "urn:other", "root element" },
                { "pass=\"specialize\"", "pass=\"windowsPE\"", "appears twice" },
                { "pass=\"specialize\"", "pass=\"special\"", "not a Windows Setup pass" },
                { "publicKeyToken=\"31bf3856ad364e35\"", "publicKeyToken=\"0000000000000000\"", "publicKeyToken" },
                { "language=\"neutral\"", "language=\"en-US\"", "language must be neutral" },
                { "versionScope=\"nonSxS\"", "", "versionScope" },
                { "processorArchitecture=\"amd64\"", "processorArchitecture=\"arm\"", "processorArchitecture" },
                { "<Order>2</Order>", "<Order>1</Order>", "Order 1 twice" },
                { "<Order>1</Order>", "<Order>x</Order>", "no integer Order" },
                { "<PartitionID>2</PartitionID>\n          </InstallTo>", "<PartitionID>7</PartitionID>\n          </InstallTo>",
                  "does not create" },
                { "<Label>Windows</Label>", "<Label>Windows</Label><Format>FAT32</Format>", NULL },
                { "<ComputerName>DESKTOP-7K2Q9XA</ComputerName>", "<ComputerName>DESKTOP-7K2Q9XA-LONG</ComputerName>",
                  "ComputerName" },
                { "<CommandLine>", "<Command>", "not well-formed" },
                { "<SynchronousCommand wcm:action=\"add\">", "<SynchronousCommand>", "wcm:action" },
                { "<Diagnostics>", "<Diagnostics xmlns=\"urn:x\">", "not in the unattend namespace" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *bad = replace_once(good, cases[i].from, cases[i].to);
                char *problem = NULL;
                int k = unattend_check(bad, &problem);
                if (!cases[i].problem) {
                        /* Two Formats on one partition: the first (NTFS) still counts; not a rule. */
                        assert_int_equal(k, 0);
                        continue;
                }
                if (k != -EINVAL || !problem || !strstr(problem, cases[i].problem))
                        fail_msg("case %zu: want '%s', got %d '%s'", i, cases[i].problem, k, problem ? problem : "(none)");
                free(problem);
        }
        /* The Windows partition left unformatted. */
        const char *fmt = "<Format>NTFS</Format>\n              <Label>Windows</Label>";
        _cleanup_free_ char *bad = replace_once(good, fmt, "<Label>Windows</Label>");
        char *problem = NULL;
        assert_int_equal(unattend_check(bad, &problem), -EINVAL);
        assert_non_null(strstr(problem, "format NTFS"));
        free(problem);
}

static void test_names(void **state) {
        (void)state;
        for (int i = 0; i < 50; i++) {
                _cleanup_free_ char *a = win_computer_name_random("win10x64");
                assert_non_null(a);
                assert_int_equal(strlen(a), 15);
                assert_non_null(startswith(a, "DESKTOP-"));
                assert_int_equal(strspn(a + 8, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), 7);
                _cleanup_free_ char *b = win_computer_name_random("win7x64");
                assert_non_null(b);
                assert_true(endswith(b, "-PC"));
                assert_int_equal(win_computer_name_check(b), 0);
        }
        assert_null(win_computer_name_random("winxp"));
        assert_int_equal(win_computer_name_check("DESKTOP-ABCDEFG"), 0);
        assert_int_equal(win_computer_name_check("DESKTOP-ABCDEFGH"), -EINVAL);
        assert_int_equal(win_computer_name_check("1234"), -EINVAL);
        assert_int_equal(win_computer_name_check("-abc"), -EINVAL);
        assert_int_equal(win_computer_name_check("a_b"), -EINVAL);
        assert_int_equal(win_user_name_check("Administrator"), 0);
        assert_int_equal(win_user_name_check("J\xc3\xbcrgen M\xc3\xbcller"), 0);
        assert_int_equal(win_user_name_check("abcdefghijklmnopqrst"), 0);
        assert_int_equal(win_user_name_check("abcdefghijklmnopqrstu"), -EINVAL);
        assert_int_equal(win_user_name_check(""), -EINVAL);
        assert_int_equal(win_user_name_check("name."), -EINVAL);
        assert_int_equal(win_user_name_check(". ."), -EINVAL);
        assert_int_equal(win_user_name_check("a<b"), -EINVAL);
        assert_int_equal(win_user_name_check("a@b"), -EINVAL);
        assert_int_equal(win_user_name_check("a\tb"), -EINVAL);
        assert_int_equal(win_user_name_check("guest"), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden),
                cmocka_unit_test(test_xpath_every_case),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_refused_params),
                cmocka_unit_test(test_check_rules),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
