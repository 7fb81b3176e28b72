/* vmcloak import: adopt a hand-built disk whose OS and agent are installed. */
#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "pipeline/import.h"

static struct init_request req;
static const char *arg_hardware;
static bool arg_move;

/* ADAPTER: a bridge's name, or with --net user the name recorded for the image's network. */
static int check_adapter(const struct args *a, const char *value, const char *what) {
        (void)what;
        return streq(args_get_or(a, "net"), "user") ? vcheck_network_name(value) : vcheck_bridge_name(value);
}

static const struct optdef opts[] = {
        OS_FLAG_OPTS,
        VM_ATTR_OPTS(req),
        VM_RUN_OPTS(req.vm),
        OPT_ENUM(0, "net", &req.net.mode, opt_netmode, "MODE",
                 "bridge (ADAPTER is a host bridge) or user (no root needed)", .def_value = "bridge"),
        OPT_STRING(0, "mac", &req.mac, "MAC", "NIC MAC address", .def = "random PC-vendor MAC", .check = check_mac),
        OPT_MACHINE_TAGS(&req.tags, "Cuckoo machine tag for the image's VMs"),
        OPT_HARDWARE(&arg_hardware),
        OPT_BOOL(0, "move", &arg_move, "Remove DISK once the image is recorded (it is copied first either way)"),
        { NULL },
};

/* What an imported disk has already: its size, its media, its screen. */
static const char *const unbound[] = { "hddsize", "tempdir", "resolution", NULL };

static const struct posdef pos[] = {
        { "NAME", check_image_new },
        { "DISK", check_path },
        { "ADAPTER", check_adapter },
        { NULL },
};

static const struct cmd_spec spec = {
        "import", "[OPTIONS] --OS --ip IP NAME DISK ADAPTER",
        "Adopt a hand-built disk whose OS and agent are installed as image NAME.",
        "DISK (qcow2, raw, vmdk, vdi or vhdx) is copied to ~/.vmcloak/image/NAME.qcow2 and never\n"
        "changed. The copy boots with the image's network (as init's: ADAPTER is the host bridge, or\n"
        "with --net user only the network's name); the guest must already have the static address\n"
        "--ip in it and its agent listening on --port. vmcloak checks the OS through the agent, shuts\n"
        "the guest down cleanly and only then records the image; on failure or Ctrl-C nothing is left\n"
        "but the logs. --timeout bounds the boot (default 300 s).",
        opts, 3, 3, unbound, pos,
};

/* The one OS flag, that its guest exists, and --ip: the disk's guest has its address already. */
static int check(const struct args *a) {
        req.name = a->pos[0];
        req.adapter = req.net.adapter = a->pos[2];
        int r = vm_os_profile(a, "import", &req.profile);
        if (r < 0)
                return r;
        if (!req.net.ip) {
                log_error("missing option --ip: the static address the guest on the disk has");
                return -EINVAL;
        }
        if ((r = vm_hardware_pick(a, arg_hardware, &req)) < 0)
                return r;
        if (!req.ram_mb)
                req.ram_mb = req.profile->default_ram_mb;
        return 0;
}

static int run(const struct cmd_env *env) {
        return exit_code_for(pipeline_import(env->pl, &req, env->args->pos[1], arg_move));
}

const struct cmd_def cmd_import = { .spec = &spec, .check = check, .run = run };
