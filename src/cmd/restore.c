/* vmcloak restore: restore a snapshot VM the way Cuckoo3 does and time it. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/validate.h"
#include "pipeline/restore.h"

static const struct optdef opts[] = {
        { "keep", 0, ARG_FLAG, NULL, NULL, "Leave the restored VM running (stop it with Ctrl-C)" },
        { "exec", 0, ARG_VALUE, "COMMAND", NULL, "Run COMMAND in the restored guest and print its output" },
        { "timeout", 0, ARG_VALUE, "SECONDS", "120 (restore), 60 (agent)", "Give up when a step takes longer" },
        { "vrde", 0, ARG_FLAG, NULL, NULL, "Enable VNC" },
        { "vrde-port", 0, ARG_VALUE, "N", "3389", "VNC display number; QEMU listens on TCP 5900+N" },
        { "vnc-listen", 0, ARG_VALUE, "ADDR", "127.0.0.1", "Address VNC listens on" },
        { NULL },
};

static const struct cmd_spec spec = {
        "restore", "[OPTIONS] VMNAME",
        "Restore snapshot VMNAME (disposable overlay + memory file), wait for its agent, report the time.",
        "Restores the way Cuckoo3 does: machineinfo.json's start_args with a disposable overlay in\n"
        "place of %DISPOSABLE_DISK_PATH%, -incoming \"exec:lz4 -c -d < memory.snapshot\" (decompressor\n"
        "chosen by the file's magic), then cont. The VM is stopped again and its changes discarded\n"
        "unless --keep.", opts, 1, 1,
};

int cmd_restore(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        struct restore_request q = { .vmname = a.pos[0], .keep = args_flag(&a, "keep"), .exec = args_get(&a, "exec"),
                                     .vnc = args_flag(&a, "vrde"), .vnc_listen = args_get_or(&a, "vnc-listen") };
        int rc = EXIT_USAGE;
        uint32_t ip;
        if (vcheck_name(q.vmname, "VM name") < 0 ||
            vcheck_uint(args_get_or(&a, "vrde-port"), "--vrde-port", 0, 65535 - 5900, &q.vnc_display) < 0 ||
            vcheck_ipv4(q.vnc_listen, "--vnc-listen", &ip) < 0)
                goto out;
        if (args_get(&a, "timeout") && vcheck_uint(args_get(&a, "timeout"), "--timeout", 1, 86400, &q.timeout_s) < 0)
                goto out;
        struct pipeline *pl;
        rc = 1;
        if (global_pipeline(&pl, false) < 0)
                goto out;
        rc = exit_code_for(pipeline_restore(pl, &q));
out:
        args_free(&a);
        return rc;
}
