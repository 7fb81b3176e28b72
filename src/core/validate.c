/* Validation of names, addresses, sizes and numbers given on the command line. */
#include "core/validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

const char *name_invalid_reason(const char *name) {
        if (!name || !*name)
                return "it is empty";
        if (strlen(name) > NAME_MAX_LEN)
                return "it is longer than 64 bytes";
        if (streq(name, ".") || streq(name, ".."))
                return "'.' and '..' are not names";
        if (name[0] == '-')
                return "it starts with '-'";
        if (strstr(name, ".."))
                return "it contains '..'";
        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
                if (*p == '/')
                        return "it contains '/'";
                if (*p < 0x20 || *p == 0x7f)
                        return "it contains a control character";
                if (isspace(*p))
                        return "it contains whitespace";
        }
        return NULL;
}

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

int vcheck_name(const char *value, const char *what) {
        const char *why = name_invalid_reason(value);
        if (!why)
                return 0;
        log_error("invalid %s '%s': %s (use letters, digits, '.', '_' or '-', at most 64 bytes)", what,
                  strempty(value), why);
        return -EINVAL;
}

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
