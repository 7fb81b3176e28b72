/* A key=value text form of a machine definition plus a QEMU run (golden argv tests, test driver). */
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
 * Keys (repeatable ones append), each filling one field of the definition (D) or of the
 * run (R):
 *   D: name cpus ram_mb disk disk_format(qcow2|raw) cdrom extra_cdrom* boot(cd|disk)
 *      nic_model mac nic_addr net(bridge|user|none) bridge user_net user_host user_dns
 *      guest_ip agent_port guest_ip2 user_restrict display(none|gtk) vnc vnc_display
 *      vnc_listen serial(none|file|pty|unix) serial_path share*(TAG=PATH[,rw]) vram_mb
 *      uefi_vars (UEFI firmware) secure_boot tpm tpm_state rtc(localtime|utc) cpu_model
 *      cpu_flag*(+FEATURE, -FEATURE, kvm=off, model-id=TEXT) smbios.N*(key=value: a field of
 *      SMBIOS table N in QEMU's -smbios key names) acpi_oem_id acpi_oem_table_id disk_model
 *      disk_serial cdrom_model (every CD-ROM drive) cdrom_serial (the boot drive)
 *      disk_firmware disk_wwn (decimal or 0x hex) cdrom_firmware (every CD-ROM drive)
 *      nic_subsystem(VVVV:DDDD, hex as lspci prints them) pointer(tablet|ps2)
 *      cpu_fms(FAMILY/MODEL/STEPPING, decimal as /proc/cpuinfo prints them) chassis_type vmport_off cpu_threads disk_rotation_rate
 *      kernel initrd append (direct kernel boot)
 *   R: version accel(auto|kvm|tcg) bridge_helper host_port host_port2 audio(default|none)
 *      uefi_code (UEFI firmware) tpm_socket (a TPM) extra_arg* binary qmp monitor_none
 *      incoming pidfile no_reboot paused
 *   purpose(run|start_args).
 * Booleans: on/off, yes/no, true/false, 1/0.
 */

enum key_type { K_STR, K_STRV, K_UINT, K_BOOL, K_ENUM, K_SPECIAL };

struct key {
        const char *name;
        enum key_type type;
        bool run;              /* offset into struct qemu_run instead of vm_def */
        size_t off;
        const char *const *values;   /* K_ENUM: names in enum order */
};

static const char *const accel_names[] = { "auto", "kvm", "tcg", NULL };
static const char *const format_names[] = { "qcow2", "raw", NULL };
static const char *const boot_names[] = { "cd", "disk", NULL };
static const char *const net_names[] = { "bridge", "user", "none", NULL };
static const char *const display_names[] = { "none", "gtk", NULL };
static const char *const serial_names[] = { "none", "file", "pty", "unix", NULL };
static const char *const rtc_names[] = { "localtime", "utc", NULL };
static const char *const pointer_names[] = { "tablet", "ps2", NULL };

_Static_assert(sizeof(enum vm_accel) == sizeof(int), "enums are int-sized");
_Static_assert(sizeof(enum vm_net_type) == sizeof(int), "enums are int-sized");

#define D(f) offsetof(struct vm_def, f)
#define R(f) offsetof(struct qemu_run, f)

static const struct key keys[] = {
        { "name", K_STR, false, D(name), NULL },
        { "cpus", K_UINT, false, D(cpus), NULL },
        { "ram_mb", K_UINT, false, D(ram_mb), NULL },
        { "disk", K_STR, false, D(disk.path), NULL },
        { "disk_format", K_ENUM, false, D(disk.format), format_names },
        { "boot", K_ENUM, false, D(boot), boot_names },
        { "nic_model", K_STR, false, D(nic.model), NULL },
        { "mac", K_STR, false, D(nic.mac), NULL },
        { "nic_addr", K_UINT, false, D(nic.pci_slot), NULL },
        { "net", K_ENUM, false, D(net.type), net_names },
        { "bridge", K_STR, false, D(net.bridge), NULL },
        { "user_net", K_STR, false, D(net.network), NULL },
        { "user_host", K_STR, false, D(net.host), NULL },
        { "user_dns", K_STR, false, D(net.dns), NULL },
        { "guest_ip", K_STR, false, D(net.guest_ip), NULL },
        { "agent_port", K_UINT, false, D(net.agent_port), NULL },
        { "guest_ip2", K_STR, false, D(net.guest_ip2), NULL },
        { "user_restrict", K_BOOL, false, D(net.isolated), NULL },
        { "display", K_ENUM, false, D(display), display_names },
        { "vnc", K_BOOL, false, D(vnc.enabled), NULL },
        { "vnc_display", K_UINT, false, D(vnc.display), NULL },
        { "vnc_listen", K_STR, false, D(vnc.listen), NULL },
        { "serial", K_ENUM, false, D(serial.type), serial_names },
        { "serial_path", K_STR, false, D(serial.path), NULL },
        { "vram_mb", K_UINT, false, D(vram_mb), NULL },
        { "secure_boot", K_BOOL, false, D(secure_boot), NULL },
        { "tpm", K_BOOL, false, D(tpm), NULL },
        { "tpm_state", K_STR, false, D(tpm_state), NULL },
        { "rtc", K_ENUM, false, D(clock), rtc_names },
        { "cpu_model", K_STR, false, D(id.cpu.model), NULL },
        { "acpi_oem_id", K_STR, false, D(id.acpi.oem_id), NULL },
        { "acpi_oem_table_id", K_STR, false, D(id.acpi.oem_table_id), NULL },
        { "disk_model", K_STR, false, D(disk.model), NULL },
        { "disk_serial", K_STR, false, D(disk.serial), NULL },
        { "disk_firmware", K_STR, false, D(disk.firmware), NULL },
        { "pointer", K_ENUM, false, D(pointer), pointer_names },
        { "chassis_type", K_UINT, false, D(id.smbios.chassis.type), NULL },
        { "vmport_off", K_BOOL, false, D(vmport_off), NULL },
        { "cpu_threads", K_UINT, false, D(id.cpu.threads_per_core), NULL },
        { "disk_rotation_rate", K_UINT, false, D(disk.rotation_rate), NULL },
        { "kernel", K_STR, false, D(kboot.kernel), NULL },
        { "initrd", K_STR, false, D(kboot.initrd), NULL },
        { "append", K_STR, false, D(kboot.cmdline), NULL },
        { "accel", K_ENUM, true, R(accel), accel_names },
        { "bridge_helper", K_STR, true, R(bridge_helper), NULL },
        { "host_port", K_UINT, true, R(fwd_port), NULL },
        { "host_port2", K_UINT, true, R(fwd_port2), NULL },
        { "extra_arg", K_STRV, true, R(extra_args), NULL },
        { "binary", K_STR, true, R(binary), NULL },
        { "qmp", K_STR, true, R(qmp_socket), NULL },
        { "monitor_none", K_BOOL, true, R(monitor_none), NULL },
        { "incoming", K_STR, true, R(incoming), NULL },
        { "pidfile", K_STR, true, R(pidfile), NULL },
        { "no_reboot", K_BOOL, true, R(no_reboot), NULL },
        { "paused", K_BOOL, true, R(paused), NULL },
        { "version", K_SPECIAL, true, 0, NULL },
        { "cdrom", K_SPECIAL, false, 0, NULL },
        { "extra_cdrom", K_SPECIAL, false, 0, NULL },
        { "cdrom_model", K_SPECIAL, false, 0, NULL },
        { "cdrom_serial", K_SPECIAL, false, 0, NULL },
        { "share", K_SPECIAL, false, 0, NULL },
        { "uefi_vars", K_SPECIAL, false, 0, NULL },
        { "uefi_code", K_SPECIAL, true, 0, NULL },
        { "tpm_socket", K_SPECIAL, true, 0, NULL },
        { "audio", K_SPECIAL, true, 0, NULL },
        { "cpu_flag", K_SPECIAL, false, 0, NULL },
        { "cpu_fms", K_SPECIAL, false, 0, NULL },
        { "disk_wwn", K_SPECIAL, false, 0, NULL },
        { "cdrom_firmware", K_SPECIAL, false, 0, NULL },
        { "nic_subsystem", K_SPECIAL, false, 0, NULL },
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

/* SMBIOS fields by table type and QEMU key (-smbios type=N,key=value). */
struct smbios_key {
        unsigned type;
        const char *key;
        size_t off;            /* char * in struct vm_smbios, or unsigned for numeric */
        bool number;
};

#define S(f) offsetof(struct vm_smbios, f)
static const struct smbios_key smbios_keys[] = {
        { 0, "vendor", S(bios.vendor), false }, { 0, "version", S(bios.version), false },
        { 0, "date", S(bios.date), false }, { 0, "release", S(bios.release), false },
        { 1, "manufacturer", S(system.manufacturer), false }, { 1, "product", S(system.product), false },
        { 1, "version", S(system.version), false }, { 1, "serial", S(system.serial), false },
        { 1, "uuid", S(system.uuid), false }, { 1, "sku", S(system.sku), false },
        { 1, "family", S(system.family), false },
        { 2, "manufacturer", S(baseboard.manufacturer), false }, { 2, "product", S(baseboard.product), false },
        { 2, "version", S(baseboard.version), false }, { 2, "serial", S(baseboard.serial), false },
        { 2, "asset", S(baseboard.asset), false }, { 2, "location", S(baseboard.location), false },
        { 3, "manufacturer", S(chassis.manufacturer), false }, { 3, "version", S(chassis.version), false },
        { 3, "serial", S(chassis.serial), false }, { 3, "asset", S(chassis.asset), false },
        { 3, "sku", S(chassis.sku), false },
        { 4, "sock_pfx", S(processor.socket), false }, { 4, "manufacturer", S(processor.manufacturer), false },
        { 4, "version", S(processor.version), false }, { 4, "serial", S(processor.serial), false },
        { 4, "asset", S(processor.asset), false }, { 4, "part", S(processor.part), false },
        { 4, "max-speed", S(processor.max_speed_mhz), true },
        { 4, "current-speed", S(processor.current_speed_mhz), true },
        { 17, "loc_pfx", S(memory.locator), false }, { 17, "bank", S(memory.bank), false },
        { 17, "manufacturer", S(memory.manufacturer), false }, { 17, "serial", S(memory.serial), false },
        { 17, "asset", S(memory.asset), false }, { 17, "part", S(memory.part), false },
        { 17, "speed", S(memory.speed_mts), true },
};

static int set_smbios(struct vm_def *d, const char *type_s, const char *v, const char **why) {
        unsigned type;
        if (parse_uint(type_s, 0, 127, &type) < 0)
                return *why = "invalid SMBIOS type", -EINVAL;
        const char *eq = strchr(v, '=');
        if (!eq)
                return *why = "an SMBIOS field is key=value", -EINVAL;
        size_t kl = (size_t)(eq - v);
        if (type == 11) {
                if (kl != 5 || strncmp(v, "value", 5) != 0)
                        return *why = "SMBIOS type 11 takes value=TEXT", -EINVAL;
                return strv_extend(&d->id.smbios.oem_strings, eq + 1);
        }
        for (size_t i = 0; i < ELEMENTSOF(smbios_keys); i++) {
                const struct smbios_key *k = &smbios_keys[i];
                if (k->type != type || strlen(k->key) != kl || strncmp(k->key, v, kl) != 0)
                        continue;
                void *field = (char *)&d->id.smbios + k->off;
                if (!k->number)
                        return free_and_strdup((char **)field, eq + 1);
                if (parse_uint(eq + 1, 1, 1000000, (unsigned *)field) < 0)
                        return *why = "not a number", -EINVAL;
                return 0;
        }
        return *why = "no such field in this SMBIOS table (see QEMU's -smbios)", -EINVAL;
}

/* The boot CD-ROM drive, created when missing. */
static struct vm_cdrom *boot_drive(struct vm_def *d) {
        if (d->n_cdroms == 0 && vm_def_add_cdrom(d, NULL) < 0)
                return NULL;
        return &d->cdroms[0];
}

struct load_state {
        char *cdrom_model;     /* apply to every drive, also those added later */
        char *cdrom_firmware;
};

/* nic_subsystem=VVVV:DDDD */
static int set_nic_subsystem(struct vm_def *d, const char *v, const char **why) {
        unsigned ven, dev;
        char tail;
        if (strlen(v) != 9 || v[4] != ':' || strspn(v, "0123456789abcdefABCDEF") != 4 ||
            strspn(v + 5, "0123456789abcdefABCDEF") != 4 || sscanf(v, "%4x:%4x%c", &ven, &dev, &tail) != 2)
                return *why = "a subsystem is VVVV:DDDD in hex, like 8086:0003", -EINVAL;
        d->nic.subsystem_vendor = (uint16_t)ven;
        d->nic.subsystem_device = (uint16_t)dev;
        return 0;
}

/* cpu_fms=FAMILY/MODEL/STEPPING; the ranges are vm_def_check's. */
static int set_cpu_fms(struct vm_def *d, const char *v, const char **why) {
        unsigned f, m, st;
        char tail;
        if (strspn(v, "0123456789/") != strlen(v) || sscanf(v, "%u/%u/%u%c", &f, &m, &st, &tail) != 3)
                return *why = "cpu_fms is FAMILY/MODEL/STEPPING in decimal, like 6/158/10", -EINVAL;
        d->id.cpu.family = f;
        d->id.cpu.model_number = m;
        d->id.cpu.stepping = st;
        return 0;
}

static int set_wwn(struct vm_def *d, const char *v, const char **why) {
        errno = 0;
        char *end;
        unsigned long long w = strtoull(v, &end, 0);
        if (errno || end == v || *end || strchr(v, '-'))
                return *why = "a WWN is a 64-bit number (0x hex or decimal)", -EINVAL;
        d->disk.wwn = w;
        return 0;
}

static int set_special(struct vm_def *d, struct qemu_run *run, enum qemu_argv_purpose *purpose,
                       struct load_state *ls, const char *k, const char *v, const char **why) {
        struct vm_cdrom *cd;
        if (streq(k, "version")) {
                if (qemu_version_parse(v, &run->version) < 0)
                        return *why = "invalid version (use MAJOR.MINOR.MICRO)", -EINVAL;
                return 0;
        }
        if (streq(k, "purpose")) {
                if (streq(v, "run"))
                        *purpose = QEMU_ARGV_RUN;
                else if (streq(v, "start_args"))
                        *purpose = QEMU_ARGV_START_ARGS;
                else
                        return *why = "purpose is run or start_args", -EINVAL;
                return 0;
        }
        if (streq(k, "cdrom"))
                return (cd = boot_drive(d)) ? free_and_strdup(&cd->media, v) : -ENOMEM;
        if (streq(k, "extra_cdrom"))
                return boot_drive(d) ? vm_def_add_cdrom(d, v) : -ENOMEM;
        if (streq(k, "cdrom_model"))
                return free_and_strdup(&ls->cdrom_model, v);
        if (streq(k, "cdrom_firmware"))
                return free_and_strdup(&ls->cdrom_firmware, v);
        if (streq(k, "nic_subsystem"))
                return set_nic_subsystem(d, v, why);
        if (streq(k, "cpu_fms"))
                return set_cpu_fms(d, v, why);
        if (streq(k, "disk_wwn"))
                return set_wwn(d, v, why);
        if (streq(k, "cdrom_serial"))
                return (cd = boot_drive(d)) ? free_and_strdup(&cd->serial, v) : -ENOMEM;
        if (streq(k, "uefi_vars")) {
                d->firmware = VM_FIRMWARE_UEFI;
                return free_and_strdup(&d->nvram, v);
        }
        if (streq(k, "uefi_code")) {
                d->firmware = VM_FIRMWARE_UEFI;
                return free_and_strdup(&run->uefi_code, v);
        }
        if (streq(k, "tpm_socket")) {
                d->tpm = true;
                return free_and_strdup(&run->tpm_socket, v);
        }
        if (streq(k, "audio")) {
                if (!streq(v, "default") && !streq(v, "none"))
                        return *why = "audio is default or none", -EINVAL;
                run->audio_none = streq(v, "none");
                return 0;
        }
        if (streq(k, "cpu_flag")) {
                const char *rest;
                if ((rest = startswith(v, "model-id=")))
                        return free_and_strdup(&d->id.cpu.model_id, rest);
                if (streq(v, "kvm=off")) {
                        d->id.cpu.hide_kvm = true;
                        return 0;
                }
                if (strchr(v, '='))
                        return *why = "a CPU flag is +FEATURE, -FEATURE, kvm=off or model-id=TEXT", -EINVAL;
                bool on = v[0] != '-';
                const char *name = v[0] == '-' || v[0] == '+' ? v + 1 : v;
                if (!*name)
                        return *why = "a CPU flag names a feature", -EINVAL;
                return vm_def_add_cpu_feature(d, name, on);
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
        return vm_def_add_share(d, tag, path, ro);
}

/* Returns 0, -ENOMEM, or -EINVAL with *why set. */
static int set_key(struct vm_def *d, struct qemu_run *run, enum qemu_argv_purpose *purpose, struct load_state *ls,
                   const char *k, const char *v, const char **why) {
        const char *st;
        if ((st = startswith(k, "smbios.")))
                return set_smbios(d, st, v, why);
        const struct key *key = NULL;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(keys[i].name, k))
                        key = &keys[i];
        if (!key)
                return *why = "unknown key", -EINVAL;
        if (key->type == K_SPECIAL)
                return set_special(d, run, purpose, ls, k, v, why);
        void *field = (key->run ? (char *)run : (char *)d) + key->off;
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
        return -EINVAL;
}

int qemu_conf_load_string(const char *text, const char *origin, struct vm_def *def, struct qemu_run *run,
                          enum qemu_argv_purpose *ret_purpose) {
        enum qemu_argv_purpose purpose = QEMU_ARGV_RUN;
        struct load_state ls = { 0 };
        _cleanup_free_ char *copy = strdup(text);
        if (!copy)
                return log_oom();
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
                int r = set_key(def, run, &purpose, &ls, p, val, &why);
                if (r < 0) {
                        free(ls.cdrom_model);
                        free(ls.cdrom_firmware);
                        if (r != -EINVAL)
                                return log_oom();
                        log_error("%s:%u: %s: %s", origin, lineno, p, why);
                        return r;
                }
        }
        int r = 0;
        if ((ls.cdrom_model || ls.cdrom_firmware) && !boot_drive(def))
                r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < def->n_cdroms; i++) {
                if (ls.cdrom_model)
                        r = free_and_strdup(&def->cdroms[i].model, ls.cdrom_model);
                if (r == 0 && ls.cdrom_firmware)
                        r = free_and_strdup(&def->cdroms[i].firmware, ls.cdrom_firmware);
        }
        free(ls.cdrom_model);
        free(ls.cdrom_firmware);
        if (r < 0)
                return log_oom();
        if (r == 0 && ret_purpose)
                *ret_purpose = purpose;
        return r;
}

int qemu_conf_load(const char *path, struct vm_def *def, struct qemu_run *run, enum qemu_argv_purpose *ret_purpose) {
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot read VM config %s: %m", path);
        return qemu_conf_load_string(text, path, def, run, ret_purpose);
}
