/* Unit tests: spawning, waiting, capturing and terminating child processes. */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/proc.h"
#include "core/util.h"

static void test_run_capture(void **state) {
        (void)state;
        char *out = NULL, *err = NULL;
        char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
        assert_int_equal(proc_run(argv, NULL, &out, &err), 3);
        assert_string_equal(out, "out\n");
        assert_string_equal(err, "err\n");
        free(out);
        free(err);
}

static void test_run_missing_program(void **state) {
        (void)state;
        char *argv[] = { "/nonexistent/program", NULL };
        assert_int_equal(proc_run(argv, NULL, NULL, NULL), -ENOENT);
        pid_t pid;
        assert_int_equal(proc_spawn(argv, NULL, &pid), -ENOENT);
}

static void test_spawn_wait_timeout_terminate(void **state) {
        (void)state;
        char *argv[] = { "sleep", "30", NULL };
        struct proc_opts o = { .new_pgroup = true, .pdeathsig = true };
        pid_t pid;
        assert_int_equal(proc_spawn(argv, &o, &pid), 0);
        assert_int_equal(getpgid(pid), pid);
        int status;
        assert_int_equal(proc_wait(pid, 100, &status), -ETIMEDOUT);
        assert_int_equal(proc_terminate(pid, 1000), 0);
        assert_int_equal(kill(pid, 0), -1);
}

static void test_spawn_redirect(void **state) {
        (void)state;
        char *d = test_tmpdir();
        char *log = strdup_printf("%s/log", d);
        char *argv[] = { "sh", "-c", "echo to-stderr >&2", NULL };
        struct proc_opts o = { .stderr_path = log };
        pid_t pid;
        assert_int_equal(proc_spawn(argv, &o, &pid), 0);
        int status;
        assert_int_equal(proc_wait(pid, 5000, &status), 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        char *c;
        assert_int_equal(read_full_file(log, &c, NULL), 0);
        assert_string_equal(c, "to-stderr\n");
        free(c);
        char buf[64];
        assert_string_equal(proc_status_string(status, buf, sizeof buf), "exit code 0");
        rm_rf(d);
        free(log);
        free(d);
}

static void test_wait_interrupted(void **state) {
        (void)state;
        interrupt_install();
        char *argv[] = { "sleep", "30", NULL };
        struct proc_opts o = { .new_pgroup = true };
        pid_t pid;
        assert_int_equal(proc_spawn(argv, &o, &pid), 0);
        raise(SIGINT);
        assert_true(interrupted());
        int status;
        assert_int_equal(proc_wait(pid, 5000, &status), -ECANCELED);
        interrupt_reset();
        proc_terminate(pid, 100);
}

static void test_find_program(void **state) {
        (void)state;
        char *p = find_program("sh");
        assert_non_null(p);
        assert_true(p[0] == '/');
        free(p);
        assert_null(find_program("definitely-not-a-program-xyz"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_run_capture),
                cmocka_unit_test(test_run_missing_program),
                cmocka_unit_test(test_spawn_wait_timeout_terminate),
                cmocka_unit_test(test_spawn_redirect),
                cmocka_unit_test(test_wait_interrupted),
                cmocka_unit_test(test_find_program),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
