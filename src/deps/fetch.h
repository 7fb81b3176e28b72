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
 * Make f available as a verified local file: the user's (files_dir), the cache, VMCloak's
 * ~/.vmcloak/deps (read only), or downloaded from its live URLs into ~/.vmcloak/files with
 * core/download.h (mirrors in order, resume, retries, hash check before use); dead URLs are never
 * tried. label names it in messages ("dotnet 4.7.2").
 * Out: 0 and *ret_path (malloc'd). Errors after one line that names label, the file, the URLs
 * tried with their errors (and the dead ones with their reason) and the way out ("put <filename>
 * (SHA-1 <hash>) in <home>/files or --files-dir DIR"; the SHA-256 when the catalog has one):
 * -ENOENT (no live URL, or o->no_download), -EBADMSG (the user's file of that name is another
 * file: left alone, nothing downloaded instead), the errors of download_file(); -ECANCELED on
 * Ctrl-C (a .part stays and the next call resumes it).
 * Where it comes from: VMCloak's Dependency.download (spec §10.5: ~/.vmcloak/deps, mirrors in
 * order, a mismatch tries the next), without its acceptance of a partial file.
 */
int dep_file_fetch(const struct dep_file *f, const char *label, const struct dep_fetch_opts *o, char **ret_path);

/* --- the parts `deps verify`, `deps fetch` and `list deps` share --- */

/* The SHA-256 and SHA-1 of the file at path (lowercase hex). With remembered, hashes recorded
 * for it in ~/.vmcloak/files/.verified are taken while its device, inode, size and modification
 * time are unchanged (a second run does not read gigabytes again); either way the result is
 * recorded there. `deps verify` passes false: a file rewritten in place with the same size and
 * time is caught only by reading it. 0, or a negative errno after one line. */
int dep_file_hash(const char *path, bool remembered, char sha256[65], char sha1[41]);
/* Whether hashes are f's: every hash the catalog gives must match (VMCloak checked only SHA-1,
 * spec §10.5). */
bool dep_file_matches(const struct dep_file *f, const char *sha256, const char *sha1);
/* "its SHA-1 is <actual>, expected <f's>" (the SHA-256 when the catalog has one). New string. */
char *dep_file_mismatch_text(const struct dep_file *f, const char *sha256, const char *sha1);
/* The way out of a missing file: "put <filename> (SHA-1 <hash>) in <home>/files or --files-dir DIR".
 * New string. */
char *dep_file_way_out(const struct dep_file *f);
/* For people ("cached", "user-supplied", "must download", "dead (bring it by hand)") and for
 * JSON ("cached", "user", "download", "dead"). */
const char *dep_file_where_text(enum dep_file_where w);
const char *dep_file_where_name(enum dep_file_where w);
