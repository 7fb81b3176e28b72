/* Raw DEFLATE through zlib (linked statically into the agent): input pulled through the read
 * callback, output pushed through the write callback, both in fixed buffers. */
#include "inflate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <zlib.h>

#define CHUNK 16384

int inflate_raw(const struct inflate_io *io, uint64_t max_out, uint64_t *ret_out) {
        z_stream z = { 0 };
        /* Negative window bits: a raw stream (zip's method 8), no zlib/gzip header or trailer. */
        if (inflateInit2(&z, -15) != Z_OK)
                return -ENOMEM;
        unsigned char *in = malloc(CHUNK), *out = malloc(CHUNK);
        uint64_t total = 0;
        int r = in && out ? 0 : -ENOMEM, zr = Z_OK;
        bool eof = false;
        while (r == 0 && zr != Z_STREAM_END) {
                if (z.avail_in == 0 && !eof) {
                        long n = io->read(io->userdata, in, CHUNK);
                        if (n < 0 || n > CHUNK) {
                                r = n < 0 ? (int)n : -EIO;
                                break;
                        }
                        eof = n == 0;
                        z.next_in = in;
                        z.avail_in = (uInt)n;
                }
                z.next_out = out;
                z.avail_out = CHUNK;
                zr = inflate(&z, Z_NO_FLUSH);
                if (zr == Z_MEM_ERROR)
                        r = -ENOMEM;
                else if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR || zr == Z_STREAM_ERROR)
                        r = -EBADMSG;
                else if (zr == Z_BUF_ERROR && eof)
                        r = -EBADMSG;   /* no progress possible: the stream is truncated */
                if (r < 0)
                        break;
                size_t got = CHUNK - z.avail_out;
                if (got > max_out - total) {
                        r = -EFBIG;   /* a bomb, or sizes that lie: stop before writing past the cap */
                        break;
                }
                total += got;
                if (got > 0)
                        r = io->write(io->userdata, out, got);
        }
        inflateEnd(&z);
        free(in);
        free(out);
        if (r == 0 && ret_out)
                *ret_out = total;
        return r;
}
