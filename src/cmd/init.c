/* vmcloak init: create a base image and install its OS unattended. */
#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "net/bridge.h"
#include "pipeline/init.h"

static struct init_request req;
static const char *arg_vm;

static const struct optdef opts[] = {
        VM_ATTR_OPTS(req),
        ISO_ATTR_OPTS(req),
        VM_RUN_OPTS(req.vm),
        OPT_STRING(0, "iso", &req.iso, "PATH", "Use this prepared install ISO instead of building one"),
        OPT_STRING(0, "vm", &arg_vm, "MACHINERY", "Machinery (only qemu)", .def_value = "qemu"),
        OPT_ENUM(0, "net", &req.net.mode, opt_netmode, "MODE",
                 "bridge (ADAPTER is a host bridge) or user (no root needed)", .def_value = "bridge"),
        OPT_STRING(0, "mac", &req.mac, "MAC", "NIC MAC address", .def = "random PC-vendor MAC"),
        OPT_LIST(0, "cdrom", &req.extra_cdroms, "ISO", "Attach another CD-ROM during the install"),
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

static int check(const struct args *a) {
        req.name = a->pos[0];
        req.adapter = req.net.adapter = a->pos[1];
        if (vcheck_name(req.name, "image name") < 0)
                return -EINVAL;
        if (strcasecmp(arg_vm, "qemu") != 0) {
                log_error("--vm %s is not supported: vmcloak builds QEMU images only (--vm qemu)", arg_vm);
                return -EINVAL;
        }
        const char *os;
        if (vm_os_flag(a, &os) < 0)
                return -EINVAL;
        req.profile = os_profile_find(os);
        if (!req.profile) {
                log_error("init --%s is not implemented yet (Windows guests come with their own issue); nothing "
                          "was changed. The built-in --linux guest works today.", os);
                return -EOPNOTSUPP;
        }
        if (req.net.mode == IMAGE_NET_BRIDGE) {
                const char *why = net_ifname_invalid_reason(req.adapter);
                if (why) {
                        log_error("invalid bridge name '%s' for ADAPTER: %s", req.adapter, why);
                        return -EINVAL;
                }
        } else if (vcheck_name(req.adapter, "network name (ADAPTER)") < 0)
                return -EINVAL;
        /* RAM and disk default to the OS's; 0 is no value either option accepts. */
        if (!req.ram_mb)
                req.ram_mb = req.profile->default_ram_mb;
        if (!req.disk_bytes)
                req.disk_bytes = req.profile->default_disk_bytes;
        if (vm_options_check(&req.vm) < 0)
                return -EINVAL;
        if (req.disk_bytes < (64ull << 20)) {
                log_error("--hddsize %s is too small for a guest (at least 64M)", args_get(a, "hddsize"));
                return -EINVAL;
        }
        return 0;
}

static int run(const struct cmd_env *env) { return exit_code_for(pipeline_init(env->pl, &req)); }

const struct cmd_def cmd_init = { .spec = &spec, .check = check, .run = run };
