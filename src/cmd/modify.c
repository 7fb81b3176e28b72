/* vmcloak modify: boot an image (writable) for manual changes over VNC. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/vmopts.h"
#include "core/validate.h"
#include "pipeline/install.h"

static const struct optdef opts[] = {
        { "vm-visible", 0, ARG_FLAG, NULL, NULL, "Show the VM's screen (-display gtk)" },
        { "vrde", 0, ARG_FLAG, NULL, NULL, "Enable VNC (always on for modify unless --vm-visible)" },
        { "vrde-port", 0, ARG_VALUE, "N", "3389", "VNC display number; QEMU listens on TCP 5900+N" },
        { "vnc-listen", 0, ARG_VALUE, "ADDR", "127.0.0.1", "Address VNC listens on" },
        { "iso-path", 0, ARG_VALUE, "ISO", NULL, "Insert this ISO into the CD-ROM drive after start" },
        VM_RUN_OPTS,
        { NULL },
};

static const struct cmd_spec spec = {
        "modify", "[OPTIONS] NAME", "Boot image NAME for manual changes; shut the guest down to finish.", NULL,
        opts, 1, 1,
};

int cmd_modify(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        struct modify_request q = { .name = a.pos[0], .iso = args_get(&a, "iso-path") };
        int rc = EXIT_USAGE;
        if (vcheck_name(q.name, "image name") < 0 || vm_options_parse(&a, &q.vm) < 0)
                goto out;
        struct pipeline *pl;
        rc = 1;
        if (global_pipeline(&pl, true) < 0)
                goto out;
        rc = exit_code_for(pipeline_modify(pl, &q));
out:
        args_free(&a);
        return rc;
}
