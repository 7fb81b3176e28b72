/* vmcloak __complete: the image, VM, dependency and hardware names the shell completions offer. */
#include <stdio.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/jsonout.h"
#include "core/cleanup.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"

/* Images (images), snapshot VMs (vms) or both (names) of the repository, if there is one:
 * a missing repository.db is not created (a completion must not make ~/.vmcloak), and it is
 * opened read-only (a Tab press writes nothing: no schema, no WAL) with a short busy timeout
 * (a migrate holding the lock makes it print nothing, not hang). bridged_only: only the images
 * on a bridge (what vmcloak internet can give a route). */
static int print_repo_names(bool images, bool vms, bool bridged_only) {
        if (paths_init(global.home) < 0)
                return 0;
        _cleanup_free_ char *db = paths_repository();
        if (!db || access(db, R_OK) < 0)
                return 0;
        struct repo *repo = NULL;
        if (repo_open_readonly(db, &repo) < 0)
                return 0;
        if (images) {
                struct image **l = NULL;
                size_t n = 0;
                if (repo_image_list(repo, &l, &n) == 0) {
                        for (size_t i = 0; i < n; i++) {
                                if (!bridged_only || streq_ptr(image_netmode_shown(l[i]), "bridge"))
                                        printf("%s\n", l[i]->name);
                                image_free(l[i]);
                        }
                        free(l);
                }
        }
        if (vms) {
                struct snapshot **l = NULL;
                size_t n = 0;
                if (repo_snapshot_list(repo, -1, &l, &n) == 0) {
                        for (size_t i = 0; i < n; i++) {
                                printf("%s\n", l[i]->vmname);
                                snapshot_free(l[i]);
                        }
                        free(l);
                }
        }
        repo_close(repo);
        return 0;
}

int cmd_complete_main(int argc, char **argv) {
        if (argc != 2)
                return EXIT_USAGE;
        /* A completion prints names or nothing: no warning may land on the user's command line. */
        if (!freopen("/dev/null", "w", stderr))
                return 1;
        global.json = false;
        const char *what = argv[1];
        if (streq(what, "images") || streq(what, "vms") || streq(what, "names") || streq(what, "bridged"))
                return print_repo_names(!streq(what, "vms"), streq(what, "vms") || streq(what, "names"),
                                        streq(what, "bridged"));
        if (streq(what, "deps") || streq(what, "hardware")) {
                if (paths_init(global.home) < 0)
                        return 0;
                return streq(what, "deps") ? exit_code_for(cmd_list_deps(true, NULL, false))
                                           : exit_code_for(cmd_list_hardware(true, NULL));
        }
        return EXIT_USAGE;
}
