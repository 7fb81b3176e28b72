/* vmcloak __generate: the man pages and the bash and zsh completions, written at build time from
 * the command table and the option tables --help prints, so none of them can drift from it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/util.h"

#ifndef VMCLOAK_VERSION
#define VMCLOAK_VERSION "0.0.0"
#endif
#ifndef VMCLOAK_DATADIR
#define VMCLOAK_DATADIR "/usr/local/share/vmcloak"
#endif

/* What a value (of an option or a positional argument) completes to. */
enum compl {
        C_NONE,
        C_FILE,
        C_DIR,
        C_IMAGES,   /* vmcloak __complete images */
        C_VMS,      /* ... vms */
        C_NAMES,    /* ... names: images and VMs */
        C_DEPS,     /* ... deps */
        C_HARDWARE, /* ... hardware */
        C_IFACE,    /* the host's network interfaces */
        C_WORDS,    /* a fixed set of words (an enum option's choices, list's images|snapshots|...) */
};
static const char *const compl_names[] = {
        [C_IMAGES] = "images", [C_VMS] = "vms", [C_NAMES] = "names", [C_DEPS] = "deps", [C_HARDWARE] = "hardware",
};

/* By the value's check (the same rule --help's command enforces), else by its metavar. */
static enum compl compl_of_check(arg_check_fn check) {
        if (check == check_image_existing)
                return C_IMAGES;
        if (check == check_vm_existing)
                return C_VMS;
        if (check == check_existing)
                return C_NAMES;
        if (check == check_path)
                return C_FILE;
        if (check == check_ifname)
                return C_IFACE;
        return C_NONE;
}

static enum compl compl_of_metavar(const char *mv) {
        if (!mv)
                return C_NONE;
        if (strstr(mv, "DIR") && !strchr(mv, '='))
                return C_DIR;
        if (strstr(mv, "PATH") || strstr(mv, "FILE") || strstr(mv, "ISO") || streq(mv, "DISK"))
                return C_FILE;
        if (streq(mv, "IMAGE"))
                return C_IMAGES;
        if (streq(mv, "VM"))
                return C_VMS;
        if (streq(mv, "VM|IMAGE") || streq(mv, "IMAGE|VM"))
                return C_NAMES;
        if (streq(mv, "ADAPTER") || streq(mv, "BRIDGE") || streq(mv, "INTERFACE"))
                return C_IFACE;
        if (startswith(mv, "DEPENDENCY"))
                return C_DEPS;
        return C_NONE;
}

/* The check's kind, the metavar's where that says more (a path checked by check_path: "DIR"). */
static enum compl compl_of(arg_check_fn check, const char *metavar) {
        enum compl c = compl_of_check(check), m = compl_of_metavar(metavar);
        return c == C_NONE || (c == C_FILE && m == C_DIR) ? m : c;
}

static enum compl opt_compl(const struct optdef *o) {
        if (o->kind == ARG_FLAG)
                return C_NONE;
        if (o->type == OPTION_ENUM && o->enumdef)
                return C_WORDS;
        /* Options named for what they take, whatever their metavar ("--image NAME"). */
        if (streq(o->name, "image"))
                return C_IMAGES;
        if (streq(o->name, "hardware"))
                return C_HARDWARE;
        if (streq(o->name, "bridge") || streq(o->name, "interface") || streq(o->name, "adapter"))
                return C_IFACE;
        return compl_of(o->check, o->metavar);
}

static enum compl pos_compl(const struct posdef *p) { return compl_of(p->check, p->metavar); }

/* An enum's choices as words: "auto, kvm or tcg" -> "auto kvm tcg". */
static char *enum_words(const struct opt_enum *e) {
        char *w = strdup(e->choices);
        if (!w)
                return NULL;
        char *o = w;
        for (const char *s = e->choices; *s;) {
                if (startswith(s, " or ")) {
                        *o++ = ' ';
                        s += 4;
                } else if (*s == ',') {
                        s++;
                } else
                        *o++ = *s++;
        }
        *o = 0;
        return w;
}

/* Words a command's first positional argument is one of, from its usage: the first bare word of
 * each alternative ("images|snapshots|deps|hardware", "fetch ... | verify"). NULL: none. */
static char *usage_words(const struct cmd_spec *spec) {
        _cleanup_free_ char *u = strdup(spec->usage);
        char *out = calloc(1, strlen(spec->usage) + 2);
        if (!u || !out) {
                free(out);
                return NULL;
        }
        char *alt = u, *next;
        for (; alt; alt = next) {
                next = strstr(alt, " | ");
                if (next) {
                        *next = 0;
                        next += 3;
                }
                char *save = NULL;
                for (char *t = strtok_r(alt, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                        if (*t == '[' || *t == '-' || *t == '(')
                                continue;
                        if (strspn(t, "abcdefghijklmnopqrstuvwxyz|") == strlen(t)) {
                                if (*out)
                                        strcat(out, " ");
                                strcat(out, t);
                        }
                        break;
                }
        }
        for (char *p = out; *p; p++)
                if (*p == '|')
                        *p = ' ';
        if (!*out) {
                free(out);
                return NULL;
        }
        return out;
}

/* --- man pages --- */

/* Text for a troff text line: backslashes and hyphens escaped, a leading '.' or '\'' guarded. */
static void man_text(FILE *f, const char *s) {
        bool bol = true;
        for (; *s; s++) {
                if (bol && (*s == '.' || *s == '\''))
                        fputs("\\&", f);
                bol = *s == '\n';
                if (*s == '\\')
                        fputs("\\e", f);
                else if (*s == '-')
                        fputs("\\-", f);
                else if (bol && s[1] == '\n')
                        continue; /* no blank lines in troff input */
                else
                        fputc(*s, f);
        }
}

/* Paragraphs (blank-line separated) as .PP blocks; the first without one right after .SH. */
static void man_paragraphs(FILE *f, const char *s, bool after_sh) {
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return;
        char *p = copy;
        while (p) {
                char *next = strstr(p, "\n\n");
                if (next) {
                        *next = 0;
                        next += 2;
                }
                if (!after_sh || p != copy)
                        fputs(".PP\n", f);
                /* Indented lines (a little table in the text) keep their lines: no fill. */
                bool nofill = false;
                for (char *line = p, *end; line; line = end) {
                        end = strchr(line, '\n');
                        if (end)
                                *end++ = 0;
                        bool indented = *line == ' ';
                        if (indented != nofill)
                                fputs(indented ? ".nf\n" : ".fi\n", f);
                        nofill = indented;
                        man_text(f, line);
                        fputc('\n', f);
                }
                if (nofill)
                        fputs(".fi\n", f);
                p = next;
        }
}

static void man_header(FILE *f, const char *title, const char *date) {
        fprintf(f, ".\\\" Generated by vmcloak __generate man from its option tables; do not edit.\n");
        fprintf(f, ".TH %s 1 %s \"vmcloak %s\" \"vmcloak Manual\"\n", title, date, VMCLOAK_VERSION);
}

static void man_option(FILE *f, const struct optdef *o) {
        fputs(".TP\n", f);
        if (o->short_name)
                fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
        fputs("\\fB\\-\\-", f);
        man_text(f, o->name);
        fputs("\\fR", f);
        if (o->kind != ARG_FLAG) {
                fputs(" \\fI", f);
                man_text(f, o->metavar ? o->metavar : "VALUE");
                fputs("\\fR", f);
        }
        fputc('\n', f);
        man_text(f, o->help);
        if (o->kind == ARG_LIST)
                fputs(" (may be repeated)", f);
        const char *def = o->def ? o->def : o->def_value;
        if (def) {
                fputs(" [default: ", f);
                man_text(f, def);
                fputc(']', f);
        }
        if (o->type == OPTION_ENUM && o->enumdef) {
                fputs("; one of ", f);
                man_text(f, o->enumdef->choices);
        }
        fputc('\n', f);
}

static void man_options(FILE *f, const struct optdef *opts, bool main_only) {
        for (const struct optdef *o = opts; o && o->name; o++)
                if (main_only || !o->main_only)
                        man_option(f, o);
}

/* What a positional argument is, from its check. */
static const char *pos_meaning(const struct posdef *p) {
        if (p->check == check_image_existing)
                return "the name of an image in the repository";
        if (p->check == check_image_new)
                return "the name of a new image";
        if (p->check == check_vm_existing)
                return "the name of a snapshot VM in the repository";
        if (p->check == check_existing)
                return "the name of a snapshot VM or an image in the repository";
        if (p->check == check_path)
                return "a file path";
        if (p->check == check_ipv4)
                return "an IPv4 address";
        switch (pos_compl(p)) {
        case C_IFACE:
                return "a network interface of the host (a bridge)";
        case C_FILE:
                return "a file path";
        case C_DEPS:
                return "a dependency of the catalog (vmcloak list deps)";
        default:
                return NULL;
        }
}

static const char exit_status[] =
        ".SH EXIT STATUS\n"
        ".TP\n.B 0\nSuccess.\n"
        ".TP\n.B 1\nFailure; one line on standard error says what is wrong and how to fix it.\n"
        ".TP\n.B 2\nUsage error: an unknown command or option, a missing or wrong argument. Nothing was changed.\n"
        ".TP\n.B 128+N\nInterrupted by signal N (130 for Ctrl\\-C, 143 for SIGTERM), after cleaning up.\n";

static void man_command(FILE *f, const struct cmd_info *c, const char *date) {
        const struct cmd_spec *s = c->spec;
        char title[64];
        snprintf(title, sizeof title, "VMCLOAK-%s", c->name);
        for (char *p = title; *p; p++)
                *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        man_header(f, title, date);
        fputs(".SH NAME\nvmcloak\\-", f);
        man_text(f, c->name);
        fputs(" \\- ", f);
        man_text(f, c->summary);
        fputs("\n.SH SYNOPSIS\n.B vmcloak ", f);
        man_text(f, c->name);
        fputc('\n', f);
        man_text(f, s->usage);
        fputs("\n.SH DESCRIPTION\n", f);
        man_text(f, s->summary);
        fputc('\n', f);
        if (s->description)
                man_paragraphs(f, s->description, false);
        if (s->pos && s->pos[0].metavar) {
                fputs(".SH ARGUMENTS\n", f);
                for (const struct posdef *p = s->pos; p->metavar; p++) {
                        fputs(".TP\n.I ", f);
                        man_text(f, p->metavar);
                        fputc('\n', f);
                        const char *m = pos_meaning(p);
                        bool repeats = s->max_pos < 0 && !p[1].metavar;
                        man_text(f, m ? m : "see the synopsis and the description");
                        fprintf(f, "%s%s.\n", repeats ? "; may be given more than once" : "",
                                (int)(p - s->pos) >= s->min_pos ? " (optional)" : "");
                }
        }
        if (s->opts && s->opts[0].name) {
                fputs(".SH OPTIONS\n", f);
                man_options(f, s->opts, true);
        }
        fputs(".SH GLOBAL OPTIONS\nAccepted before or after the command; see \\fBvmcloak\\fR(1).\n", f);
        man_options(f, args_global_opts, false);
        fputs(exit_status, f);
        fputs(".SH SEE ALSO\n.BR vmcloak (1)\n", f);
}

/* The environment variables vmcloak reads (every getenv() of src/; tests/e2e/manpages.sh
 * checks that none is missing). */
static const struct {
        const char *name, *text;
} environment[] = {
        { "VMCLOAK_HOME", "The home: where images, VMs and repository.db live, unless \\-\\-home is given [default: ~/.vmcloak]." },
        { "VMCLOAK_QEMU", "The QEMU system emulator, unless \\-\\-qemu\\-binary is given [default: qemu\\-system\\-x86_64 in PATH]." },
        { "VMCLOAK_QEMU_IMG", "The qemu\\-img program [default: qemu\\-img in PATH]." },
        { "VMCLOAK_LIBVIRT_URI", "The libvirt connection URI of snapshot \\-\\-connect and the libvirt commands when none is given." },
        { "VMCLOAK_DATADIR", "The data directory (guest files, dependency catalog, hardware profiles) [default: " VMCLOAK_DATADIR "]." },
        { "VMCLOAK_BRIDGE_HELPER", "The qemu\\-bridge\\-helper program bridged guests use [default: the one beside QEMU]." },
        { "VMCLOAK_BRIDGE_ACL", "The bridge helper's ACL file (bridge.conf) [default: the helper's own]." },
        { "VMCLOAK_KVM_DEVICE", "The KVM device [default: /dev/kvm]." },
        { "VMCLOAK_KVM_PROBE_CACHE", "Where the result of the KVM probe is cached (tests)." },
        { "VMCLOAK_KVM_PROBE_TIMEOUT_MS", "How long the KVM probe may take, in milliseconds (tests)." },
        { "VMCLOAK_GUEST_AGENT", "The agent program the built\\-in linux guest runs (tests)." },
        { "VMCLOAK_BENCH_NO_MEMPREP", "1: snapshot skips the memory preparation (benchmarks only)." },
        { "SOURCE_DATE_EPOCH", "The file times in the built\\-in linux guest's initramfs (reproducible builds)." },
        { "XDG_RUNTIME_DIR", "Where the KVM probe result is cached (vmcloak/ below it)." },
        { "HOME", "The home is ~/.vmcloak below it unless \\-\\-home or VMCLOAK_HOME says otherwise." },
        { "TMPDIR", "Where temporary files go [default: /tmp]." },
        { "NO_COLOR", "When set, the output is never colored (as \\-\\-no\\-color); so is it when TERM is unset or dumb." },
};

static const struct {
        const char *path, *text;
} files_layout[] = {
        { "repository.db", "The SQLite repository of images and snapshot VMs (VMCloak's schema)." },
        { "image/NAME.qcow2", "The disk of each image." },
        { "vms/qemu/VMNAME/", "Each snapshot VM: its overlay disk, memory snapshot and QEMU configuration." },
        { "vms/libvirt/VMNAME/", "Snapshot VMs on libvirt hosts (snapshot \\-\\-connect)." },
        { "iso/", "Install media (isodownload, init)." },
        { "deps/", "Downloaded dependency files (deps fetch, install)." },
        { "files/", "Dependency files you bring yourself." },
        { "deps.d/", "Your own dependency catalog entries (YAML); one replaces a shipped one of its name." },
        { "hardware.d/", "Your own hardware profiles (YAML); one replaces a shipped one of its name." },
        { "cache/", "Downloaded installer and kernel files kept between runs." },
        { "log/IMAGE/", "The logs of each image's runs." },
        { "fleet/", "snapshot \\-\\-count's fleet templates, one folder per run." },
};

static void man_main(FILE *f, const struct cmd_info *cmds, size_t n, const char *description, const char *date) {
        man_header(f, "VMCLOAK", date);
        fputs(".SH NAME\nvmcloak \\- build cloaked QEMU/KVM virtual machines for malware sandboxes\n"
              ".SH SYNOPSIS\n.B vmcloak\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n"
              ".br\n.B vmcloak\n\\fICOMMAND\\fR \\fB\\-\\-help\\fR\n"
              ".br\n.B vmcloak\\-qemubridge\n[\\fIOPTIONS\\fR] [\\fIBRIDGE CIDR\\fR]\n"
              ".SH DESCRIPTION\n",
              f);
        man_paragraphs(f, description, true);
        fputs(".PP\nEach command has its own page, \\fBvmcloak\\-\\fR\\fICOMMAND\\fR(1), and prints its options with "
              "\\fBvmcloak\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR. Reached as \\fBvmcloak\\-qemubridge\\fR the program "
              "is \\fBvmcloak bridge\\fR.\n.SH COMMANDS\n",
              f);
        for (size_t i = 0; i < n; i++) {
                fputs(".TP\n.B ", f);
                man_text(f, cmds[i].name);
                fputc('\n', f);
                man_text(f, cmds[i].summary);
                if (cmds[i].spec) {
                        fputs("; see \\%\\fBvmcloak\\-", f);
                        man_text(f, cmds[i].name);
                        fputs("\\fR(1)", f);
                }
                fputs(".\n", f);
        }
        fputs(".SH GLOBAL OPTIONS\nAccepted before or after the command (\\-\\-version only before it).\n", f);
        man_options(f, args_global_opts, true);
        fputs(".SH ENVIRONMENT\n", f);
        for (size_t i = 0; i < ELEMENTSOF(environment); i++)
                fprintf(f, ".TP\n.B %s\n%s\n", environment[i].name, environment[i].text);
        fputs(".SH FILES\n.TP\n.I ~/.vmcloak/\nThe home (\\-\\-home or $VMCLOAK_HOME instead), with:\n", f);
        for (size_t i = 0; i < ELEMENTSOF(files_layout); i++) {
                fputs(".TP\n.I ~/.vmcloak/", f);
                man_text(f, files_layout[i].path);
                fprintf(f, "\n%s\n", files_layout[i].text);
        }
        fputs(".TP\n.I ", f);
        man_text(f, VMCLOAK_DATADIR "/");
        fputs("\nShipped data: guest files, the dependency catalog, hardware profiles, the cloak detectors "
              "($VMCLOAK_DATADIR instead).\n",
              f);
        fputs(exit_status, f);
        fputs(".SH SEE ALSO\n", f);
        for (size_t i = 0; i < n; i++)
                if (cmds[i].spec) {
                        fputs(".BR vmcloak\\-", f);
                        man_text(f, cmds[i].name);
                        fputs(" (1),\n", f);
                }
        fputs(".BR qemu\\-system\\-x86_64 (1),\n.BR qemu\\-img (1),\n.BR virsh (1)\n", f);
}

/* --- bash --- */

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
};

static void bash_action(FILE *f, enum compl c, const char *words) {
        if (c == C_WORDS) {
                fputs("_vmcloak_words ", f);
                sh_quote(f, words);
                fputs(" \"$3\"", f);
        } else if (c < ELEMENTSOF(compl_names) && compl_names[c])
                fprintf(f, "_vmcloak_names %s \"$3\"", compl_names[c]);
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
                enum compl c = opt_compl(o);
                if (o->kind == ARG_FLAG || c == C_NONE)
                        continue;
                _cleanup_free_ char *w = c == C_WORDS ? enum_words(o->enumdef) : NULL;
                fputs("    ", f);
                bash_option_patterns(f, cmd, o);
                fputs(") ", f);
                bash_action(f, c, w ? w : "");
                fputs(" ;;\n", f);
        }
}

static void gen_bash(FILE *f, const struct cmd_info *cmds, size_t n) {
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
                enum compl c = opt_compl(o);
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
                _cleanup_free_ char *words = usage_words(s);
                if (words && !(s->pos && s->pos[0].metavar)) {
                        fprintf(f, "    \"%s 0\") ", cmds[i].name);
                        bash_action(f, C_WORDS, words);
                        fputs(" ;;\n", f);
                }
                int k = 0;
                for (const struct posdef *p = s->pos; p && p->metavar; p++, k++) {
                        enum compl c = pos_compl(p);
                        bool repeats = s->max_pos < 0 && !p[1].metavar;
                        if (c == C_NONE)
                                continue;
                        if (repeats)
                                fprintf(f, "    \"%s \"*) ", cmds[i].name);
                        else
                                fprintf(f, "    \"%s %d\") ", cmds[i].name, k);
                        bash_action(f, c, "");
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
        } else if (c < ELEMENTSOF(compl_names) && compl_names[c])
                fprintf(f, "_vmcloak_names %s", compl_names[c]);
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
        _cleanup_free_ char *w = opt_compl(o) == C_WORDS ? enum_words(o->enumdef) : NULL;
        zsh_action(f, opt_compl(o), w ? w : "");
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
        _cleanup_free_ char *words = usage_words(s);
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
                zsh_action(f, pos_compl(p), "");
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

static void gen_zsh(FILE *f, const struct cmd_info *cmds, size_t n) {
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

/* --- files --- */

static FILE *open_out(const char *dir, const char *name, char **ret_path) {
        *ret_path = strdup_printf("%s/%s", dir, name);
        if (!*ret_path)
                return NULL;
        FILE *f = fopen(*ret_path, "we");
        if (!f)
                log_error_errno(-errno, "cannot write %s: %m", *ret_path);
        return f;
}

static int close_out(FILE *f, const char *path) {
        bool bad = ferror(f);
        if (fclose(f) != 0 || bad) {
                log_error("cannot write %s (disk full?)", path);
                return -EIO;
        }
        return 0;
}

static int write_file_with(const char *dir, const char *name, void (*gen)(FILE *, const void *), const void *arg) {
        _cleanup_free_ char *path = NULL;
        FILE *f = open_out(dir, name, &path);
        if (!f)
                return -EIO;
        gen(f, arg);
        return close_out(f, path);
}

struct gen_ctx {
        const struct cmd_info *cmds;
        size_t n;
        const char *description;
        const char *date;
        const struct cmd_info *one;
};

static void gen_main_page(FILE *f, const void *p) {
        const struct gen_ctx *g = p;
        man_main(f, g->cmds, g->n, g->description, g->date);
}
static void gen_command_page(FILE *f, const void *p) {
        const struct gen_ctx *g = p;
        man_command(f, g->one, g->date);
}
static void gen_bash_file(FILE *f, const void *p) {
        const struct gen_ctx *g = p;
        gen_bash(f, g->cmds, g->n);
}
static void gen_zsh_file(FILE *f, const void *p) {
        const struct gen_ctx *g = p;
        gen_zsh(f, g->cmds, g->n);
}

/* SOURCE_DATE_EPOCH as YYYY-MM-DD (reproducible-builds.org), else 1970-01-01: never the clock. */
static void page_date(char *buf, size_t size) {
        const char *e = getenv("SOURCE_DATE_EPOCH");
        time_t t = e && *e ? (time_t)strtoll(e, NULL, 10) : 0;
        struct tm tm;
        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d", &tm) == 0)
                snprintf(buf, size, "1970-01-01");
}

int gendoc_main(const struct cmd_info *cmds, size_t n, const char *description, int argc, char **argv) {
        if (argc != 3 || (!streq(argv[1], "man") && !streq(argv[1], "bash") && !streq(argv[1], "zsh"))) {
                log_error("usage: vmcloak __generate man|bash|zsh DIR");
                return EXIT_USAGE;
        }
        const char *dir = argv[2];
        int r = mkdir_p(dir, 0755);
        if (r < 0) {
                log_error_errno(r, "cannot create %s: %m", dir);
                return 1;
        }
        char date[32];
        page_date(date, sizeof date);
        struct gen_ctx g = { cmds, n, description, date, NULL };
        if (streq(argv[1], "bash"))
                return write_file_with(dir, "vmcloak", gen_bash_file, &g) < 0 ? 1 : 0;
        if (streq(argv[1], "zsh"))
                return write_file_with(dir, "_vmcloak", gen_zsh_file, &g) < 0 ? 1 : 0;
        /* The pages of commands that are gone go too (the build reuses the folder). */
        DIR *d = opendir(dir);
        for (struct dirent *e; d && (e = readdir(d));)
                if (startswith(e->d_name, "vmcloak") && endswith(e->d_name, ".1"))
                        (void)unlinkat(dirfd(d), e->d_name, 0);
        if (d)
                closedir(d);
        if (write_file_with(dir, "vmcloak.1", gen_main_page, &g) < 0)
                return 1;
        for (size_t i = 0; i < n; i++) {
                if (!cmds[i].spec)
                        continue;
                g.one = &cmds[i];
                _cleanup_free_ char *name = strdup_printf("vmcloak-%s.1", cmds[i].name);
                if (!name || write_file_with(dir, name, gen_command_page, &g) < 0)
                        return 1;
        }
        return 0;
}
