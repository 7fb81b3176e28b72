/* Test program: init of the built-in linux guest through the real QEMU driver with a changed
 * install flow (press_key_s on its first phase), which no command line can ask for; for
 * tests/e2e/pipeline_stuck.sh. Usage: flow-drive HOME ISO NAME PRESS_KEY_S TIMEOUT_S. Exit 0
 * when the image was recorded, 1 when init failed, 2 on bad arguments. */
#include <stdio.h>
#include <stdlib.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "guest/profile.h"
#include "pipeline/init.h"
#include "qemu/driver.h"

extern const struct os_profile os_profile_linux;

int main(int argc, char **argv) {
        if (argc != 6)
                return 2;
        interrupt_install();
        log_set_level(LOG_LEVEL_INFO);
        if (paths_init(argv[1]) < 0 || paths_ensure() < 0)
                return 1;
        _cleanup_free_ char *db = paths_repository();
        struct repo *repo = NULL;
        if (!db || repo_open(db, &repo) < 0)
                return 1;
        /* The linux flow, its first phase pressing Enter for its first PRESS_KEY_S seconds. */
        struct os_profile prof = os_profile_linux;
        size_t n = prof.install.n_phases;
        struct install_phase *phases = calloc(n, sizeof *phases);
        if (!phases)
                return 1;
        for (size_t i = 0; i < n; i++)
                phases[i] = prof.install.phases[i];
        phases[0].press_key_s = (unsigned)atoi(argv[4]);
        prof.install = (struct install_flow){ phases, n };
        struct init_request req = {
                .name = argv[3], .adapter = "lnet", .profile = &prof, .iso = argv[2],
                .net = { .mode = IMAGE_NET_USER, .adapter = "lnet" },
                .port = 8000, .cpus = 1, .ram_mb = prof.default_ram_mb, .vram_mb = 16,
                .disk_bytes = prof.default_disk_bytes, .resolution = "1024x768",
                .vm = { .accel = VM_ACCEL_TCG, .timeout_s = (unsigned)atoi(argv[5]) },
        };
        struct pipeline pl = { .repo = repo, .driver = &qemu_driver };
        int r = pipeline_init(&pl, &req);
        pipeline_done(&pl);
        repo_close(repo);
        free(phases);
        return r < 0 ? 1 : 0;
}
