// vmcloak's Windows cloak detector: what pafish and al-khaser look at in a QEMU/KVM guest,
// read the way they read it (registry, WMI, files, services, processes), one verdict per check.
//
// Run as `cscript //nologo detect.js` (JScript, on every Windows from 7 to 11 and in Wine; no
// PowerShell, which Wine lacks). Output (src/cloak/scorecard.h):
//   vmcloak-detector windows <version>
//   <check>\t<verdict>\t<seen>          verdict: hidden | detected | skipped
// A check is "detected" when what it read names a VM (the tells below), "hidden" when it read a
// value without one or found nothing where a real PC has nothing either, "skipped" when it could
// not look (a WMI class or registry key a real Windows has is missing: Wine lacks many).
//
// Written for Wine's JScript as well as Windows': GetObject("winmgmts:") and WshExec's StdOut
// are not implemented there, objects' properties are only reachable through Properties_.Item(),
// SWbemObjectSet only through Count/ItemIndex, and a query on an unknown class returns no rows
// instead of failing (so a class is looked up with SWbemServices.Get before it is counted).

var VERSION = "1";

var shell = new ActiveXObject("WScript.Shell");
var fso = new ActiveXObject("Scripting.FileSystemObject");

// ---- tells ---------------------------------------------------------------------------------

// Strings that name a hypervisor, its firmware or its devices (QEMU/KVM first; VirtualBox,
// VMware, Xen, Hyper-V and Parallels because pafish and al-khaser look for them too).
var TELLS = [
        [/qemu/i, "QEMU"], [/bochs|bxpc/i, "Bochs"], [/seabios/i, "SeaBIOS"],
        [/\bkvm\b|kvmkvmkvm|common kvm processor/i, "KVM"], [/virtio/i, "VirtIO"],
        [/red ?hat/i, "Red Hat"], [/standard pc \(/i, "Standard PC"], [/\bovmf\b|\bedk ?ii\b/i, "OVMF"],
        [/vbox|virtualbox|innotek/i, "VirtualBox"], [/vmware/i, "VMware"],
        [/\bxen\b|xenvbd|hvm ?domu/i, "Xen"], [/parallels/i, "Parallels"],
        [/virtual machine|hyper-v|virtual (hd|disk|cd|dvd)/i, "Hyper-V"]
];
// PCI vendors 0x1af4 (virtio), 0x1b36 (QEMU's Red Hat devices), 0x1234 (Bochs VGA), 0x80ee, 0x15ad,
// 0x5853, 0x1414; the same as a subsystem vendor (QEMU gives emulated devices 0x1af4); USB
// vendors of QEMU's (0x0627), VirtualBox's and VMware's virtual devices.
var ID_TELLS = [
        [/VEN_(1AF4|1B36|1234|80EE|15AD|5853|1414)/i, "PCI vendor"],
        [/SUBSYS_[0-9A-F]{4}(1AF4|1B36|1234|80EE|15AD|5853)/i, "PCI subsystem vendor"],
        [/VID_(0627|80EE|0E0F)/i, "USB vendor"],
        // QEMU's VGA EDID (hw/display/edid-generate.c): vendor RHT, product 0x1234, "QEMU Monitor".
        [/DISPLAY\\RHT/i, "QEMU monitor EDID"]
];
// MAC OUIs of virtual NICs: QEMU/KVM, VirtualBox, VMware, Xen, Hyper-V, Parallels, Virtual PC.
var MAC_TELLS = ["52:54:00", "08:00:27", "0A:00:27", "00:05:69", "00:0C:29", "00:1C:14", "00:50:56",
                 "00:16:3E", "00:15:5D", "00:1C:42", "00:03:FF"];

function tellOf(text, list) {
        for (var i = 0; i < list.length; i++)
                if (list[i][0].test(text))
                        return list[i][1];
        return null;
}
function tell(text) { return tellOf(text, TELLS) || tellOf(text, ID_TELLS); }

// ---- output --------------------------------------------------------------------------------

// One line of printable ASCII (cscript writes the OEM code page: 200 characters are 200 bytes).
function clean(s) {
        s = String(s).replace(/[^\x20-\x7e]+/g, " ").replace(/\s+/g, " ").replace(/^ | $/g, "");
        if (s.length > 200)
                s = s.substring(0, 197) + "...";
        return s === "" ? "(empty)" : s;
}
// WScript.Echo ends lines with "\r\n" (scorecard_parse takes them); WScript.StdOut is not
// implemented in Wine.
function line(s) { WScript.Echo(s); }
function emit(name, verdict, seen) { line(name + "\t" + verdict + "\t" + clean(seen)); }
// Wine's ExpandEnvironmentStrings keeps the terminating NUL in the string.
function expand(s) { return String(shell.ExpandEnvironmentStrings(s)).replace(/\x00[\s\S]*$/, ""); }
function hex(n) { return "0x" + (n >>> 0).toString(16); }
function errText(e) { return hex(e.number) + (e.description ? " " + e.description : ""); }
// A check whose text is judged by the tells: detected naming the tell, or hidden.
function judge(name, seen) {
        var t = tell(seen);
        emit(name, t ? "detected" : "hidden", t ? seen + " [" + t + "]" : seen);
}
// A guard for each check: a check that throws reports itself skipped, the others still run.
function check(name, f) {
        try {
                f();
        } catch (e) {
                emit(name, "skipped", "error " + errText(e));
        }
}

// ---- registry ------------------------------------------------------------------------------

// A value as text (REG_MULTI_SZ comes as a VBArray), or null when the value or key is absent.
function regRead(path) {
        var v;
        try {
                v = shell.RegRead(path);
        } catch (e) {
                return null;
        }
        return text(v);
}
// Arrays (REG_MULTI_SZ, WMI string[]) come as SAFEARRAYs; Wine's JScript cannot even take
// their typeof, so VBArray is simply tried first.
function text(v) {
        try {
                return new VBArray(v).toArray().join(" ");
        } catch (e) {
        }
        if (v === null || v === undefined)
                return "";
        return String(v);
}

// `reg query KEY` output for several keys at once (subkey names, values), through a temporary
// file: WshExec's StdOut is not implemented in Wine. One cmd.exe for all keys.
function regQuery(keys, opts) {
        var tmp = expand("%TEMP%") + "\\" + fso.GetTempName();
        // Not "(a & b) > f": Wine's cmd runs no such block.
        var cmd = "cmd /c ";
        for (var i = 0; i < keys.length; i++)
                cmd += (i ? " & " : "") + "reg query \"" + keys[i] + "\" " + (opts ? opts + " " : "") + (i ? ">>" : ">") + " \"" + tmp + "\" 2>nul";
        shell.Run(cmd, 0, true);
        var out = "";
        if (fso.FileExists(tmp)) {
                var f = fso.OpenTextFile(tmp, 1);
                if (!f.AtEndOfStream)
                        out = f.ReadAll();
                f.Close();
                fso.DeleteFile(tmp);
        }
        return out.split(/\r?\n/);
}
// The subkey names of KEY (last path element) in regQuery's lines.
function subkeys(lines, key) {
        var names = [], prefix = key.toUpperCase() + "\\";
        for (var i = 0; i < lines.length; i++) {
                var l = lines[i].replace(/^HKLM\\/i, "HKEY_LOCAL_MACHINE\\");
                if (l.toUpperCase().indexOf(prefix) === 0)
                        names.push(l.substring(prefix.length));
        }
        return names;
}

var HW = "HKLM\\HARDWARE\\DESCRIPTION\\System\\";
var HW_LONG = "HKEY_LOCAL_MACHINE\\HARDWARE\\DESCRIPTION\\System";
var SERVICES = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\";
// The monitors Windows has seen (their EDID vendor and product: DISPLAY\RHT1234 is QEMU's), read by
// enumeratedChecks for display.monitor.
var DISPLAY_ENUM = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Enum\\DISPLAY";
var displayKeys = [], pnpMonitors = null;

// A value that every Windows has (ntdetect/the kernel write it from the firmware): absent means
// this system is not a real PC's (Wine) and the check could not look.
function regValue(name, path) {
        var v = regRead(path);
        if (v === null)
                emit(name, "skipped", "absent: " + path);
        else
                judge(name, v);
}

function registryChecks() {
        check("reg.system_bios_version", function () { regValue("reg.system_bios_version", HW + "SystemBiosVersion"); });
        // Only legacy BIOS video ROMs leave it; UEFI PCs have none.
        check("reg.video_bios_version", function () {
                var v = regRead(HW + "VideoBiosVersion");
                if (v === null)
                        emit("reg.video_bios_version", "hidden", "absent (as on UEFI PCs)");
                else
                        judge("reg.video_bios_version", v);
        });
        // SeaBIOS' fixed date; VirtualBox's 06/23/99.
        check("reg.system_bios_date", function () {
                var v = regRead(HW + "SystemBiosDate");
                if (v === null)
                        emit("reg.system_bios_date", "skipped", "absent: " + HW + "SystemBiosDate");
                else if (v == "04/01/2014" || v == "06/23/99")
                        emit("reg.system_bios_date", "detected", v + " [SeaBIOS/VirtualBox default date]");
                else
                        judge("reg.system_bios_date", v);
        });
        var bios = [["reg.bios.system_manufacturer", "SystemManufacturer"],
                    ["reg.bios.system_product_name", "SystemProductName"],
                    ["reg.bios.bios_vendor", "BIOSVendor"], ["reg.bios.bios_version", "BIOSVersion"],
                    ["reg.bios.baseboard_manufacturer", "BaseBoardManufacturer"],
                    ["reg.bios.baseboard_product", "BaseBoardProduct"]];
        for (var i = 0; i < bios.length; i++) {
                var b = bios[i];
                check(b[0], function () { regValue(b[0], HW + "BIOS\\" + b[1]); });
        }
        check("reg.cpu.name", function () {
                regValue("reg.cpu.name", HW + "CentralProcessor\\0\\ProcessorNameString");
        });
        // The CPUID vendor string (leaf 0): a hypervisor's own only with a bare "-cpu" model.
        check("reg.cpu.vendor", function () {
                var v = regRead(HW + "CentralProcessor\\0\\VendorIdentifier");
                if (v === null)
                        emit("reg.cpu.vendor", "skipped", "absent: CentralProcessor\\0\\VendorIdentifier");
                else if (v == "GenuineIntel" || v == "AuthenticAMD")
                        emit("reg.cpu.vendor", "hidden", v);
                else
                        emit("reg.cpu.vendor", "detected", v + " [not a CPU vendor]");
        });
}

// Enumerated keys: PCI device IDs, SCSI identifiers, ACPI table OEM IDs, disk enumerations.
function enumeratedChecks() {
        var pci = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Enum\\PCI";
        var acpi = "HKEY_LOCAL_MACHINE\\HARDWARE\\ACPI";
        var lines = regQuery([pci, acpi + "\\DSDT", acpi + "\\FADT", acpi + "\\RSDT", DISPLAY_ENUM]);
        displayKeys = subkeys(lines, DISPLAY_ENUM);

        check("reg.pci_ids", function () {
                var ids = subkeys(lines, pci);
                if (!ids.length)
                        return emit("reg.pci_ids", "skipped", "no subkeys in " + pci);
                var bad = [];
                for (var i = 0; i < ids.length; i++)
                        if (tellOf(ids[i], ID_TELLS))
                                bad.push(ids[i]);
                if (bad.length)
                        emit("reg.pci_ids", "detected", bad.join(" ") + " [" + tellOf(bad[0], ID_TELLS) + "]");
                else
                        emit("reg.pci_ids", "hidden", ids.length + " devices: " + ids.join(" "));
        });
        // The ACPI tables' OEM IDs as Windows keeps them: HARDWARE\ACPI\DSDT\BOCHS_\BXPCDSDT.
        check("reg.acpi_oem", function () {
                var ids = [], tabs = ["DSDT", "FADT", "RSDT"];
                for (var i = 0; i < tabs.length; i++) {
                        var k = subkeys(lines, acpi + "\\" + tabs[i]);
                        for (var j = 0; j < k.length; j++)
                                ids.push(tabs[i] + ":" + k[j]);
                }
                if (!ids.length)
                        return emit("reg.acpi_oem", "skipped", "no ACPI table keys under " + acpi);
                judge("reg.acpi_oem", ids.join(" "));
        });
        // HARDWARE\DEVICEMAP\Scsi\Scsi Port N\Scsi Bus B\Target Id T\Logical Unit Id 0\Identifier:
        // the disk and CD models as the port drivers saw them. Two checks, because the disk's model is
        // the profile's (ide-hd model=) while QEMU's ATAPI INQUIRY answers "QEMU" / "QEMU DVD-ROM"
        // whatever ide-cd's model= says (hw/ide/atapi.c).
        var disks = [], cds = [], ports = 0;
        for (var p = 0; p < 8; p++) {
                if (regRead("HKLM\\HARDWARE\\DEVICEMAP\\Scsi\\Scsi Port " + p + "\\Driver") === null)
                        continue;
                ports++;
                for (var b = 0; b < 2; b++)
                        for (var t = 0; t < 4; t++) {
                                var lu = "HKLM\\HARDWARE\\DEVICEMAP\\Scsi\\Scsi Port " + p + "\\Scsi Bus " + b +
                                         "\\Target Id " + t + "\\Logical Unit Id 0\\";
                                var v = regRead(lu + "Identifier");
                                if (v === null)
                                        continue;
                                if (/cdrom/i.test(regRead(lu + "Type") || "") || /dvd|cd-?rom/i.test(v))
                                        cds.push(v);
                                else
                                        disks.push(v);
                        }
        }
        check("reg.scsi_identifier", function () {
                if (!disks.length)
                        return emit("reg.scsi_identifier", "skipped", "no disk target under HARDWARE\\DEVICEMAP\\Scsi (" + ports + " ports)");
                judge("reg.scsi_identifier", disks.join(" | "));
        });
        check("reg.scsi_identifier.cdrom", function () {
                if (!ports)
                        return emit("reg.scsi_identifier.cdrom", "skipped", "no HARDWARE\\DEVICEMAP\\Scsi port");
                if (!cds.length)
                        return emit("reg.scsi_identifier.cdrom", "hidden", "no optical drive under HARDWARE\\DEVICEMAP\\Scsi");
                judge("reg.scsi_identifier.cdrom", cds.join(" | "));
        });
        check("reg.disk_enum", function () {
                var key = SERVICES + "Disk\\Enum\\";
                var n = regRead(key + "Count");
                if (n === null)
                        return emit("reg.disk_enum", "skipped", "absent: " + key + "Count");
                var ids = [];
                for (var i = 0; i < Number(n) && i < 16; i++) {
                        var v = regRead(key + i);
                        if (v !== null)
                                ids.push(v);
                }
                judge("reg.disk_enum", ids.join(" | "));
        });
}

// The ACPI tables themselves: Windows keeps a copy of each under
// HKLM\HARDWARE\ACPI\<signature>\<OEM ID>\<table ID>\<revision> as the REG_BINARY value 00000000,
// which `reg query /s` prints in hex. al-khaser's qemu_firmware_ACPI searches every table for
// "BOCHS" and "BXPC": QEMU's tables carry creator id BXPC whatever x-oem-id says, and the DSDT
// names fw_cfg's device QEMU0002.
var ACPI_BYTES = [["42585043", "BXPC"], ["424F434853", "BOCHS"], ["51454D5530303032", "QEMU0002"]];

// Whether HEX (two digits a byte) holds the bytes of NEEDLE (hex too) at a byte boundary.
function hexHas(hex, needle) {
        for (var i = hex.indexOf(needle); i >= 0; i = hex.indexOf(needle, i + 1))
                if (i % 2 === 0)
                        return true;
        return false;
}

function acpiTableChecks() {
        var root = "HKEY_LOCAL_MACHINE\\HARDWARE\\ACPI";
        var lines = regQuery([root], "/s"), key = "", keys = [], tables = [], found = [];
        for (var i = 0; i < lines.length; i++) {
                var l = lines[i].replace(/^HKLM\\/i, "HKEY_LOCAL_MACHINE\\");
                if (l.toUpperCase().indexOf(root.toUpperCase() + "\\") === 0) {
                        key = l.substring(root.length + 1);
                        keys.push(key);
                        continue;
                }
                var m = /^\s+\S+\s+REG_BINARY\s+([0-9A-Fa-f]+)\s*$/.exec(l);
                if (!m || !key)
                        continue;
                var sig = key.split("\\")[0], hex = m[1].toUpperCase(), tells = [];
                tables.push(sig);
                for (var j = 0; j < ACPI_BYTES.length; j++)
                        if (hexHas(hex, ACPI_BYTES[j][0]))
                                tells.push(ACPI_BYTES[j][1]);
                if (tells.length)
                        found.push(sig + ": " + tells.join(" "));
        }
        check("acpi.tables", function () {
                if (!tables.length)
                        return emit("acpi.tables", "skipped", "no REG_BINARY table under " + root);
                emit("acpi.tables", found.length ? "detected" : "hidden", found.length ?
                     found.join(" | ") + " [QEMU's ACPI tables]" : tables.length + " tables read (" + tables.join(" ") +
                     "), no BXPC/BOCHS/QEMU0002");
        });
        // WAET (Windows ACPI Emulated devices Table) tells Windows its RTC and ACPI timer are
        // emulated: only hypervisors build one.
        check("acpi.waet", function () {
                var sigs = [];
                for (var k = 0; k < keys.length; k++) {
                        if (/^WAET(\\|$)/i.test(keys[k]))
                                return emit("acpi.waet", "detected", "HARDWARE\\ACPI\\" + keys[k] + " [a WAET table: VMs only]");
                        if (keys[k].indexOf("\\") < 0)
                                sigs.push(keys[k]);
                }
                if (!keys.length)
                        return emit("acpi.waet", "skipped", "no ACPI table keys under " + root);
                emit("acpi.waet", "hidden", "no WAET among " + sigs.join(" "));
        });
}

// ---- services, drivers, files, processes --------------------------------------------------

// Services of QEMU's guest tools and virtio-win drivers (and the other hypervisors' tools). A
// real PC has none of them: absent is hidden.
var QEMU_SERVICES = ["QEMU-GA", "QEMU Guest Agent VSS Provider", "qemu-ga", "spice-agent", "vdservice",
                     "vioscsi", "viostor", "netkvm", "BALLOON", "vioser", "VirtioSerial", "qemupciserial",
                     "qemufwcfg", "FwCfg", "vioinput", "viorng", "pvpanic", "VirtioFsDrv", "VirtioFsSvc"];
var OTHER_SERVICES = ["VBoxGuest", "VBoxMouse", "VBoxService", "VBoxSF", "VBoxVideo", "vmci", "vmhgfs", "VMTools",
                      "vmmouse", "vm3dmp", "xenevtchn", "xennet", "xenvbd", "prl_tg"];
var DRIVER_FILES = ["vioscsi.sys", "viostor.sys", "netkvm.sys", "balloon.sys", "vioser.sys", "qemupciserial.sys",
                    "qemufwcfg.sys", "fwcfg.sys", "vioinput.sys", "viorng.sys", "pvpanic.sys", "viofs.sys",
                    "VBoxMouse.sys", "VBoxGuest.sys", "VBoxSF.sys", "VBoxVideo.sys", "vmmouse.sys", "vmhgfs.sys",
                    "vm3dmp.sys", "vmci.sys", "xenvbd.sys", "xennet.sys", "prleth.sys"];
var TOOL_DIRS = ["Qemu-ga", "Virtio-Win", "SPICE Guest Tools", "RedHat\\Virtio-Win", "Oracle\\VirtualBox Guest Additions",
                 "VMware\\VMware Tools", "Citrix\\XenTools", "Parallels\\Parallels Tools"];
var PROCESSES = ["qemu-ga.exe", "vdagent.exe", "vdservice.exe", "spice-vdagent.exe", "VBoxService.exe", "VBoxTray.exe",
                 "vmtoolsd.exe", "vmwaretray.exe", "vmwareuser.exe", "vmacthlp.exe", "xenservice.exe", "prl_tools.exe",
                 "prl_cc.exe", "vmsrvc.exe", "vmusrvc.exe"];

function presence(name, found, what) {
        emit(name, found.length ? "detected" : "hidden", found.length ? found.join(" ") : "none of " + what);
}

function systemChecks() {
        check("svc.qemu", function () {
                var found = [];
                for (var i = 0; i < QEMU_SERVICES.length; i++)
                        if (regRead(SERVICES + QEMU_SERVICES[i] + "\\Type") !== null)
                                found.push(QEMU_SERVICES[i]);
                presence("svc.qemu", found, QEMU_SERVICES.length + " QEMU/virtio-win service keys");
        });
        check("svc.other_hypervisors", function () {
                var found = [];
                for (var i = 0; i < OTHER_SERVICES.length; i++)
                        if (regRead(SERVICES + OTHER_SERVICES[i] + "\\Type") !== null)
                                found.push(OTHER_SERVICES[i]);
                presence("svc.other_hypervisors", found, OTHER_SERVICES.length + " VirtualBox/VMware/Xen/Parallels keys");
        });
        // System32 as a 64-bit process sees it (the agent and cscript are 64-bit).
        check("file.drivers", function () {
                var dir = fso.GetSpecialFolder(1).Path + "\\drivers\\", found = [];
                if (!fso.FolderExists(dir))
                        return emit("file.drivers", "skipped", "no folder " + dir);
                for (var i = 0; i < DRIVER_FILES.length; i++)
                        if (fso.FileExists(dir + DRIVER_FILES[i]))
                                found.push(DRIVER_FILES[i]);
                presence("file.drivers", found, DRIVER_FILES.length + " guest driver files in " + dir);
        });
        check("file.guest_tools", function () {
                var roots = [expand("%ProgramFiles%"), expand("%ProgramFiles(x86)%")], found = [];
                for (var r = 0; r < roots.length; r++)
                        for (var i = 0; i < TOOL_DIRS.length; i++)
                                if (roots[r].indexOf("%") < 0 && fso.FolderExists(roots[r] + "\\" + TOOL_DIRS[i]))
                                        found.push(roots[r] + "\\" + TOOL_DIRS[i]);
                presence("file.guest_tools", found, TOOL_DIRS.length + " guest tools folders");
        });
        // Wine itself: an analysis environment, as al-khaser's wine_get_unix_file_name check says.
        check("env.wine", function () {
                var sys = fso.GetSpecialFolder(1).Path;
                var wine = fso.FileExists(sys + "\\winecfg.exe") || regRead("HKCU\\Software\\Wine\\Version") !== null;
                emit("env.wine", wine ? "detected" : "hidden", wine ? "winecfg.exe in " + sys : "no Wine files");
        });
}

// ---- WMI -----------------------------------------------------------------------------------

// SWbemServices by namespace (root\cimv2; root\wmi for the firmware's SMBIOS and the monitors'
// EDID), or why not as a string.
var wmiNamespaces = {};
function wmiServices(ns) {
        if (!(ns in wmiNamespaces)) {
                try {
                        wmiNamespaces[ns] = new ActiveXObject("WbemScripting.SWbemLocator").ConnectServer(".", ns);
                } catch (e) {
                        wmiNamespaces[ns] = "no WMI" + (ns == "root\\cimv2" ? "" : " namespace " + ns) + ": " + errText(e);
                }
        }
        return wmiNamespaces[ns];
}

// The instances of a class as arrays of property texts, or a string saying why not: a class
// this WMI does not know (Wine's lacks many) is not the same as a class with no instances.
function wmiRows(cls, props, ns) {
        var wmi = wmiServices(ns || "root\\cimv2");
        if (typeof wmi == "string")
                return wmi;
        try {
                wmi.Get(cls);
        } catch (e) {
                return "WMI class " + cls + " not found (" + hex(e.number) + ")";
        }
        var set = wmi.ExecQuery("SELECT * FROM " + cls), objs = [], n = set.Count;
        try {
                for (var i = 0; i < n; i++)
                        objs.push(set.ItemIndex(i));
        } catch (e) {
                objs = [];
                for (var en = new Enumerator(set); !en.atEnd(); en.moveNext())
                        objs.push(en.item());
        }
        var rows = [];
        for (var k = 0; k < objs.length; k++) {
                var row = { raw: {} };
                for (var p = 0; p < props.length; p++) {
                        try {
                                row.raw[props[p]] = objs[k].Properties_.Item(props[p]).Value;
                                row[props[p]] = text(row.raw[props[p]]);
                        } catch (e) {
                                row[props[p]] = null;   // the property is not in this Windows' class
                        }
                }
                rows.push(row);
        }
        return rows;
}
function joined(rows, props, sep) {
        var parts = [];
        for (var i = 0; i < rows.length; i++)
                for (var p = 0; p < props.length; p++)
                        if (rows[i][props[p]])
                                parts.push(rows[i][props[p]]);
        return parts.join(sep || " | ");
}
// A check on some properties of a class's instances judged by the tells.
function wmiJudge(name, cls, props, none) {
        check(name, function () {
                var rows = wmiRows(cls, props);
                if (typeof rows == "string")
                        return emit(name, "skipped", rows);
                if (!rows.length)
                        return emit(name, none ? "hidden" : "skipped", none ? "no " + cls + " " + none : "no " + cls + " instance");
                judge(name, joined(rows, props));
        });
}
// al-khaser's "no such hardware" checks: a class a real PC fills from its SMBIOS tables, empty on
// QEMU, which builds none of that type. Detected when the class exists without instances.
function wmiNone(name, cls, what) {
        check(name, function () {
                var rows = wmiRows(cls, ["Name"]);
                if (typeof rows == "string")
                        return emit(name, "skipped", rows);
                emit(name, rows.length ? "hidden" : "detected",
                     rows.length ? rows.length + " " + cls + " instances" : "no " + cls + " instance [" + what + "]");
        });
}
// A WMI array of numbers (uint8[], uint16[]) as read by wmiRows.
function numbers(t) {
        var out = [], parts = String(t || "").split(/[\s,]+/);
        for (var i = 0; i < parts.length; i++)
                if (parts[i] !== "")
                        out.push(Number(parts[i]));
        return out;
}
// A WMI uint8[] as numbers: through VBArray (TEXT, wmiRows' reading) when that took it, else
// through MSXML's bin.hex conversion, which takes a byte SAFEARRAY JScript's VBArray may refuse.
function byteArray(t, raw) {
        var n = numbers(t);
        for (var i = 0; i < n.length; i++)
                if (isNaN(n[i]))
                        break;
        if (n.length && i == n.length)
                return n;
        var el = new ActiveXObject("Microsoft.XMLDOM").createElement("b");
        el.dataType = "bin.hex";
        el.nodeTypedValue = raw;
        var h = String(el.text), out = [];
        for (var j = 0; j + 1 < h.length; j += 2)
                out.push(parseInt(h.substring(j, j + 2), 16));
        return out;
}
// WmiMonitorID's UINT16 character arrays as text, up to the first NUL.
function chars(t) {
        var n = numbers(t), s = "";
        for (var i = 0; i < n.length && n[i]; i++)
                s += String.fromCharCode(n[i]);
        return s;
}
// The SMBIOS structures in SMBIOS bytes: each is a type, a length, a handle, the rest of its
// formatted area, then its strings, ended by two NULs (DMTF DSP0134 6.1). Returns [{type, area}].
function smbiosStructures(bytes) {
        var out = [];
        for (var i = 0; i + 4 <= bytes.length;) {
                var type = bytes[i], len = bytes[i + 1];
                if (len < 4 || i + len > bytes.length)
                        break;
                out.push({ type: type, area: bytes.slice(i, i + len) });
                var j = i + len;
                while (j + 1 < bytes.length && (bytes[j] || bytes[j + 1]))
                        j++;
                i = j + 2;
                if (type == 127)
                        break;
        }
        return out;
}
// The first SMBIOS structure of TYPE in root\wmi MSSmBios_RawSMBiosTables (GetSystemFirmwareTable
// 'RSMB', which pafish and al-khaser read), null when there is none, or a string saying why not.
var smbios = null;
function smbiosStructure(type) {
        if (smbios === null) {
                var rows = wmiRows("MSSmBios_RawSMBiosTables", ["SMBiosData"], "root\\wmi");
                if (typeof rows == "string")
                        smbios = rows;
                else if (!rows.length || !rows[0].SMBiosData)
                        smbios = "no MSSmBios_RawSMBiosTables SMBiosData";
                else
                        smbios = smbiosStructures(byteArray(rows[0].SMBiosData, rows[0].raw.SMBiosData));
        }
        if (typeof smbios == "string")
                return smbios;
        for (var i = 0; i < smbios.length; i++)
                if (smbios[i].type == type)
                        return smbios[i];
        return null;
}
// A CIM datetime (yyyymmddHHMMSS.ffffff+UUU, UUU minutes east of UTC) in milliseconds since 1970.
function cimTime(t) {
        var m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)\.\d*([+-])(\d+)/.exec(t || "");
        if (!m)
                return NaN;
        var off = Number(m[8]) * (m[7] == "-" ? -1 : 1);
        return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) - off * 60000;
}

function wmiChecks() {
        wmiJudge("wmi.bios.manufacturer", "Win32_BIOS", ["Manufacturer"]);
        wmiJudge("wmi.bios.version", "Win32_BIOS", ["SMBIOSBIOSVersion", "Version", "BIOSVersion"]);
        // SMBIOS type 1 serial; QEMU sets none, VirtualBox "0": a placeholder is a tell too.
        check("wmi.bios.serial", function () {
                var rows = wmiRows("Win32_BIOS", ["SerialNumber"]);
                if (typeof rows == "string" || !rows.length)
                        return emit("wmi.bios.serial", "skipped", rows.length ? rows : "no Win32_BIOS instance");
                var s = rows[0].SerialNumber || "";
                if (/^(|0|none|default string|to be filled by o\.e\.m\.|system serial number)$/i.test(s.replace(/^\s+|\s+$/g, "")))
                        emit("wmi.bios.serial", "detected", (s || "(empty)") + " [placeholder serial]");
                else
                        judge("wmi.bios.serial", s);
        });
        wmiJudge("wmi.computer_system", "Win32_ComputerSystem", ["Manufacturer", "Model"]);
        // CPUID leaf 1 ECX bit 31 as Windows reports it (Windows 8 on; 7 lacks the property).
        check("cpuid.hypervisor", function () {
                var rows = wmiRows("Win32_ComputerSystem", ["HypervisorPresent"]);
                if (typeof rows == "string" || !rows.length)
                        return emit("cpuid.hypervisor", "skipped", rows.length ? rows : "no Win32_ComputerSystem instance");
                var h = rows[0].HypervisorPresent;
                if (h === null)
                        emit("cpuid.hypervisor", "skipped", "Win32_ComputerSystem has no HypervisorPresent (Windows 7)");
                else
                        emit("cpuid.hypervisor", /^(true|-1|1)$/i.test(h) ? "detected" : "hidden", "HypervisorPresent=" + h);
        });
        wmiJudge("wmi.baseboard", "Win32_BaseBoard", ["Manufacturer", "Product"]);
        wmiJudge("wmi.product", "Win32_ComputerSystemProduct", ["Vendor", "Name"]);
        // SMBIOS type 1 UUID: none or all zeros when QEMU is given none; clones sharing one are a
        // tell too (vmcloak gives each VM its own).
        check("wmi.product.uuid", function () {
                var rows = wmiRows("Win32_ComputerSystemProduct", ["UUID"]);
                if (typeof rows == "string" || !rows.length)
                        return emit("wmi.product.uuid", "skipped", rows.length ? rows : "no Win32_ComputerSystemProduct instance");
                var u = rows[0].UUID || "";
                if (/^[0-]*$|^f[f-]*$/i.test(u))
                        emit("wmi.product.uuid", "detected", (u || "(empty)") + " [no real UUID]");
                else
                        emit("wmi.product.uuid", "hidden", u);
        });
        wmiJudge("wmi.disk.model", "Win32_DiskDrive", ["Model", "PNPDeviceID"]);
        wmiJudge("wmi.cdrom", "Win32_CDROMDrive", ["Name", "PNPDeviceID"], "(no optical drive, as on many PCs)");
        wmiJudge("wmi.video", "Win32_VideoController", ["Name", "PNPDeviceID"]);
        wmiJudge("wmi.cpu.name", "Win32_Processor", ["Name"]);
        wmiJudge("wmi.memory_modules", "Win32_PhysicalMemory", ["Manufacturer", "PartNumber"]);

        check("net.mac_oui", function () {
                var rows = wmiRows("Win32_NetworkAdapter", ["MACAddress", "PhysicalAdapter", "PNPDeviceID"]);
                if (typeof rows == "string")
                        return emit("net.mac_oui", "skipped", rows);
                var macs = [], bad = [];
                for (var i = 0; i < rows.length; i++) {
                        var m = (rows[i].MACAddress || "").toUpperCase();
                        if (!m || rows[i].PhysicalAdapter === "false" || /^ROOT\\/i.test(rows[i].PNPDeviceID || ""))
                                continue;
                        macs.push(m);
                        for (var j = 0; j < MAC_TELLS.length; j++)
                                if (m.indexOf(MAC_TELLS[j]) === 0)
                                        bad.push(m);
                }
                if (!macs.length)
                        return emit("net.mac_oui", "skipped", "no physical network adapter with a MAC");
                emit("net.mac_oui", bad.length ? "detected" : "hidden",
                     bad.length ? bad.join(" ") + " [virtual NIC OUI]" : macs.join(" "));
        });
        wmiJudge("wmi.nic", "Win32_NetworkAdapter", ["Name", "PNPDeviceID"]);

        // Every device's name and ID, in several checks because what hides each differs: PCI IDs
        // (subsystem IDs and device choice; Bochs VGA's 0x1234 needs a patch), QEMU's USB tablet
        // (a PS/2 mouse instead), fw_cfg's ACPI device QEMU0002 (a patched QEMU), the CD drive's
        // INQUIRY strings (a patched QEMU or no CD drive); monitors are display.monitor's.
        check("wmi.pnp", function () {
                var rows = wmiRows("Win32_PnPEntity", ["Name", "DeviceID"]);
                if (typeof rows == "string")
                        return emit("wmi.pnp", "skipped", rows);
                var pci = [], names = [], tablet = [], acpi = [], cds = [];
                pnpMonitors = [];
                for (var i = 0; i < rows.length; i++) {
                        var id = rows[i].DeviceID || "", nm = rows[i].Name || "";
                        if (/VID_0627|QEMU USB Tablet/i.test(id + " " + nm))
                                tablet.push(nm + " " + id);
                        else if (/^DISPLAY\\/i.test(id))
                                pnpMonitors.push(nm + " " + id);   // display.monitor's
                        else if (/CDROM/i.test(id)) {
                                if (tell(id + " " + nm))
                                        cds.push(nm + " " + id);
                        }
                        else if (/^ACPI\\(QEMU|BOCHS|VBOX|VMW)/i.test(id))
                                acpi.push(id);
                        else if (tellOf(id, ID_TELLS))
                                pci.push(id);
                        else if (tellOf(nm, TELLS))
                                names.push(nm);
                }
                var n = rows.length + " devices";
                emit("wmi.pnp.pci", pci.length ? "detected" : "hidden", pci.length ? pci.join(" ") : n + ", no VM PCI/USB IDs");
                emit("wmi.pnp.names", names.length ? "detected" : "hidden", names.length ? names.join(" | ") : n + ", no VM names");
                emit("wmi.pnp.cdrom", cds.length ? "detected" : "hidden", cds.length ? cds.join(" | ") + " [" + tell(cds[0]) + "]" :
                     n + ", no VM-named optical drive");
                emit("wmi.pnp.tablet", tablet.length ? "detected" : "hidden", tablet.length ? tablet.join(" ") : "no QEMU USB tablet");
                emit("wmi.pnp.acpi", acpi.length ? "detected" : "hidden", acpi.length ? acpi.join(" ") : "no QEMU/Bochs ACPI devices");
        });
        check("proc.guest_tools", function () {
                var rows = wmiRows("Win32_Process", ["Name"]);
                if (typeof rows == "string")
                        return emit("proc.guest_tools", "skipped", rows);
                var found = [];
                for (var i = 0; i < rows.length; i++)
                        for (var j = 0; j < PROCESSES.length; j++)
                                if ((rows[i].Name || "").toLowerCase() == PROCESSES[j].toLowerCase())
                                        found.push(rows[i].Name);
                presence("proc.guest_tools", found, PROCESSES.length + " guest tools processes (" + rows.length + " running)");
        });

        // Sizes: a sandbox's small machine (pafish: < 60 GB disk, < 2 CPUs, < 1 GB RAM; al-khaser
        // the same with 2 GB RAM).
        check("hw.disk_size", function () {
                var rows = wmiRows("Win32_DiskDrive", ["Size", "Model"]);
                if (typeof rows == "string" || !rows.length)
                        return emit("hw.disk_size", "skipped", rows.length ? rows : "no Win32_DiskDrive instance");
                var max = 0;
                for (var i = 0; i < rows.length; i++)
                        max = Math.max(max, Number(rows[i].Size) || 0);
                var gb = Math.round(max / 1e9);
                emit("hw.disk_size", gb < 60 ? "detected" : "hidden", gb + " GB largest disk" + (gb < 60 ? " [< 60 GB]" : ""));
        });
        check("hw.cpu_count", function () {
                var rows = wmiRows("Win32_ComputerSystem", ["NumberOfLogicalProcessors"]);
                if (typeof rows == "string" || !rows.length)
                        return emit("hw.cpu_count", "skipped", rows.length ? rows : "no Win32_ComputerSystem instance");
                var n = Number(rows[0].NumberOfLogicalProcessors);
                emit("hw.cpu_count", n < 2 ? "detected" : "hidden", n + " logical processors" + (n < 2 ? " [< 2]" : ""));
        });
        check("hw.cpu_cores", function () {
                var rows = wmiRows("Win32_Processor", ["NumberOfCores"]);
                if (typeof rows == "string" || !rows.length)
                        return emit("hw.cpu_cores", "skipped", rows.length ? rows : "no Win32_Processor instance");
                var n = 0;
                for (var i = 0; i < rows.length; i++)
                        n += Number(rows[i].NumberOfCores) || 0;
                emit("hw.cpu_cores", n < 2 ? "detected" : "hidden", n + " cores" + (n < 2 ? " [< 2]" : ""));
        });
        check("hw.ram", function () {
                var rows = wmiRows("Win32_ComputerSystem", ["TotalPhysicalMemory"]);
                if (typeof rows == "string" || !rows.length)
                        return emit("hw.ram", "skipped", rows.length ? rows : "no Win32_ComputerSystem instance");
                var mb = Math.round(Number(rows[0].TotalPhysicalMemory) / 1048576);
                // Windows reports what the firmware leaves it: a 2048 MiB VM shows about 2047.
                emit("hw.ram", mb < 2000 ? "detected" : "hidden", mb + " MiB" + (mb < 2000 ? " [< 2 GB]" : ""));
        });
        // SMBIOS types 27 (cooling device), 8 (port connector), 7 (cache), 26 (voltage probe) and 9
        // (system slots), which QEMU does not build: al-khaser's "no fans", "no cache memory", "no
        // voltage probe", "no slots" checks. Many real PCs also show no fan or probe.
        wmiNone("wmi.fan", "Win32_Fan", "no SMBIOS type 27");
        wmiNone("wmi.port_connector", "Win32_PortConnector", "no SMBIOS type 8");
        wmiNone("wmi.cache_memory", "Win32_CacheMemory", "no SMBIOS type 7");
        wmiNone("wmi.voltage_probe", "Win32_VoltageProbe", "no SMBIOS type 26");
        wmiNone("wmi.slot", "CIM_Slot", "no SMBIOS type 9");

        // SMBIOS type 0's BIOS characteristics extension byte 2, bit 4: "this is a virtual machine"
        // (DSP0134 7.1.2.2); QEMU's own type 0 sets it.
        check("smbios.vm_bit", function () {
                var t = smbiosStructure(0);
                if (typeof t == "string" || !t)
                        return emit("smbios.vm_bit", "skipped", t || "no SMBIOS type 0 structure");
                if (t.area.length <= 0x13)
                        return emit("smbios.vm_bit", "hidden", "type 0 of " + t.area.length + " bytes: no extension byte 2");
                var x = t.area[0x13];
                emit("smbios.vm_bit", x & 0x10 ? "detected" : "hidden",
                     "type 0 extension byte 2 = " + hex(x) + (x & 0x10 ? " [virtual machine bit]" : ""));
        });
        // SMBIOS type 3's chassis type (low 7 bits): QEMU's default is 1 (Other); PCs say desktop,
        // notebook, tower...
        check("smbios.chassis_type", function () {
                var t = smbiosStructure(3);
                if (typeof t == "string" || !t)
                        return emit("smbios.chassis_type", "skipped", t || "no SMBIOS type 3 structure");
                if (t.area.length <= 5)
                        return emit("smbios.chassis_type", "skipped", "type 3 of " + t.area.length + " bytes");
                var c = t.area[5] & 0x7f;
                emit("smbios.chassis_type", c == 1 || c == 2 ? "detected" : "hidden",
                     "chassis type " + c + (c == 1 ? " [Other]" : c == 2 ? " [Unknown]" : ""));
        });
        // pafish's gensandbox_uptime: a machine up for less than 12 minutes is a sandbox's fresh one.
        check("os.uptime", function () {
                var rows = wmiRows("Win32_OperatingSystem", ["LastBootUpTime"]);
                if (typeof rows == "string" || !rows.length)
                        return emit("os.uptime", "skipped", rows.length ? rows : "no Win32_OperatingSystem instance");
                var boot = cimTime(rows[0].LastBootUpTime);
                if (isNaN(boot))
                        return emit("os.uptime", "skipped", "no LastBootUpTime: " + rows[0].LastBootUpTime);
                var up = Math.round((new Date().getTime() - boot) / 1000);
                emit("os.uptime", up < 720 ? "detected" : "hidden", "up " + up + " s" + (up < 720 ? " [< 12 minutes]" : ""));
        });
        // The monitor's EDID: QEMU's VGA gives vendor RHT and the name "QEMU Monitor". Read from
        // root\wmi WmiMonitorID, the DISPLAY devices and the Enum\DISPLAY keys.
        check("display.monitor", function () {
                var seen = [], looked = [];
                var rows = wmiRows("WmiMonitorID", ["ManufacturerName", "UserFriendlyName", "InstanceName"], "root\\wmi");
                if (typeof rows != "string") {
                        looked.push("WmiMonitorID");
                        for (var i = 0; i < rows.length; i++)
                                seen.push(chars(rows[i].ManufacturerName) + " " + chars(rows[i].UserFriendlyName) + " " +
                                          (rows[i].InstanceName || ""));
                }
                if (pnpMonitors) {
                        looked.push("Win32_PnPEntity");
                        seen = seen.concat(pnpMonitors);
                }
                if (displayKeys.length) {
                        looked.push("Enum\\DISPLAY");
                        seen.push("DISPLAY\\" + displayKeys.join(" DISPLAY\\"));
                }
                if (!seen.length)
                        return emit("display.monitor", "skipped", "no monitor in " + (looked.join(", ") || "WmiMonitorID, Enum\\DISPLAY"));
                var all = seen.join(" | ");
                if (/(^|[\s\\])RHT|QEMU/i.test(all))
                        emit("display.monitor", "detected", all + " [QEMU monitor EDID]");
                else
                        judge("display.monitor", all);
        });
}

line("vmcloak-detector windows " + VERSION);
registryChecks();
enumeratedChecks();
acpiTableChecks();
systemChecks();
wmiChecks();
