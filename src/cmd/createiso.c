/* vmcloak createiso: build the unattended install ISO only (no VM, no image row). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "pipeline/createiso.h"

static const struct optdef opts[] = {
        VM_ATTR_OPTS,
        ISO_ATTR_OPTS,
        { NULL },
};

static const struct cmd_spec spec = {
        "createiso", "[OPTIONS] ISO_PATH", "Build the unattended install ISO only (no VM, no image row).",
        "--network, --gateway and --ip are required. Today only --linux builds media; the Windows\n"
        "guests come with their own issue.", opts, 1, 1,
};

static const char *const os_flags[] = { "win7x64", "win81x64", "win10x64", "win11x64", "linux" };

static int createiso(const struct args *a) {
        const char *out = a->pos[0];
        const char *os = NULL;
        for (size_t i = 0; i < ELEMENTSOF(os_flags); i++)
                if (args_flag(a, os_flags[i])) {
                        if (os) {
                                log_error("--%s and --%s both given: pick one guest OS", os, os_flags[i]);
                                return EXIT_USAGE;
                        }
                        os = os_flags[i];
                }
        if (!os) {
                log_error("please provide one of --win7x64, --win81x64, --win10x64, --win11x64 or --linux");
                return EXIT_USAGE;
        }
        if (!streq(os, "linux")) {
                log_error("createiso --%s is not implemented yet (Windows install media come with their own issue); "
                          "nothing was changed", os);
                return EXIT_USAGE;
        }
        static const char *const required[] = { "ip", "network", "gateway" };
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!args_get(a, required[i])) {
                        log_error("missing option --%s (createiso needs --ip, --network and --gateway)", required[i]);
                        return EXIT_USAGE;
                }
        struct ipv4_net net;
        uint32_t ip, gw, dns;
        uint16_t port = 8000;
        if (vcheck_cidr(args_get(a, "network"), "--network", &net) < 0 || vcheck_ipv4(args_get(a, "ip"), "--ip", &ip) < 0 ||
            vcheck_ipv4(args_get(a, "gateway"), "--gateway", &gw) < 0)
                return EXIT_USAGE;
        const char *dns1 = args_get(a, "dns") ? args_get(a, "dns") : "8.8.8.8";
        const char *dns2 = args_get(a, "dns2") ? args_get(a, "dns2") : "8.8.4.4";
        if (vcheck_ipv4(dns1, "--dns", &dns) < 0 || vcheck_ipv4(dns2, "--dns2", &dns) < 0)
                return EXIT_USAGE;
        if (args_get(a, "port") && vcheck_port(args_get(a, "port"), "--port", &port) < 0)
                return EXIT_USAGE;
        if (!ipv4_in_net(&net, ip) || ip == ipv4_network(&net) || ip == ipv4_broadcast(&net)) {
                log_error("--ip %s is not a host address of --network %s", args_get(a, "ip"), args_get(a, "network"));
                return EXIT_USAGE;
        }
        if (!ipv4_in_net(&net, gw)) {
                log_error("--gateway %s is not in --network %s", args_get(a, "gateway"), args_get(a, "network"));
                return EXIT_USAGE;
        }
        if (ip == gw) {
                log_error("--ip and --gateway are the same address %s", args_get(a, "ip"));
                return EXIT_USAGE;
        }

        const struct os_profile *prof = os_profile_find(os);
        if (!prof)
                return 1;
        struct createiso_request q = {
                .profile = prof, .out = out, .ip = args_get(a, "ip"), .prefix = net.prefix,
                .gateway = args_get(a, "gateway"), .dns = dns1, .dns2 = dns2, .agent_port = port,
                .resolution = args_get_or(a, "resolution"), .tempdir = args_get(a, "tempdir"),
                .kernel = args_get(a, "kernel"), .modules = args_get(a, "modules"),
        };
        /* The repository: an address that an image or snapshot already uses is refused (VMCloak). */
        struct pipeline *pl;
        if (global_pipeline(&pl, false) < 0)
                return 1;
        return exit_code_for(pipeline_createiso(pl, &q));
}

int cmd_createiso(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        r = createiso(&a);
        args_free(&a);
        return r;
}
