/* The step runner: file/run/script steps executed through the guest agent. */
#include "deps/runner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/log.h"
#include "core/util.h"
#include "guest/profile.h"

int install_plan_check(const struct install_plan *plan) {
        for (size_t i = 0; i < plan->n_steps; i++) {
                const struct install_step *s = &plan->steps[i];
                switch (s->kind) {
                case STEP_DEPENDENCY:
                        log_error("dependency '%s' cannot be installed yet: the dependency catalog is not "
                                  "implemented in this version; use the steps file:SRC:DEST, run:COMMAND or "
                                  "script:PATH", s->name);
                        return -EOPNOTSUPP;
                case STEP_FILE:
                case STEP_SCRIPT:
                        if (access(s->src, R_OK) < 0)
                                return log_error_errno(-errno, "cannot read %s for step '%s': %m", s->src, s->name);
                        if (is_dir(s->src)) {
                                log_error("%s (step '%s') is a directory; upload files one by one", s->src, s->name);
                                return -EISDIR;
                        }
                        break;
                case STEP_RUN:
                case STEP_REBOOT:
                        break;
                }
        }
        return 0;
}

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

static int run_command(struct agent_client *agent, const char *desc, const char *command, int timeout_ms) {
        struct agent_exec_opts o = { .timeout_ms = timeout_ms };
        struct agent_exec_result res = { 0 };
        int r = agent_execute(agent, command, &o, &res);
        if (r == -ETIMEDOUT)
                log_error("step '%s' did not finish within %d s; it was stopped", desc, timeout_ms / 1000);
        if (r < 0) {
                agent_exec_result_done(&res);
                return r;
        }
        if (res.exit_code != 0) {
                if (res.error)
                        log_error("step '%s' failed: %s", desc, res.error);
                else
                        log_error("step '%s' failed with exit code %d", desc, res.exit_code);
                log_output_tail("stdout", res.out);
                log_output_tail("stderr", res.err);
                agent_exec_result_done(&res);
                return -EPROTO;
        }
        log_debug("step '%s' stdout: %s", desc, strempty(res.out));
        agent_exec_result_done(&res);
        return 0;
}

static const char *basename_of(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

int install_plan_run(const struct install_plan *plan, const struct install_target *t) {
        struct agent_client *agent = t->agent;
        const struct os_profile *profile = t->profile;
        int cmd_timeout_ms = t->cmd_timeout_ms;
        for (size_t i = 0; i < plan->n_steps; i++) {
                const struct install_step *s = &plan->steps[i];
                _cleanup_free_ char *desc = install_step_describe(s);
                if (!desc)
                        return log_oom();
                log_info("[%zu/%zu] %s", i + 1, plan->n_steps, desc);
                int r = 0;
                switch (s->kind) {
                case STEP_DEPENDENCY:
                        return install_plan_check(plan);
                case STEP_FILE:
                        r = agent_upload(agent, s->src, s->dest);
                        break;
                case STEP_RUN:
                        r = run_command(agent, desc, s->command, cmd_timeout_ms);
                        break;
                case STEP_SCRIPT: {
                        _cleanup_free_ char *name = strdup_printf("vmcloak-%s", basename_of(s->src));
                        _cleanup_free_ char *dest = name ? strdup_printf("%s%c%s", profile->cmd.temp_dir,
                                                                         profile->path_sep, name)
                                                         : NULL;
                        if (!dest)
                                return log_oom();
                        r = agent_upload(agent, s->src, dest);
                        if (r < 0)
                                break;
                        const char *keys[] = { "path", NULL }, *vals[] = { dest, NULL };
                        _cleanup_free_ char *cmd = NULL;
                        r = guest_template_expand(profile->cmd.run_script, keys, vals, &cmd);
                        if (r == -ENOMEM)
                                return r;   /* guest_template_expand() said so */
                        if (r < 0)
                                return log_error_errno(r, "bad run_script template in profile %s", profile->name);
                        r = run_command(agent, desc, cmd, cmd_timeout_ms);
                        if (r == 0)
                                agent_remove(agent, dest);
                        break;
                }
                case STEP_REBOOT:
                        if (!t->reboot) {
                                log_error("step %zu reboots the guest, which this run cannot watch", i + 1);
                                return -EOPNOTSUPP;
                        }
                        r = t->reboot(t->userdata);
                        break;
                }
                if (r < 0) {
                        if (r != -EPROTO && r != -ETIMEDOUT && r != -ECANCELED)
                                log_error("step %zu ('%s') failed", i + 1, desc);
                        return r;
                }
        }
        return 0;
}
