/* File hashes remembered across runs, so an unchanged multi-gigabyte file is read once. */
#pragma once

#include <stdbool.h>

#include "core/download.h"

/*
 * The SHA-256 and SHA-1 of the file at path (lowercase hex, NUL-terminated), with a memory:
 * memo is a JSON file (absolute path -> the file's identity and both hashes). With recall, the
 * hashes remembered for path are taken while its identity is unchanged: device, inode, size,
 * and modification and status-change times in ns (`cp -p` or `touch -r` can put an old mtime
 * back, but a write always moves the ctime). Otherwise, or without a remembered answer, the file
 * is read (download_hash_file: a progress bar on a terminal) and the answer remembered, as the
 * file was before it was read (a file that changed while it was read is not remembered).
 * Entries of files that are gone are dropped when the memo is written. A damaged or unwritable
 * memo only costs time (a debug line).
 * 0, or a negative errno after one line (the file cannot be read; -ECANCELED on Ctrl-C).
 * Where it comes from: the deps catalog's "verified files" memory (issue 9), shared since issue 15
 * with the image hashes of `snapshot --connect` and `export/import --bundle`.
 */
int hash_file_remembered(const char *path, const char *memo, bool recall, char sha256[SHA256_HEX_LEN + 1],
                         char sha1[SHA1_HEX_LEN + 1]);
/* Remember hashes already known for the file at path as it is now (e.g. computed while it was
 * downloaded), so that hash_file_remembered() does not read it. Best effort: nothing is
 * reported when the file or the memo cannot be read or written (a debug line). */
void hash_file_remember(const char *path, const char *memo, const char *sha256, const char *sha1);
