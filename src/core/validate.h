/* Parsing and validation of user input: names, IPv4/CIDR, MACs, sizes, ports, numbers.
 * Each parser returns 0 or -EINVAL/-ERANGE and never prints; the vcheck_* wrappers print
 * one clear line naming the option ("vmcloak: invalid IP address 'x' for --ip"). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define NAME_MAX_LEN 64

/* Image/VM names: non-empty, at most 64 bytes, no '/', not "." or "..", no leading '-',
 * no control characters or whitespace. Returns a static reason, or NULL if valid. */
const char *name_invalid_reason(const char *name);

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
int vcheck_name(const char *value, const char *what);
int vcheck_ipv4(const char *value, const char *option, uint32_t *ret);
int vcheck_cidr(const char *value, const char *option, struct ipv4_net *ret);
int vcheck_mac(const char *value, const char *option, uint8_t mac[6]);
int vcheck_size(const char *value, const char *option, uint64_t unit_default, uint64_t *ret);
int vcheck_port(const char *value, const char *option, uint16_t *ret);
int vcheck_uint(const char *value, const char *option, unsigned min, unsigned max, unsigned *ret);
