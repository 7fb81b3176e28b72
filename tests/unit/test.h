/* Common includes for cmocka unit tests. */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fresh temporary directory per test (removed by the caller with rm_rf). */
static inline char *test_tmpdir(void) {
        char tmpl[] = "/tmp/vmcloak-test.XXXXXX";
        char *d = mkdtemp(tmpl);
        return d ? strdup(d) : NULL;
}
