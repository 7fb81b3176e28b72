/* The Windows OS profiles: win7x64, win81x64, win10x64 and win11x64.
 *
 * What differs between them is data (VMCloak's handler constants, vmcloak-spec.md §5.1, and
 * data/windows/); the media are built the same way for all four: the user's install source
 * (an untouched ISO, UDF or ISO 9660, or VMCloak's --iso-mount tree) is read without mounting
 * it, its editions are listed from install.wim/.esd/.swm, the edition and product key are
 * checked against each other before anything boots, and a small config ISO carries
 * autounattend.xml (Setup searches the root of every removable drive for it), the bootstrap
 * and the agent. The source ISO is attached read-only and never changed. */
#include "guest/windows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/progress.h"
#include "core/random.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "guest/unattend.h"
#include "guest/wim.h"
#include "guest/wincombine.h"
#include "guest/winconfig.h"
#include "guest/winedition.h"
#include "guest/winsrc.h"

/* One boot: Setup copies the image from the source, reboots into the installed system
 * (specialize, OOBE: two or three reboots), logs on by itself and runs the bootstrap, which
 * starts the agent. The media leave their drives once the agent answered. */
#define WINDOWS_PHASE(press_s)                                                                                    \
        {                                                                                                         \
                .title = "Installing Windows", .boot = true,                                                      \
                .media = INSTALL_MEDIA_BOOT | INSTALL_MEDIA_CONFIG | INSTALL_MEDIA_USER,                          \
                .until = INSTALL_UNTIL_AGENT, .max_reboots = 8,                                                   \
                .eject_at_end = INSTALL_MEDIA_BOOT | INSTALL_MEDIA_CONFIG | INSTALL_MEDIA_USER,                   \
                .press_key_s = (press_s), .stuck_causes = install_causes_windows_setup,                           \
        }

/* BIOS: etfsboot.com boots the CD without asking while the disk holds no system. */
static const struct install_phase windows_bios_install[] = { WINDOWS_PHASE(0) };
/* UEFI: efisys.bin asks "Press any key to boot from CD or DVD" for about 5 s; unanswered, the
 * firmware tries the (empty) disk. Keys are sent through the first boot only, never after a
 * reboot (a key then would start Setup again). */
static const struct install_phase windows_uefi_install[] = { WINDOWS_PHASE(WINDOWS_PRESS_KEY_S) };

/* A clone's own in-guest identity (issue 13), before its memory snapshot: what Windows keeps
 * per install and any program reads without privileges. MachineGuid (CryptoAPI's, used by
 * software as a machine id), RegisteredOwner and InstallDate (REG_DWORD Unix seconds, what
 * systeminfo and Win32_OperatingSystem show), and the telemetry client's MachineId (a braced
 * GUID; the one id the OS writes for itself that is not tied to activation). All are plain
 * values read when used, so changing them on the running system is safe. Left alone: the
 * machine SID (sysprep only), ProductId/DigitalProductId (activation), InstallTime (a FILETIME
 * the template cannot compute), the C: volume serial (in the NTFS boot sector). /reg:64: the
 * 64-bit view whatever the caller's bitness. reg.exe ships with every Windows and Wine. */
#define WINDOWS_SET_IDENTITY                                                                                      \
        "cmd /c reg add \"HKLM\\SOFTWARE\\Microsoft\\Cryptography\" /v MachineGuid /t REG_SZ /d {machine_guid} /f "     \
        "/reg:64 && reg add \"HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\" /v RegisteredOwner /t REG_SZ " \
        "/d \"{owner}\" /f /reg:64 && reg add \"HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\" "           \
        "/v InstallDate /t REG_DWORD /d {install_date} /f /reg:64 && reg add "                                   \
        "\"HKLM\\SOFTWARE\\Microsoft\\SQMClient\" /v MachineId /t REG_SZ /d {{{machine_guid}}} /f /reg:64"
/* The cloak detector (data/cloak/detect-windows.js, uploaded as detect.js): JScript through
 * cscript, present from Windows 7 to 11 and in Wine. The .js name picks the engine: Wine 8's
 * cscript runs nothing at all when given //E:JScript. */
#define WINDOWS_RUN_DETECTOR "cscript //nologo \"{path}\""

/* Guest commands run through the agent (cmd.exe command lines). The network moves to the
 * adapter found by MAC address, never by its localised name ("Ethernet", "LAN-Verbindung"):
 * the agent's own netcfg subcommand does that ({agent} is the agent's path, from /path).
 * Before the memory snapshot the agent's memprep subcommand purges the standby list (the file
 * cache) and waits for the zero-page thread (docs/windows.md, "Memory before the snapshot"). */
#define WINDOWS_COMMANDS                                                                                          \
        {                                                                                                         \
                .set_network = "\"{agent}\" netcfg --mac {mac} --ip {ip}/{prefix} --gateway {gateway} "           \
                               "--dns {dns}",                                                                     \
                .set_hostname = "powershell -NoProfile -NonInteractive -Command "                                 \
                                "\"(Get-WmiObject Win32_ComputerSystem).Rename('{hostname}')\"",                  \
                .reboot = "shutdown /r /t 1", .poweroff = "shutdown /s /t 0",                                     \
                .shrink_memory = "\"{agent}\" memprep",                                                         \
                .set_resolution = NULL, .run_script = "cmd /c \"{path}\"", .temp_dir = "C:\\Windows\\Temp",       \
                /* cmd would hand a .ps1 to its file association (Notepad) and report 0 */                      \
                .run_powershell = "powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \"{path}\"", \
                .os_version = "cmd /c ver", .set_identity = WINDOWS_SET_IDENTITY,                                 \
                .run_detector = WINDOWS_RUN_DETECTOR, .hostname_needs_reboot = true,                              \
        }

#define WINDOWS_PROFILE(n, ver, ram, disk_gib, cpus, firmware_uefi, with_tpm, nic, flow)                          \
        {                                                                                                         \
                .name = n, .os_name = "windows", .os_version = ver, .arch = "amd64", .servicepack = "2",          \
                .default_ram_mb = ram, .default_disk_bytes = UINT64_C(256) << 30, .min_ram_mb = ram,              \
                .min_disk_gib = disk_gib, .min_cpus = cpus,                                                       \
                .install_timeout_s = WINDOWS_INSTALL_TIMEOUT_S, .uefi = firmware_uefi, .tpm = with_tpm,           \
                .rtc_localtime = true, .nic_model = nic, .iso_is_source = true, .path_sep = '\\',                 \
                .install = { flow, ELEMENTSOF(flow) },                                                            \
                .cmd = WINDOWS_COMMANDS, .serial_progress = WIN_SERIAL_PROGRESS,                                  \
                .serial_install_done = NULL, .serial_install_failed = WIN_SERIAL_FAILED,                          \
                .build_media = build_windows_media,                                                               \
        }

static int build_windows_media(const struct os_profile *self, const struct install_params *p,
                               struct install_media *ret);

/* Minimums: Microsoft's system requirements for the x64 editions (RAM 2 GB, disk 20 GB; Windows 10
 * since 1903 32 GB; Windows 11 4 GB, 64 GB, 2 cores). Cuckoo3 knows Windows 7 and 10 (os_version
 * "7", "10"); 8.1 and 11 follow the same rule. The
 * NIC: Intel's 82540EM (e1000) for Windows 7, the 82574L (e1000e) from Windows 8 on: Intel
 * NICs with inbox drivers, what virt-manager picks for these versions (VMCloak used rtl8139). */
const struct os_profile os_profile_win7x64 =
        WINDOWS_PROFILE("win7x64", "7", 2048, 20, 1, false, false, "e1000", windows_bios_install);
const struct os_profile os_profile_win81x64 =
        WINDOWS_PROFILE("win81x64", "8.1", 2048, 20, 1, false, false, "e1000e", windows_bios_install);
const struct os_profile os_profile_win10x64 =
        WINDOWS_PROFILE("win10x64", "10", 2048, 32, 1, false, false, "e1000e", windows_bios_install);
const struct os_profile os_profile_win11x64 =
        WINDOWS_PROFILE("win11x64", "11", 4096, 64, 2, true, true, "e1000e", windows_uefi_install);

/* A folder with at least one entry (VMCloak's pickmount: "an existing directory and non-empty"). */
static bool dir_has_entries(const char *path) {
        DIR *d = opendir(path);
        if (!d)
                return false;
        bool found = false;
        for (struct dirent *e; !found && (e = readdir(d));)
                found = !streq(e->d_name, ".") && !streq(e->d_name, "..");
        closedir(d);
        return found;
}

/* VMCloak's mount points, tried in order after --iso-mount (vmcloak-spec.md §5.1). */
static int default_source(const struct os_profile *self, char **ret) {
        char a[64], b[64];
        snprintf(a, sizeof a, "/mnt/%s", self->name);
        snprintf(b, sizeof b, "/mnt/%.*s", (int)strcspn(self->name, "x"), self->name); /* win10x64 -> win10 */
        const char *cands[] = { a, b };
        for (size_t i = 0; i < ELEMENTSOF(cands); i++)
                if (is_dir(cands[i]) && dir_has_entries(cands[i]))
                        return (*ret = strdup(cands[i])) ? 0 : log_oom();
        log_error("no Windows install media: pass the ISO with --iso PATH (it is read as it is, no mount needed), "
                  "or a mounted tree with --iso-mount DIR (%s and %s are empty or missing)", a, b);
        return -ENOENT;
}

/* The edition. From the WIM's XML when the media have one: --product picks it (without it
 * VMCloak's preference), and the list is shown so the choice is visible. Without a readable
 * WIM, VMCloak's sources/product.ini rule gives a NAME and nothing else is known. */
static int pick_edition(const struct os_profile *self, const struct install_params *p, struct win_source *src,
                        struct wim_image_list *images, const struct wim_image **ret_img, char **ret_name) {
        int r = wim_images_read(src, images);
        if (r == -ENOENT) {
                r = win_product_ini_pick(src, self->name, p->product, ret_name);
                if (r < 0)
                        return r;
                log_warning("%s has no sources/install.wim, .esd or .swm to read editions from: asking Setup for "
                            "\"%s\" (VMCloak's product.ini rule), unchecked", win_source_path(src), *ret_name);
                return 0;
        }
        if (r < 0)
                return r;
        const struct wim_image *img = wim_image_pick(images, self->name, p->product);
        if (!img)
                return -EINVAL;
        if (!p->product && images->n > 1) {
                _cleanup_free_ char *list = wim_image_list_format(images);
                log_info("Editions on %s:\n%s", win_source_path(src), strempty(list));
        }
        log_info("Installing image %u \"%s\" (%s, build %u, %s)%s", img->index, img->name, strempty(img->edition_id),
                 (unsigned)img->build, strempty(img->language), p->product ? "" : "; --product picks another");
        *ret_img = img;
        return 0;
}

/* The product key: --serial-key checked against the edition, else the edition's public generic
 * key; evaluation media take none. A key for another edition is refused here: Setup would wait
 * at its key page forever. */
static int pick_key(const struct os_profile *self, const struct install_params *p, const struct wim_image *img,
                    const char **ret) {
        const char *edition = img ? img->edition_id : NULL;
        if (p->serial_key) {
                if (!img) {
                        if (!win_key_syntax_ok(p->serial_key)) {
                                log_error("--serial-key %s is not a product key (five groups of five letters and "
                                          "digits, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)", p->serial_key);
                                return -EINVAL;
                        }
                } else {
                        int r = win_key_check(self->name, edition, p->serial_key);
                        if (r < 0)
                                return r;
                        if (r == WIN_KEY_UNCHECKED)
                                log_warning("--serial-key is not one of the public keys vmcloak knows: it cannot be "
                                            "checked against the edition \"%s\" before Setup runs", img->name);
                }
                *ret = p->serial_key;
                return 0;
        }
        if (img && img->evaluation) {
                *ret = NULL;
                return 0;
        }
        const char *key = edition ? win_key_default(self->name, edition) : NULL;
        if (!key && !img) {
                const char *const *pref;
                const char *prefix, *arch;
                if (win_os_info(self->name, &prefix, &arch, &pref) == 0 && pref && pref[0])
                        key = win_key_default(self->name, win_edition_from_short(self->name, pref[0]));
        }
        if (!key && streq(self->name, "win7x64")) {
                /* Windows 7 Setup installs without a key (30 days unactivated); VMCloak's one
                 * generic key is Enterprise's, which other editions refuse. */
                log_warning("no public key is known for \"%s\": installing it without a product key (Windows 7 "
                            "then runs unactivated for 30 days; --serial-key gives yours)", img ? img->name : "?");
                *ret = NULL;
                return 0;
        }
        if (!key) {
                log_error("no public generic key is known for the edition \"%s\" (%s): pass its key with "
                          "--serial-key, or pick another edition with --product",
                          img ? img->name : "?", strempty(edition));
                return -EINVAL;
        }
        *ret = key;
        return 0;
}

/* Media Setup can boot with the profile's firmware: an El Torito image for BIOS or for UEFI. */
static int check_bootable(const struct os_profile *self, struct win_source *src) {
        _cleanup_(win_boot_images_done) struct win_boot_images b = { 0 };
        int r = win_source_boot_images(src, &b);
        if (r < 0)
                return r;
        bool ok = self->uefi ? b.uefi.present : b.bios.present;
        if (!ok) {
                log_error("%s has no %s boot image (El Torito): it is not bootable Windows install media for --%s",
                          win_source_path(src), self->uefi ? "UEFI" : "BIOS", self->name);
                return -EMEDIUMTYPE;
        }
        return 0;
}

/* settings.ini of a createiso output: "KEY=value" lines (CRLF). NULL when absent. */
static char *settings_value(const char *text, const char *key) {
        size_t kl = strlen(key);
        for (const char *l = text; l && *l;) {
                if (strncmp(l, key, kl) == 0 && l[kl] == '=')
                        return strndup(l + kl + 1, strcspn(l + kl + 1, "\r\n"));
                const char *nl = strchr(l, '\n');
                l = nl ? nl + 1 : NULL;
        }
        return NULL;
}

/* A prepared ISO (answer file at its root) must be vmcloak's and made for this machine: its
 * bootstrap configures the NIC with the MAC it was made for, at its address and agent port.
 * Anything else would boot and leave init waiting for an agent that never answers. */
static int check_prepared(const struct os_profile *self, const struct install_params *p, struct win_source *src,
                          const void *answer, size_t answer_len) {
        _cleanup_free_ void *data = NULL;
        size_t len = 0;
        int r = win_source_read(src, "vmcloak/settings.ini", &data, &len, 64 * 1024);
        if (r == -ENOENT || !win_source_exists(src, "vmcloak/bootstrap.cmd")) {
                log_error("%s holds an answer file but no vmcloak bootstrap: its Setup would never start vmcloak's "
                          "agent. Give init the untouched Microsoft ISO, or an ISO made by 'vmcloak createiso'",
                          p->iso);
                return -EMEDIUMTYPE;
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *text = strndup(data, len);
        if (!text)
                return log_oom();
        _cleanup_free_ char *mac = settings_value(text, "MAC"), *ip = settings_value(text, "IP"),
                            *port = settings_value(text, "AGENT_PORT"), *gw = settings_value(text, "GATEWAY"),
                            *dns = settings_value(text, "DNS");
        char want_ip[64], want_port[8];
        snprintf(want_ip, sizeof want_ip, "%s/%u", strempty(p->ip), p->prefix);
        snprintf(want_port, sizeof want_port, "%u", p->agent_port);
        bool mac_ok = mac && p->mac && strcasecmp(mac, p->mac) == 0;
        if (!mac_ok || !streq_ptr(ip, want_ip) || !streq_ptr(port, want_port) || !streq_ptr(gw, p->gateway) ||
            !streq_ptr(dns, p->dns)) {
                _cleanup_free_ char *ip_only = ip ? strndup(ip, strcspn(ip, "/")) : NULL;
                struct ipv4_net n = { 0 };
                char net[16] = "?";
                if (ip && parse_cidr(ip, &n) == 0)
                        format_ipv4(ipv4_network(&n), net);
                log_error("%s was made by createiso for MAC %s, address %s, gateway %s, DNS %s, agent port %s: run "
                          "init with --mac %s --ip %s --network %s/%u --gateway %s --dns %s --port %s", p->iso,
                          strempty(mac), strempty(ip), strempty(gw), strempty(dns), strempty(port), strempty(mac),
                          strempty(ip_only), net, n.prefix, strempty(gw), strempty(dns), strempty(port));
                return -EINVAL;
        }
        /* Windows 11: a disc made for a TPM has no LabConfig keys; without a TPM its Setup stops. */
        if (self->tpm && !p->tpm && !memmem(answer, answer_len, "BypassTPMCheck", strlen("BypassTPMCheck"))) {
                log_error("%s was made for a machine with a TPM (no LabConfig bypass keys in its answer file): run "
                          "init without --no-tpm, or make the ISO with 'createiso --no-tpm'", p->iso);
                return -EINVAL;
        }
        if (p->product || p->serial_key || p->user || p->password || p->hostname || p->locale || p->kblayout ||
            p->timezone)
                log_warning("%s carries its own answer file: --product, --serial-key, --username, --password, "
                            "--hostname, --locale, --kblayout and --timezone were fixed when it was made (createiso) "
                            "and are ignored now", p->iso);
        return 0;
}

/* A combined ISO is ISO 9660 + Joliet (libisofs writes no UDF): a file over 4 GiB becomes a
 * multi-extent file, which Windows' own reader may not follow. */
static void warn_big_wim(struct win_source *src, const struct wim_image_list *images) {
        const char *wim = images->path;
        _cleanup_win_file_ struct win_file *f = NULL;
        if (!wim || win_file_open(src, wim, &f) < 0)
                return;
        if (win_file_size(f) >= (UINT64_C(4) << 30))
                log_warning("%s is over 4 GiB: the ISO vmcloak writes holds it as a multi-extent ISO 9660 file, which "
                            "Windows Setup may not read; prefer 'init --iso' with the untouched Microsoft ISO",
                            wim);
}

/* The /IMAGE/NAME an answer file (data, len) installs (its InstallFrom MetaData value), or NULL. */
static char *answer_image_name(const void *data, size_t len) {
        xmlDocPtr doc = xmlReadMemory(data, (int)len, "autounattend.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                                              XML_PARSE_NOWARNING);
        if (!doc)
                return NULL;
        char *name = NULL;
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression(
                                            (const xmlChar *)"string(//*[local-name()='MetaData'][*[local-name()='Key' "
                                                             "and text()='/IMAGE/NAME']]/*[local-name()='Value'])",
                                            ctx)
                                  : NULL;
        if (o && o->type == XPATH_STRING && o->stringval && *o->stringval)
                name = strdup((const char *)o->stringval);
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        xmlFreeDoc(doc);
        return name;
}

/* What the media say will be installed, recorded with the image. */

static int media_facts(const struct wim_image *img, struct install_media *m) {
        if (!img)
                return 0;
        if (img->build && asprintf(&m->os_build, "%u", (unsigned)img->build) < 0)
                return log_oom();
        if ((img->edition_id && !(m->os_edition = strdup(img->edition_id))) ||
            (img->language && !(m->os_language = strdup(img->language))))
                return log_oom();
        return 0;
}

static int write_media(const struct os_profile *self, const struct install_params *p, struct win_source *src,
                       const struct wim_image_list *images, const struct win_config *cfg, struct install_media *m) {
        struct progress pr;
        int r;
        if (p->one_iso || !p->iso) {
                /* One bootable ISO: the source's files and the config folder (createiso, --iso-mount). */
                warn_big_wim(src, images);
                _cleanup_free_ char *cdir = path_join(p->workdir, "config"), *out = path_join(p->workdir, "install.iso");
                if (!cdir || !out)
                        return log_oom();
                if (mkdir(cdir, 0700) < 0)
                        return log_error_errno(-errno, "cannot create %s: %m", cdir);
                progress_begin(&pr, "Building the Windows install ISO");
                r = win_config_write_dir(cdir, cfg);
                if (r >= 0)
                        r = win_iso_combine(src, cdir, out, NULL);
                progress_end(&pr, r == -ECANCELED ? "interrupted" : r < 0 ? "failed" : "done");
                if (r >= 0)
                        m->boot_iso = TAKE_PTR(out);
                return r;
        }
        _cleanup_free_ char *out = path_join(p->workdir, "config.iso");
        if (!out)
                return log_oom();
        progress_begin(&pr, "Building the config ISO (answer file, bootstrap, agent)");
        r = win_config_iso_build(out, cfg);
        progress_end(&pr, r == -ECANCELED ? "interrupted" : r < 0 ? "failed" : "done");
        if (r < 0)
                return r;
        m->config_iso = TAKE_PTR(out);
        /* The user's ISO, attached read-only as it is. */
        (void)self;
        return (m->boot_iso = strdup(p->iso)) ? 0 : log_oom();
}

static int build_windows_media(const struct os_profile *self, const struct install_params *p,
                               struct install_media *ret) {
        if (isempty(p->workdir) || !is_dir(p->workdir)) {
                log_error("internal error: the Windows profiles need a work folder");
                return -EINVAL;
        }
        if (p->python_version)
                log_warning("--python-version has no effect: vmcloak bakes no Python into Windows images (the "
                            "agent needs none); install one as a dependency once the image exists");
        _cleanup_free_ char *srcpath = NULL;
        int r;
        if (p->iso)
                srcpath = strdup(p->iso);
        else if (p->iso_mount)
                srcpath = strdup(p->iso_mount);
        else if ((r = default_source(self, &srcpath)) < 0)
                return r;
        if (!srcpath)
                return log_oom();
        if (!p->iso && p->iso_mount && !is_dir(p->iso_mount)) {
                log_error("--iso-mount %s is not a folder: give the mounted or unpacked install tree, or the ISO file "
                          "with --iso", p->iso_mount);
                return -ENOTDIR;
        }
        if (p->iso && is_dir(p->iso)) {
                log_error("--iso %s is a folder: --iso takes the ISO file, --iso-mount a mounted or unpacked tree",
                          p->iso);
                return -EISDIR;
        }
        _cleanup_win_source_ struct win_source *src = NULL;
        if ((r = win_source_open(srcpath, &src)) < 0)
                return r;
        if ((r = check_bootable(self, src)) < 0)
                return r;
        _cleanup_(install_media_free) struct install_media m = { 0 };
        _cleanup_(wim_image_list_done) struct wim_image_list images = { 0 };
        /* A createiso output carries its own answer file: it boots alone, with what it was made for. */
        _cleanup_free_ void *answer = NULL;
        size_t answer_len = 0;
        if (p->iso && !p->one_iso &&
            (r = win_source_read(src, "autounattend.xml", &answer, &answer_len, 1024 * 1024)) != -ENOENT) {
                if (r < 0)
                        return r;
                if ((r = check_prepared(self, p, src, answer, answer_len)) < 0)
                        return r;
                /* The edition it installs must be the profile's Windows (a win10 disc under
                 * --win11x64 would boot with the wrong firmware and answers). */
                _cleanup_free_ char *name = answer_image_name(answer, answer_len);
                const struct wim_image *img = NULL;
                if (name && (r = wim_images_read(src, &images)) < 0 && r != -ENOENT)
                        return r;
                if (name && images.n && !(img = wim_image_pick(&images, self->name, name)))
                        return -EMEDIUMTYPE;
                log_info("%s was made by createiso: booting it as it is", p->iso);
                if ((r = media_facts(img, &m)) < 0)
                        return r;
                if (!(m.boot_iso = strdup(p->iso)))
                        return log_oom();
                *ret = m;
                m = (struct install_media){ 0 };
                return 0;
        }
        const struct wim_image *img = NULL;
        _cleanup_free_ char *ini_name = NULL;
        if ((r = pick_edition(self, p, src, &images, &img, &ini_name)) < 0)
                return r;
        /* Keys are case-insensitive; the answer file takes them upper-case. */
        _cleanup_free_ char *given_key = p->serial_key ? strdup(p->serial_key) : NULL;
        if (p->serial_key && !given_key)
                return log_oom();
        for (char *c = given_key; c && *c; c++)
                if (*c >= 'a' && *c <= 'z')
                        *c = (char)(*c - 'a' + 'A');
        struct install_params pk = *p;
        pk.serial_key = given_key;
        const char *key = NULL;
        if ((r = pick_key(self, &pk, img, &key)) < 0)
                return r;
        if ((r = media_facts(img, &m)) < 0)
                return r;
        _cleanup_free_ char *cname = p->hostname ? strdup(p->hostname) : win_computer_name_random(self->name);
        if (!cname)
                return log_oom();
        unsigned w = 0, h = 0;
        if (p->resolution)
                parse_resolution(p->resolution, &w, &h);
        const struct win_config cfg = {
                .unattend = {
                        .os = self->name, .arch = self->arch, .uefi = p->uefi, .bypass_checks = self->tpm && !p->tpm,
                        .image_name = img ? img->name : ini_name, .image_index = img ? img->index : 0,
                        .product_key = key, .user = p->user ? p->user : "Administrator",
                        .password = p->password ? p->password : "cuckoo", .computer_name = cname,
                        /* Setup shows the image's own language; --locale sets formats only. */
                        .ui_language = img && img->language ? img->language : p->locale ? p->locale : "en-US",
                        .user_locale = p->locale, .input_locale = p->kblayout ? p->kblayout : p->locale,
                        .timezone = p->timezone ? p->timezone : "W. Europe Standard Time", .width = w, .height = h,
                },
                .mac = p->mac, .ip = p->ip, .prefix = p->prefix, .gateway = p->gateway, .dns = p->dns,
                .dns2 = p->dns2, .agent_port = p->agent_port,
        };
        if ((r = write_media(self, p, src, &images, &cfg, &m)) < 0)
                return r;
        *ret = m;
        m = (struct install_media){ 0 };
        return 0;
}
