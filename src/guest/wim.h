/* The editions of Windows install media: the images of sources/install.wim, .esd or .swm,
 * read from the WIM header and its XML straight off the medium, and the choice of one. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "guest/winsrc.h"

struct wim_image {
        unsigned index;            /* 1-based, what /IMAGE/INDEX takes */
        char *name;                /* NAME: what Setup's /IMAGE/NAME matches */
        char *display_name;        /* DISPLAYNAME, or NULL */
        char *edition_id;          /* WINDOWS/EDITIONID ("Professional", "Core"), or NULL */
        char *arch;                /* WINDOWS/ARCH as "x86", "amd64", "arm64" (else the number), or NULL */
        char *version;             /* WINDOWS/VERSION "MAJOR.MINOR.BUILD[.SPBUILD]", or NULL */
        uint32_t build;            /* WINDOWS/VERSION/BUILD, 0 when absent */
        char *language;            /* WINDOWS/LANGUAGES/DEFAULT ("en-US"), or NULL */
        char *installation_type;   /* WINDOWS/INSTALLATIONTYPE ("Client", "Server"), or NULL */
        char *flags;               /* FLAGS, or NULL */
        bool evaluation;           /* evaluation media: no product key */
};

struct wim_image_list {
        char *path;                /* the WIM on the medium, spelt as there ("sources/install.wim") */
        unsigned part, total_parts;
        struct wim_image *images;
        size_t n;
};

/* The images of the source's sources/install.wim, else install.esd, else install.swm (the
 * first part of a split WIM). Only the 208-byte header (magic "MSWIM\0\0\0", part 0x28,
 * total parts 0x2A, image count 0x2C, XML resource: 7-byte size 0x48, flags 0x4F, offset
 * 0x50) and the UTF-16LE XML are read, whatever the WIM's size (wimlib's format notes;
 * reference windows-verification.md §1-2). -ENOENT silently when there is none of them (the
 * caller falls back to win_product_ini_pick, or says "no sources/install.wim, install.esd or
 * install.swm"); after one line -EBADMSG (not a WIM, a later .swm part, a compressed or
 * damaged XML) or -EIO. Free with wim_image_list_done(). */
int wim_images_read(struct win_source *s, struct wim_image_list *ret);
void wim_image_list_done(struct wim_image_list *l);

/* The images described by a WIM's XML (UTF-16LE with or without BOM, or UTF-8 with a
 * declaration), appended to l, in INDEX order. -EBADMSG after one line naming what (for
 * wim_images_read and tests). */
int wim_xml_parse(const void *xml, size_t len, const char *what, struct wim_image_list *l);

/* One line per image: "  2  Windows 10 Pro  (Professional, amd64, build 19045, en-US)". */
char *wim_image_list_format(const struct wim_image_list *l);

/*
 * The image --product names, for OS profile os (NULL: no profile rules). product may be:
 * an index ("2"); a NAME, any case (Setup's /IMAGE/NAME match); VMCloak's "<name prefix>
 * <product>" NAME ("pro" on win10x64 -> "Windows 10 PRO" matches "Windows 10 Pro"); an
 * EDITIONID ("Professional"); or a short name of the editions table (pro, professional,
 * home, homepremium, homebasic, ultimate, enterprise, education). With several images of
 * one edition, those of the OS's architecture count. product NULL: VMCloak's preference
 * order for os (vmcloak-spec.md §5.5), else the first image of the architecture.
 * Returns the image, or NULL after one error (no match, ambiguous, wrong architecture, another
 * Windows than os installs: win_os_version_fits) followed by the list of the images found
 * (index, name, edition, arch, build, language).
 */
const struct wim_image *wim_image_pick(const struct wim_image_list *l, const char *os, const char *product);

/*
 * VMCloak's choice when no WIM can be read (vmcloak-spec.md §5.5): the editions staged in
 * sources/product.ini ([BuildInfo] staged=a,b,c, lower-cased); --product must be in the OS's
 * preference list (else -EINVAL, one line naming the allowed ones); without it the first
 * preferred edition that is staged, else the first staged one, else the first preference.
 * *ret_name is the /IMAGE/NAME to use: "<name prefix> <EDITION>" upper-cased as VMCloak
 * does ("Windows 10 PRO"). A missing product.ini is no error.
 */
int win_product_ini_pick(struct win_source *s, const char *os, const char *product, char **ret_name);
