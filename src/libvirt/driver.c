/* The libvirt driver: the driver table's ops over the libvirt C API, on any libvirt host (issue 14). */
#include "libvirt/driver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <libxml/xpath.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/util.h"
#include "libvirt/domxml.h"
#include "libvirt/keymap.h"
#include "libvirt/uri.h"
#include "machine/smbios.h"

#define DEFAULT_POOL "vmcloak"
#define DEFAULT_POOL_PATH "/var/lib/libvirt/images/vmcloak"
#define WAKE_MS 100            /* waits look at Ctrl-C this often */
#define STATE_CHECK_MS 1000    /* and ask the host for the state this often (a lost event) */
#define UPLOAD_CHUNK (1u << 20)
/* libvirt sends one REBOOT event per QEMU RESET event, and one Linux guest reboot on q35 +
 * SeaBIOS was three of them within 150 ms here (libvirt 9.0, QEMU 7.2; the QEMU driver sees
 * SeaBIOS's own hard reset after a warm one the same way): events closer than this to the
 * previous one are the same reboot. No guest boots again that fast. */
#define REBOOT_COALESCE_MS 2000

struct lv_conn {
        struct vm_conn base;
        virConnectPtr conn;
        char *uri;
        char *pool_name;
        virStoragePoolPtr pool;        /* once a volume call needed it */
        bool local;
        bool kvm;                      /* domains are type 'kvm' */
        char *domcaps;                 /* the domain capabilities of that type (XML) */
        char version[32], manager_version[32];
};

/* What the event loop thread tells a domain; shared with libvirt's callbacks, so counted. */
struct lv_events {
        pthread_mutex_t mu;
        pthread_cond_t cond;
        unsigned refs;
        char *name;
        bool started;                  /* a STARTED event came in this run */
        unsigned reboots;              /* REBOOT events not yet answered */
        int64_t last_reboot_ms;        /* when the last REBOOT event came (now_ms) */
        bool ended;                    /* the run ended and end says how */
        struct vm_event end;
};

struct lv_domain {
        struct vm_domain base;
        struct vm_def def;
        char *xml;                     /* what was defined, or is created at start (transient) */
        bool persistent, kept;
        bool ran;                      /* started at least once */
        bool reboot_powers_off;
        virDomainPtr dom;
        struct lv_events *ev;
        int cb_lifecycle, cb_reboot;
        unsigned fwd[2];               /* user mode: 127.0.0.1 ports forwarded to the agent */
        char **aux_volumes;            /* volumes made for this domain (SMBIOS tables) */
        char describe[160];
        char *log_path;                /* vm_domain_opts.log_path: libvirt's QEMU log of our runs is
                                        * appended there when the host is local */
        int64_t log_offset;            /* where our first run began in libvirt's log; < 0: none */
};

static struct lv_conn *CONN(struct vm_conn *c) { return (struct lv_conn *)c; }
static struct lv_domain *DOM(struct vm_domain *d) { return (struct lv_domain *)d; }
static struct lv_conn *DCONN(struct lv_domain *d) { return CONN(d->base.conn); }

/* ---- errors ---- */

static void quiet_error(void *userdata, virErrorPtr err) {
        (void)userdata;
        (void)err;   /* libvirt would print every error on stderr; ours are one line each */
}

static const char *lv_msg(void) {
        const char *m = virGetLastErrorMessage();
        return isempty(m) ? "no error message" : m;
}

/* One line: "libvirt at URI: <what>: <libvirt's message>[; fix]", and r. */
static int lv_fail(const char *uri, int r, const char *fix, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int lv_fail(const char *uri, int r, const char *fix, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *what = strdup_vprintf(fmt, ap);
        va_end(ap);
        log_error("libvirt at %s: %s: %s%s%s", uri, what ? what : "(out of memory)", lv_msg(), fix ? "; " : "",
                  strempty(fix));
        return r;
}

static bool last_error_is(int code) { return virGetLastErrorCode() == code; }

/* ---- the event loop: once per process ---- */

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int loop_state;   /* 1 running, < 0 failed */

static void *loop_thread(void *arg) {
        (void)arg;
        for (;;)
                if (virEventRunDefaultImpl() < 0)
                        sleep_ms(WAKE_MS);
        return NULL;
}

static void loop_init(void) {
        virSetErrorFunc(NULL, quiet_error);
        if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
                loop_state = -EIO;
                return;
        }
        /* Signals go to the other threads: Ctrl-C's handler must not run here, where nobody
         * waits for it. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        int r = pthread_create(&t, &a, loop_thread, NULL);
        pthread_attr_destroy(&a);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        loop_state = r == 0 ? 1 : -r;
}

/* ---- XML (libxml2) ---- */

static xmlTextWriterPtr writer_new(xmlBufferPtr *buf) {
        *buf = xmlBufferCreate();
        if (!*buf)
                return NULL;
        xmlTextWriterPtr w = xmlNewTextWriterMemory(*buf, 0);
        if (!w) {
                xmlBufferFree(*buf);
                return NULL;
        }
        return w;
}

/* Finish w's document and hand its text over (NULL when a write failed). */
static char *writer_done(xmlTextWriterPtr w, xmlBufferPtr buf, int rc) {
        if (rc >= 0)
                rc = xmlTextWriterEndDocument(w);
        xmlFreeTextWriter(w);
        char *s = rc >= 0 ? strdup((const char *)xmlBufferContent(buf)) : NULL;
        xmlBufferFree(buf);
        return s;
}

static int wr_elem(xmlTextWriterPtr w, const char *name, const char *text) {
        return xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST text);
}

static int wr_attr(xmlTextWriterPtr w, const char *name, const char *value) {
        return xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST value);
}

/* The string value of an XPath expression over an XML document (new string, "" when it
 * matches nothing; NULL when the XML does not parse or on OOM). */
static char *xpath_string(const char *xml, const char *expr) {
        xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                return NULL;
        char *s = NULL;
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression(BAD_CAST expr, ctx) : NULL;
        if (o) {
                xmlChar *v = xmlXPathCastToString(o);
                if (v) {
                        s = strdup((const char *)v);
                        xmlFree(v);
                }
        }
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        xmlFreeDoc(doc);
        return s;
}

/* ---- connection ---- */

static void conn_close(struct vm_conn *vc) {
        struct lv_conn *c = CONN(vc);
        if (c->pool)
                virStoragePoolFree(c->pool);
        if (c->conn)
                virConnectClose(c->conn);
        free(c->domcaps);
        free(c->uri);
        free(c->pool_name);
        free(c);
}

static void version_string(unsigned long v, char *buf, size_t size) {
        snprintf(buf, size, "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
}

static int conn_open(const struct vm_conn_opts *o, struct vm_conn **ret) {
        const char *uri = libvirt_uri_choose(o ? o->uri : NULL);
        bool local;
        if (libvirt_uri_is_local(uri, &local) < 0) {
                log_error("'%s' is not a libvirt connection URI: give one like qemu:///system or "
                          "qemu+ssh://root@HOST/system (--connect or VMCLOAK_LIBVIRT_URI)", uri);
                return -EINVAL;
        }
        pthread_once(&loop_once, loop_init);
        if (loop_state < 0)
                return lv_fail(uri, -EIO, NULL, "cannot start libvirt's event loop");
        struct lv_conn *c = calloc(1, sizeof *c);
        if (!c)
                return log_oom();
        c->local = local;
        if (!(c->uri = strdup(uri)) ||
            !(c->pool_name = strdup(o && !isempty(o->pool) ? o->pool : DEFAULT_POOL))) {
                conn_close(&c->base);
                return log_oom();
        }
        int r;
        c->conn = virConnectOpenAuth(uri, virConnectAuthPtrDefault, 0);
        if (!c->conn) {
                r = lv_fail(uri, -ECONNREFUSED,
                            local ? "is libvirtd running on this machine, and are you root (or in group libvirt)?"
                                  : "is libvirtd running there and reachable (qemu+ssh: can you log in with a key)?",
                            "cannot connect");
                conn_close(&c->base);
                return r;
        }
        unsigned long hv = 0, lib = 0;
        if (virConnectGetVersion(c->conn, &hv) < 0 || virConnectGetLibVersion(c->conn, &lib) < 0) {
                r = lv_fail(uri, -EIO, "is it a QEMU/KVM host (a qemu:// URI)?", "cannot read the host's versions");
                conn_close(&c->base);
                return r;
        }
        /* A remote host that stops answering ends the connection after ~20 s instead of
         * hanging a call (libvirt's keepalive; the event loop thread answers the probes). */
        if (!local && virConnectSetKeepAlive(c->conn, 5, 3) < 0)
                log_debug("libvirt at %s: no keepalive: %s", uri, lv_msg());
        version_string(hv, c->version, sizeof c->version);
        version_string(lib, c->manager_version, sizeof c->manager_version);
        enum vm_accel want = o ? o->accel : VM_ACCEL_AUTO;
        if (want != VM_ACCEL_TCG)
                c->domcaps = virConnectGetDomainCapabilities(c->conn, NULL, "x86_64", NULL, "kvm", 0);
        c->kvm = c->domcaps != NULL;
        if (!c->kvm && want == VM_ACCEL_KVM) {
                r = lv_fail(uri, -ENODEV, "use --accel tcg, or a host with /dev/kvm", "the host offers no KVM domains");
                conn_close(&c->base);
                return r;
        }
        if (!c->kvm) {
                if (want == VM_ACCEL_AUTO)
                        log_warning("libvirt at %s has no KVM: its domains run under TCG (type 'qemu'), many times slower",
                                    uri);
                c->domcaps = virConnectGetDomainCapabilities(c->conn, NULL, "x86_64", NULL, "qemu", 0);
                if (!c->domcaps) {
                        r = lv_fail(uri, -EIO, "install qemu-system-x86 on that host",
                                    "the host cannot run x86_64 QEMU domains");
                        conn_close(&c->base);
                        return r;
                }
        }
        log_debug("libvirt at %s: libvirt %s, QEMU %s, %s, %s", uri, c->manager_version, c->version,
                  c->kvm ? "kvm" : "tcg", local ? "local" : "remote");
        *ret = &c->base;
        return 0;
}

static int host_info(struct vm_conn *vc, struct vm_host_info *ret) {
        struct lv_conn *c = CONN(vc);
        *ret = (struct vm_host_info){ .driver = "libvirt", .accel = c->kvm ? VM_ACCEL_KVM : VM_ACCEL_TCG,
                                      .local = c->local };
        snprintf(ret->version, sizeof ret->version, "%s", c->version);
        snprintf(ret->manager_version, sizeof ret->manager_version, "%s", c->manager_version);
        return 0;
}

/* ---- storage pool and volumes ---- */

static char *pool_xml(const char *name, const char *path) {
        xmlBufferPtr b;
        xmlTextWriterPtr w = writer_new(&b);
        if (!w)
                return NULL;
        int rc = xmlTextWriterStartElement(w, BAD_CAST "pool");
        if (rc >= 0)
                rc = wr_attr(w, "type", "dir");
        if (rc >= 0)
                rc = wr_elem(w, "name", name);
        if (rc >= 0)
                rc = xmlTextWriterStartElement(w, BAD_CAST "target");
        if (rc >= 0)
                rc = wr_elem(w, "path", path);
        return writer_done(w, b, rc);
}

/* The connection's pool, running; created (a directory pool under DEFAULT_POOL_PATH, built,
 * started, autostarted) when create is set and the host has none. -ENOENT (no line) when it
 * has none and create is not set. */
static int pool_get(struct lv_conn *c, bool create, virStoragePoolPtr *ret) {
        if (c->pool) {
                *ret = c->pool;
                return 0;
        }
        virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, c->pool_name);
        if (!p) {
                if (!last_error_is(VIR_ERR_NO_STORAGE_POOL))
                        return lv_fail(c->uri, -EIO, NULL, "cannot look up storage pool %s", c->pool_name);
                if (!create)
                        return -ENOENT;
                if (!streq(c->pool_name, DEFAULT_POOL)) {
                        log_error("libvirt at %s has no storage pool %s: create it (virsh pool-define-as %s dir "
                                  "--target DIR; virsh pool-build %s; virsh pool-start %s) or leave the pool out to use %s",
                                  c->uri, c->pool_name, c->pool_name, c->pool_name, c->pool_name, DEFAULT_POOL);
                        return -ENOENT;
                }
                _cleanup_free_ char *xml = pool_xml(c->pool_name, DEFAULT_POOL_PATH);
                if (!xml)
                        return log_oom();
                if (!(p = virStoragePoolDefineXML(c->conn, xml, 0)))
                        return lv_fail(c->uri, -EIO, NULL, "cannot define storage pool %s at %s", c->pool_name,
                                       DEFAULT_POOL_PATH);
                if (virStoragePoolBuild(p, 0) < 0) {
                        int r = lv_fail(c->uri, -EIO, "check that folder on the host", "cannot build storage pool %s (%s)",
                                        c->pool_name, DEFAULT_POOL_PATH);
                        virStoragePoolUndefine(p);
                        virStoragePoolFree(p);
                        return r;
                }
                if (virStoragePoolSetAutostart(p, 1) < 0)
                        log_warning("libvirt at %s: storage pool %s will not start with the host: %s", c->uri,
                                    c->pool_name, lv_msg());
                log_info("libvirt at %s: created storage pool %s at %s", c->uri, c->pool_name, DEFAULT_POOL_PATH);
        }
        int active = virStoragePoolIsActive(p);
        if (active == 0 && virStoragePoolCreate(p, 0) < 0) {
                int r = lv_fail(c->uri, -EIO, NULL, "cannot start storage pool %s", c->pool_name);
                virStoragePoolFree(p);
                return r;
        }
        c->pool = p;
        *ret = p;
        return 0;
}

/* Volume name of the pool: 0 and *ret, -ENOENT (no line) when there is none. */
static int vol_lookup(struct lv_conn *c, virStoragePoolPtr p, const char *name, virStorageVolPtr *ret) {
        virStorageVolPtr v = virStorageVolLookupByName(p, name);
        if (!v) {
                if (last_error_is(VIR_ERR_NO_STORAGE_VOL))
                        return -ENOENT;
                return lv_fail(c->uri, -EIO, NULL, "cannot look up volume %s in pool %s", name, c->pool_name);
        }
        *ret = v;
        return 0;
}

static int vol_path(struct lv_conn *c, virStorageVolPtr v, const char *name, char **ret) {
        char *path = virStorageVolGetPath(v);
        if (!path)
                return lv_fail(c->uri, -EIO, NULL, "cannot read the path of volume %s", name);
        *ret = path;
        return 0;
}

static int vol_delete_ptr(struct lv_conn *c, virStorageVolPtr v, const char *name) {
        if (virStorageVolDelete(v, 0) < 0)
                return lv_fail(c->uri, -EIO, NULL, "cannot delete volume %s of pool %s", name, c->pool_name);
        return 0;
}

static int volume_delete(struct vm_conn *vc, const char *name) {
        struct lv_conn *c = CONN(vc);
        virStoragePoolPtr p;
        int r = pool_get(c, false, &p);
        if (r < 0)
                return r;
        virStorageVolPtr v = NULL;
        if ((r = vol_lookup(c, p, name, &v)) < 0)
                return r;
        r = vol_delete_ptr(c, v, name);
        virStorageVolFree(v);
        return r;
}

/* A volume of capacity bytes in format (raw: allocated as it is written; qcow2 on backing, a
 * qcow2 file of the host, when backing is set), as virStorageVolCreateXML takes it
 * (formatstorage.html). mode: the file's permission bits (<target><permissions><mode>), 0 for
 * the pool's default (root:root 0600 in a directory pool, VIR_STORAGE_DEFAULT_VOL_PERM_MODE). */
static char *volume_xml(const char *name, uint64_t capacity, const char *format, const char *backing,
                        unsigned mode) {
        xmlBufferPtr b;
        xmlTextWriterPtr w = writer_new(&b);
        if (!w)
                return NULL;
        char cap[32];
        snprintf(cap, sizeof cap, "%llu", (unsigned long long)capacity);
        int rc = xmlTextWriterStartElement(w, BAD_CAST "volume");
        if (rc >= 0)
                rc = wr_elem(w, "name", name);
        if (rc >= 0)
                rc = xmlTextWriterStartElement(w, BAD_CAST "capacity");
        if (rc >= 0)
                rc = wr_attr(w, "unit", "bytes");
        if (rc >= 0)
                rc = xmlTextWriterWriteString(w, BAD_CAST cap);
        if (rc >= 0)
                rc = xmlTextWriterEndElement(w);
        if (rc >= 0 && !backing)
                rc = wr_elem(w, "allocation", "0");
        if (rc >= 0)
                rc = xmlTextWriterStartElement(w, BAD_CAST "target");
        if (rc >= 0)
                rc = xmlTextWriterStartElement(w, BAD_CAST "format");
        if (rc >= 0)
                rc = wr_attr(w, "type", format);
        if (rc >= 0)
                rc = xmlTextWriterEndElement(w);
        if (rc >= 0 && mode) {
                char m[16];
                snprintf(m, sizeof m, "%04o", mode);
                rc = xmlTextWriterStartElement(w, BAD_CAST "permissions");
                if (rc >= 0)
                        rc = wr_elem(w, "mode", m);
                if (rc >= 0)
                        rc = xmlTextWriterEndElement(w);
        }
        if (rc >= 0)
                rc = xmlTextWriterEndElement(w);
        if (rc >= 0 && backing) {
                rc = xmlTextWriterStartElement(w, BAD_CAST "backingStore");
                if (rc >= 0)
                        rc = wr_elem(w, "path", backing);
                if (rc >= 0)
                        rc = xmlTextWriterStartElement(w, BAD_CAST "format");
                if (rc >= 0)
                        rc = wr_attr(w, "type", "qcow2");
        }
        return writer_done(w, b, rc);
}

struct upload_ctx {
        int fd;
        uint64_t done, total;
        bool cancelled;
        struct progress *progress;
};

static int upload_source(virStreamPtr st, char *data, size_t nbytes, void *opaque) {
        (void)st;
        struct upload_ctx *u = opaque;
        if (interrupted()) {
                u->cancelled = true;
                errno = ECANCELED;
                return -1;
        }
        ssize_t n = read(u->fd, data, nbytes < UPLOAD_CHUNK ? nbytes : UPLOAD_CHUNK);
        if (n > 0) {
                u->done += (uint64_t)n;
                if (u->progress)
                        progress_update(u->progress, u->done, u->total, NULL);
        }
        return (int)n;
}

/* Upload the file at fd (size bytes) into v; 0, -ECANCELED (no line) or an error after its line. */
static int upload_stream(struct lv_conn *c, virStorageVolPtr v, const char *name, int fd, uint64_t size,
                         bool quiet) {
        virStreamPtr st = virStreamNew(c->conn, 0);
        if (!st)
                return lv_fail(c->uri, -EIO, NULL, "cannot open a stream for volume %s", name);
        struct progress pr;
        struct upload_ctx u = { .fd = fd, .total = size, .progress = quiet ? NULL : &pr };
        if (!quiet) {
                char label[96];
                snprintf(label, sizeof label, "uploading %.50s", name);
                progress_begin(&pr, label);
        }
        int r = 0;
        if (virStorageVolUpload(v, st, 0, size, 0) < 0)
                r = lv_fail(c->uri, -EIO, NULL, "cannot upload into volume %s", name);
        else if (virStreamSendAll(st, upload_source, &u) < 0) {
                if (u.cancelled)
                        r = -ECANCELED;
                else
                        r = lv_fail(c->uri, -EIO, NULL, "uploading volume %s failed after %llu of %llu bytes", name,
                                    (unsigned long long)u.done, (unsigned long long)size);
        } else if (u.done != size) {
                virStreamAbort(st);
                log_error("libvirt at %s: the file for volume %s changed size during the upload (%llu of %llu bytes)",
                          c->uri, name, (unsigned long long)u.done, (unsigned long long)size);
                r = -EIO;
        } else if (virStreamFinish(st) < 0)
                r = lv_fail(c->uri, -EIO, NULL, "the host did not complete volume %s", name);
        if (!quiet)
                progress_end(&pr, r == 0 ? "done" : r == -ECANCELED ? "interrupted" : "failed");
        virStreamFree(st);
        return r;
}

/* Create volume name from the local file at fd (size bytes) and fill it. A failure deletes it.
 * The volume starts empty (capacity 0) and grows as the stream writes it (a file in a
 * directory pool), so an upload killed too hard to clean up leaves a shorter volume, which the
 * size rule of volume_upload_ex replaces. */
static int upload_new(struct lv_conn *c, virStoragePoolPtr p, const char *name, int fd, uint64_t size, bool quiet,
                      unsigned mode, virStorageVolPtr *ret) {
        _cleanup_free_ char *xml = volume_xml(name, 0, "raw", NULL, mode);
        if (!xml)
                return log_oom();
        virStorageVolPtr v = virStorageVolCreateXML(p, xml, 0);
        if (!v)
                return lv_fail(c->uri, -EIO, "is the pool's disk full?", "cannot create volume %s (%llu bytes) in pool %s",
                               name, (unsigned long long)size, c->pool_name);
        int r = upload_stream(c, v, name, fd, size, quiet);
        if (r < 0) {
                if (virStorageVolDelete(v, 0) < 0)
                        log_warning("libvirt at %s: the cut volume %s could not be deleted: %s", c->uri, name, lv_msg());
                virStorageVolFree(v);
                return r;
        }
        *ret = v;
        return 0;
}

/* How long a shorter same-named volume is watched for growth before it is taken for a cut
 * upload and replaced (seconds): a stream writes many MiB a second. */
#define UPLOAD_SETTLE_S 3

/* Upload local_path as volume name (mode: as volume_xml's; the upload keeps it, it writes
 * into the file libvirt created); its host path into ret_path. */
static int volume_upload_ex(struct lv_conn *c, const char *local_path, const char *name, bool quiet, unsigned mode,
                            char **ret_path, bool *ret_uploaded) {
        _cleanup_close_ int fd = open(local_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open %s to upload it: %m", local_path);
        struct stat sb;
        if (fstat(fd, &sb) < 0)
                return log_error_errno(-errno, "cannot stat %s: %m", local_path);
        if (!S_ISREG(sb.st_mode)) {
                log_error("%s is not a regular file: only files can be uploaded as volumes", local_path);
                return -EINVAL;
        }
        uint64_t size = (uint64_t)sb.st_size;
        virStoragePoolPtr p;
        int r = pool_get(c, true, &p);
        if (r < 0)
                return r;
        virStorageVolPtr v = NULL;
        bool uploaded = false;
        r = vol_lookup(c, p, name, &v);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == 0) {
                virStorageVolInfo info;
                if (virStorageVolGetInfoFlags(v, &info, VIR_STORAGE_VOL_GET_PHYSICAL) < 0) {
                        r = lv_fail(c->uri, -EIO, NULL, "cannot read the size of volume %s", name);
                        virStorageVolFree(v);
                        return r;
                }
                virStorageVolInfo later = info;
                if (info.allocation < size) {
                        /* Shorter: a cut upload, or one another process is still making (the
                         * same content-named volume). Look again after a while: one that grew
                         * is left to its uploader. */
                        sleep(UPLOAD_SETTLE_S);
                        if (virStoragePoolRefresh(p, 0) < 0 ||
                            virStorageVolGetInfoFlags(v, &later, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
                                later = info;
                }
                if (later.allocation != info.allocation) {
                        log_error("libvirt at %s: volume %s is growing (%llu -> %llu of %llu bytes): another upload "
                                  "of it is under way; try again when it has ended", c->uri, name,
                                  (unsigned long long)info.allocation, (unsigned long long)later.allocation,
                                  (unsigned long long)size);
                        virStorageVolFree(v);
                        return -EBUSY;
                }
                if (info.allocation == size) {
                        log_debug("libvirt at %s: volume %s has the file's size, reused", c->uri, name);
                } else {
                        log_info("libvirt at %s: volume %s has %llu bytes, the file %llu (a cut upload): replacing it",
                                 c->uri, name, (unsigned long long)info.allocation, (unsigned long long)size);
                        r = vol_delete_ptr(c, v, name);
                        virStorageVolFree(v);
                        v = NULL;
                        if (r < 0)
                                return r;
                }
        }
        if (!v) {
                if ((r = upload_new(c, p, name, fd, size, quiet, mode, &v)) < 0)
                        return r;
                uploaded = true;
                /* libvirt probes the format (a qcow2 image uploaded as raw bytes) on a refresh. */
                if (virStoragePoolRefresh(p, 0) < 0)
                        log_debug("libvirt at %s: pool %s refresh: %s", c->uri, c->pool_name, lv_msg());
        }
        char *path = NULL;
        r = vol_path(c, v, name, &path);
        virStorageVolFree(v);
        if (r < 0) {
                if (uploaded)
                        volume_delete(&c->base, name);
                return r;
        }
        if (ret_path)
                *ret_path = path;
        else
                free(path);
        if (ret_uploaded)
                *ret_uploaded = uploaded;
        return 0;
}

static int volume_upload(struct vm_conn *vc, const char *local_path, const char *name, char **ret_path,
                         bool *ret_uploaded) {
        return volume_upload_ex(CONN(vc), local_path, name, false, 0, ret_path, ret_uploaded);
}

static int volume_create_overlay(struct vm_conn *vc, const char *name, const char *backing_path, char **ret_path) {
        struct lv_conn *c = CONN(vc);
        virStoragePoolPtr p;
        int r = pool_get(c, true, &p);
        if (r < 0)
                return r;
        virStorageVolPtr v = NULL;
        r = vol_lookup(c, p, name, &v);
        if (r == 0) {
                virStorageVolFree(v);
                log_error("libvirt at %s: pool %s has a volume %s already: delete it (virsh vol-delete --pool %s %s) "
                          "or pick another name", c->uri, c->pool_name, name, c->pool_name, name);
                return -EEXIST;
        }
        if (r != -ENOENT)
                return r;
        virStorageVolPtr back = virStorageVolLookupByPath(c->conn, backing_path);
        if (!back)
                return lv_fail(c->uri, -ENOENT, "upload the image first (a volume of the pool)",
                               "%s is no storage volume of the host", backing_path);
        virStorageVolInfo info;
        r = virStorageVolGetInfo(back, &info);
        virStorageVolFree(back);
        if (r < 0)
                return lv_fail(c->uri, -EIO, NULL, "cannot read the size of %s", backing_path);
        _cleanup_free_ char *xml = volume_xml(name, info.capacity, "qcow2", backing_path, 0);
        if (!xml)
                return log_oom();
        if (!(v = virStorageVolCreateXML(p, xml, 0)))
                return lv_fail(c->uri, -EIO, NULL, "cannot create overlay volume %s on %s", name, backing_path);
        char *path = NULL;
        r = vol_path(c, v, name, &path);
        if (r < 0)
                vol_delete_ptr(c, v, name);
        virStorageVolFree(v);
        if (r < 0)
                return r;
        if (ret_path)
                *ret_path = path;
        else
                free(path);
        return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int volume_list(struct vm_conn *vc, char ***ret_names) {
        struct lv_conn *c = CONN(vc);
        virStoragePoolPtr p;
        char **names = calloc(1, sizeof *names);
        if (!names)
                return log_oom();
        int r = pool_get(c, false, &p);
        if (r == -ENOENT) {
                *ret_names = names;
                return 0;
        }
        if (r < 0) {
                free(names);
                return r;
        }
        if (virStoragePoolRefresh(p, 0) < 0)
                log_debug("libvirt at %s: pool %s refresh: %s", c->uri, c->pool_name, lv_msg());
        virStorageVolPtr *vols = NULL;
        int n = virStoragePoolListAllVolumes(p, &vols, 0);
        if (n < 0) {
                free(names);
                return lv_fail(c->uri, -EIO, NULL, "cannot list the volumes of pool %s", c->pool_name);
        }
        r = 0;
        for (int i = 0; i < n; i++) {
                if (r == 0 && strv_extend(&names, virStorageVolGetName(vols[i])) < 0)
                        r = log_oom();
                virStorageVolFree(vols[i]);
        }
        free(vols);
        if (r < 0) {
                strv_free(names);
                return r;
        }
        qsort(names, strv_length(names), sizeof *names, cmp_str);
        *ret_names = names;
        return 0;
}

static int volume_users(struct vm_conn *vc, const char *name, unsigned *ret_n) {
        struct lv_conn *c = CONN(vc);
        virStoragePoolPtr p;
        int r = pool_get(c, false, &p);
        if (r < 0)
                return r;
        /* what other connections (another vmcloak, another URI of this host) made */
        if (virStoragePoolRefresh(p, 0) < 0)
                log_debug("libvirt at %s: pool %s refresh: %s", c->uri, c->pool_name, lv_msg());
        virStorageVolPtr v = NULL;
        if ((r = vol_lookup(c, p, name, &v)) < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        r = vol_path(c, v, name, &path);
        virStorageVolFree(v);
        if (r < 0)
                return r;
        virStorageVolPtr *vols = NULL;
        int n = virStoragePoolListAllVolumes(p, &vols, 0);
        if (n < 0)
                return lv_fail(c->uri, -EIO, NULL, "cannot list the volumes of pool %s", c->pool_name);
        unsigned users = 0;
        r = 0;
        for (int i = 0; i < n; i++) {
                if (r == 0) {
                        /* formatstorage.html: <volume><backingStore><path> */
                        char *xml = virStorageVolGetXMLDesc(vols[i], 0);
                        _cleanup_free_ char *b = xml ? xpath_string(xml, "string(/volume/backingStore/path)") : NULL;
                        if (!xml)
                                r = lv_fail(c->uri, -EIO, NULL, "cannot read volume %s", virStorageVolGetName(vols[i]));
                        else if (!b)
                                r = log_oom();
                        else if (streq(b, path))
                                users++;
                        free(xml);
                }
                virStorageVolFree(vols[i]);
        }
        free(vols);
        if (r < 0)
                return r;
        *ret_n = users;
        return 0;
}

/* ---- events ---- */

static struct lv_events *events_new(const char *name) {
        struct lv_events *e = calloc(1, sizeof *e);
        if (!e)
                return NULL;
        if (!(e->name = strdup(name))) {
                free(e);
                return NULL;
        }
        pthread_mutex_init(&e->mu, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&e->cond, &ca);
        pthread_condattr_destroy(&ca);
        e->refs = 1;
        return e;
}

static void events_unref(void *opaque) {
        struct lv_events *e = opaque;
        if (!e)
                return;
        pthread_mutex_lock(&e->mu);
        bool last = --e->refs == 0;
        pthread_mutex_unlock(&e->mu);
        if (!last)
                return;
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->cond);
        free(e->name);
        free(e);
}

static void events_ref(struct lv_events *e) {
        pthread_mutex_lock(&e->mu);
        e->refs++;
        pthread_mutex_unlock(&e->mu);
}

/* Set the end of the run (caller holds e->mu); the first end wins. */
static void events_end(struct lv_events *e, enum vm_event_type type, const char *detail) {
        if (e->ended)
                return;
        e->ended = true;
        e->end = (struct vm_event){ .type = type };
        snprintf(e->end.detail, sizeof e->end.detail, "%s", strempty(detail));
        pthread_cond_broadcast(&e->cond);
}

static const char *stopped_detail(int detail) {
        switch (detail) {
        case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
                return "libvirt destroyed the domain (switched off by another client, e.g. virsh destroy)";
        case VIR_DOMAIN_EVENT_STOPPED_CRASHED:
                return "the guest crashed";
        case VIR_DOMAIN_EVENT_STOPPED_MIGRATED:
                return "the domain migrated to another host";
        case VIR_DOMAIN_EVENT_STOPPED_SAVED:
                return "the domain was saved";
        case VIR_DOMAIN_EVENT_STOPPED_FAILED:
                return "QEMU ended on the host (killed or failed)";
        case VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT:
                return "a snapshot was reverted";
        default:
                return "the domain stopped";
        }
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        (void)conn;
        struct lv_events *e = opaque;
        if (!streq_ptr(virDomainGetName(dom), e->name))
                return 0;
        pthread_mutex_lock(&e->mu);
        if (event == VIR_DOMAIN_EVENT_STARTED)
                e->started = true;
        else if (event == VIR_DOMAIN_EVENT_STOPPED && e->started) {
                if (detail == VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)
                        events_end(e, VM_EVENT_POWEROFF, "");
                else
                        events_end(e, VM_EVENT_DIED, stopped_detail(detail));
        }
        pthread_cond_broadcast(&e->cond);
        pthread_mutex_unlock(&e->mu);
        return 0;
}

static void on_reboot(virConnectPtr conn, virDomainPtr dom, void *opaque) {
        (void)conn;
        struct lv_events *e = opaque;
        if (!streq_ptr(virDomainGetName(dom), e->name))
                return;
        pthread_mutex_lock(&e->mu);
        int64_t now = now_ms();
        bool same = e->last_reboot_ms && now - e->last_reboot_ms < REBOOT_COALESCE_MS;
        e->last_reboot_ms = now;
        if (e->started && !e->ended && !same) {
                e->reboots++;
                pthread_cond_broadcast(&e->cond);
        }
        pthread_mutex_unlock(&e->mu);
}

static int events_register(struct lv_domain *d) {
        struct lv_conn *c = DCONN(d);
        events_ref(d->ev);
        d->cb_lifecycle = virConnectDomainEventRegisterAny(c->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                           VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), d->ev, events_unref);
        if (d->cb_lifecycle < 0) {
                events_unref(d->ev);
                return lv_fail(c->uri, -EIO, NULL, "cannot watch the lifecycle events of %s", d->def.name);
        }
        events_ref(d->ev);
        d->cb_reboot = virConnectDomainEventRegisterAny(c->conn, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                                        VIR_DOMAIN_EVENT_CALLBACK(on_reboot), d->ev, events_unref);
        if (d->cb_reboot < 0) {
                events_unref(d->ev);
                return lv_fail(c->uri, -EIO, NULL, "cannot watch the reboot events of %s", d->def.name);
        }
        return 0;
}

/* ---- domains ---- */

static bool domain_active(struct lv_domain *d) {
        return d->dom && virDomainIsActive(d->dom) == 1;
}

/* The auxiliary volume names of domain name, as conn_domain_remove finds them again. */
static char *smbios_volume_name(const char *name, unsigned type) {
        return strdup_printf("%s-smbios-type%u.bin", name, type);
}

static void delete_aux_volumes(struct lv_conn *c, const char *name) {
        for (unsigned t = 0; t <= 3; t += 3) {
                _cleanup_free_ char *v = smbios_volume_name(name, t);
                if (v)
                        (void)volume_delete(&c->base, v);
        }
}

static const unsigned undefine_flags = VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM |
                                       VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;

/* libvirt's QEMU log of domain name on a local host (root-readable). */
static char *qemu_log_path(const char *name) {
        return strdup_printf("/var/log/libvirt/qemu/%s.log", name);
}

/* Append what libvirt logged for our runs to the caller's log (vm_domain_opts.log_path). */
static void copy_qemu_log(struct lv_domain *d) {
        if (d->log_offset < 0 || isempty(d->log_path))
                return;
        _cleanup_free_ char *src = qemu_log_path(d->def.name), *text = NULL;
        size_t len = 0;
        if (!src || read_full_file(src, &text, &len) < 0 || (int64_t)len <= d->log_offset)
                return;
        _cleanup_close_ int fd = open(d->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, text + d->log_offset, len - (size_t)d->log_offset) < 0)
                log_debug("cannot append libvirt's log of %s to %s: %m", d->def.name, d->log_path);
        d->log_offset = -1;
}

static void domain_free(struct vm_domain *vd) {
        struct lv_domain *d = DOM(vd);
        struct lv_conn *c = DCONN(d);
        if (domain_active(d) && virDomainDestroy(d->dom) < 0)
                log_warning("libvirt at %s: cannot switch off %s: %s", c->uri, d->def.name, lv_msg());
        copy_qemu_log(d);
        if (d->dom && d->persistent && !d->kept && virDomainUndefineFlags(d->dom, undefine_flags) < 0)
                log_warning("libvirt at %s: cannot undefine %s (virsh undefine --snapshots-metadata --nvram %s): %s",
                            c->uri, d->def.name, d->def.name, lv_msg());
        if (!d->kept)
                STRV_FOREACH(v, d->aux_volumes)
                        (void)volume_delete(&c->base, *v);
        if (d->cb_lifecycle >= 0)
                virConnectDomainEventDeregisterAny(c->conn, d->cb_lifecycle);
        if (d->cb_reboot >= 0)
                virConnectDomainEventDeregisterAny(c->conn, d->cb_reboot);
        events_unref(d->ev);
        if (d->dom)
                virDomainFree(d->dom);
        strv_free(d->aux_volumes);
        free(d->log_path);
        free(d->xml);
        vm_def_done(&d->def);
        free(d);
}

/* Upload the SMBIOS type 0 and 3 structures def needs as files (machine/smbios.h) as volumes
 * NAME-smbios-typeN.bin; their host paths into path0/path3. */
static int smbios_volumes(struct lv_domain *d, char **path0, char **path3) {
        struct lv_conn *c = DCONN(d);
        const struct vm_smbios *m = &d->def.id.smbios;
        for (unsigned t = 0; t <= 3; t += 3) {
                if (!vm_smbios_in_file(m, t))
                        continue;
                _cleanup_free_ uint8_t *data = NULL;
                size_t size = 0;
                int r = vm_smbios_encode(m, d->def.firmware, t, &data, &size);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "cannot encode SMBIOS type %u of %s: %m", t, d->def.name);
                _cleanup_free_ char *vname = smbios_volume_name(d->def.name, t);
                _cleanup_free_ char *tmp = strdup_printf("%s/vmcloak-smbios.XXXXXX", runtime_tmpdir());
                if (!vname || !tmp)
                        return log_oom();
                int fd = mkstemp(tmp);
                if (fd < 0)
                        return log_error_errno(-errno, "cannot create a temporary file: %m");
                r = write_all(fd, data, size);
                close(fd);
                if (r < 0) {
                        unlink(tmp);
                        return log_error_errno(r, "cannot write %s: %m", tmp);
                }
                /* A leftover of a run that was cut short may hold other values. */
                (void)volume_delete(&c->base, vname);
                char *path = NULL;
                /* World-readable: QEMU opens it itself (-smbios file=, a <qemu:arg>), as the
                 * qemu.conf user (libvirt-qemu on a stock host), and libvirt's DAC driver relabels
                 * only the files the domain XML names as devices (disks and their backing chain). */
                r = volume_upload_ex(c, tmp, vname, true, 0644, &path, NULL);
                unlink(tmp);
                if (r < 0)
                        return r;
                if (strv_extend(&d->aux_volumes, vname) < 0) {
                        free(path);
                        (void)volume_delete(&c->base, vname);
                        return log_oom();
                }
                *(t == 0 ? path0 : path3) = path;
        }
        return 0;
}

/* UEFI firmware for a domain: the OVMF code the host's domain capabilities list (4 MiB build
 * first) and the variable store template beside it, by Debian's and Ubuntu's file names:
 * OVMF_CODE_4M.fd + OVMF_VARS_4M.fd, with Secure Boot OVMF_CODE_4M.secboot.fd +
 * OVMF_VARS_4M.ms.fd (Microsoft's keys enrolled). Given explicitly because libvirt 9.0's
 * firmware autoselection refuses the <loader readonly/type> a Secure Boot domain needs. */
static int uefi_files(struct lv_domain *d, char **ret_code, char **ret_vars) {
        struct lv_conn *c = DCONN(d);
        bool sb = d->def.secure_boot;
        static const char *const exprs[] = {
                "string((/domainCapabilities/os/loader/value[contains(., 'OVMF_CODE_4M')])[1])",
                "string((/domainCapabilities/os/loader/value[contains(., 'OVMF_CODE')])[1])",
        };
        _cleanup_free_ char *code = NULL;
        for (size_t i = 0; i < sizeof exprs / sizeof exprs[0] && isempty(code); i++) {
                free(code);
                if (!(code = xpath_string(c->domcaps, exprs[i])))
                        return log_oom();
        }
        if (isempty(code)) {
                log_error("libvirt at %s lists no OVMF firmware for domain %s: install the ovmf package on that host",
                          c->uri, d->def.name);
                return -ENOENT;
        }
        /* "…/OVMF_CODE_4M[.secboot|.ms].fd" -> the stem before the variant. */
        char *dot = strstr(code, "OVMF_CODE");
        dot = dot ? strchr(dot, '.') : NULL;
        if (!dot) {
                log_error("libvirt at %s lists OVMF firmware %s, whose name is not OVMF_CODE*.fd", c->uri, code);
                return -ENOENT;
        }
        *dot = 0;
        char *vars_stem = strstr(code, "OVMF_CODE");
        _cleanup_free_ char *vars = NULL, *sbcode = NULL;
        size_t prefix = (size_t)(vars_stem - code);
        vars = strdup_printf("%.*sOVMF_VARS%s%s", (int)prefix, code, vars_stem + strlen("OVMF_CODE"),
                             sb ? ".ms.fd" : ".fd");
        sbcode = strdup_printf("%s%s", code, sb ? ".secboot.fd" : ".fd");
        if (!vars || !sbcode)
                return log_oom();
        *ret_code = TAKE_PTR(sbcode);
        *ret_vars = TAKE_PTR(vars);
        return 0;
}

static int domain_define(struct vm_conn *vc, const struct vm_def *def, const struct vm_domain_opts *o,
                         struct vm_domain **ret) {
        struct lv_conn *c = CONN(vc);
        if (isempty(def->name)) {
                log_error("a libvirt domain needs a name");
                return -EINVAL;
        }
        bool user = def->net.type == VM_NET_USER && def->net.agent_port;
        if (def->net.type == VM_NET_USER && !c->local) {
                log_error("libvirt at %s is another host: user-mode networking (VM %s) is reached through ports "
                          "forwarded on that host's 127.0.0.1, not this one; use a bridged image (vmcloak init with a "
                          "bridge) for remote hosts", c->uri, def->name);
                return -EINVAL;
        }
        bool persistent = o && o->persistent;
        virDomainPtr old = virDomainLookupByName(c->conn, def->name);
        if (old) {
                bool was_persistent = virDomainIsPersistent(old) == 1;
                virDomainFree(old);
                log_error("libvirt at %s has a domain named %s already, which vmcloak leaves alone: pick another "
                          "VM name, or remove that domain if it is yours to remove (virsh -c %s %s %s)", c->uri,
                          def->name, c->uri, was_persistent ? "undefine --snapshots-metadata --nvram" : "destroy",
                          def->name);
                return -EEXIST;
        }
        if (!last_error_is(VIR_ERR_NO_DOMAIN))
                return lv_fail(c->uri, -EIO, NULL, "cannot look up domain %s", def->name);

        struct lv_domain *d = calloc(1, sizeof *d);
        if (!d)
                return log_oom();
        d->base.driver = &libvirt_driver;
        d->base.conn = vc;
        d->cb_lifecycle = d->cb_reboot = -1;
        d->log_offset = -1;
        d->persistent = persistent;
        if (vm_def_copy(def, &d->def) < 0 || !(d->ev = events_new(def->name)) ||
            (o && !isempty(o->log_path) && !(d->log_path = strdup(o->log_path)))) {
                domain_free(&d->base);
                return log_oom();
        }
        /* UEFI without a variable store of its own: libvirt's per-domain file, made from the
         * firmware's template at the first start and removed with the domain. Its path is
         * libvirt's to pick (qemu.conf nvram_dir, the session's own folder for qemu:///session;
         * NAME_VARS.fd, or NAME_VARS.qcow2 in qcow2): the domain XML leaves it out and the
         * defined domain's XML (virsh dumpxml) has it. vm_def_check wants a store for UEFI, so
         * it checks a stand-in. */
        bool lv_nvram = def->firmware == VM_FIRMWARE_UEFI && isempty(def->nvram);
        if (lv_nvram && !(d->def.nvram = strdup("(libvirt's per-domain NVRAM)"))) {
                domain_free(&d->base);
                return log_oom();
        }
        char reason[256];
        int cr = vm_def_check(&d->def, reason, sizeof reason);
        if (lv_nvram) {
                free(d->def.nvram);
                d->def.nvram = NULL;
        }
        if (cr < 0) {
                log_error("cannot define domain %s: %s", def->name, reason);
                domain_free(&d->base);
                return -EINVAL;
        }
        int r = 0;
        if (user) {
                if ((!isempty(def->net.guest_ip) && (r = free_loopback_port(&d->fwd[0])) < 0) ||
                    (!isempty(def->net.guest_ip2) && (r = free_loopback_port(&d->fwd[1])) < 0)) {
                        domain_free(&d->base);
                        return log_error_errno(r, "cannot find a free TCP port on 127.0.0.1: %m");
                }
        }
        _cleanup_free_ char *smbios0 = NULL, *smbios3 = NULL, *ovmf_code = NULL, *ovmf_vars = NULL;
        if (vm_smbios_needs_files(&def->id.smbios) && (r = smbios_volumes(d, &smbios0, &smbios3)) < 0)
                goto fail;
        if (def->firmware == VM_FIRMWARE_UEFI && (r = uefi_files(d, &ovmf_code, &ovmf_vars)) < 0)
                goto fail;
        struct libvirt_xml_host h = {
                .domain_type = c->kvm ? "kvm" : "qemu",
                .ovmf_code = ovmf_code,
                .ovmf_vars_template = ovmf_vars,
                .nvram_qcow2 = def->firmware == VM_FIRMWARE_UEFI && lv_nvram &&
                               vm_libvirt_takes_uefi_snapshots(c->manager_version),
                .smbios_type0_path = smbios0,
                .smbios_type3_path = smbios3,
                .agent_forward = { (uint16_t)d->fwd[0], (uint16_t)d->fwd[1] },
                .passthrough = o ? o->passthrough : NULL,
        };
        if ((r = libvirt_domain_xml(&d->def, &h, &d->xml)) < 0)
                goto fail;
        if (persistent) {
                d->dom = virDomainDefineXML(c->conn, d->xml);
                if (!d->dom) {
                        r = lv_fail(c->uri, -EINVAL, NULL, "cannot define domain %s", def->name);
                        goto fail;
                }
        }
        if ((r = events_register(d)) < 0)
                goto fail;
        snprintf(d->describe, sizeof d->describe, "libvirt domain %s at %s", def->name, c->uri);
        *ret = &d->base;
        return 0;
fail:
        domain_free(&d->base);
        return r;
}

static int start(struct vm_domain *vd, const struct vm_start_opts *o) {
        struct lv_domain *d = DOM(vd);
        struct lv_conn *c = DCONN(d);
        if (o->memory_image) {
                log_error("the libvirt driver cannot start %s from a memory file: libvirt domains go back to a "
                          "snapshot instead (virsh snapshot-revert)", d->def.name);
                return -EOPNOTSUPP;
        }
        if (domain_active(d)) {
                log_error("libvirt at %s: domain %s is running already", c->uri, d->def.name);
                return -EBUSY;
        }
        pthread_mutex_lock(&d->ev->mu);
        d->ev->started = d->ev->ended = false;
        d->ev->reboots = 0;
        d->ev->last_reboot_ms = 0;
        d->ev->end = (struct vm_event){ 0 };
        pthread_mutex_unlock(&d->ev->mu);
        if (c->local && d->log_offset < 0) {
                _cleanup_free_ char *log = qemu_log_path(d->def.name);
                struct stat sb;
                d->log_offset = log && stat(log, &sb) == 0 ? (int64_t)sb.st_size : 0;
        }
        unsigned flags = o->paused ? VIR_DOMAIN_START_PAUSED : 0;
        if (d->persistent) {
                if (virDomainCreateWithFlags(d->dom, flags) < 0)
                        return lv_fail(c->uri, -EIO, "its QEMU log on the host says more (/var/log/libvirt/qemu)",
                                       "cannot start domain %s", d->def.name);
        } else {
                virDomainPtr dom = virDomainCreateXML(c->conn, d->xml, flags);
                if (!dom)
                        return lv_fail(c->uri, -EIO, "its QEMU log on the host says more (/var/log/libvirt/qemu)",
                                       "cannot start domain %s", d->def.name);
                if (d->dom)
                        virDomainFree(d->dom);
                d->dom = dom;
        }
        d->ran = true;
        d->reboot_powers_off = o->reboot_powers_off;
        return 0;
}

static char *log_tail(struct vm_domain *vd, unsigned lines) {
        struct lv_domain *d = DOM(vd);
        if (!DCONN(d)->local || lines == 0)
                return strdup("");
        _cleanup_free_ char *path = qemu_log_path(d->def.name);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (!path || read_full_file(path, &text, &len) < 0)
                return strdup("");
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                text[--len] = 0;
        char *start = text + len;
        unsigned n = 0;
        while (start > text && n < lines) {
                start--;
                if (*start == '\n' && ++n == lines) {
                        start++;
                        break;
                }
        }
        _cleanup_strv_free_ char **l = NULL;
        for (char *tok = strtok(start, "\n"); tok; tok = strtok(NULL, "\n"))
                if (!isempty(tok) && strv_extend(&l, tok) < 0)
                        return NULL;
        return l ? strv_join(l, " / ") : strdup("");
}

/* The end of the run as the host tells it, for an event libvirt did not deliver. */
static void end_from_state(struct lv_domain *d) {
        int state = 0, reason = 0;
        bool gone = false;
        if (virDomainGetState(d->dom, &state, &reason, 0) < 0) {
                if (!last_error_is(VIR_ERR_NO_DOMAIN))
                        return;
                gone = true;   /* a transient domain that stopped */
        }
        if (!gone && state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED)
                return;
        pthread_mutex_lock(&d->ev->mu);
        if (!gone && state == VIR_DOMAIN_SHUTOFF && reason == VIR_DOMAIN_SHUTOFF_SHUTDOWN)
                events_end(d->ev, VM_EVENT_POWEROFF, "");
        else
                events_end(d->ev, VM_EVENT_DIED, gone ? "the domain is gone" : "the domain is off");
        pthread_mutex_unlock(&d->ev->mu);
}

static void mark_switched_off(struct lv_domain *d, enum vm_event_type type) {
        pthread_mutex_lock(&d->ev->mu);
        events_end(d->ev, type, type == VM_EVENT_DIED ? "switched off by vmcloak" : "");
        pthread_mutex_unlock(&d->ev->mu);
}

static void destroy(struct vm_domain *vd) {
        struct lv_domain *d = DOM(vd);
        if (!d->ran)
                return;
        bool active = domain_active(d);
        if (active)
                mark_switched_off(d, VM_EVENT_DIED);
        if (active && virDomainDestroy(d->dom) < 0 && domain_active(d))
                log_warning("libvirt at %s: cannot switch off %s: %s", DCONN(d)->uri, d->def.name, lv_msg());
}

static int wait_event(struct vm_domain *vd, int timeout_ms, struct vm_event *ret) {
        struct lv_domain *d = DOM(vd);
        struct lv_events *e = d->ev;
        if (!d->ran) {
                log_error("domain %s was never started", d->def.name);
                return -ENOTCONN;
        }
        int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
        int64_t next_check = now_ms() + STATE_CHECK_MS;
        bool off_seen = false;
        pthread_mutex_lock(&e->mu);
        for (;;) {
                if (e->reboots > 0) {
                        e->reboots--;
                        pthread_mutex_unlock(&e->mu);
                        *ret = (struct vm_event){ .type = VM_EVENT_REBOOT };
                        if (d->reboot_powers_off) {
                                /* The run ends here, as QEMU's -no-reboot would end it. */
                                mark_switched_off(d, VM_EVENT_POWEROFF);
                                if (domain_active(d))
                                        virDomainDestroy(d->dom);
                        }
                        return 0;
                }
                if (e->ended) {
                        *ret = e->end;
                        pthread_mutex_unlock(&e->mu);
                        if (ret->type == VM_EVENT_DIED) {
                                _cleanup_free_ char *tail = log_tail(vd, 3);
                                if (!isempty(tail)) {
                                        size_t l = strlen(ret->detail);
                                        snprintf(ret->detail + l, sizeof ret->detail - l, ": %s", tail);
                                }
                        }
                        return 0;
                }
                if (interrupted()) {
                        pthread_mutex_unlock(&e->mu);
                        return -ECANCELED;
                }
                int64_t now = now_ms();
                if (now >= deadline) {
                        pthread_mutex_unlock(&e->mu);
                        return -ETIMEDOUT;
                }
                if (now >= next_check) {
                        /* Off twice in a row with no event: the event was lost (a dropped
                         * connection); the host's state reason says how it ended. */
                        pthread_mutex_unlock(&e->mu);
                        bool off = !domain_active(d);
                        if (off && off_seen)
                                end_from_state(d);
                        off_seen = off;
                        next_check = now_ms() + STATE_CHECK_MS;
                        pthread_mutex_lock(&e->mu);
                        continue;
                }
                int64_t wait = deadline - now < WAKE_MS ? deadline - now : WAKE_MS;
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += (long)(wait % 1000) * 1000000L;
                ts.tv_sec += (time_t)(wait / 1000) + ts.tv_nsec / 1000000000L;
                ts.tv_nsec %= 1000000000L;
                pthread_cond_timedwait(&e->cond, &e->mu, &ts);
        }
}

static int shutdown_domain(struct vm_domain *vd, int grace_ms) {
        struct lv_domain *d = DOM(vd);
        if (!d->ran || !domain_active(d))
                return 0;
        if (!interrupted() && grace_ms > 0 &&
            virDomainShutdownFlags(d->dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0) {
                struct vm_event ev;
                int64_t deadline = now_ms() + grace_ms;
                int r;
                while ((r = wait_event(vd, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0), &ev)) == 0 &&
                       ev.type == VM_EVENT_REBOOT)
                        ;
                if (r == 0 && ev.type == VM_EVENT_POWEROFF)
                        return 0;
        }
        mark_switched_off(d, VM_EVENT_DIED);
        if (domain_active(d) && virDomainDestroy(d->dom) < 0 && domain_active(d))
                log_warning("libvirt at %s: cannot switch off %s: %s", DCONN(d)->uri, d->def.name, lv_msg());
        return 1;
}

static int get_state(struct vm_domain *vd, enum vm_state *ret) {
        struct lv_domain *d = DOM(vd);
        *ret = VM_STATE_OFF;
        if (!d->dom)
                return 0;
        int state = 0, reason = 0;
        if (virDomainGetState(d->dom, &state, &reason, 0) < 0) {
                if (last_error_is(VIR_ERR_NO_DOMAIN))
                        return 0;   /* a transient domain that stopped */
                return lv_fail(DCONN(d)->uri, -EIO, NULL, "cannot read the state of %s", d->def.name);
        }
        switch (state) {
        case VIR_DOMAIN_RUNNING:
        case VIR_DOMAIN_BLOCKED:
        case VIR_DOMAIN_SHUTDOWN:   /* shutting down: still runs */
                *ret = VM_STATE_RUNNING;
                break;
        case VIR_DOMAIN_PAUSED:
        case VIR_DOMAIN_PMSUSPENDED:
                *ret = VM_STATE_PAUSED;
                break;
        default:
                break;
        }
        return 0;
}

static int running(struct lv_domain *d) {
        if (!domain_active(d)) {
                log_error("libvirt domain %s is not running", d->def.name);
                return -ENOTCONN;
        }
        return 0;
}

static int resume(struct vm_domain *vd) {
        struct lv_domain *d = DOM(vd);
        int r = running(d);
        if (r < 0)
                return r;
        if (virDomainResume(d->dom) < 0)
                return lv_fail(DCONN(d)->uri, -EIO, NULL, "cannot resume %s", d->def.name);
        return 0;
}

/* The live XML of the cdrom-th CD-ROM drive with its medium set to path (NULL: none). */
static int cdrom_xml(struct lv_domain *d, size_t cdrom, const char *path, char **ret) {
        struct lv_conn *c = DCONN(d);
        _cleanup_free_ char *live = virDomainGetXMLDesc(d->dom, 0);
        if (!live)
                return lv_fail(c->uri, -EIO, NULL, "cannot read the definition of %s", d->def.name);
        xmlDocPtr doc = xmlReadMemory(live, (int)strlen(live), NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
        if (!doc)
                return log_oom();
        int r = 0;
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression(BAD_CAST "/domain/devices/disk[@device='cdrom']", ctx) : NULL;
        size_t n = o && o->nodesetval ? (size_t)o->nodesetval->nodeNr : 0;
        if (!o) {
                r = log_oom();
                goto out;
        }
        if (cdrom >= n) {
                log_error("domain %s has no CD-ROM drive %zu", d->def.name, cdrom);
                r = -ENOENT;
                goto out;
        }
        xmlNodePtr disk = o->nodesetval->nodeTab[cdrom];
        for (xmlNodePtr ch = disk->children, next; ch; ch = next) {
                next = ch->next;
                if (ch->type == XML_ELEMENT_NODE && xmlStrEqual(ch->name, BAD_CAST "source")) {
                        xmlUnlinkNode(ch);
                        xmlFreeNode(ch);
                }
        }
        xmlSetProp(disk, BAD_CAST "type", BAD_CAST "file");
        if (path) {
                xmlNodePtr src = xmlNewChild(disk, NULL, BAD_CAST "source", NULL);
                if (!src || !xmlSetProp(src, BAD_CAST "file", BAD_CAST path)) {
                        r = log_oom();
                        goto out;
                }
        }
        xmlBufferPtr buf = xmlBufferCreate();
        if (!buf || xmlNodeDump(buf, doc, disk, 0, 0) < 0 || !(*ret = strdup((const char *)xmlBufferContent(buf))))
                r = log_oom();
        xmlBufferFree(buf);
out:
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        xmlFreeDoc(doc);
        return r;
}

static int media_change(struct vm_domain *vd, size_t cdrom, const char *path) {
        struct lv_domain *d = DOM(vd);
        int r = running(d);
        if (r < 0)
                return r;
        _cleanup_free_ char *xml = NULL;
        if ((r = cdrom_xml(d, cdrom, path, &xml)) < 0)
                return r;
        if (virDomainUpdateDeviceFlags(d->dom, xml, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_DEVICE_MODIFY_FORCE) < 0)
                return lv_fail(DCONN(d)->uri, -EIO, path ? "is the file there on the host?" : NULL,
                               "cannot %s CD-ROM drive %zu of %s%s%s", path ? "change the medium in" : "eject",
                               cdrom, d->def.name, path ? " to " : "", strempty(path));
        return 0;
}

static int send_keys(struct vm_domain *vd, char *const *keys, int hold_ms) {
        struct lv_domain *d = DOM(vd);
        int r = running(d);
        if (r < 0)
                return r;
        unsigned codes[16];
        int n = 0;
        STRV_FOREACH(k, keys) {
                int code = libvirt_qcode_to_linux(*k);
                if (code < 0) {
                        log_error("the libvirt driver knows no key '%s' (QEMU qcode names: ret, ctrl, alt, delete, a, f1...)",
                                  *k);
                        return -EINVAL;
                }
                if (n == (int)(sizeof codes / sizeof codes[0])) {
                        log_error("libvirt presses at most %zu keys together", sizeof codes / sizeof codes[0]);
                        return -E2BIG;
                }
                codes[n++] = (unsigned)code;
        }
        if (virDomainSendKey(d->dom, VIR_KEYCODE_SET_LINUX, hold_ms > 0 ? (unsigned)hold_ms : 0, codes, n, 0) < 0)
                return lv_fail(DCONN(d)->uri, -EIO, NULL, "cannot send keys to %s", d->def.name);
        return 0;
}

static int agent_endpoint(struct vm_domain *vd, unsigned slot, char *host, size_t size, uint16_t *port) {
        struct lv_domain *d = DOM(vd);
        const struct vm_net *n = &d->def.net;
        const char *ip = slot == 0 ? n->guest_ip : slot == 1 ? n->guest_ip2 : NULL;
        if (isempty(ip) || !n->agent_port || n->type == VM_NET_NONE)
                return -ENOENT;
        if (n->type == VM_NET_USER) {
                if (!d->fwd[slot])
                        return -ENOENT;
                snprintf(host, size, "127.0.0.1");
                *port = (uint16_t)d->fwd[slot];
                return 0;
        }
        snprintf(host, size, "%s", ip);
        *port = (uint16_t)n->agent_port;
        return 0;
}

static const char *describe(struct vm_domain *vd) { return DOM(vd)->describe; }

/* ---- persistent domains and snapshots ---- */

static char *snapshot_xml(const char *name, const char *description) {
        xmlBufferPtr b;
        xmlTextWriterPtr w = writer_new(&b);
        if (!w)
                return NULL;
        int rc = xmlTextWriterStartElement(w, BAD_CAST "domainsnapshot");
        if (rc >= 0)
                rc = wr_elem(w, "name", name);
        if (rc >= 0 && !isempty(description))
                rc = wr_elem(w, "description", description);
        return writer_done(w, b, rc);
}

static int snapshot_create(struct vm_domain *vd, const char *name, const char *description) {
        struct lv_domain *d = DOM(vd);
        struct lv_conn *c = DCONN(d);
        int r = running(d);
        if (r < 0)
                return r;
        _cleanup_free_ char *xml = snapshot_xml(name, description);
        if (!xml)
                return log_oom();
        virDomainSnapshotPtr s = virDomainSnapshotCreateXML(d->dom, xml, VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
        if (!s) {
                const char *m = lv_msg();
                if (strstr(m, "pflash")) {
                        log_error("libvirt at %s cannot snapshot %s: libvirt %s takes no internal snapshot of a UEFI "
                                  "(pflash) domain (it says: %s); use a BIOS image, or a libvirt >= %d.%d.0 host "
                                  "(internal snapshots of UEFI domains with a qcow2 NVRAM, which vmcloak asks for "
                                  "there)", c->uri, d->def.name, c->manager_version, m,
                                  VM_LIBVIRT_UEFI_SNAPSHOT_MAJOR, VM_LIBVIRT_UEFI_SNAPSHOT_MINOR);
                        return -EOPNOTSUPP;
                }
                return lv_fail(c->uri, -EIO, NULL, "cannot take snapshot %s of %s", name, d->def.name);
        }
        virDomainSnapshotFree(s);
        return 0;
}

static int keep(struct vm_domain *vd) {
        struct lv_domain *d = DOM(vd);
        if (!d->persistent) {
                log_error("domain %s is transient: only a persistent domain stays on its host", d->def.name);
                return -EINVAL;
        }
        d->kept = true;
        return 0;
}

/* Domain name of c: 0 and *ret, -ENOENT (no line) when the host has none. */
static int domain_lookup(struct lv_conn *c, const char *name, virDomainPtr *ret) {
        virDomainPtr dom = virDomainLookupByName(c->conn, name);
        if (!dom) {
                if (last_error_is(VIR_ERR_NO_DOMAIN))
                        return -ENOENT;
                return lv_fail(c->uri, -EIO, NULL, "cannot look up domain %s", name);
        }
        *ret = dom;
        return 0;
}

static int conn_domain_info(struct vm_conn *vc, const char *name, struct vm_domain_info *ret) {
        struct lv_conn *c = CONN(vc);
        virDomainPtr dom = NULL;
        int r = domain_lookup(c, name, &dom);
        if (r < 0)
                return r;
        *ret = (struct vm_domain_info){ 0 };
        ret->active = virDomainIsActive(dom) == 1;
        int n = virDomainSnapshotNum(dom, 0);
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (n < 0 || virDomainGetUUIDString(dom, uuid) < 0) {
                r = lv_fail(c->uri, -EIO, NULL, "cannot read the snapshots of %s", name);
                virDomainFree(dom);
                return r;
        }
        ret->snapshots = (unsigned)n;
        snprintf(ret->uuid, sizeof ret->uuid, "%s", uuid);
        if (n > 0 && virDomainHasCurrentSnapshot(dom, 0) == 1) {
                virDomainSnapshotPtr s = virDomainSnapshotCurrent(dom, 0);
                _cleanup_free_ char *xml = s ? virDomainSnapshotGetXMLDesc(s, 0) : NULL;
                _cleanup_free_ char *state = xml ? xpath_string(xml, "string(/domainsnapshot/state)") : NULL;
                if (s) {
                        snprintf(ret->current_snapshot, sizeof ret->current_snapshot, "%s", virDomainSnapshotGetName(s));
                        virDomainSnapshotFree(s);
                }
                if (!state) {
                        r = lv_fail(c->uri, -EIO, NULL, "cannot read the current snapshot of %s", name);
                        virDomainFree(dom);
                        return r;
                }
                ret->current_snapshot_running = streq(state, "running");
        }
        virDomainFree(dom);
        return 0;
}

static int conn_domain_remove(struct vm_conn *vc, const char *name) {
        struct lv_conn *c = CONN(vc);
        virDomainPtr dom = NULL;
        int r = domain_lookup(c, name, &dom);
        if (r < 0)
                return r;
        if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0 && virDomainIsActive(dom) == 1) {
                r = lv_fail(c->uri, -EIO, NULL, "cannot switch off %s", name);
                virDomainFree(dom);
                return r;
        }
        if (virDomainIsPersistent(dom) == 1 && virDomainUndefineFlags(dom, undefine_flags) < 0) {
                r = lv_fail(c->uri, -EIO, NULL, "cannot undefine %s", name);
                virDomainFree(dom);
                return r;
        }
        virDomainFree(dom);
        delete_aux_volumes(c, name);
        return 0;
}

const struct vm_driver libvirt_driver = {
        .name = "libvirt",
        .conn_open = conn_open,
        .conn_close = conn_close,
        .host_info = host_info,
        .domain_define = domain_define,
        .domain_free = domain_free,
        .start = start,
        .wait_event = wait_event,
        .shutdown = shutdown_domain,
        .destroy = destroy,
        .get_state = get_state,
        .resume = resume,
        .media_change = media_change,
        .send_keys = send_keys,
        .agent_endpoint = agent_endpoint,
        .log_tail = log_tail,
        .describe = describe,
        .snapshot_create = snapshot_create,
        .keep = keep,
        .conn_domain_info = conn_domain_info,
        .conn_domain_remove = conn_domain_remove,
        .volume_upload = volume_upload,
        .volume_create_overlay = volume_create_overlay,
        .volume_delete = volume_delete,
        .volume_list = volume_list,
        .volume_users = volume_users,
};
