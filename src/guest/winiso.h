/* The Windows ISOs vmcloak knows how to fetch, read from data/windows/isos.json. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct winiso_url {
        char *url;
        char *from;     /* who listed it ("cert-ee/vmcloak"), or NULL */
        char *dead;     /* the date it was reported dead (YYYY-MM-DD), or NULL: believed alive */
        char *note;     /* or NULL */
};

struct winiso {
        char *key;          /* "win10x64": the command's flag without "--" */
        char *description;  /* "Windows 10 1703 English x64" */
        char *filename;     /* the name it is saved under by default */
        uint64_t size;      /* bytes, 0: unknown */
        char *sha1;         /* lowercase hex (VMCloak's), or NULL */
        char *sha256;       /* lowercase hex, or NULL: then sha1 is checked */
        char *cuckoo3;      /* what Cuckoo3 supports of it, or NULL */
        struct winiso_url *urls;
        size_t n_urls;
};

struct winiso_catalog {
        struct winiso *isos;
        size_t n;
};

/*
 * Parse a catalog (the JSON text; origin names it in messages).
 * Out: 0 and *ret (winiso_catalog_done() frees it), or -EINVAL after one line naming the entry
 * and the field: not JSON, no "isos" array, an entry without key, filename, urls or a hash, a
 * hash that is not hex of its length (download_hash_parse()), a filename with "/" or that is
 * "." or "..", a duplicate key, a "dead" date that is not YYYY-MM-DD.
 * Format: data/windows/isos.json (its "about" says where the values come from: spec §2.9).
 */
int winiso_catalog_parse(const char *json, const char *origin, struct winiso_catalog *ret);

/* The same from a file; path NULL: windows/isos.json of the data directory (core/paths.h:
 * $VMCLOAK_DATADIR overrides it). -ENOENT/-EINVAL after one line. */
int winiso_catalog_load(const char *path, struct winiso_catalog *ret);
void winiso_catalog_done(struct winiso_catalog *c);

const struct winiso *winiso_find(const struct winiso_catalog *c, const char *key);

/* The URLs in the order to try them: those believed alive in catalog order, then the dead ones
 * (a host may come back). NULL-terminated, new; NULL on ENOMEM. */
char **winiso_urls(const struct winiso *iso);
/* Whether every URL of iso is marked dead. */
bool winiso_all_dead(const struct winiso *iso);
