/* Where a catalog file is on this host: the user's files, the cache, or a download into it. */
#pragma once

#include <stdbool.h>

#include "deps/catalog.h"

/* Where a file was found, in the order they are looked at. */
enum dep_file_where {
        DEP_FILE_USER,      /* --files-dir DIR/<filename>, matched by name and hash */
        DEP_FILE_CACHED,    /* ~/.vmcloak/files/<filename> (or VMCloak's ~/.vmcloak/deps/<filename>) */
        DEP_FILE_DOWNLOAD,  /* not here; a live URL can deliver it */
        DEP_FILE_DEAD,      /* not here, and every URL is marked dead: the user must bring it */
};

struct dep_fetch_opts {
        const char *files_dir;   /* --files-dir, or NULL */
        bool no_download;        /* look only (deps verify, list deps) */
        bool verify;             /* hash files found by name (list deps only checks existence) */
};

/*
 * Find f on this host without any network use.
 * Out: 0 with *ret_where and, for USER and CACHED, *ret_path (malloc'd; NULL otherwise).
 * With o->verify a file found by name whose hash differs is not taken: a cache file is deleted
 * (with a warning showing both hashes), a user's file is left and reported (-EBADMSG after one
 * line naming it and both hashes). -ENOMEM.
 */
int dep_file_locate(const struct dep_file *f, const struct dep_fetch_opts *o, enum dep_file_where *ret_where,
                    char **ret_path);

/*
 * Make f available as a verified local file: the user's (files_dir), the cache, or downloaded
 * from its live URLs into ~/.vmcloak/files with core/download.h (mirrors in order, resume,
 * retries, hash check before use). label names it in messages ("dotnet 4.7.2").
 * Out: 0 and *ret_path (malloc'd). Errors after one line that names the file, its hash, the
 * URLs tried (and the dead ones with their reason) and the way out ("put <filename> with
 * SHA-1 <hash> in --files-dir DIR or ~/.vmcloak/files"): -ENOENT (no live URL), the errors of
 * download_file(); -ECANCELED on Ctrl-C.
 */
int dep_file_fetch(const struct dep_file *f, const char *label, const struct dep_fetch_opts *o, char **ret_path);
