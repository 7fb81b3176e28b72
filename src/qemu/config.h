/* What a VM is: one struct (no argv strings in it) that argv.c turns into QEMU arguments. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * struct vm_config describes the virtual hardware and its host-side backends; struct
 * vm_runtime holds the things that only matter to one run of QEMU (QMP socket, incoming
 * migration, pidfile, ...). argv.c renders both; the same vm_config renders Cuckoo3's
 * start_args (VM_ARGV_START_ARGS) and the command vmcloak runs (VM_ARGV_RUN).
 *
 * Ownership: every char * / char ** / array in these structs is malloc'ed and owned by the
 * struct; vm_config_done() and vm_runtime_done() free them. Zero/NULL means "not set" and
 * renders VMCloak's default arguments byte for byte (see argv.c for the exact order).
 * Strings are plain values: argv.c escapes QEMU option syntax (",," for commas) itself.
 */

/* The QEMU version decides which of two argument families is emitted (VMCloak §6.4:
 * < 4.1 uses -realtime mlock=off and ide-drive; an unknown version 0.0.0 counts as < 4.1). */
struct qemu_version {
        unsigned major, minor, micro;
};

enum vm_accel {
        VM_ACCEL_AUTO = 0,   /* must be resolved (probe.h: qemu_accel_resolve) before argv */
        VM_ACCEL_KVM,        /* -enable-kvm (pre-4.1: --enable-kvm), VMCloak's only mode */
        VM_ACCEL_TCG,        /* -accel tcg */
};

enum vm_disk_format {
        VM_DISK_QCOW2 = 0,
        VM_DISK_RAW,
};

/* Which boot device firmware tries first (bootindex). VMCloak always uses CD_FIRST. */
enum vm_boot_order {
        VM_BOOT_CD_FIRST = 0,
        VM_BOOT_DISK_FIRST,
};

enum vm_net_mode {
        VM_NET_BRIDGE = 0,   /* -netdev type=bridge,br=NAME[,helper=PATH] (the seed's way) */
        VM_NET_USER,         /* -netdev type=user,... with hostfwd to 127.0.0.1 */
        VM_NET_NONE,         /* the NIC stays (same device set), with no backend */
};

enum vm_display {
        VM_DISPLAY_NONE = 0,
        VM_DISPLAY_GTK,      /* --vm-visible */
};

enum vm_serial_mode {
        VM_SERIAL_NONE = 0,  /* no serial port (-nodefaults removes QEMU's) */
        VM_SERIAL_FILE,      /* -serial file:PATH */
        VM_SERIAL_PTY,       /* -serial pty */
        VM_SERIAL_UNIX,      /* -serial unix:PATH,server=on,wait=off */
};

enum vm_rtc {
        VM_RTC_LOCALTIME = 0, /* Windows expects the RTC in local time (VMCloak) */
        VM_RTC_UTC,           /* Linux guests */
};

/* VM_AUDIO_DEFAULT is VMCloak's "-device intel-hda -device hda-duplex" with QEMU's default
 * audio backend; VM_AUDIO_NONE adds "-audiodev none,id=snd0" and "audiodev=snd0" (QEMU >= 4.0)
 * so the host needs no sound system. The guest sees the same device either way. */
enum vm_audio {
        VM_AUDIO_DEFAULT = 0,
        VM_AUDIO_NONE,
};

/* A 9p shared folder (-virtfs). Read-only unless readonly is false. */
struct vm_share {
        char *tag;          /* mount_tag seen by the guest */
        char *path;         /* host directory */
        bool readonly;
};

/* One SMBIOS table: type (0, 1, 2, 3, 4, 11, 17) and "key=value" fields, e.g.
 * { 1, {"manufacturer=Dell Inc.", "product=OptiPlex 7070", NULL} }. Values may hold commas. */
struct vm_smbios {
        unsigned type;
        char **fields;
};

/* Knobs the cloaking layer (src/cloak/) fills. All empty = VMCloak's arguments exactly. */
struct vm_cloak {
        char *cpu_model;          /* -cpu MODEL (default model "qemu64" when only flags are set) */
        char **cpu_flags;         /* appended to -cpu: "-hypervisor", "kvm=off", "model-id=..." */
        struct vm_smbios *smbios; /* -smbios type=N,k=v,... each */
        size_t n_smbios;
        char *acpi_oem_id;        /* -M q35,x-oem-id= (<= 6 bytes, QEMU >= 5.2) */
        char *acpi_oem_table_id;  /* -M q35,x-oem-table-id= (<= 8 bytes) */
        char *disk_model;         /* ide-hd model= */
        char *disk_serial;        /* ide-hd serial= */
        char *cdrom_model;        /* ide-cd model= (boot and extra CD-ROMs) */
        char *cdrom_serial;       /* ide-cd serial= (boot CD-ROM) */
};

struct vm_config {
        char *name;                        /* for messages and logs; not rendered */
        struct qemu_version version;       /* of the qemu-system-x86_64 that will run it */
        enum vm_accel accel;
        unsigned cpus;                     /* -smp (default 1) */
        unsigned ram_mb;                   /* -m (default 2048) */

        /* Disk (-drive ...,id=disk + ide-hd on ahci.0). START_ARGS renders the path as
         * VM_DISK_PLACEHOLDER, as Cuckoo3 requires. */
        char *disk_path;
        enum vm_disk_format disk_format;

        /* Boot CD-ROM (id=cdrom on ahci.1): NULL = empty tray (media can be changed over QMP).
         * Extra CD-ROMs go on ahci.2, ahci.3, ... (ids cdrom1, cdrom2, ...; at most 4). */
        char *cdrom_path;
        char **extra_cdroms;
        enum vm_boot_order boot_order;

        /* NIC (VMCloak: rtl8139 at pcie.0 slot 3 with a vendor MAC). */
        char *nic_model;                   /* NULL = "rtl8139" */
        char *mac;                         /* "00:19:3c:1f:a2:07"; NULL = QEMU picks one */
        unsigned nic_pci_addr;             /* 0 = 3 */

        enum vm_net_mode net_mode;
        char *bridge;                      /* BRIDGE: NULL = "br0" (VMCloak) */
        char *bridge_helper;               /* BRIDGE: NULL = QEMU's compiled-in helper */
        /* USER mode. Each NULL/0 field is left out (QEMU's own default then applies). */
        char *user_net;                    /* guest network CIDR, e.g. "10.0.2.0/24" */
        char *user_host;                   /* host (gateway) address seen by the guest */
        char *user_dns;                    /* DNS address seen by the guest */
        char *guest_ip;                    /* static guest IP: hostfwd target, dhcpstart */
        unsigned agent_port;               /* guest agent port (hostfwd target) */
        unsigned host_fwd_port;            /* 127.0.0.1:PORT on the host -> guest_ip:agent_port */
        /* A second forward 127.0.0.1:host_fwd_port2 -> guest_ip2:agent_port, for the moment a
         * snapshot VM's address changes (the first one keeps reaching the old address). */
        char *guest_ip2;
        unsigned host_fwd_port2;
        bool user_restrict;                /* restrict=on: the guest cannot reach out */

        enum vm_display display;
        /* VNC (VMCloak's vrde/vrde-port): -vnc LISTEN:N, TCP port 5900+N. Never in START_ARGS. */
        bool vnc;
        unsigned vnc_display;
        char *vnc_listen;                  /* NULL = "127.0.0.1" */

        enum vm_serial_mode serial;
        char *serial_path;                 /* FILE and UNIX */

        struct vm_share *shares;
        size_t n_shares;

        unsigned vram_mb;                  /* 0 or 16 = "-vga std"; else -device VGA,vgamem_mb=N */
        enum vm_audio audio;

        /* UEFI: code (read-only pflash 0) + this VM's own vars copy (pflash 1). */
        char *uefi_code;
        char *uefi_vars;
        bool secure_boot;                  /* -M q35,smm=on + cfi.pflash01 secure=on */
        char *tpm_socket;                  /* swtpm control socket: TPM 2.0 (tpm-tis) */

        enum vm_rtc rtc;

        struct vm_cloak cloak;
        char **extra_args;                 /* raw arguments appended last (--qemu-arg) */
};

/* What argv.c renders: the command vmcloak runs, or Cuckoo3's machineinfo start_args
 * (no binary, no -qmp/-monitor/-vnc/-incoming/-S..., the disk as VM_DISK_PLACEHOLDER,
 * every CD-ROM as an empty tray). */
enum vm_argv_purpose {
        VM_ARGV_RUN = 0,
        VM_ARGV_START_ARGS,
};

/* One run of QEMU: everything here is left out of START_ARGS. */
struct vm_runtime {
        char *binary;          /* NULL = "qemu-system-x86_64" */
        char *qmp_socket;      /* -qmp unix:PATH,server=on,wait=off */
        char *incoming;        /* -incoming URI (e.g. "exec:lz4 -c -d < '/path'") */
        char *pidfile;         /* -pidfile PATH */
        bool no_reboot;        /* -no-reboot: a guest reboot ends QEMU */
        bool paused;           /* -S: start with the CPUs stopped */
};

#define VM_DISK_PLACEHOLDER "%DISPOSABLE_DISK_PATH%"
#define VM_MAX_EXTRA_CDROMS 4
#define VM_DEFAULT_CPUS 1
#define VM_DEFAULT_RAM_MB 2048
#define VM_DEFAULT_VRAM_MB 16
#define VM_DEFAULT_NIC "rtl8139"
#define VM_DEFAULT_NIC_ADDR 3
#define VM_DEFAULT_BRIDGE "br0"
#define VM_DEFAULT_VNC_LISTEN "127.0.0.1"
#define VM_DEFAULT_BINARY "qemu-system-x86_64"

/* Defaults: cpus 1, ram 2048, qcow2, CD first, rtl8139 at addr 3, bridge, localtime,
 * restrict=on for user mode, accel AUTO. */
void vm_config_init(struct vm_config *c);
void vm_config_done(struct vm_config *c);
void vm_runtime_done(struct vm_runtime *rt);
/* Append a share / SMBIOS table (copies the strings). */
int vm_config_add_share(struct vm_config *c, const char *tag, const char *path, bool readonly);
int vm_config_add_smbios(struct vm_config *c, unsigned type, char *const *fields);

/* Version helpers. */
int qemu_version_cmp(const struct qemu_version *a, unsigned major, unsigned minor, unsigned micro);
static inline bool qemu_version_pre_4_1(const struct qemu_version *v) {
        return qemu_version_cmp(v, 4, 1, 0) < 0;
}
/* Parse "7.2.22" (also accepts "7.2"). */
int qemu_version_parse(const char *s, struct qemu_version *ret);

const char *vm_accel_to_string(enum vm_accel a);
int vm_accel_from_string(const char *s, enum vm_accel *ret);

/*
 * Key=value loader (used by the golden argv tests and the test driver; handy for
 * debugging). One "key=value" per line, '#' comments, blank lines ignored, repeatable
 * keys append. Keys: see conffile.c (every field above has one). rt and ret_purpose may
 * be NULL. On error returns -EINVAL and logs "FILE:LINE: reason".
 */
int vm_config_load(const char *path, struct vm_config *c, struct vm_runtime *rt, enum vm_argv_purpose *ret_purpose);
int vm_config_load_string(const char *text, const char *origin, struct vm_config *c, struct vm_runtime *rt,
                          enum vm_argv_purpose *ret_purpose);
