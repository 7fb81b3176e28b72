/* A key=value text form of struct vm_config + vm_runtime (golden argv tests, test driver). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "qemu/config.h"

/*
 * Keys (repeatable ones append):
 *   name version accel(auto|kvm|tcg) cpus ram_mb disk disk_format(qcow2|raw) cdrom
 *   extra_cdrom* boot(cd|disk) nic_model mac nic_addr net(bridge|user|none) bridge
 *   bridge_helper user_net user_host user_dns guest_ip agent_port host_port guest_ip2 host_port2
 *   user_restrict
 *   display(none|gtk) vnc vnc_display vnc_listen serial(none|file|pty|unix) serial_path
 *   share*(TAG=PATH[,rw]) vram_mb audio(default|none) uefi_code uefi_vars secure_boot
 *   tpm_socket rtc(localtime|utc) cpu_model cpu_flag* smbios.N*(key=value, adds a field
 *   to SMBIOS table type N) acpi_oem_id acpi_oem_table_id disk_model disk_serial
 *   cdrom_model cdrom_serial extra_arg*
 *   runtime: binary qmp incoming pidfile no_reboot paused; purpose(run|start_args).
 * Booleans: on/off, yes/no, true/false, 1/0.
 */

enum key_type { K_STR, K_STRV, K_UINT, K_BOOL, K_ENUM, K_SPECIAL };

struct key {
        const char *name;
        enum key_type type;
        bool runtime;          /* offset into struct vm_runtime instead of vm_config */
        size_t off;
        const char *const *values;   /* K_ENUM: names in enum order */
};

static const char *const accel_names[] = { "auto", "kvm", "tcg", NULL };
static const char *const format_names[] = { "qcow2", "raw", NULL };
static const char *const boot_names[] = { "cd", "disk", NULL };
static const char *const net_names[] = { "bridge", "user", "none", NULL };
static const char *const display_names[] = { "none", "gtk", NULL };
static const char *const serial_names[] = { "none", "file", "pty", "unix", NULL };
static const char *const audio_names[] = { "default", "none", NULL };
static const char *const rtc_names[] = { "localtime", "utc", NULL };

_Static_assert(sizeof(enum vm_accel) == sizeof(int), "enums are int-sized");

#define C(f) offsetof(struct vm_config, f)
#define R(f) offsetof(struct vm_runtime, f)

static const struct key keys[] = {
        { "name", K_STR, false, C(name), NULL },
        { "version", K_SPECIAL, false, 0, NULL },
        { "accel", K_ENUM, false, C(accel), accel_names },
        { "cpus", K_UINT, false, C(cpus), NULL },
        { "ram_mb", K_UINT, false, C(ram_mb), NULL },
        { "disk", K_STR, false, C(disk_path), NULL },
        { "disk_format", K_ENUM, false, C(disk_format), format_names },
        { "cdrom", K_STR, false, C(cdrom_path), NULL },
        { "extra_cdrom", K_STRV, false, C(extra_cdroms), NULL },
        { "boot", K_ENUM, false, C(boot_order), boot_names },
        { "nic_model", K_STR, false, C(nic_model), NULL },
        { "mac", K_STR, false, C(mac), NULL },
        { "nic_addr", K_UINT, false, C(nic_pci_addr), NULL },
        { "net", K_ENUM, false, C(net_mode), net_names },
        { "bridge", K_STR, false, C(bridge), NULL },
        { "bridge_helper", K_STR, false, C(bridge_helper), NULL },
        { "user_net", K_STR, false, C(user_net), NULL },
        { "user_host", K_STR, false, C(user_host), NULL },
        { "user_dns", K_STR, false, C(user_dns), NULL },
        { "guest_ip", K_STR, false, C(guest_ip), NULL },
        { "agent_port", K_UINT, false, C(agent_port), NULL },
        { "host_port", K_UINT, false, C(host_fwd_port), NULL },
        { "guest_ip2", K_STR, false, C(guest_ip2), NULL },
        { "host_port2", K_UINT, false, C(host_fwd_port2), NULL },
        { "user_restrict", K_BOOL, false, C(user_restrict), NULL },
        { "display", K_ENUM, false, C(display), display_names },
        { "vnc", K_BOOL, false, C(vnc), NULL },
        { "vnc_display", K_UINT, false, C(vnc_display), NULL },
        { "vnc_listen", K_STR, false, C(vnc_listen), NULL },
        { "serial", K_ENUM, false, C(serial), serial_names },
        { "serial_path", K_STR, false, C(serial_path), NULL },
        { "share", K_SPECIAL, false, 0, NULL },
        { "vram_mb", K_UINT, false, C(vram_mb), NULL },
        { "audio", K_ENUM, false, C(audio), audio_names },
        { "uefi_code", K_STR, false, C(uefi_code), NULL },
        { "uefi_vars", K_STR, false, C(uefi_vars), NULL },
        { "secure_boot", K_BOOL, false, C(secure_boot), NULL },
        { "tpm_socket", K_STR, false, C(tpm_socket), NULL },
        { "rtc", K_ENUM, false, C(rtc), rtc_names },
        { "cpu_model", K_STR, false, C(cloak.cpu_model), NULL },
        { "cpu_flag", K_STRV, false, C(cloak.cpu_flags), NULL },
        { "acpi_oem_id", K_STR, false, C(cloak.acpi_oem_id), NULL },
        { "acpi_oem_table_id", K_STR, false, C(cloak.acpi_oem_table_id), NULL },
        { "disk_model", K_STR, false, C(cloak.disk_model), NULL },
        { "disk_serial", K_STR, false, C(cloak.disk_serial), NULL },
        { "cdrom_model", K_STR, false, C(cloak.cdrom_model), NULL },
        { "cdrom_serial", K_STR, false, C(cloak.cdrom_serial), NULL },
        { "extra_arg", K_STRV, false, C(extra_args), NULL },
        { "binary", K_STR, true, R(binary), NULL },
        { "qmp", K_STR, true, R(qmp_socket), NULL },
        { "incoming", K_STR, true, R(incoming), NULL },
        { "pidfile", K_STR, true, R(pidfile), NULL },
        { "no_reboot", K_BOOL, true, R(no_reboot), NULL },
        { "paused", K_BOOL, true, R(paused), NULL },
        { "purpose", K_SPECIAL, false, 0, NULL },
};

static int parse_bool(const char *v, bool *ret) {
        if (streq(v, "on") || streq(v, "yes") || streq(v, "true") || streq(v, "1"))
                *ret = true;
        else if (streq(v, "off") || streq(v, "no") || streq(v, "false") || streq(v, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

static struct vm_smbios *smbios_table(struct vm_config *c, unsigned type) {
        for (size_t i = 0; i < c->cloak.n_smbios; i++)
                if (c->cloak.smbios[i].type == type)
                        return &c->cloak.smbios[i];
        if (vm_config_add_smbios(c, type, NULL) < 0)
                return NULL;
        return &c->cloak.smbios[c->cloak.n_smbios - 1];
}

/* Returns 0, -ENOMEM, or -EINVAL with *why set. */
static int set_key(struct vm_config *c, struct vm_runtime *rt, enum vm_argv_purpose *purpose, const char *k,
                   const char *v, const char **why) {
        const char *st;
        if ((st = startswith(k, "smbios."))) {
                unsigned type;
                if (parse_uint(st, 0, 127, &type) < 0)
                        return *why = "invalid SMBIOS type", -EINVAL;
                if (!strchr(v, '='))
                        return *why = "an SMBIOS field is key=value", -EINVAL;
                struct vm_smbios *t = smbios_table(c, type);
                if (!t)
                        return -ENOMEM;
                return strv_extend(&t->fields, v);
        }
        const struct key *key = NULL;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(keys[i].name, k))
                        key = &keys[i];
        if (!key)
                return *why = "unknown key", -EINVAL;
        if (key->runtime && !rt)
                return 0;
        char *base = key->runtime ? (char *)rt : (char *)c;
        void *field = base + key->off;
        switch (key->type) {
        case K_STR:
                return free_and_strdup((char **)field, v);
        case K_STRV:
                return strv_extend((char ***)field, v);
        case K_UINT: {
                unsigned u;
                if (parse_uint(v, 0, 0xffffffu, &u) < 0)
                        return *why = "not a number", -EINVAL;
                *(unsigned *)field = u;
                return 0;
        }
        case K_BOOL:
                if (parse_bool(v, (bool *)field) < 0)
                        return *why = "not a boolean (on/off)", -EINVAL;
                return 0;
        case K_ENUM:
                for (int i = 0; key->values[i]; i++)
                        if (streq(key->values[i], v)) {
                                memcpy(field, &i, sizeof i);
                                return 0;
                        }
                return *why = "not one of the allowed values", -EINVAL;
        case K_SPECIAL:
                break;
        }
        if (streq(k, "version")) {
                if (qemu_version_parse(v, &c->version) < 0)
                        return *why = "invalid version (use MAJOR.MINOR.MICRO)", -EINVAL;
                return 0;
        }
        if (streq(k, "purpose")) {
                enum vm_argv_purpose p;
                if (streq(v, "run"))
                        p = VM_ARGV_RUN;
                else if (streq(v, "start_args"))
                        p = VM_ARGV_START_ARGS;
                else
                        return *why = "purpose is run or start_args", -EINVAL;
                if (purpose)
                        *purpose = p;
                return 0;
        }
        /* share=TAG=PATH[,rw] */
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1])
                return *why = "a share is TAG=PATH[,rw]", -EINVAL;
        _cleanup_free_ char *tag = strndup(v, (size_t)(eq - v));
        _cleanup_free_ char *path = strdup(eq + 1);
        if (!tag || !path)
                return -ENOMEM;
        bool ro = true;
        if (endswith(path, ",rw")) {
                path[strlen(path) - 3] = 0;
                ro = false;
        } else if (endswith(path, ",ro"))
                path[strlen(path) - 3] = 0;
        return vm_config_add_share(c, tag, path, ro);
}

int vm_config_load_string(const char *text, const char *origin, struct vm_config *c, struct vm_runtime *rt,
                          enum vm_argv_purpose *ret_purpose) {
        _cleanup_free_ char *copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        unsigned lineno = 0;
        char *save = NULL;
        for (char *line = copy; line; line = save) {
                char *nl = strchr(line, '\n');
                save = nl ? nl + 1 : NULL;
                if (nl)
                        *nl = 0;
                lineno++;
                size_t l = strlen(line);
                if (l && line[l - 1] == '\r')
                        line[--l] = 0;
                char *p = line;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p || *p == '#')
                        continue;
                char *eq = strchr(p, '=');
                if (!eq) {
                        log_error("%s:%u: expected key=value", origin, lineno);
                        return -EINVAL;
                }
                char *kend = eq;
                while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
                        kend--;
                *kend = 0;
                const char *val = eq + 1;
                while (*val == ' ' || *val == '\t')
                        val++;
                const char *why = NULL;
                int r = set_key(c, rt, ret_purpose, p, val, &why);
                if (r == -EINVAL) {
                        log_error("%s:%u: %s: %s", origin, lineno, p, why);
                        return r;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int vm_config_load(const char *path, struct vm_config *c, struct vm_runtime *rt, enum vm_argv_purpose *ret_purpose) {
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot read VM config %s: %m", path);
        return vm_config_load_string(text, path, c, rt, ret_purpose);
}
