/* vmcloak doctor: check that this host can build and run vmcloak VMs, with the fix for each problem. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libisofs.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <udfread/udfread-version.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/proc.h"
#include "core/repo.h"
#include "core/util.h"
#include "libvirt/hostcheck.h"
#include "net/check.h"
#include "net/internet.h"
#include "pipeline/imagehw.h"
#include "qemu/probe.h"

static const char *arg_bridge, *arg_connect, *arg_pool, *arg_image;

static const struct optdef opts[] = {
        OPT_STRING(0, "bridge", &arg_bridge, "NAME",
                   "Also check bridge mode with this bridge (exists, up, address, helper, ACL); with --connect: "
                   "the bridge the VMs need on that host",
                   .check = check_ifname),
        OPT_STRING(0, "connect", &arg_connect, "URI",
                   "Check this libvirt host instead (snapshot --connect): reachable, versions, domain types, pool, "
                   "networks, bridge, UEFI snapshots"),
        OPT_STRING(0, "pool", &arg_pool, "NAME", "--connect: the storage pool VMs go to", .def = "vmcloak"),
        OPT_STRING(0, "image", &arg_image, "NAME",
                   "--connect: check for this image: its bridge (unless --bridge), its size against the pool's free "
                   "space, its firmware against the host's libvirt", .check = check_image_existing),
        { NULL },
};

static const struct cmd_spec spec = {
        "doctor", "[--bridge NAME] | --connect URI [--pool NAME] [--image NAME | --bridge NAME]",
        "Check QEMU, KVM, disks, agent binaries and (with --bridge) networking, or a libvirt host.",
        "Prints one line per check with the fix for each problem, and exits 0 only when everything the\n"
        "chosen mode needs passes: user networking needs no bridge; --bridge NAME adds the bridge checks.\n"
        "--connect URI checks the libvirt host that snapshot --connect URI would use instead of this one.\n"
        "Warnings (e.g. no KVM: QEMU then runs under TCG, slowly) do not fail. --json prints the same as JSON.",
        opts, 0, 0,
};

static int check_args(const struct args *a) {
        (void)a;
        if (!arg_connect && (arg_pool || arg_image)) {
                log_error("--pool and --image are --connect options");
                return -EINVAL;
        }
        return 0;
}

#define DISK_FAIL_BYTES (2ULL << 30)
#define DISK_WARN_BYTES (25ULL << 30)

/* Doctor's checklist uses the bridge checks' record (src/net/check.h) for every line. */
#define MAX_CHECKS 32
static struct net_check checks[MAX_CHECKS];
static size_t nchecks;

static struct net_check *check_new(const char *id, const char *title) {
        if (nchecks >= MAX_CHECKS)
                abort(); /* a fixed list in this file, not input */
        struct net_check *c = &checks[nchecks++];
        memset(c, 0, sizeof *c);
        c->id = id;
        snprintf(c->title, sizeof c->title, "%s", title);
        return c;
}

/* ---- QEMU and KVM probes (src/qemu/probe.h) ---- */

struct qemu_probe {
        char *path;            /* qemu-system-x86_64, or NULL when not found */
        int major, minor, micro; /* -1 when the version could not be read */
        char *error;           /* why the version could not be read */
};

static void qemu_probe_done(struct qemu_probe *q) {
        free(q->path);
        free(q->error);
}

static void doctor_probe_qemu(struct qemu_probe *q) {
        *q = (struct qemu_probe){ .major = -1, .minor = -1, .micro = -1 };
        if (qemu_find_binary(&q->path) < 0)
                return;
        struct qemu_version v;
        int r = qemu_probe_version(q->path, &v, NULL);
        if (r < 0) {
                errno = -r;
                q->error = strdup_printf("cannot read its version: %m");
                return;
        }
        q->major = (int)v.major;
        q->minor = (int)v.minor;
        q->micro = (int)v.micro;
}

struct kvm_probe {
        bool usable;
        char detail[512];
        char fix[256];
};

/* The real probe: a test guest that needs protected mode and paging, run under KVM with a
 * deadline (a /dev/kvm that opens is no proof: nested KVM often hangs). */
static void doctor_probe_kvm(const struct qemu_probe *q, struct kvm_probe *k) {
        memset(k, 0, sizeof *k);
        if (!q->path || q->major < 0) {
                snprintf(k->detail, sizeof k->detail, "not checked: no usable QEMU");
                return;
        }
        struct qemu_version v = { (unsigned)q->major, (unsigned)q->minor, (unsigned)q->micro };
        struct kvm_status st;
        if (qemu_kvm_probe(q->path, &v, 0, &st) < 0 && !st.present) {
                snprintf(k->detail, sizeof k->detail, "cannot probe KVM");
                return;
        }
        k->usable = st.usable;
        if (!st.present) {
                snprintf(k->detail, sizeof k->detail, "no /dev/kvm: VMs will run under TCG, many times slower");
                snprintf(k->fix, sizeof k->fix, "enable VT-x/AMD-V in the firmware and load the module "
                         "(sudo modprobe kvm_intel, or kvm_amd)");
        } else if (!st.openable) {
                snprintf(k->detail, sizeof k->detail, "/dev/kvm is not accessible to you: VMs will run under TCG");
                snprintf(k->fix, sizeof k->fix, "sudo usermod -aG kvm $USER, then log in again");
        } else if (!st.usable) {
                snprintf(k->detail, sizeof k->detail, "/dev/kvm opens but %s; VMs will run under TCG, many times "
                         "slower%s", st.reason, st.cached ? " (cached answer)" : "");
                snprintf(k->fix, sizeof k->fix, "on a nested setup, enable nested virtualization on the outer "
                         "host, or run vmcloak on bare metal");
        } else
                snprintf(k->detail, sizeof k->detail, "a test guest ran under KVM in %ld ms%s", st.probe_ms,
                         st.cached ? " (cached answer)" : "");
}

/* ---- the checks ---- */

static const char *install_hint(const char *debian_pkg) {
        static char buf[128];
        snprintf(buf, sizeof buf, "sudo apt-get install %s", debian_pkg);
        return buf;
}

static void check_qemu(const struct qemu_probe *q) {
        char title[64];
        snprintf(title, sizeof title, "QEMU %d.%d or later", QEMU_MIN_MAJOR, QEMU_MIN_MINOR);
        struct net_check *c = check_new("qemu", title);
        if (!q->path)
                net_check_set(c, NET_CHECK_FAIL, install_hint("qemu-system-x86"),
                              "qemu-system-x86_64 is not in PATH (or give one with --qemu-binary PATH)");
        else if (q->major < 0)
                net_check_set(c, NET_CHECK_FAIL, "", "%s: %s", q->path, strempty(q->error));
        else if (q->major < QEMU_MIN_MAJOR || (q->major == QEMU_MIN_MAJOR && q->minor < QEMU_MIN_MINOR))
                net_check_set(c, NET_CHECK_FAIL, "upgrade QEMU", "%s is version %d.%d.%d", q->path, q->major, q->minor, q->micro);
        else
                net_check_set(c, NET_CHECK_OK, "", "%d.%d.%d (%s)", q->major, q->minor, q->micro, q->path);
}

static void check_program(const char *id, const char *title, const char *prog, const char *pkg, enum net_check_status missing) {
        struct net_check *c = check_new(id, title);
        _cleanup_free_ char *p = find_program(prog);
        if (p)
                net_check_set(c, NET_CHECK_OK, "", "%s", p);
        else
                net_check_set(c, missing, install_hint(pkg), "%s is not in PATH", prog);
}

/* The accelerators this QEMU was built with: a build without TCG and KVM cannot run a VM. */
static void check_accels(const struct qemu_probe *q) {
        struct net_check *c = check_new("qemu-accel", "QEMU accelerators (kvm, tcg)");
        if (!q->path || q->major < 0) {
                net_check_set(c, NET_CHECK_SKIP, "", "not checked: no usable QEMU");
                return;
        }
        _cleanup_strv_free_ char **a = NULL;
        int r = qemu_binary_accels(q->path, &a);
        if (r < 0) {
                net_check_set(c, NET_CHECK_FAIL, "check that it runs: QEMU -accel help", "%s -accel help failed", q->path);
                return;
        }
        _cleanup_free_ char *list = strv_join(a, ", ");
        if (!strv_contains(a, "kvm") && !strv_contains(a, "tcg"))
                net_check_set(c, NET_CHECK_FAIL, "use a qemu-system-x86_64 built with KVM or TCG",
                              "%s has neither kvm nor tcg (it lists: %s)", q->path, isempty(list) ? "nothing" : list);
        else
                net_check_set(c, NET_CHECK_OK, "", "%s", strempty(list));
}

/* Whether the QEMU file still holds the strings a guest reads back (docs/cloaking.md): a stock
 * build is no failure, but what it leaves visible is worth knowing. */
static void check_patched(const struct qemu_probe *q) {
        struct net_check *c = check_new("qemu-patched", "QEMU build hides its own strings");
        if (!q->path) {
                net_check_set(c, NET_CHECK_SKIP, "", "not checked: no QEMU");
                return;
        }
        const char *present[QEMU_TELLS_CHECKED];
        int n = qemu_binary_tells(q->path, present);
        if (n == -ENOEXEC) {
                net_check_set(c, NET_CHECK_WARN, "give the QEMU binary the script runs with --qemu-binary PATH to have it checked",
                              "%s is a script: the strings of the QEMU it runs cannot be checked", q->path);
                return;
        }
        if (n < 0) {
                errno = -n;
                net_check_set(c, NET_CHECK_WARN, "", "cannot read %s: %m", q->path);
                return;
        }
        _cleanup_free_ char *all = strv_join((char *const *)qemu_tell_strings, ", ");
        if (n == 0) {
                net_check_set(c, NET_CHECK_OK, "", "patched: none of %s present in %s", strempty(all), q->path);
                return;
        }
        char found[256] = "";
        for (int i = 0; i < n; i++)
                snprintf(found + strlen(found), sizeof found - strlen(found), "%s%s", i ? ", " : "", present[i]);
        net_check_set(c, NET_CHECK_WARN, "build a patched QEMU (as CAPE's kvm-qemu.sh does) and pass --qemu-binary PATH",
                      "stock QEMU strings present (%d): %s; a patched build as CAPE's kvm-qemu.sh makes would hide them "
                      "from the guest", n, found);
}

static void check_kvm(const struct qemu_probe *q) {
        struct kvm_probe k;
        doctor_probe_kvm(q, &k);
        struct net_check *c = check_new("kvm", "KVM usable");
        /* Not a failure: vmcloak falls back to TCG, which works, only slowly. */
        net_check_set(c, k.usable ? NET_CHECK_OK : NET_CHECK_WARN, k.fix, "%s", k.detail);
}

static void check_disk(void) {
        struct net_check *c = check_new("disk", "free disk space in the vmcloak home");
        int r = paths_init(global.home);
        if (r < 0) {
                net_check_set(c, NET_CHECK_FAIL, "set VMCLOAK_HOME or HOME", "cannot tell where the vmcloak home is");
                return;
        }
        const char *home = paths_home();
        /* The home may not exist yet (doctor creates nothing): measure its nearest existing parent. */
        _cleanup_free_ char *p = path_nearest_existing(home);
        struct statvfs v;
        if (!p || statvfs(p, &v) < 0) {
                net_check_set(c, NET_CHECK_FAIL, "", "cannot measure the free space for %s", home);
                return;
        }
        uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize;
        char b[32];
        format_bytes(b, sizeof b, avail);
        char fix[600];
        snprintf(fix, sizeof fix, "free space on that filesystem, or point VMCLOAK_HOME (or --home) at a larger one");
        if (avail < DISK_FAIL_BYTES)
                net_check_set(c, NET_CHECK_FAIL, fix, "only %s free for %s", b, home);
        else if (avail < DISK_WARN_BYTES)
                net_check_set(c, NET_CHECK_WARN, fix, "%s free for %s: enough for the linux guest, tight for Windows images", b, home);
        else
                net_check_set(c, NET_CHECK_OK, "", "%s free for %s", b, home);
}

static void check_data_file(const char *id, const char *title, const char *rel, const char *fix) {
        struct net_check *c = check_new(id, title);
        _cleanup_free_ char *p = paths_data_file(rel);
        struct stat st;
        if (!p)
                net_check_set(c, NET_CHECK_FAIL, "", "out of memory");
        else if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
                net_check_set(c, NET_CHECK_FAIL, fix, "%s is missing", p);
        else
                net_check_set(c, NET_CHECK_OK, "", "%s", p);
}

/* The hardware profiles init --hardware picks from and every profile image boots with: one bad
 * file in hardware.d stops them all (hw_catalog_load is strict), so doctor names it early. The
 * loader's own lines (FILE:LINE ...) go to stderr before the table. */
static void check_hardware(void) {
        struct net_check *c = check_new("hardware", "hardware profiles (init --hardware)");
        _cleanup_free_ char *user = paths_home() ? paths_hardware_d() : NULL;
        _cleanup_(hw_catalog_done) struct hw_catalog cat = { 0 };
        int r = hardware_catalog_load(&cat);
        if (r == -ENOENT)
                net_check_set(c, NET_CHECK_FAIL, "reinstall vmcloak or point VMCLOAK_DATADIR at its data folder",
                              "the shipped profiles are missing (see above)");
        else if (r < 0) {
                char fix[600];
                snprintf(fix, sizeof fix, "fix that file or move it out of %s", strempty(user));
                errno = -r;
                if (r == -EINVAL)
                        net_check_set(c, NET_CHECK_WARN, fix, "a profile file has errors (FILE:LINE above): no profile "
                                      "image can run until it is fixed");
                else
                        net_check_set(c, NET_CHECK_WARN, fix, "cannot be loaded: %m (see above)");
        } else
                net_check_set(c, NET_CHECK_OK, "", "%zu loaded", cat.n_profiles);
}

static void check_iso_tools(void) {
        int ma, mi, mc;
        iso_lib_version(&ma, &mi, &mc);
        struct net_check *c = check_new("libisofs", "libisofs (install media)");
        net_check_set(c, NET_CHECK_OK, "", "libisofs %d.%d.%d linked in", ma, mi, mc);
        /* Windows media keep their files in UDF (src/guest/winsrc.c); install.wim is read by
         * vmcloak itself (src/guest/wim.c), so no wimlib is needed. */
        c = check_new("libudfread", "libudfread (Windows media, UDF)");
        net_check_set(c, NET_CHECK_OK, "", "libudfread " UDFREAD_VERSION_STRING " linked in; install.wim is read by "
                      "vmcloak itself (no wimlib needed)");

        /* Only the linux guest boots through isolinux; Windows media use their own boot image. */
        static const char *const files[] = { "/usr/lib/ISOLINUX/isolinux.bin", "/usr/lib/syslinux/modules/bios/ldlinux.c32" };
        struct net_check *i = check_new("isolinux", "isolinux files (linux guest)");
        for (size_t k = 0; k < ELEMENTSOF(files); k++)
                if (!path_exists(files[k])) {
                        net_check_set(i, NET_CHECK_WARN, install_hint("isolinux syslinux-common"),
                                  "%s is missing: the linux guest cannot be built", files[k]);
                        return;
                }
        net_check_set(i, NET_CHECK_OK, "", "%s, %s", files[0], files[1]);
}

/* Windows 11 (UEFI + Secure Boot + TPM 2.0): OVMF's Secure Boot code and Microsoft-keys vars
 * (uefi-tpm.md), and swtpm. Warnings: the other guests need none of them (--no-tpm needs no swtpm). */
static void check_windows11(void) {
        struct net_check *c = check_new("ovmf", "OVMF Secure Boot firmware (Windows 11)");
        _cleanup_free_ char *code = qemu_find_ovmf_code(true), *vars = qemu_find_ovmf_vars(true);
        if (!code || !vars)
                net_check_set(c, NET_CHECK_WARN, install_hint("ovmf"), "%s is missing: --win11x64 cannot boot",
                              !code ? "the Secure Boot code (OVMF_CODE_4M.secboot.fd)"
                                    : "the Microsoft-keys variables (OVMF_VARS_4M.ms.fd)");
        else
                net_check_set(c, NET_CHECK_OK, "", "%s, %s", code, vars);
        check_program("swtpm", "swtpm (Windows 11's TPM 2.0)", "swtpm", "swtpm swtpm-tools", NET_CHECK_WARN);
}

/* vmcloak internet: the kernel must take vmcloak's nftables table (nf_tables, NAT, masquerade),
 * checked by a rolled-back transaction, which needs CAP_NET_ADMIN; warnings only, since no other
 * command needs it. */
static void check_internet(void) {
        struct net_check *c = check_new("nftables", "nftables (vmcloak internet)");
        if (!net_admin_capable()) {
                net_check_set(c, NET_CHECK_SKIP, "", "libnftables linked in; the kernel's nf_tables is checked when "
                              "doctor runs as root (sudo vmcloak doctor)");
                return;
        }
        char why[512];
        int r = net_internet_probe(why, sizeof why);
        if (r < 0) {
                net_check_set(c, NET_CHECK_WARN, "sudo modprobe -a nf_tables nft_chain_nat nft_masq (or a kernel with "
                              "CONFIG_NFT_NAT and CONFIG_NFT_MASQ)", "vmcloak's table is refused: %s", why);
                return;
        }
        _cleanup_free_ char *what = NULL, *fix = NULL;
        if (net_internet_blockers(0, &what, &fix) == 0 && what)
                net_check_set(c, NET_CHECK_WARN, fix, "the kernel takes vmcloak's table, but %s drops forwarded packets, "
                              "which vmcloak's accept does not override (internet on refuses without --force)", what);
        else
                net_check_set(c, NET_CHECK_OK, "", "the kernel takes vmcloak's table (nf_tables, NAT, masquerade); "
                              "IP forwarding is %s", net_ip_forward_get() == 1 ? "on" : "off (internet on switches it on)");
}

static void check_bridge(const char *bridge, const char *qemu) {
        struct net_check nc[NET_CHECKS_MAX];
        size_t n = net_bridge_checks(bridge, qemu, nc);
        for (size_t i = 0; i < n && nchecks < MAX_CHECKS; i++)
                checks[nchecks++] = nc[i];
}

/* ---- a libvirt host (doctor --connect, src/libvirt/hostcheck.h) ---- */

/* What doctor --connect learned of the image it is asked about (--image). */
struct lv_image {
        const char *bridge;            /* its adapter, NULL for user-mode images */
        uint64_t bytes;                /* its disk's size here (what snapshot --connect uploads) */
        bool uefi;
};

static void check_libvirt(const char *uri, const char *pool, const char *bridge, const struct lv_image *img) {
        struct libvirt_host_report r;
        char v[32], fix[600];
        const char *pool_name = pool ? pool : "vmcloak";
        libvirt_host_report(uri, pool_name, bridge, &r);
        struct net_check *c = check_new("libvirt-connect", "libvirt host reachable");
        if (!r.connected) {
                net_check_set(c, NET_CHECK_FAIL,
                              "start libvirtd there and check the URI (qemu:///system, qemu+ssh://root@HOST/system; "
                              "virsh -c URI version must answer)", "%s: %s", uri, r.connect_error);
                return;
        }
        net_check_set(c, NET_CHECK_OK, "", "%s (%s)", uri, isempty(r.hostname) ? "?" : r.hostname);

        c = check_new("libvirt-version", "libvirt 8.2.0 or later (<qemu:override>)");
        if (r.libvirt_version < LIBVIRT_VERSION_DOMXML)
                net_check_set(c, NET_CHECK_FAIL,
                              "upgrade libvirt on that host (vmcloak's domain XML sets device properties with "
                              "<qemu:override>, which libvirt has since 8.2.0)",
                              "libvirt %s", libvirt_version_string(r.libvirt_version, v, sizeof v));
        else
                net_check_set(c, NET_CHECK_OK, "", "libvirt %s", libvirt_version_string(r.libvirt_version, v, sizeof v));

        c = check_new("libvirt-qemu", "QEMU driver");
        if (!streq(r.hv_type, "QEMU"))
                net_check_set(c, NET_CHECK_FAIL, "use a qemu:// URI (qemu:///system, qemu+ssh://root@HOST/system)",
                              "the URI reaches the %s driver, not QEMU", isempty(r.hv_type) ? "?" : r.hv_type);
        else
                net_check_set(c, NET_CHECK_OK, "", "QEMU %s", r.hv_version ? libvirt_version_string(r.hv_version, v, sizeof v)
                                                                          : "(version unknown)");

        c = check_new("libvirt-domain-types", "domain types (kvm, qemu)");
        if (r.caps_error[0])
                net_check_set(c, NET_CHECK_FAIL, "install the QEMU driver there (libvirt-daemon-driver-qemu, "
                              "qemu-system-x86)", "%s", r.caps_error);
        else if (!r.type_kvm)
                net_check_set(c, NET_CHECK_WARN, "enable VT-x/AMD-V and load kvm_intel or kvm_amd on that host",
                              "only qemu (TCG): domains run many times slower, and CAPE's timeouts assume KVM");
        else
                net_check_set(c, NET_CHECK_OK, "", "kvm%s", r.type_qemu ? ", qemu" : "");

        char title[96];
        snprintf(title, sizeof title, "storage pool %s", pool_name);
        c = check_new("libvirt-pool", title);
        char avail[32], need[32];
        if (!r.pool_exists && !pool)
                net_check_set(c, NET_CHECK_OK, "", "none yet: snapshot --connect makes a directory pool vmcloak under "
                              "/var/lib/libvirt/images/vmcloak");
        else if (!r.pool_exists) {
                snprintf(fix, sizeof fix, "virsh -c %s pool-define-as %s dir --target DIR; virsh -c %s pool-start %s "
                         "(or leave out --pool for vmcloak's own)", uri, pool_name, uri, pool_name);
                net_check_set(c, NET_CHECK_FAIL, fix, "the host has no pool %s", pool_name);
        } else if (!r.pool_active) {
                snprintf(fix, sizeof fix, "virsh -c %s pool-start %s", uri, pool_name);
                net_check_set(c, NET_CHECK_FAIL, fix, "%s pool %s is not active", r.pool_type, pool_name);
        } else if (img && img->bytes && r.pool_available < img->bytes + (1ULL << 30)) {
                format_bytes(avail, sizeof avail, r.pool_available);
                format_bytes(need, sizeof need, img->bytes);
                net_check_set(c, NET_CHECK_FAIL, "free space in that pool's storage, or give another --pool",
                              "only %s free in %s for the image (%s) and the VMs' overlays", avail,
                              isempty(r.pool_path) ? pool_name : r.pool_path, need);
        } else {
                format_bytes(avail, sizeof avail, r.pool_available);
                net_check_set(c, NET_CHECK_OK, "", "%s, active, %s free%s%s", r.pool_type, avail,
                              r.pool_path[0] ? " in " : "", r.pool_path);
        }

        c = check_new("libvirt-networks", "libvirt networks");
        net_check_set(c, NET_CHECK_OK, "", "%s", r.n_networks ? r.networks
                                                             : r.networks[0] ? r.networks
                                                                            : "none (VMs on a host bridge need none)");

        snprintf(title, sizeof title, "bridge %s", bridge ? bridge : "(none asked for)");
        c = check_new("libvirt-bridge", title);
        switch (r.bridge) {
        case LIBVIRT_BRIDGE_NOT_CHECKED:
                net_check_set(c, NET_CHECK_SKIP, "", img ? "the image uses user-mode networking: CAPE cannot use its VMs"
                                                         : "not checked: give --bridge NAME or --image NAME");
                break;
        case LIBVIRT_BRIDGE_NETWORK:
                snprintf(fix, sizeof fix, "virsh -c %s net-start %s", uri, r.bridge_network);
                net_check_set(c, r.bridge_active ? NET_CHECK_OK : NET_CHECK_FAIL, fix, "the bridge of libvirt network "
                              "%s (%s)", r.bridge_network, r.bridge_active ? "active" : "inactive");
                break;
        case LIBVIRT_BRIDGE_INTERFACE:
                /* A bridge without ports reads as down (no carrier) until the first VM joins it. */
                snprintf(fix, sizeof fix, "ip link set %s up on that host (a bridge without ports stays down until "
                         "a VM joins it)", bridge);
                net_check_set(c, r.bridge_active ? NET_CHECK_OK : NET_CHECK_WARN, fix, "a host interface (%s)",
                              r.bridge_active ? "up" : "down");
                break;
        case LIBVIRT_BRIDGE_MISSING:
                net_check_set(c, NET_CHECK_FAIL, "make the bridge on that host (vmcloak bridge there, or a libvirt "
                              "network with <bridge name='...'/>)", "the host has no bridge %s: no libvirt network "
                              "has it and libvirt lists no such interface", bridge);
                break;
        case LIBVIRT_BRIDGE_UNKNOWN:
                snprintf(fix, sizeof fix, "check on that host: ip link show %s", bridge);
                net_check_set(c, NET_CHECK_WARN, fix, "no libvirt network has it, and the host's interfaces cannot be "
                              "listed (%s)", r.bridge_error);
                break;
        }

        c = check_new("libvirt-uefi", "UEFI guests: internal snapshots");
        char min[32];
        libvirt_version_string(LIBVIRT_VERSION_UEFI_INTERNAL_SNAPSHOT, min, sizeof min);
        snprintf(fix, sizeof fix, "libvirt %s or later on that host (Debian 12: bookworm-backports has 11.3.0; "
                 "Debian 13 has 11.3.0)", min);
        if (r.libvirt_version >= LIBVIRT_VERSION_UEFI_INTERNAL_SNAPSHOT)
                net_check_set(c, NET_CHECK_OK, "",
                              "libvirt %s: vmcloak asks for a qcow2 NVRAM (<nvram format='qcow2'>), which libvirt "
                              "snapshots from %s on (from libvirt's notes; not run against such a host yet)",
                              libvirt_version_string(r.libvirt_version, v, sizeof v), min);
        else
                net_check_set(c, img && img->uefi ? NET_CHECK_FAIL : NET_CHECK_WARN, fix,
                              "libvirt %s refuses internal snapshots of UEFI domains: Windows 11 VMs cannot be made "
                              "there%s", libvirt_version_string(r.libvirt_version, v, sizeof v),
                              img && img->uefi ? " (the image is UEFI)" : "; BIOS images are fine");
}

/* --image: the facts the libvirt checks need, from the repository (read only). */
static int lv_image_load(const char *name, struct lv_image *ret, char **ret_bridge) {
        struct repo *r = NULL;
        int k = global_repo(&r, false);
        if (k < 0)
                return k;
        _cleanup_image_ struct image *img = NULL;
        if ((k = repo_image_get(r, name, &img)) == -ENOENT) {
                log_error("no image named %s (see vmcloak list images)", name);
                return k;
        }
        if (k < 0)
                return k;
        bool user = img->netmode && streq(img->netmode, "user");
        *ret = (struct lv_image){ .bytes = file_size_or_zero(img->path), .uefi = image_is_uefi(img) };
        if (!user && !(*ret_bridge = strdup(strempty(img->adapter))))
                return log_oom();
        return 0;
}

/* ---- output ---- */

static const char *status_name(enum net_check_status s) {
        static const char *const names[] = { [NET_CHECK_OK] = "ok", [NET_CHECK_WARN] = "warn", [NET_CHECK_FAIL] = "fail", [NET_CHECK_SKIP] = "skip" };
        return names[s];
}

static void print_json(const char *bridge, bool ok) {
        json_object *root = json_object_new_object();
        json_object_object_add(root, "ok", json_object_new_boolean(ok));
        json_object_object_add(root, "mode", json_object_new_string(arg_connect ? "libvirt" : bridge ? "bridge" : "user"));
        if (arg_connect)
                json_object_object_add(root, "connect", json_object_new_string(arg_connect));
        json_object_object_add(root, "bridge", bridge ? json_object_new_string(bridge) : NULL);
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < nchecks; i++) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "id", json_object_new_string(checks[i].id));
                json_object_object_add(o, "title", json_object_new_string(checks[i].title));
                json_object_object_add(o, "status", json_object_new_string(status_name(checks[i].status)));
                json_object_object_add(o, "detail", json_object_new_string(checks[i].detail));
                json_object_object_add(o, "fix", checks[i].fix[0] ? json_object_new_string(checks[i].fix) : NULL);
                json_object_array_add(arr, o);
        }
        json_object_object_add(root, "checks", arr);
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
}

static void print_text(const char *bridge, size_t fails, size_t warns) {
        bool fancy = isatty(STDOUT_FILENO) && log_use_color();
        static const char *const plain[] = { [NET_CHECK_OK] = "[ok]  ", [NET_CHECK_WARN] = "[warn]", [NET_CHECK_FAIL] = "[FAIL]", [NET_CHECK_SKIP] = "[skip]" };
        static const char *const sym[] = {
                [NET_CHECK_OK] = "\033[32m✓\033[0m", [NET_CHECK_WARN] = "\033[33m!\033[0m",
                [NET_CHECK_FAIL] = "\033[1;31m✗\033[0m", [NET_CHECK_SKIP] = "\033[2m-\033[0m",
        };
        if (arg_connect)
                printf("vmcloak doctor: libvirt host %s\n", arg_connect);
        else if (bridge)
                printf("vmcloak doctor: bridge mode with %s\n", bridge);
        else
                printf("vmcloak doctor: user networking (add --bridge NAME to check bridge mode too)\n");
        for (size_t i = 0; i < nchecks; i++) {
                const struct net_check *c = &checks[i];
                printf("  %s %-40s %s\n", fancy ? sym[c->status] : plain[c->status], c->title, c->detail);
                if (c->fix[0] && (c->status == NET_CHECK_FAIL || c->status == NET_CHECK_WARN))
                        printf("  %s %-40s fix: %s\n", fancy ? " " : "      ", "", c->fix);
        }
        if (fails == 0)
                printf("Everything %s needs is in place%s.\n",
                       arg_connect ? "snapshot --connect" : bridge ? "bridge mode" : "user networking",
                       warns ? " (see the warnings above)" : "");
        else
                printf("%zu problem%s to fix before vmcloak can %s.\n", fails, fails == 1 ? "" : "s",
                       arg_connect ? "put VMs on that libvirt host" : bridge ? "run VMs on this bridge"
                                                                         : "build and run VMs");
}

static int report(const char *bridge);

static int run(const struct cmd_env *env) {
        (void)env;
        const char *bridge = arg_bridge;
        nchecks = 0;
        if (arg_connect) {
                struct lv_image img;
                _cleanup_free_ char *img_bridge = NULL;
                if (arg_image && lv_image_load(arg_image, &img, &img_bridge) < 0)
                        return 1;
                if (!bridge && img_bridge && *img_bridge)
                        bridge = img_bridge;
                check_libvirt(arg_connect, arg_pool, bridge, arg_image ? &img : NULL);
                return report(bridge);
        }

        struct qemu_probe q;
        doctor_probe_qemu(&q);
        check_qemu(&q);
        check_accels(&q);
        check_patched(&q);
        check_program("qemu-img", "qemu-img", "qemu-img", "qemu-utils", NET_CHECK_FAIL);
        check_kvm(&q);
        check_disk();
        check_hardware();
        check_data_file("agent-linux", "agent binary (Linux)", "agent/vmcloak-agent",
                        "build it: make (or ninja -C build)");
        check_data_file("agent-windows", "agent binary (Windows)", "agent/vmcloak-agent.exe",
                        "install gcc-mingw-w64-x86-64, then make (or ninja -C build)");
        check_iso_tools();
        check_windows11();
        /* Memory snapshots are lz4 streams as in VMCloak (Cuckoo3 restores them with lz4). */
        check_program("lz4", "lz4 (memory snapshots)", "lz4", "lz4", NET_CHECK_FAIL);
        check_program("gzip", "gzip (memory snapshots, optional)", "gzip", "gzip", NET_CHECK_WARN);
        check_program("zstd", "zstd (memory snapshots, optional)", "zstd", "zstd", NET_CHECK_WARN);
        check_internet();
        if (bridge)
                check_bridge(bridge, q.path);
        qemu_probe_done(&q);
        return report(bridge);
}

static int report(const char *bridge) {
        size_t fails = 0, warns = 0;
        for (size_t i = 0; i < nchecks; i++) {
                fails += checks[i].status == NET_CHECK_FAIL;
                warns += checks[i].status == NET_CHECK_WARN;
        }
        if (global.json)
                print_json(bridge, fails == 0);
        else
                print_text(bridge, fails, warns);
        return fails == 0 ? 0 : 1;
}

const struct cmd_def cmd_doctor = { .spec = &spec, .check = check_args, .run = run };
