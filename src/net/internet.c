/* Temporary guest internet in vmcloak's own nftables table (libnftables: the same parser and
 * netlink transactions as the nft tool), and net.ipv4.ip_forward. */
#include "net/internet.h"

#include <errno.h>
#include <json-c/json.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
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
        char **ifaces;         /* ... and its interface, in the same order */
};

static void table_state_done(struct table_state *t) {
        strv_free(t->addrs);
        strv_free(t->ifaces);
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
                if (!json_object_object_get_ex(it, "set", &o) || !json_object_object_get_ex(o, "name", &name) ||
                    !streq(json_object_get_string(name), "out") || !json_object_object_get_ex(o, "elem", &elems))
                        continue;
                for (size_t k = 0; k < json_object_array_length(elems); k++) {
                        json_object *e = json_object_array_get_idx(elems, k), *cc;
                        /* An element with a comment or counter is wrapped: {"elem": {"val": ...}}. */
                        json_object *w, *val;
                        if (json_object_object_get_ex(e, "elem", &w) && json_object_object_get_ex(w, "val", &val))
                                e = val;
                        if (!json_object_object_get_ex(e, "concat", &cc) || json_object_array_length(cc) != 2)
                                continue;
                        if (strv_extend(&ret->addrs, json_object_get_string(json_object_array_get_idx(cc, 0))) < 0 ||
                            strv_extend(&ret->ifaces, json_object_get_string(json_object_array_get_idx(cc, 1))) < 0)
                                return log_oom();
                }
        }
        return 0;
}

static bool table_has(const struct table_state *t, const char *addr, const char *iface) {
        for (size_t i = 0; t->addrs && t->addrs[i]; i++)
                if (streq(t->addrs[i], addr) && (!iface || streq(t->ifaces[i], iface)))
                        return true;
        return false;
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

/* The batch that adds the missing elements (and the table when create is set). */
static char *on_batch(const char *addr, char *const *ifaces, const struct table_state *t, bool create, bool marker) {
        _cleanup_free_ char *s = strdup(create ? table_def : "");
        for (size_t i = 0; s && ifaces[i]; i++)
                if (create || !table_has(t, addr, ifaces[i])) {
                        char *n = strdup_printf("%sadd element " TBL " out { %s . \"%s\" }\n", s, addr, ifaces[i]);
                        free(s);
                        s = n;
                }
        if (s && marker) {
                char *n = strdup_printf("%sadd chain " TBL " " NET_INTERNET_FWD_MARKER "\n", s);
                free(s);
                s = n;
        }
        return TAKE_PTR(s);
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

int net_internet_on(uint32_t addr, char *const *ifaces, unsigned *ret_changes) {
        *ret_changes = 0;
        char a[16];
        format_ipv4(addr, a);
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
                        missing = missing || !table_has(&t, a, ifaces[i]);
                if (!missing && fwd == 1)
                        return 0;
                /* Forwarding first, so the rules never stand without it; the marker goes into the
                 * same transaction as the elements. */
                bool turn_on = fwd == 0;
                _cleanup_free_ char *batch = on_batch(a, ifaces, &t, !t.exists, turn_on && !t.marker);
                if (!batch)
                        return log_oom();
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

int net_internet_off(uint32_t addr, unsigned *ret_changes) {
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
        size_t mine = 0, all = strv_length(t.addrs);
        _cleanup_free_ char *batch = strdup("");
        for (size_t i = 0; batch && i < all; i++)
                if (streq(t.addrs[i], a)) {
                        char *n = strdup_printf("%sdelete element " TBL " out { %s . \"%s\" }\n", batch, a, t.ifaces[i]);
                        free(batch);
                        batch = n;
                        mine++;
                }
        if (!batch)
                return log_oom();
        if (mine == 0 && all > 0)
                return 0;
        bool last = mine == all;
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        if ((r = ctx_new(&ctx, false)) < 0)
                return r;
        const char *err = NULL;
        r = nft_run(ctx, last ? "delete table " TBL "\n" : batch, &err);
        if (r < 0) {
                log_error("cannot remove the internet rules for %s: %s", a, word_error(r, err));
                return r;
        }
        *ret_changes = (mine ? NET_INTERNET_REMOVED : 0) | (last ? NET_INTERNET_TABLE_DELETED : 0);
        /* Forwarding goes back off only when vmcloak turned it on and no guest is left. */
        if (last && t.marker && net_ip_forward_get() == 1) {
                if ((r = ip_forward_set(false)) < 0)
                        return r;
                *ret_changes |= NET_INTERNET_FWD_OFF;
        }
        return 0;
}

int net_internet_list(uint32_t addr, char ***ret_ifaces, bool *ret_table) {
        *ret_ifaces = NULL;
        char a[16];
        format_ipv4(addr, a);
        _cleanup_(table_state_done) struct table_state t = { 0 };
        int r = table_read(&t);
        if (r < 0)
                return r;
        for (size_t i = 0; t.addrs && t.addrs[i]; i++)
                if (streq(t.addrs[i], a) && strv_extend(ret_ifaces, t.ifaces[i]) < 0) {
                        strv_free(*ret_ifaces);
                        *ret_ifaces = NULL;
                        return -ENOMEM;
                }
        if (ret_table)
                *ret_table = t.exists;
        return 0;
}

int net_internet_blockers(char **ret) {
        *ret = NULL;
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        int r = ctx_new(&ctx, true);
        if (r < 0)
                return r;
        if ((r = nft_run(ctx, "list chains", NULL)) < 0)
                return r;
        _cleanup_(json_object_putp) json_object *root = json_tokener_parse(nft_ctx_get_output_buffer(ctx));
        json_object *arr;
        if (!root || !json_object_object_get_ex(root, "nftables", &arr))
                return -EBADMSG;
        _cleanup_strv_free_ char **found = NULL;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *c, *fam, *tbl, *name, *hook, *pol;
                if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "chain", &c) ||
                    !json_object_object_get_ex(c, "family", &fam) || !json_object_object_get_ex(c, "table", &tbl) ||
                    !json_object_object_get_ex(c, "name", &name) || !json_object_object_get_ex(c, "hook", &hook) ||
                    !json_object_object_get_ex(c, "policy", &pol))
                        continue;
                const char *f = json_object_get_string(fam);
                if (!streq(json_object_get_string(hook), "forward") || !streq(json_object_get_string(pol), "drop") ||
                    !(streq(f, "ip") || streq(f, "inet")) ||
                    (streq(f, NET_INTERNET_FAMILY) && streq(json_object_get_string(tbl), NET_INTERNET_TABLE)))
                        continue;
                if (strv_extendf(&found, "%s %s %s", f, json_object_get_string(tbl), json_object_get_string(name)) < 0)
                        return -ENOMEM;
        }
        if (found && !(*ret = strv_join(found, ", ")))
                return -ENOMEM;
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
