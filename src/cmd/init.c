/* vmcloak init: create a base image and install its OS unattended. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "net/bridge.h"
#include "pipeline/init.h"

static const struct optdef opts[] = {
        VM_ATTR_OPTS,
        ISO_ATTR_OPTS,
        VM_RUN_OPTS,
        { "iso", 0, ARG_VALUE, "PATH", NULL, "Use this prepared install ISO instead of building one" },
        { "vm", 0, ARG_VALUE, "MACHINERY", "qemu", "Machinery (only qemu)" },
        { "net", 0, ARG_VALUE, "MODE", "bridge", "bridge (ADAPTER is a host bridge) or user (no root needed)" },
        { "mac", 0, ARG_VALUE, "MAC", "random PC-vendor MAC", "NIC MAC address" },
        { "cdrom", 0, ARG_LIST, "ISO", NULL, "Attach another CD-ROM during the install" },
        { NULL },
};

static const struct cmd_spec spec = {
        "init", "[OPTIONS] NAME ADAPTER",
        "Create a new base image NAME and install its operating system unattended.",
        "ADAPTER is the host bridge the VM is attached to (e.g. qemubr0); with --net user it only\n"
        "names the image's network. The image is recorded only after the OS installed and the\n"
        "guest agent answered; on failure nothing is left behind.",
        opts, 2, 2,
};

static const char *const os_flags[] = { "win7x64", "win81x64", "win10x64", "win11x64", "linux" };

static int parse(const struct args *a, struct init_request *q) {
        q->name = a->pos[0];
        q->adapter = a->pos[1];
        if (vcheck_name(q->name, "image name") < 0)
                return -EINVAL;
        const char *vm = args_get_or(a, "vm");
        if (strcasecmp(vm, "qemu") != 0) {
                log_error("--vm %s is not supported: vmcloak builds QEMU images only (--vm qemu)", vm);
                return -EINVAL;
        }
        const char *os = NULL;
        for (size_t i = 0; i < ELEMENTSOF(os_flags); i++)
                if (args_flag(a, os_flags[i])) {
                        if (os) {
                                log_error("--%s and --%s both given: pick one guest OS", os, os_flags[i]);
                                return -EINVAL;
                        }
                        os = os_flags[i];
                }
        if (!os) {
                log_error("please provide one of --win7x64, --win81x64, --win10x64, --win11x64 or --linux");
                return -EINVAL;
        }
        q->profile = os_profile_find(os);
        if (!q->profile) {
                log_error("init --%s is not implemented yet (Windows guests come with their own issue); nothing "
                          "was changed. The built-in --linux guest works today.", os);
                return -EOPNOTSUPP;
        }
        const char *net = args_get_or(a, "net");
        if (image_netmode_from_string(net, &q->net.mode) < 0) {
                log_error("invalid --net '%s': use bridge or user", net);
                return -EINVAL;
        }
        if (q->net.mode == IMAGE_NET_BRIDGE) {
                const char *why = net_ifname_invalid_reason(q->adapter);
                if (why) {
                        log_error("invalid bridge name '%s' for ADAPTER: %s", q->adapter, why);
                        return -EINVAL;
                }
        } else if (vcheck_name(q->adapter, "network name (ADAPTER)") < 0)
                return -EINVAL;
        q->net.adapter = q->adapter;
        q->net.network = args_get(a, "network");
        q->net.gateway = args_get(a, "gateway");
        q->net.ip = args_get(a, "ip");
        q->net.dns = args_get(a, "dns");
        q->net.dns2 = args_get(a, "dns2");
        if (vcheck_port(args_get_or(a, "port"), "--port", &q->port) < 0 ||
            vcheck_uint(args_get_or(a, "cpus"), "--cpus", 1, 255, &q->cpus) < 0 ||
            vcheck_uint(args_get_or(a, "vramsize"), "--vramsize", 1, 512, &q->vram_mb) < 0)
                return -EINVAL;
        q->ram_mb = q->profile->default_ram_mb;
        if (args_get(a, "ramsize") && vcheck_uint(args_get(a, "ramsize"), "--ramsize", 64, 4u << 20, &q->ram_mb) < 0)
                return -EINVAL;
        q->disk_bytes = q->profile->default_disk_bytes;
        if (args_get(a, "hddsize") && vcheck_size(args_get(a, "hddsize"), "--hddsize", 1ull << 30, &q->disk_bytes) < 0)
                return -EINVAL;
        if (q->disk_bytes < (64ull << 20)) {
                log_error("--hddsize %s is too small for a guest (at least 64M)", args_get(a, "hddsize"));
                return -EINVAL;
        }
        q->resolution = args_get_or(a, "resolution");
        unsigned w, h;
        if (parse_resolution(q->resolution, &w, &h) < 0) {
                log_error("invalid --resolution '%s': use WIDTHxHEIGHT, e.g. 1024x768", q->resolution);
                return -EINVAL;
        }
        q->mac = args_get(a, "mac");
        q->tempdir = args_get(a, "tempdir");
        q->iso = args_get(a, "iso");
        q->extra_cdroms = args_list(a, "cdrom");
        q->kernel = args_get(a, "kernel");
        q->modules = args_get(a, "modules");
        q->iso_mount = args_get(a, "iso-mount");
        q->serial_key = args_get(a, "serial-key");
        q->product = args_get(a, "product");
        q->python_version = args_get(a, "python-version");
        return vm_options_parse(a, &q->vm);
}

int cmd_init(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        struct init_request q = { 0 };
        r = parse(&a, &q);
        if (r < 0) {
                args_free(&a);
                return EXIT_USAGE;
        }
        struct pipeline *pl;
        r = global_pipeline(&pl, true);
        if (r == 0)
                r = pipeline_init(pl, &q);
        args_free(&a);
        return exit_code_for(r);
}
