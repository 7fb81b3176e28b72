/* Resolving an image's guest network from init's options (VMCloak's rules, minus its quirks). */
#include "pipeline/netcfg.h"

#include <errno.h>
#include <stdio.h>

#include "core/ipnet.h"
#include "core/log.h"
#include "core/util.h"

const char *image_netmode_to_string(enum image_netmode m) { return m == IMAGE_NET_USER ? "user" : "bridge"; }

void netcfg_reserve_usernet(struct ipnet *n) {
        for (unsigned off = 1; off <= USERNET_DNS_OFFSET; off++)
                ipnet_mark_used(n, ipv4_network(&n->net) + off);
}

int image_netmode_from_string(const char *s, enum image_netmode *ret) {
        if (streq(s, "bridge"))
                *ret = IMAGE_NET_BRIDGE;
        else if (streq(s, "user"))
                *ret = IMAGE_NET_USER;
        else
                return -EINVAL;
        return 0;
}

static int ip_problem(int r, const char *ip, const char *option, const struct ipv4_net *net) {
        char nb[16];
        format_ipv4(ipv4_network(net), nb);
        switch (r) {
        case -EDOM:
                log_error("%s %s is outside the guest network %s/%u; pick an address inside it or change "
                          "--network", option, ip, nb, net->prefix);
                break;
        case -EADDRNOTAVAIL:
                log_error("%s %s is the network or broadcast address of %s/%u; pick a host address", option, ip,
                          nb, net->prefix);
                break;
        case -EADDRINUSE:
                log_error("%s %s is already used by an image, a snapshot VM or the gateway (see 'vmcloak list "
                          "images' and 'vmcloak list snapshots'); pick another", option, ip);
                break;
        default:
                log_error_errno(r, "%s %s cannot be used: %m", option, ip);
        }
        return -EINVAL;
}

int netcfg_resolve(const struct netcfg_opts *o, uint32_t bridge_addr, unsigned bridge_prefix, char *const *used,
                   struct netcfg *ret) {
        struct netcfg c = { 0 };
        bool user = o->mode == IMAGE_NET_USER;

        /* Network: --network; else the bridge's own network; else the platform default. */
        if (o->network) {
                if (vcheck_cidr(o->network, "--network", &c.net) < 0)
                        return -EINVAL;
        } else if (!user && bridge_addr) {
                c.net = (struct ipv4_net){ bridge_addr, bridge_prefix };
        } else if (parse_cidr(user ? USERNET_DEFAULT_NETWORK : BRIDGE_DEFAULT_NETWORK, &c.net) < 0)
                return -EINVAL;
        if (c.net.prefix > 30) {
                log_error("--network %s/%u leaves no room for a guest and a gateway; use a prefix of /30 or "
                          "shorter", o->network ? o->network : "", c.net.prefix);
                return -EINVAL;
        }
        uint32_t base = ipv4_network(&c.net);

        /* Gateway: --gateway; bridge mode: the bridge's address; user mode: QEMU's host (.2). */
        if (o->gateway) {
                if (vcheck_ipv4(o->gateway, "--gateway", &c.gateway) < 0)
                        return -EINVAL;
                if (!user && bridge_addr && bridge_addr != c.gateway) {
                        char b[16];
                        format_ipv4(bridge_addr, b);
                        log_error("--gateway %s differs from the address of bridge %s (%s): the guest would "
                                  "not reach the host; drop --gateway or pass --gateway %s", o->gateway,
                                  o->adapter, b, b);
                        return -EINVAL;
                }
        } else if (!user && bridge_addr)
                c.gateway = bridge_addr;
        else if (user)
                c.gateway = base + USERNET_GATEWAY_OFFSET;
        else {
                log_error("bridge %s has no IPv4 address to use as the guest's gateway; give it one "
                          "('sudo vmcloak bridge %s 192.168.30.1/24') or pass --gateway", o->adapter, o->adapter);
                return -EINVAL;
        }
        if (!ipv4_in_net(&c.net, c.gateway)) {
                format_ipv4(c.gateway, c.gateway_s);
                log_error("the gateway %s is outside the guest network; pass a --network that contains it",
                          c.gateway_s);
                return -EINVAL;
        }

        /* DNS: user mode defaults to QEMU's resolver (.3); bridge mode to VMCloak's 8.8.8.8. */
        if (o->dns) {
                if (vcheck_ipv4(o->dns, "--dns", &c.dns) < 0)
                        return -EINVAL;
        } else if (user)
                c.dns = base + USERNET_DNS_OFFSET;
        else
                parse_ipv4("8.8.8.8", &c.dns);
        if (vcheck_ipv4(o->dns2 ? o->dns2 : "8.8.4.4", "--dns2", &c.dns2) < 0)
                return -EINVAL;

        struct ipnet n;
        ipnet_init(&n, &c.net, c.gateway, used);
        if (user)
                netcfg_reserve_usernet(&n);
        int r;
        if (o->ip) {
                if (vcheck_ipv4(o->ip, "--ip", &c.ip) < 0) {
                        ipnet_done(&n);
                        return -EINVAL;
                }
                r = ipnet_check(&n, c.ip);
                if (r < 0) {
                        ipnet_done(&n);
                        return ip_problem(r, o->ip, "--ip", &c.net);
                }
        } else {
                r = ipnet_alloc(&n, 1, 0, user ? USERNET_FIRST_GUEST_OFFSET : 1, &c.ip);
                if (r < 0) {
                        ipnet_done(&n);
                        log_error("no free address left in the guest network for a new image; pass --ip or a "
                                  "larger --network");
                        return -ENOSPC;
                }
        }
        ipnet_done(&n);
        format_ipv4(c.ip, c.ip_s);
        format_ipv4(c.gateway, c.gateway_s);
        format_ipv4(ipv4_netmask(c.net.prefix), c.netmask_s);
        format_ipv4(c.dns, c.dns_s);
        format_ipv4(c.dns2, c.dns2_s);
        *ret = c;
        return 0;
}
