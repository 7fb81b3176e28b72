/* Host tools: lookup with a useful message, and shared-library closure via ldd. */
#include "guest/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/proc.h"
#include "core/util.h"

int host_find_tool(const char *name, const char *package, char **ret) {
        char *p = find_program(name);
        static const char *const extra[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
        for (size_t i = 0; !p && i < ELEMENTSOF(extra); i++) {
                p = path_join(extra[i], name);
                if (p && access(p, X_OK) < 0) {
                        free(p);
                        p = NULL;
                }
        }
        if (!p) {
                log_error("%s not found: install the Debian package %s (apt-get install %s)", name, package, package);
                return -ENOENT;
        }
        *ret = p;
        return 0;
}

int host_require_file(const char *path, const char *package) {
        if (access(path, R_OK) < 0) {
                int e = errno;
                log_error("%s is missing: install the Debian package %s (apt-get install %s)", path, package, package);
                return -e;
        }
        return 0;
}

int host_shared_libs(const char *program, char ***ret) {
        _cleanup_free_ char *out = NULL, *err = NULL;
        char *argv[] = { (char *)"ldd", (char *)program, NULL };
        int r = proc_run(argv, NULL, &out, &err);
        if (r == -ECANCELED)
                return r;
        if (r < 0)
                return log_error_errno(r, "cannot run ldd on %s: %m", program);
        _cleanup_(strv_freep) char **libs = NULL;
        if (r != 0) {
                /* ldd fails for static programs ("not a dynamic executable"): nothing to copy. */
                if (strstr(out, "not a dynamic executable") || strstr(err, "not a dynamic executable")) {
                        *ret = NULL;
                        return 0;
                }
                log_error("ldd %s failed: %s", program, strempty(err));
                return -EIO;
        }
        char *save = NULL;
        for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "\t/lib64/ld-linux-x86-64.so.2 (0x...)" */
                char *arrow = strstr(line, "=> ");
                char *p = arrow ? arrow + 3 : line;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p != '/') {
                        if (strstr(line, "not found")) {
                                log_error("ldd %s: %s", program, line);
                                return -ENOENT;
                        }
                        continue;   /* linux-vdso.so.1 has no file */
                }
                char *sp = strchr(p, ' ');
                if (sp)
                        *sp = 0;
                if (!strv_contains(libs, p) && strv_extend(&libs, p) < 0)
                        return log_oom();
        }
        *ret = TAKE_PTR(libs);
        return 0;
}
