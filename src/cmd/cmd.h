/* The subcommands: each src/cmd/<name>.c defines one struct cmd_def; the command table in
 * src/vmcloak.c names it with its set-up flags, and the dispatcher there parses the options into
 * the command's fields, runs check(), does the set-up, runs run() and tears down. */
#pragma once

#include "cmd/args.h"

#define EXIT_USAGE 2

struct pipeline;
struct repo;

/* What run() gets: the command line and what the command's set-up flags asked for. */
struct cmd_env {
        const struct args *args;   /* positional arguments; args_get() for options read by code */
        struct repo *repo;         /* NEED_REPO, NEED_REPO_CURRENT or NEED_PIPELINE; else NULL */
        struct pipeline *pl;       /* NEED_PIPELINE; else NULL */
};

struct cmd_def {
        const struct cmd_spec *spec;
        /* After the options are parsed, before any set-up (so a usage error never creates
         * ~/.vmcloak): the rules types cannot check, and fields from positional arguments.
         * Returns 0, or a negative errno after printing one line (exit 2). NULL: nothing to check. */
        int (*check)(const struct args *a);
        /* The work, after set-up. Returns the exit code (0 success, 1 failure, 2 usage). */
        int (*run)(const struct cmd_env *env);
        /* Frees what check() made, whether run() ran or not. NULL: nothing. */
        void (*done)(void);
        /* Instead of all of the above: a command that takes its argv as is (help). */
        int (*run_argv)(int argc, char **argv);
};

extern const struct cmd_def cmd_init;
extern const struct cmd_def cmd_import;
extern const struct cmd_def cmd_install;
extern const struct cmd_def cmd_modify;
extern const struct cmd_def cmd_snapshot;
extern const struct cmd_def cmd_restore;
extern const struct cmd_def cmd_list;
extern const struct cmd_def cmd_delimg;
extern const struct cmd_def cmd_delvm;
extern const struct cmd_def cmd_clone;
extern const struct cmd_def cmd_createiso;
extern const struct cmd_def cmd_isodownload;
extern const struct cmd_def cmd_bridge;
extern const struct cmd_def cmd_internet;
extern const struct cmd_def cmd_doctor;
extern const struct cmd_def cmd_migrate;
extern const struct cmd_def cmd_export;
extern const struct cmd_def cmd_cleanup;
extern const struct cmd_def cmd_deps;
extern const struct cmd_def cmd_cloakcheck;

/* vmcloak list deps (cmd/deps.c): VMCloak's table (spec §2.14) plus versions, OSes, tags and
 * where each file is; --json for scripts. vmcloak_layout: VMCloak's lines only, byte for byte
 * (its header before the names with name_only too). 0 or a negative errno after one line. */
int cmd_list_deps(bool name_only, const char *files_dir, bool vmcloak_layout);
/* vmcloak list hardware (cmd/hardware.c): one line per hardware profile (name, vendor, form, year,
 * description), the names, or every field with --json; of files (NULL: the catalog, shipped and
 * hardware.d). 0 or a negative errno after its lines. */
int cmd_list_hardware(bool name_only, char *const *files);

/* For commands whose work belongs to a later issue: says so (naming env's command and what)
 * and returns exit code 2. Never a fake success. */
int cmd_not_implemented(const struct cmd_env *env, const char *what);

/* A command as the man pages and completions see it (src/vmcloak.c's table). spec: NULL for one
 * that takes its argv as is (help). */
struct cmd_info {
        const char *name;
        const char *summary;
        const struct cmd_spec *spec;
};

/* vmcloak __generate man|bash|zsh DIR (cmd/gendoc.c): writes vmcloak.1 and vmcloak-COMMAND.1, the
 * bash completion "vmcloak" or the zsh completion "_vmcloak" into DIR, from cmds (n of them), the
 * program's description (paragraphs), each
 * command's option table and the global options. The .TH date is $SOURCE_DATE_EPOCH's (the build
 * is reproducible), else 1970-01-01. Exit code: 0, 1 (a file not written), 2 (usage). */
int gendoc_main(const struct cmd_info *cmds, size_t n, const char *description, int argc, char **argv);

/* vmcloak __complete images|vms|names|deps|hardware (cmd/complete.c): the names the shell
 * completions offer, one a line, from the repository of --home/$VMCLOAK_HOME/~/.vmcloak as it
 * is: nothing is created (no repository: no names) and nothing is printed on stderr. Exit code
 * 0, or 2 for an unknown word. */
int cmd_complete_main(int argc, char **argv);

/* Map a negative errno from a core call to an exit code (the message was already printed). */
static inline int exit_code_for(int r) { return r < 0 ? 1 : 0; }
