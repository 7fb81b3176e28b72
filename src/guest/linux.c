/* The linux OS profile: its defaults and guest commands, and the installer ISO it builds
 * (isolinux -> kernel + installer initramfs; the installed system's root filesystem as a
 * cpio archive; the answer file), with the installer's kernel uncompressed for a direct boot.
 * The guest-side scripts live in data/linux/. */
#include "guest/linux.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/proc.h"
#include "core/progress.h"
#include "core/random.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/answer.h"
#include "guest/cpio.h"
#include "guest/elf.h"
#include "guest/host.h"
#include "guest/iso.h"
#include "guest/kernel.h"
#include "guest/kmod.h"
#include "guest/vmlinux.h"

#define ISOLINUX_BIN "/usr/lib/ISOLINUX/isolinux.bin"
#define LDLINUX_C32 "/usr/lib/syslinux/modules/bios/ldlinux.c32"
#define MBR_BIN "/usr/lib/syslinux/mbr/mbr.bin"
#define MKE2FS_CONF "/etc/mke2fs.conf"
#define GUEST_AGENT_PATH "usr/bin/vmcloak-agent"
/* Where the installer script finds e2fsprogs' mke2fs and extlinux. Debian's static BusyBox
 * runs its own applets before anything in PATH, so the script calls these by full path. */
#define INSTALLER_MKE2FS "usr/sbin/mke2fs"
#define INSTALLER_EXTLINUX "usr/bin/extlinux"

static bool hostname_ok(const char *h) {
        size_t l = strlen(h);
        if (l == 0 || l > 63 || h[0] == '-' || h[l - 1] == '-')
                return false;
        for (const char *p = h; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return true;
}

static bool username_ok(const char *u) {
        size_t l = strlen(u);
        if (l == 0 || l > 32 || !((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_'))
                return false;
        for (const char *p = u; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                        return false;
        return true;
}

int linux_answers_render(const struct install_params *p, const char *release, char **ret) {
        uint32_t ip, gw, a;
        if (isempty(p->ip) || parse_ipv4(p->ip, &ip) < 0) {
                log_error("the linux guest needs a valid IPv4 address (got '%s')", strempty(p->ip));
                return -EINVAL;
        }
        unsigned prefix = p->prefix;
        if (!isempty(p->netmask)) {
                unsigned mp;
                if (netmask_to_prefix(p->netmask, &mp) < 0) {
                        log_error("invalid netmask '%s'", p->netmask);
                        return -EINVAL;
                }
                if (prefix != 0 && prefix != mp) {
                        log_error("netmask %s and prefix /%u disagree", p->netmask, prefix);
                        return -EINVAL;
                }
                prefix = mp;
        }
        if (prefix < 1 || prefix > 30) {
                log_error("the guest network needs a prefix between /1 and /30 (got /%u)", prefix);
                return -EINVAL;
        }
        if (isempty(p->gateway) || parse_ipv4(p->gateway, &gw) < 0) {
                log_error("the linux guest needs a valid gateway address (got '%s')", strempty(p->gateway));
                return -EINVAL;
        }
        struct ipv4_net net = { .addr = ip, .prefix = prefix };
        if (!ipv4_in_net(&net, gw)) {
                log_error("gateway %s is not in the guest's network %s/%u", p->gateway, p->ip, prefix);
                return -EINVAL;
        }
        if (ip == ipv4_network(&net) || ip == ipv4_broadcast(&net) || ip == gw) {
                log_error("%s cannot be the guest's address in %s/%u (network, broadcast or gateway address)", p->ip,
                          p->ip, prefix);
                return -EINVAL;
        }
        const char *dns[] = { p->dns, p->dns2 };
        for (size_t i = 0; i < ELEMENTSOF(dns); i++)
                if (!isempty(dns[i]) && parse_ipv4(dns[i], &a) < 0) {
                        log_error("invalid DNS server address '%s'", dns[i]);
                        return -EINVAL;
                }
        _cleanup_free_ char *random_host = NULL;
        const char *hostname = p->hostname;
        if (isempty(hostname)) {
                random_host = random_string(6, 10);
                if (!random_host)
                        return log_oom();
                for (char *c = random_host; *c; c++)
                        if (*c >= 'A' && *c <= 'Z')
                                *c = (char)(*c - 'A' + 'a');
                hostname = random_host;
        }
        if (!hostname_ok(hostname)) {
                log_error("invalid host name '%s': use letters, digits and inner hyphens, at most 63", hostname);
                return -EINVAL;
        }
        if (!isempty(p->user) && !username_ok(p->user)) {
                log_error("invalid user name '%s': lower-case letters, digits, '_' and '-', starting with a letter",
                          p->user);
                return -EINVAL;
        }
        char netmask[16], prefix_s[8], port_s[8];
        format_ipv4(ipv4_netmask(prefix), netmask);
        snprintf(prefix_s, sizeof prefix_s, "%u", prefix);
        snprintf(port_s, sizeof port_s, "%u", p->agent_port ? p->agent_port : 8000u);
        const char *keys[] = { "VMCLOAK_NAME", "VMCLOAK_HOSTNAME", "VMCLOAK_IP", "VMCLOAK_PREFIX", "VMCLOAK_NETMASK",
                               "VMCLOAK_GATEWAY", "VMCLOAK_DNS", "VMCLOAK_DNS2", "VMCLOAK_AGENT_PORT", "VMCLOAK_USER",
                               "VMCLOAK_DISK", "VMCLOAK_KERNEL", NULL };
        const char *values[] = { p->name, hostname, p->ip, prefix_s, netmask, p->gateway, p->dns, p->dns2, port_s,
                                 p->user, LINUX_GUEST_DISK, release, NULL };
        return answer_file_render(keys, values, ret);
}

int linux_agent_path(char **ret) {
        const char *env = getenv(LINUX_AGENT_ENV);
        _cleanup_free_ char *path = !isempty(env) ? strdup(env) : paths_data_file("agent/vmcloak-agent");
        if (!path)
                return log_oom();
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
                log_error("the guest agent %s is missing: build vmcloak with its agent (ninja -C build), or set %s="
                          "/path/to/a-static-agent", path, LINUX_AGENT_ENV);
                return -ENOENT;
        }
        if (access(path, X_OK) < 0) {
                log_error("the guest agent %s is not executable (chmod +x it)", path);
                return -EACCES;
        }
        int r = elf_needs_interpreter(path);
        if (r < 0)
                return log_error_errno(r, "cannot read the guest agent %s: %m", path);
        if (r > 0) {
                log_error("the guest agent %s is dynamically linked; the linux guest has no C library: link it "
                          "statically (-static)", path);
                return -ENOEXEC;
        }
        *ret = TAKE_PTR(path);
        return 0;
}

/* Everything the media are assembled from, found (or reported missing) up front. */
struct sources {
        struct guest_kernel kernel;
        char *busybox, *mke2fs, *extlinux, *depmod, *agent;
        char **busybox_applets;   /* "bin/sh", "sbin/modprobe", ... */
        char **mke2fs_libs, **extlinux_libs;
        char **judges, **judges_libs;   /* the cloak detector's judges: host paths = guest paths */
        char **mods_install, **mods_boot, **mods_system;
        int64_t mtime;
};

static void sources_done(struct sources *s) {
        guest_kernel_done(&s->kernel);
        free(s->busybox);
        free(s->mke2fs);
        free(s->extlinux);
        free(s->depmod);
        free(s->agent);
        strv_free(s->busybox_applets);
        strv_free(s->mke2fs_libs);
        strv_free(s->extlinux_libs);
        strv_free(s->judges);
        strv_free(s->judges_libs);
        strv_free(s->mods_install);
        strv_free(s->mods_boot);
        strv_free(s->mods_system);
}

static int data_path(const char *name, char **ret) {
        _cleanup_free_ char *rel = path_join("linux", name);
        char *p = rel ? paths_data_file(rel) : NULL;
        if (!p)
                return log_oom();
        if (access(p, R_OK) < 0) {
                int e = -errno;
                log_error("vmcloak's data file %s is missing (set VMCLOAK_DATADIR or reinstall vmcloak)", p);
                free(p);
                return e;
        }
        *ret = p;
        return 0;
}

static int read_data(const char *name, char **ret) {
        _cleanup_free_ char *p = NULL;
        int r = data_path(name, &p);
        if (r < 0)
                return r;
        r = read_full_file(p, ret, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot read %s: %m", p);
        return 0;
}

static int busybox_applets(const char *busybox, char ***ret) {
        char *argv[] = { (char *)busybox, (char *)"--list-full", NULL };
        _cleanup_free_ char *out = NULL;
        int r = proc_run(argv, NULL, &out, NULL);
        if (r == -ECANCELED)
                return r;
        if (r != 0) {
                log_error("%s --list-full failed: install the Debian package busybox-static", busybox);
                return r < 0 ? r : -EIO;
        }
        _cleanup_(strv_freep) char **l = NULL;
        char *save = NULL;
        for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                while (*line == '/')
                        line++;
                if (!*line || streq(line, "bin/busybox") || strstr(line, ".."))
                        continue;
                if (strv_extend(&l, line) < 0)
                        return log_oom();
        }
        if (!strv_contains(l, "bin/sh") || !strv_contains(l, "sbin/modprobe")) {
                log_error("%s lacks sh or modprobe: install the Debian package busybox-static", busybox);
                return -ENOENT;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int module_list(const char *name, char ***ret) {
        _cleanup_free_ char *p = NULL;
        int r = data_path(name, &p);
        if (r < 0)
                return r;
        r = kmod_read_list(p, ret);
        if (r < 0)
                return log_error_errno(r, "cannot read %s: %m", p);
        return 0;
}

/* The judges the cloak detector (data/cloak/detect-linux.sh) runs when the guest has them:
 * virt-what (a sh script that runs under BusyBox sh, its CPUID helper and dmidecode) and
 * systemd-detect-virt, each group copied with its shared libraries where the host has all of
 * it; else the guest goes without and the detector reports the judge skipped. */
static const char *const judge_groups[][4] = {
        { "/usr/sbin/virt-what", "/usr/libexec/virt-what-cpuid-helper", "/usr/sbin/dmidecode", NULL },
        { "/usr/bin/systemd-detect-virt", NULL },
};

static int gather_judges(struct sources *s) {
        for (size_t g = 0; g < ELEMENTSOF(judge_groups); g++) {
                bool all = true;
                for (const char *const *p = judge_groups[g]; *p; p++)
                        all = all && access(*p, X_OK) == 0;
                if (!all) {
                        log_debug("%s is not on this host (Debian packages virt-what, dmidecode, systemd): the linux "
                                  "guest goes without it", judge_groups[g][0]);
                        continue;
                }
                for (const char *const *p = judge_groups[g]; *p; p++) {
                        _cleanup_(strv_freep) char **libs = NULL;
                        int r = host_shared_libs(*p, &libs);
                        if (r < 0)
                                return r;
                        if (strv_extend(&s->judges, *p) < 0)
                                return log_oom();
                        STRV_FOREACH(l, libs)
                                if (!strv_contains(s->judges_libs, *l) && strv_extend(&s->judges_libs, *l) < 0)
                                        return log_oom();
                }
        }
        return 0;
}

static int gather_sources(const struct install_params *p, struct sources *s) {
        /* Everything local first, so a missing tool is reported before a kernel download. */
        s->busybox = strdup("/bin/busybox");   /* busybox-static's; a dynamic one will not do */
        if (!s->busybox)
                return log_oom();
        int r = host_require_file(s->busybox, "busybox-static");
        if (r < 0)
                return r;
        if (elf_needs_interpreter(s->busybox) != 0) {
                log_error("%s is not statically linked: install the Debian package busybox-static", s->busybox);
                return -ENOEXEC;
        }
        if ((r = host_find_tool("mke2fs", "e2fsprogs", &s->mke2fs)) < 0 ||
            (r = host_find_tool("extlinux", "extlinux", &s->extlinux)) < 0 ||
            (r = host_find_tool("depmod", "kmod", &s->depmod)) < 0 ||
            (r = host_require_file(ISOLINUX_BIN, "isolinux")) < 0 ||
            (r = host_require_file(LDLINUX_C32, "syslinux-common")) < 0 ||
            (r = host_require_file(MBR_BIN, "syslinux-common")) < 0 ||
            (r = host_require_file(MKE2FS_CONF, "e2fsprogs")) < 0)
                return r;
        if ((r = host_shared_libs(s->mke2fs, &s->mke2fs_libs)) < 0 ||
            (r = host_shared_libs(s->extlinux, &s->extlinux_libs)) < 0)
                return r;
        if ((r = busybox_applets(s->busybox, &s->busybox_applets)) < 0)
                return r;
        if ((r = gather_judges(s)) < 0)
                return r;
        if ((r = linux_agent_path(&s->agent)) < 0)
                return r;
        if ((r = module_list("modules-install.list", &s->mods_install)) < 0 ||
            (r = module_list("modules-boot.list", &s->mods_boot)) < 0 ||
            (r = module_list("modules-system.list", &s->mods_system)) < 0)
                return r;
        r = guest_kernel_get(p->kernel, p->modules, p->cache_dir, &s->kernel);
        if (r < 0)
                return r;
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        s->mtime = !isempty(sde) ? strtoll(sde, NULL, 10) : (int64_t)time(NULL);
        return 0;
}

/* The modules of a list that were staged as files: what the guest modprobes at start. */
static char *modules_file(char *const *wanted, char *const *loadable) {
        _cleanup_(strv_freep) char **l = NULL;
        STRV_FOREACH(w, wanted)
                if (strv_contains(loadable, *w) && strv_extend(&l, *w) < 0)
                        return NULL;
        _cleanup_free_ char *j = strv_join(l, "\n");
        return j ? strdup_printf("%s%s", j, l ? "\n" : "") : NULL;
}

static bool basename_in(const char *path, char *const *programs) {
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        STRV_FOREACH(p, programs) {
                const char *pb = strrchr(*p, '/');
                if (streq(b, pb ? pb + 1 : *p))
                        return true;
        }
        return false;
}

/* Device nodes, the base folders and BusyBox with its applet links, except the applets that
 * the real programs in `shadowed` replace (BusyBox's mke2fs cannot make ext4). */
static int add_common(struct cpio_writer *w, const struct sources *s, char *const *shadowed) {
        int r;
        if ((r = cpio_add_dir(w, "dev", 0755)) < 0 || (r = cpio_add_node(w, "dev/console", S_IFCHR | 0600, 5, 1)) < 0 ||
            (r = cpio_add_node(w, "dev/null", S_IFCHR | 0666, 1, 3)) < 0 || (r = cpio_add_dir(w, "proc", 0555)) < 0 ||
            (r = cpio_add_dir(w, "sys", 0555)) < 0 || (r = cpio_add_dir(w, "tmp", 01777)) < 0 ||
            (r = cpio_add_dir(w, "etc/vmcloak", 0755)) < 0)
                return r;
        if ((r = cpio_add_file(w, "bin/busybox", 0755, s->busybox)) < 0)
                return r;
        STRV_FOREACH(a, s->busybox_applets)
                if (!basename_in(*a, shadowed) && (r = cpio_add_symlink(w, *a, "/bin/busybox")) < 0)
                        return r;
        return 0;
}

static int add_data_file(struct cpio_writer *w, const char *archive_path, mode_t mode, const char *data_name) {
        _cleanup_free_ char *p = NULL;
        int r = data_path(data_name, &p);
        if (r < 0)
                return r;
        return cpio_add_file(w, archive_path, mode, p);
}

/* A host program at a fixed path, with the shared libraries it loads (at their own paths,
 * where its loader looks). */
static int add_program(struct cpio_writer *w, const char *archive_path, const char *path, char *const *libs) {
        int r = cpio_add_file(w, archive_path, 0755, path);
        if (r < 0)
                return r;
        STRV_FOREACH(l, libs) {
                r = cpio_add_file(w, *l, 0755, *l);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        return 0;
}

static int add_text(struct cpio_writer *w, const char *path, mode_t mode, const char *text) {
        return cpio_add_data(w, path, mode, text, strlen(text));
}

/* Render a data/linux template with the release and a kernel command line. */
/* A kernel command line data file's first line. */
static int read_cmdline(const char *name, char **ret) {
        int r = read_data(name, ret);
        if (r >= 0)
                (*ret)[strcspn(*ret, "\n")] = 0;
        return r;
}

static int render_config(const char *name, const char *release, const char *cmdline_name, char **ret) {
        _cleanup_free_ char *tmpl = NULL, *cmdline = NULL;
        int r = read_data(name, &tmpl);
        if (r < 0)
                return r;
        r = read_cmdline(cmdline_name, &cmdline);
        if (r < 0)
                return r;
        const char *keys[] = { "release", "cmdline", NULL };
        const char *values[] = { release, cmdline, NULL };
        return guest_template_expand(tmpl, keys, values, ret);
}

/* Compress a file in place with zstd. The bootloaders read initramfs images through the BIOS,
 * which is slow under TCG (~2.5 MB/s); the kernel unpacks zstd in a fraction of that time.
 * Level 9 gets within 10% of level 19 at a tenth of the host's time. */
static int zstd_in_place(const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_full_file(path, &data, &len);
        if (r < 0)
                return r;
        size_t cap = ZSTD_compressBound(len);
        _cleanup_free_ char *out = malloc(cap);
        if (!out)
                return -ENOMEM;
        size_t n = ZSTD_compress(out, cap, data, len, 9);
        if (ZSTD_isError(n)) {
                log_error("zstd cannot compress %s: %s", path, ZSTD_getErrorName(n));
                return -EIO;
        }
        return write_file_atomic(path, out, n, 0644);
}

typedef int (*fill_fn)(struct cpio_writer *w, const struct sources *s, const void *ctx);

static int write_cpio(const char *path, const struct sources *s, fill_fn fill, const void *ctx, bool compress) {
        struct cpio_writer *w = NULL;
        int r = cpio_writer_open(path, s->mtime, &w);
        if (r < 0)
                return log_error_errno(r, "cannot create %s: %m", path);
        r = fill(w, s, ctx);
        if (r < 0) {
                cpio_writer_free(w);
                unlink(path);
                if (r == -ECANCELED)
                        return r;
                return log_error_errno(r, "cannot write %s: %m", path);
        }
        r = cpio_writer_finish(w);
        if (r >= 0 && compress)
                r = zstd_in_place(path);
        if (r < 0)
                return log_error_errno(r, "cannot write %s: %m", path);
        return 0;
}

struct initrd_ctx {
        const char *init;          /* data file that becomes /init */
        const char *modules_root;  /* staged tree holding lib/modules */
        const char *modules_text;  /* /etc/vmcloak/modules */
        bool installer;
};

static int fill_initrd(struct cpio_writer *w, const struct sources *s, const void *vctx) {
        const struct initrd_ctx *c = vctx;
        int r;
        char *const programs[] = { s->mke2fs, s->extlinux, NULL };
        if ((r = add_common(w, s, c->installer ? programs : NULL)) < 0 || (r = add_data_file(w, "init", 0755, c->init)) < 0 ||
            (r = add_text(w, "etc/vmcloak/modules", 0644, c->modules_text)) < 0 ||
            (r = cpio_add_tree(w, "", c->modules_root)) < 0)
                return r;
        if (!c->installer)
                return cpio_add_dir(w, "newroot", 0755);
        if ((r = add_program(w, INSTALLER_MKE2FS, s->mke2fs, s->mke2fs_libs)) < 0 ||
            (r = add_program(w, INSTALLER_EXTLINUX, s->extlinux, s->extlinux_libs)) < 0 ||
            (r = cpio_add_file(w, MKE2FS_CONF, 0644, MKE2FS_CONF)) < 0 || (r = cpio_add_file(w, MBR_BIN, 0644, MBR_BIN)) < 0 ||
            (r = cpio_add_dir(w, "cdrom", 0755)) < 0 || (r = cpio_add_dir(w, "target", 0755)) < 0)
                return r;
        return 0;
}

struct rootfs_ctx {
        const char *modules_root;
        const char *modules_text;
        const char *boot_initrd;
        const char *extlinux_conf;
        const char *os_release;
};

static int fill_rootfs(struct cpio_writer *w, const struct sources *s, const void *vctx) {
        const struct rootfs_ctx *c = vctx;
        static const struct {
                const char *path;
                mode_t mode;
        } dirs[] = {
                { "root", 0700 }, { "run", 0755 }, { "mnt", 0755 }, { "home", 0755 }, { "var/log", 0755 },
                { "var/tmp", 01777 }, { "boot/extlinux", 0755 }, { "etc/init.d", 0755 }, { "usr/bin", 0755 },
        };
        static const struct {
                const char *path;
                mode_t mode;
                const char *data;
        } files[] = {
                { "etc/inittab", 0644, "inittab" },
                { "etc/init.d/rcS", 0755, "rcS" },
                { "etc/init.d/rcK", 0755, "rcK" },
                { "etc/passwd", 0644, "passwd" },
                { "etc/group", 0644, "group" },
                { "etc/shadow", 0640, "shadow" },
                { "sbin/vmcloak-setnet", 0755, "vmcloak-setnet" },
                { "sbin/vmcloak-sethostname", 0755, "vmcloak-sethostname" },
                { "sbin/vmcloak-agent-run", 0755, "vmcloak-agent-run" },
        };
        int r = add_common(w, s, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if ((r = cpio_add_dir(w, dirs[i].path, dirs[i].mode)) < 0)
                        return r;
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if ((r = add_data_file(w, files[i].path, files[i].mode, files[i].data)) < 0)
                        return r;
        if ((r = add_text(w, "etc/vmcloak/modules", 0644, c->modules_text)) < 0 ||
            (r = add_text(w, "etc/os-release", 0644, c->os_release)) < 0 ||
            (r = add_text(w, "etc/hostname", 0644, "vmcloak\n")) < 0 ||
            (r = add_text(w, "boot/extlinux/extlinux.conf", 0644, c->extlinux_conf)) < 0 ||
            (r = cpio_add_file(w, "boot/initrd.img", 0644, c->boot_initrd)) < 0 ||
            (r = cpio_add_file(w, GUEST_AGENT_PATH, 0755, s->agent)) < 0 || (r = cpio_add_tree(w, "", c->modules_root)) < 0)
                return r;
        STRV_FOREACH(j, s->judges)
                if ((r = add_program(w, *j + 1, *j, NULL)) < 0)
                        return r;
        STRV_FOREACH(l, s->judges_libs)
                if ((r = cpio_add_file(w, *l, 0755, *l)) < 0 && r != -EEXIST)
                        return r;
        return 0;
}

static int stage_modules(const struct sources *s, const char *root, char *const *wanted, char ***ret_load) {
        int r = kmod_stage(s->kernel.modules_dir, s->kernel.release, wanted, root, s->depmod, ret_load);
        return r;
}

static int build_linux_media(const struct os_profile *self, const struct install_params *p, struct install_media *ret) {
        (void)self;
        if (isempty(p->workdir) || !is_dir(p->workdir)) {
                log_error("internal error: the linux profile needs a work folder");
                return -EINVAL;
        }
        _cleanup_(sources_done) struct sources s = { 0 };
        int r = gather_sources(p, &s);
        if (r < 0)
                return r;
        _cleanup_free_ char *answers = NULL;
        r = linux_answers_render(p, s.kernel.release, &answers);
        if (r < 0)
                return r;

        struct progress pr;
        progress_begin(&pr, "Building the linux install media");
        progress_update(&pr, 0, 0, s.kernel.release);

        const char *w = p->workdir;
        _cleanup_free_ char *mods_full = path_join(w, "modules-full"), *mods_boot = path_join(w, "modules-boot"),
                            *install_img = path_join(w, "install.img"), *boot_img = path_join(w, "initrd.img"),
                            *rootfs = path_join(w, "rootfs.cpio"), *answers_path = path_join(w, "answers.sh"),
                            *isolinux_cfg = path_join(w, "isolinux.cfg"), *iso = path_join(w, "install.iso");
        if (!mods_full || !mods_boot || !install_img || !boot_img || !rootfs || !answers_path || !isolinux_cfg || !iso) {
                progress_end(&pr, "failed");
                return log_oom();
        }
        /* One staged tree for the installer and the installed system (their lists merged, so one
         * modules.dep serves both), a smaller one for the boot initramfs. */
        _cleanup_(strv_freep) char **all = NULL, **load_full = NULL, **load_boot = NULL;
        if (strv_extend_strv(&all, s.mods_install) < 0 || strv_extend_strv(&all, s.mods_boot) < 0 ||
            strv_extend_strv(&all, s.mods_system) < 0)
                r = log_oom();
        if (r >= 0)
                r = stage_modules(&s, mods_full, all, &load_full);
        if (r >= 0)
                r = stage_modules(&s, mods_boot, s.mods_boot, &load_boot);
        _cleanup_free_ char *mtext_install = NULL, *mtext_boot = NULL, *mtext_system = NULL;
        if (r >= 0) {
                mtext_install = modules_file(s.mods_install, load_full);
                mtext_boot = modules_file(s.mods_boot, load_boot);
                mtext_system = modules_file(s.mods_system, load_full);
                if (!mtext_install || !mtext_boot || !mtext_system)
                        r = log_oom();
        }
        _cleanup_free_ char *extlinux_conf = NULL, *isolinux_text = NULL, *os_release = NULL;
        /* Both kernel command lines carry no_timer_check: under TCG on a loaded host the kernel's
         * IO-APIC timer test can miss its interrupts and panic ("IO-APIC + timer doesn't work!"),
         * which was seen, rarely, at a snapshot VM's boot. */
        if (r >= 0)
                r = render_config("extlinux.conf", s.kernel.release, "cmdline-system", &extlinux_conf);
        if (r >= 0)
                r = render_config("isolinux.cfg", s.kernel.release, "cmdline-install", &isolinux_text);
        if (r >= 0) {
                os_release = strdup_printf("NAME=\"vmcloak linux guest\"\nID=vmcloak\nVERSION_ID=\"%s\"\n"
                                           "PRETTY_NAME=\"vmcloak linux guest (kernel %s)\"\n",
                                           s.kernel.release, s.kernel.release);
                if (!os_release)
                        r = log_oom();
        }
        if (r >= 0) {
                struct initrd_ctx ic = { "installer-init", mods_full, mtext_install, true };
                r = write_cpio(install_img, &s, fill_initrd, &ic, true);
        }
        if (r >= 0) {
                struct initrd_ctx bc = { "boot-init", mods_boot, mtext_boot, false };
                r = write_cpio(boot_img, &s, fill_initrd, &bc, true);
        }
        if (r >= 0) {
                struct rootfs_ctx rc = { mods_full, mtext_system, boot_img, extlinux_conf, os_release };
                r = write_cpio(rootfs, &s, fill_rootfs, &rc, false);
        }
        if (r >= 0 && ((r = write_file(answers_path, answers, strlen(answers), 0644)) < 0 ||
                       (r = write_file(isolinux_cfg, isolinux_text, strlen(isolinux_text), 0644)) < 0))
                log_error_errno(r, "cannot write into %s: %m", w);
        if (r >= 0 && interrupted())
                r = -ECANCELED;
        if (r >= 0) {
                const struct guest_iso_entry entries[] = {
                        { "isolinux/isolinux.bin", ISOLINUX_BIN },
                        { "isolinux/ldlinux.c32", LDLINUX_C32 },
                        { "isolinux/isolinux.cfg", isolinux_cfg },
                        { "vmcloak/vmlinuz", s.kernel.image },
                        { "vmcloak/install.img", install_img },
                        { "vmcloak/rootfs.cpio", rootfs },
                        { "vmcloak/answers.sh", answers_path },
                };
                const struct guest_iso_boot boot = { "isolinux/isolinux.bin", "isolinux/boot.cat", 4, true };
                const struct guest_iso_opts o = { .volume_id = "VMCLOAK_LINUX", .joliet = false, .boot = &boot };
                r = guest_iso_build(iso, &o, entries, ELEMENTSOF(entries));
        }
        if (r < 0) {
                progress_end(&pr, r == -ECANCELED ? "interrupted" : "failed");
                return r;
        }
        char sz[32];
        format_bytes(sz, sizeof sz, file_size_or_zero(iso));
        char result[96];
        snprintf(result, sizeof result, "%s, kernel %s", sz, s.kernel.release);
        progress_end(&pr, result);
        struct install_media m = { .boot_iso = TAKE_PTR(iso), .kernel_version = strdup(s.kernel.release) };
        if (!m.kernel_version) {
                install_media_free(&m);
                return log_oom();
        }
        /* The installer's kernel uncompressed, booted by QEMU itself: under TCG the guest takes
         * ~12 s to decompress Debian's XZ bzImage, and SeaBIOS reads the initramfs slowly. The
         * same kernel, initramfs and command line as isolinux.cfg's; the ISO stays bootable.
         * Not for createiso (one_iso): there the ISO is all that is made. */
        _cleanup_free_ char *vmlinux = NULL;
        if (!p->one_iso && !isempty(p->cache_dir) && vmlinux_get_cached(s.kernel.image, p->cache_dir, &vmlinux) == 0) {
                m.kernel = TAKE_PTR(vmlinux);
                m.initrd = TAKE_PTR(install_img);
                r = m.initrd ? read_cmdline("cmdline-install", &m.cmdline) : -ENOMEM;
                if (r < 0) {
                        install_media_free(&m);
                        return r;
                }
        }
        *ret = m;
        return 0;
}

/* The installer runs from the built ISO under -no-reboot and powers off, reporting each step
 * on the serial console; the installed system then boots from its disk until the agent
 * answers. */
static const char *const install_causes[] = {
        "the install disc does not start its kernel by itself (its boot loader waits at a prompt or a menu)",
        "the kernel stopped before the installer started (a panic or a missing driver: see serial.log)",
        NULL,
};
static const char *const first_boot_causes[] = {
        "the disk does not boot (no boot loader was installed on it)",
        "the kernel cannot mount its root file system (a missing disk driver: see serial.log)",
        NULL,
};
static const struct install_phase linux_install[] = {
        { .title = "Installing the OS", .boot = true, .media = INSTALL_MEDIA_BOOT | INSTALL_MEDIA_USER,
          .reboot_ends = true, .until = INSTALL_UNTIL_POWEROFF, .serial_verdict = true,
          .stuck_causes = install_causes },
        { .title = "Booting the installed system", .boot = true, .media = 0, .until = INSTALL_UNTIL_AGENT,
          .stuck_causes = first_boot_causes },
};

const struct os_profile os_profile_linux = {
        .name = "linux",
        .os_name = "linux",
        .os_version = NULL,
        .arch = "amd64",
        .servicepack = "",
        .default_ram_mb = 512,
        .default_disk_bytes = UINT64_C(2) << 30,
        .install_timeout_s = 300,
        .uefi = false,
        .tpm = false,
        .rtc_localtime = false,
        .path_sep = '/',
        .install = { linux_install, ELEMENTSOF(linux_install) },
        .cmd = {
                /* Run set_network asynchronously: the agent's own connection uses the old address.
                 * The MAC first: a VM restored from a fleet's template still has the template's
                 * in its NIC (an image's own MAC, or a VM's, is set again harmlessly); here so
                 * images built before it do the same. Its NIC's EEPROM (device state, migrated
                 * with the memory) keeps the template's, and the driver reads that at a reboot:
                 * so the MAC is also kept in /etc/vmcloak/mac, which `vmcloak-setnet --boot`
                 * (rcS) applies (images built before that ignore the file); vmcloak-setnet's
                 * sync puts it on disk before the snapshot. */
                .set_network = "ip link set dev eth0 address {mac} && echo {mac} > /etc/vmcloak/mac && "
                               "/sbin/vmcloak-setnet {ip} {prefix} {gateway} {dns}",
                .set_hostname = "/sbin/vmcloak-sethostname {hostname}",
                .reboot = "reboot",
                /* rcK powers off at its end when this file is there (no 2 s of BusyBox init's
                 * kill-and-wait after it; a reboot goes on through init). */
                .poweroff = "touch /run/vmcloak-poweroff; poweroff",
                .shrink_memory = "sync; echo 3 > /proc/sys/vm/drop_caches",
                .set_resolution = NULL,
                .run_script = "/bin/sh {path}",
                .run_detector = "/bin/sh {path}",
                .temp_dir = "/tmp",
                .os_version = "uname -r",
                /* The guest has no systemd or D-Bus (BusyBox), so nothing made a machine id: each
                 * snapshot VM gets its own where programs look for one (machine-id(5), and D-Bus's
                 * copy when a user's software brought D-Bus). */
                .set_identity = "echo {machine_id} > /etc/machine-id && if [ -d /var/lib/dbus ]; then "
                                "echo {machine_id} > /var/lib/dbus/machine-id; fi",
                /* Mixed into the pool (not credited): each clone's later randomness differs.
                 * The clock too: a clone's resumes at the template's save time, its RTC (QEMU's
                 * follows the host's clock after the load) has the time now; the kernel has
                 * RTC_DRV_CMOS built in (rtc0), BusyBox has hwclock. */
                .reseed = "echo {seed} > /dev/urandom && hwclock -s -u",
                .hostname_needs_reboot = false,
                .clone_fleet = true,
        },
        .serial_progress = "VMCLOAK: ",
        .serial_install_done = "VMCLOAK: install: done",
        .serial_install_failed = "VMCLOAK: install: FAILED ",
        .build_media = build_linux_media,
};
