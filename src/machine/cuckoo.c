/* Cuckoo3's start_args import rules. */
#include "machine/cuckoo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

/* Cuckoo3 tests the arguments joined with spaces. No string it looks for holds a space, so
 * one is found in the joined string exactly when one argument holds it: no need to join. */
static bool any_holds(char *const *args, const char *s) {
        STRV_FOREACH(a, args)
                if (strstr(*a, s))
                        return true;
        return false;
}

int cuckoo_start_args_check(char *const *args, const char **ret_reason) {
        static const char *const forbidden[] = { "-incoming", "-monitor", "-qmp-pretty", "-qmp",
                                                 "-loadvm", "-no-shutdown", "-snapshot" };
        const char *why = NULL;
        if (!args || !args[0])
                why = "the list is empty";
        else if (strstr(args[0], "qemu-system"))
                why = "the first element names the QEMU binary (start_args hold arguments only)";
        else if (!any_holds(args, VM_DISK_PLACEHOLDER))
                why = "no argument holds " VM_DISK_PLACEHOLDER;
        else
                for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                        if (any_holds(args, forbidden[i])) {
                                why = forbidden[i];
                                break;
                        }
        if (why && why[0] == '-') {
                static _Thread_local char buf[96];
                snprintf(buf, sizeof buf, "'%s' appears in the arguments (Cuckoo3 forbids it anywhere, even in a path)",
                         why);
                why = buf;
        }
        if (ret_reason)
                *ret_reason = why;
        return why ? -EINVAL : 0;
}

/* ---- vmcloak's own start_args (what src/qemu/argv.c renders for QEMU_ARGV_START_ARGS) ---- */

/* One "key=value" or implied value of a QEMU option string, ",," unescaped into buf. */
struct subopt {
        char key[32];
        char val[4096];
        bool implied;        /* no "key=": the option's implied (first) value */
};

/* The next suboption of *p (advanced past it and its comma); false at the end or when a key
 * or value does not fit (the caller refuses that). */
static bool next_subopt(const char **p, struct subopt *o, bool *too_long) {
        if (!**p)
                return false;
        char raw[sizeof o->key + sizeof o->val];
        size_t n = 0;
        const char *s = *p;
        for (; *s; s++) {
                if (*s == ',' && s[1] == ',') {
                        s++;
                } else if (*s == ',')
                        break;
                if (n + 1 >= sizeof raw) {
                        *too_long = true;
                        return false;
                }
                raw[n++] = *s;
        }
        raw[n] = 0;
        *p = *s ? s + 1 : s;
        const char *eq = strchr(raw, '=');
        o->implied = !eq;
        size_t kl = eq ? (size_t)(eq - raw) : 0;
        if (kl >= sizeof o->key || strlen(eq ? eq + 1 : raw) >= sizeof o->val) {
                *too_long = true;
                return false;
        }
        memcpy(o->key, raw, kl);
        o->key[kl] = 0;
        strcpy(o->val, eq ? eq + 1 : raw);
        return true;
}

static bool in_list(const char *s, const char *const *list) {
        for (; *list; list++)
                if (streq(s, *list))
                        return true;
        return false;
}

/* An absolute path without "." or ".." parts, under dir (or dir itself: never allowed). */
static bool path_under(const char *path, const char *dir) {
        size_t l = strlen(dir);
        while (l > 0 && dir[l - 1] == '/')
                l--;
        if (path[0] != '/' || strncmp(path, dir, l) != 0 || path[l] != '/' || !path[l + 1])
                return false;
        for (const char *c = path; (c = strchr(c, '/')); c++)
                if (startswith(c, "/./") || startswith(c, "/../") || streq(c, "/.") || streq(c, "/..") ||
                    startswith(c, "//"))
                        return false;
        return true;
}

static bool file_ok(const char *path, const char *vmdir) {
        return streq(path, VM_DISK_PLACEHOLDER) || path_under(path, vmdir);
}

/* The swtpm socket of the run that wrote start_args: <tmp>/vmcloak-vm.XXXXXX/tpm.sock
 * (src/qemu/driver.c); restore replaces it, Cuckoo3 does not use TPM machines. */
static bool tpm_socket_ok(const char *path, const char *vmdir) {
        if (path_under(path, vmdir))
                return true;
        const char *slash = strrchr(path, '/');
        if (!slash || !streq(slash, "/tpm.sock") || !path_under(path, "/"))
                return false;
        const char *d = slash;
        while (d > path && d[-1] != '/')
                d--;
        return strncmp(d, "vmcloak-vm.", strlen("vmcloak-vm.")) == 0;
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The QEMU options argv.c renders for start_args, each with its suboption keys; the values'
 * rules are in value_why. An implied value is allowed only where implied lists it ("*": any). */
static const struct start_opt {
        const char *name;
        bool has_value;
        const char *const *keys;      /* allowed "key=" names */
        const char *const *implied;   /* allowed implied values; NULL: none */
} start_opts[] = {
        { "-nodefaults", false, NULL, NULL },
        { "-enable-kvm", false, NULL, NULL },
        { "--enable-kvm", false, NULL, NULL },
        { "-no-reboot", false, NULL, NULL },
        { "-accel", true, L("accel"), L("tcg", "kvm") },
        { "-M", true, L("smm", "vmport", "x-oem-id", "x-oem-table-id", "accel"), L("*") },
        { "-vga", true, NULL, L("std", "none", "cirrus", "vmware", "qxl", "virtio") },
        { "-smp", true, L("cpus", "sockets", "cores", "threads"), L("*") },
        { "-m", true, L("size"), L("*") },
        { "-overcommit", true, L("mem-lock"), NULL },
        { "-realtime", true, L("mlock"), NULL },
        { "-rtc", true, L("base", "driftfix"), NULL },
        { "-display", true, NULL, L("none", "gtk") },
        { "-cpu", true, NULL, NULL },   /* a model and CPUID flags: no files; any text */
        { "-smbios", true,
          L("type", "file", "vendor", "version", "date", "release", "manufacturer", "product", "serial", "uuid", "sku",
            "family", "asset", "location", "loc_pfx", "sock_pfx", "max-speed", "current-speed", "part", "speed", "bank",
            "value"),
          NULL },
        { "-device", true,
          L("netdev", "mac", "subsys_ven", "subsys", "bus", "addr", "id", "unit", "drive", "bootindex", "model",
            "serial", "ver", "wwn", "rotation_rate", "tpmdev", "audiodev", "vgamem_mb"),
          L("e1000e", "e1000", "rtl8139", "virtio-net-pci", "vmxnet3", "pcnet", "ne2k_pci", "i82550", "i82551",
            "i82557a", "i82557b", "i82557c", "i82558a", "i82558b", "i82559a", "i82559b", "i82559c", "i82559er",
            "i82562", "i82801", "ich9-ahci", "ide-hd", "ide-drive", "ide-cd", "ich9-usb-ehci1", "usb-ehci",
            "usb-tablet", "intel-hda", "hda-duplex", "tpm-tis", "tpm-crb", "VGA") },
        { "-drive", true, L("file", "format", "if", "id", "unit", "readonly"), NULL },
        { "-netdev", true, L("type", "br", "helper", "id", "net", "host", "dns", "dhcpstart", "restrict", "hostfwd"),
          L("user", "bridge") },
        { "-chardev", true, L("id", "path"), L("socket") },
        { "-tpmdev", true, L("id", "chardev"), L("emulator") },
        { "-audiodev", true, L("id"), L("none") },
        { "-global", true, L("driver", "property", "value"), NULL },
        { "-serial", true, NULL, NULL },   /* its own syntax: value_why */
};

/* Why one option's value is refused (NULL: fine). buf holds a built reason. */
static const char *value_why(const struct start_opt *o, const char *v, const char *vmdir, char *buf, size_t size) {
        if (streq(o->name, "-serial")) {
                const char *p;
                if (streq(v, "null") || streq(v, "pty"))
                        return NULL;
                if ((p = startswith(v, "file:")) && path_under(p, vmdir))
                        return NULL;
                if ((p = startswith(v, "unix:"))) {
                        const char *c = strchr(p, ',');
                        size_t l = c ? (size_t)(c - p) : strlen(p);
                        char path[4096];
                        if (l < sizeof path && (!c || streq(c, ",server=on,wait=off"))) {
                                memcpy(path, p, l);
                                path[l] = 0;
                                if (path_under(path, vmdir))
                                        return NULL;
                        }
                }
                return "vmcloak renders only null, pty, or a file: or unix: path in the VM's folder";
        }
        if (!o->keys && !o->implied)
                return NULL;
        struct subopt s;
        bool too_long = false, first = true;
        char format[16] = "", iface[16] = "", unit[8] = "", readonly[8] = "", file[4096] = "", path[4096] = "";
        for (const char *p = v; next_subopt(&p, &s, &too_long); first = false) {
                if (s.implied) {
                        if (!first || !o->implied || (!in_list("*", o->implied) && !in_list(s.val, o->implied))) {
                                snprintf(buf, size, "'%.200s' is not a value vmcloak renders there", s.val);
                                return buf;
                        }
                        continue;
                }
                if (!o->keys || !in_list(s.key, o->keys)) {
                        snprintf(buf, size, "vmcloak never renders its suboption '%s='", s.key);
                        return buf;
                }
                if ((streq(o->name, "-netdev") && streq(s.key, "type") && !in_list(s.val, L("user", "bridge"))) ||
                    /* The system's setuid helper that net_helper_find (src/net/helper.c) picks. */
                    (streq(o->name, "-netdev") && streq(s.key, "helper") &&
                     !in_list(s.val, L("/usr/lib/qemu/qemu-bridge-helper", "/usr/libexec/qemu-bridge-helper",
                                       "/usr/local/libexec/qemu-bridge-helper"))) ||
                    (streq(o->name, "-accel") && !in_list(s.val, L("tcg", "kvm"))) ||
                    (streq(o->name, "-M") && streq(s.key, "accel") && !in_list(s.val, L("tcg", "kvm")))) {
                        snprintf(buf, size, "'%s=%.200s' is not a value vmcloak renders there", s.key, s.val);
                        return buf;
                }
                if (streq(o->name, "-smbios") && streq(s.key, "file") && !file_ok(s.val, vmdir)) {
                        snprintf(buf, size, "the file %.150s is outside the VM's folder %.150s", s.val, vmdir);
                        return buf;
                }
                if (streq(o->name, "-global") &&
                    !in_list(s.val, streq(s.key, "driver") ? L("cfi.pflash01") : streq(s.key, "property") ? L("secure") : L("on"))) {
                        snprintf(buf, size, "vmcloak renders only driver=cfi.pflash01,property=secure,value=on");
                        return buf;
                }
                char *dst = streq(s.key, "format") ? format : streq(s.key, "if") ? iface : streq(s.key, "unit") ? unit :
                            streq(s.key, "readonly") ? readonly : streq(s.key, "file") ? file :
                            streq(s.key, "path") ? path : NULL;
                size_t dsize = dst == file || dst == path ? sizeof file : dst == unit || dst == readonly ? 8 : 16;
                if (dst && strlen(s.val) < dsize)
                        strcpy(dst, s.val);
        }
        if (too_long)
                return "a suboption is longer than any vmcloak renders";
        if (streq(o->name, "-drive")) {
                if (!in_list(format, L("qcow2", "raw", "")) || !in_list(iface, L("none", "pflash")))
                        return "vmcloak renders only format=qcow2/raw with if=none/pflash";
                bool uefi_code = streq(iface, "pflash") && streq(unit, "0") && streq(readonly, "on") &&
                                 path_under(file, "/usr/share");
                if (*file && !uefi_code && !file_ok(file, vmdir)) {
                        snprintf(buf, size, "the file %.120s is neither the disposable disk nor in the VM's folder %.120s "
                                 "(nor read-only UEFI code under /usr/share)", file, vmdir);
                        return buf;
                }
        }
        if (streq(o->name, "-chardev") && (!strstr(v, "id=chrtpm") || !tpm_socket_ok(path, vmdir)))
                return "vmcloak renders only the swtpm socket chrtpm (<tmp>/vmcloak-vm.XXXXXX/tpm.sock or in the VM's folder)";
        return NULL;
}

int cuckoo_start_args_allowed(char *const *args, const char *vmdir, const char **ret_reason) {
        static _Thread_local char buf[512];
        char why[384];
        const char *w = NULL;
        int r = cuckoo_start_args_check(args, &w);
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = w;
                return r;
        }
        for (size_t i = 0; args[i] && !w; i++) {
                const struct start_opt *o = NULL;
                for (size_t k = 0; k < ELEMENTSOF(start_opts) && !o; k++)
                        if (streq(args[i], start_opts[k].name))
                                o = &start_opts[k];
                if (!o) {
                        snprintf(buf, sizeof buf, "'%.200s': vmcloak never renders this in start_args", args[i]);
                        w = buf;
                } else if (o->has_value && !args[i + 1]) {
                        snprintf(buf, sizeof buf, "'%.200s' lacks its value", args[i]);
                        w = buf;
                } else if (o->has_value) {
                        const char *vw = value_why(o, args[i + 1], vmdir, why, sizeof why);
                        if (vw) {
                                snprintf(buf, sizeof buf, "'%s %.100s': %s", args[i], args[i + 1], vw);
                                w = buf;
                        }
                        i++;
                }
        }
        if (ret_reason)
                *ret_reason = w;
        return w ? -EINVAL : 0;
}
