/* vmcloak init: create a base image and install its OS unattended. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"

static const struct optdef opts[] = {
        VM_ATTR_OPTS,
        ISO_ATTR_OPTS,
        VM_RUN_OPTS,
        { "iso", 0, ARG_VALUE, "PATH", NULL, "Use this prepared install ISO instead of building one" },
        { "vm", 0, ARG_VALUE, "MACHINERY", "qemu", "Machinery (only qemu)" },
        { "net", 0, ARG_VALUE, "MODE", "bridge", "bridge (ADAPTER is a host bridge) or user (no root needed)" },
        { "mac", 0, ARG_VALUE, "MAC", "random PC-vendor MAC", "NIC MAC address" },
        { "cdrom", 0, ARG_LIST, "ISO", NULL, "Attach another CD-ROM" },
        { "uefi", 0, ARG_FLAG, NULL, NULL, "Boot with UEFI firmware (OVMF) instead of BIOS" },
        { "tpm", 0, ARG_FLAG, NULL, NULL, "Give the VM a TPM 2.0 (swtpm)" },
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

int cmd_init(int argc, char **argv) {
        return cmd_not_implemented(&spec, argc, argv, "the install pipeline comes with the pipeline issue");
}
