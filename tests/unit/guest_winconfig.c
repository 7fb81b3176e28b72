/* Unit tests: the Windows config tree (settings.ini rules, the folder's contents read back,
 * random names, all-or-nothing writes). The ISO is read back with xorriso in
 * tests/e2e/win_config.sh. */
#include "test.h"

#include <errno.h>
#include <sys/stat.h>

#include "core/util.h"
#include "guest/winconfig.h"

static void test_settings_render(void **state) {
        (void)state;
        const char *keys[] = { "MAC", "IP", "DNS2", "RUN_NAME", NULL };
        const char *values[] = { "52:54:00:aa:bb:cc", "10.0.0.2/8", NULL, "Svc Host", NULL };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(win_settings_render(keys, values, &out), 0);
        assert_string_equal(out, "MAC=52:54:00:aa:bb:cc\r\nIP=10.0.0.2/8\r\nRUN_NAME=Svc Host\r\n");

        /* Every character cmd.exe gives a meaning to is refused, and so are line breaks. */
        const char *bad[] = { "a%b", "a&b", "a|b", "a<b", "a>b", "a^b", "a!b", "a\"b", "a(b", "a)b", "a\r\nB=c", "a\tb",
                              "a=b", "\xc3\xa4" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *k[] = { "KEY", NULL }, *v[] = { bad[i], NULL };
                char *o = NULL;
                assert_int_equal(win_settings_render(k, v, &o), -EINVAL);
                assert_null(o);
        }
        const char *badkeys[] = { "lower", "1ST", "A-B", "", "A=B" };
        for (size_t i = 0; i < ELEMENTSOF(badkeys); i++) {
                const char *k[] = { badkeys[i], NULL }, *v[] = { "x", NULL };
                char *o = NULL;
                assert_int_equal(win_settings_render(k, v, &o), -EINVAL);
        }
}

struct fixture {
        char *dir, *agent, *netcfg;
};

static struct win_config config(const struct fixture *f) {
        return (struct win_config){
                .unattend = { .os = "win10x64", .arch = "amd64", .image_index = 1, .user = "Administrator",
                              .password = "cuckoo", .oobe_account = "sandbox", .computer_name = "DESKTOP-UNITTST",
                              .ui_language = "en-US", .input_locale = "en-US", .timezone = "UTC" },
                .mac = "52-54-00-AA-BB-CC", .ip = "192.168.30.10", .prefix = 24, .gateway = "192.168.30.1",
                .dns = "8.8.8.8", .agent_port = 8000, .agent_exe = f->agent, .netcfg_exe = f->netcfg,
        };
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        f->dir = test_tmpdir();
        f->agent = path_join(f->dir, "agentw.bin");
        f->netcfg = path_join(f->dir, "agent.bin");
        assert_int_equal(write_file(f->agent, "MZ agent", 8, 0644), 0);
        assert_int_equal(write_file(f->netcfg, "MZ netcfg", 9, 0644), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        rm_rf(f->dir);
        free(f->dir);
        free(f->agent);
        free(f->netcfg);
        free(f);
        return 0;
}

/* noinline: GCC 12 otherwise takes the result for a pointer to the local (-Wdangling-pointer). */
static __attribute__((noinline)) char *slurp(const char *dir, const char *name) {
        _cleanup_free_ char *p = path_join(dir, name);
        char *data = NULL;
        size_t len;
        assert_int_equal(read_full_file(p, &data, &len), 0);
        return data;
}

static void test_write_dir(void **state) {
        struct fixture *f = *state;
        struct win_config c = config(f);
        _cleanup_free_ char *out = path_join(f->dir, "tree");
        assert_int_equal(mkdir(out, 0755), 0);
        assert_int_equal(win_config_write_dir(out, &c), 0);

        _cleanup_free_ char *ini = slurp(out, "vmcloak/settings.ini");
        /* The agent's random name: 8-16 letters + .exe, the same in settings.ini and the folder. */
        const char *af = strstr(ini, "AGENT_FILE=");
        assert_non_null(af);
        af += strlen("AGENT_FILE=");
        size_t letters = strspn(af, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
        assert_true(letters >= 8 && letters <= 16);
        assert_non_null(startswith(af + letters, ".exe\r\n"));
        _cleanup_free_ char *agent_name = strndup(af, letters + 4);
        _cleanup_free_ char *agent_rel = strdup_printf("vmcloak/%s", agent_name);
        _cleanup_free_ char *agent = slurp(out, agent_rel);
        assert_string_equal(agent, "MZ agent");
        _cleanup_free_ char *netcfg = slurp(out, "vmcloak/netcfg.exe");
        assert_string_equal(netcfg, "MZ netcfg");
        /* The MAC normalised, the address with its prefix, no DNS2, the default resolution left out. */
        assert_non_null(startswith(ini, "MAC=52:54:00:aa:bb:cc\r\nIP=192.168.30.10/24\r\nGATEWAY=192.168.30.1\r\nDNS=8.8.8.8\r\n"
                                        "AGENT_FILE="));
        assert_null(strstr(ini, "DNS2"));
        assert_null(strstr(ini, "WIDTH"));
        assert_non_null(strstr(ini, "AGENT_PORT=8000\r\nRUN_NAME="));

        /* Scripts are CRLF throughout; the answer file is the rendered one. */
        _cleanup_free_ char *cmd = slurp(out, "vmcloak/bootstrap.cmd");
        for (const char *p = strchr(cmd, '\n'); p; p = strchr(p + 1, '\n'))
                assert_true(p > cmd && p[-1] == '\r');
        _cleanup_free_ char *ps1 = slurp(out, "vmcloak/settings.ps1");
        assert_non_null(strstr(ps1, "\r\n"));
        _cleanup_free_ char *xml = slurp(out, "autounattend.xml");
        _cleanup_free_ char *want = NULL;
        assert_int_equal(unattend_render(&c.unattend, &want), 0);
        assert_string_equal(xml, want);

        /* Into the same folder again: refused, and what is there stays. */
        assert_int_equal(win_config_write_dir(out, &c), -EEXIST);
        _cleanup_free_ char *ini2 = slurp(out, "vmcloak/settings.ini");
        assert_string_equal(ini, ini2);
}

static void test_write_dir_all_or_nothing(void **state) {
        struct fixture *f = *state;
        struct win_config c = config(f);
        _cleanup_free_ char *out = path_join(f->dir, "tree2");
        assert_int_equal(mkdir(out, 0755), 0);
        /* The second binary is missing: the folder had scripts and the agent by then. */
        _cleanup_free_ char *missing = path_join(f->dir, "missing.bin");
        c.netcfg_exe = missing;
        assert_int_equal(win_config_write_dir(out, &c), -ENOENT);
        _cleanup_free_ char *xml = path_join(out, "autounattend.xml");
        _cleanup_free_ char *folder = path_join(out, "vmcloak");
        assert_false(path_exists(xml));
        assert_false(path_exists(folder));
        /* Bad values never start writing. */
        c = config(f);
        c.gateway = "192.168.30";
        assert_int_equal(win_config_write_dir(out, &c), -EINVAL);
        c = config(f);
        c.agent_name = "a b.exe";
        assert_int_equal(win_config_write_dir(out, &c), -EINVAL);
        c = config(f);
        c.agent_name = "netcfg.exe";
        assert_int_equal(win_config_write_dir(out, &c), -EINVAL);
        c = config(f);
        c.prefix = 33;
        assert_int_equal(win_config_write_dir(out, &c), -EINVAL);
        c = config(f);
        c.unattend.computer_name = "x y";
        assert_int_equal(win_config_write_dir(out, &c), -EINVAL);
        assert_false(path_exists(xml));
        assert_false(path_exists(folder));
        /* Without a MAC there is no network step: no address in the settings. */
        c = config(f);
        c.mac = NULL;
        c.agent_name = "svc.exe";
        assert_int_equal(win_config_write_dir(out, &c), 0);
        _cleanup_free_ char *ini = slurp(out, "vmcloak/settings.ini");
        assert_non_null(startswith(ini, "AGENT_FILE=svc.exe\r\nAGENT_PORT=8000\r\n"));
}

/* The ISO is complete at its name or absent. */
static void test_iso_atomic(void **state) {
        struct fixture *f = *state;
        struct win_config c = config(f);
        _cleanup_free_ char *iso = path_join(f->dir, "c.iso");
        assert_int_equal(win_config_iso_build(iso, &c), 0);
        assert_true(file_size_or_zero(iso) > 32 * 2048);
        _cleanup_free_ char *iso2 = path_join(f->dir, "d.iso");
        c.netcfg_exe = "/nonexistent";
        assert_int_equal(win_config_iso_build(iso2, &c), -ENOENT);
        assert_false(path_exists(iso2));
        /* No work folder is left beside it. */
        _cleanup_free_ char *cmd = strdup_printf("ls -A '%s' | grep -c vmcloak-winconfig", f->dir);
        FILE *p = popen(cmd, "r");
        char buf[16] = "";
        assert_non_null(fgets(buf, sizeof buf, p));
        pclose(p);
        assert_string_equal(buf, "0\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_settings_render),
                cmocka_unit_test_setup_teardown(test_write_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_dir_all_or_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_iso_atomic, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
