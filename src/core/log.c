/* Leveled log output: "vmcloak: " errors, warnings, info and debug lines on stderr. */
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level max_level = LOG_LEVEL_INFO;
static enum log_color_mode color_mode = LOG_COLOR_AUTO;
static FILE *log_file;

void log_set_level(enum log_level level) { max_level = level; }
enum log_level log_get_level(void) { return max_level; }
void log_set_color(enum log_color_mode mode) { color_mode = mode; }

bool log_use_color(void) {
        if (color_mode == LOG_COLOR_ALWAYS)
                return true;
        if (color_mode == LOG_COLOR_NEVER)
                return false;
        const char *t = getenv("TERM");
        if (getenv("NO_COLOR") || !t || strcmp(t, "dumb") == 0)
                return false;
        return isatty(STDERR_FILENO);
}

int log_open_file(const char *path) {
        FILE *f = fopen(path, "ae");
        if (!f)
                return -errno;
        setvbuf(f, NULL, _IOLBF, 0);
        log_close_file();
        log_file = f;
        return 0;
}

void log_close_file(void) {
        if (log_file)
                fclose(log_file);
        log_file = NULL;
}

static const char *const level_prefix[] = {
        [LOG_LEVEL_ERROR] = "vmcloak: ",
        [LOG_LEVEL_WARNING] = "vmcloak: warning: ",
        [LOG_LEVEL_INFO] = "",
        [LOG_LEVEL_DEBUG] = "debug: ",
};

static const char *const level_color[] = {
        [LOG_LEVEL_ERROR] = "\033[1;31m",
        [LOG_LEVEL_WARNING] = "\033[1;33m",
        [LOG_LEVEL_INFO] = "",
        [LOG_LEVEL_DEBUG] = "\033[2m",
};

void log_msgv(enum log_level level, const char *fmt, va_list ap) {
        int saved_errno = errno;
        char buf[4096];

        vsnprintf(buf, sizeof buf, fmt, ap);
        if (log_file) {
                char ts[32];
                time_t t = time(NULL);
                struct tm tm;
                strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
                static const char *const names[] = { "ERROR", "WARNING", "INFO", "DEBUG" };
                fprintf(log_file, "%s %s: %s\n", ts, names[level], buf);
        }
        if (level <= max_level) {
                bool c = log_use_color() && level != LOG_LEVEL_INFO;
                fprintf(stderr, "%s%s%s%s\n", c ? level_color[level] : "", level_prefix[level], buf,
                        c ? "\033[0m" : "");
        }
        errno = saved_errno;
}

void log_msg(enum log_level level, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_msgv(level, fmt, ap);
        va_end(ap);
}

int log_errno(enum log_level level, int r, const char *fmt, ...) {
        va_list ap;
        if (r > 0)
                r = -r;
        errno = -r;
        va_start(ap, fmt);
        log_msgv(level, fmt, ap);
        va_end(ap);
        return r;
}
