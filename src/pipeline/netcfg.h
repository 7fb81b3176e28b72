/* The guest network of a new image: mode (bridge or QEMU user networking), network, gateway,
 * DNS and the guest's address, from init's options with VMCloak's defaults and checks. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/validate.h"

enum image_netmode {
        IMAGE_NET_BRIDGE = 0,
        IMAGE_NET_USER,
};

struct netcfg_opts {
        enum image_netmode mode;
        const char *adapter;   /* bridge name (bridge mode) */
        const char *network;   /* --network or NULL */
        const char *gateway;   /* --gateway or NULL */
        const char *ip;        /* --ip or NULL */
        const char *dns;       /* --dns or NULL */
        const char *dns2;      /* --dns2 or NULL */
};

struct netcfg {
        struct ipv4_net net;   /* network/prefix */
        uint32_t ip, gateway, dns, dns2;
        char ip_s[16], gateway_s[16], netmask_s[16], dns_s[16], dns2_s[16];
};

/* The bridge's address (bridge mode, no --gateway) comes from bridge_addr/bridge_prefix:
 * the caller reads it from the host (net_iface_ipv4) and passes 0 when the bridge has none.
 * used: addresses the repository already uses. Prints one error line on failure. */
int netcfg_resolve(const struct netcfg_opts *o, uint32_t bridge_addr, unsigned bridge_prefix, char *const *used,
                   struct netcfg *ret);

/* In user mode QEMU's host, resolver (and .1) are no guest addresses: mark them used. */
struct ipnet;
void netcfg_reserve_usernet(struct ipnet *n);

const char *image_netmode_to_string(enum image_netmode m);
int image_netmode_from_string(const char *s, enum image_netmode *ret);

/* User networking defaults (QEMU's slirp conventions). */
#define USERNET_DEFAULT_NETWORK "10.0.2.0/24"
#define USERNET_GATEWAY_OFFSET 2
#define USERNET_DNS_OFFSET 3
#define USERNET_FIRST_GUEST_OFFSET 15
#define BRIDGE_DEFAULT_NETWORK "192.168.30.0/24"
