/* ISO image writing through libisofs: the tree is assembled from host files, libisofs
 * lays it out and a burn_source streams the result into a file. */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <stdint.h>
#include <sys/types.h>
#include <libisofs/libisofs.h>

#include "guest/iso.h"
#include "guest/isowrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"

const char *libisofs_reason(int code, char *buf, size_t size) {
        int err = 0, imgid = 0;
        char msg[4096] = "", sev[80] = "";
        if (iso_obtain_msgs((char *)"SORRY", &err, &imgid, msg, sev) > 0 && *msg) {
                snprintf(buf, size, "%s", msg);
                size_t l = strlen(buf);
                while (l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == ' '))
                        buf[--l] = 0;
                return buf;
        }
        return iso_error_to_msg(code);
}

/* The directory node for an ISO path's parent, creating missing directories. */
static int parent_dir(IsoImage *img, const char *iso_path, IsoDir **ret, const char **ret_leaf) {
        IsoDir *dir = iso_image_get_root(img);
        size_t start = strspn(iso_path, "/");
        for (;;) {
                const char *slash = strchr(iso_path + start, '/');
                if (!slash)
                        break;
                size_t len = (size_t)(slash - (iso_path + start));
                if (len > 0) {
                        _cleanup_free_ char *name = strndup(iso_path + start, len);
                        if (!name)
                                return -ENOMEM;
                        IsoNode *node = NULL;
                        if (iso_dir_get_node(dir, name, &node) == 1) {
                                if (iso_node_get_type(node) != LIBISO_DIR)
                                        return -ENOTDIR;
                                dir = (IsoDir *)node;
                        } else {
                                IsoDir *nd = NULL;
                                if (iso_tree_add_new_dir(dir, name, &nd) < 0)
                                        return -EINVAL;
                                iso_node_set_permissions((IsoNode *)nd, 0555);
                                dir = nd;
                        }
                }
                start += len + 1;
        }
        *ret = dir;
        *ret_leaf = iso_path + start;
        return 0;
}

static int add_entry(IsoImage *img, const struct guest_iso_entry *e) {
        IsoDir *dir;
        const char *leaf;
        int r = parent_dir(img, e->iso_path, &dir, &leaf);
        if (r < 0) {
                log_error("cannot place %s in the ISO: %s", e->iso_path, strerror(-r));
                return r;
        }
        char why[512];
        if (access(e->host_path, R_OK) < 0)
                return log_error_errno(-errno, "cannot read %s for the ISO: %m", e->host_path);
        if (is_dir(e->host_path)) {
                IsoDir *nd = NULL;
                IsoNode *existing = NULL;
                if (*leaf && iso_dir_get_node(dir, leaf, &existing) == 1 && iso_node_get_type(existing) == LIBISO_DIR)
                        nd = (IsoDir *)existing;
                else if (!*leaf)
                        nd = dir;
                else if ((r = iso_tree_add_new_dir(dir, leaf, &nd)) < 0) {
                        log_error("cannot add the folder %s to the ISO: %s", e->iso_path, libisofs_reason(r, why, sizeof why));
                        return -EINVAL;
                }
                r = iso_tree_add_dir_rec(img, nd, e->host_path);
        } else {
                IsoNode *node = NULL;
                r = iso_tree_add_new_node(img, dir, leaf, e->host_path, &node);
                if (r >= 0) {
                        iso_node_set_uid(node, 0);
                        iso_node_set_gid(node, 0);
                }
        }
        if (r < 0) {
                log_error("cannot add %s to the ISO as %s: %s", e->host_path, e->iso_path,
                          libisofs_reason(r, why, sizeof why));
                return r == (int)ISO_NODE_NAME_NOT_UNIQUE ? -EEXIST : -EINVAL;
        }
        return 0;
}

static int write_image(IsoImage *img, IsoWriteOpts *wo, int fd) {
        char why[512];
        int r;
        struct burn_source *src = NULL;
        /* A file that cannot be read is a MISHAP to libisofs, which would write zeros in its
         * place and go on: stop the image instead. */
        iso_set_abort_severity((char *)"MISHAP");
        r = iso_image_create_burn_source(img, wo, &src);
        if (r < 0) {
                iso_set_abort_severity((char *)"FAILURE");
                log_error("cannot lay out the ISO: %s", libisofs_reason(r, why, sizeof why));
                return -EINVAL;
        }
        unsigned char buf[2048 * 32];
        int ret = 0;
        /* libisofs's burn_source answers a read that runs past the end of the image with EOF
         * and no data, so the last read must ask for exactly what is left. */
        off_t left = src->get_size(src);
        while (left > 0) {
                if (interrupted()) {
                        ret = -ECANCELED;
                        break;
                }
                int k = src->read_xt(src, buf, left < (off_t)sizeof buf ? (int)left : (int)sizeof buf);
                if (k == 0) {
                        log_error("writing the ISO failed: %s", libisofs_reason(ISO_IMAGE_WRITE_CANCELED, why, sizeof why));
                        ret = -EIO;
                        break;
                }
                if (k < 0) {
                        log_error("writing the ISO failed: %s", libisofs_reason(k, why, sizeof why));
                        ret = -EIO;
                        break;
                }
                for (int off = 0; off < k;) {
                        ssize_t w = write(fd, buf + off, (size_t)(k - off));
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                ret = log_error_errno(-errno, "cannot write the ISO: %m");
                                break;
                        }
                        off += (int)w;
                }
                if (ret < 0)
                        break;
                left -= k;
        }
        if (ret < 0)
                src->cancel(src);
        src->free_data(src);
        free(src);
        iso_set_abort_severity((char *)"FAILURE");   /* libisofs's default */
        return ret;
}

int guest_write_atomic(const char *out, bool replace, int (*fill)(int fd, void *userdata), void *userdata) {
        _cleanup_free_ char *tmpl = strdup_printf("%s.tmpXXXXXX", out);
        if (!tmpl)
                return log_oom();
        _cleanup_close_ int fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot create %s: %m", out);
        _cleanup_unlink_ char *tmp = TAKE_PTR(tmpl);
        int r = fill(fd, userdata);
        if (r < 0)
                return r;
        if (fchmod(fd, 0644) < 0)
                return log_error_errno(-errno, "cannot set the mode of %s: %m", out);
        if (close(TAKE_FD(fd)) < 0)
                return log_error_errno(-errno, "cannot write %s: %m", out);
        /* link() never replaces: a file made meanwhile stays, and the temporary one goes. */
        if (replace ? rename(tmp, out) < 0 : link(tmp, out) < 0)
                return log_error_errno(-errno, "cannot create %s: %m", out);
        if (replace)
                DISARM(tmp);
        return 0;
}

struct image_job {
        IsoImage *img;
        IsoWriteOpts *wo;
};

static int fill_image(int fd, void *userdata) {
        struct image_job *j = userdata;
        return write_image(j->img, j->wo, fd);
}

int libisofs_write_file(IsoImage *img, IsoWriteOpts *wo, const char *out) {
        struct image_job j = { .img = img, .wo = wo };
        return guest_write_atomic(out, true, fill_image, &j);
}

int guest_iso_build(const char *out, const struct guest_iso_opts *o, const struct guest_iso_entry *entries,
                    size_t n_entries) {
        if (iso_init() < 0) {
                log_error("cannot initialise libisofs");
                return -EIO;
        }
        /* Messages come back through iso_obtain_msgs() into our own error line. */
        iso_set_msgs_severities((char *)"SORRY", (char *)"NEVER", (char *)"vmcloak");
        IsoImage *img = NULL;
        int r = iso_image_new(o->volume_id ? o->volume_id : "VMCLOAK", &img);
        if (r < 0) {
                iso_finish();
                return log_oom();
        }
        iso_image_set_data_preparer_id(img, "vmcloak");
        iso_image_set_application_id(img, "vmcloak");
        /* Hidden host files (xattrs, ACLs) have no business on install media. */
        iso_image_set_ignore_aclea(img, 3);
        int ret = 0;
        for (size_t i = 0; i < n_entries && ret == 0; i++)
                ret = add_entry(img, &entries[i]);
        if (ret == 0 && o->boot) {
                ElToritoBootImage *boot = NULL;
                char why[512];
                _cleanup_free_ char *bi = strdup_printf("/%s", o->boot->image + (o->boot->image[0] == '/'));
                _cleanup_free_ char *bc = strdup_printf("/%s", o->boot->catalog + (o->boot->catalog[0] == '/'));
                if (!bi || !bc)
                        ret = log_oom();
                else if ((r = iso_image_set_boot_image(img, bi, ELTORITO_NO_EMUL, bc, &boot)) < 0) {
                        log_error("cannot make the ISO bootable from %s: %s", bi, libisofs_reason(r, why, sizeof why));
                        ret = -EINVAL;
                } else {
                        el_torito_set_load_size(boot, (short)(o->boot->load_sectors ? o->boot->load_sectors : 4));
                        if (o->boot->boot_info_table)
                                el_torito_set_isolinux_options(boot, 1, 0);
                }
        }
        IsoWriteOpts *wo = NULL;
        if (ret == 0 && iso_write_opts_new(&wo, 1) < 0)   /* level 3, Rock Ridge */
                ret = log_oom();
        if (ret == 0) {
                iso_write_opts_set_rockridge(wo, 1);
                iso_write_opts_set_joliet(wo, o->joliet);
                /* 300 KiB of padding like xorriso's default: ISOLINUX (and Linux read-ahead) read
                 * past the end of the last file, and a read beyond the medium fails the boot. */
                iso_write_opts_set_tail_blocks(wo, 150);
                ret = libisofs_write_file(img, wo, out);
        }
        if (wo)
                iso_write_opts_free(wo);
        iso_image_unref(img);
        iso_finish();
        return ret;
}
