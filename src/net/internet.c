/* Temporary guest internet in vmcloak's own nftables table (libnftables: the same parser and
 * netlink transactions as the nft tool), and net.ipv4.ip_forward. */
#include "net/internet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <stdarg.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"

#define TBL NET_INTERNET_FAMILY " " NET_INTERNET_TABLE
#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define CAP_NET_ADMIN_BIT 12
#define TABLE_LOCK "/run/vmcloak-internet.lock"   /* /run: only root writes there, so no user can hold it */

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, nft_ctx_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)

bool net_admin_capable(void) {
        _cleanup_free_ char *status = NULL;
        if (read_full_file("/proc/self/status", &status, NULL) < 0)
                return false;
        const char *p = strstr(status, "\nCapEff:");
        if (!p)
                return false;
        unsigned long long eff = strtoull(p + strlen("\nCapEff:"), NULL, 16);
        return (eff >> CAP_NET_ADMIN_BIT) & 1;
}

int net_ip_forward_get(void) {
        _cleanup_free_ char *s = NULL;
        int r = read_full_file(IP_FORWARD, &s, NULL);
        if (r < 0)
                return r;
        return s[0] == '1' ? 1 : 0;
}

static int ip_forward_set(bool on) {
        int r = write_file(IP_FORWARD, on ? "1\n" : "0\n", 2, 0644);
        if (r < 0) {
                errno = -r;
                log_error("cannot set net.ipv4.ip_forward to %d (%s): %m", on, IP_FORWARD);
        }
        return r;
}

/* The kernel's answer as an errno, from the words libnftables prints (it keeps no errno). */
static int nft_errno(const char *err) {
        static const struct { const char *words; int e; } map[] = {
                { "Operation not permitted", EPERM }, { "No such file or directory", ENOENT },
                { "File exists", EEXIST }, { "Operation not supported", EOPNOTSUPP },
                { "Protocol not supported", EOPNOTSUPP }, { "Device or resource busy", EBUSY },
        };
        for (size_t i = 0; err && i < ELEMENTSOF(map); i++)
                if (strstr(err, map[i].words))
                        return -map[i].e;
        return -EIO;
}

/* Run cmds (nft syntax, one transaction) with output and errors buffered. 0, or the errno of
 * nft_errno() with the first line of the error in *ret_err (static until the next call). */
static int nft_run(struct nft_ctx *ctx, const char *cmds, const char **ret_err) {
        static _Thread_local char line[512];
        /* libnftables writes a failure to open its netlink socket ("Operation not permitted (you
         * must be root)") to stderr itself, not to the error buffer: catch it there too. */
        fflush(stderr);
        _cleanup_close_ int cap = memfd_create("nft-stderr", MFD_CLOEXEC), saved = cap >= 0 ? dup(STDERR_FILENO) : -1;
        if (saved >= 0)
                dup2(cap, STDERR_FILENO);
        int rc = nft_run_cmd_from_buffer(ctx, cmds);
        _cleanup_free_ char *own = NULL;
        if (saved >= 0) {
                fflush(stderr);
                dup2(saved, STDERR_FILENO);
                off_t n = lseek(cap, 0, SEEK_CUR);
                if (n > 0 && (own = calloc(1, (size_t)n + 1)) && pread(cap, own, (size_t)n, 0) != n)
                        own[0] = '\0';
        }
        if (rc == 0)
                return 0;
        const char *err = nft_ctx_get_error_buffer(ctx);
        if (isempty(err))
                err = own;
        snprintf(line, sizeof line, "%s", isempty(err) ? "nftables refused the change" : err);
        line[strcspn(line, "\n")] = '\0';
        if (ret_err)
                *ret_err = line;
        log_debug("nft: %s\n  -> %s", cmds, strempty(err));
        return nft_errno(err);
}

static int ctx_new(struct nft_ctx **ret, bool json) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return log_oom();
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
                nft_ctx_free(ctx);
                return log_oom();
        }
        if (json)
                nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
        *ret = ctx;
        return 0;
}

/* The table as vmcloak reads it. */
struct table_state {
        bool exists;
        bool marker;           /* NET_INTERNET_FWD_MARKER chain: vmcloak switched forwarding on */
        char **addrs;          /* each element: its address ... */
        char **ifaces;         /* ... and its interface, in the same order ... */
        char **owners;         /* ... and who asked for it (its comment; "" for none), same order */
        char **seen;           /* NET_INTERNET_SEEN_PREFIX chains: other tables when forwarding went on */
};

static void table_state_done(struct table_state *t) {
        strv_free(t->addrs);
        strv_free(t->ifaces);
        strv_free(t->owners);
        strv_free(t->seen);
}

static int table_read(struct table_state *ret) {
        *ret = (struct table_state){ 0 };
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        int r = ctx_new(&ctx, true);
        if (r < 0)
                return r;
        r = nft_run(ctx, "list table " TBL, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        _cleanup_(json_object_putp) json_object *root = json_tokener_parse(nft_ctx_get_output_buffer(ctx));
        json_object *arr;
        if (!root || !json_object_object_get_ex(root, "nftables", &arr) || !json_object_is_type(arr, json_type_array))
                return -EBADMSG;
        ret->exists = true;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *it = json_object_array_get_idx(arr, i), *o, *name, *elems;
                if (json_object_object_get_ex(it, "chain", &o) && json_object_object_get_ex(o, "name", &name) &&
                    streq(json_object_get_string(name), NET_INTERNET_FWD_MARKER))
                        ret->marker = true;
                if (json_object_object_get_ex(it, "chain", &o) && json_object_object_get_ex(o, "name", &name) &&
                    startswith(json_object_get_string(name), NET_INTERNET_SEEN_PREFIX) &&
                    strv_extend(&ret->seen, json_object_get_string(name) + strlen(NET_INTERNET_SEEN_PREFIX)) < 0)
                        return log_oom();
                if (!json_object_object_get_ex(it, "set", &o) || !json_object_object_get_ex(o, "name", &name) ||
                    !streq(json_object_get_string(name), "out") || !json_object_object_get_ex(o, "elem", &elems))
                        continue;
                for (size_t k = 0; k < json_object_array_length(elems); k++) {
                        json_object *e = json_object_array_get_idx(elems, k), *cc;
                        /* An element with a comment or counter is wrapped: {"elem": {"val": ...}}. */
                        json_object *w, *val, *com = NULL;
                        if (json_object_object_get_ex(e, "elem", &w) && json_object_object_get_ex(w, "val", &val)) {
                                json_object_object_get_ex(w, "comment", &com);
                                e = val;
                        }
                        if (!json_object_object_get_ex(e, "concat", &cc) || json_object_array_length(cc) != 2)
                                continue;
                        if (strv_extend(&ret->addrs, json_object_get_string(json_object_array_get_idx(cc, 0))) < 0 ||
                            strv_extend(&ret->ifaces, json_object_get_string(json_object_array_get_idx(cc, 1))) < 0 ||
                            strv_extend(&ret->owners, com ? json_object_get_string(com) : "") < 0)
                                return log_oom();
                }
        }
        return 0;
}

/* The index of element addr . iface in t, or -1. */
static ssize_t table_find(const struct table_state *t, const char *addr, const char *iface) {
        for (size_t i = 0; t->addrs && t->addrs[i]; i++)
                if (streq(t->addrs[i], addr) && streq(t->ifaces[i], iface))
                        return (ssize_t)i;
        return -1;
}

/* Whether w is one of the space-separated words of list. */
static bool owns(const char *list, const char *w) {
        size_t n = strlen(w);
        for (const char *p = list; n && (p = strstr(p, w)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
                        return true;
        return false;
}

/* Whether element i of t (for owner, NULL: anyone) is there already: an element without owners
 * (made by a vmcloak before owners were recorded) counts as everyone's. */
static bool table_covers(const struct table_state *t, ssize_t i, const char *owner) {
        return i >= 0 && (isempty(t->owners[i]) || owns(t->owners[i], owner));
}

/* Appends printf output to *s; on OOM frees *s and leaves NULL (checked once at the end). */
static __attribute__((format(printf, 2, 3))) void appendf(char **s, const char *fmt, ...) {
        if (!*s)
                return;
        va_list ap;
        va_start(ap, fmt);
        char *add = NULL;
        int n = vasprintf(&add, fmt, ap);
        va_end(ap);
        char *j = n < 0 ? NULL : strdup_printf("%s%s", *s, add);
        free(add);
        free(*s);
        *s = j;
}

/* "ip filter" as the chain name records it (nft takes no quoted chain names): "ip_filter". */
static char *seen_word(const char *table) {
        char *w = strdup(table);
        if (w)
                w[strcspn(w, " ")] = '_';
        return w;
}

/* Words nft syntax takes as they are, in a comment or (after "then_") as a chain name: owners
 * and recorded table names; anything else is refused (owners) or not recorded (tables). */
static bool safe_word(const char *w) {
        return !isempty(w) && strlen(w) <= 64 &&
               w[strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")] == '\0';
}

/* The table, created in the same transaction as its first elements. */
static const char table_def[] =
        "create table " TBL "\n"
        "add set " TBL " out { type ipv4_addr . ifname; "
        "comment \"guest address . interface to the internet (vmcloak internet on)\"; }\n"
        "add chain " TBL " forward { type filter hook forward priority filter; policy accept; }\n"
        "add rule " TBL " forward ip saddr . oifname @out accept\n"
        "add rule " TBL " forward ct state established,related ip daddr . iifname @out accept\n"
        "add chain " TBL " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
        "add rule " TBL " postrouting ip saddr . oifname @out masquerade\n";

/* nft keeps at most 128 bytes of a comment (NFT_USERDATA_MAXLEN, with the nul). */
#define OWNERS_MAX 127

/* The batch that adds the missing elements for owner (and the table when create is set): an
 * element there without owner is replaced by one whose comment names owner too, in the same
 * transaction. With marker, the chains that record forwarding switched on and the other tables
 * (seen) of that moment. 0 with *ret (maybe ""), -ENOMEM, or -E2BIG after one line when the
 * comment would outgrow nft's limit. */
static int on_batch(const char *addr, const char *owner, char *const *ifaces, const struct table_state *t,
                    bool create, bool marker, char *const *seen, char **ret) {
        _cleanup_free_ char *s = strdup(create ? table_def : "");
        for (size_t i = 0; s && ifaces[i]; i++) {
                ssize_t k = create ? -1 : table_find(t, addr, ifaces[i]);
                if (table_covers(t, k, owner))
                        continue;
                _cleanup_free_ char *com = k >= 0 ? strdup_printf("%s %s", t->owners[k], owner) : strdup(owner);
                if (!com)
                        return -ENOMEM;
                if (strlen(com) > OWNERS_MAX) {
                        log_error("cannot record %s as asking for %s . %s: too many images share it (\"%s\" is longer "
                                  "than nft's %d characters); give the bare address instead", owner, addr, ifaces[i],
                                  t->owners[k], OWNERS_MAX);
                        return -E2BIG;
                }
                if (k >= 0)
                        appendf(&s, "delete element " TBL " out { %s . \"%s\" }\n", addr, ifaces[i]);
                appendf(&s, "add element " TBL " out { %s . \"%s\" comment \"%s\" }\n", addr, ifaces[i], com);
        }
        if (marker) {
                appendf(&s, "add chain " TBL " " NET_INTERNET_FWD_MARKER "\n");
                for (size_t i = 0; seen && seen[i]; i++)
                        appendf(&s, "add chain " TBL " " NET_INTERNET_SEEN_PREFIX "%s\n", seen[i]);
        }
        if (!s)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

/* `list ruleset` as JSON: *ret_root to put, *ret_arr its "nftables" array. */
static int ruleset_read(json_object **ret_root, json_object **ret_arr) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        int r = ctx_new(&ctx, true);
        if (r < 0)
                return r;
        if ((r = nft_run(ctx, "list ruleset", NULL)) < 0)
                return r;
        json_object *root = json_tokener_parse(nft_ctx_get_output_buffer(ctx)), *arr;
        if (!root || !json_object_object_get_ex(root, "nftables", &arr) || !json_object_is_type(arr, json_type_array)) {
                json_object_put(root);
                return -EBADMSG;
        }
        *ret_root = root;
        *ret_arr = arr;
        return 0;
}

/* The string member key of object o ("" when missing). */
static const char *jstr(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) ? strempty(json_object_get_string(v)) : "";
}

/* Whether a chain/rule object o is of another table of family ip or inet (vmcloak's excluded). */
static bool other_ip_table(json_object *o) {
        const char *f = jstr(o, "family");
        return (streq(f, "ip") || streq(f, "inet")) &&
               !(streq(f, NET_INTERNET_FAMILY) && streq(jstr(o, "table"), NET_INTERNET_TABLE));
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* iptables-legacy tables of this namespace (the kernel lists them once anything used them). */
static int legacy_tables(char ***ret) {
        _cleanup_free_ char *s = NULL;
        if (read_full_file("/proc/net/ip_tables_names", &s, NULL) < 0)
                return 0;   /* no legacy iptables in this kernel */
        for (char *save = NULL, *w = strtok_r(s, "\n", &save); w; w = strtok_r(NULL, "\n", &save))
                if (strv_extend(ret, w) < 0)
                        return -ENOMEM;
        return 0;
}

/* The other tables that forward or NAT: family ip or inet with a base chain on the forward hook
 * or of type nat, as "ip filter", and iptables-legacy's as "legacy nat"; unique, sorted. */
static int other_tables(char ***ret) {
        *ret = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_object *arr;
        int r = ruleset_read(&root, &arr);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **l = NULL, **legacy = NULL;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *c;
                if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "chain", &c) || !other_ip_table(c) ||
                    !(streq(jstr(c, "hook"), "forward") || streq(jstr(c, "type"), "nat")))
                        continue;
                _cleanup_free_ char *n = strdup_printf("%s %s", jstr(c, "family"), jstr(c, "table"));
                if (!n || (!strv_contains(l, n) && strv_extend(&l, n) < 0))
                        return -ENOMEM;
        }
        if ((r = legacy_tables(&legacy)) < 0)
                return r;
        for (size_t i = 0; legacy && legacy[i]; i++)
                if (strv_extendf(&l, "legacy %s", legacy[i]) < 0)
                        return -ENOMEM;
        if (l)
                qsort(l, strv_length(l), sizeof *l, cmp_strp);
        *ret = TAKE_PTR(l);
        return 0;
}

static const char *word_error(int r, const char *err) {
        switch (r) {
        case -EPERM:
                return "not permitted: changing the firewall needs root (CAP_NET_ADMIN)";
        case -EOPNOTSUPP:
        case -ENOENT:
                return "the kernel lacks nf_tables or its NAT/masquerade support (modprobe nf_tables nft_masq, or "
                       "a kernel with CONFIG_NFT_MASQ)";
        default:
                return err;
        }
}

/* One vmcloak at a time reads and changes the table (an `off` deleting the table with what it
 * thought was the last element would take a concurrent `on`'s element with it). An flock on a
 * file in /run, waited for (Ctrl-C stops the wait); where it cannot be made, no lock: `create
 * table` still keeps two runs from making two rule sets. *ret_fd: the fd to close, or -1.
 * 0, or -ECANCELED (after one line) when Ctrl-C ended the wait. */
static int table_lock(int *ret_fd) {
        *ret_fd = -1;
        int fd = open(TABLE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                log_debug("no lock for the internet table (%s: %m); going on without", TABLE_LOCK);
                return 0;
        }
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK) {
                        log_debug("cannot lock %s: %m; going on without", TABLE_LOCK);
                        close(fd);
                        return 0;
                }
                if (interrupted()) {
                        log_error("interrupted while waiting for another vmcloak internet (%s)", TABLE_LOCK);
                        close(fd);
                        return -ECANCELED;
                }
                sleep_ms(50);
        }
        *ret_fd = fd;
        return 0;
}

int net_internet_on(uint32_t addr, const char *owner, char *const *ifaces, unsigned *ret_changes) {
        *ret_changes = 0;
        char a[16];
        format_ipv4(addr, a);
        if (!owner)
                owner = a;
        if (!safe_word(owner)) {
                log_error("cannot record '%s' as asking for the internet of %s: give the bare address instead", owner, a);
                return -EINVAL;
        }
        for (size_t i = 0; ifaces && ifaces[i]; i++)
                if (vcheck_ifname(ifaces[i]) < 0)
                        return -EINVAL;
        if (!ifaces || !ifaces[0]) {
                log_error("no interface to the internet given (--via IFACE)");
                return -EINVAL;
        }
        _cleanup_close_ int lock = -1;   /* held until return */
        int r = table_lock(&lock);
        if (r < 0)
                return r;
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        if ((r = ctx_new(&ctx, false)) < 0)
                return r;
        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_(table_state_done) struct table_state t = { 0 };
                if ((r = table_read(&t)) < 0) {
                        log_error("cannot read nftables table %s: %s", TBL, word_error(r, "unreadable answer"));
                        return r;
                }
                int fwd = net_ip_forward_get();
                if (fwd < 0) {
                        errno = -fwd;
                        log_error("cannot read %s: %m", IP_FORWARD);
                        return fwd;
                }
                bool missing = !t.exists;
                for (size_t i = 0; ifaces[i]; i++)
                        missing = missing || !table_covers(&t, table_find(&t, a, ifaces[i]), owner);
                if (!missing && fwd == 1)
                        return 0;
                /* Forwarding first, so the rules never stand without it; the marker, with the other
                 * tables of this moment (see net_internet_off), goes into the same transaction as the
                 * elements. A table that cannot be listed is not recorded: off then keeps forwarding on. */
                bool turn_on = fwd == 0, marker = turn_on && !t.marker;
                _cleanup_strv_free_ char **others = NULL, **seen = NULL;
                if (marker && other_tables(&others) < 0)
                        log_debug("cannot list the other nftables tables; none recorded");
                for (size_t i = 0; others && others[i]; i++) {
                        _cleanup_free_ char *w = seen_word(others[i]);
                        if (!w)
                                return log_oom();
                        if (safe_word(w) && strv_extend(&seen, w) < 0)
                                return log_oom();
                }
                _cleanup_free_ char *batch = NULL;
                if ((r = on_batch(a, owner, ifaces, &t, !t.exists, marker, seen, &batch)) < 0)
                        return r == -ENOMEM ? log_oom() : r;
                if (turn_on && (r = ip_forward_set(true)) < 0)
                        return r;
                const char *err = NULL;
                r = isempty(batch) ? 0 : nft_run(ctx, batch, &err);
                if (r == -EEXIST && !t.exists) {
                        /* Another vmcloak created the table between our read and our batch. */
                        if (turn_on)
                                (void)ip_forward_set(false);
                        continue;
                }
                if (r < 0) {
                        if (turn_on)
                                (void)ip_forward_set(false);
                        log_error("cannot add the internet rules for %s: %s", a, word_error(r, err));
                        return r;
                }
                *ret_changes = (!t.exists ? NET_INTERNET_TABLE_CREATED : 0) | (missing ? NET_INTERNET_ADDED : 0) |
                               (turn_on ? NET_INTERNET_FWD_ON : 0);
                return 0;
        }
        log_error("cannot add the internet rules for %s: table %s keeps changing under us", a, TBL);
        return -EAGAIN;
}

/* owners without the word w (space-separated). */
static char *owners_without(const char *owners, const char *w) {
        _cleanup_free_ char *out = strdup(""), *copy = strdup(owners);
        if (!copy)
                return NULL;
        for (char *save = NULL, *x = strtok_r(copy, " ", &save); x; x = strtok_r(NULL, " ", &save))
                if (!streq(x, w))
                        appendf(&out, "%s%s", isempty(out) ? "" : " ", x);
        return TAKE_PTR(out);
}

/* The last guest is gone: switch forwarding back off when vmcloak switched it on, unless a table
 * that forwards or NATs appeared since (Docker or libvirt started meanwhile may rely on it). */
static int forwarding_back_off(const struct table_state *t, unsigned *changes) {
        if (!t->marker || net_ip_forward_get() != 1)
                return 0;
        _cleanup_strv_free_ char **now = NULL, **fresh = NULL;
        if (other_tables(&now) < 0) {
                log_info("IP forwarding stays on: the other nftables tables cannot be listed to tell whether one "
                         "relies on it (sysctl -w net.ipv4.ip_forward=0 switches it off)");
                *changes |= NET_INTERNET_FWD_KEPT;
                return 0;
        }
        for (size_t i = 0; now && now[i]; i++) {
                _cleanup_free_ char *w = seen_word(now[i]);
                if (!w || (!strv_contains(t->seen, w) && strv_extend(&fresh, now[i]) < 0))
                        return log_oom();
        }
        if (fresh) {
                _cleanup_free_ char *l = strv_join(fresh, ", ");
                log_info("IP forwarding stays on although vmcloak switched it on: %s appeared since and may rely on it "
                         "(sysctl -w net.ipv4.ip_forward=0 switches it off)", strempty(l));
                *changes |= NET_INTERNET_FWD_KEPT;
                return 0;
        }
        int r = ip_forward_set(false);
        if (r < 0)
                return r;
        *changes |= NET_INTERNET_FWD_OFF;
        return 0;
}

int net_internet_off(uint32_t addr, const char *owner, unsigned *ret_changes) {
        *ret_changes = 0;
        char a[16];
        format_ipv4(addr, a);
        _cleanup_close_ int lock = -1;   /* held until return */
        int r = table_lock(&lock);
        if (r < 0)
                return r;
        _cleanup_(table_state_done) struct table_state t = { 0 };
        r = table_read(&t);
        if (r < 0) {
                log_error("cannot read nftables table %s: %s", TBL, word_error(r, "unreadable answer"));
                return r;
        }
        if (!t.exists)
                return 0;
        /* Per element of the address: deleted (by address, or its last owner), rewritten without
         * owner (others asked for it too), or kept (owner never asked). */
        size_t changed = 0, deleted = 0, kept_mine = 0, all = strv_length(t.addrs);
        _cleanup_free_ char *batch = strdup("");
        for (size_t i = 0; batch && i < all; i++) {
                if (!streq(t.addrs[i], a))
                        continue;
                if (owner && !isempty(t.owners[i]) && !owns(t.owners[i], owner)) {
                        kept_mine++;
                        continue;
                }
                _cleanup_free_ char *rest = owner && !isempty(t.owners[i]) ? owners_without(t.owners[i], owner) : strdup("");
                if (!rest)
                        return log_oom();
                appendf(&batch, "delete element " TBL " out { %s . \"%s\" }\n", a, t.ifaces[i]);
                changed++;
                if (isempty(rest))
                        deleted++;
                else {
                        appendf(&batch, "add element " TBL " out { %s . \"%s\" comment \"%s\" }\n", a, t.ifaces[i], rest);
                        kept_mine++;
                }
        }
        if (!batch)
                return log_oom();
        if (changed == 0 && all > 0)
                return 0;
        bool last = deleted == all;
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        if ((r = ctx_new(&ctx, false)) < 0)
                return r;
        const char *err = NULL;
        r = nft_run(ctx, last ? "delete table " TBL "\n" : batch, &err);
        if (r < 0) {
                log_error("cannot remove the internet rules for %s: %s", a, word_error(r, err));
                return r;
        }
        *ret_changes = (changed ? NET_INTERNET_REMOVED : 0) | (last ? NET_INTERNET_TABLE_DELETED : 0) |
                       (kept_mine ? NET_INTERNET_SHARED : 0);
        return last ? forwarding_back_off(&t, ret_changes) : 0;
}

int net_internet_list(uint32_t addr, char ***ret_ifaces, char ***ret_owners, bool *ret_table) {
        *ret_ifaces = NULL;
        if (ret_owners)
                *ret_owners = NULL;
        char a[16];
        format_ipv4(addr, a);
        _cleanup_(table_state_done) struct table_state t = { 0 };
        int r = table_read(&t);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **ifs = NULL, **own = NULL;
        for (size_t i = 0; t.addrs && t.addrs[i]; i++) {
                if (!streq(t.addrs[i], a))
                        continue;
                if (strv_extend(&ifs, t.ifaces[i]) < 0)
                        return -ENOMEM;
                _cleanup_free_ char *copy = strdup(t.owners[i]);
                if (!copy)
                        return -ENOMEM;
                for (char *save = NULL, *x = strtok_r(copy, " ", &save); x; x = strtok_r(NULL, " ", &save))
                        if (!strv_contains(own, x) && strv_extend(&own, x) < 0)
                                return -ENOMEM;
        }
        *ret_ifaces = TAKE_PTR(ifs);
        if (ret_owners)
                *ret_owners = TAKE_PTR(own);
        if (ret_table)
                *ret_table = t.exists;
        return 0;
}

/* Whether rule object r accepts source address addr unconditionally otherwise: a match of
 * ip saddr == addr and an accept (what `iptables -I C -s IP -j ACCEPT` and `nft insert rule ... ip
 * saddr IP accept` make). */
static bool rule_accepts(json_object *r, const char *addr) {
        json_object *ex;
        if (!json_object_object_get_ex(r, "expr", &ex) || !json_object_is_type(ex, json_type_array))
                return false;
        bool match = false, accept = false;
        for (size_t i = 0; i < json_object_array_length(ex); i++) {
                json_object *e = json_object_array_get_idx(ex, i), *m, *left, *pl, *right;
                accept = accept || json_object_object_get_ex(e, "accept", NULL);
                if (json_object_object_get_ex(e, "match", &m) && streq(jstr(m, "op"), "==") &&
                    json_object_object_get_ex(m, "left", &left) && json_object_object_get_ex(left, "payload", &pl) &&
                    streq(jstr(pl, "field"), "saddr") && json_object_object_get_ex(m, "right", &right) &&
                    json_object_is_type(right, json_type_string) && streq(json_object_get_string(right), addr))
                        match = true;
        }
        return match && accept;
}

/* Whether rule object r drops or rejects everything: nothing but counter, log and the verdict
 * (firewalld's last `reject with icmpx admin-prohibited`). The verdict's name, or NULL. */
static const char *rule_drops_all(json_object *r) {
        json_object *ex;
        if (!json_object_object_get_ex(r, "expr", &ex) || !json_object_is_type(ex, json_type_array))
                return NULL;
        const char *verdict = NULL;
        for (size_t i = 0; i < json_object_array_length(ex); i++) {
                json_object *e = json_object_array_get_idx(ex, i);
                if (json_object_object_get_ex(e, "drop", NULL))
                        verdict = "drop";
                else if (json_object_object_get_ex(e, "reject", NULL))
                        verdict = "reject";
                else if (!json_object_object_get_ex(e, "counter", NULL) && !json_object_object_get_ex(e, "log", NULL))
                        return NULL;
        }
        return verdict;
}

/* iptables-legacy's filter FORWARD, read from the kernel (IPT_SO_GET_ENTRIES, as iptables-save
 * does) only when the filter table exists already (asking for it would make it). *ret_drop: its
 * policy is DROP; *ret_docker_user: a DOCKER-USER chain is there; *ret_allowed: a rule accepts
 * source addr (host byte order). */
static int legacy_forward(uint32_t addr, bool *ret_drop, bool *ret_docker_user, bool *ret_allowed) {
        *ret_drop = *ret_docker_user = *ret_allowed = false;
        _cleanup_strv_free_ char **names = NULL;
        int r = legacy_tables(&names);
        if (r < 0 || !strv_contains(names, "filter"))
                return r;
        _cleanup_close_ int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
        if (fd < 0)
                return -errno;
        struct ipt_getinfo info = { .name = "filter" };
        socklen_t len = sizeof info;
        if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) < 0)
                return -errno;
        _cleanup_free_ struct ipt_get_entries *e = calloc(1, sizeof *e + info.size);
        if (!e)
                return -ENOMEM;
        strcpy(e->name, "filter");
        e->size = info.size;
        len = (socklen_t)(sizeof *e + info.size);
        if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, e, &len) < 0)
                return -errno;
        for (unsigned off = 0; off + sizeof(struct ipt_entry) <= e->size;) {
                const struct ipt_entry *ent = (const void *)((const char *)e->entrytable + off);
                const struct xt_entry_target *tg = (const void *)((const char *)ent + ent->target_offset);
                int verdict = streq(tg->u.user.name, XT_STANDARD_TARGET) ? ((const struct xt_standard_target *)tg)->verdict : 0;
                if (off == info.underflow[NF_INET_FORWARD])
                        *ret_drop = verdict == -NF_DROP - 1;
                if (streq(tg->u.user.name, XT_ERROR_TARGET) && streq((const char *)tg->data, "DOCKER-USER"))
                        *ret_docker_user = true;
                if (verdict == -NF_ACCEPT - 1 && ent->ip.src.s_addr == htonl(addr) &&
                    ent->ip.smsk.s_addr == 0xffffffffu && !(ent->ip.invflags & IPT_INV_SRCIP))
                        *ret_allowed = true;
                if (ent->next_offset == 0)
                        break;
                off += ent->next_offset;
        }
        return 0;
}

/* Appends to *fix the commands that let guest address a through iptables' filter table with
 * program prog ("iptables" or "iptables-legacy"): accept its packets and the replies to it, in
 * Docker's DOCKER-USER chain when there is one (Docker rewrites FORWARD), else in FORWARD.
 * 0 or -ENOMEM. */
static int iptables_allow(char ***fix, const char *prog, bool docker_user, const char *a) {
        const char *ch = docker_user ? "DOCKER-USER" : "FORWARD";
        return strv_extendf(fix, "%s -I %s -s %s -j ACCEPT && %s -I %s -d %s -m conntrack "
                            "--ctstate RELATED,ESTABLISHED -j ACCEPT", prog, ch, a, prog, ch, a);
}

int net_internet_blockers(uint32_t addr, char **ret_what, char **ret_fix) {
        *ret_what = *ret_fix = NULL;
        char a[16] = "GUEST_IP";
        if (addr)
                format_ipv4(addr, a);
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_object *arr;
        int r = ruleset_read(&root, &arr);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **what = NULL, **fix = NULL;
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
                json_object *c;
                if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "chain", &c) || !other_ip_table(c) ||
                    !streq(jstr(c, "hook"), "forward"))
                        continue;
                const char *f = jstr(c, "family"), *tbl = jstr(c, "table"), *name = jstr(c, "name"), *why = NULL;
                bool allowed = false, docker_user = false;
                json_object *last = NULL;
                for (size_t k = 0; k < n; k++) {
                        json_object *it = json_object_array_get_idx(arr, k), *o;
                        if (json_object_object_get_ex(it, "chain", &o) && streq(jstr(o, "family"), f) &&
                            streq(jstr(o, "table"), tbl) && streq(jstr(o, "name"), "DOCKER-USER"))
                                docker_user = true;
                        if (!json_object_object_get_ex(it, "rule", &o) || !streq(jstr(o, "family"), f) ||
                            !streq(jstr(o, "table"), tbl))
                                continue;
                        allowed = allowed || (addr && rule_accepts(o, a));
                        if (streq(jstr(o, "chain"), name))
                                last = o;
                }
                if (streq(jstr(c, "policy"), "drop"))
                        why = "policy drop";
                else if (last && (why = rule_drops_all(last)))
                        why = streq(why, "drop") ? "ends in drop" : "ends in reject";
                if (!why || allowed)
                        continue;
                if (strv_extendf(&what, "%s %s %s (%s)", f, tbl, name, why) < 0)
                        return -ENOMEM;
                /* iptables(-nft)'s own table is changed with iptables (nft's rules there confuse it). */
                if (streq(f, "ip") && streq(tbl, "filter") && streq(name, "FORWARD"))
                        r = iptables_allow(&fix, "iptables", docker_user, a);
                else
                        r = strv_extendf(&fix, "nft insert rule %s %s %s ip saddr %s accept && nft insert rule %s %s %s "
                                         "ip daddr %s ct state established,related accept", f, tbl, name, a, f, tbl, name, a);
                if (r < 0)
                        return -ENOMEM;
        }
        bool drop, docker_user, allowed;
        if (legacy_forward(addr, &drop, &docker_user, &allowed) == 0 && drop && !allowed) {
                if (strv_extend(&what, "iptables-legacy filter FORWARD (policy DROP)") < 0 ||
                    iptables_allow(&fix, "iptables-legacy", docker_user, a) < 0)
                        return -ENOMEM;
        }
        if (what && (!(*ret_what = strv_join(what, ", ")) || !(*ret_fix = strv_join(fix, "; ")))) {
                free(*ret_what);
                *ret_what = NULL;
                return -ENOMEM;
        }
        return 0;
}

int net_internet_probe(char *reason, size_t size) {
        if (size)
                reason[0] = '\0';
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        int r = ctx_new(&ctx, false);
        if (r < 0)
                return r;
        nft_ctx_set_dry_run(ctx, true);
        /* "add", not "create": a dry run is rolled back, so a vmcloak table already there is fine. */
        _cleanup_free_ char *probe = strdup_printf("add%s"
                                                   "add element " TBL " out { 192.0.2.1 . \"lo\" }\n",
                                                   table_def + strlen("create"));
        if (!probe)
                return -ENOMEM;
        const char *err = NULL;
        r = nft_run(ctx, probe, &err);
        if (r < 0 && size)
                snprintf(reason, size, "%s", word_error(r, err));
        return r;
}
