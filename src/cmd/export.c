/* vmcloak export: hand an image or snapshot VM to another sandbox (--bundle: to another vmcloak home). */
#include <stdbool.h>
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "pipeline/bundle.h"

static struct bundle_export_request bundle_req;
static bool arg_bundle;

static const struct optdef opts[] = {
        OPT_NO_EFFECT(0, "format", ARG_VALUE, "FORMAT", "Target format: libvirt (domain XML for CAPE)",
                      .def = "libvirt"),
        OPT_BOOL(0, "bundle", &arg_bundle, "Write snapshot VM NAME as one tar FILE for 'vmcloak import --bundle'"),
        OPT_BOOL(0, "with-image", &bundle_req.with_image, "--bundle: carry the image's disk too"),
        { NULL },
};

static const struct cmd_spec spec = {
        "export", "[OPTIONS] NAME FILE", "Export an image or snapshot VM for another sandbox.",
        "VMCloak only exported VirtualBox OVA files; this vmcloak will write libvirt domain XML for CAPE.\n"
        "--bundle writes snapshot VM NAME (its folder, machineinfo.json, the image's SHA-256) as one tar\n"
        "FILE ('-': stdout) that 'vmcloak import --bundle FILE' takes on another host.",
        opts, 2, 2,
};

static int run(const struct cmd_env *env) {
        if (!arg_bundle)
                return cmd_not_implemented(env, "the CAPE/libvirt export is its own issue");
        bundle_req.vmname = env->args->pos[0];
        bundle_req.file = env->args->pos[1];
        return exit_code_for(pipeline_bundle_export(env->pl, &bundle_req));
}

const struct cmd_def cmd_export = { .spec = &spec, .run = run };
