/* Unit tests: the OS profile table, the linux profile's defaults and guest commands, and the
 * checks on the agent binary it copies into the guest. */
#include "test.h"

#include "elf_fixture.h"

#include <errno.h>
#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "guest/linux.h"
#include "guest/profile.h"

static void test_lookup(void **state) {
        (void)state;
        const struct os_profile *p = os_profile_find("linux");
        assert_non_null(p);
        assert_string_equal(p->name, "linux");
        assert_null(os_profile_find("linux64"));
        assert_null(os_profile_find(""));
        assert_null(os_profile_find(NULL));
        bool found = false;
        for (const struct os_profile *const *l = os_profiles(); *l; l++) {
                assert_non_null((*l)->name);
                assert_ptr_equal(os_profile_find((*l)->name), *l);
                found |= *l == p;
        }
        assert_true(found);
}

static void test_linux_defaults(void **state) {
        (void)state;
        const struct os_profile *p = os_profile_find("linux");
        assert_string_equal(p->os_name, "linux");
        assert_null(p->os_version);   /* the kernel release, known once media are built */
        assert_string_equal(p->arch, "amd64");
        assert_int_equal(p->default_ram_mb, 512);
        assert_true(p->default_disk_bytes == (uint64_t)2 << 30);
        assert_int_equal(p->install_timeout_s, 300);
        assert_false(p->uefi);
        assert_false(p->tpm);
        assert_false(p->rtc_localtime);
        assert_non_null(p->build_media);
        assert_string_equal(p->cmd.temp_dir, "/tmp");
        assert_false(p->cmd.hostname_needs_reboot);
        /* The markers the installer prints on the serial console (data/linux/installer-init). */
        assert_string_equal(p->serial_install_done, "VMCLOAK: install: done");
        assert_string_equal(p->serial_install_failed, "VMCLOAK: install: FAILED ");
        assert_non_null(startswith(p->serial_install_done, p->serial_progress));
        assert_non_null(startswith(p->serial_install_failed, p->serial_progress));
}

/* Every command template of every profile expands with the documented keys: a typo in a
 * profile fails here, not inside a guest. */
static void test_commands_expand(void **state) {
        (void)state;
        const char *keys[] = { "ip", "prefix", "netmask", "gateway", "dns", "mac", "agent", "hostname", "width",
                               "height", "path", "seed", NULL };
        const char *values[] = { "10.0.2.20", "24", "255.255.255.0", "10.0.2.2", "10.0.2.3", "52:54:00:12:34:56",
                                 "C:\\Windows\\System32\\abc.exe", "vm-1", "1024", "768", "/tmp/s.sh", "00ff", NULL };
        for (const struct os_profile *const *l = os_profiles(); *l; l++) {
                const struct guest_commands *c = &(*l)->cmd;
                const char *cmds[] = { c->set_network, c->set_hostname, c->reboot, c->poweroff, c->shrink_memory,
                                       c->set_resolution, c->run_script, c->reseed };
                for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
                        if (!cmds[i])
                                continue;
                        char *out = NULL;
                        assert_int_equal(guest_template_expand(cmds[i], keys, values, &out), 0);
                        assert_null(strchr(out, '{'));
                        free(out);
                }
                assert_non_null(c->set_network);
                assert_non_null(c->set_hostname);
                assert_non_null(c->poweroff);
                assert_non_null(c->run_script);
                assert_non_null(c->os_version);
                /* A fleet's clones each need their own random pool and a running rename. */
                if (c->clone_fleet) {
                        assert_non_null(c->reseed);
                        assert_false(c->hostname_needs_reboot);
                }
        }
        assert_non_null(os_profile_find("linux")->cmd.shrink_memory);
        const struct os_profile *p = os_profile_find("linux");
        char *out = NULL;
        assert_int_equal(guest_template_expand(p->cmd.set_network, keys, values, &out), 0);
        assert_string_equal(out, "ip link set dev eth0 address 52:54:00:12:34:56 && "
                                 "echo 52:54:00:12:34:56 > /etc/vmcloak/mac && "
                                 "/sbin/vmcloak-setnet 10.0.2.20 24 10.0.2.2 10.0.2.3");
        free(out);
        /* A clone's random pool and clock: its memory has the template's. */
        const char *seed_keys[] = { "seed", NULL };
        const char *seed_values[] = { "00ff", NULL };
        assert_int_equal(guest_template_expand(p->cmd.reseed, seed_keys, seed_values, &out), 0);
        assert_string_equal(out, "echo 00ff > /dev/urandom && hwclock -s -u");
        free(out);
        assert_int_equal(guest_template_expand(p->cmd.set_hostname, keys, values, &out), 0);
        assert_string_equal(out, "/sbin/vmcloak-sethostname vm-1");
        free(out);
        assert_non_null(strstr(p->cmd.shrink_memory, "drop_caches"));
        assert_true(p->cmd.clone_fleet);
        assert_false(os_profile_find("win10x64")->cmd.clone_fleet);
}

/* The Windows profiles' identity and detector commands, expanded with the keys the snapshot
 * pipeline passes (cloak/hardware.h's struct hw_identity). The commands themselves were run
 * under Wine through the agent (tests/e2e/cloak_wine.sh). */
static void test_windows_cloak_commands(void **state) {
        (void)state;
        const char *keys[] = { "machine_id", "machine_guid", "owner", "install_date", NULL };
        const char *values[] = { "0123456789abcdef0123456789abcdef", "0f8fad5b-d9cb-469f-a165-70867728950e",
                                 "Anna", "1700000000", NULL };
        const char *path_keys[] = { "path", NULL };
        const char *path_values[] = { "C:\\Windows\\Temp\\detect.js", NULL };
        const char *const names[] = { "win7x64", "win81x64", "win10x64", "win11x64" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const struct os_profile *p = os_profile_find(names[i]);
                assert_non_null(p);
                char *out = NULL;
                assert_int_equal(guest_template_expand(p->cmd.set_identity, keys, values, &out), 0);
                assert_string_equal(out,
                        "cmd /c reg add \"HKLM\\SOFTWARE\\Microsoft\\Cryptography\" /v MachineGuid /t REG_SZ "
                        "/d 0f8fad5b-d9cb-469f-a165-70867728950e /f /reg:64 && "
                        "reg add \"HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\" /v RegisteredOwner "
                        "/t REG_SZ /d \"Anna\" /f /reg:64 && "
                        "reg add \"HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\" /v InstallDate "
                        "/t REG_DWORD /d 1700000000 /f /reg:64 && "
                        "reg add \"HKLM\\SOFTWARE\\Microsoft\\SQMClient\" /v MachineId /t REG_SZ "
                        "/d {0f8fad5b-d9cb-469f-a165-70867728950e} /f /reg:64");
                free(out);
                assert_int_equal(guest_template_expand(p->cmd.run_detector, path_keys, path_values, &out), 0);
                assert_string_equal(out, "cscript //nologo \"C:\\Windows\\Temp\\detect.js\"");
                free(out);
        }
}

static void test_media_free(void **state) {
        (void)state;
        struct install_media m = { .boot_iso = strdup("a"), .kernel_version = strdup("b") };
        install_media_free(&m);
        assert_null(m.boot_iso);
        assert_null(m.kernel_version);
        install_media_free(&m);
        install_media_free(NULL);
}

/* A minimal ELF64 program header table, with or without PT_INTERP. */
static void write_elf(const char *path, bool dynamic) {
        struct {
                Elf64_Ehdr eh;
                Elf64_Phdr ph;
        } f = { 0 };
        elf_fixture_header(&f.eh, ET_EXEC, sizeof(Elf64_Ehdr));
        f.ph.p_type = dynamic ? PT_INTERP : PT_LOAD;
        assert_int_equal(write_file(path, &f, sizeof f, 0755), 0);
}

static void test_agent_path(void **state) {
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        char *d = test_tmpdir();
        char *missing = path_join(d, "missing"), *script = path_join(d, "agent.sh"), *plain = path_join(d, "noexec"),
             *stat_elf = path_join(d, "static"), *dyn_elf = path_join(d, "dynamic");
        char *p = NULL;

        setenv(LINUX_AGENT_ENV, missing, 1);
        assert_int_equal(linux_agent_path(&p), -ENOENT);
        setenv(LINUX_AGENT_ENV, d, 1);   /* a directory is not an agent */
        assert_int_equal(linux_agent_path(&p), -ENOENT);

        assert_int_equal(write_file(plain, "#!/bin/sh\n", 10, 0644), 0);
        setenv(LINUX_AGENT_ENV, plain, 1);
        assert_int_equal(linux_agent_path(&p), -EACCES);

        assert_int_equal(write_file(script, "#!/bin/sh\nexec true\n", 20, 0755), 0);
        setenv(LINUX_AGENT_ENV, script, 1);
        assert_int_equal(linux_agent_path(&p), 0);
        assert_string_equal(p, script);
        free(p);

        write_elf(stat_elf, false);
        setenv(LINUX_AGENT_ENV, stat_elf, 1);
        assert_int_equal(linux_agent_path(&p), 0);
        free(p);

        write_elf(dyn_elf, true);
        setenv(LINUX_AGENT_ENV, dyn_elf, 1);
        assert_int_equal(linux_agent_path(&p), -ENOEXEC);

        unsetenv(LINUX_AGENT_ENV);
        rm_rf(d);
        free(d);
        free(missing);
        free(script);
        free(plain);
        free(stat_elf);
        free(dyn_elf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lookup),
                cmocka_unit_test(test_linux_defaults),
                cmocka_unit_test(test_commands_expand),
                cmocka_unit_test(test_windows_cloak_commands),
                cmocka_unit_test(test_media_free),
                cmocka_unit_test(test_agent_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
