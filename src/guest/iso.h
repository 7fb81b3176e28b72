/* Bootable ISO 9660 images (Rock Ridge, optional Joliet, El Torito) built with libisofs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct guest_iso_entry {
        const char *iso_path;   /* "isolinux/isolinux.bin"; missing directories are created */
        const char *host_path;  /* a file, or a directory whose contents are added recursively */
};

struct guest_iso_boot {
        const char *image;      /* ISO path of the no-emulation boot image (isolinux.bin) */
        const char *catalog;    /* ISO path of the boot catalog to create ("isolinux/boot.cat") */
        unsigned load_sectors;  /* 512-byte sectors the BIOS loads (isolinux: 4) */
        bool boot_info_table;   /* patch the boot info table into the image (isolinux needs it) */
};

struct guest_iso_opts {
        const char *volume_id;
        bool joliet;
        const struct guest_iso_boot *boot;   /* NULL: not bootable */
};

/* Write the image to out (atomically: a temporary file renamed into place). Honours Ctrl-C
 * (-ECANCELED, nothing left behind). Prints one line on failure. */
int guest_iso_build(const char *out, const struct guest_iso_opts *opts, const struct guest_iso_entry *entries,
                    size_t n_entries);
