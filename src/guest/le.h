/* Inside guest/ only: little-endian fields of on-disc structures (El Torito, WIM headers). */
#pragma once

#include <stdint.h>

static inline uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
/* An n-byte (n <= 8) field, such as a WIM resource header's 7-byte size. */
static inline uint64_t le_n(const unsigned char *p, int n) {
        uint64_t v = 0;
        for (int i = n - 1; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}
