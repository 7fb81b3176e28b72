/* Unit tests: an image's UEFI vars and TPM state copied for a run, committed, removed. */
#include "test.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/repo.h"
#include "core/util.h"
#include "machine/smbios.h"
#include "pipeline/fwstate.h"

struct fx {
        char *dir, *disk, *work;
};

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof *f);
        f->dir = test_tmpdir();
        /* A path like a user's home can have: comma, space, quote, $, non-ASCII. */
        f->disk = strdup_printf("%s/im,a \"ge\" $x ü.qcow2", f->dir);
        f->work = strdup_printf("%s.install-42.qcow2", f->disk);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        rm_rf(f->dir);
        free(f->dir);
        free(f->disk);
        free(f->work);
        free(f);
        return 0;
}

static void put(const char *path, const char *text) {
        assert_int_equal(write_file(path, text, strlen(text), 0644), 0);
}

static char *get(const char *path) {
        char *s = NULL;
        return read_full_file(path, &s, NULL) == 0 ? s : NULL;
}

static void expect_file(const char *path, const char *text) {
        char *s = get(path);
        if (!s)
                fail_msg("%s is missing", path);
        assert_string_equal(s, text);
        free(s);
}

/* The image's state: vars, and a TPM folder with swtpm's state and its lock. */
static void make_image_state(struct fx *f) {
        char *nv = fwstate_nvram_path(f->disk), *tpm = fwstate_tpm_path(f->disk);
        put(nv, "vars-1");
        assert_int_equal(mkdir(tpm, 0700), 0);
        char *perm = path_join(tpm, "tpm2-00.permall"), *lock = path_join(tpm, ".lock");
        put(perm, "tpm-1");
        put(lock, "");
        free(perm);
        free(lock);
        free(nv);
        free(tpm);
}

static void test_copy_commit(void **state) {
        struct fx *f = *state;
        make_image_state(f);
        struct image img = { .firmware = (char *)"uefi", .secure_boot = 1, .tpm = 1 };
        assert_int_equal(fwstate_copy(&img, f->disk, f->work, true), 0);
        char *wnv = fwstate_nvram_path(f->work), *wtpm = fwstate_tpm_path(f->work);
        char *wperm = path_join(wtpm, "tpm2-00.permall"), *wlock = path_join(wtpm, ".lock");
        expect_file(wnv, "vars-1");
        expect_file(wperm, "tpm-1");
        assert_false(path_exists(wlock));      /* swtpm's lock is not state */
        /* A second copy over the first is refused, and leaves the first alone. */
        assert_int_equal(fwstate_copy(&img, f->disk, f->work, true), -EEXIST);
        expect_file(wnv, "vars-1");
        /* The run changed them; the commit makes them the image's. */
        put(wnv, "vars-2");
        put(wperm, "tpm-2");
        assert_int_equal(fwstate_commit(f->work, f->disk), 0);
        char *nv = fwstate_nvram_path(f->disk), *tpm = fwstate_tpm_path(f->disk);
        char *perm = path_join(tpm, "tpm2-00.permall");
        expect_file(nv, "vars-2");
        expect_file(perm, "tpm-2");
        assert_false(path_exists(wnv));
        assert_false(path_exists(wtpm));
        /* Nothing but the image's files is left beside it (no old TPM folder). */
        char *old = strdup_printf("%s.old-%d", tpm, (int)getpid());
        assert_false(path_exists(old));
        fwstate_remove(f->disk);
        assert_false(path_exists(nv));
        assert_false(path_exists(tpm));
        free(old);
        free(perm);
        free(nv);
        free(tpm);
        free(wnv);
        free(wtpm);
        free(wperm);
        free(wlock);
}

/* What the row does not have is not copied: a BIOS image, or a snapshot VM without the TPM. */
static void test_copy_what_the_row_says(void **state) {
        struct fx *f = *state;
        make_image_state(f);
        char *wnv = fwstate_nvram_path(f->work), *wtpm = fwstate_tpm_path(f->work);
        struct image bios = { 0 };
        assert_int_equal(fwstate_copy(&bios, f->disk, f->work, true), 0);
        assert_false(path_exists(wnv));
        assert_false(path_exists(wtpm));
        struct image uefi_tpm = { .firmware = (char *)"uefi", .tpm = 1 };
        assert_int_equal(fwstate_copy(&uefi_tpm, f->disk, f->work, false), 0);
        assert_true(path_exists(wnv));
        assert_false(path_exists(wtpm));
        fwstate_remove(f->work);
        assert_false(path_exists(wnv));
        /* A source that does not exist yet (the first boot makes it) is no error. */
        fwstate_remove(f->disk);
        assert_int_equal(fwstate_copy(&uefi_tpm, f->disk, f->work, true), 0);
        assert_false(path_exists(wnv));
        free(wnv);
        free(wtpm);
}

/* A failed run's copies are removed and the image's state is as it was. */
static void test_failed_run_leaves_image(void **state) {
        struct fx *f = *state;
        make_image_state(f);
        struct image img = { .firmware = (char *)"uefi", .tpm = 1 };
        assert_int_equal(fwstate_copy(&img, f->disk, f->work, true), 0);
        char *wnv = fwstate_nvram_path(f->work);
        put(wnv, "vars-broken");
        fwstate_remove(f->work);
        char *nv = fwstate_nvram_path(f->disk), *tpm = fwstate_tpm_path(f->disk);
        char *perm = path_join(tpm, "tpm2-00.permall");
        expect_file(nv, "vars-1");
        expect_file(perm, "tpm-1");
        free(perm);
        free(nv);
        free(tpm);
        free(wnv);
}

/* The SMBIOS folder the QEMU driver writes beside the disk a run boots (machine/smbios.h) is
 * rewritten on every start: not copied to an overlay nor committed, but removed with the rest. */
static void test_smbios_folder(void **state) {
        struct fx *f = *state;
        make_image_state(f);
        struct image img = { .firmware = (char *)"uefi", .tpm = 1 };
        char *dir = vm_smbios_dir(f->disk), *t0 = vm_smbios_file(f->disk, 0);
        char *wdir = vm_smbios_dir(f->work), *wt0 = vm_smbios_file(f->work, 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        put(t0, "image");
        assert_int_equal(fwstate_copy(&img, f->disk, f->work, true), 0);
        assert_false(path_exists(wdir));
        assert_int_equal(mkdir(wdir, 0755), 0);
        put(wt0, "overlay");
        assert_int_equal(fwstate_commit(f->work, f->disk), 0);
        expect_file(t0, "image");
        fwstate_remove(f->work);
        assert_false(path_exists(wdir));
        fwstate_remove(f->disk);
        assert_false(path_exists(dir));
        free(dir);
        free(t0);
        free(wdir);
        free(wt0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_copy_commit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_what_the_row_says, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_run_leaves_image, setup, teardown),
                cmocka_unit_test_setup_teardown(test_smbios_folder, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
