/* vmcloak install: boot an image and install dependencies through the agent. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/jsonout.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "deps/steps.h"
#include "pipeline/install.h"
#include "pipeline/tags.h"

static struct install_request req;
static struct install_plan plan;

/* One DEPENDENCY token: the names in it (NAME_DEPENDENCY, NAME_DEP_VERSION), then its grammar,
 * which is the plan parser's own. The same split as install_plan_parse(): file:, run: and
 * script: are steps, a token with '.' and '=' a setting, anything else name[:version]. */
static int check_token(const struct args *a, const char *tok, const char *what) {
        (void)a, (void)what;
        if (!startswith(tok, "file:") && !startswith(tok, "run:") && !startswith(tok, "script:")) {
                const char *dot = strchr(tok, '.'), *eq = strchr(tok, '=');
                if (dot && eq) {
                        if (dot < eq && dot > tok) {
                                _cleanup_free_ char *pkg = strndup(tok, (size_t)(dot - tok));
                                if (!pkg)
                                        return log_oom();
                                if (vcheck_dependency_name(pkg) < 0)
                                        return -EINVAL;
                                const char *v = startswith(dot + 1, "version=");
                                if (v && vcheck_dependency_version(v) < 0)
                                        return -EINVAL;
                        }
                } else {
                        const char *colon = strchr(tok, ':');
                        _cleanup_free_ char *name = strndup(tok, colon ? (size_t)(colon - tok) : strlen(tok));
                        if (!name)
                                return log_oom();
                        if (vcheck_dependency_name(name) < 0 || (colon && vcheck_dependency_version(colon + 1) < 0))
                                return -EINVAL;
                }
        }
        char *one[] = { (char *)tok, NULL };
        struct install_plan p;
        if (install_plan_parse(one, &p) < 0)
                return -EINVAL;
        install_plan_free(&p);
        return 0;
}

static const struct optdef opts[] = {
        VM_DISPLAY_OPTS(req.vm),
        OPT_BOOL(0, "force-reinstall", &req.force_reinstall, "Install dependencies already recorded as installed"),
        OPT_BOOL(0, "no-machine-start", &req.no_machine_start, "Use an already running VM; do not start or stop it"),
        OPT_BOOL('r', "recommended", &req.recommended,
                 "Install the recommended set of the image's OS first"),
        OPT_STRING(0, "files-dir", &req.files_dir, "DIR",
                   "Dependency files you brought (matched by name and hash)",
                   .check = check_path),
        OPT_BOOL(0, "skip-unavailable", &req.skip_unavailable,
                 "Leave out (and name) a dependency whose file cannot be had"),
        OPT_MACHINE_TAGS(&req.tags, "Cuckoo machine tag for the image's VMs (alone: only the tag, "
                                    "nothing boots)"),
        VM_RUN_OPTS(req.vm),
        { NULL },
};

static const struct posdef pos[] = {
        { "NAME", check_image_existing },
        { "DEPENDENCY", check_token }, /* and every further one */
        { NULL },
};

static const struct cmd_spec spec = {
        "install", "[OPTIONS] NAME [DEPENDENCY...]", "Boot image NAME and install dependencies into it.",
        "A DEPENDENCY is name, name:version, pkg.key=value (a setting), or a generic step:\n"
        "  file:SRC:DEST     upload the host file SRC to DEST in the guest\n"
        "  run:COMMAND       run COMMAND in the guest (fails on a non-zero exit code)\n"
        "  script:PATH       upload the host script PATH and run it\n"
        "Names come from the catalog (vmcloak list deps; your own entries in ~/.vmcloak/deps.d). Their\n"
        "sub-dependencies install first; what the image records as installed is skipped unless\n"
        "--force-reinstall. Every file is found or downloaded before the VM starts, so a missing one\n"
        "costs no boot. Each dependency installed is recorded with the image as name:version.",
        opts, 1, -1, .pos = pos,
};

/* install NAME --tag T: nothing to install, only tags to store. */
static bool only_tags(void) { return plan.n_steps == 0 && !req.recommended && req.tags; }

static int check(const struct args *a) {
        vm_debug_vnc(&req.vm, 1);
        req.name = a->pos[0];
        req.plan = &plan;
        /* Each token's syntax was checked where it was typed: this only builds the plan. */
        if (install_plan_parse(a->pos + 1, &plan) < 0)
                return -EINVAL;
        if (plan.n_steps == 0 && !req.recommended && !req.tags) {
                log_error("nothing to install: name dependencies, -r (the recommended set), steps (file:SRC:DEST, "
                          "run:COMMAND, script:PATH) or --tag");
                return -EINVAL;
        }
        if (only_tags() && req.no_machine_start) {
                log_error("--no-machine-start with only --tag: the tags are stored without any machine; leave it out");
                return -EINVAL;
        }
        if (req.files_dir && !is_dir(req.files_dir)) {
                log_error("--files-dir %s is no folder", req.files_dir);
                return -EINVAL;
        }
        return 0;
}

/* --json: what ran and the image as it is now (docs/json.md). */
static int print_json(struct repo *repo, const struct install_result *res, int64_t t0) {
        json_object *img = image_json_by_name(repo, req.name), *o = json_object_new_object();
        json_object_object_add(o, "image", img);
        json_object_object_add(o, "installed", dep_pairs_to_json(res->installed));
        json_object_object_add(o, "skipped", dep_pairs_to_json(res->skipped));
        json_object_object_add(o, "left_out", dep_pairs_to_json(res->left_out));
        json_object_object_add(o, "steps", json_object_new_int64((int64_t)res->steps));
        json_object_object_add(o, "reboots", json_object_new_int64(res->reboots));
        json_object_object_add(o, "seconds", json_seconds_since(t0));
        if (!img) {
                json_object_put(o);
                return -EIO;
        }
        return json_print_put(o);
}

static int run(const struct cmd_env *env) {
        struct install_result res = { 0 };
        int64_t t0 = now_ms();
        if (global.json)
                req.result = &res;
        /* Only tags: nothing to boot for (nothing installed, the result has the tags). */
        int r = only_tags() ? pipeline_image_add_tags(env->pl, req.name, req.tags) : pipeline_install(env->pl, &req);
        if (r == 0 && global.json)
                r = print_json(env->repo, &res, t0);
        install_result_done(&res);
        return r == -EOPNOTSUPP ? EXIT_USAGE : exit_code_for(r);
}

static void done(void) { install_plan_free(&plan); }

const struct cmd_def cmd_install = { .spec = &spec, .check = check, .run = run, .done = done };
