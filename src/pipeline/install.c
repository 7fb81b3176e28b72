/* install: boot the image, run the plan through the agent, power off, record what was
 * installed. The run happens on a temporary overlay that is committed into the image only
 * when every step succeeded, so a failed install leaves the image exactly as it was. */
#include "pipeline/install.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/interrupt.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/progress.h"
#include "core/repo.h"
#include "core/util.h"
#include "deps/catalog.h"
#include "deps/resolve.h"
#include "deps/runner.h"
#include "guest/profile.h"
#include "net/check.h"
#include "pipeline/fwstate.h"
#include "pipeline/imagehw.h"
#include "pipeline/image.h"
#include "pipeline/tags.h"

/* check_network false: install --no-machine-start, which talks only to an agent that answers
 * already, so the host's bridge plays no part. */
static int image_open(struct repo *repo, const char *name, bool allow_frozen, bool check_network,
                      struct image **ret) {
        _cleanup_image_ struct image *img = NULL;
        int r = image_get(repo, name, &img);
        if (r < 0)
                return r;
        if (img->vm && !streq(img->vm, "qemu")) {
                log_error("image %s was made for %s; this vmcloak runs only QEMU images", name, img->vm);
                return -EOPNOTSUPP;
        }
        /* A value this vmcloak does not know may mean anything: it changes no such image. */
        if (img->mode && !streq(img->mode, "normal") && !streq(img->mode, "multiattach")) {
                log_error("image %s has mode '%s', which this vmcloak does not know (it knows normal and "
                          "multiattach), so it leaves the image as it is; 'vmcloak clone %s NEWNAME' gives a copy "
                          "in mode normal", name, img->mode, name);
                return -EOPNOTSUPP;
        }
        if (img->netmode && !streq(img->netmode, "bridge") && !streq(img->netmode, "user")) {
                log_error("image %s has network mode '%s', which this vmcloak does not know (it knows bridge and "
                          "user), so it leaves the image as it is; a newer vmcloak may know it", name, img->netmode);
                return -EOPNOTSUPP;
        }
        if (!allow_frozen && img->mode && streq(img->mode, "multiattach")) {
                log_error("image %s is already used for snapshots (its snapshot VMs are overlays on it), so it "
                          "cannot change any more; 'vmcloak clone %s NEWNAME' gives a copy you can change", name,
                          name);
                return -EBUSY;
        }
        if (!img->path || access(img->path, R_OK | W_OK) < 0) {
                log_error("the disk of image %s (%s) is missing or not writable", name, strempty(img->path));
                return -ENOENT;
        }
        if (!os_profile_find(strempty(img->osversion))) {
                log_error("image %s has OS '%s', which this vmcloak has no profile for", name,
                          strempty(img->osversion));
                return -EOPNOTSUPP;
        }
        /* Its hardware profile must still be there: install, modify and snapshot boot it as that
         * machine (pipeline/imagehw.h). */
        if ((r = image_hardware_check(img)) < 0)
                return r;
        if (check_network && (!img->netmode || streq(img->netmode, "bridge"))) {
                struct net_report rep;
                if (net_bridge_check(strempty(img->adapter), &rep) < 0) {
                        log_error("%s", rep.message);
                        if (rep.fix[0])
                                log_error("fix: %s", rep.fix);
                        return -EHOSTUNREACH;
                }
        }
        *ret = TAKE_PTR(img);
        return 0;
}

int image_open_checked(struct repo *repo, const char *name, bool allow_frozen, struct image **ret) {
        return image_open(repo, name, allow_frozen, true, ret);
}

/* One install: the request and its resolved plan. */
struct install_job {
        const struct install_request *req;
        struct dep_plan *plan;
        struct dep_run_stats stats;
};

/* The session's side of a reboot step. */
static int reboot_session(void *userdata) {
        struct vm_session *s = userdata;
        return session_reboot(s, s->profile->install_timeout_s);
}

/* attach_iso/detach_iso: the boot drive, which every install VM has (machine/def.h). */
static int media_session(void *userdata, const char *iso) {
        struct vm_session *s = userdata;
        return vm_domain_media_change(s->dom, 0, iso);
}

/* --no-machine-start: the guest runs somewhere else; its agent is all there is to talk to. */
struct running_guest {
        struct agent_client *agent;
        const struct os_profile *prof;
        const char *name;
        unsigned timeout_s;
};

/* 1: the agent answers and still holds mark in its /status; 0: it answers without it (a
 * fresh agent); <0: no answer. Quiet: the guest is expected to be gone for a while. */
static int agent_holds_mark(struct agent_client *agent, const char *mark) {
        struct agent_response resp = { 0 };
        int r = agent_call(agent, "GET", "/status", NULL, NULL, NULL, 3000, &resp);
        if (r < 0)
                return r;
        r = resp.status != 200 ? -EPROTO : strstr(resp.body, mark) ? 1 : 0;
        agent_response_done(&resp);
        return r;
}

/* The reboot of a guest seen only through its agent. There is no machine to watch, and an
 * agent that answers after the request proves nothing (the guest may not have gone down yet,
 * or may never), so the agent's /status is set to a mark of this run first: a guest that
 * rebooted runs a fresh agent, which has forgotten it. VMCloak asked, slept 10 s and waited for
 * an answer (vmcloak-spec.md §7.4), so a guest that ignored the request got the next
 * dependency with its reboot still pending; here a guest whose agent keeps the mark for
 * min(120 s, --timeout) has not rebooted, and that is an error. Coming back gets --timeout. */
static int reboot_running(void *userdata) {
        const struct running_guest *g = userdata;
        char mark[64];
        snprintf(mark, sizeof mark, "vmcloak-reboot-%d-%lld", (int)getpid(), (long long)now_ms());
        int r = agent_status_set(g->agent, mark, "vmcloak install asked this guest to reboot");
        if (r < 0)
                return r;
        r = agent_execute_nowait(g->agent, g->prof->cmd.reboot, true, 10000);
        if (r < 0)
                return r;
        log_info("Asked %s to reboot ('%s'); waiting for its agent at %s to come back", g->name, g->prof->cmd.reboot,
                 agent_client_address(g->agent));
        unsigned begin_s = g->timeout_s < 120 ? g->timeout_s : 120;
        int64_t deadline = now_ms() + (int64_t)begin_s * 1000;
        bool went_down = false;
        for (;;) {
                if (interrupted())
                        return log_error_errno(-ECANCELED, "interrupted while waiting for %s to reboot", g->name);
                int k = agent_holds_mark(g->agent, mark);
                if (k == 0)
                        break;
                if (k < 0 && !went_down) {
                        went_down = true;
                        deadline = now_ms() + (int64_t)g->timeout_s * 1000;
                }
                if (now_ms() >= deadline) {
                        if (went_down)
                                log_error("%s went down to reboot but its agent at %s did not answer again within "
                                          "%u s (--timeout)", g->name, agent_client_address(g->agent), g->timeout_s);
                        else
                                log_error("%s did not reboot: its agent at %s kept answering as before for %u s after "
                                          "'%s'; reboot the guest yourself before going on",
                                          g->name, agent_client_address(g->agent), begin_s, g->prof->cmd.reboot);
                        return -ETIMEDOUT;
                }
                sleep_ms(1000);
        }
        return agent_wait_ready(g->agent, (int)g->timeout_s * 1000);
}

/* --no-machine-start: the VM runs already (bridge mode); only its agent is used. */
static int install_running(struct install_job *job, const struct image *img, const struct os_profile *prof) {
        const struct install_request *req = job->req;
        if (img->netmode && streq(img->netmode, "user")) {
                log_error("--no-machine-start needs a bridge-mode image: a user-mode VM's agent is only reachable "
                          "through the QEMU that vmcloak starts");
                return -EINVAL;
        }
        _cleanup_agent_client_ struct agent_client *agent = NULL;
        int r = agent_client_new(strempty(img->ipaddr), img->port > 0 ? img->port : 8000, &agent);
        if (r < 0)
                return r;
        r = agent_wait_ready(agent, (int)(req->vm.timeout_s ? req->vm.timeout_s : 60) * 1000);
        if (r < 0)
                return r;
        struct running_guest g = { .agent = agent, .prof = prof, .name = img->name,
                                   .timeout_s = req->vm.timeout_s ? req->vm.timeout_s : prof->install_timeout_s };
        struct install_target t = { .agent = agent, .profile = prof, .os = img->osversion, .arch = prof->arch,
                                    .cmd_timeout_ms = (int)(req->vm.timeout_s ? req->vm.timeout_s : 3600) * 1000,
                                    .reboot = reboot_running, .userdata = &g, .reboot_at_end = true };
        return dep_plan_run(job->plan, &t, &job->stats);
}

/* Boot the overlay, run the plan, power off cleanly. */
static int install_on(struct pipeline *pl, const void *request, const struct image *img,
                      const struct os_profile *prof, const char *overlay, const char *logdir) {
        struct install_job *job = (struct install_job *)request;
        const struct install_request *req = job->req;
        struct vm_session s;
        unsigned timeout = req->vm.timeout_s ? req->vm.timeout_s : prof->install_timeout_s;
        int r = session_prepare(&s, pl, req->name, img, prof, &req->vm, overlay, logdir, NULL);
        if (r == 0)
                r = session_start(&s, NULL);
        if (r == 0)
                r = session_wait_agent(&s, timeout, "Booting the image");
        if (r == 0) {
                struct install_target t = { .agent = s.agent, .profile = prof, .os = img->osversion,
                                            .arch = prof->arch, .cmd_timeout_ms = (int)timeout * 1000,
                                            .reboot = reboot_session, .media_change = media_session,
                                            .userdata = &s };
                r = dep_plan_run(job->plan, &t, &job->stats);
                if (r < 0 && r != -ECANCELED) {
                        session_report_end(&s);
                        session_log_hint(&s);
                }
        }
        if (r == 0) {
                struct progress p;
                progress_begin(&p, "Shutting down");
                r = session_poweroff(&s, 120);
                progress_end(&p, r == -ECANCELED ? "interrupted" : r < 0 ? "failed" : "done");
                if (r < 0 && r != -ECANCELED)
                        log_error("the guest did not shut down cleanly, so its disk may be inconsistent; the image "
                                  "was left unchanged");
        }
        session_done(&s);
        return r;
}

/* What runs on the overlay (install_on, modify_on). */
typedef int (*overlay_run_fn)(struct pipeline *pl, const void *req, const struct image *img,
                              const struct os_profile *prof, const char *overlay, const char *logdir);

/* Run image img on a throw-away overlay <disk>.<kind>-PID.qcow2 and commit it into the image only
 * when the run succeeded and no interrupt came first; the overlay goes whatever happens, so a
 * failure leaves the image exactly as it was. The UEFI vars and TPM state follow the same rule:
 * the run works on copies beside the overlay, which replace the image's only after the disk's
 * commit (fwstate.h). */
static int on_overlay(struct pipeline *pl, const struct image *img, const char *kind, enum vm_accel accel,
                      overlay_run_fn run, const void *req) {
        const struct os_profile *prof = os_profile_find(img->osversion);
        _cleanup_free_ char *logdir = paths_image_log_dir(img->name);
        _cleanup_unlink_ char *overlay = strdup_printf("%s.%s-%d.qcow2", img->path, kind, (int)getpid());
        if (!logdir || !overlay)
                return log_oom();
        int r = pipeline_connect(pl, accel);
        if (r == 0)
                r = vm_disk_create_overlay(pl->conn, overlay, img->path);
        if (r == 0)
                r = fwstate_copy(img, img->path, overlay, true);
        if (r == 0)
                r = run(pl, req, img, prof, overlay, logdir);
        if (r == 0 && interrupted())
                r = -ECANCELED;
        if (r < 0) {
                fwstate_remove(overlay);
                log_error("%s of %s %s; the image is unchanged", kind, img->name,
                          r == -ECANCELED ? "interrupted" : "failed");
                return r;
        }
        struct progress p;
        progress_begin(&p, "Committing the changes into the image");
        r = vm_disk_commit(pl->conn, overlay);
        if (r == 0)
                r = fwstate_commit(overlay, img->path);
        fwstate_remove(overlay);
        progress_end(&p, r < 0 ? "failed" : "done");
        if (r < 0)
                log_error("%s of %s failed while committing its changes", kind, img->name);
        else if (interrupted())
                log_warning("interrupted while committing: the commit was finished, so %s holds the %s",
                            img->name, kind);
        return r;
}

/* Everything before boot: the catalog (only when a dependency is named), the plan, its host
 * files and downloads. */
static int install_prepare(const struct install_request *req, const struct image *img,
                           const struct os_profile *prof, struct dep_catalog **cat, struct dep_plan *plan) {
        bool names_deps = req->recommended;
        for (size_t i = 0; i < req->plan->n_steps; i++)
                names_deps |= req->plan->steps[i].kind == STEP_DEPENDENCY;
        int r = names_deps && !req->catalog ? dep_catalog_load_default(cat) : 0;
        if (r < 0)
                return r;
        struct dep_resolve_input in = { .tokens = req->plan, .catalog = req->catalog ? req->catalog : *cat, .os = img->osversion,
                                        .arch = prof->arch, .installed = img->installed,
                                        .force_reinstall = req->force_reinstall, .recommended = req->recommended };
        r = dep_resolve(&in, plan);
        if (r == 0)
                r = dep_plan_check(plan, img->osversion, prof->arch, !req->no_machine_start);
        struct dep_fetch_opts fo = { .files_dir = req->files_dir };
        if (r == 0)
                r = dep_plan_fetch(plan, &fo, req->skip_unavailable, NULL);
        return r;
}

/* Record what ran as name:version (VMCloak §7.3: sub-dependencies too), the first max_deps
 * dependencies of the plan at most. */
static int install_record(struct repo *repo, struct image *img, const struct dep_plan *plan, size_t max_deps) {
        bool changed = false;
        for (size_t i = 0, done = 0; i < plan->n; i++) {
                const struct dep_plan_item *it = &plan->items[i];
                if (it->kind != DEP_PLAN_DEP || it->left_out)
                        continue;
                if (done++ >= max_deps)
                        break;
                char *n = installed_add(img->installed, it->name, it->version);
                if (!n)
                        return log_oom();
                free(img->installed);
                img->installed = n;
                changed = true;
        }
        return changed ? repo_image_update(repo, img) : 0;
}

void install_result_done(struct install_result *r) {
        strv_free(r->installed);
        strv_free(r->skipped);
        strv_free(r->left_out);
        *r = (struct install_result){ 0 };
}

/* The plan's dependencies as run, left out and skipped; steps and reboots. */
static int install_result_fill(const struct dep_plan *plan, const struct dep_run_stats *st, struct install_result *res) {
        *res = (struct install_result){ .reboots = st->reboots };
        for (size_t i = 0; i < plan->n; i++) {
                const struct dep_plan_item *it = &plan->items[i];
                res->steps += it->kind == DEP_PLAN_STEP;
                if (it->kind != DEP_PLAN_DEP)
                        continue;
                char ***l = it->left_out ? &res->left_out : &res->installed;
                if ((it->version ? strv_extendf(l, "%s:%s", it->name, it->version) : strv_extend(l, it->name)) < 0)
                        return log_oom();
        }
        if (strv_extend_strv(&res->skipped, plan->skipped) < 0)
                return log_oom();
        return 0;
}

static void install_summary(const char *name, const struct install_result *res, int64_t t0) {
        _cleanup_free_ char *d = res->installed ? strv_join(res->installed, ", ") : NULL;
        _cleanup_free_ char *o = res->left_out ? strv_join(res->left_out, ", ") : NULL;
        _cleanup_free_ char *sk = res->skipped ? strv_join(res->skipped, ", ") : NULL;
        log_info("Installed into %s: %s%s%zu step%s; skipped as installed: %s; left out: %s; %u reboot%s; %.1f s",
                 name, d ? d : "no dependencies", d ? "; " : "; ", res->steps, res->steps == 1 ? "" : "s",
                 sk ? sk : "none", o ? o : "none", res->reboots, res->reboots == 1 ? "" : "s",
                 (double)(now_ms() - t0) / 1000.0);
}

int pipeline_install(struct pipeline *pl, const struct install_request *req) {
        /* Not for --no-machine-start: that changes a VM someone else runs (often 'vmcloak modify'). */
        _cleanup_name_lock_ struct name_lock *lock = NULL;
        int r = req->no_machine_start ? 0 : name_lock_or_complain(LOCK_IMAGE, req->name, LOCK_EXCLUSIVE, "in use", &lock);
        if (r < 0)
                return r;
        _cleanup_image_ struct image *img = NULL;
        r = image_open(pl->repo, req->name, false, !req->no_machine_start, &img);
        if (r < 0)
                return r;
        const struct os_profile *prof = os_profile_find(img->osversion);
        struct dep_catalog *cat = NULL;
        struct dep_plan plan = { 0 };
        struct install_job job = { .req = req, .plan = &plan };
        int64_t t0 = now_ms();
        r = install_prepare(req, img, prof, &cat, &plan);
        size_t runnable = 0;
        for (size_t i = 0; i < plan.n; i++)
                runnable += plan.items[i].kind != DEP_PLAN_REBOOT && !plan.items[i].left_out;
        if (r == 0 && runnable == 0) {
                /* No boot for nothing. */
                _cleanup_free_ char *sk = plan.skipped ? strv_join(plan.skipped, ", ") : NULL;
                if (sk)
                        log_info("Nothing to install into %s: %s %s already installed (--force-reinstall installs "
                                 "again)", req->name, sk, strv_length(plan.skipped) == 1 ? "is" : "are");
                else
                        log_info("Nothing to install into %s: every dependency was left out", req->name);
        } else if (r == 0 && req->no_machine_start)
                r = install_running(&job, img, prof);
        else if (r == 0)
                r = on_overlay(pl, img, "install", req->vm.accel, install_on, &job);
        if (r == 0)
                r = install_record(pl->repo, img, &plan, SIZE_MAX);
        else if (req->no_machine_start && job.stats.installed > 0)
                /* No overlay to throw away: what ran to its end stays in the running guest. The
                 * run stops at the first failure, so those are the plan's first ones. */
                (void)install_record(pl->repo, img, &plan, job.stats.installed);
        if (r == 0 && (r = image_tags_after_install(img, req->tags, req->catalog ? req->catalog : cat)) == 0)
                r = repo_image_update(pl->repo, img);
        struct install_result res = { 0 };
        if (r == 0 && (r = install_result_fill(&plan, &job.stats, &res)) == 0 && runnable > 0)
                install_summary(req->name, &res, t0);
        if (r == 0 && req->result)
                *req->result = res;
        else
                install_result_done(&res);
        dep_plan_free(&plan);
        if (cat)
                dep_catalog_free(cat);
        return r;
}

/* Run the overlay until the guest shuts down; 0 only when it did. */
static int modify_on(struct pipeline *pl, const void *request, const struct image *img,
                     const struct os_profile *prof, const char *overlay, const char *logdir) {
        const struct modify_request *req = request;
        struct vm_session s;
        struct vm_options o = req->vm;
        if (!o.visible)
                o.vnc = true; /* manual changes need a screen */
        int r = session_prepare(&s, pl, req->name, img, prof, &o, overlay, logdir, NULL);
        if (r == 0)
                r = session_start(&s, NULL);
        if (r == 0 && req->iso)
                r = vm_domain_media_change(s.dom, 0, req->iso);
        if (r == 0) {
                if (o.vnc)
                        log_info("VM %s runs: connect a VNC viewer to %s:%u (display %u). Shut the guest down "
                                 "when done; Ctrl-C discards the changes.",
                                 req->name, s.def.vnc.listen ? s.def.vnc.listen : "127.0.0.1",
                                 5900 + s.def.vnc.display, s.def.vnc.display);
                else
                        log_info("VM %s runs in its window. Shut the guest down when done; Ctrl-C discards the "
                                 "changes.", req->name);
                log_info("Its agent answers at %s once the guest has booted.", agent_client_address(s.agent));
                r = session_wait_poweroff(&s, req->vm.timeout_s);
                if (r == -EIO)
                        log_error("QEMU ended without the guest shutting down; the changes are discarded");
                else if (r == -ETIMEDOUT)
                        log_error("the guest did not shut down within %u s (--timeout); the changes are discarded",
                                  req->vm.timeout_s);
        }
        session_done(&s);
        return r;
}

int pipeline_modify(struct pipeline *pl, const struct modify_request *req) {
        _cleanup_name_lock_ struct name_lock *lock = NULL;
        int r = name_lock_or_complain(LOCK_IMAGE, req->name, LOCK_EXCLUSIVE, "in use", &lock);
        if (r < 0)
                return r;
        _cleanup_image_ struct image *img = NULL;
        r = image_open_checked(pl->repo, req->name, false, &img);
        if (r < 0)
                return r;
        if (req->iso && access(req->iso, R_OK) < 0)
                return log_error_errno(-errno, "cannot read --iso-path %s: %m", req->iso);
        r = on_overlay(pl, img, "modify", req->vm.accel, modify_on, req);
        if (r == 0)
                log_info("Changes to %s saved", req->name);
        return r;
}
