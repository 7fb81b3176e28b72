/* The Windows config disc's tree (answer file, bootstrap, settings, agent), as a folder or an ISO. */
#include "guest/winconfig.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/iso.h"

int win_settings_render(const char *const *keys, const char *const *values, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, &len);
        if (!f)
                return log_oom();
        for (size_t i = 0; keys[i]; i++) {
                const char *k = keys[i], *v = values[i];
                if (!(k[0] >= 'A' && k[0] <= 'Z') || strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(k)) {
                        log_error("invalid settings key '%s' (A-Z, 0-9 and _)", k);
                        return -EINVAL;
                }
                if (!v)
                        continue;
                if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:/-_+,@ ") != strlen(v)) {
                        log_error("the value of %s holds a character the Windows bootstrap cannot pass safely (only "
                                  "letters, digits, space and . : / - _ + , @)", k);
                        return -EINVAL;
                }
                fprintf(f, "%s=%s\r\n", k, v);
        }
        if (fflush(f) != 0 || ferror(f))
                return log_oom();
        fclose(TAKE_PTR(f));
        *ret = TAKE_PTR(buf);
        return 0;
}

/* settings.ini from the config's network and agent fields. */
static int render_settings(const struct win_config *c, const char *agent_name, const char *run_name, char **ret) {
        char mac[18] = "", port[8], width[16] = "", height[16] = "";
        _cleanup_free_ char *ip = NULL;
        if (c->mac) {
                uint8_t m[6];
                uint32_t a;
                if (vcheck_mac(c->mac, "the guest NIC", m) < 0 || !c->ip || vcheck_ipv4(c->ip, "the guest", &a) < 0)
                        return -EINVAL;
                if (c->prefix < 1 || c->prefix > 32) {
                        log_error("invalid netmask length %u for the guest (1-32)", c->prefix);
                        return -EINVAL;
                }
                format_mac(m, mac);
                if (!(ip = strdup_printf("%s/%u", c->ip, c->prefix)))
                        return log_oom();
        }
        const char *const names[] = { "the gateway", "the DNS server", "the second DNS server" };
        const char *const addrs[] = { c->gateway, c->dns, c->dns2 };
        for (size_t i = 0; i < ELEMENTSOF(addrs); i++) {
                uint32_t a;
                if (addrs[i] && vcheck_ipv4(addrs[i], names[i], &a) < 0)
                        return -EINVAL;
        }
        if (c->agent_port == 0) {
                log_error("the Windows config needs the agent's port");
                return -EINVAL;
        }
        snprintf(port, sizeof port, "%u", c->agent_port);
        if (c->unattend.width) {
                snprintf(width, sizeof width, "%u", c->unattend.width);
                snprintf(height, sizeof height, "%u", c->unattend.height);
        }
        const char *const keys[] = { "MAC", "IP", "GATEWAY", "DNS", "DNS2", "AGENT_FILE", "AGENT_PORT", "RUN_NAME",
                                     "WIDTH", "HEIGHT", NULL };
        const char *const values[] = { c->mac ? mac : NULL, ip, c->mac ? c->gateway : NULL, c->mac ? c->dns : NULL,
                                       c->mac ? c->dns2 : NULL, agent_name, port, run_name,
                                       *width ? width : NULL, *height ? height : NULL, NULL };
        return win_settings_render(keys, values, ret);
}

/* A data file as CRLF text (cmd.exe misreads LF-only batch files around its 512-byte reads). */
static int copy_crlf(const char *src, const char *dst) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int k = read_full_file(src, &text, &len);
        if (k < 0)
                return log_error_errno(k, "cannot read %s: %m", src);
        _cleanup_free_ char *out = malloc(len * 2 + 1);
        if (!out)
                return log_oom();
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
                if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
                        out[o++] = '\r';
                out[o++] = text[i];
        }
        if ((k = write_file(dst, out, o, 0644)) < 0)
                return log_error_errno(k, "cannot write %s: %m", dst);
        return 0;
}

/* The bootstrap's data files (data/windows/bootstrap/) into folder. */
static int copy_bootstrap(const char *folder) {
        _cleanup_free_ char *src = paths_data_file("windows/bootstrap");
        if (!src)
                return log_oom();
        DIR *d = opendir(src);
        if (!d)
                return log_error_errno(-errno, "cannot read the Windows bootstrap scripts in %s: %m", src);
        int k = 0;
        struct dirent *de;
        while (k == 0 && (de = readdir(d))) {
                if (!endswith(de->d_name, ".cmd") && !endswith(de->d_name, ".ps1"))
                        continue;
                _cleanup_free_ char *from = path_join(src, de->d_name);
                _cleanup_free_ char *to = path_join(folder, de->d_name);
                k = from && to ? copy_crlf(from, to) : log_oom();
        }
        closedir(d);
        _cleanup_free_ char *marker = path_join(folder, "bootstrap.cmd");
        if (k == 0 && marker && !path_exists(marker)) {
                log_error("%s has no bootstrap.cmd (reinstall vmcloak's data)", src);
                return -ENOENT;
        }
        return k;
}

/* A host binary into the tree, or the data folder's default; missing means not built. */
static int copy_binary(const char *given, const char *data_rel, const char *dst) {
        _cleanup_free_ char *def = given ? NULL : paths_data_file(data_rel);
        const char *src = given ? given : def;
        if (!src)
                return log_oom();
        if (!path_exists(src)) {
                log_error("the Windows agent %s is missing%s", src,
                          given ? "" : " (install gcc-mingw-w64-x86-64 and rebuild vmcloak)");
                return -ENOENT;
        }
        int k = copy_file(src, dst, 0644);
        if (k < 0)
                return log_error_errno(k, "cannot copy %s to %s: %m", src, dst);
        return 0;
}

static int write_tree(const struct win_config *c, const char *xml_path, const char *folder) {
        _cleanup_free_ char *rnd_agent = NULL, *rnd_run = NULL;
        const char *agent = c->agent_name, *run = c->run_name;
        if (!agent) {
                _cleanup_free_ char *base = random_string(8, 16);
                if (!base || !(rnd_agent = strdup_printf("%s.exe", base)))
                        return log_oom();
                agent = rnd_agent;
        }
        if (!run && !(run = rnd_run = random_string(8, 16)))
                return log_oom();
        if (!endswith(agent, ".exe") || strlen(agent) > 64 || strchr(agent, '/') ||
            strspn(agent, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(agent) ||
            streq(agent, "netcfg.exe")) {
                log_error("invalid agent file name '%s' (letters, digits, '.', '_', '-', ending in .exe)", agent);
                return -EINVAL;
        }
        _cleanup_free_ char *xml = NULL, *settings = NULL;
        int k;
        if ((k = unattend_render(&c->unattend, &xml)) < 0 || (k = render_settings(c, agent, run, &settings)) < 0)
                return k;
        if (mkdir(folder, 0755) < 0)
                return log_error_errno(-errno, "cannot create %s: %m", folder);
        _cleanup_free_ char *ini = path_join(folder, "settings.ini");
        _cleanup_free_ char *agent_dst = path_join(folder, agent);
        _cleanup_free_ char *netcfg_dst = path_join(folder, "netcfg.exe");
        if (!ini || !agent_dst || !netcfg_dst)
                return log_oom();
        if ((k = copy_bootstrap(folder)) < 0 ||
            (k = copy_binary(c->agent_exe, "agent/vmcloak-agentw.exe", agent_dst)) < 0 ||
            (k = copy_binary(c->netcfg_exe, "agent/vmcloak-agent.exe", netcfg_dst)) < 0)
                return k;
        if ((k = write_file(ini, settings, strlen(settings), 0644)) < 0)
                return log_error_errno(k, "cannot write %s: %m", ini);
        if ((k = write_file(xml_path, xml, strlen(xml), 0644)) < 0)
                return log_error_errno(k, "cannot write %s: %m", xml_path);
        return 0;
}

int win_config_write_dir(const char *dir, const struct win_config *c) {
        _cleanup_free_ char *xml_path = path_join(dir, "autounattend.xml");
        _cleanup_free_ char *folder = path_join(dir, "vmcloak");
        if (!xml_path || !folder)
                return log_oom();
        if (path_exists(xml_path) || path_exists(folder)) {
                log_error("%s already holds autounattend.xml or vmcloak/", dir);
                return -EEXIST;
        }
        int k = write_tree(c, xml_path, folder);
        if (k < 0) {
                /* Both names were free before: whatever is there now is ours. */
                unlink_if_exists(xml_path);
                rm_rf(folder);
        }
        return k;
}

int win_config_iso_build(const char *out, const struct win_config *c) {
        _cleanup_free_ char *parent = path_dirname(out);
        _cleanup_free_ char *tmpl = parent ? path_join(parent, ".vmcloak-winconfig-XXXXXX") : NULL;
        if (!tmpl)
                return log_oom();
        if (!mkdtemp(tmpl))
                return log_error_errno(-errno, "cannot create a work folder beside %s: %m", out);
        _cleanup_rm_rf_ char *work = TAKE_PTR(tmpl);
        int k = win_config_write_dir(work, c);
        if (k < 0)
                return k;
        _cleanup_free_ char *xml = path_join(work, "autounattend.xml");
        _cleanup_free_ char *folder = path_join(work, "vmcloak");
        if (!xml || !folder)
                return log_oom();
        const struct guest_iso_entry entries[] = {
                { .iso_path = "autounattend.xml", .host_path = xml },
                { .iso_path = "vmcloak", .host_path = folder },
        };
        const struct guest_iso_opts opts = { .volume_id = "VMCLOAK", .joliet = true };
        return guest_iso_build(out, &opts, entries, ELEMENTSOF(entries));
}
