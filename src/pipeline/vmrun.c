/* One VM of the pipeline: configuration from an image, start, agent, power-off. */
#include "pipeline/vmrun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "net/helper.h"
#include "pipeline/netcfg.h"
#include "qemu/vm.h"

static struct host_env the_env;
static bool env_ready;
static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;

static void host_env_free(void) { qemu_binary_done(&the_env.qemu); }

int host_env_get(enum vm_accel requested, const struct host_env **ret) {
        pthread_mutex_lock(&env_lock);
        int r = 0;
        if (!env_ready) {
                r = qemu_binary_probe(&the_env.qemu);
                if (r == 0)
                        r = qemu_accel_resolve(requested, the_env.qemu.path, &the_env.qemu.version, &the_env.accel);
                if (r == 0) {
                        env_ready = true;
                        atexit(host_env_free);
                } else
                        qemu_binary_done(&the_env.qemu);
        }
        pthread_mutex_unlock(&env_lock);
        if (r < 0)
                return r;
        *ret = &the_env;
        return 0;
}

int free_local_port(uint16_t *ret) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &l) < 0)
                return -errno;
        *ret = ntohs(a.sin_port);
        return 0;
}

int logdir_prepare(const char *dir) {
        int r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create the log folder %s: %m", dir);
        static const char *const logs[] = { "qemu.log", "serial.log" };
        for (size_t i = 0; i < ELEMENTSOF(logs); i++) {
                _cleanup_free_ char *p = path_join(dir, logs[i]);
                if (p)
                        unlink_if_exists(p);
        }
        return 0;
}

static int apply_serial(struct vm_config *c, const char *spec, const char *logdir) {
        const char *rest;
        if (!spec || streq(spec, "file")) {
                c->serial = VM_SERIAL_FILE;
                c->serial_path = path_join(logdir, "serial.log");
        } else if ((rest = startswith(spec, "file:")) && *rest) {
                c->serial = VM_SERIAL_FILE;
                c->serial_path = strdup(rest);
        } else if (streq(spec, "pty")) {
                c->serial = VM_SERIAL_PTY;
                return 0;
        } else if ((rest = startswith(spec, "unix:")) && *rest) {
                c->serial = VM_SERIAL_UNIX;
                c->serial_path = strdup(rest);
        } else if (streq(spec, "none")) {
                c->serial = VM_SERIAL_NONE;
                return 0;
        } else {
                log_error("invalid --serial '%s': use file, file:PATH, pty, unix:PATH or none", spec);
                return -EINVAL;
        }
        return c->serial_path ? 0 : -ENOMEM;
}

static int apply_shares(struct vm_config *c, char *const *shares) {
        STRV_FOREACH(s, shares) {
                const char *eq = strchr(*s, '=');
                if (!eq || eq == *s || !eq[1]) {
                        log_error("invalid --share '%s': use TAG=DIR or TAG=DIR,rw", *s);
                        return -EINVAL;
                }
                _cleanup_free_ char *tag = strndup(*s, (size_t)(eq - *s));
                _cleanup_free_ char *dir = strdup(eq + 1);
                if (!tag || !dir)
                        return -ENOMEM;
                bool ro = true;
                if (endswith(dir, ",rw")) {
                        dir[strlen(dir) - 3] = 0;
                        ro = false;
                } else if (endswith(dir, ",ro"))
                        dir[strlen(dir) - 3] = 0;
                if (!is_dir(dir)) {
                        log_error("--share %s: %s is not a directory", *s, dir);
                        return -ENOTDIR;
                }
                int r = vm_config_add_share(c, tag, dir, ro);
                if (r < 0)
                        return r;
        }
        return 0;
}

int guest_prepare(struct guest *g, const char *name, const struct image *img, const struct os_profile *p,
                  const struct vm_options *o, const char *disk_path, const char *logdir) {
        memset(g, 0, sizeof *g);
        vm_config_init(&g->cfg);
        g->profile = p;
        const struct host_env *env;
        int r = host_env_get(o->accel, &env);
        if (r < 0)
                return r;
        struct vm_config *c = &g->cfg;
        g->name = strdup(name);
        g->logdir = strdup(logdir);
        g->qemu_log = path_join(logdir, "qemu.log");
        if (!g->name || !g->logdir || !g->qemu_log)
                return -ENOMEM;
        r = logdir_prepare(logdir);
        if (r < 0)
                return r;
        c->name = strdup(name);
        c->version = env->qemu.version;
        c->accel = env->accel;
        c->cpus = img->cpus > 0 ? (unsigned)img->cpus : 1;
        c->ram_mb = img->ramsize > 0 ? (unsigned)img->ramsize : p->default_ram_mb;
        c->vram_mb = img->vramsize > 0 ? (unsigned)img->vramsize : 16;
        c->disk_path = strdup(disk_path ? disk_path : img->path);
        c->mac = img->mac ? strdup(img->mac) : NULL;
        c->rtc = p->rtc_localtime ? VM_RTC_LOCALTIME : VM_RTC_UTC;
        c->display = o->visible ? VM_DISPLAY_GTK : VM_DISPLAY_NONE;
        c->audio = VM_AUDIO_NONE; /* the guest sees the same HDA device; the host needs no sound system */
        c->vnc = o->vnc;
        c->vnc_display = o->vnc_display;
        if (o->vnc_listen)
                c->vnc_listen = strdup(o->vnc_listen);
        if (!c->name || !c->disk_path)
                return -ENOMEM;
        if ((r = apply_serial(c, o->serial, logdir)) < 0 || (r = apply_shares(c, o->shares)) < 0)
                return r;
        if (o->qemu_args && !(c->extra_args = strv_copy(o->qemu_args)))
                return -ENOMEM;

        g->agent_port = (uint16_t)(img->port > 0 ? img->port : 8000);
        g->user_net = img->netmode && streq(img->netmode, "user");
        if (g->user_net) {
                unsigned prefix = 24;
                uint32_t ip;
                if (!img->ipaddr || parse_ipv4(img->ipaddr, &ip) < 0 || !img->netmask ||
                    netmask_to_prefix(img->netmask, &prefix) < 0) {
                        log_error("image %s has no valid IP address/netmask in the repository", img->name);
                        return -EINVAL;
                }
                struct ipv4_net n = { ip, prefix };
                char net_s[16], dns_s[16];
                format_ipv4(ipv4_network(&n), net_s);
                format_ipv4(ipv4_network(&n) + USERNET_DNS_OFFSET, dns_s);
                uint16_t port;
                if ((r = free_local_port(&port)) < 0)
                        return log_error_errno(r, "cannot find a free TCP port on 127.0.0.1: %m");
                c->net_mode = VM_NET_USER;
                c->user_net = strdup_printf("%s/%u", net_s, prefix);
                c->user_host = img->gateway ? strdup(img->gateway) : NULL;
                c->user_dns = strdup(dns_s);
                c->guest_ip = strdup(img->ipaddr);
                c->agent_port = g->agent_port;
                c->host_fwd_port = port;
                c->user_restrict = true;
                g->agent_host = strdup("127.0.0.1");
                g->agent_port = port;
                if (!c->user_net || !c->user_dns || !c->guest_ip)
                        return -ENOMEM;
        } else {
                c->net_mode = VM_NET_BRIDGE;
                c->bridge = img->adapter ? strdup(img->adapter) : NULL;
                /* Run the helper the bridge checks looked at. */
                char *helper = NULL;
                if (net_helper_find(env->qemu.path, &helper) == 0)
                        c->bridge_helper = helper;
                g->agent_host = img->ipaddr ? strdup(img->ipaddr) : NULL;
        }
        if (!g->agent_host)
                return -ENOMEM;
        g->rt.binary = strdup(env->qemu.path);
        return g->rt.binary ? 0 : -ENOMEM;
}

int guest_start(struct guest *g) {
        struct vm_start_opts so = { .log_path = g->qemu_log };
        g->started_ms = now_ms();
        int r = vm_start(&g->cfg, &g->rt, &so, &g->vm);
        if (r < 0)
                return r;
        log_debug("%s: QEMU started (pid %d), log %s", g->name, (int)vm_pid(g->vm), g->qemu_log);
        agent_client_free(g->agent);
        g->agent = NULL;
        return agent_client_new(g->agent_host, g->agent_port, &g->agent);
}

void guest_log_hint(const struct guest *g) {
        log_error("the VM's QEMU log and serial console are in %s", g->logdir);
}

int guest_wait_agent(struct guest *g, unsigned timeout_s, const char *what) {
        struct progress p;
        progress_begin(&p, what);
        int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
        int r;
        for (;;) {
                if (vm_exited(g->vm)) {
                        progress_end(&p, "failed");
                        _cleanup_free_ char *tail = vm_log_tail(g->vm, 3);
                        log_error("QEMU exited before the guest's agent answered%s%s", tail ? ": " : "",
                                  strempty(tail));
                        guest_log_hint(g);
                        return -ECHILD;
                }
                r = agent_ping(g->agent);
                if (r == 0)
                        break;
                if (interrupted()) {
                        progress_end(&p, "interrupted");
                        return -ECANCELED;
                }
                if (now_ms() >= deadline) {
                        progress_end(&p, "timed out");
                        log_error("the guest's agent did not answer at %s within %u s (--timeout); the guest may "
                                  "have failed to boot or to start its agent",
                                  agent_client_address(g->agent), timeout_s);
                        guest_log_hint(g);
                        return -ETIMEDOUT;
                }
                progress_update(&p, 0, 0, "waiting for the agent");
                sleep_ms(250);
        }
        progress_end(&p, "agent answered");
        return 0;
}

int guest_run(struct guest *g, const char *tmpl, const char *const *keys, const char *const *values, int timeout_ms,
              char **ret_stdout) {
        _cleanup_free_ char *cmd = NULL;
        int r = guest_template_expand(tmpl, keys, values, &cmd);
        if (r < 0)
                return r;
        struct agent_exec_opts o = { .timeout_ms = timeout_ms };
        struct agent_exec_result res = { 0 };
        r = agent_execute(g->agent, cmd, &o, &res);
        if (r == 0 && res.exit_code != 0) {
                log_error("'%s' failed in the guest (exit code %d): %s", cmd, res.exit_code,
                          !isempty(res.err) ? res.err : strempty(res.error));
                r = -EPROTO;
        }
        if (r == 0 && ret_stdout) {
                *ret_stdout = res.out;
                res.out = NULL;
        }
        agent_exec_result_done(&res);
        return r;
}

int guest_poweroff(struct guest *g, unsigned timeout_s) {
        if (!g->vm || vm_exited(g->vm))
                return 0;
        int status = 0, r;
        r = agent_execute_nowait(g->agent, g->profile->cmd.poweroff, true, 10000);
        if (r >= 0) {
                r = vm_wait_exit(g->vm, (int)timeout_s * 1000, &status, NULL);
                if (r == 0)
                        return 0;
                if (r == -ECANCELED)
                        return r;
        }
        log_warning("%s did not power off through its agent within %u s; asking it over ACPI", g->name,
                    timeout_s);
        return vm_stop(g->vm, 30000) == 0 ? -ETIMEDOUT : -EIO;
}

void guest_done(struct guest *g) {
        if (g->vm) {
                vm_free(g->vm);
                g->vm = NULL;
        }
        agent_client_free(g->agent);
        g->agent = NULL;
        vm_config_done(&g->cfg);
        vm_runtime_done(&g->rt);
        free(g->name);
        free(g->logdir);
        free(g->qemu_log);
        free(g->agent_host);
        memset(g, 0, sizeof *g);
}
