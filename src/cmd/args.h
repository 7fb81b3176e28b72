/* Declarative command-line options: one table per command gives getopt_long its options, the
 * --help text (every option with its default) and the field each value is parsed into, so the
 * three cannot drift apart. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct args;
struct ipv4_net;

/* The syntax check of one value (an option's, after its type parsed it, or a positional
 * argument's): 0, or -EINVAL after one line naming what (the option "--ip" or the positional's
 * metavar "NAME"). It may read other arguments of a (args_get(), args_flag()), never state:
 * it runs before the repository or any file of the home is looked at. */
typedef int (*arg_check_fn)(const struct args *a, const char *value, const char *what);

enum arg_kind {
        ARG_FLAG,      /* no value */
        ARG_VALUE,     /* one value; the last one given wins */
        ARG_LIST,      /* may repeat; every value kept in order */
};

/* Where an option's value goes and how it is checked on the way. */
enum opt_type {
        OPTION_UNBOUND = 0,  /* an entry written without a binding: the table check (unit test) refuses it */
        OPTION_READ,         /* no field: the command reads it with args_get(), args_flag() or args_list() */
        OPTION_NO_EFFECT,    /* accepted (VMCloak has it), but nothing in this command uses it */
        OPTION_STRING,       /* const char *: the value as given */
        OPTION_BOOL,         /* bool: given or not */
        OPTION_UINT,         /* unsigned in [min, max] */
        OPTION_PORT,         /* uint16_t: a TCP port, 1..65535 */
        OPTION_IPV4,         /* const char *: the value, once it parsed as an IPv4 address */
        OPTION_CIDR,         /* struct ipv4_net: ADDRESS[/PREFIX]; a bare address means /24 */
        OPTION_SIZE,         /* uint64_t bytes: a number with an optional K/M/G/T; a bare one is in `unit` */
        OPTION_RESOLUTION,   /* const char *: the value, once it parsed as WIDTHxHEIGHT */
        OPTION_LIST,         /* char **: every value in order, NULL-terminated; NULL when none */
        OPTION_ENUM,         /* an enum: the name turned into its value by the enum's parse() */
};

/* The names of an enum option (OPT_ENUM_DEFINE). parse() writes the value into field, which
 * has the enum's own type, or returns -EINVAL; choices names them for the error line. */
struct opt_enum {
        int (*parse)(const char *name, void *field);
        const char *choices;   /* "auto, kvm or tcg" */
};

struct optdef {
        const char *name;      /* long name without "--" */
        char short_name;       /* 0: none */
        enum arg_kind kind;
        const char *metavar;   /* e.g. "IP" */
        const char *def;       /* the default as --help shows it when that is no value ("the image's") */
        const char *help;
        enum opt_type type;
        void *field;           /* the bound field; NULL for OPT_READ and OPT_NO_EFFECT entries */
        size_t field_size;
        unsigned min, max;     /* OPT_UINT */
        uint64_t unit;         /* OPT_SIZE */
        const struct opt_enum *enumdef;
        const char *def_value; /* parsed into the field when the option is not given; --help shows it */
        arg_check_fn check;    /* the value's syntax beyond its type (each value of a list), or NULL */
        bool main_only;        /* a global option only before the command (--version) */
};

/* A positional argument: its name in messages and the check of its syntax (NULL: none). */
struct posdef {
        const char *metavar;
        arg_check_fn check;
};

struct cmd_spec {
        const char *name;          /* "init" */
        const char *usage;         /* "[OPTIONS] NAME ADAPTER" */
        const char *summary;       /* one line */
        const char *description;   /* paragraph(s) after the usage, or NULL */
        const struct optdef *opts; /* terminated by { NULL } */
        int min_pos, max_pos;      /* positional argument count; max -1: unlimited */
        /* Options of a shared block (cmd/vmopts.h) that this command does not take through their
         * binding: it reads them itself or they have no effect here. NULL-terminated, or NULL. */
        const char *const *unbound;
        /* The positional arguments, {NULL}-terminated, or NULL: none checked. With max_pos -1
         * the last entry applies to every further argument. */
        const struct posdef *pos;
};

#define ARGS_MAX_OPTS 96

/* One argument as typed: an option (its index in the spec) with its value, or a positional. */
struct arg_event {
        int opt;                   /* -1: a positional argument */
        int n;                     /* positional: its index in pos */
        const char *value;         /* NULL for a flag */
};

struct args {
        const struct cmd_spec *spec;
        const char *value[ARGS_MAX_OPTS];
        char **list[ARGS_MAX_OPTS];
        char **pos;                /* positional arguments, NULL-terminated */
        int npos;
        struct arg_event *events;  /* every argument in the order typed */
        int nevents;
};

/*
 * Parse argv (argv[0] is the command name) and fill every bound field: a given value parsed by
 * its type, else the option's def_value, else zero. Handles --help (prints it, returns 1) and the
 * global options every command accepts (--debug, --quiet, --json, --no-color, --home).
 * Errors, each after one line on stderr: an unknown option, a missing value or a wrong number of
 * positional arguments, then, in the order the user typed them, the first value its type or its
 * check refuses (options) or its posdef's check refuses (positional arguments); -EINVAL. An
 * option given twice is checked once, where its last value was typed; options not given get
 * their def_value afterwards.
 * On 0, call args_free() when done with a and with the bound fields (lists point into a).
 */
int args_parse(struct args *a, const struct cmd_spec *spec, int argc, char **argv);
void args_free(struct args *a);
/* The value given for option name (which the spec must define: abort() otherwise), or NULL. */
const char *args_get(const struct args *a, const char *name);
/* The value given, else the option's def_value (NULL when it has none). */
const char *args_get_or(const struct args *a, const char *name);
bool args_flag(const struct args *a, const char *name);
char **args_list(const struct args *a, const char *name);          /* NULL-terminated, may be NULL */
/* Whether the option is one a shared block binds but spec->unbound takes back. */
bool args_is_unbound(const struct cmd_spec *spec, const char *name);
void args_print_help(const struct cmd_spec *spec);
/* The lines of --help for each option of opts ({NULL}-terminated), with the main_only ones when
 * main_only; on stdout. */
void args_print_options(const struct optdef *opts, bool main_only);

/* The global options ({NULL}-terminated), for main()'s parsing before the command, both help
 * texts, the man pages and the completions. */
extern const struct optdef args_global_opts[];
/* The global option word is ("-d", "--home", "--home=DIR"), or NULL; *ret_value: the value
 * after '=' of an option that takes one, else NULL (main() takes the next word then). */
const struct optdef *args_global_lookup(const char *word, const char **ret_value);

/* Closest candidate within edit distance 3 (for "did you mean"), or NULL. */
const char *args_suggest(const char *word, const char *const *candidates, int n);

/*
 * Table entries, git's OPT_* style, e.g. OPT_UINT(0, "cpus", &req.cpus, 1, 255, "N", "Virtual CPUs", ...)
 * where "..." may add .def = "shown in --help only" or .def_value = "parsed when not given".
 * The field's type is checked at compile time against the option type (a _Generic that has
 * only the one right association).
 */
#define OPT_FIELD_(p, T) _Generic((p), T: (void *)(p))
#define OPT_ENTRY_(s_, n_, k_, t_, mv_, h_) \
        .name = (n_), .short_name = (s_), .kind = (k_), .metavar = (mv_), .help = (h_), .type = (t_)
#define OPT_BOUND_(s_, n_, k_, t_, p_, T_, mv_, h_) \
        OPT_ENTRY_(s_, n_, k_, t_, mv_, h_), .field = OPT_FIELD_(p_, T_), .field_size = sizeof *(p_)

#define OPT_STRING(s_, n_, p_, mv_, h_, ...) \
        { OPT_BOUND_(s_, n_, ARG_VALUE, OPTION_STRING, p_, const char **, mv_, h_), __VA_ARGS__ }
#define OPT_BOOL(s_, n_, p_, h_, ...) \
        { OPT_BOUND_(s_, n_, ARG_FLAG, OPTION_BOOL, p_, bool *, NULL, h_), __VA_ARGS__ }
#define OPT_UINT(s_, n_, p_, min_, max_, mv_, h_, ...)                                   \
        { OPT_BOUND_(s_, n_, ARG_VALUE, OPTION_UINT, p_, unsigned *, mv_, h_), .min = (min_), \
          .max = (max_), __VA_ARGS__ }
#define OPT_PORT(s_, n_, p_, mv_, h_, ...) \
        { OPT_BOUND_(s_, n_, ARG_VALUE, OPTION_PORT, p_, uint16_t *, mv_, h_), __VA_ARGS__ }
#define OPT_IPV4(s_, n_, p_, mv_, h_, ...) \
        { OPT_BOUND_(s_, n_, ARG_VALUE, OPTION_IPV4, p_, const char **, mv_, h_), __VA_ARGS__ }
#define OPT_CIDR(s_, n_, p_, mv_, h_, ...) \
        { OPT_BOUND_(s_, n_, ARG_VALUE, OPTION_CIDR, p_, struct ipv4_net *, mv_, h_), __VA_ARGS__ }
/* unit_: the bytes of a bare number (1ull << 30: "256" is 256 GiB). */
#define OPT_SIZE(s_, n_, p_, unit_, mv_, h_, ...) \
        { OPT_BOUND_(s_, n_, ARG_VALUE, OPTION_SIZE, p_, uint64_t *, mv_, h_), .unit = (unit_), __VA_ARGS__ }
#define OPT_RESOLUTION(s_, n_, p_, mv_, h_, ...) \
        { OPT_BOUND_(s_, n_, ARG_VALUE, OPTION_RESOLUTION, p_, const char **, mv_, h_), __VA_ARGS__ }
#define OPT_LIST(s_, n_, p_, mv_, h_, ...) \
        { OPT_BOUND_(s_, n_, ARG_LIST, OPTION_LIST, p_, char ***, mv_, h_), __VA_ARGS__ }
/* e_: an enum option type (OPT_ENUM_DECLARE); the field must have its enum type. */
#define OPT_ENUM(s_, n_, p_, e_, mv_, h_, ...) \
        { OPT_BOUND_(s_, n_, ARG_VALUE, OPTION_ENUM, p_, e_##_type *, mv_, h_), .enumdef = &(e_), __VA_ARGS__ }
/* Entries with no field say why; kind_ is ARG_FLAG, ARG_VALUE or ARG_LIST. */
#define OPT_READ(s_, n_, kind_, mv_, h_, ...) \
        { OPT_ENTRY_(s_, n_, kind_, OPTION_READ, mv_, h_), __VA_ARGS__ }
#define OPT_NO_EFFECT(s_, n_, kind_, mv_, h_, ...) \
        { OPT_ENTRY_(s_, n_, kind_, OPTION_NO_EFFECT, mv_, h_), __VA_ARGS__ }

/* An enum option type: OPT_ENUM_DECLARE(opt_accel, enum vm_accel) in a header, and
 * OPT_ENUM_DEFINE(opt_accel, enum vm_accel, vm_accel_from_string, "auto, kvm or tcg") in one .c
 * file, where from_string is int (const char *, T *) returning -EINVAL for an unknown name. */
#define OPT_ENUM_DECLARE(e_, T_) \
        typedef T_ e_##_type;    \
        extern const struct opt_enum e_
#define OPT_ENUM_DEFINE(e_, T_, from_string_, choices_)        \
        static int e_##_parse(const char *name, void *field) { \
                return from_string_(name, (T_ *)field);        \
        }                                                      \
        const struct opt_enum e_ = { e_##_parse, choices_ }
