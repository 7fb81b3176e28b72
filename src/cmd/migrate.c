/* vmcloak migrate: upgrade repository.db (VMCloak's alembic revisions, then vmcloak's own). */
#include <errno.h>
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "core/log.h"
#include "core/repo.h"
#include "core/util.h"

static const char *arg_revision;

static int check_revision(const struct args *a, const char *value, const char *what) {
        (void)a;
        if (!streq(value, "head") && repo_alembic_revision_index(value) < 0) {
                log_error("unknown revision '%s' for %s: use head or one of VMCloak's alembic revisions (%s)", value,
                          what, repo_alembic_revisions_text);
                return -EINVAL;
        }
        return 0;
}

static const struct optdef opts[] = {
        OPT_STRING(0, "revision", &arg_revision, "REV",
                   "Target: head (this vmcloak's schema) or a VMCloak alembic revision (34c908159434, "
                   "5a5957711538, f5b14c62e62c, d6c5bf858df1): up to it and no further",
                   .def_value = "head", .check = check_revision),
        { NULL },
};

static const struct cmd_spec spec = {
        "migrate", "[--revision REV]", "Upgrade repository.db to the schema this vmcloak uses.",
        "The upgrade only adds columns, so VMCloak keeps reading the database. A schema this\n"
        "vmcloak does not know (another alembic revision, a newer vmcloak's) is left as it is.\n"
        "--revision REV stops at VMCloak's alembic revision REV, as 'alembic upgrade REV' did; a\n"
        "repository already past REV is left as it is (no downgrade; exit 0, as VMCloak).", opts, 0, 0,
};

static int run(const struct cmd_env *env) {
        if (!streq(arg_revision, "head")) {
                const char *at = NULL;
                int r = repo_migrate_alembic(env->repo, arg_revision, &at);
                if (r < 0)
                        return 1;
                if (r == 1)
                        log_info("repository %s is already at revision %s", repo_path(env->repo), arg_revision);
                else if (r == 2)
                        log_info("repository %s is already past revision %s (at %s); nothing was changed "
                                 "(migrate does not downgrade)", repo_path(env->repo), arg_revision, at);
                else
                        log_info("repository %s migrated from alembic revision %s to %s ('vmcloak migrate' takes it "
                                 "on to this vmcloak's schema %d)", repo_path(env->repo), at, arg_revision,
                                 REPO_SCHEMA_VERSION);
                return 0;
        }
        int from, to;
        if (repo_migrate(env->repo, &from, &to) < 0)
                return 1;
        if (from == to)
                log_info("repository %s is already at the latest version (schema %d)", repo_path(env->repo), to);
        else
                log_info("repository %s migrated from schema %d to %d", repo_path(env->repo), from, to);
        return 0;
}

const struct cmd_def cmd_migrate = { .spec = &spec, .run = run };
