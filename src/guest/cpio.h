/* cpio "newc" archives (what the kernel unpacks as an initramfs and BusyBox cpio extracts),
 * written with libarchive under the initramfs's rules, so install media are built without
 * shelling out to cpio. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cpio_writer;

/* Create (truncate) the archive at path. Entries are owned by root and carry mtime. */
int cpio_writer_open(const char *path, int64_t mtime, struct cpio_writer **ret);
/* Write the trailer and close; returns 0 or a negative errno. Frees w either way. */
int cpio_writer_finish(struct cpio_writer *w);
/* Close without a trailer (an error path); the caller removes the file. */
void cpio_writer_free(struct cpio_writer *w);

/* Paths are archive paths ("bin/sh"; a leading '/' is dropped). Missing parent directories
 * are added (0755) first, since the kernel creates entries in archive order. Adding the
 * same directory twice is a no-op; anything else twice is -EEXIST. */
int cpio_add_dir(struct cpio_writer *w, const char *path, mode_t mode);
int cpio_add_data(struct cpio_writer *w, const char *path, mode_t mode, const void *data, size_t len);
/* Copy the contents of a host file (following symlinks). */
int cpio_add_file(struct cpio_writer *w, const char *path, mode_t mode, const char *host_path);
int cpio_add_symlink(struct cpio_writer *w, const char *path, const char *target);
/* Character or block device node: mode includes S_IFCHR/S_IFBLK. */
int cpio_add_node(struct cpio_writer *w, const char *path, mode_t mode, unsigned major, unsigned minor);
/* Add a host directory tree under prefix: directories, regular files (modes kept) and symlinks. */
int cpio_add_tree(struct cpio_writer *w, const char *prefix, const char *host_dir);

