/* machineinfo.json: the per-VM file Cuckoo3's `cuckoo machine import qemu` reads
 * (VMCloak's MachineConfDump format, vmcloak-spec.md §8.3). */
#pragma once

#include <stdint.h>

struct machineinfo {
        const char *machinery_version;  /* QEMU version, e.g. "7.2.0" */
        const char *name;
        const char *ip;
        uint16_t agent_port;
        const char *os_name;            /* "windows" | "linux" */
        const char *os_version;
        const char *architecture;       /* "amd64" | "x86" */
        char *const *tags;              /* NULL-terminated, may be NULL */
        const char *bridge;
        const char *mac;
        const char *gateway;
        const char *netmask;
        const char *disk;               /* relative: "disk.qcow2" */
        char *const *start_args;        /* QEMU arguments without the binary */
        const char *memory_snapshot;    /* relative: "memory.snapshot" */
        /* vmcloak additions (Cuckoo3 ignores unknown keys) */
        const char *compression;        /* "lz4" | "gzip" | "zstd" | "none" */
        const char *net;                /* "bridge" | "user" */
        const char *hostname;
};

/* Write <dir>/machineinfo.json atomically, 2-space indented like VMCloak. */
int machineinfo_write(const char *dir, const struct machineinfo *mi);

/* Check a parsed machineinfo.json the way Cuckoo3's import does; returns 0 or -EINVAL and
 * sets *ret_reason to a static string naming the first problem. */
struct json_object;
int machineinfo_validate(struct json_object *root, const char **ret_reason);
