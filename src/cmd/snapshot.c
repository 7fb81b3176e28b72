/* vmcloak snapshot: create analysis VMs (overlay disk + memory snapshot + machineinfo.json). */
#include <stddef.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "pipeline/snapshot.h"

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
        { "nopatch", 0, ARG_FLAG, NULL, NULL, "Do not install threemonpatch (Windows; accepted, nothing to skip yet)" },
        { "compress", 0, ARG_VALUE, "ALGO", "lz4",
          "Memory file: lz4, gzip, none (all restorable by Cuckoo3) or zstd (vmcloak restore only)" },
        { "compress-level", 0, ARG_VALUE, "N", "lz4 9 (VMCloak used 1), gzip 3, zstd 3", "Compression level" },
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
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        struct snapshot_request q = { .image = a.pos[0], .vmname = a.pos[1], .first_ip = a.npos > 2 ? a.pos[2] : NULL };
        int rc = EXIT_USAGE;
        const char *comp = args_get_or(&a, "compress");
        if (vcheck_name(q.image, "image name") < 0 || vcheck_uint(args_get_or(&a, "count"), "--count", 1, 1000, &q.count) < 0 ||
            vcheck_uint(args_get_or(&a, "jobs"), "--jobs", 1, 32, &q.jobs) < 0)
                goto out;
        /* The VM names are VMNAME or VMNAME1..n: check the longest. */
        char longest[96];
        snprintf(longest, sizeof longest, q.count == 1 ? "%s" : "%s%u", q.vmname, q.count);
        if (vcheck_name(longest, "VM name") < 0)
                goto out;
        if (vm_compress_from_string(comp, &q.compress) < 0) {
                log_error("invalid --compress '%s': use lz4, gzip, zstd or none", comp);
                goto out;
        }
        if (args_get(&a, "compress-level")) {
                unsigned def, max;
                vm_compress_level_range(q.compress, &def, &max);
                if (!max) {
                        log_error("--compress-level does not apply to --compress %s", comp);
                        goto out;
                }
                if (vcheck_uint(args_get(&a, "compress-level"), "--compress-level", 1, max, &q.level) < 0)
                        goto out;
        }
        if (!vm_compress_cuckoo_compatible(q.compress))
                log_warning("--compress %s: Cuckoo3 cannot restore this memory file (only lz4, gzip or none); "
                            "'vmcloak restore' can", comp);
        if (args_get(&a, "cpus") && vcheck_uint(args_get(&a, "cpus"), "--cpus", 1, 255, &q.cpus) < 0)
                goto out;
        if (args_get(&a, "ramsize") && vcheck_uint(args_get(&a, "ramsize"), "--ramsize", 64, 4u << 20, &q.ram_mb) < 0)
                goto out;
        q.hostname = args_get(&a, "hostname");
        if (q.hostname) {
                size_t l = strlen(q.hostname);
                bool ok = l > 0 && l <= 63;
                for (const char *c = q.hostname; ok && *c; c++)
                        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-';
                if (!ok || q.hostname[0] == '-') {
                        log_error("invalid --hostname '%s': letters, digits and '-', at most 63, not starting with '-'",
                                  q.hostname);
                        goto out;
                }
        }
        q.resolution = args_get(&a, "resolution");
        unsigned w, h;
        if (q.resolution && parse_resolution(q.resolution, &w, &h) < 0) {
                log_error("invalid --resolution '%s': use WIDTHxHEIGHT, e.g. 1024x768", q.resolution);
                goto out;
        }
        q.interactive = args_flag(&a, "interactive");
        q.com1 = args_flag(&a, "com1");
        if (q.interactive && q.jobs > 1) {
                log_error("--interactive pauses each VM for you: use it with --jobs 1");
                goto out;
        }
        if (vm_options_parse(&a, &q.vm) < 0)
                goto out;
        struct pipeline *pl;
        rc = 1;
        if (global_pipeline(&pl, true) < 0)
                goto out;
        rc = exit_code_for(pipeline_snapshot(pl, &q));
out:
        args_free(&a);
        return rc;
}
