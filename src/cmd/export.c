/* vmcloak export: hand an image or snapshot VM to another sandbox (CAPE/libvirt later). */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"

static const struct optdef opts[] = {
        OPT_NO_EFFECT(0, "format", ARG_VALUE, "FORMAT", "Target format: libvirt (domain XML for CAPE)",
                      .def = "libvirt"),
        { NULL },
};

static const struct cmd_spec spec = {
        "export", "[OPTIONS] NAME FILE", "Export an image or snapshot VM for another sandbox.",
        "VMCloak only exported VirtualBox OVA files; this vmcloak will write libvirt domain XML for CAPE.",
        opts, 2, 2,
};

static int run(const struct cmd_env *env) {
        return cmd_not_implemented(env, "the CAPE/libvirt export is its own issue");
}

const struct cmd_def cmd_export = { .spec = &spec, .run = run };
