/* Validation of names, addresses, sizes and numbers given on the command line. */
#include "core/validate.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

/* ---- names ---- */

enum name_first {
        FIRST_ANY,
        FIRST_ALNUM,   /* an ASCII letter or digit */
        FIRST_LETTER,  /* an ASCII letter */
};

/* One kind of name: what its consumers accept, and the sentence that says so. */
struct name_rule {
        const char *label;           /* "image name" */
        size_t max;                  /* bytes */
        /* Characters allowed besides ASCII letters and digits; NULL: every byte except those in
         * banned (and whitespace and control characters when no_space). */
        const char *extra;
        const char *banned;
        bool no_space;
        enum name_first first;
        bool no_hyphen_end;
        bool not_all_digits;
        bool lower_only;             /* ASCII letters only in lower case */
        const char *no_substring;
        const char *const *reserved; /* whole names refused, NULL-terminated */
        const char *reserved_why;
        const char *rule;            /* the rule in words, with the consumers it protects */
};

static const char *const dot_names[] = { ".", "..", NULL };
static const char *const acl_words[] = { "all", NULL };
/* What PyYAML (YAML 1.1) reads as a boolean or null rather than text, in lower case. */
static const char *const yaml_words[] = { "yes", "no", "true", "false", "on", "off", "null", NULL };

static const struct name_rule name_rules[NAME_KIND_COUNT] = {
        /* The disk (~/.vmcloak/image/NAME.qcow2), its work files (NAME.qcow2.install-PID.qcow2,
         * .nvram, .tpm, which cleanup finds by that prefix), the log folder, the init work folder,
         * the repository row. */
        [NAME_IMAGE] = {
                .label = "image name", .max = NAME_MAX_LEN, .extra = "._-", .first = FIRST_ALNUM,
                .no_substring = ".qcow2",
                .rule = "an image name is 1 to 64 ASCII letters, digits, '.', '_' or '-', starts with a letter or "
                        "digit and does not contain '.qcow2' (its disk is NAME.qcow2, its work files NAME.qcow2.*)",
        },
        /* The VM folder (~/.vmcloak/vms/qemu/NAME), the machine name Cuckoo3 imports, CAPE's
         * kvm.conf ([NAME] section, label = NAME, machines = a,b,c: INI syntax refuses ';', '#',
         * '[', ']', '=', ':' and ','), QEMU's -name. */
        [NAME_VM] = {
                .label = "VM name", .max = NAME_MAX_LEN, .extra = "._-", .first = FIRST_ALNUM,
                .rule = "a VM name is 1 to 64 ASCII letters, digits, '.', '_' or '-' and starts with a letter or "
                        "digit (its folder, its machine in Cuckoo3, its section in CAPE's kvm.conf)",
        },
        /* Looked up in the repository as it is and joined to a folder: only what keeps it one
         * file name there. */
        [NAME_EXISTING] = {
                .label = "name", .max = SIZE_MAX, .banned = "/", .reserved = dot_names,
                .reserved_why = "'.' and '..' are folders, not names",
                .rule = "the name of an existing image or VM is not empty, has no '/' and is not '.' or '..'",
        },
        /* Linux (IFNAMSIZ 16 with its NUL, no '/', ':' or whitespace), qemu-bridge-helper's ACL
         * ('allow all' allows every bridge; names of 16 bytes or more make the whole file
         * invalid), QEMU's -netdev bridge,br=NAME (',' ends the value) and the /bin/sh -c command
         * line QEMU builds for a helper path with a space in it. */
        [NAME_BRIDGE] = {
                .label = "bridge name", .max = 15, .extra = "._-", .first = FIRST_ALNUM, .reserved = acl_words,
                .reserved_why = "'allow all' in qemu-bridge-helper's ACL means every bridge",
                .rule = "a bridge name is 1 to 15 ASCII letters, digits, '.', '_' or '-', starts with a letter or "
                        "digit and is not 'all' (Linux interface names, qemu-bridge-helper's ACL, QEMU's "
                        "-netdev bridge,br=)",
        },
        /* The kernel's dev_valid_name(), for interfaces that exist already (vmcloak bridge
         * --delete, doctor --bridge): whatever Linux made, vmcloak can name. */
        [NAME_IFNAME] = {
                .label = "interface name", .max = 15, .banned = "/:", .no_space = true, .reserved = dot_names,
                .reserved_why = "'.' and '..' are no interface names",
                .rule = "a Linux interface name is 1 to 15 bytes without '/', ':', whitespace or control "
                        "characters and is not '.' or '..'",
        },
        /* --net user's ADAPTER is recorded where a bridge name goes: the image's adapter column,
         * machineinfo.json's "bridge" (which Cuckoo3 reads as an interface). */
        [NAME_NETWORK] = {
                .label = "network name", .max = 15, .extra = "._-", .first = FIRST_ALNUM,
                .rule = "a network name is 1 to 15 ASCII letters, digits, '.', '_' or '-' and starts with a letter "
                        "or digit (it is recorded where a bridge name goes)",
        },
        /* RFC 1123 host names: what a Linux guest's hostname(1) and DHCP/DNS take. */
        [NAME_HOSTNAME] = {
                .label = "hostname", .max = 63, .extra = "-", .first = FIRST_ALNUM, .no_hyphen_end = true,
                .rule = "a hostname is a DNS label: 1 to 63 ASCII letters, digits or '-', not starting or ending "
                        "with '-'",
        },
        /* Windows computer names: the NetBIOS name is the first 15 bytes, and a name of digits
         * only is refused by Windows Setup and the rename API. */
        [NAME_WINDOWS_HOSTNAME] = {
                .label = "Windows computer name", .max = 15, .extra = "-", .first = FIRST_ALNUM,
                .not_all_digits = true,
                .rule = "a Windows computer name is 1 to 15 ASCII letters, digits or '-', not all digits and not "
                        "starting with '-' (NetBIOS)",
        },
        /* QEMU's -virtfs makes the tag the -fsdev id (letters, digits, '-', '.', '_', starting
         * with a letter) and virtio-9p refuses tags over 31 bytes; the guest mounts it by name. */
        [NAME_SHARE_TAG] = {
                .label = "share tag", .max = 31, .extra = "._-", .first = FIRST_LETTER,
                .rule = "a share tag is 1 to 31 ASCII letters, digits, '.', '_' or '-' and starts with a letter "
                        "(QEMU makes it the -fsdev id; virtio-9p takes at most 31 bytes)",
        },
        /* install's grammar (':' starts a version, '.' a setting package.key=value) and the
         * image's installed list, "name:version,name:version". */
        [NAME_DEPENDENCY] = {
                .label = "dependency name", .max = NAME_MAX_LEN, .extra = "_-", .first = FIRST_ALNUM,
                .rule = "a dependency name is 1 to 64 ASCII letters, digits, '_' or '-' and starts with a letter "
                        "or digit (':' starts its version, '.' a setting)",
        },
        [NAME_DEP_VERSION] = {
                .label = "dependency version", .max = NAME_MAX_LEN, .extra = "._-", .first = FIRST_ANY,
                .rule = "a dependency version is 1 to 64 ASCII letters, digits, '.', '_' or '-' (the image records "
                        "name:version in a comma-separated list)",
        },
        /* Cuckoo3's handling of machine tags, file by file: core/validate.h, vcheck_machine_tag(). */
        [NAME_MACHINE_TAG] = {
                .label = "machine tag", .max = NAME_MAX_LEN, .extra = "._-", .first = FIRST_LETTER,
                .lower_only = true, .reserved = yaml_words,
                .reserved_why = "YAML reads it as a boolean or null, so Cuckoo3's machine config would not keep it",
                .rule = "a machine tag is 1 to 64 lower-case ASCII letters, digits, '_', '-' or '.' and starts with "
                        "a letter (Cuckoo3 writes tags unquoted into its YAML machine config, splits them on ',' "
                        "and matches them exactly; its own tags are lower case, e.g. office, browser_edge)",
        },
};

static bool ascii_alnum(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool ascii_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static bool char_allowed(const struct name_rule *r, unsigned char c) {
        if (r->lower_only && c >= 'A' && c <= 'Z')
                return false;
        if (r->extra)
                return ascii_alnum(c) || (c && strchr(r->extra, c));
        if (r->no_space && (c <= 0x20 || c == 0x7f))
                return false;
        return !strchr(r->banned, c);
}

/* Why c is refused, in words. */
static const char *char_problem(unsigned char c, char buf[static 48]) {
        if (c >= 'A' && c <= 'Z') {
                snprintf(buf, 48, "it contains the upper-case '%c'", c);
                return buf;
        }
        if (c == ' ' || (c >= '\t' && c <= '\r'))
                return "it contains whitespace";
        if (c < 0x20 || c == 0x7f)
                return "it contains a control character";
        if (c >= 0x80)
                return "it contains a non-ASCII character";
        snprintf(buf, 48, "'%c' is not allowed", c);
        return buf;
}

static const char *rule_problem(const struct name_rule *r, const char *name, char *problem, size_t size) {
        char cb[48];
        const char *why = NULL;
        size_t len = name ? strlen(name) : 0;
        const unsigned char *p = (const unsigned char *)name;
        if (len == 0)
                why = "it is empty";
        for (const char *const *w = r->reserved; !why && w && *w; w++)
                if (streq(name, *w))
                        why = r->reserved_why;
        for (size_t i = 0; !why && i < len; i++)
                if (!char_allowed(r, p[i]))
                        why = char_problem(p[i], cb);
        if (!why && ((r->first == FIRST_ALNUM && !ascii_alnum(p[0])) ||
                     (r->first == FIRST_LETTER && !ascii_letter(p[0])))) {
                snprintf(cb, sizeof cb, "it starts with '%c'", p[0]);
                why = cb;
        }
        if (!why && len > r->max) {
                snprintf(cb, sizeof cb, "it is %zu bytes long", len);
                why = cb;
        }
        if (!why && r->no_hyphen_end && name[len - 1] == '-')
                why = "it ends with '-'";
        if (!why && r->not_all_digits && strspn(name, "0123456789") == len)
                why = "it is all digits";
        if (!why && r->no_substring && strstr(name, r->no_substring)) {
                snprintf(cb, sizeof cb, "it contains '%s'", r->no_substring);
                why = cb;
        }
        if (!why)
                return NULL;
        snprintf(problem, size, "%s; %s", why, r->rule);
        return problem;
}

const char *name_problem(enum name_kind kind, const char *name, char buf[static NAME_PROBLEM_MAX]) {
        assert((unsigned)kind < NAME_KIND_COUNT);
        return rule_problem(&name_rules[kind], name, buf, NAME_PROBLEM_MAX);
}

const char *name_kind_label(enum name_kind kind) {
        assert((unsigned)kind < NAME_KIND_COUNT);
        return name_rules[kind].label;
}

/* The value as the message quotes it: control characters as \xNN (so the message stays one
 * line), at most 80 bytes of it. */
static const char *quoted(const char *value, char buf[static 340]) {
        size_t o = 0, i = 0;
        const unsigned char *v = (const unsigned char *)strempty(value);
        for (; v[i] && i < 80; i++) {
                if (v[i] < 0x20 || v[i] == 0x7f)
                        o += (size_t)snprintf(buf + o, 5, "\\x%02x", v[i]);
                else
                        buf[o++] = (char)v[i];
        }
        if (v[i])
                o += (size_t)snprintf(buf + o, 4, "...");
        buf[o] = 0;
        return buf;
}

static int name_check(enum name_kind kind, const char *value, const char *label) {
        char problem[NAME_PROBLEM_MAX], q[340];
        if (!name_problem(kind, value, problem))
                return 0;
        log_error("invalid %s '%s': %s", label ? label : name_kind_label(kind), quoted(value, q), problem);
        return -EINVAL;
}

int vcheck_image_name(const char *value) { return name_check(NAME_IMAGE, value, NULL); }
int vcheck_vm_name(const char *value) { return name_check(NAME_VM, value, NULL); }
int vcheck_existing_name(const char *value, const char *what) { return name_check(NAME_EXISTING, value, what); }
int vcheck_bridge_name(const char *value) { return name_check(NAME_BRIDGE, value, NULL); }
int vcheck_ifname(const char *value) { return name_check(NAME_IFNAME, value, NULL); }
int vcheck_network_name(const char *value) { return name_check(NAME_NETWORK, value, NULL); }
int vcheck_hostname(const char *value) { return name_check(NAME_HOSTNAME, value, NULL); }
int vcheck_windows_hostname(const char *value) { return name_check(NAME_WINDOWS_HOSTNAME, value, NULL); }
int vcheck_share_tag(const char *value) { return name_check(NAME_SHARE_TAG, value, NULL); }
int vcheck_dependency_name(const char *value) { return name_check(NAME_DEPENDENCY, value, NULL); }
int vcheck_dependency_version(const char *value) { return name_check(NAME_DEP_VERSION, value, NULL); }
int vcheck_machine_tag(const char *value) { return name_check(NAME_MACHINE_TAG, value, NULL); }

int parse_ipv4(const char *s, uint32_t *ret) {
        uint32_t a = 0;
        const char *p = s;
        for (int i = 0; i < 4; i++) {
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                unsigned v = 0;
                int digits = 0;
                while (isdigit((unsigned char)*p)) {
                        v = v * 10 + (unsigned)(*p - '0');
                        if (++digits > 3 || v > 255)
                                return -EINVAL;
                        p++;
                }
                if (digits > 1 && p[-digits] == '0')
                        return -EINVAL; /* leading zeros are ambiguous (octal) */
                a = (a << 8) | v;
                if (i < 3) {
                        if (*p != '.')
                                return -EINVAL;
                        p++;
                }
        }
        if (*p)
                return -EINVAL;
        *ret = a;
        return 0;
}

void format_ipv4(uint32_t a, char buf[static 16]) {
        snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

uint32_t ipv4_netmask(unsigned prefix) {
        return prefix == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - prefix));
}

int parse_cidr(const char *s, struct ipv4_net *ret) {
        const char *slash = strchr(s, '/');
        char addr[16];
        unsigned prefix = 24;
        if (slash) {
                size_t l = (size_t)(slash - s);
                if (l == 0 || l >= sizeof addr)
                        return -EINVAL;
                memcpy(addr, s, l);
                addr[l] = 0;
                if (parse_uint(slash + 1, 0, 32, &prefix) < 0)
                        return -EINVAL;
        } else {
                if (strlen(s) >= sizeof addr)
                        return -EINVAL;
                strcpy(addr, s);
        }
        uint32_t a;
        if (parse_ipv4(addr, &a) < 0)
                return -EINVAL;
        ret->addr = a;
        ret->prefix = prefix;
        return 0;
}

int netmask_to_prefix(const char *dotted, unsigned *ret) {
        uint32_t m;
        if (parse_ipv4(dotted, &m) < 0)
                return -EINVAL;
        unsigned p = 0;
        while (p < 32 && (m & (0x80000000u >> p)))
                p++;
        if (ipv4_netmask(p) != m)
                return -EINVAL;
        *ret = p;
        return 0;
}

uint32_t ipv4_network(const struct ipv4_net *n) { return n->addr & ipv4_netmask(n->prefix); }
uint32_t ipv4_broadcast(const struct ipv4_net *n) { return ipv4_network(n) | ~ipv4_netmask(n->prefix); }
bool ipv4_in_net(const struct ipv4_net *n, uint32_t a) {
        return (a & ipv4_netmask(n->prefix)) == ipv4_network(n);
}

static int hexval(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = tolower(c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int parse_mac(const char *s, uint8_t mac[6]) {
        if (strlen(s) != 17)
                return -EINVAL;
        char sep = s[2];
        if (sep != ':' && sep != '-')
                return -EINVAL;
        for (int i = 0; i < 6; i++) {
                int h = hexval((unsigned char)s[i * 3]), l = hexval((unsigned char)s[i * 3 + 1]);
                if (h < 0 || l < 0)
                        return -EINVAL;
                if (i < 5 && s[i * 3 + 2] != sep)
                        return -EINVAL;
                mac[i] = (uint8_t)(h << 4 | l);
        }
        return 0;
}

void format_mac(const uint8_t m[6], char buf[static 18]) {
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int parse_size(const char *s, uint64_t unit_default, uint64_t *ret) {
        if (!isdigit((unsigned char)*s))
                return -EINVAL;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        uint64_t unit = unit_default;
        if (*end) {
                switch (toupper((unsigned char)*end)) {
                case 'B': unit = 1; break;
                case 'K': unit = 1ull << 10; break;
                case 'M': unit = 1ull << 20; break;
                case 'G': unit = 1ull << 30; break;
                case 'T': unit = 1ull << 40; break;
                default: return -EINVAL;
                }
                end++;
                /* Accept "G", "GB", "GiB". */
                if (unit > 1 && (streq(end, "iB") || streq(end, "ib") || streq(end, "B") || streq(end, "b")))
                        end += strlen(end);
                if (*end)
                        return -EINVAL;
        }
        if (v == 0)
                return -EINVAL;
        if (v > UINT64_MAX / unit)
                return -ERANGE;
        *ret = v * unit;
        return 0;
}

int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret) {
        if (!s || !isdigit((unsigned char)*s))
                return -EINVAL;
        errno = 0;
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (*end)
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = (unsigned)v;
        return 0;
}

int parse_port(const char *s, uint16_t *ret) {
        unsigned v;
        int r = parse_uint(s, 1, 65535, &v);
        if (r < 0)
                return r;
        *ret = (uint16_t)v;
        return 0;
}

int parse_resolution(const char *s, unsigned *w, unsigned *h) {
        const char *x = strchr(s, 'x');
        if (!x)
                return -EINVAL;
        char buf[16];
        size_t l = (size_t)(x - s);
        if (l == 0 || l >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, l);
        buf[l] = 0;
        if (parse_uint(buf, 320, 16384, w) < 0 || parse_uint(x + 1, 200, 16384, h) < 0)
                return -EINVAL;
        return 0;
}

int vcheck_name(const char *value, const char *what) { return vcheck_existing_name(value, what); }

int vcheck_ipv4(const char *value, const char *option, uint32_t *ret) {
        uint32_t a;
        if (parse_ipv4(value, &a) < 0) {
                log_error("invalid IP address '%s' for %s (expected four numbers 0-255, e.g. 192.168.30.2)",
                          value, option);
                return -EINVAL;
        }
        if (ret)
                *ret = a;
        return 0;
}

int vcheck_cidr(const char *value, const char *option, struct ipv4_net *ret) {
        struct ipv4_net n;
        if (parse_cidr(value, &n) < 0) {
                log_error("invalid network '%s' for %s (expected ADDRESS/PREFIX, e.g. 192.168.30.0/24)", value,
                          option);
                return -EINVAL;
        }
        if (ret)
                *ret = n;
        return 0;
}

int vcheck_mac(const char *value, const char *option, uint8_t mac[6]) {
        uint8_t m[6];
        if (parse_mac(value, m) < 0) {
                log_error("invalid MAC address '%s' for %s (expected six hex pairs, e.g. 00:19:3c:1f:a2:07)",
                          value, option);
                return -EINVAL;
        }
        if (m[0] & 1) {
                log_error("invalid MAC address '%s' for %s: it is a multicast address (first byte must be even)",
                          value, option);
                return -EINVAL;
        }
        if (mac)
                memcpy(mac, m, 6);
        return 0;
}

int vcheck_size(const char *value, const char *option, uint64_t unit_default, uint64_t *ret) {
        int r = parse_size(value, unit_default, ret);
        if (r < 0) {
                log_error("invalid size '%s' for %s (expected a number with an optional unit K, M, G or T, "
                          "e.g. 256G)", value, option);
                return r;
        }
        return 0;
}

int vcheck_port(const char *value, const char *option, uint16_t *ret) {
        if (parse_port(value, ret) < 0) {
                log_error("invalid port '%s' for %s (expected a number from 1 to 65535)", value, option);
                return -EINVAL;
        }
        return 0;
}

int vcheck_uint(const char *value, const char *option, unsigned min, unsigned max, unsigned *ret) {
        int r = parse_uint(value, min, max, ret);
        if (r < 0) {
                log_error("invalid value '%s' for %s (expected a whole number from %u to %u)", value, option, min,
                          max);
                return -EINVAL;
        }
        return 0;
}
