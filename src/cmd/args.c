/* Table-driven getopt_long parsing into typed fields, with generated --help and "did you mean" errors. */
#include "cmd/args.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/global.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"

/* The global options: main() parses them before the command (src/vmcloak.c), args_parse() after
 * it; both help texts, the man pages and the completions print this table. */
const struct optdef args_global_opts[] = {
        { "debug", 'd', ARG_FLAG, NULL, NULL, "Show debug output; init, install, modify, snapshot: VNC on too (VMCloak)" },
        { "quiet", 'q', ARG_FLAG, NULL, NULL, "Show only warnings and errors (VMCloak's -q X, --quiet X and --quiet=X too: X is ignored)" },
        { "user", 'u', ARG_VALUE, "USER", NULL, "Run as USER once the options parsed (root only)" },
        { "json", 0, ARG_FLAG, NULL, NULL, "The result as one JSON document on stdout (init, install, snapshot, restore, cloakcheck, list, internet status, doctor; others refuse it: docs/json.md)" },
        { "no-color", 0, ARG_FLAG, NULL, NULL, "Never color the output" },
        { "home", 0, ARG_VALUE, "DIR", "$VMCLOAK_HOME or ~/.vmcloak", "Where images, VMs and repository.db live" },
        { "qemu-binary", 0, ARG_VALUE, "PATH", "$VMCLOAK_QEMU or qemu-system-x86_64 in PATH",
          "The QEMU system emulator every run uses (e.g. a patched build)" },
        { "version", 0, ARG_FLAG, NULL, NULL, "Print the version", .main_only = true },
        { "help", 'h', ARG_FLAG, NULL, NULL, "Show this help" },
        { NULL },
};

static int count_opts(const struct optdef *o) {
        int n = 0;
        while (o && o[n].name)
                n++;
        return n;
}

static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return 99;
        size_t d[65][65];
        for (size_t i = 0; i <= la; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
                        if (d[i - 1][j] + 1 < c)
                                c = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < c)
                                c = d[i][j - 1] + 1;
                        d[i][j] = c;
                }
        return d[la][lb];
}

const char *args_suggest(const char *word, const char *const *candidates, int n) {
        const char *best = NULL;
        size_t bd = 4;
        for (int i = 0; i < n; i++) {
                size_t d = edit_distance(word, candidates[i]);
                /* A prefix of a candidate is a good guess too ("--hdd" for "--hddsize"). */
                if (startswith(candidates[i], word) && strlen(word) >= 3)
                        d = d < 2 ? d : 2;
                if (d < bd) {
                        bd = d;
                        best = candidates[i];
                }
        }
        return best;
}

static void print_opt(const struct optdef *o) {
        char left[64];
        char sh[8] = "    ";
        if (o->short_name)
                snprintf(sh, sizeof sh, "-%c, ", o->short_name);
        if (o->kind == ARG_FLAG)
                snprintf(left, sizeof left, "%s--%s", sh, o->name);
        else
                snprintf(left, sizeof left, "%s--%s %s", sh, o->name, o->metavar ? o->metavar : "VALUE");
        printf("  %-30s %s", left, o->help);
        if (o->kind == ARG_LIST)
                printf(" (may be repeated)");
        const char *def = o->def ? o->def : o->def_value;
        if (def)
                printf(" [default: %s]", def);
        putchar('\n');
}

void args_print_options(const struct optdef *opts, bool main_only) {
        for (const struct optdef *o = opts; o && o->name; o++)
                if (main_only || !o->main_only)
                        print_opt(o);
}

const struct optdef *args_global_lookup(const char *word, const char **ret_value) {
        *ret_value = NULL;
        for (const struct optdef *o = args_global_opts; o->name; o++) {
                if (o->short_name && word[0] == '-' && word[1] == o->short_name && !word[2])
                        return o;
                const char *rest = startswith(word, "--");
                rest = rest ? startswith(rest, o->name) : NULL;
                if (rest && !*rest)
                        return o;
                if (rest && *rest == '=' && o->kind != ARG_FLAG) {
                        *ret_value = rest + 1;
                        return o;
                }
                /* --quiet=X: VMCloak's -q/--quiet takes a value, which only means "quiet". */
                if (rest && *rest == '=' && streq(o->name, "quiet"))
                        return o;
        }
        return NULL;
}

void args_print_help(const struct cmd_spec *spec) {
        printf("Usage: vmcloak %s %s\n\n%s\n", spec->name, spec->usage, spec->summary);
        if (spec->description)
                printf("\n%s\n", spec->description);
        if (count_opts(spec->opts) > 0) {
                printf("\nOptions:\n");
                args_print_options(spec->opts, true);
        }
        printf("\nGlobal options:\n");
        args_print_options(args_global_opts, false);
}

static int find_opt(const struct cmd_spec *spec, const char *name) {
        int n = count_opts(spec->opts);
        for (int i = 0; i < n; i++)
                if (streq(spec->opts[i].name, name))
                        return i;
        return -1;
}

static void unknown_option(const struct cmd_spec *spec, const char *arg) {
        const char *names[ARGS_MAX_OPTS + 8];
        int n = 0;
        for (const struct optdef *o = spec->opts; o && o->name; o++)
                names[n++] = o->name;
        for (const struct optdef *o = args_global_opts; o->name; o++)
                if (!o->main_only)
                        names[n++] = o->name;
        const char *word = arg;
        while (*word == '-')
                word++;
        _cleanup_free_ char *w = strndup(word, strcspn(word, "="));
        const char *s = w ? args_suggest(w, names, n) : NULL;
        if (s)
                log_error("unknown option '%s' for '%s'; did you mean '--%s'? (see 'vmcloak %s --help')", arg,
                          spec->name, s, spec->name);
        else
                log_error("unknown option '%s' for '%s' (see 'vmcloak %s --help')", arg, spec->name, spec->name);
}

static bool has_field(const struct optdef *o) {
        return o->type != OPTION_UNBOUND && o->type != OPTION_READ && o->type != OPTION_NO_EFFECT;
}

/* Parse one value into o's field by o's type; one line on stderr when the type refuses it. */
static int bind_value(const struct optdef *o, const char *v, const char *opt) {
        switch (o->type) {
        case OPTION_STRING:
                *(const char **)o->field = v;
                return 0;
        case OPTION_UINT:
                return vcheck_uint(v, opt, o->min, o->max, o->field);
        case OPTION_PORT:
                return vcheck_port(v, opt, o->field);
        case OPTION_IPV4:
                if (vcheck_ipv4(v, opt, NULL) < 0)
                        return -EINVAL;
                *(const char **)o->field = v;
                return 0;
        case OPTION_CIDR:
                return vcheck_cidr(v, opt, o->field);
        case OPTION_SIZE:
                return vcheck_size(v, opt, o->unit, o->field) < 0 ? -EINVAL : 0;
        case OPTION_RESOLUTION: {
                unsigned w, h;
                if (parse_resolution(v, &w, &h) < 0) {
                        log_error("invalid %s '%s': use WIDTHxHEIGHT, e.g. 1024x768", opt, v);
                        return -EINVAL;
                }
                *(const char **)o->field = v;
                return 0;
        }
        case OPTION_ENUM:
                if (o->enumdef->parse(v, o->field) < 0) {
                        log_error("invalid %s '%s': use %s", opt, v, o->enumdef->choices);
                        return -EINVAL;
                }
                return 0;
        default:
                abort(); /* flags and lists carry no text to parse; unbound entries no field */
        }
}

/* One value of option o: its type (into its field), then its check. */
static int take_value(const struct args *a, const struct optdef *o, const char *v) {
        char opt[80];
        snprintf(opt, sizeof opt, "--%s", o->name);
        if (has_field(o) && o->type != OPTION_LIST && bind_value(o, v, opt) < 0)
                return -EINVAL;
        return o->check && o->check(a, v, opt) < 0 ? -EINVAL : 0;
}

static const struct posdef *posdef_of(const struct cmd_spec *spec, int n) {
        const struct posdef *last = NULL;
        for (int i = 0; spec->pos && spec->pos[i].metavar; i++) {
                if (i == n)
                        return &spec->pos[i];
                last = &spec->pos[i];
        }
        return spec->max_pos < 0 ? last : NULL;
}

/* Whether event e is the last one of its option (the value that counts). */
static bool last_of_option(const struct args *a, int e) {
        for (int j = e + 1; j < a->nevents; j++)
                if (a->events[j].opt == a->events[e].opt)
                        return false;
        return true;
}

/* Every bound field gets the value given, else its def_value, else zero (so a second parse
 * with the same table starts afresh). The values given are parsed and checked in the order
 * they were typed, positional arguments among them, so the first error named is the first
 * one typed; the def_values of the options not given follow, in table order. */
static int bind_all(const struct args *a) {
        const struct cmd_spec *spec = a->spec;
        for (int i = 0; spec->opts && spec->opts[i].name; i++) {
                const struct optdef *o = &spec->opts[i];
                if (!has_field(o) || args_is_unbound(spec, o->name))
                        continue;
                memset(o->field, 0, o->field_size);
                if (o->type == OPTION_BOOL)
                        *(bool *)o->field = a->value[i] != NULL;
                else if (o->type == OPTION_LIST)
                        *(char ***)o->field = a->list[i];
        }
        for (int e = 0; e < a->nevents; e++) {
                const struct arg_event *ev = &a->events[e];
                if (ev->opt < 0) {
                        const struct posdef *p = posdef_of(spec, ev->n);
                        if (p && p->check && p->check(a, ev->value, p->metavar) < 0)
                                return -EINVAL;
                        continue;
                }
                const struct optdef *o = &spec->opts[ev->opt];
                if (o->kind == ARG_FLAG || args_is_unbound(spec, o->name) || o->type == OPTION_NO_EFFECT)
                        continue;
                if (o->kind == ARG_VALUE && !last_of_option(a, e))
                        continue;
                if (take_value(a, o, ev->value) < 0)
                        return -EINVAL;
        }
        for (int i = 0; spec->opts && spec->opts[i].name; i++) {
                const struct optdef *o = &spec->opts[i];
                if (a->value[i] || !o->def_value || o->kind != ARG_VALUE || args_is_unbound(spec, o->name) ||
                    o->type == OPTION_NO_EFFECT)
                        continue;
                if (take_value(a, o, o->def_value) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* Whether the positional word POS (a pointer into argv) came right after -q or --quiet. */
static bool follows_quiet(int argc, char **argv, const char *pos) {
        for (int i = 1; i < argc; i++)
                if (argv[i] == pos)
                        return streq(argv[i - 1], "-q") || streq(argv[i - 1], "--quiet");
        return false;
}

int args_parse(struct args *a, const struct cmd_spec *spec, int argc, char **argv) {
        memset(a, 0, sizeof *a);
        a->spec = spec;
        int nspec = count_opts(spec->opts), nglob = 0;
        const struct optdef *globs[ARGS_MAX_OPTS];
        for (const struct optdef *o = args_global_opts; o->name; o++)
                if (!o->main_only && nglob < ARGS_MAX_OPTS)
                        globs[nglob++] = o;
        if (nspec + nglob >= ARGS_MAX_OPTS)
                abort();
        /* A cluster of short flags ("-ff") is one word and several events: a word has at most
         * as many events as characters. */
        size_t max_events = 1;
        for (int i = 0; i < argc; i++)
                max_events += strlen(argv[i]) + 1;
        a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
        a->events = calloc(max_events, sizeof *a->events);
        if (!a->pos || !a->events) {
                args_free(a);
                return log_oom();
        }
        struct option lopts[ARGS_MAX_OPTS + 1];
        /* Leading '-': GNU getopt hands each positional argument over in its place (as the value
         * of option 1), so options may follow positional arguments ("vmcloak init NAME br0 --ip
         * X") and every argument keeps its place in the order typed; "--" ends the options.
         * Then ':' reports a missing value as ':'. */
        char shorts[3 * ARGS_MAX_OPTS + 3] = "-:";
        int n = 0;
        const struct optdef *all[ARGS_MAX_OPTS];
        for (int i = 0; i < nspec + nglob; i++) {
                const struct optdef *o = i < nspec ? &spec->opts[i] : globs[i - nspec];
                all[n] = o;
                /* --quiet=X: VMCloak's -q takes a value, which only means "quiet". */
                int has_arg = o->kind != ARG_FLAG ? required_argument
                              : i >= nspec && streq(o->name, "quiet") ? optional_argument
                                                                       : no_argument;
                lopts[n] = (struct option){ o->name, has_arg, NULL, 1000 + n };
                if (o->short_name) {
                        size_t l = strlen(shorts);
                        shorts[l] = o->short_name;
                        shorts[l + 1] = 0;
                        if (o->kind != ARG_FLAG)
                                strcat(shorts, ":");
                }
                n++;
        }
        lopts[n] = (struct option){ 0 };

        optind = 0; /* full re-initialisation (GNU) */
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
                int idx = -1;
                if (c == 1) {
                        a->events[a->nevents++] = (struct arg_event){ .opt = -1, .n = a->npos, .value = optarg };
                        a->pos[a->npos++] = optarg;
                        continue;
                }
                if (c >= 1000)
                        idx = c - 1000;
                else if (c == '?') {
                        const char *bad = argv[optind - 1];
                        if (optopt && optopt < 1000 && !startswith(bad, "--")) {
                                char b[3] = { '-', (char)optopt, 0 };
                                unknown_option(spec, b);
                        } else
                                unknown_option(spec, bad);
                        args_free(a);
                        return -EINVAL;
                } else if (c == ':') {
                        const char *bad = argv[optind - 1];
                        log_error("option '%s' of '%s' needs a value (see 'vmcloak %s --help')", bad, spec->name,
                                  spec->name);
                        args_free(a);
                        return -EINVAL;
                } else {
                        for (int i = 0; i < n; i++)
                                if (all[i]->short_name == c)
                                        idx = i;
                }
                if (idx < 0)
                        abort();
                const struct optdef *o = all[idx];
                if (idx >= nspec) {
                        int r = global_apply_option(o->name, optarg);
                        if (r == 1) {
                                args_print_help(spec);
                                args_free(a);
                                return 1;
                        }
                        if (r < 0) {
                                args_free(a);
                                return r;
                        }
                        continue;
                }
                if (o->kind == ARG_FLAG)
                        a->value[idx] = "1";
                else if (o->kind == ARG_VALUE)
                        a->value[idx] = optarg;
                else if (strv_extend(&a->list[idx], optarg) < 0) {
                        args_free(a);
                        return log_oom();
                }
                a->events[a->nevents++] =
                        (struct arg_event){ .opt = idx, .value = o->kind == ARG_FLAG ? NULL : optarg };
        }
        /* After "--": positional arguments, whatever they look like. */
        for (; optind < argc; optind++) {
                a->events[a->nevents++] = (struct arg_event){ .opt = -1, .n = a->npos, .value = argv[optind] };
                a->pos[a->npos++] = argv[optind];
        }
        if (a->npos < spec->min_pos || (spec->max_pos >= 0 && a->npos > spec->max_pos)) {
                if (a->npos < spec->min_pos)
                        log_error("'%s' needs more arguments: vmcloak %s %s (see 'vmcloak %s --help')", spec->name,
                                  spec->name, spec->usage, spec->name);
                else if (follows_quiet(argc, argv, a->pos[spec->max_pos]))
                        /* After the command -q/--quiet is a flag (VMCloak had no -q there, and
                         * "delvm -q NAME" must keep NAME): say so when its word is the extra one. */
                        log_error("too many arguments for '%s' ('%s' is extra; after the command -q/--quiet "
                                  "takes no value: write --quiet=%s, or -q %s before the command)",
                                  spec->name, a->pos[spec->max_pos], a->pos[spec->max_pos],
                                  a->pos[spec->max_pos]);
                else
                        log_error("too many arguments for '%s' ('%s' is extra): vmcloak %s %s", spec->name,
                                  a->pos[spec->max_pos], spec->name, spec->usage);
                args_free(a);
                return -EINVAL;
        }
        if (bind_all(a) < 0) {
                args_free(a);
                return -EINVAL;
        }
        return 0;
}

void args_free(struct args *a) {
        for (int i = 0; i < ARGS_MAX_OPTS; i++) {
                strv_free(a->list[i]);
                a->list[i] = NULL;
        }
        free(a->pos);
        a->pos = NULL;
        a->npos = 0;
        free(a->events);
        a->events = NULL;
        a->nevents = 0;
}

const char *args_get(const struct args *a, const char *name) {
        int i = find_opt(a->spec, name);
        if (i < 0)
                abort(); /* a typo in the command's code, not user input */
        return a->value[i];
}

const char *args_get_or(const struct args *a, const char *name) {
        int i = find_opt(a->spec, name);
        if (i < 0)
                abort();
        return a->value[i] ? a->value[i] : a->spec->opts[i].def_value;
}

bool args_flag(const struct args *a, const char *name) { return args_get(a, name) != NULL; }

bool args_is_unbound(const struct cmd_spec *spec, const char *name) {
        for (const char *const *u = spec->unbound; u && *u; u++)
                if (streq(*u, name))
                        return true;
        return false;
}

char **args_list(const struct args *a, const char *name) {
        int i = find_opt(a->spec, name);
        if (i < 0)
                abort();
        return a->list[i];
}
