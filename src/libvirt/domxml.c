/* A VM definition as libvirt domain XML: the machine src/qemu/argv.c renders, in libvirt's terms. */
#include "libvirt/domxml.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "core/log.h"
#include "core/util.h"
#include "machine/smbios.h"

#define QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* User aliases (libvirt keeps "ua-" names as the QEMU device id): what <qemu:override> names. */
#define ALIAS_DISK "ua-disk"
#define ALIAS_NIC "ua-net0"
#define ALIAS_SATA "ua-ahci"

/* The built-in ICH9 AHCI of q35 (00:1f.2) is libvirt's SATA controller 0; VMCloak's drives are on
 * a second ich9-ahci, libvirt's SATA controller 1. */
#define SATA_INDEX 1
#define PCI_SLOTS 32
#define VGA_SLOT 1

/* One rendering: r is the first error (-ENOMEM), after which every writer call does nothing. */
struct xml {
        xmlTextWriterPtr w;
        const struct vm_def *d;
        const struct libvirt_xml_host *h;
        char **args;           /* <qemu:commandline> arguments, in order */
        int r;
};

static void fail(struct xml *x, int r) {
        if (x->r == 0)
                x->r = r;
}

static void check(struct xml *x, int rc) {
        if (rc < 0)
                fail(x, -ENOMEM);
}

static void start(struct xml *x, const char *name) {
        if (x->r == 0)
                check(x, xmlTextWriterStartElement(x->w, BAD_CAST name));
}

static void end(struct xml *x) {
        if (x->r == 0)
                check(x, xmlTextWriterEndElement(x->w));
}

static void attr(struct xml *x, const char *name, const char *value) {
        if (x->r == 0 && value)
                check(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value));
}

static void attrf(struct xml *x, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void attrf(struct xml *x, const char *name, const char *fmt, ...) {
        if (x->r < 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        check(x, xmlTextWriterWriteVFormatAttribute(x->w, BAD_CAST name, fmt, ap));
        va_end(ap);
}

static void text(struct xml *x, const char *s) {
        if (x->r == 0)
                check(x, xmlTextWriterWriteString(x->w, BAD_CAST s));
}

static void textf(struct xml *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void textf(struct xml *x, const char *fmt, ...) {
        if (x->r < 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        check(x, xmlTextWriterWriteVFormatString(x->w, fmt, ap));
        va_end(ap);
}

/* <name>value</name>, left out when value is NULL. */
static void elem(struct xml *x, const char *name, const char *value) {
        if (!value)
                return;
        start(x, name);
        text(x, value);
        end(x);
}

/* <tag attr='value'/> with one attribute. */
static void empty1(struct xml *x, const char *tag, const char *a, const char *value) {
        start(x, tag);
        attr(x, a, value);
        end(x);
}

static void arg(struct xml *x, const char *s) {
        if (x->r == 0 && strv_extend(&x->args, s) < 0)
                fail(x, -ENOMEM);
}

/* Append s (owned; NULL: out of memory) to the command line. */
static void arg_owned(struct xml *x, char *s) {
        if (!s)
                fail(x, -ENOMEM);
        if (x->r < 0) {
                free(s);
                return;
        }
        if (strv_push(&x->args, s) < 0)
                fail(x, -ENOMEM);
}

static void argf(struct xml *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void argf(struct xml *x, const char *fmt, ...) {
        if (x->r < 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        char *s = strdup_vprintf(fmt, ap);
        va_end(ap);
        arg_owned(x, s);
}

/* A QEMU option value with every ',' doubled (QEMU's QemuOpts/keyval escape). */
static char *opt_escape(const char *s) { return str_double_char(s, ','); }

/* ",key=value" (value escaped) onto *s; frees *s and leaves NULL on OOM. */
static void opt_add(char **s, const char *key, const char *value) {
        if (!*s || !value)
                return;
        _cleanup_free_ char *e = opt_escape(value);
        char *n = e ? strdup_printf("%s,%s=%s", *s, key, e) : NULL;
        free(*s);
        *s = n;
}

static void opt_addu(char **s, const char *key, unsigned value) {
        if (!*s || !value)
                return;
        char *n = strdup_printf("%s,%s=%u", *s, key, value);
        free(*s);
        *s = n;
}

static const struct vm_cdrom *cdrom(const struct vm_def *d, size_t i) {
        static const struct vm_cdrom empty = { 0 };
        return i < d->n_cdroms ? &d->cdroms[i] : &empty;
}

/*
 * The PCI slots QEMU gives argv.c's devices on pcie.0 (first free slot, in argv order): VGA 1,
 * the NIC its own, then ich9-ahci, the EHCI, intel-hda and each 9p share. libvirt would pick
 * others (and put conventional PCI devices behind a pcie-to-pci-bridge), so every address is
 * written out.
 */
struct slots {
        unsigned nic, ahci, ehci, hda;
        unsigned *shares;
};

static int plan_slots(const struct vm_def *d, struct slots *s) {
        bool used[PCI_SLOTS] = { [0] = true, [VGA_SLOT] = true };
        s->nic = d->nic.pci_slot ? d->nic.pci_slot : VM_DEFAULT_NIC_SLOT;
        used[s->nic] = true;
        unsigned *want[] = { &s->ahci, &s->ehci, &s->hda };
        s->shares = calloc(d->n_shares + 1, sizeof *s->shares);
        if (!s->shares)
                return -ENOMEM;
        size_t n = ELEMENTSOF(want) + d->n_shares;
        unsigned next = 1;
        for (size_t i = 0; i < n; i++) {
                while (next < PCI_SLOTS && used[next])
                        next++;
                if (next >= PCI_SLOTS)
                        return -ENOSPC;
                used[next] = true;
                if (i < ELEMENTSOF(want))
                        *want[i] = next;
                else
                        s->shares[i - ELEMENTSOF(want)] = next;
        }
        return 0;
}

static void pci_address(struct xml *x, unsigned slot) {
        start(x, "address");
        attr(x, "type", "pci");
        attr(x, "domain", "0x0000");
        attr(x, "bus", "0x00");
        attrf(x, "slot", "0x%02x", slot);
        attr(x, "function", "0x0");
        end(x);
}

static void alias(struct xml *x, const char *name) {
        empty1(x, "alias", "name", name);
}

static char *cdrom_alias(size_t i) {
        return i == 0 ? strdup("ua-cdrom") : strdup_printf("ua-cdrom%zu", i);
}

/*
 * libvirt 9.0 writes a disk <serial> with every space escaped by a backslash (a leftover of
 * -drive serial=), which QEMU then reports verbatim: a serial with a space goes through the
 * override instead (QEMU's ide-hd/ide-cd serial=).
 */
static bool serial_in_override(const char *serial) {
        return serial && strchr(serial, ' ');
}

static const char *serial_element(const char *serial) {
        return serial_in_override(serial) ? NULL : serial;
}

/* --- the domain's head: identity, memory, CPUs, SMBIOS, firmware ---------------------------- */

static const char *domain_uuid(const struct xml *x) {
        return x->h->uuid ? x->h->uuid : x->d->id.smbios.system.uuid;
}

static void entry(struct xml *x, const char *name, const char *value) {
        start(x, "entry");
        attr(x, "name", name);
        text(x, value);
        end(x);
}

/*
 * The SMBIOS tables <sysinfo> has an element for (types 0, 1, 2, 3), each field in libvirt's
 * entry name, which is QEMU's -smbios key too. A field set to "" is no entry: libvirt drops
 * empty entries and QEMU would then write its own default (type 1 version is the machine type
 * "pc-q35-7.2", a VM tell), where argv.c's "version=" writes none; it goes through
 * <qemu:commandline> as -smbios type=N,KEY= after libvirt's own -smbios (QEMU merges them).
 */
#define SMBIOS_MAX_FIELDS 7
struct smbios_block {
        unsigned type;
        const char *tag;                /* <sysinfo> child */
        bool in_file;                   /* -smbios file= instead (types 0 and 3) */
        size_t n;
        const char *names[SMBIOS_MAX_FIELDS], *values[SMBIOS_MAX_FIELDS];
};

static bool smbios_file(const struct xml *x, unsigned type);

static void smbios_blocks(const struct xml *x, struct smbios_block b[4]) {
        const struct vm_smbios *m = &x->d->id.smbios;
        b[0] = (struct smbios_block){ 0, "bios", smbios_file(x, 0), 4, { "vendor", "version", "date", "release" },
                                      { m->bios.vendor, m->bios.version, m->bios.date, m->bios.release } };
        b[1] = (struct smbios_block){ 1, "system", false, 7,
                                      { "manufacturer", "product", "version", "serial", "uuid", "sku", "family" },
                                      { m->system.manufacturer, m->system.product, m->system.version,
                                        m->system.serial, m->system.uuid, m->system.sku, m->system.family } };
        b[2] = (struct smbios_block){ 2, "baseBoard", false, 6,
                                      { "manufacturer", "product", "version", "serial", "asset", "location" },
                                      { m->baseboard.manufacturer, m->baseboard.product, m->baseboard.version,
                                        m->baseboard.serial, m->baseboard.asset, m->baseboard.location } };
        b[3] = (struct smbios_block){ 3, "chassis", smbios_file(x, 3), 5,
                                      { "manufacturer", "version", "serial", "asset", "sku" },
                                      { m->chassis.manufacturer, m->chassis.version, m->chassis.serial,
                                        m->chassis.asset, m->chassis.sku } };
}

static bool block_has_entry(const struct smbios_block *b) {
        if (b->in_file)
                return false;
        for (size_t i = 0; i < b->n; i++)
                if (!isempty(b->values[i]))
                        return true;
        return false;
}

/* Whether type 0 / 3 goes through the host's file rather than <sysinfo>. */
static bool smbios_file(const struct xml *x, unsigned type) {
        const char *path = type == 0 ? x->h->smbios_type0_path : x->h->smbios_type3_path;
        return path && vm_smbios_in_file(&x->d->id.smbios, type);
}

static bool sysinfo_needed(const struct xml *x) {
        struct smbios_block b[4];
        smbios_blocks(x, b);
        for (size_t i = 0; i < 4; i++)
                if (block_has_entry(&b[i]))
                        return true;
        return strv_length(x->d->id.smbios.oem_strings) > 0;
}

/* SMBIOS types 0 (unless a file), 1, 2, 3 (unless a file) and 11: <sysinfo type='smbios'>. */
static void write_sysinfo(struct xml *x) {
        const struct vm_smbios *m = &x->d->id.smbios;
        if (!sysinfo_needed(x))
                return;
        struct smbios_block b[4];
        smbios_blocks(x, b);
        start(x, "sysinfo");
        attr(x, "type", "smbios");
        for (size_t i = 0; i < 4; i++) {
                if (!block_has_entry(&b[i]))
                        continue;
                start(x, b[i].tag);
                for (size_t k = 0; k < b[i].n; k++)
                        if (!isempty(b[i].values[k]))
                                entry(x, b[i].names[k], b[i].values[k]);
                end(x);
        }
        if (m->oem_strings) {
                start(x, "oemStrings");
                STRV_FOREACH(s, m->oem_strings)
                        elem(x, "entry", *s);
                end(x);
        }
        end(x);
}

static void write_os(struct xml *x) {
        const struct vm_def *d = x->d;
        const struct libvirt_xml_host *h = x->h;
        bool uefi = d->firmware == VM_FIRMWARE_UEFI;
        start(x, "os");
        /* Without a code file libvirt picks OVMF from its firmware descriptors. */
        if (uefi && !h->ovmf_code)
                attr(x, "firmware", "efi");
        start(x, "type");
        attr(x, "arch", "x86_64");
        attr(x, "machine", h->machine ? h->machine : "q35");
        text(x, "hvm");
        end(x);
        if (uefi) {
                if (h->ovmf_code) {
                        start(x, "loader");
                        attr(x, "readonly", "yes");
                        attr(x, "secure", d->secure_boot ? "yes" : "no");
                        attr(x, "type", "pflash");
                        text(x, h->ovmf_code);
                        end(x);
                } else {
                        /* Autoselection (libvirt 9.0 refuses <loader> attributes there but
                         * secure='yes'): the firmware descriptors' features pick OVMF; Secure
                         * Boot with Microsoft's keys enrolled, as argv.c's .ms vars. */
                        const char *on = d->secure_boot ? "yes" : "no";
                        start(x, "firmware");
                        start(x, "feature");
                        attr(x, "enabled", on);
                        attr(x, "name", "enrolled-keys");
                        end(x);
                        start(x, "feature");
                        attr(x, "enabled", on);
                        attr(x, "name", "secure-boot");
                        end(x);
                        end(x);
                }
                if (d->nvram || h->ovmf_vars_template) {
                        start(x, "nvram");
                        attr(x, "template", h->ovmf_vars_template);
                        if (h->nvram_qcow2 && h->ovmf_vars_template) {
                                attr(x, "templateFormat", "raw");
                                attr(x, "format", "qcow2");
                        }
                        if (d->nvram)
                                text(x, d->nvram);
                        end(x);
                }
        }
        /* Direct kernel boot (libvirt's formatdomain "Direct kernel boot"): after the loader. */
        if (d->kboot.kernel) {
                start(x, "kernel");
                text(x, d->kboot.kernel);
                end(x);
                if (d->kboot.initrd) {
                        start(x, "initrd");
                        text(x, d->kboot.initrd);
                        end(x);
                }
                if (d->kboot.cmdline) {
                        start(x, "cmdline");
                        text(x, d->kboot.cmdline);
                        end(x);
                }
        }
        if (sysinfo_needed(x))
                empty1(x, "smbios", "mode", "sysinfo");
        end(x);
}

static void write_features(struct xml *x) {
        const struct vm_def *d = x->d;
        start(x, "features");
        start(x, "acpi");
        end(x);
        if (d->id.cpu.hide_kvm) {
                start(x, "kvm");
                empty1(x, "hidden", "state", "on");
                end(x);
        }
        if (d->vmport_off)
                empty1(x, "vmport", "state", "off");
        if (d->secure_boot)
                empty1(x, "smm", "state", "on");
        end(x);
}

static bool cpu_model_needed(const struct vm_cpu *c) {
        return !isempty(c->model) || c->n_features > 0 || c->hide_kvm || !isempty(c->model_id) || c->family;
}

/*
 * <cpu>: the model and features when argv.c gives -cpu (qemu64 when only flags are set), and
 * always the topology: libvirt writes -smp N,sockets=N when <topology> is missing, where QEMU
 * 7.2's own default for argv's plain -smp N (q35 7.2 prefers cores) is one socket of N cores.
 */
static void write_cpu(struct xml *x) {
        const struct vm_def *d = x->d;
        const struct vm_cpu *c = &d->id.cpu;
        unsigned cpus = d->cpus ? d->cpus : VM_DEFAULT_CPUS;
        unsigned t = c->threads_per_core > 1 && cpus % c->threads_per_core == 0 ? c->threads_per_core : 1;
        start(x, "cpu");
        if (cpu_model_needed(c)) {
                attr(x, "mode", "custom");
                attr(x, "match", "exact");
                /* libvirt's check against the host's CPU would refuse what QEMU only warns
                 * about (TCG lacks some of a model's features); argv.c does not check either. */
                attr(x, "check", "none");
                start(x, "model");
                attr(x, "fallback", "forbid");
                text(x, isempty(c->model) ? "qemu64" : c->model);
                end(x);
        }
        start(x, "topology");
        attr(x, "sockets", "1");
        attr(x, "dies", "1");
        attrf(x, "cores", "%u", cpus / t);
        attrf(x, "threads", "%u", t);
        end(x);
        for (size_t i = 0; i < c->n_features; i++) {
                start(x, "feature");
                attr(x, "policy", c->features[i].enabled ? "require" : "disable");
                attr(x, "name", c->features[i].name);
                end(x);
        }
        end(x);
}

static void write_clock(struct xml *x) {
        start(x, "clock");
        attr(x, "offset", x->d->clock == VM_CLOCK_UTC ? "utc" : "localtime");
        /* -rtc driftfix=slew */
        start(x, "timer");
        attr(x, "name", "rtc");
        attr(x, "tickpolicy", "catchup");
        end(x);
        end(x);
}

/* --- devices ----------------------------------------------------------------------------------- */

static void drive_address(struct xml *x, unsigned port) {
        start(x, "address");
        attr(x, "type", "drive");
        attrf(x, "controller", "%u", SATA_INDEX);
        attr(x, "bus", "0");
        attr(x, "target", "0");
        attrf(x, "unit", "%u", port);
        end(x);
}

static void write_disk(struct xml *x) {
        const struct vm_disk *k = &x->d->disk;
        start(x, "disk");
        attr(x, "type", "file");
        attr(x, "device", "disk");
        start(x, "driver");
        attr(x, "name", "qemu");
        attr(x, "type", k->format == VM_DISK_RAW ? "raw" : "qcow2");
        end(x);
        if (k->path)
                empty1(x, "source", "file", k->path);
        start(x, "target");
        attr(x, "dev", "sda");
        attr(x, "bus", "sata");
        if (k->rotation_rate)
                attrf(x, "rotation_rate", "%u", k->rotation_rate);
        end(x);
        elem(x, "serial", serial_element(k->serial));
        empty1(x, "boot", "order", x->d->boot == VM_BOOT_DISK_FIRST ? "1" : "2");
        alias(x, ALIAS_DISK);
        drive_address(x, 0);
        end(x);
}

static void write_cdrom(struct xml *x, size_t i) {
        const struct vm_cdrom *c = cdrom(x->d, i);
        _cleanup_free_ char *al = cdrom_alias(i);
        char dev[8];
        snprintf(dev, sizeof dev, "sd%c", (char)('b' + i));
        if (!al) {
                fail(x, -ENOMEM);
                return;
        }
        start(x, "disk");
        attr(x, "type", "file");
        attr(x, "device", "cdrom");
        start(x, "driver");
        attr(x, "name", "qemu");
        attr(x, "type", "raw");
        end(x);
        if (c->media)
                empty1(x, "source", "file", c->media);
        start(x, "target");
        attr(x, "dev", dev);
        attr(x, "bus", "sata");
        end(x);
        start(x, "readonly");
        end(x);
        elem(x, "serial", serial_element(c->serial));
        if (i == 0)
                empty1(x, "boot", "order", x->d->boot == VM_BOOT_DISK_FIRST ? "2" : "1");
        alias(x, al);
        drive_address(x, (unsigned)i + 1);
        end(x);
}

static void write_controllers(struct xml *x, const struct slots *s) {
        /* argv.c's -device ich9-ahci,id=ahci: a second AHCI beside q35's built-in one. */
        start(x, "controller");
        attr(x, "type", "sata");
        attrf(x, "index", "%u", SATA_INDEX);
        alias(x, ALIAS_SATA);
        pci_address(x, s->ahci);
        end(x);
        /* The tablet's usb-ehci (an ICH4's), or a PS/2 PC's own ICH9 EHCI without a device. */
        start(x, "controller");
        attr(x, "type", "usb");
        attr(x, "index", "0");
        attr(x, "model", x->d->pointer == VM_POINTER_PS2 ? "ich9-ehci1" : "ehci");
        pci_address(x, s->ehci);
        end(x);
}

static void write_shares(struct xml *x, const struct slots *s) {
        for (size_t i = 0; i < x->d->n_shares; i++) {
                const struct vm_share *sh = &x->d->shares[i];
                start(x, "filesystem");
                attr(x, "type", "mount");
                /* security_model=none */
                attr(x, "accessmode", "squash");
                empty1(x, "source", "dir", sh->path);
                empty1(x, "target", "dir", sh->tag);
                if (sh->readonly) {
                        start(x, "readonly");
                        end(x);
                }
                pci_address(x, s->shares[i]);
                end(x);
        }
}

static const char *nic_model(const struct vm_def *d) {
        return d->nic.model ? d->nic.model : VM_DEFAULT_NIC;
}

/* A bridged NIC is libvirt's own <interface>; the user-mode and backend-less NICs are argv.c's
 * -netdev/-device pair in <qemu:commandline> (libvirt 9.0's user <interface> has no port forward). */
static void write_interface(struct xml *x, const struct slots *s) {
        const struct vm_def *d = x->d;
        if (d->net.type != VM_NET_BRIDGE)
                return;
        start(x, "interface");
        attr(x, "type", "bridge");
        if (d->nic.mac)
                empty1(x, "mac", "address", d->nic.mac);
        empty1(x, "source", "bridge", d->net.bridge ? d->net.bridge : VM_DEFAULT_BRIDGE);
        empty1(x, "model", "type", nic_model(d));
        alias(x, ALIAS_NIC);
        pci_address(x, s->nic);
        end(x);
}

static void cmdline_nic(struct xml *x, const struct slots *s) {
        const struct vm_def *d = x->d;
        const struct vm_net *n = &d->net;
        if (n->type == VM_NET_BRIDGE)
                return;
        if (n->type == VM_NET_USER) {
                char *v = strdup("user");
                const char *kv[][2] = { { "net", n->network }, { "host", n->host }, { "dns", n->dns },
                                        { "dhcpstart", n->guest_ip } };
                for (size_t i = 0; i < ELEMENTSOF(kv); i++)
                        if (!isempty(kv[i][1]))
                                opt_add(&v, kv[i][0], kv[i][1]);
                if (n->isolated)
                        opt_add(&v, "restrict", "on");
                const char *ips[] = { n->guest_ip, n->guest_ip2 };
                for (size_t i = 0; i < 2 && v; i++) {
                        if (!x->h->agent_forward[i])
                                continue;
                        char *nv = strdup_printf("%s,hostfwd=tcp:127.0.0.1:%u-%s:%u", v, x->h->agent_forward[i],
                                                 strempty(ips[i]), n->agent_port);
                        free(v);
                        v = nv;
                }
                opt_add(&v, "id", "net0");
                arg(x, "-netdev");
                arg_owned(x, v);
        }
        char *dev = strdup(nic_model(d));
        if (n->type == VM_NET_USER)
                opt_add(&dev, "netdev", "net0");
        opt_add(&dev, "mac", d->nic.mac);
        if (d->nic.subsystem_vendor && dev) {
                char *nv = strdup_printf("%s,subsys_ven=0x%04x,subsys=0x%04x", dev, d->nic.subsystem_vendor,
                                         d->nic.subsystem_device);
                free(dev);
                dev = nv;
        }
        opt_add(&dev, "id", ALIAS_NIC);
        opt_add(&dev, "bus", "pcie.0");
        if (dev) {
                char *nv = strdup_printf("%s,addr=0x%x", dev, s->nic);
                free(dev);
                dev = nv;
        }
        arg(x, "-device");
        arg_owned(x, dev);
}

static void write_serial(struct xml *x) {
        const struct vm_serial *s = &x->d->serial;
        if (s->type == VM_SERIAL_NONE)
                return;
        start(x, "serial");
        switch (s->type) {
        case VM_SERIAL_FILE:
                attr(x, "type", "file");
                start(x, "source");
                attr(x, "path", s->path);
                /* libvirt truncates the file at every QEMU start otherwise (a revert is one). */
                attr(x, "append", "on");
                end(x);
                break;
        case VM_SERIAL_PTY:
                attr(x, "type", "pty");
                break;
        case VM_SERIAL_UNIX:
                attr(x, "type", "unix");
                start(x, "source");
                attr(x, "mode", "bind");
                attr(x, "path", s->path);
                end(x);
                break;
        case VM_SERIAL_NONE:
                break;
        }
        empty1(x, "target", "port", "0");
        end(x);
}

static void write_input(struct xml *x) {
        if (x->d->pointer == VM_POINTER_PS2)
                return;
        start(x, "input");
        attr(x, "type", "tablet");
        attr(x, "bus", "usb");
        start(x, "address");
        attr(x, "type", "usb");
        attr(x, "bus", "0");
        attr(x, "port", "1");
        end(x);
        end(x);
}

static void write_tpm(struct xml *x) {
        if (!x->d->tpm)
                return;
        start(x, "tpm");
        attr(x, "model", "tpm-tis");
        start(x, "backend");
        if (x->h->tpm_socket) {
                attr(x, "type", "external");
                start(x, "source");
                attr(x, "type", "unix");
                attr(x, "mode", "connect");
                attr(x, "path", x->h->tpm_socket);
                end(x);
        } else {
                attr(x, "type", "emulator");
                attr(x, "version", "2.0");
        }
        end(x);
        end(x);
}

static void write_graphics(struct xml *x) {
        const struct vm_def *d = x->d;
        if (d->display == VM_DISPLAY_WINDOW) {
                start(x, "graphics");
                attr(x, "type", "sdl");
                end(x);
        }
        if (!d->vnc.enabled)
                return;
        const char *l = isempty(d->vnc.listen) ? VM_DEFAULT_VNC_LISTEN : d->vnc.listen;
        start(x, "graphics");
        attr(x, "type", "vnc");
        attrf(x, "port", "%u", 5900 + d->vnc.display);
        attr(x, "autoport", "no");
        start(x, "listen");
        attr(x, "type", "address");
        attr(x, "address", l);
        end(x);
        end(x);
}

static void write_sound(struct xml *x, const struct slots *s) {
        start(x, "sound");
        attr(x, "model", "ich6");
        empty1(x, "codec", "type", "duplex");
        empty1(x, "audio", "id", "1");
        pci_address(x, s->hda);
        end(x);
        /* -audiodev none: the guest sees the same HDA device whatever plays it. */
        start(x, "audio");
        attr(x, "id", "1");
        attr(x, "type", "none");
        end(x);
}

static void write_video(struct xml *x) {
        unsigned v = x->d->vram_mb ? x->d->vram_mb : VM_DEFAULT_VRAM_MB;
        start(x, "video");
        start(x, "model");
        attr(x, "type", "vga");
        /* libvirt's vram (KiB) is QEMU's VGA vgamem_mb. */
        attrf(x, "vram", "%u", v * 1024);
        attr(x, "heads", "1");
        attr(x, "primary", "yes");
        end(x);
        pci_address(x, VGA_SLOT);
        end(x);
}

static void write_devices(struct xml *x, const struct slots *s) {
        const struct vm_def *d = x->d;
        start(x, "devices");
        elem(x, "emulator", x->h->emulator);
        write_disk(x);
        size_t n = d->n_cdroms ? d->n_cdroms : 1;
        for (size_t i = 0; i < n; i++)
                write_cdrom(x, i);
        write_controllers(x, s);
        write_shares(x, s);
        write_interface(x, s);
        write_serial(x);
        write_input(x);
        write_tpm(x);
        write_graphics(x);
        write_sound(x, s);
        write_video(x);
        empty1(x, "memballoon", "model", "none");
        end(x);
}

/* --- what libvirt 9.0 has no element for ----------------------------------------------------- */

/* -smbios type=N,... from (key, value) pairs; numbers in nums (0: not set). */
static void cmdline_smbios_table(struct xml *x, unsigned type, const char *const (*kv)[2], size_t n,
                                 const char *const *num_keys, const unsigned *nums, size_t n_nums) {
        char *s = strdup_printf("type=%u", type);
        bool any = false;
        for (size_t i = 0; i < n; i++)
                if (kv[i][1]) {
                        opt_add(&s, kv[i][0], kv[i][1]);
                        any = true;
                }
        for (size_t i = 0; i < n_nums; i++)
                if (nums[i]) {
                        opt_addu(&s, num_keys[i], nums[i]);
                        any = true;
                }
        if (!any && s) {
                free(s);
                return;
        }
        arg(x, "-smbios");
        arg_owned(x, s);
}

static void cmdline_smbios_file(struct xml *x, const char *path) {
        _cleanup_free_ char *e = opt_escape(path);
        if (!e) {
                fail(x, -ENOMEM);
                return;
        }
        arg(x, "-smbios");
        argf(x, "file=%s", e);
}

/* -smbios type=N,KEY=,... for the fields set to "" (see smbios_blocks). */
static void cmdline_smbios_empty(struct xml *x) {
        struct smbios_block b[4];
        smbios_blocks(x, b);
        for (size_t i = 0; i < 4; i++) {
                if (b[i].in_file)
                        continue;
                char *s = strdup_printf("type=%u", b[i].type);
                bool any = false;
                for (size_t k = 0; k < b[i].n && s; k++) {
                        if (!b[i].values[k] || *b[i].values[k])
                                continue;
                        char *n = strdup_printf("%s,%s=", s, b[i].names[k]);
                        free(s);
                        s = n;
                        any = true;
                }
                if (!any && s) {
                        free(s);
                        continue;
                }
                arg(x, "-smbios");
                arg_owned(x, s);
        }
}

static void cmdline_smbios(struct xml *x) {
        const struct vm_smbios *m = &x->d->id.smbios;
        cmdline_smbios_empty(x);
        if (smbios_file(x, 0))
                cmdline_smbios_file(x, x->h->smbios_type0_path);
        if (smbios_file(x, 3))
                cmdline_smbios_file(x, x->h->smbios_type3_path);
        const struct vm_smbios_processor *p = &m->processor;
        const char *const t4[][2] = { { "sock_pfx", p->socket }, { "manufacturer", p->manufacturer },
                                      { "version", p->version }, { "serial", p->serial },
                                      { "asset", p->asset }, { "part", p->part } };
        const char *const t4n[] = { "max-speed", "current-speed" };
        const unsigned t4v[] = { p->max_speed_mhz, p->current_speed_mhz };
        cmdline_smbios_table(x, 4, t4, ELEMENTSOF(t4), t4n, t4v, ELEMENTSOF(t4n));
        const struct vm_smbios_memory *k = &m->memory;
        const char *const t17[][2] = { { "loc_pfx", k->locator }, { "bank", k->bank },
                                       { "manufacturer", k->manufacturer }, { "serial", k->serial },
                                       { "asset", k->asset }, { "part", k->part } };
        const char *const t17n[] = { "speed" };
        const unsigned t17v[] = { k->speed_mts };
        cmdline_smbios_table(x, 17, t17, ELEMENTSOF(t17), t17n, t17v, ELEMENTSOF(t17n));
}

/*
 * What -cpu would carry beyond libvirt's model, features and kvm=off: QEMU's x86 CPU properties
 * as -global on the base CPU type (every model is a subclass of x86_64-cpu). -global
 * DRIVER.PROP=VALUE takes the value verbatim (no comma escaping).
 */
static void cmdline_cpu(struct xml *x) {
        const struct vm_cpu *c = &x->d->id.cpu;
        if (c->hide_kvm) {
                arg(x, "-global");
                arg(x, "x86_64-cpu.tcg-cpuid=off");
        }
        if (!isempty(c->model_id)) {
                arg(x, "-global");
                argf(x, "x86_64-cpu.model-id=%s", c->model_id);
        }
        if (c->family) {
                const char *k[] = { "family", "model", "stepping" };
                unsigned v[] = { c->family, c->model_number, c->stepping };
                for (size_t i = 0; i < ELEMENTSOF(k); i++) {
                        arg(x, "-global");
                        argf(x, "x86_64-cpu.%s=%u", k[i], v[i]);
                }
        }
}

/* ACPI OEM ids: QEMU merges a second -machine into libvirt's. */
static void cmdline_acpi(struct xml *x) {
        const struct vm_acpi *a = &x->d->id.acpi;
        if (isempty(a->oem_id) && isempty(a->oem_table_id))
                return;
        char *m = strdup("");
        if (!isempty(a->oem_id))
                opt_add(&m, "x-oem-id", a->oem_id);
        if (!isempty(a->oem_table_id))
                opt_add(&m, "x-oem-table-id", a->oem_table_id);
        if (!m) {
                fail(x, -ENOMEM);
                return;
        }
        arg(x, "-machine");
        arg(x, m + 1);   /* past the leading ',' */
        free(m);
}

static void write_commandline(struct xml *x, const struct slots *s) {
        cmdline_nic(x, s);
        cmdline_acpi(x);
        cmdline_cpu(x);
        cmdline_smbios(x);
        STRV_FOREACH(a, x->h->passthrough)
                arg(x, *a);
        if (x->r < 0 || strv_length(x->args) == 0)
                return;
        start(x, "qemu:commandline");
        STRV_FOREACH(a, x->args)
                empty1(x, "qemu:arg", "value", *a);
        end(x);
}

/* <qemu:property name=... type='string|unsigned' value=.../> */
static void override_prop(struct xml *x, const char *name, const char *type, const char *value) {
        start(x, "qemu:property");
        attr(x, "name", name);
        attr(x, "type", type);
        attr(x, "value", value);
        end(x);
}

static bool ata_override_needed(const char *model, const char *serial, const char *firmware, uint64_t wwn) {
        return model || serial_in_override(serial) || firmware || wwn;
}

/* ATA model/firmware (and the WWN, libvirt taking <wwn> only on IDE and SCSI disks) of one drive. */
static void override_ata(struct xml *x, const char *al, const char *model, const char *serial, const char *firmware,
                         uint64_t wwn) {
        if (!ata_override_needed(model, serial, firmware, wwn))
                return;
        start(x, "qemu:device");
        attr(x, "alias", al);
        start(x, "qemu:frontend");
        if (model)
                override_prop(x, "model", "string", model);
        if (serial_in_override(serial))
                override_prop(x, "serial", "string", serial);
        if (firmware)
                override_prop(x, "ver", "string", firmware);
        if (wwn) {
                char v[24];
                snprintf(v, sizeof v, "%" PRIu64, wwn);
                override_prop(x, "wwn", "unsigned", v);
        }
        end(x);
        end(x);
}

static bool overrides_needed(const struct vm_def *d) {
        if (ata_override_needed(d->disk.model, d->disk.serial, d->disk.firmware, d->disk.wwn))
                return true;
        size_t n = d->n_cdroms ? d->n_cdroms : 1;
        for (size_t i = 0; i < n; i++)
                if (ata_override_needed(cdrom(d, i)->model, cdrom(d, i)->serial, cdrom(d, i)->firmware, 0))
                        return true;
        return d->net.type == VM_NET_BRIDGE && d->nic.subsystem_vendor;
}

static void write_overrides(struct xml *x) {
        const struct vm_def *d = x->d;
        if (!overrides_needed(d))
                return;
        start(x, "qemu:override");
        override_ata(x, ALIAS_DISK, d->disk.model, d->disk.serial, d->disk.firmware, d->disk.wwn);
        size_t n = d->n_cdroms ? d->n_cdroms : 1;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *al = cdrom_alias(i);
                if (!al) {
                        fail(x, -ENOMEM);
                        break;
                }
                override_ata(x, al, cdrom(d, i)->model, cdrom(d, i)->serial, cdrom(d, i)->firmware, 0);
        }
        /* The user-mode / backend-less NIC carries them on its own -device. */
        if (d->net.type == VM_NET_BRIDGE && d->nic.subsystem_vendor) {
                char ven[8], dev[8];
                snprintf(ven, sizeof ven, "%u", d->nic.subsystem_vendor);
                snprintf(dev, sizeof dev, "%u", d->nic.subsystem_device);
                start(x, "qemu:device");
                attr(x, "alias", ALIAS_NIC);
                start(x, "qemu:frontend");
                override_prop(x, "subsys_ven", "unsigned", ven);
                override_prop(x, "subsys", "unsigned", dev);
                end(x);
                end(x);
        }
        end(x);
}

/* --- the document ------------------------------------------------------------------------------ */

static int check_host(const struct vm_def *d, const struct libvirt_xml_host *h) {
        if (isempty(h->domain_type))
                return log_error_errno(-EINVAL, "cannot write the libvirt domain: no domain type (kvm or qemu) given");
        if (isempty(d->name))
                return log_error_errno(-EINVAL, "cannot write the libvirt domain: the VM has no name (give it one)");
        const char *su = d->id.smbios.system.uuid;
        if (h->uuid && su && strcasecmp(h->uuid, su) != 0) {
                log_error("cannot write the libvirt domain %s: its UUID %s is not its SMBIOS system UUID %s "
                          "(libvirt requires both to be the same): leave the domain UUID unset",
                          d->name, h->uuid, su);
                return -EINVAL;
        }
        if (d->firmware != VM_FIRMWARE_UEFI && (h->ovmf_code || h->ovmf_vars_template)) {
                log_error("cannot write the libvirt domain %s: UEFI firmware files are given for a BIOS machine", d->name);
                return -EINVAL;
        }
        if (h->tpm_socket && !d->tpm) {
                log_error("cannot write the libvirt domain %s: a swtpm socket is given for a machine without a TPM", d->name);
                return -EINVAL;
        }
        if ((h->agent_forward[0] || h->agent_forward[1]) && d->net.type != VM_NET_USER) {
                log_error("cannot write the libvirt domain %s: forwarded agent ports need user networking", d->name);
                return -EINVAL;
        }
        const char *ips[] = { d->net.guest_ip, d->net.guest_ip2 };
        for (size_t i = 0; i < 2; i++)
                if (h->agent_forward[i] && (isempty(ips[i]) || !d->net.agent_port)) {
                        log_error("cannot write the libvirt domain %s: forwarded port %u needs the guest's address "
                                  "and agent port", d->name, h->agent_forward[i]);
                        return -EINVAL;
                }
        return 0;
}

static void write_domain(struct xml *x, const struct slots *s) {
        const struct vm_def *d = x->d;
        const struct libvirt_xml_host *h = x->h;
        start(x, "domain");
        attr(x, "type", h->domain_type);
        if (x->r == 0)
                check(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST "xmlns:qemu", BAD_CAST QEMU_NS));
        elem(x, "name", d->name);
        elem(x, "uuid", domain_uuid(x));
        elem(x, "title", h->title);
        elem(x, "description", h->description);
        start(x, "memory");
        attr(x, "unit", "MiB");
        textf(x, "%u", d->ram_mb ? d->ram_mb : VM_DEFAULT_RAM_MB);
        end(x);
        start(x, "vcpu");
        attr(x, "placement", "static");
        textf(x, "%u", d->cpus ? d->cpus : VM_DEFAULT_CPUS);
        end(x);
        write_sysinfo(x);
        write_os(x);
        write_features(x);
        write_cpu(x);
        write_clock(x);
        write_devices(x, s);
        if (h->seclabel_none) {
                start(x, "seclabel");
                attr(x, "type", "none");
                attr(x, "model", "dac");
                end(x);
        }
        write_commandline(x, s);
        write_overrides(x);
        end(x);
}

int libvirt_domain_xml(const struct vm_def *def, const struct libvirt_xml_host *h, char **ret) {
        int r = check_host(def, h);
        if (r < 0)
                return r;
        struct slots s = { 0 };
        r = plan_slots(def, &s);
        if (r == -ENOSPC) {
                free(s.shares);
                log_error("cannot write the libvirt domain %s: its %zu shares do not fit on the PCI bus", def->name,
                          def->n_shares);
                return -EINVAL;
        }
        if (r < 0) {
                free(s.shares);
                return log_oom();
        }
        xmlBufferPtr buf = xmlBufferCreate();
        xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
        struct xml x = { .w = w, .d = def, .h = h };
        if (!w)
                fail(&x, -ENOMEM);
        if (x.r == 0)
                check(&x, xmlTextWriterSetIndent(w, 1));
        if (x.r == 0)
                check(&x, xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL));
        if (x.r == 0)
                check(&x, xmlTextWriterSetIndentString(w, BAD_CAST "  "));
        write_domain(&x, &s);
        if (x.r == 0)
                check(&x, xmlTextWriterEndDocument(w));
        if (w)
                xmlFreeTextWriter(w);
        char *out = NULL;
        if (x.r == 0) {
                out = strdup((const char *)xmlBufferContent(buf));
                if (!out)
                        x.r = -ENOMEM;
        }
        if (buf)
                xmlBufferFree(buf);
        strv_free(x.args);
        free(s.shares);
        if (x.r < 0)
                return log_oom();
        *ret = out;
        return 0;
}
