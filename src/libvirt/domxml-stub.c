/* A minimal libvirt_domain_xml() until branch lvxml's full renderer is merged (then this file
 * goes): name, memory, CPUs, q35, disk, CD-ROM, serial, NIC (bridge, or user mode with the
 * agent forwards as <qemu:commandline>), SMBIOS files. Enough for the linux guest in tests. */
#include "libvirt/domxml.h"

#include <errno.h>
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define E(name) xmlTextWriterStartElement(w, BAD_CAST(name))
#define A(name, v) xmlTextWriterWriteAttribute(w, BAD_CAST(name), BAD_CAST(v))
#define T(name, v) xmlTextWriterWriteElement(w, BAD_CAST(name), BAD_CAST(v))
#define X() xmlTextWriterEndElement(w)

static void qarg(xmlTextWriterPtr w, const char *v) {
        E("qemu:arg");
        A("value", v);
        X();
}

int libvirt_domain_xml(const struct vm_def *def, const struct libvirt_xml_host *h, char **ret) {
        xmlBufferPtr b = xmlBufferCreate();
        xmlTextWriterPtr w = b ? xmlNewTextWriterMemory(b, 0) : NULL;
        if (!w) {
                xmlBufferFree(b);
                return -ENOMEM;
        }
        char num[64];
        xmlTextWriterSetIndent(w, 1);
        E("domain");
        A("type", h->domain_type);
        A("xmlns:qemu", "http://libvirt.org/schemas/domain/qemu/1.0");
        T("name", def->name);
        E("memory");
        A("unit", "MiB");
        snprintf(num, sizeof num, "%u", def->ram_mb ? def->ram_mb : VM_DEFAULT_RAM_MB);
        xmlTextWriterWriteString(w, BAD_CAST num);
        X();
        snprintf(num, sizeof num, "%u", def->cpus ? def->cpus : VM_DEFAULT_CPUS);
        T("vcpu", num);
        E("os");
        E("type");
        A("arch", "x86_64");
        A("machine", h->machine ? h->machine : "q35");
        xmlTextWriterWriteString(w, BAD_CAST "hvm");
        X();
        E("boot");
        A("dev", "hd");
        X();
        X();
        E("features");
        E("acpi");
        X();
        X();
        E("clock");
        A("offset", def->clock == VM_CLOCK_UTC ? "utc" : "localtime");
        X();
        E("devices");
        E("disk");
        A("type", "file");
        A("device", "disk");
        E("driver");
        A("name", "qemu");
        A("type", def->disk.format == VM_DISK_RAW ? "raw" : "qcow2");
        X();
        E("source");
        A("file", def->disk.path);
        X();
        E("target");
        A("dev", "sda");
        A("bus", "sata");
        X();
        X();
        E("disk");
        A("type", "file");
        A("device", "cdrom");
        E("driver");
        A("name", "qemu");
        A("type", "raw");
        X();
        if (def->n_cdroms > 0 && def->cdroms[0].media) {
                E("source");
                A("file", def->cdroms[0].media);
                X();
        }
        E("target");
        A("dev", "sdb");
        A("bus", "sata");
        X();
        E("readonly");
        X();
        X();
        if (def->serial.type == VM_SERIAL_FILE) {
                E("serial");
                A("type", "file");
                E("source");
                A("path", def->serial.path);
                A("append", "on");
                X();
                X();
        }
        if (def->net.type == VM_NET_BRIDGE) {
                E("interface");
                A("type", "bridge");
                E("source");
                A("bridge", def->net.bridge ? def->net.bridge : VM_DEFAULT_BRIDGE);
                X();
                if (def->nic.mac) {
                        E("mac");
                        A("address", def->nic.mac);
                        X();
                }
                E("model");
                A("type", def->nic.model ? def->nic.model : VM_DEFAULT_NIC);
                X();
                X();
        }
        E("controller");
        A("type", "usb");
        A("model", "none");
        X();
        E("memballoon");
        A("model", "none");
        X();
        X(); /* devices */
        E("qemu:commandline");
        if (def->net.type == VM_NET_USER) {
                _cleanup_free_ char *nd = strdup_printf("user,id=n0%s%s%s", def->net.network ? ",net=" : "",
                                                        strempty(def->net.network), def->net.isolated ? ",restrict=on" : "");
                const char *ips[2] = { def->net.guest_ip, def->net.guest_ip2 };
                for (int i = 0; i < 2 && nd; i++)
                        if (h->agent_forward[i]) {
                                char *n = strdup_printf("%s,hostfwd=tcp:127.0.0.1:%u-%s:%u", nd, h->agent_forward[i],
                                                        ips[i], def->net.agent_port);
                                free(nd);
                                nd = n;
                        }
                _cleanup_free_ char *dev = strdup_printf("%s,netdev=n0%s%s,bus=pcie.0,addr=0x%x",
                                                         def->nic.model ? def->nic.model : VM_DEFAULT_NIC,
                                                         def->nic.mac ? ",mac=" : "", strempty(def->nic.mac),
                                                         def->nic.pci_slot ? def->nic.pci_slot : VM_DEFAULT_NIC_SLOT);
                if (!nd || !dev)
                        goto oom;
                qarg(w, "-netdev");
                qarg(w, nd);
                qarg(w, "-device");
                qarg(w, dev);
        }
        const char *sm[2] = { h->smbios_type0_path, h->smbios_type3_path };
        for (int i = 0; i < 2; i++)
                if (sm[i]) {
                        _cleanup_free_ char *f = strdup_printf("file=%s", sm[i]);
                        if (!f)
                                goto oom;
                        qarg(w, "-smbios");
                        qarg(w, f);
                }
        STRV_FOREACH(a, h->passthrough)
                qarg(w, *a);
        X();
        if (xmlTextWriterEndDocument(w) < 0)
                goto oom;
        xmlFreeTextWriter(w);
        *ret = strdup((const char *)xmlBufferContent(b));
        xmlBufferFree(b);
        return *ret ? 0 : -ENOMEM;
oom:
        xmlFreeTextWriter(w);
        xmlBufferFree(b);
        return -ENOMEM;
}
