/* IPv4 allocation for images and snapshot VMs. */
#include "core/ipnet.h"

#include <errno.h>
#include <stdlib.h>

#include "core/util.h"

int ipnet_init(struct ipnet *n, const struct ipv4_net *net, uint32_t gateway, char *const *used) {
        *n = (struct ipnet){ .net = *net, .gateway = gateway };
        if (gateway)
                ipnet_mark_used(n, gateway);
        STRV_FOREACH(s, used) {
                uint32_t a;
                if (parse_ipv4(*s, &a) == 0 && ipv4_in_net(net, a))
                        ipnet_mark_used(n, a);
        }
        return 0;
}

void ipnet_done(struct ipnet *n) {
        free(n->used);
        n->used = NULL;
        n->n_used = 0;
}

static bool is_used(const struct ipnet *n, uint32_t a) {
        for (size_t i = 0; i < n->n_used; i++)
                if (n->used[i] == a)
                        return true;
        return false;
}

void ipnet_mark_used(struct ipnet *n, uint32_t a) {
        if (is_used(n, a))
                return;
        uint32_t *u = realloc(n->used, sizeof *u * (n->n_used + 1));
        if (!u)
                abort();
        u[n->n_used++] = a;
        n->used = u;
}

int ipnet_check(const struct ipnet *n, uint32_t a) {
        if (!ipv4_in_net(&n->net, a))
                return -EDOM;
        if (n->net.prefix <= 30 && (a == ipv4_network(&n->net) || a == ipv4_broadcast(&n->net)))
                return -EADDRNOTAVAIL;
        if (is_used(n, a))
                return -EADDRINUSE;
        return 0;
}

int ipnet_alloc(struct ipnet *n, unsigned count, uint32_t start, unsigned offset, uint32_t *ret) {
        uint64_t a = start ? start : (uint64_t)ipv4_network(&n->net) + offset;
        uint64_t end = ipv4_broadcast(&n->net);
        if (a > end || !ipv4_in_net(&n->net, (uint32_t)a))
                return -EDOM;
        size_t before = n->n_used;
        for (unsigned i = 0; i < count; i++) {
                while (a <= end && ipnet_check(n, (uint32_t)a) != 0)
                        a++;
                if (a > end) {
                        n->n_used = before; /* all or nothing */
                        return -ENOSPC;
                }
                ret[i] = (uint32_t)a;
                ipnet_mark_used(n, (uint32_t)a);
        }
        return 0;
}
