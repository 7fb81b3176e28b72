/* Test program for the libvirt driver through the driver table (machine/driver.h), for
 * tests/e2e/libvirt_driver.sh: reads one command per line on stdin and answers each with one
 * line "rc=N key=value..." on stdout, so a script can talk to the guest between steps.
 *
 *   open URI [POOL|-] [ACCEL]           hostinfo   (ACCEL: tcg unless given)
 *   upload FILE NAME                    upload-interrupt FILE NAME (SIGINT once the volume shows)
 *   overlay NAME BACKING_PATH           voldelete NAME          vollist     volusers NAME
 *   define NAME DISK persistent|transient user|bridge:BR|none GUEST_IP [smbios|uefi|uefi-sb]
 *   start [paused|noreboot]   event MS   event-interrupt MS (SIGINT after 300 ms)   state   snapshot NAME   keep   shutdown MS   destroy
 *   endpoint SLOT    keys K...  logtail  free   info NAME   remove NAME   close
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/util.h"
#include "libvirt/driver.h"
#include "machine/driver.h"

static struct vm_conn *conn;
static struct vm_domain *dom;
static char *uri_kept, *pool_kept;

struct watch {
        const char *name;
        volatile bool stop;
};

/* Raise SIGINT once the volume being uploaded shows in the pool (seen over a second connection). */
static void *interrupt_when_there(void *arg) {
        struct watch *w = arg;
        struct vm_conn_opts o = { .uri = uri_kept, .pool = pool_kept, .accel = VM_ACCEL_TCG };
        struct vm_conn *c2 = NULL;
        if (vm_conn_open(&libvirt_driver, &o, &c2) < 0)
                return NULL;
        while (!w->stop) {
                char **l = NULL;
                if (vm_volume_list(c2, &l) == 0 && strv_contains(l, w->name)) {
                        strv_free(l);
                        kill(getpid(), SIGINT);
                        break;
                }
                strv_free(l);
                sleep_ms(2);
        }
        vm_conn_close(c2);
        return NULL;
}

static void *sigint_later(void *arg) {
        (void)arg;
        sleep_ms(300);
        kill(getpid(), SIGINT);
        return NULL;
}

static int define(char **a, size_t n) {
        if (n < 6)
                return -EINVAL;
        struct vm_def def;
        vm_def_init(&def);
        def.name = strdup(a[1]);
        def.disk.path = strdup(a[2]);
        def.ram_mb = 512;
        def.cpus = 1;
        def.clock = VM_CLOCK_UTC;
        def.net.guest_ip = strdup(a[5]);
        def.net.agent_port = 8000;
        if (streq(a[4], "user")) {
                def.net.type = VM_NET_USER;
                def.net.network = strdup("10.0.2.0/24");
        } else if (startswith(a[4], "bridge:")) {
                def.net.type = VM_NET_BRIDGE;
                def.net.bridge = strdup(a[4] + 7);
        } else
                def.net.type = VM_NET_NONE;
        if (n > 6 && streq(a[6], "smbios")) {
                def.id.smbios.bios.vendor = strdup("American Megatrends Inc.");
                def.id.smbios.bios.version = strdup("1.2.3");
                def.id.smbios.chassis.type = 3;
                def.id.smbios.chassis.manufacturer = strdup("Dell Inc.");
        }
        if (n > 6 && startswith(a[6], "uefi")) {
                def.firmware = VM_FIRMWARE_UEFI;
                def.secure_boot = streq(a[6], "uefi-sb");
        }
        _cleanup_free_ char *log = strdup_printf("lvdrive-%s.log", a[1]);   /* in the current folder */
        struct vm_domain_opts o = { .log_path = log, .persistent = streq(a[3], "persistent") };
        int64_t t0 = now_ms();
        int r = vm_domain_define(conn, &def, &o, &dom);
        vm_def_done(&def);
        if (r == 0)
                printf("rc=0 ms=%lld describe=%s\n", (long long)(now_ms() - t0), vm_domain_describe(dom));
        return r;
}

static int run(char **a, size_t n) {
        const char *cmd = a[0];
        int64_t t0 = now_ms();
        int r;
        if (streq(cmd, "open")) {
                free(uri_kept);
                free(pool_kept);
                uri_kept = n > 1 ? strdup(a[1]) : NULL;
                pool_kept = n > 2 && !streq(a[2], "-") ? strdup(a[2]) : NULL;
                struct vm_conn_opts o = { .uri = uri_kept, .pool = pool_kept, .accel = VM_ACCEL_TCG };
                if (n > 3 && vm_accel_from_string(a[3], &o.accel) < 0)
                        return -EINVAL;
                if ((r = vm_conn_open(&libvirt_driver, &o, &conn)) == 0)
                        printf("rc=0 ms=%lld\n", (long long)(now_ms() - t0));
                return r;
        }
        if (!conn)
                return -ENOTCONN;
        if (streq(cmd, "hostinfo")) {
                struct vm_host_info h;
                if ((r = vm_host_info(conn, &h)) == 0)
                        printf("rc=0 driver=%s version=%s manager=%s accel=%s local=%d\n", h.driver, h.version,
                               h.manager_version, vm_accel_to_string(h.accel), h.local);
                return r;
        }
        if (streq(cmd, "upload") && n == 3) {
                _cleanup_free_ char *path = NULL;
                bool up = false;
                if ((r = vm_volume_upload(conn, a[1], a[2], &path, &up)) == 0)
                        printf("rc=0 uploaded=%d ms=%lld path=%s\n", up, (long long)(now_ms() - t0), path);
                return r;
        }
        if (streq(cmd, "upload-interrupt") && n == 3) {
                struct watch w = { .name = a[2] };
                pthread_t t;
                pthread_create(&t, NULL, interrupt_when_there, &w);
                r = vm_volume_upload(conn, a[1], a[2], NULL, NULL);
                w.stop = true;
                pthread_join(t, NULL);
                interrupt_reset();
                return r;
        }
        if (streq(cmd, "overlay") && n == 3) {
                _cleanup_free_ char *path = NULL;
                if ((r = vm_volume_create_overlay(conn, a[1], a[2], &path)) == 0)
                        printf("rc=0 path=%s\n", path);
                return r;
        }
        if (streq(cmd, "voldelete") && n == 2)
                return vm_volume_delete(conn, a[1]);
        if (streq(cmd, "vollist")) {
                _cleanup_strv_free_ char **l = NULL;
                if ((r = vm_volume_list(conn, &l)) == 0) {
                        _cleanup_free_ char *j = strv_join(l, ",");
                        printf("rc=0 volumes=%s\n", strempty(j));
                }
                return r;
        }
        if (streq(cmd, "volusers") && n == 2) {
                unsigned u = 0;
                if ((r = vm_volume_users(conn, a[1], &u)) == 0)
                        printf("rc=0 users=%u\n", u);
                return r;
        }
        if (streq(cmd, "info") && n == 2) {
                struct vm_domain_info i;
                if ((r = vm_conn_domain_info(conn, a[1], &i)) == 0)
                        printf("rc=0 active=%d snapshots=%u current=%s running=%d uuid=%s\n", i.active, i.snapshots,
                               i.current_snapshot, i.current_snapshot_running, i.uuid);
                return r;
        }
        if (streq(cmd, "remove") && n == 2)
                return vm_conn_domain_remove(conn, a[1]);
        if (streq(cmd, "define"))
                return define(a, n);
        if (streq(cmd, "close")) {
                vm_domain_free(dom);
                dom = NULL;
                vm_conn_close(conn);
                conn = NULL;
                return 0;
        }
        if (!dom)
                return -ENOENT;
        if (streq(cmd, "start")) {
                struct vm_start_opts o = { .paused = n > 1 && streq(a[1], "paused"),
                                           .reboot_powers_off = n > 1 && streq(a[1], "noreboot") };
                if ((r = vm_domain_start(dom, &o)) == 0)
                        printf("rc=0 ms=%lld\n", (long long)(now_ms() - t0));
                return r;
        }
        if (streq(cmd, "start-memory")) {
                struct vm_start_opts o = { .memory_image = "/nonexistent" };
                return vm_domain_start(dom, &o);
        }
        if (streq(cmd, "event-interrupt") && n == 2) {
                /* Ctrl-C 300 ms into a wait. */
                pthread_t t;
                pthread_create(&t, NULL, sigint_later, NULL);
                struct vm_event ev;
                r = vm_domain_wait_event(dom, atoi(a[1]), &ev);
                pthread_join(t, NULL);
                interrupt_reset();
                if (r == -ECANCELED)
                        printf("rc=%d ms=%lld\n", r, (long long)(now_ms() - t0));
                return r == -ECANCELED ? 1 : r;
        }
        if (streq(cmd, "event") && n == 2) {
                struct vm_event ev;
                if ((r = vm_domain_wait_event(dom, atoi(a[1]), &ev)) == 0)
                        printf("rc=0 event=%s detail=%s\n", vm_event_type_to_string(ev.type), ev.detail);
                return r;
        }
        if (streq(cmd, "state")) {
                enum vm_state s;
                if ((r = vm_domain_get_state(dom, &s)) == 0)
                        printf("rc=0 state=%s\n", vm_state_to_string(s));
                return r;
        }
        if (streq(cmd, "snapshot") && n == 2) {
                if ((r = vm_domain_snapshot_create(dom, a[1], "made by libvirt-drive")) == 0)
                        printf("rc=0 ms=%lld\n", (long long)(now_ms() - t0));
                return r;
        }
        if (streq(cmd, "keep"))
                return vm_domain_keep(dom);
        if (streq(cmd, "resume"))
                return vm_domain_resume(dom);
        if (streq(cmd, "shutdown") && n == 2) {
                if ((r = vm_domain_shutdown(dom, atoi(a[1]))) >= 0)
                        printf("rc=0 forced=%d ms=%lld\n", r, (long long)(now_ms() - t0));
                return r < 0 ? r : 0;
        }
        if (streq(cmd, "destroy")) {
                vm_domain_destroy(dom);
                return 0;
        }
        if (streq(cmd, "endpoint") && n == 2) {
                char host[64];
                uint16_t port = 0;
                if ((r = vm_domain_agent_endpoint(dom, (unsigned)atoi(a[1]), host, sizeof host, &port)) == 0)
                        printf("rc=0 host=%s port=%u\n", host, port);
                return r;
        }
        if (streq(cmd, "keys") && n > 1)
                return vm_domain_send_keys(dom, a + 1, 100);
        if (streq(cmd, "logtail")) {
                _cleanup_free_ char *t = vm_domain_log_tail(dom, 2);
                printf("rc=0 tail=%s\n", strempty(t));
                return 0;
        }
        if (streq(cmd, "media") && n == 3)
                return vm_domain_media_change(dom, (size_t)atoi(a[1]), streq(a[2], "-") ? NULL : a[2]);
        if (streq(cmd, "free")) {
                vm_domain_free(dom);
                dom = NULL;
                return 0;
        }
        return -EINVAL;
}

int main(void) {
        interrupt_install();
        log_set_color(LOG_COLOR_NEVER);
        setvbuf(stdout, NULL, _IOLBF, 0);
        char line[4096];
        while (fgets(line, sizeof line, stdin)) {
                char *a[32];
                size_t n = 0;
                for (char *tok = strtok(line, " \t\n"); tok && n < 31; tok = strtok(NULL, " \t\n"))
                        a[n++] = tok;
                a[n] = NULL;
                if (n == 0)
                        continue;
                if (streq(a[0], "quit"))
                        break;
                fprintf(stderr, "> %s\n", a[0]);
                int r = run(a, n);
                if (r < 0 || streq(a[0], "voldelete") || streq(a[0], "remove") || streq(a[0], "keep") ||
                    streq(a[0], "destroy") || streq(a[0], "free") || streq(a[0], "close") || streq(a[0], "keys") ||
                    streq(a[0], "resume") || streq(a[0], "media") || streq(a[0], "upload-interrupt") ||
                    streq(a[0], "start-memory"))
                        printf("rc=%d\n", r);
        }
        vm_domain_free(dom);
        vm_conn_close(conn);
        free(uri_kept);
        free(pool_kept);
        return 0;
}
