/* vmcloak init: a new image, installed unattended, recorded only once its agent answered. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/netcfg.h"
#include "pipeline/pipeline.h"
#include "core/repo.h"
#include "pipeline/session.h"

struct os_profile;
struct hw_profile;

struct init_request {
        const char *name;
        const char *adapter;
        const struct os_profile *profile;
        struct netcfg_opts net;
        uint16_t port;                 /* agent port in the guest */
        unsigned cpus, ram_mb, vram_mb;
        uint64_t disk_bytes;
        const char *mac;               /* NULL: a random PC-vendor MAC (with hardware: its identity's) */
        /* --hardware: the real PC model the image is (cloak/hardware.h), NULL: QEMU's own machine
         * as VMCloak's. The command picked it and took its cpus/RAM/disk defaults into the fields
         * above; new_image_prepare gives the image its identity. */
        const struct hw_profile *hardware;
        const char *resolution;
        const char *tempdir;           /* NULL: ~/.vmcloak/iso */
        const char *iso;               /* linux: a prepared install ISO (booted as it is, the same flow
                                        * runs); windows: the untouched install ISO, or a createiso output */
        char **extra_cdroms;
        const char *kernel, *modules;  /* linux */
        /* windows */
        const char *iso_mount, *serial_key, *product, *python_version;
        const char *hostname;          /* computer name; NULL: a realistic random one */
        const char *user, *password, *locale, *kblayout, *timezone;
        bool no_tpm;                   /* win11: install without a TPM (LabConfig bypass) */
        struct vm_options vm;
        unsigned stuck_after_s;        /* a still screen this long is reported (0: the default) */
        char **tags;                   /* --tag: Cuckoo machine tags stored on the image (NULL: none) */
};

/*
 * What init and import share before a new image's disk exists (new_image_prepare): the name
 * reserved (a name lock, core/lock.h: a second init or import of it stops), no row and no disk
 * of it yet (-EEXIST with a line naming the way out), the network resolved (bridge checks,
 * addresses in use refused), with req->hardware the image's identity (hw_identity_new; its MAC
 * is --mac when given), the MAC (--mac, the identity's, or a random PC vendor's), and the row the
 * image will get, pointing into this struct. new_image_done releases the lock.
 */
struct new_image {
        struct name_lock *lock;
        char *disk;                    /* ~/.vmcloak/image/NAME.qcow2 */
        struct netcfg net;
        char mac[18];
        char *tags;                    /* req->tags as stored (core/tags.h), NULL: none */
        char *identity;                /* the identity as stored (hw_identity_to_json), NULL: no profile */
        struct image row;
};
int new_image_prepare(struct pipeline *pl, const struct init_request *req, struct new_image *ret);
void new_image_done(struct new_image *n);
/* Power the guest off through its agent (it must shut down cleanly) and insert img; -EEXIST when
 * another vmcloak recorded the name meanwhile. One line on each failure. */
int new_image_record(struct vm_session *s, struct repo *repo, struct image *img);
/* The guest behind s's agent must run prof's OS: the agent's /system names it (-EMEDIUMTYPE
 * otherwise), and the profile's version command prints a non-empty first line, returned in
 * *ret_version ("6.1.0-57-amd64"; Windows' "Microsoft Windows [Version 10.0.19045.2965]"),
 * also shown as "The guest runs SYSTEM VERSION". One line on each failure. */
int new_image_check_os(struct vm_session *s, const struct os_profile *prof, char **ret_version);
/* The build of a Windows "ver" line: "...[Version 10.0.19045.2965]" -> "19045"; NULL otherwise. */
char *windows_build_of(const char *ver);
/* A failed new image's files: its disk, and its UEFI variables and TPM state when it had them. */
void new_image_remove_files(const char *disk);

/* Create image req->name: network checks, install media, a new disk, the profile's install
 * flow, power-off, then the row. Every failure (and Ctrl-C) removes the disk and the work
 * folder and records nothing; the logs stay in ~/.vmcloak/log/NAME. */
int pipeline_init(struct pipeline *pl, const struct init_request *req);
