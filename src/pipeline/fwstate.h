/* An image's firmware state beside its disk: the UEFI variable store and the TPM's state. */
#pragma once

#include <stdbool.h>

#include "core/repo.h"

/*
 * The state that boots with a disk lives beside it under the disk's name, so it travels with
 * the disk: "<disk>.nvram" (this machine's copy of OVMF's variable store, uefi-tpm.md) and
 * "<disk>.tpm/" (swtpm's state folder). An image keeps them beside its qcow2, an install or
 * modify overlay gets copies beside the overlay (committed with it), a snapshot VM its own
 * copies beside <vmdir>/disk.qcow2. Which of them a disk has comes from the image row
 * (image_is_uefi(), image.tpm; schema 3). "<disk>.smbios/" holds the SMBIOS structures the QEMU
 * driver writes on every start (machine/smbios.h): never copied nor committed, but removed with
 * the rest so no overlay leaves one behind.
 */

/* "<disk>.nvram" and "<disk>.tpm" (new strings; NULL on OOM). */
char *fwstate_nvram_path(const char *disk);
char *fwstate_tpm_path(const char *disk);

/* Copy the state of img's kind that exists beside from to beside to: the vars file when the
 * image is UEFI, the TPM folder when it has a TPM and with_tpm is set (swtpm's lock file is not
 * copied). A source that does not exist yet is skipped: the driver makes a fresh one (OVMF's
 * template, an empty TPM). Existing targets are refused (-EEXIST). On failure nothing of to's
 * is left. 0, or a negative errno after one line. */
int fwstate_copy(const struct image *img, const char *from, const char *to, bool with_tpm);

/* Make the state beside work (copies a successful run changed) the state beside disk: the vars
 * file replaces disk's with one rename; the TPM folder takes the old one's place by renames
 * (old aside, new in, old removed). What work has not is left as it is at disk. 0, or a
 * negative errno after one line (disk's state is then its old one). */
int fwstate_commit(const char *work, const char *disk);

/* Remove the vars file, the TPM folder and the SMBIOS folder beside disk (absent: fine). */
void fwstate_remove(const char *disk);
