/* Answer files that a guest's shell sources: KEY='value' lines, quoted so that no value can
 * run code or split into more variables. */
#pragma once

/* 'value' with every ' written as '\'' (POSIX sh single-quote rules). */

/* Render "KEY='value'\n" for parallel NULL-terminated arrays. Keys must be shell names
 * ([A-Za-z_][A-Za-z0-9_]*); NULL values are written as empty. -EINVAL on a bad key. */
int answer_file_render(const char *const *keys, const char *const *values, char **ret);
