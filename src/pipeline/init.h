/* vmcloak init: a new image, installed unattended, recorded only once its agent answered. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/netcfg.h"
#include "pipeline/pipeline.h"
#include "pipeline/session.h"

struct os_profile;

struct init_request {
        const char *name;
        const char *adapter;
        const struct os_profile *profile;
        struct netcfg_opts net;
        uint16_t port;                 /* agent port in the guest */
        unsigned cpus, ram_mb, vram_mb;
        uint64_t disk_bytes;
        const char *mac;               /* NULL: a random PC-vendor MAC */
        const char *resolution;
        const char *tempdir;           /* NULL: ~/.vmcloak/iso */
        const char *iso;               /* a prepared install ISO (skips building one; the same flow runs) */
        char **extra_cdroms;
        const char *kernel, *modules;  /* linux */
        const char *iso_mount, *serial_key, *product, *python_version;  /* windows */
        struct vm_options vm;
        unsigned stuck_after_s;        /* a still screen this long is reported (0: the default) */
};

/* Create image req->name: network checks, install media, a new disk, the profile's install
 * flow, power-off, then the row. Every failure (and Ctrl-C) removes the disk and the work
 * folder and records nothing; the logs stay in ~/.vmcloak/log/NAME. */
int pipeline_init(struct pipeline *pl, const struct init_request *req);
