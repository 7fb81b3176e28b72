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
        &(d)->disk.firmware, &(d)->nic.model, &(d)->nic.mac, &(d)->net.bridge, &(d)->net.network, &(d)->net.host, &(d)->net.dns,  \
        &(d)->net.guest_ip, &(d)->net.guest_ip2, &(d)->vnc.listen, &(d)->serial.path,                         \
        &(d)->kboot.kernel, &(d)->kboot.initrd, &(d)->kboot.cmdline,                                          \
        &(d)->id.cpu.model, &(d)->id.cpu.model_id, &(d)->id.acpi.oem_id, &(d)->id.acpi.oem_table_id,         \
        SMBIOS_STRINGS(&(d)->id.smbios)

/* Every string a CD-ROM drive owns, for the same reason. */
#define CDROM_STRINGS(c) &(c)->media, &(c)->model, &(c)->serial, &(c)->firmware

static void cdrom_done(struct vm_cdrom *c) {
        char **strings[] = { CDROM_STRINGS(c) };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                free(*strings[i]);
                *strings[i] = NULL;
        }
}

static void cdroms_free(struct vm_cdrom *c, size_t n) {
        for (size_t i = 0; i < n; i++)
                cdrom_done(&c[i]);
        free(c);
}

/* The drive's strings besides its media, copied into an empty drive. */
static int cdrom_copy_strings(const struct vm_cdrom *c, struct vm_cdrom *ret) {
        char **src[] = { CDROM_STRINGS((struct vm_cdrom *)c) };
        char **dst[] = { CDROM_STRINGS(ret) };
        for (size_t i = 1; i < ELEMENTSOF(dst); i++)
                if (*src[i] && !(*dst[i] = strdup(*src[i])))
                        return -ENOMEM;
        return 0;
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
                if (r == 0)
                        r = cdrom_copy_strings(&d->cdroms[i], &ret->cdroms[i]);
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
        for (size_t i = 1; i < d->n_cdroms; i++)
                cdrom_done(&d->cdroms[i]);
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

/* ATA IDENTIFY DEVICE string fields (ACS-3 §7.12.7: serial words 10-19, firmware revision
 * words 23-26, model words 27-46), the sizes QEMU's IDEState keeps them in: QEMU cuts a longer
 * value without a word, so the guest would read another string than the profile's. */
#define ATA_SERIAL_MAX 20
#define ATA_FIRMWARE_MAX 8
#define ATA_MODEL_MAX 40

/* One ATA string of a drive: printable ASCII (the IDENTIFY data are ASCII), not too long. */
static int check_ata_string(const char *drive, const char *field, const char *v, size_t max, char *reason,
                            size_t size) {
        if (!v)
                return 0;
        if (!*v)
                return reason_fail(reason, size, "the %s %s is empty: leave it unset for the driver's", drive, field);
        for (const char *p = v; *p; p++)
                if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                        return reason_fail(reason, size, "the %s %s '%s' holds a byte that is not printable ASCII (ATA strings are ASCII)",
                                           drive, field, v);
        if (strlen(v) > max)
                return reason_fail(reason, size, "the %s %s '%s' is longer than the %zu bytes ATA gives it", drive, field, v, max);
        return 0;
}

static int check_ata_strings(const char *drive, const char *model, const char *serial, const char *firmware,
                             char *reason, size_t size) {
        int r = check_ata_string(drive, "model", model, ATA_MODEL_MAX, reason, size);
        if (r == 0)
                r = check_ata_string(drive, "serial", serial, ATA_SERIAL_MAX, reason, size);
        if (r == 0)
                r = check_ata_string(drive, "firmware revision", firmware, ATA_FIRMWARE_MAX, reason, size);
        return r;
}

/* CPUID leaf 1 as QEMU's x86 CPU properties take it (target/i386/cpu.c: family up to
 * 0xff + 0xf through the extended family, model up to 0xff, stepping up to 0xf). */
static int check_cpuid_version(const struct vm_cpu *c, char *reason, size_t size) {
        if (c->family == 0) {
                if (c->model_number || c->stepping)
                        return reason_fail(reason, size, "a CPU model number or stepping needs the CPU family as well");
                return 0;
        }
        if (c->family > 0xff + 0xf)
                return reason_fail(reason, size, "invalid CPU family %u: use 1 to %u", c->family, 0xff + 0xf);
        if (c->model_number > 0xff)
                return reason_fail(reason, size, "invalid CPU model number %u: use 0 to 255", c->model_number);
        if (c->stepping > 0xf)
                return reason_fail(reason, size, "invalid CPU stepping %u: use 0 to 15", c->stepping);
        if (c->threads_per_core > 2)
                return reason_fail(reason, size, "invalid threads per core %u: use 1 or 2 (SMT)", c->threads_per_core);
        return 0;
}

/* libvirt's <os> direct boot: <initrd> and <cmdline> only with a <kernel>. */
static int check_kernel_boot(const struct vm_kernel_boot *k, char *reason, size_t size) {
        if (!k->kernel && (k->initrd || k->cmdline))
                return reason_fail(reason, size, "a direct-boot initrd or kernel command line needs the kernel to boot as well");
        if ((k->kernel && !*k->kernel) || (k->initrd && !*k->initrd))
                return reason_fail(reason, size, "the direct-boot kernel or initrd path is empty (use NULL for none)");
        for (const char *p = k->cmdline; p && *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return reason_fail(reason, size, "the kernel command line holds a control character: use one line of plain text");
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
        int r = check_kernel_boot(&d->kboot, reason, size);
        if (r < 0)
                return r;
        if (d->nic.model && (isempty(d->nic.model) || !plain_name(d->nic.model)))
                return reason_fail(reason, size, "invalid NIC model '%s'", d->nic.model);
        if (!d->nic.subsystem_vendor != !d->nic.subsystem_device)
                return reason_fail(reason, size, "the NIC's PCI subsystem ids come as a pair: give both the vendor and the device id (%04x:%04x)",
                                   d->nic.subsystem_vendor, d->nic.subsystem_device);
        if (d->nic.pci_slot > 31)
                return reason_fail(reason, size, "invalid NIC PCI slot %u: use 1 to 31", d->nic.pci_slot);
        if (d->nic.mac) {
                uint8_t m[6];
                if (parse_mac(d->nic.mac, m) < 0 || strchr(d->nic.mac, '-'))
                        return reason_fail(reason, size, "invalid MAC address '%s': use colon notation like 00:19:3c:1f:a2:07", d->nic.mac);
        }
        if (d->disk.rotation_rate > 0xfffe)
                return reason_fail(reason, size, "invalid disk rotation rate %u: 1 (an SSD) or the rpm, up to 65534",
                                   d->disk.rotation_rate);
        r = check_ata_strings("disk", d->disk.model, d->disk.serial, d->disk.firmware, reason, size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->n_cdroms; i++) {
                char drive[48];
                snprintf(drive, sizeof drive, "CD-ROM drive %zu", i);
                r = check_ata_strings(drive, d->cdroms[i].model, d->cdroms[i].serial, d->cdroms[i].firmware, reason, size);
                if (r < 0)
                        return r;
        }
        if (d->pointer != VM_POINTER_TABLET && d->pointer != VM_POINTER_PS2)
                return reason_fail(reason, size, "invalid pointer type %d", (int)d->pointer);
        if (d->id.smbios.chassis.type > 0x7f)
                return reason_fail(reason, size, "invalid SMBIOS chassis type %u: use 1 to 127 (SMBIOS 3.x §7.4.1)", d->id.smbios.chassis.type);
        r = check_net(&d->net, reason, size);
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
        return check_cpuid_version(c, reason, size);
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
