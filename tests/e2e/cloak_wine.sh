#!/usr/bin/env bash
# End-to-end: the Windows cloak detector (data/cloak/detect-windows.js) and the Windows profiles'
# set_identity command, for real, under Wine through the Windows agent on 127.0.0.1.
#  1. A clean prefix: `vmcloak cloakcheck --agent --os windows` uploads and runs the detector;
#     its raw output (run again through the agent by hand) is in the format of
#     cloak/scorecard.h; what Wine can answer has real values, what it cannot says why.
#  2. VM tells planted in the prefix (QEMU BIOS strings, a QEMU disk, virtio PCI ids, driver
#     files, a guest agent service and process, Bochs ACPI OEM ids, a QEMU SCSI identifier, a
#     QEMU DVD-ROM, ACPI tables with BXPC/BOCHS in them and a WAET, QEMU's monitor RHT1234):
#     those checks say detected.
#  3. A real PC's values in the same places: they say hidden again (the CD and WAET stay).
#  4. set_identity as the profile expands it (profile-cmd), read back with reg query.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
SRC=${VMCLOAK_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PROFILE_CMD=${1:?usage: cloak_wine.sh PROFILE_CMD}
exe=$BUILD/agent/vmcloak-agent.exe

need_wine_agent "$exe"

tmp=$(mktemp -d /tmp/vmcloak-cloakwine.XXXXXX)
export WINEPREFIX=$tmp/prefix WINEDEBUG=-all
unset VMCLOAK_HOME
home=$tmp/home
cleanup() {
  # Only this test's prefix: its wineserver ends the agents and whatever they started.
  [ -d "$WINEPREFIX" ] && "$(dirname "$wine")/wineserver" -k 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir -p "$tmp/guest" "$home"
cp "$exe" "$tmp/guest/vmcloak-agent.exe"
port=$(free_port)
t=$(now)
t0=$t
"$wine" "$tmp/guest/vmcloak-agent.exe" --host 127.0.0.1 --port "$port" >"$tmp/agent.log" 2>&1 &
AGENT_PORT=$port AGENT_MAX_TIME=120
up=0
agent_up && up=1
echo "# fresh Wine prefix + agent answering: $(secs "$t" "$(now)") s"
tap_check "the Windows agent answers under Wine on 127.0.0.1:$port" test "$up" = 1
if [ "$up" != 1 ]; then sed 's/^/# agent: /' "$tmp/agent.log"; tap_done; exit; fi

# cloakcheck NAME: the scorecard as JSON in $tmp/NAME.json (exit code in $rc).
cloakcheck() {
  local t; t=$(now)
  "$VM" --home "$home" cloakcheck --agent "127.0.0.1:$port" --os windows --json >"$tmp/$1.json" 2>"$tmp/$1.err"
  rc=$?
  echo "# cloakcheck ($1): $(secs "$t" "$(now)") s, exit $rc"
  sed 's/^/# stderr: /' "$tmp/$1.err"
}
# verdict NAME CHECK: the check's verdict in scorecard NAME; seen NAME CHECK: what it saw.
field() { python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))
c = [c for c in s["checks"] if c["name"] == sys.argv[2]]
print(c[0][sys.argv[3]] if c else "MISSING")' "$tmp/$1.json" "$2" "$3"; }
verdict() { field "$1" "$2" verdict; }
seen() { field "$1" "$2" seen; }
# all_are NAME VERDICT CHECK...: every check has that verdict (the others are shown).
all_are() {
  local name=$1 want=$2 ok=0 c v; shift 2
  for c; do
    v=$(verdict "$name" "$c")
    if [ "$v" != "$want" ]; then echo "# $c: $v ($(seen "$name" "$c"))"; ok=1; fi
  done
  return $ok
}

# --- 1. the clean prefix --------------------------------------------------------------------
cloakcheck clean
tap_check "cloakcheck --agent 127.0.0.1:$port --os windows --json exits 0" test "$rc" = 0
tap_check "... a windows scorecard of detector version 1" test \
  "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["os"], s["detector_version"], len(s["checks"]) == s["hidden"] + s["detected"] + s["skipped"])' "$tmp/clean.json")" = "windows 1 True"
python3 -c 'import json,sys
for c in json.load(open(sys.argv[1]))["checks"]: print("# %-9s %-30s %s" % (c["verdict"], c["name"], c["seen"]))' "$tmp/clean.json"

# The raw output, through the agent by hand: upload, run with the profile's command.
agent -F 'filepath=C:\windows\temp\detect.js' -F "file=@$SRC/data/cloak/detect-windows.js" \
  "http://127.0.0.1:$port/store" >/dev/null
run=$("$PROFILE_CMD" win10x64 run_detector 'path=C:\windows\temp\detect.js')
gout "$run" >"$tmp/raw.txt"
tap_check "the raw output's first line is 'vmcloak-detector windows 1'" \
  test "$(head -n1 "$tmp/raw.txt" | tr -d '\r')" = "vmcloak-detector windows 1"
bad=$(tail -n +2 "$tmp/raw.txt" | tr -d '\r' | grep -Ev $'^[a-z0-9_.]+\t(hidden|detected|skipped)\t[ -~]{1,200}$')
tap_check "every other line is check<TAB>verdict<TAB>seen (printable, at most 200 bytes)" test -z "$bad"
[ -n "$bad" ] && sed 's/^/# bad: /' <<<"$bad"
tap_check "check names are unique and at least 40" test \
  "$(tail -n +2 "$tmp/raw.txt" | cut -f1 | sort | uniq -d | wc -l)/$(($(wc -l <"$tmp/raw.txt") >= 41))" = "0/1"
# The golden capture (tests/fixtures/cloak-wine-windows.txt, used by the parser's unit test)
# lists the same checks in the same order as the detector now prints.
tap_check "the golden Wine capture has the detector's checks in its order" \
  cmp -s <(tail -n +2 "$tmp/raw.txt" | cut -f1) <(tail -n +2 "$SRC/tests/fixtures/cloak-wine-windows.txt" | cut -f1)

# What Wine answers, with real values: WMI (Wine's own BIOS strings, this host's CPU and RAM)
# and the registry (the CPU name Wine writes from CPUID).
tap_check "wmi.computer_system read Wine's Win32_ComputerSystem" grep -q 'The Wine Project' <<<"$(seen clean wmi.computer_system)"
tap_check "reg.cpu.name (registry) and wmi.cpu.name (WMI) read the same CPU name" \
  test "$(seen clean reg.cpu.name)" = "$(seen clean wmi.cpu.name)"
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
echo "# host CPU: $cpu; detector: $(seen clean reg.cpu.name)"
tap_check "... this host's CPU brand string (Wine reads CPUID)" test "$(seen clean reg.cpu.name)" = "$(echo $cpu)"
mem=$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)
got=$(seen clean hw.ram | awk '{ print $1 }')
tap_check "hw.ram saw this host's RAM (${got} MiB, /proc/meminfo ${mem} MiB, within 5%)" \
  awk -v a="$got" -v b="$mem" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= b * 0.05) }'
tap_check "env.wine is detected (Wine is an analysis environment too)" test "$(verdict clean env.wine)" = detected
# Wine's boot time is its wineserver's start (this test's): a fresh machine, as pafish sees it.
uptime_s=$(seen clean os.uptime | awk '{ print $2 }')
tap_check "os.uptime read Wine's LastBootUpTime: up ${uptime_s} s, at most this test's $(secs "$t0" "$(now)") s, detected (< 720 s)" \
  awk -v u="$uptime_s" -v t="$(secs "$t0" "$(now)")" -v v="$(verdict clean os.uptime)" 'BEGIN { exit !(u >= 0 && u <= t + 2 && v == "detected") }'
tap_check "display.monitor read Wine's monitor (DISPLAY\\Default_Monitor): hidden" \
  test "$(verdict clean display.monitor)/$(seen clean display.monitor | grep -c 'DISPLAY\\Default_Monitor')" = hidden/1
# What Wine lacks says so.
tap_check "Win32_Fan, Win32_PortConnector, Win32_CDROMDrive, Win32_CacheMemory, Win32_VoltageProbe, CIM_Slot: skipped as classes Wine's WMI lacks" \
  all_are clean skipped wmi.fan wmi.port_connector wmi.cdrom wmi.cache_memory wmi.voltage_probe wmi.slot
tap_check "... each naming the class" test \
  "$(seen clean wmi.fan | grep -c 'Win32_Fan not found')$(seen clean wmi.cdrom | grep -c 'Win32_CDROMDrive not found')" = 11
tap_check "Disk\\Enum and SystemBiosVersion: skipped as absent (Wine writes neither)" \
  all_are clean skipped reg.disk_enum reg.system_bios_version
tap_check "HARDWARE\\ACPI empty in Wine: acpi.tables and acpi.waet skipped" all_are clean skipped acpi.tables acpi.waet
# Wine has the class but no SMBIOS to give without /sys/firmware/dmi/tables (root only, or absent).
tap_check "smbios.vm_bit, smbios.chassis_type: skipped, Wine's MSSmBios_RawSMBiosTables has no data here" \
  all_are clean skipped smbios.vm_bit smbios.chassis_type
tap_check "every skipped check says why" test -z "$(python3 -c 'import json,sys
for c in json.load(open(sys.argv[1]))["checks"]:
    if c["verdict"] == "skipped" and not any(w in c["seen"] for w in ("absent", "not found", "no ", "error")): print(c["name"])' "$tmp/clean.json")"
PLANTED="reg.system_bios_version reg.bios.system_manufacturer reg.bios.bios_vendor reg.pci_ids
  reg.disk_enum svc.qemu file.drivers file.guest_tools proc.guest_tools display.monitor"
# HARDWARE\ACPI (reg.acpi_oem) and HARDWARE\DEVICEMAP\Scsi (reg.scsi_identifier) are new keys under
# Wine's volatile HKLM\HARDWARE, which reg.exe cannot create (it makes non-volatile keys):
# tests/fixtures/wine-volatile-key.c does, when mingw-w64 is here to build it.
vkey=
if command -v x86_64-w64-mingw32-gcc >/dev/null &&
   x86_64-w64-mingw32-gcc -O2 -o "$tmp/guest/volatile-key.exe" "$SRC/tests/fixtures/wine-volatile-key.c"; then
  agent -F 'filepath=C:\windows\temp\volatile-key.exe' -F "file=@$tmp/guest/volatile-key.exe" \
    "http://127.0.0.1:$port/store" >/dev/null
  vkey='C:\windows\temp\volatile-key.exe'
  PLANTED="$PLANTED reg.acpi_oem reg.scsi_identifier reg.scsi_identifier.cdrom acpi.tables acpi.waet"
fi
n_planted=$(wc -w <<<"$PLANTED")
tap_check "the clean prefix: no QEMU tells in the BIOS key, PCI ids, services, drivers, tools, processes" \
  all_are clean hidden reg.bios.system_manufacturer reg.bios.bios_vendor reg.pci_ids svc.qemu file.drivers \
  file.guest_tools proc.guest_tools wmi.pnp.pci wmi.pnp.tablet wmi.pnp.acpi

# --- 2. VM tells planted --------------------------------------------------------------------
# acpi_header SIG OEMID TABLEID CREATOR: an ACPI table header (36 bytes, ACPI 6.5 5.2.6) in hex,
# as Windows keeps a table under HARDWARE\ACPI.
acpi_header() { python3 -c 'import struct,sys
a = [s.encode() for s in sys.argv[1:]]
print(struct.pack("<4sIBB6s8sI4sI", a[0], 36, 1, 0, a[1], a[2], 1, a[3], 1).hex().upper())' "$@"; }
t=$(now)
ok=0
for c in \
  'reg add HKLM\HARDWARE\DESCRIPTION\System /v SystemBiosVersion /t REG_MULTI_SZ /d "BOCHS  - 1\0SeaBIOS rel-1.16.2" /f' \
  'reg add HKLM\HARDWARE\DESCRIPTION\System\BIOS /v SystemManufacturer /d QEMU /f' \
  'reg add HKLM\HARDWARE\DESCRIPTION\System\BIOS /v BIOSVendor /d SeaBIOS /f' \
  'reg add "HKLM\SYSTEM\CurrentControlSet\Enum\PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00" /f' \
  'reg add HKLM\SYSTEM\CurrentControlSet\Services\Disk\Enum /v Count /t REG_DWORD /d 1 /f' \
  'reg add HKLM\SYSTEM\CurrentControlSet\Services\Disk\Enum /v 0 /d "IDE\DiskQEMU_HARDDISK___________________________2.5+____\5&2e5b3b2a&0&0.0.0" /f' \
  'reg add HKLM\SYSTEM\CurrentControlSet\Services\QEMU-GA /v Type /t REG_DWORD /d 16 /f' \
  'cmd /c echo not a driver> C:\windows\system32\drivers\vioscsi.sys' \
  'cmd /c mkdir "C:\Program Files\Qemu-ga"' \
  'cmd /c copy C:\windows\temp\vmcloak-agent-copy.exe C:\windows\temp\qemu-ga.exe' \
  'reg add "HKLM\SYSTEM\CurrentControlSet\Enum\DISPLAY\RHT1234\1&8713bca&0&UID0" /f' \
  ${vkey:+"$vkey HARDWARE\ACPI\DSDT\BOCHS_\BXPCDSDT\00000001 00000000 hex:$(acpi_header DSDT 'BOCHS ' BXPCDSDT BXPC)"} \
  ${vkey:+"$vkey HARDWARE\ACPI\FADT\BOCHS_\BXPCFACP"} ${vkey:+"$vkey HARDWARE\ACPI\WAET\BOCHS_\BXPCWAET\00000001"} \
  ${vkey:+"$vkey \"HARDWARE\DEVICEMAP\Scsi\Scsi Port 0\" Driver storahci"} \
  ${vkey:+"$vkey \"HARDWARE\DEVICEMAP\Scsi\Scsi Port 0\Scsi Bus 0\Target Id 0\Logical Unit Id 0\" Identifier \"QEMU HARDDISK\""} \
  ${vkey:+"$vkey \"HARDWARE\DEVICEMAP\Scsi\Scsi Port 0\Scsi Bus 0\Target Id 1\Logical Unit Id 0\" Identifier \"QEMU     QEMU DVD-ROM     2.5+\""} \
  ${vkey:+"$vkey \"HARDWARE\DEVICEMAP\Scsi\Scsi Port 0\Scsi Bus 0\Target Id 1\Logical Unit Id 0\" Type CdRomPeripheral"}; do
  if [[ $c == *vmcloak-agent-copy* ]]; then
    agent -F 'filepath=C:\windows\temp\vmcloak-agent-copy.exe' -F "file=@$exe" "http://127.0.0.1:$port/store" >/dev/null
  fi
  e=$(gexit "$c"); [ "$e" = 0 ] || { echo "# exit $e: $c"; ok=1; }
done
# A process named qemu-ga.exe: a second agent on another port, alive until the prefix ends.
agent --data-urlencode "command=C:\\windows\\temp\\qemu-ga.exe --host 127.0.0.1 --port $(free_port)" \
  --data-urlencode async=1 "http://127.0.0.1:$port/execute" >/dev/null
sleep 1
echo "# planting: $(secs "$t" "$(now)") s"
tap_check "VM tells planted through the agent (reg add, files, a qemu-ga.exe process${vkey:+, volatile HARDWARE keys})" test "$ok" = 0
[ -z "$vkey" ] && tap_skip "HARDWARE\\ACPI and DEVICEMAP\\Scsi tells" "x86_64-w64-mingw32-gcc is missing (Debian package gcc-mingw-w64-x86-64)"
cloakcheck planted
tap_check "cloakcheck on the planted prefix exits 0" test "$rc" = 0
python3 -c 'import json,sys
old = {c["name"]: c["verdict"] for c in json.load(open(sys.argv[1]))["checks"]}
for c in json.load(open(sys.argv[2]))["checks"]:
    if c["verdict"] != old.get(c["name"]): print("# now %-9s %-30s %s" % (c["verdict"], c["name"], c["seen"]))' "$tmp/clean.json" "$tmp/planted.json"
# shellcheck disable=SC2086
tap_check "every planted tell is detected" all_are planted detected $PLANTED
got="$(seen planted display.monitor | grep -c 'RHT1234')/$(seen planted reg.scsi_identifier | grep -c DVD)"
want="1/0"
if [ -n "$vkey" ]; then
  got="$got/$(seen planted acpi.tables)/$(seen planted reg.scsi_identifier.cdrom)"
  want="$want/DSDT: BXPC BOCHS [QEMU's ACPI tables]/QEMU QEMU DVD-ROM 2.5+ [QEMU]"
fi
tap_check "... the monitor RHT1234, the CD apart from the disks${vkey:+, BXPC and BOCHS in the DSDT bytes}" test "$got" = "$want"
[ "$got" = "$want" ] || echo "# got: $got"
tap_check "... naming what it saw" test \
  "$(seen planted reg.disk_enum | grep -c 'DiskQEMU_HARDDISK')$(seen planted reg.pci_ids | grep -c 'VEN_1AF4')$(seen planted file.drivers | grep -c 'vioscsi.sys')$(seen planted proc.guest_tools | grep -c 'qemu-ga.exe')$(seen planted reg.system_bios_version | grep -c 'SeaBIOS')" = 11111
tap_check "the planted prefix scores worse than the clean one" test \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["detected"] - json.load(open(sys.argv[2]))["detected"])' "$tmp/planted.json" "$tmp/clean.json")" = "$n_planted"

# --- 3. a real PC's values in the same places -----------------------------------------------
ok=0
for c in \
  'reg add HKLM\HARDWARE\DESCRIPTION\System /v SystemBiosVersion /t REG_MULTI_SZ /d "DELL   - 1072009\01.21.0\0Dell Inc. - 1072009" /f' \
  'reg add HKLM\HARDWARE\DESCRIPTION\System\BIOS /v SystemManufacturer /d "Dell Inc." /f' \
  'reg add HKLM\SYSTEM\CurrentControlSet\Services\Disk\Enum /v 0 /d "SCSI\Disk&Ven_&Prod_Samsung_SSD_860\4&2b5b4d1a&0&000000" /f' \
  ${vkey:+"$vkey \"HARDWARE\DEVICEMAP\Scsi\Scsi Port 0\Scsi Bus 0\Target Id 0\Logical Unit Id 0\" Identifier \"Samsung SSD 860 EVO 500GB\""} \
  ${vkey:+"$vkey HARDWARE\ACPI\DSDT\BOCHS_\BXPCDSDT\00000001 00000000 hex:$(acpi_header DSDT ALASKA 'A M I ' INTL)"}; do
  e=$(gexit "$c"); [ "$e" = 0 ] || { echo "# exit $e: $c"; ok=1; }
done
cloakcheck real
tap_check "real PC values written" test "$ok" = 0
tap_check "a real PC's BIOS strings, disk enumeration${vkey:+, SCSI disk, DSDT (ALASKA/INTL)}: hidden again" \
  all_are real hidden reg.system_bios_version reg.bios.system_manufacturer reg.disk_enum ${vkey:+reg.scsi_identifier acpi.tables}
tap_check "... with the values read" test \
  "$(seen real reg.disk_enum | grep -c Samsung_SSD_860)$(seen real reg.bios.system_manufacturer)" = "1Dell Inc."

# --- 4. set_identity ------------------------------------------------------------------------
guid=$(python3 -c 'import uuid; print(uuid.uuid4())')
date=$(( $(date +%s) - 200 * 86400 ))
cmd=$("$PROFILE_CMD" win10x64 set_identity machine_id=0123456789abcdef0123456789abcdef "machine_guid=$guid" \
  owner=Margaret "install_date=$date")
echo "# $cmd"
tap_check "win10x64's set_identity exits 0 under Wine" test "$(gexit "$cmd")" = 0
q=$(gout 'reg query HKLM\SOFTWARE\Microsoft\Cryptography /v MachineGuid')
tap_check "MachineGuid reads back" grep -Eq "MachineGuid +REG_SZ +$guid" <<<"$q"
q=$(gout 'reg query "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"')
tap_check "RegisteredOwner reads back" grep -Eq 'RegisteredOwner +REG_SZ +Margaret' <<<"$q"
tap_check "InstallDate reads back as a REG_DWORD" grep -Eq "InstallDate +REG_DWORD +$(printf '0x%x' "$date")" <<<"$q"
q=$(gout 'reg query HKLM\SOFTWARE\Microsoft\SQMClient /v MachineId')
tap_check "SQMClient MachineId reads back, braced" grep -Eq "MachineId +REG_SZ +\\{$guid\\}" <<<"$q"
tap_done
