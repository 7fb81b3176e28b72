/* vmcloak import: adopt a hand-built disk whose OS and agent are installed, or (--bundle) a
 * snapshot VM bundled on another host by export --bundle. */
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
#include "pipeline/bundle.h"
#include "pipeline/import.h"

static struct init_request req;
static const char *arg_hardware;
static bool arg_move;
static struct bundle_import_request bundle;

/* ADAPTER: a bridge's name, or with --net user the name recorded for the image's network. */
static int check_adapter(const struct args *a, const char *value, const char *what) {
        (void)what;
        return streq(args_get_or(a, "net"), "user") ? vcheck_network_name(value) : vcheck_bridge_name(value);
}

/* --name: a new VM's name (NAME_VM). */
static int check_vm_name_arg(const struct args *a, const char *value, const char *what) {
        (void)a;
        (void)what;
        return vcheck_vm_name(value);
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
        OPT_STRING(0, "bundle", &bundle.file, "FILE",
                   "Import the snapshot VM of FILE (from 'vmcloak export --bundle') instead of a disk",
                   .check = check_path),
        OPT_STRING(0, "name", &bundle.vmname, "VM", "--bundle: the VM's name here", .def = "the bundle's",
                   .check = check_vm_name_arg),
        OPT_STRING(0, "image", &bundle.image, "NAME",
                   "--bundle: the local image the VM goes on (checked by SHA-256), or the name to record the "
                   "bundle's image under", .def = "found by SHA-256"),
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
        "import", "[OPTIONS] --OS --ip IP NAME DISK ADAPTER | --bundle FILE [--name VM] [--image NAME]",
        "Adopt a hand-built disk whose OS and agent are installed as image NAME.",
        "DISK (qcow2, raw, vmdk, vdi or vhdx) is copied to ~/.vmcloak/image/NAME.qcow2 and never\n"
        "changed. The copy boots with the image's network (as init's: ADAPTER is the host bridge, or\n"
        "with --net user only the network's name); the guest must already have the static address\n"
        "--ip in it and its agent listening on --port. vmcloak checks the OS through the agent, shuts\n"
        "the guest down cleanly and only then records the image; on failure or Ctrl-C nothing is left\n"
        "but the logs. --timeout bounds the boot (default 300 s).\n\n"
        "--bundle FILE takes a snapshot VM from another host or home ('vmcloak export --bundle VM FILE'):\n"
        "its image is found here by the SHA-256 of its disk (or, when the bundle carries it, recorded\n"
        "as a new image), its folder goes to ~/.vmcloak/vms/qemu/VM with every path of its\n"
        "machineinfo.json start_args and its overlay's backing file pointing into this home, and its\n"
        "row is recorded. Nothing boots. A refusal or failure leaves no folder and no row.",
        opts, 0, 3, unbound, pos,
};

/* The one OS flag, that its guest exists, and --ip: the disk's guest has its address already. */
static int check(const struct args *a) {
        if (bundle.file) {
                /* A bundle brings its VM's image, OS and network: nothing of the disk import applies. */
                for (int e = 0; e < a->nevents; e++) {
                        const char *o = a->events[e].opt >= 0 ? a->spec->opts[a->events[e].opt].name : NULL;
                        if (o && !streq(o, "bundle") && !streq(o, "name") && !streq(o, "image")) {
                                log_error("--%s is an option of importing a disk; --bundle takes only --name and --image", o);
                                return -EINVAL;
                        }
                }
                if (a->npos > 0) {
                        log_error("--bundle FILE takes no NAME DISK ADAPTER (the bundle has its VM's image; "
                                  "--name VM renames the VM)");
                        return -EINVAL;
                }
                return 0;
        }
        if (bundle.vmname || bundle.image) {
                log_error("--%s goes with --bundle FILE", bundle.vmname ? "name" : "image");
                return -EINVAL;
        }
        if (a->npos != 3) {
                log_error("import takes NAME DISK ADAPTER (or --bundle FILE); see 'vmcloak import --help'");
                return -EINVAL;
        }
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
        if (bundle.file)
                return exit_code_for(pipeline_bundle_import(env->pl, &bundle));
        return exit_code_for(pipeline_import(env->pl, &req, env->args->pos[1], arg_move));
}

const struct cmd_def cmd_import = { .spec = &spec, .check = check, .run = run };
