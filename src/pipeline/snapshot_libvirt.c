/* snapshot --connect (issue 14): the VMs as persistent domains on libvirt hosts, each with a
 * running-state internal snapshot (what CAPE's and Cuckoo3's kvm machineries revert), their
 * disks overlay volumes on the image uploaded once per host. The boot, identity, hostname and
 * address steps are snapshot.c's; this file holds what differs: hosts, volumes, the snapshot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/download.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/repo.h"
#include "core/tags.h"
#include "core/util.h"
#include "pipeline/image.h"
#include "pipeline/snapshot_internal.h"

struct snapshot_host {
        struct pipeline pl;            /* the shared repository; host_driver at uri, pool */
        struct vm_host_info info;
        char *base_path;               /* the image's volume, its path on the host */
        bool uploaded;                 /* this run put it there (snapshot_hosts_done may remove it) */
};

/* The image's volume name: vmcloak-<image>-<first 12 hex digits of its SHA-256>.qcow2, so a
 * changed image never reuses an old upload. */
static int base_volume_name(const struct image *img, char **ret) {
        char sha256[SHA256_HEX_LEN + 1];
        int r = image_sha256(img, sha256);
        if (r < 0)
                return r;
        if (!(*ret = strdup_printf("vmcloak-%s-%.12s.qcow2", img->name, sha256)))
                return log_oom();
        return 0;
}

/* What a host cannot hold, before anything boots there. */
static int host_check(const struct snapshot_ctx *x, const struct snapshot_host *h) {
        const struct image *img = x->img;
        if (image_is_uefi(img) && !vm_libvirt_takes_uefi_snapshots(h->info.manager_version)) {
                log_error("%s runs libvirt %s, which refuses internal snapshots of UEFI VMs like those of image %s; "
                          "CAPE needs one: use a host with libvirt %d.%d.%d or newer", h->pl.uri,
                          isempty(h->info.manager_version) ? "(unknown version)" : h->info.manager_version, img->name,
                          VM_LIBVIRT_UEFI_SNAPSHOT_MAJOR, VM_LIBVIRT_UEFI_SNAPSHOT_MINOR,
                          VM_LIBVIRT_UEFI_SNAPSHOT_MICRO);
                return -EOPNOTSUPP;
        }
        if (img->netmode && streq(img->netmode, "user") && !h->info.local) {
                log_error("image %s uses user-mode networking, whose agent port is forwarded on the host's 127.0.0.1: "
                          "%s is another machine, and CAPE needs each VM's own IP; make the image on a bridge "
                          "(init ... --ip ADDR IMAGE BRIDGE)", img->name, h->pl.uri);
                return -EOPNOTSUPP;
        }
        return 0;
}

int snapshot_hosts_open(struct snapshot_ctx *x) {
        const struct snapshot_request *req = x->req;
        if (!x->pl->host_driver) {
                log_error("--connect: this vmcloak has no driver for libvirt hosts");
                return -EOPNOTSUPP;
        }
        x->n_hosts = (unsigned)strv_length(req->connect);
        if (!(x->hosts = calloc(x->n_hosts, sizeof *x->hosts)))
                return log_oom();
        int r = 0;
        for (unsigned i = 0; r == 0 && i < x->n_hosts; i++) {
                struct snapshot_host *h = &x->hosts[i];
                h->pl = (struct pipeline){ .repo = x->pl->repo, .driver = x->pl->host_driver, .uri = req->connect[i],
                                           .pool = req->pool };
                r = pipeline_connect(&h->pl, req->vm.accel);
                if (r == 0)
                        r = vm_host_info(h->pl.conn, &h->info);
                if (r == 0)
                        r = host_check(x, h);
        }
        _cleanup_free_ char *base = NULL;
        if (r == 0)
                r = base_volume_name(x->img, &base);
        for (unsigned i = 0; r == 0 && i < x->n_hosts; i++) {
                struct snapshot_host *h = &x->hosts[i];
                int64_t t0 = now_ms();
                log_info("Uploading image %s to %s as volume %s", x->img->name, h->pl.uri, base);
                r = vm_volume_upload(h->pl.conn, x->img->path, base, &h->base_path, &h->uploaded);
                if (r == 0 && h->uploaded) {
                        char sz[32];
                        log_info("Uploaded %s to %s in %.1f s", format_bytes(sz, sizeof sz, file_size_or_zero(x->img->path)),
                                 h->pl.uri, (double)(now_ms() - t0) / 1000.0);
                } else if (r == 0)
                        log_info("%s holds volume %s already: reused", h->pl.uri, base);
                else if (r == -ECANCELED)
                        log_error("interrupted while uploading image %s to %s", x->img->name, h->pl.uri);
        }
        /* Named even on failure: snapshot_hosts_done removes what was uploaded. */
        x->base_volume = TAKE_PTR(base);
        return r;
}

void snapshot_hosts_done(struct snapshot_ctx *x) {
        for (unsigned i = 0; i < x->n_hosts; i++) {
                struct snapshot_host *h = &x->hosts[i];
                if (h->uploaded && x->base_volume && h->pl.conn && !libvirt_volume_in_use(x->pl->repo, h->pl.conn, h->pl.uri, h->pl.pool ? h->pl.pool : SNAPSHOT_LIBVIRT_POOL, x->base_volume, -1)) {
                        if (vm_volume_delete(h->pl.conn, x->base_volume) == 0)
                                log_info("Removed volume %s from %s: no VM uses it", x->base_volume, h->pl.uri);
                }
                free(h->base_path);
                pipeline_done(&h->pl);
        }
        free(x->hosts);
        x->hosts = NULL;
        x->n_hosts = 0;
        free(x->base_volume);
        x->base_volume = NULL;
}

void snapshot_libvirt_attach(struct vm_build *b) {
        b->host = &b->x->hosts[b->job->host % b->x->n_hosts];
        b->host_pl = &b->host->pl;
        b->host_uri = b->host->pl.uri;
        b->host_local = b->host->info.local;
}

int snapshot_libvirt_disk(struct vm_build *b, char **ret_disk) {
        b->step = "creating its overlay volume";
        _cleanup_free_ char *name = strdup_printf("%s.qcow2", b->job->name);
        if (!name)
                return log_oom();
        int r = vm_volume_create_overlay(b->host->pl.conn, name, b->host->base_path, ret_disk);
        if (r == 0)
                b->volume = TAKE_PTR(name);
        return r;
}

int snapshot_libvirt_save(struct vm_build *b) {
        struct snapshot_ctx *x = b->x;
        const struct image *img = x->img;
        int r = snapshot_shrink_memory(b);
        if (r < 0)
                return r;
        b->step = "taking its running-state snapshot";
        _cleanup_free_ char *desc = strdup_printf("vmcloak snapshot of image %s: %s at %s, hostname %s", img->name,
                                                  b->job->name, b->job->ip, b->job->hostname);
        if (!desc)
                return log_oom();
        int64_t t0 = now_ms();
        if ((r = vm_domain_snapshot_create(b->s.dom, SNAPSHOT_LIBVIRT_NAME, desc)) < 0)
                return r;
        snapshot_say(b->job->name, "snapshot %s taken in %.1f s", SNAPSHOT_LIBVIRT_NAME, (double)(now_ms() - t0) / 1000.0);
        if (interrupted())
                return -ECANCELED;
        /* Shut off: CAPE reverts a shut-off domain to the running snapshot (flags 0). */
        b->step = "switching it off";
        vm_domain_destroy(b->s.dom);

        struct vm_domain_info info;
        if ((r = vm_conn_domain_info(b->host->pl.conn, b->job->name, &info)) < 0) {
                if (r == -ENOENT)
                        log_error("%s: its domain vanished from %s after the snapshot", b->job->name, b->host->pl.uri);
                return r;
        }
        struct snapshot where = { .libvirt_uri = (char *)b->host->pl.uri, .libvirt_uuid = info.uuid,
                                  .libvirt_pool = (char *)(x->req->pool ? x->req->pool : SNAPSHOT_LIBVIRT_POOL),
                                  .libvirt_volume = b->volume, .libvirt_base = x->base_volume,
                                  .libvirt_snapshot = (char *)SNAPSHOT_LIBVIRT_NAME };
        int64_t id;
        if ((r = snapshot_record(b, &where, &id)) < 0)
                return r;
        /* The row exists: from here on the domain stays on its host. */
        if ((r = vm_domain_keep(b->s.dom)) < 0) {
                pthread_mutex_lock(&x->lock);
                repo_snapshot_delete(x->pl->repo, id);
                pthread_mutex_unlock(&x->lock);
        }
        return r;
}

void snapshot_libvirt_undo(struct vm_build *b) {
        if (b->volume && vm_volume_delete(b->host->pl.conn, b->volume) < 0)
                log_warning("%s: its volume %s on %s could not be removed; remove it with virsh vol-delete",
                            b->job->name, b->volume, b->host->pl.uri);
}
