/* Leveled, optionally colored log lines on stderr; errno-returning error helpers. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>

enum log_level {
        LOG_LEVEL_ERROR = 0,
        LOG_LEVEL_WARNING = 1,
        LOG_LEVEL_INFO = 2,
        LOG_LEVEL_DEBUG = 3,
};

enum log_color_mode {
        LOG_COLOR_AUTO = 0,
        LOG_COLOR_NEVER,
        LOG_COLOR_ALWAYS,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_color(enum log_color_mode mode);
bool log_use_color(void);

/* Mirror every log line (without color, with a timestamp) to this file too; NULL stops it. */
int log_open_file(const char *path);
void log_close_file(void);

void log_msgv(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log with errno set to -r (so %m names the error) and return r (made negative). */
int log_errno(enum log_level level, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#define log_error_errno(r, ...) log_errno(LOG_LEVEL_ERROR, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) log_errno(LOG_LEVEL_WARNING, (r), __VA_ARGS__)
#define log_debug_errno(r, ...) log_errno(LOG_LEVEL_DEBUG, (r), __VA_ARGS__)

/* The one line for a failed allocation; returns -ENOMEM (systemd's log_oom()). */
#define log_oom() log_errno(LOG_LEVEL_ERROR, -ENOMEM, "out of memory")
