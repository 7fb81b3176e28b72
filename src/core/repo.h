/* The repository: VMCloak's repository.db (SQLite), read and written compatibly.
 * All SQL in vmcloak lives in repo.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cleanup.h"

/* Schema versions (PRAGMA user_version, vmcloak's own numbering):
 *   0  a VMCloak database before alembic head d6c5bf858df1 (columns may be missing)
 *   1  VMCloak's head schema (alembic d6c5bf858df1)
 *   2  + image.netmode, image.dns, image.created_at, snapshot.created_at (vmcloak in C)
 *   3  + image.firmware, image.secure_boot, image.tpm (what the image boots with) and
 *        image.os_build, image.os_edition, image.os_language (what init read of the OS)
 *   4  + image.tags, snapshot.tags: Cuckoo machine tags (core/tags.h: sorted, comma-separated,
 *        no duplicates; NULL for VMCloak rows and rows without tags)
 *   5  + image.hardware, image.identity, image.cloakcheck, snapshot.identity,
 *        snapshot.cloakcheck (TEXT; issue 13, cloaking: NULL for VMCloak rows and older ones,
 *        which have no hardware profile and run as QEMU's own machine, as VMCloak's did)
 *   6  + snapshot.libvirt_uri, snapshot.libvirt_pool, snapshot.libvirt_volume,
 *        snapshot.libvirt_base, snapshot.libvirt_snapshot, snapshot.libvirt_uuid (TEXT; issue 14: a VM that lives as a
 *        persistent libvirt domain on a libvirt host, `snapshot --connect`; NULL for the local
 *        Cuckoo3 VMs of the qemu machinery: a folder with disk, memory file, machineinfo.json)
 * VMCloak reads every one of them (it names its columns); migrate takes 0, 2, 3, 4 and 5 to 6. */
#define REPO_SCHEMA_VERSION 6
#define REPO_ALEMBIC_HEAD "d6c5bf858df1"

struct repo;

struct image {
        int64_t id;
        char *name;
        char *path;
        char *osversion;
        char *servicepack;
        char *mode;        /* "normal" | "multiattach" */
        char *vm;          /* "qemu" */
        char *ipaddr;
        int port;
        char *adapter;
        char *netmask;
        char *gateway;
        int cpus;
        int ramsize;
        int vramsize;
        char *paravirtprovider;
        char *mac;
        char *installed;   /* VMCloak's _installed: "dep:ver,dep:," */
        char *netmode;     /* "bridge" | "user"; NULL (VMCloak rows) means bridge */
        char *dns;         /* the guest's DNS server; NULL for VMCloak rows */
        char *created_at;
        /* Schema 3: the firmware the image boots with and what init read of its OS. NULL or 0
         * (VMCloak rows, older schemas): BIOS, no Secure Boot, no TPM, nothing known. */
        char *firmware;    /* "bios" | "uefi"; NULL means bios */
        int secure_boot;   /* 1: UEFI Secure Boot enforced (Microsoft keys enrolled) */
        int tpm;           /* 1: a TPM 2.0 (its state beside the disk, <path>.tpm) */
        char *os_build;    /* e.g. "22631" */
        char *os_edition;  /* e.g. "Professional" */
        char *os_language; /* e.g. "en-US" */
        /* Schema 4: the Cuckoo machine tags given to the image (init/install --tag) and those of
         * the dependencies install put into it; "dotnet,office" (core/tags.h), NULL: none. */
        char *tags;
        /* Schema 5 (issue 13, cloaking): the hardware profile the image was made with
         * (cloak/hardware.h; NULL: QEMU's own machine, as VMCloak), the identity init gave it
         * (JSON, hw_identity_to_json; install and modify boot with it), and the last scorecard
         * of `cloakcheck IMAGE` (JSON, scorecard_to_json; NULL: never checked). */
        char *hardware;
        char *identity;
        char *cloakcheck;
};

/* The image's firmware facts as the pipeline uses them (NULL firmware: BIOS). */
bool image_is_uefi(const struct image *img);

struct snapshot {
        int64_t id;
        int64_t image_id;
        char *vmname;
        char *ipaddr;
        int port;
        char *hostname;
        char *mac;
        char *created_at;
        char *tags;        /* schema 4: the VM's machine tags as its machineinfo.json has them; NULL: none */
        char *identity;    /* schema 5: the VM's own hardware identity (JSON), NULL: none (no profile) */
        char *cloakcheck;  /* schema 5: its scorecard from snapshot --cloakcheck or cloakcheck VM (JSON) */
        /* Schema 6 (issue 14), all NULL for a local VM: the libvirt host the VM lives on as a
         * persistent domain named vmname (its connection URI, as the user gave it:
         * "qemu+ssh://root@sandbox2/system"), the storage pool holding its disk, its disk (the
         * overlay volume's name in that pool), the image's volume in that pool its overlay is
         * backed by (shared by every VM of that image on that host), and the name of its
         * running-state internal snapshot (what CAPE's kvm.conf `snapshot` names). */
        char *libvirt_uri;
        char *libvirt_pool;
        char *libvirt_volume;
        char *libvirt_base;
        char *libvirt_snapshot;
        /* The domain's UUID at snapshot time (virDomainGetUUIDString): a domain of that name
         * with another UUID is not vmcloak's (delvm and export --cape refuse it); NULL: not
         * recorded. */
        char *libvirt_uuid;
        char *image_name;  /* filled by queries that join the image */
        char *image_vm;    /* the image's vm ("qemu"), likewise; NULL when the image is gone */
};

/* What a repository's schema is to this vmcloak. repo_open() finds out by reading only; until
 * then, and for anything but REPO_CURRENT, it writes nothing (not even the journal mode). */
enum repo_state {
        REPO_CURRENT,  /* schema REPO_SCHEMA_VERSION: read and written */
        REPO_OLDER,    /* a VMCloak schema (a known alembic revision, or none): read; migrate upgrades it */
        REPO_NEWER,    /* PRAGMA user_version above REPO_SCHEMA_VERSION: a newer vmcloak wrote it */
        REPO_UNKNOWN,  /* an alembic revision, user_version, table or column no known schema has */
};

/* Open (an empty or missing file: create with the current schema) and identify the repository.
 * A file that is no SQLite database, or one without VMCloak's image and snapshot tables, is
 * refused with one line (-EIO, -EPROTO) and left as it is. */
int repo_open(const char *path, struct repo **ret);

/* How long repo_open_readonly() waits for a lock another process holds, in ms. */
#define REPO_READONLY_BUSY_MS 200

/* Open an existing repository only to read it, for what must never change or wait on it (the
 * shell completion, vmcloak __complete): SQLITE_OPEN_READONLY, no create, no schema, no
 * journal-mode change, no migration, and a lock held by another process (a migrate, a write) is
 * waited on for REPO_READONLY_BUSY_MS only. The schema is identified as repo_open() does
 * (repo_state()); the list functions read every known state. A missing file: -EIO; an empty
 * one: -ENODATA; locked: -EBUSY; not a repository: -EPROTO; each after one line (debug for
 * -ENODATA). Writing through the handle fails (SQLITE_READONLY). */
int repo_open_readonly(const char *path, struct repo **ret);
void repo_close(struct repo *r);
const char *repo_path(const struct repo *r);
/* user_version when set, else 1 for VMCloak's head revision and 0 for older ones. */
int repo_schema_version(struct repo *r);
enum repo_state repo_state(const struct repo *r);
/* For NEWER and UNKNOWN: what is not understood ("has alembic revision X, which ..."); else NULL. */
const char *repo_problem(const struct repo *r);
/* Writing rows: 0 for REPO_CURRENT, else one line (migrate for OLDER; NEWER and UNKNOWN are
 * never changed) and -EPROTO. */
int repo_require_current(struct repo *r);
/* Deciding from rows what files are leftovers (cleanup): 0 for CURRENT and OLDER, else one line
 * and -EPROTO. Reading alone needs neither: rows are read by column name, unknown columns are
 * skipped, and the first read of a NEWER or UNKNOWN repository warns once, naming them. */
int repo_require_known(struct repo *r);
/* Bring an OLDER schema to REPO_SCHEMA_VERSION (VMCloak's alembic columns, then vmcloak's own,
 * in one transaction); reports the versions it went from and to. NEWER and UNKNOWN: one line,
 * -EPROTO, the file unchanged. */
int repo_migrate(struct repo *r, int *ret_from, int *ret_to);
/* The place of rev in VMCloak's alembic history (vmcloak-spec.md §4.3): 0 for 34c908159434 ..
 * 3 for d6c5bf858df1 (REPO_ALEMBIC_HEAD), -1 for any other text. */
int repo_alembic_revision_index(const char *rev);
/* "34c908159434, 5a5957711538, f5b14c62e62c and d6c5bf858df1", for messages. */
extern const char repo_alembic_revisions_text[];
/*
 * migrate --revision REV, REV one of VMCloak's alembic revisions: bring an OLDER repository up
 * to REV and no further, as VMCloak's `alembic upgrade REV` did: the columns of the revisions
 * up to REV (those missing), alembic_version := REV, PRAGMA user_version untouched (0: a VMCloak
 * schema, which VMCloak and this vmcloak's `migrate` take on from there). One transaction.
 * *ret_from: the revision it was at (a static string: "none" before alembic, or "vmcloak schema"
 * when past VMCloak's head). Returns 0 after migrating, 1 when the repository is at REV already,
 * 2 when it is past REV (a later revision or a vmcloak schema; nothing written either, no line:
 * there is no downgrade, and VMCloak's migrate says "already at the latest version" and exits
 * 0), -EPROTO after one line for NEWER/UNKNOWN (the file unchanged), -EINVAL for a REV that is
 * none of the four (after one line).
 */
int repo_migrate_alembic(struct repo *r, const char *rev, const char **ret_from);

int repo_begin(struct repo *r);    /* BEGIN IMMEDIATE */
int repo_commit(struct repo *r);
int repo_rollback(struct repo *r);

int repo_image_get(struct repo *r, const char *name, struct image **ret);          /* -ENOENT */
int repo_image_list(struct repo *r, struct image ***ret, size_t *ret_n);           /* sorted by name */
int repo_image_insert(struct repo *r, struct image *img);                          /* -EEXIST; sets id */
/* Writes only the columns whose values differ from the stored row. -ENOENT. */
int repo_image_update(struct repo *r, const struct image *img);
int repo_image_delete(struct repo *r, int64_t id);

int repo_snapshot_get(struct repo *r, const char *vmname, struct snapshot **ret);   /* -ENOENT */
/* image_id < 0: all snapshots. Sorted by image name, then vmname. */
int repo_snapshot_list(struct repo *r, int64_t image_id, struct snapshot ***ret, size_t *ret_n);
int repo_snapshot_insert(struct repo *r, struct snapshot *s);                      /* -EEXIST; sets id */
int repo_snapshot_delete(struct repo *r, int64_t id);

/* Store a scorecard (cloak/scorecard.h's JSON; NULL clears it) as image NAME's or snapshot VM
 * VMNAME's cloakcheck column, changing nothing else of the row (schema 5; the caller holds
 * what repo_require_current checked). For `vmcloak cloakcheck IMAGE|VM` and `snapshot
 * --cloakcheck`, which judge a row that exists already. 0, -ENOENT (no such row), -EBUSY or
 * -EIO after one line. */
int repo_image_set_cloakcheck(struct repo *r, const char *name, const char *json);
int repo_snapshot_set_cloakcheck(struct repo *r, const char *vmname, const char *json);

/* Every address the repository already uses: image IPs and gateways, snapshot IPs. */
int repo_used_ips(struct repo *r, char ***ret);

void image_free(struct image *i);
void snapshot_free(struct snapshot *s);
void image_list_free(struct image **l, size_t n);
void snapshot_list_free(struct snapshot **l, size_t n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image *, image_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct snapshot *, snapshot_free)
#define _cleanup_image_ _cleanup_(image_freep)
#define _cleanup_snapshot_ _cleanup_(snapshot_freep)

/* VMCloak's _installed column: "name:version" entries joined by ','. */
bool installed_has(const char *installed, const char *name, const char *version /* NULL: any */);
/* Returns a new string with name:version added (replacing nothing; duplicates skipped). */
char *installed_add(const char *installed, const char *name, const char *version);
