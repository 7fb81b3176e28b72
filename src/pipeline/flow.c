/* The install flow runner: phases of media, boots, reboots and signals, as the OS profile says. */
#include "pipeline/flow.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agentclient/client.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/util.h"
#include "pipeline/serialwatch.h"
#include "pipeline/stuck.h"

#define POLL_MS 250
/* press_key_s: one key about every second */
#define PRESS_KEY_EVERY_MS 1000

/* Which drive holds which kind of media in this boot. */
struct drives {
        size_t boot, config, user_first, user_count;
        bool has_boot, has_config;
};

/* Put the phase's media into the definition's CD-ROM drives: boot, config, user. */
static int load_media(struct vm_session *s, unsigned media, const struct install_media *m, char *const *user,
                      struct drives *dr) {
        struct vm_def *d = &s->def;
        *dr = (struct drives){ 0 };
        vm_def_clear_media(d);
        if (d->n_cdroms == 0 && vm_def_add_cdrom(d, NULL) < 0)
                return log_oom();
        if ((media & INSTALL_MEDIA_BOOT) && m->boot_iso) {
                if (free_and_strdup(&d->cdroms[0].media, m->boot_iso) < 0)
                        return log_oom();
                dr->has_boot = true;
        }
        /* The installer's kernel straight from the host when the profile has it: only while its
         * boot disc is in (a boot without it starts from the disk). */
        bool kernel = (media & INSTALL_MEDIA_BOOT) && m->boot_iso && m->kernel;
        if (free_and_strdup(&d->kboot.kernel, kernel ? m->kernel : NULL) < 0 ||
            free_and_strdup(&d->kboot.initrd, kernel ? m->initrd : NULL) < 0 ||
            free_and_strdup(&d->kboot.cmdline, kernel ? m->cmdline : NULL) < 0)
                return log_oom();
        if ((media & INSTALL_MEDIA_CONFIG) && m->config_iso) {
                if (vm_def_add_cdrom(d, m->config_iso) < 0)
                        return log_oom();
                dr->config = d->n_cdroms - 1;
                dr->has_config = true;
        }
        if (media & INSTALL_MEDIA_USER) {
                dr->user_first = d->n_cdroms;
                STRV_FOREACH(u, user) {
                        if (vm_def_add_cdrom(d, *u) < 0)
                                return log_oom();
                        dr->user_count++;
                }
        }
        return 0;
}

static int eject_media(struct vm_session *s, unsigned kinds, const struct drives *dr) {
        int r = 0;
        if ((kinds & INSTALL_MEDIA_BOOT) && dr->has_boot)
                r = vm_domain_media_change(s->dom, dr->boot, NULL);
        if (r == 0 && (kinds & INSTALL_MEDIA_CONFIG) && dr->has_config)
                r = vm_domain_media_change(s->dom, dr->config, NULL);
        for (size_t i = 0; r == 0 && (kinds & INSTALL_MEDIA_USER) && i < dr->user_count; i++)
                r = vm_domain_media_change(s->dom, dr->user_first + i, NULL);
        return r;
}

struct phase_run {
        struct vm_session *s;
        const struct install_phase *ph;
        struct serial_watch *w;
        struct progress p;
        unsigned reboots;
        int64_t deadline;
        unsigned timeout_s;
        struct stuck_watch stuck;
        int64_t keys_until, next_key;  /* press_key_s: now_ms() bounds; keys_until 0: none */
};

static int fail(struct phase_run *x, const char *end, int r) {
        progress_end(&x->p, end);
        if (r != -ECANCELED)
                session_log_hint(x->s);
        return r;
}

/* A REBOOT event: the end of a reboot_ends phase, else one more of those it may take. */
static int count_reboot(struct phase_run *x) {
        if (x->ph->reboot_ends)
                return 0;
        stuck_watch_activity(&x->stuck);
        x->reboots++;
        log_debug("%s: the guest rebooted (%u of at most %u)", x->s->name, x->reboots, x->ph->max_reboots);
        if (x->reboots > x->ph->max_reboots) {
                progress_end(&x->p, "failed");
                log_error("the guest rebooted %u times during \"%s\", more than the %u its install takes: it is "
                          "probably restarting on an error (last step: %s)",
                          x->reboots, x->ph->title, x->ph->max_reboots, x->w->last[0] ? x->w->last : "unknown");
                session_log_hint(x->s);
                return -EIO;
        }
        return 0;
}

static int check_deadline(struct phase_run *x) {
        if (now_ms() < x->deadline)
                return 0;
        progress_end(&x->p, "timed out");
        _cleanup_free_ char *screen = stuck_watch_keep_last(&x->stuck);
        if (x->ph->until == INSTALL_UNTIL_AGENT)
                log_error("the guest's agent did not answer at %s within %u s (--timeout); the guest may have "
                          "failed to boot or to start its agent%s%s",
                          agent_client_address(x->s->agent), x->timeout_s, screen ? "; its last screen: " : "",
                          strempty(screen));
        else
                log_error("the OS install did not finish within %u s (--timeout)%s%s%s%s", x->timeout_s,
                          x->w->last[0] ? "; last step: " : "", x->w->last, screen ? "; its last screen: " : "",
                          strempty(screen));
        session_log_hint(x->s);
        return -ETIMEDOUT;
}

/* The installer's own verdict from the serial console, once the machine is off. */
static int serial_verdict(struct phase_run *x) {
        const struct os_profile *prof = x->s->profile;
        serial_watch_poll(x->w, prof);
        if (x->w->failed) {
                progress_end(&x->p, "failed");
                log_error("the unattended install failed inside the guest at: %s", x->w->failed_step);
                session_log_hint(x->s);
                return -EIO;
        }
        if (x->w->path && prof->serial_install_done && !x->w->done) {
                progress_end(&x->p, "failed");
                log_error("the VM powered off before the installer reported success%s%s",
                          x->w->last[0] ? "; last step: " : "", x->w->last);
                session_log_hint(x->s);
                return -EIO;
        }
        return 0;
}

/* press_key_s: Enter about once a second while the boot disc may be asking for a key. */
static void press_key(struct phase_run *x) {
        int64_t now = now_ms();
        if (now >= x->keys_until || now < x->next_key)
                return;
        x->next_key = now + PRESS_KEY_EVERY_MS;
        enum vm_state st;
        if (vm_domain_get_state(x->s->dom, &st) < 0 || st != VM_STATE_RUNNING)
                return;
        char *const keys[] = { (char *)"ret", NULL };
        if (vm_domain_send_keys(x->s->dom, keys, 0) < 0)
                x->keys_until = 0; /* said why; the phase goes on without keys */
}

/* The phase's wait: until the guest powers off, or its agent answers. */
static int phase_wait(struct phase_run *x) {
        for (;;) {
                struct vm_event ev;
                press_key(x);
                int r = vm_domain_wait_event(x->s->dom, POLL_MS, &ev);
                if (serial_watch_poll(x->w, x->s->profile) > 0)
                        stuck_watch_activity(&x->stuck);
                if (r == -ECANCELED)
                        return fail(x, "interrupted", r);
                if (r < 0 && r != -ETIMEDOUT)
                        return fail(x, "failed", r);
                if (r == 0 && ev.type == VM_EVENT_REBOOT) {
                        if ((r = count_reboot(x)) < 0)
                                return r;
                        continue;
                }
                if (r == 0 && ev.type == VM_EVENT_DIED) {
                        progress_end(&x->p, "failed");
                        log_error("%s ended during \"%s\": %s", x->s->name, x->ph->title, ev.detail);
                        session_log_hint(x->s);
                        return -EIO;
                }
                if (r == 0 && ev.type == VM_EVENT_POWEROFF) {
                        if (x->ph->until == INSTALL_UNTIL_POWEROFF)
                                return x->ph->serial_verdict ? serial_verdict(x) : 0;
                        progress_end(&x->p, "failed");
                        log_error("the guest powered off during \"%s\" before its agent answered%s%s", x->ph->title,
                                  x->w->last[0] ? "; last step: " : "", x->w->last);
                        session_log_hint(x->s);
                        return -EIO;
                }
                /* A guest that reports its own failure (the Windows bootstrap's "failed <step>")
                 * will never start its agent: no reason to wait out the timeout. */
                if (x->ph->until == INSTALL_UNTIL_AGENT && x->w->failed) {
                        progress_end(&x->p, "failed");
                        log_error("the guest reported a failure during \"%s\" at: %s", x->ph->title,
                                  x->w->failed_step);
                        session_log_hint(x->s);
                        return -EIO;
                }
                if (x->ph->until == INSTALL_UNTIL_AGENT && agent_ping(x->s->agent) == 0)
                        return 0;
                if ((r = check_deadline(x)) < 0)
                        return r;
                if (stuck_watch_tick(&x->stuck) > 0) {
                        progress_clear(&x->p);
                        stuck_watch_report(&x->stuck, x->ph->title, x->ph->stuck_causes);
                }
                const char *what = x->ph->until == INSTALL_UNTIL_AGENT ? "waiting for the agent" : "booting the installer";
                progress_update(&x->p, 0, 0, x->w->last[0] ? x->w->last : what);
        }
}

int install_flow_run(struct vm_session *s, const struct install_flow *flow, const struct install_media *media,
                     char *const *user_cdroms, unsigned timeout_s, unsigned stuck_after_s) {
        struct drives dr = { 0 };
        struct vm_host_info hi = { .accel = VM_ACCEL_KVM };
        (void)vm_host_info(s->pl->conn, &hi);
        int64_t stuck_after_ms, shot_every_ms;
        stuck_thresholds(hi.accel, stuck_after_s, &stuck_after_ms, &shot_every_ms);
        /* One watch over the serial log: QEMU truncates it at every boot. */
        struct serial_watch w = { .path = s->def.serial.type == VM_SERIAL_FILE ? s->def.serial.path : NULL };
        for (size_t i = 0; i < flow->n_phases; i++) {
                const struct install_phase *ph = &flow->phases[i];
                struct phase_run x = { .s = s, .ph = ph, .timeout_s = timeout_s, .w = &w };
                int r;
                if (ph->boot) {
                        if ((r = load_media(s, ph->media, media, user_cdroms, &dr)) < 0)
                                return r;
                        struct vm_start_opts so = { .reboot_powers_off = ph->reboot_ends };
                        if ((r = session_start(s, &so)) < 0)
                                return r;
                } else if (!s->dom) {
                        log_error("install flow of %s: phase \"%s\" continues a machine that never started",
                                  s->profile->name, ph->title);
                        return -EINVAL;
                }
                if (ph->boot) {
                        /* This boot's markers only: the earlier boots' are done with. */
                        w.pos = 0;
                        w.partial[0] = w.last[0] = 0;
                        w.done = w.failed = false;
                        w.started_ms = now_ms();
                }
                progress_begin(&x.p, ph->title);
                x.deadline = now_ms() + (int64_t)timeout_s * 1000;
                if (ph->boot && ph->press_key_s)
                        x.keys_until = now_ms() + (int64_t)ph->press_key_s * 1000;
                if ((r = stuck_watch_init(&x.stuck, s->dom, s->logdir, stuck_after_ms, shot_every_ms)) < 0)
                        return r;
                r = phase_wait(&x);
                stuck_watch_done(&x.stuck, r == 0);
                if (r < 0)
                        return r;
                if (ph->eject_at_end && ph->until == INSTALL_UNTIL_AGENT && (r = eject_media(s, ph->eject_at_end, &dr)) < 0)
                        return fail(&x, "failed", r);
                progress_end(&x.p, ph->until == INSTALL_UNTIL_AGENT ? "agent answered" : "done");
        }
        return 0;
}
