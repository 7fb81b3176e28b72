/* /extract, all or nothing: a zip archive checked whole, then unpacked into the destination. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXTRACT_MAX_TOTAL (UINT64_C(16) << 30)   /* uncompressed bytes per archive */
#define EXTRACT_MAX_ENTRIES 100000

/* Extract the zip file at zip_path (zip_size bytes) into dirpath, creating dirpath if needed.
 * Before anything is written, the archive is checked whole (see zip_open) and against what
 * exists under dirpath (a file where a directory is needed, or the reverse, or a link in the
 * way). Then it is unpacked into a private folder inside dirpath and its entries are moved
 * into place; files that exist are replaced. Any failure undoes every step: dirpath is left
 * as it was, and directories made for it are removed.
 * Returns 0, or a negative errno with a message naming the entry in err; *ret_refused says
 * whether the archive was refused (bad, unsafe or clashing: the client's fault) rather than
 * an I/O failure. */
int extract_zip(const char *zip_path, uint64_t zip_size, const char *dirpath, char *err, size_t errsz,
                bool *ret_refused);
