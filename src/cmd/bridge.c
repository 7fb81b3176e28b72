/* vmcloak bridge (also vmcloak-qemubridge): create the host bridge and set up qemu-bridge-helper. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "net/bridge.h"
#include "net/check.h"
#include "net/helper.h"

static bool arg_delete, arg_setup_helper;

static const struct optdef opts[] = {
        OPT_BOOL(0, "delete", &arg_delete, "Remove the bridge (only bridges are ever removed)"),
        OPT_BOOL(0, "setup-helper", &arg_setup_helper,
                 "Also add 'allow BRIDGE' to qemu-bridge-helper's ACL (creating it if needed) and make the helper "
                 "setuid root"),
        { NULL },
};

/* BRIDGE: a bridge to create (the bridge rule), or with --delete one that exists (Linux's rule,
 * so that a bridge made by another tool or an older vmcloak can be removed). Alone, without
 * --delete, it only shows the help (as vmcloak-qemubridge does). */
static int check_bridge(const struct args *a, const char *value, const char *what) {
        (void)what;
        if (args_flag(a, "delete"))
                return vcheck_ifname(value);
        return a->npos == 1 ? 0 : vcheck_bridge_name(value);
}

/* CIDR: the bridge's own address in its network. */
static int check_bridge_cidr(const struct args *a, const char *value, const char *what) {
        (void)a;
        struct ipv4_net cidr;
        if (vcheck_cidr(value, what, &cidr) < 0)
                return -EINVAL;
        if (cidr.prefix == 0 || cidr.prefix > 30) {
                log_error("invalid CIDR '%s': the prefix must be 1..30 so the network has room for guests", value);
                return -EINVAL;
        }
        if (cidr.addr == ipv4_network(&cidr) || cidr.addr == ipv4_broadcast(&cidr)) {
                log_error("invalid CIDR '%s': that is the %s address of the network; give the bridge a host address "
                          "such as " NET_DEFAULT_CIDR, value, cidr.addr == ipv4_network(&cidr) ? "network" : "broadcast");
                return -EINVAL;
        }
        return 0;
}

static const struct posdef pos[] = {
        { "BRIDGE", check_bridge },
        { "CIDR", check_bridge_cidr },
        { NULL },
};

static const struct cmd_spec spec = {
        "bridge", "[OPTIONS] [BRIDGE CIDR]",
        "Create bridge BRIDGE with address CIDR (root). Defaults: " NET_DEFAULT_BRIDGE " " NET_DEFAULT_CIDR ".",
        "Creates the bridge with STP off if it is missing, gives it the address unless it already has\n"
        "another one (then nothing is changed), and brings it up; a second run changes nothing.\n"
        "With exactly one argument this help is shown, as vmcloak-qemubridge does.\n"
        "QEMU attaches VMs to the bridge through qemu-bridge-helper, which must be setuid root and\n"
        "allowed the bridge in its ACL file (the path compiled into it): --setup-helper does both.\n"
        "VMCLOAK_BRIDGE_HELPER and VMCLOAK_BRIDGE_ACL override the helper and ACL paths.",
        opts, 0, 2, .pos = pos,
};

/* The command line to repeat as root, spelled as the user spelled the program. */
static void print_root_needed(const char *what, const char *name, const char *cidr, bool del, bool setup) {
        bool qb = streq_ptr(global.argv0_name, "vmcloak-qemubridge");
        log_error("%s needs root; run: sudo %s%s%s%s %s%s%s", what, program_invocation_name, qb ? "" : " bridge",
                  del ? " --delete" : "", setup ? " --setup-helper" : "", name, cidr ? " " : "", strempty(cidr));
}

static int setup_helper(const char *name) {
        _cleanup_free_ char *helper = NULL, *acl = NULL;
        int r = net_helper_find(NULL, &helper);
        if (r < 0) {
                log_error("cannot find qemu-bridge-helper; install it (Debian/Ubuntu: apt-get install qemu-system-common) "
                          "or point " NET_HELPER_ENV " at it");
                return r;
        }
        r = net_helper_acl_path(helper, &acl);
        if (r < 0) {
                log_error("no '.../bridge.conf' path is compiled into %s; set " NET_ACL_ENV " to its ACL file", helper);
                return r;
        }
        unsigned changes = 0;
        r = net_helper_setup(helper, acl, name, &changes);
        if (r < 0)
                return r;
        if (changes == 0)
                log_info("qemu-bridge-helper was already set up for %s; nothing changed", name);
        return 0;
}

static int run(const struct cmd_env *env) {
        const struct args *a = env->args;
        bool del = arg_delete, setup = arg_setup_helper;
        /* vmcloak-qemubridge shows its help for exactly one argument; with --delete one is the name. */
        if (a->npos == 1 && !del) {
                args_print_help(&spec);
                return 0;
        }
        const char *name = a->npos >= 1 ? a->pos[0] : NET_DEFAULT_BRIDGE;
        const char *cidr_s = a->npos >= 2 ? a->pos[1] : NET_DEFAULT_CIDR;

        /* Both were checked by their posdefs (the defaults are sound). */
        if (del) {
                if (geteuid() != 0) {
                        print_root_needed("deleting a bridge", name, NULL, true, false);
                        return 1;
                }
                if (net_bridge_delete(name) < 0)
                        return 1;
                log_info("deleted bridge %s", name);
                return 0;
        }

        struct ipv4_net cidr;
        if (parse_cidr(cidr_s, &cidr) < 0)
                return EXIT_USAGE;
        char want[24];
        net_format_cidr(&cidr, want, sizeof want);
        if (geteuid() != 0) {
                print_root_needed("creating a bridge", name, want, false, setup);
                return 1;
        }

        unsigned changes = 0;
        if (net_bridge_ensure(name, &cidr, &changes) < 0)
                return 1;
        if (changes & NET_BRIDGE_CREATED)
                log_info("created bridge %s (STP off)", name);
        if (changes & NET_BRIDGE_ADDR_ADDED)
                log_info("added address %s to %s", want, name);
        if (changes & NET_BRIDGE_BROUGHT_UP)
                log_info("brought %s up", name);
        if (changes == 0)
                log_info("bridge %s already exists with address %s and is up; nothing changed", name, want);

        if (setup)
                return setup_helper(name) < 0 ? 1 : 0;

        /* The reminders VMCloak printed, made specific: only what is still missing, and the fix. */
        struct net_report rep;
        if (net_bridge_check(name, &rep) < 0)
                log_info("still needed for QEMU: %s\n  fix: %s", rep.message, rep.fix);
        else
                log_info("qemu-bridge-helper is ready for %s", name);
        return 0;
}

const struct cmd_def cmd_bridge = { .spec = &spec, .run = run };
