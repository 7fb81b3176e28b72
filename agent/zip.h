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
};

/* Check every entry first, then extract. Returns 0, or a negative errno with a message for
 * the user in err: -EBADMSG (not a zip / corrupt / CRC mismatch), -EPERM (unsafe name),
 * -ENOTSUP (encryption, other methods, multi-disk), -EFBIG (limits), or a sink/source error. */
int zip_extract(const struct zip_source *src, const struct zip_sink *sink, const struct zip_limits *limits,
                char *err, size_t errsz);

/* Normalise an entry name into out (see above). Returns 0, or -EPERM if it is unsafe.
 * *is_dir is set for names ending in a separator. */
int zip_check_name(const char *raw, size_t len, char *out, size_t outsz, bool *is_dir);

uint32_t crc32_update(uint32_t crc, const void *data, size_t len);
