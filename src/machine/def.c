/* The VM definition's lifetime (defaults, copies, freeing) and the checks every driver shares. */
#include "machine/def.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipnet.h"
#include "core/util.h"
#include "core/validate.h"

void vm_def_init(struct vm_def *d) {
        memset(d, 0, sizeof *d);
        d->cpus = VM_DEFAULT_CPUS;
        d->ram_mb = VM_DEFAULT_RAM_MB;
        d->nic.pci_slot = VM_DEFAULT_NIC_SLOT;
        d->net.isolated = true;
        d->vram_mb = VM_DEFAULT_VRAM_MB;
}

/* Every string field of the typed tables, so done and copy cannot miss one. */
#define SMBIOS_STRINGS(s)                                                                                     \
        &(s)->bios.vendor, &(s)->bios.version, &(s)->bios.date, &(s)->bios.release,                          \
        &(s)->system.manufacturer, &(s)->system.product, &(s)->system.version, &(s)->system.serial,          \
        &(s)->system.uuid, &(s)->system.sku, &(s)->system.family,                                             \
        &(s)->baseboard.manufacturer, &(s)->baseboard.product, &(s)->baseboard.version,                       \
        &(s)->baseboard.serial, &(s)->baseboard.asset, &(s)->baseboard.location,                              \
        &(s)->chassis.manufacturer, &(s)->chassis.version, &(s)->chassis.serial, &(s)->chassis.asset,        \
        &(s)->chassis.sku,                                                                                    \
        &(s)->processor.socket, &(s)->processor.manufacturer, &(s)->processor.version,                        \
        &(s)->processor.serial, &(s)->processor.asset, &(s)->processor.part,                                  \
        &(s)->memory.locator, &(s)->memory.bank, &(s)->memory.manufacturer, &(s)->memory.serial,             \
        &(s)->memory.asset, &(s)->memory.part

#define DEF_STRINGS(d)                                                                                        \
        &(d)->name, &(d)->nvram, &(d)->tpm_state, &(d)->disk.path, &(d)->disk.model, &(d)->disk.serial,      \
        &(d)->nic.model, &(d)->nic.mac, &(d)->net.bridge, &(d)->net.network, &(d)->net.host, &(d)->net.dns,  \
        &(d)->net.guest_ip, &(d)->net.guest_ip2, &(d)->vnc.listen, &(d)->serial.path,                         \
        &(d)->id.cpu.model, &(d)->id.cpu.model_id, &(d)->id.acpi.oem_id, &(d)->id.acpi.oem_table_id,         \
        SMBIOS_STRINGS(&(d)->id.smbios)

static void cdroms_free(struct vm_cdrom *c, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(c[i].media);
                free(c[i].model);
                free(c[i].serial);
        }
        free(c);
}

void vm_def_done(struct vm_def *d) {
        if (!d)
                return;
        char **strings[] = { DEF_STRINGS(d) };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                free(*strings[i]);
        cdroms_free(d->cdroms, d->n_cdroms);
        for (size_t i = 0; i < d->n_shares; i++) {
                free(d->shares[i].tag);
                free(d->shares[i].path);
        }
        free(d->shares);
        for (size_t i = 0; i < d->id.cpu.n_features; i++)
                free(d->id.cpu.features[i].name);
        free(d->id.cpu.features);
        strv_free(d->id.smbios.oem_strings);
        memset(d, 0, sizeof *d);
}

int vm_def_copy(const struct vm_def *d, struct vm_def *ret) {
        /* Shallow copy first, then replace every owned pointer with its own copy. */
        *ret = *d;
        ret->cdroms = NULL;
        ret->n_cdroms = 0;
        ret->shares = NULL;
        ret->n_shares = 0;
        ret->id.cpu.features = NULL;
        ret->id.cpu.n_features = 0;
        ret->id.smbios.oem_strings = NULL;
        char **src[] = { DEF_STRINGS((struct vm_def *)d) };
        char **dst[] = { DEF_STRINGS(ret) };
        for (size_t i = 0; i < ELEMENTSOF(dst); i++)
                *dst[i] = NULL;
        int r = 0;
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(dst); i++)
                if (*src[i] && !(*dst[i] = strdup(*src[i])))
                        r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < d->n_cdroms; i++) {
                r = vm_def_add_cdrom(ret, d->cdroms[i].media);
                if (r == 0 && ((d->cdroms[i].model && !(ret->cdroms[i].model = strdup(d->cdroms[i].model))) ||
                               (d->cdroms[i].serial && !(ret->cdroms[i].serial = strdup(d->cdroms[i].serial)))))
                        r = -ENOMEM;
        }
        for (size_t i = 0; r == 0 && i < d->n_shares; i++)
                r = vm_def_add_share(ret, d->shares[i].tag, d->shares[i].path, d->shares[i].readonly);
        for (size_t i = 0; r == 0 && i < d->id.cpu.n_features; i++)
                r = vm_def_add_cpu_feature(ret, d->id.cpu.features[i].name, d->id.cpu.features[i].enabled);
        if (r == 0 && d->id.smbios.oem_strings && !(ret->id.smbios.oem_strings = strv_copy(d->id.smbios.oem_strings)))
                r = -ENOMEM;
        if (r < 0)
                vm_def_done(ret);
        return r;
}

int vm_def_add_cdrom(struct vm_def *d, const char *media) {
        struct vm_cdrom *n = realloc(d->cdroms, (d->n_cdroms + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        d->cdroms = n;
        n[d->n_cdroms] = (struct vm_cdrom){ 0 };
        if (media && !(n[d->n_cdroms].media = strdup(media)))
                return -ENOMEM;
        d->n_cdroms++;
        return 0;
}

void vm_def_clear_media(struct vm_def *d) {
        for (size_t i = 1; i < d->n_cdroms; i++) {
                free(d->cdroms[i].media);
                free(d->cdroms[i].model);
                free(d->cdroms[i].serial);
        }
        if (d->n_cdroms > 0) {
                free(d->cdroms[0].media);
                d->cdroms[0].media = NULL;
                d->n_cdroms = 1;
        }
}

int vm_def_add_share(struct vm_def *d, const char *tag, const char *path, bool readonly) {
        struct vm_share *n = realloc(d->shares, (d->n_shares + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        d->shares = n;
        struct vm_share *s = &n[d->n_shares];
        *s = (struct vm_share){ .tag = strdup(tag), .path = strdup(path), .readonly = readonly };
        if (!s->tag || !s->path) {
                free(s->tag);
                free(s->path);
                return -ENOMEM;
        }
        d->n_shares++;
        return 0;
}

int vm_def_add_cpu_feature(struct vm_def *d, const char *name, bool enabled) {
        struct vm_cpu *c = &d->id.cpu;
        struct vm_cpu_feature *n = realloc(c->features, (c->n_features + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        c->features = n;
        n[c->n_features] = (struct vm_cpu_feature){ .name = strdup(name), .enabled = enabled };
        if (!n[c->n_features].name)
                return -ENOMEM;
        c->n_features++;
        return 0;
}

static bool is_power_of_two(unsigned v) { return v && !(v & (v - 1)); }

static bool plain_name(const char *s) {
        for (const char *p = s; *p; p++)
                if (*p == ',' || *p == '=' || *p == ' ' || *p == '/' || (unsigned char)*p < 0x20)
                        return false;
        return true;
}

static int check_net(const struct vm_net *n, char *reason, size_t size) {
        struct ipv4_net cidr;
        uint32_t a;
        switch (n->type) {
        case VM_NET_BRIDGE:
                if (n->bridge) {
                        char buf[NAME_PROBLEM_MAX];
                        const char *why = name_problem(NAME_BRIDGE, n->bridge, buf);
                        if (why)
                                return reason_fail(reason, size, "invalid bridge name '%s': %s", n->bridge, why);
                }
                break;
        case VM_NET_USER:
                if (!isempty(n->network) && parse_cidr(n->network, &cidr) < 0)
                        return reason_fail(reason, size, "invalid user-mode network '%s': use a CIDR like 10.0.2.0/24", n->network);
                if (!isempty(n->host) && parse_ipv4(n->host, &a) < 0)
                        return reason_fail(reason, size, "invalid user-mode host address '%s'", n->host);
                if (!isempty(n->dns) && parse_ipv4(n->dns, &a) < 0)
                        return reason_fail(reason, size, "invalid user-mode DNS address '%s'", n->dns);
                break;
        case VM_NET_NONE:
                break;
        default:
                return reason_fail(reason, size, "invalid network type %d", (int)n->type);
        }
        if (!isempty(n->guest_ip) && parse_ipv4(n->guest_ip, &a) < 0)
                return reason_fail(reason, size, "invalid guest IP '%s'", n->guest_ip);
        if (!isempty(n->guest_ip2) && parse_ipv4(n->guest_ip2, &a) < 0)
                return reason_fail(reason, size, "invalid second guest IP '%s'", n->guest_ip2);
        if (n->agent_port > 65535)
                return reason_fail(reason, size, "invalid agent port %u: use 1 to 65535", n->agent_port);
        return 0;
}

int vm_def_check(const struct vm_def *d, char *reason, size_t size) {
        if (d->cpus < 1 || d->cpus > 255)
                return reason_fail(reason, size, "invalid CPU count %u: use 1 to 255", d->cpus);
        if (d->ram_mb < 32 || d->ram_mb > 4u * 1024 * 1024)
                return reason_fail(reason, size, "invalid RAM size %u MiB: use 32 MiB to 4 TiB", d->ram_mb);
        for (size_t i = 0; i < d->n_cdroms; i++)
                if (d->cdroms[i].media && !*d->cdroms[i].media)
                        return reason_fail(reason, size, "CD-ROM drive %zu has an empty media path (use NULL for an empty tray)", i);
        if (d->nic.model && (isempty(d->nic.model) || !plain_name(d->nic.model)))
                return reason_fail(reason, size, "invalid NIC model '%s'", d->nic.model);
        if (d->nic.pci_slot > 31)
                return reason_fail(reason, size, "invalid NIC PCI slot %u: use 1 to 31", d->nic.pci_slot);
        if (d->nic.mac) {
                uint8_t m[6];
                if (parse_mac(d->nic.mac, m) < 0 || strchr(d->nic.mac, '-'))
                        return reason_fail(reason, size, "invalid MAC address '%s': use colon notation like 00:19:3c:1f:a2:07", d->nic.mac);
        }
        int r = check_net(&d->net, reason, size);
        if (r < 0)
                return r;
        if (d->vnc.enabled && d->vnc.display > 65535 - 5900)
                return reason_fail(reason, size, "invalid VNC display %u: the port is 5900+N, so N must be at most %d", d->vnc.display,
                     65535 - 5900);
        if ((d->serial.type == VM_SERIAL_FILE || d->serial.type == VM_SERIAL_UNIX) && isempty(d->serial.path))
                return reason_fail(reason, size, "the serial port needs a path");
        for (size_t i = 0; i < d->n_shares; i++)
                if (isempty(d->shares[i].tag) || isempty(d->shares[i].path))
                        return reason_fail(reason, size, "a shared folder needs a tag and a path");
        unsigned vram = d->vram_mb ? d->vram_mb : VM_DEFAULT_VRAM_MB;
        if (!is_power_of_two(vram) || vram > 256)
                return reason_fail(reason, size, "invalid VRAM size %u MiB: use a power of two from 1 to 256", vram);
        if (d->secure_boot && d->firmware != VM_FIRMWARE_UEFI)
                return reason_fail(reason, size, "Secure Boot needs UEFI firmware");
        if (d->firmware == VM_FIRMWARE_UEFI && isempty(d->nvram))
                return reason_fail(reason, size, "UEFI needs this VM's own variable store (nvram)");
        if (d->firmware != VM_FIRMWARE_UEFI && !isempty(d->nvram))
                return reason_fail(reason, size, "a variable store (nvram) needs UEFI firmware");
        const struct vm_acpi *a = &d->id.acpi;
        if (a->oem_id && strlen(a->oem_id) > 6)
                return reason_fail(reason, size, "the ACPI OEM id '%s' is longer than 6 bytes", a->oem_id);
        if (a->oem_table_id && strlen(a->oem_table_id) > 8)
                return reason_fail(reason, size, "the ACPI OEM table id '%s' is longer than 8 bytes", a->oem_table_id);
        const struct vm_cpu *c = &d->id.cpu;
        if (c->model && (isempty(c->model) || !plain_name(c->model)))
                return reason_fail(reason, size, "invalid CPU model '%s'", c->model);
        for (size_t i = 0; i < c->n_features; i++)
                if (isempty(c->features[i].name) || !plain_name(c->features[i].name))
                        return reason_fail(reason, size, "invalid CPU feature name '%s'", strempty(c->features[i].name));
        return 0;
}

const char *vm_net_type_to_string(enum vm_net_type t) {
        switch (t) {
        case VM_NET_BRIDGE:
                return "bridge";
        case VM_NET_USER:
                return "user";
        case VM_NET_NONE:
                return "none";
        }
        return "?";
}

const char *vm_serial_type_to_string(enum vm_serial_type t) {
        switch (t) {
        case VM_SERIAL_NONE:
                return "none";
        case VM_SERIAL_FILE:
                return "file";
        case VM_SERIAL_PTY:
                return "pty";
        case VM_SERIAL_UNIX:
                return "unix";
        }
        return "?";
}
