/* vmcloak: one binary, one command table (git style). Reached as vmcloak-qemubridge it
 * behaves as "vmcloak bridge". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"

#ifndef VMCLOAK_VERSION
#define VMCLOAK_VERSION "0.0.0"
#endif

struct command {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *summary;
};

static const struct command commands[] = {
        { "init", cmd_init, "Create a new base image and install its OS unattended" },
        { "install", cmd_install, "Install dependencies (software, files, scripts) into an image" },
        { "modify", cmd_modify, "Boot an image with VNC for manual changes" },
        { "snapshot", cmd_snapshot, "Create analysis VMs (overlay + memory snapshot) from an image" },
        { "restore", cmd_restore, "Restore a snapshot the way Cuckoo3 does and time it" },
        { "list", cmd_list, "List images, snapshots or dependencies" },
        { "delimg", cmd_delimg, "Delete an image and its disk" },
        { "delvm", cmd_delvm, "Delete a snapshot VM and its files" },
        { "clone", cmd_clone, "Copy an image under a new name" },
        { "createiso", cmd_createiso, "Build the unattended install ISO only" },
        { "isodownload", cmd_isodownload, "Download a known Windows ISO and check its hash" },
        { "bridge", cmd_bridge, "Create or check the host bridge and qemu-bridge-helper (root)" },
        { "doctor", cmd_doctor, "Check that this host can build and run vmcloak VMs" },
        { "migrate", cmd_migrate, "Upgrade repository.db to the current schema" },
        { "export", cmd_export, "Export an image or VM for another sandbox" },
        { "cleanup", cmd_cleanup, "Remove leftovers of an interrupted run for a VM" },
        { "help", cmd_help, "Show help for vmcloak or one command" },
};

static void print_main_help(void) {
        printf("Usage: vmcloak [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
               "Build ready-to-use, cloaked QEMU/KVM virtual machines for malware sandboxes\n"
               "(Cuckoo3, CAPE) with nobody at the keyboard.\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                printf("  %-12s %s\n", commands[i].name, commands[i].summary);
        printf("\nGlobal options (before or after the command):\n"
               "  -d, --debug       Show debug output\n"
               "  -q, --quiet       Show only warnings and errors\n"
               "      --json        Machine-readable output (list, doctor)\n"
               "      --no-color    Never color the output\n"
               "      --home DIR    Where images, VMs and repository.db live [default: $VMCLOAK_HOME or ~/.vmcloak]\n"
               "      --version     Print the version\n"
               "  -h, --help        Show this help\n\n"
               "Run 'vmcloak COMMAND --help' for the options of one command.\n");
}

static const struct command *find_command(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, name))
                        return &commands[i];
        return NULL;
}

int cmd_help(int argc, char **argv) {
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                print_main_help();
                return 0;
        }
        const struct command *c = find_command(argv[1]);
        if (!c || c->fn == cmd_help) {
                if (!c)
                        log_error("unknown command '%s' (see 'vmcloak help')", argv[1]);
                else
                        print_main_help();
                return c ? 0 : EXIT_USAGE;
        }
        char *sub[] = { argv[1], (char *)"--help", NULL };
        return c->fn(2, sub);
}

static int unknown_command(const char *name) {
        const char *names[ELEMENTSOF(commands)];
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                names[i] = commands[i].name;
        const char *s = args_suggest(name, names, (int)ELEMENTSOF(commands));
        if (s)
                log_error("unknown command '%s'; did you mean '%s'? (see 'vmcloak help')", name, s);
        else
                log_error("unknown command '%s' (see 'vmcloak help' for the list)", name);
        return EXIT_USAGE;
}

int main(int argc, char **argv) {
        interrupt_install();
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        if (streq(base, "vmcloak-qemubridge")) {
                global.argv0_name = "vmcloak-qemubridge";
                argv[0] = (char *)"bridge";
                int rc = cmd_bridge(argc, argv);
                global_close();
                return rc;
        }

        /* Global options before the command. */
        int i = 1;
        for (; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];
                if (streq(a, "--version")) {
                        printf("vmcloak %s\n", VMCLOAK_VERSION);
                        return 0;
                }
                if (streq(a, "-h") || streq(a, "--help")) {
                        print_main_help();
                        return 0;
                }
                const char *name = NULL, *value = NULL;
                if (streq(a, "-d") || streq(a, "--debug"))
                        name = "debug";
                else if (streq(a, "-q") || streq(a, "--quiet"))
                        name = "quiet";
                else if (streq(a, "--json"))
                        name = "json";
                else if (streq(a, "--no-color"))
                        name = "no-color";
                else if (streq(a, "--home") || startswith(a, "--home=")) {
                        name = "home";
                        if (startswith(a, "--home="))
                                value = a + strlen("--home=");
                        else if (i + 1 < argc)
                                value = argv[++i];
                        else {
                                log_error("option '--home' needs a value (a directory)");
                                return EXIT_USAGE;
                        }
                } else {
                        log_error("unknown global option '%s' (see 'vmcloak --help')", a);
                        return EXIT_USAGE;
                }
                global_apply_option(name, value);
        }
        if (i >= argc) {
                print_main_help();
                return EXIT_USAGE;
        }
        const struct command *c = find_command(argv[i]);
        if (!c)
                return unknown_command(argv[i]);
        int rc = c->fn(argc - i, argv + i);
        global_close();
        if (rc != 0 && interrupted()) {
                /* The shell's convention: 128 + the signal (130 for Ctrl-C, 143 for SIGTERM). */
                log_error("interrupted; cleaned up");
                rc = 128 + interrupt_signal();
        }
        return rc;
}
