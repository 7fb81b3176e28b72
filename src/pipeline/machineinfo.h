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

/* Create <dir>/machineinfo.json, 2-space indented like VMCloak. It never replaces one:
 * -EEXIST when the file exists (left as it is); any other failure leaves no file. */
int machineinfo_write(const char *dir, const struct machineinfo *mi);

/* Check a parsed machineinfo.json the way Cuckoo3's import does, and as far as restore reads
 * it (machinery qemu, disk and memory file names in the VM's folder, a known net); returns 0
 * or -EINVAL and sets *ret_reason to a static string naming the first problem. */
struct json_object;
int machineinfo_validate(struct json_object *root, const char **ret_reason);

/* The keys of root that machineinfo_write() never writes ("extra", "machine.extra"), joined
 * by ", " into *ret; NULL when there are none. 0 or -ENOMEM. */
int machineinfo_unknown_keys(struct json_object *root, char **ret);
