/* vmcloak internet: give a bridged guest temporary internet (VMCloak's vmcloak-iptables do|undo). */
#include <errno.h>
#include <json-c/json.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "net/internet.h"

static char **arg_via;
static bool arg_force;

static const struct optdef opts[] = {
        OPT_LIST(0, "via", &arg_via, "IFACE",
                 "on: a host interface to the internet; the guest's traffic leaves by it, masqueraded (VMCloak's "
                 "IFACE...)",
                 .check = check_ifname),
        OPT_BOOL(0, "force", &arg_force,
                 "on: add the rules although another firewall drops forwarded packets (it still does: a warning only)"),
        { NULL },
};

/* A bare address must be one a guest can have: unicast, not loopback, not 0.0.0.0/8. */
static int check_target(const struct args *a, const char *value, const char *what) {
        uint32_t ip;
        if (parse_ipv4(value, &ip) < 0)
                return check_image_existing(a, value, what);
        if ((ip >> 24) == 0 || (ip >> 24) == 127 || (ip >> 28) >= 14) {
                log_error("%s is no guest address: give a unicast address outside 0.0.0.0/8 and 127.0.0.0/8 (or "
                          "an image name)", value);
                return -EINVAL;
        }
        return 0;
}

static const struct posdef pos[] = {
        { "on|off|status", NULL },   /* checked with --via in check_args() */
        { "IMAGE|IP", check_target },
        { NULL },
};

static const struct cmd_spec spec = {
        "internet", "on IMAGE|IP --via IFACE... [--force] | off IMAGE|IP | status IMAGE|IP",
        "Give a bridged guest temporary internet through IFACE (root), e.g. to activate Office.",
        "on masquerades the guest's traffic out of IFACE (an existing interface) and forwards it and\n"
        "its replies, in vmcloak's own nftables table (ip vmcloak; no other table or iptables rule is\n"
        "touched), and switches IP forwarding on if it was off (the host then routes for every guest\n"
        "on the bridge, as far as its firewall lets it). It refuses, changing nothing, when another\n"
        "firewall drops forwarded packets (a forward chain with policy drop, as iptables' FORWARD under\n"
        "Docker or ufw, or ending in drop/reject, as firewalld's; iptables-legacy's FORWARD policy\n"
        "DROP), naming the chain and the command that allows the guest there; --force goes on anyway.\n"
        "A second on changes nothing. IMAGE stands for its address from the repository, and each rule\n"
        "records which image (or bare IP) asked for it: off IMAGE and vmcloak cleanup IMAGE remove\n"
        "only that image's, off IP every rule of the address. The table goes with the last guest, and\n"
        "IP forwarding goes back off if vmcloak switched it on, unless a table that forwards or NATs\n"
        "(Docker, libvirt) appeared since. An image on user-mode networking has no route to give\n"
        "(QEMU runs it with restrict=on).\n"
        "status --json prints {address, internet, via: [IFACE...], for: [IMAGE|IP...], table, ip_forward}.\n"
        "Replaces VMCloak's vmcloak-iptables do|undo IP IFACE...",
        opts, 2, 2, .pos = pos,
};

static int check_args(const struct args *a) {
        const char *action = a->pos[0];
        if (!streq(action, "on") && !streq(action, "off") && !streq(action, "status")) {
                log_error("unknown action '%s': use on, off or status", action);
                return -EINVAL;
        }
        if (streq(a->pos[0], "on") && !arg_via) {
                log_error("internet on needs --via IFACE: the host's interface to the internet (ip route show default "
                          "names it after 'dev')");
                return -EINVAL;
        }
        if (!streq(a->pos[0], "on") && (arg_via || arg_force)) {
                log_error("%s is for internet on (off and status cover every interface of the guest)",
                          arg_via ? "--via" : "--force");
                return -EINVAL;
        }
        /* In this network namespace: an unknown name would only make rules that match nothing. */
        for (size_t i = 0; arg_via && arg_via[i]; i++)
                if (if_nametoindex(arg_via[i]) == 0) {
                        log_error("--via %s: no such interface on this host; the one to the internet is named after "
                                  "'dev' in: ip route show default", arg_via[i]);
                        return -EINVAL;
                }
        return 0;
}

/* The guest's address: a bare IP as it is, an image's from the repository (read only). */
static int resolve_target(const char *target, uint32_t *ret) {
        if (parse_ipv4(target, ret) == 0)
                return 0;
        int r = paths_init(global.home);
        if (r < 0)
                return r;
        _cleanup_free_ char *db = paths_repository();
        if (!db)
                return log_oom();
        if (!path_exists(db)) {
                log_error("no image named %s: there is no repository %s%s", target, db,
                          geteuid() == 0 ? " (as root, point --home at the user's ~/.vmcloak)" : "");
                return -ENOENT;
        }
        struct repo *repo;
        if ((r = global_repo(&repo, false)) < 0)
                return r;
        _cleanup_image_ struct image *img = NULL;
        if ((r = repo_image_get(repo, target, &img)) == -ENOENT) {
                log_error("no image named %s in %s (see vmcloak list images%s)", target, db,
                          geteuid() == 0 ? "; as root, point --home at the user's ~/.vmcloak" : "");
                return r;
        }
        if (r < 0)
                return r;
        if (img->netmode && streq(img->netmode, "user")) {
                log_error("image %s uses user-mode networking, which vmcloak runs isolated (QEMU's restrict=on: only "
                          "the agent's forwarded port), so there is no route to open; put the files the guest needs on "
                          "the host (vmcloak deps, install --files-dir) or use an image on a bridge", target);
                return -EOPNOTSUPP;
        }
        if (isempty(img->ipaddr) || parse_ipv4(img->ipaddr, ret) < 0) {
                log_error("image %s has no valid IP address in the repository ('%s'); give the address instead",
                          target, strempty(img->ipaddr));
                return -EINVAL;
        }
        return 0;
}

static int status(uint32_t ip, const char *a) {
        _cleanup_strv_free_ char **ifs = NULL, **owners = NULL;
        bool table = false;
        int r = net_internet_list(ip, &ifs, &owners, &table);
        if (r < 0) {
                errno = -r;
                log_error("cannot read nftables table " NET_INTERNET_FAMILY " " NET_INTERNET_TABLE ": %m");
                return 1;
        }
        if (global.json) {
                json_object *o = json_object_new_object(), *arr = json_object_new_array(), *own = json_object_new_array();
                for (size_t i = 0; ifs && ifs[i]; i++)
                        json_object_array_add(arr, json_object_new_string(ifs[i]));
                for (size_t i = 0; owners && owners[i]; i++)
                        json_object_array_add(own, json_object_new_string(owners[i]));
                int fwd = net_ip_forward_get();
                json_object_object_add(o, "address", json_object_new_string(a));
                json_object_object_add(o, "internet", json_object_new_boolean(ifs != NULL));
                json_object_object_add(o, "via", arr);
                json_object_object_add(o, "for", own);
                json_object_object_add(o, "table", json_object_new_boolean(table));
                json_object_object_add(o, "ip_forward", fwd < 0 ? NULL : json_object_new_boolean(fwd == 1));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                return 0;
        }
        _cleanup_free_ char *list = ifs ? strv_join(ifs, ", ") : NULL, *who = owners ? strv_join(owners, ", ") : NULL;
        if (ifs)
                printf("%s has internet via %s%s%s%s\n", a, strempty(list), who ? " (for " : "", strempty(who),
                       who ? ")" : "");
        else
                printf("%s has no internet from vmcloak\n", a);
        return 0;
}

/* Why this run cannot change the firewall, and what to run instead, in one line. */
static void refuse_unprivileged(const char *action, const char *target) {
        const char *what = "vmcloak internet reads and changes the firewall (nftables), which needs CAP_NET_ADMIN";
        if (global.user) {
                log_error("%s; -u/--user %s gave root up before it: leave -u out%s", what, global.user,
                          global.user_home ? " (and give --home with the user's ~/.vmcloak for its images)" : "");
                return;
        }
        if (geteuid() == 0) {
                log_error("%s, which this root lacks (a container or a dropped capability set): run it where root holds "
                          "CAP_NET_ADMIN, e.g. on the host", what);
                return;
        }
        _cleanup_free_ char *via = arg_via ? strv_join(arg_via, " --via ") : NULL;
        log_error("%s (root); run: sudo %s internet %s %s%s%s%s", what, program_invocation_name, action, target,
                  via ? " --via " : "", strempty(via), arg_force ? " --force" : "");
}

static int run(const struct cmd_env *env) {
        const struct args *a = env->args;
        const char *action = a->pos[0], *target = a->pos[1];
        if (!net_admin_capable()) {
                refuse_unprivileged(action, target);
                return 1;
        }
        uint32_t ip;
        if (resolve_target(target, &ip) < 0)
                return 1;
        char addr[16];
        format_ipv4(ip, addr);
        if (streq(action, "status"))
                return status(ip, addr);
        /* Who asks: the image by name, or the bare address (NULL). */
        uint32_t bare;
        const char *owner = parse_ipv4(target, &bare) == 0 ? NULL : target;

        unsigned ch = 0;
        if (streq(action, "off")) {
                if (net_internet_off(ip, owner, &ch) < 0)
                        return 1;
                if (ch == 0)
                        log_info("%s has no internet from vmcloak%s%s; nothing to do", addr, owner ? " for image " : "",
                                 strempty(owner));
                else
                        log_info("removed the internet rules for %s%s%s%s%s%s", addr, owner ? " (image " : "",
                                 strempty(owner), owner ? ")" : "",
                                 ch & NET_INTERNET_SHARED ? "; the address keeps the internet others asked for (vmcloak "
                                                            "internet status)"
                                 : ch & NET_INTERNET_TABLE_DELETED ? " (and table ip vmcloak, its last guest)"
                                                                   : "",
                                 ch & NET_INTERNET_FWD_OFF ? "; IP forwarding is off again" : "");
                return 0;
        }

        /* Before anything changes: rules another firewall voids would only look like internet. */
        _cleanup_free_ char *what = NULL, *fix = NULL;
        int r = net_internet_blockers(ip, &what, &fix);
        if (r < 0)
                log_debug("cannot look at the other firewalls: %s", strerror(-r));
        if (what && !arg_force) {
                log_error("%s drops %s's forwarded packets, which vmcloak's rules cannot override: allow the guest there "
                          "first (%s), or give --force to add vmcloak's rules anyway", what, addr, fix);
                return 1;
        }
        if (net_internet_on(ip, owner, arg_via, &ch) < 0)
                return 1;
        _cleanup_free_ char *via = strv_join(arg_via, ", ");
        if (ch == 0)
                log_info("%s already has internet via %s; nothing to do", addr, strempty(via));
        else
                log_info("%s has internet via %s (masqueraded)%s; remove it with: vmcloak internet off %s", addr,
                         strempty(via), ch & NET_INTERNET_FWD_ON ? "; switched IP forwarding on" : "", target);
        if (ch & NET_INTERNET_FWD_ON)
                log_warning("IP forwarding is on now: the host routes for every guest on that bridge, not only %s, as "
                            "far as its firewall lets them (the last internet off switches it back off)", addr);
        if (what)
                log_warning("--force: %s still drops %s's forwarded packets; to allow them: %s", what, addr, fix);
        return 0;
}

const struct cmd_def cmd_internet = { .spec = &spec, .check = check_args, .run = run };
