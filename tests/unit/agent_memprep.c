/* Unit tests of `vmcloak-agent memprep` (agent/memprep.c): status names and classes, the MiB
 * formatting, the zero-page wait rule, options, and the whole run against a scripted fake of
 * the platform's memory-list calls (a Windows that frees pages, Wine's stub, an old kernel, a
 * non-administrator, a zero-page thread too slow for the timeout, Linux). */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "../../agent/memprep.h"
#include "../../agent/platform.h"

/* --- the fake platform: page lists that the commands and the clock move --- */

static struct fake {
        bool supported;
        uint32_t priv_err;
        uint32_t cmd_status[8];   /* by command; 0 = success */
        int calls[8];
        int order[16], n_order;
        uint32_t query_status;
        struct memprep_lists l;
        uint64_t working_set;     /* pages in working sets (emptying moves them to standby) */
        uint64_t total;
        uint64_t zero_per_poll;   /* the zero-page thread's speed, pages per sleep */
        int64_t now;
} F;

bool plat_mem_supported(void) { return F.supported; }
uint32_t plat_mem_privilege(const char *name) {
        (void)name;
        return F.priv_err;
}
uint32_t plat_mem_command(enum memprep_command c) {
        F.calls[c]++;
        F.order[F.n_order++] = (int)c;
        if (F.cmd_status[c])
                return F.cmd_status[c];
        switch (c) {
        case MEMPREP_EMPTY_WORKING_SETS:
                F.l.standby += F.working_set * 3 / 4;
                F.l.modified += F.working_set - F.working_set * 3 / 4;
                F.working_set = 0;
                break;
        case MEMPREP_FLUSH_MODIFIED_LIST:
                F.l.standby += F.l.modified;
                F.l.modified = 0;
                break;
        case MEMPREP_PURGE_STANDBY_LIST:
                F.l.free += F.l.standby;
                F.l.standby = 0;
                break;
        case MEMPREP_PURGE_LOW_PRIORITY_STANDBY_LIST:
                F.l.free += F.l.standby / 2;
                F.l.standby -= F.l.standby / 2;
                break;
        }
        return 0;
}
uint32_t plat_mem_query(struct memprep_lists *ret) {
        *ret = F.query_status ? (struct memprep_lists){ 0 } : F.l;
        return F.query_status;
}
int plat_mem_total(uint64_t *pages, unsigned *page_size) {
        *pages = F.total;
        *page_size = 4096;
        return 0;
}
int64_t plat_now_ms(void) { return F.now; }
void plat_sleep_ms(int ms) {
        F.now += ms;
        uint64_t n = F.zero_per_poll < F.l.free ? F.zero_per_poll : F.l.free;
        F.l.free -= n;
        F.l.zero += n;
}

/* A 4 GiB Windows with 1.5 GiB of file cache and 1 GiB in working sets. */
static void windows_host(void) {
        F = (struct fake){ .supported = true, .total = 1048576, .working_set = 262144, .zero_per_poll = 100000 };
        F.l = (struct memprep_lists){ .zero = 25600, .free = 5120, .modified = 7680, .standby = 393216 };
}

/* Runs memprep_run; stdout and stderr in *ret (free it), the exit code returned. */
static int run(int timeout_s, char **ret) {
        size_t n;
        FILE *f = open_memstream(ret, &n);
        assert_non_null(f);
        int code = memprep_run(&(struct memprep_opts){ .timeout_s = timeout_s }, f, f);
        fclose(f);
        return code;
}

/* --- pure parts --- */

static void test_status(void **state) {
        (void)state;
        assert_int_equal(memprep_classify(0), MEMPREP_OK);
        assert_int_equal(memprep_classify(0x00000103), MEMPREP_OK);           /* STATUS_PENDING: success severity */
        assert_int_equal(memprep_classify(0x40000000), MEMPREP_OK);           /* informational */
        assert_int_equal(memprep_classify(MEMPREP_STATUS_NOT_IMPLEMENTED), MEMPREP_UNSUPPORTED);
        assert_int_equal(memprep_classify(MEMPREP_STATUS_INVALID_INFO_CLASS), MEMPREP_UNSUPPORTED);
        assert_int_equal(memprep_classify(MEMPREP_STATUS_INVALID_PARAMETER), MEMPREP_UNSUPPORTED);
        assert_int_equal(memprep_classify(MEMPREP_STATUS_INFO_LENGTH_MISMATCH), MEMPREP_UNSUPPORTED);
        assert_int_equal(memprep_classify(MEMPREP_STATUS_NOT_SUPPORTED), MEMPREP_UNSUPPORTED);
        assert_int_equal(memprep_classify(MEMPREP_STATUS_PROCEDURE_NOT_FOUND), MEMPREP_UNSUPPORTED);
        assert_int_equal(memprep_classify(MEMPREP_STATUS_PRIVILEGE_NOT_HELD), MEMPREP_FAILED);
        assert_int_equal(memprep_classify(MEMPREP_STATUS_ACCESS_DENIED), MEMPREP_FAILED);
        assert_int_equal(memprep_classify(0xC0000017), MEMPREP_FAILED);       /* STATUS_NO_MEMORY */
        assert_int_equal(memprep_classify(0x80000005), MEMPREP_FAILED);       /* a warning */
        char b[64];
        memprep_format_status(MEMPREP_STATUS_PRIVILEGE_NOT_HELD, b, sizeof b);
        assert_string_equal(b, "0xC0000061 STATUS_PRIVILEGE_NOT_HELD");
        memprep_format_status(0xC0000017, b, sizeof b);
        assert_string_equal(b, "0xC0000017");
        memprep_format_status(0, b, sizeof b);
        assert_string_equal(b, "0x00000000 STATUS_SUCCESS");
}

static void test_format(void **state) {
        (void)state;
        char b[256];
        memprep_format_mib(0, 4096, b, sizeof b);
        assert_string_equal(b, "0.0 MiB");
        memprep_format_mib(256, 4096, b, sizeof b);
        assert_string_equal(b, "1.0 MiB");
        memprep_format_mib(393216, 4096, b, sizeof b);
        assert_string_equal(b, "1536.0 MiB");
        memprep_format_mib(13, 4096, b, sizeof b);   /* 52 KiB: 0.05 rounds up */
        assert_string_equal(b, "0.1 MiB");
        memprep_format_mib(UINT64_C(1) << 40, 4096, b, sizeof b);   /* 4 PiB of pages: no overflow */
        assert_string_equal(b, "4294967296.0 MiB");
        struct memprep_lists a = { .zero = 256, .free = 512, .modified = 2560, .standby = 25600 };
        struct memprep_lists c = { .zero = 256, .free = 26112, .modified = 2560, .standby = 0 };
        memprep_format_change(&a, &c, 4096, b, sizeof b);
        assert_string_equal(b, "free +100.0 MiB (zero 1.0 -> 1.0, free 2.0 -> 102.0, standby 100.0 -> 0.0, "
                               "modified 10.0 -> 10.0 MiB)");
        memprep_format_change(&c, &a, 4096, b, sizeof b);
        assert_non_null(strstr(b, "free -100.0 MiB (zero"));
}

static void test_wait_step(void **state) {
        (void)state;
        const char *why = NULL;
        struct memprep_wait w = { 0 };
        assert_false(memprep_wait_step(&w, 5000, 100000, &why));
        assert_false(memprep_wait_step(&w, 3000, 100000, &why));
        assert_true(memprep_wait_step(&w, 1000, 100000, &why));
        assert_string_equal(why, "the free list is at most 1% of memory");
        /* Stuck above 1%: over after MEMPREP_STALL_POLLS polls without a new lowest. */
        w = (struct memprep_wait){ 0 };
        why = NULL;
        assert_false(memprep_wait_step(&w, 5000, 100000, &why));
        for (int i = 1; i < MEMPREP_STALL_POLLS; i++)
                assert_false(memprep_wait_step(&w, i % 2 ? 5001 : 5000, 100000, &why));
        assert_true(memprep_wait_step(&w, 5000, 100000, &why));
        assert_string_equal(why, "the free list stopped shrinking");
        /* Shrinking resets the count; an unknown total leaves only the stall rule. */
        w = (struct memprep_wait){ 0 };
        for (int i = 0; i < 3 * MEMPREP_STALL_POLLS; i++)
                assert_false(memprep_wait_step(&w, (uint64_t)(1000 - i), 0, &why));
}

static void test_args(void **state) {
        (void)state;
        struct memprep_opts o;
        FILE *null = fopen("/dev/null", "w");
        assert_non_null(null);
        assert_int_equal(memprep_parse_args(1, (char *[]){ "memprep", NULL }, &o, null, null), 0);
        assert_int_equal(o.timeout_s, 30);
        assert_int_equal(memprep_parse_args(3, (char *[]){ "memprep", "--timeout", "5", NULL }, &o, null, null), 0);
        assert_int_equal(o.timeout_s, 5);
        assert_int_equal(memprep_parse_args(2, (char *[]){ "memprep", "--timeout=0", NULL }, &o, null, null), 0);
        assert_int_equal(o.timeout_s, 0);
        assert_int_equal(memprep_parse_args(2, (char *[]){ "memprep", "--help", NULL }, &o, null, null), 1);
        const char *bad[] = { "--timeout=-1", "--timeout=3601", "--timeout=", "--timeout=5s", "--timeout", "--now", "x" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(memprep_parse_args(2, (char *[]){ "memprep", (char *)bad[i], NULL }, &o, null, null), -1);
        fclose(null);
}

/* --- whole runs --- */

static void test_run_windows(void **state) {
        (void)state;
        windows_host();
        char *out = NULL;
        assert_int_equal(run(30, &out), 0);
        /* 2, 3, 4 in that order; the low-priority purge only as a fallback. */
        assert_int_equal(F.n_order, 3);
        assert_int_equal(F.order[0], MEMPREP_EMPTY_WORKING_SETS);
        assert_int_equal(F.order[1], MEMPREP_FLUSH_MODIFIED_LIST);
        assert_int_equal(F.order[2], MEMPREP_PURGE_STANDBY_LIST);
        assert_non_null(strstr(out, "memprep: SeProfileSingleProcessPrivilege enabled\n"));
        assert_non_null(strstr(out, "memprep: lists before: zero 100.0 MiB, free 20.0 MiB, standby 1536.0 MiB, "
                                    "modified 30.0 MiB (memory 4096.0 MiB)\n"));
        assert_non_null(strstr(out, "(MemoryEmptyWorkingSets): ok, free +0.0 MiB (zero 100.0 -> 100.0, free 20.0 -> "
                                    "20.0, standby 1536.0 -> 2304.0, modified 30.0 -> 286.0 MiB)\n"));
        assert_non_null(strstr(out, "(MemoryPurgeStandbyList): ok, free +2590.0 MiB"));
        assert_non_null(strstr(out, "memprep: zero-page thread: done after "));
        assert_non_null(strstr(out, "the free list is at most 1% of memory"));
        assert_non_null(strstr(out, "memprep: in all: free +2590.0 MiB"));
        assert_non_null(strstr(out, "memprep: done in "));
        assert_null(strstr(out, "skipped"));
        assert_true(F.l.free <= F.total / 100);
        free(out);
}

/* Wine 8: the query is an unknown class, the set is a stub answering success. */
static void test_run_wine(void **state) {
        (void)state;
        windows_host();
        F.query_status = MEMPREP_STATUS_INVALID_INFO_CLASS;
        char *out = NULL;
        assert_int_equal(run(30, &out), 0);
        assert_int_equal(F.n_order, 3);
        assert_non_null(strstr(out, "the memory lists cannot be read here (0xC0000003 STATUS_INVALID_INFO_CLASS)"));
        assert_non_null(strstr(out, "(MemoryPurgeStandbyList): accepted (0x00000000 STATUS_SUCCESS), effect unknown\n"));
        assert_non_null(strstr(out, "wait for the zero-page thread: skipped (the lists cannot be read)\n"));
        assert_non_null(strstr(out, "memprep: done in 0.0 s\n"));
        assert_int_equal(F.now, 0);   /* no waiting at all */
        free(out);
}

/* A kernel without the commands: each skipped, the low-priority purge tried, still exit 0. */
static void test_run_unsupported(void **state) {
        (void)state;
        windows_host();
        for (int c = 2; c <= 5; c++)
                F.cmd_status[c] = MEMPREP_STATUS_INVALID_INFO_CLASS;
        F.priv_err = 1300;
        char *out = NULL;
        assert_int_equal(run(30, &out), 0);
        assert_int_equal(F.calls[MEMPREP_PURGE_LOW_PRIORITY_STANDBY_LIST], 1);
        assert_non_null(strstr(out, "SeProfileSingleProcessPrivilege could not be enabled (Windows error 1300: the "
                                    "account does not hold it); continuing\n"));
        assert_non_null(strstr(out, "(MemoryFlushModifiedList): not supported here (0xC0000003 "
                                    "STATUS_INVALID_INFO_CLASS), skipped\n"));
        assert_non_null(strstr(out, "(MemoryPurgeLowPriorityStandbyList): not supported here"));
        assert_non_null(strstr(out, "memprep: nothing this system supports was done in "));
        free(out);
        /* Only the full purge refused: the priority-0 one is done instead. */
        windows_host();
        F.cmd_status[MEMPREP_PURGE_STANDBY_LIST] = MEMPREP_STATUS_INVALID_PARAMETER;
        assert_int_equal(run(30, &out), 0);
        assert_non_null(strstr(out, "(MemoryPurgeStandbyList): not supported here (0xC000000D "
                                    "STATUS_INVALID_PARAMETER), skipped\n"));
        assert_non_null(strstr(out, "memprep: purge the priority-0 standby list (MemoryPurgeLowPriorityStandbyList): "
                                    "ok, free +1295.0 MiB"));
        free(out);
}

/* Not an administrator: the first command fails, nothing after it runs, exit 1. */
static void test_run_not_admin(void **state) {
        (void)state;
        windows_host();
        F.priv_err = 1300;
        F.cmd_status[MEMPREP_EMPTY_WORKING_SETS] = MEMPREP_STATUS_PRIVILEGE_NOT_HELD;
        /* The failure on stderr alone (vmcloak shows a failed command's stderr), the steps on stdout. */
        char *out = NULL, *err = NULL;
        size_t n1, n2;
        FILE *fo = open_memstream(&out, &n1), *fe = open_memstream(&err, &n2);
        assert_int_equal(memprep_run(&(struct memprep_opts){ .timeout_s = 30 }, fo, fe), 1);
        fclose(fo);
        fclose(fe);
        assert_int_equal(F.n_order, 1);
        assert_string_equal(err, "memprep: empty the working sets (MemoryEmptyWorkingSets) failed (0xC0000061 "
                                 "STATUS_PRIVILEGE_NOT_HELD): the agent must run as an administrator\n");
        assert_non_null(strstr(out, "memprep: lists before: "));
        assert_null(strstr(out, "failed ("));
        assert_null(strstr(out, "done"));
        free(out);
        free(err);
}

/* A zero-page thread slower than the timeout: reported with what is left, still exit 0. */
static void test_run_timeout(void **state) {
        (void)state;
        windows_host();
        F.zero_per_poll = 1000;
        char *out = NULL;
        assert_int_equal(run(2, &out), 0);
        assert_int_equal(F.now, 2000);
        assert_non_null(strstr(out, "memprep: zero-page thread: still 2570.9 MiB free (not yet zeroed) after 2.0 s, "
                                    "zero 139.1 MiB; going on\n"));
        free(out);
}

static void test_run_linux(void **state) {
        (void)state;
        F = (struct fake){ .supported = false };
        char *out = NULL;
        assert_int_equal(run(30, &out), 2);
        assert_string_equal(out, "memprep: not supported on this OS (Windows only; Linux guests use drop_caches)\n");
        assert_int_equal(F.n_order, 0);
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status),        cmocka_unit_test(test_format),
                cmocka_unit_test(test_wait_step),     cmocka_unit_test(test_args),
                cmocka_unit_test(test_run_windows),   cmocka_unit_test(test_run_wine),
                cmocka_unit_test(test_run_unsupported), cmocka_unit_test(test_run_not_admin),
                cmocka_unit_test(test_run_timeout),   cmocka_unit_test(test_run_linux),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
