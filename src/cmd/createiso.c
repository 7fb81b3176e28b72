/* vmcloak createiso: build the unattended install ISO only (no VM, no image row). */
#include <errno.h>
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "pipeline/createiso.h"
#include "pipeline/init.h"

/* The VM and ISO attributes as init takes them; createiso uses the network and media ones. */
static struct init_request attrs;
static struct createiso_request req;

static const struct optdef opts[] = {
        VM_ATTR_OPTS(attrs),
        ISO_ATTR_OPTS(attrs),
        OPT_STRING(0, "iso", &attrs.iso, "PATH", "Windows: the untouched install ISO to build from",
                   .def = "--iso-mount", .check = check_path),
        OPT_STRING(0, "mac", &attrs.mac, "MAC", "Windows: the NIC the guest's network is set on (give init the same)",
                   .def = "a random PC-vendor MAC, printed", .check = check_mac),
        { NULL },
};

/* Accepted as in VMCloak but without effect on the media (so not checked either), and the
 * resolution, which goes into the media unchecked. */
static const char *const unbound[] = {
        "cpus", "ramsize", "vramsize", "hddsize", "resolution", "vm-visible", "vrde", "vrde-port", "vnc-listen",
        "python-version", NULL,
};

static const struct posdef pos[] = {
        { "ISO_PATH", check_path },
        { NULL },
};

static const struct cmd_spec spec = {
        "createiso", "[OPTIONS] ISO_PATH", "Build the unattended install ISO only (no VM, no image row).",
        "--network, --gateway and --ip are required. For Windows the ISO holds the source's files, the\n"
        "answer file, the bootstrap and the agent, and boots with BIOS and UEFI; 'init --iso' takes it.", opts, 1, 1, unbound, pos,
};

static int check(const struct args *a) {
        const char *os;
        if (vm_os_flag(a, &os) < 0)
                return -EINVAL;
        const struct os_profile *prof = os_profile_find(os);
        if (!prof)
                return -ENOENT;
        if (vm_os_options_check(a, prof, attrs.no_tpm) < 0)
                return -EINVAL;
        if (attrs.iso && !prof->iso_is_source) {
                log_error("--iso is the Windows install ISO; --%s builds its media from its own sources", os);
                return -EINVAL;
        }
        static const char *const required[] = { "ip", "network", "gateway" };
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!args_get(a, required[i])) {
                        log_error("missing option --%s (createiso needs --ip, --network and --gateway)", required[i]);
                        return -EINVAL;
                }
        /* Their syntax was checked where they were typed; what is left is how they fit together. */
        const struct netcfg_opts *n = &attrs.net;
        struct ipv4_net net;
        uint32_t ip, gw;
        const char *dns1 = n->dns ? n->dns : "8.8.8.8";
        if (parse_cidr(n->network, &net) < 0 || parse_ipv4(n->ip, &ip) < 0 || parse_ipv4(n->gateway, &gw) < 0)
                return -EINVAL;
        if (!ipv4_in_net(&net, ip) || ip == ipv4_network(&net) || ip == ipv4_broadcast(&net)) {
                log_error("--ip %s is not a host address of --network %s", n->ip, n->network);
                return -EINVAL;
        }
        if (!ipv4_in_net(&net, gw)) {
                log_error("--gateway %s is not in --network %s", n->gateway, n->network);
                return -EINVAL;
        }
        if (ip == gw) {
                log_error("--ip and --gateway are the same address %s", n->ip);
                return -EINVAL;
        }
        req = (struct createiso_request){
                .profile = prof, .out = a->pos[0], .ip = n->ip, .prefix = net.prefix,
                .gateway = n->gateway, .dns = dns1, .dns2 = n->dns2, .agent_port = attrs.port,
                .resolution = args_get_or(a, "resolution"), .tempdir = attrs.tempdir,
                .kernel = attrs.kernel, .modules = attrs.modules, .iso = attrs.iso, .iso_mount = attrs.iso_mount,
                .serial_key = attrs.serial_key, .product = attrs.product, .hostname = attrs.hostname,
                .user = attrs.user, .password = attrs.password, .locale = attrs.locale, .kblayout = attrs.kblayout,
                .timezone = attrs.timezone, .no_tpm = attrs.no_tpm, .mac = attrs.mac,
        };
        return req.profile ? 0 : -ENOENT;
}

/* With the repository: an address that an image or snapshot already uses is refused (VMCloak). */
static int run(const struct cmd_env *env) { return exit_code_for(pipeline_createiso(env->pl, &req)); }

const struct cmd_def cmd_createiso = { .spec = &spec, .check = check, .run = run };
