/* `vmcloak-agent memprep`: empty Windows' working sets, modified and standby lists, then wait
 * for the zero-page thread, each step reported (see memprep.h for where the values come from). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "memprep.h"
#include "platform.h"

enum memprep_class memprep_classify(uint32_t status) {
        switch (status) {
        case MEMPREP_STATUS_SUCCESS:
                return MEMPREP_OK;
        case MEMPREP_STATUS_NOT_IMPLEMENTED:
        case MEMPREP_STATUS_INVALID_INFO_CLASS:
        case MEMPREP_STATUS_INFO_LENGTH_MISMATCH:
        case MEMPREP_STATUS_INVALID_PARAMETER:
        case MEMPREP_STATUS_PROCEDURE_NOT_FOUND:
        case MEMPREP_STATUS_NOT_SUPPORTED:
                return MEMPREP_UNSUPPORTED;
        default:
                /* Other success and informational codes (severity 0 and 1) are not failures. */
                return (status >> 30) <= 1 ? MEMPREP_OK : MEMPREP_FAILED;
        }
}

void memprep_format_status(uint32_t status, char *buf, size_t size) {
        static const struct {
                uint32_t v;
                const char *name;
        } names[] = {
                { MEMPREP_STATUS_SUCCESS, "STATUS_SUCCESS" },
                { MEMPREP_STATUS_NOT_IMPLEMENTED, "STATUS_NOT_IMPLEMENTED" },
                { MEMPREP_STATUS_INVALID_INFO_CLASS, "STATUS_INVALID_INFO_CLASS" },
                { MEMPREP_STATUS_INFO_LENGTH_MISMATCH, "STATUS_INFO_LENGTH_MISMATCH" },
                { MEMPREP_STATUS_INVALID_PARAMETER, "STATUS_INVALID_PARAMETER" },
                { MEMPREP_STATUS_ACCESS_DENIED, "STATUS_ACCESS_DENIED" },
                { MEMPREP_STATUS_PRIVILEGE_NOT_HELD, "STATUS_PRIVILEGE_NOT_HELD" },
                { MEMPREP_STATUS_PROCEDURE_NOT_FOUND, "STATUS_PROCEDURE_NOT_FOUND" },
                { MEMPREP_STATUS_NOT_SUPPORTED, "STATUS_NOT_SUPPORTED" },
        };
        const char *name = NULL;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (names[i].v == status)
                        name = names[i].name;
        snprintf(buf, size, "0x%08" PRIX32 "%s%s", status, name ? " " : "", name ? name : "");
}

void memprep_format_mib(uint64_t pages, unsigned page_size, char *buf, size_t size) {
        /* Tenths of a MiB in integers: exact for any page count a machine can have. */
        uint64_t tenths = (pages * page_size * 10 + 512 * 1024) / (1024 * 1024);
        snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " MiB", tenths / 10, tenths % 10);
}

/* "1.5" (MiB, one decimal) into buf, signed when sign is set. */
static void mib_value(int64_t pages, unsigned page_size, bool sign, char *buf, size_t size) {
        char m[32];
        memprep_format_mib((uint64_t)(pages < 0 ? -pages : pages), page_size, m, sizeof m);
        m[strlen(m) - 4] = '\0'; /* drop " MiB" */
        snprintf(buf, size, "%s%s", pages < 0 ? "-" : sign ? "+" : "", m);
}

void memprep_format_change(const struct memprep_lists *before, const struct memprep_lists *after,
                           unsigned page_size, char *buf, size_t size) {
        char d[32], z0[32], z1[32], f0[32], f1[32], s0[32], s1[32], m0[32], m1[32];
        int64_t freed = (int64_t)(after->zero + after->free) - (int64_t)(before->zero + before->free);
        mib_value(freed, page_size, true, d, sizeof d);
        mib_value((int64_t)before->zero, page_size, false, z0, sizeof z0);
        mib_value((int64_t)after->zero, page_size, false, z1, sizeof z1);
        mib_value((int64_t)before->free, page_size, false, f0, sizeof f0);
        mib_value((int64_t)after->free, page_size, false, f1, sizeof f1);
        mib_value((int64_t)before->standby, page_size, false, s0, sizeof s0);
        mib_value((int64_t)after->standby, page_size, false, s1, sizeof s1);
        mib_value((int64_t)before->modified, page_size, false, m0, sizeof m0);
        mib_value((int64_t)after->modified, page_size, false, m1, sizeof m1);
        snprintf(buf, size, "free %s MiB (zero %s -> %s, free %s -> %s, standby %s -> %s, modified %s -> %s MiB)", d,
                 z0, z1, f0, f1, s0, s1, m0, m1);
}

bool memprep_wait_step(struct memprep_wait *w, uint64_t free_pages, uint64_t total_pages, const char **why) {
        if (total_pages && free_pages <= total_pages / 100) {
                *why = "the free list is at most 1% of memory";
                return true;
        }
        if (!w->started || free_pages < w->lowest) {
                w->started = true;
                w->lowest = free_pages;
                w->stalled = 0;
                return false;
        }
        if (++w->stalled >= MEMPREP_STALL_POLLS) {
                *why = "the free list stopped shrinking";
                return true;
        }
        return false;
}

int memprep_parse_args(int argc, char **argv, struct memprep_opts *o, FILE *out, FILE *err) {
        *o = (struct memprep_opts){ .timeout_s = 30 };
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        fputs("Usage: vmcloak-agent memprep [--timeout SECS]\n"
                              "\n"
                              "Windows only, before a memory snapshot: empty the working sets, write out the\n"
                              "modified list, purge the standby list (the file cache), then wait up to SECS\n"
                              "[default: 30] for the zero-page thread. Needs an administrator. Exit code 0\n"
                              "(steps this Windows lacks are reported and skipped), 1 a call failed,\n"
                              "2 bad usage or not Windows.\n",
                              out);
                        return 1;
                }
                const char *v = NULL;
                if (strncmp(a, "--timeout=", 10) == 0)
                        v = a + 10;
                else if (strcmp(a, "--timeout") == 0 && i + 1 < argc)
                        v = argv[++i];
                if (!v) {
                        fprintf(err, "vmcloak-agent memprep: unknown or incomplete option '%s' (see memprep --help)\n", a);
                        return -1;
                }
                char *end;
                long secs = strtol(v, &end, 10);
                if (!*v || *end || secs < 0 || secs > 3600) {
                        fprintf(err, "vmcloak-agent memprep: invalid --timeout '%s' (0-3600 seconds)\n", v);
                        return -1;
                }
                o->timeout_s = (int)secs;
        }
        return 0;
}

/* The lists now, or false (after reporting why once, through *reported) when they cannot be read. */
static bool query(FILE *out, struct memprep_lists *l, bool *reported) {
        uint32_t st = plat_mem_query(l);
        if (st == MEMPREP_STATUS_SUCCESS)
                return true;
        if (!*reported) {
                char s[64];
                memprep_format_status(st, s, sizeof s);
                fprintf(out, "memprep: the memory lists cannot be read here (%s): what each step freed is unknown\n", s);
                *reported = true;
        }
        return false;
}

static void say_lists(FILE *out, const char *when, const struct memprep_lists *l, uint64_t total, unsigned page) {
        char z[32], f[32], s[32], m[32], t[32];
        memprep_format_mib(l->zero, page, z, sizeof z);
        memprep_format_mib(l->free, page, f, sizeof f);
        memprep_format_mib(l->standby, page, s, sizeof s);
        memprep_format_mib(l->modified, page, m, sizeof m);
        memprep_format_mib(total, page, t, sizeof t);
        fprintf(out, "memprep: lists %s: zero %s, free %s, standby %s, modified %s (memory %s)\n", when, z, f, s, m,
                total ? t : "unknown");
}

static const struct {
        enum memprep_command cmd;
        const char *name;
} steps[] = {
        /* Working-set pages move to the standby and modified lists; modified pages are written
         * out and become standby; then the whole standby list goes to the free list. */
        { MEMPREP_EMPTY_WORKING_SETS, "empty the working sets (MemoryEmptyWorkingSets)" },
        { MEMPREP_FLUSH_MODIFIED_LIST, "write out the modified list (MemoryFlushModifiedList)" },
        { MEMPREP_PURGE_STANDBY_LIST, "purge the standby list (MemoryPurgeStandbyList)" },
};

int memprep_run(const struct memprep_opts *o, FILE *out, FILE *err) {
        if (!plat_mem_supported()) {
                fprintf(err, "memprep: not supported on this OS (Windows only; Linux guests use drop_caches)\n");
                return 2;
        }
        int64_t t0 = plat_now_ms();
        uint64_t total = 0;
        unsigned page = 4096;
        if (plat_mem_total(&total, &page) < 0)
                total = 0;

        /* 1. The privileges: SeProfileSingleProcessPrivilege is what class 80 checks; the
         *    quota one is enabled too, as RAMMap does, in case a kernel wants it for working sets. */
        const char *privs[] = { "SeProfileSingleProcessPrivilege", "SeIncreaseQuotaPrivilege" };
        for (size_t i = 0; i < sizeof privs / sizeof privs[0]; i++) {
                uint32_t e = plat_mem_privilege(privs[i]);
                if (e == 0)
                        fprintf(out, "memprep: %s enabled\n", privs[i]);
                else
                        fprintf(out, "memprep: %s could not be enabled (Windows error %" PRIu32 "%s); continuing\n",
                                privs[i], e, e == 1300 ? ": the account does not hold it" : "");
        }

        bool unreadable = false, any_done = false;
        struct memprep_lists first = { 0 }, before = { 0 }, after = { 0 };
        bool readable = query(out, &first, &unreadable);
        if (readable)
                say_lists(out, "before", &first, total, page);
        before = first;

        /* 2. The commands, in order. */
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
                uint32_t st = plat_mem_command(steps[i].cmd);
                const char *name = steps[i].name;
                char s[64], line[256];
                memprep_format_status(st, s, sizeof s);
                switch (memprep_classify(st)) {
                case MEMPREP_FAILED:
                        fflush(out); /* the steps so far first: err may be the same pipe */
                        fprintf(err, "memprep: %s failed (%s)%s\n", steps[i].name, s,
                                st == MEMPREP_STATUS_PRIVILEGE_NOT_HELD || st == MEMPREP_STATUS_ACCESS_DENIED ?
                                        ": the agent must run as an administrator" : "");
                        return 1;
                case MEMPREP_UNSUPPORTED:
                        fprintf(out, "memprep: %s: not supported here (%s), skipped\n", steps[i].name, s);
                        /* The low-priority purge came with the same class; it is the fallback
                         * when the full purge is refused (after a full purge it has nothing left). */
                        if (steps[i].cmd != MEMPREP_PURGE_STANDBY_LIST)
                                continue;
                        name = "purge the priority-0 standby list (MemoryPurgeLowPriorityStandbyList)";
                        st = plat_mem_command(MEMPREP_PURGE_LOW_PRIORITY_STANDBY_LIST);
                        memprep_format_status(st, s, sizeof s);
                        if (memprep_classify(st) != MEMPREP_OK) {
                                fprintf(out, "memprep: %s: %s (%s), skipped\n", name,
                                        memprep_classify(st) == MEMPREP_FAILED ? "failed" : "not supported here", s);
                                continue;
                        }
                        break;
                case MEMPREP_OK:
                        break;
                }
                any_done = true;
                if (readable && query(out, &after, &unreadable)) {
                        memprep_format_change(&before, &after, page, line, sizeof line);
                        fprintf(out, "memprep: %s: ok, %s\n", name, line);
                        before = after;
                } else {
                        /* Wine 8's NtSetSystemInformation is a stub that answers success. */
                        fprintf(out, "memprep: %s: accepted (%s), effect unknown\n", name, s);
                }
        }

        /* 3. The zero-page thread turns free pages into zero pages at low priority. */
        if (!readable) {
                fprintf(out, "memprep: wait for the zero-page thread: skipped (the lists cannot be read)\n");
        } else {
                struct memprep_wait w = { 0 };
                const char *why = NULL;
                int64_t start = plat_now_ms(), deadline = start + (int64_t)o->timeout_s * 1000;
                bool done = false;
                while (!(done = memprep_wait_step(&w, before.free, total, &why)) && plat_now_ms() < deadline) {
                        plat_sleep_ms(MEMPREP_POLL_MS);
                        if (!query(out, &before, &unreadable))
                                break;
                }
                char f[32], z[32];
                memprep_format_mib(before.free, page, f, sizeof f);
                memprep_format_mib(before.zero, page, z, sizeof z);
                double secs = (double)(plat_now_ms() - start) / 1000;
                if (done)
                        fprintf(out, "memprep: zero-page thread: done after %.1f s, %s: free %s, zero %s\n", secs, why, f,
                                z);
                else
                        fprintf(out, "memprep: zero-page thread: still %s free (not yet zeroed) after %.1f s, "
                                     "zero %s; going on\n", f, secs, z);
                say_lists(out, "after", &before, total, page);
                char line[256];
                memprep_format_change(&first, &before, page, line, sizeof line);
                fprintf(out, "memprep: in all: %s\n", line);
        }
        fprintf(out, "memprep: %s in %.1f s\n", any_done ? "done" : "nothing this system supports was done",
                (double)(plat_now_ms() - t0) / 1000);
        return 0;
}

int memprep_main(int argc, char **argv) {
        struct memprep_opts o;
        int r = memprep_parse_args(argc, argv, &o, stdout, stderr);
        if (r != 0)
                return r > 0 ? 0 : 2;
        r = memprep_run(&o, stdout, stderr);
        fflush(stdout);
        return r;
}
