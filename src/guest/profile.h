/* OS profiles: what differs between guests (win7x64 ... win11x64, linux) is data plus one
 * media-building function. The pipeline (init/install/snapshot) only talks to this
 * interface and to the agent client; it never knows which OS it drives. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Everything init knows about the image it is about to install. */
struct install_params {
        const char *name;          /* image name */
        const char *hostname;      /* guest computer name */
        const char *ip;            /* guest address */
        unsigned prefix;           /* netmask length */
        const char *netmask;       /* dotted */
        const char *gateway;
        const char *dns;
        const char *dns2;
        uint16_t agent_port;
        const char *resolution;    /* "1024x768" */
        uint64_t disk_bytes;       /* virtual disk size */
        const char *workdir;       /* a fresh directory the profile may fill (removed by the caller) */
        const char *cache_dir;     /* ~/.vmcloak/cache: downloads kept between runs */
        /* linux profile */
        const char *kernel;        /* --kernel, or NULL: Debian linux-image-amd64 */
        const char *modules;       /* --modules, or NULL */
        const char *mac;           /* the NIC's MAC address, "52:54:00:12:34:56": Windows finds its adapter by it */
        /* windows profiles */
        const char *iso;           /* init --iso: the untouched install ISO (or a createiso output) */
        const char *iso_mount;     /* VMCloak's --iso-mount: a mounted install tree */
        const char *serial_key;    /* --serial-key, or NULL: the edition's public generic key */
        const char *product;       /* --product: edition name, EDITIONID, short name or index */
        const char *python_version;
        const char *user;          /* linux: an account besides root, or NULL; windows: the account
                                    * that logs on by itself (NULL: VMCloak's Administrator) */
        const char *password;
        const char *locale;        /* UI/user locale, "en-US" */
        const char *kblayout;      /* keyboard: input locale "0409:00000409" or a locale name */
        const char *timezone;      /* Windows time zone id, "W. Europe Standard Time" */
        bool uefi, secure_boot;    /* the machine boots UEFI (Secure Boot on) */
        bool tpm;                  /* the machine has a TPM 2.0; false on win11: Setup's LabConfig bypass */
        bool one_iso;              /* createiso: one bootable ISO holding everything (no config ISO) */
};

/* What the VM boots to install. */
struct install_media {
        char *boot_iso;            /* the installer's boot disc: built by the profile, or --iso */
        char *config_iso;          /* a second disc with the answer file, scripts and agent, or NULL */
        /* The installer's kernel booted directly (INSTALL_MEDIA_BOOT phases: the VM's direct kernel
         * boot, the boot disc still in its drive for the installer to read), or NULL kernel: the
         * boot disc boots. The linux profile: the uncompressed vmlinux, its initramfs, and the
         * command line its isolinux.cfg passes. */
        char *kernel, *initrd, *cmdline;
        char *kernel_version;      /* what was installed (linux), or NULL */
        /* What the media say is installed (windows), or NULL: recorded with the image. */
        char *os_build;            /* "19045" */
        char *os_edition;          /* EDITIONID, "Professional" */
        char *os_language;         /* "en-US" */
};

/*
 * The install as data: phases run in order by pipeline_init through any driver. A phase
 * either boots the machine (with the media it names in its CD-ROM drives, in the order
 * boot, config, user) or lets it run on from the previous phase, then waits for its signal:
 * the guest powering off, or its agent answering. Guest reboots are counted; more than
 * max_reboots fails the install (Setup restarting in a loop). Media named in eject_at_end
 * leave their drives when the phase ends (the machine still runs).
 */
enum install_media_kind {
        INSTALL_MEDIA_BOOT = 1 << 0,    /* install_media.boot_iso */
        INSTALL_MEDIA_CONFIG = 1 << 1,  /* install_media.config_iso */
        INSTALL_MEDIA_USER = 1 << 2,    /* init --cdrom ISOs */
};

enum install_until {
        INSTALL_UNTIL_POWEROFF,         /* the guest powers the machine off */
        INSTALL_UNTIL_AGENT,            /* the guest's agent answers (first logon) */
};

struct install_phase {
        const char *title;              /* progress line: "Installing the OS" */
        bool boot;                      /* start the machine (it must be off) */
        unsigned media;                 /* with boot: install_media_kind bits */
        bool reboot_ends;               /* with boot: a guest reboot powers the machine off */
        enum install_until until;
        unsigned max_reboots;
        unsigned eject_at_end;          /* install_media_kind bits (UNTIL_AGENT: the machine still runs) */
        bool serial_verdict;            /* the profile's serial markers decide success (UNTIL_POWEROFF) */
        /* with boot: for the first press_key_s seconds after power-on, press Enter about once a
         * second (a boot disc that asks "Press any key to boot from CD or DVD", as Windows'
         * efisys.bin does under UEFI: windows-verification.md §4); 0: no keys */
        unsigned press_key_s;
        /* What usually holds this phase when its screen sits still and the serial console says
         * nothing (the stuck report, pipeline/flow.c), NULL-terminated; NULL: none known */
        const char *const *stuck_causes;
};

/* The likely causes of a Windows Setup phase that sits at a dialog (for the Windows profiles'
 * first phase): a key that does not fit the edition, no disk, an answer file not found. */
extern const char *const install_causes_windows_setup[];

struct install_flow {
        const struct install_phase *phases;
        size_t n_phases;
};

void install_media_free(struct install_media *m);

/* Guest-side commands, run through the agent's /execute. Templates use {key} fields:
 * {ip} {prefix} {netmask} {gateway} {dns} {hostname} {width} {height} {path}. */
struct guest_commands {
        const char *set_network;   /* static IP; the agent's connection may drop */
        const char *set_hostname;
        const char *reboot;
        const char *poweroff;
        const char *shrink_memory; /* make free RAM zero pages before a memory snapshot */
        const char *set_resolution;/* NULL: not supported */
        const char *run_script;    /* how to run an uploaded script at {path} */
        const char *run_powershell;/* how to run an uploaded .ps1 at {path}; NULL: no PowerShell */
        const char *temp_dir;      /* where uploaded scripts go */
        const char *os_version;    /* prints the OS version on its first line (when the profile
                                    * has no fixed os_version), e.g. "uname -r" */
        /* Give the guest its own in-guest identity before a snapshot (issue 13): keys
         * {machine_id} (32 hex), {machine_guid} (UUID), {owner}, {install_date} (Unix seconds)
         * of cloak/hardware.h's struct hw_identity. NULL: the OS has none. */
        const char *set_identity;
        /* Run the cloak detector uploaded to {path} (cloak/scorecard.h); NULL: no detector. */
        const char *run_detector;
        /* Reseed the guest's random pool with {seed} (128 hex digits of the host's random bytes):
         * run first in each VM restored from a fleet's template (snapshot, issue 15), whose
         * clones would otherwise share the template's kernel RNG state. NULL: none. */
        const char *reseed;
        bool hostname_needs_reboot;
        /* snapshot --count N may boot the image once and make every VM from that saved state
         * (pipeline/snapshot_fleet.h): the running guest takes a new hostname, address and MAC
         * (set_network's {mac}) without a reboot, and reseed exists. */
        bool clone_fleet;
};

struct os_profile {
        const char *name;          /* CLI flag / osversion column: "linux", "win10x64" */
        const char *os_name;       /* machineinfo os_name: "linux" | "windows" */
        const char *os_version;    /* machineinfo os_version: "10", "7", "8.1"; NULL: ask the
                                    * guest (cmd.os_version; linux: its kernel release) */
        const char *arch;          /* "amd64" | "x86" */
        const char *servicepack;   /* image.servicepack column ("2" for Windows, VMCloak) */
        unsigned default_ram_mb;
        uint64_t default_disk_bytes;
        unsigned install_timeout_s;/* default --timeout for init */
        /* The OS's own minimums, refused by init before anything boots (0: none). Windows 11's
         * RAM and CPU checks are what --no-tpm's LabConfig keys bypass. */
        unsigned min_ram_mb, min_disk_gib, min_cpus;
        bool uefi;                 /* needs UEFI firmware */
        bool tpm;                  /* needs a TPM 2.0 */
        bool rtc_localtime;        /* Windows keeps the RTC in local time */
        const char *nic_model;     /* a NIC the OS has an inbox driver for (QEMU device name); NULL:
                                    * VMCloak's rtl8139 */
        bool iso_is_source;        /* init --iso is the OS's own install media, which build_media
                                    * reads (windows); else a finished install ISO booted as it is */
        char path_sep;             /* the guest's path separator: '/' or '\\' */
        struct install_flow install;
        struct guest_commands cmd;
        /* Serial console markers (NULL: the guest prints none). Lines starting with
         * serial_progress are progress worth showing; serial_install_done ends a good install,
         * serial_install_failed (followed by the failing step) a bad one, before power-off. */
        const char *serial_progress;
        const char *serial_install_done;
        const char *serial_install_failed;
        /* Build the install media into p->workdir. Returns 0 or a negative errno after
         * printing one line naming what is missing and how to get it. */
        int (*build_media)(const struct os_profile *self, const struct install_params *p,
                           struct install_media *ret);
};

/* All profiles, and lookup by name (NULL if unknown). */
const struct os_profile *os_profile_find(const char *name);
const struct os_profile *const *os_profiles(void);

/* Expand a {key} template; keys/values are parallel NULL-terminated arrays. Unknown keys
 * are an error (-EINVAL), so a typo in a profile cannot reach a guest. */
int guest_template_expand(const char *tmpl, const char *const *keys, const char *const *values, char **ret);
