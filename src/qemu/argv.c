/* QEMU command line from a machine's definition and a QEMU run: one helper per device class
 * (libvirt's qemu_command.c shape). */
#include "qemu/argv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/validate.h"
#include "machine/smbios.h"

struct builder {
        const struct vm_def *d;
        const struct qemu_run *run;
        enum qemu_argv_purpose p;
        bool old;        /* QEMU < 4.1 argument family */
        char **v;
        int r;
};

static void add(struct builder *b, const char *s) {
        if (b->r < 0)
                return;
        int r = strv_extend(&b->v, s);
        if (r < 0)
                b->r = r;
}

static void addf(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct builder *b, const char *fmt, ...) {
        if (b->r < 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        char *s = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!s) {
                b->r = -ENOMEM;
                return;
        }
        int r = strv_push(&b->v, s);
        if (r < 0)
                b->r = r;
}

/* Two arguments: an option and its value built with printf. */
#define OPT(b, opt, ...)                     \
        do {                                 \
                add((b), (opt));             \
                addf((b), __VA_ARGS__);      \
        } while (0)

char *qemu_opt_escape(const char *s) { return str_double_char(s, ','); }

/* Escaped copy kept alive until the builder is done with it. */
#define ESC(var, s)                                               \
        _cleanup_free_ char *var = qemu_opt_escape(strempty(s)); \
        if (!var) {                                               \
                b->r = -ENOMEM;                                   \
                return;                                           \
        }

/* Append ",fmt..." (or fmt for an empty *s) to a growing option string; -ENOMEM frees it. */
static int opt_append(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int opt_append(char **s, const char *fmt, ...) {
        if (!*s)
                return -ENOMEM;
        va_list ap;
        va_start(ap, fmt);
        char *part = strdup_vprintf(fmt, ap);
        va_end(ap);
        char *n = part ? strdup_printf("%s%s%s", *s, **s ? "," : "", part) : NULL;
        free(part);
        free(*s);
        *s = n;
        return n ? 0 : -ENOMEM;
}

/* Add "key=escaped value" when value is set. */
static int opt_append_str(char **s, const char *key, const char *value) {
        if (!value)
                return *s ? 0 : -ENOMEM;
        _cleanup_free_ char *e = qemu_opt_escape(value);
        if (!e) {
                free(*s);
                *s = NULL;
                return -ENOMEM;
        }
        return opt_append(s, "%s=%s", key, e);
}

static unsigned vram_mb(const struct vm_def *d) { return d->vram_mb ? d->vram_mb : VM_DEFAULT_VRAM_MB; }

static const struct vm_cdrom *cdrom(const struct vm_def *d, size_t i) {
        static const struct vm_cdrom empty = { 0 };
        return i < d->n_cdroms ? &d->cdroms[i] : &empty;
}

/* -M q35 plus the options that must live on the machine. */
static char *machine_string(const struct vm_def *d) {
        char *m = strdup("q35");
        if (d->secure_boot && opt_append(&m, "smm=on") < 0)
                return NULL;
        if (d->vmport_off && opt_append(&m, "vmport=off") < 0)
                return NULL;
        if (!isempty(d->id.acpi.oem_id) && opt_append_str(&m, "x-oem-id", d->id.acpi.oem_id) < 0)
                return NULL;
        if (!isempty(d->id.acpi.oem_table_id) && opt_append_str(&m, "x-oem-table-id", d->id.acpi.oem_table_id) < 0)
                return NULL;
        return m;
}

/* -smp N, or N,sockets=1,cores=N/2,threads=2 for an SMT CPU (a CPU count it does not divide
 * stays plain: an odd count of threads is no real CPU either way). */
static void build_smp(struct builder *b, unsigned cpus) {
        unsigned t = b->d->id.cpu.threads_per_core;
        if (t > 1 && cpus % t == 0)
                OPT(b, "-smp", "%u,sockets=1,cores=%u,threads=%u", cpus, cpus / t, t);
        else
                OPT(b, "-smp", "%u", cpus);
}

static void build_vga(struct builder *b) {
        unsigned v = vram_mb(b->d);
        if (v == VM_DEFAULT_VRAM_MB) {
                OPT(b, "-vga", "std");
                return;
        }
        /* Pinned to slot 1 where "-vga std" puts it, so the PCI layout stays the same. */
        OPT(b, "-device", "VGA,vgamem_mb=%u,bus=pcie.0,addr=1", v);
}

static void build_rtc(struct builder *b) {
        OPT(b, "-rtc", "base=%s,driftfix=slew", b->d->clock == VM_CLOCK_UTC ? "utc" : "localtime");
}

/* Machine, memory, CPUs, VGA and RTC in the order of VMCloak's two version blocks. */
static void build_machine(struct builder *b) {
        const struct vm_def *d = b->d;
        _cleanup_free_ char *m = machine_string(d);
        if (!m) {
                b->r = -ENOMEM;
                return;
        }
        unsigned cpus = d->cpus ? d->cpus : VM_DEFAULT_CPUS;
        unsigned ram = d->ram_mb ? d->ram_mb : VM_DEFAULT_RAM_MB;
        if (b->old) {
                OPT(b, "-M", "%s", m);
                add(b, "-nodefaults");
                build_vga(b);
                build_rtc(b);
                OPT(b, "-realtime", "mlock=off");
                OPT(b, "-m", "%u", ram);
                build_smp(b, cpus);
        } else {
                add(b, "-nodefaults");
                OPT(b, "-M", "%s", m);
                build_vga(b);
                build_smp(b, cpus);
                OPT(b, "-overcommit", "mem-lock=off");
                build_rtc(b);
                OPT(b, "-m", "%u", ram);
        }
}

static void build_netdev(struct builder *b) {
        const struct vm_net *n = &b->d->net;
        const struct qemu_run *run = b->run;
        _cleanup_free_ char *s = NULL;
        switch (n->type) {
        case VM_NET_BRIDGE:
                s = strdup("type=bridge");
                opt_append_str(&s, "br", n->bridge ? n->bridge : VM_DEFAULT_BRIDGE);
                if (!isempty(run->bridge_helper))
                        opt_append_str(&s, "helper", run->bridge_helper);
                break;
        case VM_NET_USER: {
                s = strdup("type=user");
                const char *kv[][2] = { { "net", n->network }, { "host", n->host }, { "dns", n->dns },
                                        { "dhcpstart", n->guest_ip } };
                for (size_t i = 0; i < ELEMENTSOF(kv); i++)
                        if (!isempty(kv[i][1]))
                                opt_append(&s, "%s=%s", kv[i][0], kv[i][1]);
                if (n->isolated)
                        opt_append(&s, "restrict=on");
                const struct { unsigned port; const char *ip; } fwds[] = {
                        { run->fwd_port, n->guest_ip }, { run->fwd_port2, n->guest_ip2 },
                };
                for (size_t i = 0; i < ELEMENTSOF(fwds); i++)
                        if (fwds[i].port)
                                opt_append(&s, "hostfwd=tcp:127.0.0.1:%u-%s:%u", fwds[i].port, fwds[i].ip,
                                           n->agent_port);
                break;
        }
        case VM_NET_NONE:
                return;
        }
        if (opt_append(&s, "id=net0") < 0) {
                b->r = -ENOMEM;
                return;
        }
        OPT(b, "-netdev", "%s", s);
}

static void build_nic(struct builder *b) {
        const struct vm_def *d = b->d;
        const char *model = d->nic.model ? d->nic.model : VM_DEFAULT_NIC;
        unsigned slot = d->nic.pci_slot ? d->nic.pci_slot : VM_DEFAULT_NIC_SLOT;
        _cleanup_free_ char *s = strdup(model);
        if (d->net.type != VM_NET_NONE)
                opt_append(&s, "netdev=net0");
        if (!isempty(d->nic.mac))
                opt_append(&s, "mac=%s", d->nic.mac);
        /* qemu_argv_check lets subsystem ids through only for e1000e (QEMU 7.2's only NIC with
         * the properties); QEMU takes decimal or 0x hex for its uint16 properties. */
        if (d->nic.subsystem_vendor)
                opt_append(&s, "subsys_ven=0x%04x,subsys=0x%04x", d->nic.subsystem_vendor, d->nic.subsystem_device);
        /* addr is "slot[.function]" in hex for QEMU. */
        if (opt_append(&s, "bus=pcie.0,addr=%x", slot) < 0) {
                b->r = -ENOMEM;
                return;
        }
        OPT(b, "-device", "%s", s);
}

/* ",model=...,serial=...,ver=...,wwn=0x..." for an IDE device, "" when none is set. ver= is
 * the ATA firmware revision QEMU reports (its own version when unset); wwn is QEMU's uint64
 * property, which takes 0x hex. */
static char *ide_props(const char *model, const char *serial, const char *firmware, uint64_t wwn,
                       unsigned rotation_rate) {
        char *s = strdup("");
        opt_append_str(&s, "model", model);
        opt_append_str(&s, "serial", serial);
        opt_append_str(&s, "ver", firmware);
        if (wwn && s)
                opt_append(&s, "wwn=0x%016" PRIx64, wwn);
        if (rotation_rate && s)
                opt_append(&s, "rotation_rate=%u", rotation_rate);
        if (!s || !*s)
                return s;
        char *n = strdup_printf(",%s", s);
        free(s);
        return n;
}

static void build_storage(struct builder *b) {
        const struct vm_def *d = b->d;
        bool disk_first = d->boot == VM_BOOT_DISK_FIRST;
        _cleanup_free_ char *hd = ide_props(d->disk.model, d->disk.serial, d->disk.firmware, d->disk.wwn,
                                            d->disk.rotation_rate);
        _cleanup_free_ char *cd = ide_props(cdrom(d, 0)->model, cdrom(d, 0)->serial, cdrom(d, 0)->firmware, 0, 0);
        if (!hd || !cd) {
                b->r = -ENOMEM;
                return;
        }
        OPT(b, "-device", "ich9-ahci,id=ahci");
        OPT(b, "-device", "%s,bus=ahci.0,unit=0,drive=disk,bootindex=%d%s", b->old ? "ide-drive" : "ide-hd",
            disk_first ? 1 : 2, hd);
        OPT(b, "-device", "ide-cd,bus=ahci.1,unit=0,drive=cdrom,bootindex=%d%s", disk_first ? 2 : 1, cd);
}

/* The tablet is the only device on the EHCI controller. A PC whose profile says PS/2 has no
 * tablet (the i8042 PS/2 mouse of q35 is always there) but, as every PC, a USB controller: the
 * ICH9's own EHCI (8086:293a) rather than QEMU's generic usb-ehci (an ICH4's, 8086:24cd). */
static void build_usb(struct builder *b) {
        if (b->d->pointer == VM_POINTER_PS2) {
                OPT(b, "-device", "ich9-usb-ehci1,id=ehci");
                return;
        }
        OPT(b, "-device", "usb-ehci,id=ehci");
        OPT(b, "-device", "usb-tablet,bus=ehci.0");
}

static void build_audio(struct builder *b) {
        if (b->run->audio_none) {
                OPT(b, "-audiodev", "none,id=snd0");
                OPT(b, "-device", "intel-hda");
                OPT(b, "-device", "hda-duplex,audiodev=snd0");
                return;
        }
        OPT(b, "-device", "intel-hda");
        OPT(b, "-device", "hda-duplex");
}

static void build_accel(struct builder *b) {
        if (b->run->accel == VM_ACCEL_TCG)
                OPT(b, "-accel", "tcg");
        else
                add(b, b->old ? "--enable-kvm" : "-enable-kvm");
}

/* A CD-ROM drive; START_ARGS always shows an empty tray (VMCloak: no ISO in start args). */
static void build_cdrom_drive(struct builder *b, const char *id, const char *path) {
        if (isempty(path) || b->p == QEMU_ARGV_START_ARGS) {
                OPT(b, "-drive", "if=none,id=%s,readonly=on", id);
                return;
        }
        ESC(f, path);
        OPT(b, "-drive", "file=%s,format=raw,if=none,id=%s,readonly=on", f, id);
}

static void build_disk_drive(struct builder *b) {
        const struct vm_disk *k = &b->d->disk;
        const char *fmt = k->format == VM_DISK_RAW ? "raw" : "qcow2";
        if (b->p == QEMU_ARGV_START_ARGS) {
                OPT(b, "-drive", "file=%s,format=%s,if=none,id=disk", VM_DISK_PLACEHOLDER, fmt);
                return;
        }
        ESC(f, k->path);
        OPT(b, "-drive", "file=%s,format=%s,if=none,id=disk", f, fmt);
}

static void build_display(struct builder *b) {
        OPT(b, "-display", "%s", b->d->display == VM_DISPLAY_WINDOW ? "gtk" : "none");
}

static void build_vnc(struct builder *b, const struct vm_vnc *v) {
        if (!v || !v->enabled || b->p != QEMU_ARGV_RUN)
                return;
        const char *l = isempty(v->listen) ? VM_DEFAULT_VNC_LISTEN : v->listen;
        if (strchr(l, ':') && l[0] != '[')
                OPT(b, "-vnc", "[%s]:%u", l, v->display);
        else
                OPT(b, "-vnc", "%s:%u", l, v->display);
}

static void build_extra_cdroms(struct builder *b) {
        const struct vm_def *d = b->d;
        for (size_t i = 1; i < d->n_cdroms; i++) {
                _cleanup_free_ char *cd = ide_props(d->cdroms[i].model, d->cdroms[i].serial,
                                                    d->cdroms[i].firmware, 0, 0);
                if (!cd) {
                        b->r = -ENOMEM;
                        return;
                }
                char id[32];
                snprintf(id, sizeof id, "cdrom%zu", i);
                OPT(b, "-device", "ide-cd,bus=ahci.%zu,unit=0,drive=%s%s", i + 1, id, cd);
                build_cdrom_drive(b, id, d->cdroms[i].media);
        }
}

static void build_uefi(struct builder *b) {
        const struct vm_def *d = b->d;
        if (d->firmware != VM_FIRMWARE_UEFI)
                return;
        ESC(code, b->run->uefi_code);
        ESC(vars, d->nvram);
        OPT(b, "-drive", "if=pflash,format=raw,unit=0,file=%s,readonly=on", code);
        OPT(b, "-drive", "if=pflash,format=raw,unit=1,file=%s", vars);
        if (d->secure_boot)
                OPT(b, "-global", "driver=cfi.pflash01,property=secure,value=on");
}

/* Direct kernel boot: QEMU's -kernel/-initrd/-append are machine properties taken as they are
 * (no option string, so no comma escaping). An ELF vmlinux with a PVH note starts through
 * QEMU's pvh.bin option ROM, a bzImage through linuxboot_dma.bin; both skip the boot drive. */
static void build_kernel_boot(struct builder *b) {
        const struct vm_kernel_boot *k = &b->d->kboot;
        if (!k->kernel)
                return;
        OPT(b, "-kernel", "%s", k->kernel);
        if (k->initrd)
                OPT(b, "-initrd", "%s", k->initrd);
        if (k->cmdline)
                OPT(b, "-append", "%s", k->cmdline);
}

static void build_tpm(struct builder *b) {
        if (!b->d->tpm)
                return;
        ESC(sock, b->run->tpm_socket);
        OPT(b, "-chardev", "socket,id=chrtpm,path=%s", sock);
        OPT(b, "-tpmdev", "emulator,id=tpm0,chardev=chrtpm");
        OPT(b, "-device", "tpm-tis,tpmdev=tpm0");
}

static void build_serial(struct builder *b) {
        const struct vm_serial *s = &b->d->serial;
        /* Cuckoo3 runs start_args on its own host as its own user: keep the serial device (the
         * memory snapshot holds its state) but without a host path that may not exist there. */
        if (b->p == QEMU_ARGV_START_ARGS && s->type != VM_SERIAL_NONE) {
                OPT(b, "-serial", "null");
                return;
        }
        switch (s->type) {
        case VM_SERIAL_NONE:
                break;
        case VM_SERIAL_FILE:
                /* "file:" takes the rest verbatim (QEMU's legacy chardev syntax): no escaping. */
                OPT(b, "-serial", "file:%s", s->path);
                break;
        case VM_SERIAL_PTY:
                OPT(b, "-serial", "pty");
                break;
        case VM_SERIAL_UNIX: {
                ESC(p, s->path);
                OPT(b, "-serial", "unix:%s,server=on,wait=off", p);
                break;
        }
        }
}

static void build_shares(struct builder *b) {
        const struct vm_def *d = b->d;
        for (size_t i = 0; i < d->n_shares; i++) {
                ESC(path, d->shares[i].path);
                ESC(tag, d->shares[i].tag);
                OPT(b, "-virtfs", "local,path=%s,mount_tag=%s,security_model=none%s", path, tag,
                    d->shares[i].readonly ? ",readonly=on" : "");
        }
}

static void build_cpu(struct builder *b) {
        const struct vm_cpu *c = &b->d->id.cpu;
        if (isempty(c->model) && c->n_features == 0 && !c->hide_kvm && isempty(c->model_id) && !c->family)
                return;
        /* -cpu splits on every ',' (no ",," escape): qemu_argv_check refuses commas in values. */
        _cleanup_free_ char *s = strdup(isempty(c->model) ? "qemu64" : c->model);
        for (size_t i = 0; i < c->n_features; i++)
                opt_append(&s, "%c%s", c->features[i].enabled ? '+' : '-', c->features[i].name);
        /* Both hide the hypervisor vendor leaf (CPUID 0x40000000): kvm=off KVM's "KVMKVMKVM",
         * tcg-cpuid=off TCG's "TCGTCGTCGTCG" (virt-what reads it). */
        if (c->hide_kvm)
                opt_append(&s, "kvm=off,tcg-cpuid=off");
        if (!isempty(c->model_id))
                opt_append(&s, "model-id=%s", c->model_id);
        /* After the model: QEMU sets the properties in order, over the model's CPUID leaf 1. */
        if (c->family)
                opt_append(&s, "family=%u,model=%u,stepping=%u", c->family, c->model_number, c->stepping);
        if (!s) {
                b->r = -ENOMEM;
                return;
        }
        OPT(b, "-cpu", "%s", s);
}

/* One -smbios type=N with the fields that are set (QEMU's key names, values escaped). */
struct smbios_field {
        const char *key;
        const char *value;
        unsigned number;    /* numeric fields: 0 = not set */
};

static void build_smbios_table(struct builder *b, unsigned type, const struct smbios_field *f, size_t n) {
        _cleanup_free_ char *s = strdup_printf("type=%u", type);
        bool any = false;
        for (size_t i = 0; i < n; i++) {
                if (f[i].value) {
                        opt_append_str(&s, f[i].key, f[i].value);
                        any = true;
                } else if (f[i].number) {
                        opt_append(&s, "%s=%u", f[i].key, f[i].number);
                        any = true;
                }
        }
        if (!s) {
                b->r = -ENOMEM;
                return;
        }
        if (any)
                OPT(b, "-smbios", "%s", s);
}

/* -smbios file=<disk>.smbios/typeN.bin (machine/smbios.h: the driver writes it before QEMU
 * starts); in START_ARGS too, as the vars file: Cuckoo3 restores on this host from the VM's
 * folder, where the file stays beside the VM's disk. */
static void build_smbios_file(struct builder *b, unsigned type) {
        _cleanup_free_ char *f = vm_smbios_file(b->d->disk.path, type);
        if (!f) {
                b->r = -ENOMEM;
                return;
        }
        ESC(e, f);
        OPT(b, "-smbios", "file=%s", e);
}

static void build_smbios(struct builder *b) {
        const struct vm_smbios *m = &b->d->id.smbios;
        const struct smbios_field t0[] = { { "vendor", m->bios.vendor, 0 }, { "version", m->bios.version, 0 },
                                           { "date", m->bios.date, 0 }, { "release", m->bios.release, 0 } };
        const struct smbios_field t1[] = {
                { "manufacturer", m->system.manufacturer, 0 }, { "product", m->system.product, 0 },
                { "version", m->system.version, 0 }, { "serial", m->system.serial, 0 },
                { "uuid", m->system.uuid, 0 }, { "sku", m->system.sku, 0 }, { "family", m->system.family, 0 } };
        const struct smbios_field t2[] = {
                { "manufacturer", m->baseboard.manufacturer, 0 }, { "product", m->baseboard.product, 0 },
                { "version", m->baseboard.version, 0 }, { "serial", m->baseboard.serial, 0 },
                { "asset", m->baseboard.asset, 0 }, { "location", m->baseboard.location, 0 } };
        /* QEMU 7.2's -smbios type=3 takes manufacturer, version, serial, asset and sku only
         * (hw/smbios/smbios.c qemu_smbios_type3_opts) and always writes chassis type 1 (other):
         * a chassis type goes through the file. */
        const struct smbios_field t3[] = {
                { "manufacturer", m->chassis.manufacturer, 0 }, { "version", m->chassis.version, 0 },
                { "serial", m->chassis.serial, 0 }, { "asset", m->chassis.asset, 0 }, { "sku", m->chassis.sku, 0 } };
        const struct smbios_field t4[] = {
                { "sock_pfx", m->processor.socket, 0 }, { "manufacturer", m->processor.manufacturer, 0 },
                { "version", m->processor.version, 0 }, { "serial", m->processor.serial, 0 },
                { "asset", m->processor.asset, 0 }, { "part", m->processor.part, 0 },
                { "max-speed", NULL, m->processor.max_speed_mhz },
                { "current-speed", NULL, m->processor.current_speed_mhz } };
        const struct smbios_field t17[] = {
                { "loc_pfx", m->memory.locator, 0 }, { "bank", m->memory.bank, 0 },
                { "manufacturer", m->memory.manufacturer, 0 }, { "serial", m->memory.serial, 0 },
                { "asset", m->memory.asset, 0 }, { "part", m->memory.part, 0 },
                { "speed", NULL, m->memory.speed_mts } };
        if (vm_smbios_in_file(m, 0))
                build_smbios_file(b, 0);
        else
                build_smbios_table(b, 0, t0, ELEMENTSOF(t0));
        build_smbios_table(b, 1, t1, ELEMENTSOF(t1));
        build_smbios_table(b, 2, t2, ELEMENTSOF(t2));
        if (vm_smbios_in_file(m, 3))
                build_smbios_file(b, 3);
        else
                build_smbios_table(b, 3, t3, ELEMENTSOF(t3));
        build_smbios_table(b, 4, t4, ELEMENTSOF(t4));
        size_t n = strv_length(m->oem_strings);
        if (n > 0) {
                _cleanup_free_ struct smbios_field *t11 = calloc(n, sizeof *t11);
                if (!t11) {
                        b->r = -ENOMEM;
                        return;
                }
                for (size_t i = 0; i < n; i++)
                        t11[i] = (struct smbios_field){ "value", m->oem_strings[i], 0 };
                build_smbios_table(b, 11, t11, n);
        }
        build_smbios_table(b, 17, t17, ELEMENTSOF(t17));
}

static void build_extra_args(struct builder *b) {
        STRV_FOREACH(a, b->run->extra_args)
                add(b, *a);
}

static void build_process(struct builder *b) {
        const struct qemu_run *run = b->run;
        if (b->p != QEMU_ARGV_RUN)
                return;
        if (!isempty(run->qmp_socket)) {
                ESC(q, run->qmp_socket);
                OPT(b, "-qmp", "unix:%s,server=on,wait=off", q);
        }
        if (run->monitor_none)
                OPT(b, "-monitor", "none");
        if (!isempty(run->pidfile))
                OPT(b, "-pidfile", "%s", run->pidfile);
        if (run->no_reboot)
                add(b, "-no-reboot");
        if (run->paused)
                add(b, "-S");
        if (!isempty(run->incoming)) {
                /* MIGRATION events tell the waiting vmcloak the image is loaded at once (no
                 * polling of query-status); the guest sees nothing of it. */
                OPT(b, "-global", "migration.x-events=on");
                OPT(b, "-incoming", "%s", run->incoming);
        }
}

static void build_binary(struct builder *b) {
        if (b->p == QEMU_ARGV_RUN)
                add(b, !isempty(b->run->binary) ? b->run->binary : QEMU_DEFAULT_BINARY);
}

static int build(const struct vm_def *d, const struct qemu_run *run, enum qemu_argv_purpose p, char ***ret) {
        struct builder b = { .d = d, .run = run, .p = p, .old = qemu_version_pre_4_1(&run->version) };
        build_binary(&b);
        build_machine(&b);
        build_netdev(&b);
        build_nic(&b);
        build_storage(&b);
        build_usb(&b);
        build_audio(&b);
        build_accel(&b);
        build_cdrom_drive(&b, "cdrom", cdrom(d, 0)->media);
        build_disk_drive(&b);
        build_display(&b);
        build_vnc(&b, &d->vnc);
        build_extra_cdroms(&b);
        build_uefi(&b);
        build_kernel_boot(&b);
        build_tpm(&b);
        build_serial(&b);
        build_shares(&b);
        build_cpu(&b);
        build_smbios(&b);
        build_extra_args(&b);
        build_process(&b);
        if (b.r < 0) {
                strv_free(b.v);
                return b.r;
        }
        *ret = b.v;
        return 0;
}

#define MAX_CDROMS 5   /* ahci.1 .. ahci.5 of the six ports; ahci.0 holds the disk */

static int check_user_net(const struct vm_net *n, const struct qemu_run *run, char *reason, size_t size) {
        if (run->fwd_port > 65535 || run->fwd_port2 > 65535)
                return reason_fail(reason, size, "invalid forwarded port: use 1 to 65535");
        if (run->fwd_port && (isempty(n->guest_ip) || !n->agent_port))
                return reason_fail(reason, size, "forwarding a host port needs the guest IP and the agent port");
        if (run->fwd_port2 && run->fwd_port2 == run->fwd_port)
                return reason_fail(reason, size, "invalid second forwarded port: it is the first one");
        if (run->fwd_port2 && (isempty(n->guest_ip2) || !n->agent_port))
                return reason_fail(reason, size, "the second forward needs its guest IP and the agent port");
        return 0;
}

static int check_qemu(const struct vm_def *d, const struct qemu_run *run, enum qemu_argv_purpose p, char *reason,
                      size_t size) {
        const struct qemu_version *v = &run->version;
        if (run->accel != VM_ACCEL_KVM && run->accel != VM_ACCEL_TCG)
                return reason_fail(reason, size, "the accelerator must be resolved to kvm or tcg before building QEMU arguments");
        if (p == QEMU_ARGV_RUN && isempty(d->disk.path))
                return reason_fail(reason, size, "the VM has no disk path");
        if (vm_smbios_needs_files(&d->id.smbios) && isempty(d->disk.path))
                return reason_fail(reason, size, "the SMBIOS BIOS and chassis tables are files beside the disk: the VM needs a disk path");
        const char *release = d->id.smbios.bios.release;
        if (vm_smbios_in_file(&d->id.smbios, 0) && release) {
                _cleanup_free_ uint8_t *t0 = NULL;
                size_t n;
                if (vm_smbios_encode(&d->id.smbios, d->firmware, 0, &t0, &n) == -EINVAL)
                        return reason_fail(reason, size, "invalid SMBIOS BIOS release '%s': use MAJOR.MINOR, each 0 to 255", release);
        }
        if (d->n_cdroms > MAX_CDROMS)
                return reason_fail(reason, size, "too many extra CD-ROMs (%zu): at most %d fit on the AHCI controller", d->n_cdroms - 1,
                     MAX_CDROMS - 1);
        if (d->net.type == VM_NET_USER) {
                int r = check_user_net(&d->net, run, reason, size);
                if (r < 0)
                        return r;
        } else if (run->fwd_port || run->fwd_port2)
                return reason_fail(reason, size, "forwarded ports need user networking");
        if (run->audio_none && qemu_version_cmp(v, 4, 0, 0) < 0)
                return reason_fail(reason, size, "audio=none needs QEMU 4.0 or newer");
        if (d->firmware == VM_FIRMWARE_UEFI && (isempty(run->uefi_code) || isempty(d->nvram)))
                return reason_fail(reason, size, "UEFI needs both the firmware code and this VM's variable store");
        if (d->firmware != VM_FIRMWARE_UEFI && !isempty(run->uefi_code))
                return reason_fail(reason, size, "UEFI firmware code is given for a BIOS machine");
        if (d->kboot.kernel && p == QEMU_ARGV_START_ARGS)
                return reason_fail(reason, size, "a direct kernel boot is for vmcloak's own runs (the install), not Cuckoo3's start arguments");
        if (d->tpm && isempty(run->tpm_socket))
                return reason_fail(reason, size, "a TPM needs swtpm's socket");
        if (!d->tpm && !isempty(run->tpm_socket))
                return reason_fail(reason, size, "swtpm's socket is given for a machine without a TPM");
        const struct vm_identity *id = &d->id;
        if ((id->acpi.oem_id || id->acpi.oem_table_id) && qemu_version_cmp(v, 6, 0, 0) < 0)
                return reason_fail(reason, size, "changing the ACPI OEM ids needs QEMU 6.0 or newer");
        if (d->nic.subsystem_vendor && !streq(d->nic.model ? d->nic.model : VM_DEFAULT_NIC, "e1000e"))
                return reason_fail(reason, size, "the NIC model %s cannot take PCI subsystem ids: only e1000e takes them in QEMU 7.2 (subsys_ven=, subsys=)",
                                   d->nic.model ? d->nic.model : VM_DEFAULT_NIC);
        if (id->cpu.model_id && strchr(id->cpu.model_id, ','))
                return reason_fail(reason, size, "invalid CPU model-id '%s': QEMU cannot take a comma inside a -cpu value", id->cpu.model_id);
        return 0;
}

int qemu_argv_check(const struct vm_def *def, const struct qemu_run *run, enum qemu_argv_purpose p, char *reason,
                    size_t size) {
        int r = vm_def_check(def, reason, size);
        if (r < 0)
                return r;
        r = check_qemu(def, run, p, reason, size);
        if (r < 0 || p != QEMU_ARGV_START_ARGS)
                return r;
        _cleanup_strv_free_ char **a = NULL;
        r = build(def, run, p, &a);
        if (r < 0)
                return r;
        const char *why;
        if (cuckoo_start_args_check(a, &why) < 0)
                return reason_fail(reason, size, "the start arguments would be refused by Cuckoo3: %s", why);
        return 0;
}

int qemu_argv_build(const struct vm_def *def, const struct qemu_run *run, enum qemu_argv_purpose p, char ***ret) {
        int r = qemu_argv_check(def, run, p, NULL, 0);
        if (r < 0)
                return r;
        return build(def, run, p, ret);
}

/* Point "hostfwd=tcp:127.0.0.1:N-..." in a -netdev value at port. */
static int retarget_hostfwd(char **arg, unsigned port) {
        static const char key[] = "hostfwd=tcp:127.0.0.1:";
        char *h = strstr(*arg, key);
        if (!h)
                return -ENOENT;
        char *num = h + strlen(key);
        char *dash = strchr(num, '-');
        if (!dash)
                return -EINVAL;
        char *n = strdup_printf("%.*s%u%s", (int)(num - *arg), *arg, port, dash);
        if (!n)
                return -ENOMEM;
        free(*arg);
        *arg = n;
        return 0;
}

/* s with every VM_DISK_PLACEHOLDER replaced by the escaped disk path. */
static char *replace_placeholder(const char *s, const char *escaped_disk) {
        char *out = strdup("");
        const char *p = s, *ph;
        while (out && (ph = strstr(p, VM_DISK_PLACEHOLDER))) {
                char *n = strdup_printf("%s%.*s%s", out, (int)(ph - p), p, escaped_disk);
                free(out);
                out = n;
                p = ph + strlen(VM_DISK_PLACEHOLDER);
        }
        if (!out)
                return NULL;
        char *n = strdup_printf("%s%s", out, p);
        free(out);
        return n;
}

int qemu_argv_from_start_args(char *const *start_args, const char *disk, const struct vm_vnc *vnc,
                              const struct qemu_run *run, char ***ret) {
        if (cuckoo_start_args_check(start_args, NULL) < 0 || isempty(disk))
                return -EINVAL;
        _cleanup_free_ char *edisk = qemu_opt_escape(disk);
        if (!edisk)
                return -ENOMEM;
        struct builder b = { .run = run, .p = QEMU_ARGV_RUN };
        build_binary(&b);
        bool forwarded = false;
        for (size_t i = 0; b.r == 0 && start_args[i]; i++) {
                char *v = replace_placeholder(start_args[i], edisk);
                if (v && run->disk_snapshot && strstr(start_args[i], VM_DISK_PLACEHOLDER)) {
                        char *n = strdup_printf("%s,snapshot=on", v);
                        free(v);
                        v = n;
                }
                if (!v || (b.r = strv_push(&b.v, v)) < 0) {
                        b.r = -ENOMEM;
                        break;
                }
                /* The swtpm of this run: the socket of the run that wrote start_args is gone. */
                if (!isempty(run->tpm_socket) && i > 0 && streq(start_args[i - 1], "-chardev") &&
                    startswith(v, "socket,id=chrtpm,")) {
                        _cleanup_free_ char *sock = qemu_opt_escape(run->tpm_socket);
                        char *n = sock ? strdup_printf("socket,id=chrtpm,path=%s", sock) : NULL;
                        if (!n) {
                                b.r = -ENOMEM;
                                break;
                        }
                        free(b.v[strv_length(b.v) - 1]);
                        b.v[strv_length(b.v) - 1] = n;
                }
                if (run->fwd_port && i > 0 && streq(start_args[i - 1], "-netdev") && strstr(v, "hostfwd=")) {
                        b.r = retarget_hostfwd(&b.v[strv_length(b.v) - 1], run->fwd_port);
                        forwarded = b.r == 0;
                }
        }
        if (b.r == 0 && run->fwd_port && !forwarded)
                b.r = -EINVAL;
        build_vnc(&b, vnc);
        build_process(&b);
        if (b.r < 0) {
                strv_free(b.v);
                return b.r;
        }
        *ret = b.v;
        return 0;
}
