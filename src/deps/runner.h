/* Running an install plan (deps/resolve.h) in a live guest through the agent: the catalog's
 * steps (upload, run, script, powershell, registry, extract, ISO media, remove, sleep,
 * resolution, reboot) and the generic file:/run:/script: steps. */
#pragma once

#include <stdbool.h>

#include "deps/fetch.h"
#include "deps/resolve.h"
#include "deps/steps.h"

struct agent_client;
struct os_profile;

/* Where a plan runs: the guest's agent, its OS profile (paths, commands), and the machine's
 * side of a reboot and of the CD-ROM drive. */
struct install_target {
        struct agent_client *agent;
        const struct os_profile *profile;
        const char *os, *arch;         /* the image's osversion and the profile's arch (`when`, templates) */
        int cmd_timeout_ms;            /* bounds each command without its own timeout */
        /* Reboot the guest and wait until its agent answers again; 0 or a negative errno after
         * one line. */
        int (*reboot)(void *userdata);
        /* Put a host ISO into the machine's CD-ROM drive (NULL path: eject); NULL when the
         * machine is not vmcloak's (--no-machine-start): attach_iso/detach_iso are refused. */
        int (*media_change)(void *userdata, const char *iso);
        void *userdata;
        /* The guest keeps running after the plan (--no-machine-start): a reboot the last
         * dependency's exit code asks for is done too. Otherwise the final shutdown stands for it. */
        bool reboot_at_end;
};

/* What a run did, for the summary. */
struct dep_run_stats {
        size_t installed;              /* DEP items that ran to their end */
        unsigned reboots;
};

/*
 * Before any VM starts: every host file the plan will use must be readable — the generic
 * steps' files, and of the catalog steps whose `when` holds, data: files in the entry's folder
 * and setting: paths (office.isopath). With media_change false (--no-machine-start), an
 * attach_iso/detach_iso step is refused. Prints one line naming the dependency, the step and
 * the file; -ENOENT, -EISDIR, -EOPNOTSUPP.
 */
int dep_plan_check(const struct dep_plan *plan, const char *os, const char *arch, bool media_change);

/*
 * Before any VM starts (issue 12: a missing file costs no boot): every installer and file of
 * the plan's dependencies made a verified local file with dep_file_fetch() (user folder,
 * cache or download), into the items' installer_path/file_paths. A file that cannot be had
 * stops everything (dep_file_fetch's line, then one naming way_out, default the option
 * --skip-unavailable) with -ENOENT, unless skip_unavailable: then the dependency is reported as
 * left out and marked so (never silently). -ECANCELED on Ctrl-C; -ENOMEM.
 */
int dep_plan_fetch(struct dep_plan *plan, const struct dep_fetch_opts *o, bool skip_unavailable,
                   const char *way_out);

/*
 * Run every item in order. A step fails when its exit code is not in `ok` (default 0); an
 * exit code in `reboot` succeeds (said on one line: MSI's 3010) and reboots the guest after the
 * dependency, unless nothing runs after it and !t->reboot_at_end. A failure stops
 * the run with one line naming the dependency, the step number and kind, the command and its
 * exit code, then the last lines of its output; a step with ignore_failure logs a warning and
 * the run goes on. stats may be NULL. Returns 0, -EPROTO (a step failed), -ETIMEDOUT,
 * -ECANCELED, -EOPNOTSUPP, or the agent's errors.
 */
int dep_plan_run(const struct dep_plan *plan, const struct install_target *t, struct dep_run_stats *stats);

/*
 * One registry value as a reg.exe command line (its strings already expanded): `reg add
 * "KEY" /v NAME /t TYPE /d DATA /f` (`/ve` for the key's default value, no /t or /d when
 * absent), `reg delete "KEY" /v NAME /f` (the whole key when value is NULL). Arguments are
 * quoted by the rules of the MS C runtime, which reg.exe parses its command line with: '"'
 * becomes \" and backslashes before a quote are doubled (data ending in '\'). Out: 0 and
 * *ret; -ENOMEM.
 */
/* An exit code as the failure lines show it. In: the agent's int; out: text in buf (40 bytes are
 * enough). A Windows exit code is a DWORD (GetExitCodeProcess): one above INT_MAX
 * (WU_E_NOT_APPLICABLE, 2149842967) arrives as a negative int and is shown as Windows tools
 * show it, "2149842967 (0x80240017)"; others as they are. */
void dep_exit_code_text(int code, char *buf, size_t size);

int dep_reg_render(const struct dep_reg *reg, char **ret);
