/* The parts of vmcloak __generate (cmd/gendoc.c): what a value completes to, the man pages
 * (cmd/gendoc_man.c) and the shell completions (cmd/gendoc_shell.c). Each writer prints to f. */
#pragma once

#include <stdio.h>

#include "cmd/args.h"
#include "cmd/cmd.h"

/* What a value (of an option or a positional argument) completes to. */
enum compl {
        C_NONE,
        C_FILE,
        C_DIR,
        C_IMAGES,   /* vmcloak __complete images */
        C_BRIDGED,  /* ... bridged: the images on a bridge (internet's IMAGE|IP) */
        C_VMS,      /* ... vms */
        C_NAMES,    /* ... names: images and VMs */
        C_DEPS,     /* ... deps */
        C_HARDWARE, /* ... hardware */
        C_IFACE,    /* the host's network interfaces */
        C_USERS,    /* the host's user names (-u USER) */
        C_WORDS,    /* a fixed set of words (an enum option's choices, list's images|snapshots|...) */
};
/* The word vmcloak __complete takes for the kinds it lists (images, vms, names, deps,
 * hardware); NULL for the others. */
extern const char *const gendoc_compl_names[C_WORDS + 1];

/* What an option's value / a positional argument completes to: by its enum, its name ("image",
 * "hardware", "bridge"), its check (check_image_existing: images), else its metavar (PATH: files). */
enum compl gendoc_opt_compl(const struct optdef *o);
enum compl gendoc_pos_compl(const struct posdef *p);
/* An enum's choices as words ("auto, kvm or tcg" -> "auto kvm tcg"); malloc'd, NULL: no memory. */
char *gendoc_enum_words(const struct opt_enum *e);
/* The words of an option gendoc_opt_compl() calls C_WORDS: an enum's choices; migrate --revision's
 * head and VMCloak's alembic revisions (core/repo.h). Of a positional argument whose metavar is
 * its words ("on|off|status" -> "on off status"). malloc'd; NULL: none (or no memory). */
char *gendoc_opt_words(const struct optdef *o);
char *gendoc_pos_words(const struct posdef *p);
/* The words a command's first positional argument is one of, from its usage
 * ("images|snapshots|deps|hardware" -> "images snapshots deps hardware"); malloc'd, NULL: none. */
char *gendoc_usage_words(const struct cmd_spec *spec);

/* vmcloak.1: synopsis, description (paragraphs), the commands, global options, ENVIRONMENT,
 * FILES, EXIT STATUS, SEE ALSO. date: the .TH date, YYYY-MM-DD. */
void gendoc_man_main(FILE *f, const struct cmd_info *cmds, size_t n, const char *description, const char *date);
/* vmcloak-COMMAND.1 of a command with a spec: synopsis (its usage), description, arguments,
 * options with metavar and default as --help shows them, global options. */
void gendoc_man_command(FILE *f, const struct cmd_info *c, const char *date);
/* The bash completion (sourced; complete -F _vmcloak vmcloak vmcloak-qemubridge). */
void gendoc_bash(FILE *f, const struct cmd_info *cmds, size_t n);
/* The zsh completion (#compdef vmcloak vmcloak-qemubridge). */
void gendoc_zsh(FILE *f, const struct cmd_info *cmds, size_t n);
