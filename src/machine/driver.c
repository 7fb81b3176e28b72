/* Dispatch from the pipeline's vm_* calls to the driver's ops; missing ops answer -EOPNOTSUPP. */
#include "machine/driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/util.h"

const char *vm_accel_to_string(enum vm_accel a) {
        switch (a) {
        case VM_ACCEL_KVM:
                return "kvm";
        case VM_ACCEL_TCG:
                return "tcg";
        default:
                return "auto";
        }
}

int vm_accel_from_string(const char *s, enum vm_accel *ret) {
        if (streq(s, "auto"))
                *ret = VM_ACCEL_AUTO;
        else if (streq(s, "kvm"))
                *ret = VM_ACCEL_KVM;
        else if (streq(s, "tcg"))
                *ret = VM_ACCEL_TCG;
        else
                return -EINVAL;
        return 0;
}

const char *vm_event_type_to_string(enum vm_event_type t) {
        switch (t) {
        case VM_EVENT_REBOOT:
                return "reboot";
        case VM_EVENT_POWEROFF:
                return "poweroff";
        case VM_EVENT_DIED:
                return "died";
        default:
                return "none";
        }
}

const char *vm_state_to_string(enum vm_state s) {
        return s == VM_STATE_RUNNING ? "running" : s == VM_STATE_PAUSED ? "paused" : "off";
}

static int unsupported(const struct vm_driver *drv, const char *what) {
        log_error("the %s driver cannot %s", drv->name, what);
        return -EOPNOTSUPP;
}

/* Call op on the driver of obj (a vm_conn or vm_domain), or say what it cannot do. */
#define DISPATCH(obj, op, what, ...) \
        ((obj)->driver->op ? (obj)->driver->op(__VA_ARGS__) : unsupported((obj)->driver, what))

int vm_conn_open(const struct vm_driver *drv, const struct vm_conn_opts *o, struct vm_conn **ret) {
        struct vm_conn *c = NULL;
        int r = drv->conn_open(o, &c);
        if (r < 0)
                return r;
        c->driver = drv;
        *ret = c;
        return 0;
}

void vm_conn_close(struct vm_conn *c) {
        if (c)
                c->driver->conn_close(c);
}

int vm_host_info(struct vm_conn *c, struct vm_host_info *ret) {
        return DISPATCH(c, host_info, "describe its host", c, ret);
}

int vm_disk_create(struct vm_conn *c, const char *path, uint64_t bytes) {
        return DISPATCH(c, disk_create, "create disks", c, path, bytes);
}

int vm_disk_create_overlay(struct vm_conn *c, const char *path, const char *backing) {
        return DISPATCH(c, disk_create_overlay, "create overlay disks", c, path, backing);
}

int vm_disk_commit(struct vm_conn *c, const char *overlay) {
        return DISPATCH(c, disk_commit, "commit overlay disks", c, overlay);
}

int vm_disk_import(struct vm_conn *c, const char *src, const char *dst) {
        return DISPATCH(c, disk_import, "import disks", c, src, dst);
}

int vm_disk_rebase(struct vm_conn *c, const char *overlay, const char *backing) {
        return DISPATCH(c, disk_rebase, "change an overlay's backing file", c, overlay, backing);
}

int vm_kill_users(struct vm_conn *c, const char *path, unsigned *ret_killed, unsigned *ret_spared) {
        unsigned k = 0, s = 0;
        int r = DISPATCH(c, kill_users, "find machines using a file", c, path, &k, &s);
        if (ret_killed)
                *ret_killed = r < 0 ? 0 : k;
        if (ret_spared)
                *ret_spared = r < 0 ? 0 : s;
        return r;
}

int vm_find_users(struct vm_conn *c, const char *path, char ***ret) {
        *ret = NULL;
        return DISPATCH(c, find_users, "find machines using a file", c, path, ret);
}

static int domain_done(struct vm_conn *c, int r, struct vm_domain *d, struct vm_domain **ret) {
        if (r < 0)
                return r;
        d->driver = c->driver;
        d->conn = c;
        *ret = d;
        return 0;
}

int vm_domain_define(struct vm_conn *c, const struct vm_def *def, const struct vm_domain_opts *o,
                     struct vm_domain **ret) {
        struct vm_domain *d = NULL;
        if (o && o->persistent && !c->driver->keep)
                return unsupported(c->driver, "define persistent domains");
        int r = DISPATCH(c, domain_define, "define machines", c, def, o, &d);
        return domain_done(c, r, d, ret);
}

int vm_domain_define_cuckoo(struct vm_conn *c, char *const *start_args, const struct vm_def *host,
                            const struct vm_domain_opts *o, struct vm_domain **ret) {
        struct vm_domain *d = NULL;
        int r = DISPATCH(c, domain_define_cuckoo, "run Cuckoo3 start_args", c, start_args, host, o, &d);
        return domain_done(c, r, d, ret);
}

void vm_domain_free(struct vm_domain *d) {
        if (d)
                d->driver->domain_free(d);
}

int vm_domain_start(struct vm_domain *d, const struct vm_start_opts *o) {
        static const struct vm_start_opts none = { 0 };
        return DISPATCH(d, start, "start machines", d, o ? o : &none);
}

int vm_domain_wait_event(struct vm_domain *d, int timeout_ms, struct vm_event *ret) {
        *ret = (struct vm_event){ 0 };
        return DISPATCH(d, wait_event, "watch machines", d, timeout_ms, ret);
}

int vm_domain_shutdown(struct vm_domain *d, int grace_ms) {
        return DISPATCH(d, shutdown, "shut machines down", d, grace_ms);
}

void vm_domain_destroy(struct vm_domain *d) {
        if (d && d->driver->destroy)
                d->driver->destroy(d);
}

int vm_domain_get_state(struct vm_domain *d, enum vm_state *ret) {
        return DISPATCH(d, get_state, "report machine states", d, ret);
}

int vm_domain_resume(struct vm_domain *d) { return DISPATCH(d, resume, "resume machines", d); }

int vm_domain_save_memory(struct vm_domain *d, const char *path, const struct vm_save_opts *o) {
        static const struct vm_save_opts defaults = { 0 };
        return DISPATCH(d, save_memory, "save machine memory", d, path, o ? o : &defaults);
}

int vm_domain_media_change(struct vm_domain *d, size_t cdrom, const char *path) {
        return DISPATCH(d, media_change, "change CD-ROM media", d, cdrom, path);
}

int vm_domain_send_keys(struct vm_domain *d, char *const *keys, int hold_ms) {
        return DISPATCH(d, send_keys, "send keys", d, keys, hold_ms);
}

int vm_domain_screenshot(struct vm_domain *d, const char *png_path) {
        return DISPATCH(d, screenshot, "take screenshots", d, png_path);
}

int vm_domain_agent_endpoint(struct vm_domain *d, unsigned slot, char *host, size_t size, uint16_t *port) {
        return DISPATCH(d, agent_endpoint, "tell where the agent is", d, slot, host, size, port);
}

int vm_domain_cuckoo_start_args(struct vm_domain *d, const struct vm_def *as_restored, char ***ret) {
        return DISPATCH(d, cuckoo_start_args, "write Cuckoo3 start_args", d, as_restored, ret);
}

char *vm_domain_log_tail(struct vm_domain *d, unsigned lines) {
        return d->driver->log_tail ? d->driver->log_tail(d, lines) : strdup("");
}

const char *vm_domain_describe(struct vm_domain *d) {
        return d->driver->describe ? d->driver->describe(d) : d->driver->name;
}

int vm_domain_snapshot_create(struct vm_domain *d, const char *name, const char *description) {
        return DISPATCH(d, snapshot_create, "take a running-state snapshot of a domain", d, name, description);
}

int vm_domain_keep(struct vm_domain *d) {
        return DISPATCH(d, keep, "keep a persistent domain", d);
}

int vm_conn_domain_info(struct vm_conn *c, const char *name, struct vm_domain_info *ret) {
        return DISPATCH(c, conn_domain_info, "look up a persistent domain", c, name, ret);
}

int vm_conn_domain_remove(struct vm_conn *c, const char *name) {
        return DISPATCH(c, conn_domain_remove, "remove a persistent domain", c, name);
}

int vm_volume_upload(struct vm_conn *c, const char *local_path, const char *name, char **ret_path,
                     bool *ret_uploaded) {
        return DISPATCH(c, volume_upload, "upload a storage volume", c, local_path, name, ret_path, ret_uploaded);
}

int vm_volume_create_overlay(struct vm_conn *c, const char *name, const char *backing_path, char **ret_path) {
        return DISPATCH(c, volume_create_overlay, "create a storage volume", c, name, backing_path, ret_path);
}

int vm_volume_delete(struct vm_conn *c, const char *name) {
        return DISPATCH(c, volume_delete, "delete a storage volume", c, name);
}

int vm_volume_users(struct vm_conn *c, const char *name, unsigned *ret_n) {
        return DISPATCH(c, volume_users, "count a volume's users", c, name, ret_n);
}

int vm_volume_list(struct vm_conn *c, char ***ret_names) {
        return DISPATCH(c, volume_list, "list storage volumes", c, ret_names);
}

bool vm_libvirt_takes_uefi_snapshots(const char *version) {
        unsigned long a = 0, b = 0, c = 0;
        if (!version || sscanf(version, "%lu.%lu.%lu", &a, &b, &c) < 2)
                return false;
        return a * 1000000 + b * 1000 + c >= VM_LIBVIRT_UEFI_SNAPSHOT_MAJOR * 1000000UL +
                                                   VM_LIBVIRT_UEFI_SNAPSHOT_MINOR * 1000UL + VM_LIBVIRT_UEFI_SNAPSHOT_MICRO;
}
