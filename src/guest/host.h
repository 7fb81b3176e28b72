/* Host programs and files that guest media are assembled from (BusyBox, mke2fs, extlinux,
 * isolinux, depmod, apt): finding them, and saying which Debian package brings them. */
#pragma once

/* Find a program in PATH, then /usr/sbin and /sbin (not in a user's PATH on Debian).
 * Prints "<name> not found: install the Debian package <package>" when missing. */
int host_find_tool(const char *name, const char *package, char **ret);
/* Check that a file exists and is readable; same kind of message. */
int host_require_file(const char *path, const char *package);
/* The shared libraries a dynamically linked program loads, its loader included, as
 * absolute paths the way the loader finds them (from ldd). Empty for static programs. */
int host_shared_libs(const char *program, char ***ret);
