/* vmcloak snapshot: create analysis VMs (overlay disk + memory snapshot + machineinfo.json). */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/vmopts.h"

static const struct optdef opts[] = {
        { "resolution", 0, ARG_VALUE, "WxH", "unchanged", "Set the guest's screen resolution" },
        { "ramsize", 0, ARG_VALUE, "MIB", "the image's", "Guest RAM in MiB" },
        { "cpus", 0, ARG_VALUE, "N", "the image's", "Virtual CPUs" },
        { "hostname", 0, ARG_VALUE, "NAME", "random 8-16 letters", "Guest hostname (only with --count 1)" },
        { "vm-visible", 0, ARG_FLAG, NULL, NULL, "Show the VM's screen (-display gtk)" },
        { "count", 0, ARG_VALUE, "N", "1", "Number of VMs: VMNAME, or VMNAME1..VMNAMEn" },
        { "jobs", 'j', ARG_VALUE, "N", "1", "Build this many VMs at once" },
        { "vrde", 0, ARG_FLAG, NULL, NULL, "Enable VNC" },
        { "vrde-port", 0, ARG_VALUE, "N", "3389", "VNC display number of the first VM (+1 per VM)" },
        { "vnc-listen", 0, ARG_VALUE, "ADDR", "127.0.0.1", "Address VNC listens on" },
        { "interactive", 0, ARG_FLAG, NULL, NULL, "Pause for manual changes before the snapshot" },
        { "com1", 0, ARG_FLAG, NULL, NULL, "Keep the serial console in <vm>.com1 (VMCloak name)" },
        { "nopatch", 0, ARG_FLAG, NULL, NULL, "Do not install threemonpatch (Windows)" },
        { "compress", 0, ARG_VALUE, "ALGO", "lz4",
          "Memory file: lz4, gzip, none (all restorable by Cuckoo3) or zstd (vmcloak restore only)" },
        { "compress-level", 0, ARG_VALUE, "N", "lz4: 9, gzip: 6, zstd: 6", "Compression level" },
        VM_RUN_OPTS,
        { NULL },
};

static const struct cmd_spec spec = {
        "snapshot", "[OPTIONS] NAME VMNAME [IP]",
        "Create analysis VMs from image NAME: overlay disk, memory snapshot and machineinfo.json.",
        "IP is the first VM's address (default: the image network's .10); it increases per VM.\n"
        "Each VM lands in ~/.vmcloak/vms/qemu/VMNAME/, ready for 'cuckoo machine import qemu'.",
        opts, 2, 3,
};

int cmd_snapshot(int argc, char **argv) {
        return cmd_not_implemented(&spec, argc, argv, "the pipeline comes with the pipeline issue");
}
