/* qemu-bridge-helper: locate it, read the ACL path compiled into it, decide like it does, set it up. */
#include "net/helper.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/log.h"
#include "core/proc.h"
#include "core/util.h"
#include "net/bridge.h"

#define HELPER_NAME "qemu-bridge-helper"
/* The helper copies names into char[IFNAMSIZ] and refuses the whole file for a longer one. */
#define ACL_NAME_MAX 15
/* The helper reads with fgets() into a buffer of this size: a longer line is read in pieces. */
#define ACL_LINE_BUF 4096
#define ACL_MAX_DEPTH 64

int net_binary_find_path(const char *binary, const char *suffix, char **ret) {
        _cleanup_close_ int fd = open(binary, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (st.st_size == 0)
                return -ENOENT;
        const unsigned char *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED)
                return -errno;
        size_t size = (size_t)st.st_size, slen = strlen(suffix);
        int r = -ENOENT;
        /* The suffix with its terminating NUL: the path must end exactly there. */
        for (size_t off = 0; off + slen + 1 <= size;) {
                const unsigned char *hit = memmem(data + off, size - off, suffix, slen + 1);
                if (!hit)
                        break;
                size_t end = (size_t)(hit - data), start = end;
                while (start > 0 && data[start - 1] >= 0x21 && data[start - 1] <= 0x7e && end - start < PATH_MAX)
                        start--;
                if (data[start] == '/') {
                        *ret = strndup((const char *)data + start, end - start + slen);
                        r = *ret ? 0 : -ENOMEM;
                        break;
                }
                off = end + slen + 1;
        }
        munmap((void *)data, size);
        return r;
}

static bool is_regular_file(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int net_helper_find(const char *qemu_binary, char **ret) {
        const char *e = getenv(NET_HELPER_ENV);
        if (!isempty(e)) {
                if (!is_regular_file(e))
                        return -ENOENT;
                *ret = strdup(e);
                return *ret ? 0 : -ENOMEM;
        }
        _cleanup_free_ char *qemu = qemu_binary ? strdup(qemu_binary) : find_program("qemu-system-x86_64");
        if (qemu) {
                /* What QEMU itself runs when -netdev bridge names no helper. */
                _cleanup_free_ char *builtin = NULL;
                if (net_binary_find_path(qemu, "/" HELPER_NAME, &builtin) == 0 && is_regular_file(builtin)) {
                        *ret = TAKE_PTR(builtin);
                        return 0;
                }
        }
        _cleanup_strv_free_ char **cands = NULL;
        if (strv_extend(&cands, "/usr/lib/qemu/" HELPER_NAME) < 0 || strv_extend(&cands, "/usr/libexec/" HELPER_NAME) < 0 ||
            strv_extend(&cands, "/usr/local/libexec/" HELPER_NAME) < 0)
                return -ENOMEM;
        if (qemu) {
                _cleanup_free_ char *real = realpath(qemu, NULL);
                _cleanup_free_ char *dir = path_dirname(real ? real : qemu);
                if (!dir || strv_extendf(&cands, "%s/%s", dir, HELPER_NAME) < 0 ||
                    strv_extendf(&cands, "%s/../libexec/%s", dir, HELPER_NAME) < 0)
                        return -ENOMEM;
        }
        STRV_FOREACH(c, cands)
                if (is_regular_file(*c)) {
                        *ret = realpath(*c, NULL);
                        if (!*ret)
                                *ret = strdup(*c);
                        return *ret ? 0 : -ENOMEM;
                }
        return -ENOENT;
}

int net_helper_acl_path(const char *helper, char **ret) {
        const char *e = getenv(NET_ACL_ENV);
        if (!isempty(e)) {
                *ret = strdup(e);
                return *ret ? 0 : -ENOMEM;
        }
        return net_binary_find_path(helper, "/bridge.conf", ret);
}

int net_helper_stat(const char *helper, struct net_helper_mode *ret) {
        struct stat st;
        if (stat(helper, &st) < 0)
                return -errno;
        struct statvfs vfs;
        *ret = (struct net_helper_mode){
                .owner_root = st.st_uid == 0,
                .setuid_root = st.st_uid == 0 && (st.st_mode & S_ISUID),
                .nosuid_mount = statvfs(helper, &vfs) == 0 && (vfs.f_flag & ST_NOSUID),
                .mode = st.st_mode & 07777,
        };
        return 0;
}

/* ---- the ACL, decided as qemu-bridge-helper decides ---- */

struct acl_ctx {
        const char *bridge;
        struct net_acl *out;
        unsigned depth;
        dev_t dev[ACL_MAX_DEPTH];
        ino_t ino[ACL_MAX_DEPTH];
};

static char *where(const char *path, unsigned line) { return strdup_printf("%s:%u", path, line); }

static int acl_bad(struct acl_ctx *c, bool top, const char *path, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static int acl_bad(struct acl_ctx *c, bool top, const char *path, unsigned line, const char *fmt, ...) {
        char why[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        if (!top) {
                /* The helper ignores errors of included files; so do we, but say it in debug. */
                log_debug("%s:%u: %s (in an included file: the rest of it is ignored)", path, line, why);
                return -EINVAL;
        }
        c->out->error = -EINVAL;
        c->out->error_msg = strdup_printf("%s:%u: %s", path, line, why);
        return c->out->error_msg ? -EINVAL : -ENOMEM;
}

static void strip_end(char *s) {
        size_t l = strlen(s);
        while (l > 0 && isspace((unsigned char)s[l - 1]))
                s[--l] = 0;
}

static int acl_parse(struct acl_ctx *c, const char *path, bool top) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f) {
                int r = -errno;
                if (top) {
                        c->out->error = r;
                        errno = -r;
                        c->out->error_msg = strdup_printf("cannot read %s: %m", path);
                        if (!c->out->error_msg)
                                return -ENOMEM;
                } else
                        log_debug_errno(r, "included ACL %s cannot be read (ignored, as the helper does): %m", path);
                return r;
        }
        if (c->depth >= ACL_MAX_DEPTH)
                return 0;
        struct stat st = { 0 };
        if (fstat(fileno(f), &st) == 0)
                /* A file already being read further out adds exactly the rules it adds there, so
                 * an include loop changes nothing (the helper would recurse until out of fds). */
                for (unsigned i = 0; i < c->depth; i++)
                        if (c->dev[i] == st.st_dev && c->ino[i] == st.st_ino)
                                return 0;
        c->dev[c->depth] = st.st_dev;
        c->ino[c->depth] = st.st_ino;
        c->depth++;
        int r = 0;
        char line[ACL_LINE_BUF];
        unsigned n = 0;
        while (fgets(line, sizeof line, f)) {
                n++;
                char *p = line;
                while (isspace((unsigned char)*p))
                        p++;
                if (*p == '#' || *p == 0)
                        continue;
                char *cmd = p;
                /* The helper splits at the first space, and only without one at the first tab. */
                char *arg = strchr(cmd, ' ');
                if (!arg)
                        arg = strchr(cmd, '\t');
                if (!arg) {
                        strip_end(cmd);
                        r = acl_bad(c, top, path, n, "'%s' has no argument (expected e.g. 'allow BRIDGE')", cmd);
                        break;
                }
                *arg++ = 0;
                while (isspace((unsigned char)*arg))
                        arg++;
                strip_end(arg);
                if (!streq(cmd, "include") && strlen(arg) > ACL_NAME_MAX) {
                        r = acl_bad(c, top, path, n, "name '%s' is longer than %d characters", arg, ACL_NAME_MAX);
                        break;
                }
                bool allow = streq(cmd, "allow");
                if (allow || streq(cmd, "deny")) {
                        char **slot = allow ? &c->out->allow_at : &c->out->deny_at;
                        if (!*slot && (streq(arg, "all") || streq(arg, c->bridge))) {
                                *slot = where(path, n);
                                if (!*slot) {
                                        r = -ENOMEM;
                                        break;
                                }
                        }
                } else if (streq(cmd, "include")) {
                        int k = acl_parse(c, arg, false);
                        if (k == -ENOMEM) {
                                r = k;
                                break;
                        }
                } else {
                        r = acl_bad(c, top, path, n, "unknown command '%s' (expected allow, deny or include)", cmd);
                        break;
                }
        }
        c->depth--;
        return r;
}

int net_acl_check(const char *path, const char *bridge, struct net_acl *ret) {
        *ret = (struct net_acl){ 0 };
        struct acl_ctx c = { .bridge = bridge, .out = ret };
        int r = acl_parse(&c, path, true);
        if (r == -ENOMEM) {
                net_acl_done(ret);
                return r;
        }
        ret->allowed = !ret->error && ret->allow_at && !ret->deny_at;
        return 0;
}

void net_acl_done(struct net_acl *acl) {
        free(acl->error_msg);
        free(acl->allow_at);
        free(acl->deny_at);
        *acl = (struct net_acl){ 0 };
}

/* ---- --setup-helper ---- */

static int append_allow(const char *acl, const char *bridge) {
        _cleanup_free_ char *old = NULL;
        size_t len = 0;
        int r = read_full_file(acl, &old, &len);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(acl, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        _cleanup_free_ char *text = strdup_printf("%sallow %s\n", len > 0 && old[len - 1] != '\n' ? "\n" : "", bridge);
        if (!text)
                return -ENOMEM;
        size_t l = strlen(text);
        if (write(fd, text, l) != (ssize_t)l)
                return errno ? -errno : -EIO;
        return 0;
}

static int setup_acl(const char *acl, const char *bridge, unsigned *changes) {
        struct net_acl a;
        int r = net_acl_check(acl, bridge, &a);
        if (r < 0)
                return log_oom();
        if (a.error == -ENOENT) {
                _cleanup_free_ char *dir = path_dirname(acl);
                if (!dir)
                        return log_oom();
                if (!is_dir(dir)) {
                        r = mkdir_p(dir, 0755);
                        if (r < 0)
                                return log_error_errno(r, "cannot create %s: %m", dir);
                        *changes |= NET_SETUP_DIR_CREATED;
                        log_info("created folder %s", dir);
                }
                _cleanup_free_ char *text = strdup_printf("allow %s\n", bridge);
                if (!text)
                        return log_oom();
                r = write_file(acl, text, strlen(text), 0644);
                if (r < 0)
                        return log_error_errno(r, "cannot create %s: %m", acl);
                *changes |= NET_SETUP_ACL_CREATED | NET_SETUP_ALLOW_ADDED;
                log_info("created %s with 'allow %s'", acl, bridge);
        } else if (a.error) {
                log_error("qemu-bridge-helper cannot use its ACL: %s; fix that line, then run this again", a.error_msg);
                net_acl_done(&a);
                return -EINVAL;
        } else if (a.deny_at) {
                log_error("%s denies bridge %s (%s); remove that rule, then run this again", acl, bridge, a.deny_at);
                net_acl_done(&a);
                return -EACCES;
        } else if (a.allowed) {
                log_info("%s already allows %s (%s)", acl, bridge, a.allow_at);
        } else {
                r = append_allow(acl, bridge);
                if (r < 0) {
                        net_acl_done(&a);
                        return log_error_errno(r, "cannot add 'allow %s' to %s: %m", bridge, acl);
                }
                *changes |= NET_SETUP_ALLOW_ADDED;
                log_info("added 'allow %s' to %s", bridge, acl);
        }
        net_acl_done(&a);

        /* With libcap-ng the setuid helper drops to the calling user before it opens the ACL. */
        struct stat st;
        if (stat(acl, &st) < 0)
                return log_error_errno(-errno, "cannot stat %s: %m", acl);
        if ((st.st_mode & 0444) != 0444) {
                if (chmod(acl, (st.st_mode & 07777) | 0444) < 0)
                        return log_error_errno(-errno, "cannot make %s readable: %m", acl);
                *changes |= NET_SETUP_ACL_READABLE;
                log_info("made %s readable by everyone (the helper reads it as the user running QEMU)", acl);
        }
        return 0;
}

static int setup_setuid(const char *helper, unsigned *changes) {
        struct net_helper_mode m;
        int r = net_helper_stat(helper, &m);
        if (r < 0)
                return log_error_errno(r, "cannot stat %s: %m", helper);
        if (!m.owner_root) {
                log_error("%s is not owned by root, so the setuid bit would not make it root; run "
                          "'sudo chown root:root %s' if it is the right helper", helper, helper);
                return -EPERM;
        }
        if (!m.setuid_root) {
                if (chmod(helper, m.mode | S_ISUID) < 0)
                        return log_error_errno(-errno, "cannot set the setuid bit on %s: %m", helper);
                *changes |= NET_SETUP_SETUID;
                log_info("set the setuid bit on %s (mode %04o)", strempty(helper), (unsigned)(m.mode | S_ISUID));
                if (startswith(helper, "/usr/") && !startswith(helper, "/usr/local/") &&
                    path_exists("/usr/bin/dpkg-statoverride"))
                        log_info("a QEMU package upgrade may reset it; to keep it: sudo dpkg-statoverride --update "
                                 "--add root root %04o %s", (unsigned)(m.mode | S_ISUID), helper);
        } else
                log_info("%s is already setuid root", helper);
        if (m.nosuid_mount)
                log_warning("%s is on a filesystem mounted nosuid: the setuid bit has no effect there", helper);
        return 0;
}

int net_helper_setup(const char *helper, const char *acl_path, const char *bridge, unsigned *ret_changes) {
        unsigned changes = 0;
        if (ret_changes)
                *ret_changes = 0;
        const char *why = net_ifname_invalid_reason(bridge);
        if (why) {
                log_error("invalid bridge name '%s': %s", bridge, why);
                return -EINVAL;
        }
        int r = setup_acl(acl_path, bridge, &changes);
        if (r >= 0)
                r = setup_setuid(helper, &changes);
        if (ret_changes)
                *ret_changes = changes;
        return r;
}
