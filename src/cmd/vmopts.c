/* Parsing of the VM knobs shared by init, install, modify, snapshot and restore. */
#include "cmd/vmopts.h"

#include <errno.h>
#include <string.h>

#include "cmd/args.h"
#include "core/log.h"
#include "core/validate.h"
#include "pipeline/session.h"

int vm_options_parse(const struct args *a, struct vm_options *o) {
        memset(o, 0, sizeof *o);
        if (args_has(a, "accel")) {
                const char *acc = args_get_or(a, "accel");
                if (vm_accel_from_string(acc, &o->accel) < 0) {
                        log_error("invalid --accel '%s': use auto, kvm or tcg", acc);
                        return -EINVAL;
                }
        }
        if (args_has(a, "vm-visible"))
                o->visible = args_flag(a, "vm-visible");
        if (args_has(a, "vrde")) {
                o->vnc = args_flag(a, "vrde");
                unsigned d;
                if (vcheck_uint(args_get_or(a, "vrde-port"), "--vrde-port", 0, 65535 - 5900, &d) < 0)
                        return -EINVAL;
                o->vnc_display = d;
                o->vnc_listen = args_get_or(a, "vnc-listen");
                uint32_t ip;
                if (vcheck_ipv4(o->vnc_listen, "--vnc-listen", &ip) < 0)
                        return -EINVAL;
        }
        if (args_has(a, "serial"))
                o->serial = args_get(a, "serial");
        if (args_has(a, "share"))
                o->shares = args_list(a, "share");
        if (args_has(a, "qemu-arg"))
                o->qemu_args = args_list(a, "qemu-arg");
        if (args_has(a, "timeout") && args_get(a, "timeout")) {
                unsigned t;
                if (vcheck_uint(args_get(a, "timeout"), "--timeout", 1, 7 * 24 * 3600, &t) < 0)
                        return -EINVAL;
                o->timeout_s = t;
        }
        return 0;
}
