/* Option blocks shared by several commands, bound to the fields they fill: VMCloak's "VM
 * attributes" and "ISO attributes" (init, createiso), the display knobs and the VM knobs every
 * VM-starting command takes; the enum option types they use; the one-OS-flag rule. */
#pragma once

#include "cmd/args.h"
#include "cmd/checks.h"
#include "machine/driver.h"
#include "machine/memfile.h"
#include "pipeline/netcfg.h"

OPT_ENUM_DECLARE(opt_accel, enum vm_accel);
OPT_ENUM_DECLARE(opt_compress, enum vm_compress);
OPT_ENUM_DECLARE(opt_netmode, enum image_netmode);

/* --vm-visible, --vrde, --vrde-port, --vnc-listen into v, a struct vm_options (VMCloak's VRDE
 * semantics: --vrde-port is the VNC display number). */
#define VM_DISPLAY_OPTS(v)                                                                                      \
        OPT_BOOL(0, "vm-visible", &(v).visible, "Show the VM's screen (-display gtk)"),                         \
        OPT_BOOL(0, "vrde", &(v).vnc, "Enable VNC (--debug too, as VMCloak)"),                                  \
        OPT_UINT(0, "vrde-port", &(v).vnc_display, 0, 65535 - 5900, "N",                                        \
                 "VNC display number; QEMU listens on TCP 5900+N", .def_value = "3389"),                        \
        OPT_IPV4(0, "vnc-listen", &(v).vnc_listen, "ADDR", "Address VNC listens on", .def_value = "127.0.0.1")

/* VMCloak's "VM attributes" into r, a struct init_request. The addresses stay text once their
 * syntax checked out: init checks them against the network it resolves (netcfg), createiso
 * against its own rules. */
#define VM_ATTR_OPTS(r)                                                                                         \
        OPT_IPV4(0, "ip", &(r).net.ip, "IP", "Guest IP address of the image",                                   \
                 .def = "first free address after the gateway"),                                                \
        OPT_PORT(0, "port", &(r).port, "PORT", "Agent TCP port in the guest", .def_value = "8000"),             \
        OPT_STRING(0, "network", &(r).net.network, "CIDR", "Guest network; a bare address means /24",           \
                   .def = "192.168.30.0/24 (user mode: 10.0.2.0/24)", .check = check_network),                  \
        OPT_IPV4(0, "gateway", &(r).net.gateway, "IP", "Guest default gateway",                                 \
                 .def = "the bridge's address (user mode: 10.0.2.2)"),                                          \
        OPT_IPV4(0, "dns", &(r).net.dns, "IP", "Primary DNS server", .def = "8.8.8.8 (user mode: 10.0.2.3)"),   \
        OPT_IPV4(0, "dns2", &(r).net.dns2, "IP", "Secondary DNS server", .def_value = "8.8.4.4"),               \
        OPT_UINT(0, "cpus", &(r).cpus, 1, 255, "N", "Virtual CPUs", .def_value = "1"),                          \
        OPT_UINT(0, "ramsize", &(r).ram_mb, 64, 4u << 20, "MIB", "Guest RAM in MiB", .def = "2048 (linux: 512)"), \
        OPT_UINT(0, "vramsize", &(r).vram_mb, 1, 512, "MIB", "Video RAM in MiB (-device VGA,vgamem_mb=N)",      \
                 .def_value = "16"),                                                                            \
        OPT_SIZE(0, "hddsize", &(r).disk_bytes, 1ull << 30, "SIZE", "Disk size: a number of GiB, or 4096M, 1T", \
                 .def = "256 (GiB; linux: 2)", .check = check_disk_size),                                       \
        OPT_STRING(0, "tempdir", &(r).tempdir, "DIR", "Where install media are built", .def = "~/.vmcloak/iso", \
                   .check = check_path),                                                                        \
        OPT_RESOLUTION(0, "resolution", &(r).resolution, "WxH", "Screen resolution of the guest",               \
                       .def_value = "1024x768"),                                                                \
        VM_DISPLAY_OPTS((r).vm)

/* The OS flags, read by vm_os_flag(). */
#define OS_FLAG_OPTS                                                                                            \
        OPT_READ(0, "win7x64", ARG_FLAG, NULL, "Windows 7 x64 guest"),                                          \
        OPT_READ(0, "win81x64", ARG_FLAG, NULL, "Windows 8.1 x64 guest"),                                       \
        OPT_READ(0, "win10x64", ARG_FLAG, NULL, "Windows 10 x64 guest"),                                        \
        OPT_READ(0, "win11x64", ARG_FLAG, NULL, "Windows 11 x64 guest (UEFI, Secure Boot, TPM 2.0)"),           \
        OPT_READ(0, "linux", ARG_FLAG, NULL, "The built-in Linux guest (BusyBox, Debian kernel, the agent)")

/* VMCloak's "ISO attributes" into r, a struct init_request: the OS flags and the install media's. */
#define ISO_ATTR_OPTS(r)                                                                                        \
        OS_FLAG_OPTS,                                                                                           \
        OPT_STRING(0, "iso-mount", &(r).iso_mount, "DIR", "Windows: a mounted install tree", .def = "/mnt/<os>", \
                   .check = check_path),                                                                        \
        OPT_STRING(0, "serial-key", &(r).serial_key, "KEY", "Windows product key",                              \
                   .def = "the edition's public generic key", .check = check_product_key),                      \
        OPT_STRING(0, "product", &(r).product, "EDITION",                                                       \
                   "Windows edition: pro, home, enterprise..., its name or image index on the media",           \
                   .def = "VMCloak's preference among the media's editions"),                                   \
        OPT_STRING(0, "python-version", &(r).python_version, "VERSION",                                         \
                   "Python to bake into a Windows image (optional)", .def = "none"),                            \
        OPT_BOOL(0, "no-tpm", &(r).no_tpm,                                                                      \
                 "Windows 11: no TPM 2.0 (Setup's LabConfig bypass keys instead)"),                             \
        OPT_STRING(0, "hostname", &(r).hostname, "NAME", "The guest's computer name (Windows: NetBIOS rules)",  \
                   .def = "a realistic random one", .check = check_hostname),                                   \
        OPT_STRING(0, "username", &(r).user, "NAME", "Windows: the account that logs on by itself",             \
                   .def = "Administrator", .check = check_windows_user),                                        \
        OPT_STRING(0, "password", &(r).password, "PASSWORD", "Windows: that account's password",                \
                   .def = "cuckoo"),                                                                            \
        OPT_STRING(0, "locale", &(r).locale, "LOCALE", "Windows: display and user locale",                      \
                   .def = "en-US", .check = check_windows_locale),                                              \
        OPT_STRING(0, "kblayout", &(r).kblayout, "LAYOUT",                                                      \
                   "Windows: keyboard, as a locale (de-DE) or input locale (0407:00000407)",                    \
                   .def = "the locale's", .check = check_windows_keyboard),                                     \
        OPT_STRING(0, "timezone", &(r).timezone, "ZONE", "Windows: time zone id",                               \
                   .def = "W. Europe Standard Time", .check = check_windows_timezone),                          \
        OPT_STRING(0, "kernel", &(r).kernel, "PATH", "Linux guest: kernel image",                               \
                   .def = "linux-image-amd64 from the Debian mirror", .check = check_path),                     \
        OPT_STRING(0, "modules", &(r).modules, "DIR", "Linux guest: modules tree",                              \
                   .def = "the kernel package's lib/modules", .check = check_path)

/* --tag T (repeatable): Cuckoo machine tags, kept on the image (init, import, install) or on
 * each VM (snapshot) and written into machineinfo.json (pipeline/tags.h). */
#define OPT_MACHINE_TAGS(p_, h_) OPT_LIST(0, "tag", p_, "TAG", h_, .check = check_machine_tag)

/* The knobs of the VM that every VM-starting command accepts, into v, a struct vm_options;
 * timeout_def_: what --timeout's help names as its default (each command waits for other steps). */
#define VM_RUN_OPTS(v) VM_RUN_OPTS_TIMEOUT(v, "init, install: the OS's (linux 300); snapshot: 600")
#define VM_RUN_OPTS_TIMEOUT(v, timeout_def_)                                                                    \
        OPT_ENUM(0, "accel", &(v).accel, opt_accel, "ACCEL", "auto (KVM if it works, else TCG), kvm or tcg",    \
                 .def_value = "auto"),                                                                          \
        OPT_STRING(0, "serial", &(v).serial, "MODE", "Serial port: file, file:PATH, pty, unix:PATH or none",    \
                   .def = "file (serial.log in the VM's folder)", .check = check_serial),                       \
        OPT_LIST(0, "share", &(v).shares, "TAG=DIR[,rw]", "Share a host folder with the guest (9p, read-only)", \
                 .check = check_share),                                                                         \
        OPT_LIST(0, "qemu-arg", &(v).qemu_args, "ARG", "Extra raw QEMU argument (escape hatch)"),               \
        OPT_UINT(0, "timeout", &(v).timeout_s, 1, 7 * 24 * 3600, "SECONDS",                                     \
                 "Give up when a step of the guest takes longer", .def = (timeout_def_))

/* --hardware into r, a struct init_request's hardware name (init, import); vm_hardware_pick
 * turns it into the profile. */
#define OPT_HARDWARE(p)                                                                                         \
        OPT_STRING(0, "hardware", p, "NAME",                                                                    \
                   "A real PC model: a hardware profile ('vmcloak list hardware', ~/.vmcloak/hardware.d) or "   \
                   "random. Every run boots its SMBIOS, CPU, drives, NIC and vendor MAC, each snapshot VM "     \
                   "with its own serials, UUID, MAC and machine id. Windows takes its CPUs, RAM and disk size " \
                   "unless given (the OS's minimums win); the linux guest, a TCG test guest, keeps its own",    \
                   .def = "none (QEMU's own machine, as VMCloak)", .check = check_path)

struct args;
/*
 * The one-OS-flag rule of init and createiso: exactly one of the ISO_ATTR_OPTS OS flags.
 * Sets *ret to its name ("linux"), or prints one line and returns -EINVAL when none or two
 * are given.
 */
int vm_os_flag(const struct args *a, const char **ret);
struct os_profile;
/* vm_os_flag, then that OS's profile (every OS flag has one; cmd, "init", names the command
 * in the internal error line otherwise). -EINVAL after vm_os_flag's line. */
int vm_os_profile(const struct args *a, const char *cmd, const struct os_profile **ret);
/*
 * The options of ISO_ATTR_OPTS that only some OSes use: the Windows ones (--iso-mount,
 * --serial-key, --product, --username, --password, --locale, --kblayout, --timezone) with
 * another OS, --no-tpm with an OS that has no TPM anyway. Prints one line and returns -EINVAL
 * for the first such option given; 0 otherwise.
 */
int vm_os_options_check(const struct args *a, const struct os_profile *prof, bool no_tpm);
/*
 * The OS's own minimums (os_profile min_ram_mb, min_disk_gib, min_cpus: Microsoft's
 * requirements), checked before anything is built: Setup would stop at a dialog hours into a
 * TCG install. RAM and CPUs are not checked with no_tpm (--no-tpm's LabConfig keys bypass
 * Windows 11's checks). *cpus below the minimum is raised to it when --cpus was not given.
 * -EINVAL after one line naming the option and the minimum.
 */
int vm_os_minimums(const struct args *a, const struct os_profile *prof, bool no_tpm, unsigned *cpus, unsigned ram_mb,
                   uint64_t disk_bytes);
struct vm_options;
/*
 * VMCloak's --debug side effect for init, install, modify and snapshot (vmcloak-spec.md §2.1):
 * with the global --debug, VNC is on (v->vnc, as --vrde) on v's --vrde-port display and
 * --vnc-listen address (127.0.0.1 by default), and one line says where to connect (n_vms VMs:
 * displays N..N+n_vms-1); a --vnc-listen outside 127.0.0.0/8 adds a warning line (the display
 * has no password). Without --debug, or when VNC was on already, nothing changes.
 */
void vm_debug_vnc(struct vm_options *v, unsigned n_vms);
struct init_request;
/*
 * init/import --hardware NAME|random (name; NULL: nothing to do, no catalog is read): the
 * catalog loaded (shipped + ~/.vmcloak/hardware.d, kept for the run), the profile picked
 * (hw_catalog_pick: an unknown name is one line listing the names) into req->hardware, before
 * anything is built. For a Windows guest the profile's cpus, ram_mb and disk_gb (decimal GB, as
 * the vendor sold the drive) become req's values where --cpus, --ramsize, --hddsize were not
 * given, raised to the OS's minimums (which still win); the linux guest keeps its own defaults
 * (a 256 GB disk and 8 GiB of RAM only slow down a BusyBox guest under TCG). The same profile
 * always gives the same defaults. -EINVAL, or the loader's errors, after one line.
 */
int vm_hardware_pick(const struct args *a, const char *name, struct init_request *req);
