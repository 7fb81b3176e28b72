/* vmcloak isodownload: fetch one of the known Windows ISOs and verify its SHA-1. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"

static const struct optdef opts[] = {
        { "win7x64", 0, ARG_FLAG, NULL, NULL, "Windows 7 Ultimate x64 (win7ultimate.iso)" },
        { "win10x64", 0, ARG_FLAG, NULL, NULL, "Windows 10 1703 English x64" },
        { "download-to", 0, ARG_VALUE, "PATH", "~/.vmcloak/iso/<file name>", "Where to write the ISO" },
        { NULL },
};

static const struct cmd_spec spec = {
        "isodownload", "[--win7x64|--win10x64] [--download-to PATH]",
        "Download a Windows ISO that Cuckoo3's monitor supports and check its SHA-1.", NULL, opts, 0, 0,
};

int cmd_isodownload(int argc, char **argv) {
        return cmd_not_implemented(&spec, argc, argv, "downloads belong to the dependency-catalog issue");
}
