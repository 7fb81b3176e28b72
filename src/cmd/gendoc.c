/* vmcloak __generate: the man pages and the bash and zsh completions, written at build time from
 * the command table and the option tables --help prints, so none of them can drift from it. This
 * file: what each value completes to, and the files. */
#include "cmd/gendoc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/checks.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/repo.h"
#include "core/util.h"

const char *const gendoc_compl_names[C_WORDS + 1] = {
        [C_IMAGES] = "images", [C_BRIDGED] = "bridged", [C_VMS] = "vms", [C_NAMES] = "names", [C_DEPS] = "deps", [C_HARDWARE] = "hardware",
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
        if (streq(mv, "IMAGE|IP"))   /* internet: a bridged image (user-mode ones have no route), or an address typed */
                return C_BRIDGED;
        if (streq(mv, "VM"))
                return C_VMS;
        if (streq(mv, "VM|IMAGE") || streq(mv, "IMAGE|VM"))
                return C_NAMES;
        if (streq(mv, "ADAPTER") || streq(mv, "BRIDGE") || streq(mv, "INTERFACE"))
                return C_IFACE;
        if (startswith(mv, "DEPENDENCY"))
                return C_DEPS;
        if (streq(mv, "USER"))
                return C_USERS;
        /* Words to choose from ("on|off|status": internet's action). */
        if (strchr(mv, '|') && strspn(mv, "abcdefghijklmnopqrstuvwxyz|") == strlen(mv))
                return C_WORDS;
        return C_NONE;
}

/* The check's kind, the metavar's where that says more (a path checked by check_path: "DIR"). */
static enum compl compl_of(arg_check_fn check, const char *metavar) {
        enum compl c = compl_of_check(check), m = compl_of_metavar(metavar);
        return c == C_NONE || (c == C_FILE && m == C_DIR) ? m : c;
}

enum compl gendoc_opt_compl(const struct optdef *o) {
        if (o->kind == ARG_FLAG)
                return C_NONE;
        if (o->type == OPTION_ENUM && o->enumdef)
                return C_WORDS;
        /* Options named for what they take, whatever their metavar ("--image NAME"). */
        if (streq(o->name, "image"))
                return C_IMAGES;
        if (streq(o->name, "revision"))   /* migrate: head or a VMCloak alembic revision */
                return C_WORDS;
        if (streq(o->name, "hardware"))
                return C_HARDWARE;
        if (streq(o->name, "bridge") || streq(o->name, "interface") || streq(o->name, "adapter"))
                return C_IFACE;
        return compl_of(o->check, o->metavar);
}

enum compl gendoc_pos_compl(const struct posdef *p) { return compl_of(p->check, p->metavar); }

/* A list's text as words: "auto, kvm or tcg" -> "auto kvm tcg"; also "|" -> " ". */
static char *words_of(const char *choices) {
        char *w = strdup(choices);
        if (!w)
                return NULL;
        char *o = w;
        for (const char *s = choices; *s;) {
                if (startswith(s, " or ") || startswith(s, " and ")) {
                        *o++ = ' ';
                        s += s[1] == 'o' ? 4 : 5;
                } else if (*s == ',') {
                        s++;
                } else if (*s == '|') {
                        *o++ = ' ';
                        s++;
                } else
                        *o++ = *s++;
        }
        *o = 0;
        return w;
}

char *gendoc_enum_words(const struct opt_enum *e) { return words_of(e->choices); }

char *gendoc_opt_words(const struct optdef *o) {
        if (o->type == OPTION_ENUM && o->enumdef)
                return gendoc_enum_words(o->enumdef);
        if (streq(o->name, "revision")) {
                _cleanup_free_ char *revs = words_of(repo_alembic_revisions_text);
                return revs ? strdup_printf("head %s", revs) : NULL;
        }
        return NULL;
}

char *gendoc_pos_words(const struct posdef *p) {
        return gendoc_pos_compl(p) == C_WORDS ? words_of(p->metavar) : NULL;
}

/* Words a command's first positional argument is one of, from its usage: the first bare word of
 * each alternative ("images|snapshots|deps|hardware", "fetch ... | verify"). NULL: none. */
char *gendoc_usage_words(const struct cmd_spec *spec) {
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
        gendoc_man_main(f, g->cmds, g->n, g->description, g->date);
}
static void gen_command_page(FILE *f, const void *p) {
        const struct gen_ctx *g = p;
        gendoc_man_command(f, g->one, g->date);
}
static void gen_bash_file(FILE *f, const void *p) {
        const struct gen_ctx *g = p;
        gendoc_bash(f, g->cmds, g->n);
}
static void gen_zsh_file(FILE *f, const void *p) {
        const struct gen_ctx *g = p;
        gendoc_zsh(f, g->cmds, g->n);
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

