/* One bootable Windows install ISO from an install source plus vmcloak's files (createiso). */
#pragma once

#include "guest/winsrc.h"

struct win_iso_opts {
        const char *volume_id;   /* NULL: the source's label, else "VMCLOAK" */
};

/*
 * Write out: every file and folder of src, plus the contents of config_dir merged at the
 * root (the folder holding autounattend.xml and vmcloak/; a config file replaces a source
 * file of the same name in any case, a config folder merges into the source's), bootable as
 * the source is: El Torito BIOS entry (the source's no-emulation image, etfsboot.com, with
 * its load size and segment) and UEFI entry (platform 0xEF, efisys.bin, its load size), the
 * boot catalog hidden as on Windows media. ISO 9660 level 3 (files over 4 GiB as several
 * extents), Joliet with long names (what Windows reads), Rock Ridge. Source files are
 * streamed from the medium, nothing is extracted first. out is written to a temporary file
 * beside it and renamed: whole or absent, also on Ctrl-C (-ECANCELED). opts may be NULL.
 * Errors after one line: -ENOENT (no boot image, or config_dir missing), -EINVAL (a boot
 * image that is no file of the source), -EIO (reading or writing).
 */
int win_iso_combine(struct win_source *src, const char *config_dir, const char *out, const struct win_iso_opts *opts);
