/* `vmcloak-agent netcfg`: give the network adapter with a given MAC address a static IPv4
 * configuration. Adapters are found by MAC because their names are localised ("Ethernet",
 * "LAN-Verbindung") and renumbered ("Ethernet 2"); netsh is addressed by interface index. */
#pragma once

#include <stddef.h>

struct netcfg_adapter {
        char *name;            /* friendly name, UTF-8 (Linux: the interface name) */
        unsigned index;        /* IPv4 interface index (Windows IfIndex, Linux ifindex) */
        unsigned char mac[6];
        unsigned mac_len;      /* 6 for Ethernet; other lengths never match */
};

/* The adapter whose MAC is mac, or NULL. */
const struct netcfg_adapter *netcfg_choose(const struct netcfg_adapter *list, size_t n, const unsigned char mac[6]);
/* "aa:bb:cc:dd:ee:ff" or with '-', any case. 0 or -1. */
int netcfg_parse_mac(const char *s, unsigned char mac[6]);

/* The subcommand: argv[0] is "netcfg". Prints what it chose and did; exit code 0, 1 (no
 * adapter with that MAC, or netsh failed) or 2 (bad usage). */
int netcfg_main(int argc, char **argv);
