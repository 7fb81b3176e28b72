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
#include <unistd.h>

/* A fresh temporary directory per test (removed by the caller with rm_rf). */
static inline char *test_tmpdir(void) {
        char tmpl[] = "/tmp/vmcloak-test.XXXXXX";
        char *d = mkdtemp(tmpl);
        return d ? strdup(d) : NULL;
}

/* Run fn with stream fd (STDOUT_FILENO or STDERR_FILENO) redirected to a file; returns fn's result
 * and sets *ret to what was written (NUL-terminated; caller frees). */
static inline int test_capture(int fd, int (*fn)(void *), void *arg, char **ret) {
        char path[] = "/tmp/vmcloak-capture.XXXXXX";
        int tmp = mkstemp(path);
        assert_true(tmp >= 0);
        fflush(stdout);
        fflush(stderr);
        int saved = dup(fd);
        dup2(tmp, fd);
        int r = fn(arg);
        fflush(stdout);
        fflush(stderr);
        dup2(saved, fd);
        close(saved);
        close(tmp);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        long len = ftell(f);
        assert_true(len >= 0);
        rewind(f);
        char *text = malloc((size_t)len + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
        text[len] = '\0';
        fclose(f);
        unlink(path);
        *ret = text;
        return r;
}
