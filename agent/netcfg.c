/* `vmcloak-agent netcfg`: the adapter with the MAC gets the static address, by interface index. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcfg.h"
#include "platform.h"

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int netcfg_parse_mac(const char *s, unsigned char mac[6]) {
        if (!s || strlen(s) != 17)
                return -1;
        for (int i = 0; i < 6; i++) {
                const char *p = s + 3 * i;
                int hi = hexval(p[0]), lo = hexval(p[1]);
                if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':' && p[2] != '-'))
                        return -1;
                mac[i] = (unsigned char)(hi * 16 + lo);
        }
        return 0;
}

const struct netcfg_adapter *netcfg_choose(const struct netcfg_adapter *list, size_t n, const unsigned char mac[6]) {
        for (size_t i = 0; i < n; i++)
                if (list[i].mac_len == 6 && memcmp(list[i].mac, mac, 6) == 0)
                        return &list[i];
        return NULL;
}

/* A dotted quad, nothing else (the values end up on a netsh command line). */
static int parse_ipv4(const char *s, unsigned long *ret) {
        unsigned long a = 0;
        const char *p = s;
        for (int i = 0; i < 4; i++) {
                if (*p < '0' || *p > '9')
                        return -1;
                unsigned v = 0;
                int digits = 0;
                while (*p >= '0' && *p <= '9' && digits < 4) {
                        v = v * 10 + (unsigned)(*p++ - '0');
                        digits++;
                }
                if (v > 255 || (digits > 1 && p[-digits] == '0'))
                        return -1;
                a = (a << 8) | v;
                if (i < 3 && *p++ != '.')
                        return -1;
        }
        if (*p)
                return -1;
        *ret = a;
        return 0;
}

static void format_ipv4(unsigned long a, char buf[16]) {
        snprintf(buf, 16, "%lu.%lu.%lu.%lu", (a >> 24) & 255, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void format_mac(const struct netcfg_adapter *a, char buf[18]) {
        if (a->mac_len != 6) {
                snprintf(buf, 18, "(none)");
                return;
        }
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", a->mac[0], a->mac[1], a->mac[2], a->mac[3], a->mac[4],
                 a->mac[5]);
}

static void print_adapters(FILE *f, const struct netcfg_adapter *list, size_t n) {
        if (n == 0)
                fputs(" (none)", f);
        for (size_t i = 0; i < n; i++) {
                char mac[18];
                format_mac(&list[i], mac);
                fprintf(f, "%s %s index %u \"%s\"", i ? "," : "", mac, list[i].index, list[i].name);
        }
        fputc('\n', f);
}

static void usage(FILE *f) {
        fputs("Usage: vmcloak-agent netcfg --mac MAC --ip ADDR/PREFIX [--gateway ADDR] [--dns ADDR] [--dns2 ADDR]\n"
              "                            [--dry-run]\n"
              "       vmcloak-agent netcfg --list\n"
              "\n"
              "Give the adapter whose hardware address is MAC a static IPv4 configuration with netsh,\n"
              "addressing it by interface index (adapter names are localised). --dry-run prints the\n"
              "netsh commands without running them; --list prints every adapter.\n",
              f);
}

/* One netsh command: printed, then run unless dry. */
static int run_netsh(const char *cmd, bool dry) {
        printf("netcfg: run: %s\n", cmd);
        fflush(stdout);
        if (dry)
                return 0;
        struct plat_exec e = { .command = cmd, .timeout_ms = 120000 };
        struct plat_exec_result r = { 0 };
        int k = plat_run(&e, &r);
        if (k < 0) {
                fprintf(stderr, "netcfg: cannot run netsh: %s\n", strerror(-k));
                return -1;
        }
        if (r.out.len)
                printf("%s%s", r.out.data, r.out.data[r.out.len - 1] == '\n' ? "" : "\n");
        if (r.err.len)
                fprintf(stderr, "%s%s", r.err.data, r.err.data[r.err.len - 1] == '\n' ? "" : "\n");
        printf("netcfg: netsh exit code %d\n", r.exit_code);
        fflush(stdout);
        buf_free(&r.out);
        buf_free(&r.err);
        return r.exit_code == 0 ? 0 : -1;
}

int netcfg_main(int argc, char **argv) {
        const char *mac_s = NULL, *ip_s = NULL, *gw_s = NULL, *dns_s = NULL, *dns2_s = NULL;
        bool dry = false, list_only = false;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char **dst = NULL;
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(a, "--dry-run") == 0) {
                        dry = true;
                        continue;
                } else if (strcmp(a, "--list") == 0) {
                        list_only = true;
                        continue;
                } else if (strcmp(a, "--mac") == 0)
                        dst = &mac_s;
                else if (strcmp(a, "--ip") == 0)
                        dst = &ip_s;
                else if (strcmp(a, "--gateway") == 0)
                        dst = &gw_s;
                else if (strcmp(a, "--dns") == 0)
                        dst = &dns_s;
                else if (strcmp(a, "--dns2") == 0)
                        dst = &dns2_s;
                if (!dst) {
                        fprintf(stderr, "netcfg: unknown argument '%s' (see netcfg --help)\n", a);
                        return 2;
                }
                if (i + 1 >= argc) {
                        fprintf(stderr, "netcfg: %s needs a value\n", a);
                        return 2;
                }
                *dst = argv[++i];
        }

        unsigned char mac[6];
        unsigned long ip = 0, gw = 0, dns = 0, dns2 = 0, prefix = 0;
        if (!list_only) {
                if (!mac_s || !ip_s) {
                        fprintf(stderr, "netcfg: --mac and --ip are required (see netcfg --help)\n");
                        return 2;
                }
                if (netcfg_parse_mac(mac_s, mac) < 0) {
                        fprintf(stderr, "netcfg: invalid MAC '%s' (aa:bb:cc:dd:ee:ff)\n", mac_s);
                        return 2;
                }
                char addr[16] = "";
                const char *slash = strchr(ip_s, '/');
                char *end = NULL;
                if (slash && (size_t)(slash - ip_s) < sizeof addr) {
                        memcpy(addr, ip_s, (size_t)(slash - ip_s));
                        prefix = strtoul(slash + 1, &end, 10);
                }
                if (!slash || !end || *end || end == slash + 1 || prefix < 1 || prefix > 32 || parse_ipv4(addr, &ip) < 0) {
                        fprintf(stderr, "netcfg: invalid --ip '%s' (ADDR/PREFIX, e.g. 192.168.30.10/24)\n", ip_s);
                        return 2;
                }
                const char *names[] = { "--gateway", "--dns", "--dns2" };
                const char *vals[] = { gw_s, dns_s, dns2_s };
                unsigned long *outs[] = { &gw, &dns, &dns2 };
                for (int k = 0; k < 3; k++)
                        if (vals[k] && parse_ipv4(vals[k], outs[k]) < 0) {
                                fprintf(stderr, "netcfg: invalid %s '%s' (a dotted IPv4 address)\n", names[k], vals[k]);
                                return 2;
                        }
                if (dns2_s && !dns_s) {
                        fprintf(stderr, "netcfg: --dns2 needs --dns\n");
                        return 2;
                }
        }

        if (plat_init() < 0) {
                fprintf(stderr, "netcfg: platform initialisation failed\n");
                return 1;
        }
        struct netcfg_adapter *list = NULL;
        size_t n = 0;
        int k = plat_adapters(&list, &n);
        if (k < 0) {
                fprintf(stderr, "netcfg: cannot list the network adapters: %s\n", strerror(-k));
                return 1;
        }
        if (list_only) {
                printf("netcfg: adapters:");
                print_adapters(stdout, list, n);
                plat_adapters_free(list, n);
                return 0;
        }
        const struct netcfg_adapter *a = netcfg_choose(list, n, mac);
        if (!a) {
                fprintf(stderr, "netcfg: no adapter has the MAC %s; adapters:", mac_s);
                print_adapters(stderr, list, n);
                plat_adapters_free(list, n);
                return 1;
        }
        char mac_buf[18];
        format_mac(a, mac_buf);
        printf("netcfg: chose adapter index %u \"%s\" (%s)\n", a->index, a->name, mac_buf);
        unsigned index = a->index;
        plat_adapters_free(list, n);
#ifndef _WIN32
        if (!dry) {
                fprintf(stderr, "netcfg: applying the address needs Windows (netsh); --dry-run prints the commands\n");
                return 1;
        }
#endif

        char ip_b[16], mask_b[16], gw_b[16], dns_b[16], dns2_b[16], cmd[256];
        format_ipv4(ip, ip_b);
        format_ipv4(prefix == 32 ? 0xffffffffUL : (0xffffffffUL << (32 - prefix)) & 0xffffffffUL, mask_b);
        format_ipv4(gw, gw_b);
        format_ipv4(dns, dns_b);
        format_ipv4(dns2, dns2_b);
        int failed = 0;
        snprintf(cmd, sizeof cmd, "netsh interface ipv4 set address name=%u source=static address=%s mask=%s gateway=%s%s",
                 index, ip_b, mask_b, gw_s ? gw_b : "none", gw_s ? " gwmetric=1" : "");
        failed |= run_netsh(cmd, dry);
        if (dns_s) {
                snprintf(cmd, sizeof cmd,
                         "netsh interface ipv4 set dnsservers name=%u source=static address=%s register=none validate=no",
                         index, dns_b);
                failed |= run_netsh(cmd, dry);
        }
        if (dns2_s) {
                snprintf(cmd, sizeof cmd, "netsh interface ipv4 add dnsservers name=%u address=%s index=2 validate=no",
                         index, dns2_b);
                failed |= run_netsh(cmd, dry);
        }
        if (failed) {
                fprintf(stderr, "netcfg: netsh failed for adapter index %u (%s)\n", index, mac_buf);
                return 1;
        }
        printf("netcfg: %s %s/%lu on adapter index %u (%s)\n", dry ? "would set" : "set", ip_b, prefix, index, mac_buf);
        return 0;
}
