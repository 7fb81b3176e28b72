/* export/import --bundle: a local snapshot VM in one pax tar, moved to another home or host. */
#include "pipeline/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/download.h"
#include "pipeline/image.h"
#include "core/interrupt.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "machine/cuckoo.h"
#include "pipeline/bundlefmt.h"
#include "pipeline/fwstate.h"
#include "pipeline/machineinfo.h"

#define CHUNK (1u << 20)

static void archive_read_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}
static void archive_write_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}
#define _cleanup_archive_read_ _cleanup_(archive_read_freep)
#define _cleanup_archive_write_ _cleanup_(archive_write_freep)
static void manifest_donep(struct bundle_manifest *m) { bundle_manifest_done(m); }

/* What of a VM's folder does not travel: logs, restore's disposable overlays, serial files,
 * swtpm's lock. */
static bool vm_file_stays(const char *name, const char *vmname) {
        const char *rest = startswith(name, vmname);
        return streq(name, "qemu.log") || streq(name, "serial.log") || streq(name, "restore.log") ||
               startswith(name, "disposable-") || streq(name, ".lock") || (rest && streq(rest, ".com1"));
}

/* The files under dir (recursively, regular files only; sorted per folder) as member names
 * prefix/relative, with their host paths beside. vmname: the VM whose folder dir is ("" below). */
static int list_tree(const char *dir, const char *prefix, const char *vmname, char ***names, char ***paths) {
        struct dirent **de = NULL;
        int n = scandir(dir, &de, NULL, alphasort);
        if (n < 0)
                return log_error_errno(-errno, "cannot read %s: %m", dir);
        int r = 0;
        for (int i = 0; i < n; i++) {
                const char *e = de[i]->d_name;
                if (r < 0 || streq(e, ".") || streq(e, "..") || vm_file_stays(e, vmname))
                        continue;
                _cleanup_free_ char *p = path_join(dir, e), *m = strdup_printf("%s/%s", prefix, e);
                struct stat st;
                if (!p || !m)
                        r = log_oom();
                else if (lstat(p, &st) < 0)
                        r = log_error_errno(-errno, "cannot read %s: %m", p);
                else if (S_ISDIR(st.st_mode))
                        r = list_tree(p, m, "", names, paths);
                else if (S_ISREG(st.st_mode)) {
                        if (strv_push(names, TAKE_PTR(m)) < 0 || strv_push(paths, TAKE_PTR(p)) < 0)
                                r = log_oom();
                } else
                        log_warning("%s is no regular file; not bundled", p);
        }
        for (int i = 0; i < n; i++)
                free(de[i]);
        free(de);
        return r;
}

/* The image's files that travel with --with-image: the disk, its UEFI vars, its TPM state. */
static int list_image(const struct image *img, char ***names, char ***paths) {
        _cleanup_free_ char *disk = strdup_printf("image/%s.qcow2", img->name);
        _cleanup_free_ char *nvram = fwstate_nvram_path(img->path), *tpm = fwstate_tpm_path(img->path);
        if (!disk || !nvram || !tpm || strv_extend(names, disk) < 0 || strv_extend(paths, img->path) < 0)
                return log_oom();
        if (path_exists(nvram) && (strv_extendf(names, "%s.nvram", disk) < 0 || strv_extend(paths, nvram) < 0))
                return log_oom();
        if (is_dir(tpm)) {
                _cleanup_free_ char *m = strdup_printf("%s.tpm", disk);
                if (!m)
                        return log_oom();
                return list_tree(tpm, m, "", names, paths);
        }
        return 0;
}

/* Copy path's data into the archive's current member, checking Ctrl-C between chunks. */
static int write_member(struct archive *a, const char *name, const char *path, uint64_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot read %s: %m", path);
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return log_oom();
        archive_entry_set_pathname(e, name);
        archive_entry_set_size(e, (la_int64_t)size);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, time(NULL), 0);
        int ar = archive_write_header(a, e);
        archive_entry_free(e);
        if (ar != ARCHIVE_OK) {
                log_error("cannot write the bundle: %s", archive_error_string(a));
                return -EIO;
        }
        _cleanup_free_ char *buf = malloc(CHUNK);
        if (!buf)
                return log_oom();
        uint64_t done = 0;
        while (done < size) {
                if (interrupted())
                        return -ECANCELED;
                ssize_t n = read(fd, buf, CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return log_error_errno(-errno, "cannot read %s: %m", path);
                if (n == 0 || done + (uint64_t)n > size) {
                        log_error("%s changed while it was bundled; try again when nothing writes it", path);
                        return -EIO;
                }
                if (archive_write_data(a, buf, (size_t)n) != n) {
                        log_error("cannot write the bundle: %s", archive_error_string(a));
                        return -EIO;
                }
                done += (uint64_t)n;
        }
        return 0;
}

static int export_checks(struct pipeline *pl, const struct bundle_export_request *req, struct snapshot **ret_s,
                         struct image **ret_img, char **ret_vmdir) {
        int r = repo_snapshot_get(pl->repo, req->vmname, ret_s);
        if (r == -ENOENT) {
                log_error("no snapshot VM named '%s' (see 'vmcloak list snapshots')", req->vmname);
                return r;
        }
        if (r < 0)
                return r;
        struct snapshot *s = *ret_s;
        if (s->libvirt_uri) {
                log_error("%s lives as a libvirt domain on %s: a bundle carries local VMs only; use 'vmcloak export "
                          "--cape %s' for CAPE", s->vmname, s->libvirt_uri, s->vmname);
                return -EINVAL;
        }
        if (!s->image_name || repo_image_get(pl->repo, s->image_name, ret_img) < 0) {
                log_error("the image of %s is gone from the repository; its overlay cannot travel without it",
                          s->vmname);
                return -ENOENT;
        }
        if (!(*ret_vmdir = paths_vm_dir(req->vmname)))
                return log_oom();
        _cleanup_free_ char *mi = path_join(*ret_vmdir, "machineinfo.json");
        if (!mi)
                return log_oom();
        json_object *root = json_object_from_file(mi);
        const char *why = "it cannot be read";
        r = root && machineinfo_validate(root, &why) == 0 ? 0 : -EINVAL;
        json_object_put(root);
        if (r < 0)
                log_error("%s is not usable (%s): recreate the VM ('vmcloak delvm %s', 'vmcloak snapshot')", mi, why,
                          req->vmname);
        return r;
}

/* The bundle of m's files (paths: their host paths, in m's order) into fd. */
static int export_write(const struct bundle_manifest *m, char *const *paths, int fd) {
        _cleanup_free_ char *json = NULL;
        if (bundle_manifest_to_json(m, &json) < 0)
                return log_oom();
        _cleanup_archive_write_ struct archive *a = archive_write_new();
        if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK || archive_write_open_fd(a, fd) != ARCHIVE_OK) {
                log_error("cannot start the bundle: %s", a ? archive_error_string(a) : "out of memory");
                return -EIO;
        }
        /* bundle.json first: import decides from it before it writes anything. */
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return log_oom();
        archive_entry_set_pathname(e, BUNDLE_MANIFEST);
        archive_entry_set_size(e, (la_int64_t)strlen(json));
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, time(NULL), 0);
        bool ok = archive_write_header(a, e) == ARCHIVE_OK &&
                  archive_write_data(a, json, strlen(json)) == (la_ssize_t)strlen(json);
        archive_entry_free(e);
        if (!ok) {
                log_error("cannot write the bundle: %s", archive_error_string(a));
                return -EIO;
        }
        int r = 0;
        for (size_t i = 0; i < m->n_files && r == 0; i++)
                r = write_member(a, m->files[i].name, paths[i], m->files[i].size);
        if (r == 0 && archive_write_close(a) != ARCHIVE_OK) {
                log_error("cannot finish the bundle: %s", archive_error_string(a));
                r = -EIO;
        }
        return r;
}

/* The manifest's hashes and file list, then the tar as FILE.part, linked to FILE at the end. */
static int export_run(const struct bundle_export_request *req, struct bundle_manifest *m, const struct image *img,
                      const char *vmdir) {
        char sha1[SHA1_HEX_LEN + 1];
        int r = image_sha256(img, m->image_sha256);
        if (r < 0)
                return r;
        m->image_size = file_size_or_zero(img->path);
        _cleanup_strv_free_ char **names = NULL, **paths = NULL;
        if ((r = list_tree(vmdir, "vm", req->vmname, &names, &paths)) < 0 ||
            (req->with_image && (r = list_image(img, &names, &paths)) < 0))
                return r;
        for (size_t i = 0; names && names[i]; i++) {
                char sum[SHA256_HEX_LEN + 1];
                if (streq(paths[i], img->path))
                        memcpy(sum, m->image_sha256, sizeof sum);
                else if ((r = download_hash_file(paths[i], sum, sha1)) < 0)
                        return r;
                if (bundle_manifest_add_file(m, names[i], file_size_or_zero(paths[i]), sum) < 0)
                        return log_oom();
        }
        bool to_stdout = streq(req->file, "-");
        _cleanup_free_ char *part = to_stdout ? NULL : strdup_printf("%s.part", req->file);
        if (!to_stdout && !part)
                return log_oom();
        _cleanup_close_ int fd = to_stdout ? dup(STDOUT_FILENO) : open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "cannot create %s: %m", to_stdout ? "the bundle on stdout" : part);
        _cleanup_unlink_ char *made = TAKE_PTR(part);
        log_info("Bundling %s (%zu files%s; image %s, SHA-256 %.12s...)", req->vmname, m->n_files,
                 req->with_image ? ", the image's with them" : "", img->name, m->image_sha256);
        r = export_write(m, paths, fd);
        if (r == 0 && !to_stdout && fsync(fd) < 0)
                r = log_error_errno(-errno, "cannot write %s: %m", made);
        /* link(): never replaces a FILE that appeared meanwhile. */
        if (r == 0 && !to_stdout && link(made, req->file) < 0)
                r = log_error_errno(-errno, "cannot create %s: %m", req->file);
        if (r == 0 && to_stdout)
                DISARM(made);
        return r;
}

int pipeline_bundle_export(struct pipeline *pl, const struct bundle_export_request *req) {
        int64_t t0 = now_ms();
        _cleanup_name_lock_ struct name_lock *vm_lock = NULL, *image_lock = NULL;
        int r = name_lock_or_complain(LOCK_VM, req->vmname, LOCK_SHARED, "in use", &vm_lock);
        if (r < 0)
                return r;
        bool to_stdout = streq(req->file, "-");
        if (!to_stdout && path_exists(req->file)) {
                log_error("%s exists; vmcloak does not overwrite it: remove it or pick another FILE", req->file);
                return -EEXIST;
        }
        _cleanup_snapshot_ struct snapshot *s = NULL;
        _cleanup_image_ struct image *img = NULL;
        _cleanup_free_ char *vmdir = NULL;
        if ((r = export_checks(pl, req, &s, &img, &vmdir)) < 0)
                return r;
        if ((r = name_lock_or_complain(LOCK_IMAGE, img->name, LOCK_SHARED, "in use", &image_lock)) < 0)
                return r;
        _cleanup_(manifest_donep) struct bundle_manifest m = { .format = BUNDLE_FORMAT, .with_image = req->with_image };
        if (!(m.vmcloak_version = strdup(VMCLOAK_VERSION)) || !(m.home = strdup(paths_home())) ||
            !(m.vmdir = strdup(vmdir)))
                return log_oom();
        m.vm = *s;        /* borrowed: given back before m is done */
        m.image = *img;
        r = export_run(req, &m, img, vmdir);
        m.vm = (struct snapshot){ 0 };
        m.image = (struct image){ 0 };
        if (r == -ECANCELED || (r < 0 && interrupted())) {
                log_error("export of %s interrupted; no bundle was written", req->vmname);
                return -ECANCELED;
        }
        if (r < 0)
                return r;
        char sz[32];
        log_info("%s: %s bundled, %s in %.1f s%s", to_stdout ? "stdout" : req->file, req->vmname,
                 to_stdout ? "written" : format_bytes(sz, sizeof sz, file_size_or_zero(req->file)),
                 (double)(now_ms() - t0) / 1000.0,
                 req->with_image ? "" : "; the other home needs the same image (found there by its SHA-256)");
        return 0;
}

/* ---- import ---- */

struct import_ctx {
        struct pipeline *pl;
        const struct bundle_import_request *req;
        struct bundle_manifest m;
        const char *vmname;
        struct image *img;             /* the local image the VM goes on */
        bool new_image;                /* recorded from the bundle's */
        char *image_name;
        char *tmp;                     /* <home>/vms/qemu/.NAME.bundle-PID */
        struct name_lock *vm_lock, *image_lock;
};

static void import_ctx_done(struct import_ctx *x) {
        bundle_manifest_done(&x->m);
        image_free(x->img);
        free(x->image_name);
        if (x->tmp)
                rm_rf(x->tmp);
        free(x->tmp);
        name_unlock(x->vm_lock);
        name_unlock(x->image_lock);
}

static int damaged(const struct import_ctx *x, const char *what) {
        log_error("%s is damaged (%s); export it again", x->req->file, what);
        return -EBADMSG;
}

/* The first member must be bundle.json of a format this vmcloak reads. */
static int read_manifest(struct import_ctx *x, struct archive *a) {
        struct archive_entry *e;
        int ar = archive_read_next_header(a, &e);
        if (ar == ARCHIVE_FATAL || ar == ARCHIVE_EOF || (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)) {
                log_error("%s is not a bundle of 'vmcloak export --bundle' (%s)", x->req->file,
                          ar == ARCHIVE_EOF ? "an empty archive" : archive_error_string(a));
                return -EINVAL;
        }
        const char *name = archive_entry_pathname(e);
        la_int64_t size = archive_entry_size(e);
        if (!name || !streq(name, BUNDLE_MANIFEST) || size <= 0 || size > (la_int64_t)BUNDLE_MANIFEST_MAX) {
                log_error("%s is not a bundle of 'vmcloak export --bundle' (its first member is not %s)", x->req->file,
                          BUNDLE_MANIFEST);
                return -EINVAL;
        }
        _cleanup_free_ char *text = calloc(1, (size_t)size + 1);
        if (!text)
                return log_oom();
        la_ssize_t got = 0;
        while (got < size) {
                la_ssize_t n = archive_read_data(a, text + got, (size_t)(size - got));
                if (n <= 0)
                        return damaged(x, n < 0 ? archive_error_string(a) : "bundle.json is cut short");
                got += n;
        }
        char reason[160];
        int r = bundle_manifest_from_json(text, &x->m, reason, sizeof reason);
        if (r == -EPROTONOSUPPORT) {
                log_error("%s is a bundle of format %d, made by a newer vmcloak; this one (%s) reads format %d: "
                          "update vmcloak", x->req->file, x->m.format, VMCLOAK_VERSION, BUNDLE_FORMAT);
                return -EPROTONOSUPPORT;
        }
        if (r == -EINVAL) {
                log_error("%s is not a bundle of 'vmcloak export --bundle': %s", x->req->file, reason);
                return r;
        }
        return r < 0 ? log_oom() : 0;
}

/* The local image whose qcow2 has the bundle's size and SHA-256: 0 and *ret, -ENOENT when none. */
static int find_image_by_hash(struct import_ctx *x, const char *only, struct image **ret) {
        struct image **l = NULL;
        size_t n = 0;
        int r = repo_image_list(x->pl->repo, &l, &n);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < n && r == -ENOENT; i++) {
                if ((only && !streq(l[i]->name, only)) || file_size_or_zero(l[i]->path) != x->m.image_size)
                        continue;
                char sum[SHA256_HEX_LEN + 1];
                int h = image_sha256(l[i], sum);
                if (h < 0)
                        r = h;
                else if (streq(sum, x->m.image_sha256)) {
                        *ret = TAKE_PTR(l[i]);
                        r = 0;
                }
        }
        image_list_free(l, n);
        return r;
}

/* Which local image the VM's overlay goes on, before anything is written. */
static int pick_image(struct import_ctx *x) {
        const struct bundle_import_request *req = x->req;
        const struct image *bi = &x->m.image;
        int r;
        if (req->image) {
                _cleanup_image_ struct image *named = NULL;
                r = repo_image_get(x->pl->repo, req->image, &named);
                if (r == 0) {
                        r = find_image_by_hash(x, req->image, &x->img);
                        if (r == -ENOENT)
                                log_error("image %s here is not the image %s's overlay was made on (%s of %llu bytes with "
                                          "SHA-256 %s); pick another with --image, or leave it out to find it by hash",
                                          req->image, x->m.vm.vmname, bi->name, (unsigned long long)x->m.image_size,
                                          x->m.image_sha256);
                        return r;
                }
                if (r != -ENOENT)
                        return r;
                if (!x->m.with_image) {
                        log_error("no image named '%s' here (see 'vmcloak list images')", req->image);
                        return -ENOENT;
                }
        } else if ((r = find_image_by_hash(x, NULL, &x->img)) != -ENOENT)
                return r;
        const char *name = req->image ? req->image : bi->name;
        if (!x->m.with_image) {
                log_error("no image here has the disk of image %s (%llu bytes, SHA-256 %s) that %s is an overlay of: "
                          "import that image first, or export the VM with 'vmcloak export --bundle %s FILE --with-image'",
                          bi->name, (unsigned long long)x->m.image_size, x->m.image_sha256, x->m.vm.vmname,
                          x->m.vm.vmname);
                return -ENOENT;
        }
        if (vcheck_image_name(name) < 0)
                return -EINVAL;
        _cleanup_image_ struct image *clash = NULL;
        _cleanup_free_ char *disk = paths_image_disk(name);
        if (!disk)
                return log_oom();
        if (repo_image_get(x->pl->repo, name, &clash) == 0 || path_exists(disk)) {
                log_error("image %s exists here with another disk than the bundle's; record the bundle's image under "
                          "another name with --image NEWNAME", name);
                return -EEXIST;
        }
        x->new_image = true;
        return (x->image_name = strdup(name)) ? 0 : log_oom();
}

/* The VM keeps its address (it is inside its memory snapshot). A bridged VM whose address another
 * row here has would answer for two machines; a user-network one has its own network. */
static int check_address(struct import_ctx *x) {
        const char *ip = x->m.vm.ipaddr;
        _cleanup_strv_free_ char **used = NULL;
        int r = repo_used_ips(x->pl->repo, &used);
        if (r < 0 || !ip || !strv_contains(used, ip))
                return r;
        const char *netmode = x->new_image ? x->m.image.netmode : x->img->netmode;
        if (netmode && streq(netmode, "user")) {
                log_warning("%s keeps its address %s, which a VM or image here has too (fine on QEMU's user "
                            "network, where each VM has its own)", x->vmname, ip);
                return 0;
        }
        log_error("%s's address %s (in its memory snapshot) is used by another VM or image here; on a bridge two "
                  "machines cannot share it: make a new VM here with 'vmcloak snapshot' instead", x->vmname, ip);
        return -EADDRINUSE;
}

static int import_checks(struct import_ctx *x) {
        const struct bundle_manifest *m = &x->m;
        if (m->vm.libvirt_uri) {
                log_error("%s holds %s, a VM of the libvirt host %s: a bundle carries local VMs only", x->req->file,
                          m->vm.vmname, m->vm.libvirt_uri);
                return -EINVAL;
        }
        x->vmname = x->req->vmname ? x->req->vmname : m->vm.vmname;
        if (vcheck_vm_name(x->vmname) < 0)
                return -EINVAL;
        int r = name_lock_or_complain(LOCK_VM, x->vmname, LOCK_EXCLUSIVE, "in use", &x->vm_lock);
        if (r < 0)
                return r;
        _cleanup_snapshot_ struct snapshot *s = NULL;
        _cleanup_free_ char *vmdir = paths_vm_dir(x->vmname);
        if (!vmdir)
                return log_oom();
        if (repo_snapshot_get(x->pl->repo, x->vmname, &s) == 0 || path_exists(vmdir)) {
                log_error("a snapshot VM named %s exists here%s; import under another name with --name NAME",
                          x->vmname, s ? "" : " (its folder does)");
                return -EEXIST;
        }
        if ((r = repo_require_current(x->pl->repo)) < 0 || (r = pick_image(x)) < 0)
                return r;
        if ((r = check_address(x)) < 0)
                return r;
        const char *iname = x->new_image ? x->image_name : x->img->name;
        return name_lock_or_complain(LOCK_IMAGE, iname, x->new_image ? LOCK_EXCLUSIVE : LOCK_SHARED, "in use",
                                     &x->image_lock);
}

static void hex(const unsigned char *d, unsigned n, char *out) {
        for (unsigned i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", d[i]);
}

/* One member written to path, its size and SHA-256 checked against the manifest's. */
static int extract_member(struct import_ctx *x, struct archive *a, const struct bundle_file *f, const char *path) {
        _cleanup_free_ char *dir = path_dirname(path);
        int r = dir ? mkdir_p(dir, 0755) : log_oom();
        if (r < 0)
                return r == -ENOMEM ? r : log_error_errno(r, "cannot create %s: %m", dir);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "cannot create %s: %m", path);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(ctx);
                return log_oom();
        }
        uint64_t total = 0;
        r = 0;
        for (;;) {
                const void *buf;
                size_t n;
                la_int64_t off;
                if (interrupted()) {
                        r = -ECANCELED;
                        break;
                }
                int ar = archive_read_data_block(a, &buf, &n, &off);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar != ARCHIVE_OK) {
                        r = damaged(x, archive_error_string(a));
                        break;
                }
                /* Sparse members come as blocks at offsets, in order; the holes read back as zeros.
                 * A block before what is written, or past the size bundle.json lists, is no
                 * member vmcloak wrote (and would rewind the file under the hash, or spin). */
                if (off < 0 || (uint64_t)off < total || (uint64_t)off > f->size || n > f->size - (uint64_t)off) {
                        char what[256];
                        snprintf(what, sizeof what, "member %s has data at bytes %lld-%llu, outside the %llu bytes "
                                 "bundle.json lists or before %llu bytes already read", f->name, (long long)off,
                                 (unsigned long long)off + n, (unsigned long long)f->size, (unsigned long long)total);
                        r = damaged(x, what);
                        break;
                }
                if ((uint64_t)off != total) {
                        static const char zeros[4096];
                        for (uint64_t z = total; z < (uint64_t)off && r == 0;) {
                                size_t k = (uint64_t)off - z < sizeof zeros ? (size_t)((uint64_t)off - z) : sizeof zeros;
                                EVP_DigestUpdate(ctx, zeros, k);
                                z += k;
                        }
                        if (lseek(fd, off, SEEK_SET) < 0)
                                r = log_error_errno(-errno, "cannot write %s: %m", path);
                        total = (uint64_t)off;
                }
                if (r == 0 && (r = write_all(fd, buf, n)) < 0)
                        log_error_errno(r, "cannot write %s: %m", path);
                if (r < 0)
                        break;
                EVP_DigestUpdate(ctx, buf, n);
                total += n;
        }
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        EVP_DigestFinal_ex(ctx, md, &mdlen);
        EVP_MD_CTX_free(ctx);
        if (r < 0)
                return r;
        if (ftruncate(fd, (off_t)total) < 0)
                return log_error_errno(-errno, "cannot write %s: %m", path);
        char sum[65];
        hex(md, mdlen, sum);
        if (total != f->size || !streq(sum, f->sha256)) {
                char what[256];
                snprintf(what, sizeof what, "%s is not what bundle.json says: %llu bytes, SHA-256 %.12s..., expected "
                         "%llu bytes, %.12s...", f->name, (unsigned long long)total, sum, (unsigned long long)f->size,
                         f->sha256);
                return damaged(x, what);
        }
        return 0;
}

/* Room in the home's file system (dir: where the members go) for the members to unpack (the
 * image's only when it is new here), by the sizes bundle.json lists: -ENOSPC and one line. */
static int check_space(const struct import_ctx *x, const char *dir) {
        uint64_t need = 0;
        for (size_t i = 0; i < x->m.n_files; i++)
                if (x->new_image || !startswith(x->m.files[i].name, "image/"))
                        need = x->m.files[i].size > UINT64_MAX - need ? UINT64_MAX : need + x->m.files[i].size;
        struct statvfs st;
        if (statvfs(dir, &st) < 0)
                return log_error_errno(-errno, "cannot read the free space of %s: %m", dir);
        uint64_t avail = (uint64_t)st.f_bavail * st.f_frsize;
        if (need > avail) {
                char n[32], a[32];
                log_error("%s needs %s to unpack; %s has %s free: free some space or import into another home",
                          x->req->file, format_bytes(n, sizeof n, need), dir, format_bytes(a, sizeof a, avail));
                return -ENOSPC;
        }
        return 0;
}

/* Where member name goes under the temp folder. */
static char *member_path(const struct import_ctx *x, const char *name) {
        return path_join(x->tmp, name);
}

/* Every member after bundle.json: each listed once, in order; the image's only when it is new. */
static int extract_all(struct import_ctx *x, struct archive *a) {
        size_t next = 0;
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(a, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
                        return damaged(x, archive_error_string(a));
                const char *name = archive_entry_pathname(e);
                if (!name || next >= x->m.n_files || !streq(name, x->m.files[next].name) ||
                    archive_entry_filetype(e) != AE_IFREG) {
                        char what[256];
                        snprintf(what, sizeof what, "member %s is not the one bundle.json lists next", strempty(name));
                        return damaged(x, what);
                }
                const struct bundle_file *f = &x->m.files[next++];
                if (archive_entry_size_is_set(e) && (archive_entry_size(e) < 0 ||
                                                     (uint64_t)archive_entry_size(e) != f->size)) {
                        char what[256];
                        snprintf(what, sizeof what, "member %s holds %lld bytes, bundle.json lists %llu", name,
                                 (long long)archive_entry_size(e), (unsigned long long)f->size);
                        return damaged(x, what);
                }
                if (startswith(name, "image/") && !x->new_image) {
                        if (archive_read_data_skip(a) != ARCHIVE_OK)
                                return damaged(x, archive_error_string(a));
                        continue;
                }
                _cleanup_free_ char *p = member_path(x, name);
                if (!p)
                        return log_oom();
                int r = extract_member(x, a, f, p);
                if (r < 0)
                        return r;
        }
        if (next != x->m.n_files) {
                char what[128];
                snprintf(what, sizeof what, "it ends before %s", x->m.files[next].name);
                return damaged(x, what);
        }
        return 0;
}

/* machineinfo.json's start_args and name for this home and name (its other keys as they are). */
static int rewrite_machineinfo(struct import_ctx *x, const char *vmdir) {
        _cleanup_free_ char *path = path_join(x->tmp, "vm/machineinfo.json");
        if (!path)
                return log_oom();
        json_object *root = json_object_from_file(path), *m = NULL, *sa = NULL;
        const char *why = "it cannot be read";
        if (!root || machineinfo_validate(root, &why) < 0) {
                json_object_put(root);
                char what[160];
                snprintf(what, sizeof what, "its machineinfo.json is not usable: %s", why);
                return damaged(x, what);
        }
        json_object_object_get_ex(root, "machine", &m);
        json_object_object_get_ex(m, "start_args", &sa);
        char *from[] = { x->m.vmdir, x->m.home, NULL };
        char *to[] = { (char *)vmdir, (char *)paths_home(), NULL };
        unsigned moved = 0;
        int r = 0;
        for (size_t i = 0; i < json_object_array_length(sa) && r == 0; i++) {
                _cleanup_free_ char *n = NULL;
                unsigned k;
                const char *arg = json_object_get_string(json_object_array_get_idx(sa, i));
                if ((r = bundle_rewrite_arg(arg, from, to, &n, &k)) < 0)
                        break;
                if (k && (r = json_object_array_put_idx(sa, i, json_object_new_string(n))) < 0)
                        r = -ENOMEM;
                moved += k;
                /* What the rules above could not move (the old home inside another word). */
                if (r == 0 && !startswith(paths_home(), x->m.home) && strstr(n, x->m.home))
                        log_warning("%s: start_args keep '%s', which names the old home %s in a way vmcloak does not "
                                    "rewrite; a restore here may not find that file", x->vmname, n, x->m.home);
        }
        /* The bundle comes from another host; restore and Cuckoo3 run its start_args. */
        _cleanup_strv_free_ char **args = NULL;
        for (size_t i = 0; i < json_object_array_length(sa) && r == 0; i++)
                if (strv_extend(&args, json_object_get_string(json_object_array_get_idx(sa, i))) < 0)
                        r = -ENOMEM;
        const char *bad = NULL;
        if (r == 0 && cuckoo_start_args_allowed(args, vmdir, &bad) < 0) {
                json_object_put(root);
                log_error("%s: its start_args are not what vmcloak snapshot makes (%s); refusing to import them: "
                          "export the VM again with vmcloak, and import bundles from trusted hosts only",
                          x->req->file, bad);
                return -EPERM;
        }
        json_object_object_add(m, "name", json_object_new_string(x->vmname));
        const char *text = r == 0 ? json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                                 JSON_C_TO_STRING_SPACED |
                                                                                 JSON_C_TO_STRING_NOSLASHESCAPE)
                                  : NULL;
        _cleanup_free_ char *withnl = text ? strdup_printf("%s\n", text) : NULL;
        json_object_put(root);
        if (!withnl)
                return log_oom();
        log_info("%s: %u path%s of start_args moved from %s to %s", x->vmname, moved, moved == 1 ? "" : "s",
                 x->m.home, paths_home());
        r = unlink_if_exists(path);
        if (r == 0)
                r = write_file_atomic(path, withnl, strlen(withnl), 0644);
        return r < 0 ? log_error_errno(r, "cannot write %s: %m", path) : 0;
}

/* The image row from the bundle's, at its new disk. */
static int record_image(struct import_ctx *x, const char *disk) {
        struct image row = x->m.image;
        row.id = 0;
        row.name = x->image_name;
        row.path = (char *)disk;
        row.mode = (char *)"multiattach";   /* frozen: a VM is an overlay on it */
        int r = repo_image_insert(x->pl->repo, &row);
        if (r == -EEXIST)
                log_error("image %s appeared here meanwhile; import again", x->image_name);
        else if (r < 0)
                log_error_errno(r, "cannot record image %s: %m", x->image_name);
        if (r == 0 && repo_image_get(x->pl->repo, x->image_name, &x->img) < 0)
                r = -EIO;
        return r;
}

/* Rename the image's files into image/ (listed in placed, for the undo). */
static int place_image(struct import_ctx *x, const char *disk, char ***placed) {
        _cleanup_free_ char *src = strdup_printf("%s/image/%s.qcow2", x->tmp, x->m.image.name);
        _cleanup_free_ char *src_nvram = src ? fwstate_nvram_path(src) : NULL, *src_tpm = src ? fwstate_tpm_path(src) : NULL;
        _cleanup_free_ char *nvram = fwstate_nvram_path(disk), *tpm = fwstate_tpm_path(disk);
        _cleanup_free_ char *dir = path_dirname(disk);
        if (!src_nvram || !src_tpm || !nvram || !tpm || !dir)
                return log_oom();
        int r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create %s: %m", dir);
        const char *const froms[] = { src, src_nvram, src_tpm }, *const tos[] = { disk, nvram, tpm };
        for (size_t i = 0; i < ELEMENTSOF(froms); i++) {
                if (!path_exists(froms[i]))
                        continue;
                if (path_exists(tos[i])) {
                        log_error("%s appeared meanwhile; import again", tos[i]);
                        return -EEXIST;
                }
                if (rename(froms[i], tos[i]) < 0)
                        return log_error_errno(-errno, "cannot move %s to %s: %m", froms[i], tos[i]);
                if (strv_extend(placed, tos[i]) < 0)
                        return log_oom();
        }
        return 0;
}

static int import_finish(struct import_ctx *x, const char *vmdir) {
        struct repo *repo = x->pl->repo;
        _cleanup_free_ char *disk = x->new_image ? paths_image_disk(x->image_name) : strdup(x->img->path);
        _cleanup_free_ char *overlay = path_join(x->tmp, "vm/disk.qcow2"), *tmpvm = path_join(x->tmp, "vm");
        if (!disk || !overlay || !tmpvm)
                return log_oom();
        _cleanup_strv_free_ char **placed = NULL;
        int r = x->new_image ? place_image(x, disk, &placed) : 0;
        if (r == 0)
                r = vm_disk_rebase(x->pl->conn, overlay, disk);
        if (r == 0)
                r = rewrite_machineinfo(x, vmdir);
        bool began = false, moved = false;
        if (r == 0 && (r = repo_begin(repo)) == 0)
                began = true;
        if (r == 0 && x->new_image)
                r = record_image(x, disk);
        if (r == 0) {
                struct snapshot row = x->m.vm;
                row.id = 0;
                row.image_id = x->img->id;
                row.vmname = (char *)x->vmname;
                row.created_at = NULL;
                row.image_name = row.image_vm = NULL;
                r = repo_snapshot_insert(repo, &row);
                free(row.created_at);
                if (r < 0)
                        log_error_errno(r, "cannot record %s: %m", x->vmname);
        }
        if (r == 0 && interrupted())
                r = -ECANCELED;
        if (r == 0) {
                if (rename(tmpvm, vmdir) < 0)
                        r = log_error_errno(-errno, "cannot move %s to %s: %m", tmpvm, vmdir);
                else
                        moved = true;
        }
        if (r == 0 && (r = repo_commit(repo)) < 0)
                log_error_errno(r, "cannot record %s: %m", x->vmname);
        if (r == 0)
                return 0;
        if (began)
                repo_rollback(repo);
        if (moved)
                rm_rf(vmdir);
        STRV_FOREACH(p, placed)
                rm_rf(*p);
        return r;
}

int pipeline_bundle_import(struct pipeline *pl, const struct bundle_import_request *req) {
        int64_t t0 = now_ms();
        _cleanup_(import_ctx_done) struct import_ctx x = { .pl = pl, .req = req };
        _cleanup_archive_read_ struct archive *a = archive_read_new();
        if (!a)
                return log_oom();
        archive_read_support_format_tar(a);
        if (access(req->file, R_OK) < 0 || is_dir(req->file))
                return log_error_errno(is_dir(req->file) ? -EISDIR : -errno, "cannot read %s: %m", req->file);
        if (archive_read_open_filename(a, req->file, CHUNK) != ARCHIVE_OK) {
                log_error("%s is not a bundle of 'vmcloak export --bundle' (%s)", req->file, archive_error_string(a));
                return -EINVAL;
        }
        int r = read_manifest(&x, a);
        if (r == 0)
                r = import_checks(&x);
        if (r < 0)
                return r;
        _cleanup_free_ char *vmdir = paths_vm_dir(x.vmname), *vmsdir = paths_vms_dir();
        if (!vmdir || !vmsdir)
                return log_oom();
        /* Connect (probe qemu-img's host) before anything is written. */
        if ((r = pipeline_connect(pl, VM_ACCEL_TCG)) < 0)
                return r;
        if ((r = mkdir_p(vmsdir, 0775)) < 0)
                return log_error_errno(r, "cannot create %s: %m", vmsdir);
        if (!(x.tmp = strdup_printf("%s/.%s.bundle-%d", vmsdir, x.vmname, (int)getpid())))
                return log_oom();
        if (mkdir(x.tmp, 0755) < 0) {
                r = log_error_errno(-errno, "cannot create %s: %m", x.tmp);
                free(TAKE_PTR(x.tmp));
                return r;
        }
        if ((r = check_space(&x, vmsdir)) < 0)
                return r;
        log_info("Importing %s from %s (image %s%s)", x.vmname, req->file, x.new_image ? x.image_name : x.img->name,
                 x.new_image ? ", new here, from the bundle" : ", found by its SHA-256");
        r = extract_all(&x, a);
        if (r == 0)
                r = import_finish(&x, vmdir);
        if (r == 0) {
                log_info("Snapshot VM %s is ready in %s (%.1f s); restore it with 'vmcloak restore %s'", x.vmname, vmdir,
                         (double)(now_ms() - t0) / 1000.0, x.vmname);
                return 0;
        }
        log_error("import of %s %s; nothing was recorded and its files were removed", x.vmname,
                  r == -ECANCELED || interrupted() ? "interrupted" : "failed");
        return interrupted() ? -ECANCELED : r;
}
