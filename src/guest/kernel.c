/* Getting a guest kernel: user paths, or the Debian package through apt into the cache. */
#include "guest/kernel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/proc.h"
#include "core/progress.h"
#include "core/util.h"
#include "guest/host.h"

#define DEBIAN_KERNEL_META "linux-image-amd64"

void guest_kernel_done(struct guest_kernel *k) {
        free(k->image);
        free(k->modules_dir);
        free(k->release);
        *k = (struct guest_kernel) { 0 };
}

int debian_kernel_package_parse(const char *out, char **ret) {
        if (!out)
                return -ENOENT;
        for (const char *line = out; *line; line = strchrnul(line, '\n'), line += *line == '\n') {
                const char *p = line + strspn(line, " \t|");
                const char *v = startswith(p, "Depends:");
                if (!v)
                        continue;
                v += strspn(v, " \t");
                /* The real image package: linux-image-<digit>...; not the -dbg or other metas. */
                const char *rest = startswith(v, "linux-image-");
                if (!rest || *rest < '0' || *rest > '9')
                        continue;
                size_t n = strcspn(v, " \t\n<>");
                char *name = strndup(v, n);
                if (!name)
                        return -ENOMEM;
                *ret = name;
                return 0;
        }
        return -ENOENT;
}

/* The one subdirectory of dir (a release name), or the one matching boot/vmlinuz-<name>. */
static int pick_release(const char *modules_parent, const char *boot_dir, char **ret) {
        DIR *d = opendir(modules_parent);
        if (!d)
                return -errno;
        _cleanup_(strv_freep) char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && strv_extend(&names, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        closedir(d);
        char *found = NULL;
        STRV_FOREACH(n, names) {
                _cleanup_free_ char *sub = path_join(modules_parent, *n);
                if (!sub || !is_dir(sub))
                        continue;
                if (boot_dir) {
                        _cleanup_free_ char *img = strdup_printf("%s/vmlinuz-%s", boot_dir, *n);
                        if (!img || !path_exists(img))
                                continue;
                }
                if (found) {
                        free(found);
                        return -ENOTUNIQ;
                }
                found = strdup(*n);
                if (!found)
                        return -ENOMEM;
        }
        if (!found)
                return -ENOENT;
        *ret = found;
        return 0;
}

int guest_kernel_from_root(const char *root, struct guest_kernel *ret) {
        _cleanup_free_ char *mods = path_join(root, "lib/modules");
        _cleanup_free_ char *boot = path_join(root, "boot");
        if (!mods || !boot)
                return -ENOMEM;
        _cleanup_free_ char *release = NULL;
        int r = pick_release(mods, boot, &release);
        if (r < 0)
                return r;
        struct guest_kernel k = {
                .image = strdup_printf("%s/vmlinuz-%s", boot, release),
                .modules_dir = path_join(mods, release),
                .release = TAKE_PTR(release),
        };
        if (!k.image || !k.modules_dir) {
                guest_kernel_done(&k);
                return -ENOMEM;
        }
        *ret = k;
        return 0;
}

/* --kernel PATH [--modules DIR]. DIR is lib/modules/<release> or lib/modules (one release). */
static int kernel_from_user(const char *kernel, const char *modules, struct guest_kernel *ret) {
        if (!kernel) {
                log_error("--modules needs --kernel PATH too (the kernel image those modules belong to)");
                return -EINVAL;
        }
        if (access(kernel, R_OK) < 0) {
                int e = -errno;
                return log_error_errno(e, "cannot read the kernel image %s given with --kernel: %m", kernel);
        }
        _cleanup_free_ char *mods = NULL;
        if (modules)
                mods = strdup(modules);
        else {
                /* An unpacked package: <root>/boot/vmlinuz-<r> beside <root>/lib/modules/<r>. */
                const char *b = strrchr(kernel, '/');
                const char *rel = startswith(b ? b + 1 : kernel, "vmlinuz-");
                _cleanup_free_ char *dir = path_dirname(kernel);
                if (!dir)
                        return log_oom();
                if (rel && !(mods = strdup_printf("%s/../lib/modules/%s", dir, rel)))
                        return log_oom();
                if (!mods || !is_dir(mods)) {
                        log_error("cannot tell where the modules of %s are: pass --modules DIR (its lib/modules/<release> "
                                  "directory)", kernel);
                        return -EINVAL;
                }
        }
        if (!mods)
                return log_oom();
        if (!is_dir(mods)) {
                log_error("--modules %s is not a directory: pass the kernel's lib/modules/<release> directory", mods);
                return -ENOTDIR;
        }
        _cleanup_free_ char *probe = path_join(mods, "kernel");
        if (!probe)
                return log_oom();
        _cleanup_free_ char *release = NULL, *dir = NULL;
        if (is_dir(probe)) {
                /* The release directory itself; its name is the release. */
                char real[4096];
                if (!realpath(mods, real))
                        return log_error_errno(-errno, "cannot resolve %s: %m", mods);
                const char *b = strrchr(real, '/');
                release = strdup(b ? b + 1 : real);
                dir = strdup(real);
        } else {
                int r = pick_release(mods, NULL, &release);
                if (r == -ENOMEM)
                        return log_oom();
                if (r == -ENOTUNIQ) {
                        log_error("--modules %s holds several kernel releases: pass the one matching --kernel "
                                  "(%s/<release>)", mods, mods);
                        return -EINVAL;
                }
                if (r < 0) {
                        log_error("--modules %s holds no kernel modules: pass the kernel's lib/modules/<release> "
                                  "directory", mods);
                        return -ENOENT;
                }
                dir = path_join(mods, release);
        }
        if (!release || !dir)
                return log_oom();
        *ret = (struct guest_kernel) { .image = strdup(kernel), .modules_dir = TAKE_PTR(dir), .release = TAKE_PTR(release) };
        if (!ret->image) {
                guest_kernel_done(ret);
                return log_oom();
        }
        return 0;
}

static int resolve_package(char **ret) {
        _cleanup_free_ char *tool = NULL;
        int r = host_find_tool("apt-cache", "apt", &tool);
        if (r < 0)
                return r;
        char *argv[] = { tool, (char *)"depends", (char *)DEBIAN_KERNEL_META, NULL };
        _cleanup_free_ char *out = NULL;
        r = proc_run(argv, NULL, &out, NULL);
        if (r < 0)
                return r;
        return debian_kernel_package_parse(out, ret);
}

/* The newest complete unpacked package in the cache, for when apt cannot answer. */
static int newest_cached(const char *base, char **ret) {
        DIR *d = opendir(base);
        if (!d)
                return -ENOENT;
        char *best = NULL;
        struct timespec best_t = { 0 };
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *mark = strdup_printf("%s/%s/.complete", base, de->d_name);
                struct stat st;
                if (!mark || stat(mark, &st) < 0)
                        continue;
                if (!best || st.st_mtim.tv_sec > best_t.tv_sec) {
                        free(best);
                        best = strdup(de->d_name);
                        best_t = st.st_mtim;
                }
        }
        closedir(d);
        if (!best)
                return -ENOENT;
        *ret = best;
        return 0;
}

static int download_and_unpack(const char *base, const char *pkg, const char *dest) {
        _cleanup_free_ char *apt = NULL, *dpkg = NULL;
        int r = host_find_tool("apt-get", "apt", &apt);
        if (r < 0)
                return r;
        r = host_find_tool("dpkg", "dpkg", &dpkg);
        if (r < 0)
                return r;
        _cleanup_free_ char *tmpl = strdup_printf("%s/.download.XXXXXX", base);
        if (!tmpl)
                return log_oom();
        if (!mkdtemp(tmpl))
                return log_error_errno(-errno, "cannot create a download folder in %s: %m", base);
        _cleanup_rm_rf_ char *tmp = TAKE_PTR(tmpl);   /* removed however this returns */
        struct progress pr;
        progress_begin(&pr, "Downloading the guest kernel");
        progress_update(&pr, 0, 0, pkg);
        char *dl[] = { apt, (char *)"download", (char *)"-q", (char *)pkg, NULL };
        _cleanup_free_ char *err = NULL;
        r = proc_run(dl, tmp, NULL, &err);
        if (r != 0) {
                progress_end(&pr, r == -ECANCELED ? "interrupted" : "failed");
                if (r == -ECANCELED)
                        return r;
                if (r < 0)
                        return log_error_errno(r, "cannot run apt-get download %s: %m", pkg);
                log_error("apt-get download %s failed (%s): check the Debian mirror in /etc/apt/sources.list, "
                          "run 'apt-get update', or pass --kernel PATH --modules DIR", pkg, strempty(err));
                return -EIO;
        }
        _cleanup_free_ char *deb = NULL;
        {
                DIR *d = opendir(tmp);
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (endswith(de->d_name, ".deb")) {
                                deb = path_join(tmp, de->d_name);
                                break;
                        }
                if (d)
                        closedir(d);
        }
        if (!deb) {
                progress_end(&pr, "failed");
                log_error("apt-get download %s left no .deb file in %s", pkg, tmp);
                return -EIO;
        }
        progress_update(&pr, 0, 0, "unpacking");
        _cleanup_free_ char *root = path_join(tmp, "root");
        if (!root) {
                progress_end(&pr, "failed");
                return log_oom();
        }
        char *x[] = { dpkg, (char *)"-x", deb, root, NULL };
        free(err);
        err = NULL;
        r = proc_run(x, NULL, NULL, &err);
        if (r != 0) {
                progress_end(&pr, r == -ECANCELED ? "interrupted" : "failed");
                if (r == -ECANCELED)
                        return r;
                if (r < 0)
                        return log_error_errno(r, "cannot run dpkg -x: %m");
                log_error("dpkg -x %s failed: %s", deb, strempty(err));
                return -EIO;
        }
        _cleanup_free_ char *mark = path_join(root, ".complete");
        r = mark ? write_file(mark, "", 0, 0644) : -ENOMEM;
        if (r == 0 && rename(root, dest) < 0)
                r = -errno;
        if (r < 0) {
                progress_end(&pr, "failed");
                return log_error_errno(r, "cannot store the unpacked kernel in %s: %m", dest);
        }
        progress_end(&pr, "done");
        return 0;
}

/* Downloads cut short by SIGKILL or a crash; we hold the cache lock, so none is running. */
static void remove_stale_downloads(const char *base) {
        DIR *d = opendir(base);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (startswith(de->d_name, ".download.")) {
                        _cleanup_free_ char *p = path_join(base, de->d_name);
                        if (p)
                                rm_rf(p);
                }
        closedir(d);
}

static int kernel_from_debian(const char *cache_dir, struct guest_kernel *ret) {
        if (isempty(cache_dir))
                return -EINVAL;
        _cleanup_free_ char *base = path_join(cache_dir, "linux-kernel");
        if (!base)
                return log_oom();
        int r = mkdir_p(base, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create the kernel cache %s: %m", base);
        /* Two inits at once must not unpack into the same place. */
        _cleanup_free_ char *lockp = path_join(base, ".lock");
        if (!lockp)
                return log_oom();
        _cleanup_close_ int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock < 0)
                return log_error_errno(-errno, "cannot open %s: %m", lockp);
        while (flock(lock, LOCK_EX) < 0)
                if (errno != EINTR)
                        return log_error_errno(-errno, "cannot lock %s: %m", lockp);

        remove_stale_downloads(base);

        _cleanup_free_ char *pkg = NULL;
        r = resolve_package(&pkg);
        if (r == -ENOMEM)
                return log_oom();
        if (r == -ECANCELED)
                return r;
        if (r < 0) {
                r = newest_cached(base, &pkg);
                if (r < 0) {
                        log_error("cannot find the Debian package %s (apt-cache knows no version of it): run "
                                  "'apt-get update' as root, or pass --kernel PATH --modules DIR", DEBIAN_KERNEL_META);
                        return -ENOENT;
                }
                log_warning("apt-cache cannot resolve %s; using the cached %s", DEBIAN_KERNEL_META, pkg);
        }
        _cleanup_free_ char *dest = path_join(base, pkg);
        _cleanup_free_ char *mark = dest ? path_join(dest, ".complete") : NULL;
        if (!mark)
                return log_oom();
        if (!path_exists(mark)) {
                rm_rf(dest);   /* an unpack that was cut short */
                r = download_and_unpack(base, pkg, dest);
                if (r < 0)
                        return r;
        } else
                log_debug("using the cached kernel package %s", dest);
        r = guest_kernel_from_root(dest, ret);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_error("the package %s in %s has no boot/vmlinuz-<release> with lib/modules/<release>: remove that "
                          "folder and try again, or pass --kernel PATH --modules DIR", pkg, dest);
                return r;
        }
        return 0;
}

int guest_kernel_get(const char *kernel, const char *modules, const char *cache_dir, struct guest_kernel *ret) {
        if (kernel || modules)
                return kernel_from_user(kernel, modules, ret);
        return kernel_from_debian(cache_dir, ret);
}
