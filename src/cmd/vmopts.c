/* The enum option types of the shared VM knobs, and the one-OS-flag rule. */
#include "cmd/vmopts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"
#include "core/validate.h"
#include "cloak/hardware.h"
#include "guest/profile.h"
#include "pipeline/imagehw.h"
#include "pipeline/init.h"

OPT_ENUM_DEFINE(opt_accel, enum vm_accel, vm_accel_from_string, "auto, kvm or tcg");
OPT_ENUM_DEFINE(opt_compress, enum vm_compress, vm_compress_from_string, "lz4, gzip, zstd or none");
OPT_ENUM_DEFINE(opt_netmode, enum image_netmode, image_netmode_from_string, "bridge or user");

static const char *const os_flags[] = { "win7x64", "win81x64", "win10x64", "win11x64", "linux" };

int vm_os_flag(const struct args *a, const char **ret) {
        const char *os = NULL;
        for (size_t i = 0; i < ELEMENTSOF(os_flags); i++)
                if (args_flag(a, os_flags[i])) {
                        if (os) {
                                log_error("--%s and --%s both given: pick one guest OS", os, os_flags[i]);
                                return -EINVAL;
                        }
                        os = os_flags[i];
                }
        if (!os) {
                log_error("please provide one of --win7x64, --win81x64, --win10x64, --win11x64 or --linux");
                return -EINVAL;
        }
        *ret = os;
        return 0;
}

int vm_os_profile(const struct args *a, const char *cmd, const struct os_profile **ret) {
        const char *os;
        if (vm_os_flag(a, &os) < 0)
                return -EINVAL;
        *ret = os_profile_find(os);
        if (!*ret) {
                log_error("internal error: %s --%s has no OS profile", cmd, os);
                return -ENOENT;
        }
        return 0;
}

int vm_os_options_check(const struct args *a, const struct os_profile *prof, bool no_tpm) {
        if (no_tpm && !prof->tpm) {
                log_error("--no-tpm is for --win11x64; --%s installs without a TPM anyway", prof->name);
                return -EINVAL;
        }
        if (streq(prof->os_name, "windows")) {
                const char *h = args_get(a, "hostname");
                return h && vcheck_windows_hostname(h) < 0 ? -EINVAL : 0;
        }
        static const char *const winonly[] = { "iso-mount", "serial-key", "product", "username", "password",
                                               "locale", "kblayout", "timezone", "python-version" };
        for (size_t i = 0; i < ELEMENTSOF(winonly); i++)
                if (args_get(a, winonly[i])) {
                        log_error("--%s is for the Windows guests; --%s does not use it", winonly[i], prof->name);
                        return -EINVAL;
                }
        return 0;
}

int vm_os_minimums(const struct args *a, const struct os_profile *prof, bool no_tpm, unsigned *cpus, unsigned ram_mb,
                   uint64_t disk_bytes) {
        if (prof->min_disk_gib && disk_bytes < ((uint64_t)prof->min_disk_gib << 30)) {
                log_error("--hddsize: %s needs a disk of at least %u GiB (its Setup refuses a smaller one)", prof->name,
                          prof->min_disk_gib);
                return -EINVAL;
        }
        if (no_tpm)
                return 0;
        if (prof->min_ram_mb && ram_mb < prof->min_ram_mb) {
                log_error("--ramsize: %s needs at least %u MiB of RAM (its Setup refuses less)%s", prof->name,
                          prof->min_ram_mb, prof->tpm ? "; --no-tpm bypasses Setup's RAM and CPU checks" : "");
                return -EINVAL;
        }
        if (prof->min_cpus && *cpus < prof->min_cpus) {
                if (args_get(a, "cpus")) {
                        log_error("--cpus: %s needs at least %u CPUs (its Setup refuses fewer)%s", prof->name,
                                  prof->min_cpus, prof->tpm ? "; --no-tpm bypasses Setup's RAM and CPU checks" : "");
                        return -EINVAL;
                }
                *cpus = prof->min_cpus;
        }
        return 0;
}

/* The catalog a picked profile lives in: the command's run uses it until the process ends. */
static struct hw_catalog hardware_catalog;

static unsigned max_u(unsigned a, unsigned b) { return a > b ? a : b; }

int vm_hardware_pick(const struct args *a, const char *name, struct init_request *req) {
        if (!name)
                return 0;
        /* The home's hardware.d is read before the home is set up (a usage error must not
         * create it): resolving its path creates nothing. */
        int r = paths_init(global.home);
        if (r == 0)
                r = hardware_catalog_load(&hardware_catalog);
        if (r < 0)
                return r;
        const struct hw_profile *p = hw_catalog_pick(&hardware_catalog, name);
        if (!p)
                return -EINVAL;
        req->hardware = p;
        const struct os_profile *os = req->profile;
        if (!streq(os->os_name, "windows"))
                return 0;
        if (!args_get(a, "cpus"))
                req->cpus = max_u(p->cpus, os->min_cpus);
        if (!args_get(a, "ramsize"))
                req->ram_mb = max_u(p->ram_mb, os->min_ram_mb);
        uint64_t disk = (uint64_t)p->disk_gb * 1000000000u, min = (uint64_t)os->min_disk_gib << 30;
        if (!args_get(a, "hddsize"))
                req->disk_bytes = disk > min ? disk : min;
        return 0;
}

void vm_debug_vnc(struct vm_options *v, unsigned n_vms) {
        if (!global.debug || v->vnc)
                return;
        v->vnc = true;
        const char *addr = v->vnc_listen ? v->vnc_listen : "127.0.0.1";
        if (n_vms > 1)
                log_info("--debug turns VNC on, as VMCloak's does: connect a VNC viewer to %s:%u..%u (displays %u..%u, "
                         "one per VM)", addr, 5900 + v->vnc_display, 5900 + v->vnc_display + n_vms - 1, v->vnc_display,
                         v->vnc_display + n_vms - 1);
        else
                log_info("--debug turns VNC on, as VMCloak's does: connect a VNC viewer to %s:%u (display %u)", addr,
                         5900 + v->vnc_display, v->vnc_display);
        /* QEMU's VNC here has no password (qemu/argv.c: -vnc ADDR:N), and the guest logs in
         * as its administrator on its own. */
        struct in_addr in;
        if (inet_pton(AF_INET, addr, &in) != 1 || (ntohl(in.s_addr) >> 24) != 127)
                log_warning("--vnc-listen %s is no loopback address: anyone who can reach it sees the VM's VNC "
                            "display, which has no password and shows an administrator session", addr);
}
