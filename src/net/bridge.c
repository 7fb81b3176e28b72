/* Host bridge over rtnetlink: libnl-route-3 for links and addresses, one hand-built RTM_NEWLINK
 * for creation because libnl has no setter for the bridge's own attributes (IFLA_BR_STP_STATE). */
#include "net/bridge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_link.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "core/log.h"
#include "core/util.h"

#ifndef IFF_UP
#define IFF_UP 0x1
#endif

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free)

const char *net_ifname_invalid_reason(const char *name) {
        /* One reason at a time; the callers print it before they ask again. */
        static _Thread_local char buf[NAME_PROBLEM_MAX];
        return name_problem(NAME_BRIDGE, name, buf);
}

const char *net_format_cidr(const struct ipv4_net *n, char *buf, unsigned size) {
        char a[16];
        format_ipv4(n->addr, a);
        snprintf(buf, size, "%s/%u", a, n->prefix);
        return buf;
}

/* libnl reports its own NLE_* codes; the rest of vmcloak speaks errno. */
static int nle_to_errno(int nle) {
        switch (nle < 0 ? -nle : nle) {
        case 0: return 0;
        case NLE_NOMEM: return -ENOMEM;
        case NLE_EXIST: return -EEXIST;
        case NLE_INVAL: return -EINVAL;
        case NLE_RANGE: return -ERANGE;
        case NLE_OPNOTSUPP: return -EOPNOTSUPP;
        case NLE_OBJ_NOTFOUND:
        case NLE_NODEV: return -ENODEV;
        case NLE_NOADDR: return -EADDRNOTAVAIL;
        case NLE_BUSY: return -EBUSY;
        case NLE_NOACCESS: return -EACCES;
        case NLE_PERM: return -EPERM;
        case NLE_AGAIN: return -EAGAIN;
        case NLE_INTR: return -EINTR;
        case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
        default: return -EIO;
        }
}

static int nl_open(struct nl_sock **ret) {
        struct nl_sock *sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        int r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return nle_to_errno(r);
        }
        *ret = sk;
        return 0;
}

struct stp_query {
        int ifindex;
        int stp_state;
};

static int stp_cb(struct nl_msg *msg, void *arg) {
        struct stp_query *q = arg;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        if (h->nlmsg_type != RTM_NEWLINK)
                return NL_SKIP;
        struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1], *br[IFLA_BR_MAX + 1];
        if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0 || !tb[IFLA_LINKINFO])
                return NL_SKIP;
        if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0 || !li[IFLA_INFO_DATA])
                return NL_SKIP;
        if (nla_parse_nested(br, IFLA_BR_MAX, li[IFLA_INFO_DATA], NULL) < 0 || !br[IFLA_BR_STP_STATE])
                return NL_SKIP;
        q->stp_state = (int)nla_get_u32(br[IFLA_BR_STP_STATE]);
        return NL_OK;
}

/* The bridge's STP state, read from its RTM_NEWLINK reply (not sysfs: /sys/class/net shows the
 * namespace sysfs was mounted in, which need not be ours). */
static int query_stp(int ifindex, int *ret) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int r = nl_open(&sk);
        if (r < 0)
                return r;
        nl_socket_disable_auto_ack(sk); /* a GET answers with data, an extra ACK would linger */
        struct stp_query q = { ifindex, -1 };
        nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, stp_cb, &q);
        _cleanup_(nlmsg_freep) struct nl_msg *m = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_REQUEST);
        if (!m)
                return -ENOMEM;
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
        if (nlmsg_append(m, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0)
                return -ENOMEM;
        r = nl_send_auto(sk, m);
        if (r < 0)
                return nle_to_errno(r);
        r = nl_recvmsgs_default(sk);
        if (r < 0)
                return nle_to_errno(r);
        *ret = q.stp_state;
        return 0;
}

int net_link_get(const char *name, struct net_link *ret) {
        memset(ret, 0, sizeof *ret);
        ret->stp_state = -1;
        /* Any interface Linux made can be looked at, whether vmcloak would have made it or not. */
        char buf[NAME_PROBLEM_MAX];
        if (name_problem(NAME_IFNAME, name, buf))
                return -EINVAL;

        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int r = nl_open(&sk);
        if (r < 0)
                return r;
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL;
        r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
        if (r < 0)
                return nle_to_errno(r);
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_get_by_name(links, name);
        if (!link)
                return 0;

        ret->ifindex = rtnl_link_get_ifindex(link);
        const char *kind = rtnl_link_get_type(link);
        snprintf(ret->kind, sizeof ret->kind, "%s", strempty(kind));
        ret->is_bridge = streq(ret->kind, "bridge");
        ret->up = (rtnl_link_get_flags(link) & IFF_UP) != 0;

        if (ret->is_bridge) {
                for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o))
                        if (rtnl_link_get_master((struct rtnl_link *)o) == ret->ifindex)
                                ret->nports++;
                r = query_stp(ret->ifindex, &ret->stp_state);
                if (r < 0)
                        log_debug_errno(r, "cannot read the STP state of %s: %m", name);
        }

        _cleanup_(nl_cache_freep) struct nl_cache *addrs = NULL;
        r = rtnl_addr_alloc_cache(sk, &addrs);
        if (r < 0)
                return nle_to_errno(r);
        for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *)o;
                if (rtnl_addr_get_ifindex(a) != ret->ifindex || rtnl_addr_get_family(a) != AF_INET)
                        continue;
                struct nl_addr *local = rtnl_addr_get_local(a);
                if (!local || nl_addr_get_len(local) != 4 || ret->naddrs >= NET_LINK_MAX_ADDRS)
                        continue;
                uint32_t be;
                memcpy(&be, nl_addr_get_binary_addr(local), 4);
                ret->addrs[ret->naddrs++] = (struct ipv4_net){ ntohl(be), (unsigned)rtnl_addr_get_prefixlen(a) };
        }
        return 0;
}

int net_iface_ipv4(const char *name, uint32_t *ret_addr, unsigned *ret_prefix) {
        struct net_link l;
        int r = net_link_get(name, &l);
        if (r < 0)
                return r;
        if (l.ifindex == 0)
                return -ENODEV;
        if (l.naddrs == 0)
                return -EADDRNOTAVAIL;
        if (ret_addr)
                *ret_addr = l.addrs[0].addr;
        if (ret_prefix)
                *ret_prefix = l.addrs[0].prefix;
        return 0;
}

static int create_bridge(struct nl_sock *sk, const char *name) {
        _cleanup_(nlmsg_freep) struct nl_msg *m =
                nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
        if (!m)
                return -ENOMEM;
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
        if (nlmsg_append(m, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 || nla_put_string(m, IFLA_IFNAME, name) < 0)
                return -ENOMEM;
        struct nlattr *info = nla_nest_start(m, IFLA_LINKINFO);
        if (!info || nla_put_string(m, IFLA_INFO_KIND, "bridge") < 0)
                return -ENOMEM;
        struct nlattr *data = nla_nest_start(m, IFLA_INFO_DATA);
        /* STP off, as VMCloak's "ip link add ... type bridge stp_state 0": with STP on, every new
         * VM port waits in listening/learning for ~30 s before it forwards a frame. */
        if (!data || nla_put_u32(m, IFLA_BR_STP_STATE, 0) < 0)
                return -ENOMEM;
        nla_nest_end(m, data);
        nla_nest_end(m, info);
        int r = nl_send_sync(sk, TAKE_PTR(m)); /* frees the message */
        return nle_to_errno(r);
}

static int add_address(struct nl_sock *sk, int ifindex, const struct ipv4_net *n) {
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *a = rtnl_addr_alloc();
        uint32_t be = htonl(n->addr);
        _cleanup_(nl_addr_putp) struct nl_addr *local = nl_addr_build(AF_INET, &be, 4);
        if (!a || !local)
                return -ENOMEM;
        nl_addr_set_prefixlen(local, (int)n->prefix);
        rtnl_addr_set_ifindex(a, ifindex);
        rtnl_addr_set_family(a, AF_INET);
        int r = rtnl_addr_set_local(a, local);
        if (r < 0)
                return nle_to_errno(r);
        rtnl_addr_set_prefixlen(a, (int)n->prefix);
        return nle_to_errno(rtnl_addr_add(sk, a, 0));
}

static int bring_up(struct nl_sock *sk, int ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *orig = rtnl_link_alloc();
        _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();
        if (!orig || !change)
                return -ENOMEM;
        rtnl_link_set_ifindex(orig, ifindex);
        rtnl_link_set_flags(change, IFF_UP);
        return nle_to_errno(rtnl_link_change(sk, orig, change, 0));
}

static int netlink_error(int r, const char *what, const char *name) {
        if (r == -EPERM || r == -EACCES)
                return log_error_errno(r, "cannot %s %s: permission denied (needs root, CAP_NET_ADMIN)", what, name);
        return log_error_errno(r, "cannot %s %s: %m", what, name);
}

int net_bridge_ensure(const char *name, const struct ipv4_net *addr, unsigned *ret_changes) {
        unsigned changes = 0;
        if (ret_changes)
                *ret_changes = 0;
        if (vcheck_bridge_name(name) < 0)
                return -EINVAL;
        char want[24];
        net_format_cidr(addr, want, sizeof want);

        struct net_link l;
        int r = net_link_get(name, &l);
        if (r < 0)
                return netlink_error(r, "look up", name);
        if (l.ifindex && !l.is_bridge) {
                log_error("'%s' exists and is not a bridge (%s); choose another bridge name", name,
                          l.kind[0] ? l.kind : "a loopback or hardware interface");
                return -EEXIST;
        }
        /* Refuse before changing anything: a bridge with another address stays as it is. */
        bool has = false;
        for (unsigned i = 0; i < l.naddrs; i++)
                if (l.addrs[i].addr == addr->addr && l.addrs[i].prefix == addr->prefix)
                        has = true;
        if (l.ifindex && l.naddrs > 0 && !has) {
                char cur[24];
                net_format_cidr(&l.addrs[0], cur, sizeof cur);
                log_error("bridge %s already has address %s, not %s; use 'vmcloak bridge %s %s', or delete it "
                          "first with 'vmcloak bridge --delete %s'", name, cur, want, name, cur, name);
                return -EADDRINUSE;
        }

        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        r = nl_open(&sk);
        if (r < 0)
                return netlink_error(r, "open a netlink socket for", name);
        if (!l.ifindex) {
                r = create_bridge(sk, name);
                if (r < 0)
                        return netlink_error(r, "create bridge", name);
                changes |= NET_BRIDGE_CREATED;
                r = net_link_get(name, &l);
                if (r < 0 || !l.ifindex)
                        return netlink_error(r < 0 ? r : -ENODEV, "find the new bridge", name);
        }
        if (!has) {
                r = add_address(sk, l.ifindex, addr);
                if (r < 0) {
                        char what[64];
                        snprintf(what, sizeof what, "add address %s to", want);
                        return netlink_error(r, what, name);
                }
                changes |= NET_BRIDGE_ADDR_ADDED;
        }
        if (!l.up) {
                r = bring_up(sk, l.ifindex);
                if (r < 0)
                        return netlink_error(r, "bring up", name);
                changes |= NET_BRIDGE_BROUGHT_UP;
        }
        if (ret_changes)
                *ret_changes = changes;
        return 0;
}

int net_bridge_delete(const char *name) {
        /* Linux's own rule: a bridge an older vmcloak or another tool made can be removed too. */
        if (vcheck_ifname(name) < 0)
                return -EINVAL;
        struct net_link l;
        int r = net_link_get(name, &l);
        if (r < 0)
                return netlink_error(r, "look up", name);
        if (!l.ifindex) {
                log_error("there is no bridge %s to delete", name);
                return -ENODEV;
        }
        if (!l.is_bridge) {
                log_error("'%s' is not a bridge (%s); vmcloak deletes only bridges", name, l.kind[0] ? l.kind : "a loopback or hardware interface");
                return -EMEDIUMTYPE;
        }
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        r = nl_open(&sk);
        if (r < 0)
                return netlink_error(r, "open a netlink socket for", name);
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_alloc();
        if (!link)
                return log_oom();
        rtnl_link_set_ifindex(link, l.ifindex);
        rtnl_link_set_name(link, name);
        r = nle_to_errno(rtnl_link_delete(sk, link));
        if (r < 0)
                return netlink_error(r, "delete bridge", name);
        return 0;
}
