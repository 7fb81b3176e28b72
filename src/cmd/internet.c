/* vmcloak internet: give a bridged guest temporary internet (VMCloak's vmcloak-iptables do|undo). */
#include <errno.h>
#include <json-c/json.h>
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

static const struct optdef opts[] = {
        OPT_LIST(0, "via", &arg_via, "IFACE",
                 "on: a host interface to the internet; the guest's traffic leaves by it, masqueraded (VMCloak's "
                 "IFACE...)",
                 .check = check_ifname),
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
        "internet", "on IMAGE|IP --via IFACE... | off IMAGE|IP | status IMAGE|IP",
        "Give a bridged guest temporary internet through IFACE (root), e.g. to activate Office.",
        "on masquerades the guest's traffic out of IFACE and forwards it and its replies, in vmcloak's\n"
        "own nftables table (ip vmcloak; no other table or iptables rule is touched), and switches IP\n"
        "forwarding on if it was off. A second on changes nothing. off removes the guest's rules; the\n"
        "table goes with the last guest, and IP forwarding goes back off if vmcloak switched it on.\n"
        "vmcloak cleanup IMAGE removes them too. IMAGE stands for its address from the repository;\n"
        "an image on user-mode networking has no route to give (QEMU runs it with restrict=on).\n"
        "status --json prints {address, internet, via: [IFACE...], table, ip_forward}.\n"
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
        if (!streq(a->pos[0], "on") && arg_via) {
                log_error("--via is for internet on (off and status cover every interface of the guest)");
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
        _cleanup_strv_free_ char **ifs = NULL;
        bool table = false;
        int r = net_internet_list(ip, &ifs, &table);
        if (r < 0) {
                errno = -r;
                log_error("cannot read nftables table " NET_INTERNET_FAMILY " " NET_INTERNET_TABLE ": %m");
                return 1;
        }
        if (global.json) {
                json_object *o = json_object_new_object(), *arr = json_object_new_array();
                for (size_t i = 0; ifs && ifs[i]; i++)
                        json_object_array_add(arr, json_object_new_string(ifs[i]));
                int fwd = net_ip_forward_get();
                json_object_object_add(o, "address", json_object_new_string(a));
                json_object_object_add(o, "internet", json_object_new_boolean(ifs != NULL));
                json_object_object_add(o, "via", arr);
                json_object_object_add(o, "table", json_object_new_boolean(table));
                json_object_object_add(o, "ip_forward", fwd < 0 ? NULL : json_object_new_boolean(fwd == 1));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                return 0;
        }
        _cleanup_free_ char *list = ifs ? strv_join(ifs, ", ") : NULL;
        if (ifs)
                printf("%s has internet via %s\n", a, strempty(list));
        else
                printf("%s has no internet from vmcloak\n", a);
        return 0;
}

static int run(const struct cmd_env *env) {
        const struct args *a = env->args;
        const char *action = a->pos[0], *target = a->pos[1];
        if (!net_admin_capable()) {
                _cleanup_free_ char *via = arg_via ? strv_join(arg_via, " --via ") : NULL;
                log_error("vmcloak internet reads and changes the firewall (nftables), which needs root "
                          "(CAP_NET_ADMIN); run: sudo %s internet %s %s%s%s", program_invocation_name, action, target,
                          via ? " --via " : "", strempty(via));
                return 1;
        }
        uint32_t ip;
        if (resolve_target(target, &ip) < 0)
                return 1;
        char addr[16];
        format_ipv4(ip, addr);
        if (streq(action, "status"))
                return status(ip, addr);

        unsigned ch = 0;
        if (streq(action, "off")) {
                if (net_internet_off(ip, &ch) < 0)
                        return 1;
                if (ch == 0)
                        log_info("%s has no internet from vmcloak; nothing to do", addr);
                else
                        log_info("removed the internet rules for %s%s%s", addr,
                                 ch & NET_INTERNET_TABLE_DELETED ? " (and table ip vmcloak, its last guest)" : "",
                                 ch & NET_INTERNET_FWD_OFF ? "; IP forwarding is off again" : "");
                return 0;
        }

        if (net_internet_on(ip, arg_via, &ch) < 0)
                return 1;
        _cleanup_free_ char *via = strv_join(arg_via, ", ");
        if (ch == 0)
                log_info("%s already has internet via %s; nothing to do", addr, strempty(via));
        else
                log_info("%s has internet via %s (masqueraded)%s; remove it with: vmcloak internet off %s", addr,
                         strempty(via), ch & NET_INTERNET_FWD_ON ? "; switched IP forwarding on" : "", target);
        _cleanup_free_ char *blockers = NULL;
        if (net_internet_blockers(&blockers) == 0 && blockers)
                log_warning("forwarded packets are dropped by default in %s (another firewall's chain, e.g. iptables' "
                            "FORWARD policy); vmcloak's accept does not override that: allow %s there too", blockers,
                            addr);
        return 0;
}

const struct cmd_def cmd_internet = { .spec = &spec, .check = check_args, .run = run };
