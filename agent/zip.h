/* Bounded zip reader: stored and deflated entries, ZIP64 sizes, path-checked entry names. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZIP_MAX_NAME 4096

struct zip_source {
        /* Read exactly len bytes at off: 0 or a negative error. */
        int (*read_at)(void *userdata, uint64_t off, void *buf, size_t len);
        uint64_t size;
        void *userdata;
};

/* Names handed to the sink are relative, '/'-separated, never empty, never with "..",
 * a leading '/', a drive letter, ':' or a backslash. */
struct zip_sink {
        int (*dir)(void *userdata, const char *name);
        int (*file_begin)(void *userdata, const char *name, uint32_t unix_mode);
        int (*file_data)(void *userdata, const void *data, size_t len);
        /* Always called after a successful file_begin; ok is false when the entry failed. */
        int (*file_end)(void *userdata, bool ok);
        void *userdata;
};

struct zip_limits {
        uint64_t max_total;     /* sum of uncompressed sizes */
        uint32_t max_entries;
        /* Windows rules for names: entries that differ only in ASCII case are the same file,
         * and device names (CON, NUL, COM1...), components ending in a dot or a space and
         * the characters <>"|?* are refused. */
        bool windows_names;
};

#define ZIP_MAX_NAME_BYTES (32u << 20)   /* all entry names together */

struct zip;

/* Read the central directory and check the whole archive before anything is written: every
 * name (unsafe, duplicate, a file that another entry needs as a directory), method,
 * encryption, size limit and local header. Returns 0 and the archive in *ret, or a negative
 * errno with a message naming the entry in err: -EBADMSG (not a zip / corrupt), -EPERM
 * (unsafe name), -ENOTSUP (encryption, other methods, multi-disk), -EFBIG (limits), -EEXIST
 * (names that clash), or a source error. */
int zip_open(const struct zip_source *src, const struct zip_limits *limits, struct zip **ret, char *err, size_t errsz);
void zip_close(struct zip *z);

/* The entries in path order: a directory comes before everything under it, and everything
 * under it comes right after it. Names are normalised (see zip_sink). */
size_t zip_count(const struct zip *z);
const char *zip_name(const struct zip *z, size_t i, bool *is_dir);
/* Whether name is prefix (its first len bytes) or lies under it, under the archive's rules
 * for names (case-insensitive with windows_names). */
bool zip_name_within(const struct zip *z, const char *name, const char *prefix, size_t len);

/* Extract an opened archive into sink, in archive order. Data errors found only now (CRC,
 * deflate, sizes) give -EBADMSG; the sink's errors are passed on. */
int zip_unpack(struct zip *z, const struct zip_sink *sink, char *err, size_t errsz);

/* zip_open + zip_unpack + zip_close. */
int zip_extract(const struct zip_source *src, const struct zip_sink *sink, const struct zip_limits *limits,
                char *err, size_t errsz);

/* Normalise an entry name into out (see above). Returns 0, or -EPERM if it is unsafe.
 * *is_dir is set for names ending in a separator. */
int zip_check_name(const char *raw, size_t len, char *out, size_t outsz, bool *is_dir);

