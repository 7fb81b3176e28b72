/* vmcloak modify: boot an image (writable) for manual changes over VNC. */
#include <errno.h>
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"
#include "pipeline/install.h"

static struct modify_request req;

static const struct optdef opts[] = {
        OPT_BOOL(0, "vm-visible", &req.vm.visible, "Show the VM's screen (-display gtk)"),
        OPT_BOOL(0, "vrde", &req.vm.vnc, "Enable VNC (always on for modify unless --vm-visible; with --debug always)"),
        OPT_UINT(0, "vrde-port", &req.vm.vnc_display, 0, 65535 - 5900, "N",
                 "VNC display number; QEMU listens on TCP 5900+N", .def_value = "3389"),
        OPT_IPV4(0, "vnc-listen", &req.vm.vnc_listen, "ADDR", "Address VNC listens on", .def_value = "127.0.0.1"),
        OPT_STRING(0, "iso-path", &req.iso, "ISO", "Insert this ISO into the CD-ROM drive after start",
                   .check = check_path),
        VM_RUN_OPTS(req.vm),
        { NULL },
};

static const struct posdef pos[] = {
        { "NAME", check_image_existing },
        { NULL },
};

static const struct cmd_spec spec = {
        "modify", "[OPTIONS] NAME", "Boot image NAME for manual changes; shut the guest down to finish.", NULL,
        opts, 1, 1, .pos = pos,
};

static int check(const struct args *a) {
        vm_debug_vnc(&req.vm, 1);
        req.name = a->pos[0];
        return 0;
}

static int run(const struct cmd_env *env) { return exit_code_for(pipeline_modify(env->pl, &req)); }

const struct cmd_def cmd_modify = { .spec = &spec, .check = check, .run = run };
