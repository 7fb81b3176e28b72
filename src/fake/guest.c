/* The scripted guest's life: a thread per run that boots, reboots, serves commands and powers off. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "fake/internal.h"

static const char *const boot_names[FAKE_BOOT_KINDS] = {
        [FAKE_BOOT_INSTALL] = "install",
        [FAKE_BOOT_DISK] = "disk",
        [FAKE_BOOT_RESTORE] = "restore",
};

/* What a step of the guest's timeline leads to. */
enum step {
        STEP_GO,                       /* on with the script */
        STEP_END,                      /* the run is over (the machine is off) */
        STEP_HANG,                     /* the guest hangs: nothing more happens by itself */
};

void fake_cond_wait_until(struct fake_domain *d, int64_t deadline_ms) {
        if (deadline_ms < 0) {
                pthread_cond_wait(&d->cond, &d->lock);
                return;
        }
        /* d->cond runs on CLOCK_MONOTONIC, the clock of now_ms(). */
        struct timespec ts = { .tv_sec = deadline_ms / 1000, .tv_nsec = (long)(deadline_ms % 1000) * 1000000L };
        pthread_cond_timedwait(&d->cond, &d->lock, &ts);
}

void fake_log_append(struct fake_domain *d, const char *fmt, ...) {
        _cleanup_fclose_ FILE *f = fopen(d->log_path, "ae");
        if (!f)
                return;   /* the log is for people; the journal is what tests read */
        va_list ap;
        va_start(ap, fmt);
        fprintf(f, "fake %s: ", d->name);
        vfprintf(f, fmt, ap);
        fputc('\n', f);
        va_end(ap);
}

/* Append lines to the serial file, as the guest prints them; lock held. */
static void serial_append(struct fake_domain *d, char *const *lines) {
        if (d->serial_type != VM_SERIAL_FILE || !d->serial_path || !lines)
                return;
        _cleanup_close_ int fd = open(d->serial_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        STRV_FOREACH(l, lines) {
                if (write_all(fd, *l, strlen(*l)) < 0 || write_all(fd, "\n", 1) < 0)
                        return;
        }
}

static void push_event(struct fake_domain *d, enum vm_event_type type) {
        if (d->head_event == d->n_events)
                d->head_event = d->n_events = 0;
        if (d->n_events == d->cap_events) {
                size_t cap = d->cap_events ? d->cap_events * 2 : 8;
                struct vm_event *n = realloc(d->events, cap * sizeof *n);
                if (!n)
                        return;   /* the event is lost; wait_event still sees how the run ends */
                d->events = n;
                d->cap_events = cap;
        }
        d->events[d->n_events++] = (struct vm_event){ .type = type };
        pthread_cond_broadcast(&d->cond);
}

void fake_guest_off_locked(struct fake_domain *d, enum vm_event_type type, const char *detail, const char *journal) {
        if (d->state == VM_STATE_OFF)
                return;
        d->state = VM_STATE_OFF;
        d->up = d->hung = d->acpi = false;
        d->effect = FAKE_EFFECT_NONE;
        d->final = (struct vm_event){ .type = type };
        snprintf(d->final.detail, sizeof d->final.detail, "%s", strempty(detail));
        d->ended = true;
        if (journal)
                fake_journal_add("%s", journal);
        if (type == VM_EVENT_DIED)
                fake_log_append(d, "terminated: %s", strempty(detail));
        else
                fake_log_append(d, "powered off");
        pthread_cond_broadcast(&d->cond);
}

/* The machine dies; lock held. */
static void die(struct fake_domain *d, const char *detail) {
        _cleanup_free_ char *j = strdup_printf("died %s: %s", d->name, detail);
        fake_guest_off_locked(d, VM_EVENT_DIED, detail, j ? j : "died");
}

/* The guest powers the machine off; lock held. */
static void poweroff(struct fake_domain *d) {
        _cleanup_free_ char *j = strdup_printf("poweroff %s", d->name);
        fake_guest_off_locked(d, VM_EVENT_POWEROFF, NULL, j ? j : "poweroff");
}

void fake_guest_hang_locked(struct fake_domain *d) {
        if (d->state == VM_STATE_OFF || d->hung)
                return;
        d->hung = true;
        d->up = false;
        fake_journal_add("hang %s", d->name);
        fake_log_append(d, "the guest hangs");
        pthread_cond_broadcast(&d->cond);
}

int fake_guest_act(struct fake_domain *d, const char *moment, enum fake_action a, int error) {
        if (a == FAKE_FAIL)
                return -error;
        if (a != FAKE_DIE && a != FAKE_HANG)
                return 0;
        pthread_mutex_lock(&d->lock);
        if (a == FAKE_HANG) {
                fake_guest_hang_locked(d);
        } else if (d->state != VM_STATE_OFF) {
                char detail[128];
                snprintf(detail, sizeof detail, "the machine died at %s (scripted)", moment);
                die(d, detail);
        }
        pthread_mutex_unlock(&d->lock);
        return 0;
}

static bool alive(const struct fake_domain *d, uint64_t gen) { return d->gen == gen && d->state != VM_STATE_OFF; }

/* A moment of the guest's own: the hook decides; lock held (released around the hook). */
static enum step moment(struct fake_domain *d, uint64_t gen, const char *name, const char *arg) {
        pthread_mutex_unlock(&d->lock);
        int error = 0;
        enum fake_action a = fake_hook_call(d->name, name, arg, &error);
        pthread_mutex_lock(&d->lock);
        if (!alive(d, gen))
                return STEP_END;
        char detail[160];
        switch (a) {
        case FAKE_DIE:
                snprintf(detail, sizeof detail, "the machine died at %s (scripted)", name);
                die(d, detail);
                return STEP_END;
        case FAKE_FAIL:
                snprintf(detail, sizeof detail, "the guest failed at %s: %s (scripted)", name, strerror(error));
                die(d, detail);
                return STEP_END;
        case FAKE_HANG:
                fake_guest_hang_locked(d);
                return STEP_HANG;
        default:
                return d->hung ? STEP_HANG : STEP_GO;
        }
}

/* The guest shuts down by itself (ACPI, or a poweroff command); lock held. */
static enum step shut_down(struct fake_domain *d, uint64_t gen) {
        d->up = false;
        serial_append(d, d->run.serial_shutdown);
        fake_log_append(d, "the guest shuts down");
        int64_t deadline = now_ms() + (d->run.shutdown_ms > 0 ? d->run.shutdown_ms : 0);
        while (alive(d, gen) && now_ms() < deadline)
                fake_cond_wait_until(d, deadline);
        if (alive(d, gen))
                poweroff(d);
        return STEP_END;
}

static bool obeys_acpi(const struct fake_domain *d) {
        return !d->hung && d->run.shutdown_ms >= 0 && d->state == VM_STATE_RUNNING;
}

/* Let ms of guest time pass (none passes while the machine is paused); the power button is
 * answered meanwhile. Lock held. */
static enum step guest_sleep(struct fake_domain *d, uint64_t gen, int ms) {
        int64_t deadline = now_ms() + (ms > 0 ? ms : 0);
        for (;;) {
                if (!alive(d, gen))
                        return STEP_END;
                if (d->state == VM_STATE_PAUSED) {
                        int64_t paused = now_ms();
                        while (alive(d, gen) && d->state == VM_STATE_PAUSED)
                                fake_cond_wait_until(d, -1);
                        deadline += now_ms() - paused;
                        continue;
                }
                if (d->acpi) {
                        d->acpi = false;
                        if (obeys_acpi(d))
                                return shut_down(d, gen);
                }
                if (d->hung)
                        return STEP_HANG;
                if (now_ms() >= deadline)
                        return STEP_GO;
                fake_cond_wait_until(d, deadline);
        }
}

/* One guest reboot: the REBOOT event, the serial lines, the hook; lock held. */
static enum step guest_reboot(struct fake_domain *d, uint64_t gen, char *const *serial) {
        d->run.reboots++;
        push_event(d, VM_EVENT_REBOOT);
        fake_journal_add("reboot %s", d->name);
        fake_log_append(d, "the guest reset the machine");
        serial_append(d, serial);
        char n[16];
        snprintf(n, sizeof n, "%u", d->run.reboots);
        enum step s = moment(d, gen, "reboot", n);
        if (s == STEP_GO && d->run.reboot_powers_off) {
                poweroff(d);
                return STEP_END;
        }
        return s;
}

/* The agent comes up; lock held. */
static enum step agent_up(struct fake_domain *d, uint64_t gen) {
        fake_journal_add("agent-up %s", d->name);
        enum step s = moment(d, gen, "agent-up", NULL);
        if (s == STEP_GO) {
                d->up = true;
                pthread_cond_broadcast(&d->cond);
        }
        return s;
}

/* How the boot (or a restore) ends; lock held. */
static enum step boot_end(struct fake_domain *d, uint64_t gen) {
        const struct fake_boot_script *b = &d->run.boot;
        switch (b->end) {
        case FAKE_END_POWEROFF:
                serial_append(d, b->serial_end);
                poweroff(d);
                return STEP_END;
        case FAKE_END_HANG:
                fake_guest_hang_locked(d);
                return STEP_HANG;
        case FAKE_END_DIE:
                die(d, b->die_detail ? b->die_detail : "the machine crashed (scripted)");
                return STEP_END;
        default:
                serial_append(d, b->serial_end);
                return d->run.kind == FAKE_BOOT_RESTORE ? STEP_GO : agent_up(d, gen);
        }
}

static enum step boot(struct fake_domain *d, uint64_t gen) {
        const struct fake_boot_script *b = &d->run.boot;
        if (d->run.kind == FAKE_BOOT_RESTORE) {
                /* Up at once (fake_guest_start), unless the script ends it otherwise. */
                if (b->end == FAKE_END_AGENT)
                        return STEP_GO;
                enum step s = guest_sleep(d, gen, b->boot_ms);
                return s == STEP_GO ? boot_end(d, gen) : s;
        }
        serial_append(d, b->serial_boot);
        enum step s = moment(d, gen, "boot", boot_names[d->run.kind]);
        if (s != STEP_GO)
                return s;
        int slice = b->boot_ms / (int)(b->reboots + 1);
        for (unsigned i = 0; i < b->reboots; i++) {
                if ((s = guest_sleep(d, gen, slice)) != STEP_GO)
                        return s;
                if ((s = guest_reboot(d, gen, b->serial_reboot)) != STEP_GO)
                        return s;
        }
        if ((s = guest_sleep(d, gen, b->boot_ms - slice * (int)b->reboots)) != STEP_GO)
                return s;
        return boot_end(d, gen);
}

/* A "reboot" command: down, REBOOT half-way, up again; lock held. */
static enum step command_reboot(struct fake_domain *d, uint64_t gen) {
        d->up = false;
        fake_log_append(d, "the guest reboots");
        int half = d->run.reboot_ms / 2;
        enum step s = guest_sleep(d, gen, half);
        if (s == STEP_GO)
                s = guest_reboot(d, gen, NULL);
        if (s == STEP_GO)
                s = guest_sleep(d, gen, d->run.reboot_ms - half);
        return s == STEP_GO ? agent_up(d, gen) : s;
}

/* The guest runs: it answers the power button and carries out its commands' effects. */
static void serve(struct fake_domain *d, uint64_t gen) {
        while (alive(d, gen)) {
                if (d->acpi) {
                        d->acpi = false;
                        if (obeys_acpi(d)) {
                                shut_down(d, gen);
                                return;
                        }
                }
                enum fake_effect e = d->effect;
                d->effect = FAKE_EFFECT_NONE;
                if (e == FAKE_EFFECT_POWEROFF) {
                        shut_down(d, gen);
                        return;
                }
                if (e == FAKE_EFFECT_REBOOT) {
                        if (command_reboot(d, gen) == STEP_END)
                                return;
                        continue;
                }
                fake_cond_wait_until(d, -1);
        }
}

static void *guest_main(void *p) {
        struct fake_domain *d = p;
        pthread_mutex_lock(&d->lock);
        uint64_t gen = d->gen;
        /* Started paused: the CPUs wait for vm_domain_resume. */
        while (alive(d, gen) && d->state == VM_STATE_PAUSED)
                fake_cond_wait_until(d, -1);
        if (alive(d, gen) && !d->hung && boot(d, gen) != STEP_END)
                serve(d, gen);
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

void fake_guest_reap(struct fake_domain *d) {
        pthread_mutex_lock(&d->lock);
        bool joinable = d->thread_joinable;
        pthread_t t = d->thread;
        d->thread_joinable = false;
        pthread_mutex_unlock(&d->lock);
        if (joinable)
                pthread_join(t, NULL);
}

int fake_guest_start(struct fake_domain *d, struct fake_run *run, bool paused, enum fake_action action,
                     unsigned restore_slot, const char *journal_line) {
        fake_guest_reap(d);
        pthread_mutex_lock(&d->lock);
        if (d->state != VM_STATE_OFF) {
                pthread_mutex_unlock(&d->lock);
                fake_run_done(run);
                return log_error_errno(-EBUSY, "fake machine %s is already running", d->name);
        }
        fake_run_done(&d->run);
        d->run = *run;
        memset(run, 0, sizeof *run);
        d->gen++;
        d->head_event = d->n_events = 0;
        d->ended = false;
        d->ever_started = true;
        d->up = d->hung = d->acpi = d->orphan = false;
        d->effect = FAKE_EFFECT_NONE;
        d->slot = d->run.kind == FAKE_BOOT_RESTORE ? restore_slot : 0;
        d->state = paused ? VM_STATE_PAUSED : VM_STATE_RUNNING;
        d->log_offset = file_size_or_zero(d->log_path);
        fake_journal_add("%s", journal_line);
        fake_log_append(d, "powered on (%s%s)", boot_names[d->run.kind], paused ? ", paused" : "");
        if (d->run.kind == FAKE_BOOT_RESTORE && d->run.boot.end == FAKE_END_AGENT && action == FAKE_CONTINUE) {
                d->up = true;
                fake_journal_add("agent-up %s", d->name);
        }
        if (action == FAKE_DIE)
                die(d, "the machine died as it started (scripted)");
        else if (action == FAKE_HANG)
                fake_guest_hang_locked(d);
        int r = 0;
        if (d->state != VM_STATE_OFF) {
                r = -pthread_create(&d->thread, NULL, guest_main, d);
                if (r < 0) {
                        die(d, "the fake driver could not start the guest's thread");
                        log_error_errno(r, "fake machine %s: cannot start its guest thread: %m", d->name);
                } else {
                        d->thread_joinable = true;
                }
        }
        pthread_mutex_unlock(&d->lock);
        return r;
}
