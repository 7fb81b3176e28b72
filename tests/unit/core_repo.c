/* Unit tests: repository.db creation, VMCloak compatibility, migrations, rows. */
#include "test.h"

#include <errno.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/repo.h"
#include "core/util.h"

struct fx {
        char *dir;
        char *db;
};

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof *f);
        f->dir = test_tmpdir();
        f->db = strdup_printf("%s/repository.db", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        rm_rf(f->dir);
        free(f->dir);
        free(f->db);
        free(f);
        return 0;
}

static void load_fixture(const char *db, const char *name) {
        char *path = strdup_printf("%s/tests/fixtures/%s", getenv("VMCLOAK_SOURCE_ROOT"), name);
        char *sql;
        assert_int_equal(read_full_file(path, &sql, NULL), 0);
        sqlite3 *h;
        assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
        assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(h);
        free(sql);
        free(path);
}

static struct image *new_image(const char *name, const char *ip) {
        struct image *i = calloc(1, sizeof *i);
        i->name = strdup(name);
        i->path = strdup_printf("/tmp/%s.qcow2", name);
        i->osversion = strdup("linux");
        i->servicepack = strdup("2");
        i->mode = strdup("normal");
        i->vm = strdup("qemu");
        i->ipaddr = strdup(ip);
        i->port = 8000;
        i->adapter = strdup("qemubr0");
        i->netmask = strdup("255.255.255.0");
        i->gateway = strdup("192.168.30.1");
        i->cpus = 1;
        i->ramsize = 512;
        i->vramsize = 16;
        i->mac = strdup("00:19:3c:00:00:01");
        i->netmode = strdup("user");
        return i;
}

static void test_fresh_schema(void **state) {
        struct fx *f = *state;
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_schema_version(r), REPO_SCHEMA_VERSION);
        assert_int_equal(repo_require_current(r), 0);
        repo_close(r);
        /* VMCloak's marker is there, so VMCloak opens it without asking to migrate. */
        sqlite3 *h;
        sqlite3_open(f->db, &h);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(h, "SELECT version_num FROM alembic_version", -1, &st, NULL);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), REPO_ALEMBIC_HEAD);
        sqlite3_finalize(st);
        sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        sqlite3_close(h);
}

static void test_image_crud(void **state) {
        struct fx *f = *state;
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        struct image *a = new_image("alpha", "192.168.30.2");
        assert_int_equal(repo_image_insert(r, a), 0);
        assert_true(a->id > 0);
        assert_non_null(a->created_at);
        struct image *dup = new_image("alpha", "192.168.30.3");
        assert_int_equal(repo_image_insert(r, dup), -EEXIST);
        image_free(dup);
        struct image *g;
        assert_int_equal(repo_image_get(r, "alpha", &g), 0);
        assert_string_equal(g->ipaddr, "192.168.30.2");
        assert_string_equal(g->netmode, "user");
        assert_int_equal(g->ramsize, 512);
        free(g->mode);
        g->mode = strdup("multiattach");
        assert_int_equal(repo_image_update(r, g), 0);
        image_free(g);
        assert_int_equal(repo_image_get(r, "alpha", &g), 0);
        assert_string_equal(g->mode, "multiattach");
        image_free(g);
        assert_int_equal(repo_image_get(r, "nope", &g), -ENOENT);
        assert_int_equal(repo_image_delete(r, a->id), 0);
        assert_int_equal(repo_image_get(r, "alpha", &g), -ENOENT);
        assert_int_equal(repo_image_delete(r, a->id), -ENOENT);
        image_free(a);
        repo_close(r);
}

static void test_snapshot_crud_and_used_ips(void **state) {
        struct fx *f = *state;
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        struct image *a = new_image("base", "192.168.30.2");
        assert_int_equal(repo_image_insert(r, a), 0);
        struct snapshot s = { .image_id = a->id, .vmname = "vm1", .ipaddr = "192.168.30.10", .port = 8000,
                              .hostname = "abcdefgh", .mac = "00:19:3c:00:00:02",
                              .libvirt_uuid = "4e4a0b3c-1d2e-4f60-8a9b-0c1d2e3f4a5b" };
        assert_int_equal(repo_snapshot_insert(r, &s), 0);
        free(s.created_at);
        s.created_at = NULL;
        assert_int_equal(repo_snapshot_insert(r, &s), -EEXIST);
        free(s.created_at);
        struct snapshot *g;
        assert_int_equal(repo_snapshot_get(r, "vm1", &g), 0);
        assert_string_equal(g->image_name, "base");
        assert_string_equal(g->mac, "00:19:3c:00:00:02");
        assert_string_equal(g->libvirt_uuid, "4e4a0b3c-1d2e-4f60-8a9b-0c1d2e3f4a5b");
        snapshot_free(g);
        char **ips;
        assert_int_equal(repo_used_ips(r, &ips), 0);
        assert_true(strv_contains(ips, "192.168.30.1"));
        assert_true(strv_contains(ips, "192.168.30.2"));
        assert_true(strv_contains(ips, "192.168.30.10"));
        assert_int_equal(strv_length(ips), 3);
        strv_free(ips);
        struct snapshot **l;
        size_t n;
        assert_int_equal(repo_snapshot_list(r, a->id, &l, &n), 0);
        assert_int_equal(n, 1);
        snapshot_list_free(l, n);
        assert_int_equal(repo_snapshot_list(r, a->id + 100, &l, &n), 0);
        assert_int_equal(n, 0);
        snapshot_list_free(l, n);
        image_free(a);
        repo_close(r);
}

static void expect_sql(const char *db, const char *query, const char *want);

static void test_vmcloak_head_db(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_schema_version(r), 1);
        /* Readable as is; writing needs the migration. */
        struct image **l;
        size_t n;
        assert_int_equal(repo_image_list(r, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(l[0]->name, "win10base");
        assert_string_equal(l[0]->mac, "00:19:3c:1f:a2:07");
        assert_null(l[0]->netmode);
        assert_true(installed_has(l[0]->installed, "dotnet", "4.7.2"));
        assert_true(installed_has(l[0]->installed, "threemonpatch", NULL));
        image_list_free(l, n);
        struct snapshot **s;
        assert_int_equal(repo_snapshot_list(r, -1, &s, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(s[0]->vmname, "win10vm_1");
        assert_string_equal(s[0]->image_name, "win10base");
        snapshot_list_free(s, n);
        assert_int_equal(repo_require_current(r), -EPROTO);
        int from, to;
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(from, 1);
        assert_int_equal(to, REPO_SCHEMA_VERSION);
        assert_int_equal(repo_require_current(r), 0);
        /* Migrating again is a no-op. */
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(from, to);
        struct image *img;
        assert_int_equal(repo_image_get(r, "win7base", &img), 0);
        assert_string_equal(img->gateway, "192.168.30.1");
        image_free(img);
        /* Schema 4's tags: none for VMCloak's rows (snapshot's machineinfo.json gets those of the
         * installed dependencies, pipeline/tags.h). */
        assert_int_equal(repo_image_get(r, "win10base", &img), 0);
        assert_null(img->tags);
        assert_true(installed_has(img->installed, "dotnet", "4.7.2"));
        image_free(img);
        struct snapshot *snap;
        assert_int_equal(repo_snapshot_get(r, "win10vm_1", &snap), 0);
        assert_null(snap->tags);
        assert_null(snap->identity);                     /* schema 5: no profile, as VMCloak made it */
        snapshot_free(snap);
        assert_int_equal(repo_image_get(r, "win7base", &img), 0);
        assert_null(img->hardware);
        assert_null(img->identity);
        image_free(img);
        repo_close(r);
        expect_sql(f->db, "SELECT count(*) FROM pragma_table_info('snapshot') WHERE name = 'tags'", "1");
}

static void test_vmcloak_048_db(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-0.4.8.sql");
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_schema_version(r), 0);
        struct image **l;
        size_t n;
        assert_int_equal(repo_image_list(r, &l, &n), 0);
        assert_int_equal(n, 1);
        assert_null(l[0]->mac);
        image_list_free(l, n);
        int from, to;
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(from, 0);
        assert_int_equal(to, REPO_SCHEMA_VERSION);
        struct image *img = new_image("newer", "192.168.56.3");
        assert_int_equal(repo_image_insert(r, img), 0);
        image_free(img);
        repo_close(r);
        /* The alembic marker is now VMCloak's head. */
        sqlite3 *h;
        sqlite3_open(f->db, &h);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(h, "SELECT version_num FROM alembic_version", -1, &st, NULL);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), REPO_ALEMBIC_HEAD);
        sqlite3_finalize(st);
        sqlite3_close(h);
}

/* Run SQL on the file as another tool would (the sqlite3 library, no vmcloak). */
static void sql(const char *db, const char *text) {
        sqlite3 *h;
        assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
        char *err = NULL;
        int rc = sqlite3_exec(h, text, NULL, NULL, &err);
        if (rc != SQLITE_OK)
                fail_msg("%s: %s", text, err);
        sqlite3_close(h);
}

static char *sql_text(const char *db, const char *query) {
        sqlite3 *h;
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(h, query, -1, &st, NULL), SQLITE_OK);
        char *v = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)
                          ? strdup((const char *)sqlite3_column_text(st, 0))
                          : NULL;
        sqlite3_finalize(st);
        sqlite3_close(h);
        return v;
}

/* The first column of query's first row must be want. */
static void expect_sql(const char *db, const char *query, const char *want) {
        char *v = sql_text(db, query);
        if (!v || strcmp(v, want) != 0)
                fail_msg("%s: got '%s', want '%s'", query, v ? v : "NULL", want);
        free(v);
}

static char *file_bytes(const char *path, size_t *len) {
        char *b;
        assert_int_equal(read_full_file(path, &b, len), 0);
        return b;
}

/* A repository this vmcloak must not change: opened, it is readable (rows by column name),
 * refused for writing, for cleanup and for migrate with one line, and byte-identical after. */
static void expect_untouched(const char *db, enum repo_state state, const char *problem_part,
                             size_t images) {
        size_t len0, len1;
        char *before = file_bytes(db, &len0);
        struct repo *r;
        assert_int_equal(repo_open(db, &r), 0);
        assert_int_equal(repo_state(r), state);
        assert_non_null(repo_problem(r));
        if (!strstr(repo_problem(r), problem_part))
                fail_msg("'%s' not in '%s'", problem_part, repo_problem(r));
        assert_int_equal(repo_require_current(r), -EPROTO);
        assert_int_equal(repo_require_known(r), -EPROTO);
        int from = -1, to = -1;
        assert_int_equal(repo_migrate(r, &from, &to), -EPROTO);
        assert_int_equal(from, -1);
        struct image **l;
        size_t n;
        assert_int_equal(repo_image_list(r, &l, &n), 0);
        assert_int_equal(n, images);
        image_list_free(l, n);
        repo_close(r);
        char *after = file_bytes(db, &len1);
        assert_int_equal(len0, len1);
        assert_memory_equal(before, after, len0);
        char *wal = strdup_printf("%s-wal", db);
        assert_false(path_exists(wal));
        free(wal);
        free(before);
        free(after);
}

/* migrate --revision REV: up to VMCloak's revision REV and no further, never down. */
static void test_migrate_to_alembic_revision(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-0.4.8.sql");
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        const char *from = NULL;
        assert_int_equal(repo_migrate_alembic(r, "5a5957711538", &from), 1);  /* there already */
        assert_int_equal(repo_migrate_alembic(r, "f5b14c62e62c", &from), 0);
        assert_string_equal(from, "5a5957711538");
        assert_int_equal(repo_state(r), REPO_OLDER);
        assert_int_equal(repo_migrate_alembic(r, "34c908159434", &from), 2);  /* past it: no downgrade */
        assert_string_equal(from, "f5b14c62e62c");
        assert_int_equal(repo_migrate_alembic(r, "nope", &from), -EINVAL);
        repo_close(r);
        expect_sql(f->db, "SELECT version_num FROM alembic_version", "f5b14c62e62c");
        expect_sql(f->db, "SELECT count(*) FROM pragma_table_info('image') WHERE name IN ('mac', '_installed')", "1");
        expect_sql(f->db, "SELECT count(*) FROM pragma_table_info('snapshot') WHERE name = 'mac'", "1");
        expect_sql(f->db, "PRAGMA user_version", "0");
        assert_int_equal(repo_open(f->db, &r), 0);
        int a, b;
        assert_int_equal(repo_migrate(r, &a, &b), 0);     /* head from there */
        assert_int_equal(repo_migrate_alembic(r, REPO_ALEMBIC_HEAD, &from), 1);
        assert_int_equal(repo_migrate_alembic(r, "f5b14c62e62c", &from), 2);
        assert_string_equal(from, "vmcloak schema");
        repo_close(r);
        expect_sql(f->db, "SELECT version_num FROM alembic_version", REPO_ALEMBIC_HEAD); /* not set back */
}

static void test_unknown_revision(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        sql(f->db, "UPDATE alembic_version SET version_num = 'fe7656c21eaa'");
        expect_untouched(f->db, REPO_UNKNOWN, "alembic revision fe7656c21eaa, which this vmcloak does not know", 2);
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        /* It names the revisions it knows. */
        assert_non_null(strstr(repo_problem(r), "34c908159434, 5a5957711538, f5b14c62e62c and d6c5bf858df1"));
        repo_close(r);
}

static void test_unknown_revision_on_schema_2(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_migrate(r, NULL, NULL), 0);
        repo_close(r);
        /* A newer VMCloak ran its own upgrade over a repository this vmcloak had migrated. */
        sql(f->db, "PRAGMA journal_mode=DELETE; UPDATE alembic_version SET version_num = 'fe7656c21eaa'; "
                   "ALTER TABLE image ADD COLUMN hwprofile VARCHAR(16)");
        expect_untouched(f->db, REPO_UNKNOWN, "fe7656c21eaa", 2);
        /* A known but older revision under a vmcloak schema is no schema either. */
        sql(f->db, "UPDATE alembic_version SET version_num = '5a5957711538'; ALTER TABLE image DROP COLUMN hwprofile");
        expect_untouched(f->db, REPO_UNKNOWN, "alembic revision 5a5957711538 instead of d6c5bf858df1", 2);
}

static void test_newer_user_version(void **state) {
        struct fx *f = *state;
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        struct image *a = new_image("alpha", "192.168.30.2");
        assert_int_equal(repo_image_insert(r, a), 0);
        image_free(a);
        repo_close(r);
        sql(f->db, "PRAGMA journal_mode=DELETE; PRAGMA user_version = 7; ALTER TABLE image ADD COLUMN hwprofile TEXT");
        expect_untouched(f->db, REPO_NEWER, "newer vmcloak (schema 7; this one knows schemas up to 6)", 1);
}

static void test_user_version_nobody_writes(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        sql(f->db, "PRAGMA user_version = 1");
        expect_untouched(f->db, REPO_UNKNOWN, "user_version 1", 2);
}

static void test_two_revisions(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-0.4.8.sql");
        sql(f->db, "INSERT INTO alembic_version VALUES ('f5b14c62e62c')");
        expect_untouched(f->db, REPO_UNKNOWN, "2 alembic revisions", 1);
}

static void test_unknown_column(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        sql(f->db, "ALTER TABLE image ADD COLUMN snapshot_count INTEGER; UPDATE image SET snapshot_count = 7");
        expect_untouched(f->db, REPO_UNKNOWN, "column image.snapshot_count", 2);
        /* Reading skips it; the rows are read. */
        struct repo *r;
        struct image *img;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_image_get(r, "win10base", &img), 0);
        assert_string_equal(img->osversion, "win10x64");
        image_free(img);
        repo_close(r);
}

static void test_unknown_table_view_trigger(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        sql(f->db, "CREATE TABLE hwprofile (id INTEGER PRIMARY KEY, name TEXT)");
        expect_untouched(f->db, REPO_UNKNOWN, "table hwprofile", 2);
        sql(f->db, "DROP TABLE hwprofile; CREATE VIEW frozen AS SELECT name FROM image WHERE mode='multiattach'");
        expect_untouched(f->db, REPO_UNKNOWN, "view frozen", 2);
        sql(f->db, "DROP VIEW frozen; CREATE TRIGGER keep BEFORE DELETE ON image BEGIN SELECT 1; END");
        expect_untouched(f->db, REPO_UNKNOWN, "trigger keep", 2);
}

static void test_index_is_no_schema_change(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        sql(f->db, "CREATE INDEX image_name ON image (name)");
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_state(r), REPO_OLDER);
        assert_null(repo_problem(r));
        assert_int_equal(repo_migrate(r, NULL, NULL), 0);
        assert_int_equal(repo_state(r), REPO_CURRENT);
        repo_close(r);
}

static void make_schema3(const char *db);
static void make_schema4(const char *db);

static void test_missing_columns(void **state) {
        struct fx *f = *state;
        /* A column every VMCloak revision has. */
        load_fixture(f->db, "vmcloak-head.sql");
        sql(f->db, "ALTER TABLE image DROP COLUMN vramsize");
        expect_untouched(f->db, REPO_UNKNOWN, "lacks columns every VMCloak revision has (image.vramsize)", 2);
        /* Schema 2 without its columns. */
        unlink(f->db);
        load_fixture(f->db, "vmcloak-head.sql");
        sql(f->db, "PRAGMA user_version = 2");
        expect_untouched(f->db, REPO_UNKNOWN, "lacks columns of schema 2 (image.netmode, image.dns", 2);
        /* Schema 3 without one of its own columns. */
        unlink(f->db);
        make_schema3(f->db);
        sql(f->db, "ALTER TABLE image DROP COLUMN os_language");
        expect_untouched(f->db, REPO_UNKNOWN, "lacks columns of schema 3 (image.os_language)", 2);
        /* The current schema without one of its own columns, and without an older one. */
        unlink(f->db);
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        repo_close(r);
        sql(f->db, "PRAGMA journal_mode=DELETE; ALTER TABLE snapshot DROP COLUMN tags");
        expect_untouched(f->db, REPO_UNKNOWN, "lacks columns of schema 6 (snapshot.tags)", 0);
        sql(f->db, "ALTER TABLE image DROP COLUMN os_language");
        expect_untouched(f->db, REPO_UNKNOWN, "lacks columns of schema 6 (image.os_language, snapshot.tags)", 0);
        sql(f->db, "ALTER TABLE snapshot ADD COLUMN tags TEXT; ALTER TABLE image ADD COLUMN os_language VARCHAR(32); "
                   "ALTER TABLE snapshot DROP COLUMN identity");
        expect_untouched(f->db, REPO_UNKNOWN, "lacks columns of schema 6 (snapshot.identity)", 0);
        /* Schema 4 without one of its own columns. */
        unlink(f->db);
        make_schema4(f->db);
        sql(f->db, "ALTER TABLE snapshot DROP COLUMN tags");
        expect_untouched(f->db, REPO_UNKNOWN, "lacks columns of schema 4 (snapshot.tags)", 2);
}

/* What vmcloak's schema 2 made (before the firmware columns), with one row of it. */
static void make_schema2(const char *db) {
        load_fixture(db, "vmcloak-head.sql");
        sql(db, "ALTER TABLE image ADD COLUMN netmode VARCHAR(16); ALTER TABLE image ADD COLUMN dns VARCHAR(32); "
                "ALTER TABLE image ADD COLUMN created_at VARCHAR(32); "
                "ALTER TABLE snapshot ADD COLUMN created_at VARCHAR(32); PRAGMA user_version = 2; "
                "UPDATE image SET netmode = 'user', dns = '10.0.2.3' WHERE name = 'win10base'");
}

/* What vmcloak's schema 3 made (before the tags), with a UEFI row of it. */
static void make_schema3(const char *db) {
        make_schema2(db);
        sql(db, "ALTER TABLE image ADD COLUMN firmware VARCHAR(16); ALTER TABLE image ADD COLUMN secure_boot INTEGER; "
                "ALTER TABLE image ADD COLUMN tpm INTEGER; ALTER TABLE image ADD COLUMN os_build VARCHAR(32); "
                "ALTER TABLE image ADD COLUMN os_edition VARCHAR(64); ALTER TABLE image ADD COLUMN os_language "
                "VARCHAR(32); PRAGMA user_version = 3; "
                "UPDATE image SET firmware = 'uefi', tpm = 1, os_build = '19045' WHERE name = 'win10base'");
}

static void test_schema3_migrates_to_current(void **state) {
        struct fx *f = *state;
        make_schema3(f->db);
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_state(r), REPO_OLDER);
        assert_null(repo_problem(r));
        assert_int_equal(repo_schema_version(r), 3);
        assert_int_equal(repo_require_current(r), -EPROTO);
        assert_int_equal(repo_require_known(r), 0);
        /* Read as it is: no tags. */
        struct image *img;
        assert_int_equal(repo_image_get(r, "win10base", &img), 0);
        assert_null(img->tags);
        image_free(img);
        int from, to;
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(from, 3);
        assert_int_equal(to, 6);
        assert_int_equal(repo_state(r), REPO_CURRENT);
        assert_int_equal(repo_image_get(r, "win10base", &img), 0);
        assert_true(image_is_uefi(img));                 /* schema 3's values kept */
        assert_string_equal(img->os_build, "19045");
        assert_string_equal(img->netmode, "user");       /* and schema 2's */
        assert_null(img->tags);                          /* VMCloak's rows have none */
        /* The new column is written like any other. */
        img->tags = strdup("dotnet,office");
        assert_int_equal(repo_image_update(r, img), 0);
        image_free(img);
        struct snapshot **l;
        size_t n;
        assert_int_equal(repo_snapshot_list(r, -1, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_null(l[0]->tags);
        snapshot_list_free(l, n);
        repo_close(r);
        expect_sql(f->db, "SELECT version_num FROM alembic_version", REPO_ALEMBIC_HEAD); /* not set back */
        expect_sql(f->db, "SELECT tags FROM image WHERE name = 'win10base'", "dotnet,office");
        expect_sql(f->db, "SELECT count(*) FROM snapshot WHERE tags IS NULL", "2");
        expect_sql(f->db, "SELECT type FROM pragma_table_info('snapshot') WHERE name = 'tags'", "TEXT");
}

/* What vmcloak's schema 4 made (before the hardware columns), with its tags on one row. */
static void make_schema4(const char *db) {
        make_schema3(db);
        sql(db, "ALTER TABLE image ADD COLUMN tags TEXT; ALTER TABLE snapshot ADD COLUMN tags TEXT; "
                "PRAGMA user_version = 4; UPDATE image SET tags = 'office' WHERE name = 'win10base'");
}

/* Schema 4 -> 5: the cloaking columns come empty (no profile: QEMU's own machine, as before),
 * everything else stays; the rows then take them like any other column. */
static void test_schema4_migrates_to_5(void **state) {
        struct fx *f = *state;
        make_schema4(f->db);
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_state(r), REPO_OLDER);
        assert_null(repo_problem(r));
        assert_int_equal(repo_schema_version(r), 4);
        assert_int_equal(repo_require_current(r), -EPROTO);
        struct image *img;
        assert_int_equal(repo_image_get(r, "win10base", &img), 0);
        assert_null(img->hardware);
        image_free(img);
        int from, to;
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(from, 4);
        assert_int_equal(to, 6);
        assert_int_equal(repo_state(r), REPO_CURRENT);
        assert_int_equal(repo_image_get(r, "win10base", &img), 0);
        assert_string_equal(img->tags, "office");        /* schema 4's values kept */
        assert_true(image_is_uefi(img));
        assert_null(img->hardware);
        assert_null(img->identity);
        assert_null(img->cloakcheck);
        img->hardware = strdup("dell-optiplex-7050");
        img->identity = strdup("{\"profile\":\"dell-optiplex-7050\"}");
        assert_int_equal(repo_image_update(r, img), 0);
        image_free(img);
        struct snapshot *sg;
        assert_int_equal(repo_snapshot_get(r, "win10vm_1", &sg), 0);
        assert_null(sg->identity);
        assert_null(sg->cloakcheck);
        snapshot_free(sg);
        /* A second migrate has nothing to do. */
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(from, 6);
        repo_close(r);
        expect_sql(f->db, "SELECT version_num FROM alembic_version", REPO_ALEMBIC_HEAD); /* not set back */
        expect_sql(f->db, "SELECT hardware FROM image WHERE name = 'win10base'", "dell-optiplex-7050");
        expect_sql(f->db, "SELECT count(*) FROM image WHERE hardware IS NULL", "1");
        expect_sql(f->db, "SELECT count(*) FROM snapshot WHERE identity IS NULL AND cloakcheck IS NULL", "2");
        expect_sql(f->db, "SELECT group_concat(type) FROM pragma_table_info('image') WHERE name IN "
                          "('hardware','identity','cloakcheck')", "TEXT,TEXT,TEXT");
        expect_sql(f->db, "SELECT group_concat(type) FROM pragma_table_info('snapshot') WHERE name IN "
                          "('identity','cloakcheck')", "TEXT,TEXT");
        /* Schema 6's libvirt columns come empty: every VM of an older repository is a local one. */
        expect_sql(f->db, "SELECT count(*) FROM snapshot WHERE libvirt_uri IS NULL AND libvirt_pool IS NULL AND "
                          "libvirt_volume IS NULL AND libvirt_base IS NULL AND libvirt_snapshot IS NULL AND "
                          "libvirt_uuid IS NULL", "2");
}

/* Schema 5's columns through every row function: insert, get, list, update, and the
 * cloakcheck setters; a VMCloak-written row next to them reads as "no profile". */
static void test_cloak_columns_round_trip(void **state) {
        struct fx *f = *state;
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        struct image *a = new_image("dell", "192.168.30.2");
        a->hardware = strdup("dell-optiplex-7050");
        a->identity = strdup("{\"profile\":\"dell-optiplex-7050\",\"system_serial\":\"ABC1234\"}");
        assert_int_equal(repo_image_insert(r, a), 0);
        struct image *b = new_image("plain", "192.168.30.3");
        assert_int_equal(repo_image_insert(r, b), 0);
        struct snapshot s = { .image_id = a->id, .vmname = "vm1", .ipaddr = "192.168.30.10", .port = 8000,
                              .hostname = "abcdefgh", .mac = "f8:b1:56:00:00:02",
                              .identity = "{\"system_serial\":\"XYZ9876\"}" };
        assert_int_equal(repo_snapshot_insert(r, &s), 0);
        free(s.created_at);
        struct image **l;
        size_t n;
        assert_int_equal(repo_image_list(r, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(l[0]->name, "dell");
        assert_string_equal(l[0]->hardware, "dell-optiplex-7050");
        assert_non_null(strstr(l[0]->identity, "ABC1234"));
        assert_null(l[0]->cloakcheck);
        assert_null(l[1]->hardware);
        assert_null(l[1]->identity);
        image_list_free(l, n);
        assert_int_equal(repo_image_set_cloakcheck(r, "dell", "{\"hidden\":12}"), 0);
        assert_int_equal(repo_image_set_cloakcheck(r, "nope", "{}"), -ENOENT);
        assert_int_equal(repo_snapshot_set_cloakcheck(r, "vm1", "{\"hidden\":11}"), 0);
        assert_int_equal(repo_snapshot_set_cloakcheck(r, "vm9", "{}"), -ENOENT);
        struct image *g;
        assert_int_equal(repo_image_get(r, "dell", &g), 0);
        assert_string_equal(g->cloakcheck, "{\"hidden\":12}");
        assert_string_equal(g->hardware, "dell-optiplex-7050");   /* the setter touched only its column */
        /* An update of another column keeps them. */
        free(g->mode);
        g->mode = strdup("multiattach");
        assert_int_equal(repo_image_update(r, g), 0);
        image_free(g);
        struct snapshot *sg;
        assert_int_equal(repo_snapshot_get(r, "vm1", &sg), 0);
        assert_string_equal(sg->identity, "{\"system_serial\":\"XYZ9876\"}");
        assert_string_equal(sg->cloakcheck, "{\"hidden\":11}");
        assert_string_equal(sg->mac, "f8:b1:56:00:00:02");
        snapshot_free(sg);
        assert_int_equal(repo_snapshot_set_cloakcheck(r, "vm1", NULL), 0);
        assert_int_equal(repo_snapshot_get(r, "vm1", &sg), 0);
        assert_null(sg->cloakcheck);
        snapshot_free(sg);
        image_free(a);
        image_free(b);
        repo_close(r);
        expect_sql(f->db, "SELECT mode || ' ' || hardware || ' ' || cloakcheck FROM image WHERE name = 'dell'",
                   "multiattach dell-optiplex-7050 {\"hidden\":12}");
        /* A row VMCloak adds (it names only its own columns) has no profile. */
        sql(f->db, "INSERT INTO image (name, path, osversion, mode, vm) VALUES ('byvmcloak', '/x.qcow2', 'win10x64', "
                   "'normal', 'qemu')");
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_image_get(r, "byvmcloak", &g), 0);
        assert_null(g->hardware);
        assert_null(g->identity);
        image_free(g);
        repo_close(r);
}

/* Schema 4's tags, written and read back by vmcloak and by what VMCloak runs (its own SELECT
 * names its columns, so the new ones are no obstacle). */
static void test_tags_round_trip(void **state) {
        struct fx *f = *state;
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        struct image *a = new_image("office", "192.168.30.2");
        a->tags = strdup("office,pdfreader");
        assert_int_equal(repo_image_insert(r, a), 0);
        struct image *b = new_image("plain", "192.168.30.3");
        assert_int_equal(repo_image_insert(r, b), 0);
        struct snapshot s = { .image_id = a->id, .vmname = "vm1", .ipaddr = "192.168.30.10", .port = 8000,
                              .hostname = "abcdefgh", .mac = "00:19:3c:00:00:02", .tags = "lab,office,pdfreader" };
        assert_int_equal(repo_snapshot_insert(r, &s), 0);
        free(s.created_at);
        struct snapshot t = { .image_id = b->id, .vmname = "vm2", .ipaddr = "192.168.30.11", .port = 8000 };
        assert_int_equal(repo_snapshot_insert(r, &t), 0);
        free(t.created_at);
        struct image *got;
        assert_int_equal(repo_image_get(r, "office", &got), 0);
        assert_string_equal(got->tags, "office,pdfreader");
        free(got->tags);
        got->tags = strdup("dotnet,office,pdfreader");
        assert_int_equal(repo_image_update(r, got), 0);
        image_free(got);
        assert_int_equal(repo_image_get(r, "office", &got), 0);
        assert_string_equal(got->tags, "dotnet,office,pdfreader");
        image_free(got);
        assert_int_equal(repo_image_get(r, "plain", &got), 0);
        assert_null(got->tags);
        image_free(got);
        struct snapshot *sg;
        assert_int_equal(repo_snapshot_get(r, "vm1", &sg), 0);
        assert_string_equal(sg->tags, "lab,office,pdfreader");
        assert_string_equal(sg->image_name, "office");
        snapshot_free(sg);
        assert_int_equal(repo_snapshot_get(r, "vm2", &sg), 0);
        assert_null(sg->tags);
        snapshot_free(sg);
        image_free(a);
        image_free(b);
        repo_close(r);
        expect_sql(f->db, "SELECT image.name || ' ' || image.tags || ' ' || snapshot.tags FROM snapshot "
                                  "JOIN image ON image.id = snapshot.image_id WHERE snapshot.vmname = 'vm1'", "office dotnet,office,pdfreader lab,office,pdfreader");
        /* VMCloak names every column of its model when it reads and writes, so it reads these rows
         * and adds its own, which have no tags. */
        expect_sql(f->db, "SELECT vmname || ' ' || hostname FROM (SELECT id, image_id, vmname, ipaddr, port, "
                            "hostname, mac FROM snapshot) WHERE vmname = 'vm1'", "vm1 abcdefgh");
        sql(f->db, "INSERT INTO snapshot (image_id, vmname, ipaddr, port, hostname, mac) "
                   "VALUES (1, 'byvmcloak', '192.168.30.12', 8000, 'qwertyui', NULL)");
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_snapshot_get(r, "byvmcloak", &sg), 0);
        assert_null(sg->tags);
        snapshot_free(sg);
        repo_close(r);
}

static void test_schema2_opens_and_migrates_to_current(void **state) {
        struct fx *f = *state;
        make_schema2(f->db);
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_state(r), REPO_OLDER);
        assert_null(repo_problem(r));
        assert_int_equal(repo_schema_version(r), 2);
        assert_int_equal(repo_require_current(r), -EPROTO);   /* "run 'vmcloak migrate'" */
        assert_int_equal(repo_require_known(r), 0);
        /* Read as it is: no firmware facts, so BIOS. */
        struct image *img;
        assert_int_equal(repo_image_get(r, "win10base", &img), 0);
        assert_null(img->firmware);
        assert_false(image_is_uefi(img));
        assert_int_equal(img->tpm, 0);
        image_free(img);
        int from, to;
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(from, 2);
        assert_int_equal(to, REPO_SCHEMA_VERSION);
        assert_int_equal(repo_state(r), REPO_CURRENT);
        assert_int_equal(repo_image_get(r, "win10base", &img), 0);
        assert_string_equal(img->netmode, "user");       /* schema 2's values kept */
        assert_string_equal(img->dns, "10.0.2.3");
        assert_null(img->firmware);
        image_free(img);
        repo_close(r);
        expect_sql(f->db, "SELECT count(*) FROM pragma_table_info('image') WHERE name IN "
                          "('firmware','secure_boot','tpm','os_build','os_edition','os_language','tags',"
                          "'hardware','identity','cloakcheck')", "10");
        expect_sql(f->db, "SELECT version_num FROM alembic_version", REPO_ALEMBIC_HEAD); /* not set back */
        /* A second migrate has nothing to do. */
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(from, REPO_SCHEMA_VERSION);
        repo_close(r);
}

static void test_firmware_facts_round_trip(void **state) {
        struct fx *f = *state;
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        struct image *a = new_image("win11", "192.168.30.5");
        a->firmware = strdup("uefi");
        a->secure_boot = 1;
        a->tpm = 1;
        a->os_build = strdup("22631");
        a->os_edition = strdup("Professional");
        a->os_language = strdup("en-US");
        assert_int_equal(repo_image_insert(r, a), 0);
        struct image *b = new_image("win10", "192.168.30.6");
        assert_int_equal(repo_image_insert(r, b), 0);
        struct image *got;
        assert_int_equal(repo_image_get(r, "win11", &got), 0);
        assert_true(image_is_uefi(got));
        assert_int_equal(got->secure_boot, 1);
        assert_int_equal(got->tpm, 1);
        assert_string_equal(got->os_build, "22631");
        assert_string_equal(got->os_edition, "Professional");
        assert_string_equal(got->os_language, "en-US");
        /* An update writes what changed: TPM off (a --no-tpm image). */
        got->tpm = 0;
        assert_int_equal(repo_image_update(r, got), 0);
        image_free(got);
        assert_int_equal(repo_image_get(r, "win11", &got), 0);
        assert_int_equal(got->tpm, 0);
        assert_int_equal(got->secure_boot, 1);
        image_free(got);
        assert_int_equal(repo_image_get(r, "win10", &got), 0);
        assert_null(got->firmware);
        assert_null(got->os_build);
        image_free(got);
        image_free(a);
        image_free(b);
        repo_close(r);
        /* As stored: NULL firmware for a BIOS row that never said, 'uefi' for the other. */
        char *v = sql_text(f->db, "SELECT firmware || ',' || secure_boot || ',' || tpm FROM image WHERE name='win11'");
        assert_string_equal(v, "uefi,1,0");
        free(v);
}

static void test_not_a_repository(void **state) {
        struct fx *f = *state;
        sql(f->db, "CREATE TABLE notes (id INTEGER, text TEXT); INSERT INTO notes VALUES (1, 'mine')");
        size_t len0, len1;
        char *before = file_bytes(f->db, &len0);
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), -EPROTO);
        char *after = file_bytes(f->db, &len1);
        assert_int_equal(len0, len1);
        assert_memory_equal(before, after, len0);
        free(before);
        free(after);
}

static void test_pre_alembic_and_dev_stamp_migrate(void **state) {
        struct fx *f = *state;
        /* VMCloak before alembic: no alembic_version, no paravirtprovider. */
        load_fixture(f->db, "vmcloak-0.4.8.sql");
        sql(f->db, "DROP TABLE alembic_version; ALTER TABLE image DROP COLUMN paravirtprovider");
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_state(r), REPO_OLDER);
        int from, to;
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(from, 0);
        assert_int_equal(to, REPO_SCHEMA_VERSION);
        assert_int_equal(repo_state(r), REPO_CURRENT);
        repo_close(r);
        char *v = sql_text(f->db, "SELECT version_num FROM alembic_version");
        assert_string_equal(v, REPO_ALEMBIC_HEAD);
        free(v);
        v = sql_text(f->db, "SELECT paravirtprovider IS NULL FROM image");
        assert_string_equal(v, "1");
        free(v);
        /* VMCloak at commit 3ab6885 stamped 5a5957711538 before its model had the column. */
        unlink(f->db);
        load_fixture(f->db, "vmcloak-0.4.8.sql");
        sql(f->db, "ALTER TABLE image DROP COLUMN paravirtprovider");
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_state(r), REPO_OLDER);
        assert_int_equal(repo_migrate(r, &from, &to), 0);
        assert_int_equal(repo_state(r), REPO_CURRENT);
        repo_close(r);
}

static void test_reading_older_writes_nothing(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        size_t len0, len1;
        char *before = file_bytes(f->db, &len0);
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_state(r), REPO_OLDER);
        struct snapshot **l;
        size_t n;
        assert_int_equal(repo_snapshot_list(r, -1, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(l[0]->image_vm, "qemu");
        snapshot_list_free(l, n);
        repo_close(r);
        char *after = file_bytes(f->db, &len1);
        assert_int_equal(len0, len1);
        assert_memory_equal(before, after, len0);
        char *mode = sql_text(f->db, "PRAGMA journal_mode");
        assert_string_equal(mode, "delete"); /* WAL comes with migrate, not with a read */
        free(mode);
        free(before);
        free(after);
}

static void test_update_writes_only_changes(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        sql(f->db, "UPDATE image SET vramsize = NULL, port = 'default' WHERE name = 'win7base'");
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), 0);
        assert_int_equal(repo_migrate(r, NULL, NULL), 0);
        struct image *img;
        assert_int_equal(repo_image_get(r, "win7base", &img), 0);
        assert_int_equal(img->vramsize, 0);
        assert_int_equal(repo_image_update(r, img), 0); /* nothing changed: nothing written */
        free(img->mode);
        img->mode = strdup("multiattach");
        assert_int_equal(repo_image_update(r, img), 0);
        image_free(img);
        repo_close(r);
        char *v = sql_text(f->db, "SELECT mode || ' ' || typeof(vramsize) || ' ' || typeof(port) FROM image "
                                  "WHERE name = 'win7base'");
        assert_string_equal(v, "multiattach null text");
        free(v);
}

static void test_readonly_missing_and_empty(void **state) {
        struct fx *f = *state;
        struct repo *r = NULL;
        assert_int_equal(repo_open_readonly(f->db, &r), -EIO); /* missing: not created */
        assert_int_equal(access(f->db, F_OK), -1);
        assert_int_equal(write_file(f->db, "", 0, 0644), 0);
        assert_int_equal(repo_open_readonly(f->db, &r), -ENODATA); /* empty: no schema made */
        struct stat st;
        assert_int_equal(stat(f->db, &st), 0);
        assert_int_equal(st.st_size, 0);
}

/* A read-only open of a current (WAL) repository and of a VMCloak one: lists work, no byte of
 * the file changes, no journal mode is set, no -wal/-shm is left, writing fails. */
static void test_readonly_writes_nothing(void **state) {
        struct fx *f = *state;
        for (int pass = 0; pass < 2; pass++) {
                unlink(f->db);
                if (pass == 0) {
                        struct repo *w;
                        assert_int_equal(repo_open(f->db, &w), 0);
                        struct image *img = new_image("ro1", "192.168.30.5");
                        assert_int_equal(repo_image_insert(w, img), 0);
                        image_free(img);
                        repo_close(w);
                } else
                        load_fixture(f->db, "vmcloak-head.sql");
                size_t len0, len1;
                char *before = file_bytes(f->db, &len0);
                struct repo *r;
                assert_int_equal(repo_open_readonly(f->db, &r), 0);
                assert_int_equal(repo_state(r), pass == 0 ? REPO_CURRENT : REPO_OLDER);
                struct image **l;
                size_t n;
                assert_int_equal(repo_image_list(r, &l, &n), 0);
                assert_int_equal(n, pass == 0 ? 1 : 2);
                for (size_t i = 0; i < n; i++)
                        image_free(l[i]);
                free(l);
                struct image *img = new_image("ro2", "192.168.30.6");
                assert_true(repo_image_insert(r, img) < 0);
                image_free(img);
                repo_close(r);
                char *after = file_bytes(f->db, &len1);
                assert_int_equal(len0, len1);
                assert_memory_equal(before, after, len0);
                free(before);
                free(after);
                char *wal = strdup_printf("%s-wal", f->db), *shm = strdup_printf("%s-shm", f->db);
                assert_int_equal(access(wal, F_OK), -1);
                assert_int_equal(access(shm, F_OK), -1);
                free(wal);
                free(shm);
                char *mode = sql_text(f->db, "PRAGMA journal_mode");
                assert_string_equal(mode, pass == 0 ? "wal" : "delete");
                free(mode);
        }
}

/* Another process holds the lock (a migrate): the read-only open gives up with -EBUSY. */
static void test_readonly_busy(void **state) {
        struct fx *f = *state;
        load_fixture(f->db, "vmcloak-head.sql");
        sqlite3 *h;
        assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
        assert_int_equal(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
        struct repo *r = NULL;
        assert_int_equal(repo_open_readonly(f->db, &r), -EBUSY);
        assert_int_equal(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(h);
        assert_int_equal(repo_open_readonly(f->db, &r), 0);
        repo_close(r);
}

static void test_not_a_database(void **state) {
        struct fx *f = *state;
        assert_int_equal(write_file(f->db, "this is not sqlite, just text that is long enough to look like a header",
                                    72, 0644), 0);
        struct repo *r;
        assert_int_equal(repo_open(f->db, &r), -EIO);
}

static void test_installed(void **state) {
        (void)state;
        assert_false(installed_has(NULL, "a", NULL));
        assert_true(installed_has("a:1,b:", "b", ""));
        assert_true(installed_has("a:1,b:", "b", NULL));
        assert_false(installed_has("a:1,b:", "a", "2"));
        char *s = installed_add(NULL, "a", "1");
        assert_string_equal(s, "a:1");
        char *t = installed_add(s, "b", NULL);
        assert_string_equal(t, "a:1,b:");
        char *u = installed_add(t, "a", "1");
        assert_string_equal(u, "a:1,b:");
        free(s);
        free(t);
        free(u);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fresh_schema, setup, teardown),
                cmocka_unit_test_setup_teardown(test_image_crud, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_crud_and_used_ips, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vmcloak_head_db, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vmcloak_048_db, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_readonly_missing_and_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_readonly_writes_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_readonly_busy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_migrate_to_alembic_revision, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_revision, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_revision_on_schema_2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_newer_user_version, setup, teardown),
                cmocka_unit_test_setup_teardown(test_schema2_opens_and_migrates_to_current, setup, teardown),
                cmocka_unit_test_setup_teardown(test_schema3_migrates_to_current, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tags_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_schema4_migrates_to_5, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cloak_columns_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_firmware_facts_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_user_version_nobody_writes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_two_revisions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_column, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_table_view_trigger, setup, teardown),
                cmocka_unit_test_setup_teardown(test_index_is_no_schema_change, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_columns, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_repository, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pre_alembic_and_dev_stamp_migrate, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reading_older_writes_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_update_writes_only_changes, setup, teardown),
                cmocka_unit_test(test_installed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
