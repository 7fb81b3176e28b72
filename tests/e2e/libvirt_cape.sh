#!/usr/bin/env bash
# End-to-end: `vmcloak export --cape` and `vmcloak doctor --connect` against private libvirtd
# daemons (tests/e2e/libvirtd.sh) started inside a network and mount namespace this test makes.
# Domains are made with virsh (a qcow2 disk and no OS: SeaBIOS finds nothing to boot, which is
# all an internal running snapshot needs); the VM rows that `snapshot --connect` would record
# are written with sqlite3 into a throwaway home. The kvm.conf is then read by
# check-kvmconf.py as CAPE reads it, with each label checked on the host (listAllDomains and a
# running-state snapshot). Root only.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
SRC=${VMCLOAK_SOURCE_ROOT:?}

skip_all() { tap_skip "export --cape and doctor --connect on libvirt" "$1"; tap_done; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root (network and mount namespaces, libvirtd)"
command -v libvirtd >/dev/null && command -v virsh >/dev/null || skip_all "no libvirtd/virsh"
command -v sqlite3 >/dev/null || skip_all "no sqlite3"
grep -qw overlay /proc/filesystems || skip_all "no overlayfs"
/usr/bin/python3 -c 'import libvirt, yaml' 2>/dev/null || skip_all "no python3-libvirt/python3-yaml"

tmp=$(mktemp -d /tmp/vmcloak-lvcape.XXXXXX)
ns=vmcloak-lvcape-$$
cleanup() {
  pkill -KILL -f -- "$tmp/" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" || skip_all "cannot create a network namespace"

cat > "$tmp/inside.sh" <<EOF
set -u
T=$tmp; VM=$VM; SRC=$SRC
CHECK="/usr/bin/python3 \$SRC/tests/e2e/check-kvmconf.py"
export VMCLOAK_HOME=\$T/home
unset VMCLOAK_LIBVIRT_URI
mkdir -p \$T/etc-up \$T/etc-work \$T/disks
mount -t overlay overlay -o lowerdir=/etc,upperdir=\$T/etc-up,workdir=\$T/etc-work /etc || exit 10
ip link set lo up
# an IPv4 address besides loopback: libvirtd resolves listen_addr with AI_ADDRCONFIG
ip link add brcape type bridge && ip addr add 192.168.30.1/24 dev brcape && ip link set brcape up || exit 12
source \$SRC/tests/e2e/libvirtd.sh
trap lv_stop_all EXIT
lv_prepare || exit 13
lv_start a || exit 14
lv_start b 16611 || exit 15
A=\$(lv_uri a); B=\$(lv_uri b)

# A domain of NAME on URI with a qcow2 disk; SNAP: running (snapshot while running), shutoff
# (snapshot while shut off) or none.
mkdom() {
  local uri=\$1 name=\$2 snap=\$3
  qemu-img create -q -f qcow2 \$T/disks/\$name.qcow2 64M
  cat > \$T/\$name.xml <<XML
<domain type='qemu'><name>\$name</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='\$T/disks/\$name.qcow2'/><target dev='sda' bus='sata'/></disk>
<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>
XML
  virsh -q -c \$uri define \$T/\$name.xml >/dev/null || return 1
  case \$snap in
  running) virsh -q -c \$uri start \$name >/dev/null && virsh -q -c \$uri snapshot-create-as \$name vmcloak --atomic >/dev/null &&
           virsh -q -c \$uri destroy \$name >/dev/null ;;
  shutoff) virsh -q -c \$uri snapshot-create-as \$name vmcloak >/dev/null ;;
  esac
}
mkdom \$A cape1 running && mkdom \$A cape2 running && mkdom \$A offsnap shutoff && mkdom \$A nosnap none &&
  mkdom \$B far1 running || exit 16
echo "== domains"; virsh -c \$A list --all --name; virsh -c \$A snapshot-list cape1

\$VM list images >/dev/null 2>&1
DB=\$VMCLOAK_HOME/repository.db
img() {  # NAME OS NETMODE ADAPTER
  sqlite3 \$DB "INSERT INTO image (mode, vm, name, path, osversion, servicepack, ipaddr, port, adapter, netmask,
    gateway, cpus, ramsize, netmode) VALUES ('normal', 'qemu', '\$1', '\$T/\$1.qcow2', '\$2', '2', '192.168.30.2', 8000,
    '\$4', '255.255.255.0', '192.168.30.1', 1, 512, '\$3')"
}
vm() {  # NAME IMAGE IP URI [SNAPSHOT]
  local uri=NULL snap=\${5:-vmcloak}
  [ -n "\${4:-}" ] && uri="'\$4'"
  sqlite3 \$DB "INSERT INTO snapshot (image_id, vmname, ipaddr, port, hostname, mac, tags, libvirt_uri, libvirt_pool,
    libvirt_volume, libvirt_base, libvirt_snapshot) VALUES ((SELECT id FROM image WHERE name='\$2'), '\$1', '\$3', 8000,
    'host-\$1', '52:54:00:00:00:\${3##*.}', 'office', \$uri, 'vmcloak', '\$1.qcow2', 'base.qcow2',
    '\$snap')"
}
img w10 win10x64 bridge brcape; img lin linux bridge brcape; img usr win10x64 user 10.0.2.0/24
vm cape1 w10 192.168.30.11 \$A; vm cape2 lin 192.168.30.12 \$A
vm offsnap w10 192.168.30.13 \$A; vm nosnap w10 192.168.30.14 \$A; vm gone w10 192.168.30.15 \$A
vm usermode usr 10.0.2.15 \$A; vm local1 w10 192.168.30.16; vm far1 w10 192.168.30.17 \$B
vm renamed w10 192.168.30.18 \$A other
mkdom \$A renamed running
# a domain of a row's name that is not the one vmcloak made (the row names another UUID)
vm imposter w10 192.168.30.19 \$A; mkdom \$A imposter running
sqlite3 \$DB "UPDATE snapshot SET libvirt_uuid = '00000000-0000-4000-8000-000000000001' WHERE vmname = 'imposter'"

echo "== cape"; \$VM export --cape cape1 cape2 --resultserver-ip 192.168.30.1 --resultserver-port 2042 \
  -o \$T/kvm.conf 2>&1; echo "rc=\$?"
echo "== kvmconf"; cat \$T/kvm.conf
echo "== check"; \$CHECK --domains --expect cape1 --expect cape2 \$T/kvm.conf 2>&1; echo "rc=\$?"
echo "== exists"; \$VM export --cape cape1 -o \$T/kvm.conf 2>&1; echo "rc=\$?"
echo "== force"; \$VM export --cape cape1 -o \$T/kvm.conf --force 2>&1; echo "rc=\$?"
echo "== stdout"; \$VM export --cape cape1 2>/dev/null; echo "rc=\$?"
echo "== cuckoo3"; \$VM export --cuckoo3 cape1 cape2 -o \$T/kvm.yaml 2>&1; echo "rc=\$?"
echo "== check3"; \$CHECK --cuckoo3 --domains --expect cape1 --expect cape2 \$T/kvm.yaml 2>&1; echo "rc=\$?"
echo "== all-a"; \$VM export --cape --host \$A -o \$T/all-a.conf 2>&1; echo "rc=\$?"
echo "== all-a-conf"; cat \$T/all-a.conf
echo "== all-b"; \$VM export --cape --host \$B -o \$T/all-b.conf 2>&1; echo "rc=\$?"
echo "== check-b"; \$CHECK --domains --expect far1 \$T/all-b.conf 2>&1; echo "rc=\$?"
echo "== two-hosts"; \$VM export --cape cape1 far1 2>&1; echo "rc=\$?"
echo "== all-hosts"; \$VM export --cape 2>&1; echo "rc=\$?"
echo "== local"; \$VM export --cape local1 2>&1; echo "rc=\$?"
echo "== user"; \$VM export --cape usermode 2>&1; echo "rc=\$?"
echo "== gone"; \$VM export --cape gone 2>&1; echo "rc=\$?"
echo "== nosnap"; \$VM export --cape nosnap 2>&1; echo "rc=\$?"
echo "== offsnap"; \$VM export --cape offsnap 2>&1; echo "rc=\$?"
echo "== renamed"; \$VM export --cape renamed 2>&1; echo "rc=\$?"
echo "== imposter"; \$VM export --cape imposter 2>&1; echo "rc=\$?"
echo "== delvm-imposter"; \$VM delvm imposter 2>&1; echo "rc=\$?"; virsh -c \$A list --all --name | grep -x imposter
echo "== delvm-imposter-force"; \$VM delvm --force imposter 2>&1; echo "rc=\$?"; virsh -c \$A list --all --name | grep -x imposter
\$VM list snapshots --name-only | grep -x imposter
echo "== end-imposter"
echo "== check-off"; \$CHECK --libvirt \$A \$SRC/tests/kvmconf/mixed_interface.kvm.conf 2>&1; echo "rc=\$?"
# checker against a hand-made conf whose domain has a shut-off snapshot
sed -e 's/^machines = .*/machines = offsnap/' -e 's/^\[cape1\]/[offsnap]/' -e 's/^label = cape1/label = offsnap/' \
  -e "s|^dsn = .*|dsn = \$A|" \$T/kvm.conf > \$T/off.conf
echo "== check-shutoff"; \$CHECK --domains \$T/off.conf 2>&1; echo "rc=\$?"

pool_dir=\$T/pool-a; mkdir -p \$pool_dir
virsh -q -c \$A pool-define-as vmcloak dir --target \$pool_dir >/dev/null && virsh -q -c \$A pool-start vmcloak >/dev/null
echo "== doctor"; \$VM doctor --connect \$A --bridge brcape 2>&1; echo "rc=\$?"
echo "== doctor-image"; \$VM doctor --connect \$A --image w10 2>&1; echo "rc=\$?"
echo "== doctor-json"; \$VM --json doctor --connect \$A --bridge brcape 2>&1; echo "rc=\$?"
echo "== doctor-pool"; \$VM doctor --connect \$A --pool nosuchpool --bridge brcape 2>&1; echo "rc=\$?"
echo "== doctor-bridge"; \$VM doctor --connect \$B --bridge nosuchbr 2>&1; echo "rc=\$?"
echo "== doctor-dead"; \$VM doctor --connect qemu+tcp://127.0.0.1:1/system 2>&1; echo "rc=\$?"
# a pool too small for the image (a sparse 2 GiB file stands for it), a UEFI image
truncate -s 2G \$T/w10.qcow2
mkdir -p \$T/tiny && mount -t tmpfs -o size=64m tmpfs \$T/tiny
virsh -q -c \$A pool-define-as tiny dir --target \$T/tiny >/dev/null && virsh -q -c \$A pool-start tiny >/dev/null
echo "== doctor-small"; \$VM doctor --connect \$A --pool tiny --image w10 2>&1; echo "rc=\$?"
sqlite3 \$DB "UPDATE image SET firmware='uefi' WHERE name='lin'"
echo "== doctor-uefi"; \$VM doctor --connect \$A --image lin 2>&1; echo "rc=\$?"
virsh -q -c \$A pool-destroy tiny >/dev/null; umount \$T/tiny
echo "== doctor-noimage"; \$VM doctor --connect \$A --image nosuch 2>&1; echo "rc=\$?"
EOF
out=$(ip netns exec "$ns" unshare -m --propagation private bash "$tmp/inside.sh" 2>&1); rc=$?
[ -n "${KEEP:-}" ] && printf "%s\n" "$out" > "$tmp/inside.out"   # KEEP=1: the temp dir and this output stay
sect() { awk -v s="== $1" '$0==s{p=1;next} /^== /{p=0} p' <<<"$out"; }
rc_of() { sect "$1" | grep -o '^rc=[0-9]*' | tail -1; }
has() { grep -qF -- "$2" <<<"$(sect "$1")"; }
refused() { test "$(rc_of "$1")" = rc=1 && has "$1" "$2"; }   # section $1 exited 1 and says $2

tap_check "namespace, bridge and two libvirtd daemons set up" test "$rc" -lt 10 -o "$rc" -gt 16
tap_check "export --cape of two domains: exit 0" test "$(rc_of cape)" = rc=0
tap_check "kvm.conf names both machines and the host's URI" \
  test -n "$(sect kvmconf | grep -x 'machines = cape1,cape2')" -a -n "$(sect kvmconf | grep -x 'dsn = qemu:///system')"
tap_check "Windows 10 machine: platform, arch, OS tag, snapshot, bridge, result server" \
  test "$(sect kvmconf | awk '/^\[cape1\]/{p=1;next} /^\[/{p=0} p' | tr '\n' '|')" = \
  "label = cape1|platform = windows|ip = 192.168.30.11|arch = x64|tags = win10,x64,office|snapshot = vmcloak|interface = brcape|resultserver_ip = 192.168.30.1|resultserver_port = 2042||"
tap_check "linux machine: platform linux, no OS tag" has kvmconf "tags = x64,office"
tap_check "a Windows VM without a python-tagged dependency is warned about (CAPE's /execpy)" \
  has cape "VM cape1: no Python in its image"
tap_check "the built-in linux guest is named as unable to analyse (no Python)" has cape "the built-in linux guest has no Python"
tap_check "CAPE's reader takes it and both domains have a running-state snapshot" has check "ok: 2 machines (cape1, cape2) on qemu:///system"
tap_check "an existing --output is refused without --force" \
  refused exists 'give --force'
tap_check "--force replaces it" test "$(rc_of force)" = rc=0
tap_check "without --output the file goes to standard output" has stdout "[cape1]"
tap_check "--cuckoo3 writes kvm.yaml that Cuckoo3's types take, domains checked" \
  test "$(rc_of cuckoo3)" = rc=0 -a "$(rc_of check3)" = rc=0
tap_check "no VM named, --host A: the usable VMs of A, the others skipped with a warning" \
  test "$(rc_of all-a)" = rc=0 -a -n "$(sect all-a-conf | grep -x 'machines = cape2,cape1')" -a \
  -n "$(sect all-a | grep -F 'skipped: VM usermode uses user-mode networking')"
tap_check "--host B: the second host's VM, checked there" test "$(rc_of all-b)" = rc=0 -a "$(rc_of check-b)" = rc=0
tap_check "VMs on two hosts are refused, naming --host" \
  refused two-hosts 'export one host at a time with --host URI'
tap_check "every VM of both hosts is refused the same way" has all-hosts "several libvirt hosts"
tap_check "a local Cuckoo3 VM is refused, naming snapshot --connect" \
  refused local 'snapshot --connect'
tap_check "a user-mode networking VM is refused with the reason" \
  refused user 'captures traffic by that IP'
tap_check "a domain the host does not list is refused, naming delvm" \
  refused gone 'lists no domain gone'
tap_check "a domain without a snapshot is refused" \
  refused nosnap 'has no snapshot'
tap_check "a snapshot taken while shut off is refused (CAPE reverts to a running machine)" \
  refused offsnap 'not taken while running'
tap_check "a current snapshot other than the row's is refused, naming snapshot-revert" \
  refused renamed 'snapshot-revert renamed other'
tap_check "a domain whose UUID is not the row's is refused for CAPE" \
  refused imposter 'has UUID'
tap_check "delvm keeps the row and the domain of another UUID, one line" \
  test "$(rc_of delvm-imposter)" = rc=1 -a "$(sect delvm-imposter | grep -c 'not vmcloak')" = 1 -a -n "$(sect delvm-imposter | grep -x imposter)"
tap_check "delvm --force forgets the row and leaves that domain" \
  test "$(rc_of delvm-imposter-force)" = rc=0 -a -n "$(sect delvm-imposter-force | grep -x imposter)" -a \
       "$(sect delvm-imposter-force | grep -cx imposter)" = 1
tap_check "the checker fails a conf whose domains the host does not have" \
  refused check-off "lists no domain 'w11'"
tap_check "the checker fails a snapshot that is not in running state" \
  refused check-shutoff 'not in running state'
tap_check "doctor --connect with the pool and bridge: exit 0" test "$(rc_of doctor)" = rc=0
tap_check "doctor reports libvirt 9+ and QEMU" has doctor "[ok]   libvirt 8.2.0 or later (<qemu:override>)"
tap_check "doctor reports the domain types the host offers (kvm where /dev/kvm works, else a warning)" \
  test -n "$(sect doctor | grep -E '^  \[(ok|warn)\] +domain types \(kvm, qemu\) +(kvm|only qemu)')"
tap_check "doctor finds the pool and the bridge" \
  test -n "$(sect doctor | grep -E '\[ok\] +storage pool vmcloak +dir, active, .* free in /tmp/')" -a -n "$(sect doctor | grep -E '\[(ok|warn)\] +bridge brcape')"
tap_check "doctor names libvirt's UEFI snapshot limit with the version" has doctor "libvirt 10.10.0 or later"
tap_check "doctor --image takes the image's bridge" has doctor-image "bridge brcape"
tap_check "doctor --json: mode libvirt" has doctor-json '"mode":"libvirt"'
tap_check "a missing pool is named, exit 1" \
  refused doctor-pool 'the host has no pool nosuchpool'
tap_check "a missing bridge is named, exit 1" \
  test "$(rc_of doctor-bridge)" = rc=1 -a -n "$(sect doctor-bridge | grep -E 'FAIL.*bridge nosuchbr')"
tap_check "a dead URI: one line with libvirt's error, exit 1" \
  test "$(rc_of doctor-dead)" = rc=1 -a "$(sect doctor-dead | grep -c 'Connection refused')" = 1
tap_check "a pool with less room than the image (and its overlays) fails, naming the sizes" \
  refused doctor-small 'only 64.0 MiB free in'
tap_check "a UEFI image on libvirt 9.0 fails the UEFI line, naming 10.10.0" \
  test "$(rc_of doctor-uefi)" = rc=1 -a -n "$(sect doctor-uefi | grep -E '\[FAIL\] UEFI guests.*\(the image is UEFI\)')" -a \
  -n "$(sect doctor-uefi | grep -F 'libvirt 10.10.0 or later')"
tap_check "doctor --image of an unknown image is refused" test "$(rc_of doctor-noimage)" = rc=1
tap_check "no QEMU or daemon of this test left" test -z "$(pgrep -f -- "$tmp/")"
if [ "$_tap_fail" != 0 ]; then echo "# --- inside output ---"; sed 's/^/# /' <<<"$out" | tail -200; fi
tap_done
