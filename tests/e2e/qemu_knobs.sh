#!/usr/bin/env bash
# End-to-end: every cloaking knob the QEMU driver renders (tests/argv/full_cloak.conf, the golden
# case) is accepted by the real QEMU and seen by a guest. A Debian kernel with a BusyBox initramfs
# boots under TCG through the library (qemu-drive run), prints what Linux reads (DMI, ATA
# IDENTIFY strings, PCI subsystem ids, CPUID, input devices, ACPI OEM ids) on its serial port and
# powers off; the script compares that with the config. A second boot with the USB tablet (the
# default pointer) shows the tablet, so "no tablet with ps2" can fail.
#
# TCG and KVM: everything checked here works under TCG (SMBIOS, ACPI OEM ids, ATA model, serial,
# firmware revision and WWN, e1000e subsystem ids, CPUID family/model/stepping, model-id, the
# hypervisor bit, the pointer). kvm=off hides KVM's CPUID signature leaf (0x40000000), which only
# KVM has; the tcg-cpuid=off rendered with it hides TCG's ("TCGTCGTCGTCG"), checked here with
# virt-what's CPUID helper, and the tablet boot (without kvm=off) shows the signature, so the check
# can fail. SMBIOS type 0 and 3 come from the files the driver writes beside the disk: the type 0
# VM bit (Extension Byte 2 bit 4, what systemd-detect-virt reads) must be clear and the chassis
# type the profile's; systemd-detect-virt itself runs in the guest when the host has it. CPU features TCG
# cannot emulate (Skylake-Client's pcid, x2apic, rtm, ...) are dropped by QEMU under TCG with a
# warning, so a TCG guest's flags differ from a KVM guest's with the same -cpu.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/qemu-guest.sh"
DRIVE=${1:?usage: qemu_knobs.sh QEMU_DRIVE}
ROOT=${VMCLOAK_SOURCE_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-knobs.XXXXXX)
export TMPDIR=$tmp
qemu_pid=
cleanup() { [ -n "$qemu_pid" ] && kill -KILL "$qemu_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

kdir=$("$ROOT/tests/fixtures/debian-kernel.sh" 2>/dev/null) || kdir=
if [ -z "$kdir" ] || ! command -v busybox >/dev/null; then
  echo "1..0 # SKIP cannot build the test guest (no static busybox or Debian kernel)"; exit 0
fi
cp "$(ls "$kdir"/boot/vmlinuz-* | head -n1)" "$tmp/vmlinuz"
# Disk and CD-ROM (libata, AHCI, SCSI disk and CD), the NIC, the USB tablet, the PS/2 mouse.
if ! guest_modules "$kdir" "$tmp/root" ahci sd_mod sr_mod e1000e ehci_pci usbhid hid_generic psmouse; then
  echo "1..0 # SKIP a kernel module of the test guest is missing"; exit 0
fi
# A host binary with the shared libraries it needs (ldd), at the same paths in the guest's tree.
guest_bin() { # BINARY DIR
  local b=$1 dir=$2 l
  [ -x "$b" ] || return 1
  mkdir -p "$dir$(dirname "$b")" && cp "$b" "$dir$b" || return 1
  for l in $(ldd "$b" | grep -o '/[^ ]*'); do
    mkdir -p "$dir$(dirname "$l")" && cp -L "$l" "$dir$l" || return 1
  done
}
have_cpuid=0; have_sdv=0
guest_bin /usr/libexec/virt-what-cpuid-helper "$tmp/root" && have_cpuid=1
guest_bin /usr/bin/systemd-detect-virt "$tmp/root" && have_sdv=1
cat >"$tmp/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
# The disk, the CD-ROM drive, the NIC, the PS/2 mouse and (when there is one) the tablet come up
# asynchronously.
want_tablet=0
grep -q 'knobs=tablet' /proc/cmdline && want_tablet=1
i=0
while [ $i -lt 150 ]; do
  if [ -e /sys/block/sda ] && [ -e /sys/block/sr0 ] && [ -e /sys/class/net/eth0 ] &&
     { [ $want_tablet = 0 ] || grep -q Tablet /proc/bus/input/devices; } &&
     grep -q 'PS/2 Generic' /proc/bus/input/devices; then break; fi
  usleep 100000; i=$((i + 1))
done
o=/dev/ttyS0
p() { echo "knob $1=$2" >$o; }
for f in /sys/class/dmi/id/*; do
  case ${f##*/} in uevent|modalias|power|subsystem) continue ;; esac
  [ -f "$f" ] && p "dmi.${f##*/}" "$(head -n1 "$f")"
done
p dmi4 "$(strings /sys/firmware/dmi/entries/4-0/raw | tr '\n' '|')"
# SMBIOS type 0 BIOS Characteristics Extension Byte 2 (offset 0x13): bit 4 is "virtual machine".
p dmi0.ext2 "$(dd if=/sys/firmware/dmi/entries/0-0/raw bs=1 skip=19 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')"
p dmi0.count "$(ls -d /sys/firmware/dmi/entries/0-* | wc -l)"
p dmi3.count "$(ls -d /sys/firmware/dmi/entries/3-* | wc -l)"
[ -x /usr/libexec/virt-what-cpuid-helper ] && p cpuid.sig "$(/usr/libexec/virt-what-cpuid-helper | tr -cd 'A-Za-z0-9 ')"
[ -x /usr/bin/systemd-detect-virt ] && p detect_virt "$(/usr/bin/systemd-detect-virt 2>&1)"
p dmi17 "$(strings /sys/firmware/dmi/entries/17-0/raw | tr '\n' '|')"
for d in /sys/class/ata_device/*; do p "ata.${d##*/}" "$(tr -d ' \n' <"$d/id")"; done
p sda.wwid "$(cat /sys/block/sda/device/wwid)"
p sr0.inquiry "$(cat /sys/block/sr0/device/vendor)|$(cat /sys/block/sr0/device/model)|$(cat /sys/block/sr0/device/rev)"
for d in /sys/bus/pci/devices/*; do
  p pci "$(cat $d/vendor):$(cat $d/device) $(cat $d/subsystem_vendor):$(cat $d/subsystem_device)"
done
p mac "$(cat /sys/class/net/eth0/address)"
p cpu.family "$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
p cpu.model "$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
p cpu.stepping "$(sed -n 's/^stepping[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
p cpu.name "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
p cpu.hypervisor "$(grep '^flags' /proc/cpuinfo | head -n1 | grep -cw hypervisor)"
grep '^N: Name=' /proc/bus/input/devices | while read -r l; do n=${l#N: Name=\"}; p input "${n%\"}"; done
p acpi.oem_id "$(dd if=/sys/firmware/acpi/tables/DSDT bs=1 skip=10 count=6 2>/dev/null)"
p acpi.oem_table_id "$(dd if=/sys/firmware/acpi/tables/DSDT bs=1 skip=16 count=8 2>/dev/null)"
echo "knob done" >$o
poweroff -f
EOF
guest_initrd "$tmp/init" "$tmp/initrd.gz" "$tmp/root" || { echo "1..0 # SKIP cannot pack the initramfs"; exit 0; }
qemu-img create -q -f qcow2 "$tmp/disk.qcow2" 64M

# The golden case's knobs on the test guest: its own disk, user networking, TCG, one CPU.
conf() { # NAME KERNEL-ARG [KEEP-POINTER] -> $tmp/NAME.conf (without it, also without kvm=off)
  { guest_conf "$tmp" "$tmp/$1.serial" | sed "s/^extra_arg=console=ttyS0 quiet panic=-1$/extra_arg=console=ttyS0 quiet loglevel=1 panic=-1 $2/"
    grep -vE '^(#|version=|accel=|bridge=|disk=|cpus=|ram_mb=)' "$ROOT/tests/argv/full_cloak.conf" |
      { if [ -n "${3:-}" ]; then cat; else grep -vE '^(pointer=|cpu_flag=kvm=off$)'; fi; }
  } >"$tmp/$1.conf"
}
boot() { # NAME -> the guest's "knob" lines in $tmp/NAME.knobs
  timeout 180 "$DRIVE" run "$tmp/$1.conf" >"$tmp/$1.out" 2>&1 &
  local w=$!
  wait $w
  sed -n 's/^knob //p' "$tmp/$1.serial" 2>/dev/null | tr -d '\r' >"$tmp/$1.knobs"
  grep -qx done "$tmp/$1.knobs"
}
val() { sed -n "s/^$2=//p" "$tmp/$1.knobs" | head -n1; }   # NAME KEY
cfg() { sed -n "s/^$1=//p" "$ROOT/tests/argv/full_cloak.conf" | head -n1; }   # KEY (a smbios key is smbios.N=key)
smb() { sed -n "s/^smbios\.$1=$2=//p" "$ROOT/tests/argv/full_cloak.conf"; }  # TYPE KEY
# An ATA IDENTIFY string from /sys/class/ata_device/*/id (256 words in hex): words FIRST..LAST,
# two characters a word, high byte first, trailing blanks dropped.
ata_string() { # HEX FIRST LAST
  local hex=$1 w s=
  for ((w = $2; w <= $3; w++)); do s+=$(printf '%b' "\\x${hex:w*4:2}\\x${hex:w*4+2:2}"); done
  sed 's/ *$//' <<<"$s"
}
eq() { [ "$1" = "$2" ] || { echo "# got '$1', want '$2'"; return 1; }; }

start=$(date +%s)
conf ps2 "" keep
boot ps2; rc=$?
tap_check "the fully cloaked PC boots under TCG and reports" test "$rc" = 0
[ "$rc" = 0 ] || { sed 's/^/# /' "$tmp/ps2.out" | tail -n 5; tail -n 5 "$tmp/ps2.serial" 2>/dev/null | sed 's/^/# /'; }

for k in vendor:bios_vendor version:bios_version date:bios_date release:bios_release; do
  tap_check "SMBIOS type 0 ${k%%:*} is seen as /sys/class/dmi/id/${k#*:}" eq "$(val ps2 "dmi.${k#*:}")" "$(smb 0 "${k%%:*}")"
done
for k in manufacturer:sys_vendor product:product_name version:product_version serial:product_serial \
         uuid:product_uuid sku:product_sku family:product_family; do
  tap_check "SMBIOS type 1 ${k%%:*} is seen as ${k#*:}" eq "$(val ps2 "dmi.${k#*:}")" "$(smb 1 "${k%%:*}")"
done
for k in manufacturer:board_vendor product:board_name version:board_version serial:board_serial; do
  tap_check "SMBIOS type 2 ${k%%:*} is seen as ${k#*:}" eq "$(val ps2 "dmi.${k#*:}")" "$(smb 2 "${k%%:*}")"
done
for k in manufacturer:chassis_vendor serial:chassis_serial; do
  tap_check "SMBIOS type 3 ${k%%:*} is seen as ${k#*:}" eq "$(val ps2 "dmi.${k#*:}")" "$(smb 3 "${k%%:*}")"
done
# QEMU 7.2's -smbios type=3 cannot set the chassis type: the driver's type 3 file does.
tap_check "the chassis type is the profile's ($(cfg chassis_type))" eq "$(val ps2 dmi.chassis_type)" "$(cfg chassis_type)"
tap_check "one type 0 and one type 3 structure (the files replace QEMU's own)" \
  eq "$(val ps2 dmi0.count) $(val ps2 dmi3.count)" "1 1"
ext2=$(val ps2 dmi0.ext2)
tap_check "SMBIOS type 0 Extension Byte 2 has no virtual machine bit (bit 4): got ${ext2:-nothing}" \
  test -n "$ext2" -a $(( ${ext2:-16} & 16 )) = 0
tap_check "... and has the BIOS Boot Specification bit a real firmware sets" test $(( ${ext2:-0} & 1 )) = 1
tap_check "SMBIOS type 4 processor version and manufacturer are in the table" \
  grep -qF "$(smb 4 manufacturer)|$(smb 4 version)" <<<"$(val ps2 dmi4)"
tap_check "SMBIOS type 17 memory part number and manufacturer are in the table" \
  grep -qF "$(smb 17 manufacturer)" <<<"$(val ps2 dmi17)"
tap_check "... and its part number" grep -qF "$(smb 17 part)" <<<"$(val ps2 dmi17)"

hd=$(val ps2 ata.dev1.0)
tap_check "ATA disk model (IDENTIFY words 27-46)" eq "$(ata_string "$hd" 27 46)" "$(cfg disk_model)"
tap_check "ATA disk serial (words 10-19)" eq "$(ata_string "$hd" 10 19 | sed 's/^ *//')" "$(cfg disk_serial)"
tap_check "ATA disk firmware revision (words 23-26)" eq "$(ata_string "$hd" 23 26)" "$(cfg disk_firmware)"
tap_check "ATA disk WWN: Linux names the disk by it" eq "$(val ps2 sda.wwid)" "naa.$(cfg disk_wwn | sed 's/^0x//')"
cd=$(val ps2 ata.dev2.0)
tap_check "ATAPI CD-ROM model" eq "$(ata_string "$cd" 27 46)" "$(cfg cdrom_model)"
tap_check "ATAPI CD-ROM firmware revision" eq "$(ata_string "$cd" 23 26)" "$(cfg cdrom_firmware)"
tap_check "ATAPI CD-ROM serial" eq "$(ata_string "$cd" 10 19 | sed 's/^ *//')" "$(cfg cdrom_serial)"
# QEMU's ATAPI INQUIRY answers vendor "QEMU" whatever the model (hw/ide/atapi.c): a command line
# cannot change it. Pinned here so a QEMU that stops doing it is noticed.
tap_check "the CD-ROM's SCSI INQUIRY still says vendor QEMU (not settable; documented)" \
  grep -q '^QEMU *|' <<<"$(val ps2 sr0.inquiry)"

sub=$(cfg nic_subsystem)
tap_check "e1000e (8086:10d3) carries the PCI subsystem ids $sub" \
  grep -qx "knob pci=0x8086:0x10d3 0x${sub%%:*}:0x${sub#*:}" <(sed -n 's/^/knob /p' "$tmp/ps2.knobs")
tap_check "the MAC is the profile's" eq "$(val ps2 mac)" "$(cfg mac)"

fms=$(cfg cpu_fms)
tap_check "CPUID family" eq "$(val ps2 cpu.family)" "${fms%%/*}"
m=${fms#*/}
tap_check "CPUID model number" eq "$(val ps2 cpu.model)" "${m%%/*}"
tap_check "CPUID stepping" eq "$(val ps2 cpu.stepping)" "${fms##*/}"
tap_check "CPU model name (model-id)" eq "$(val ps2 cpu.name)" "$(sed -n 's/^cpu_flag=model-id=//p' "$ROOT/tests/argv/full_cloak.conf")"
tap_check "no hypervisor flag in /proc/cpuinfo with -hypervisor" eq "$(val ps2 cpu.hypervisor)" 0
if [ $have_cpuid = 1 ]; then
  tap_check "CPUID 0x40000000 does not say TCGTCGTCGTCG with kvm=off,tcg-cpuid=off (virt-what's helper: '$(val ps2 cpuid.sig)')" \
    test -z "$(grep -F TCGTCGTCGTCG <<<"$(val ps2 cpuid.sig)")" -a -n "$(grep -x 'cpuid.sig=.*' "$tmp/ps2.knobs")"
else
  tap_skip "CPUID 0x40000000 signature" "virt-what's CPUID helper is not installed (apt-get install virt-what)"
fi
if [ $have_sdv = 1 ]; then
  tap_check "systemd-detect-virt in the guest says none" eq "$(val ps2 detect_virt)" none
else
  tap_skip "systemd-detect-virt in the guest" "systemd-detect-virt is not installed"
fi

tap_check "ACPI OEM id in the DSDT header" eq "$(val ps2 acpi.oem_id | sed 's/ *$//')" "$(cfg acpi_oem_id)"
tap_check "ACPI OEM table id in the DSDT header" eq "$(val ps2 acpi.oem_table_id | sed 's/ *$//')" "$(cfg acpi_oem_table_id)"

tap_check "pointer=ps2: no QEMU USB Tablet" test -z "$(grep -x 'input=QEMU QEMU USB Tablet' "$tmp/ps2.knobs")"
tap_check "pointer=ps2: the ICH9 EHCI (8086:293a) instead of usb-ehci (8086:24cd), and no tablet" test -z "$(grep -F 'pci=0x8086:0x24cd' "$tmp/ps2.knobs")" -a -n "$(grep -F 'pci=0x8086:0x293a' "$tmp/ps2.knobs")"
tap_check "pointer=ps2: the PS/2 mouse is there" grep -qx 'input=ImExPS/2 Generic Explorer Mouse' "$tmp/ps2.knobs"

conf tablet knobs=tablet
boot tablet; rc=$?
tap_check "the same PC with the default pointer boots" test "$rc" = 0
tap_check "... and its guest sees the QEMU USB Tablet (the ps2 check can fail)" grep -qx 'input=QEMU QEMU USB Tablet' "$tmp/tablet.knobs"
tap_check "... on the EHCI controller" grep -qF 'pci=0x8086:0x24cd' "$tmp/tablet.knobs"
if [ $have_cpuid = 1 ]; then
  tap_check "... and without kvm=off (so no tcg-cpuid=off) CPUID 0x40000000 says TCGTCGTCGTCG (the check above can fail)" \
    grep -qF TCGTCGTCGTCG <<<"$(val tablet cpuid.sig)"
fi
# UEFI: OVMF takes QEMU's type 0 as it is (it adds its own only when there is none).
if [ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] && [ -f /usr/share/OVMF/OVMF_VARS_4M.fd ]; then
  conf uefi "" keep
  cp /usr/share/OVMF/OVMF_VARS_4M.fd "$tmp/vars.fd"
  printf 'uefi_code=/usr/share/OVMF/OVMF_CODE_4M.fd\nuefi_vars=%s/vars.fd\n' "$tmp" >>"$tmp/uefi.conf"
  boot uefi; rc=$?
  tap_check "the same PC boots with UEFI (OVMF)" test "$rc" = 0
  ext2=$(val uefi dmi0.ext2)
  tap_check "... its type 0 Extension Byte 2 has the UEFI bit (3) and no virtual machine bit (4): got ${ext2:-nothing}" \
    test -n "$ext2" -a $(( ${ext2:-16} & 24 )) = 8
  tap_check "... the BIOS vendor and the chassis type are the profile's" \
    eq "$(val uefi dmi.bios_vendor)/$(val uefi dmi.chassis_type)" "$(smb 0 vendor)/$(cfg chassis_type)"
  [ $have_sdv = 1 ] && tap_check "... and systemd-detect-virt says none" eq "$(val uefi detect_virt)" none
else
  tap_skip "the same PC with UEFI" "OVMF is not installed"
fi
[ $have_sdv = 1 ] && echo "# without kvm=off systemd-detect-virt says '$(val tablet detect_virt)' (it reads CPUID leaves only with the hypervisor bit)"
tap_check "the SMBIOS files are beside the disk" test -s "$tmp/disk.qcow2.smbios/type0.bin" -a -s "$tmp/disk.qcow2.smbios/type3.bin"
echo "# the boots took $(( $(date +%s) - start )) s"
tap_done
