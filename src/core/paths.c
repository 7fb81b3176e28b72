/* Paths under the vmcloak home and the data directory. */
#include "core/paths.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

#ifndef VMCLOAK_DATADIR
#define VMCLOAK_DATADIR "/usr/local/share/vmcloak"
#endif
#ifndef VMCLOAK_BUILD_ROOT
#define VMCLOAK_BUILD_ROOT ""
#endif
#ifndef VMCLOAK_SOURCE_DATADIR
#define VMCLOAK_SOURCE_DATADIR ""
#endif

static char *home;
static char *datadir;

static void free_paths(void) {
        free(home);
        free(datadir);
}

int paths_init(const char *explicit_home) {
        static bool registered;
        if (!registered) {
                atexit(free_paths);
                registered = true;
        }
        const char *h = explicit_home;
        if (isempty(h))
                h = getenv("VMCLOAK_HOME");
        char *n;
        if (!isempty(h))
                n = strdup(h);
        else {
                const char *uh = getenv("HOME");
                if (isempty(uh)) {
                        struct passwd *pw = getpwuid(getuid());
                        uh = pw ? pw->pw_dir : NULL;
                }
                if (isempty(uh)) {
                        log_error("cannot find your home directory: set HOME, VMCLOAK_HOME or pass --home DIR");
                        return -ENOENT;
                }
                n = path_join(uh, ".vmcloak");
        }
        if (!n)
                return log_oom();
        /* Make it absolute: paths are stored in the repository. */
        if (n[0] != '/') {
                char cwd[PATH_MAX];
                if (!getcwd(cwd, sizeof cwd)) {
                        free(n);
                        return -errno;
                }
                char *a = path_join(cwd, n);
                free(n);
                if (!a)
                        return log_oom();
                n = a;
        }
        size_t l = strlen(n);
        while (l > 1 && n[l - 1] == '/')
                n[--l] = 0;
        free(home);
        home = n;
        return 0;
}

const char *paths_home(void) { return home; }

int paths_ensure(void) {
        int r = mkdir_p(home, 0700);
        if (r < 0)
                return log_error_errno(r, "cannot create the vmcloak home %s: %m (check its parent's permissions "
                                       "or pick another with --home)", home);
        static const char *const subdirs[] = { "image", "deps", "iso" };
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = path_join(home, subdirs[i]);
                if (!p)
                        return log_oom();
                r = mkdir_p(p, 0755);
                if (r < 0)
                        return log_error_errno(r, "cannot create %s: %m", p);
        }
        return 0;
}

char *paths_repository(void) { return path_join(home, "repository.db"); }
char *paths_image_dir(void) { return path_join(home, "image"); }
char *paths_image_disk(const char *name) { return strdup_printf("%s/image/%s.qcow2", home, name); }
char *paths_deps_dir(void) { return path_join(home, "deps"); }
char *paths_iso_dir(void) { return path_join(home, "iso"); }
char *paths_files_dir(void) { return path_join(home, "files"); }
char *paths_deps_d(void) { return path_join(home, "deps.d"); }
char *paths_hardware_d(void) { return path_join(home, "hardware.d"); }
char *paths_cache_dir(void) { return path_join(home, "cache"); }
char *paths_vms_dir(void) { return path_join(home, "vms/qemu"); }
char *paths_vm_dir(const char *vmname) { return strdup_printf("%s/vms/qemu/%s", home, vmname); }
char *paths_libvirt_vm_dir(const char *vmname) { return strdup_printf("%s/vms/libvirt/%s", home, vmname); }
char *paths_log_dir(void) { return path_join(home, "log"); }

char *paths_fleet_dir(void) { return path_join(home, "fleet"); }

char *paths_image_log_dir(const char *image) { return strdup_printf("%s/log/%s", home, image); }

static bool running_from_build_tree(void) {
        if (!*VMCLOAK_BUILD_ROOT)
                return false;
        char self[PATH_MAX];
        ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k <= 0)
                return false;
        self[k] = 0;
        return startswith(self, VMCLOAK_BUILD_ROOT) != NULL;
}

const char *paths_datadir(void) {
        if (datadir)
                return datadir;
        const char *e = getenv("VMCLOAK_DATADIR");
        datadir = strdup(!isempty(e) ? e : VMCLOAK_DATADIR);
        return datadir;
}

char *paths_data_file(const char *relative) {
        const char *e = getenv("VMCLOAK_DATADIR");
        if (isempty(e) && running_from_build_tree()) {
                /* Built files (agent binaries) sit in the build tree, the rest in the source data/. */
                const char *const roots[] = { VMCLOAK_BUILD_ROOT, VMCLOAK_SOURCE_DATADIR };
                for (size_t i = 0; i < ELEMENTSOF(roots); i++) {
                        char *p = path_join(roots[i], relative);
                        if (!p || path_exists(p))
                                return p;
                        free(p);
                }
        }
        /* $VMCLOAK_DATADIR as it is now, not paths_datadir()'s first answer: the unit tests set
         * it to a folder laid out as the installed one when no build path is compiled in
         * (dev_paths=false), and some point it elsewhere for a case. */
        return path_join(!isempty(e) ? e : VMCLOAK_DATADIR, relative);
}
