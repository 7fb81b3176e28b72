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
        if (!streq(value, "head")) {
                log_error("unknown revision '%s' for %s: only 'head' is supported", value, what);
                return -EINVAL;
        }
        return 0;
}

static const struct optdef opts[] = {
        OPT_STRING(0, "revision", &arg_revision, "REV", "Target revision (only head is supported)",
                   .def_value = "head", .check = check_revision),
        { NULL },
};

static const struct cmd_spec spec = {
        "migrate", "[--revision head]", "Upgrade repository.db to the schema this vmcloak uses.",
        "The upgrade only adds columns, so VMCloak keeps reading the database. A schema this\n"
        "vmcloak does not know (another alembic revision, a newer vmcloak's) is left as it is.", opts, 0, 0,
};

static int run(const struct cmd_env *env) {
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
