/* Test driver: prints an OS profile's guest command expanded with KEY=VALUE fields, so an
 * end-to-end test runs the very command vmcloak would send (cloak_wine.sh: set_identity;
 * memprep_wine.sh: shrink_memory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "guest/profile.h"

int main(int argc, char **argv) {
        if (argc < 3 || argc > 3 + 8) {
                fprintf(stderr, "usage: profile-cmd PROFILE set_identity|run_detector|shrink_memory [KEY=VALUE...]\n");
                return 2;
        }
        const struct os_profile *p = os_profile_find(argv[1]);
        if (!p) {
                fprintf(stderr, "profile-cmd: no OS profile %s\n", argv[1]);
                return 2;
        }
        const char *tmpl = streq(argv[2], "set_identity") ? p->cmd.set_identity :
                           streq(argv[2], "run_detector") ? p->cmd.run_detector :
                           streq(argv[2], "shrink_memory") ? p->cmd.shrink_memory : NULL;
        if (!tmpl) {
                fprintf(stderr, "profile-cmd: %s has no %s command\n", argv[1], argv[2]);
                return 2;
        }
        const char *keys[9] = { 0 }, *values[9] = { 0 };
        char *fields[8] = { 0 };
        for (int i = 3; i < argc; i++) {
                fields[i - 3] = strdup(argv[i]);
                char *eq = fields[i - 3] ? strchr(fields[i - 3], '=') : NULL;
                if (!eq) {
                        fprintf(stderr, "profile-cmd: %s is not KEY=VALUE\n", argv[i]);
                        return 2;
                }
                *eq = '\0';
                keys[i - 3] = fields[i - 3];
                values[i - 3] = eq + 1;
        }
        char *out = NULL;
        if (guest_template_expand(tmpl, keys, values, &out) < 0)
                return 1;
        puts(out);
        free(out);
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                free(fields[i]);
        return 0;
}
