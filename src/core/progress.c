/* Terminal progress bars and their plain-log equivalent. */
#include "core/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

static bool enabled = true;

void progress_set_enabled(bool e) { enabled = e; }

void progress_begin(struct progress *p, const char *label) {
        memset(p, 0, sizeof *p);
        snprintf(p->label, sizeof p->label, "%s", label);
        p->tty = enabled && isatty(STDERR_FILENO) && log_get_level() >= LOG_LEVEL_INFO;
        p->active = true;
        p->started_ms = now_ms();
        p->last_percent = -1;
        if (enabled && !p->tty)
                log_info("%s ...", p->label);
}

void progress_update(struct progress *p, uint64_t done, uint64_t total, const char *detail) {
        if (!enabled || !p->active)
                return;
        int64_t now = now_ms();
        double secs = (double)(now - p->started_ms) / 1000.0;
        int percent = total ? (int)(done * 100 / total) : -1;
        if (percent > 100)
                percent = 100;
        if (p->tty) {
                if (now - p->last_print_ms < 100 && percent == p->last_percent)
                        return;
                char bar[31];
                if (percent >= 0) {
                        int fill = percent * 30 / 100;
                        memset(bar, '#', (size_t)fill);
                        memset(bar + fill, '-', (size_t)(30 - fill));
                        bar[30] = 0;
                        fprintf(stderr, "\r\033[K%s [%s] %3d%% %s (%.0f s)", p->label, bar, percent,
                                strempty(detail), secs);
                } else {
                        static const char spin[] = "|/-\\";
                        fprintf(stderr, "\r\033[K%s %c %s (%.0f s)", p->label, spin[(now / 250) % 4],
                                strempty(detail), secs);
                }
                fflush(stderr);
        } else {
                /* Logs: one line per 10 % step, or every 15 s when the total is unknown. */
                bool step = percent >= 0 ? percent / 10 != p->last_percent / 10 : now - p->last_print_ms >= 15000;
                if (!step)
                        return;
                if (percent >= 0)
                        log_info("%s: %d%% %s", p->label, percent, strempty(detail));
                else
                        log_info("%s: %s (%.0f s)", p->label, strempty(detail), secs);
        }
        p->last_print_ms = now;
        p->last_percent = percent;
}

void progress_clear(struct progress *p) {
        if (p->active && enabled && p->tty) {
                fprintf(stderr, "\r\033[K");
                p->last_print_ms = 0; /* redrawn at the next update */
        }
}

int64_t progress_end(struct progress *p, const char *result) {
        int64_t elapsed = now_ms() - p->started_ms;
        if (!p->active)
                return elapsed;
        p->active = false;
        if (!enabled)
                return elapsed;
        if (p->tty)
                fprintf(stderr, "\r\033[K");
        log_info("%s: %s (%.1f s)", p->label, result ? result : "done", (double)elapsed / 1000.0);
        return elapsed;
}
