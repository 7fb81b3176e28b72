/* qemu-img wrapper: create base/overlay disks, read image info as JSON. */
#include "qemu/img.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/proc.h"
#include "core/util.h"

#define QCOW2_OPTS "lazy_refcounts=on,cluster_size=2M"

char *qemu_img_binary(void) {
        const char *e = getenv("VMCLOAK_QEMU_IMG");
        return strdup(isempty(e) ? "qemu-img" : e);
}

/* The last non-empty line of a tool's stderr, for one-line errors. */
static const char *last_line(char *s) {
        if (!s)
                return "";
        size_t l = strlen(s);
        while (l && (s[l - 1] == '\n' || s[l - 1] == '\r' || s[l - 1] == ' '))
                s[--l] = 0;
        char *nl = strrchr(s, '\n');
        return nl ? nl + 1 : s;
}

static int run_img(char **argv, const char *what, const char *path, bool to_the_end, char **ret_out) {
        _cleanup_free_ char *out = NULL, *err = NULL;
        int r = to_the_end ? proc_run_to_end(argv, NULL, &out, &err) : proc_run(argv, NULL, &out, &err);
        if (r == -ENOENT)
                return log_error_errno(r, "%s not found: install qemu-utils (apt-get install qemu-utils) or set "
                                          "VMCLOAK_QEMU_IMG", argv[0]);
        if (r == -ECANCELED)
                return r; /* the caller says "interrupted" */
        if (r < 0)
                return log_error_errno(r, "cannot run %s: %m", argv[0]);
        if (r != 0) {
                log_error("%s %s failed: %s", what, path, last_line(err));
                return -EIO;
        }
        if (ret_out)
                *ret_out = TAKE_PTR(out);
        return 0;
}

int qemu_img_create_base(const char *path, uint64_t size_bytes) {
        if (path_exists(path))
                return log_error_errno(-EEXIST, "cannot create disk %s: it exists already (remove it first)", path);
        if (size_bytes == 0 || size_bytes % 512)
                return log_error_errno(-EINVAL, "invalid disk size %llu bytes: use a positive multiple of 512",
                                       (unsigned long long)size_bytes);
        _cleanup_free_ char *bin = qemu_img_binary();
        if (!bin)
                return log_oom();
        char size[32];
        snprintf(size, sizeof size, "%llu", (unsigned long long)size_bytes);
        char *argv[] = { bin, "create", "-q", "-f", "qcow2", "-o", QCOW2_OPTS, (char *)path, size, NULL };
        int r = run_img(argv, "creating disk", path, false, NULL);
        if (r < 0)
                unlink_if_exists(path);
        return r;
}

int qemu_img_create_overlay(const char *path, const char *backing) {
        if (path_exists(path))
                return log_error_errno(-EEXIST, "cannot create overlay %s: it exists already (remove it first)", path);
        char abs[PATH_MAX];
        if (!realpath(backing, abs))
                return log_error_errno(-errno, "cannot use %s as a backing disk: %m", backing);
        _cleanup_free_ char *bin = qemu_img_binary();
        if (!bin)
                return log_oom();
        char *argv[] = { bin, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-o", QCOW2_OPTS, "-b", abs,
                         (char *)path, NULL };
        int r = run_img(argv, "creating overlay", path, false, NULL);
        if (r < 0)
                unlink_if_exists(path);
        return r;
}

/* Whether the file starts as a disk does: an image format qemu-img knows by its magic (qcow2,
 * VMDK, VDI, VHDX, VHD/vpc, QED), or raw with a partition table (MBR boot signature 55 AA at
 * byte 510, or GPT's "EFI PART" at 512). Anything else (an ISO, a zip, garbage) would be booted as
 * a raw disk and sit at the firmware until the timeout. */
static bool looks_like_disk(const unsigned char *b, size_t n) {
        static const struct {
                size_t off;
                const char *magic;
                size_t len;
        } formats[] = {
                { 0, "QFI\xfb", 4 }, { 0, "KDMV", 4 }, { 0, "# Disk DescriptorFile", 21 }, { 0x40, "\x7f\x10\xda\xbe", 4 },
                { 0, "vhdxfile", 8 }, { 0, "conectix", 8 }, { 0, "QED\0", 4 },
        };
        for (size_t i = 0; i < ELEMENTSOF(formats); i++)
                if (n >= formats[i].off + formats[i].len && memcmp(b + formats[i].off, formats[i].magic, formats[i].len) == 0)
                        return true;
        return (n >= 512 && b[510] == 0x55 && b[511] == 0xaa) || (n >= 520 && memcmp(b + 512, "EFI PART", 8) == 0);
}

/* The first KiB of path, or -errno. */
static ssize_t read_head(const char *path, unsigned char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, size);
        int e = errno;
        close(fd);
        return n < 0 ? -e : n;
}

int qemu_img_convert(const char *src, const char *dst) {
        unsigned char head[1024] = { 0 };
        ssize_t got = read_head(src, head, sizeof head);
        if (got < 0)
                return log_error_errno((int)got, "cannot read the disk %s: %m", src);
        if (!looks_like_disk(head, (size_t)got)) {
                log_error("%s is not a disk: no image format qemu-img knows (qcow2, vmdk, vdi, vhdx, vhd) and no "
                          "partition table (MBR or GPT) of a raw disk", src);
                return -EMEDIUMTYPE;
        }
        if (path_exists(dst))
                return log_error_errno(-EEXIST, "cannot create disk %s: it exists already (remove it first)", dst);
        _cleanup_free_ char *bin = qemu_img_binary();
        if (!bin)
                return log_oom();
        /* -U: a shared read lock, so a source another tool has open is still read (its user was
         * checked by the caller); the source is never opened for writing. */
        char *argv[] = { bin, "convert", "-q", "-U", "-O", "qcow2", "-o", QCOW2_OPTS, (char *)src, (char *)dst, NULL };
        int r = run_img(argv, "converting disk", src, false, NULL);
        if (r < 0)
                unlink_if_exists(dst);
        return r;
}

int qemu_img_commit(const char *overlay) {
        _cleanup_free_ char *bin = qemu_img_binary();
        if (!bin)
                return log_oom();
        /* -d: the overlay is removed by the caller, no need to empty it. A commit stopped half-way
         * leaves the image a mix of old and new clusters: it runs to its end, Ctrl-C or not. */
        char *argv[] = { bin, "commit", "-q", "-d", (char *)overlay, NULL };
        return run_img(argv, "committing", overlay, true, NULL);
}

int qemu_img_rebase_unsafe(const char *overlay, const char *backing) {
        /* The overlay may come from another host (import --bundle): its header must name no file
         * of this host but the backing file rebase replaces (qemu-img info opens no backing). */
        _cleanup_(qemu_img_info_done) struct qemu_img_info info = { 0 };
        int r = qemu_img_info(overlay, &info);
        if (r < 0)
                return r;
        const char *why = !streq(info.format, "qcow2") ? "it is no qcow2"
                          : info.data_file             ? "its qcow2 header names an external data file"
                          : info.encrypted             ? "it is encrypted"
                                                       : NULL;
        if (why) {
                log_error("%s cannot be made an overlay of %s: %s%s%s (vmcloak makes plain qcow2 overlays); refusing "
                          "it", overlay, backing, why, info.data_file ? " " : "", strempty(info.data_file));
                return -EPERM;
        }
        char abs[PATH_MAX];
        if (!realpath(backing, abs))
                return log_error_errno(-errno, "cannot use %s as the backing disk of %s: %m", backing, overlay);
        _cleanup_free_ char *bin = qemu_img_binary();
        if (!bin)
                return log_oom();
        char *argv[] = { bin, "rebase", "-q", "-u", "-f", "qcow2", "-F", "qcow2", "-b", abs, (char *)overlay, NULL };
        return run_img(argv, "rebasing", overlay, false, NULL);
}

static char *get_str(struct json_object *o, const char *key) {
        struct json_object *x;
        if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_string))
                return NULL;
        return strdup(json_object_get_string(x));
}

static uint64_t get_u64(struct json_object *o, const char *key) {
        struct json_object *x;
        if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_int))
                return 0;
        int64_t v = json_object_get_int64(x);
        return v < 0 ? 0 : (uint64_t)v;
}

int qemu_img_info_parse(const char *json, struct qemu_img_info *ret) {
        memset(ret, 0, sizeof *ret);
        struct json_object *o = json_tokener_parse(json);
        struct json_object *vs;
        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "virtual-size", &vs)) {
                json_object_put(o);
                return -EINVAL;
        }
        ret->format = get_str(o, "format");
        ret->virtual_size = get_u64(o, "virtual-size");
        ret->actual_size = get_u64(o, "actual-size");
        ret->cluster_size = get_u64(o, "cluster-size");
        ret->backing_file = get_str(o, "backing-filename");
        ret->full_backing_file = get_str(o, "full-backing-filename");
        ret->backing_format = get_str(o, "backing-filename-format");
        struct json_object *x, *fs, *data;
        ret->dirty = json_object_object_get_ex(o, "dirty-flag", &x) && json_object_get_boolean(x);
        ret->encrypted = json_object_object_get_ex(o, "encrypted", &x) && json_object_get_boolean(x);
        if (json_object_object_get_ex(o, "format-specific", &fs) && json_object_object_get_ex(fs, "data", &data)) {
                if (json_object_object_get_ex(data, "lazy-refcounts", &x))
                        ret->lazy_refcounts = json_object_get_boolean(x);
                ret->data_file = get_str(data, "data-file");
                if (json_object_object_get_ex(data, "encrypt", &x))
                        ret->encrypted = true;
        }
        json_object_put(o);
        if (!ret->format) {
                qemu_img_info_done(ret);
                return -EINVAL;
        }
        return 0;
}

int qemu_img_info(const char *path, struct qemu_img_info *ret) {
        _cleanup_free_ char *bin = qemu_img_binary();
        if (!bin)
                return log_oom();
        _cleanup_free_ char *out = NULL;
        char *argv[] = { bin, "info", "-U", "--output=json", (char *)path, NULL };
        int r = run_img(argv, "reading disk", path, false, &out);
        if (r < 0)
                return r;
        r = qemu_img_info_parse(out, ret);
        if (r < 0)
                return log_error_errno(r, "cannot understand what qemu-img says about %s", path);
        return 0;
}

void qemu_img_info_done(struct qemu_img_info *i) {
        free(i->format);
        free(i->backing_file);
        free(i->full_backing_file);
        free(i->backing_format);
        free(i->data_file);
        memset(i, 0, sizeof *i);
}
