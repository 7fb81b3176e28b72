/* Progress for long steps: a bar with percentage on a terminal, plain lines otherwise. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct progress {
        char label[96];
        bool tty;
        bool active;
        int64_t started_ms;
        int64_t last_print_ms;
        int last_percent;
};

void progress_begin(struct progress *p, const char *label);
/* done/total in any unit; total 0 means unknown (shows a spinner and elapsed time). */
void progress_update(struct progress *p, uint64_t done, uint64_t total, const char *detail);
/* Clear the bar from a terminal so a log line can be printed; the next update draws it again. */
void progress_clear(struct progress *p);
/* Finish the line; prints "label: <result> (12.3 s)". Returns elapsed ms. */
int64_t progress_end(struct progress *p, const char *result);
/* Disable all progress output (--quiet, --json). */
void progress_set_enabled(bool enabled);
