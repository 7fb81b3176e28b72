/* vmcloak: one binary, one command table (git style). Reached as vmcloak-qemubridge it
 * behaves as "vmcloak bridge", as vmcloak-iptables as VMCloak's script of that name (do|undo ->
 * "vmcloak internet on|off"). */
#include <errno.h>
#include <stdbool.h>
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

/* What the dispatcher sets up before a command runs (git's RUN_SETUP, systemd's verb flags), after
 * the command's options parsed and its check() passed: a usage error never touches ~/.vmcloak. */
enum {
        NEED_REPO = 1 << 0,          /* the repository, opened (created on first use) as it is */
        NEED_REPO_CURRENT = 1 << 1,  /* the repository with the current schema (commands that write it) */
        NEED_PIPELINE = 1 << 2,      /* the repository and the machine driver (QEMU), for pipeline steps */
        HIDDEN = 1 << 3,             /* for the build and the shell completions: not in help */
        JSON = 1 << 4,               /* honours the global --json (docs/json.md); others refuse it */
};

struct command {
        const char *name;
        const struct cmd_def *def;
        unsigned flags;
        const char *summary;
};

static int help_main(int argc, char **argv);
static const struct cmd_def cmd_help = { .run_argv = help_main };
static int generate_main(int argc, char **argv);
static const struct cmd_def cmd_generate = { .run_argv = generate_main };
static const struct cmd_def cmd_complete = { .run_argv = cmd_complete_main };

static const struct command commands[] = {
        { "init", &cmd_init, NEED_PIPELINE | NEED_REPO_CURRENT | JSON,
          "Create a new base image and install its OS unattended" },
        { "install", &cmd_install, NEED_PIPELINE | NEED_REPO_CURRENT | JSON,
          "Install dependencies (software, files, scripts) into an image" },
        { "modify", &cmd_modify, NEED_PIPELINE | NEED_REPO_CURRENT, "Boot an image with VNC for manual changes" },
        { "snapshot", &cmd_snapshot, NEED_PIPELINE | NEED_REPO_CURRENT | JSON,
          "Create analysis VMs (overlay + memory snapshot) from an image" },
        { "restore", &cmd_restore, NEED_PIPELINE | JSON, "Restore a snapshot the way Cuckoo3 does and time it" },
        { "cloakcheck", &cmd_cloakcheck, NEED_PIPELINE | NEED_REPO_CURRENT | JSON,
          "Run the cloak detector in a VM, image or guest and print its scorecard" },
        { "list", &cmd_list, NEED_REPO | JSON, "List images, snapshots or dependencies" },
        { "delimg", &cmd_delimg, NEED_PIPELINE | NEED_REPO_CURRENT, "Delete an image and its disk" },
        { "delvm", &cmd_delvm, NEED_PIPELINE | NEED_REPO_CURRENT, "Delete a snapshot VM and its files" },
        { "clone", &cmd_clone, NEED_PIPELINE | NEED_REPO_CURRENT, "Copy an image under a new name" },
        { "import", &cmd_import, NEED_PIPELINE | NEED_REPO_CURRENT,
          "Adopt a hand-built disk whose OS and agent are installed as an image" },
        { "createiso", &cmd_createiso, NEED_PIPELINE, "Build the unattended install ISO only" },
        { "isodownload", &cmd_isodownload, 0, "Download a known Windows ISO and check its hash" },
        { "deps", &cmd_deps, 0, "Fetch dependency files ahead of time, or verify the cache" },
        { "bridge", &cmd_bridge, 0, "Create or check the host bridge and qemu-bridge-helper (root)" },
        { "internet", &cmd_internet, JSON, "Give a bridged guest temporary internet (root; VMCloak's vmcloak-iptables)" },
        { "doctor", &cmd_doctor, JSON, "Check that this host can build and run vmcloak VMs" },
        { "migrate", &cmd_migrate, NEED_REPO, "Upgrade repository.db to the current schema" },
        { "export", &cmd_export, NEED_PIPELINE, "Export an image or VM for another sandbox" },
        { "cleanup", &cmd_cleanup, NEED_PIPELINE, "Remove leftovers of an interrupted run for a VM" },
        { "help", &cmd_help, 0, "Show help for vmcloak or one command" },
        { "__generate", &cmd_generate, HIDDEN, "Write the man pages or a shell completion (the build)" },
        { "__complete", &cmd_complete, HIDDEN, "Print names for the shell completions" },
};

static const char description[] = "Build ready-to-use, cloaked QEMU/KVM virtual machines for malware sandboxes\n"
                                  "(Cuckoo3, CAPE) with nobody at the keyboard.";

static void print_main_help(void) {
        printf("Usage: vmcloak [GLOBAL OPTIONS] COMMAND [ARGS]\n\n%s\n\nCommands:\n", description);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (!(commands[i].flags & HIDDEN))
                        printf("  %-12s %s\n", commands[i].name, commands[i].summary);
        printf("\nGlobal options (before or after the command):\n");
        args_print_options(args_global_opts, true);
        printf("\nRun 'vmcloak COMMAND --help' for the options of one command.\n");
}

/* vmcloak __generate man|bash|zsh DIR: the build's man pages and completions, from the table
 * above and each command's options. */
static int generate_main(int argc, char **argv) {
        struct cmd_info info[ELEMENTSOF(commands)];
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (!(commands[i].flags & HIDDEN))
                        info[n++] = (struct cmd_info){ commands[i].name, commands[i].summary, commands[i].def->spec };
        return gendoc_main(info, n, description, argc, argv);
}

static const struct command *find_command(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, name))
                        return &commands[i];
        return NULL;
}

/* --json given to a command without a JSON document: one usage line naming those that have one
 * (rather than plain text on stdout that a script's JSON parser chokes on). */
static int refuse_json(const struct command *c) {
        char list[256] = "";
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (commands[i].flags & JSON)
                        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s%s", *list ? ", " : "",
                                 commands[i].name, streq(commands[i].name, "internet") ? " status" : "");
        log_error("%s has no --json output; the commands that have it: %s", c->name, list);
        return EXIT_USAGE;
}

static int setup(unsigned flags, struct cmd_env *env) {
        bool current = flags & NEED_REPO_CURRENT;
        if (flags & NEED_PIPELINE) {
                int r = global_pipeline(&env->pl, current);
                if (r < 0)
                        return r;
                env->repo = env->pl->repo;
                return 0;
        }
        if (flags & (NEED_REPO | NEED_REPO_CURRENT))
                return global_repo(&env->repo, current);
        return 0;
}

/* Parse, check, set up, run, tear down; the exit code. */
static int run_builtin(const struct command *c, int argc, char **argv) {
        const struct cmd_def *d = c->def;
        if (d->run_argv)
                return d->run_argv(argc, argv);
        struct args a;
        int r = args_parse(&a, d->spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        struct cmd_env env = { .args = &a };
        int rc;
        if (global.json && !(c->flags & JSON))
                rc = refuse_json(c);
        /* -u USER: once the options parsed, before check() reads any file the command names
         * (--files-dir, the home's hardware.d) and before the home is touched. */
        else if (global_drop_user() < 0)
                rc = 1;
        else if (d->check && d->check(&a) < 0)
                rc = EXIT_USAGE;
        else if (setup(c->flags, &env) < 0)
                rc = 1;
        else
                rc = d->run(&env);
        if (d->done)
                d->done();
        args_free(&a);
        global_close();
        return rc;
}

static int help_main(int argc, char **argv) {
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                print_main_help();
                return 0;
        }
        const struct command *c = find_command(argv[1]);
        if (!c || c->def->run_argv) {
                if (!c)
                        log_error("unknown command '%s' (see 'vmcloak help')", argv[1]);
                else
                        print_main_help();
                return c ? 0 : EXIT_USAGE;
        }
        char *sub[] = { argv[1], (char *)"--help", NULL };
        return run_builtin(c, 2, sub);
}

static int unknown_command(const char *name) {
        const char *names[ELEMENTSOF(commands)];
        int n = 0;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (!(commands[i].flags & HIDDEN))
                        names[n++] = commands[i].name;
        const char *s = args_suggest(name, names, n);
        if (s)
                log_error("unknown command '%s'; did you mean '%s'? (see 'vmcloak help')", name, s);
        else
                log_error("unknown command '%s' (see 'vmcloak help' for the list)", name);
        return EXIT_USAGE;
}

/* vmcloak-iptables do|undo VM_IP IFACE...: VMCloak's script (spec §3), its arguments mapped onto
 * "internet on VM_IP --via IFACE..." and "internet off VM_IP" (off covers every interface of the
 * guest, so the IFACEs are not needed there). Fewer than 3 arguments or -h: its help, as VMCloak's. */
static int iptables_main(int argc, char **argv) {
        static const char usage[] =
                "Usage: vmcloak-iptables do|undo VM_IP IFACE...\n\n"
                "Give a bridged guest temporary internet through IFACE (do), or take it away again (undo).\n"
                "VMCloak's script, kept for its users: runs 'vmcloak internet on VM_IP --via IFACE...' or\n"
                "'vmcloak internet off VM_IP' (root; see 'vmcloak internet --help').\n";
        bool help = argc > 1 && (streq(argv[1], "-h") || streq(argv[1], "--help"));
        if (help || argc < 4) {
                fputs(usage, help ? stdout : stderr);
                return help ? 0 : EXIT_USAGE;
        }
        bool on = streq(argv[1], "do");
        if (!on && !streq(argv[1], "undo")) {
                log_error("unknown action '%s': use do or undo (see 'vmcloak-iptables --help')", argv[1]);
                return EXIT_USAGE;
        }
        /* "internet", "on"|"off", VM_IP, then "--via" IFACE per interface (do only), NULL. */
        size_t n_if = (size_t)argc - 3, n = 0;
        _cleanup_free_ char **sub = calloc(3 + 2 * n_if + 1, sizeof *sub);
        if (!sub)
                return log_oom(), 1;
        sub[n++] = (char *)"internet";
        sub[n++] = (char *)(on ? "on" : "off");
        sub[n++] = argv[2];
        for (size_t i = 0; on && i < n_if; i++) {
                sub[n++] = (char *)"--via";
                sub[n++] = argv[3 + i];
        }
        /* Messages that name the program to run again (internet's "run: sudo PROGRAM internet on
         * ...") name vmcloak beside this link, as the words after it are vmcloak's. */
        const char *base = strrchr(argv[0], '/');
        _cleanup_free_ char *self = strdup_printf("%.*svmcloak", base ? (int)(base + 1 - argv[0]) : 0, argv[0]);
        if (!self)
                return log_oom(), 1;
        program_invocation_name = self;
        return run_builtin(find_command("internet"), (int)n, sub);
}

int main(int argc, char **argv) {
        interrupt_install();
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        if (streq(base, "vmcloak-qemubridge")) {
                global.argv0_name = "vmcloak-qemubridge";
                argv[0] = (char *)"bridge";
                return run_builtin(find_command("bridge"), argc, argv);
        }
        if (streq(base, "vmcloak-iptables"))
                return iptables_main(argc, argv);

        /* Global options before the command. */
        int i = 1;
        for (; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];
                if (streq(a, "--version")) { /* main_only in args_global_opts */
                        printf("vmcloak %s\n", VMCLOAK_VERSION);
                        return 0;
                }
                if (streq(a, "-h") || streq(a, "--help")) {
                        print_main_help();
                        return 0;
                }
                const char *value;
                const struct optdef *o = args_global_lookup(a, &value);
                if (!o) {
                        log_error("unknown global option '%s' (see 'vmcloak --help')", a);
                        return EXIT_USAGE;
                }
                if (o->kind != ARG_FLAG && !value) {
                        if (i + 1 >= argc) {
                                log_error("option '--%s' needs a value (%s; see 'vmcloak --help')", o->name,
                                          o->metavar);
                                return EXIT_USAGE;
                        }
                        value = argv[++i];
                }
                /* VMCloak declares -q/--quiet with a value (any value means quiet) and so consumes
                 * the next word: take it unless it is a command name (our flag form, "vmcloak -q
                 * list") or an option. --quiet=X is taken by args_global_lookup(). */
                if ((streq(a, "-q") || streq(a, "--quiet")) && i + 1 < argc && argv[i + 1][0] != '-' &&
                    !find_command(argv[i + 1]))
                        i++;
                const char *name = o->name;
                if (global_apply_option(name, value) < 0)
                        return EXIT_USAGE;
        }
        if (i >= argc) {
                print_main_help();
                return EXIT_USAGE;
        }
        const struct command *c = find_command(argv[i]);
        if (!c)
                return unknown_command(argv[i]);
        int rc = run_builtin(c, argc - i, argv + i);
        if (rc != 0 && interrupted()) {
                /* The shell's convention: 128 + the signal (130 for Ctrl-C, 143 for SIGTERM). */
                log_error("interrupted; cleaned up");
                rc = 128 + interrupt_signal();
        }
        return rc;
}
