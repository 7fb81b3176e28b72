/* `vmcloak-agent memprep`: Windows' memory made small for a memory snapshot. Working sets are
 * emptied, the modified list is written out and the standby list (the file cache) purged, so
 * those pages land on the free list; then the zero-page thread is given time to zero them, and
 * QEMU sends zero pages as almost nothing. The Windows counterpart of Linux's drop_caches.
 *
 * The interface is NtSetSystemInformation/NtQuerySystemInformation with
 * SystemMemoryListInformation (class 80), which Microsoft does not document. The class number,
 * the command values and the layout of SYSTEM_MEMORY_LIST_INFORMATION are those of System
 * Informer's (formerly Process Hacker's) phnt headers, phnt/include/ntexapi.h
 * (SYSTEM_INFORMATION_CLASS "SystemMemoryListInformation ... s: SYSTEM_MEMORY_LIST_COMMAND
 * (requires SeProfileSingleProcessPrivilege) // 80", enum SYSTEM_MEMORY_LIST_COMMAND, struct
 * SYSTEM_MEMORY_LIST_INFORMATION), and match what Sysinternals RAMMap's "Empty" menu does
 * (Empty Working Sets, Empty Modified Page List, Empty Standby List, Empty Priority 0 Standby
 * List). Available since Windows Vista. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* SYSTEM_INFORMATION_CLASS value (phnt ntexapi.h). */
#define MEMPREP_SYSTEM_MEMORY_LIST_INFORMATION 80

/* SYSTEM_MEMORY_LIST_COMMAND values (phnt ntexapi.h; 0 and 1 capture accessed bits). */
enum memprep_command {
        MEMPREP_EMPTY_WORKING_SETS = 2,            /* MemoryEmptyWorkingSets */
        MEMPREP_FLUSH_MODIFIED_LIST = 3,           /* MemoryFlushModifiedList */
        MEMPREP_PURGE_STANDBY_LIST = 4,            /* MemoryPurgeStandbyList: every priority */
        MEMPREP_PURGE_LOW_PRIORITY_STANDBY_LIST = 5, /* MemoryPurgeLowPriorityStandbyList: priority 0 */
};

/* NTSTATUS values the subcommand tells apart (ntstatus.h). */
#define MEMPREP_STATUS_SUCCESS 0x00000000u
#define MEMPREP_STATUS_NOT_IMPLEMENTED 0xC0000002u
#define MEMPREP_STATUS_INVALID_INFO_CLASS 0xC0000003u
#define MEMPREP_STATUS_INFO_LENGTH_MISMATCH 0xC0000004u
#define MEMPREP_STATUS_INVALID_PARAMETER 0xC000000Du
#define MEMPREP_STATUS_ACCESS_DENIED 0xC0000022u
#define MEMPREP_STATUS_PRIVILEGE_NOT_HELD 0xC0000061u
#define MEMPREP_STATUS_PROCEDURE_NOT_FOUND 0xC000007Au
#define MEMPREP_STATUS_NOT_SUPPORTED 0xC00000BBu

/* The page lists, in pages (SYSTEM_MEMORY_LIST_INFORMATION; standby is the sum of its eight
 * priorities). */
struct memprep_lists {
        uint64_t zero, free, modified, standby;
};

struct memprep_opts {
        int timeout_s;   /* how long to wait for the zero-page thread (default 30) */
};

enum memprep_class {
        MEMPREP_OK,           /* the call did what it says */
        MEMPREP_UNSUPPORTED,  /* this Windows (or Wine) does not have it: reported and skipped */
        MEMPREP_FAILED,       /* a real failure, e.g. the agent is not an administrator */
};

/* Which of the three an NTSTATUS from the memory-list calls is. Not implemented, invalid info
 * class, not supported, invalid parameter (an older kernel refusing a newer command), length
 * mismatch (an older layout) and a missing ntdll export are "unsupported"; anything else that
 * is not a success is a failure. */
enum memprep_class memprep_classify(uint32_t status);

/* "0xC0000002 STATUS_NOT_IMPLEMENTED" into buf (size >= 64); the name only for the values above. */
void memprep_format_status(uint32_t status, char *buf, size_t size);

/* pages * page_size as "1234.5 MiB" into buf (size >= 32). */
void memprep_format_mib(uint64_t pages, unsigned page_size, char *buf, size_t size);

/* One line saying what a step changed, from the lists before and after: "free +X MiB (zero A
 * -> B, free C -> D, standby E -> F, modified G -> H MiB)". "free" counts free and zero pages
 * together (a negative change is printed with '-'). Into buf (size >= 256). */
void memprep_format_change(const struct memprep_lists *before, const struct memprep_lists *after,
                           unsigned page_size, char *buf, size_t size);

/* The zero-page wait: call memprep_wait_step after each poll with the free list (pages). It
 * answers true when waiting is over: the free list is at most 1% of total_pages (0: unknown,
 * only the next rule applies), or it has not shrunk for MEMPREP_STALL_POLLS polls in a row
 * (the zero-page thread is done, or something keeps freeing pages as fast). *why says which. */
#define MEMPREP_POLL_MS 200
#define MEMPREP_STALL_POLLS 10
struct memprep_wait {
        uint64_t lowest;        /* smallest free list seen so far */
        int stalled;            /* polls in a row without a new lowest */
        bool started;
};
bool memprep_wait_step(struct memprep_wait *w, uint64_t free_pages, uint64_t total_pages, const char **why);

/* Options after "memprep": [--timeout SECS] (0-3600). 0, 1 for --help (printed to out), or -1
 * after a message on err. */
int memprep_parse_args(int argc, char **argv, struct memprep_opts *o, FILE *out, FILE *err);

/* Do it, printing each step to out: 0 done (steps this system lacks are reported and skipped,
 * a zero-page wait that times out is reported), 1 a real failure, 2 not supported on this OS
 * (Linux); for 1 and 2 one line on err says which call failed and why (what vmcloak shows).
 * Uses the plat_mem* calls of platform.h. */
int memprep_run(const struct memprep_opts *o, FILE *out, FILE *err);

/* The subcommand: argv[0] is "memprep". Exit code as memprep_run, 2 for bad usage. */
int memprep_main(int argc, char **argv);
