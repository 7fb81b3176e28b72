/* vmcloak isodownload: fetch one of the known Windows ISOs and verify its SHA-1. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"

static const struct optdef opts[] = {
        OPT_NO_EFFECT(0, "win7x64", ARG_FLAG, NULL, "Windows 7 Ultimate x64 (win7ultimate.iso)"),
        OPT_NO_EFFECT(0, "win10x64", ARG_FLAG, NULL, "Windows 10 1703 English x64"),
        OPT_NO_EFFECT(0, "download-to", ARG_VALUE, "PATH", "Where to write the ISO",
                      .def = "~/.vmcloak/iso/<file name>"),
        { NULL },
};

static const struct cmd_spec spec = {
        "isodownload", "[--win7x64|--win10x64] [--download-to PATH]",
        "Download a Windows ISO that Cuckoo3's monitor supports and check its SHA-1.", NULL, opts, 0, 0,
};

static int run(const struct cmd_env *env) {
        return cmd_not_implemented(env, "downloads belong to the dependency-catalog issue");
}

const struct cmd_def cmd_isodownload = { .spec = &spec, .run = run };
