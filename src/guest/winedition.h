/* Windows editions and their public product keys, as data (data/windows/editions.json). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * os is an OS profile name: "win7x64", "win81x64", "win10x64", "win11x64". The table is read
 * once (json-c) from vmcloak's data folder; a missing or broken table is one error line.
 */

/* The OS's image NAME prefix ("Windows 10": VMCloak's /IMAGE/NAME is "<prefix> <PRODUCT>"),
 * its architecture ("amd64") and VMCloak's edition preference (short names, first match
 * wins; a NULL-terminated array owned by the table). -EINVAL (one line) for an OS the table
 * does not have; -EIO/-ENOENT when the table cannot be read. */
int win_os_info(const char *os, const char **name_prefix, const char **arch, const char *const **preference);

/* Whether an image's WINDOWS/VERSION ("10.0.19045[.x]") and BUILD are the OS's: MAJOR.MINOR
 * as the table says (6.1 Windows 7, 6.3 Windows 8.1, 10.0 Windows 10/11) and BUILD in its
 * range (Windows 11 from 22000). True when the image has no version or the table no rule. */
bool win_os_version_fits(const char *os, const char *version, uint32_t build);

/* The EDITIONID a short name stands for on os ("pro" -> "Professional", "home" -> "Core" on
 * 8.1/10/11; VMCloak's names plus the EDITIONIDs themselves, any case), or NULL. Silent. */
const char *win_edition_from_short(const char *os, const char *name);

/* Whether a key has the syntax Setup takes: five groups of five letters or digits joined by
 * '-' (any case). */
bool win_key_syntax_ok(const char *key);

enum win_key_verdict {
        WIN_KEY_MATCHES = 0,     /* a public key of exactly this edition */
        WIN_KEY_UNCHECKED = 1,   /* a key the table does not know (retail, MAK): accepted, not checked */
};

/* Check a product key against the edition Setup will install (edition_id as the WIM's
 * EDITIONID). Returns WIN_KEY_MATCHES or WIN_KEY_UNCHECKED; -EINVAL after one line when the
 * syntax is wrong, or when the table knows the key for another edition or OS: Setup then
 * installs that edition or waits forever at the key page (VMCloak's Win7 Enterprise key on
 * Professional media). For an evaluation edition any key is refused (they take none). */
int win_key_check(const char *os, const char *edition_id, const char *key);

/* The public key to use when the user gives none: the table's default for the edition
 * (VMCloak's generic key where it is this edition's), or NULL when there is none — always
 * NULL for an evaluation edition ("Eval" in EDITIONID), which takes no key. Silent. */
const char *win_key_default(const char *os, const char *edition_id);

/* Whether an edition is evaluation media (EDITIONID containing "Eval", or a NAME containing
 * "Evaluation", as Microsoft names them: EnterpriseEval / "Windows 10 Enterprise Evaluation"). */
bool win_edition_is_evaluation(const char *edition_id, const char *name);
