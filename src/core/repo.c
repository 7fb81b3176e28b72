/* SQLite access to repository.db, compatible with VMCloak's schema and migrations. */
#include "core/repo.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"

struct repo {
        sqlite3 *db;
        char *path;
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

static int sql_error(struct repo *r, int rc, const char *what) {
        int e = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? -EBUSY : rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
        if (e == -EBUSY)
                log_error("repository %s is busy (another vmcloak holds it for more than 30 s): %s; try again",
                          r->path, sqlite3_errmsg(r->db));
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

static bool column_exists(struct repo *r, const char *table, const char *column) {
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
        sqlite3_stmt *st;
        bool found = false;
        if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
                return false;
        while (!found && sqlite3_step(st) == SQLITE_ROW)
                found = streq((const char *)sqlite3_column_text(st, 1), column);
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

static char *alembic_version(struct repo *r) {
        if (!table_exists(r, "alembic_version"))
                return NULL;
        sqlite3_stmt *st;
        char *v = NULL;
        if (sqlite3_prepare_v2(r->db, "SELECT version_num FROM alembic_version", -1, &st, NULL) != SQLITE_OK)
                return NULL;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                v = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return v;
}

int repo_schema_version(struct repo *r) {
        int v = 0;
        if (get_int(r, "PRAGMA user_version", &v) < 0)
                return -EIO;
        if (v > 0)
                return v;
        _cleanup_free_ char *a = alembic_version(r);
        return a && streq(a, REPO_ALEMBIC_HEAD) ? 1 : 0;
}

static int create_schema(struct repo *r) {
        int r2 = exec_sql(r, "BEGIN IMMEDIATE");
        if (r2 < 0)
                return r2;
        /* Someone else may have created it while we waited for the lock. */
        if (!table_exists(r, "image")) {
                log_debug("creating repository %s", r->path);
                r2 = exec_sql(r, vmcloak_schema);
                if (r2 == 0)
                        r2 = exec_sql(r, "ALTER TABLE image ADD COLUMN netmode VARCHAR(16);"
                                         "ALTER TABLE image ADD COLUMN dns VARCHAR(32);"
                                         "ALTER TABLE image ADD COLUMN created_at VARCHAR(32);"
                                         "ALTER TABLE snapshot ADD COLUMN created_at VARCHAR(32);"
                                         "PRAGMA user_version = 2;");
        }
        if (r2 < 0) {
                exec_sql(r, "ROLLBACK");
                return r2;
        }
        return exec_sql(r, "COMMIT");
}

int repo_open(const char *path, struct repo **ret) {
        struct repo *r = calloc(1, sizeof *r);
        if (!r || !(r->path = strdup(path))) {
                free(r);
                return log_oom();
        }
        int rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 NULL);
        if (rc != SQLITE_OK) {
                log_error("cannot open repository %s: %s (check the file's permissions, or use --home)", path,
                          r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
                repo_close(r);
                return -EIO;
        }
        sqlite3_busy_timeout(r->db, 30000);
        sqlite3_extended_result_codes(r->db, 0);
        int e = 0;
        /* Not a database at all (or a corrupt one): say so before anything else. */
        int dummy;
        if (get_int(r, "SELECT count(*) FROM sqlite_master", &dummy) < 0) {
                log_error("%s is not a usable SQLite database; move it away or use another --home", path);
                repo_close(r);
                return -EIO;
        }
        /* WAL lets readers and a writer work at once; the mode is stored in the file. */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(r->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
                bool wal = sqlite3_step(st) == SQLITE_ROW &&
                           strcasecmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
                sqlite3_finalize(st);
                if (!wal)
                        exec_sql(r, "PRAGMA journal_mode=WAL");
        }
        if (!table_exists(r, "image"))
                e = create_schema(r);
        if (e == 0 && !table_exists(r, "snapshot")) {
                log_error("%s has an image table but no snapshot table: it is not a VMCloak repository", path);
                e = -EPROTO;
        }
        if (e < 0) {
                repo_close(r);
                return e;
        }
        *ret = r;
        return 0;
}

void repo_close(struct repo *r) {
        if (!r)
                return;
        sqlite3_close(r->db);
        free(r->path);
        free(r);
}

const char *repo_path(const struct repo *r) { return r->path; }

int repo_require_current(struct repo *r) {
        int v = repo_schema_version(r);
        if (v < 0)
                return v;
        if (v < REPO_SCHEMA_VERSION) {
                log_error("repository %s uses an older schema (version %d, this vmcloak needs %d); run "
                          "'vmcloak migrate' once to upgrade it (VMCloak can still read it afterwards)",
                          r->path, v, REPO_SCHEMA_VERSION);
                return -EPROTO;
        }
        if (v > REPO_SCHEMA_VERSION) {
                log_error("repository %s was written by a newer vmcloak (schema %d, this one knows %d); "
                          "upgrade vmcloak", r->path, v, REPO_SCHEMA_VERSION);
                return -EPROTO;
        }
        return 0;
}

struct column_add {
        const char *table, *column, *type;
};

static int add_missing_columns(struct repo *r, const struct column_add *cols, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (column_exists(r, cols[i].table, cols[i].column))
                        continue;
                char sql[256];
                snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", cols[i].table, cols[i].column,
                         cols[i].type);
                int e = exec_sql(r, sql);
                if (e < 0)
                        return e;
                log_info("  added column %s.%s", cols[i].table, cols[i].column);
        }
        return 0;
}

int repo_migrate(struct repo *r, int *ret_from, int *ret_to) {
        int e = exec_sql(r, "BEGIN IMMEDIATE");
        if (e < 0)
                return e;
        int from = repo_schema_version(r), v = from;
        if (from > REPO_SCHEMA_VERSION) {
                exec_sql(r, "ROLLBACK");
                return repo_require_current(r);
        }
        if (v == 0) {
                /* VMCloak's alembic revisions 5a5957711538, f5b14c62e62c, d6c5bf858df1. */
                static const struct column_add cols[] = {
                        { "image", "paravirtprovider", "VARCHAR(32)" },
                        { "image", "mac", "VARCHAR(32)" },
                        { "snapshot", "mac", "VARCHAR(32)" },
                        { "image", "_installed", "TEXT" },
                };
                e = add_missing_columns(r, cols, ELEMENTSOF(cols));
                if (e == 0 && !table_exists(r, "alembic_version"))
                        e = exec_sql(r, "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                                        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))");
                if (e == 0)
                        e = exec_sql(r, "DELETE FROM alembic_version; INSERT INTO alembic_version VALUES ('"
                                        REPO_ALEMBIC_HEAD "')");
                v = 1;
        }
        if (e == 0 && v == 1) {
                static const struct column_add cols[] = {
                        { "image", "netmode", "VARCHAR(16)" },
                        { "image", "dns", "VARCHAR(32)" },
                        { "image", "created_at", "VARCHAR(32)" },
                        { "snapshot", "created_at", "VARCHAR(32)" },
                };
                e = add_missing_columns(r, cols, ELEMENTSOF(cols));
                v = 2;
        }
        if (e == 0 && v != from) {
                char sql[64];
                snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
                e = exec_sql(r, sql);
        }
        if (e < 0) {
                exec_sql(r, "ROLLBACK");
                return e;
        }
        e = exec_sql(r, "COMMIT");
        if (e < 0)
                return e;
        if (ret_from)
                *ret_from = from;
        if (ret_to)
                *ret_to = v;
        return 0;
}

int repo_begin(struct repo *r) { return exec_sql(r, "BEGIN IMMEDIATE"); }
int repo_commit(struct repo *r) { return exec_sql(r, "COMMIT"); }
int repo_rollback(struct repo *r) { return exec_sql(r, "ROLLBACK"); }

/* ---- rows ---- */

static char *col_str(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);
        return t ? strdup((const char *)t) : NULL;
}

static struct image *image_from_row(sqlite3_stmt *st) {
        struct image *img = calloc(1, sizeof *img);
        if (!img)
                return NULL;
        int n = sqlite3_column_count(st);
        for (int i = 0; i < n; i++) {
                const char *c = sqlite3_column_name(st, i);
#define S(f) else if (streq(c, #f)) img->f = col_str(st, i)
#define I(f) else if (streq(c, #f)) img->f = sqlite3_column_int(st, i)
                if (streq(c, "id"))
                        img->id = sqlite3_column_int64(st, i);
                else if (streq(c, "_installed"))
                        img->installed = col_str(st, i);
                S(name); S(path); S(osversion); S(servicepack); S(mode); S(vm); S(ipaddr); I(port);
                S(adapter); S(netmask); S(gateway); I(cpus); I(ramsize); I(vramsize); S(paravirtprovider);
                S(mac); S(netmode); S(dns); S(created_at);
#undef S
#undef I
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
                S(vmname); S(ipaddr); S(hostname); S(mac); S(created_at); S(image_name);
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
        free(i);
}

void snapshot_free(struct snapshot *s) {
        if (!s)
                return;
        free(s->vmname); free(s->ipaddr); free(s->hostname); free(s->mac); free(s->created_at);
        free(s->image_name);
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

static const char image_columns[] =
        "mode, vm, name, path, osversion, servicepack, ipaddr, port, adapter, netmask, gateway, cpus, ramsize, "
        "vramsize, paravirtprovider, mac, _installed, netmode, dns, created_at";

static void bind_image(sqlite3_stmt *st, const struct image *img) {
        int i = 1;
        bind_opt_text(st, i++, img->mode);
        bind_opt_text(st, i++, img->vm);
        bind_opt_text(st, i++, img->name);
        bind_opt_text(st, i++, img->path);
        bind_opt_text(st, i++, img->osversion);
        bind_opt_text(st, i++, img->servicepack);
        bind_opt_text(st, i++, img->ipaddr);
        sqlite3_bind_int(st, i++, img->port);
        bind_opt_text(st, i++, img->adapter);
        bind_opt_text(st, i++, img->netmask);
        bind_opt_text(st, i++, img->gateway);
        sqlite3_bind_int(st, i++, img->cpus);
        sqlite3_bind_int(st, i++, img->ramsize);
        sqlite3_bind_int(st, i++, img->vramsize);
        bind_opt_text(st, i++, img->paravirtprovider);
        bind_opt_text(st, i++, img->mac);
        bind_opt_text(st, i++, img->installed);
        bind_opt_text(st, i++, img->netmode);
        bind_opt_text(st, i++, img->dns);
        bind_opt_text(st, i++, img->created_at);
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
                img->created_at = strdup(ts);
        }
        char sql[512];
        snprintf(sql, sizeof sql, "INSERT INTO image (%s) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                 image_columns);
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "adding the image");
        bind_image(st, img);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_error(r, rc, "adding the image");
        img->id = sqlite3_last_insert_rowid(r->db);
        return 0;
}

int repo_image_update(struct repo *r, const struct image *img) {
        char sql[640];
        snprintf(sql, sizeof sql,
                 "UPDATE image SET mode=?, vm=?, name=?, path=?, osversion=?, servicepack=?, ipaddr=?, port=?, "
                 "adapter=?, netmask=?, gateway=?, cpus=?, ramsize=?, vramsize=?, paravirtprovider=?, mac=?, "
                 "_installed=?, netmode=?, dns=?, created_at=? WHERE id=?");
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "updating the image");
        bind_image(st, img);
        sqlite3_bind_int64(st, 21, img->id);
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
        "SELECT snapshot.*, image.name AS image_name FROM snapshot LEFT JOIN image ON image.id = snapshot.image_id ";

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
                                    "INSERT INTO snapshot (image_id, vmname, ipaddr, port, hostname, mac, created_at) "
                                    "VALUES (?,?,?,?,?,?,?)", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, "adding the snapshot");
        sqlite3_bind_int64(st, 1, s->image_id);
        bind_opt_text(st, 2, s->vmname);
        bind_opt_text(st, 3, s->ipaddr);
        sqlite3_bind_int(st, 4, s->port);
        bind_opt_text(st, 5, s->hostname);
        bind_opt_text(st, 6, s->mac);
        bind_opt_text(st, 7, s->created_at);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_error(r, rc, "adding the snapshot");
        s->id = sqlite3_last_insert_rowid(r->db);
        return 0;
}

int repo_snapshot_delete(struct repo *r, int64_t id) {
        return delete_by_id(r, "DELETE FROM snapshot WHERE id=?", id);
}

int repo_used_ips(struct repo *r, char ***ret) {
        static const char sql[] = "SELECT ipaddr FROM image UNION SELECT gateway FROM image "
                                  "UNION SELECT ipaddr FROM snapshot";
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
