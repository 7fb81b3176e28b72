/* The shell completions of vmcloak __generate: bash ("vmcloak") and zsh ("_vmcloak"). */
#include "cmd/gendoc.h"

#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"

/* A word list for a shell single-quoted string (option names, choices: no quotes in them). */
static void sh_quote(FILE *f, const char *s) {
        fputc('\'', f);
        for (; *s; s++)
                if (*s == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*s, f);
        fputc('\'', f);
}

static void bash_option_words(FILE *f, const struct optdef *opts, bool main_only) {
        for (const struct optdef *o = opts; o && o->name; o++) {
                if (o->main_only && !main_only)
                        continue;
                if (o->short_name)
                        fprintf(f, " -%c", o->short_name);
                fprintf(f, " --%s", o->name);
        }
}

static void bash_option_patterns(FILE *f, const char *cmd, const struct optdef *o) {
        if (o->short_name)
                fprintf(f, "\"%s -%c\"|", cmd, o->short_name);
        fprintf(f, "\"%s --%s\"", cmd, o->name);
}

/* What completes each value kind that needs no argument: bash (the word begun in $3, into
 * COMPREPLY) and zsh (an _arguments action). */
static const struct {
        const char *bash, *zsh;
} shell_action[] = {
        [C_NONE] = { ":", " " },
        [C_FILE] = { "_vmcloak_files \"$3\"", "_files" },
        [C_DIR] = { "_vmcloak_dirs \"$3\"", "_files -/" },
        [C_IFACE] = { "_vmcloak_ifaces \"$3\"", "_net_interfaces" },
        [C_USERS] = { "_vmcloak_users \"$3\"", "_users" },
};

static void bash_action(FILE *f, enum compl c, const char *words) {
        if (c == C_WORDS) {
                fputs("_vmcloak_words ", f);
                sh_quote(f, words);
                fputs(" \"$3\"", f);
        } else if (c < ELEMENTSOF(gendoc_compl_names) && gendoc_compl_names[c])
                fprintf(f, "_vmcloak_names %s \"$3\"", gendoc_compl_names[c]);
        else
                fputs(shell_action[c].bash, f);
}

static const char bash_runtime[] =
        "_vmcloak_words() {\n"
        "    local IFS=$' \\t\\n'\n"
        "    COMPREPLY=($(compgen -W \"$1\" -- \"$2\"))\n"
        "}\n"
        "_vmcloak_files() {\n"
        "    compopt -o filenames 2>/dev/null\n"
        "    local IFS=$'\\n'\n"
        "    COMPREPLY=($(compgen -f -- \"$1\"))\n"
        "}\n"
        "_vmcloak_dirs() {\n"
        "    compopt -o filenames 2>/dev/null\n"
        "    local IFS=$'\\n'\n"
        "    COMPREPLY=($(compgen -d -- \"$1\"))\n"
        "}\n"
        "_vmcloak_users() {\n"
        "    local IFS=$'\\n'\n"
        "    COMPREPLY=($(compgen -u -- \"$1\"))\n"
        "}\n"
        "_vmcloak_ifaces() {\n"
        "    local d n=\n"
        "    for d in /sys/class/net/*; do [[ -e $d ]] && n+=\" ${d##*/}\"; done\n"
        "    _vmcloak_words \"$n\" \"$1\"\n"
        "}\n"
        "# Names from the repository (vmcloak __complete reads it without creating anything), of the\n"
        "# home typed on the line (--home) or $VMCLOAK_HOME.\n"
        "_vmcloak_names() {\n"
        "    local bin=vmcloak\n"
        "    [[ ${_vmcloak_argv0##*/} == vmcloak ]] && bin=$_vmcloak_argv0\n"
        "    [[ $bin == \"~/\"* ]] && bin=$HOME/${bin#\"~/\"}\n"
        "    _vmcloak_words \"$(\"$bin\" \"${_vmcloak_home[@]}\" __complete \"$1\" 2>/dev/null)\" \"$2\"\n"
        "}\n"
        "_vmcloak() {\n"
        "    local cur=${COMP_WORDS[COMP_CWORD]} cmd= opt= w i n=0 _vmcloak_argv0=${COMP_WORDS[0]}\n"
        "    local -a _vmcloak_home=()\n"
        "    COMPREPLY=()\n"
        "    [[ ${COMP_WORDS[0]##*/} == vmcloak-qemubridge ]] && cmd=bridge\n"
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
        "        w=${COMP_WORDS[i]}\n"
        "        if [[ -n $opt ]]; then\n"
        "            [[ $w == = ]] && continue\n"
        "            [[ $opt == --home ]] && _vmcloak_home=(--home \"$w\")\n"
        "            opt=\n"
        "            continue\n"
        "        fi\n"
        "        case $w in\n"
        "        --home=*) _vmcloak_home=(--home \"${w#--home=}\"); continue ;;\n"
        "        -*=*) continue ;;\n"
        "        -*) _vmcloak_takes_value \"$cmd\" \"$w\" && opt=$w; continue ;;\n"
        "        esac\n"
        "        if [[ -z $cmd ]]; then cmd=$w; else n=$((n + 1)); fi\n"
        "    done\n"
        "    if [[ ${_vmcloak_home[1]} == \"~/\"* ]]; then _vmcloak_home[1]=$HOME/${_vmcloak_home[1]#\"~/\"}; fi\n"
        "    if [[ -n $opt ]]; then\n"
        "        [[ $cur == = ]] && cur=\n"
        "        _vmcloak_value \"$cmd\" \"$opt\" \"$cur\"\n"
        "        return 0\n"
        "    fi\n"
        "    if [[ $cur == -* ]]; then\n"
        "        if [[ -z $cmd ]]; then _vmcloak_words \"$_vmcloak_global\" \"$cur\"\n"
        "        else _vmcloak_words \"$(_vmcloak_options \"$cmd\")\" \"$cur\"; fi\n"
        "        return 0\n"
        "    fi\n"
        "    if [[ -z $cmd ]]; then\n"
        "        _vmcloak_words \"$_vmcloak_commands\" \"$cur\"\n"
        "        return 0\n"
        "    fi\n"
        "    _vmcloak_positional \"$cmd\" \"$n\" \"$cur\"\n"
        "    return 0\n"
        "}\n"
        "complete -F _vmcloak vmcloak vmcloak-qemubridge\n";

static void bash_values(FILE *f, const char *cmd, const struct optdef *opts) {
        for (const struct optdef *o = opts; o && o->name; o++) {
                enum compl c = gendoc_opt_compl(o);
                if (o->kind == ARG_FLAG || c == C_NONE)
                        continue;
                _cleanup_free_ char *w = c == C_WORDS ? gendoc_opt_words(o) : NULL;
                fputs("    ", f);
                bash_option_patterns(f, cmd, o);
                fputs(") ", f);
                bash_action(f, c, w ? w : "");
                fputs(" ;;\n", f);
        }
}

void gendoc_bash(FILE *f, const struct cmd_info *cmds, size_t n) {
        fputs("# bash completion for vmcloak and vmcloak-qemubridge\n"
              "# Generated by vmcloak __generate bash from its option tables; do not edit.\n",
              f);
        fputs("_vmcloak_commands='", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i ? " " : "", cmds[i].name);
        fputs("'\n_vmcloak_global='", f);
        bash_option_words(f, args_global_opts, true);
        fputs("'\n", f);

        fputs("# The options of command $1 (with the global ones).\n_vmcloak_options() {\n    case $1 in\n", f);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "    %s) echo '", cmds[i].name);
                if (cmds[i].spec)
                        bash_option_words(f, cmds[i].spec->opts, true);
                bash_option_words(f, args_global_opts, false);
                fputs("' ;;\n", f);
        }
        fputs("    *) echo \"$_vmcloak_global\" ;;\n    esac\n}\n", f);

        fputs("# Whether option $2 of command $1 (empty: before the command) takes a value.\n"
              "_vmcloak_takes_value() {\n    case \"$1 $2\" in\n",
              f);
        for (size_t i = 0; i < n; i++) {
                if (!cmds[i].spec)
                        continue;
                bool any = false;
                for (const struct optdef *o = cmds[i].spec->opts; o && o->name; o++) {
                        if (o->kind == ARG_FLAG)
                                continue;
                        fputs(any ? "|" : "    ", f);
                        bash_option_patterns(f, cmds[i].name, o);
                        any = true;
                }
                if (any)
                        fputs(") return 0 ;;\n", f);
        }
        fputs("    esac\n    case $2 in\n", f);
        bool any = false;
        for (const struct optdef *o = args_global_opts; o->name; o++) {
                if (o->kind == ARG_FLAG)
                        continue;
                if (o->short_name)
                        fprintf(f, "%s-%c", any ? "|" : "    ", o->short_name), any = true;
                fprintf(f, "%s--%s", any ? "|" : "    ", o->name);
                any = true;
        }
        if (any)
                fputs(") return 0 ;;\n", f);
        fputs("    esac\n    return 1\n}\n", f);

        fputs("# The value of option $2 of command $1, begun as $3.\n_vmcloak_value() {\n    case \"$1 $2\" in\n", f);
        for (size_t i = 0; i < n; i++)
                if (cmds[i].spec)
                        bash_values(f, cmds[i].name, cmds[i].spec->opts);
        fputs("    *)\n        case $2 in\n", f);
        for (const struct optdef *o = args_global_opts; o->name; o++) {
                enum compl c = gendoc_opt_compl(o);
                if (o->kind == ARG_FLAG || c == C_NONE)
                        continue;
                fputs("        ", f);
                if (o->short_name)
                        fprintf(f, "-%c|", o->short_name);
                fprintf(f, "--%s) ", o->name);
                bash_action(f, c, "");
                fputs(" ;;\n", f);
        }
        fputs("        esac ;;\n    esac\n}\n", f);

        fputs("# Positional argument $2 (from 0) of command $1, begun as $3.\n"
              "_vmcloak_positional() {\n    case \"$1 $2\" in\n",
              f);
        for (size_t i = 0; i < n; i++) {
                const struct cmd_spec *s = cmds[i].spec;
                if (!s) {
                        fprintf(f, "    \"%s 0\") _vmcloak_words \"$_vmcloak_commands\" \"$3\" ;;\n", cmds[i].name);
                        continue;
                }
                _cleanup_free_ char *words = gendoc_usage_words(s);
                if (words && !(s->pos && s->pos[0].metavar)) {
                        fprintf(f, "    \"%s 0\") ", cmds[i].name);
                        bash_action(f, C_WORDS, words);
                        fputs(" ;;\n", f);
                }
                int k = 0;
                for (const struct posdef *p = s->pos; p && p->metavar; p++, k++) {
                        enum compl c = gendoc_pos_compl(p);
                        bool repeats = s->max_pos < 0 && !p[1].metavar;
                        if (c == C_NONE)
                                continue;
                        if (repeats)
                                fprintf(f, "    \"%s \"*) ", cmds[i].name);
                        else
                                fprintf(f, "    \"%s %d\") ", cmds[i].name, k);
                        _cleanup_free_ char *pw = gendoc_pos_words(p);
                        bash_action(f, c, pw ? pw : "");
                        fputs(" ;;\n", f);
                }
        }
        fputs("    esac\n}\n", f);
        fputs(bash_runtime, f);
}

/* --- zsh --- */

/* Text inside a single-quoted _arguments spec: quotes closed and reopened; ':' and '\\' escaped
 * (a message or action), brackets made parentheses (a description in [...]). */
static void zsh_text(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == '\'')
                        fputs("'\\''", f);
                else if (*s == ':' || *s == '\\')
                        fprintf(f, "\\%c", *s);
                else if (*s == '[' || *s == ']')
                        fputc(*s == '[' ? '(' : ')', f);
                else if (*s == '\n')
                        fputc(' ', f);
                else
                        fputc(*s, f);
        }
}

static void zsh_desc(FILE *f, const char *s) {
        fputc('[', f);
        for (; *s; s++)
                if (*s == '\'')
                        fputs("'\\''", f);
                else if (*s == '[' || *s == ']')
                        fputc(*s == '[' ? '(' : ')', f);
                else
                        fputc(*s == '\n' ? ' ' : *s, f);
        fputc(']', f);
}

static void zsh_action(FILE *f, enum compl c, const char *words) {
        if (c == C_WORDS) {
                fputs("(", f);
                zsh_text(f, words);
                fputs(")", f);
        } else if (c < ELEMENTSOF(gendoc_compl_names) && gendoc_compl_names[c])
                fprintf(f, "_vmcloak_names %s", gendoc_compl_names[c]);
        else
                fputs(shell_action[c].zsh, f);
}

/* One spec: "--name=[help]:METAVAR:action" ('=': the value in the same word or the next). */
static void zsh_spec(FILE *f, const struct optdef *o, const char *word) {
        bool value = o->kind != ARG_FLAG;
        fprintf(f, "%s%s", word, value && word[1] == '-' ? "=" : "");
        zsh_desc(f, o->help);
        if (!value)
                return;
        fputs(":", f);
        zsh_text(f, o->metavar ? o->metavar : "VALUE");
        fputs(":", f);
        _cleanup_free_ char *w = gendoc_opt_compl(o) == C_WORDS ? gendoc_opt_words(o) : NULL;
        zsh_action(f, gendoc_opt_compl(o), w ? w : "");
}

/* An option's specs: a list may repeat ('*'); a single one excludes both its spellings. */
static void zsh_option(FILE *f, const struct optdef *o) {
        char lng[80], shrt[4] = "";
        snprintf(lng, sizeof lng, "--%s", o->name);
        if (o->short_name)
                snprintf(shrt, sizeof shrt, "-%c", o->short_name);
        if (o->kind == ARG_LIST) {
                fputs("    '*", f);
                zsh_spec(f, o, lng);
                fputs("' \\\n", f);
                if (*shrt) {
                        fputs("    '*", f);
                        zsh_spec(f, o, shrt);
                        fputs("' \\\n", f);
                }
                return;
        }
        const char *words[] = { shrt, lng };
        for (int i = *shrt ? 0 : 1; i < 2; i++) {
                if (*shrt)
                        fprintf(f, "    '(%s %s)", shrt, lng);
                else
                        fputs("    '", f);
                zsh_spec(f, o, words[i]);
                fputs("' \\\n", f);
        }
}

static void zsh_command(FILE *f, const struct cmd_info *c) {
        fprintf(f, "_vmcloak_cmd_%s() {\n  _arguments -s -S : \\\n", c->name);
        const struct cmd_spec *s = c->spec;
        if (!s) {
                fputs("    ':command:_vmcloak_commands'\n}\n", f);
                return;
        }
        for (const struct optdef *o = s->opts; o && o->name; o++)
                zsh_option(f, o);
        for (const struct optdef *o = args_global_opts; o->name; o++)
                if (!o->main_only)
                        zsh_option(f, o);
        _cleanup_free_ char *words = gendoc_usage_words(s);
        if (words && !(s->pos && s->pos[0].metavar)) {
                fputs("    ':argument:", f);
                zsh_action(f, C_WORDS, words);
                fputs("' \\\n", f);
        }
        int k = 0;
        for (const struct posdef *p = s->pos; p && p->metavar; p++, k++) {
                bool repeats = s->max_pos < 0 && !p[1].metavar;
                fputs(repeats ? "    '*:" : k >= s->min_pos ? "    '::" : "    ':", f);
                zsh_text(f, p->metavar);
                fputs(":", f);
                _cleanup_free_ char *pw = gendoc_pos_words(p);
                zsh_action(f, gendoc_pos_compl(p), pw ? pw : "");
                fputs("' \\\n", f);
        }
        fputs("    && return 0\n  return 1\n}\n", f);
}

static const char zsh_runtime[] =
        "# Names from the repository (vmcloak __complete reads it without creating anything), of the\n"
        "# home typed on the line (--home) or $VMCLOAK_HOME.\n"
        "# _arguments calls it with compadd's options before the last word, the kind of name.\n"
        "_vmcloak_names() {\n"
        "  local -a names\n"
        "  local bin=vmcloak what=${@[-1]}\n"
        "  [[ ${_vmcloak_argv0:t} == vmcloak ]] && bin=${~_vmcloak_argv0}\n"
        "  names=(${(f)\"$(_call_program $what $bin ${_vmcloak_home} __complete $what 2>/dev/null)\"})\n"
        "  compadd \"${@[1,-2]}\" -a names\n"
        "}\n"
        "_vmcloak() {\n"
        "  local curcontext=$curcontext state line ret=1 i\n"
        "  local _vmcloak_argv0=$words[1]\n"
        "  local -a _vmcloak_home\n"
        "  i=${words[(I)--home]}\n"
        "  (( i && i < CURRENT - 1 )) && _vmcloak_home=(--home ${~words[i+1]})\n"
        "  i=${words[(I)--home=*]}\n"
        "  (( i && i < CURRENT )) && _vmcloak_home=(--home ${~words[i]#--home=})\n"
        "  if [[ ${words[1]:t} == vmcloak-qemubridge ]]; then\n"
        "    _vmcloak_cmd_bridge\n"
        "    return\n"
        "  fi\n"
        "  _arguments -C -s -S : \\\n";

void gendoc_zsh(FILE *f, const struct cmd_info *cmds, size_t n) {
        fputs("#compdef vmcloak vmcloak-qemubridge\n"
              "# zsh completion for vmcloak; generated by vmcloak __generate zsh from its option tables; do not edit.\n",
              f);
        fputs("_vmcloak_commands() {\n  local -a cmds\n  cmds=(\n", f);
        for (size_t i = 0; i < n; i++) {
                fputs("    '", f);
                zsh_text(f, cmds[i].name);
                fputs(":", f);
                zsh_text(f, cmds[i].summary);
                fputs("'\n", f);
        }
        fputs("  )\n  _describe -t commands 'vmcloak command' cmds\n}\n", f);
        for (size_t i = 0; i < n; i++)
                zsh_command(f, &cmds[i]);
        fputs(zsh_runtime, f);
        for (const struct optdef *o = args_global_opts; o->name; o++)
                zsh_option(f, o);
        fputs("    ':command:_vmcloak_commands' \\\n"
              "    '*::argument:->argument' && ret=0\n"
              "  if [[ $state == argument ]]; then\n"
              "    curcontext=${curcontext%:*:*}:vmcloak-$words[1]:\n"
              "    if (( $+functions[_vmcloak_cmd_$words[1]] )); then\n"
              "      _vmcloak_cmd_$words[1] && ret=0\n"
              "    fi\n"
              "  fi\n"
              "  return ret\n"
              "}\n"
              "_vmcloak \"$@\"\n",
              f);
}

