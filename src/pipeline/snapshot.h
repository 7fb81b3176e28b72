/* vmcloak snapshot / restore: analysis VMs from an image, and restoring them like Cuckoo3. */
#pragma once

#include <stdbool.h>

#include "pipeline/vmrun.h"
#include "qemu/memsnap.h"

struct repo;

struct snapshot_request {
        const char *image;
        const char *vmname;
        const char *first_ip;          /* NULL: the image network's .10 (next free) */
        unsigned count;
        unsigned jobs;
        const char *hostname;          /* only with count 1 */
        const char *resolution;        /* NULL: unchanged */
        unsigned cpus, ram_mb;         /* 0: the image's */
        enum vm_compress compress;
        unsigned level;                /* 0: the compressor's default */
        bool interactive;
        bool com1;
        struct vm_options vm;
};

int pipeline_snapshot(struct repo *repo, const struct snapshot_request *req);

struct restore_request {
        const char *vmname;
        bool keep;
        unsigned timeout_s;
        bool vnc;
        unsigned vnc_display;
        const char *vnc_listen;
        const char *exec;              /* run this in the restored guest and print its output */
};

int pipeline_restore(struct repo *repo, const struct restore_request *req);
