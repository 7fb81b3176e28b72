/* Leftovers of a vmcloak that was killed hard (SIGKILL, power loss): overlays named after a
 * pid that no longer runs, init work folders, QEMU processes still holding a disk. */
#include "pipeline/cleanup.h"

#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/lock.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "machine/smbios.h"
#include "net/internet.h"

static bool pid_alive(long pid) { return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM); }

/* "<prefix><pid><suffix>" with a pid that is not running. */
static bool stale_pid_name(const char *name, const char *prefix, const char *suffix) {
        const char *p = startswith(name, prefix);
        if (!p || !endswith(p, suffix))
                return false;
        char *end;
        long pid = strtol(p, &end, 10);
        return end != p && streq(end, suffix) && !pid_alive(pid);
}

/* mkdtemp()'s six characters. */
static bool mkdtemp_suffix(const char *s) {
        if (strlen(s) != 6)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s))
                        return false;
        return true;
}

/* Remove what vmcloak can name as its own leftover, and nothing else: a pid-named overlay
 * ("<prefix><dead pid><suffix>", a regular file) or an init work folder ("<prefix>" and
 * mkdtemp()'s six characters, a folder: so image "a" never takes image "a-b"'s). */
static unsigned remove_matching(const char *dir, const char *prefix, const char *suffix, bool pid_named) {
        DIR *d = opendir(dir);
        if (!d)
                return 0;
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                const char *rest = startswith(de->d_name, prefix);
                bool match = pid_named ? stale_pid_name(de->d_name, prefix, suffix) : rest && mkdtemp_suffix(rest);
                if (!match)
                        continue;
                _cleanup_free_ char *p = path_join(dir, de->d_name);
                struct stat st;
                /* A pid-named leftover is a file, or the TPM state or SMBIOS folder that came with an
                 * overlay, or the folder an import --bundle unpacks into (".VM.bundle-PID"). */
                bool want_dir = pid_named ? endswith(suffix, ".tpm") || endswith(suffix, ".smbios") ||
                                                    endswith(prefix, ".bundle-") || endswith(prefix, ".template-")
                                          : true;
                if (!p || lstat(p, &st) < 0 || (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
                        continue;
                if (rm_rf(p) == 0) {
                        log_info("removed %s", p);
                        n++;
                }
        }
        closedir(d);
        return n;
}

/* What a snapshot of vmcloak or VMCloak cut short leaves in a VM folder. Not machineinfo.json:
 * with it the VM was finished, and VMCloak's delvm leaves finished VMs' folders behind, which
 * Cuckoo3 may still use. */
static bool vm_file_known(const char *name, const char *vmname) {
        static const char *const exact[] = {
                "disk.qcow2", "memory.snapshot", "qemu.log", "serial.log", "restore.log",
        };
        static const char *const prefixes[] = {
                "disk.qcow2.",          /* .nvram, .tpm, .smbios */
                "memory.snapshot.",     /* .part, .done while it is written */
                "machineinfo.json.tmp", /* an atomic write cut short */
                "disposable-",          /* restore's overlay */
        };
        for (size_t i = 0; i < ELEMENTSOF(exact); i++)
                if (streq(name, exact[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (startswith(name, prefixes[i]))
                        return true;
        const char *rest = startswith(name, vmname);
        return rest && streq(rest, ".com1");
}

/* A VM folder no row names is removed only when all of it is what an interrupted snapshot
 * leaves. *ret_foreign: up to three names that are not, for the message (NULL: none);
 * *ret_finished: one of them is machineinfo.json. */
int vm_folder_foreign(const char *dir, const char *vmname, char **ret_foreign, bool *ret_finished) {
        *ret_foreign = NULL;
        *ret_finished = false;
        DIR *d = opendir(dir);
        if (!d)
                return -errno;
        struct dirent *de;
        unsigned n = 0;
        _cleanup_strv_free_ char **foreign = NULL;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") || vm_file_known(de->d_name, vmname))
                        continue;
                *ret_finished = *ret_finished || streq(de->d_name, "machineinfo.json");
                if (++n <= 3 && strv_extend(&foreign, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        if (n == 0)
                return 0;
        _cleanup_free_ char *l = strv_join(foreign, ", ");
        *ret_foreign = l ? strdup_printf("%s%s", l, n > 3 ? ", ..." : "") : NULL;
        return *ret_foreign ? 0 : -ENOMEM;
}

/* What an import --bundle of VM name killed hard left: its folder vms/qemu/.NAME.bundle-PID. */
static unsigned remove_bundle_work(const char *name) {
        _cleanup_free_ char *vms = paths_vms_dir(), *prefix = strdup_printf(".%s.bundle-", name);
        return vms && prefix ? remove_matching(vms, prefix, "", true) : 0;
}

static unsigned kill_users(struct pipeline *pl, const char *path, unsigned *ret_spared);

/* What a snapshot of image name killed hard left of its fleet's template (snapshot_fleet.c):
 * <home>/fleet/<name>.template-<dead pid>/, after stopping a QEMU still running from it. */
unsigned pipeline_remove_stale_templates(struct pipeline *pl, const char *name) {
        _cleanup_free_ char *root = paths_fleet_dir(), *prefix = strdup_printf("%s.template-", name);
        if (!root || !prefix)
                return 0;
        unsigned n = 0;
        DIR *d = opendir(root);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (stale_pid_name(de->d_name, prefix, "")) {
                        _cleanup_free_ char *p = path_join(root, de->d_name);
                        if (p && is_dir(p))
                                n += kill_users(pl, p, NULL);
                }
        if (d)
                closedir(d);
        return n + remove_matching(root, prefix, "", true);
}

/* Machines of the driver's host that still use path and belong to no running vmcloak;
 * *ret_spared (may be NULL) counts those a running vmcloak owns. */
static unsigned kill_users(struct pipeline *pl, const char *path, unsigned *ret_spared) {
        if (!pl->conn && pipeline_connect(pl, VM_ACCEL_TCG) < 0) {
                log_warning("cannot look for machines still using %s; removing files only", path);
                return 0;
        }
        unsigned n = 0;
        vm_kill_users(pl->conn, path, &n, ret_spared);
        return n;
}

/* A name with no row: what an init, clone or snapshot killed hard (SIGKILL, power loss) left,
 * now that the locks show no vmcloak is making it: the VM folder, the image disk with its UEFI
 * and TPM state, init's work folders. None: one warning line and -ENOENT. */
static int cleanup_unrecorded(struct pipeline *pl, const char *name, unsigned *n) {
        _cleanup_free_ char *vmdir = paths_vm_dir(name);
        _cleanup_free_ char *disk = paths_image_disk(name);
        _cleanup_free_ char *isodir = paths_iso_dir();
        _cleanup_free_ char *work = strdup_printf("vmcloak-%s-", name);
        _cleanup_free_ char *nvram = disk ? strdup_printf("%s.nvram", disk) : NULL;
        _cleanup_free_ char *tpm = disk ? strdup_printf("%s.tpm", disk) : NULL;
        _cleanup_free_ char *smbios = disk ? vm_smbios_dir(disk) : NULL;
        if (!vmdir || !disk || !isodir || !work || !nvram || !tpm || !smbios)
                return log_oom();
        if (is_dir(vmdir)) {
                _cleanup_free_ char *foreign = NULL;
                bool finished;
                int r = vm_folder_foreign(vmdir, name, &foreign, &finished);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "cannot read %s: %m", vmdir);
                if (foreign) {
                        log_error("%s is no leftover of an interrupted snapshot: it holds %s%s; vmcloak leaves it "
                                  "as it is (remove it by hand if nothing uses it)", vmdir, foreign,
                                  finished ? " (machineinfo.json marks a finished VM, which Cuckoo3 may still use)" : "");
                        return -ENOTEMPTY;
                }
        }
        const char *const files[] = { vmdir, disk, nvram, tpm, smbios };
        unsigned found = 0;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (!path_exists(files[i]))
                        continue;
                found++;
                *n += kill_users(pl, files[i], NULL);
                if (rm_rf(files[i]) == 0) {
                        log_info("removed %s (nothing in the repository names it)", files[i]);
                        (*n)++;
                }
        }
        unsigned w = remove_matching(isodir, work, "", false) + remove_bundle_work(name);
        *n += w;
        if (!found && !w) {
                /* An address given where a name goes: internet rules are removed by internet off. */
                uint32_t ip;
                bool addr = parse_ipv4(name, &ip) == 0;
                log_warning("nothing to clean up: no image or snapshot VM named '%s', and nothing left of one (%s, %s)%s%s",
                            name, disk, vmdir, addr ? "; to remove guest internet rules for an address: vmcloak internet off " : "",
                            addr ? name : "");
                return -ENOENT;
        }
        return 0;
}

/* The image's temporary internet (vmcloak internet on IMAGE): the elements of table ip vmcloak
 * it asked for (another image of the same address, or the bare address, keeps its own). Reading
 * the firewall needs CAP_NET_ADMIN; without it nothing is checked (said at debug level). */
static unsigned remove_internet(const struct image *img) {
        uint32_t ip;
        if ((img->netmode && streq(img->netmode, "user")) || !img->ipaddr || parse_ipv4(img->ipaddr, &ip) < 0)
                return 0;
        if (!net_admin_capable()) {
                log_debug("not checking for internet rules of %s: that needs root (CAP_NET_ADMIN)", img->ipaddr);
                return 0;
        }
        /* Looked at quietly first: a kernel without nf_tables has no rules to remove. */
        _cleanup_strv_free_ char **ifaces = NULL;
        if (net_internet_list(ip, &ifaces, NULL, NULL) < 0 || !ifaces)
                return 0;
        unsigned ch = 0;
        if (net_internet_off(ip, img->name, &ch) < 0 || ch == 0)
                return 0;
        log_info("removed the internet rules for %s (image %s)%s%s", img->ipaddr, img->name,
                 ch & NET_INTERNET_SHARED ? "; the address keeps the internet others asked for (vmcloak internet status)" : "",
                 ch & NET_INTERNET_FWD_OFF ? "; IP forwarding is off again" : "");
        return 1;
}

int pipeline_cleanup(struct pipeline *pl, const char *name) {
        struct repo *repo = pl->repo;
        /* A leftover is what no row names: rows this vmcloak cannot read fully prove nothing. */
        int r = repo_require_known(repo);
        if (r < 0)
                return r;
        _cleanup_image_ struct image *img = NULL;
        _cleanup_snapshot_ struct snapshot *snap = NULL;
        /* Whatever NAME is, no other vmcloak may be working on it: both kinds are locked. */
        _cleanup_name_lock_ struct name_lock *image_lock = NULL, *vm_lock = NULL;
        r = name_lock_or_complain(LOCK_IMAGE, name, LOCK_EXCLUSIVE, "in use", &image_lock);
        if (r == 0)
                r = name_lock_or_complain(LOCK_VM, name, LOCK_EXCLUSIVE, "in use", &vm_lock);
        if (r < 0)
                return r;
        bool is_img = repo_image_get(repo, name, &img) == 0;
        bool is_vm = !is_img && repo_snapshot_get(repo, name, &snap) == 0;
        unsigned n = 0;
        if (is_img) {
                _cleanup_free_ char *dir = path_dirname(img->path);
                const char *base = strrchr(img->path, '/') ? strrchr(img->path, '/') + 1 : img->path;
                _cleanup_free_ char *inst = strdup_printf("%s.install-", base);
                _cleanup_free_ char *mod = strdup_printf("%s.modify-", base);
                _cleanup_free_ char *isodir = paths_iso_dir();
                _cleanup_free_ char *work = strdup_printf("vmcloak-%s-", name);
                if (!dir || !inst || !mod || !isodir || !work)
                        return log_oom();
                n += kill_users(pl, img->path, NULL);
                /* The overlays and the UEFI vars, TPM and SMBIOS copies beside them (fwstate.h). */
                static const char *const kinds[] = { ".qcow2", ".qcow2.nvram", ".qcow2.tpm", ".qcow2.smbios" };
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                        n += remove_matching(dir, inst, kinds[k], true);
                        n += remove_matching(dir, mod, kinds[k], true);
                }
                n += remove_matching(isodir, work, "", false);
                n += pipeline_remove_stale_templates(pl, name);
                n += remove_internet(img);
        } else if (is_vm && snap->libvirt_uri) {
                /* Its disk, state and snapshot live on the libvirt host; a failed or interrupted
                 * snapshot --connect removes its own domain and volumes, so nothing is left here. */
                log_info("%s lives as a libvirt domain on %s: nothing of it is on this machine but its logs "
                         "('vmcloak delvm %s' removes it there)", name, snap->libvirt_uri, name);
        } else if (is_vm) {
                _cleanup_free_ char *dir = paths_vm_dir(name);
                if (!dir)
                        return log_oom();
                n += kill_users(pl, dir, NULL);
                n += remove_matching(dir, "disposable-", ".qcow2", true);
                n += remove_matching(dir, "disposable-", ".qcow2.tpm", true);   /* restore's TPM copy */
                n += remove_matching(dir, "disposable-", ".qcow2.smbios", true); /* a restore from a definition */
                n += remove_bundle_work(name);
        } else if ((r = cleanup_unrecorded(pl, name, &n)) == -ENOENT)
                return 0; /* VMCloak's cleanup of any name is a no-op with exit 0; scripts call it blindly */
        else if (r < 0)
                return r;
        if (n)
                log_info("cleaned up %u leftover%s of %s", n, n == 1 ? "" : "s", name);
        else
                log_info("nothing to clean up for %s", name);
        return 0;
}
