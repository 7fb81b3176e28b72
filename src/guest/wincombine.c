/* Windows install ISO combining: the source's tree as libisofs streams that read the medium
 * (struct IsoStream_Iface), vmcloak's files from the host merged on top, El Torito as the
 * source had it, written by the shared atomic ISO writer. */
#include "guest/isowrite.h"
#include "guest/wincombine.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/util.h"

/* --- a source file as a libisofs stream ---------------------------------------------------- */

struct src_stream {
        struct win_source *src;
        char *path;
        uint64_t size, pos;
        struct win_file *f;
        ino_t ino;
};

static int s_open(IsoStream *st) {
        struct src_stream *d = st->data;
        if (d->f)
                return ISO_FILE_ALREADY_OPENED;
        if (win_file_open(d->src, d->path, &d->f) < 0)
                return ISO_FILE_CANT_WRITE;
        d->pos = 0;
        return win_file_size(d->f) == d->size ? 1 : win_file_size(d->f) > d->size ? 2 : 3;
}

static int s_close(IsoStream *st) {
        struct src_stream *d = st->data;
        if (!d->f)
                return ISO_FILE_NOT_OPENED;
        win_file_close(d->f);
        d->f = NULL;
        return 1;
}

static off_t s_get_size(IsoStream *st) { return (off_t)((struct src_stream *)st->data)->size; }

static int s_read(IsoStream *st, void *buf, size_t count) {
        struct src_stream *d = st->data;
        if (!d->f)
                return ISO_FILE_NOT_OPENED;
        uint64_t have = win_file_size(d->f) < d->size ? win_file_size(d->f) : d->size;
        if (d->pos >= have)
                return 0;
        size_t k = have - d->pos < count ? (size_t)(have - d->pos) : count;
        if (k > INT32_MAX)
                k = INT32_MAX & ~(size_t)2047;
        if (win_file_pread(d->f, buf, k, d->pos) < 0)
                return ISO_FILE_READ_ERROR;
        d->pos += k;
        return (int)k;
}

static int s_is_repeatable(IsoStream *st) {
        (void)st;
        return 1;
}

static void s_get_id(IsoStream *st, unsigned int *fs_id, dev_t *dev_id, ino_t *ino_id) {
        /* libisofs's rule for streams without a file system identity: 0, 0, a serial number. */
        *fs_id = 0;
        *dev_id = 0;
        *ino_id = ((struct src_stream *)st->data)->ino;
}

static void s_free(IsoStream *st) {
        struct src_stream *d = st->data;
        if (d->f)
                win_file_close(d->f);
        free(d->path);
        free(d);
}

static int s_update_size(IsoStream *st) {
        (void)st;
        return 1;
}

static IsoStreamIface src_stream_class = {
        .version = 1,
        .type = "user",
        .open = s_open,
        .close = s_close,
        .get_size = s_get_size,
        .read = s_read,
        .is_repeatable = s_is_repeatable,
        .get_id = s_get_id,
        .free = s_free,
        .update_size = s_update_size,
};

static int new_src_stream(struct win_source *src, const char *path, uint64_t size, IsoStream **ret) {
        IsoStream *st = calloc(1, sizeof *st);
        struct src_stream *d = calloc(1, sizeof *d);
        char *p = strdup(path);
        if (!st || !d || !p) {
                free(st);
                free(d);
                free(p);
                return -ENOMEM;
        }
        *d = (struct src_stream){ .src = src, .path = p, .size = size, .ino = serial_id++ };
        *st = (IsoStream){ .class = &src_stream_class, .refcount = 1, .data = d };
        *ret = st;
        return 0;
}

/* --- the tree ------------------------------------------------------------------------------ */

/* The child of dir named name in any case, or NULL. */
static IsoNode *child_nocase(IsoDir *dir, const char *name) {
        IsoDirIter *it = NULL;
        IsoNode *node, *hit = NULL;
        if (iso_dir_get_children(dir, &it) < 0)
                return NULL;
        while (!hit && iso_dir_iter_next(it, &node) == 1)
                if (strcasecmp(iso_node_get_name(node), name) == 0)
                        hit = node;
        iso_dir_iter_free(it);
        return hit;
}

/* The folder at a '/'-separated path (spelt as in the tree), or NULL. */
static IsoDir *dir_at(IsoImage *img, const char *path) {
        IsoNode *n = NULL;
        _cleanup_free_ char *abs = strdup_printf("/%s", path);
        if (!abs || iso_tree_path_to_node(img, abs, &n) != 1 || iso_node_get_type(n) != LIBISO_DIR)
                return NULL;
        return (IsoDir *)n;
}

struct add_ctx {
        IsoImage *img;
        struct win_source *src;
        const char *skip;   /* the source's old boot catalog */
        char why[512];
};

static void node_defaults(IsoNode *n, mode_t mode) {
        iso_node_set_permissions(n, mode);
        iso_node_set_uid(n, 0);
        iso_node_set_gid(n, 0);
}

static int add_source_entry(const char *path, bool is_dir, uint64_t size, void *userdata) {
        struct add_ctx *c = userdata;
        if (c->skip && streq(path, c->skip))
                return 0;
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *parent = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
        if (!parent)
                return -ENOMEM;
        IsoDir *dir = *parent ? dir_at(c->img, parent) : iso_image_get_root(c->img);
        const char *leaf = slash ? slash + 1 : path;
        if (!dir)
                return -ENOENT;
        int r;
        if (is_dir) {
                IsoDir *nd = NULL;
                r = iso_tree_add_new_dir(dir, leaf, &nd);
                if (r >= 0)
                        node_defaults((IsoNode *)nd, 0555);
        } else {
                IsoStream *st = NULL;
                IsoFile *nf = NULL;
                if (new_src_stream(c->src, path, size, &st) < 0)
                        return -ENOMEM;
                r = iso_tree_add_new_file(dir, leaf, st, &nf);   /* takes our reference */
                if (r < 0)
                        iso_stream_unref(st);
                if (r >= 0)
                        node_defaults((IsoNode *)nf, 0444);
        }
        if (r < 0) {
                log_error("%s: cannot add %s to the ISO: %s", win_source_path(c->src), path,
                          libisofs_reason(r, c->why, sizeof c->why));
                return -EINVAL;
        }
        return 0;
}

static int merge_host_dir(struct add_ctx *c, IsoDir *dir, const char *host);

/* One host entry into dir: a file replaces a same-named (any case) node, a folder merges into
 * a same-named folder. */
static int merge_host_entry(struct add_ctx *c, IsoDir *dir, const char *host, const char *name) {
        _cleanup_free_ char *hp = path_join(host, name);
        if (!hp)
                return log_oom();
        struct stat st;
        if (stat(hp, &st) < 0)
                return log_error_errno(-errno, "cannot read %s: %m", hp);
        IsoNode *old = child_nocase(dir, name);
        int k = 0;
        if (S_ISDIR(st.st_mode)) {
                IsoDir *sub = NULL;
                if (old && iso_node_get_type(old) == LIBISO_DIR)
                        sub = (IsoDir *)old;
                else {
                        if (old)
                                iso_node_remove(old);
                        if ((k = iso_tree_add_new_dir(dir, name, &sub)) >= 0)
                                node_defaults((IsoNode *)sub, 0555);
                }
                if (k >= 0)
                        return merge_host_dir(c, sub, hp);
        } else if (S_ISREG(st.st_mode)) {
                if (old)
                        iso_node_remove(old);
                IsoNode *nn = NULL;
                if ((k = iso_tree_add_new_node(c->img, dir, name, hp, &nn)) >= 0)
                        node_defaults(nn, 0444);
        }
        if (k < 0) {
                log_error("cannot add %s to the ISO: %s", hp, libisofs_reason(k, c->why, sizeof c->why));
                return -EINVAL;
        }
        return 0;
}

/* Merge a host folder into dir, entries in name order. */
static int merge_host_dir(struct add_ctx *c, IsoDir *dir, const char *host) {
        struct dirent **ents = NULL;
        int n = scandir(host, &ents, NULL, alphasort);
        if (n < 0)
                return log_error_errno(-errno, "cannot read %s: %m", host);
        int r = 0;
        for (int i = 0; i < n; i++) {
                if (r == 0 && !streq(ents[i]->d_name, ".") && !streq(ents[i]->d_name, ".."))
                        r = merge_host_entry(c, dir, host, ents[i]->d_name);
                free(ents[i]);
        }
        free(ents);
        return r;
}

/* --- boot ---------------------------------------------------------------------------------- */

/* A name for the new (hidden) boot catalog that no file of the disc has: genisoimage leaves an
 * empty boot.catalog in its UDF tree. */
static const char *catalog_name(IsoImage *img) {
        static const char *const names[] = { "/boot.catalog", "/boot.cat", "/vmcloak.boot.catalog" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (!child_nocase(iso_image_get_root(img), names[i] + 1))
                        return names[i];
        return "/vmcloak.boot.catalog.0";
}

static int add_boot(struct add_ctx *c, const struct win_boot_image *b, bool first) {
        const char *src = win_source_path(c->src);
        if (!b->present)
                return 0;
        if (!b->path)
                return log_error_errno(-EINVAL, "%s: its %s boot image (sector %u) is no file of the disc; cannot carry it "
                                       "over", src, b->platform_id == 0xEF ? "UEFI" : "BIOS", b->lba);
        if (b->media_type != 0)
                return log_error_errno(-EINVAL, "%s: its %s boot image %s uses floppy or hard disk emulation; Windows media "
                                       "boot without emulation", src, b->platform_id == 0xEF ? "UEFI" : "BIOS", b->path);
        _cleanup_free_ char *abs = strdup_printf("/%s", b->path);
        if (!abs)
                return log_oom();
        ElToritoBootImage *boot = NULL;
        int r = first ? iso_image_set_boot_image(c->img, abs, ELTORITO_NO_EMUL, catalog_name(c->img), &boot)
                      : iso_image_add_boot_image(c->img, abs, ELTORITO_NO_EMUL, 0, &boot);
        if (r < 0) {
                log_error("cannot make the ISO bootable from %s: %s", abs, libisofs_reason(r, c->why, sizeof c->why));
                return -EINVAL;
        }
        el_torito_set_boot_platform_id(boot, b->platform_id);
        el_torito_set_load_size(boot, (short)b->load_sectors);
        if (b->load_segment)
                el_torito_set_load_seg(boot, (short)b->load_segment);
        return 0;
}

int win_iso_combine(struct win_source *src, const char *config_dir, const char *out, const struct win_iso_opts *opts) {
        if (config_dir && !is_dir(config_dir))
                return log_error_errno(-ENOENT, "%s: no such folder", config_dir);
        struct win_boot_images boot = {};
        int r = win_source_boot_images(src, &boot);
        if (r < 0)
                return r;
        if (iso_init() < 0) {
                win_boot_images_done(&boot);
                return log_error_errno(-EIO, "cannot initialise libisofs");
        }
        iso_set_msgs_severities((char *)"SORRY", (char *)"NEVER", (char *)"vmcloak");
        const char *volid = opts && opts->volume_id ? opts->volume_id
                            : win_source_label(src) ? win_source_label(src) : "VMCLOAK";
        IsoImage *img = NULL;
        if (iso_image_new(volid, &img) < 0) {
                win_boot_images_done(&boot);
                return log_oom();
        }
        iso_image_set_data_preparer_id(img, "vmcloak");
        iso_image_set_application_id(img, "vmcloak");
        iso_image_set_ignore_aclea(img, 3);
        struct add_ctx c = { .img = img, .src = src, .skip = boot.catalog_path };
        r = win_source_walk(src, "", add_source_entry, &c);
        if (r == -ENOMEM)
                r = log_oom();
        else if (r == -ENOENT)
                r = log_error_errno(-EIO, "%s: its tree changed while it was read", win_source_path(src));
        if (r == 0 && config_dir) {
                /* libisofs takes host files by absolute path only. */
                _cleanup_free_ char *abs = realpath(config_dir, NULL);
                r = abs ? merge_host_dir(&c, iso_image_get_root(img), abs)
                        : log_error_errno(-errno, "cannot read %s: %m", config_dir);
        }
        /* BIOS first: the initial entry is what BIOS firmware boots. */
        if (r == 0)
                r = add_boot(&c, boot.bios.present ? &boot.bios : &boot.uefi, true);
        if (r == 0 && boot.bios.present)
                r = add_boot(&c, &boot.uefi, false);
        if (r == 0)
                iso_image_set_boot_catalog_hidden(img, LIBISO_HIDE_ON_RR | LIBISO_HIDE_ON_JOLIET | LIBISO_HIDE_ON_1999 |
                                                       LIBISO_HIDE_ON_HFSPLUS | LIBISO_HIDE_ON_FAT);
        IsoWriteOpts *wo = NULL;
        if (r == 0 && iso_write_opts_new(&wo, 2) < 0)
                r = log_oom();
        if (r == 0) {
                iso_write_opts_set_iso_level(wo, 3);
                iso_write_opts_set_rockridge(wo, 1);
                iso_write_opts_set_joliet(wo, 1);
                iso_write_opts_set_joliet_long_names(wo, 1);
                iso_write_opts_set_joliet_longer_paths(wo, 1);
                iso_write_opts_set_allow_deep_paths(wo, 1);
                /* Joliet names as Windows writes them ("bootmgr", not "bootmgr.;1"): VMCloak's
                 * genisoimage -N, oscdimg's default. */
                iso_write_opts_set_omit_version_numbers(wo, 2);
                iso_write_opts_set_no_force_dots(wo, 2);
                r = libisofs_write_file(img, wo, out);
        }
        if (wo)
                iso_write_opts_free(wo);
        iso_image_unref(img);
        win_boot_images_done(&boot);
        return r;
}
