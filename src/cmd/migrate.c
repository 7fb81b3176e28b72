/* vmcloak migrate: upgrade repository.db (VMCloak's alembic revisions, then vmcloak's own). */
#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/repo.h"
#include "core/util.h"

static const struct optdef opts[] = {
        { "revision", 0, ARG_VALUE, "REV", "head", "Target revision (only head is supported)" },
        { NULL },
};

static const struct cmd_spec spec = {
        "migrate", "[--revision head]", "Upgrade repository.db to the schema this vmcloak uses.",
        "The upgrade only adds columns, so VMCloak keeps reading the database.", opts, 0, 0,
};

int cmd_migrate(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        const char *rev = args_get_or(&a, "revision");
        if (!streq(rev, "head")) {
                log_error("unknown revision '%s' for --revision: only 'head' is supported", rev);
                args_free(&a);
                return EXIT_USAGE;
        }
        args_free(&a);
        struct repo *repo;
        if (global_repo(&repo, false) < 0)
                return 1;
        int from, to;
        r = repo_migrate(repo, &from, &to);
        if (r < 0)
                return 1;
        if (from == to)
                log_info("repository %s is already at the latest version (schema %d)", repo_path(repo), to);
        else
                log_info("repository %s migrated from schema %d to %d", repo_path(repo), from, to);
        return 0;
}
