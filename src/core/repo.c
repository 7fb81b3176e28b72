/* SQLite access to repository.db, compatible with VMCloak's schema and migrations. */
#include "core/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/util.h"

struct repo {
        sqlite3 *db;
        char *path;
        enum repo_state state;
        char *problem;     /* what is not understood, as "has ..." (NEWER, UNKNOWN) */
        char *ignored;     /* what reads skip: "table x, column image.y" (NULL: nothing) */
        bool warned;
        bool readonly;     /* repo_open_readonly(): short busy timeout, nothing written */
};

/* VMCloak's schema exactly as SQLAlchemy's create_all makes it (see the reference spec). */
static const char vmcloak_schema[] =
        "CREATE TABLE alembic_version (\n"
        "\tversion_num VARCHAR(32) NOT NULL, \n"
        "\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n"
        ");\n"
        "CREATE TABLE image (\n"
        "\tid INTEGER NOT NULL, \n\tmode VARCHAR(16), \n\tvm VARCHAR(16), \n\tname VARCHAR(64), \n"
        "\tpath TEXT, \n\tosversion VARCHAR(32), \n\tservicepack VARCHAR(32), \n\tipaddr VARCHAR(32), \n"
        "\tport INTEGER, \n\tadapter VARCHAR(32), \n\tnetmask VARCHAR(32), \n\tgateway VARCHAR(32), \n"
        "\tcpus INTEGER, \n\tramsize INTEGER, \n\tvramsize INTEGER, \n\tparavirtprovider VARCHAR(32), \n"
        "\tmac VARCHAR(32), \n\t_installed TEXT, \n\tPRIMARY KEY (id)\n"
        ");\n"
        "CREATE TABLE snapshot (\n"
        "\tid INTEGER NOT NULL, \n\timage_id INTEGER, \n\tvmname VARCHAR(64) NOT NULL, \n"
        "\tipaddr VARCHAR(32), \n\tport INTEGER, \n\thostname VARCHAR(32), \n\tmac VARCHAR(32), \n"
        "\tPRIMARY KEY (id), \n\tUNIQUE (vmname), \n\tFOREIGN KEY(image_id) REFERENCES image (id)\n"
        ");\n"
        "INSERT INTO alembic_version VALUES ('" REPO_ALEMBIC_HEAD "');\n";

/* VMCloak's alembic history (vmcloak-spec.md §4.3), oldest first. Any other revision was
 * written by a VMCloak this vmcloak has never seen. */
static const char *const vmcloak_revisions[] = {
        "34c908159434", "5a5957711538", "f5b14c62e62c", REPO_ALEMBIC_HEAD,
};
#define VMCLOAK_REVISIONS_TEXT "34c908159434, 5a5957711538, f5b14c62e62c and " REPO_ALEMBIC_HEAD

/* Every column a known schema has, and what added it: 0 VMCloak when alembic came (2018), 2-4
 * the alembic revision vmcloak_revisions[since - 1], 5 vmcloak's schema 2, 6 its schema 3, 7 its
 * schema 4, 8 its schema 5, 9 its schema 6. Types only for the columns a migration adds. */
#define SINCE_VMCLOAK 5
#define SINCE_SCHEMA3 6
#define SINCE_SCHEMA4 7
#define SINCE_SCHEMA5 8
#define SINCE_SCHEMA6 9
#define SINCE_LAST SINCE_SCHEMA6
static const struct known_column {
        const char *table, *column, *type;
        int since;
} known_columns[] = {
        { "image", "id", NULL, 0 },           { "image", "mode", NULL, 0 },
        { "image", "vm", NULL, 0 },           { "image", "name", NULL, 0 },
        { "image", "path", NULL, 0 },         { "image", "osversion", NULL, 0 },
        { "image", "servicepack", NULL, 0 },  { "image", "ipaddr", NULL, 0 },
        { "image", "port", NULL, 0 },         { "image", "adapter", NULL, 0 },
        { "image", "netmask", NULL, 0 },      { "image", "gateway", NULL, 0 },
        { "image", "cpus", NULL, 0 },         { "image", "ramsize", NULL, 0 },
        { "image", "vramsize", NULL, 0 },
        { "snapshot", "id", NULL, 0 },        { "snapshot", "image_id", NULL, 0 },
        { "snapshot", "vmname", NULL, 0 },    { "snapshot", "ipaddr", NULL, 0 },
        { "snapshot", "port", NULL, 0 },      { "snapshot", "hostname", NULL, 0 },
        { "image", "paravirtprovider", "VARCHAR(32)", 2 },
        { "image", "mac", "VARCHAR(32)", 3 },
        { "snapshot", "mac", "VARCHAR(32)", 3 },
        { "image", "_installed", "TEXT", 4 },
        { "image", "netmode", "VARCHAR(16)", SINCE_VMCLOAK },
        { "image", "dns", "VARCHAR(32)", SINCE_VMCLOAK },
        { "image", "created_at", "VARCHAR(32)", SINCE_VMCLOAK },
        { "snapshot", "created_at", "VARCHAR(32)", SINCE_VMCLOAK },
        { "image", "firmware", "VARCHAR(16)", SINCE_SCHEMA3 },
        { "image", "secure_boot", "INTEGER", SINCE_SCHEMA3 },
        { "image", "tpm", "INTEGER", SINCE_SCHEMA3 },
        { "image", "os_build", "VARCHAR(32)", SINCE_SCHEMA3 },
        { "image", "os_edition", "VARCHAR(64)", SINCE_SCHEMA3 },
        { "image", "os_language", "VARCHAR(32)", SINCE_SCHEMA3 },
        { "image", "tags", "TEXT", SINCE_SCHEMA4 },
        { "snapshot", "tags", "TEXT", SINCE_SCHEMA4 },
        { "image", "hardware", "TEXT", SINCE_SCHEMA5 },
        { "image", "identity", "TEXT", SINCE_SCHEMA5 },
        { "image", "cloakcheck", "TEXT", SINCE_SCHEMA5 },
        { "snapshot", "identity", "TEXT", SINCE_SCHEMA5 },
        { "snapshot", "cloakcheck", "TEXT", SINCE_SCHEMA5 },
        { "snapshot", "libvirt_uri", "TEXT", SINCE_SCHEMA6 },
        { "snapshot", "libvirt_pool", "TEXT", SINCE_SCHEMA6 },
        { "snapshot", "libvirt_volume", "TEXT", SINCE_SCHEMA6 },
        { "snapshot", "libvirt_base", "TEXT", SINCE_SCHEMA6 },
        { "snapshot", "libvirt_snapshot", "TEXT", SINCE_SCHEMA6 },
        { "snapshot", "libvirt_uuid", "TEXT", SINCE_SCHEMA6 },
};

/* The vmcloak schema (user_version) a column first belongs to: 1 for VMCloak's head revision. */
static int column_schema(const struct known_column *k) {
        return k->since < SINCE_VMCLOAK ? 1 : k->since - SINCE_VMCLOAK + 2;
}

static const char *const known_tables[] = { "alembic_version", "image", "snapshot" };

static int sql_error(struct repo *r, int rc, const char *what) {
        int e = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? -EBUSY : rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
        if (e == -EBUSY)
                log_error("repository %s is busy (another vmcloak holds it for more than %s): %s; try again",
                          r->path, r->readonly ? "a moment" : "30 s", sqlite3_errmsg(r->db));
        else
                log_error("repository %s: %s failed: %s", r->path, what, sqlite3_errmsg(r->db));
        return e;
}

static int exec_sql(struct repo *r, const char *sql) {
        char *err = NULL;
        int rc = sqlite3_exec(r->db, sql, NULL, NULL, &err);
        if (rc != SQLITE_OK) {
                int e = sql_error(r, rc, sql);
                sqlite3_free(err);
                return e;
        }
        return 0;
}

static bool table_exists(struct repo *r, const char *table) {
        sqlite3_stmt *st;
        bool found = false;
        if (sqlite3_prepare_v2(r->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1, &st, NULL)
            != SQLITE_OK)
                return false;
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        return found;
}

static int get_int(struct repo *r, const char *sql, int *ret) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, sql);
        rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_finalize(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_error(r, rc, sql);
}

/* The rows of alembic_version (none when the table is missing). */
static int alembic_versions(struct repo *r, char ***ret) {
        *ret = NULL;
        if (!table_exists(r, "alembic_version"))
                return 0;
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, "SELECT version_num FROM alembic_version", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "reading alembic_version");
        int e = 0;
        while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
                e = strv_extend(ret, sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
                                                                : "NULL");
        sqlite3_finalize(st);
        if (e < 0) {
                strv_free(*ret);
                *ret = NULL;
                return log_oom();
        }
        return rc == SQLITE_DONE ? 0 : sql_error(r, rc, "reading alembic_version");
}

int repo_schema_version(struct repo *r) {
        int v = 0;
        if (get_int(r, "PRAGMA user_version", &v) < 0)
                return -EIO;
        if (v > 0)
                return v;
        _cleanup_strv_free_ char **a = NULL;
        if (alembic_versions(r, &a) < 0)
                return -EIO;
        return strv_length(a) == 1 && streq(a[0], REPO_ALEMBIC_HEAD) ? 1 : 0;
}

static bool revision_known(const char *rev) {
        for (size_t i = 0; i < ELEMENTSOF(vmcloak_revisions); i++)
                if (streq(rev, vmcloak_revisions[i]))
                        return true;
        return false;
}

static const struct known_column *known_column_find(const char *table, const char *column) {
        for (size_t i = 0; i < ELEMENTSOF(known_columns); i++)
                if (streq(known_columns[i].table, table) && streq(known_columns[i].column, column))
                        return &known_columns[i];
        return NULL;
}

/* What repo_open reads of a database before it changes anything in it. */
struct schema_scan {
        int user_version;
        unsigned n_objects;      /* rows of sqlite_master */
        bool has_image, has_snapshot;
        char **tables;           /* every table, for "not a repository" */
        char **revisions;        /* the rows of alembic_version */
        char **unknown;          /* "table x", "view v", "trigger t", "column image.c" */
        char **missing_base;     /* columns every VMCloak revision has, absent here */
        char **missing;          /* any other known column absent here */
};

static void schema_scan_done(struct schema_scan *s) {
        strv_free(s->tables);
        strv_free(s->revisions);
        strv_free(s->unknown);
        strv_free(s->missing_base);
        strv_free(s->missing);
        *s = (struct schema_scan){ 0 };
}

static int scan_columns(struct repo *r, const char *table, struct schema_scan *s) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, sql);
        _cleanup_strv_free_ char **have = NULL;
        int e = 0;
        while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *c = (const char *)sqlite3_column_text(st, 1);
                e = strv_extend(&have, strempty(c));
                if (e == 0 && !known_column_find(table, strempty(c)))
                        e = strv_extendf(&s->unknown, "column %s.%s", table, strempty(c));
        }
        sqlite3_finalize(st);
        if (e < 0)
                return log_oom();
        if (rc != SQLITE_DONE)
                return sql_error(r, rc, sql);
        for (size_t i = 0; e == 0 && i < ELEMENTSOF(known_columns); i++) {
                const struct known_column *k = &known_columns[i];
                if (!streq(k->table, table) || strv_contains(have, k->column))
                        continue;
                e = strv_extendf(k->since == 0 ? &s->missing_base : &s->missing, "%s.%s", table, k->column);
        }
        return e < 0 ? log_oom() : 0;
}

static int schema_scan(struct repo *r, struct schema_scan *s) {
        *s = (struct schema_scan){ 0 };
        int e = get_int(r, "PRAGMA user_version", &s->user_version);
        if (e < 0)
                return e;
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, "SELECT type, name FROM sqlite_master", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "reading the schema");
        while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *type = strempty((const char *)sqlite3_column_text(st, 0));
                const char *name = strempty((const char *)sqlite3_column_text(st, 1));
                s->n_objects++;
                if (startswith(name, "sqlite_"))
                        continue; /* SQLite's own (autoindexes, sqlite_stat1, sqlite_sequence) */
                bool known = false;
                if (streq(type, "table")) {
                        e = strv_extend(&s->tables, name);
                        for (size_t i = 0; i < ELEMENTSOF(known_tables); i++)
                                known = known || streq(name, known_tables[i]);
                        s->has_image = s->has_image || streq(name, "image");
                        s->has_snapshot = s->has_snapshot || streq(name, "snapshot");
                } else if (streq(type, "index"))
                        known = true; /* an index changes how fast, never what a row holds */
                if (e == 0 && !known)
                        e = strv_extendf(&s->unknown, "%s %s", type, name);
        }
        sqlite3_finalize(st);
        if (e < 0) {
                schema_scan_done(s);
                return log_oom();
        }
        if (rc != SQLITE_DONE) {
                schema_scan_done(s);
                return sql_error(r, rc, "reading the schema");
        }
        if (s->has_image)
                e = scan_columns(r, "image", s);
        if (e == 0 && s->has_snapshot)
                e = scan_columns(r, "snapshot", s);
        if (e == 0)
                e = alembic_versions(r, &s->revisions);
        if (e < 0)
                schema_scan_done(s);
        return e;
}

/* From what a scan found: the state, and the words for what is not understood. */
static int schema_judge(const struct schema_scan *s, enum repo_state *ret_state, char **ret_problem,
                        char **ret_ignored) {
        _cleanup_strv_free_ char **why = NULL;
        enum repo_state state = REPO_OLDER;
        const char *rev = strv_length(s->revisions) == 1 ? s->revisions[0] : NULL;
        int e = 0;
        if (s->user_version > REPO_SCHEMA_VERSION) {
                state = REPO_NEWER;
                e = strv_extendf(&why, "was written by a newer vmcloak (schema %d; this one knows schemas up to %d)",
                                 s->user_version, REPO_SCHEMA_VERSION);
        } else {
                /* 0: VMCloak's (no user_version); 1 is VMCloak's head as read, never written. */
                if (s->user_version == 1 || s->user_version < 0)
                        e = strv_extendf(&why, "has PRAGMA user_version %d, which no vmcloak writes",
                                         s->user_version);
                if (e == 0 && strv_length(s->revisions) > 1) {
                        _cleanup_free_ char *l = strv_join(s->revisions, ", ");
                        e = l ? strv_extendf(&why, "holds %zu alembic revisions at once (%s), a branched history "
                                             "this vmcloak does not know", strv_length(s->revisions), l)
                              : -ENOMEM;
                }
                if (e == 0 && rev && !revision_known(rev))
                        e = strv_extendf(&why, "has alembic revision %s, which this vmcloak does not know (it knows "
                                         "VMCloak's " VMCLOAK_REVISIONS_TEXT ")", rev);
                else if (e == 0 && s->user_version >= 2 && !streq_ptr(rev, REPO_ALEMBIC_HEAD))
                        e = strv_extendf(&why, "is vmcloak schema %d but has alembic revision %s instead of "
                                         REPO_ALEMBIC_HEAD, s->user_version, rev ? rev : "none");
                if (e == 0 && s->unknown) {
                        _cleanup_free_ char *l = strv_join(s->unknown, ", ");
                        e = l ? strv_extendf(&why, "has what no known schema has (%s)", l) : -ENOMEM;
                }
                if (e == 0 && s->missing_base) {
                        _cleanup_free_ char *l = strv_join(s->missing_base, ", ");
                        e = l ? strv_extendf(&why, "lacks columns every VMCloak revision has (%s)", l) : -ENOMEM;
                }
                if (e == 0 && s->user_version >= 2) {
                        /* A vmcloak schema has every column up to its own; later ones come with migrate. */
                        _cleanup_strv_free_ char **lack = NULL;
                        STRV_FOREACH(m, s->missing) {
                                const char *dot = strchr(*m, '.');
                                _cleanup_free_ char *table = dot ? strndup(*m, (size_t)(dot - *m)) : NULL;
                                const struct known_column *k = table ? known_column_find(table, dot + 1) : NULL;
                                if (dot && !table) {
                                        e = -ENOMEM;
                                        break;
                                }
                                if (k && column_schema(k) <= s->user_version && (e = strv_extend(&lack, *m)) < 0)
                                        break;
                        }
                        _cleanup_free_ char *l = lack ? strv_join(lack, ", ") : NULL;
                        if (e == 0 && lack)
                                e = l ? strv_extendf(&why, "lacks columns of schema %d (%s)", s->user_version, l)
                                      : -ENOMEM;
                }
                if (e == 0 && why)
                        state = REPO_UNKNOWN;
                else if (e == 0 && s->user_version == REPO_SCHEMA_VERSION)
                        state = REPO_CURRENT;
        }
        _cleanup_free_ char *problem = why && e == 0 ? strv_join(why, "; ") : NULL;
        _cleanup_free_ char *ignored = s->unknown && e == 0 ? strv_join(s->unknown, ", ") : NULL;
        if (e < 0 || (why && !problem) || (s->unknown && !ignored))
                return log_oom();
        *ret_state = state;
        free(*ret_problem);
        *ret_problem = TAKE_PTR(problem);
        free(*ret_ignored);
        *ret_ignored = TAKE_PTR(ignored);
        return 0;
}

/* Scan and judge: r->state, r->problem and r->ignored as the file is now. */
static int identify(struct repo *r, struct schema_scan *s) {
        int e = schema_scan(r, s);
        if (e == 0)
                e = schema_judge(s, &r->state, &r->problem, &r->ignored);
        return e;
}

static void set_wal(struct repo *r) {
        /* WAL lets readers and a writer work at once; the mode is stored in the file, so only a
         * repository of this vmcloak's schema gets it. */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(r->db, "PRAGMA journal_mode", -1, &st, NULL) != SQLITE_OK)
                return;
        bool wal = sqlite3_step(st) == SQLITE_ROW &&
                   strcasecmp(strempty((const char *)sqlite3_column_text(st, 0)), "wal") == 0;
        sqlite3_finalize(st);
        if (!wal)
                exec_sql(r, "PRAGMA journal_mode=WAL");
}

/* Add the known columns that came with since (only those in missing, when given). */
static int add_columns(struct repo *r, int since, char *const *missing) {
        for (size_t i = 0; i < ELEMENTSOF(known_columns); i++) {
                const struct known_column *k = &known_columns[i];
                if (k->since != since)
                        continue;
                _cleanup_free_ char *name = strdup_printf("%s.%s", k->table, k->column);
                if (!name)
                        return log_oom();
                if (missing && !strv_contains(missing, name))
                        continue;
                char sql[256];
                snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", k->table, k->column, k->type);
                int e = exec_sql(r, sql);
                if (e < 0)
                        return e;
                if (missing)
                        log_info("  added column %s", name);
        }
        return 0;
}

static int set_user_version(struct repo *r) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", REPO_SCHEMA_VERSION);
        return exec_sql(r, sql);
}

static int create_schema(struct repo *r) {
        int e = exec_sql(r, "BEGIN IMMEDIATE");
        if (e < 0)
                return e;
        /* Someone else may have created it while we waited for the lock. */
        int n = 0;
        e = get_int(r, "SELECT count(*) FROM sqlite_master", &n);
        if (e == 0 && n == 0) {
                log_debug("creating repository %s", r->path);
                e = exec_sql(r, vmcloak_schema);
                /* vmcloak's own columns, in the order the migrations add them. */
                for (int since = SINCE_VMCLOAK; e == 0 && since <= SINCE_LAST; since++)
                        e = add_columns(r, since, NULL);
                if (e == 0)
                        e = set_user_version(r);
        }
        if (e < 0) {
                exec_sql(r, "ROLLBACK");
                return e;
        }
        return exec_sql(r, "COMMIT");
}

/* "file:PATH?immutable=1" with PATH percent-encoded (RFC 3986, as sqlite3_open_v2 URIs want). */
static char *immutable_uri(const char *path) {
        size_t n = strlen(path);
        char *u = malloc(5 + 3 * n + sizeof "?immutable=1"), *o = u;
        if (!u)
                return NULL;
        o = stpcpy(o, "file:");
        for (const unsigned char *p = (const unsigned char *)path; *p; p++)
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("/._-~", *p))
                        *o++ = (char)*p;
                else
                        o += sprintf(o, "%%%02X", *p);
        strcpy(o, "?immutable=1");
        return u;
}

/* Whether a read-only open should be immutable: the file is in WAL mode (header bytes 18 and
 * 19 are 2, https://www.sqlite.org/fileformat.html) and has no -wal file, so no vmcloak is
 * using it and the main file holds everything. A plain read-only open would create the -wal and
 * -shm files there (https://www.sqlite.org/wal.html#readonly) and leave them behind. */
static bool wal_without_log(const char *path) {
        _cleanup_free_ char *wal = strdup_printf("%s-wal", path);
        if (!wal || access(wal, F_OK) == 0)
                return false;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        unsigned char h[20];
        return fd >= 0 && read(fd, h, sizeof h) == (ssize_t)sizeof h && h[18] == 2 && h[19] == 2;
}

static int open_any(const char *path, bool readonly, struct repo **ret) {
        struct repo *r = calloc(1, sizeof *r);
        if (!r || !(r->path = strdup(path))) {
                free(r);
                return log_oom();
        }
        r->readonly = readonly;
        int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        _cleanup_free_ char *uri = NULL;
        if (readonly && wal_without_log(path)) {
                /* A writer starting meanwhile can make this read fail (SQLITE_CORRUPT, -EIO),
                 * never the file: nothing of it is written. */
                if (!(uri = immutable_uri(path))) {
                        repo_close(r);
                        return log_oom();
                }
                flags |= SQLITE_OPEN_URI;
        }
        int rc = sqlite3_open_v2(uri ? uri : path, &r->db, flags | SQLITE_OPEN_FULLMUTEX, NULL);
        if (rc != SQLITE_OK) {
                log_error("cannot open repository %s: %s (check the file's permissions, or use --home)", path,
                          r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
                repo_close(r);
                return -EIO;
        }
        sqlite3_busy_timeout(r->db, readonly ? REPO_READONLY_BUSY_MS : 30000);
        sqlite3_extended_result_codes(r->db, 0);
        /* Not a database at all (or a corrupt one): say so before anything else. */
        int dummy, e = get_int(r, "SELECT count(*) FROM sqlite_master", &dummy);
        if (e == -EBUSY || e == -ENOMEM) {
                repo_close(r);
                return e;
        }
        if (e < 0) {
                log_error("%s is not a usable SQLite database; move it away or use another --home", path);
                repo_close(r);
                return -EIO;
        }
        /* Until the schema is known, nothing is written: not even the journal mode. */
        struct schema_scan s;
        e = identify(r, &s);
        if (e == 0 && s.n_objects == 0 && readonly) {
                log_debug("repository %s is empty", path);
                e = -ENODATA;
        } else if (e == 0 && s.n_objects == 0) {
                schema_scan_done(&s);
                e = create_schema(r);
                if (e == 0)
                        e = identify(r, &s);
        }
        if (e == 0 && (!s.has_image || !s.has_snapshot)) {
                _cleanup_free_ char *tables = strv_join(s.tables, ", ");
                log_error("%s is an SQLite database but not a VMCloak repository (no %s table; it has %s); vmcloak "
                          "changes nothing in it: move it away or use another --home", path,
                          s.has_image ? "snapshot" : s.has_snapshot ? "image" : "image or snapshot",
                          isempty(tables) ? "no tables" : tables);
                e = -EPROTO;
        }
        schema_scan_done(&s);
        if (e < 0) {
                repo_close(r);
                return e;
        }
        if (r->state == REPO_CURRENT && !readonly)
                set_wal(r);
        *ret = r;
        return 0;
}

int repo_open(const char *path, struct repo **ret) { return open_any(path, false, ret); }

int repo_open_readonly(const char *path, struct repo **ret) { return open_any(path, true, ret); }

void repo_close(struct repo *r) {
        if (!r)
                return;
        sqlite3_close(r->db);
        free(r->path);
        free(r->problem);
        free(r->ignored);
        free(r);
}

const char *repo_path(const struct repo *r) { return r->path; }

enum repo_state repo_state(const struct repo *r) { return r->state; }

const char *repo_problem(const struct repo *r) { return r->problem; }

/* The one line for a repository this vmcloak must not change. */
static int refuse(struct repo *r) {
        const char *fix = r->state == REPO_NEWER
                                  ? "upgrade vmcloak, or give it another --home"
                                  : "use the VMCloak (or vmcloak) that wrote it, or give vmcloak another --home";
        log_error("repository %s %s, so vmcloak leaves it as it is; %s", r->path, strempty(r->problem), fix);
        return -EPROTO;
}

int repo_require_current(struct repo *r) {
        switch (r->state) {
        case REPO_CURRENT:
                return 0;
        case REPO_OLDER:
                log_error("repository %s uses an older schema (version %d, this vmcloak needs %d); run "
                          "'vmcloak migrate' once to upgrade it (VMCloak can still read it afterwards)",
                          r->path, repo_schema_version(r), REPO_SCHEMA_VERSION);
                return -EPROTO;
        default:
                return refuse(r);
        }
}

int repo_require_known(struct repo *r) {
        return r->state == REPO_CURRENT || r->state == REPO_OLDER ? 0 : refuse(r);
}

/* Reading a schema this vmcloak does not know: rows are read by column name and what it does
 * not know is skipped, so reading is safe; it says so once. */
static void warn_unknown_once(struct repo *r) {
        if (r->warned || r->state == REPO_CURRENT || r->state == REPO_OLDER)
                return;
        r->warned = true;
        log_warning("repository %s %s; reading only what this vmcloak understands%s%s%s", r->path,
                    strempty(r->problem), r->ignored ? " (ignoring " : "", strempty(r->ignored),
                    r->ignored ? ")" : "");
}

/* A migration's end: COMMIT, then r->state as the file is now. */
static int commit_and_identify(struct repo *r) {
        int e = exec_sql(r, "COMMIT");
        struct schema_scan s = { 0 };
        if (e == 0)
                e = identify(r, &s);
        schema_scan_done(&s);
        return e;
}

int repo_migrate(struct repo *r, int *ret_from, int *ret_to) {
        int e = exec_sql(r, "BEGIN IMMEDIATE");
        if (e < 0)
                return e;
        /* Again under the lock: another process may have changed the file since repo_open. */
        struct schema_scan s;
        e = identify(r, &s);
        int from = e == 0 ? repo_schema_version(r) : e;
        if (e == 0 && from < 0)
                e = from;
        if (e == 0 && r->state != REPO_CURRENT && r->state != REPO_OLDER) {
                schema_scan_done(&s);
                exec_sql(r, "ROLLBACK");
                return refuse(r);
        }
        if (e == 0 && r->state == REPO_OLDER) {
                /* VMCloak's alembic revisions, then vmcloak's own columns: each column that is
                 * missing, in the order they came. */
                for (int since = 1; e == 0 && since <= SINCE_LAST; since++)
                        e = s.missing ? add_columns(r, since, s.missing) : 0;
                bool at_head = strv_length(s.revisions) == 1 && streq(s.revisions[0], REPO_ALEMBIC_HEAD);
                if (e == 0 && !table_exists(r, "alembic_version"))
                        e = exec_sql(r, "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                                        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))");
                if (e == 0 && !at_head)
                        e = exec_sql(r, "DELETE FROM alembic_version; INSERT INTO alembic_version VALUES ('"
                                        REPO_ALEMBIC_HEAD "')");
                if (e == 0)
                        e = set_user_version(r);
        }
        schema_scan_done(&s);
        if (e < 0) {
                exec_sql(r, "ROLLBACK");
                return e;
        }
        e = commit_and_identify(r);
        if (e < 0)
                return e;
        if (r->state != REPO_CURRENT)
                return refuse(r); /* cannot happen: every known column was added */
        set_wal(r);
        if (ret_from)
                *ret_from = from;
        if (ret_to)
                *ret_to = REPO_SCHEMA_VERSION;
        return 0;
}

const char repo_alembic_revisions_text[] = VMCLOAK_REVISIONS_TEXT;

int repo_alembic_revision_index(const char *rev) {
        for (size_t i = 0; rev && i < ELEMENTSOF(vmcloak_revisions); i++)
                if (streq(rev, vmcloak_revisions[i]))
                        return (int)i;
        return -1;
}

int repo_migrate_alembic(struct repo *r, const char *rev, const char **ret_from) {
        int target = repo_alembic_revision_index(rev);
        if (target < 0) {
                log_error("unknown alembic revision '%s': VMCloak's are " VMCLOAK_REVISIONS_TEXT " (or head)",
                          strempty(rev));
                return -EINVAL;
        }
        int e = exec_sql(r, "BEGIN IMMEDIATE");
        if (e < 0)
                return e;
        /* Under the lock, as repo_migrate. */
        struct schema_scan s;
        e = identify(r, &s);
        if (e == 0 && r->state != REPO_CURRENT && r->state != REPO_OLDER) {
                schema_scan_done(&s);
                exec_sql(r, "ROLLBACK");
                return refuse(r);
        }
        /* Where it is: -1 before alembic, 0..3 at a VMCloak revision, 4 past them (a vmcloak
         * schema, which always has VMCloak's head revision: schema_judge checks). */
        int at = -1;
        const char *from = "none";
        if (e == 0 && s.user_version >= 2) {
                at = (int)ELEMENTSOF(vmcloak_revisions);
                from = "vmcloak schema";
        } else if (e == 0 && strv_length(s.revisions) == 1) {
                at = repo_alembic_revision_index(s.revisions[0]);
                from = vmcloak_revisions[at];
        }
        if (e == 0 && ret_from)
                *ret_from = from;
        /* VMCloak's head under a vmcloak schema is still that revision: nothing to do. */
        bool there = at == target || (target == (int)ELEMENTSOF(vmcloak_revisions) - 1 && at > target);
        /* Past REV: nothing to do, as VMCloak's migrate (its "migratable" check comes first and
         * says "already at the latest version", exit 0); there is no downgrade to make. */
        bool past = e == 0 && !there && at > target;
        if (e == 0 && !there && !past) {
                /* The columns of the revisions after the one it is at, up to REV (since k is
                 * vmcloak_revisions[k - 1]'s), each only when missing. */
                for (int since = 1; e == 0 && since <= target + 1; since++)
                        e = s.missing ? add_columns(r, since, s.missing) : 0;
                if (e == 0 && !table_exists(r, "alembic_version"))
                        e = exec_sql(r, "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                                        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))");
                if (e == 0) {
                        char sql[128];
                        snprintf(sql, sizeof sql, "DELETE FROM alembic_version; INSERT INTO alembic_version VALUES "
                                                  "('%s')", vmcloak_revisions[target]);
                        e = exec_sql(r, sql);
                }
        }
        schema_scan_done(&s);
        if (e < 0 || there || past) {
                exec_sql(r, "ROLLBACK");
                return e < 0 ? e : there ? 1 : 2;
        }
        e = commit_and_identify(r);
        if (e < 0)
                return e;
        return r->state == REPO_OLDER ? 0 : refuse(r); /* OLDER: cannot be otherwise */
}

int repo_begin(struct repo *r) { return exec_sql(r, "BEGIN IMMEDIATE"); }
int repo_commit(struct repo *r) { return exec_sql(r, "COMMIT"); }
int repo_rollback(struct repo *r) { return exec_sql(r, "ROLLBACK"); }

/* ---- rows ---- */

static char *col_str(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);
        return t ? strdup((const char *)t) : NULL;
}

/* The columns of struct image by name: what rows are read into and written from. */
static const struct image_field {
        const char *column;
        bool is_int;
        size_t offset;
} image_fields[] = {
#define T(f) { #f, false, offsetof(struct image, f) }
#define N(f) { #f, true, offsetof(struct image, f) }
        T(mode), T(vm), T(name), T(path), T(osversion), T(servicepack), T(ipaddr), N(port), T(adapter),
        T(netmask), T(gateway), N(cpus), N(ramsize), N(vramsize), T(paravirtprovider), T(mac),
        { "_installed", false, offsetof(struct image, installed) }, T(netmode), T(dns), T(created_at),
        T(firmware), N(secure_boot), N(tpm), T(os_build), T(os_edition), T(os_language), T(tags),
        T(hardware), T(identity), T(cloakcheck),
#undef T
#undef N
};

/* The field f of img (writable for the rows this file makes, read-only for the caller's). */
static char **field_text(const struct image *img, const struct image_field *f) {
        return (char **)(void *)((const char *)img + f->offset);
}

static int *field_int(const struct image *img, const struct image_field *f) {
        return (int *)(void *)((const char *)img + f->offset);
}

static struct image *image_from_row(sqlite3_stmt *st) {
        struct image *img = calloc(1, sizeof *img);
        if (!img)
                return NULL;
        int n = sqlite3_column_count(st);
        for (int i = 0; i < n; i++) {
                const char *c = sqlite3_column_name(st, i);
                if (streq(c, "id")) {
                        img->id = sqlite3_column_int64(st, i);
                        continue;
                }
                /* A column this vmcloak does not know is not read (repo_open named it). */
                for (size_t k = 0; k < ELEMENTSOF(image_fields); k++) {
                        const struct image_field *f = &image_fields[k];
                        if (!streq(c, f->column))
                                continue;
                        if (f->is_int)
                                *field_int(img, f) = sqlite3_column_int(st, i);
                        else if (sqlite3_column_type(st, i) != SQLITE_NULL &&
                                 !(*field_text(img, f) = col_str(st, i))) {
                                image_free(img);
                                return NULL;
                        }
                        break;
                }
        }
        return img;
}

static struct snapshot *snapshot_from_row(sqlite3_stmt *st) {
        struct snapshot *s = calloc(1, sizeof *s);
        if (!s)
                return NULL;
        int n = sqlite3_column_count(st);
        for (int i = 0; i < n; i++) {
                const char *c = sqlite3_column_name(st, i);
#define S(f) else if (streq(c, #f)) s->f = col_str(st, i)
                if (streq(c, "id"))
                        s->id = sqlite3_column_int64(st, i);
                else if (streq(c, "image_id"))
                        s->image_id = sqlite3_column_int64(st, i);
                else if (streq(c, "port"))
                        s->port = sqlite3_column_int(st, i);
                S(vmname); S(ipaddr); S(hostname); S(mac); S(created_at); S(tags); S(identity); S(cloakcheck);
                S(libvirt_uri); S(libvirt_pool); S(libvirt_volume); S(libvirt_base); S(libvirt_snapshot);
                S(libvirt_uuid);
                S(image_name); S(image_vm);
#undef S
        }
        return s;
}

void image_free(struct image *i) {
        if (!i)
                return;
        free(i->name); free(i->path); free(i->osversion); free(i->servicepack); free(i->mode); free(i->vm);
        free(i->ipaddr); free(i->adapter); free(i->netmask); free(i->gateway); free(i->paravirtprovider);
        free(i->mac); free(i->installed); free(i->netmode); free(i->dns); free(i->created_at);
        free(i->firmware); free(i->os_build); free(i->os_edition); free(i->os_language); free(i->tags);
        free(i->hardware); free(i->identity); free(i->cloakcheck);
        free(i);
}

void snapshot_free(struct snapshot *s) {
        if (!s)
                return;
        free(s->vmname); free(s->ipaddr); free(s->hostname); free(s->mac); free(s->created_at); free(s->tags);
        free(s->identity); free(s->cloakcheck); free(s->image_name); free(s->image_vm);
        free(s->libvirt_uri); free(s->libvirt_pool); free(s->libvirt_volume); free(s->libvirt_base);
        free(s->libvirt_snapshot); free(s->libvirt_uuid);
        free(s);
}

void image_list_free(struct image **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                image_free(l[i]);
        free(l);
}

void snapshot_list_free(struct snapshot **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                snapshot_free(l[i]);
        free(l);
}

typedef void *(*row_fn)(sqlite3_stmt *);
typedef void (*free_fn)(void *);

static int query_rows(struct repo *r, const char *sql, const char *bind_text, int64_t bind_int, bool use_int,
                      row_fn fn, free_fn ff, void ***ret, size_t *ret_n) {
        warn_unknown_once(r);
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "query");
        if (bind_text)
                sqlite3_bind_text(st, 1, bind_text, -1, SQLITE_STATIC);
        else if (use_int)
                sqlite3_bind_int64(st, 1, bind_int);
        void **rows = NULL;
        size_t n = 0;
        int e = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                void **nr = realloc(rows, sizeof(void *) * (n + 1));
                void *row = nr ? fn(st) : NULL;
                if (!nr || !row) {
                        if (nr)
                                rows = nr;
                        e = log_oom();
                        break;
                }
                rows = nr;
                rows[n++] = row;
        }
        if (e == 0 && rc != SQLITE_DONE)
                e = sql_error(r, rc, "query");
        sqlite3_finalize(st);
        if (e < 0) {
                for (size_t i = 0; i < n; i++)
                        ff(rows[i]);
                free(rows);
                return e;
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

int repo_image_get(struct repo *r, const char *name, struct image **ret) {
        void **rows;
        size_t n;
        int e = query_rows(r, "SELECT * FROM image WHERE name = ? ORDER BY id LIMIT 1", name, 0, false,
                           (row_fn)image_from_row, (free_fn)image_free, &rows, &n);
        if (e < 0)
                return e;
        if (n == 0) {
                free(rows);
                return -ENOENT;
        }
        *ret = rows[0];
        free(rows);
        return 0;
}

int repo_image_list(struct repo *r, struct image ***ret, size_t *ret_n) {
        return query_rows(r, "SELECT * FROM image ORDER BY name, id", NULL, 0, false, (row_fn)image_from_row, (free_fn)image_free,
                          (void ***)ret, ret_n);
}

static void now_iso(char buf[static 32]) {
        time_t t = time(NULL);
        struct tm tm;
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *v) {
        if (v)
                sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
        else
                sqlite3_bind_null(st, i);
}

static int bind_field(sqlite3_stmt *st, int i, const struct image *img, const struct image_field *f) {
        if (f->is_int)
                return sqlite3_bind_int(st, i, *field_int(img, f));
        const char *v = *field_text(img, f);
        return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

int repo_image_insert(struct repo *r, struct image *img) {
        struct image *existing = NULL;
        int e = repo_image_get(r, img->name, &existing);
        if (e == 0) {
                image_free(existing);
                return -EEXIST;
        }
        if (e != -ENOENT)
                return e;
        if (!img->created_at) {
                char ts[32];
                now_iso(ts);
                if (!(img->created_at = strdup(ts)))
                        return log_oom();
        }
        _cleanup_strv_free_ char **cols = NULL, **marks = NULL;
        for (size_t i = 0; i < ELEMENTSOF(image_fields); i++)
                if (strv_extend(&cols, image_fields[i].column) < 0 || strv_extend(&marks, "?") < 0)
                        return log_oom();
        _cleanup_free_ char *c = strv_join(cols, ", "), *m = strv_join(marks, ",");
        _cleanup_free_ char *sql = c && m ? strdup_printf("INSERT INTO image (%s) VALUES (%s)", c, m) : NULL;
        if (!sql)
                return log_oom();
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "adding the image");
        for (size_t i = 0; i < ELEMENTSOF(image_fields); i++)
                bind_field(st, (int)i + 1, img, &image_fields[i]);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_error(r, rc, "adding the image");
        img->id = sqlite3_last_insert_rowid(r->db);
        return 0;
}

int repo_image_update(struct repo *r, const struct image *img) {
        /* Only the columns that change: a value this vmcloak reads differently from how it is
         * stored (NULL read as 0) stays as it is. */
        void **rows;
        size_t n;
        int e = query_rows(r, "SELECT * FROM image WHERE id = ?", NULL, img->id, true, (row_fn)image_from_row,
                           (free_fn)image_free, &rows, &n);
        if (e < 0)
                return e;
        _cleanup_image_ struct image *old = n > 0 ? rows[0] : NULL;
        free(rows);
        if (!old)
                return -ENOENT;
        const struct image_field *changed[ELEMENTSOF(image_fields)];
        size_t nc = 0;
        _cleanup_strv_free_ char **sets = NULL;
        for (size_t i = 0; i < ELEMENTSOF(image_fields); i++) {
                const struct image_field *f = &image_fields[i];
                bool same = f->is_int ? *field_int(old, f) == *field_int(img, f)
                                      : streq_ptr(*field_text(old, f), *field_text(img, f));
                if (same)
                        continue;
                changed[nc++] = f;
                if (strv_extendf(&sets, "%s=?", f->column) < 0)
                        return log_oom();
        }
        if (nc == 0)
                return 0;
        _cleanup_free_ char *set = strv_join(sets, ", ");
        _cleanup_free_ char *sql = set ? strdup_printf("UPDATE image SET %s WHERE id=?", set) : NULL;
        if (!sql)
                return log_oom();
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "updating the image");
        for (size_t i = 0; i < nc; i++)
                bind_field(st, (int)i + 1, img, changed[i]);
        sqlite3_bind_int64(st, (int)nc + 1, img->id);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_error(r, rc, "updating the image");
        return sqlite3_changes(r->db) > 0 ? 0 : -ENOENT;
}

static int delete_by_id(struct repo *r, const char *sql, int64_t id) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "delete");
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_error(r, rc, "delete");
        return sqlite3_changes(r->db) > 0 ? 0 : -ENOENT;
}

int repo_image_delete(struct repo *r, int64_t id) { return delete_by_id(r, "DELETE FROM image WHERE id=?", id); }

static const char snapshot_select[] =
        "SELECT snapshot.*, image.name AS image_name, image.vm AS image_vm FROM snapshot "
        "LEFT JOIN image ON image.id = snapshot.image_id ";

int repo_snapshot_get(struct repo *r, const char *vmname, struct snapshot **ret) {
        char sql[256];
        snprintf(sql, sizeof sql, "%s WHERE snapshot.vmname = ? LIMIT 1", snapshot_select);
        void **rows;
        size_t n;
        int e = query_rows(r, sql, vmname, 0, false, (row_fn)snapshot_from_row, (free_fn)snapshot_free, &rows, &n);
        if (e < 0)
                return e;
        if (n == 0) {
                free(rows);
                return -ENOENT;
        }
        *ret = rows[0];
        free(rows);
        return 0;
}

int repo_snapshot_list(struct repo *r, int64_t image_id, struct snapshot ***ret, size_t *ret_n) {
        char sql[256];
        snprintf(sql, sizeof sql, "%s %s ORDER BY image.name, snapshot.vmname", snapshot_select,
                 image_id >= 0 ? "WHERE snapshot.image_id = ?" : "");
        return query_rows(r, sql, NULL, image_id, image_id >= 0, (row_fn)snapshot_from_row, (free_fn)snapshot_free, (void ***)ret,
                          ret_n);
}

int repo_snapshot_insert(struct repo *r, struct snapshot *s) {
        struct snapshot *existing = NULL;
        int e = repo_snapshot_get(r, s->vmname, &existing);
        if (e == 0) {
                snapshot_free(existing);
                return -EEXIST;
        }
        if (e != -ENOENT)
                return e;
        if (!s->created_at) {
                char ts[32];
                now_iso(ts);
                s->created_at = strdup(ts);
        }
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db,
                                    "INSERT INTO snapshot (image_id, vmname, ipaddr, port, hostname, mac, created_at, "
                                    "tags, identity, cloakcheck, libvirt_uri, libvirt_pool, libvirt_volume, "
                                    "libvirt_base, libvirt_snapshot, libvirt_uuid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st,
                                    NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "adding the snapshot");
        sqlite3_bind_int64(st, 1, s->image_id);
        bind_opt_text(st, 2, s->vmname);
        bind_opt_text(st, 3, s->ipaddr);
        sqlite3_bind_int(st, 4, s->port);
        bind_opt_text(st, 5, s->hostname);
        bind_opt_text(st, 6, s->mac);
        bind_opt_text(st, 7, s->created_at);
        bind_opt_text(st, 8, s->tags);
        bind_opt_text(st, 9, s->identity);
        bind_opt_text(st, 10, s->cloakcheck);
        bind_opt_text(st, 11, s->libvirt_uri);
        bind_opt_text(st, 12, s->libvirt_pool);
        bind_opt_text(st, 13, s->libvirt_volume);
        bind_opt_text(st, 14, s->libvirt_base);
        bind_opt_text(st, 15, s->libvirt_snapshot);
        bind_opt_text(st, 16, s->libvirt_uuid);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_error(r, rc, "adding the snapshot");
        s->id = sqlite3_last_insert_rowid(r->db);
        return 0;
}

/* One text column of one row by its name column; table and column are this file's constants. */
static int set_text_by_name(struct repo *r, const char *table, const char *column, const char *key,
                            const char *name, const char *value) {
        char sql[128];
        snprintf(sql, sizeof sql, "UPDATE %s SET %s=? WHERE %s=?", table, column, key);
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, sql);
        bind_opt_text(st, 1, value);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_error(r, rc, sql);
        return sqlite3_changes(r->db) > 0 ? 0 : -ENOENT;
}

int repo_image_set_cloakcheck(struct repo *r, const char *name, const char *json) {
        return set_text_by_name(r, "image", "cloakcheck", "name", name, json);
}

int repo_snapshot_set_cloakcheck(struct repo *r, const char *vmname, const char *json) {
        return set_text_by_name(r, "snapshot", "cloakcheck", "vmname", vmname, json);
}

int repo_snapshot_delete(struct repo *r, int64_t id) {
        return delete_by_id(r, "DELETE FROM snapshot WHERE id=?", id);
}

int repo_used_ips(struct repo *r, char ***ret) {
        static const char sql[] = "SELECT ipaddr FROM image UNION SELECT gateway FROM image "
                                  "UNION SELECT ipaddr FROM snapshot";
        warn_unknown_once(r);
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "listing used addresses");
        char **l = calloc(1, sizeof(char *));
        int e = l ? 0 : -ENOMEM;
        while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
                if (sqlite3_column_text(st, 0))
                        e = strv_extend(&l, (const char *)sqlite3_column_text(st, 0));
        if (e == -ENOMEM)
                e = log_oom();
        else if (e == 0 && rc != SQLITE_DONE)
                e = sql_error(r, rc, "listing used addresses");
        sqlite3_finalize(st);
        if (e < 0) {
                strv_free(l);
                return e;
        }
        *ret = l;
        return 0;
}

/* ---- _installed ---- */

bool installed_has(const char *installed, const char *name, const char *version) {
        if (isempty(installed))
                return false;
        _cleanup_free_ char *copy = strdup(installed);
        if (!copy)
                return false;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *colon = strchr(tok, ':');
                const char *v = "";
                if (colon) {
                        *colon = 0;
                        v = colon + 1;
                }
                if (streq(tok, name) && (!version || streq(v, version)))
                        return true;
        }
        return false;
}

char *installed_add(const char *installed, const char *name, const char *version) {
        if (installed_has(installed, name, version ? version : ""))
                return strdup(strempty(installed));
        if (isempty(installed))
                return strdup_printf("%s:%s", name, strempty(version));
        return strdup_printf("%s,%s:%s", installed, name, strempty(version));
}

bool image_is_uefi(const struct image *img) { return img->firmware && streq(img->firmware, "uefi"); }
