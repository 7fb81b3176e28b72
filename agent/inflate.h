/* Raw DEFLATE (RFC 1951) decoding that streams (zlib underneath): fixed memory, output through a
 * callback, capped. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct inflate_io {
        /* Read up to len compressed bytes: > 0 bytes read, 0 at end of input, < 0 error. */
        long (*read)(void *userdata, unsigned char *buf, size_t len);
        /* Take decompressed bytes: 0 or a negative error. */
        int (*write)(void *userdata, const unsigned char *data, size_t len);
        void *userdata;
};

/* Decode one raw DEFLATE stream. Returns 0 and the output size, -EBADMSG for corrupt or
 * truncated data, -EFBIG when the output would pass max_out, -ENOMEM, or a callback error. */
int inflate_raw(const struct inflate_io *io, uint64_t max_out, uint64_t *ret_out);
