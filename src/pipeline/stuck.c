/* The stuck detector: rolling screenshots compared by their pixels, and a report once per stuck period. */
#include "pipeline/stuck.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"

#define ROLLING 3

void stuck_thresholds(enum vm_accel accel, unsigned after_s, int64_t *ret_after_ms, int64_t *ret_interval_ms) {
        int64_t factor = accel == VM_ACCEL_TCG ? STUCK_TCG_FACTOR : 1;
        int64_t after = after_s ? (int64_t)after_s * 1000 : (int64_t)STUCK_AFTER_KVM_S * 1000 * factor;
        int64_t interval = (int64_t)STUCK_INTERVAL_KVM_MS * factor;
        if (interval > after / 6)
                interval = after / 6;
        if (interval < STUCK_INTERVAL_MIN_MS)
                interval = STUCK_INTERVAL_MIN_MS;
        *ret_after_ms = after;
        *ret_interval_ms = interval;
}

int png_read_rgb(const char *path, unsigned char **ret, size_t *ret_len, unsigned *ret_width,
                 unsigned *ret_height) {
        png_image img = { .version = PNG_IMAGE_VERSION };
        if (!png_image_begin_read_from_file(&img, path))
                return log_debug_errno(-EBADMSG, "cannot read the PNG %s: %s", path, img.message);
        img.format = PNG_FORMAT_RGB;
        size_t len = PNG_IMAGE_SIZE(img);
        unsigned char *buf = malloc(len ? len : 1);
        if (!buf) {
                png_image_free(&img);
                return log_oom();
        }
        if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
                free(buf);
                return log_debug_errno(-EBADMSG, "cannot decode the PNG %s: %s", path, img.message);
        }
        *ret = buf;
        *ret_len = len;
        *ret_width = img.width;
        *ret_height = img.height;
        return 0;
}

static char *logfile(const struct stuck_watch *w, const char *name) { return path_join(w->logdir, name); }

static void moved(struct stuck_watch *w, int64_t now) {
        w->since_ms = now;
        w->since_wall = time(NULL);
        w->stuck = false;
}

int stuck_watch_init(struct stuck_watch *w, struct vm_domain *dom, const char *logdir, int64_t after_ms,
                     int64_t interval_ms) {
        *w = (struct stuck_watch){ .dom = dom, .after_ms = after_ms, .interval_ms = interval_ms };
        if (!(w->logdir = strdup(logdir)))
                return log_oom();
        int64_t now = now_ms();
        moved(w, now);
        w->next_shot_ms = now + interval_ms;
        return 0;
}

void stuck_watch_activity(struct stuck_watch *w) { moved(w, now_ms()); }

/* One screenshot into the next rolling file; 1 when its pixels differ from the previous one's. */
static int shoot(struct stuck_watch *w) {
        char name[32];
        snprintf(name, sizeof name, "screen-%u.png", w->seq % ROLLING);
        _cleanup_free_ char *png = logfile(w, name);
        if (!png)
                return log_oom();
        int r = vm_domain_screenshot(w->dom, png);
        if (r < 0)
                return r;
        w->seq++;
        _cleanup_free_ unsigned char *pix = NULL;
        size_t n;
        unsigned width, height;
        if ((r = png_read_rgb(png, &pix, &n, &width, &height)) < 0)
                return r;
        free(w->last_png);
        w->last_png = TAKE_PTR(png);
        for (size_t i = 0; i < ELEMENTSOF(w->frames); i++) {
                const struct stuck_frame *f = &w->frames[i];
                if (f->pixels && f->n == n && f->width == width && f->height == height && memcmp(f->pixels, pix, n) == 0)
                        return 0;
        }
        struct stuck_frame *f = &w->frames[w->next_frame++ % ELEMENTSOF(w->frames)];
        free(f->pixels);
        *f = (struct stuck_frame){ .pixels = TAKE_PTR(pix), .n = n, .width = width, .height = height };
        return 1;
}

/* Rename the newest screenshot to name in the log folder. */
static int keep_as(struct stuck_watch *w, const char *name) {
        _cleanup_free_ char *keep = logfile(w, name);
        if (!keep)
                return log_oom();
        if (rename(w->last_png, keep) < 0)
                return log_debug_errno(-errno, "cannot keep %s as %s: %m", w->last_png, keep);
        free(w->last_png);
        w->last_png = TAKE_PTR(keep);
        return 0;
}

int stuck_watch_tick(struct stuck_watch *w) {
        int64_t now = now_ms();
        if (w->off || now < w->next_shot_ms)
                return 0;
        w->next_shot_ms = now + w->interval_ms;
        enum vm_state st;
        if (vm_domain_get_state(w->dom, &st) < 0 || st != VM_STATE_RUNNING)
                return 0;
        int r = shoot(w);
        if (r < 0) {
                log_debug("no screenshots of this phase (%d): the stuck detector rests", r);
                w->off = true;
                return 0;
        }
        if (r > 0) {
                moved(w, now);
                return 0;
        }
        if (w->stuck || now - w->since_ms < w->after_ms)
                return 0;
        /* The screenshot that proves it is kept under its own name: the rolling ones move on. */
        if (keep_as(w, "stuck.png") < 0)
                return 0;
        free(w->stuck_png);
        if (!(w->stuck_png = strdup(w->last_png)))
                return log_oom();
        w->stuck = true;
        return 1;
}

void stuck_watch_report(const struct stuck_watch *w, const char *phase, const char *const *causes) {
        struct tm tm;
        char hhmm[8] = "?";
        if (localtime_r(&w->since_wall, &tm))
                strftime(hhmm, sizeof hhmm, "%H:%M", &tm);
        log_warning("Setup seems stuck since %s at \"%s\": see %s", hhmm, phase, w->stuck_png);
        for (const char *const *c = causes; c && *c; c++)
                log_warning("  likely: %s", *c);
}

char *stuck_watch_keep_last(struct stuck_watch *w) {
        enum vm_state st;
        bool runs = !w->off && vm_domain_get_state(w->dom, &st) == 0 && st == VM_STATE_RUNNING;
        /* A fresh one while the machine runs; else the newest (which may be stuck.png: it stays). */
        if ((runs && shoot(w) >= 0) || (w->last_png && !streq(w->last_png, strempty(w->stuck_png))))
                (void)keep_as(w, "last-screen.png");
        return w->last_png ? strdup(w->last_png) : NULL;
}

void stuck_watch_done(struct stuck_watch *w, bool success) {
        if (w->logdir) {
                for (unsigned i = 0; i < ROLLING; i++) {
                        char name[32];
                        snprintf(name, sizeof name, "screen-%u.png", i);
                        _cleanup_free_ char *p = logfile(w, name);
                        if (p)
                                unlink_if_exists(p);
                }
                if (success) {
                        static const char *const kept[] = { "stuck.png", "last-screen.png" };
                        for (size_t i = 0; i < ELEMENTSOF(kept); i++) {
                                _cleanup_free_ char *p = logfile(w, kept[i]);
                                if (p)
                                        unlink_if_exists(p);
                        }
                }
        }
        free(w->logdir);
        free(w->last_png);
        for (size_t i = 0; i < ELEMENTSOF(w->frames); i++)
                free(w->frames[i].pixels);
        free(w->stuck_png);
        *w = (struct stuck_watch){ 0 };
}
