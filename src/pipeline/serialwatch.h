/* Following a guest's serial console log for the profile's progress markers
 * ("VMCLOAK: install: partitioning", "... done", "... FAILED <step>"). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct os_profile;

struct serial_watch {
        const char *path;
        off_t pos;
        char partial[512];     /* an unfinished last line */
        char last[256];        /* the last progress marker (without the prefix) */
        bool done;
        bool failed;
        char failed_step[256];
        int64_t started_ms;    /* now_ms() at the boot (0: the first marker), for --debug timings */
};

/* Read what was appended since the last call. Returns 1 when a new marker arrived, else 0. */
int serial_watch_poll(struct serial_watch *w, const struct os_profile *p);
