/* Global options and lazily opened repository shared by the commands. */
#include "cmd/global.h"

#include <errno.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/progress.h"
#include "core/repo.h"
#include "core/util.h"
#include "libvirt/driver.h"
#include "qemu/driver.h"
#include "qemu/probe.h"

struct global global = { .argv0_name = "vmcloak" };
static struct repo *the_repo;
static struct pipeline the_pipeline;

int global_apply_option(const char *name, const char *value) {
        if (streq(name, "help"))
                return 1;
        if (streq(name, "debug")) {
                global.debug = true;
                log_set_level(LOG_LEVEL_DEBUG);
        } else if (streq(name, "quiet")) {
                global.quiet = true;
                log_set_level(LOG_LEVEL_WARNING);
                progress_set_enabled(false);
        } else if (streq(name, "json"))
                global.json = true;
        else if (streq(name, "no-color"))
                log_set_color(LOG_COLOR_NEVER);
        else if (streq(name, "home"))
                global.home = value;
        else if (streq(name, "qemu-binary")) {
                /* Checked here, so a wrong path fails before any work starts. */
                int r = qemu_set_binary(value);
                if (r < 0)
                        return r == -ECANCELED || r == -ENOMEM ? r : -EINVAL;
        } else
                return -EINVAL;
        return 0;
}

int global_home(void) {
        int r = paths_init(global.home);
        if (r < 0)
                return r;
        return paths_ensure();
}

int global_repo(struct repo **ret, bool write) {
        if (!the_repo) {
                int r = global_home();
                if (r < 0)
                        return r;
                _cleanup_free_ char *db = paths_repository();
                if (!db)
                        return log_oom();
                r = repo_open(db, &the_repo);
                if (r < 0)
                        return r;
        }
        if (write) {
                int r = repo_require_current(the_repo);
                if (r < 0)
                        return r;
        }
        *ret = the_repo;
        return 0;
}

int global_pipeline(struct pipeline **ret, bool write) {
        int r = global_repo(&the_pipeline.repo, write);
        if (r < 0)
                return r;
        if (!the_pipeline.driver)
                the_pipeline.driver = &qemu_driver;
        if (!the_pipeline.host_driver)   /* VMs on libvirt hosts: snapshot --connect, their delvm */
                the_pipeline.host_driver = &libvirt_driver;
        *ret = &the_pipeline;
        return 0;
}

void global_close(void) {
        pipeline_done(&the_pipeline);
        the_pipeline = (struct pipeline){ 0 };
        repo_close(the_repo);
        the_repo = NULL;
}
