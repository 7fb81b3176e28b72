/* Guest address allocation within an image network (VMCloak's IPNet): the used set comes
 * from the repository (image IPs and gateways, snapshot IPs), plus any reserved address. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/validate.h"

struct ipnet {
        struct ipv4_net net;
        uint32_t gateway;       /* 0: none */
        uint32_t *used;         /* sorted not required */
        size_t n_used;
};

/* Build from a CIDR and the used addresses (strings; those outside the network are ignored).
 * The gateway counts as used (fixes VMCloak's quirk of handing out the bridge's own IP). */
int ipnet_init(struct ipnet *n, const struct ipv4_net *net, uint32_t gateway, char *const *used);
void ipnet_done(struct ipnet *n);
void ipnet_mark_used(struct ipnet *n, uint32_t a);

/* 0 if usable; -EDOM outside the network, -EADDRNOTAVAIL for the network/broadcast address,
 * -EADDRINUSE when taken. */
int ipnet_check(const struct ipnet *n, uint32_t a);
/* Allocate count ascending free addresses starting at start (or network + offset when start
 * is 0); used addresses are skipped. -ENOSPC when the network runs out. Marks them used. */
int ipnet_alloc(struct ipnet *n, unsigned count, uint32_t start, unsigned offset, uint32_t *ret);
