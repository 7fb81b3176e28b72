/* vmcloak init: create a base image and install its OS unattended. */
#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/jsonout.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "pipeline/init.h"

static struct init_request req;
static const char *arg_hardware;
static const char *arg_vm;

static int check_machinery(const struct args *a, const char *value, const char *what) {
        (void)a;
        if (strcasecmp(value, "qemu") != 0) {
                log_error("%s %s is not supported: vmcloak builds QEMU images only (--vm qemu)", what, value);
                return -EINVAL;
        }
        return 0;
}

/* ADAPTER: a bridge's name, or with --net user the name recorded for the image's network. */
static int check_adapter(const struct args *a, const char *value, const char *what) {
        (void)what;
        return streq(args_get_or(a, "net"), "user") ? vcheck_network_name(value) : vcheck_bridge_name(value);
}

static const struct optdef opts[] = {
        VM_ATTR_OPTS(req),
        ISO_ATTR_OPTS(req),
        VM_RUN_OPTS(req.vm),
        OPT_STRING(0, "iso", &req.iso, "PATH",
                   "Windows: the install ISO, used as it is (or a createiso output); linux: a prepared ISO",
                   .check = check_path),
        OPT_STRING(0, "vm", &arg_vm, "MACHINERY", "Machinery (only qemu)", .def_value = "qemu",
                   .check = check_machinery),
        OPT_ENUM(0, "net", &req.net.mode, opt_netmode, "MODE",
                 "bridge (ADAPTER is a host bridge) or user (no root needed)", .def_value = "bridge"),
        OPT_STRING(0, "mac", &req.mac, "MAC", "NIC MAC address", .def = "random PC-vendor MAC", .check = check_mac),
        OPT_LIST(0, "cdrom", &req.extra_cdroms, "ISO", "Attach another CD-ROM during the install", .check = check_path),
        OPT_MACHINE_TAGS(&req.tags, "Cuckoo machine tag for the image's VMs"),
        OPT_HARDWARE(&arg_hardware),
        OPT_UINT(0, "stuck-after", &req.stuck_after_s, 1, 7 * 24 * 3600, "SECONDS",
                 "Report the install as stuck (once, with a screenshot and the likely causes) when the "
                 "screen and the serial console stay still this long; it still waits for --timeout",
                 .def = "180 with KVM, 900 under TCG"),
        { NULL },
};

static const struct posdef pos[] = {
        { "NAME", check_image_new },
        { "ADAPTER", check_adapter },
        { NULL },
};

static const struct cmd_spec spec = {
        "init", "[OPTIONS] NAME ADAPTER",
        "Create a new base image NAME and install its operating system unattended.",
        "ADAPTER is the host bridge the VM is attached to (e.g. qemubr0); with --net user it only\n"
        "names the image's network. The image is recorded only after the OS installed and the\n"
        "guest agent answered; on failure nothing is left behind.",
        opts, 2, 2, .pos = pos,
};

/* What the tables cannot check: the one OS flag, whether its guest exists yet, and the OS's
 * defaults. Every value's syntax was checked by args_parse, in the order typed. */
static int check(const struct args *a) {
        vm_debug_vnc(&req.vm, 1);
        req.name = a->pos[0];
        req.adapter = req.net.adapter = a->pos[1];
        int r = vm_os_profile(a, "init", &req.profile);
        if (r < 0)
                return r;
        if (vm_os_options_check(a, req.profile, req.no_tpm) < 0)
                return -EINVAL;
        if ((r = vm_hardware_pick(a, arg_hardware, &req)) < 0)
                return r;
        /* RAM and disk default to the OS's; 0 is no value either option accepts. */
        if (!req.ram_mb)
                req.ram_mb = req.profile->default_ram_mb;
        if (!req.disk_bytes)
                req.disk_bytes = req.profile->default_disk_bytes;
        return vm_os_minimums(a, req.profile, req.no_tpm, &req.cpus, req.ram_mb, req.disk_bytes);
}

/* --json: {"image": the new image's row, "seconds": the whole run} (docs/json.md). */
static int run(const struct cmd_env *env) {
        int64_t t0 = now_ms();
        int r = pipeline_init(env->pl, &req);
        if (r == 0 && global.json) {
                json_object *img = image_json_by_name(env->repo, req.name), *o = json_object_new_object();
                json_object_object_add(o, "image", img);
                json_object_object_add(o, "seconds", json_seconds_since(t0));
                r = img ? json_print_put(o) : (json_object_put(o), -EIO);
        }
        return exit_code_for(r);
}

const struct cmd_def cmd_init = { .spec = &spec, .check = check, .run = run };
