/* What a virtual machine is, as data: hardware, media, network attachment, identity. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * struct vm_def says what the machine is and nothing about how it runs: no QEMU syntax, no
 * host facts (QEMU version, helper path, forwarded host ports, sockets, firmware files).
 * Each driver renders it in its own form: the QEMU driver as argv and Cuckoo3 start_args
 * (src/qemu/argv.c), a libvirt driver as domain XML. The model is libvirt's virDomainDef
 * (src/conf/domain_conf.h) and its typed virSysinfoDef; every field maps onto a libvirt domain
 * XML element, named beside it.
 *
 * Ownership: every char * and array is malloc'ed and owned by the struct; vm_def_done()
 * frees them. Zero/NULL means "not set": the driver's default applies (for the QEMU driver,
 * VMCloak's arguments byte for byte). Strings are plain values (a driver escapes them).
 */

enum vm_firmware {
        VM_FIRMWARE_BIOS = 0,          /* <os> without firmware= (SeaBIOS) */
        VM_FIRMWARE_UEFI,              /* <os firmware='efi'> + <loader>/<nvram> */
};

enum vm_disk_format {
        VM_DISK_QCOW2 = 0,             /* <driver type='qcow2'/> */
        VM_DISK_RAW,
};

/* Which device the firmware tries first. VMCloak always boots the CD-ROM first. */
enum vm_boot_order {
        VM_BOOT_CD_FIRST = 0,          /* <boot order='1'/> on the first CD-ROM */
        VM_BOOT_DISK_FIRST,
};

enum vm_net_type {
        VM_NET_BRIDGE = 0,             /* <interface type='bridge'><source bridge=.../> */
        VM_NET_USER,                   /* <interface type='user'> (QEMU's slirp) */
        VM_NET_NONE,                   /* the NIC stays, with no backend (link down) */
};

enum vm_display {
        VM_DISPLAY_NONE = 0,           /* no local window */
        VM_DISPLAY_WINDOW,             /* a window on the host's desktop (<graphics type='sdl'/>) */
};

enum vm_serial_type {
        VM_SERIAL_NONE = 0,            /* no serial port at all */
        VM_SERIAL_FILE,                /* <serial type='file'><source path=... append='on'/> */
        VM_SERIAL_PTY,                 /* <serial type='pty'> */
        VM_SERIAL_UNIX,                /* <serial type='unix'><source mode='bind' path=.../> */
};

/* The pointing device besides the PS/2 mouse a PC always has. */
enum vm_pointer {
        VM_POINTER_TABLET = 0,         /* <input type='tablet' bus='usb'/> (VMCloak's usb-tablet) */
        VM_POINTER_PS2,                /* only the PS/2 mouse: no USB tablet, no USB controller */
};

enum vm_clock {
        VM_CLOCK_LOCALTIME = 0,        /* <clock offset='localtime'>: Windows expects local time */
        VM_CLOCK_UTC,                  /* <clock offset='utc'>: Linux guests */
};

/* The system disk: <disk type='file' device='disk'> on SATA port 0. */
struct vm_disk {
        char *path;                    /* <source file=.../> */
        enum vm_disk_format format;
        char *model;                   /* ATA model string (<product>), NULL: the driver's */
        char *serial;                  /* ATA serial (<serial>) */
        char *firmware;                /* ATA firmware revision (QEMU's ide-hd ver=; libvirt has no
                                        * element: <qemu:override>), NULL: the driver's */
        uint64_t wwn;                  /* World Wide Name (<wwn>), 0: none */
        unsigned rotation_rate;        /* ATA nominal media rotation rate (<target rotation_rate=.../>):
                                        * 1 an SSD, else rpm; 0: not reported (QEMU's default) */
};

/* A CD-ROM drive: <disk type='file' device='cdrom'> with <readonly/>. */
struct vm_cdrom {
        char *media;                   /* ISO in the tray; NULL: an empty tray */
        char *model;                   /* ATAPI model string (<product>) */
        char *serial;
        char *firmware;                /* ATAPI firmware revision (ide-cd ver=) */
};

/* The NIC: <interface> with <model type=.../>, <mac address=.../>, <address slot=.../>. */
struct vm_nic {
        char *model;                   /* NULL: rtl8139 (VMCloak) */
        char *mac;                     /* "00:19:3c:1f:a2:07"; NULL: the driver picks one */
        unsigned pci_slot;             /* 0: slot 3 (VMCloak) */
        /* PCI subsystem ids the guest reads (no libvirt element: <qemu:override>); 0: the
         * device's own. Of QEMU 7.2's NICs only e1000e takes them (subsys_ven=, subsys=). */
        uint16_t subsystem_vendor, subsystem_device;
};

/*
 * The network attachment and where the guest's agent listens. The agent is at guest_ip:
 * agent_port inside the guest; in bridge mode the host reaches it there, in user mode the
 * driver forwards a host port of its choice to it (and a second one to guest_ip2, the address
 * a snapshot VM moves to, while it changes address). libvirt: <interface type='user'> with
 * <ip address=... prefix=.../> and <portForward>; bridge: <source bridge=.../>.
 */
struct vm_net {
        enum vm_net_type type;
        char *bridge;                  /* BRIDGE: NULL = "br0" (VMCloak) */
        char *network;                 /* USER: the guest network as CIDR, e.g. "10.0.2.0/24" */
        char *host;                    /* USER: the host (gateway) address the guest sees */
        char *dns;                     /* USER: the DNS address the guest sees */
        bool isolated;                 /* USER: the guest cannot reach out (restrict=on) */
        char *guest_ip;                /* the guest's static address */
        char *guest_ip2;               /* the address it is about to take, or NULL */
        unsigned agent_port;           /* the agent's TCP port in the guest; 0: none */
};

/* Direct kernel boot: <os><kernel>/<initrd>/<cmdline>. The machine starts this kernel (with this
 * initramfs and command line) instead of booting from a drive; its drives stay as they are.
 * kernel NULL: none (the boot order applies). Paths are the host's. */
struct vm_kernel_boot {
        char *kernel;                  /* <kernel>: a bzImage, or an ELF vmlinux with a PVH note */
        char *initrd;                  /* <initrd>, NULL: none */
        char *cmdline;                 /* <cmdline>, NULL: empty */
};

/* VNC: <graphics type='vnc' port=5900+display listen=.../>. */
struct vm_vnc {
        bool enabled;
        unsigned display;              /* TCP port 5900 + display */
        char *listen;                  /* NULL: "127.0.0.1" */
};

struct vm_serial {
        enum vm_serial_type type;
        char *path;                    /* FILE and UNIX */
};

/* A host folder shared over 9p: <filesystem type='mount'><source dir/><target dir=tag/>. */
struct vm_share {
        char *tag;
        char *path;
        bool readonly;
};

/* SMBIOS tables (DMTF DSP0134), each field NULL when not set; a table with no field set is not
 * emitted. libvirt: <sysinfo type='smbios'> with <bios>, <system>, <baseboard>, <chassis>,
 * <oemStrings>; types 4 and 17 have no libvirt element and go through <qemu:commandline>. */
struct vm_smbios_bios {                /* type 0 */
        char *vendor, *version, *date, *release;
};
struct vm_smbios_system {              /* type 1 */
        char *manufacturer, *product, *version, *serial, *uuid, *sku, *family;
};
struct vm_smbios_baseboard {           /* type 2 */
        char *manufacturer, *product, *version, *serial, *asset, *location;
};
struct vm_smbios_chassis {             /* type 3 */
        char *manufacturer, *version, *serial, *asset, *sku;
        unsigned type;                 /* SMBIOS chassis type (3 desktop, 10 notebook), 0: not set.
                                        * Neither QEMU 7.2's -smbios type=3 nor libvirt can set it:
                                        * the QEMU driver writes type 3 as a file (machine/smbios.h). */
};
struct vm_smbios_processor {           /* type 4 */
        char *socket, *manufacturer, *version, *serial, *asset, *part;
        unsigned max_speed_mhz, current_speed_mhz;   /* 0: not set */
};
struct vm_smbios_memory {              /* type 17 */
        char *locator, *bank, *manufacturer, *serial, *asset, *part;
        unsigned speed_mts;            /* 0: not set */
};
struct vm_smbios {
        struct vm_smbios_bios bios;
        struct vm_smbios_system system;
        struct vm_smbios_baseboard baseboard;
        struct vm_smbios_chassis chassis;
        struct vm_smbios_processor processor;
        char **oem_strings;            /* type 11, NULL-terminated */
        struct vm_smbios_memory memory;
};

/* A CPUID feature switched on or off: <feature policy='require|disable' name=.../>. */
struct vm_cpu_feature {
        char *name;                    /* QEMU/libvirt feature name, e.g. "hypervisor" */
        bool enabled;
};

/* <cpu mode='custom'><model>...</model>; hide_kvm is <features><kvm><hidden state='on'/>. */
struct vm_cpu {
        char *model;                   /* e.g. "Skylake-Client"; NULL: the driver's default */
        char *model_id;                /* the brand string CPUID reports, NULL: the model's */
        struct vm_cpu_feature *features;
        size_t n_features;
        bool hide_kvm;                 /* hide the KVM CPUID signature leaf */
        /* CPUID leaf 1 family/model/stepping over the model's (QEMU's -cpu family=,model=,
         * stepping=; libvirt: <qemu:override>): Windows 11 Setup judges the CPU generation by
         * them. 0 family: the model's own. */
        unsigned family, model_number, stepping;
        /* Threads per core (<topology threads=.../>): 2 for an SMT CPU, whose CPUs are then
         * cores x 2 threads on one socket; 0 or 1: one thread per core (QEMU's default). */
        unsigned threads_per_core;
};

/* ACPI table header OEM fields (ACPI 6.4 §5.2.6): at most 6 and 8 bytes. libvirt has no element
 * for them (<qemu:commandline> on the machine). */
struct vm_acpi {
        char *oem_id;
        char *oem_table_id;
};

/* What the guest can read about the machine it runs on. Disk and CD-ROM model/serial live
 * with their drives. */
struct vm_identity {
        struct vm_smbios smbios;
        struct vm_cpu cpu;
        struct vm_acpi acpi;
};

struct vm_def {
        char *name;                    /* <name>; for messages and logs */
        enum vm_firmware firmware;
        bool secure_boot;              /* UEFI only: <loader secure='yes'/> (needs SMM) */
        char *nvram;                   /* UEFI: this machine's own variable store (<nvram>) */
        bool tpm;                      /* TPM 2.0: <tpm model='tpm-tis'><backend type='emulator'/> */
        char *tpm_state;               /* the TPM's state folder (it belongs with the disk) */
        unsigned cpus;                 /* <vcpu>; 0: 1 */
        unsigned ram_mb;               /* <memory unit='MiB'>; 0: 2048 */
        struct vm_disk disk;
        /* CD-ROM drives: [0] is the boot drive (always present, empty when n_cdroms is 0),
         * then the others in order. */
        struct vm_cdrom *cdroms;
        size_t n_cdroms;
        enum vm_boot_order boot;
        struct vm_kernel_boot kboot;   /* NULL kernel: boot from the drives */
        struct vm_nic nic;
        struct vm_net net;
        enum vm_display display;
        struct vm_vnc vnc;
        struct vm_serial serial;
        struct vm_share *shares;
        size_t n_shares;
        unsigned vram_mb;              /* <video><model type='vga' vram=.../>; 0: 16 */
        enum vm_clock clock;
        enum vm_pointer pointer;
        /* No VMware backdoor I/O port (<features><vmport state='off'/>): QEMU's q35 answers
         * VMware's 0x5658 "VMXh" probe by default, a VM tell of its own. */
        bool vmport_off;
        struct vm_identity id;
};

#define VM_DEFAULT_CPUS 1
#define VM_DEFAULT_RAM_MB 2048
#define VM_DEFAULT_VRAM_MB 16
#define VM_DEFAULT_NIC "rtl8139"
#define VM_DEFAULT_NIC_SLOT 3
#define VM_DEFAULT_BRIDGE "br0"
#define VM_DEFAULT_VNC_LISTEN "127.0.0.1"

/* Defaults: BIOS, 1 CPU, 2048 MiB, qcow2, CD first, rtl8139 in slot 3, bridge, localtime,
 * isolated user networking, no CD-ROM media. */
void vm_def_init(struct vm_def *d);
void vm_def_done(struct vm_def *d);
/* A deep copy into ret (initialised by the call). 0 or -ENOMEM (ret is then empty). */
int vm_def_copy(const struct vm_def *d, struct vm_def *ret);

/* Append a CD-ROM drive holding media (NULL: an empty tray), a share, a CPU feature, an OEM
 * string; the strings are copied. 0 or -ENOMEM. */
int vm_def_add_cdrom(struct vm_def *d, const char *media);
int vm_def_add_share(struct vm_def *d, const char *tag, const char *path, bool readonly);
int vm_def_add_cpu_feature(struct vm_def *d, const char *name, bool enabled);
/* Drop every CD-ROM drive but the boot drive, and empty its tray. */
void vm_def_clear_media(struct vm_def *d);

/*
 * What any driver must refuse (a driver adds its own limits): CPUs 1..255, RAM 32 MiB..4 TiB,
 * a MAC in colon notation, a PCI slot 1..31, a bridge name (IFNAMSIZ), user-mode addresses,
 * a VNC display whose port fits (5900+N <= 65535), a serial or share without a path, VRAM a
 * power of two up to 256 MiB, Secure Boot or an NVRAM without UEFI, ACPI ids longer than
 * the ACPI table header holds (6, 8 bytes), ATA model, serial and firmware strings that are not
 * printable ASCII or longer than ATA IDENTIFY holds (40, 20, 8 bytes), a NIC subsystem vendor
 * without its device id or the reverse, a chassis type above 127 (its top bit is the lock
 * flag), a CPU family above 0x10e, model number above 255, stepping above 15, or a model number
 * or stepping without a family (QEMU's CPUID limits), a direct-boot initrd or command line
 * without its kernel, an empty kernel or initrd path, a control character in the command line. 0, or -EINVAL and one line in reason (may be
 * NULL) naming the field and the fix.
 */
int vm_def_check(const struct vm_def *d, char *reason, size_t size);

/* Field names for messages and the key=value loader. */
const char *vm_net_type_to_string(enum vm_net_type t);
const char *vm_serial_type_to_string(enum vm_serial_type t);
