/* vmcloak export: hand an image or snapshot VM to another sandbox (CAPE/libvirt later). */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"

static const struct optdef opts[] = {
        { "format", 0, ARG_VALUE, "FORMAT", "libvirt", "Target format: libvirt (domain XML for CAPE)" },
        { NULL },
};

static const struct cmd_spec spec = {
        "export", "[OPTIONS] NAME FILE", "Export an image or snapshot VM for another sandbox.",
        "VMCloak only exported VirtualBox OVA files; this vmcloak will write libvirt domain XML for CAPE.",
        opts, 2, 2,
};

int cmd_export(int argc, char **argv) {
        return cmd_not_implemented(&spec, argc, argv, "the CAPE/libvirt export is its own issue");
}
