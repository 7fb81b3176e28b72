/* Temporary internet for a guest (VMCloak's vmcloak-iptables do|undo): masquerade and forward
 * rules in vmcloak's own nftables table, through libnftables, and IP forwarding. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Everything lives in `table ip vmcloak` (no other table or iptables rule is ever touched):
 *   set out            { type ipv4_addr . ifname }   one element per guest address and interface
 *   chain forward      (filter, hook forward)        ip saddr . oifname @out accept;
 *                                                     ct state established,related
 *                                                       ip daddr . iifname @out accept
 *   chain postrouting  (nat, hook postrouting)       ip saddr . oifname @out masquerade
 *   chain NET_INTERNET_FWD_MARKER (no hook, empty)   present when vmcloak switched IP forwarding
 *                                                     on; the last `off` switches it off again
 * A guest has internet while it has elements in `out`; the table goes with the last element. */
#define NET_INTERNET_FAMILY "ip"
#define NET_INTERNET_TABLE "vmcloak"
#define NET_INTERNET_FWD_MARKER "ip_forward_was_off"

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
};

/* Give guest `addr` (host byte order) the internet through each interface of `ifaces`
 * (NULL-terminated, each a valid Linux interface name: checked again, never put into nft syntax
 * unchecked). Elements of the guest through other interfaces are kept. Creates the table in one
 * transaction with its first elements (`create table`, so two concurrent runs never make two
 * rule sets), switches IP forwarding on and records that it did. Idempotent. Prints one error
 * line on failure: -EPERM without CAP_NET_ADMIN, -EOPNOTSUPP when the kernel lacks nf_tables
 * (or its nat/masquerade), -ECANCELED when Ctrl-C ended the wait for another vmcloak internet
 * (runs take turns on an flock of /run/vmcloak-internet.lock), another negative errno from the
 * netlink transaction or the sysctl. */
int net_internet_on(uint32_t addr, char *const *ifaces, unsigned *ret_changes);

/* Remove guest `addr`'s elements (all of its interfaces); with the last element of any guest the
 * table goes and IP forwarding is switched off again when vmcloak switched it on. No table or no
 * element of that guest: 0 with *ret_changes 0. Prints one error line on failure (the same
 * errors as net_internet_on). */
int net_internet_off(uint32_t addr, unsigned *ret_changes);

/* The interfaces guest `addr` has the internet through (NULL-terminated, NULL when none), and
 * whether the table exists. Never prints; -EPERM without CAP_NET_ADMIN. */
int net_internet_list(uint32_t addr, char ***ret_ifaces, bool *ret_table);

/* Other tables that may drop what vmcloak's rules accept: a base chain on the forward hook with
 * policy drop (iptables' FORWARD with -P DROP, Docker's, firewalld's), as "ip filter FORWARD"
 * entries joined by ", " into *ret (NULL when none). nftables runs every base chain of a hook, so
 * an accept in vmcloak's table does not override a drop in another. Never prints. */
int net_internet_blockers(char **ret);

/* Whether the kernel and libnftables can hold vmcloak's table: the whole `on` transaction for a
 * documentation address (192.0.2.1 via lo) checked by the kernel and rolled back (nft --check).
 * 0; -EPERM without CAP_NET_ADMIN; another negative errno with the kernel's words in
 * reason (size bytes). Never prints, changes nothing. */
int net_internet_probe(char *reason, size_t size);

/* net.ipv4.ip_forward of this network namespace: 0 or 1, or a negative errno. */
int net_ip_forward_get(void);
