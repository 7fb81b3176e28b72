/* Incremental reading of the serial log for install/boot markers. */
#include "pipeline/serialwatch.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "guest/profile.h"

static int handle_line(struct serial_watch *w, const struct os_profile *p, char *line) {
        size_t l = strlen(line);
        while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == '\n'))
                line[--l] = 0;
        if (p->serial_install_done && strstr(line, p->serial_install_done))
                w->done = true;
        const char *f = p->serial_install_failed ? strstr(line, p->serial_install_failed) : NULL;
        if (f) {
                w->failed = true;
                snprintf(w->failed_step, sizeof w->failed_step, "%s", f + strlen(p->serial_install_failed));
        }
        const char *m = p->serial_progress ? strstr(line, p->serial_progress) : NULL;
        if (!m)
                return 0;
        snprintf(w->last, sizeof w->last, "%s", m + strlen(p->serial_progress));
        /* When each guest step was seen (--debug, from the boot), to find where an install
         * spends its time. */
        if (!w->started_ms)
                w->started_ms = now_ms();
        log_debug("serial +%.1f s: %s", (double)(now_ms() - w->started_ms) / 1000.0, w->last);
        return 1;
}

int serial_watch_poll(struct serial_watch *w, const struct os_profile *p) {
        if (!w->path || !p->serial_progress)
                return 0;
        _cleanup_close_ int fd = open(w->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        int news = 0;
        char buf[4096];
        for (;;) {
                ssize_t k = pread(fd, buf, sizeof buf - 1, w->pos);
                if (k <= 0)
                        break;
                w->pos += k;
                buf[k] = 0;
                char *s = buf;
                for (char *nl; (nl = memchr(s, '\n', (size_t)(buf + k - s))); s = nl + 1) {
                        *nl = 0;
                        char line[sizeof w->partial + sizeof buf];
                        snprintf(line, sizeof line, "%s%s", w->partial, s);
                        w->partial[0] = 0;
                        news |= handle_line(w, p, line);
                }
                /* Keep the unfinished tail (bounded: a line longer than that is cut). */
                size_t have = strlen(w->partial), rest = strlen(s);
                if (have + rest >= sizeof w->partial)
                        rest = sizeof w->partial - 1 - have;
                memcpy(w->partial + have, s, rest);
                w->partial[have + rest] = 0;
        }
        return news;
}
