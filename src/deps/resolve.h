/* From what `vmcloak install IMAGE TOKEN...` asks for to an ordered plan: which catalog entries,
 * in which order, with which versions, installers and settings, and where the guest reboots.
 * Pure: no guest, no network, no files (VMCloak spec §7.1-§7.3, §2.5, §11.3). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "deps/catalog.h"
#include "deps/steps.h"

enum dep_plan_kind {
        DEP_PLAN_DEP,      /* a catalog dependency */
        DEP_PLAN_STEP,     /* a generic step (file:, run:, script:) where it was typed */
        DEP_PLAN_REBOOT,   /* reboot the guest and wait for its agent */
};

struct dep_plan_item {
        enum dep_plan_kind kind;
        const struct install_step *step;   /* STEP: borrowed from the install_plan */
        char *name;                        /* DEP: as typed (an alias stays the alias: VMCloak records it so);
                                            * REBOOT: why ("after the sub-dependencies of dotnet") */
        const struct dependency *dep;      /* DEP: the data (an alias's target) */
        char *version;                     /* DEP: asked for, else the default; NULL: none */
        bool sub;                          /* DEP: installed as another's sub-dependency */
        const struct dep_file *installer;  /* DEP: the chosen installer, or NULL */
        char **set_keys, **set_values;     /* DEP: every declared setting with its value (given or
                                            * default), parallel; keys without either are absent */
        /* Filled by dep_plan_fetch(): host paths of the installer and of each of dep->files. */
        char *installer_path;
        char **file_paths;
        bool left_out;                     /* --skip-unavailable dropped it: not run, not recorded */
};

struct dep_plan {
        struct dep_plan_item *items;
        size_t n;
        char **skipped;                    /* "name:version" or "name" recorded as installed, not run */
};

struct dep_resolve_input {
        const struct install_plan *tokens; /* install_plan_parse() of the command line */
        const struct dep_catalog *catalog; /* may be NULL when tokens name no dependency and !recommended */
        const char *os;                    /* the image's osversion ("win10x64", "linux") */
        const char *arch;                  /* the OS profile's arch ("amd64") */
        const char *installed;             /* the image's record, VMCloak's "name:version," (core/repo.h) */
        bool force_reinstall;              /* top-level entries run even when recorded (§7.2) */
        bool recommended;                  /* -r: the OS's recipe first (§11.3) */
};

/*
 * Build the plan. VMCloak's rules: -r puts the OS's recipe before the typed tokens (§11.3);
 * sub-dependencies come from `depends`, else `os_depends[os]`, and a top-level entry that is
 * another one's sub-dependency (and not multiversion) is dropped from the top level (§7.1);
 * an entry recorded as installed (with the asked version, or any when none was asked) or
 * planned earlier is skipped unless --force-reinstall (sub-dependencies are skipped so even
 * with it, as VMCloak does); sub-dependencies run first and a reboot follows them when any
 * ran (§7.2); a must_reboot entry is followed by a reboot unless nothing runs after it
 * (§7.3). Generic steps keep their place.
 * Out: 0 and *ret (free with dep_plan_free). -EINVAL after one line for: unknown names (all of
 * them, with "see vmcloak list deps"), no recipe for the OS (naming the OSes that have one),
 * an entry that does not install on the OS, a version no installer has (listing the
 * versions), a required setting missing ("office.isopath=..."), a setting key the entry does
 * not declare, a setting for an entry not in the plan, a dependency cycle. -ENOMEM.
 */
int dep_resolve(const struct dep_resolve_input *in, struct dep_plan *ret);
void dep_plan_free(struct dep_plan *p);

/* The number of DEP items that will run (not left out). */
size_t dep_plan_count_deps(const struct dep_plan *p);

/* Whether a step's `when` holds for this os, arch, version and settings (keys/values parallel,
 * NULL-terminated, may be NULL): each given condition must match, patterns with fnmatch(3)
 * (catalog.h). A setting condition compares the value exactly; an absent setting is "". */
bool dep_when_matches(const struct dep_when *w, const char *os, const char *arch, const char *version,
                      char *const *keys, char *const *values);

/* The value of setting key in an item's settings, or NULL. */
const char *dep_plan_item_setting(const struct dep_plan_item *it, const char *key);
