/* Moving a snapshot VM to another host: export --bundle / import --bundle (issue 14). */
#pragma once

#include <stdbool.h>

#include "pipeline/pipeline.h"

/*
 * A bundle is one tar file (libarchive, POSIX pax) holding a local snapshot VM as Cuckoo3's qemu
 * machinery uses it: its folder (disk.qcow2 overlay, memory.snapshot, machineinfo.json, the
 * UEFI vars copy, the SMBIOS tables, a TPM state copy) plus bundle.json: format version, the
 * VM's repository row, and the image it is an overlay of (name, OS profile, the qcow2's size
 * and SHA-256, its row). With_image the image's disk itself travels too (images/NAME.qcow2
 * and its firmware files).
 */
struct bundle_export_request {
        const char *vmname;
        const char *file;              /* the tar to write ("-": stdout); refused when it exists */
        bool with_image;
};

struct bundle_import_request {
        const char *file;              /* a bundle from export --bundle */
        const char *vmname;            /* NULL: the bundle's own name */
        const char *image;             /* NULL: the local image whose disk has the bundle's SHA-256 */
};

/* Write the bundle of local snapshot VM req->vmname (a VM on a libvirt host: -EINVAL naming
 * `export --cape`). The file appears atomically; a failure or Ctrl-C leaves none. */
int pipeline_bundle_export(struct pipeline *pl, const struct bundle_export_request *req);
/* Unpack a bundle into this home: the image is found by its SHA-256 (or brought by the bundle:
 * recorded as a new image when no local one has that hash), the VM's folder is written under
 * vms/qemu/NAME with every path of machineinfo.json's start_args and the overlay's backing file
 * rewritten for this home, and its row recorded, so `vmcloak restore` and Cuckoo3's import take
 * it. Refused before anything is written: a name in use, no image with that hash (naming the
 * image, its hash and `export --bundle --with-image`), a damaged or foreign file. A failure or
 * Ctrl-C leaves no folder and no row. */
int pipeline_bundle_import(struct pipeline *pl, const struct bundle_import_request *req);
