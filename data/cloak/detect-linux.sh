#!/bin/sh
# vmcloak's cloak detector for Linux guests (BusyBox sh): looks where virt-what,
# systemd-detect-virt, pafish-like checks and malware look, and prints one line per check in
# the format of src/cloak/scorecard.h: CHECK<tab>hidden|detected|skipped<tab>WHAT IT SAW.
# The tells it knows are below; a verdict is "detected" when what it saw names one of them.
VERSION=1
TAB=$(printf '\t')

# QEMU/KVM/TCG and the other hypervisors' names, as firmware, DMI and devices carry them.
TELLS='qemu|bochs|bxpc|seabios|kvm|tcg|virtualbox|vbox|innotek|vmware|xen|parallels|bhyve|hyper-v|virtual machine|standard pc|pc-q35|pc-i440fx|red hat|ovmf|edk ii'
# Virtual NIC vendors' OUIs: QEMU, Xen, VMware (4), VirtualBox (2), Hyper-V, Parallels.
MAC_OUIS='52:54:00|00:16:3e|00:05:69|00:0c:29|00:1c:14|00:50:56|08:00:27|0a:00:27|00:15:5d|00:1c:42'
# PCI vendors that only virtual hardware has: virtio/Red Hat Qumranet, Red Hat, Bochs/QEMU VGA,
# VMware, VirtualBox (InnoTek), Xen, Parallels.
PCI_VENDORS='0x1af4|0x1b36|0x1234|0x15ad|0x80ee|0x5853|0x1ab8'

# One line, tabs and line ends as spaces, at most 200 bytes: a longer one (a list of devices)
# ends at its last whole space-separated item within 196 bytes, then " ...".
emit() {
	_s=$(printf '%s' "$3" | tr '\t\r\n' '   ')
	if [ "$(printf '%s' "$_s" | head -c 201 | wc -c)" -gt 200 ]; then
		_s=$(printf '%s' "$_s" | head -c 196)
		_s="${_s% *} ..."
	fi
	printf '%s\t%s\t%s\n' "$1" "$2" "$_s"
}
tell() { printf '%s' "$1" | grep -qiE "$TELLS"; }
# A check of a string: detected when it names a tell, or is empty (a real PC fills it in).
judge() {
	if [ -z "$2" ]; then emit "$1" detected "(empty)"
	elif tell "$2"; then emit "$1" detected "$2"
	else emit "$1" hidden "$2"; fi
}

echo "vmcloak-detector linux $VERSION"

# --- DMI (SMBIOS types 0, 1, 2, 3) -------------------------------------------------------
dmi=/sys/class/dmi/id
for f in sys_vendor product_name product_version board_vendor board_name board_version bios_vendor bios_version \
	chassis_vendor chassis_version; do
	if [ ! -d $dmi ]; then emit dmi.$f skipped "no $dmi"
	elif [ ! -r $dmi/$f ]; then emit dmi.$f detected "(missing: no SMBIOS table for it)"
	else
		v=$(cat $dmi/$f 2>/dev/null)
		# Many vendors leave the type 1 and 3 versions empty (dmidecode: "Not Specified").
		case $f:$v in
		product_version:|chassis_version:) emit dmi.$f hidden "(empty, as many vendors leave it)" ;;
		*) judge dmi.$f "$v" ;;
		esac
	fi
done
# 1 "Other" and 2 "Unknown" are QEMU's; PCs say desktop (3..7, 13..16), laptop (8..10, 14), ...
if [ -r $dmi/chassis_type ]; then
	ct=$(cat $dmi/chassis_type)
	case $ct in 1|2|'') emit dmi.chassis_type detected "$ct (Other/Unknown)" ;; *) emit dmi.chassis_type hidden "$ct" ;; esac
else
	emit dmi.chassis_type detected "(missing)"
fi

# SMBIOS type 0's "this is a virtual machine" bit (BIOS characteristics extension byte 2, bit 4,
# offset 0x13), which QEMU always sets and systemd-detect-virt reads ("vm-other").
raw=/sys/firmware/dmi/entries/0-0/raw
if [ -r $raw ]; then
	len=$(od -A n -t u1 -j 1 -N 1 $raw | tr -d ' ')
	b=$(od -A n -t u1 -j 19 -N 1 $raw | tr -d ' ')
	if [ "${len:-0}" -lt 20 ] || [ -z "$b" ]; then emit dmi.bios_vm_bit hidden "no extension byte 2 (table length ${len:-?})"
	elif [ $((b & 16)) != 0 ]; then emit dmi.bios_vm_bit detected "type 0 extension byte 2 = $b: the VM bit is set"
	else emit dmi.bios_vm_bit hidden "type 0 extension byte 2 = $b"; fi
else
	emit dmi.bios_vm_bit skipped "no $raw"
fi

# --- BIOS ROM (the F segment, where SeaBIOS keeps its own name) ----------------------------
rom=$(dd if=/dev/mem bs=65536 skip=15 count=1 2>/dev/null | tr -c 'A-Za-z0-9' '\n' | grep -iE '^(seabios|bochs|qemu|bxpc)' | sort | uniq -c | tr -s ' \n' '  ' | sed 's/^ *//')
if ! dd if=/dev/mem bs=16 count=1 skip=61440 2>/dev/null | head -c 1 | grep -q .; then
	[ -r /dev/mem ] && emit bios.rom skipped "/dev/mem unreadable" || emit bios.rom skipped "no /dev/mem"
elif [ -n "$rom" ]; then emit bios.rom detected "$rom"
else emit bios.rom hidden "no SeaBIOS/Bochs/QEMU strings at 0xF0000"; fi

# --- CPU ----------------------------------------------------------------------------------
flags=$(grep -m1 '^flags' /proc/cpuinfo)
case " ${flags#*:} " in
*" hypervisor "*) emit cpuid.hypervisor detected "the hypervisor flag (CPUID 1 ECX bit 31) is set" ;;
*) emit cpuid.hypervisor hidden "no hypervisor flag" ;;
esac
# The signature at CPUID 0x40000000 (virt-what's helper reads it), /sys/hypervisor (Xen) and
# what the kernel made of it at boot.
sig=""
for h in /usr/libexec/virt-what-cpuid-helper /usr/lib/virt-what/virt-what-cpuid-helper; do
	[ -x $h ] && sig=$($h 2>/dev/null) && break
done
[ -r /sys/hypervisor/type ] && sig="$sig /sys/hypervisor/type=$(cat /sys/hypervisor/type)"
hd=$(dmesg 2>/dev/null | grep -o 'Hypervisor detected: .*')
sig=$(echo $sig $hd)
if [ -n "$sig" ]; then emit cpuid.hypervisor_vendor detected "$sig"
else emit cpuid.hypervisor_vendor hidden "no hypervisor signature"; fi
vendor=$(grep -m1 '^vendor_id' /proc/cpuinfo | sed 's/^[^:]*: *//')
case $vendor in
GenuineIntel|AuthenticAMD|HygonGenuine|CentaurHauls|"  Shanghai  ") emit cpu.vendor hidden "$vendor" ;;
*) emit cpu.vendor detected "${vendor:-(none)}" ;;
esac
model=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')
if [ -z "$model" ] || printf '%s' "$model" | grep -qiE "$TELLS|common (kvm|32-bit kvm) processor|virtual cpu"; then
	emit cpu.model_name detected "${model:-(none)}"
else
	emit cpu.model_name hidden "$model"
fi

# --- ACPI table headers: OEM ID (bytes 10..15), table ID (16..23), creator ID (28..31) ------
oem="" tid="" cid=""
for t in /sys/firmware/acpi/tables/*; do
	[ -f "$t" ] || continue
	n=${t##*/}
	[ "$n" = FACS ] && continue   # no standard header
	oem="$oem $n=$(dd if="$t" bs=1 skip=10 count=6 2>/dev/null | tr -d '\000' | sed 's/ *$//')"
	tid="$tid $n=$(dd if="$t" bs=1 skip=16 count=8 2>/dev/null | tr -d '\000' | sed 's/ *$//')"
	cid="$cid $n=$(dd if="$t" bs=1 skip=28 count=4 2>/dev/null | tr -d '\000' | sed 's/ *$//')"
done
for x in "acpi.oem_id:$oem" "acpi.table_id:$tid" "acpi.creator_id:$cid"; do
	c=${x%%:*} v=${x#*:}
	if [ -z "$v" ]; then emit $c skipped "no /sys/firmware/acpi/tables"
	elif tell "$v"; then emit $c detected "${v# }"
	else emit $c hidden "${v# }"; fi
done
# Names in the DSDT's AML body (after its 36-byte header): QEMU0002 (fw_cfg), BOCHS, BXPC.
if [ -r /sys/firmware/acpi/tables/DSDT ]; then
	d=$(dd if=/sys/firmware/acpi/tables/DSDT bs=36 skip=1 2>/dev/null | tr -c 'A-Za-z0-9' '\n' | grep -E '^(QEMU|BOCHS|BXPC|VBOX|VMW)' | sort -u | tr '\n' ' ')
	[ -n "$d" ] && emit acpi.dsdt detected "$d" || emit acpi.dsdt hidden "no QEMU/BOCHS/BXPC names"
else
	emit acpi.dsdt skipped "no DSDT readable"
fi

# WAET, the "Windows Emulated device ACPI Table", exists only on virtual machines.
if [ -d /sys/firmware/acpi/tables ]; then
	[ -e /sys/firmware/acpi/tables/WAET ] && emit acpi.waet detected "WAET present (an emulated-device table only VMs have)" \
		|| emit acpi.waet hidden "no WAET table"
else
	emit acpi.waet skipped "no /sys/firmware/acpi/tables"
fi

# --- fw_cfg ----------------------------------------------------------------------------------
a=$(ls -d /sys/bus/acpi/devices/QEMU0002* 2>/dev/null | tr '\n' ' ')
[ -n "$a" ] && emit fw_cfg.acpi detected "$a" || emit fw_cfg.acpi hidden "no ACPI device QEMU0002"
if [ -d /sys/firmware/qemu_fw_cfg ]; then emit fw_cfg.sysfs detected "/sys/firmware/qemu_fw_cfg"
else emit fw_cfg.sysfs hidden "no /sys/firmware/qemu_fw_cfg"; fi

# --- PCI -------------------------------------------------------------------------------------
pv="" vga="" sub="" nsub="" all=""
for d in /sys/bus/pci/devices/*; do
	[ -r "$d/vendor" ] || continue
	id="$(cat $d/vendor):$(cat $d/device)"
	s="$(cat $d/subsystem_vendor 2>/dev/null):$(cat $d/subsystem_device 2>/dev/null)"
	cls=$(cat $d/class)
	all="$all $id"
	case $cls in
	0x0300*) echo "${id%%:*}" | grep -qE "^($PCI_VENDORS)$" && vga="$vga ${d##*/}=$id" ;;
	*) echo "${id%%:*}" | grep -qE "^($PCI_VENDORS)$" && pv="$pv ${d##*/}=$id" ;;
	esac
	if echo "${s%%:*}" | grep -qE "^($PCI_VENDORS)$"; then
		case $cls in 0x02*) nsub="$nsub ${d##*/}=$id/$s" ;; *) sub="$sub ${d##*/}=$id/$s" ;; esac
	fi
done
if [ -z "$all" ]; then
	for c in pci.vendor pci.vga pci.subsystem pci.nic_subsystem; do emit $c skipped "no /sys/bus/pci"; done
else
	[ -n "$pv" ] && emit pci.vendor detected "${pv# }" || emit pci.vendor hidden "no virtual vendor among${all}"
	[ -n "$vga" ] && emit pci.vga detected "${vga# }" || emit pci.vga hidden "no Bochs/QEMU VGA"
	[ -n "$sub" ] && emit pci.subsystem detected "${sub# }" || emit pci.subsystem hidden "no virtual subsystem vendor"
	[ -n "$nsub" ] && emit pci.nic_subsystem detected "${nsub# }" || emit pci.nic_subsystem hidden "no virtual subsystem vendor on a NIC"
fi

# --- disks and optical drives: model, vendor, firmware revision ----------------------------
for kind in disk cdrom; do
	models="" revs="" n=0
	for b in /sys/block/*; do
		[ -r $b/device/model ] || continue
		t=$(cat $b/device/type 2>/dev/null)
		if [ $kind = cdrom ]; then [ "$t" = 5 ] || continue; else [ "$t" = 5 ] && continue; fi
		n=$((n + 1))
		models="$models ${b##*/}=$(cat $b/device/vendor 2>/dev/null | sed 's/ *$//') $(sed 's/ *$//' $b/device/model)"
		revs="$revs ${b##*/}=$(cat $b/device/rev 2>/dev/null | sed 's/ *$//')"
	done
	if [ $n = 0 ]; then
		emit $kind.model skipped "no $kind"
		emit $kind.firmware skipped "no $kind"
		continue
	fi
	# The SCSI INQUIRY answer: for ATA disks libata builds it from IDENTIFY; an ATAPI drive answers
	# it itself (QEMU's with "QEMU" "QEMU DVD-ROM" whatever ide-cd's model= says).
	tell "$models" && emit $kind.model detected "${models# }" || emit $kind.model hidden "${models# }"
	# QEMU's ATA/ATAPI firmware revision is its version: "2.5+".
	if tell "$revs" || printf '%s' "$revs" | grep -qE '=[0-9]+\.[0-9]+\+'; then emit $kind.firmware detected "${revs# }"
	else emit $kind.firmware hidden "${revs# }"; fi
done

# The optical drive's ATA IDENTIFY model, as the kernel logged it ("ata2.00: ATAPI: MODEL, FW, ...").
atapi=$(dmesg 2>/dev/null | sed -n 's/.*ATAPI: \([^,]*\),.*/\1/p' | sort -u | tr '\n' ',' | sed 's/,$//')
if [ -z "$atapi" ]; then emit cdrom.ata_model skipped "no ATAPI drive in the kernel log"
elif tell "$atapi"; then emit cdrom.ata_model detected "$atapi"
else emit cdrom.ata_model hidden "$atapi"; fi

# --- network: MAC OUI ------------------------------------------------------------------------
macs="" bad=""
for n in /sys/class/net/*; do
	[ "${n##*/}" = lo ] && continue
	m=$(cat $n/address 2>/dev/null)
	[ -n "$m" ] && [ "$m" != 00:00:00:00:00:00 ] || continue
	macs="$macs ${n##*/}=$m"
	echo "$m" | grep -qiE "^($MAC_OUIS)" && bad="$bad ${n##*/}=$m"
done
if [ -z "$macs" ]; then emit net.mac skipped "no network interface"
elif [ -n "$bad" ]; then emit net.mac detected "${bad# }"
else emit net.mac hidden "${macs# }"; fi

# --- input devices ---------------------------------------------------------------------------
if [ -r /proc/bus/input/devices ]; then
	names=$(sed -n 's/^N: Name="\(.*\)"$/\1/p' /proc/bus/input/devices | tr '\n' ',' | sed 's/,$//')
	tell "$names" && emit input.devices detected "$names" || emit input.devices hidden "${names:-(none)}"
else
	emit input.devices skipped "no /proc/bus/input/devices"
fi

# --- sound: the HDA codec's vendor id (QEMU's codecs are 0x1af4xxxx) --------------------------
codecs=$(cat /sys/bus/hdaudio/devices/*/vendor_id 2>/dev/null | tr '\n' ' ')
[ -z "$codecs" ] && codecs=$(grep -h 'Vendor Id:' /proc/asound/card*/codec#* 2>/dev/null | sed 's/.*: *//' | tr '\n' ' ')
if [ -z "$codecs" ]; then emit sound.hda_codec skipped "no HDA codec visible (no sound driver loaded)"
elif echo "$codecs" | grep -qi '0x1af4'; then emit sound.hda_codec detected "$codecs"
else emit sound.hda_codec hidden "$codecs"; fi

# --- kernel log: what the kernel said about the machine at boot -----------------------------
# Left out, each judged by its own check: BXPC (the ACPI tables' creator id, acpi.creator_id, in
# every ACPI line) and the optical drive's INQUIRY line (cdrom.model).
log=$(dmesg 2>/dev/null)
if [ -z "$log" ]; then
	emit kernel.log skipped "dmesg printed nothing (dmesg_restrict?)"
else
	hits=$(printf '%s\n' "$log" | grep -iE 'qemu|bochs|seabios|hypervisor detected|kvm|tcg|virtualbox|vmware|paravirtualized kernel on (kvm|xen)|due to virtualization' | grep -vE 'CD-ROM +QEMU +QEMU DVD-ROM' | sed 's/^\[[ 0-9.]*\] *//' | head -n 4 | tr '\n' '|')
	[ -n "$hits" ] && emit kernel.log detected "$hits" || emit kernel.log hidden "no hypervisor names"
fi

# --- clock source ----------------------------------------------------------------------------
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
case $cs in
'') emit clock.source skipped "no clocksource in sysfs" ;;
kvm-clock|xen|hyperv_clocksource*|vmware*) emit clock.source detected "$cs" ;;
*) emit clock.source hidden "$cs" ;;
esac

# --- size: a sandbox's few CPUs, little RAM, small disk (pafish's thresholds) ---------------
cpus=$(grep -c '^processor' /proc/cpuinfo)
[ "$cpus" -lt 2 ] && emit hw.cpus detected "$cpus CPU" || emit hw.cpus hidden "$cpus CPUs"
mem=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
[ "$((mem / 1024))" -lt 1024 ] && emit hw.ram detected "$((mem / 1024)) MiB" || emit hw.ram hidden "$((mem / 1024)) MiB"
big=-1
for b in /sys/block/*; do
	[ -r $b/device/model ] && [ "$(cat $b/device/type 2>/dev/null)" != 5 ] || continue
	s=$(($(cat $b/size) / 2097152))
	[ $s -gt $big ] && big=$s
done
if [ $big = -1 ]; then emit hw.disk_size skipped "no disk"
elif [ $big -lt 60 ]; then emit hw.disk_size detected "$big GiB"
else emit hw.disk_size hidden "$big GiB"; fi

# --- uptime: a sandbox restores a VM saved seconds after its boot (pafish: under 12 minutes) ----
up=$(cut -d. -f1 /proc/uptime 2>/dev/null)
if [ -z "$up" ]; then emit os.uptime skipped "no /proc/uptime"
elif [ "$up" -lt 720 ]; then emit os.uptime detected "up $up s"
else emit os.uptime hidden "up $((up / 60)) min"; fi

# --- the judges ------------------------------------------------------------------------------
if command -v systemd-detect-virt >/dev/null 2>&1; then
	v=$(systemd-detect-virt 2>/dev/null)
	[ "$v" = none ] && emit tool.systemd_detect_virt hidden "none" || emit tool.systemd_detect_virt detected "$v"
else
	emit tool.systemd_detect_virt skipped "systemd-detect-virt is not in this guest (vmcloak copies it in when the host has it)"
fi
if command -v virt-what >/dev/null 2>&1; then
	v=$(virt-what 2>/dev/null); rc=$?
	if [ $rc != 0 ]; then emit tool.virt_what skipped "virt-what failed ($rc): $v"
	elif [ -z "$v" ]; then emit tool.virt_what hidden "(nothing)"
	else emit tool.virt_what detected "$v"; fi
else
	emit tool.virt_what skipped "virt-what is not in this guest (vmcloak copies it in when the host has virt-what and dmidecode)"
fi
exit 0
