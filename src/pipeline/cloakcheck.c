/* cloakcheck: upload the OS's detector through the agent, run it, parse its scorecard; in a
 * restored snapshot VM, an image on a throw-away overlay, or any guest with a Cuckoo agent. */
#include "pipeline/cloakcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "pipeline/fwstate.h"
#include "pipeline/install.h"
#include "pipeline/restore.h"

#define DETECTOR_TIMEOUT_S 300

int cloakcheck_in_guest(struct agent_client *agent, const struct os_profile *os, unsigned timeout_s,
                        struct scorecard *ret) {
        if (!os->cmd.run_detector) {
                log_error("the %s profile has no way to run a cloak detector (its run_detector command is not set)",
                          os->name);
                return -EOPNOTSUPP;
        }
        _cleanup_free_ char *local = NULL;
        const char *guest_name;
        int r = cloak_detector_for(os->os_name, &local, &guest_name);
        if (r < 0)
                return r;
        _cleanup_free_ char *dest = strdup_printf("%s%cvmcloak-%s", os->cmd.temp_dir, os->path_sep, guest_name);
        if (!dest)
                return log_oom();
        r = agent_upload(agent, local, dest);
        if (r < 0)
                return r;
        const char *keys[] = { "path", NULL }, *vals[] = { dest, NULL };
        _cleanup_free_ char *cmd = NULL;
        r = guest_template_expand(os->cmd.run_detector, keys, vals, &cmd);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "bad run_detector template in profile %s", os->name);
        struct agent_exec_opts eo = { .timeout_ms = (int)(timeout_s ? timeout_s : DETECTOR_TIMEOUT_S) * 1000 };
        struct agent_exec_result res = { 0 };
        r = agent_execute(agent, cmd, &eo, &res);
        (void)agent_remove(agent, dest);
        /* 127: a POSIX shell's "command not found"; 9009: cmd.exe's. The detector's interpreter
         * (sh, cscript) is missing: most likely --agent's guest runs another OS than --os says. */
        if (r == 0 && (res.exit_code == 127 || res.exit_code == 9009)) {
                const char *err = strempty(res.err);
                log_error("the detector could not run: is this a %s guest? (--os)%s%.*s", os->os_name,
                          *err ? " The guest said: " : "", (int)strcspn(err, "\n"), err);
                r = -EPROTO;
        } else if (r == 0 && res.exit_code != 0) {
                const char *err = strempty(res.err);
                log_error("the cloak detector exited with code %d in the guest%s%.*s", res.exit_code,
                          *err ? ": " : "", (int)strcspn(err, "\n"), err);
                r = -EPROTO;
        }
        if (r == 0)
                r = scorecard_parse(res.out, ret);
        agent_exec_result_done(&res);
        return r;
}

int cloakcheck_image(struct pipeline *pl, const struct image *img, const struct vm_options *vm, struct scorecard *ret) {
        const struct os_profile *prof = os_profile_find(img->osversion);
        _cleanup_free_ char *logdir = paths_image_log_dir(img->name);
        _cleanup_unlink_ char *overlay = strdup_printf("%s.cloakcheck-%d.qcow2", img->path, (int)getpid());
        if (!logdir || !overlay)
                return log_oom();
        if (!prof) {
                log_error("image %s has OS '%s', which this vmcloak does not know", img->name, img->osversion);
                return -EINVAL;
        }
        int r = pipeline_connect(pl, vm->accel);
        if (r == 0)
                r = vm_disk_create_overlay(pl->conn, overlay, img->path);
        if (r == 0)
                r = fwstate_copy(img, img->path, overlay, true);
        if (r < 0) {
                fwstate_remove(overlay);
                return r;
        }
        struct vm_session s;
        r = session_prepare(&s, pl, img->name, img, prof, vm, overlay, logdir, NULL);
        if (r == 0)
                r = session_start(&s, NULL);
        if (r == 0)
                r = session_wait_agent(&s, vm->timeout_s ? vm->timeout_s : prof->install_timeout_s, "Booting the image");
        if (r == 0) {
                r = cloakcheck_in_guest(s.agent, prof, vm->timeout_s, ret);
                if (r < 0 && r != -ECANCELED && r != -EBADMSG)
                        session_log_hint(&s);
        }
        /* Nothing of this boot is kept: no clean shutdown needed. */
        session_done(&s);
        fwstate_remove(overlay);
        if (r == 0 && !(ret->name = strdup(img->name))) {
                scorecard_done(ret);
                r = log_oom();
        }
        return r;
}

int cloakcheck_image_base(struct pipeline *pl, struct image *img, const struct vm_options *vm,
                          struct scorecard *ret) {
        if (img->cloakcheck) {
                if (scorecard_from_json(img->cloakcheck, ret) == 0)
                        return 0;
                log_warning("image %s: its stored scorecard cannot be read; checking the image again", img->name);
        }
        log_info("Image %s has no scorecard yet: checking it first (as 'vmcloak cloakcheck %s')", img->name, img->name);
        int r = cloakcheck_image(pl, img, vm, ret);
        if (r < 0)
                return r;
        _cleanup_free_ char *json = NULL;
        r = scorecard_to_json(ret, &json);
        if (r == 0 && (r = repo_image_set_cloakcheck(pl->repo, img->name, json)) < 0)
                log_error_errno(r, "cannot store the scorecard of %s in the repository: %m", img->name);
        if (r < 0) {
                scorecard_done(ret);
                return r;
        }
        /* The caller's row too: snapshot updates the image row from it (repo_image_update writes
         * what differs), which would otherwise put the old NULL back. */
        free(img->cloakcheck);
        img->cloakcheck = TAKE_PTR(json);
        log_info("Image %s: %u hidden, %u detected, %u skipped", img->name, ret->hidden, ret->detected,
                 ret->skipped);
        return r;
}

int cloakcheck_vm_judge(struct agent_client *agent, const struct os_profile *os, const struct scorecard *base,
                        const char *vmname, char **ret_json) {
        _cleanup_(scorecard_done) struct scorecard sc = { 0 };
        int r = cloakcheck_in_guest(agent, os, 0, &sc);
        if (r < 0)
                return r;
        if (!(sc.name = strdup(vmname)))
                return log_oom();
        const char *check = NULL;
        if (scorecard_worse(&sc, base, &check)) {
                const struct cloak_check *c = NULL;
                for (size_t i = 0; i < sc.n_checks && !c; i++)
                        if (streq(sc.checks[i].name, check))
                                c = &sc.checks[i];
                log_error("%s scores worse than its image: %s is detected (%s) where the image hides it; not recorded",
                          vmname, check, c ? c->seen : "");
                return -EPERM;
        }
        log_info("%s: cloak scorecard %u hidden, %u detected, %u skipped (not worse than its image)", vmname, sc.hidden,
                 sc.detected, sc.skipped);
        return scorecard_to_json(&sc, ret_json);
}

/* The OS of --agent's guest: a profile by name, else the first profile of that OS name. */
static const struct os_profile *os_for(const char *os) {
        const struct os_profile *p = os_profile_find(os);
        for (const struct os_profile *const *l = os_profiles(); !p && *l; l++)
                if (streq((*l)->os_name, os))
                        p = *l;
        return p;
}

static int check_agent(struct pipeline *pl, const struct cloakcheck_request *req, struct scorecard *ret) {
        (void)pl;
        const struct os_profile *os = os_for(strempty(req->os));
        if (!os) {
                log_error("--os '%s' is not linux, windows or an OS profile of vmcloak (see 'vmcloak init --help')",
                          strempty(req->os));
                return -EINVAL;
        }
        _cleanup_free_ char *host = strdup(req->agent);
        if (!host)
                return log_oom();
        int port = 8000;
        char *colon = strchr(host, ':');
        if (colon) {
                *colon = 0;
                char *end;
                long p = strtol(colon + 1, &end, 10);
                if (*end || p < 1 || p > 65535) {
                        log_error("--agent %s: the port must be a number from 1 to 65535", req->agent);
                        return -EINVAL;
                }
                port = (int)p;
        }
        uint32_t ip;
        if (parse_ipv4(host, &ip) < 0) {
                log_error("--agent %s: not an IPv4 address (IP[:PORT])", req->agent);
                return -EINVAL;
        }
        _cleanup_agent_client_ struct agent_client *agent = NULL;
        int r = agent_client_new(host, port, &agent);
        if (r == 0)
                r = agent_wait_ready(agent, (req->vm.timeout_s ? (int)req->vm.timeout_s : 30) * 1000);
        if (r == 0)
                r = cloakcheck_in_guest(agent, os, req->vm.timeout_s, ret);
        return r;
}

struct vm_job {
        const struct os_profile *os;
        unsigned timeout_s;
        struct scorecard *ret;
        bool done;
};

static int vm_in_guest(struct agent_client *agent, void *userdata) {
        struct vm_job *j = userdata;
        int r = cloakcheck_in_guest(agent, j->os, j->timeout_s, j->ret);
        j->done = r == 0;
        return r;
}

static int store(struct pipeline *pl, const struct scorecard *sc, bool vm, const char *name) {
        _cleanup_free_ char *json = NULL;
        int r = scorecard_to_json(sc, &json);
        if (r < 0)
                return r;
        r = vm ? repo_snapshot_set_cloakcheck(pl->repo, name, json) : repo_image_set_cloakcheck(pl->repo, name, json);
        if (r < 0)
                return log_error_errno(r, "cannot store the scorecard of %s in the repository: %m", name);
        return 0;
}

static int check_vm(struct pipeline *pl, const struct cloakcheck_request *req, const struct snapshot *snap,
                    struct scorecard *ret) {
        _cleanup_image_ struct image *img = NULL;
        int r = repo_image_get(pl->repo, snap->image_name, &img);
        if (r == -ENOENT)
                log_error("the image of VM %s (%s) is gone; its OS is unknown", req->name, strempty(snap->image_name));
        if (r < 0)
                return r;
        const struct os_profile *os = os_profile_find(img->osversion);
        if (!os) {
                log_error("VM %s's image has OS '%s', which this vmcloak does not know", req->name, img->osversion);
                return -EINVAL;
        }
        struct vm_job job = { .os = os, .timeout_s = req->vm.timeout_s, .ret = ret };
        struct restore_request rr = { .vmname = req->name, .timeout_s = req->vm.timeout_s, .in_guest = vm_in_guest,
                                      .userdata = &job, .quiet = true };
        r = pipeline_restore(pl, &rr);
        if (r < 0) {
                if (job.done)
                        scorecard_done(ret);
                return r;
        }
        r = (ret->name = strdup(req->name)) ? 0 : log_oom();
        if (r == 0)
                r = store(pl, ret, true, req->name);
        if (r < 0)
                scorecard_done(ret);
        return r;
}

static int check_image(struct pipeline *pl, const struct cloakcheck_request *req, struct scorecard *ret) {
        _cleanup_name_lock_ struct name_lock *lock = NULL;
        int r = name_lock_or_complain(LOCK_IMAGE, req->name, LOCK_SHARED, "in use", &lock);
        if (r < 0)
                return r;
        _cleanup_image_ struct image *img = NULL;
        r = image_open_checked(pl->repo, req->name, true, &img);
        if (r < 0)
                return r;
        r = cloakcheck_image(pl, img, &req->vm, ret);
        if (r < 0) {
                log_error("cloakcheck of image %s %s; the image is unchanged", req->name,
                          r == -ECANCELED ? "interrupted" : "failed");
                return r;
        }
        r = store(pl, ret, false, req->name);
        if (r < 0)
                scorecard_done(ret);
        return r;
}

int pipeline_cloakcheck(struct pipeline *pl, const struct cloakcheck_request *req, struct scorecard *ret) {
        if (req->agent)
                return check_agent(pl, req, ret);
        _cleanup_snapshot_ struct snapshot *snap = NULL;
        int r = repo_snapshot_get(pl->repo, req->name, &snap);
        if (r == 0 && snap->libvirt_uri) {
                log_error("%s lives as a libvirt domain on %s: check it there with 'snapshot --cloakcheck' when it is "
                          "made, or revert it and use 'cloakcheck --agent %s'", req->name, snap->libvirt_uri,
                          strempty(snap->ipaddr));
                return -EOPNOTSUPP;
        }
        if (r == 0)
                return check_vm(pl, req, snap, ret);
        if (r != -ENOENT)
                return r;
        _cleanup_image_ struct image *img = NULL;
        r = repo_image_get(pl->repo, req->name, &img);
        if (r == -ENOENT) {
                log_error("no snapshot VM or image named '%s' (see 'vmcloak list snapshots' and 'vmcloak list images')",
                          req->name);
                return r;
        }
        if (r < 0)
                return r;
        return check_image(pl, req, ret);
}
