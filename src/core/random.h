/* Randomness from the kernel CSPRNG: names, vendor MACs, serials, UUIDs. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int random_bytes(void *buf, size_t n);
uint32_t random_u32_below(uint32_t n);          /* uniform in [0, n) */
/* Letters a-zA-Z, length uniform in [min, max]. Returns a new string or NULL. */
char *random_string(unsigned min, unsigned max);
/* Upper-case letters and digits of exact length. */
char *random_serial(unsigned len);
/* A MAC with one of VMCloak's 17 PC-vendor OUIs and 3 random bytes, avoiding the host's
 * own NIC addresses; falls back to a random unicast, locally unique MAC. */
void random_vendor_mac(uint8_t mac[6]);
/* The MAC a machine gets: given (checked with vcheck_mac, option names it in the error line)
 * or random_vendor_mac's, written "aa:bb:cc:dd:ee:ff" into ret. -EINVAL after one line. */
int mac_given_or_random(const char *given, const char *option, char ret[static 18]);
extern const uint8_t vendor_ouis[17][3];
