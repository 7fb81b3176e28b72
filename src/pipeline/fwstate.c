/* An image's firmware state beside its disk: copies for a run, committed on success, removed. */
#include "pipeline/fwstate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "machine/smbios.h"

char *fwstate_nvram_path(const char *disk) { return strdup_printf("%s.nvram", disk); }

char *fwstate_tpm_path(const char *disk) { return strdup_printf("%s.tpm", disk); }

static int copy_entries(DIR *d, const char *from, const char *to) {
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") || streq(de->d_name, ".lock"))
                        continue;
                _cleanup_free_ char *src = path_join(from, de->d_name);
                _cleanup_free_ char *dst = path_join(to, de->d_name);
                if (!src || !dst)
                        return log_oom();
                struct stat st;
                if (lstat(src, &st) < 0)
                        return log_error_errno(-errno, "cannot read %s: %m", src);
                if (!S_ISREG(st.st_mode))
                        continue;   /* swtpm keeps plain files only */
                int r = copy_file(src, dst, st.st_mode & 0777);
                if (r < 0)
                        return log_error_errno(r, "cannot copy %s to %s: %m", src, dst);
        }
        return errno > 0 ? log_error_errno(-errno, "cannot read the TPM state %s: %m", from) : 0;
}

/* swtpm's state folder: its files but the lock swtpm holds while it runs. */
static int copy_tpm_dir(const char *from, const char *to) {
        DIR *d = opendir(from);
        if (!d)
                return log_error_errno(-errno, "cannot read the TPM state %s: %m", from);
        int r = mkdir(to, 0700) < 0 ? log_error_errno(-errno, "cannot create %s: %m", to) : copy_entries(d, from, to);
        closedir(d);
        return r;
}

int fwstate_copy(const struct image *img, const char *from, const char *to, bool with_tpm) {
        _cleanup_free_ char *nv_from = fwstate_nvram_path(from), *nv_to = fwstate_nvram_path(to);
        _cleanup_free_ char *tpm_from = fwstate_tpm_path(from), *tpm_to = fwstate_tpm_path(to);
        if (!nv_from || !nv_to || !tpm_from || !tpm_to)
                return log_oom();
        int r;
        if (image_is_uefi(img) && path_exists(nv_from) && (r = copy_file(nv_from, nv_to, 0644)) < 0)
                return log_error_errno(r, "cannot copy the UEFI variable store %s to %s: %m", nv_from, nv_to);
        if (with_tpm && img->tpm && is_dir(tpm_from) && (r = copy_tpm_dir(tpm_from, tpm_to)) < 0) {
                if (r != -EEXIST)
                        rm_rf(tpm_to);
                if (image_is_uefi(img))
                        unlink_if_exists(nv_to);
                return r;
        }
        return 0;
}

int fwstate_commit(const char *work, const char *disk) {
        _cleanup_free_ char *nv_work = fwstate_nvram_path(work), *nv_disk = fwstate_nvram_path(disk);
        _cleanup_free_ char *tpm_work = fwstate_tpm_path(work), *tpm_disk = fwstate_tpm_path(disk);
        _cleanup_free_ char *tpm_old = strdup_printf("%s.old-%d", tpm_disk ? tpm_disk : "", (int)getpid());
        if (!nv_work || !nv_disk || !tpm_work || !tpm_disk || !tpm_old)
                return log_oom();
        if (is_dir(tpm_work)) {
                rm_rf(tpm_old);
                bool had = is_dir(tpm_disk);
                if (had && rename(tpm_disk, tpm_old) < 0)
                        return log_error_errno(-errno, "cannot move %s aside: %m", tpm_disk);
                if (rename(tpm_work, tpm_disk) < 0) {
                        int r = log_error_errno(-errno, "cannot move %s to %s: %m", tpm_work, tpm_disk);
                        if (had)
                                (void)rename(tpm_old, tpm_disk);
                        return r;
                }
                if (had)
                        rm_rf(tpm_old);
        }
        if (path_exists(nv_work) && rename(nv_work, nv_disk) < 0)
                return log_error_errno(-errno, "cannot move %s to %s: %m", nv_work, nv_disk);
        return 0;
}

void fwstate_remove(const char *disk) {
        _cleanup_free_ char *nv = fwstate_nvram_path(disk), *tpm = fwstate_tpm_path(disk);
        _cleanup_free_ char *smbios = vm_smbios_dir(disk);
        if (nv)
                unlink_if_exists(nv);
        if (tpm)
                rm_rf(tpm);
        if (smbios)
                rm_rf(smbios);
}
