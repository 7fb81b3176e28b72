/* The ~/.vmcloak layout (VMCloak's): home, repository.db, image/, deps/, iso/, vms/qemu/<vm>/. */
#pragma once

/* Resolve the home: explicit (--home) > $VMCLOAK_HOME > $HOME/.vmcloak. Does not create it. */
int paths_init(const char *explicit_home);
const char *paths_home(void);
/* Create home (0700) and image/, deps/, iso/ (0755) if missing. */
int paths_ensure(void);

/* New strings; NULL on ENOMEM. */
char *paths_repository(void);             /* <home>/repository.db */
char *paths_image_dir(void);              /* <home>/image */
char *paths_image_disk(const char *name); /* <home>/image/<name>.qcow2 */
char *paths_deps_dir(void);               /* <home>/deps: VMCloak's dependency cache (read, never written) */
char *paths_files_dir(void);              /* <home>/files: vmcloak's download cache (dependency files) */
char *paths_deps_d(void);                 /* <home>/deps.d: the user's catalog entries (deps/catalog.h) */
char *paths_hardware_d(void);             /* <home>/hardware.d: the user's hardware profiles (cloak/hardware.h) */
char *paths_iso_dir(void);                /* <home>/iso */
char *paths_cache_dir(void);              /* <home>/cache (kernel packages etc.; vmcloak-only) */
char *paths_vms_dir(void);                /* <home>/vms/qemu */
char *paths_vm_dir(const char *vmname);   /* <home>/vms/qemu/<vmname> */
/* <home>/vms/libvirt/<vmname>: the logs (qemu.log, serial.log) of a VM that lives as a libvirt
 * domain on a libvirt host (snapshot --connect, issue 14); its disk and state live there. */
char *paths_libvirt_vm_dir(const char *vmname);
char *paths_log_dir(void);                /* <home>/log */
char *paths_fleet_dir(void);              /* <home>/fleet: snapshot's fleet templates, one folder per run */
char *paths_image_log_dir(const char *image); /* <home>/log/<image>: its runs' logs */

/* Where data lives (agent binaries, templates): $VMCLOAK_DATADIR if set; when running from
 * the build tree (a build with meson's dev_paths option, the default), the build tree and the
 * source data/; else the installed datadir. paths_datadir() keeps its first answer;
 * paths_data_file() (a path to free, NULL when out of memory) reads $VMCLOAK_DATADIR anew. */
const char *paths_datadir(void);
char *paths_data_file(const char *relative);
