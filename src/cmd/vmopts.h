/* Option blocks shared by init and createiso (VMCloak's "VM attributes" and "ISO
 * attributes"), plus the VM knobs every VM-starting command takes. */
#pragma once

#define VM_ATTR_OPTS                                                                                            \
        { "ip", 0, ARG_VALUE, "IP", "first free address after the gateway", "Guest IP address of the image" },  \
        { "port", 0, ARG_VALUE, "PORT", "8000", "Agent TCP port in the guest" },                              \
        { "network", 0, ARG_VALUE, "CIDR", "192.168.30.0/24 (user mode: 10.0.2.0/24)",                         \
          "Guest network; a bare address means /24" },                                                          \
        { "gateway", 0, ARG_VALUE, "IP", "the bridge's address (user mode: 10.0.2.2)", "Guest default gateway" }, \
        { "dns", 0, ARG_VALUE, "IP", "8.8.8.8 (user mode: 10.0.2.3)", "Primary DNS server" },                 \
        { "dns2", 0, ARG_VALUE, "IP", "8.8.4.4", "Secondary DNS server" },                                     \
        { "cpus", 0, ARG_VALUE, "N", "1", "Virtual CPUs" },                                                    \
        { "ramsize", 0, ARG_VALUE, "MIB", "2048 (linux: 512)", "Guest RAM in MiB" },                           \
        { "vramsize", 0, ARG_VALUE, "MIB", "16", "Video RAM in MiB (-device VGA,vgamem_mb=N)" },               \
        { "hddsize", 0, ARG_VALUE, "SIZE", "256 (GiB; linux: 2)", "Disk size: a number of GiB, or 4096M, 1T" }, \
        { "tempdir", 0, ARG_VALUE, "DIR", "~/.vmcloak/iso", "Where install media are built" },                  \
        { "resolution", 0, ARG_VALUE, "WxH", "1024x768", "Screen resolution of the guest" },                    \
        { "vm-visible", 0, ARG_FLAG, NULL, NULL, "Show the VM's screen (-display gtk)" },                       \
        { "vrde", 0, ARG_FLAG, NULL, NULL, "Enable VNC" },                                                      \
        { "vrde-port", 0, ARG_VALUE, "N", "3389", "VNC display number; QEMU listens on TCP 5900+N" },          \
        { "vnc-listen", 0, ARG_VALUE, "ADDR", "127.0.0.1", "Address VNC listens on" }

#define ISO_ATTR_OPTS                                                                                           \
        { "win7x64", 0, ARG_FLAG, NULL, NULL, "Windows 7 x64 guest" },                                          \
        { "win81x64", 0, ARG_FLAG, NULL, NULL, "Windows 8.1 x64 guest" },                                       \
        { "win10x64", 0, ARG_FLAG, NULL, NULL, "Windows 10 x64 guest" },                                        \
        { "win11x64", 0, ARG_FLAG, NULL, NULL, "Windows 11 x64 guest (UEFI, Secure Boot, TPM 2.0)" },          \
        { "linux", 0, ARG_FLAG, NULL, NULL, "The built-in Linux guest (BusyBox, Debian kernel, the agent)" },  \
        { "iso-mount", 0, ARG_VALUE, "DIR", "/mnt/<os>", "Where the Windows ISO is mounted" },                 \
        { "serial-key", 0, ARG_VALUE, "KEY", "the OS's generic key", "Windows product key" },                  \
        { "product", 0, ARG_VALUE, "EDITION", "from sources/product.ini", "Windows edition, e.g. pro" },      \
        { "python-version", 0, ARG_VALUE, "VERSION", "none", "Python to bake into a Windows image (optional)" }, \
        { "kernel", 0, ARG_VALUE, "PATH", "linux-image-amd64 from the Debian mirror", "Linux guest: kernel image" }, \
        { "modules", 0, ARG_VALUE, "DIR", "the kernel package's lib/modules", "Linux guest: modules tree" }

/* Knobs of the VM config that every VM-starting command accepts. */
#define VM_RUN_OPTS                                                                                             \
        { "accel", 0, ARG_VALUE, "ACCEL", "auto", "auto (KVM if it works, else TCG), kvm or tcg" },            \
        { "serial", 0, ARG_VALUE, "MODE", "file (serial.log in the VM's folder)",                               \
          "Serial port: file, file:PATH, pty, unix:PATH or none" },                                             \
        { "share", 0, ARG_LIST, "TAG=DIR[,rw]", NULL, "Share a host folder with the guest (9p, read-only)" },   \
        { "qemu-arg", 0, ARG_LIST, "ARG", NULL, "Extra raw QEMU argument (escape hatch)" },                      \
        { "timeout", 0, ARG_VALUE, "SECONDS", "init, install: the OS's (linux 300); snapshot: 600",         \
          "Give up when a step of the guest takes longer" }

struct args;
struct vm_options;
/* Fill o from the VM_RUN_OPTS and display/VNC options the command defines (VMCloak's
 * --vrde/--vrde-port semantics). Prints one line and returns -EINVAL on bad values. */
int vm_options_parse(const struct args *a, struct vm_options *o);
