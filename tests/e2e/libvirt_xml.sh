#!/usr/bin/env bash
# End-to-end: golden domain XML (tests/domxml) defined and started on a private libvirtd
# (tests/e2e/libvirtd.sh) inside a network namespace and mount namespace this test makes, with
# an overlay on /etc for the libvirt-qemu user: the QEMU that libvirt starts (TCG, type='qemu')
# must carry each machine's identity (argv in the domain log, and the values QEMU reports over
# QMP), with the PCI layout of the QEMU driver's argv. Then destroy, undefine, stop the daemon:
# nothing is left. Usage: libvirt_xml.sh QEMU_DRIVE (writes the SMBIOS files, as qemu_accept.sh).
source "$(dirname "$0")/tap.sh"
DRIVE=${1:?usage: libvirt_xml.sh QEMU_DRIVE}
ROOT=${VMCLOAK_SOURCE_ROOT:?}

skip_all() { tap_skip "libvirt domain XML on a private libvirtd" "$1"; tap_done; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root (network and mount namespaces, libvirtd)"
for p in libvirtd virtlogd virsh qemu-system-x86_64 qemu-img; do
  command -v $p >/dev/null || skip_all "$p is not installed (packaging/debian-packages.txt)"
done
grep -qw overlay /proc/filesystems || skip_all "no overlayfs"

tmp=$(mktemp -d /tmp/vmcloak-lvxml.XXXXXX)
ns=vmcloak-lvxml-$$
cleanup() {
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" || skip_all "cannot create a network namespace"

# The cases: the default machine, the fully cloaked one, one hardware profile, Windows 11's
# UEFI + Secure Boot + TPM, and user networking with two agent forwards.
CASES="vmcloak_default full_cloak hardware/dell-optiplex-7050 win11_uefi_tpm user_two_forwards"

cat > "$tmp/inside.sh" <<EOF
set -u
T=$tmp; ROOT=$ROOT; DRIVE=$DRIVE
mkdir -p \$T/etc-up \$T/etc-work
mount -t overlay overlay -o lowerdir=/etc,upperdir=\$T/etc-up,workdir=\$T/etc-work /etc || exit 10
source \$ROOT/tests/e2e/libvirtd.sh
trap lv_stop_all EXIT
ip link set lo up
ip link add qemubr0 type bridge && ip link set qemubr0 up || exit 11
lv_prepare || exit 12
lv_start a || exit 13
qemu-img create -q -f qcow2 \$T/disk.qcow2 64M
head -c 1M /dev/zero > \$T/install.iso
cp /usr/share/OVMF/OVMF_VARS_4M.ms.fd \$T/vars.fd 2>/dev/null || head -c 540672 /dev/zero > \$T/vars.fd
# The SMBIOS type 0/3 files beside the disk, as the QEMU driver writes them (full_cloak's; every
# hardware profile names the same files).
sed "s#@TMP@#\$T#g" \$ROOT/tests/argv/full_cloak.conf > \$T/smbios.conf
\$DRIVE smbios \$T/smbios.conf || exit 14
qmp() { virsh qemu-monitor-command "\$1" "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"\$2\",\"property\":\"\$3\"}}"; }
for c in $CASES; do
  n=\$(basename \$c)
  sed -e "s#@TMP@#\$T#g" -e 's#<domain type="kvm"#<domain type="qemu"#' \$ROOT/tests/domxml/\$c.xml > \$T/\$n.xml
  echo "== define \$n"; virsh define \$T/\$n.xml 2>&1; echo "rc=\$?"
  echo "== start \$n"; virsh start \$n 2>&1; echo "rc=\$?"
  echo "== argv \$n"; sed -n '/qemu-system-x86_64 .\$/,/^-msg /p' /var/log/libvirt/qemu/\$n.log
  echo "== qom \$n"
  for p in model-id family model stepping tcg-cpuid; do echo "cpu.\$p \$(qmp \$n /machine/unattached/device[0] \$p)"; done
  for p in x-oem-id x-oem-table-id; do echo "machine.\$p \$(qmp \$n /machine \$p)"; done
  echo "== qtree \$n"; virsh qemu-monitor-command \$n --hmp 'info qtree'
  echo "== pci \$n"; virsh qemu-monitor-command \$n --hmp 'info pci' | grep -E 'Bus .* device|PCI device' | tr -d '\r'
  echo "== stop \$n"; virsh destroy \$n 2>&1; virsh undefine --nvram \$n 2>&1; echo "rc=\$?"
done
echo "== left"; virsh list --all --name
EOF
out=$(ip netns exec "$ns" unshare -m --propagation private bash "$tmp/inside.sh" 2>&1); rc=$?
sect() { awk -v s="== $1" '$0==s{p=1;next} /^== /{p=0} p' <<<"$out"; }
ok_rc() { grep -qx 'rc=0' <<<"$(sect "$1")"; }
has() { grep -qF -- "$2" <<<"$(sect "$1")"; }

tap_check "namespace, private libvirtd and test files set up" test "$rc" -lt 10 -o "$rc" -gt 14
for c in $CASES; do
  n=$(basename $c)
  tap_check "$n: virsh define" ok_rc "define $n"
  tap_check "$n: virsh start (type='qemu')" ok_rc "start $n"
  tap_check "$n: undefined again" ok_rc "stop $n"
done

# The identity in the argv libvirt built and in what QEMU reports.
tap_check "default: the install ISO is the first boot device on the second AHCI" \
  has "argv vmcloak_default" '"driver":"ide-cd","bus":"ua-ahci.1","drive":"libvirt-1-format","id":"ua-cdrom","bootindex":1'
tap_check "default: rtl8139 with its MAC in slot 3" \
  has "argv vmcloak_default" '"driver":"rtl8139","netdev":"hostua-net0","id":"ua-net0","mac":"00:19:3c:1f:a2:07","bus":"pcie.0","addr":"0x3"'
tap_check "default: usb-ehci and the tablet" has "argv vmcloak_default" '"driver":"usb-tablet"'
tap_check "default: one socket of one core" has "argv vmcloak_default" '-smp 1,sockets=1,dies=1,cores=1,threads=1'
tap_check "full_cloak: SMBIOS system serial" has "argv full_cloak" 'serial=7QK4F72,uuid=4c4c4544-0051-4b10-8034-b7c04f463732'
tap_check "full_cloak: SMBIOS type 0 and 3 files" has "argv full_cloak" "-smbios file=$tmp/disk.qcow2.smbios/type3.bin"
tap_check "full_cloak: SMBIOS type 4" has "argv full_cloak" 'type=4,sock_pfx=CPU,manufacturer=Intel(R) Corporation'
tap_check "full_cloak: CPU model, no hypervisor bit, kvm=off" has "argv full_cloak" '-cpu Skylake-Client,hypervisor=off,kvm=off'
tap_check "full_cloak: SMT topology" has "argv full_cloak" '-smp 4,sockets=1,dies=1,cores=2,threads=2'
tap_check "full_cloak: vmport=off on the machine" has "argv full_cloak" 'vmport=off'
tap_check "full_cloak: CPU model-id reported by QEMU" has "qom full_cloak" 'cpu.model-id {"return":"Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz"'
tap_check "full_cloak: CPUID family 6 model 158 stepping 10" \
  test -n "$(has "qom full_cloak" 'cpu.family {"return":6,' && has "qom full_cloak" 'cpu.model {"return":158,' && has "qom full_cloak" 'cpu.stepping {"return":10,' && echo y)"
tap_check "full_cloak: TCG's CPUID signature hidden" has "qom full_cloak" 'cpu.tcg-cpuid {"return":false'
tap_check "full_cloak: ACPI OEM ids" \
  test -n "$(has "qom full_cloak" 'machine.x-oem-id {"return":"DELL"' && has "qom full_cloak" 'machine.x-oem-table-id {"return":"CBX3"' && echo y)"
tap_check "full_cloak: disk model, serial, firmware, WWN, rotation rate" \
  test -n "$(has "qtree full_cloak" 'model = "ST1000DM010-2EP102"' && has "qtree full_cloak" 'serial = "ZN1A2B3C"' &&
             has "qtree full_cloak" 'ver = "CC43"' && has "qtree full_cloak" 'wwn = 5764824129537754068 (0x5000c500a1b2c3d4)' &&
             has "qtree full_cloak" 'rotation_rate = 7200' && echo y)"
tap_check "full_cloak: CD-ROM serial with its space intact" has "qtree full_cloak" 'serial = "3524472 2N2125501154"'
tap_check "full_cloak: e1000e PCI subsystem 1028:07a1" \
  test -n "$(has "qtree full_cloak" 'subsys_ven = 4136 (0x1028)' && has "qtree full_cloak" 'subsys = 1953 (0x7a1)' && echo y)"
# argv.c's layout (tests/argv/full_cloak.args under QEMU): VGA 1, AHCI 2, NIC 3, ICH9 EHCI 4, HDA 5.
want_pci="1:1234:1111 2:8086:2922 3:8086:10d3 4:8086:293a 5:8086:2668"
got_pci=$(sect "pci full_cloak" | paste - - | sed -n 's/.*device *\([0-9]*\), function 0:.*PCI device \([0-9a-f:]*\).*/\1:\2/p' |
          awk -F: '$1>0 && $1<31' | tr '\n' ' ' | sed 's/ $//')
tap_check "full_cloak: the PCI layout of the QEMU driver's argv ($got_pci)" test "$got_pci" = "$want_pci"
tap_check "dell-optiplex-7050: SMBIOS system serial and product" \
  has "argv dell-optiplex-7050" 'product=OptiPlex 7050,serial=7XK2Q13'
tap_check "dell-optiplex-7050: empty SMBIOS system version (not QEMU's machine type)" \
  has "argv dell-optiplex-7050" '-smbios type=1,version='
tap_check "dell-optiplex-7050: CPU model-id" \
  has "qom dell-optiplex-7050" 'cpu.model-id {"return":"Intel(R) Core(TM) i5-7500 CPU @ 3.40GHz"'
tap_check "dell-optiplex-7050: disk serial" has "qtree dell-optiplex-7050" 'serial = "Z9A0K3TQ"'
tap_check "win11_uefi_tpm: secure pflash, SMM, swtpm" \
  test -n "$(has "argv win11_uefi_tpm" 'smm=on' && has "argv win11_uefi_tpm" 'OVMF_CODE_4M.secboot.fd' &&
             has "argv win11_uefi_tpm" '"driver":"tpm-tis"' && echo y)"
tap_check "user_two_forwards: both agent forwards on 127.0.0.1" \
  has "argv user_two_forwards" 'hostfwd=tcp:127.0.0.1:18000-10.0.2.15:8000,hostfwd=tcp:127.0.0.1:18001-10.0.2.20:8000,id=net0'
tap_check "no domain left defined" test -z "$(sect left | tr -d '[:space:]')"
tap_check "no QEMU, swtpm, libvirtd or virtlogd of this test left" test -z "$(pgrep -f -- "$tmp/")"
if [ "$_tap_fail" != 0 ]; then echo "# --- inside output ---"; sed 's/^/# /' <<<"$out" | grep -v '^# *$' | tail -80; fi
tap_done
