/* The guest kernel: Debian's linux-image-amd64 fetched with apt-get download and unpacked
 * with dpkg -x into vmcloak's cache (reused later; the host's /boot is never touched), or
 * a kernel image and modules tree the user names with --kernel/--modules. */
#pragma once

struct guest_kernel {
        char *image;        /* the bzImage */
        char *modules_dir;  /* .../lib/modules/<release> */
        char *release;      /* e.g. "6.1.0-56-amd64", read from lib/modules/ */
};

void guest_kernel_done(struct guest_kernel *k);

/* kernel/modules: user paths or NULL. cache_dir: where Debian packages are kept. */
int guest_kernel_get(const char *kernel, const char *modules, const char *cache_dir, struct guest_kernel *ret);

/* From `apt-cache depends linux-image-amd64` output, the real package it depends on
 * ("linux-image-6.1.0-56-amd64"); -ENOENT when there is none. Exposed for tests. */
int debian_kernel_package_parse(const char *apt_cache_output, char **ret);

/* Find the kernel in an unpacked package root (boot/vmlinuz-<r> and lib/modules/<r>/). */
int guest_kernel_from_root(const char *root, struct guest_kernel *ret);
