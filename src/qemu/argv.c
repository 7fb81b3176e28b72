/* QEMU command line from a VM config: one helper per device class (libvirt's shape). */
#include "qemu/argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/validate.h"

struct builder {
        const struct vm_config *c;
        enum vm_argv_purpose p;
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
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
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

char *qemu_opt_escape(const char *s) {
        size_t n = 0;
        for (const char *p = s; *p; p++)
                n += *p == ',' ? 2 : 1;
        char *o = malloc(n + 1);
        if (!o)
                return NULL;
        char *q = o;
        for (const char *p = s; *p; p++) {
                *q++ = *p;
                if (*p == ',')
                        *q++ = ',';
        }
        *q = 0;
        return o;
}

/* Escaped copy kept alive until the builder is done with it. */
#define ESC(var, s)                                               \
        _cleanup_free_ char *var = qemu_opt_escape(strempty(s)); \
        if (!var) {                                               \
                b->r = -ENOMEM;                                   \
                return;                                           \
        }

static unsigned vram_mb(const struct vm_config *c) { return c->vram_mb ? c->vram_mb : VM_DEFAULT_VRAM_MB; }

/* -M q35 plus the options that must live on the machine. */
static char *machine_string(const struct vm_config *c) {
        char *m = strdup("q35");
        if (!m)
                return NULL;
        if (c->secure_boot) {
                char *n = strdup_printf("%s,smm=on", m);
                free(m);
                if (!(m = n))
                        return NULL;
        }
        const char *ids[2][2] = { { "x-oem-id", c->cloak.acpi_oem_id },
                                  { "x-oem-table-id", c->cloak.acpi_oem_table_id } };
        for (int i = 0; i < 2; i++) {
                if (isempty(ids[i][1]))
                        continue;
                _cleanup_free_ char *e = qemu_opt_escape(ids[i][1]);
                char *n = e ? strdup_printf("%s,%s=%s", m, ids[i][0], e) : NULL;
                free(m);
                if (!(m = n))
                        return NULL;
        }
        return m;
}

static void build_vga(struct builder *b) {
        unsigned v = vram_mb(b->c);
        if (v == VM_DEFAULT_VRAM_MB) {
                OPT(b, "-vga", "std");
                return;
        }
        /* Pinned to slot 1 where "-vga std" puts it, so the PCI layout stays the same. */
        OPT(b, "-device", "VGA,vgamem_mb=%u,bus=pcie.0,addr=1", v);
}

static void build_rtc(struct builder *b) {
        OPT(b, "-rtc", "base=%s,driftfix=slew", b->c->rtc == VM_RTC_UTC ? "utc" : "localtime");
}

/* Machine, memory, CPUs, VGA and RTC in the order of VMCloak's two version blocks. */
static void build_machine(struct builder *b) {
        const struct vm_config *c = b->c;
        _cleanup_free_ char *m = machine_string(c);
        if (!m) {
                b->r = -ENOMEM;
                return;
        }
        unsigned cpus = c->cpus ? c->cpus : VM_DEFAULT_CPUS;
        unsigned ram = c->ram_mb ? c->ram_mb : VM_DEFAULT_RAM_MB;
        if (b->old) {
                OPT(b, "-M", "%s", m);
                add(b, "-nodefaults");
                build_vga(b);
                build_rtc(b);
                OPT(b, "-realtime", "mlock=off");
                OPT(b, "-m", "%u", ram);
                OPT(b, "-smp", "%u", cpus);
        } else {
                add(b, "-nodefaults");
                OPT(b, "-M", "%s", m);
                build_vga(b);
                OPT(b, "-smp", "%u", cpus);
                OPT(b, "-overcommit", "mem-lock=off");
                build_rtc(b);
                OPT(b, "-m", "%u", ram);
        }
}

static void build_netdev(struct builder *b) {
        const struct vm_config *c = b->c;
        switch (c->net_mode) {
        case VM_NET_BRIDGE: {
                ESC(br, c->bridge ? c->bridge : VM_DEFAULT_BRIDGE);
                if (isempty(c->bridge_helper)) {
                        OPT(b, "-netdev", "type=bridge,br=%s,id=net0", br);
                } else {
                        ESC(helper, c->bridge_helper);
                        OPT(b, "-netdev", "type=bridge,br=%s,helper=%s,id=net0", br, helper);
                }
                break;
        }
        case VM_NET_USER: {
                _cleanup_free_ char *s = strdup("type=user");
                if (!s) {
                        b->r = -ENOMEM;
                        return;
                }
                const char *kv[][2] = { { "net", c->user_net }, { "host", c->user_host }, { "dns", c->user_dns },
                                        { "dhcpstart", c->guest_ip } };
                for (size_t i = 0; i < ELEMENTSOF(kv); i++) {
                        if (isempty(kv[i][1]))
                                continue;
                        char *n = strdup_printf("%s,%s=%s", s, kv[i][0], kv[i][1]);
                        free(s);
                        if (!(s = n)) {
                                b->r = -ENOMEM;
                                return;
                        }
                }
                if (c->user_restrict) {
                        char *n = strdup_printf("%s,restrict=on", s);
                        free(s);
                        if (!(s = n)) {
                                b->r = -ENOMEM;
                                return;
                        }
                }
                const struct { unsigned port; const char *ip; } fwds[] = {
                        { c->host_fwd_port, c->guest_ip }, { c->host_fwd_port2, c->guest_ip2 },
                };
                for (size_t i = 0; i < ELEMENTSOF(fwds); i++) {
                        if (!fwds[i].port)
                                continue;
                        char *n = strdup_printf("%s,hostfwd=tcp:127.0.0.1:%u-%s:%u", s, fwds[i].port, fwds[i].ip,
                                                c->agent_port);
                        free(s);
                        if (!(s = n)) {
                                b->r = -ENOMEM;
                                return;
                        }
                }
                OPT(b, "-netdev", "%s,id=net0", s);
                break;
        }
        case VM_NET_NONE:
                break;
        }
}

static void build_nic(struct builder *b) {
        const struct vm_config *c = b->c;
        const char *model = c->nic_model ? c->nic_model : VM_DEFAULT_NIC;
        unsigned addr = c->nic_pci_addr ? c->nic_pci_addr : VM_DEFAULT_NIC_ADDR;
        _cleanup_free_ char *netdev = c->net_mode == VM_NET_NONE ? strdup("") : strdup(",netdev=net0");
        _cleanup_free_ char *mac = isempty(c->mac) ? strdup("") : strdup_printf(",mac=%s", c->mac);
        if (!netdev || !mac) {
                b->r = -ENOMEM;
                return;
        }
        /* addr is "slot[.function]" in hex for QEMU. */
        OPT(b, "-device", "%s%s%s,bus=pcie.0,addr=%x", model, netdev, mac, addr);
}

/* ",model=...,serial=..." for an IDE device, "" when not cloaked. */
static char *ide_props(const char *model, const char *serial) {
        _cleanup_free_ char *m = model ? qemu_opt_escape(model) : NULL;
        _cleanup_free_ char *s = serial ? qemu_opt_escape(serial) : NULL;
        if ((model && !m) || (serial && !s))
                return NULL;
        return strdup_printf("%s%s%s%s", m ? ",model=" : "", strempty(m), s ? ",serial=" : "", strempty(s));
}

static void build_storage(struct builder *b) {
        const struct vm_config *c = b->c;
        bool disk_first = c->boot_order == VM_BOOT_DISK_FIRST;
        _cleanup_free_ char *hd = ide_props(c->cloak.disk_model, c->cloak.disk_serial);
        _cleanup_free_ char *cd = ide_props(c->cloak.cdrom_model, c->cloak.cdrom_serial);
        if (!hd || !cd) {
                b->r = -ENOMEM;
                return;
        }
        OPT(b, "-device", "ich9-ahci,id=ahci");
        OPT(b, "-device", "%s,bus=ahci.0,unit=0,drive=disk,bootindex=%d%s", b->old ? "ide-drive" : "ide-hd",
            disk_first ? 1 : 2, hd);
        OPT(b, "-device", "ide-cd,bus=ahci.1,unit=0,drive=cdrom,bootindex=%d%s", disk_first ? 2 : 1, cd);
}

static void build_usb(struct builder *b) {
        OPT(b, "-device", "usb-ehci,id=ehci");
        OPT(b, "-device", "usb-tablet,bus=ehci.0");
}

static void build_audio(struct builder *b) {
        if (b->c->audio == VM_AUDIO_NONE) {
                OPT(b, "-audiodev", "none,id=snd0");
                OPT(b, "-device", "intel-hda");
                OPT(b, "-device", "hda-duplex,audiodev=snd0");
                return;
        }
        OPT(b, "-device", "intel-hda");
        OPT(b, "-device", "hda-duplex");
}

static void build_accel(struct builder *b) {
        if (b->c->accel == VM_ACCEL_TCG)
                OPT(b, "-accel", "tcg");
        else
                add(b, b->old ? "--enable-kvm" : "-enable-kvm");
}

/* A CD-ROM drive; START_ARGS always shows an empty tray (VMCloak: no ISO in start args). */
static void build_cdrom_drive(struct builder *b, const char *id, const char *path) {
        if (isempty(path) || b->p == VM_ARGV_START_ARGS) {
                OPT(b, "-drive", "if=none,id=%s,readonly=on", id);
                return;
        }
        ESC(f, path);
        OPT(b, "-drive", "file=%s,format=raw,if=none,id=%s,readonly=on", f, id);
}

static void build_disk_drive(struct builder *b) {
        const struct vm_config *c = b->c;
        const char *fmt = c->disk_format == VM_DISK_RAW ? "raw" : "qcow2";
        if (b->p == VM_ARGV_START_ARGS) {
                OPT(b, "-drive", "file=%s,format=%s,if=none,id=disk", VM_DISK_PLACEHOLDER, fmt);
                return;
        }
        ESC(f, c->disk_path);
        OPT(b, "-drive", "file=%s,format=%s,if=none,id=disk", f, fmt);
}

static void build_display(struct builder *b) {
        OPT(b, "-display", "%s", b->c->display == VM_DISPLAY_GTK ? "gtk" : "none");
}

static void build_vnc(struct builder *b) {
        const struct vm_config *c = b->c;
        if (!c->vnc || b->p != VM_ARGV_RUN)
                return;
        const char *l = isempty(c->vnc_listen) ? VM_DEFAULT_VNC_LISTEN : c->vnc_listen;
        if (strchr(l, ':') && l[0] != '[')
                OPT(b, "-vnc", "[%s]:%u", l, c->vnc_display);
        else
                OPT(b, "-vnc", "%s:%u", l, c->vnc_display);
}

static void build_extra_cdroms(struct builder *b) {
        const struct vm_config *c = b->c;
        _cleanup_free_ char *cd = ide_props(c->cloak.cdrom_model, NULL);
        if (!cd) {
                b->r = -ENOMEM;
                return;
        }
        unsigned i = 0;
        STRV_FOREACH(p, c->extra_cdroms) {
                char id[16];
                snprintf(id, sizeof id, "cdrom%u", i + 1);
                OPT(b, "-device", "ide-cd,bus=ahci.%u,unit=0,drive=%s%s", i + 2, id, cd);
                build_cdrom_drive(b, id, *p);
                i++;
        }
}

static void build_uefi(struct builder *b) {
        const struct vm_config *c = b->c;
        if (isempty(c->uefi_code))
                return;
        ESC(code, c->uefi_code);
        ESC(vars, c->uefi_vars);
        OPT(b, "-drive", "if=pflash,format=raw,unit=0,file=%s,readonly=on", code);
        OPT(b, "-drive", "if=pflash,format=raw,unit=1,file=%s", vars);
        if (c->secure_boot)
                OPT(b, "-global", "driver=cfi.pflash01,property=secure,value=on");
}

static void build_tpm(struct builder *b) {
        const struct vm_config *c = b->c;
        if (isempty(c->tpm_socket))
                return;
        ESC(sock, c->tpm_socket);
        OPT(b, "-chardev", "socket,id=chrtpm,path=%s", sock);
        OPT(b, "-tpmdev", "emulator,id=tpm0,chardev=chrtpm");
        OPT(b, "-device", "tpm-tis,tpmdev=tpm0");
}

static void build_serial(struct builder *b) {
        const struct vm_config *c = b->c;
        /* Cuckoo3 runs start_args on its own host as its own user: keep the serial device (the
         * memory snapshot holds its state) but without a host path that may not exist there. */
        if (b->p == VM_ARGV_START_ARGS && c->serial != VM_SERIAL_NONE) {
                OPT(b, "-serial", "null");
                return;
        }
        switch (c->serial) {
        case VM_SERIAL_NONE:
                break;
        case VM_SERIAL_FILE:
                /* "file:" takes the rest verbatim: no escaping. */
                OPT(b, "-serial", "file:%s", c->serial_path);
                break;
        case VM_SERIAL_PTY:
                OPT(b, "-serial", "pty");
                break;
        case VM_SERIAL_UNIX: {
                ESC(p, c->serial_path);
                OPT(b, "-serial", "unix:%s,server=on,wait=off", p);
                break;
        }
        }
}

static void build_shares(struct builder *b) {
        const struct vm_config *c = b->c;
        for (size_t i = 0; i < c->n_shares; i++) {
                ESC(path, c->shares[i].path);
                ESC(tag, c->shares[i].tag);
                OPT(b, "-virtfs", "local,path=%s,mount_tag=%s,security_model=none%s", path, tag,
                    c->shares[i].readonly ? ",readonly=on" : "");
        }
}

static void build_cloak(struct builder *b) {
        const struct vm_cloak *k = &b->c->cloak;
        if (!isempty(k->cpu_model) || (k->cpu_flags && k->cpu_flags[0])) {
                _cleanup_free_ char *s = strdup(isempty(k->cpu_model) ? "qemu64" : k->cpu_model);
                if (!s) {
                        b->r = -ENOMEM;
                        return;
                }
                STRV_FOREACH(f, k->cpu_flags) {
                        /* -cpu splits features on every ',' (no ",," escape): check_fields refuses commas. */
                        char *n = strdup_printf("%s,%s", s, *f);
                        free(s);
                        if (!(s = n)) {
                                b->r = -ENOMEM;
                                return;
                        }
                }
                OPT(b, "-cpu", "%s", s);
        }
        for (size_t i = 0; i < k->n_smbios; i++) {
                _cleanup_free_ char *s = strdup_printf("type=%u", k->smbios[i].type);
                if (!s) {
                        b->r = -ENOMEM;
                        return;
                }
                STRV_FOREACH(f, k->smbios[i].fields) {
                        _cleanup_free_ char *e = qemu_opt_escape(*f);
                        char *n = e ? strdup_printf("%s,%s", s, e) : NULL;
                        free(s);
                        if (!(s = n)) {
                                b->r = -ENOMEM;
                                return;
                        }
                }
                OPT(b, "-smbios", "%s", s);
        }
}

static void build_extra_args(struct builder *b) {
        STRV_FOREACH(a, b->c->extra_args)
                add(b, *a);
}

static void build_runtime(struct builder *b, const struct vm_runtime *rt) {
        if (!rt || b->p != VM_ARGV_RUN)
                return;
        if (!isempty(rt->qmp_socket)) {
                ESC(q, rt->qmp_socket);
                OPT(b, "-qmp", "unix:%s,server=on,wait=off", q);
        }
        if (!isempty(rt->pidfile))
                OPT(b, "-pidfile", "%s", rt->pidfile);
        if (rt->no_reboot)
                add(b, "-no-reboot");
        if (rt->paused)
                add(b, "-S");
        if (!isempty(rt->incoming))
                OPT(b, "-incoming", "%s", rt->incoming);
}

static int build(const struct vm_config *c, const struct vm_runtime *rt, enum vm_argv_purpose p, char ***ret) {
        struct builder b = { .c = c, .p = p, .old = qemu_version_pre_4_1(&c->version) };
        if (p == VM_ARGV_RUN)
                add(&b, rt && !isempty(rt->binary) ? rt->binary : VM_DEFAULT_BINARY);
        build_machine(&b);
        build_netdev(&b);
        build_nic(&b);
        build_storage(&b);
        build_usb(&b);
        build_audio(&b);
        build_accel(&b);
        build_cdrom_drive(&b, "cdrom", c->cdrom_path);
        build_disk_drive(&b);
        build_display(&b);
        build_vnc(&b);
        build_extra_cdroms(&b);
        build_uefi(&b);
        build_tpm(&b);
        build_serial(&b);
        build_shares(&b);
        build_cloak(&b);
        build_extra_args(&b);
        build_runtime(&b, rt);
        if (b.r < 0) {
                strv_free(b.v);
                return b.r;
        }
        *ret = b.v;
        return 0;
}

static bool is_power_of_two(unsigned v) { return v && !(v & (v - 1)); }

static bool plain_name(const char *s) {
        for (const char *p = s; *p; p++)
                if (*p == ',' || *p == '=' || *p == ' ' || *p == '/' || (unsigned char)*p < 0x20)
                        return false;
        return true;
}

#define FAIL(...)                                        \
        do {                                             \
                if (reason)                              \
                        snprintf(reason, size, __VA_ARGS__); \
                return -EINVAL;                          \
        } while (0)

static int check_fields(const struct vm_config *c, enum vm_argv_purpose p, char *reason, size_t size) {
        const struct qemu_version *v = &c->version;
        if (c->accel != VM_ACCEL_KVM && c->accel != VM_ACCEL_TCG)
                FAIL("the accelerator must be resolved to kvm or tcg before building QEMU arguments");
        if (c->cpus < 1 || c->cpus > 255)
                FAIL("invalid CPU count %u: use 1 to 255", c->cpus);
        if (c->ram_mb < 32 || c->ram_mb > 4u * 1024 * 1024)
                FAIL("invalid RAM size %u MiB: use 32 MiB to 4 TiB", c->ram_mb);
        if (p == VM_ARGV_RUN && isempty(c->disk_path))
                FAIL("the VM has no disk path");
        if (strv_length(c->extra_cdroms) > VM_MAX_EXTRA_CDROMS)
                FAIL("too many extra CD-ROMs (%zu): at most %d fit on the AHCI controller",
                     strv_length(c->extra_cdroms), VM_MAX_EXTRA_CDROMS);
        STRV_FOREACH(cd, c->extra_cdroms)
                if (isempty(*cd))
                        FAIL("an extra CD-ROM has an empty path");
        if (c->nic_model && (isempty(c->nic_model) || !plain_name(c->nic_model)))
                FAIL("invalid NIC model '%s'", c->nic_model);
        if (c->nic_pci_addr > 31)
                FAIL("invalid NIC PCI slot %u: use 1 to 31", c->nic_pci_addr);
        if (c->mac) {
                uint8_t m[6];
                if (parse_mac(c->mac, m) < 0 || strchr(c->mac, '-'))
                        FAIL("invalid MAC address '%s': use colon notation like 00:19:3c:1f:a2:07", c->mac);
        }
        switch (c->net_mode) {
        case VM_NET_BRIDGE:
                if (c->bridge && (isempty(c->bridge) || strlen(c->bridge) > 15 || !plain_name(c->bridge)))
                        FAIL("invalid bridge name '%s'", c->bridge);
                break;
        case VM_NET_USER: {
                struct ipv4_net n;
                uint32_t a;
                if (!isempty(c->user_net) && parse_cidr(c->user_net, &n) < 0)
                        FAIL("invalid user-mode network '%s': use a CIDR like 10.0.2.0/24", c->user_net);
                if (!isempty(c->user_host) && parse_ipv4(c->user_host, &a) < 0)
                        FAIL("invalid user-mode host address '%s'", c->user_host);
                if (!isempty(c->user_dns) && parse_ipv4(c->user_dns, &a) < 0)
                        FAIL("invalid user-mode DNS address '%s'", c->user_dns);
                if (!isempty(c->guest_ip) && parse_ipv4(c->guest_ip, &a) < 0)
                        FAIL("invalid guest IP '%s'", c->guest_ip);
                if (c->host_fwd_port > 65535 || c->agent_port > 65535)
                        FAIL("invalid port number");
                if (c->host_fwd_port && (isempty(c->guest_ip) || !c->agent_port))
                        FAIL("forwarding a host port needs the guest IP and the agent port");
                if (!isempty(c->guest_ip2) && parse_ipv4(c->guest_ip2, &a) < 0)
                        FAIL("invalid second guest IP '%s'", c->guest_ip2);
                if (c->host_fwd_port2 > 65535 || (c->host_fwd_port2 && c->host_fwd_port2 == c->host_fwd_port))
                        FAIL("invalid second forwarded port");
                if (c->host_fwd_port2 && (isempty(c->guest_ip2) || !c->agent_port))
                        FAIL("the second forward needs its guest IP and the agent port");
                break;
        }
        case VM_NET_NONE:
                break;
        default:
                FAIL("invalid network mode");
        }
        if (c->vnc && c->vnc_display > 65535 - 5900)
                FAIL("invalid VNC display %u: QEMU listens on 5900+N, so N must be at most %d", c->vnc_display,
                     65535 - 5900);
        if ((c->serial == VM_SERIAL_FILE || c->serial == VM_SERIAL_UNIX) && isempty(c->serial_path))
                FAIL("the serial port needs a path");
        for (size_t i = 0; i < c->n_shares; i++)
                if (isempty(c->shares[i].tag) || isempty(c->shares[i].path))
                        FAIL("a shared folder needs a tag and a path");
        unsigned vram = vram_mb(c);
        if (!is_power_of_two(vram) || vram > 256)
                FAIL("invalid VRAM size %u MiB: use a power of two from 1 to 256", vram);
        if (c->audio == VM_AUDIO_NONE && qemu_version_cmp(v, 4, 0, 0) < 0)
                FAIL("audio=none needs QEMU 4.0 or newer");
        if (isempty(c->uefi_code) != isempty(c->uefi_vars))
                FAIL("UEFI needs both the firmware code and this VM's variable store");
        if (c->secure_boot && isempty(c->uefi_code))
                FAIL("Secure Boot needs UEFI firmware");
        const struct vm_cloak *k = &c->cloak;
        if ((k->acpi_oem_id || k->acpi_oem_table_id) && qemu_version_cmp(v, 6, 0, 0) < 0)
                FAIL("changing the ACPI OEM ids needs QEMU 6.0 or newer");
        if (k->acpi_oem_id && strlen(k->acpi_oem_id) > 6)
                FAIL("the ACPI OEM id '%s' is longer than 6 bytes", k->acpi_oem_id);
        if (k->acpi_oem_table_id && strlen(k->acpi_oem_table_id) > 8)
                FAIL("the ACPI OEM table id '%s' is longer than 8 bytes", k->acpi_oem_table_id);
        if (k->cpu_model && !plain_name(k->cpu_model))
                FAIL("invalid CPU model '%s'", k->cpu_model);
        STRV_FOREACH(f, k->cpu_flags)
                if (isempty(*f) || strchr(*f, ','))
                        FAIL("invalid CPU flag '%s': QEMU cannot take a comma inside a -cpu feature", *f);
        for (size_t i = 0; i < k->n_smbios; i++)
                STRV_FOREACH(f, k->smbios[i].fields)
                        if (!strchr(*f, '='))
                                FAIL("SMBIOS field '%s' is not key=value", *f);
        return 0;
}

int vm_config_check(const struct vm_config *c, enum vm_argv_purpose p, char *reason, size_t size) {
        int r = check_fields(c, p, reason, size);
        if (r < 0 || p != VM_ARGV_START_ARGS)
                return r;
        _cleanup_strv_free_ char **a = NULL;
        r = build(c, NULL, p, &a);
        if (r < 0)
                return r;
        const char *why;
        if (vm_start_args_check(a, &why) < 0)
                FAIL("the start arguments would be refused by Cuckoo3: %s", why);
        return 0;
}

int vm_argv_build_runtime(const struct vm_config *c, const struct vm_runtime *rt, enum vm_argv_purpose p,
                          char ***ret) {
        int r = vm_config_check(c, p, NULL, 0);
        if (r < 0)
                return r;
        return build(c, rt, p, ret);
}

int vm_argv_build(const struct vm_config *c, enum vm_argv_purpose p, char ***ret) {
        return vm_argv_build_runtime(c, NULL, p, ret);
}

int vm_start_args_check(char *const *args, const char **ret_reason) {
        static const char *const forbidden[] = { "-incoming", "-monitor", "-qmp-pretty", "-qmp",
                                                 "-loadvm", "-no-shutdown", "-snapshot" };
        const char *why = NULL;
        _cleanup_free_ char *joined = NULL;
        if (!args || !args[0])
                why = "the list is empty";
        else if (strstr(args[0], "qemu-system"))
                why = "the first element names the QEMU binary (start_args hold arguments only)";
        else if (!(joined = strv_join(args, " ")))
                return -ENOMEM;
        else if (!strstr(joined, VM_DISK_PLACEHOLDER))
                why = "no argument holds " VM_DISK_PLACEHOLDER;
        else
                for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                        if (strstr(joined, forbidden[i])) {
                                why = forbidden[i];
                                break;
                        }
        if (why && why[0] == '-') {
                static _Thread_local char buf[96];
                snprintf(buf, sizeof buf, "'%s' appears in the arguments (Cuckoo3 forbids it anywhere, even in a path)",
                         why);
                why = buf;
        }
        if (ret_reason)
                *ret_reason = why;
        return why ? -EINVAL : 0;
}
