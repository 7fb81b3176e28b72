/* install: boot the image, run the plan through the agent, power off, record what was
 * installed. The run happens on a temporary overlay that is committed into the image only
 * when every step succeeded, so a failed install leaves the image exactly as it was. */
#include "pipeline/install.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/proc.h"
#include "core/progress.h"
#include "core/repo.h"
#include "core/util.h"
#include "deps/runner.h"
#include "guest/profile.h"
#include "net/check.h"
#include "qemu/img.h"
#include "qemu/vm.h"

int image_open_checked(struct repo *repo, const char *name, bool allow_frozen, struct image **ret) {
        _cleanup_image_ struct image *img = NULL;
        int r = repo_image_get(repo, name, &img);
        if (r == -ENOENT) {
                log_error("no image named '%s' (see 'vmcloak list images')", name);
                return r;
        }
        if (r < 0)
                return r;
        if (img->vm && !streq(img->vm, "qemu")) {
                log_error("image %s was made for %s; this vmcloak runs only QEMU images", name, img->vm);
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
        if (!img->netmode || streq(img->netmode, "bridge")) {
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

static int qemu_img_commit(const char *overlay) {
        _cleanup_free_ char *bin = qemu_img_binary();
        if (!bin)
                return -ENOMEM;
        char *argv[] = { bin, (char *)"commit", (char *)"-q", (char *)"-d", (char *)overlay, NULL };
        _cleanup_free_ char *err = NULL;
        int r = proc_run(argv, NULL, NULL, &err);
        if (r != 0) {
                log_error("qemu-img commit %s failed: %s", overlay, r < 0 ? strerror(-r) : strempty(err));
                return r < 0 ? r : -EIO;
        }
        return 0;
}

int pipeline_install(struct repo *repo, const struct install_request *req) {
        _cleanup_image_ struct image *img = NULL;
        int r = image_open_checked(repo, req->name, false, &img);
        if (r < 0)
                return r;
        const struct os_profile *prof = os_profile_find(img->osversion);
        r = install_plan_check(req->plan);
        if (r < 0)
                return r;

        /* Skip dependencies the image already has (none of the generic steps). */
        struct guest g = { 0 };
        _cleanup_free_ char *overlay = NULL;
        _cleanup_free_ char *logroot = paths_log_dir();
        _cleanup_free_ char *logdir = logroot ? path_join(logroot, req->name) : NULL;
        if (!logdir)
                return -ENOMEM;
        int64_t t0 = now_ms();
        if (req->no_machine_start) {
                r = guest_prepare(&g, req->name, img, prof, &req->vm, NULL, logdir);
                if (r == 0 && g.user_net) {
                        log_error("--no-machine-start needs a bridge-mode image: a user-mode VM's agent is only "
                                  "reachable through the QEMU that vmcloak starts");
                        r = -EINVAL;
                }
                if (r == 0)
                        r = agent_client_new(g.agent_host, g.agent_port, &g.agent);
                if (r == 0)
                        r = guest_wait_agent(&g, req->vm.timeout_s ? req->vm.timeout_s : 60, "Contacting the agent");
                if (r == 0)
                        r = install_plan_run(req->plan, g.agent, prof, (int)(req->vm.timeout_s ? req->vm.timeout_s
                                                                                            : 3600) * 1000);
                guest_done(&g);
                return r;
        }

        overlay = strdup_printf("%s.install-%d.qcow2", img->path, (int)getpid());
        if (!overlay)
                return -ENOMEM;
        r = qemu_img_create_overlay(overlay, img->path);
        if (r < 0)
                return r;
        unsigned timeout = req->vm.timeout_s ? req->vm.timeout_s : prof->install_timeout_s;
        r = guest_prepare(&g, req->name, img, prof, &req->vm, overlay, logdir);
        if (r == 0)
                r = guest_start(&g);
        if (r == 0)
                r = guest_wait_agent(&g, timeout, "Booting the image");
        if (r == 0) {
                r = install_plan_run(req->plan, g.agent, prof, (int)timeout * 1000);
                if (r < 0)
                        guest_log_hint(&g);
        }
        if (r == 0) {
                struct progress p;
                progress_begin(&p, "Shutting down");
                r = guest_poweroff(&g, 120);
                progress_end(&p, r < 0 ? "failed" : "done");
                if (r < 0)
                        log_error("the guest did not shut down cleanly, so its disk may be inconsistent; the image "
                                  "was left unchanged");
        }
        guest_done(&g);
        if (r == 0 && !interrupted()) {
                struct progress p;
                progress_begin(&p, "Committing the changes into the image");
                r = qemu_img_commit(overlay);
                progress_end(&p, r < 0 ? "failed" : "done");
        }
        unlink_if_exists(overlay);
        if (r < 0) {
                log_error("install into %s %s; the image is unchanged", req->name,
                          r == -ECANCELED ? "interrupted" : "failed");
                return r;
        }
        /* Record catalog dependencies (generic steps are not dependencies). */
        bool changed = false;
        for (size_t i = 0; i < req->plan->n_steps; i++) {
                const struct install_step *s = &req->plan->steps[i];
                if (s->kind != STEP_DEPENDENCY)
                        continue;
                char *n = installed_add(img->installed, s->name, s->version);
                if (!n)
                        return -ENOMEM;
                free(img->installed);
                img->installed = n;
                changed = true;
        }
        if (changed && (r = repo_image_update(repo, img)) < 0)
                return r;
        log_info("Installed %zu step%s into %s (%.1f s)", req->plan->n_steps, req->plan->n_steps == 1 ? "" : "s",
                 req->name, (double)(now_ms() - t0) / 1000.0);
        return 0;
}

int pipeline_modify(struct repo *repo, const struct modify_request *req) {
        _cleanup_image_ struct image *img = NULL;
        int r = image_open_checked(repo, req->name, false, &img);
        if (r < 0)
                return r;
        const struct os_profile *prof = os_profile_find(img->osversion);
        if (req->iso && access(req->iso, R_OK) < 0)
                return log_error_errno(-errno, "cannot read --iso-path %s: %m", req->iso);
        _cleanup_free_ char *logroot = paths_log_dir();
        _cleanup_free_ char *logdir = logroot ? path_join(logroot, req->name) : NULL;
        _cleanup_free_ char *overlay = strdup_printf("%s.modify-%d.qcow2", img->path, (int)getpid());
        if (!logdir || !overlay)
                return -ENOMEM;
        r = qemu_img_create_overlay(overlay, img->path);
        if (r < 0)
                return r;
        struct guest g = { 0 };
        struct vm_options o = req->vm;
        if (!o.visible)
                o.vnc = true; /* manual changes need a screen */
        r = guest_prepare(&g, req->name, img, prof, &o, overlay, logdir);
        if (r == 0)
                r = guest_start(&g);
        if (r == 0 && req->iso)
                r = vm_cdrom_change(g.vm, "cdrom", req->iso);
        if (r == 0) {
                if (o.vnc)
                        log_info("VM %s runs: connect a VNC viewer to %s:%u (display %u). Shut the guest down "
                                 "when done; Ctrl-C discards the changes.",
                                 req->name, g.cfg.vnc_listen ? g.cfg.vnc_listen : "127.0.0.1",
                                 5900 + g.cfg.vnc_display, g.cfg.vnc_display);
                else
                        log_info("VM %s runs in its window. Shut the guest down when done; Ctrl-C discards the "
                                 "changes.", req->name);
                log_info("Its agent answers at %s:%u once the guest has booted.", g.agent_host, g.agent_port);
                int status;
                bool shutdown = false;
                r = vm_wait_exit(g.vm, req->vm.timeout_s ? (int)req->vm.timeout_s * 1000 : -1, &status, &shutdown);
                if (r == 0 && !shutdown) {
                        log_error("QEMU ended without the guest shutting down; the changes are discarded");
                        r = -EIO;
                }
        }
        guest_done(&g);
        if (r == 0 && !interrupted()) {
                r = qemu_img_commit(overlay);
                if (r == 0)
                        log_info("Changes to %s saved", req->name);
        }
        unlink_if_exists(overlay);
        if (r < 0)
                log_error("modify of %s %s; the image is unchanged", req->name,
                          r == -ECANCELED ? "interrupted" : "failed");
        return r;
}
