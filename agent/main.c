/* vmcloak-agent: the in-guest HTTP agent (Cuckoo agent protocol). Command line and start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "memprep.h"
#include "netcfg.h"
#include "platform.h"
#include "server.h"

static void usage(FILE *f) {
        fputs("Usage: vmcloak-agent [--host ADDR] [--port N] [options]\n"
              "       vmcloak-agent [ADDR [PORT]]\n"
              "       vmcloak-agent netcfg --mac MAC --ip ADDR/PREFIX [...]  (see netcfg --help)\n"
              "       vmcloak-agent memprep [--timeout SECS]  (Windows; see memprep --help)\n"
              "\n"
              "The guest agent for vmcloak, Cuckoo and CAPE (Cuckoo agent HTTP protocol).\n"
              "\n"
              "  --host ADDR          address to listen on [default: 0.0.0.0]\n"
              "  --port N             TCP port, 0 picks a free one [default: 8000]\n"
              "  --read-timeout SECS  drop a connection idle this long [default: 60]\n"
              "  --max-connections N  requests served at once [default: 64]\n"
              "  --version            print the version\n"
              "  --help               this text\n"
              "\n"
              "-host and -port (single dash) are accepted too. Logs go to stderr.\n",
              f);
}

static int parse_int(const char *s, int min, int max, int *ret) {
        char *end;
        long v = strtol(s, &end, 10);
        if (!*s || *end || v < min || v > max)
                return -1;
        *ret = (int)v;
        return 0;
}

int main(int argc, char **argv) {
        struct server_config cfg = { .host = "0.0.0.0", .port = 8000, .read_timeout_ms = 60000, .max_connections = 64 };
        int positional = 0;
        if (argc > 1 && strcmp(argv[1], "netcfg") == 0)
                return netcfg_main(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "memprep") == 0)
                return memprep_main(argc - 1, argv + 1);
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *value = NULL;
                /* Accept --opt, -opt and --opt=value. */
                const char *name = a[0] == '-' ? a + 1 + (a[1] == '-') : NULL;
                char opt[32] = "";
                if (name && *name) {
                        const char *eq = strchr(name, '=');
                        size_t n = eq ? (size_t)(eq - name) : strlen(name);
                        if (n < sizeof opt) {
                                memcpy(opt, name, n);
                                opt[n] = 0;
                        }
                        if (eq)
                                value = eq + 1;
                }
                if (strcmp(opt, "help") == 0 || strcmp(opt, "h") == 0) {
                        usage(stdout);
                        return 0;
                }
                if (strcmp(opt, "version") == 0) {
                        printf("vmcloak-agent %s\n", AGENT_VERSION);
                        return 0;
                }
                bool takes_value = strcmp(opt, "host") == 0 || strcmp(opt, "port") == 0 ||
                                   strcmp(opt, "read-timeout") == 0 || strcmp(opt, "max-connections") == 0;
                if (takes_value && !value) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "vmcloak-agent: %s needs a value (see --help)\n", a);
                                return 2;
                        }
                        value = argv[++i];
                }
                if (strcmp(opt, "host") == 0) {
                        cfg.host = value;
                } else if (strcmp(opt, "port") == 0) {
                        if (parse_int(value, 0, 65535, &cfg.port) < 0) {
                                fprintf(stderr, "vmcloak-agent: invalid port '%s' (0-65535)\n", value);
                                return 2;
                        }
                } else if (strcmp(opt, "read-timeout") == 0) {
                        int secs;
                        if (parse_int(value, 1, 86400, &secs) < 0) {
                                fprintf(stderr, "vmcloak-agent: invalid --read-timeout '%s' (1-86400 seconds)\n", value);
                                return 2;
                        }
                        cfg.read_timeout_ms = secs * 1000;
                } else if (strcmp(opt, "max-connections") == 0) {
                        if (parse_int(value, 1, 1024, &cfg.max_connections) < 0) {
                                fprintf(stderr, "vmcloak-agent: invalid --max-connections '%s' (1-1024)\n", value);
                                return 2;
                        }
                } else if (name && *name) {
                        fprintf(stderr, "vmcloak-agent: unknown option '%s' (see --help)\n", a);
                        return 2;
                } else if (positional == 0) {
                        /* The Python agents take "host [port]" positionally. */
                        cfg.host = a;
                        positional++;
                } else if (positional == 1) {
                        if (parse_int(a, 0, 65535, &cfg.port) < 0) {
                                fprintf(stderr, "vmcloak-agent: invalid port '%s' (0-65535)\n", a);
                                return 2;
                        }
                        positional++;
                } else {
                        fprintf(stderr, "vmcloak-agent: unexpected argument '%s' (see --help)\n", a);
                        return 2;
                }
        }
        if (plat_init() < 0) {
                fprintf(stderr, "vmcloak-agent: platform initialisation failed\n");
                return 1;
        }
        return server_run(&cfg);
}
