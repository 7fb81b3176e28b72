/* Helpers shared by the command implementations. */
#include <stdio.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "core/log.h"

int cmd_not_implemented(const struct cmd_spec *spec, int argc, char **argv, const char *what) {
        struct args a;
        int r = args_parse(&a, spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        args_free(&a);
        log_error("'%s' is not implemented yet (%s); nothing was changed", spec->name, what);
        return EXIT_USAGE;
}
