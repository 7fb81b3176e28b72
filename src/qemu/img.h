/* qemu-img: base disks, overlays on a backing file, and `info --output=json`. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* qemu-img binary: $VMCLOAK_QEMU_IMG, else "qemu-img" from PATH. New string. */
char *qemu_img_binary(void);

/* New qcow2 base disk (VMCloak: -o lazy_refcounts=on,cluster_size=2M). Refuses (-EEXIST)
 * to overwrite; removes a half-written file on failure. Logs one clear line on error. */
int qemu_img_create_base(const char *path, uint64_t size_bytes);
/* New qcow2 overlay on backing (qcow2, -F qcow2 -b ABSOLUTE_PATH): the overlay records the
 * absolute path, so the base must not move afterwards. */
int qemu_img_create_overlay(const char *path, const char *backing);

/* A new qcow2 disk at dst (VMCloak's options, as create_base) converted from src, whatever its
 * format (qemu-img convert -O qcow2; src is only read). Refuses (-EMEDIUMTYPE, one line) a src
 * that starts as no disk does (no known image magic, no MBR/GPT of a raw disk: an ISO, garbage,
 * which would boot nothing until a timeout), and (-EEXIST) an existing dst;
 * removes a half-written dst on failure and on Ctrl-C (-ECANCELED, no line). */
int qemu_img_convert(const char *src, const char *dst);

/* Write an overlay's changes into its backing file (qemu-img commit -d). It runs to its end even
 * when vmcloak is interrupted meanwhile: a half-done commit would corrupt the image. */
int qemu_img_commit(const char *overlay);

/* Record backing (made absolute; its format qcow2) as the overlay's backing file without reading
 * either disk's data (qemu-img rebase -u: "unsafe", only the header is rewritten). For an overlay
 * whose base moved to another path with the same content (import --bundle checks it by hash). */
int qemu_img_rebase_unsafe(const char *overlay, const char *backing);

struct qemu_img_info {
        char *format;             /* "qcow2", "raw" */
        uint64_t virtual_size;    /* bytes the guest sees */
        uint64_t actual_size;     /* bytes used on the host */
        uint64_t cluster_size;    /* 0 if not reported */
        char *backing_file;       /* as recorded in the image, NULL if none */
        char *full_backing_file;  /* resolved by qemu-img, NULL if none */
        char *backing_format;     /* NULL if none/unknown */
        bool lazy_refcounts;
        bool dirty;
        bool encrypted;           /* "encrypted" (qcow2 AES or LUKS) */
        char *data_file;          /* qcow2 external data file ("data-file" of format-specific), NULL if none */
};

/* Runs `qemu-img info -U --output=json PATH` (-U: works while a VM uses the disk). */
int qemu_img_info(const char *path, struct qemu_img_info *ret);
/* Parse that JSON (-EINVAL when it is not what qemu-img prints). */
int qemu_img_info_parse(const char *json, struct qemu_img_info *ret);
void qemu_img_info_done(struct qemu_img_info *i);
