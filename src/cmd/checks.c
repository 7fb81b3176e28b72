/* Syntax checks shared by the commands' option and positional-argument tables. */
#include "cmd/checks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/unattend.h"
#include "guest/winedition.h"
#include "pipeline/session.h"

int check_image_new(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return vcheck_image_name(value);
}

int check_image_existing(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return vcheck_existing_name(value, "image name");
}

int check_vm_existing(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return vcheck_existing_name(value, "VM name");
}

int check_existing(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return vcheck_existing_name(value, "name");
}

int check_ifname(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return vcheck_ifname(value);
}

int check_hostname(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return vcheck_hostname(value);
}

int check_machine_tag(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return vcheck_machine_tag(value);
}

int check_windows_hostname(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return vcheck_windows_hostname(value);
}

int check_windows_user(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return win_user_name_check(value);
}

int check_windows_locale(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return win_locale_check(value);
}

int check_windows_keyboard(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return win_keyboard_check(value) < 0 ? -EINVAL : 0;
}

int check_windows_timezone(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        return win_timezone_check(value);
}

int check_product_key(const struct args *a, const char *value, const char *what) {
        (void)a;
        if (win_key_syntax_ok(value))
                return 0;
        log_error("%s %s is not a product key: five groups of five letters or digits, "
                  "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX", what, value);
        return -EINVAL;
}

int check_ipv4(const struct args *a, const char *value, const char *what) {
        (void)a;
        return vcheck_ipv4(value, what, NULL);
}

int check_network(const struct args *a, const char *value, const char *what) {
        (void)a;
        struct ipv4_net n;
        if (vcheck_cidr(value, what, &n) < 0)
                return -EINVAL;
        if (n.prefix > 30) {
                log_error("invalid network '%s' for %s: a /%u leaves no room for a guest and a gateway; use a prefix "
                          "of /30 or shorter", value, what, n.prefix);
                return -EINVAL;
        }
        return 0;
}

int check_mac(const struct args *a, const char *value, const char *what) {
        (void)a;
        return vcheck_mac(value, what, NULL);
}

int check_disk_size(const struct args *a, const char *value, const char *what) {
        (void)a;
        uint64_t bytes;
        if (parse_size(value, 1ull << 30, &bytes) == 0 && bytes < (64ull << 20)) {
                log_error("%s %s is too small for a guest (at least 64M)", what, value);
                return -EINVAL;
        }
        return 0;
}

int check_path(const struct args *a, const char *value, const char *what) {
        (void)a;
        if (isempty(value)) {
                log_error("%s needs a path, not an empty string", what);
                return -EINVAL;
        }
        return 0;
}

int check_serial(const struct args *a, const char *value, const char *what) {
        (void)a, (void)what;
        /* The grammar is the session's own (what starts the VM reads it the same way). */
        struct vm_options o = { .serial = value };
        return vm_options_check(&o) < 0 ? -EINVAL : 0;
}

/* The tag of TAG=DIR (a new string), or NULL when there is no '=' to end it. */
static char *share_tag(const char *spec) {
        const char *eq = strchr(spec, '=');
        return eq ? strndup(spec, (size_t)(eq - spec)) : NULL;
}

int check_share(const struct args *a, const char *value, const char *what) {
        (void)what;
        _cleanup_free_ char *tag = share_tag(value);
        if (!tag && strchr(value, '='))
                return log_oom();
        /* Without '=' or with an empty tag the grammar's own message says what to write. */
        if (tag && *tag && vcheck_share_tag(tag) < 0)
                return -EINVAL;
        /* QEMU refuses a second -virtfs with the same tag (the tag is its -fsdev id). */
        for (int e = 0; tag && *tag && e < a->nevents && a->events[e].value != value; e++) {
                const struct arg_event *ev = &a->events[e];
                if (ev->opt < 0 || !streq(a->spec->opts[ev->opt].name, "share"))
                        continue;
                _cleanup_free_ char *other = share_tag(ev->value);
                if (other && streq(other, tag)) {
                        log_error("--share %s: the tag '%s' is already used by --share %s; give each share its own "
                                  "tag", value, tag, ev->value);
                        return -EINVAL;
                }
        }
        char *one[] = { (char *)value, NULL };
        struct vm_options o = { .shares = one };
        return vm_options_check(&o) < 0 ? -EINVAL : 0;
}
