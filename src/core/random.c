/* CSPRNG-backed random names and addresses (VMCloak used Python's non-crypto random). */
#include "core/random.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/util.h"
#include "core/validate.h"

const uint8_t vendor_ouis[17][3] = {
        { 0x94, 0xb8, 0x6d }, { 0xb8, 0x03, 0x05 }, { 0xe8, 0x2a, 0xea }, { 0xa4, 0x11, 0x94 },
        { 0x8c, 0x16, 0x45 }, { 0xc8, 0x7e, 0x75 }, { 0x10, 0x1d, 0xc0 }, { 0x78, 0x9e, 0xd0 },
        { 0x00, 0x16, 0x17 }, { 0x00, 0x1f, 0xcf }, { 0x00, 0x0a, 0xf7 }, { 0xd4, 0x01, 0x29 },
        { 0x00, 0xe0, 0x4c }, { 0x00, 0x19, 0x3c }, { 0x00, 0x17, 0xa4 }, { 0x00, 0x06, 0x5b },
        { 0xa4, 0xba, 0xdb },
};

int random_bytes(void *buf, size_t n) {
        uint8_t *p = buf;
        while (n > 0) {
                ssize_t k = getrandom(p, n, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

uint32_t random_u32_below(uint32_t n) {
        if (n <= 1)
                return 0;
        uint32_t limit = UINT32_MAX - UINT32_MAX % n, v;
        do {
                if (random_bytes(&v, sizeof v) < 0)
                        abort();
        } while (v >= limit);
        return v % n;
}

static char *random_from(const char *alphabet, unsigned len) {
        size_t a = strlen(alphabet);
        char *s = malloc(len + 1);
        if (!s)
                return NULL;
        for (unsigned i = 0; i < len; i++)
                s[i] = alphabet[random_u32_below((uint32_t)a)];
        s[len] = 0;
        return s;
}

char *random_string(unsigned min, unsigned max) {
        unsigned len = min + random_u32_below(max - min + 1);
        return random_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", len);
}

char *random_serial(unsigned len) { return random_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", len); }

static int host_has_mac(const uint8_t mac[6]) {
        DIR *d = opendir("/sys/class/net");
        if (!d)
                return 0;
        char want[18];
        format_mac(mac, want);
        struct dirent *de;
        int found = 0;
        while (!found && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char path[512];
                snprintf(path, sizeof path, "/sys/class/net/%s/address", de->d_name);
                _cleanup_free_ char *content = NULL;
                if (read_full_file(path, &content, NULL) == 0 && strncmp(content, want, 17) == 0)
                        found = 1;
        }
        closedir(d);
        return found;
}

void random_vendor_mac(uint8_t mac[6]) {
        for (int attempt = 0; attempt < 20; attempt++) {
                const uint8_t *oui = vendor_ouis[random_u32_below(ELEMENTSOF(vendor_ouis))];
                memcpy(mac, oui, 3);
                if (random_bytes(mac + 3, 3) < 0)
                        abort();
                if (!host_has_mac(mac))
                        return;
        }
        if (random_bytes(mac, 6) < 0)
                abort();
        mac[0] &= 0xfe; /* unicast */
}

int mac_given_or_random(const char *given, const char *option, char ret[static 18]) {
        uint8_t mac[6];
        if (given) {
                if (vcheck_mac(given, option, mac) < 0)
                        return -EINVAL;
        } else
                random_vendor_mac(mac);
        format_mac(mac, ret);
        return 0;
}
