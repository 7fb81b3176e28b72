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
#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"

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

/* Move the built ISO to where the user wants it (another filesystem: copy, then rename). */
static int move_into_place(const char *src, const char *dst) {
        if (rename(src, dst) == 0)
                return 0;
        if (errno != EXDEV)
                return -errno;
        _cleanup_free_ char *tmp = strdup_printf("%s.tmp%d", dst, (int)getpid());
        if (!tmp)
                return -ENOMEM;
        unlink(tmp);
        int r = copy_file(src, tmp, 0644);
        if (r < 0)
                return r;
        if (rename(tmp, dst) < 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

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

        /* Like VMCloak: an address that an image or snapshot already uses is refused. */
        struct repo *repo;
        if (global_repo(&repo, false) < 0)
                return 1;
        _cleanup_(strv_freep) char **used = NULL;
        if (repo_used_ips(repo, &used) < 0)
                return 1;
        if (strv_contains(used, args_get(a, "ip"))) {
                log_error("IP address %s is already used by an image or snapshot (see 'vmcloak list images' and "
                          "'vmcloak list snapshots'); pick another --ip", args_get(a, "ip"));
                return 1;
        }

        const struct os_profile *prof = os_profile_find(os);
        if (!prof)
                return 1;
        _cleanup_free_ char *tempdir = args_get(a, "tempdir") ? strdup(args_get(a, "tempdir")) : paths_iso_dir();
        _cleanup_free_ char *cache = paths_cache_dir();
        if (!tempdir || !cache)
                return 1;
        int r = mkdir_p(tempdir, 0755);
        if (r < 0) {
                log_error_errno(r, "cannot create the work folder %s: %m (pick another with --tempdir)", tempdir);
                return 1;
        }
        _cleanup_free_ char *workdir = strdup_printf("%s/vmcloak-createiso.XXXXXX", tempdir);
        if (!workdir || !mkdtemp(workdir)) {
                log_error_errno(-errno, "cannot create a work folder in %s: %m (pick another with --tempdir)", tempdir);
                return 1;
        }
        char netmask[16];
        format_ipv4(ipv4_netmask(net.prefix), netmask);
        struct install_params p = {
                .name = NULL,
                .hostname = NULL,
                .ip = args_get(a, "ip"),
                .prefix = net.prefix,
                .netmask = netmask,
                .gateway = args_get(a, "gateway"),
                .dns = dns1,
                .dns2 = dns2,
                .agent_port = port,
                .resolution = args_get_or(a, "resolution"),
                .workdir = workdir,
                .cache_dir = cache,
                .kernel = args_get(a, "kernel"),
                .modules = args_get(a, "modules"),
        };
        struct install_media m = { 0 };
        r = prof->build_media(prof, &p, &m);
        if (r >= 0 && interrupted())
                r = -ECANCELED;
        if (r >= 0) {
                r = move_into_place(m.boot_iso, out);
                if (r < 0)
                        log_error_errno(r, "cannot write %s: %m", out);
        }
        if (r >= 0) {
                char sz[32];
                log_info("Wrote %s (%s%s%s)", out, format_bytes(sz, sizeof sz, file_size_or_zero(out)),
                         m.kernel_version ? ", kernel " : "", strempty(m.kernel_version));
        } else if (r == -ECANCELED)
                log_error("interrupted; nothing was written");
        install_media_free(&m);
        rm_rf(workdir);
        return r < 0 ? 1 : 0;
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
