/* Helpers shared by the command implementations. */
#include "cmd/args.h"
#include "cmd/cmd.h"
#include "core/log.h"

int cmd_not_implemented(const struct cmd_env *env, const char *what) {
        const char *name = env->args->spec->name;
        log_error("'%s' is not implemented yet (%s); nothing was changed", name, what);
        return EXIT_USAGE;
}
