/* The step runner: catalog steps and generic steps executed through the guest agent. */
#include "deps/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"
#include "guest/profile.h"


/* --- registry --- */

/* The MS C runtime's argv quoting (CommandLineToArgvW): backslashes are literal except before
 * a '"', where 2n of them (+1 for an escaped quote) stand for n. */
static int append_quoted(char **buf, size_t *len, size_t *cap, const char *s) {
        size_t need = *len + strlen(s) * 2 + 4;
        if (need > *cap) {
                char *n = realloc(*buf, need);
                if (!n)
                        return -ENOMEM;
                *buf = n;
                *cap = need;
        }
        char *o = *buf + *len;
        *o++ = '"';
        for (const char *p = s;; p++) {
                size_t bs = 0;
                while (*p == '\\') {
                        bs++;
                        p++;
                }
                if (!*p) {
                        for (size_t i = 0; i < bs * 2; i++)   /* before the closing quote */
                                *o++ = '\\';
                        break;
                }
                if (*p == '"') {
                        for (size_t i = 0; i < bs * 2 + 1; i++)
                                *o++ = '\\';
                } else {
                        for (size_t i = 0; i < bs; i++)
                                *o++ = '\\';
                }
                *o++ = *p;
        }
        *o++ = '"';
        *o = '\0';
        *len = (size_t)(o - *buf);
        return 0;
}

static int append_raw(char **buf, size_t *len, size_t *cap, const char *s) {
        size_t l = strlen(s);
        if (*len + l + 1 > *cap) {
                size_t c = *len + l + 64;
                char *n = realloc(*buf, c);
                if (!n)
                        return -ENOMEM;
                *buf = n;
                *cap = c;
        }
        memcpy(*buf + *len, s, l + 1);
        *len += l;
        return 0;
}

int dep_reg_render(const struct dep_reg *reg, char **ret) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        int r = append_raw(&buf, &len, &cap, reg->delete ? "reg delete " : "reg add ");
        if (r == 0)
                r = append_quoted(&buf, &len, &cap, reg->key);
        if (r == 0 && reg->value) {
                r = append_raw(&buf, &len, &cap, " /v ");
                if (r == 0)
                        r = append_quoted(&buf, &len, &cap, reg->value);
        } else if (r == 0 && !reg->delete)
                r = append_raw(&buf, &len, &cap, " /ve");
        if (r == 0 && !reg->delete && reg->type) {
                r = append_raw(&buf, &len, &cap, " /t ");
                if (r == 0)
                        r = append_raw(&buf, &len, &cap, reg->type);
        }
        if (r == 0 && !reg->delete && reg->data) {
                r = append_raw(&buf, &len, &cap, " /d ");
                if (r == 0)
                        r = append_quoted(&buf, &len, &cap, reg->data);
        }
        if (r == 0)
                r = append_raw(&buf, &len, &cap, " /f");
        if (r < 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

/* --- before boot --- */

/* The host file behind a step's source; NULL with 0 for installer/file: (fetched later). */
static int host_source(const struct dep_plan_item *it, const struct dep_src *src, char **ret) {
        *ret = NULL;
        switch (src->kind) {
        case DEP_SRC_INSTALLER:
                return it->installer_path ? ((*ret = strdup(it->installer_path)) ? 0 : -ENOMEM) : 0;
        case DEP_SRC_FILE:
                for (size_t i = 0; i < it->dep->n_files && it->file_paths; i++)
                        if (streq(it->dep->files[i].filename, src->name))
                                return (*ret = strdup(it->file_paths[i])) ? 0 : -ENOMEM;
                return 0;
        case DEP_SRC_DATA:
                return (*ret = path_join(strempty(it->dep->dir), src->name)) ? 0 : -ENOMEM;
        case DEP_SRC_SETTING: {
                const char *v = dep_plan_item_setting(it, src->name);
                if (!v) {
                        log_error("%s: its setting %s is empty; give %s.%s=PATH", it->name, src->name, it->name,
                                  src->name);
                        return -EINVAL;
                }
                return (*ret = strdup(v)) ? 0 : -ENOMEM;
        }
        }
        return 0;
}

static bool step_uses_src(enum dep_step_kind k) {
        return k == DEP_STEP_UPLOAD || k == DEP_STEP_SCRIPT || k == DEP_STEP_EXTRACT || k == DEP_STEP_ATTACH_ISO;
}

static int check_readable(const char *path, const char *who) {
        if (access(path, R_OK) < 0)
                return log_error_errno(-errno, "cannot read %s (%s): %m", path, who);
        if (is_dir(path)) {
                log_error("%s (%s) is a directory; a file is needed", path, who);
                return -EISDIR;
        }
        return 0;
}

int dep_plan_check(const struct dep_plan *plan, const char *os, const char *arch, bool media_change) {
        for (size_t i = 0; i < plan->n; i++) {
                const struct dep_plan_item *it = &plan->items[i];
                if (it->kind == DEP_PLAN_STEP &&
                    (it->step->kind == STEP_FILE || it->step->kind == STEP_SCRIPT)) {
                        _cleanup_free_ char *who = strdup_printf("step '%s'", it->step->name);
                        int r = who ? check_readable(it->step->src, who) : log_oom();
                        if (r < 0)
                                return r;
                }
                if (it->kind != DEP_PLAN_DEP)
                        continue;
                for (size_t j = 0; j < it->dep->n_steps; j++) {
                        const struct dep_step *s = &it->dep->steps[j];
                        if (!dep_when_matches(&s->when, os, arch, it->version, it->set_keys, it->set_values))
                                continue;
                        if ((s->kind == DEP_STEP_ATTACH_ISO || s->kind == DEP_STEP_DETACH_ISO) && !media_change) {
                                log_error("%s: step %zu (%s) changes the VM's CD-ROM, which vmcloak cannot do with "
                                          "--no-machine-start; install it on a VM vmcloak starts", it->name, j + 1,
                                          dep_step_kind_name(s->kind));
                                return -EOPNOTSUPP;
                        }
                        if (!step_uses_src(s->kind) || s->src.kind == DEP_SRC_INSTALLER || s->src.kind == DEP_SRC_FILE)
                                continue;
                        _cleanup_free_ char *path = NULL;
                        int r = host_source(it, &s->src, &path);
                        _cleanup_free_ char *who = r == 0 ? strdup_printf("%s, step %zu (%s)", it->name, j + 1,
                                                                          dep_step_kind_name(s->kind))
                                                          : NULL;
                        if (r == 0)
                                r = who ? check_readable(path, who) : -ENOMEM;
                        if (r < 0)
                                return r == -ENOMEM ? log_oom() : r;
                }
        }
        return 0;
}

static int fetch_one(const struct dep_file *f, const char *label, const struct dep_fetch_opts *o, char **ret) {
        int r = dep_file_fetch(f, label, o, ret);
        if (r < 0 && r != -ECANCELED && r != -ENOMEM)
                return 1;  /* not to be had: the caller decides */
        return r;
}

int dep_plan_fetch(struct dep_plan *plan, const struct dep_fetch_opts *o, bool skip_unavailable,
                   const char *way_out) {
        for (size_t i = 0; i < plan->n; i++) {
                struct dep_plan_item *it = &plan->items[i];
                if (it->kind != DEP_PLAN_DEP || it->left_out)
                        continue;
                _cleanup_free_ char *label = it->version ? strdup_printf("%s %s", it->name, it->version)
                                                         : strdup(it->name);
                if (!label)
                        return log_oom();
                int r = 0;
                if (it->installer && !it->installer_path)
                        r = fetch_one(it->installer, label, o, &it->installer_path);
                if (r == 0 && it->dep->n_files > 0 && !it->file_paths) {
                        it->file_paths = calloc(it->dep->n_files + 1, sizeof(char *));
                        if (!it->file_paths)
                                return log_oom();
                }
                for (size_t j = 0; r == 0 && j < it->dep->n_files; j++)
                        r = fetch_one(&it->dep->files[j], label, o, &it->file_paths[j]);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (!skip_unavailable) {
                        log_error("%s cannot be installed without it; nothing was started (%s)", label,
                                  way_out ? way_out : "--skip-unavailable leaves such dependencies out");
                        return -ENOENT;
                }
                log_warning("%s is left out of this install: a file it needs cannot be had (--skip-unavailable)",
                            label);
                it->left_out = true;
        }
        return 0;
}

/* --- running --- */

/* The last few lines of a command's output, for the error message. */
static void log_output_tail(const char *what, const char *text) {
        if (isempty(text))
                return;
        size_t len = strlen(text);
        const char *p = text + len;
        int lines = 0;
        while (p > text && lines < 6) {
                p--;
                if (*p == '\n' && p != text + len - 1)
                        lines++;
        }
        if (*p == '\n')
                p++;
        log_error("  %s (last lines):", what);
        _cleanup_free_ char *copy = strdup(p);
        char *save = NULL;
        for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save))
                log_error("    %s", l);
}

void dep_exit_code_text(int code, char *buf, size_t size) {
        if (code < 0)
                snprintf(buf, size, "%u (0x%08X)", (unsigned)code, (unsigned)code);
        else
                snprintf(buf, size, "%d", code);
}

static bool code_in(int code, const int *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (list[i] == code)
                        return true;
        return false;
}

/* How a command's exit code is judged, and what the message calls it. */
struct judge {
        const char *what;          /* "gen: step 3 (run)" or "step 'run:false'" */
        const int *ok, *reboot;    /* NULL ok: {0} */
        size_t n_ok, n_reboot;
        bool ignore_failure;
        bool async;
        int timeout_ms;
};

/* Run command; 0 on success (1 when its exit code asks for a reboot), -EPROTO after the
 * failure's lines, or the agent's error. */
static int exec_judged(struct agent_client *agent, const char *command, const struct judge *j) {
        static const int zero = 0;
        struct agent_exec_opts o = { .timeout_ms = j->timeout_ms, .async = j->async };
        struct agent_exec_result res = { 0 };
        int r = agent_execute(agent, command, &o, &res);
        if (r == -ETIMEDOUT)
                log_error("%s: '%s' did not finish within %d s; it was stopped", j->what, command,
                          j->timeout_ms / 1000);
        if (r < 0) {
                agent_exec_result_done(&res);
                return r;
        }
        if (j->async) {
                agent_exec_result_done(&res);
                return 0;
        }
        char code[40];
        dep_exit_code_text(res.exit_code, code, sizeof code);
        bool ok = j->ok ? code_in(res.exit_code, j->ok, j->n_ok) : code_in(res.exit_code, &zero, 1);
        bool reboot = code_in(res.exit_code, j->reboot, j->n_reboot);
        if (ok || reboot) {
                log_debug("%s: '%s' exited with %s; stdout: %s", j->what, command, code, strempty(res.out));
                if (reboot)
                        log_info("%s: '%s' exited with %s: it worked, and the guest must reboot", j->what, command,
                                 code);
                agent_exec_result_done(&res);
                return reboot ? 1 : 0;
        }
        if (j->ignore_failure) {
                log_warning("%s: '%s' failed with exit code %s; going on (ignore_failure)", j->what, command,
                            code);
                agent_exec_result_done(&res);
                return 0;
        }
        if (res.error)
                log_error("%s failed: '%s': %s (exit code %s)", j->what, command, res.error, code);
        else
                log_error("%s failed: '%s' returned exit code %s", j->what, command, code);
        log_output_tail("stdout", res.out);
        log_output_tail("stderr", res.err);
        agent_exec_result_done(&res);
        return -EPROTO;
}

static const char *basename_of(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

static char *guest_temp_path(const struct os_profile *p, const char *name) {
        return strdup_printf("%s%c%s", p->cmd.temp_dir, p->path_sep, name);
}

/* How a profile runs an uploaded script: a .ps1 with its run_powershell (where it has one), any
 * other with its run_script. */
static const char *script_runner(const struct os_profile *p, const char *path) {
        size_t n = strlen(path);
        if (p->cmd.run_powershell && n > 4 && strcasecmp(path + n - 4, ".ps1") == 0)
                return p->cmd.run_powershell;
        return p->cmd.run_script;
}

/* Upload a host script and run it with the profile's run_script (run_powershell for a .ps1); the
 * copy goes after success. */
static int run_script(const struct install_target *t, const char *src, const struct judge *j) {
        _cleanup_free_ char *name = strdup_printf("vmcloak-%s", basename_of(src));
        _cleanup_free_ char *dest = name ? guest_temp_path(t->profile, name) : NULL;
        if (!dest)
                return log_oom();
        int r = agent_upload(t->agent, src, dest);
        if (r < 0)
                return r;
        const char *keys[] = { "path", NULL }, *vals[] = { dest, NULL };
        _cleanup_free_ char *cmd = NULL;
        r = guest_template_expand(script_runner(t->profile, dest), keys, vals, &cmd);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return log_error_errno(r, "bad run_script template in profile %s", t->profile->name);
        r = exec_judged(t->agent, cmd, j);
        if (r >= 0)
                (void)agent_remove(t->agent, dest);
        return r;
}

static int run_generic(const struct dep_plan_item *it, const struct install_target *t) {
        const struct install_step *s = it->step;
        _cleanup_free_ char *desc = install_step_describe(s);
        _cleanup_free_ char *what = desc ? strdup_printf("step '%s'", desc) : NULL;
        if (!what)
                return log_oom();
        struct judge j = { .what = what, .timeout_ms = t->cmd_timeout_ms };
        switch (s->kind) {
        case STEP_FILE:
                return agent_upload(t->agent, s->src, s->dest);
        case STEP_RUN:
                return exec_judged(t->agent, s->command, &j);
        case STEP_SCRIPT:
                return run_script(t, s->src, &j);
        case STEP_DEPENDENCY:
        case STEP_REBOOT:
                break;
        }
        return 0;
}

/* Template values of one dependency (catalog.h: version, os, arch, installer, file:NAME,
 * settings, agent), {{env:NAME}} through the agent. */
struct dep_ctx {
        const struct dep_plan_item *it;
        const struct install_target *t;
        char **keys, **values;
        char *agent_path;
        struct dep_vars vars;
};

static int ctx_getenv(void *userdata, const char *name, char **ret) {
        struct dep_ctx *c = userdata;
        int r = agent_getenv(c->t->agent, name, ret);
        if (r == -ENOENT)
                log_error("%s: the guest has no environment variable %s", c->it->name, name);
        return r;
}

static int ctx_add(struct dep_ctx *c, const char *key, const char *value) {
        if (!value)
                return 0;
        return strv_extend(&c->keys, key) < 0 || strv_extend(&c->values, value) < 0 ? -ENOMEM : 0;
}

static int ctx_init(struct dep_ctx *c, const struct dep_plan_item *it, const struct install_target *t) {
        *c = (struct dep_ctx){ .it = it, .t = t };
        int r = ctx_add(c, "version", it->version);
        if (r == 0)
                r = ctx_add(c, "os", t->os);
        if (r == 0)
                r = ctx_add(c, "arch", t->arch);
        if (r == 0 && it->installer)
                r = ctx_add(c, "installer", it->installer->filename);
        for (size_t i = 0; r == 0 && i < it->dep->n_files; i++) {
                _cleanup_free_ char *k = strdup_printf("file:%s", it->dep->files[i].filename);
                r = k ? ctx_add(c, k, it->dep->files[i].filename) : -ENOMEM;
        }
        for (size_t i = 0; r == 0 && it->set_keys && it->set_keys[i]; i++)
                r = ctx_add(c, it->set_keys[i], it->set_values[i]);
        c->vars = (struct dep_vars){ .keys = (const char *const *)c->keys, .values = (const char *const *)c->values,
                                     .getenv = ctx_getenv, .userdata = c };
        return r;
}

static void ctx_done(struct dep_ctx *c) {
        strv_free(c->keys);
        strv_free(c->values);
        free(c->agent_path);
}

/* Expand a step string; {{agent}} asks the agent where it runs only when a string uses it. */
static int expand(struct dep_ctx *c, const char *tmpl, char **ret) {
        if (!tmpl) {
                *ret = NULL;
                return 0;
        }
        if (!c->agent_path && strstr(tmpl, "{{agent}}")) {
                int r = agent_path(c->t->agent, &c->agent_path);
                if (r < 0)
                        return r;
                r = ctx_add(c, "agent", c->agent_path);
                if (r < 0)
                        return r;
                c->vars.keys = (const char *const *)c->keys;
                c->vars.values = (const char *const *)c->values;
        }
        return dep_template_expand(tmpl, &c->vars, ret);
}

static int step_upload(struct dep_ctx *c, const struct dep_step *s, const char *src) {
        _cleanup_free_ char *to = NULL;
        int r = expand(c, s->to, &to);
        if (r < 0)
                return r;
        if (!s->template)
                return agent_upload(c->t->agent, src, to);
        _cleanup_free_ char *text = NULL, *out = NULL;
        r = read_full_file(src, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "%s: cannot read %s: %m", c->it->name, src);
        r = expand(c, text, &out);
        if (r < 0)
                return r;
        return agent_upload_buffer(c->t->agent, out, strlen(out), to);
}

static int step_powershell(struct dep_ctx *c, const struct dep_step *s, size_t no, const struct judge *j) {
        _cleanup_free_ char *text = NULL;
        int r = expand(c, s->text, &text);
        if (r < 0)
                return r;
        _cleanup_free_ char *name = strdup_printf("vmcloak-%s-%zu.ps1", c->it->name, no);
        _cleanup_free_ char *dest = name ? guest_temp_path(c->t->profile, name) : NULL;
        if (!dest)
                return log_oom();
        if (!c->t->profile->cmd.run_powershell) {
                log_error("%s: step %zu is PowerShell, which the %s guest does not have", c->it->name, no,
                          c->t->profile->name);
                return -EOPNOTSUPP;
        }
        const char *keys[] = { "path", NULL }, *vals[] = { dest, NULL };
        _cleanup_free_ char *cmd = NULL;
        r = guest_template_expand(c->t->profile->cmd.run_powershell, keys, vals, &cmd);
        if (r < 0)
                return r == -ENOMEM ? r : log_error_errno(r, "bad run_powershell template in profile %s",
                                                          c->t->profile->name);
        r = agent_upload_buffer(c->t->agent, text, strlen(text), dest);
        if (r < 0)
                return r;
        r = exec_judged(c->t->agent, cmd, j);
        (void)agent_remove(c->t->agent, dest);
        return r;
}

static int step_registry(struct dep_ctx *c, const struct dep_step *s, const struct judge *j) {
        int need_reboot = 0;
        for (size_t i = 0; i < s->n_regs; i++) {
                struct dep_reg reg = { .type = s->regs[i].type, .delete = s->regs[i].delete };
                _cleanup_free_ char *key = NULL, *value = NULL, *data = NULL, *cmd = NULL;
                int r = expand(c, s->regs[i].key, &key);
                if (r == 0)
                        r = expand(c, s->regs[i].value, &value);
                if (r == 0)
                        r = expand(c, s->regs[i].data, &data);
                if (r < 0)
                        return r;
                reg.key = key, reg.value = value, reg.data = data;
                if (dep_reg_render(&reg, &cmd) < 0)
                        return log_oom();
                r = exec_judged(c->t->agent, cmd, j);
                if (r < 0)
                        return r;
                need_reboot |= r;
        }
        return need_reboot;
}

static int step_resolution(struct dep_ctx *c, const struct dep_step *s, const struct judge *j) {
        _cleanup_free_ char *res = NULL;
        int r = expand(c, s->text, &res);
        if (r < 0)
                return r;
        unsigned w, h;
        char tail;
        if (sscanf(res, "%ux%u%c", &w, &h, &tail) != 2) {
                log_error("%s: the resolution '%s' is not WIDTHxHEIGHT", j->what, res);
                return -EINVAL;
        }
        if (!c->t->profile->cmd.set_resolution) {
                log_error("%s: the %s guest has no way to set its resolution", j->what, c->t->profile->name);
                return -EOPNOTSUPP;
        }
        char ws[16], hs[16];
        snprintf(ws, sizeof ws, "%u", w);
        snprintf(hs, sizeof hs, "%u", h);
        const char *keys[] = { "width", "height", NULL }, *vals[] = { ws, hs, NULL };
        _cleanup_free_ char *cmd = NULL;
        r = guest_template_expand(c->t->profile->cmd.set_resolution, keys, vals, &cmd);
        if (r < 0)
                return r == -ENOMEM ? r : log_error_errno(r, "bad set_resolution in profile %s", c->t->profile->name);
        return exec_judged(c->t->agent, cmd, j);
}

static int sleep_interruptible(unsigned seconds) {
        int64_t end = now_ms() + (int64_t)seconds * 1000;
        while (now_ms() < end) {
                if (interrupted())
                        return -ECANCELED;
                int64_t left = end - now_ms();
                sleep_ms(left > 200 ? 200 : (int)(left > 0 ? left : 0));
        }
        return 0;
}

/* One catalog step: 0, 1 (success, reboot after the dependency), or a negative errno after
 * its line. */
static int run_step(struct dep_ctx *c, const struct dep_step *s, size_t no, const char *what) {
        const struct install_target *t = c->t;
        struct judge j = { .what = what, .ok = s->ok, .n_ok = s->n_ok, .reboot = s->reboot, .n_reboot = s->n_reboot,
                           .ignore_failure = s->ignore_failure, .async = s->async,
                           .timeout_ms = s->timeout_s ? (int)s->timeout_s * 1000 : t->cmd_timeout_ms };
        _cleanup_free_ char *src = NULL, *text = NULL;
        int r = 0;
        if (step_uses_src(s->kind)) {
                r = host_source(c->it, &s->src, &src);
                if (r < 0)
                        return r;
                if (!src) {
                        log_error("%s: its source %s was not fetched", what,
                                  s->src.kind == DEP_SRC_INSTALLER ? "installer" : strempty(s->src.name));
                        return -ENOENT;
                }
        }
        switch (s->kind) {
        case DEP_STEP_UPLOAD:
                return step_upload(c, s, src);
        case DEP_STEP_RUN:
                r = expand(c, s->text, &text);
                return r < 0 ? r : exec_judged(t->agent, text, &j);
        case DEP_STEP_SCRIPT:
                return run_script(t, src, &j);
        case DEP_STEP_POWERSHELL:
                return step_powershell(c, s, no, &j);
        case DEP_STEP_REGISTRY:
                return step_registry(c, s, &j);
        case DEP_STEP_EXTRACT:
                r = expand(c, s->to, &text);
                return r < 0 ? r : agent_extract(t->agent, src, text);
        case DEP_STEP_ATTACH_ISO:
        case DEP_STEP_DETACH_ISO:
                if (!t->media_change) {
                        log_error("%s: the VM's CD-ROM cannot be changed with --no-machine-start", what);
                        return -EOPNOTSUPP;
                }
                return t->media_change(t->userdata, src);
        case DEP_STEP_REMOVE:
                r = expand(c, s->text, &text);
                if (r == 0)
                        r = agent_remove(t->agent, text);
                return r == -ENOENT ? 0 : r;   /* gone already is what the step wants */
        case DEP_STEP_SLEEP:
                return sleep_interruptible(s->seconds);
        case DEP_STEP_RESOLUTION:
                return step_resolution(c, s, &j);
        case DEP_STEP_REBOOT:
                return 1;
        }
        return 0;
}

static int do_reboot(const struct install_target *t, struct dep_run_stats *st, const char *why) {
        if (!t->reboot) {
                log_error("this run cannot reboot the guest (%s)", why);
                return -EOPNOTSUPP;
        }
        log_info("Rebooting the guest (%s)", why);
        int r = t->reboot(t->userdata);
        if (r == 0)
                st->reboots++;
        return r;
}

static int run_dep(const struct dep_plan_item *it, const struct install_target *t, struct dep_run_stats *st) {
        struct dep_ctx c;
        int r = ctx_init(&c, it, t);
        if (r < 0) {
                ctx_done(&c);
                return log_oom();
        }
        bool reboot_after = false;
        for (size_t i = 0; i < it->dep->n_steps; i++) {
                const struct dep_step *s = &it->dep->steps[i];
                if (!dep_when_matches(&s->when, t->os, t->arch, it->version, it->set_keys, it->set_values))
                        continue;
                _cleanup_free_ char *what = strdup_printf("%s: step %zu (%s)", it->name, i + 1,
                                                          dep_step_kind_name(s->kind));
                if (!what) {
                        r = log_oom();
                        break;
                }
                log_debug("%s, line %d", what, s->line);
                if (s->kind == DEP_STEP_REBOOT) {
                        r = do_reboot(t, st, what);
                } else {
                        r = run_step(&c, s, i + 1, what);
                        if (r > 0) {
                                reboot_after = true;   /* its exit code asked for it: after the dependency */
                                r = 0;
                        }
                }
                if (r == -ENOMEM)
                        r = log_oom();
                if (r < 0) {
                        if (r != -EPROTO && r != -ETIMEDOUT && r != -ECANCELED && r != -EOPNOTSUPP)
                                log_error("%s failed", what);
                        break;
                }
        }
        ctx_done(&c);
        return r < 0 ? r : reboot_after;
}

/* Whether anything runs after item i (a reboot before the final shutdown is none). */
static bool next_is(const struct dep_plan *plan, size_t i, bool reboot) {
        for (size_t k = i + 1; k < plan->n; k++)
                if (!plan->items[k].left_out)
                        return !reboot || plan->items[k].kind == DEP_PLAN_REBOOT;
        return false;
}

int dep_plan_run(const struct dep_plan *plan, const struct install_target *t, struct dep_run_stats *stats) {
        struct dep_run_stats st = { 0 };
        size_t total = 0, no = 0;
        for (size_t i = 0; i < plan->n; i++)
                total += plan->items[i].kind != DEP_PLAN_REBOOT && !plan->items[i].left_out;
        int r = 0;
        for (size_t i = 0; i < plan->n && r >= 0; i++) {
                const struct dep_plan_item *it = &plan->items[i];
                if (it->left_out)
                        continue;
                if (interrupted()) {
                        r = -ECANCELED;
                        break;
                }
                switch (it->kind) {
                case DEP_PLAN_REBOOT:
                        r = do_reboot(t, &st, it->name);
                        break;
                case DEP_PLAN_STEP: {
                        _cleanup_free_ char *desc = install_step_describe(it->step);
                        log_info("[%zu/%zu] %s", ++no, total, strempty(desc));
                        r = run_generic(it, t);
                        if (r < 0 && r != -EPROTO && r != -ETIMEDOUT && r != -ECANCELED)
                                log_error("step %zu ('%s') failed", no, strempty(desc));
                        break;
                }
                case DEP_PLAN_DEP:
                        log_info("[%zu/%zu] %s%s%s%s", ++no, total, it->name, it->version ? " " : "",
                                 strempty(it->version), it->sub ? " (a sub-dependency)" : "");
                        r = run_dep(it, t, &st);
                        if (r >= 0)
                                st.installed++;
                        if (r > 0 && (t->reboot_at_end || next_is(plan, i, false)) && !next_is(plan, i, true))
                                r = do_reboot(t, &st, it->name);
                        break;
                }
        }
        if (stats)
                *stats = st;
        return r < 0 ? r : 0;
}
