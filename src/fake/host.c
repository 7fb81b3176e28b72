/* The fake driver's hosts: persistent domains with their snapshots, and storage pools with their
 * volumes, in memory per connection URI (what a libvirt host keeps between connections). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"
#include "fake/internal.h"

#define DEFAULT_POOL "vmcloak"
#define DEFAULT_MANAGER_VERSION "9.0.0"   /* Debian 12's libvirt, as libvirt.md measured it */

struct fake_volume {
        char *pool;
        char *name;
        char *path;
        char *backing;                 /* NULL: uploaded */
        uint64_t size;
};

struct fake_pdomain {
        char *name;
        char uuid[40];
        struct fake_domain *live;      /* the runtime domain while one is defined, else NULL */
        bool kept;
        char **snapshots;
        char current[128];
        bool current_running;
};

struct fake_host {
        char *uri;                     /* "" for NULL */
        struct fake_volume *vols;
        size_t n_vols;
        struct fake_pdomain *doms;
        size_t n_doms;
};

/* Lock order: a domain's lock may be taken while holding hosts_lock, never the other way;
 * the journal's (script.c) is taken last. */
static pthread_mutex_t hosts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_host *hosts;
static size_t n_hosts;
static char *manager_version;

/* hosts_lock held; NULL on ENOMEM. */
static struct fake_host *host_get(const char *uri) {
        const char *key = uri ? uri : "";
        for (size_t i = 0; i < n_hosts; i++)
                if (streq(hosts[i].uri, key))
                        return &hosts[i];
        struct fake_host *n = realloc(hosts, (n_hosts + 1) * sizeof *hosts);
        if (!n)
                return NULL;
        hosts = n;
        hosts[n_hosts] = (struct fake_host){ .uri = strdup(key) };
        if (!hosts[n_hosts].uri)
                return NULL;
        return &hosts[n_hosts++];
}

static struct fake_pdomain *pdomain_find(struct fake_host *h, const char *name) {
        for (size_t i = 0; i < h->n_doms; i++)
                if (streq(h->doms[i].name, name))
                        return &h->doms[i];
        return NULL;
}

static void pdomain_drop(struct fake_host *h, struct fake_pdomain *p) {
        free(p->name);
        strv_free(p->snapshots);
        *p = h->doms[--h->n_doms];
}

static struct fake_volume *volume_find(struct fake_host *h, const char *pool, const char *name) {
        for (size_t i = 0; i < h->n_vols; i++)
                if (streq(h->vols[i].pool, pool) && streq(h->vols[i].name, name))
                        return &h->vols[i];
        return NULL;
}

static void volume_drop(struct fake_host *h, struct fake_volume *v) {
        free(v->pool);
        free(v->name);
        free(v->path);
        free(v->backing);
        *v = h->vols[--h->n_vols];
}

static const char *pool_of(const struct fake_conn *c) { return c->pool ? c->pool : DEFAULT_POOL; }
static const char *uri_name(const char *uri) { return uri ? uri : "fake:///"; }
static const char *uri_of(const struct fake_conn *c) { return uri_name(c->uri); }

bool fake_uri_local(const char *uri) {
        /* libvirt's rule: a URI without a host part ("qemu:///system") is this machine. */
        const char *p = uri ? strstr(uri, "://") : NULL;
        return !p || p[3] == '/';
}

const char *fake_manager_version(void) { return manager_version ? manager_version : DEFAULT_MANAGER_VERSION; }

int fake_set_manager_version(const char *version) {
        char *v = version ? strdup(version) : NULL;
        if (version && !v)
                return -ENOMEM;
        pthread_mutex_lock(&hosts_lock);
        free(manager_version);
        manager_version = v;
        pthread_mutex_unlock(&hosts_lock);
        return 0;
}

/* The moments of the host's storage and domains: the hook may fail them or raise a signal. */
static int host_moment(const char *domain, const char *moment, const char *arg) {
        int error = 0;
        if (fake_hook_call(domain, moment, arg, &error) == FAKE_FAIL)
                return log_error_errno(-error, "%s %s failed: %m (scripted)", moment, arg);
        return 0;
}

int fake_host_define(struct fake_domain *d) {
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(d->host_uri);
        int r = h ? 0 : -ENOMEM;
        if (r == 0 && pdomain_find(h, d->name))
                r = -EEXIST;
        struct fake_pdomain *n = NULL;
        if (r == 0 && !(n = realloc(h->doms, (h->n_doms + 1) * sizeof *h->doms)))
                r = -ENOMEM;
        if (r == 0) {
                h->doms = n;
                struct fake_pdomain *p = &h->doms[h->n_doms];
                *p = (struct fake_pdomain){ .name = strdup(d->name), .live = d };
                snprintf(p->uuid, sizeof p->uuid, "fake-%08x", (unsigned)fake_hash(d->name, strlen(d->name)));
                if (p->name)
                        h->n_doms++;
                else
                        r = -ENOMEM;
        }
        pthread_mutex_unlock(&hosts_lock);
        if (r == -EEXIST)
                return log_error_errno(r, "%s already has a domain named %s; remove it ('vmcloak delvm %s' or "
                                       "virsh undefine) or pick another name", uri_name(d->host_uri), d->name, d->name);
        if (r < 0)
                return log_error_errno(r, "fake driver: out of memory");
        fake_journal_add("define-persistent %s %s", uri_name(d->host_uri), d->name);
        return 0;
}

void fake_host_release(struct fake_domain *d) {
        bool undefined = false;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(d->host_uri);
        struct fake_pdomain *p = h ? pdomain_find(h, d->name) : NULL;
        if (p && p->live == d) {
                p->live = NULL;
                if (!p->kept) {
                        pdomain_drop(h, p);
                        undefined = true;
                }
        }
        pthread_mutex_unlock(&hosts_lock);
        if (undefined)
                fake_journal_add("undefine %s %s", uri_name(d->host_uri), d->name);
}

int fake_host_snapshot_create(struct fake_domain *d, const char *name, bool running) {
        if (d->uefi && !vm_libvirt_takes_uefi_snapshots(fake_manager_version()))
                return log_error_errno(-EOPNOTSUPP, "%s: libvirt %s refuses internal snapshots of a VM with pflash "
                                       "based firmware (UEFI)", d->name, fake_manager_version());
        int r = host_moment(d->name, "snapshot-create", name);
        if (r < 0)
                return r;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(d->host_uri);
        struct fake_pdomain *p = h ? pdomain_find(h, d->name) : NULL;
        if (!p)
                r = -ENOENT;
        else if (strv_contains(p->snapshots, name))
                r = -EEXIST;
        else if (strv_extend(&p->snapshots, name) < 0)
                r = -ENOMEM;
        else {
                snprintf(p->current, sizeof p->current, "%s", name);
                p->current_running = running;
        }
        pthread_mutex_unlock(&hosts_lock);
        if (r == -ENOENT)
                return log_error_errno(r, "%s is no persistent domain: it has no snapshots", d->name);
        if (r == -EEXIST)
                return log_error_errno(r, "domain %s already has a snapshot named %s", d->name, name);
        if (r < 0)
                return log_error_errno(r, "fake driver: out of memory");
        fake_journal_add("snapshot-create %s %s%s", d->name, name, running ? " running" : "");
        return 0;
}

int fake_host_keep(struct fake_domain *d) {
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(d->host_uri);
        struct fake_pdomain *p = h ? pdomain_find(h, d->name) : NULL;
        bool ok = p && p->live == d;
        if (ok)
                p->kept = true;
        pthread_mutex_unlock(&hosts_lock);
        if (!ok)
                return log_error_errno(-EINVAL, "%s was not defined as a persistent domain: nothing to keep", d->name);
        fake_journal_add("keep %s %s", uri_name(d->host_uri), d->name);
        return 0;
}

int fake_host_domain_info(struct vm_conn *vc, const char *name, struct vm_domain_info *ret) {
        const struct fake_conn *c = (const struct fake_conn *)vc;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(c->uri);
        struct fake_pdomain *p = h ? pdomain_find(h, name) : NULL;
        if (p) {
                *ret = (struct vm_domain_info){ .snapshots = (unsigned)strv_length(p->snapshots),
                                                .current_snapshot_running = p->current_running };
                snprintf(ret->current_snapshot, sizeof ret->current_snapshot, "%s", p->current);
                snprintf(ret->uuid, sizeof ret->uuid, "%s", p->uuid);
                if (p->live) {
                        pthread_mutex_lock(&p->live->lock);
                        ret->active = p->live->state != VM_STATE_OFF;
                        pthread_mutex_unlock(&p->live->lock);
                }
        }
        pthread_mutex_unlock(&hosts_lock);
        return p ? 0 : -ENOENT;
}

int fake_host_domain_remove(struct vm_conn *vc, const char *name) {
        const struct fake_conn *c = (const struct fake_conn *)vc;
        int r = host_moment(name, "domain-remove", uri_of(c));
        if (r < 0)
                return r;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(c->uri);
        struct fake_pdomain *p = h ? pdomain_find(h, name) : NULL;
        if (!p)
                r = -ENOENT;
        else if (p->live)
                r = -EBUSY;
        else
                pdomain_drop(h, p);
        pthread_mutex_unlock(&hosts_lock);
        if (r == -EBUSY)
                return log_error_errno(r, "domain %s on %s is in use by this process", name, uri_of(c));
        if (r == 0)
                fake_journal_add("domain-remove %s %s", uri_of(c), name);
        return r;
}

/* Add a volume (hosts_lock held). */
static int volume_add(struct fake_host *h, const char *pool, const char *name, const char *backing, uint64_t size,
                      char **ret_path) {
        struct fake_volume *n = realloc(h->vols, (h->n_vols + 1) * sizeof *h->vols);
        if (!n)
                return -ENOMEM;
        h->vols = n;
        struct fake_volume *v = &h->vols[h->n_vols];
        *v = (struct fake_volume){ .pool = strdup(pool), .name = strdup(name), .size = size,
                                   .path = strdup_printf("/var/lib/libvirt/images/%s/%s", pool, name),
                                   .backing = backing ? strdup(backing) : NULL };
        if (!v->pool || !v->name || !v->path || (backing && !v->backing) || (ret_path && !(*ret_path = strdup(v->path)))) {
                free(v->pool);
                free(v->name);
                free(v->path);
                free(v->backing);
                return -ENOMEM;
        }
        h->n_vols++;
        return 0;
}

int fake_host_volume_upload(struct vm_conn *vc, const char *local_path, const char *name, char **ret_path,
                            bool *ret_uploaded) {
        const struct fake_conn *c = (const struct fake_conn *)vc;
        struct stat st;
        if (stat(local_path, &st) < 0)
                return log_error_errno(-errno, "cannot upload %s: %m", local_path);
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(c->uri);
        struct fake_volume *v = h ? volume_find(h, pool_of(c), name) : NULL;
        bool reuse = v && v->size == (uint64_t)st.st_size;
        char *path = reuse ? strdup(v->path) : NULL;
        if (v && !reuse)
                volume_drop(h, v);   /* a cut upload: replaced */
        pthread_mutex_unlock(&hosts_lock);
        if (reuse) {
                if (!path)
                        return log_error_errno(-ENOMEM, "fake driver: out of memory");
                *ret_path = path;
                if (ret_uploaded)
                        *ret_uploaded = false;
                fake_journal_add("volume-reuse %s %s", uri_of(c), name);
                return 0;
        }
        /* The upload's moment: a hook fails it or raises a signal as it runs. */
        int r = host_moment(NULL, "volume-upload", name);
        if (r == 0 && interrupted())
                r = -ECANCELED;
        if (r < 0)
                return r;
        pthread_mutex_lock(&hosts_lock);
        h = host_get(c->uri);
        r = !h ? -ENOMEM : volume_find(h, pool_of(c), name) ? -EEXIST
                                                             : volume_add(h, pool_of(c), name, NULL, (uint64_t)st.st_size,
                                                                          ret_path);
        pthread_mutex_unlock(&hosts_lock);
        if (r < 0)
                return log_error_errno(r, "cannot upload %s as volume %s: %m", local_path, name);
        if (ret_uploaded)
                *ret_uploaded = true;
        fake_journal_add("volume-upload %s %s", uri_of(c), name);
        return 0;
}

int fake_host_volume_create_overlay(struct vm_conn *vc, const char *name, const char *backing_path,
                                    char **ret_path) {
        const struct fake_conn *c = (const struct fake_conn *)vc;
        int r = host_moment(NULL, "volume-overlay", name);
        if (r < 0)
                return r;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(c->uri);
        bool backing_ok = false;
        for (size_t i = 0; h && i < h->n_vols; i++)
                backing_ok |= streq(h->vols[i].path, backing_path);
        r = !h ? -ENOMEM : !backing_ok ? -ENOENT : volume_find(h, pool_of(c), name) ? -EEXIST
                : volume_add(h, pool_of(c), name, backing_path, 0, ret_path);
        pthread_mutex_unlock(&hosts_lock);
        if (r == -ENOENT)
                return log_error_errno(r, "cannot create volume %s: its backing file %s is no volume of %s", name,
                                       backing_path, uri_of(c));
        if (r < 0)
                return log_error_errno(r, "cannot create volume %s in pool %s: %m", name, pool_of(c));
        fake_journal_add("volume-overlay %s %s on %s", uri_of(c), name, fake_base(backing_path));
        return 0;
}

int fake_host_volume_delete(struct vm_conn *vc, const char *name) {
        const struct fake_conn *c = (const struct fake_conn *)vc;
        int r = host_moment(NULL, "volume-delete", name);
        if (r < 0)
                return r;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(c->uri);
        struct fake_volume *v = h ? volume_find(h, pool_of(c), name) : NULL;
        if (v)
                volume_drop(h, v);
        pthread_mutex_unlock(&hosts_lock);
        if (!v)
                return -ENOENT;
        fake_journal_add("volume-delete %s %s", uri_of(c), name);
        return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int fake_host_volume_list(struct vm_conn *vc, char ***ret_names) {
        const struct fake_conn *c = (const struct fake_conn *)vc;
        char **l = calloc(1, sizeof *l);
        int r = l ? 0 : -ENOMEM;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(c->uri);
        for (size_t i = 0; r == 0 && h && i < h->n_vols; i++)
                if (streq(h->vols[i].pool, pool_of(c)))
                        r = strv_extend(&l, h->vols[i].name);
        pthread_mutex_unlock(&hosts_lock);
        if (r < 0) {
                strv_free(l);
                return log_error_errno(-ENOMEM, "fake driver: out of memory");
        }
        qsort(l, strv_length(l), sizeof *l, cmp_str);
        *ret_names = l;
        return 0;
}

int fake_host_volume_users(struct vm_conn *vc, const char *name, unsigned *ret_n) {
        const struct fake_conn *c = (const struct fake_conn *)vc;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(c->uri);
        struct fake_volume *v = h ? volume_find(h, pool_of(c), name) : NULL;
        unsigned n = 0;
        for (size_t i = 0; v && i < h->n_vols; i++)
                n += streq(h->vols[i].pool, pool_of(c)) && streq_ptr(h->vols[i].backing, v->path);
        pthread_mutex_unlock(&hosts_lock);
        if (!v)
                return -ENOENT;
        *ret_n = n;
        return 0;
}

int fake_host_domains(const char *uri, char ***ret) {
        char **l = calloc(1, sizeof *l);
        int r = l ? 0 : -ENOMEM;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(uri);
        for (size_t i = 0; r == 0 && h && i < h->n_doms; i++)
                r = strv_extend(&l, h->doms[i].name);
        pthread_mutex_unlock(&hosts_lock);
        if (r < 0) {
                strv_free(l);
                return -ENOMEM;
        }
        qsort(l, strv_length(l), sizeof *l, cmp_str);
        *ret = l;
        return 0;
}

bool fake_host_has_volume(const char *uri, const char *path) {
        bool found = false;
        pthread_mutex_lock(&hosts_lock);
        struct fake_host *h = host_get(uri);
        for (size_t i = 0; h && i < h->n_vols && !found; i++)
                found = streq(h->vols[i].path, path);
        pthread_mutex_unlock(&hosts_lock);
        return found;
}

void fake_hosts_reset(void) {
        pthread_mutex_lock(&hosts_lock);
        for (size_t i = 0; i < n_hosts; i++) {
                struct fake_host *h = &hosts[i];
                while (h->n_vols)
                        volume_drop(h, &h->vols[0]);
                /* A domain still defined keeps its record until it is freed: leave those. */
                for (size_t k = 0; k < h->n_doms;)
                        if (h->doms[k].live)
                                k++;
                        else
                                pdomain_drop(h, &h->doms[k]);
        }
        free(manager_version);
        manager_version = NULL;
        pthread_mutex_unlock(&hosts_lock);
}
