/* A Windows install source read in place: an untouched ISO (UDF, or ISO 9660/Joliet) or a folder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cleanup.h"

/*
 * Paths given to these functions are relative to the medium's root ("sources/install.wim",
 * a leading '/' is allowed) and matched case-insensitively component by component, the way
 * Windows Setup sees the disc. Every function returns 0 or a negative errno after one line
 * for the user, except where a function says it is silent.
 */

enum win_source_kind {
        WIN_SOURCE_DIR,         /* a folder: VMCloak's --iso-mount, a mounted or copied disc */
        WIN_SOURCE_UDF,         /* an ISO read through its UDF file system (Windows media) */
        WIN_SOURCE_ISO9660,     /* an ISO without UDF, read through ISO 9660 (Joliet/Rock Ridge names) */
};

struct win_source;
struct win_file;

/* Open path: a folder, or an ISO image. An image is recognised by its volume descriptors
 * (ECMA-119 "CD001" and the ECMA-167 volume recognition sequence "BEA01"/"NSR02"/"NSR03" from
 * sector 16 on); UDF is preferred whenever present, because Windows media keep only a README
 * in their ISO 9660 tree and genisoimage's ISO 9660 side truncates files over 4 GiB
 * (reference windows-verification.md §2). Errors: -ENOENT (no such path), -EMEDIUMTYPE
 * ("X: not an ISO 9660/UDF image"), -EIO (the file system cannot be read). */
int win_source_open(const char *path, struct win_source **ret);
void win_source_free(struct win_source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct win_source *, win_source_free)
#define _cleanup_win_source_ _cleanup_(win_source_freep)

enum win_source_kind win_source_get_kind(const struct win_source *s);
const char *win_source_kind_name(enum win_source_kind k);   /* "folder", "UDF", "ISO 9660" */
/* The path it was opened from, and its volume label (UDF volume id or the primary volume
 * descriptor's; NULL for a folder or a blank label). */
const char *win_source_path(const struct win_source *s);
const char *win_source_label(const struct win_source *s);

/* Whether a file or folder exists (case-insensitive). Silent. */
bool win_source_exists(struct win_source *s, const char *path);

/* A whole small file into *data (NUL-terminated for convenience; *len without it). -ENOENT
 * silently when absent, -EFBIG when larger than max bytes. */
int win_source_read(struct win_source *s, const char *path, void **data, size_t *len, size_t max);

/* A file for random access, so a WIM header and its XML can be read straight out of the ISO
 * without extracting gigabytes. -ENOENT silently when absent, -EISDIR for a folder. */
int win_file_open(struct win_source *s, const char *path, struct win_file **ret);
void win_file_close(struct win_file *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct win_file *, win_file_close)
#define _cleanup_win_file_ _cleanup_(win_file_closep)
uint64_t win_file_size(const struct win_file *f);
/* Its path as the medium spells it ("sources/install.wim"). */
const char *win_file_path(const struct win_file *f);
/* Exactly len bytes at offset; -EIO when the medium ends early or cannot be read. */
int win_file_pread(struct win_file *f, void *buf, size_t len, uint64_t offset);

/* Copy a file out to dest (which must not exist): written to a temporary file beside it and
 * renamed, so dest is complete or absent; Ctrl-C gives -ECANCELED. */
int win_source_extract(struct win_source *s, const char *path, const char *dest);

/* Called for each file and folder of a walk, parents before their contents: path relative to
 * the walked folder, spelt as on the medium. A negative return stops the walk with it. */
typedef int (*win_walk_fn)(const char *path, bool is_dir, uint64_t size, void *userdata);
/* Walk dir ("" or "/" for the root) recursively, each folder's entries sorted by name. Returns
 * 0, fn's negative return (-ECANCELED silently), or an error after one line. */
int win_source_walk(struct win_source *s, const char *dir, win_walk_fn fn, void *userdata);

/* Every file and folder under dir ("" or "/" for the root), recursively, parents before their
 * contents, as paths relative to dir spelt as on the medium; folders end in '/'. *names is a
 * NULL-terminated strv (free with strv_free). */
int win_source_list(struct win_source *s, const char *dir, char ***names);

/* One entry of the El Torito boot catalog (El Torito 1.0 §2). */
struct win_boot_image {
        bool present;
        uint8_t platform_id;     /* 0x00 80x86 BIOS, 0xEF UEFI */
        uint8_t media_type;      /* 0 no emulation (Windows media use it for both entries) */
        uint16_t load_segment;   /* 0: the BIOS default 0x7C0 */
        uint16_t load_sectors;   /* 512-byte sectors loaded (etfsboot.com: 8; efisys.bin: often 1) */
        uint32_t lba;            /* 2048-byte sector of the image */
        char *path;              /* the file of the source at that sector (or, for media that keep the
                                    image apart, boot/etfsboot.com or efisys.bin when it starts
                                    with the same bytes), or NULL */
        uint64_t size;           /* that file's size, else load_sectors * 512 */
};

struct win_boot_images {
        struct win_boot_image bios, uefi;
        char *catalog_path;      /* the file holding the source's boot catalog (genisoimage's
                                    boot.catalog), or NULL: not worth copying to another disc */
};

/* The BIOS and UEFI boot images of an ISO source, read from the Boot Record Volume Descriptor
 * and boot catalog in ISO 9660 space (present even on UDF-only Windows media). The first
 * bootable entry of each platform counts. A folder has no catalog: its boot/etfsboot.com and
 * efi/microsoft/boot/efisys.bin (what oscdimg is given for Windows media) are returned with
 * load_sectors covering the file. -ENOENT (one line) when there is no BIOS and no UEFI image.
 * Free with win_boot_images_done(). */
int win_source_boot_images(struct win_source *s, struct win_boot_images *ret);
void win_boot_images_done(struct win_boot_images *b);
