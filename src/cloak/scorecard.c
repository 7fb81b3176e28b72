/* The scorecard's host side: the detector's output parsed and checked, kept as JSON, printed,
 * compared; and the table of tells a QEMU 7.2 command line cannot hide. */
#include "cloak/scorecard.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"

#define DETECTOR_MAGIC "vmcloak-detector"
#define SEEN_MAX 200

static const char *const verdict_names[] = {
        [CLOAK_HIDDEN] = "hidden",
        [CLOAK_DETECTED] = "detected",
        [CLOAK_SKIPPED] = "skipped",
};

const char *cloak_verdict_to_string(enum cloak_verdict v) {
        return (size_t)v < ELEMENTSOF(verdict_names) ? verdict_names[v] : NULL;
}

static int verdict_from_string(const char *s, enum cloak_verdict *ret) {
        for (size_t i = 0; i < ELEMENTSOF(verdict_names); i++)
                if (streq(s, verdict_names[i])) {
                        *ret = (enum cloak_verdict)i;
                        return 0;
                }
        return -EINVAL;
}

void scorecard_done(struct scorecard *s) {
        if (!s)
                return;
        free(s->name);
        free(s->os);
        free(s->detector_version);
        for (size_t i = 0; i < s->n_checks; i++) {
                free(s->checks[i].name);
                free(s->checks[i].seen);
        }
        free(s->checks);
        *s = (struct scorecard){ 0 };
}

static bool check_name_ok(const char *n) {
        if (!*n)
                return false;
        for (const char *p = n; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
                        return false;
        return true;
}

static bool word_ok(const char *w) {
        if (!*w)
                return false;
        for (const char *p = w; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

static const struct cloak_check *find_check(const struct scorecard *s, const char *name) {
        for (size_t i = 0; i < s->n_checks; i++)
                if (streq(s->checks[i].name, name))
                        return &s->checks[i];
        return NULL;
}

/* Appends a check (copies) and counts its verdict. */
static int add_check(struct scorecard *s, const char *name, enum cloak_verdict v, const char *seen) {
        struct cloak_check *n = reallocarray(s->checks, s->n_checks + 1, sizeof *n);
        if (!n)
                return -ENOMEM;
        s->checks = n;
        struct cloak_check c = { .name = strdup(name), .verdict = v, .seen = strdup(seen) };
        if (!c.name || !c.seen) {
                free(c.name);
                free(c.seen);
                return -ENOMEM;
        }
        s->checks[s->n_checks++] = c;
        *(v == CLOAK_HIDDEN ? &s->hidden : v == CLOAK_DETECTED ? &s->detected : &s->skipped) += 1;
        return 0;
}

static int bad_line(unsigned line, const char *fmt, const char *arg) {
        char why[256];
        snprintf(why, sizeof why, fmt, arg);
        log_error("detector output line %u: %s", line, why);
        return -EBADMSG;
}

/* "vmcloak-detector <os> <version>" */
static int parse_header(char *line, struct scorecard *s) {
        char *os = startswith(line, DETECTOR_MAGIC " ") ? line + strlen(DETECTOR_MAGIC " ") : NULL;
        char *sp = os ? strchr(os, ' ') : NULL;
        if (!sp)
                return bad_line(1, "'%.60s' is not 'vmcloak-detector OS VERSION' (is this a vmcloak detector?)", line);
        *sp = 0;
        const char *version = sp + 1;
        if (!word_ok(os) || !word_ok(version))
                return bad_line(1, "'%.60s' is not 'vmcloak-detector OS VERSION'", line);
        if (!(s->os = strdup(os)) || !(s->detector_version = strdup(version)))
                return -ENOMEM;
        return 0;
}

/* "<check>\t<verdict>\t<seen>" */
static int parse_check(char *line, unsigned no, struct scorecard *s) {
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2)
                return bad_line(no, "'%.60s' is not CHECK<tab>VERDICT<tab>SEEN", line);
        *t1 = *t2 = 0;
        const char *name = line, *verdict = t1 + 1, *seen = t2 + 1;
        enum cloak_verdict v;
        if (!check_name_ok(name))
                return bad_line(no, "check name '%.60s' is not [a-z0-9_.]+", name);
        if (find_check(s, name))
                return bad_line(no, "check %.60s appears twice", name);
        if (verdict_from_string(verdict, &v) < 0)
                return bad_line(no, "verdict '%.60s' is not hidden, detected or skipped", verdict);
        if (strchr(seen, '\t'))
                return bad_line(no, "check %.60s: a tab in what it saw (the detector must replace tabs)", name);
        if (strlen(seen) > SEEN_MAX)
                return bad_line(no, "check %.60s: what it saw is longer than 200 bytes", name);
        return add_check(s, name, v, seen);
}

int scorecard_parse(const char *output, struct scorecard *ret) {
        _cleanup_free_ char *copy = strdup(output ? output : "");
        if (!copy)
                return log_oom();
        struct scorecard s = { 0 };
        unsigned no = 0;
        int r = 0;
        char *p = copy;
        /* The last line's end is optional; a line end after it is not an empty line. */
        while (r == 0 && *p) {
                char *nl = strchr(p, '\n');
                if (nl)
                        *nl = 0;
                no++;
                size_t l = strlen(p);
                if (l > 0 && p[l - 1] == '\r')   /* cscript writes CRLF */
                        p[--l] = 0;
                if (no == 1)
                        r = parse_header(p, &s);
                else if (l == 0)
                        r = bad_line(no, "%sempty line", "");
                else
                        r = parse_check(p, no, &s);
                p = nl ? nl + 1 : p + l;
        }
        if (r == 0 && no == 0)
                r = bad_line(1, "%sthe detector printed nothing", "");
        else if (r == 0 && s.n_checks == 0)
                r = bad_line(no + 1, "%sno checks after the first line", "");
        if (r == -ENOMEM)
                log_oom();
        if (r < 0) {
                scorecard_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int scorecard_to_json(const struct scorecard *s, char **ret) {
        json_object *root = json_object_new_object(), *checks = json_object_new_array();
        if (!root || !checks) {
                json_object_put(root);
                json_object_put(checks);
                return log_oom();
        }
        /* json-c writes a NULL value as null: --agent's guest has no name, a check no limit. */
        json_object_object_add(root, "name", s->name ? json_object_new_string(s->name) : NULL);
        json_object_object_add(root, "os", json_object_new_string(strempty(s->os)));
        json_object_object_add(root, "detector_version", json_object_new_string(strempty(s->detector_version)));
        json_object_object_add(root, "hidden", json_object_new_int((int)s->hidden));
        json_object_object_add(root, "detected", json_object_new_int((int)s->detected));
        json_object_object_add(root, "skipped", json_object_new_int((int)s->skipped));
        for (size_t i = 0; i < s->n_checks; i++) {
                json_object *c = json_object_new_object();
                if (!c || json_object_array_add(checks, c) < 0) {
                        json_object_put(c);
                        json_object_put(checks);
                        json_object_put(root);
                        return log_oom();
                }
                json_object_object_add(c, "name", json_object_new_string(s->checks[i].name));
                json_object_object_add(c, "verdict",
                                       json_object_new_string(cloak_verdict_to_string(s->checks[i].verdict)));
                json_object_object_add(c, "seen", json_object_new_string(s->checks[i].seen));
                const char *limit = cloak_check_limit(s->checks[i].name), *hint = cloak_check_hint(s->checks[i].name);
                json_object_object_add(c, "limit", limit ? json_object_new_string(limit) : NULL);
                json_object_object_add(c, "hint", hint ? json_object_new_string(hint) : NULL);
        }
        json_object_object_add(root, "checks", checks);
        char *t = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        if (!t)
                return log_oom();
        *ret = t;
        return 0;
}

static const char *json_str(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

/* The counts are recomputed from the checks, so a hand-edited column cannot disagree with them. */
int scorecard_from_json(const char *text, struct scorecard *ret) {
        json_object *root = json_tokener_parse(text ? text : "");
        json_object *checks = NULL;
        const char *os = root ? json_str(root, "os") : NULL;
        const char *version = root ? json_str(root, "detector_version") : NULL;
        const char *checked = root ? json_str(root, "name") : NULL;
        struct scorecard s = { 0 };
        int r = 0;
        if (!os || !version || !json_object_object_get_ex(root, "checks", &checks) ||
            !json_object_is_type(checks, json_type_array))
                r = -EINVAL;
        else if (!(s.os = strdup(os)) || !(s.detector_version = strdup(version)) || (checked && !(s.name = strdup(checked))))
                r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < json_object_array_length(checks); i++) {
                json_object *c = json_object_array_get_idx(checks, i);
                const char *name = json_str(c, "name"), *verdict = json_str(c, "verdict"), *seen = json_str(c, "seen");
                enum cloak_verdict v;
                if (!name || !verdict || !seen || !check_name_ok(name) || find_check(&s, name) ||
                    verdict_from_string(verdict, &v) < 0)
                        r = -EINVAL;
                else
                        r = add_check(&s, name, v, seen);
        }
        json_object_put(root);
        if (r == -ENOMEM)
                log_oom();
        if (r < 0) {
                scorecard_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int scorecard_print(const struct scorecard *s, FILE *f, bool color) {
        size_t width = 0;
        for (size_t i = 0; i < s->n_checks; i++)
                if (strlen(s->checks[i].name) > width)
                        width = strlen(s->checks[i].name);
        bool any_limit = false;
        fprintf(f, "%s detector %s\n", strempty(s->os), strempty(s->detector_version));
        for (size_t i = 0; i < s->n_checks; i++) {
                const struct cloak_check *c = &s->checks[i];
                const char *v = cloak_verdict_to_string(c->verdict);
                bool limit = cloak_check_limit(c->name) != NULL;
                any_limit = any_limit || limit;
                const char *on = !color                         ? ""
                                 : c->verdict == CLOAK_HIDDEN   ? "\033[32m"
                                 : c->verdict == CLOAK_DETECTED ? "\033[31m"
                                                                : "\033[33m";
                /* "detected*": a tell the command line cannot hide (the note below says what would). */
                fprintf(f, "  %s%s%s%s%*s %-*s  %s\n", on, v, color ? "\033[0m" : "", limit ? "*" : "",
                        (int)(9 - strlen(v) - (limit ? 1 : 0)), "", (int)width, c->name, c->seen);
        }
        fprintf(f, "%u hidden, %u detected, %u skipped\n", s->hidden, s->detected, s->skipped);
        if (any_limit) {
                fputs("* not hidden by a QEMU 7.2 command line; what it would take:\n", f);
                for (size_t i = 0; i < s->n_checks; i++) {
                        const char *l = cloak_check_limit(s->checks[i].name);
                        if (l)
                                fprintf(f, "  %-*s  %s\n", (int)width, s->checks[i].name, l);
                }
        }
        bool any_hint = false;
        for (size_t i = 0; i < s->n_checks && !any_hint; i++)
                any_hint = s->checks[i].verdict == CLOAK_DETECTED && cloak_check_hint(s->checks[i].name);
        if (any_hint) {
                fputs("detected, and how to hide it:\n", f);
                for (size_t i = 0; i < s->n_checks; i++) {
                        const char *h = cloak_check_hint(s->checks[i].name);
                        if (h && s->checks[i].verdict == CLOAK_DETECTED)
                                fprintf(f, "  %-*s  %s\n", (int)width, s->checks[i].name, h);
                }
        }
        return ferror(f) ? -EIO : 0;
}

bool scorecard_worse(const struct scorecard *s, const struct scorecard *base, const char **ret_check) {
        for (size_t i = 0; i < s->n_checks; i++) {
                if (s->checks[i].verdict != CLOAK_DETECTED)
                        continue;
                const struct cloak_check *b = find_check(base, s->checks[i].name);
                if (b && b->verdict == CLOAK_HIDDEN) {
                        if (ret_check)
                                *ret_check = s->checks[i].name;
                        return true;
                }
        }
        return false;
}

/* Each entry was seen on the linux guest under QEMU 7.2 (q35, SeaBIOS) with every knob of a
 * hardware profile applied (the scorecards in docs/cloaking.md), and read back in QEMU's source
 * (hw/nvram/fw_cfg.c, hw/display/vga-pci.c, hw/pci/pci.c's default subsystem ids,
 * hw/ide/atapi.c's INQUIRY, hw/acpi/aml-build.c's creator id); the HDA codec only in the
 * source (hw/audio/hda-codec.c: the guest loads no sound driver). CAPEv2's kvm-qemu.sh patches
 * the same places. */
static const struct {
        const char *check;
        const char *takes;
} limits[] = {
        { "fw_cfg.acpi", "fw_cfg's ACPI device QEMU0002 (q35 always has fw_cfg): a patched QEMU renaming its "
                         "_HID" },
        { "acpi.waet", "the WAET table (Windows Emulated device ACPI Table), which QEMU's q35 always builds "
                       "(hw/i386/acpi-build.c): a patched QEMU" },
        { "os.uptime", "the uptime saved with the memory snapshot, taken seconds after boot (pafish flags "
                       "under 12 minutes): a VM left running before its snapshot (vmcloak does not wait yet)" },
        { "pci.vga", "Bochs VGA PCI id 1234:1111 (-vga std): a patched QEMU, or -vga none/cirrus (no or a 1990s "
                     "card)" },
        { "pci.subsystem", "PCI subsystem 1af4:1100 on Q35/ICH9 built-in devices (host bridge, LPC, SATA, SMBus, "
                           "USB, HDA, VGA; of QEMU 7.2's devices only e1000e takes subsys_ven=/subsys=): a patched "
                           "QEMU" },
        { "bios.rom", "SeaBIOS/Bochs strings in the BIOS ROM: a SeaBIOS built with other strings (-bios FILE)" },
        { "acpi.creator_id", "the ACPI tables' creator id BXPC (x-oem-id/x-oem-table-id leave it): a patched QEMU" },
        { "acpi.dsdt", "BOCHS/QEMU names in the ACPI DSDT's AML (QEMU0002, BXPC devices): a patched QEMU" },
        { "cdrom.model", "the CD/DVD drive's SCSI INQUIRY vendor and product QEMU / QEMU DVD-ROM (hw/ide/atapi.c; "
                         "ide-cd's model= reaches only ATA IDENTIFY): a patched QEMU, or no optical drive" },
        { "sound.hda_codec", "the HDA codec's QEMU vendor id 0x1af4 (hda-duplex/hda-output): a patched QEMU, or "
                             "no sound card" },
        /* The same limits as the Windows detector (data/cloak/detect-windows.js) names them. */
        { "wmi.pnp.acpi", "fw_cfg's ACPI device ACPI\\QEMU0002 (q35 always has fw_cfg): a patched QEMU renaming "
                          "its _HID" },
        { "wmi.video", "Bochs VGA PCI id 1234:1111 (-vga std): a patched QEMU, or -vga none/cirrus" },
        { "reg.pci_ids", "PCI subsystem 1af4:1100 on Q35/ICH9 built-in devices and Bochs VGA 1234:1111 under "
                         "Enum\\PCI: a patched QEMU" },
        { "wmi.pnp.pci", "PCI subsystem 1af4:1100 on Q35/ICH9 built-in devices and Bochs VGA 1234:1111: a "
                         "patched QEMU" },
        { "reg.video_bios_version", "the VGA option ROM's SeaVGABIOS strings: a rebuilt VGA BIOS (-device "
                                    "VGA,romfile=), or UEFI where the value is absent" },
        { "wmi.fan", "SMBIOS type 27 (cooling device), which QEMU does not build: a binary table through "
                     "-smbios file= (vmcloak makes types 0 and 3 only)" },
        { "wmi.port_connector", "SMBIOS type 8 (port connectors), which QEMU does not build: a binary table "
                                "through -smbios file= (vmcloak makes types 0 and 3 only)" },
        /* acpi.waet and os.uptime: the Windows detector's checks of those names mean the same. */
        { "reg.scsi_identifier.cdrom", "the CD/DVD drive's SCSI INQUIRY vendor and product QEMU / QEMU DVD-ROM "
                                       "(ide-cd's model= reaches only ATA IDENTIFY): a patched QEMU (hw/ide/atapi.c "
                                       "INQUIRY), or no optical drive" },
        { "wmi.pnp.cdrom", "the CD/DVD drive's SCSI INQUIRY strings QEMU / QEMU DVD-ROM in its device id and name: a "
                           "patched QEMU (hw/ide/atapi.c INQUIRY), or no optical drive" },
        { "wmi.cdrom", "the CD/DVD drive's SCSI INQUIRY strings QEMU / QEMU DVD-ROM in Win32_CDROMDrive: a patched "
                       "QEMU (hw/ide/atapi.c INQUIRY), or no optical drive" },
        { "acpi.tables", "the ACPI tables' creator id BXPC (x-oem-id/x-oem-table-id leave it) and QEMU0002 in the "
                         "DSDT: a patched QEMU" },
        { "wmi.cache_memory", "SMBIOS type 7 (cache), which QEMU 7.2 does not build: a binary table through -smbios "
                              "file= (vmcloak makes types 0 and 3 only)" },
        { "wmi.voltage_probe", "SMBIOS type 26 (voltage probe), which QEMU 7.2 does not build: a binary table "
                               "through -smbios file= (vmcloak makes types 0 and 3 only)" },
        { "wmi.slot", "SMBIOS type 9 (system slots), which QEMU 7.2 does not build: a binary table through -smbios "
                      "file= (vmcloak makes types 0 and 3 only)" },
};

const char *cloak_check_limit(const char *check_name) {
        for (size_t i = 0; check_name && i < ELEMENTSOF(limits); i++)
                if (streq(limits[i].check, check_name))
                        return limits[i].takes;
        return NULL;
}

#define HINT_HARDWARE "init --hardware NAME (vmcloak list hardware)"
#define HINT_POINTER "a hardware profile with pointer: ps2, the PS/2 mouse (init --hardware NAME)"
#define HINT_JUDGES "follows the dmi/cpuid checks above: hide those (init --hardware NAME)"

/* Each hint is the knob that changed the check's verdict on the linux guest (docs/cloaking.md's
 * scorecards) or the hardware profile field that feeds it (cloak/hardware.h). A name ending in
 * '*' is a prefix. The sizes are pafish's thresholds (2 CPUs, 1 GiB RAM, 60 GiB disk) with room;
 * a hardware profile's CPUs, RAM and disk apply to Windows images only (--hardware's help). */
static const struct {
        const char *check;
        const char *hint;
} hints[] = {
        { "hw.cpus", "init --cpus 2 (a hardware profile's CPUs apply to Windows images)" },
        { "hw.cpu_count", "init --cpus 2 (a hardware profile's CPUs apply to Windows images)" },
        { "hw.cpu_cores", "init --cpus 2 (a hardware profile's CPUs apply to Windows images)" },
        { "hw.ram", "init --ramsize 4096 (a hardware profile's RAM applies to Windows images)" },
        { "hw.disk_size", "init --hddsize 100 (a hardware profile's disk size applies to Windows images)" },
        { "dmi.*", HINT_HARDWARE },
        { "cpuid.*", HINT_HARDWARE },
        { "cpu.*", HINT_HARDWARE },
        { "smbios.*", HINT_HARDWARE },
        { "acpi.oem_id", HINT_HARDWARE },
        { "acpi.table_id", HINT_HARDWARE },
        { "disk.model", HINT_HARDWARE },
        { "disk.firmware", HINT_HARDWARE },
        { "cdrom.ata_model", HINT_HARDWARE },
        { "cdrom.firmware", HINT_HARDWARE },
        { "pci.nic_subsystem", HINT_HARDWARE },
        { "wmi.bios.*", HINT_HARDWARE },
        { "wmi.computer_system", HINT_HARDWARE },
        { "wmi.baseboard", HINT_HARDWARE },
        { "wmi.product", HINT_HARDWARE },
        { "wmi.product.uuid", HINT_HARDWARE },
        { "wmi.disk.model", HINT_HARDWARE },
        { "wmi.cpu.name", HINT_HARDWARE },
        { "reg.acpi_oem", HINT_HARDWARE },
        { "reg.cpu.*", HINT_HARDWARE },
        { "reg.disk_enum", HINT_HARDWARE },
        { "reg.scsi_identifier", HINT_HARDWARE },
        { "reg.system_bios_*", HINT_HARDWARE },
        { "net.mac", "init without --mac (a random PC vendor's MAC), or --hardware NAME" },
        { "net.mac_oui", "init without --mac (a random PC vendor's MAC), or --hardware NAME" },
        { "input.devices", HINT_POINTER },
        { "wmi.pnp.tablet", HINT_POINTER },
        { "tool.systemd_detect_virt", HINT_JUDGES },
        { "tool.virt_what", HINT_JUDGES },
};

const char *cloak_check_hint(const char *check_name) {
        if (!check_name || cloak_check_limit(check_name))
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(hints); i++) {
                size_t l = strlen(hints[i].check);
                if (hints[i].check[l - 1] == '*' ? strncmp(hints[i].check, check_name, l - 1) == 0
                                                 : streq(hints[i].check, check_name))
                        return hints[i].hint;
        }
        return NULL;
}

int cloak_detector_for(const char *os_name, char **ret_path, const char **ret_guest_name) {
        static const struct {
                const char *os, *file, *guest_name;
        } detectors[] = {
                { "linux", "cloak/detect-linux.sh", "detect.sh" },
                { "windows", "cloak/detect-windows.js", "detect.js" },
        };
        for (size_t i = 0; i < ELEMENTSOF(detectors); i++) {
                if (!streq(detectors[i].os, strempty(os_name)))
                        continue;
                _cleanup_free_ char *p = paths_data_file(detectors[i].file);
                if (!p)
                        return log_oom();
                if (access(p, R_OK) < 0) {
                        int e = -errno;
                        log_error("vmcloak's detector %s is missing (set VMCLOAK_DATADIR or reinstall vmcloak)", p);
                        return e == -ENOENT ? e : -ENOENT;
                }
                *ret_path = TAKE_PTR(p);
                *ret_guest_name = detectors[i].guest_name;
                return 0;
        }
        log_error("vmcloak has no cloak detector for %s guests (only linux and windows)", strempty(os_name));
        return -EOPNOTSUPP;
}
