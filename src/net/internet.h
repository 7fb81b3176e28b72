/* Temporary internet for a guest (VMCloak's vmcloak-iptables do|undo): masquerade and forward
 * rules in vmcloak's own nftables table, through libnftables, and IP forwarding. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Everything lives in `table ip vmcloak` (no other table or iptables rule is ever touched):
 *   set out            { type ipv4_addr . ifname }   one element per guest address and interface,
 *                                                     its comment the space-separated images (or
 *                                                     bare addresses) that asked for it
 *   chain forward      (filter, hook forward)        ip saddr . oifname @out accept;
 *                                                     ct state established,related
 *                                                       ip daddr . iifname @out accept
 *   chain postrouting  (nat, hook postrouting)       ip saddr . oifname @out masquerade
 *   chain NET_INTERNET_FWD_MARKER (no hook, empty)   present when vmcloak switched IP forwarding
 *                                                     on; the last `off` switches it off again
 *   chains then_FAMILY_TABLE (no hook, empty):          the other tables that forward
 *                                                     or NAT at that moment (iptables-legacy's as
 *                                                     legacy_NAME); one that appeared since keeps
 *                                                     forwarding on at the last `off`
 * A guest has internet while it has elements in `out`; the table goes with the last element. */
#define NET_INTERNET_FAMILY "ip"
#define NET_INTERNET_TABLE "vmcloak"
#define NET_INTERNET_FWD_MARKER "ip_forward_was_off"
#define NET_INTERNET_SEEN_PREFIX "then_"

/* Whether this process may change the firewall: CAP_NET_ADMIN in its effective set (root has it;
 * `setpriv`/`su nobody` and an unprivileged user namespace's outside view do not). */
bool net_admin_capable(void);

/* What net_internet_on()/_off() did (0: nothing, the rules were already as asked). */
enum {
        NET_INTERNET_TABLE_CREATED = 1 << 0,
        NET_INTERNET_ADDED = 1 << 1,       /* elements (guest . interface) added */
        NET_INTERNET_REMOVED = 1 << 2,     /* elements removed */
        NET_INTERNET_TABLE_DELETED = 1 << 3,
        NET_INTERNET_FWD_ON = 1 << 4,      /* net.ipv4.ip_forward switched 0 -> 1 */
        NET_INTERNET_FWD_OFF = 1 << 5,     /* switched back 1 -> 0 (vmcloak had turned it on) */
        NET_INTERNET_FWD_KEPT = 1 << 6,    /* vmcloak had turned it on, but left it on (one line said why) */
        NET_INTERNET_SHARED = 1 << 7,      /* off: the address keeps elements others asked for */
};

/* Give guest `addr` (host byte order) the internet through each interface of `ifaces`
 * (NULL-terminated, each a valid Linux interface name: checked again, never put into nft syntax
 * unchecked), asked for by `owner` (an image name; NULL: the bare address), which is added to
 * each element's comment. Elements of the guest through other interfaces are kept. Creates the
 * table in one transaction with its first elements (`create table`, so two concurrent runs never
 * make two rule sets), switches IP forwarding on and records that it did and which other tables
 * forwarded or NATed then. Idempotent. Does not look at other firewalls (net_internet_blockers).
 * Prints one error line on failure: -EPERM without CAP_NET_ADMIN, -EOPNOTSUPP when the kernel
 * lacks nf_tables (or its nat/masquerade), -ECANCELED when Ctrl-C ended the wait for another
 * vmcloak internet (runs take turns on an flock of /run/vmcloak-internet.lock), -E2BIG when the
 * element's owners outgrow nft's 127-character comment, -EINVAL for an owner other than
 * [A-Za-z0-9._-], another negative errno from the netlink transaction or the sysctl. */
int net_internet_on(uint32_t addr, const char *owner, char *const *ifaces, unsigned *ret_changes);

/* Take guest `addr`'s internet: owner NULL removes all of its elements (whoever asked); an image
 * name removes only that image from each element's owners, deleting elements left without one
 * (elements without a comment, made before owners were recorded, go too). With the last element
 * of any guest the table goes and IP forwarding is switched off again when vmcloak switched it on,
 * unless a table that forwards or NATs appeared since (then it stays on, said in one info line,
 * NET_INTERNET_FWD_KEPT). Nothing to remove: 0 with *ret_changes 0. Prints one error line on
 * failure (the same errors as net_internet_on). */
int net_internet_off(uint32_t addr, const char *owner, unsigned *ret_changes);

/* The interfaces guest `addr` has the internet through (NULL-terminated, NULL when none), who
 * asked for it (images or the bare address, unique; NULL when none or ret_owners is NULL), and
 * whether the table exists. Never prints; -EPERM without CAP_NET_ADMIN. */
int net_internet_list(uint32_t addr, char ***ret_ifaces, char ***ret_owners, bool *ret_table);

/* Other firewalls that would drop guest addr's forwarded packets although vmcloak's table accepts
 * them (nftables runs every base chain of a hook; a drop anywhere is final): a chain of another
 * ip/inet table on the forward hook with policy drop (iptables-nft's FORWARD as Docker and ufw
 * set it) or whose last rule drops or rejects everything (firewalld), and iptables-legacy's
 * filter FORWARD with policy DROP (read only when /proc/net/ip_tables_names lists filter). A chain
 * whose table already has a rule accepting ip saddr addr does not count. *ret_what: "ip filter
 * FORWARD (policy drop)" entries joined by ", "; *ret_fix: the commands that allow addr (addr 0:
 * the placeholder GUEST_IP) in each, joined by "; " (iptables -I DOCKER-USER/FORWARD ... for
 * iptables' table, nft insert rule ... otherwise); both NULL when none. Never prints. */
int net_internet_blockers(uint32_t addr, char **ret_what, char **ret_fix);

/* Whether the kernel and libnftables can hold vmcloak's table: the whole `on` transaction for a
 * documentation address (192.0.2.1 via lo) checked by the kernel and rolled back (nft --check).
 * 0; -EPERM without CAP_NET_ADMIN; another negative errno with the kernel's words in
 * reason (size bytes). Never prints, changes nothing. */
int net_internet_probe(char *reason, size_t size);

/* net.ipv4.ip_forward of this network namespace: 0 or 1, or a negative errno. */
int net_ip_forward_get(void);
