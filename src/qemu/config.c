/* VM config lifetime (defaults, freeing) and small value helpers (versions, accelerators). */
#include "qemu/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void vm_config_init(struct vm_config *c) {
        memset(c, 0, sizeof *c);
        c->accel = VM_ACCEL_AUTO;
        c->cpus = VM_DEFAULT_CPUS;
        c->ram_mb = VM_DEFAULT_RAM_MB;
        c->disk_format = VM_DISK_QCOW2;
        c->boot_order = VM_BOOT_CD_FIRST;
        c->nic_pci_addr = VM_DEFAULT_NIC_ADDR;
        c->net_mode = VM_NET_BRIDGE;
        c->user_restrict = true;
        c->vram_mb = VM_DEFAULT_VRAM_MB;
        c->rtc = VM_RTC_LOCALTIME;
}

static void cloak_done(struct vm_cloak *k) {
        free(k->cpu_model);
        strv_free(k->cpu_flags);
        for (size_t i = 0; i < k->n_smbios; i++)
                strv_free(k->smbios[i].fields);
        free(k->smbios);
        free(k->acpi_oem_id);
        free(k->acpi_oem_table_id);
        free(k->disk_model);
        free(k->disk_serial);
        free(k->cdrom_model);
        free(k->cdrom_serial);
        memset(k, 0, sizeof *k);
}

void vm_config_done(struct vm_config *c) {
        if (!c)
                return;
        free(c->name);
        free(c->disk_path);
        free(c->cdrom_path);
        strv_free(c->extra_cdroms);
        free(c->nic_model);
        free(c->mac);
        free(c->bridge);
        free(c->bridge_helper);
        free(c->user_net);
        free(c->user_host);
        free(c->user_dns);
        free(c->guest_ip);
        free(c->guest_ip2);
        free(c->vnc_listen);
        free(c->serial_path);
        for (size_t i = 0; i < c->n_shares; i++) {
                free(c->shares[i].tag);
                free(c->shares[i].path);
        }
        free(c->shares);
        free(c->uefi_code);
        free(c->uefi_vars);
        free(c->tpm_socket);
        cloak_done(&c->cloak);
        strv_free(c->extra_args);
        memset(c, 0, sizeof *c);
}

void vm_runtime_done(struct vm_runtime *rt) {
        if (!rt)
                return;
        free(rt->binary);
        free(rt->qmp_socket);
        free(rt->incoming);
        free(rt->pidfile);
        memset(rt, 0, sizeof *rt);
}

int vm_config_add_share(struct vm_config *c, const char *tag, const char *path, bool readonly) {
        struct vm_share *n = realloc(c->shares, (c->n_shares + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        c->shares = n;
        struct vm_share *s = &n[c->n_shares];
        s->tag = strdup(tag);
        s->path = strdup(path);
        s->readonly = readonly;
        if (!s->tag || !s->path) {
                free(s->tag);
                free(s->path);
                return -ENOMEM;
        }
        c->n_shares++;
        return 0;
}

int vm_config_add_smbios(struct vm_config *c, unsigned type, char *const *fields) {
        struct vm_smbios *n = realloc(c->cloak.smbios, (c->cloak.n_smbios + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        c->cloak.smbios = n;
        char **f = strv_copy(fields);
        if (!f && fields && *fields)
                return -ENOMEM;
        n[c->cloak.n_smbios].type = type;
        n[c->cloak.n_smbios].fields = f;
        c->cloak.n_smbios++;
        return 0;
}

int qemu_version_cmp(const struct qemu_version *a, unsigned major, unsigned minor, unsigned micro) {
        if (a->major != major)
                return a->major < major ? -1 : 1;
        if (a->minor != minor)
                return a->minor < minor ? -1 : 1;
        if (a->micro != micro)
                return a->micro < micro ? -1 : 1;
        return 0;
}

int qemu_version_parse(const char *s, struct qemu_version *ret) {
        unsigned v[3] = { 0, 0, 0 };
        int n = 0;
        const char *p = s;
        while (n < 3) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned long x = 0;
                while (*p >= '0' && *p <= '9') {
                        x = x * 10 + (unsigned)(*p - '0');
                        if (x > 100000)
                                return -ERANGE;
                        p++;
                }
                v[n++] = (unsigned)x;
                if (*p != '.')
                        break;
                p++;
        }
        if (*p || n < 2)
                return -EINVAL;
        *ret = (struct qemu_version){ v[0], v[1], v[2] };
        return 0;
}

const char *vm_accel_to_string(enum vm_accel a) {
        switch (a) {
        case VM_ACCEL_KVM:
                return "kvm";
        case VM_ACCEL_TCG:
                return "tcg";
        default:
                return "auto";
        }
}

int vm_accel_from_string(const char *s, enum vm_accel *ret) {
        if (streq(s, "auto"))
                *ret = VM_ACCEL_AUTO;
        else if (streq(s, "kvm"))
                *ret = VM_ACCEL_KVM;
        else if (streq(s, "tcg"))
                *ret = VM_ACCEL_TCG;
        else
                return -EINVAL;
        return 0;
}
