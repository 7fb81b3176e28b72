/* Declarative command-line options: one table per command gives getopt_long its options
 * and the --help text (every option with its default), so the two cannot drift apart. */
#pragma once

#include <stdbool.h>

enum arg_kind {
        ARG_FLAG,      /* no value; value "1" when given */
        ARG_VALUE,     /* one value; the last one given wins */
        ARG_LIST,      /* may repeat; every value kept in order */
};

struct optdef {
        const char *name;      /* long name without "--" */
        char short_name;       /* 0: none */
        enum arg_kind kind;
        const char *metavar;   /* e.g. "IP" */
        const char *def;       /* default shown in --help (NULL: none) */
        const char *help;
};

struct cmd_spec {
        const char *name;          /* "init" */
        const char *usage;         /* "[OPTIONS] NAME ADAPTER" */
        const char *summary;       /* one line */
        const char *description;   /* paragraph(s) after the usage, or NULL */
        const struct optdef *opts; /* terminated by { NULL } */
        int min_pos, max_pos;      /* positional argument count; max -1: unlimited */
};

#define ARGS_MAX_OPTS 96

struct args {
        const struct cmd_spec *spec;
        const char *value[ARGS_MAX_OPTS];
        char **list[ARGS_MAX_OPTS];
        char **pos;                /* positional arguments */
        int npos;
};

/* Parse argv (argv[0] is the command name). Handles --help (prints, returns 1) and the
 * global options every command accepts (--debug, --quiet, --json, --no-color, --home).
 * Returns 0, 1 when help was printed, or -EINVAL after printing one error line. */
int args_parse(struct args *a, const struct cmd_spec *spec, int argc, char **argv);
void args_free(struct args *a);
const char *args_get(const struct args *a, const char *name);      /* NULL when not given */
const char *args_get_or(const struct args *a, const char *name);   /* the default when not given */
bool args_flag(const struct args *a, const char *name);
bool args_has(const struct args *a, const char *name);             /* the command defines it */
char **args_list(const struct args *a, const char *name);          /* NULL-terminated, may be NULL */
void args_print_help(const struct cmd_spec *spec);

/* Closest candidate within edit distance 3 (for "did you mean"), or NULL. */
const char *args_suggest(const char *word, const char *const *candidates, int n);
