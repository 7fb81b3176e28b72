/* The cloak scorecard: what an in-guest detector saw, check by check, hidden or detected. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * A detector is a script carried as data (<datadir>/cloak/): detect-linux.sh for the linux guest
 * (BusyBox sh), detect-windows.js for Windows (JScript under cscript.exe, which every Windows
 * from 7 on and Wine have; WMI through GetObject("winmgmts:"), the registry through
 * WScript.Shell). The host uploads it through the agent, runs it with the OS profile's command
 * and reads its standard output:
 *
 *   vmcloak-detector <os> <version>                  first line
 *   <check>\t<verdict>\t<seen>                        one line per check, in the detector's order
 *
 * check: [a-z0-9_.]+, unique (e.g. "dmi.sys_vendor", "cpuid.hypervisor", "systemd-detect-virt"
 * is written "tool.systemd_detect_virt"); verdict: "hidden" (what a real PC shows), "detected"
 * (a VM tell: the text names it), "skipped" (could not be looked at here, e.g. a tool missing or
 * Wine lacking a WMI class: seen says why). seen: what the guest read, one line, tabs and line
 * ends replaced by spaces, at most 200 bytes. Anything else on the output is an error of the
 * detector (a line named). The detector decides each verdict: the tells it knows (QEMU, Bochs,
 * SeaBIOS, KVM, TCG, "Standard PC", 0x1af4, 52:54:00, ...) are in its own text.
 */

enum cloak_verdict {
        CLOAK_HIDDEN,
        CLOAK_DETECTED,
        CLOAK_SKIPPED,
};

struct cloak_check {
        char *name;
        enum cloak_verdict verdict;
        char *seen;
};

struct scorecard {
        char *name;                    /* the VM or image checked (JSON "name"); NULL for --agent's
                                        * guest, for parsed detector output and for scorecards
                                        * stored before vmcloak kept it */
        char *os;                      /* the detector's: "linux" | "windows" */
        char *detector_version;
        struct cloak_check *checks;
        size_t n_checks;
        unsigned hidden, detected, skipped;
};

/* Parse a detector's standard output. 0, -EBADMSG after one line naming the first bad line
 * ("detector output line 7: ..."), -ENOMEM. */
int scorecard_parse(const char *output, struct scorecard *ret);
void scorecard_done(struct scorecard *s);
const char *cloak_verdict_to_string(enum cloak_verdict v);

/* As JSON (json-c): {"name": (or null), "os":, "detector_version":, "hidden": N, "detected": N,
 * "skipped": N, "checks": [{"name":, "verdict":, "seen":, "limit": (cloak_check_limit or null),
 * "hint": (cloak_check_hint or null)}]} — what `cloakcheck --json` prints and what the
 * repository keeps (image.cloakcheck, snapshot.cloakcheck). from_json: 0, -EINVAL, -ENOMEM; it
 * takes "name", "limit" and "hint" as optional (scorecards stored by earlier vmcloaks lack them)
 * and ignores the last two (they come from vmcloak's tables, not from what was stored). */
int scorecard_to_json(const struct scorecard *s, char **ret);
int scorecard_from_json(const char *text, struct scorecard *ret);

/* A table for people: one line per check ("  hidden    dmi.sys_vendor   Dell Inc."), then
 * "N hidden, N detected, N skipped", then two notes: what it would take to hide the `*` checks
 * (cloak_check_limit), and "detected, and how to hide it:" with the hint of each detected check
 * that has one (cloak_check_hint). color: verdicts in green/red (a terminal). */
int scorecard_print(const struct scorecard *s, FILE *f, bool color);

/* Worse: a check hidden in base is detected in s (snapshot --cloakcheck refuses such a VM).
 * The first such check's name in *ret_check (borrowed from s) when worse. */
bool scorecard_worse(const struct scorecard *s, const struct scorecard *base, const char **ret_check);

/* What it takes to hide a check that a QEMU 7.2 command line cannot hide (e.g. "fw_cfg's ACPI
 * device QEMU0002: a patched QEMU"), NULL for a check the command line can hide. The table is
 * vmcloak's (docs/cloaking.md lists the same); scorecard_print marks such checks, and the
 * acceptance "every hideable check hidden" is judged with it. */
const char *cloak_check_limit(const char *check_name);

/* How vmcloak hides a check when the guest shows it (e.g. "init --hardware NAME (vmcloak list
 * hardware)" for dmi.sys_vendor), NULL when vmcloak has no knob for it or when the check is one
 * of cloak_check_limit's (that note says what it takes). Covers both detectors' names
 * (data/cloak/detect-linux.sh, detect-windows.js); the knobs are init's (docs/cloaking.md). */
const char *cloak_check_hint(const char *check_name);

/* The detector for an OS (os_profile.os_name "linux" | "windows"): its data file (malloc'ed
 * path under <datadir>/cloak) and the file name it gets in the guest ("detect.sh",
 * "detect.js"). 0, -EOPNOTSUPP for an OS without one (one line), -ENOENT when the data file is
 * missing (one line), -ENOMEM. */
int cloak_detector_for(const char *os_name, char **ret_path, const char **ret_guest_name);
