/* The fake driver's table: connection, storage as small files, and each domain op over the scripted guest. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <png.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"
#include "fake/internal.h"
#include "machine/cuckoo.h"
#include "machine/memfile.h"

#define DISK_MAGIC "fake-disk 1\n"
#define MEMORY_MARK "\nfake-vm-memory 1\n"
#define WAIT_SLICE_MS 20               /* how often waits look at the interrupt flag */

/* Every domain that exists; lock order: list_lock, then a domain's lock, then script.c's. */
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_domain *domains;
static unsigned n_domains;

static struct fake_domain *DOMAIN(struct vm_domain *d) { return (struct fake_domain *)d; }

/* ---- connection ---- */

static void fake_conn_close(struct vm_conn *vc) {
        struct fake_conn *c = (struct fake_conn *)vc;
        if (!c)
                return;
        free(c->uri);
        free(c->pool);
        free(c);
}

static int fake_conn_open(const struct vm_conn_opts *o, struct vm_conn **ret) {
        /* A host reached by URI may be unreachable: the hook fails this moment. */
        int error = 0;
        if (o && o->uri && fake_hook_call(NULL, "conn-open", o->uri, &error) == FAKE_FAIL)
                return log_error_errno(-error, "cannot connect to %s: %m (scripted)", o->uri);
        struct fake_conn *c = calloc(1, sizeof *c);
        if (!c)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        c->accel = o ? o->accel : VM_ACCEL_AUTO;
        if ((o && o->uri && !(c->uri = strdup(o->uri))) || (o && o->pool && !(c->pool = strdup(o->pool)))) {
                fake_conn_close(&c->base);
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        }
        *ret = &c->base;
        return 0;
}


static int fake_host_info(struct vm_conn *vc, struct vm_host_info *ret) {
        struct fake_conn *c = (struct fake_conn *)vc;
        _cleanup_free_ char *version = NULL;
        if (fake_facts(NULL, NULL, &version) < 0)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        *ret = (struct vm_host_info){ .driver = "fake" };
        ret->accel = c->accel == VM_ACCEL_TCG ? VM_ACCEL_TCG : VM_ACCEL_KVM;   /* auto: "KVM works" */
        snprintf(ret->version, sizeof ret->version, "%s", version);
        ret->local = fake_uri_local(c->uri);
        if (c->uri)   /* a host reached by URI stands for a libvirt host */
                snprintf(ret->manager_version, sizeof ret->manager_version, "%s", fake_manager_version());
        return 0;
}

/* ---- storage ---- */

/* Create path (it must not exist) holding content; nothing is left on failure. */
static int write_new_file(const char *path, const char *content) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, content, strlen(content));
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r < 0)
                unlink(path);
        return r;
}

/* The storage moments: the hook may fail them; DIE and HANG have no machine to act on. */
static int storage_moment(const char *moment, const char *path) {
        int error = 0;
        if (fake_hook_call(NULL, moment, path, &error) == FAKE_FAIL)
                return log_error_errno(-error, "%s %s failed: %m (scripted)", moment, path);
        return 0;
}

static int fake_disk_create(struct vm_conn *c, const char *path, uint64_t bytes) {
        (void)c;
        int r = storage_moment("disk-create", path);
        if (r < 0)
                return r;
        _cleanup_free_ char *content = strdup_printf(DISK_MAGIC "size=%llu\n", (unsigned long long)bytes);
        if (!content)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        r = write_new_file(path, content);
        if (r == -EEXIST)
                return log_error_errno(r, "disk %s already exists; remove it or pick another path", path);
        if (r < 0)
                return log_error_errno(r, "cannot create disk %s: %m", path);
        fake_journal_add("disk-create %s", fake_base(path));
        return 0;
}

/* A copy of src (a fake disk, or any file) at dst. */
static int fake_disk_import(struct vm_conn *c, const char *src, const char *dst) {
        (void)c;
        int r = storage_moment("disk-import", dst);
        if (r < 0)
                return r;
        if (path_exists(dst))
                return log_error_errno(-EEXIST, "disk %s already exists; remove it or pick another path", dst);
        r = copy_file(src, dst, 0644);
        if (r < 0) {
                if (r != -EEXIST)
                        unlink_if_exists(dst);
                return log_error_errno(r, "cannot import %s as %s: %m", src, dst);
        }
        fake_journal_add("disk-import %s into %s", fake_base(src), fake_base(dst));
        return 0;
}

static int fake_disk_create_overlay(struct vm_conn *c, const char *path, const char *backing) {
        (void)c;
        int r = storage_moment("disk-overlay", path);
        if (r < 0)
                return r;
        char abs[PATH_MAX];
        if (!realpath(backing, abs))
                return log_error_errno(-errno, "cannot create overlay %s: backing file %s: %m", path, backing);
        _cleanup_free_ char *content = strdup_printf(DISK_MAGIC "size=0\nbacking=%s\n", abs);
        if (!content)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        r = write_new_file(path, content);
        if (r == -EEXIST)
                return log_error_errno(r, "overlay %s already exists; remove it or pick another path", path);
        if (r < 0)
                return log_error_errno(r, "cannot create overlay %s: %m", path);
        fake_journal_add("disk-overlay %s on %s", fake_base(path), fake_base(abs));
        return 0;
}

/* The backing file an overlay names (new string), or NULL. */
static char *overlay_backing(const char *content) {
        const char *b = strstr(content, "\nbacking=");
        if (!b || !startswith(content, DISK_MAGIC))
                return NULL;
        b += strlen("\nbacking=");
        return strndup(b, strcspn(b, "\n"));
}

static int fake_disk_commit(struct vm_conn *c, const char *overlay) {
        (void)c;
        int r = storage_moment("disk-commit", overlay);
        if (r < 0)
                return r;
        _cleanup_free_ char *content = NULL;
        r = read_full_file(overlay, &content, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot commit overlay %s: %m", overlay);
        _cleanup_free_ char *backing = overlay_backing(content);
        if (!backing)
                return log_error_errno(-EINVAL, "cannot commit %s: it is not an overlay (no backing file)", overlay);
        if (!path_exists(backing))
                return log_error_errno(-ENOENT, "cannot commit overlay %s: its backing file %s is gone", overlay,
                                       backing);
        _cleanup_close_ int fd = open(backing, O_WRONLY | O_APPEND | O_CLOEXEC);
        _cleanup_free_ char *line = strdup_printf("committed=%s\n", fake_base(overlay));
        if (!line)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        if (fd < 0 || (r = write_all(fd, line, strlen(line))) < 0)
                return log_error_errno(fd < 0 ? -errno : r, "cannot commit overlay %s into %s: %m", overlay, backing);
        fake_journal_add("disk-commit %s into %s", fake_base(overlay), fake_base(backing));
        return 0;
}

/* Whether file is path or lies under the folder path. */
static bool lies_under(const char *file, const char *path) {
        if (!file)
                return false;
        size_t l = strlen(path);
        while (l > 1 && path[l - 1] == '/')
                l--;
        return strncmp(file, path, l) == 0 && (file[l] == 0 || file[l] == '/' || (l == 1 && path[0] == '/'));
}

/* lock held */
static bool domain_uses(const struct fake_domain *d, const char *path) {
        if (lies_under(d->disk, path) || lies_under(d->serial_path, path) || lies_under(d->log_path, path))
                return true;
        for (size_t i = 0; i < d->n_media; i++)
                if (lies_under(d->media[i], path))
                        return true;
        return false;
}

static int fake_kill_users(struct vm_conn *c, const char *path, unsigned *ret_killed, unsigned *ret_spared) {
        (void)c;
        unsigned killed = 0, spared = 0;
        pthread_mutex_lock(&list_lock);
        for (struct fake_domain *d = domains; d; d = d->next) {
                pthread_mutex_lock(&d->lock);
                if (d->state != VM_STATE_OFF && domain_uses(d, path)) {
                        if (d->orphan) {
                                _cleanup_free_ char *detail = strdup_printf("killed: it used %s", path);
                                _cleanup_free_ char *j = strdup_printf("kill %s", d->name);
                                fake_guest_off_locked(d, VM_EVENT_DIED, detail ? detail : "killed", j ? j : "kill");
                                killed++;
                        } else {
                                /* This vmcloak runs it: not a stale user. */
                                fake_journal_add("spare %s", d->name);
                                spared++;
                        }
                }
                pthread_mutex_unlock(&d->lock);
        }
        pthread_mutex_unlock(&list_lock);
        *ret_killed = killed;
        *ret_spared = spared;
        return 0;
}

/* Running domains using path that this vmcloak does not own (fake_orphan): what a delete must
 * not pull files from under. */
static int fake_find_users(struct vm_conn *c, const char *path, char ***ret) {
        (void)c;
        char **l = NULL;
        int r = 0;
        pthread_mutex_lock(&list_lock);
        for (struct fake_domain *d = domains; d && r == 0; d = d->next) {
                pthread_mutex_lock(&d->lock);
                if (d->state != VM_STATE_OFF && d->orphan && domain_uses(d, path))
                        r = strv_extendf(&l, "fake machine %s", d->name);
                pthread_mutex_unlock(&d->lock);
        }
        pthread_mutex_unlock(&list_lock);
        if (r < 0) {
                strv_free(l);
                return log_oom();
        }
        *ret = l;
        return 0;
}

unsigned fake_live_domains(void) {
        pthread_mutex_lock(&list_lock);
        unsigned n = n_domains;
        pthread_mutex_unlock(&list_lock);
        return n;
}

int fake_orphan(const char *name) {
        int r = -ENOENT;
        pthread_mutex_lock(&list_lock);
        for (struct fake_domain *d = domains; d && r < 0; d = d->next) {
                pthread_mutex_lock(&d->lock);
                if (streq(d->name, name) && d->state != VM_STATE_OFF) {
                        d->orphan = true;
                        r = 0;
                }
                pthread_mutex_unlock(&d->lock);
        }
        pthread_mutex_unlock(&list_lock);
        return r;
}

/* ---- domains ---- */

static void domain_release(struct fake_domain *d) {
        for (size_t i = 0; i < ELEMENTSOF(d->agent); i++)
                fake_agent_free(d->agent[i]);
        free(d->name);
        free(d->host_uri);
        free(d->disk);
        for (size_t i = 0; i < d->n_media; i++)
                free(d->media[i]);
        free(d->media);
        free(d->serial_path);
        free(d->ip[0]);
        free(d->ip[1]);
        free(d->log_path);
        free(d->nvram);
        free(d->kernel);
        free(d->tpm_state);
        free(d->events);
        free(d->status);
        free(d->status_description);
        fake_run_done(&d->run);
        pthread_cond_destroy(&d->cond);
        pthread_mutex_destroy(&d->lock);
        free(d);
}

static bool dup_or_null(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return !s || *ret;
}

static int fake_domain_define(struct vm_conn *c, const struct vm_def *def, const struct vm_domain_opts *o,
                              struct vm_domain **ret) {
        if (!o || isempty(o->log_path))
                return log_error_errno(-EINVAL, "fake driver: a machine needs a log file (vm_domain_opts.log_path)");
        if (o->passthrough && o->passthrough[0])
                return log_error_errno(-EINVAL, "the fake driver takes no raw hypervisor arguments (got '%s'); "
                                       "drop --qemu-arg", o->passthrough[0]);
        char reason[256] = "";
        /* A host reached by URI stands for libvirt, which gives a UEFI domain without a
         * variable store its own per-domain one (libvirt/driver.c): checked as if it had one. */
        const struct fake_conn *fc = (const struct fake_conn *)c;
        struct vm_def checked;
        vm_def_init(&checked);
        bool libvirt_nvram = fc->uri && def->firmware == VM_FIRMWARE_UEFI && isempty(def->nvram);
        if (libvirt_nvram && (vm_def_copy(def, &checked) < 0 || free_and_strdup(&checked.nvram, "per-domain") < 0)) {
                vm_def_done(&checked);
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        }
        int rc = vm_def_check(libvirt_nvram ? &checked : def, reason, sizeof reason);
        vm_def_done(&checked);
        if (rc < 0) {
                log_error("%s", reason);
                return -EINVAL;
        }
        if (isempty(def->name))
                return log_error_errno(-EINVAL, "the machine has no name (vm_def.name)");
        if (isempty(def->disk.path))
                return log_error_errno(-EINVAL, "machine %s has no disk (vm_def.disk.path)", def->name);

        struct fake_domain *d = calloc(1, sizeof *d);
        if (!d)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        pthread_mutex_init(&d->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&d->cond, &ca);
        pthread_condattr_destroy(&ca);
        /* Drive 0 exists even when the definition lists no CD-ROM (def.h). */
        d->n_media = def->n_cdroms > 0 ? def->n_cdroms : 1;
        d->media = calloc(d->n_media, sizeof *d->media);
        bool ok = d->media && dup_or_null(def->name, &d->name) && dup_or_null(def->disk.path, &d->disk) &&
                  dup_or_null(def->serial.path, &d->serial_path) && dup_or_null(def->net.guest_ip, &d->ip[0]) &&
                  dup_or_null(def->net.guest_ip2, &d->ip[1]) && dup_or_null(o->log_path, &d->log_path) &&
                  dup_or_null(def->nvram, &d->nvram) && dup_or_null(def->kboot.kernel, &d->kernel) && (!def->tpm || dup_or_null(def->tpm_state, &d->tpm_state));
        for (size_t i = 0; ok && i < def->n_cdroms; i++)
                ok = dup_or_null(def->cdroms[i].media, &d->media[i]);
        if (!ok) {
                if (!d->media)
                        d->n_media = 0;
                domain_release(d);
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        }
        d->serial_type = def->serial.type;
        d->agent_port = def->net.agent_port;
        d->persistent = o->persistent;
        d->uefi = def->firmware == VM_FIRMWARE_UEFI;
        if (fc->uri && !(d->host_uri = strdup(fc->uri))) {
                domain_release(d);
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        }
        int r = d->persistent ? fake_host_define(d) : 0;
        if (r < 0) {
                domain_release(d);
                return r;
        }
        for (unsigned slot = 0; r == 0 && slot < 2; slot++)
                if (d->ip[slot] && d->agent_port)
                        r = fake_agent_new(d, slot, &d->agent[slot]);
        if (r < 0) {
                if (d->persistent)
                        fake_host_release(d);
                domain_release(d);
                return log_error_errno(r, "fake machine %s: cannot start its agent on 127.0.0.1: %m", def->name);
        }
        if (d->agent[0])
                snprintf(d->description, sizeof d->description, "fake machine %s (agent at 127.0.0.1:%u)", d->name,
                         fake_agent_port(d->agent[0]));
        else
                snprintf(d->description, sizeof d->description, "fake machine %s", d->name);

        pthread_mutex_lock(&list_lock);
        d->next = domains;
        domains = d;
        n_domains++;
        pthread_mutex_unlock(&list_lock);
        fake_journal_add("define %s", d->name);
        /* A machine of a hardware profile: what tells it from another of the same model. */
        if (def->id.smbios.system.uuid)
                fake_journal_add("identity %s mac=%s uuid=%s serial=%s disk=%s/%s nic=%s", d->name,
                                 strempty(def->nic.mac), def->id.smbios.system.uuid,
                                 strempty(def->id.smbios.system.serial), strempty(def->disk.model),
                                 strempty(def->disk.serial), strempty(def->nic.model));
        if (d->nvram || d->tpm_state)
                fake_journal_add("firmware %s %s%s nvram=%s tpm=%s", d->name,
                                 def->firmware == VM_FIRMWARE_UEFI ? "uefi" : "bios", def->secure_boot ? "+sb" : "",
                                 d->nvram ? fake_base(d->nvram) : "none", d->tpm_state ? fake_base(d->tpm_state) : "none");
        *ret = &d->base;
        return 0;
}

static void fake_domain_free(struct vm_domain *vd) {
        struct fake_domain *d = DOMAIN(vd);
        pthread_mutex_lock(&list_lock);
        for (struct fake_domain **p = &domains; *p; p = &(*p)->next)
                if (*p == d) {
                        *p = d->next;
                        n_domains--;
                        break;
                }
        pthread_mutex_unlock(&list_lock);

        pthread_mutex_lock(&d->lock);
        d->freeing = true;
        if (d->state != VM_STATE_OFF) {
                _cleanup_free_ char *j = strdup_printf("destroy %s", d->name);
                fake_guest_off_locked(d, VM_EVENT_DIED, "destroyed by the host", j ? j : "destroy");
        }
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
        fake_guest_reap(d);
        if (d->persistent)
                fake_host_release(d);
        fake_journal_add("free %s", d->name);
        domain_release(d);   /* stops the agents: their connections see freeing and end */
}

/* "[boot.iso,config.iso]": the base names of the media in the drives, "" for an empty tray
 * ("[,config.iso]"); lock held. */
static char *media_list(const struct fake_domain *d) {
        size_t n = 3;
        for (size_t i = 0; i < d->n_media; i++)
                n += strlen(fake_base(d->media[i])) + 1;
        char *s = malloc(n), *p = s;
        if (!s)
                return NULL;
        *p++ = '[';
        for (size_t i = 0; i < d->n_media; i++) {
                if (i > 0)
                        *p++ = ',';
                p = stpcpy(p, fake_base(d->media[i]));
        }
        strcpy(p, "]");
        return s;
}

/* Where a restored guest's agent answers: the slot of the address saved in the memory file. */
static int restore_slot(struct fake_domain *d, const char *image, unsigned *ret) {
        /* The fake's own files are small; a real memory file is read no further than its head. */
        char content[4096];
        _cleanup_close_ int fd = open(image, O_RDONLY | O_CLOEXEC);
        ssize_t k = fd < 0 ? -1 : read(fd, content, sizeof content - 1);
        if (k < 0)
                return log_error_errno(-errno, "cannot read memory image %s: %m", image);
        content[k] = 0;
        const char *mark = strstr(content, MEMORY_MARK);
        if (!mark) {
                *ret = 0;   /* not written by the fake: the guest is where the definition says */
                return 0;
        }
        const char *a = strstr(mark, "\naddress=");
        _cleanup_free_ char *address = a ? strndup(a + 9, strcspn(a + 9, "\n")) : strdup("");
        if (!address)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        *ret = 2;
        for (unsigned i = 0; i < 2; i++)
                if (d->ip[i] && streq(d->ip[i], address))
                        *ret = i;
        if (*ret == 2) {
                pthread_mutex_lock(&d->lock);
                fake_log_append(d, "the restored guest is at %s, an address this definition does not reach",
                                isempty(address) ? "no address" : address);
                pthread_mutex_unlock(&d->lock);
        }
        return 0;
}

static int fake_start(struct vm_domain *vd, const struct vm_start_opts *o) {
        struct fake_domain *d = DOMAIN(vd);
        pthread_mutex_lock(&d->lock);
        bool off = d->state == VM_STATE_OFF;
        enum fake_boot kind = o->memory_image ? FAKE_BOOT_RESTORE : d->media[0] ? FAKE_BOOT_INSTALL : FAKE_BOOT_DISK;
        _cleanup_strv_free_ char **media = NULL;
        bool ok = true;
        for (size_t i = 0; i < d->n_media; i++)
                if (d->media[i])
                        ok = ok && strv_extend(&media, d->media[i]) >= 0;
        _cleanup_free_ char *list = media_list(d);
        pthread_mutex_unlock(&d->lock);
        if (!ok || !list)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        if (!off)
                return log_error_errno(-EBUSY, "fake machine %s is already running", d->name);
        if (!path_exists(d->disk) && !(d->host_uri && fake_host_has_volume(d->host_uri, d->disk)))
                return log_error_errno(-ENOENT, "cannot start %s: its disk %s does not exist", d->name, d->disk);
        STRV_FOREACH(m, media)
                if (!path_exists(*m))
                        return log_error_errno(-ENOENT, "cannot start %s: CD-ROM image %s does not exist", d->name, *m);
        unsigned slot = 0;
        if (o->memory_image) {
                enum vm_compress fmt;
                int r = vm_memfile_detect(o->memory_image, &fmt);
                if (r == -EINVAL || r == -ENODATA)
                        return log_error_errno(-EINVAL, "cannot restore %s: %s is not a memory file (no lz4, gzip, "
                                               "zstd or QEVM magic)", d->name, o->memory_image);
                if (r < 0)
                        return log_error_errno(r, "cannot restore %s from %s: %m", d->name, o->memory_image);
                if ((r = restore_slot(d, o->memory_image, &slot)) < 0)
                        return r;
        }
        /* What the firmware and the TPM keep across boots: each boot leaves its mark there, as
         * OVMF's boot variables and swtpm's state change on a real machine. */
        if (d->nvram && !o->memory_image) {
                _cleanup_close_ int fd = open(d->nvram, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                _cleanup_free_ char *mark = strdup_printf("boot %s\n", d->name);
                if (fd < 0 || !mark || write_all(fd, mark, strlen(mark)) < 0)
                        return log_error_errno(-EIO, "fake machine %s: cannot write its vars %s", d->name, d->nvram);
        }
        if (d->tpm_state && !o->memory_image) {
                _cleanup_free_ char *perm = path_join(d->tpm_state, "tpm2-00.permall");
                _cleanup_free_ char *mark = strdup_printf("boot %s\n", d->name);
                _cleanup_close_ int fd = perm && mkdir_p(d->tpm_state, 0700) == 0
                                                 ? open(perm, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
                if (fd < 0 || !mark || write_all(fd, mark, strlen(mark)) < 0)
                        return log_error_errno(-EIO, "fake machine %s: cannot write its TPM state in %s", d->name,
                                               d->tpm_state);
        }
        static const char *const kinds[] = { "install", "disk", "restore" };
        int error = 0;
        enum fake_action a = fake_hook_call(d->name, "start", kinds[kind], &error);
        if (a == FAKE_FAIL)
                return log_error_errno(-error, "cannot start %s: %m (scripted)", d->name);
        struct fake_run run;
        if (fake_run_load(kind, o->reboot_powers_off, &run) < 0)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        _cleanup_free_ char *line = strdup_printf("start %s media=%s%s%s%s%s%s", d->name, list,
                                                  d->kernel ? " kernel=" : "",
                                                  d->kernel ? fake_base(d->kernel) : "",
                                                  o->memory_image ? " memory=" : "",
                                                  o->memory_image ? fake_base(o->memory_image) : "",
                                                  o->paused ? " paused" : "");
        if (!line) {
                fake_run_done(&run);
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        }
        int64_t t = now_ms();
        int r = fake_guest_start(d, &run, o->paused, a, slot, line);
        if (r == 0) {
                pthread_mutex_lock(&d->lock);
                d->power_on_ms = t;
                pthread_mutex_unlock(&d->lock);
        }
        return r;
}

static int fake_wait_event(struct vm_domain *vd, int timeout_ms, struct vm_event *ret) {
        struct fake_domain *d = DOMAIN(vd);
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        int r;
        pthread_mutex_lock(&d->lock);
        if (!d->ever_started) {
                pthread_mutex_unlock(&d->lock);
                return log_error_errno(-EINVAL, "fake machine %s was never started: there is nothing to wait for",
                                       d->name);
        }
        for (;;) {
                if (d->head_event < d->n_events) {
                        *ret = d->events[d->head_event++];
                        r = 0;
                        break;
                }
                if (d->state == VM_STATE_OFF && d->ended) {
                        *ret = d->final;
                        r = 0;
                        break;
                }
                if (interrupted()) {
                        r = log_debug_errno(-ECANCELED, "fake machine %s: wait interrupted", d->name);
                        break;
                }
                int64_t now = now_ms();
                if (deadline >= 0 && now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                int64_t until = now + WAIT_SLICE_MS;
                fake_cond_wait_until(d, deadline >= 0 && deadline < until ? deadline : until);
        }
        pthread_mutex_unlock(&d->lock);
        return r;
}

static void destroy_locked(struct fake_domain *d, const char *detail) {
        _cleanup_free_ char *j = strdup_printf("destroy %s", d->name);
        fake_guest_off_locked(d, VM_EVENT_DIED, detail, j ? j : "destroy");
}

static int fake_shutdown(struct vm_domain *vd, int grace_ms) {
        struct fake_domain *d = DOMAIN(vd);
        int error = 0;
        enum fake_action a = fake_hook_call(d->name, "shutdown", NULL, &error);
        int r = fake_guest_act(d, "shutdown", a, error);
        if (r < 0)
                return log_error_errno(r, "cannot shut %s down: %m (scripted)", d->name);
        int64_t deadline = grace_ms < 0 ? -1 : now_ms() + grace_ms;
        pthread_mutex_lock(&d->lock);
        if (d->state != VM_STATE_OFF) {
                fake_journal_add("shutdown %s", d->name);
                d->acpi = true;
                pthread_cond_broadcast(&d->cond);
        }
        for (;;) {
                if (d->state == VM_STATE_OFF) {
                        r = 0;
                        break;
                }
                if (interrupted()) {
                        r = log_debug_errno(-ECANCELED, "fake machine %s: shutdown interrupted", d->name);
                        break;
                }
                int64_t now = now_ms();
                if (deadline >= 0 && now >= deadline) {
                        char detail[128];
                        snprintf(detail, sizeof detail, "switched off: the guest did not shut down within %d ms",
                                 grace_ms);
                        destroy_locked(d, detail);
                        r = 1;
                        break;
                }
                int64_t until = now + WAIT_SLICE_MS;
                fake_cond_wait_until(d, deadline >= 0 && deadline < until ? deadline : until);
        }
        pthread_mutex_unlock(&d->lock);
        if (r >= 0)
                fake_guest_reap(d);
        return r;
}

static void fake_destroy(struct vm_domain *vd) {
        struct fake_domain *d = DOMAIN(vd);
        pthread_mutex_lock(&d->lock);
        if (d->state != VM_STATE_OFF)
                destroy_locked(d, "destroyed by the host");
        pthread_mutex_unlock(&d->lock);
        fake_guest_reap(d);
}

static int fake_get_state(struct vm_domain *vd, enum vm_state *ret) {
        struct fake_domain *d = DOMAIN(vd);
        pthread_mutex_lock(&d->lock);
        *ret = d->state;
        pthread_mutex_unlock(&d->lock);
        return 0;
}

static int fake_resume(struct vm_domain *vd) {
        struct fake_domain *d = DOMAIN(vd);
        int r = 0;
        pthread_mutex_lock(&d->lock);
        if (d->state == VM_STATE_OFF) {
                r = -ESRCH;
        } else if (d->state == VM_STATE_PAUSED) {
                d->state = VM_STATE_RUNNING;
                fake_journal_add("resume %s", d->name);
                pthread_cond_broadcast(&d->cond);
        }
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return log_error_errno(r, "cannot resume %s: the machine is off", d->name);
        return 0;
}

static const unsigned char magic_lz4[] = { 0x04, 0x22, 0x4d, 0x18 };
static const unsigned char magic_gzip[] = { 0x1f, 0x8b };
static const unsigned char magic_zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };
static const unsigned char magic_none[] = { 'Q', 'E', 'V', 'M' };

static int fake_save_memory(struct vm_domain *vd, const char *path, const struct vm_save_opts *o) {
        struct fake_domain *d = DOMAIN(vd);
        static const struct vm_save_opts defaults = { .compress = VM_COMPRESS_LZ4 };
        if (!o)
                o = &defaults;
        unsigned def_level, max_level;
        if (vm_compress_level_range(o->compress, &def_level, &max_level) < 0)
                return log_error_errno(-EINVAL, "cannot save %s: unknown compressor %d", d->name, (int)o->compress);
        if (o->level > max_level)
                return log_error_errno(-EINVAL, "cannot save %s: %s goes up to level %u, not %u", d->name,
                                       vm_compress_to_string(o->compress), max_level, o->level);
        const char *format = vm_compress_to_string(o->compress);

        pthread_mutex_lock(&d->lock);
        if (d->state == VM_STATE_OFF) {
                pthread_mutex_unlock(&d->lock);
                return log_error_errno(-ESRCH, "cannot save %s: the machine is off", d->name);
        }
        d->state = VM_STATE_PAUSED;   /* the agent stops answering; the guest's clock stops */
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);

        int error = 0;
        enum fake_action a = fake_hook_call(d->name, "save", format, &error);
        int r = fake_guest_act(d, "save", a, error);
        if (r < 0)
                return log_error_errno(r, "cannot save %s to %s: %m (scripted)", d->name, path);
        if (interrupted())
                return log_debug_errno(-ECANCELED, "fake machine %s: save interrupted", d->name);

        pthread_mutex_lock(&d->lock);
        bool off = d->state == VM_STATE_OFF;
        const char *address = d->slot < 2 && d->ip[d->slot] ? d->ip[d->slot] : "";
        _cleanup_free_ char *body = strdup_printf(MEMORY_MARK "name=%s\naddress=%s\n", d->name, address);
        pthread_mutex_unlock(&d->lock);
        if (off)
                return log_error_errno(-EIO, "cannot save %s: the machine died while its memory was saved", d->name);
        if (!body)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");

        const unsigned char *magic = magic_lz4;
        size_t magic_len = sizeof magic_lz4;
        switch (o->compress) {
        case VM_COMPRESS_GZIP:
                magic = magic_gzip;
                magic_len = sizeof magic_gzip;
                break;
        case VM_COMPRESS_ZSTD:
                magic = magic_zstd;
                magic_len = sizeof magic_zstd;
                break;
        case VM_COMPRESS_NONE:
                magic = magic_none;
                magic_len = sizeof magic_none;
                break;
        default:
                break;
        }
        size_t len = magic_len + strlen(body);
        _cleanup_free_ unsigned char *data = malloc(len);
        if (!data)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        memcpy(data, magic, magic_len);
        memcpy(data + magic_len, body, len - magic_len);
        r = write_file_atomic(path, data, len, 0644);
        if (r < 0)
                return log_error_errno(r, "cannot write the memory of %s to %s: %m", d->name, path);

        pthread_mutex_lock(&d->lock);
        _cleanup_free_ char *j = strdup_printf("save %s %s", d->name, format);
        fake_guest_off_locked(d, VM_EVENT_DIED, "stopped after its memory was saved", j ? j : "save");
        pthread_mutex_unlock(&d->lock);
        fake_guest_reap(d);
        return 0;
}

static int fake_media_change(struct vm_domain *vd, size_t cdrom, const char *path) {
        struct fake_domain *d = DOMAIN(vd);
        if (cdrom >= d->n_media)
                return log_error_errno(-EINVAL, "machine %s has no CD-ROM drive %zu (it has %zu)", d->name, cdrom,
                                       d->n_media);
        if (path && !path_exists(path))
                return log_error_errno(-ENOENT, "cannot put %s into %s: no such file", path, d->name);
        char arg[32];
        snprintf(arg, sizeof arg, "%zu", cdrom);
        _cleanup_free_ char *full = path ? strdup_printf("%s %s", arg, path) : NULL;
        int error = 0;
        enum fake_action a = fake_hook_call(d->name, "media-change", full ? full : arg, &error);
        int r = fake_guest_act(d, "media-change", a, error);
        if (r < 0)
                return log_error_errno(r, "cannot change the medium in drive %zu of %s: %m (scripted)", cdrom, d->name);
        char *copy = NULL;
        if (path && !(copy = strdup(path)))
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        pthread_mutex_lock(&d->lock);
        free(d->media[cdrom]);
        d->media[cdrom] = copy;
        if (path)
                fake_journal_add("insert %s %zu %s", d->name, cdrom, fake_base(path));
        else
                fake_journal_add("eject %s %zu", d->name, cdrom);
        pthread_mutex_unlock(&d->lock);
        return 0;
}

/* 0 when the machine runs or is paused, else -ESRCH after a line naming what could not be done. */
static int need_power(struct fake_domain *d, const char *what) {
        pthread_mutex_lock(&d->lock);
        bool off = d->state == VM_STATE_OFF;
        pthread_mutex_unlock(&d->lock);
        return off ? log_error_errno(-ESRCH, "cannot %s %s: the machine is off", what, d->name) : 0;
}

static int fake_send_keys(struct vm_domain *vd, char *const *keys, int hold_ms) {
        struct fake_domain *d = DOMAIN(vd);
        (void)hold_ms;
        if (!keys || !keys[0])
                return log_error_errno(-EINVAL, "no keys to send to %s", d->name);
        int r = need_power(d, "send keys to");
        if (r < 0)
                return r;
        _cleanup_free_ char *combo = strv_join(keys, "+");
        if (!combo)
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        fake_journal_add("keys %s %s", d->name, combo);
        return 0;
}

/* The screen (fake_set_screen) as an 8x8 grey PNG, written by libpng. */
static int fake_screenshot(struct vm_domain *vd, const char *png_path) {
        struct fake_domain *d = DOMAIN(vd);
        int r = need_power(d, "take a screenshot of");
        if (r < 0)
                return r;
        pthread_mutex_lock(&d->lock);
        int64_t on = d->power_on_ms;
        pthread_mutex_unlock(&d->lock);
        unsigned char pixels[8 * 8];
        memset(pixels, (int)fake_screen_level(d->name, now_ms() - on), sizeof pixels);
        png_image img = { .version = PNG_IMAGE_VERSION, .width = 8, .height = 8, .format = PNG_FORMAT_GRAY };
        if (!png_image_write_to_file(&img, png_path, 0, pixels, 0, NULL))
                return log_error_errno(-EIO, "cannot write screenshot %s: %s", png_path, img.message);
        fake_journal_add("screenshot %s %s", d->name, fake_base(png_path));
        return 0;
}

static int fake_agent_endpoint(struct vm_domain *vd, unsigned slot, char *host, size_t size, uint16_t *port) {
        struct fake_domain *d = DOMAIN(vd);
        if (slot > 1 || !d->agent[slot])
                return log_debug_errno(-ENOENT, "fake machine %s has no agent address in slot %u", d->name, slot);
        if (snprintf(host, size, "127.0.0.1") >= (int)size)
                return log_error_errno(-ENOBUFS, "fake driver: no room for an address");
        *port = fake_agent_port(d->agent[slot]);
        return 0;
}

static int fake_cuckoo_start_args(struct vm_domain *vd, const struct vm_def *as_restored, char ***ret) {
        struct fake_domain *d = DOMAIN(vd);
        const char *name = as_restored && as_restored->name ? as_restored->name : d->name;
        enum vm_serial_type st = as_restored ? as_restored->serial.type : d->serial_type;
        const char *serial = as_restored ? as_restored->serial.path : d->serial_path;
        /* Devices only: where the agent is comes from the host definition at restore time. */
        _cleanup_strv_free_ char **l = NULL;
        int r = 0;
        if (strv_extend(&l, "-machine") < 0 || strv_extendf(&l, "fake,name=%s", name) < 0 ||
            strv_extend(&l, "-drive") < 0 || strv_extend(&l, "file=" VM_DISK_PLACEHOLDER ",format=qcow2") < 0)
                r = -ENOMEM;
        if (r == 0 && st == VM_SERIAL_FILE && serial &&
            (strv_extend(&l, "-serial") < 0 || strv_extendf(&l, "file:%s", serial) < 0))
                r = -ENOMEM;
        if (r < 0)
                return log_error_errno(r, "fake driver: out of memory");
        const char *why = NULL;
        r = cuckoo_start_args_check(l, &why);
        if (r < 0)
                return log_error_errno(r, "cannot write start_args for %s: %s", name, strempty(why));
        *ret = TAKE_PTR(l);
        return 0;
}

static int fake_domain_define_cuckoo(struct vm_conn *c, char *const *start_args, const struct vm_def *host,
                                     const struct vm_domain_opts *o, struct vm_domain **ret) {
        const char *why = NULL;
        int r = cuckoo_start_args_check(start_args, &why);
        if (r == -ENOMEM)
                return log_error_errno(r, "fake driver: out of memory");
        if (r < 0)
                return log_error_errno(r, "the start_args of %s cannot be run: %s", strempty(host->name),
                                       strempty(why));
        if (strv_length(start_args) < 2 || !streq(start_args[0], "-machine") ||
            !startswith(start_args[1], "fake,name="))
                return log_error_errno(-EINVAL, "the start_args of %s were not written by the fake driver "
                                       "(they start with '%s')", strempty(host->name), start_args[0]);
        /* The machine as host says, at one address (Cuckoo3 moves nothing), with the devices of
         * start_args. */
        struct vm_def def;
        r = vm_def_copy(host, &def);
        if (r < 0)
                return log_error_errno(r, "fake driver: out of memory");
        r = free_and_strdup(&def.net.guest_ip2, NULL);
        for (char *const *a = start_args + 2; r == 0 && *a; a += 2) {
                const char *v = a[1];
                if (!v)
                        r = log_error_errno(-EINVAL, "fake start_args: '%s' has no value", *a);
                else if (streq(*a, "-drive"))
                        continue;   /* Cuckoo3's disposable disk: host->disk.path */
                else if (streq(*a, "-serial") && startswith(v, "file:")) {
                        def.serial.type = VM_SERIAL_FILE;
                        if ((r = free_and_strdup(&def.serial.path, v + 5)) < 0)
                                log_error_errno(r, "fake driver: out of memory");
                } else
                        r = log_error_errno(-EINVAL, "fake start_args: unknown option '%s %s'", *a, v);
        }
        if (r == 0)
                r = fake_domain_define(c, &def, o, ret);
        vm_def_done(&def);
        return r;
}

static char *fake_log_tail(struct vm_domain *vd, unsigned lines) {
        struct fake_domain *d = DOMAIN(vd);
        pthread_mutex_lock(&d->lock);
        uint64_t offset = d->log_offset;
        pthread_mutex_unlock(&d->lock);
        _cleanup_free_ char *content = NULL;
        size_t len = 0;
        if (read_full_file(d->log_path, &content, &len) < 0 || offset >= len || lines == 0)
                return strdup("");
        /* Walk back over the last lines of this run. */
        char *start = content + offset;
        char *end = content + len;
        while (end > start && end[-1] == '\n')
                end--;
        *end = 0;
        char *p = end;
        for (unsigned n = 0; p > start;) {
                if (p[-1] == '\n' && ++n == lines)
                        break;
                p--;
        }
        _cleanup_strv_free_ char **l = NULL;
        for (char *save = NULL, *t = strtok_r(p, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
                if (strv_extend(&l, t) < 0)
                        return NULL;
        return l ? strv_join(l, " / ") : strdup("");
}

static const char *fake_describe(struct vm_domain *vd) { return DOMAIN(vd)->description; }

static int fake_snapshot_create(struct vm_domain *vd, const char *name, const char *description) {
        (void)description;
        struct fake_domain *d = DOMAIN(vd);
        if (!d->persistent)
                return log_error_errno(-EINVAL, "%s is no persistent domain: it cannot have snapshots", d->name);
        pthread_mutex_lock(&d->lock);
        enum vm_state st = d->state;
        pthread_mutex_unlock(&d->lock);
        if (st == VM_STATE_OFF)
                return log_error_errno(-ESRCH, "cannot take snapshot %s of %s: it is off", name, d->name);
        return fake_host_snapshot_create(d, name, true);
}

static int fake_keep(struct vm_domain *vd) {
        struct fake_domain *d = DOMAIN(vd);
        if (!d->persistent)
                return log_error_errno(-EINVAL, "%s was not defined as a persistent domain: nothing to keep", d->name);
        return fake_host_keep(d);
}

const struct vm_driver fake_driver = {
        .name = "fake",
        .conn_open = fake_conn_open,
        .conn_close = fake_conn_close,
        .host_info = fake_host_info,
        .disk_create = fake_disk_create,
        .disk_import = fake_disk_import,
        .disk_create_overlay = fake_disk_create_overlay,
        .disk_commit = fake_disk_commit,
        .kill_users = fake_kill_users,
        .find_users = fake_find_users,
        .domain_define = fake_domain_define,
        .domain_define_cuckoo = fake_domain_define_cuckoo,
        .domain_free = fake_domain_free,
        .start = fake_start,
        .wait_event = fake_wait_event,
        .shutdown = fake_shutdown,
        .destroy = fake_destroy,
        .get_state = fake_get_state,
        .resume = fake_resume,
        .save_memory = fake_save_memory,
        .media_change = fake_media_change,
        .send_keys = fake_send_keys,
        .screenshot = fake_screenshot,
        .agent_endpoint = fake_agent_endpoint,
        .cuckoo_start_args = fake_cuckoo_start_args,
        .log_tail = fake_log_tail,
        .describe = fake_describe,
        .snapshot_create = fake_snapshot_create,
        .keep = fake_keep,
        .conn_domain_info = fake_host_domain_info,
        .conn_domain_remove = fake_host_domain_remove,
        .volume_upload = fake_host_volume_upload,
        .volume_create_overlay = fake_host_volume_create_overlay,
        .volume_delete = fake_host_volume_delete,
        .volume_list = fake_host_volume_list,
        .volume_users = fake_host_volume_users,
};
