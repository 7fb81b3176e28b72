/* Parsing and validation of user input: names, IPv4/CIDR, MACs, sizes, ports, numbers.
 * Each parser returns 0 or -EINVAL/-ERANGE and never prints; the vcheck_* wrappers print
 * one clear line naming the option ("vmcloak: invalid IP address 'x' for --ip"). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Names. Every name vmcloak gives something is checked against what all of its consumers
 * accept, one rule per kind of name (the table in validate.c says which consumers each rule
 * protects). The message of a refused name is one line:
 *     invalid <kind> '<name>': <what is wrong>; <the rule>
 * New names get the rule of their kind; names that refer to an existing image or VM only the
 * rule that keeps them one file name (NAME_EXISTING), so that names an older rule or VMCloak
 * let in stay listable, usable and deletable.
 */
#define NAME_MAX_LEN 64
#define NAME_PROBLEM_MAX 512

enum name_kind {
        NAME_IMAGE,            /* a new image */
        NAME_VM,               /* a new snapshot VM (each of VMNAME1..n) */
        NAME_EXISTING,         /* an existing image or VM, looked up as it is */
        NAME_BRIDGE,           /* a bridge vmcloak creates or attaches VMs to */
        NAME_IFNAME,           /* an existing interface: Linux's own rule (inspect, delete) */
        NAME_NETWORK,          /* ADAPTER of --net user: it stands where a bridge name goes */
        NAME_HOSTNAME,         /* --hostname: a DNS label, which every guest accepts */
        NAME_WINDOWS_HOSTNAME, /* a Windows guest's computer name (NetBIOS) */
        NAME_SHARE_TAG,        /* TAG of --share TAG=DIR */
        NAME_DEPENDENCY,       /* install's name of name[:version] and package of package.key=value */
        NAME_DEP_VERSION,      /* install's version of name:version and package.version=VERSION */
        NAME_MACHINE_TAG,      /* a Cuckoo machine tag (--tag, a catalog entry's tags) */
        NAME_KIND_COUNT,
};

/* What is wrong with name as a `kind` name, and the rule, as "<problem>; <rule>" in buf;
 * NULL when the name is acceptable (buf untouched). Never prints. */
const char *name_problem(enum name_kind kind, const char *name, char buf[static NAME_PROBLEM_MAX]);
/* The words for the kind in messages ("image name"). */
const char *name_kind_label(enum name_kind kind);

/* Each prints "invalid <kind> '<value>': <problem>; <rule>" and returns -EINVAL, or returns 0. */
int vcheck_image_name(const char *value);            /* NAME_IMAGE */
int vcheck_vm_name(const char *value);               /* NAME_VM */
/* NAME_EXISTING; what names it in the message: "image name", "VM name" or "name". */
int vcheck_existing_name(const char *value, const char *what);
int vcheck_bridge_name(const char *value);           /* NAME_BRIDGE */
int vcheck_ifname(const char *value);                /* NAME_IFNAME */
int vcheck_network_name(const char *value);          /* NAME_NETWORK */
int vcheck_hostname(const char *value);              /* NAME_HOSTNAME */
int vcheck_windows_hostname(const char *value);      /* NAME_WINDOWS_HOSTNAME */
int vcheck_share_tag(const char *value);             /* NAME_SHARE_TAG */
int vcheck_dependency_name(const char *value);       /* NAME_DEPENDENCY */
int vcheck_dependency_version(const char *value);    /* NAME_DEP_VERSION */
/* NAME_MACHINE_TAG. What Cuckoo3 (github.com/cert-ee/cuckoo3) does with a machine tag bounds it:
 * `cuckoo machine import qemu` writes each tag unquoted into conf/machineries/qemu.yaml
 * (machineries/cuckoo/machineries/data/conftemplates/qemu.yaml.jinja2: `- {{ tag }}`) and reads
 * it back as YAML with config.String, which strips it (common/cuckoo/common/config.py), so a
 * tag YAML reads as something else (yes, off, null, 1.0, a ':' or '#') changes or vanishes;
 * `cuckoo machine add --tags` and `cuckoo submit --platform windows,10,TAG,TAG` split tags on ','
 * and Task.machine_tags stores them joined by ',' (core/cuckoo/main.py,
 * common/cuckoo/common/db.py); tasks find machines by exact, case-sensitive tags, and every tag
 * Cuckoo3 asks for itself is lower case (browser_to_tag() in common/cuckoo/common/utils.py,
 * processing's identification.yaml: office, dotnet, pdfreader, ...). Hence: 1 to 64 lower-case
 * ASCII letters, digits, '_', '-' or '.', starting with a letter, and no YAML 1.1 word. */
int vcheck_machine_tag(const char *value);

struct ipv4_net {
        uint32_t addr;      /* host byte order; the address as given (host bits may be set) */
        unsigned prefix;    /* 0..32 */
};

int parse_ipv4(const char *s, uint32_t *ret);                 /* host byte order */
void format_ipv4(uint32_t a, char buf[static 16]);
/* "a.b.c.d/n"; a bare address means /24 (VMCloak's rule). Host bits allowed. */
int parse_cidr(const char *s, struct ipv4_net *ret);
uint32_t ipv4_netmask(unsigned prefix);
int netmask_to_prefix(const char *dotted, unsigned *ret);     /* rejects non-contiguous masks */
uint32_t ipv4_network(const struct ipv4_net *n);
uint32_t ipv4_broadcast(const struct ipv4_net *n);
bool ipv4_in_net(const struct ipv4_net *n, uint32_t a);

/* "aa:bb:cc:dd:ee:ff" (':' or '-' separators, any case); normalised to lower-case colons. */
int parse_mac(const char *s, uint8_t mac[6]);
void format_mac(const uint8_t mac[6], char buf[static 18]);

/* Sizes: "256" (unit_default applies), "256G", "4096M", "1T", "512K", "10B"; returns bytes. */
int parse_size(const char *s, uint64_t unit_default, uint64_t *ret);
int parse_port(const char *s, uint16_t *ret);                 /* 1..65535 */
int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret);
int parse_resolution(const char *s, unsigned *w, unsigned *h);   /* "1024x768" */

/* Wrappers for option parsing: print "vmcloak: invalid <what> 'value' for <option>: reason". */
/* Older callers' name check: the NAME_EXISTING rule (a name that is one file name), with what
 * naming it. New code names the kind: vcheck_image_name(), vcheck_vm_name(), ... */
int vcheck_name(const char *value, const char *what);
int vcheck_ipv4(const char *value, const char *option, uint32_t *ret);
int vcheck_cidr(const char *value, const char *option, struct ipv4_net *ret);
int vcheck_mac(const char *value, const char *option, uint8_t mac[6]);
int vcheck_size(const char *value, const char *option, uint64_t unit_default, uint64_t *ret);
int vcheck_port(const char *value, const char *option, uint16_t *ret);
int vcheck_uint(const char *value, const char *option, unsigned min, unsigned max, unsigned *ret);
