/* Host bridge over rtnetlink (libnl-route-3): inspect, create (STP off), address, bring up, delete. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/validate.h"

/* VMCloak's vmcloak-qemubridge defaults. */
#define NET_DEFAULT_BRIDGE "qemubr0"
#define NET_DEFAULT_CIDR "192.168.30.1/24"

#define NET_LINK_MAX_ADDRS 8

/* The rule for a bridge vmcloak creates or attaches VMs to (core's NAME_BRIDGE: what Linux,
 * qemu-bridge-helper's ACL and QEMU's -netdev bridge all accept). Returns the reason
 * ("<problem>; <rule>", valid until the next call in this thread), or NULL when the name is valid. */
const char *net_ifname_invalid_reason(const char *name);

struct net_link {
        int ifindex;               /* 0: no interface of that name in this network namespace */
        char kind[32];             /* IFLA_INFO_KIND ("bridge", "veth", ...); "" for loopback/physical */
        bool is_bridge;
        bool up;                   /* administratively up (IFF_UP) */
        int stp_state;             /* bridges: 0 off, >0 on; -1 unknown or not a bridge */
        unsigned nports;           /* bridges: interfaces enslaved to it (taps of running VMs) */
        struct ipv4_net addrs[NET_LINK_MAX_ADDRS]; /* IPv4 addresses, in the kernel's order */
        unsigned naddrs;
};

/* Look the interface up. Returns 0 (ifindex 0 when it does not exist) or a negative errno. Never
 * prints: callers word the message. */
int net_link_get(const char *name, struct net_link *ret);

/* What net_bridge_ensure() changed. 0: nothing, the bridge was already as asked. */
enum {
        NET_BRIDGE_CREATED = 1 << 0,
        NET_BRIDGE_ADDR_ADDED = 1 << 1,
        NET_BRIDGE_BROUGHT_UP = 1 << 2,
};

/* vmcloak-qemubridge: create bridge `name` with STP off if it is missing, give it `addr` unless it
 * already has a different IPv4 address (then -EADDRINUSE, naming both), bring it up. Prints one
 * error line on failure. `ret_changes` gets the NET_BRIDGE_* bits of what was done. */
int net_bridge_ensure(const char *name, const struct ipv4_net *addr, unsigned *ret_changes);

/* Delete bridge `name`: -ENODEV when missing, -EMEDIUMTYPE when it is not a bridge (never deletes
 * other interfaces). Prints one error line on failure. */
int net_bridge_delete(const char *name);

/* The first IPv4 address of an interface (VMCloak's default --gateway is the bridge's address).
 * -ENODEV: no such interface; -EADDRNOTAVAIL: it has no IPv4 address. Never prints. */
int net_iface_ipv4(const char *name, uint32_t *ret_addr, unsigned *ret_prefix);

/* "192.168.30.1/24" into buf (at least 19 bytes). */
const char *net_format_cidr(const struct ipv4_net *n, char *buf, unsigned size);
