/* Parsing of install tokens into a plan of steps. */
#include "deps/steps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

static void step_free(struct install_step *s) {
        free(s->name);
        free(s->version);
        free(s->src);
        free(s->dest);
        free(s->command);
}

void install_plan_free(struct install_plan *p) {
        for (size_t i = 0; i < p->n_steps; i++)
                step_free(&p->steps[i]);
        free(p->steps);
        strv_free(p->settings);
        *p = (struct install_plan){ 0 };
}

static int push(struct install_plan *p, struct install_step *s) {
        struct install_step *n = realloc(p->steps, sizeof *n * (p->n_steps + 1));
        if (!n) {
                step_free(s);
                return -ENOMEM;
        }
        n[p->n_steps++] = *s;
        p->steps = n;
        return 0;
}

static bool valid_dep_name(const char *s, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-'))
                        return false;
        }
        return true;
}

static int parse_token(struct install_plan *p, const char *tok) {
        struct install_step s = { 0 };
        const char *rest;
        if ((rest = startswith(tok, "file:"))) {
                /* The host path ends at the first ':'; the guest path may hold more (C:\...). */
                const char *colon = strchr(rest, ':');
                if (!colon || colon == rest || !colon[1]) {
                        log_error("invalid step '%s': expected file:SRC:DEST (a host file and where to put it in "
                                  "the guest)", tok);
                        return -EINVAL;
                }
                s.kind = STEP_FILE;
                s.src = strndup(rest, (size_t)(colon - rest));
                s.dest = strdup(colon + 1);
        } else if ((rest = startswith(tok, "run:"))) {
                if (isempty(rest)) {
                        log_error("invalid step '%s': expected run:COMMAND", tok);
                        return -EINVAL;
                }
                s.kind = STEP_RUN;
                s.command = strdup(rest);
        } else if ((rest = startswith(tok, "script:"))) {
                if (isempty(rest)) {
                        log_error("invalid step '%s': expected script:PATH (a script on this host)", tok);
                        return -EINVAL;
                }
                s.kind = STEP_SCRIPT;
                s.src = strdup(rest);
        } else if (strchr(tok, '.') && strchr(tok, '=')) {
                /* VMCloak's settings: pkg.version=V sets the version of an earlier "pkg". */
                const char *dot = strchr(tok, '.'), *eq = strchr(tok, '=');
                if (dot > eq || dot == tok || eq == dot + 1) {
                        log_error("invalid setting '%s': expected package.key=value", tok);
                        return -EINVAL;
                }
                size_t plen = (size_t)(dot - tok);
                if (startswith(dot + 1, "version=")) {
                        for (size_t i = p->n_steps; i-- > 0;) {
                                struct install_step *d = &p->steps[i];
                                if (d->kind == STEP_DEPENDENCY && strlen(d->name) == plen &&
                                    strncmp(d->name, tok, plen) == 0 && !d->version)
                                        return free_and_strdup(&d->version, eq + 1);
                        }
                }
                /* Given twice: the last one counts (VMCloak's dict), said aloud. */
                size_t klen = (size_t)(eq - tok) + 1;
                for (char **o = p->settings; o && *o; o++)
                        if (strncmp(*o, tok, klen) == 0) {
                                log_warning("setting %.*s given twice: '%s' replaces '%s'", (int)(klen - 1), tok,
                                            tok, *o);
                                return free_and_strdup(o, tok);
                        }
                return strv_extend(&p->settings, tok);
        } else {
                const char *colon = strchr(tok, ':');
                size_t nlen = colon ? (size_t)(colon - tok) : strlen(tok);
                if (!valid_dep_name(tok, nlen) || (colon && !colon[1])) {
                        log_error("invalid dependency '%s': expected name, name:version, package.key=value, or a "
                                  "step file:SRC:DEST, run:COMMAND, script:PATH", tok);
                        return -EINVAL;
                }
                s.kind = STEP_DEPENDENCY;
                s.version = colon ? strdup(colon + 1) : NULL;
                s.name = strndup(tok, nlen);
                if (!s.name || (colon && !s.version)) {
                        step_free(&s);
                        return -ENOMEM;
                }
                return push(p, &s);
        }
        s.name = strdup(tok);
        if (!s.name || (s.kind == STEP_FILE && (!s.src || !s.dest)) || (s.kind == STEP_RUN && !s.command) ||
            (s.kind == STEP_SCRIPT && !s.src)) {
                step_free(&s);
                return -ENOMEM;
        }
        return push(p, &s);
}

int install_plan_parse(char *const *tokens, struct install_plan *ret) {
        struct install_plan p = { 0 };
        STRV_FOREACH(t, tokens) {
                int r = parse_token(&p, *t);
                if (r < 0) {
                        install_plan_free(&p);
                        return r == -ENOMEM ? log_oom() : r;
                }
        }
        *ret = p;
        return 0;
}

char *install_step_describe(const struct install_step *s) {
        switch (s->kind) {
        case STEP_DEPENDENCY:
                return s->version ? strdup_printf("%s:%s", s->name, s->version) : strdup(s->name);
        case STEP_FILE:
                return strdup_printf("file %s -> %s", s->src, s->dest);
        case STEP_RUN:
                return strdup_printf("run '%s'", s->command);
        case STEP_SCRIPT:
                return strdup_printf("script %s", s->src);
        case STEP_REBOOT:
                return strdup("reboot");
        }
        return NULL;
}

int install_plan_add_reboot(struct install_plan *p) {
        struct install_step s = { .kind = STEP_REBOOT, .name = strdup("reboot") };
        return s.name ? push(p, &s) : -ENOMEM;
}
