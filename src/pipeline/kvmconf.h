/* The kvm machinery configuration of CAPEv2 (kvm.conf) and Cuckoo3 (kvm.yaml) for VMs that live
 * as libvirt domains (export --cape, issue 14): rows in, text out. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/repo.h"

enum kvmconf_format {
        KVMCONF_CAPE,     /* CAPEv2 conf/kvm.conf: INI read by configparser (lib/cuckoo/common/config.py) */
        KVMCONF_CUCKOO3,  /* Cuckoo3 conf/machineries/kvm.yaml (machineries/.../conftemplates/kvm.yaml.jinja2) */
};

/* One machine of the file. Every string is required but snapshot and mac (NULL: left out). */
struct kvmconf_machine {
        const char *name;          /* the section (CAPE) or machines key (Cuckoo3): the VM name */
        const char *label;         /* the libvirt domain name (what the machinery looks up) */
        const char *platform;      /* "windows" | "linux" (the OS profile's os_name) */
        const char *os_version;    /* Cuckoo3's os_version: "7", "10", "11"; linux: the kernel or "linux" */
        const char *os_tag;        /* CAPE's OS tag for windows ("win7", "win8", "win10", "win11"), NULL for linux */
        const char *arch;          /* the profile's "amd64" | "x86" (CAPE writes x64 | x86) */
        const char *ip;            /* the guest's address: where the agent (port agent_port) answers */
        uint16_t agent_port;       /* Cuckoo3 only: CAPE's agent port is fixed at 8000 */
        const char *mac;           /* Cuckoo3's mac_address, "52:54:00:..."; NULL: left out */
        const char *snapshot;      /* the running-state snapshot to revert; NULL: left out (the current one) */
        const char *interface;     /* the bridge the domain's NIC is on (traffic capture) */
        char *const *tags;         /* the VM's machine tags (core/tags.h), NULL-terminated, may be NULL */
};

struct kvmconf {
        const char *dsn;           /* the libvirt URI of the host every machine is on */
        const char *interface;     /* [kvm] interface; NULL: the first machine's */
        const char *resultserver_ip;   /* CAPE per machine; NULL: left out (cuckoo.conf's) */
        uint16_t resultserver_port;    /* CAPE per machine; 0: left out */
        const struct kvmconf_machine *machines;
        size_t n_machines;         /* at least 1 */
};

/*
 * Render c as the file format f reads, with a header comment naming vmcloak and the host.
 * CAPE (conf/default/kvm.conf.default, modules/machinery/kvm.py, LibVirtMachinery in
 * lib/cuckoo/common/abstracts.py): [kvm] machines (comma list), interface, dsn; one section per
 * machine with label, platform, ip, arch (x64/x86), tags (the OS tag CAPE's kvm.conf requires for
 * Windows, the arch tag CAPE's scheduler wants for x64 tasks, then the VM's own tags), snapshot,
 * interface, resultserver_ip/_port; '%' doubled (configparser interpolation). Cuckoo3
 * (machineries config.py typeloaders["kvm.yaml"]): dsn, interface, machines: NAME: label, ip,
 * platform, os_version, architecture, agent_port, mac_address, snapshot, interface, tags;
 * written with libyaml's emitter.
 * *ret: a new NUL-terminated text. 0; -EINVAL after one line naming the machine and the value
 * the reader would misread (a name CAPE's own sections use, a value configparser turns into a
 * boolean or number, a line break, a missing required value); -ENOMEM.
 */
int kvmconf_render(const struct kvmconf *c, enum kvmconf_format f, char **ret);

/* What a kvmconf_machine needs, taken from the repository: a snapshot VM row and its image row. */
struct kvmconf_vm {
        struct kvmconf_machine m;
        char **tags;               /* owned: the row's tags */
};
void kvmconf_vm_done(struct kvmconf_vm *v);

/*
 * Fill v from VM s (a schema-6 row) and its image img. Refused (-EINVAL, no log line: the one-line
 * reason with the way out goes into reason[size], for the caller to log as an error or, when it
 * skips the VM, a warning): a VM that is no libvirt domain (a local Cuckoo3 VM: its qemu machinery, or snapshot
 * --connect), a user-mode networking VM (CAPE reaches the agent at ip:8000 and captures by ip:
 * a bridged or routed VM is needed), an image whose OS profile vmcloak does not know. The
 * strings of v point into s and img (keep both until v is done). 0, -EINVAL, -ENOMEM (no line).
 */
int kvmconf_vm_from_rows(const struct snapshot *s, const struct image *img, struct kvmconf_vm *v, char *reason,
                         size_t size);

/* CAPE's fixed agent port (CUCKOO_GUEST_PORT, lib/cuckoo/common/constants.py). */
#define KVMCONF_CAPE_AGENT_PORT 8000

/*
 * Whether CAPE can use v (filled by kvmconf_vm_from_rows): its agent must listen on
 * KVMCONF_CAPE_AGENT_PORT, since CAPE's kvm.conf has no port key, and its name must be one CAPE
 * reads as a section and a label (not kvm/DEFAULT, no comma or bracket, nothing CAPE's Config
 * turns into a boolean or number: "yes", "1234", "1_2"). 0, or -EINVAL with the
 * one-line reason and the way out in reason[size] (no log line, as kvmconf_vm_from_rows).
 */
int kvmconf_vm_cape_check(const struct kvmconf_vm *v, char *reason, size_t size);
