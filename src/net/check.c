/* Bridge-mode checks shared by `vmcloak doctor --bridge` and the pipeline's pre-flight. */
#include "net/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "net/bridge.h"
#include "net/helper.h"

static struct net_check *add(struct net_check *out, size_t *n, const char *id, const char *title_fmt, ...)
        __attribute__((format(printf, 4, 5)));
static struct net_check *add(struct net_check *out, size_t *n, const char *id, const char *title_fmt, ...) {
        struct net_check *c = &out[(*n)++];
        memset(c, 0, sizeof *c);
        c->id = id;
        va_list ap;
        va_start(ap, title_fmt);
        vsnprintf(c->title, sizeof c->title, title_fmt, ap);
        va_end(ap);
        return c;
}

void net_check_set(struct net_check *c, enum net_check_status st, const char *fix, const char *fmt, ...) {
        c->status = st;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->detail, sizeof c->detail, fmt, ap);
        va_end(ap);
        snprintf(c->fix, sizeof c->fix, "%s", strempty(fix));
}

static void check_bridge(const char *bridge, struct net_check *out, size_t *n, char *cidr, size_t cidr_size) {
        struct net_link l;
        char fix[256];
        snprintf(cidr, cidr_size, "%s", NET_DEFAULT_CIDR);
        struct net_check *ex = add(out, n, "bridge-exists", "bridge %s exists", bridge);
        int r = net_link_get(bridge, &l);
        if (r == 0 && l.ifindex && l.naddrs > 0)
                net_format_cidr(&l.addrs[0], cidr, (unsigned)cidr_size);
        snprintf(fix, sizeof fix, "sudo vmcloak bridge %s %s", bridge, cidr);
        if (r < 0) {
                errno = -r;
                net_check_set(ex, NET_CHECK_FAIL, "", "cannot look it up: %m");
        } else if (!l.ifindex)
                net_check_set(ex, NET_CHECK_FAIL, fix, "there is no interface named %s", bridge);
        else if (!l.is_bridge)
                net_check_set(ex, NET_CHECK_FAIL, "pass the name of a bridge (create one with: sudo vmcloak bridge NAME CIDR)",
                    "%s is a %s interface, not a bridge", bridge, l.kind[0] ? l.kind : "physical or loopback");
        else
                net_check_set(ex, NET_CHECK_OK, "", "a bridge with %u VM port%s attached", l.nports, l.nports == 1 ? "" : "s");

        bool usable = ex->status == NET_CHECK_OK;
        struct net_check *up = add(out, n, "bridge-up", "bridge %s is up", bridge);
        if (!usable)
                net_check_set(up, NET_CHECK_SKIP, "", "not checked: no bridge");
        else if (!l.up)
                net_check_set(up, NET_CHECK_FAIL, fix, "bridge %s is down", bridge);
        else
                net_check_set(up, NET_CHECK_OK, "", "up");

        struct net_check *ad = add(out, n, "bridge-address", "bridge %s has an IPv4 address", bridge);
        if (!usable)
                net_check_set(ad, NET_CHECK_SKIP, "", "not checked: no bridge");
        else if (l.naddrs == 0)
                net_check_set(ad, NET_CHECK_FAIL, fix, "bridge %s has no IPv4 address (guests need it as their gateway)", bridge);
        else
                net_check_set(ad, NET_CHECK_OK, "", "%s", cidr);

        if (usable && l.stp_state > 0) {
                struct net_check *stp = add(out, n, "bridge-stp", "bridge %s has STP off", bridge);
                char f[128];
                snprintf(f, sizeof f, "sudo ip link set %s type bridge stp_state 0", bridge);
                net_check_set(stp, NET_CHECK_WARN, f, "STP is on: every new VM port waits ~30 s before it forwards");
        }
}

static void check_tun(struct net_check *out, size_t *n) {
        struct net_check *c = add(out, n, "tun", "/dev/net/tun usable");
        struct stat st;
        if (stat("/dev/net/tun", &st) < 0 || !S_ISCHR(st.st_mode))
                net_check_set(c, NET_CHECK_FAIL, "sudo modprobe tun", "/dev/net/tun is missing (the helper creates the VM's tap there)");
        else if (geteuid() != 0 && access("/dev/net/tun", R_OK | W_OK) < 0)
                /* The setuid helper keeps only CAP_NET_ADMIN and opens the device as the caller. */
                net_check_set(c, NET_CHECK_FAIL, "sudo chmod 0666 /dev/net/tun",
                    "/dev/net/tun has mode %04o: you cannot open it, and the helper opens it as you", (unsigned)(st.st_mode & 07777));
        else if ((st.st_mode & 0006) != 0006)
                net_check_set(c, NET_CHECK_WARN, "sudo chmod 0666 /dev/net/tun",
                    "mode %04o: only root can use bridge mode (the helper opens it as the user running QEMU)",
                    (unsigned)(st.st_mode & 07777));
        else
                net_check_set(c, NET_CHECK_OK, "", "mode %04o", (unsigned)(st.st_mode & 07777));
}

static void check_helper(const char *bridge, const char *qemu_binary, const char *cidr, struct net_check *out,
                         size_t *n) {
        char setup[256];
        snprintf(setup, sizeof setup, "sudo vmcloak bridge --setup-helper %s %s", bridge, cidr);
        _cleanup_free_ char *helper = NULL;
        struct net_check *f = add(out, n, "helper-found", "qemu-bridge-helper found");
        int r = net_helper_find(qemu_binary, &helper);
        if (r < 0) {
                const char *e = getenv(NET_HELPER_ENV);
                if (!isempty(e))
                        net_check_set(f, NET_CHECK_FAIL, "point " NET_HELPER_ENV " at the helper, or unset it",
                            "%s=%s does not exist", NET_HELPER_ENV, e);
                else
                        net_check_set(f, NET_CHECK_FAIL,
                            "install QEMU's helper (Debian/Ubuntu: sudo apt-get install qemu-system-common)",
                            "qemu-bridge-helper is not in QEMU's default place, /usr/lib/qemu, /usr/libexec, /usr/local/libexec or beside QEMU");
        } else
                net_check_set(f, NET_CHECK_OK, "", "%s", helper);

        struct net_check *s = add(out, n, "helper-setuid", "qemu-bridge-helper is setuid root");
        struct net_helper_mode m;
        if (!helper)
                net_check_set(s, NET_CHECK_SKIP, "", "not checked: no helper");
        else if ((r = net_helper_stat(helper, &m)) < 0) {
                errno = -r;
                net_check_set(s, NET_CHECK_FAIL, "", "cannot stat %s: %m", helper);
        } else if (m.setuid_root && m.nosuid_mount)
                net_check_set(s, NET_CHECK_FAIL, "", "%s is setuid but on a filesystem mounted nosuid", helper);
        else if (m.setuid_root)
                net_check_set(s, NET_CHECK_OK, "", "mode %04o, owner root", (unsigned)m.mode);
        else if (geteuid() == 0)
                net_check_set(s, NET_CHECK_WARN, setup, "mode %04o: fine for root, but users other than root cannot use bridge mode",
                    (unsigned)m.mode);
        else
                net_check_set(s, NET_CHECK_FAIL, setup, "%s is not setuid root (mode %04o%s): QEMU would fail with 'failed to create tun device'",
                    helper, (unsigned)m.mode, m.owner_root ? "" : ", not owned by root");

        struct net_check *a = add(out, n, "acl", "qemu-bridge-helper's ACL allows %s", bridge);
        _cleanup_free_ char *acl = NULL;
        if (!helper) {
                net_check_set(a, NET_CHECK_SKIP, "", "not checked: no helper");
                return;
        }
        r = net_helper_acl_path(helper, &acl);
        if (r < 0) {
                net_check_set(a, NET_CHECK_FAIL, "set " NET_ACL_ENV " to the helper's ACL file",
                    "no '.../bridge.conf' path found in %s", helper);
                return;
        }
        struct net_acl v;
        if (net_acl_check(acl, bridge, &v) < 0) {
                net_check_set(a, NET_CHECK_FAIL, "", "out of memory");
                return;
        }
        char fix[600];
        struct stat st;
        if (v.error == -ENOENT)
                net_check_set(a, NET_CHECK_FAIL, setup, "%s does not exist: QEMU would fail with 'failed to parse default acl file'", acl);
        else if (v.error == -EACCES) {
                snprintf(fix, sizeof fix, "sudo chmod a+r %s", acl);
                net_check_set(a, NET_CHECK_FAIL, fix, "%s is not readable by you, and the helper reads it as you", acl);
        } else if (v.error) {
                snprintf(fix, sizeof fix, "edit %s: the helper refuses every bridge while it has this line", acl);
                net_check_set(a, NET_CHECK_FAIL, fix, "%s", v.error_msg);
        } else if (v.deny_at) {
                snprintf(fix, sizeof fix, "remove the deny rule at %s", v.deny_at);
                net_check_set(a, NET_CHECK_FAIL, fix, "%s denies %s: QEMU would fail with 'access denied by acl file'", v.deny_at, bridge);
        } else if (!v.allowed)
                net_check_set(a, NET_CHECK_FAIL, setup, "%s has no 'allow %s': QEMU would fail with 'access denied by acl file'",
                    acl, bridge);
        else if (stat(acl, &st) == 0 && (st.st_mode & 0004) == 0) {
                snprintf(fix, sizeof fix, "sudo chmod a+r %s", acl);
                net_check_set(a, NET_CHECK_WARN, fix, "allowed by %s, but only root can read %s", v.allow_at, acl);
        } else
                net_check_set(a, NET_CHECK_OK, "", "allowed by %s", v.allow_at);
        net_acl_done(&v);
}

size_t net_bridge_checks(const char *bridge, const char *qemu_binary, struct net_check *out) {
        size_t n = 0;
        char cidr[24];
        check_bridge(bridge, out, &n, cidr, sizeof cidr);
        check_tun(out, &n);
        check_helper(bridge, qemu_binary, cidr, out, &n);
        return n;
}

int net_bridge_check(const char *bridge, struct net_report *report) {
        struct net_check checks[NET_CHECKS_MAX];
        size_t n = net_bridge_checks(bridge, NULL, checks);
        for (size_t i = 0; i < n; i++)
                if (checks[i].status == NET_CHECK_FAIL) {
                        snprintf(report->message, sizeof report->message, "cannot use bridge %s: %s", bridge,
                                 checks[i].detail);
                        snprintf(report->fix, sizeof report->fix, "%s", checks[i].fix[0] ? checks[i].fix : "see 'vmcloak doctor --bridge'");
                        return -EHOSTUNREACH;
                }
        report->message[0] = report->fix[0] = 0;
        return 0;
}
