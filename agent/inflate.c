/* DEFLATE decoder: canonical Huffman codes decoded bit by bit, a 64 KiB sliding output
 * window of which the last 32 KiB stay for back-references. Every table index is checked. */
#include "inflate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAXBITS 15
#define MAXLCODES 286
#define MAXDCODES 30
#define FIXLCODES 288
#define WSIZE 32768
#define OUTSZ (2 * WSIZE)
#define INSZ 16384

struct huffman {
        short count[MAXBITS + 1];
        short symbol[FIXLCODES];
};

struct state {
        const struct inflate_io *io;
        unsigned char in[INSZ];
        size_t in_pos, in_len;
        uint64_t bitbuf;
        int bitcnt;
        unsigned char *out;   /* OUTSZ bytes */
        size_t pos;           /* next output byte in out */
        size_t flushed;       /* out[0..flushed) was already handed to write() */
        uint64_t total, max_out;
};

static int next_byte(struct state *s) {
        if (s->in_pos == s->in_len) {
                long n = s->io->read(s->io->userdata, s->in, INSZ);
                if (n < 0)
                        return (int)n;
                if (n == 0 || (size_t)n > INSZ)
                        return -EBADMSG;   /* the stream ended before its last block */
                s->in_len = (size_t)n;
                s->in_pos = 0;
        }
        return s->in[s->in_pos++];
}

static int bits(struct state *s, int need, unsigned *ret) {
        while (s->bitcnt < need) {
                int c = next_byte(s);
                if (c < 0)
                        return c;
                s->bitbuf |= (uint64_t)c << s->bitcnt;
                s->bitcnt += 8;
        }
        *ret = (unsigned)(s->bitbuf & ((UINT64_C(1) << need) - 1));
        s->bitbuf >>= need;
        s->bitcnt -= need;
        return 0;
}

static int flush(struct state *s) {
        if (s->pos > s->flushed) {
                int r = s->io->write(s->io->userdata, s->out + s->flushed, s->pos - s->flushed);
                if (r < 0)
                        return r;
                s->flushed = s->pos;
        }
        return 0;
}

static int put(struct state *s, unsigned char c) {
        if (s->total >= s->max_out)
                return -EFBIG;
        if (s->pos == OUTSZ) {
                int r = flush(s);
                if (r < 0)
                        return r;
                memmove(s->out, s->out + OUTSZ - WSIZE, WSIZE);
                s->pos = s->flushed = WSIZE;
        }
        s->out[s->pos++] = c;
        s->total++;
        return 0;
}

/* Returns the symbol, or a negative error. */
static int decode(struct state *s, const struct huffman *h) {
        int code = 0, first = 0, index = 0;
        for (int len = 1; len <= MAXBITS; len++) {
                unsigned b;
                int r = bits(s, 1, &b);
                if (r < 0)
                        return r;
                code |= (int)b;
                int count = h->count[len];
                if (code - count < first)
                        return h->symbol[index + (code - first)];
                index += count;
                first += count;
                first <<= 1;
                code <<= 1;
        }
        return -EBADMSG;   /* no such code */
}

/* Build a canonical code from code lengths. Over-subscribed sets are corrupt; incomplete
 * ones are allowed (decode() then fails on the missing codes). */
static int build(struct huffman *h, const short *length, int n) {
        memset(h->count, 0, sizeof h->count);
        for (int sym = 0; sym < n; sym++) {
                if (length[sym] < 0 || length[sym] > MAXBITS)
                        return -EBADMSG;
                h->count[length[sym]]++;
        }
        int left = 1;
        for (int len = 1; len <= MAXBITS; len++) {
                left <<= 1;
                left -= h->count[len];
                if (left < 0)
                        return -EBADMSG;
        }
        short offs[MAXBITS + 2];
        offs[1] = 0;
        for (int len = 1; len < MAXBITS; len++)
                offs[len + 1] = (short)(offs[len] + h->count[len]);
        for (int sym = 0; sym < n; sym++)
                if (length[sym] != 0)
                        h->symbol[offs[length[sym]]++] = (short)sym;
        return 0;
}

static const short lbase[29] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const short lext[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const unsigned short dbase[30] = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
                                          193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
                                          6145, 8193, 12289, 16385, 24577 };
static const short dext[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

static int codes(struct state *s, const struct huffman *lencode, const struct huffman *distcode) {
        for (;;) {
                int sym = decode(s, lencode);
                if (sym < 0)
                        return sym;
                if (sym < 256) {
                        int r = put(s, (unsigned char)sym);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (sym == 256)
                        return 0;
                sym -= 257;
                if (sym >= 29)
                        return -EBADMSG;
                unsigned extra;
                int r = bits(s, lext[sym], &extra);
                if (r < 0)
                        return r;
                unsigned len = (unsigned)lbase[sym] + extra;
                int dsym = decode(s, distcode);
                if (dsym < 0)
                        return dsym;
                if (dsym >= 30)
                        return -EBADMSG;
                r = bits(s, dext[dsym], &extra);
                if (r < 0)
                        return r;
                size_t dist = (size_t)dbase[dsym] + extra;
                if (dist > s->pos)
                        return -EBADMSG;   /* before the start of the output */
                while (len--) {
                        r = put(s, s->out[s->pos - dist]);
                        if (r < 0)
                                return r;
                }
        }
}

static int stored(struct state *s) {
        s->bitbuf = 0;   /* drop the bits up to the byte boundary */
        s->bitcnt = 0;
        unsigned char hdr[4];
        for (int i = 0; i < 4; i++) {
                int c = next_byte(s);
                if (c < 0)
                        return c;
                hdr[i] = (unsigned char)c;
        }
        unsigned len = hdr[0] | (unsigned)hdr[1] << 8;
        unsigned nlen = hdr[2] | (unsigned)hdr[3] << 8;
        if (len != (~nlen & 0xffff))
                return -EBADMSG;
        while (len--) {
                int c = next_byte(s);
                if (c < 0)
                        return c;
                int r = put(s, (unsigned char)c);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int fixed(struct state *s) {
        /* Built per block (cheap) so that threads share no mutable tables. */
        short lengths[FIXLCODES];
        int sym = 0;
        for (; sym < 144; sym++)
                lengths[sym] = 8;
        for (; sym < 256; sym++)
                lengths[sym] = 9;
        for (; sym < 280; sym++)
                lengths[sym] = 7;
        for (; sym < FIXLCODES; sym++)
                lengths[sym] = 8;
        struct huffman lencode, distcode;
        build(&lencode, lengths, FIXLCODES);
        for (sym = 0; sym < MAXDCODES; sym++)
                lengths[sym] = 5;
        build(&distcode, lengths, MAXDCODES);
        return codes(s, &lencode, &distcode);
}

static int dynamic(struct state *s) {
        static const short order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };
        unsigned nlen, ndist, ncode;
        int r;
        if ((r = bits(s, 5, &nlen)) < 0 || (r = bits(s, 5, &ndist)) < 0 || (r = bits(s, 4, &ncode)) < 0)
                return r;
        nlen += 257;
        ndist += 1;
        ncode += 4;
        if (nlen > MAXLCODES || ndist > MAXDCODES)
                return -EBADMSG;

        short lengths[MAXLCODES + MAXDCODES];
        unsigned index;
        for (index = 0; index < ncode; index++) {
                unsigned v;
                if ((r = bits(s, 3, &v)) < 0)
                        return r;
                lengths[order[index]] = (short)v;
        }
        for (; index < 19; index++)
                lengths[order[index]] = 0;

        struct huffman lencode, distcode;
        if (build(&lencode, lengths, 19) < 0)
                return -EBADMSG;

        index = 0;
        while (index < nlen + ndist) {
                int sym = decode(s, &lencode);
                if (sym < 0)
                        return sym;
                if (sym < 16) {
                        lengths[index++] = (short)sym;
                        continue;
                }
                short len = 0;
                unsigned rep;
                if (sym == 16) {
                        if (index == 0)
                                return -EBADMSG;   /* nothing to repeat */
                        len = lengths[index - 1];
                        if ((r = bits(s, 2, &rep)) < 0)
                                return r;
                        rep += 3;
                } else if (sym == 17) {
                        if ((r = bits(s, 3, &rep)) < 0)
                                return r;
                        rep += 3;
                } else {
                        if ((r = bits(s, 7, &rep)) < 0)
                                return r;
                        rep += 11;
                }
                if (index + rep > nlen + ndist)
                        return -EBADMSG;
                while (rep--)
                        lengths[index++] = len;
        }
        if (lengths[256] == 0)
                return -EBADMSG;   /* no end-of-block code */
        if (build(&lencode, lengths, (int)nlen) < 0 || build(&distcode, lengths + nlen, (int)ndist) < 0)
                return -EBADMSG;
        return codes(s, &lencode, &distcode);
}

int inflate_raw(const struct inflate_io *io, uint64_t max_out, uint64_t *ret_out) {
        struct state *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->out = malloc(OUTSZ);
        if (!s->out) {
                free(s);
                return -ENOMEM;
        }
        s->io = io;
        s->max_out = max_out;
        int r;
        unsigned last, type;
        do {
                if ((r = bits(s, 1, &last)) < 0 || (r = bits(s, 2, &type)) < 0)
                        break;
                if (type == 0)
                        r = stored(s);
                else if (type == 1)
                        r = fixed(s);
                else if (type == 2)
                        r = dynamic(s);
                else
                        r = -EBADMSG;
        } while (r >= 0 && !last);
        if (r >= 0)
                r = flush(s);
        if (r >= 0 && ret_out)
                *ret_out = s->total;
        free(s->out);
        free(s);
        return r < 0 ? r : 0;
}
