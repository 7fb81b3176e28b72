/* The stuck detector of an install phase: screenshots compared by their pixels, and the serial console. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/driver.h"

/*
 * An unattended install that goes wrong mostly does not fail: it sits at a dialog (Windows
 * Setup asking for a product key or a disk driver, a boot loader at its prompt) until the
 * timeout. While a phase runs, the watch takes a screenshot every interval into the log folder
 * (three rolling files, screen-0.png .. screen-2.png) and compares its decoded pixels with the
 * two latest different screens it saw (PNG bytes are not compared: an encoder may write the
 * same pixels differently): a screen that only toggles between two frames, as a blinking
 * cursor at a prompt does, has not changed. When the screen has not changed for `after` and the serial console brought no
 * new marker meanwhile, the phase is stuck: the screenshot becomes stuck.png and the caller
 * reports it once, until the screen or the serial console moves again.
 */

/* Defaults that fit a KVM host; under TCG (everything runs several times slower) they are
 * multiplied by STUCK_TCG_FACTOR. */
#define STUCK_AFTER_KVM_S 180
#define STUCK_INTERVAL_KVM_MS 10000
#define STUCK_TCG_FACTOR 5
/* A screenshot is never taken more often than this. */
#define STUCK_INTERVAL_MIN_MS 250

struct stuck_watch {
        char *logdir;
        struct vm_domain *dom;
        int64_t after_ms, interval_ms;
        int64_t since_ms;          /* now_ms() when the screen or the serial console last moved */
        time_t since_wall;         /* the same moment on the wall clock, for the report */
        int64_t next_shot_ms;
        unsigned seq;              /* screenshots taken: the next rolling file is seq % 3 */
        char *last_png;            /* the newest screenshot, or NULL */
        struct stuck_frame {
                unsigned char *pixels; /* RGB */
                size_t n;
                unsigned width, height;
        } frames[2];               /* the two latest different screens */
        unsigned next_frame;       /* which of them the next different screen replaces */
        bool stuck;                /* reported, and not moved since */
        bool off;                  /* screenshots do not work here: the watch rests */
        char *stuck_png;           /* stuck.png once a report named it */
};

/*
 * The thresholds for a host with accelerator accel: after_s (the user's --stuck-after; 0: the
 * default, STUCK_AFTER_KVM_S, times STUCK_TCG_FACTOR under TCG) in ms, and the screenshot
 * interval: the default (STUCK_INTERVAL_KVM_MS, times the factor under TCG), but at most a sixth
 * of after so a stuck screen is seen in time, and at least STUCK_INTERVAL_MIN_MS.
 */
void stuck_thresholds(enum vm_accel accel, unsigned after_s, int64_t *ret_after_ms, int64_t *ret_interval_ms);

/* Start watching dom (which runs) with screenshots in logdir, from now_ms(). 0 or -ENOMEM. */
int stuck_watch_init(struct stuck_watch *w, struct vm_domain *dom, const char *logdir, int64_t after_ms,
                     int64_t interval_ms);
/* Something moved that is not on the screen (a serial progress marker, a guest reboot): the
 * stuck clock starts again and a report may come again. */
void stuck_watch_activity(struct stuck_watch *w);
/*
 * Call at every poll of the phase's wait: takes the screenshot when one is due (only while the
 * machine runs) and compares it. Returns 1 when the phase has just become stuck (w->stuck_png
 * holds the screenshot: the caller reports once), else 0. A screenshot that fails makes the
 * watch rest for the phase after one debug line (a driver without screenshots is no error).
 */
int stuck_watch_tick(struct stuck_watch *w);
/* Print the report: "Setup seems stuck since HH:MM at <phase>: see <png>", then one line per
 * likely cause (causes NULL-terminated, or NULL). */
void stuck_watch_report(const struct stuck_watch *w, const char *phase, const char *const *causes);
/*
 * The phase timed out: keep the newest screen as <logdir>/last-screen.png (a fresh screenshot
 * when the machine still runs, else the newest rolling one). Returns its path (new string), or
 * NULL when there is none.
 */
char *stuck_watch_keep_last(struct stuck_watch *w);
/* End the watch: the rolling screenshots go; with success also stuck.png and last-screen.png
 * (a phase that finished was not stuck). Frees w's memory. */
void stuck_watch_done(struct stuck_watch *w, bool success);

/* The pixels of a PNG file as 8-bit RGB (new buffer) and its size. 0, -ENOMEM, or -EBADMSG after
 * a debug line naming libpng's reason (not a PNG, truncated). */
int png_read_rgb(const char *path, unsigned char **ret, size_t *ret_len, unsigned *ret_width,
                 unsigned *ret_height);
