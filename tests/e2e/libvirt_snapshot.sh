#!/usr/bin/env bash
# End-to-end (issue 14): `vmcloak snapshot --count 2 --connect URI1 --connect URI2` on the
# linux guest, inside a network namespace this test creates with a bridge br-test in it
# (pipeline_bridge.sh's pattern: private /etc overlay, the bridge helper allowed in a private
# copy), against two libvirtd daemons it starts there (tests/e2e/libvirtd.sh): "h1" on
# qemu:///system and "h2" on qemu+tcp://127.0.0.1:16509/system (another host's stand-in, with
# its own state). One domain per host; each is reverted the way CAPE does (shut off, revert
# to the snapshot with flags 0, wait for running) through python3-libvirt, and its agent
# answers at its own IP with its own hostname and address; `export --cape` (when this vmcloak
# has it) parses with configparser and names both; `delvm` leaves nothing on either host.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
HELPER=/usr/lib/qemu/qemu-bridge-helper

skip_all() { tap_skip "snapshot --connect" "$1"; tap_done; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root (network and mount namespaces, libvirtd)"
command -v libvirtd >/dev/null && command -v virtlogd >/dev/null && command -v virsh >/dev/null ||
  skip_all "libvirt-daemon-driver-qemu and libvirt-clients are not installed"
/usr/bin/python3 -c 'import libvirt' 2>/dev/null || skip_all "python3-libvirt is not installed"
[ -x "$HELPER" ] || skip_all "no $HELPER"
grep -qw overlay /proc/filesystems || skip_all "no overlayfs"
pipeline_home vmcloak-lvs || skip_all "no static agent in $VMCLOAK_BUILD_ROOT/agent (sanitizer build?)"
ns=vmcloak-lvs-$$
trap 'pkill -KILL -f -- "$tmp/" 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
ip netns add "$ns" || skip_all "cannot create a network namespace"

cat > "$tmp/inside.sh" <<EOF
set -u
T=$tmp; VM=$VM; HELPER=$HELPER
E2E=$(cd "$(dirname "$0")" && pwd)
EOF
cat >> "$tmp/inside.sh" <<'EOF'
source "$E2E/tap.sh"
source "$E2E/libvirtd.sh"
mkdir -p "$T/etc-up" "$T/etc-work" "$T/helper"
mount -t overlay overlay -o lowerdir=/etc,upperdir="$T/etc-up",workdir="$T/etc-work" /etc || { echo "Bail out! no overlay /etc"; exit 1; }
cp "$HELPER" "$T/helper/qemu-bridge-helper" && chmod 0755 "$T/helper/qemu-bridge-helper"
mount --bind "$T/helper/qemu-bridge-helper" "$HELPER" || { echo "Bail out! no private helper copy"; exit 1; }
ip link set lo up
trap lv_stop_all EXIT
now() { date +%s.%N; }
secs() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

out=$("$VM" bridge --setup-helper br-test 192.168.30.1/24 2>&1)
tap_check "vmcloak bridge --setup-helper br-test in the namespace" test $? = 0
t=$(now)
out=$("$VM" init --linux --accel tcg --ip 192.168.30.15 lbr br-test 2>&1); rc=$?
tap_check "init --linux on br-test at 192.168.30.15" test "$rc" = 0
[ "$rc" = 0 ] || { sed 's/^/# /' <<<"$out" | tail -20; tap_done; exit 1; }
echo "# figure: init $(secs "$t" "$(now)") s"

lv_prepare && lv_start h1 && lv_start h2 16509 ||
  { tap_fail "libvirtd daemons start" "$(tail -3 "$T"/lv-*/libvirtd.log 2>/dev/null)"; tap_done; exit 1; }
tap_ok "two libvirtd daemons with private state answer"
U1=$(lv_uri h1)
U2=$(lv_uri h2)

# Refused before anything boots: what only a local VM has.
out=$("$VM" snapshot --connect "$U1" --compress gzip lbr x 2>&1); rc=$?
tap_check "--compress with --connect: refused with one line" test "$rc" = 2 -a "$(grep -c 'no meaning with --connect' <<<"$out")" = 1

t=$(now)
out=$("$VM" snapshot --accel tcg --count 2 --connect "$U1" --connect "$U2" lbr vm 192.168.30.20 2>&1); rc=$?
tap_check "snapshot --count 2 --connect URI1 --connect URI2" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/# /' <<<"$out" | tail -30
echo "# figure: snapshot of 2 VMs on 2 hosts $(secs "$t" "$(now)") s"
grep -E 'Uploaded|ready on|snapshot vmcloak taken' <<<"$out" | sed 's/^/# figure: /'
tap_check "the image was uploaded once per host, named by its SHA-256" \
  test "$(grep -cE "Uploading image lbr to .* as volume vmcloak-lbr-[0-9a-f]{12}\.qcow2" <<<"$out")" = 2

json=$("$VM" list snapshots --json)
tap_check "list snapshots --json: where each VM lives (uri, pool, volume, base, snapshot)" python3 - "$U1" "$U2" <<PY
import json, sys
l = {s["vmname"]: s for s in json.loads('''$json''')}
for vm, uri in (("vm1", sys.argv[1]), ("vm2", sys.argv[2])):
    s = l[vm]
    assert s["libvirt_uri"] == uri and s["libvirt_pool"] == "vmcloak" and s["libvirt_volume"] == vm + ".qcow2", s
    assert s["libvirt_base"].startswith("vmcloak-lbr-") and s["libvirt_snapshot"] == "vmcloak", s
PY
table=$("$VM" list snapshots --format table)
tap_check "list snapshots: a HOST column with each VM's URI" \
  test -n "$(grep -E "^vm1 .*192\.168\.30\.20 .* $U1\$" <<<"$table")" -a -n "$(grep -E "^vm2 .*192\.168\.30\.21 .* ${U2//+/\\+}\$" <<<"$table")"
tap_check "vm1 is a shut-off domain on h1 only, vm2 on h2 only" \
  test -n "$(virsh -c "$U1" list --all | grep -E ' vm1 +shut off')" -a -z "$(virsh -c "$U1" list --all --name | grep -x vm2)" -a \
       -n "$(virsh -c "$U2" list --all | grep -E ' vm2 +shut off')" -a -z "$(virsh -c "$U2" list --all --name | grep -x vm1)"
tap_check "each has the running-state snapshot vmcloak as its current one" \
  test "$(virsh -c "$U1" snapshot-current --name vm1)" = vmcloak -a "$(virsh -c "$U2" snapshot-current --name vm2)" = vmcloak
tap_check "vm1 (local host): its folder holds libvirt's QEMU log of its run" \
  grep -q 'qemu-system-x86_64' "$VMCLOAK_HOME/vms/libvirt/vm1/qemu.log"
tap_check "no memory file or machineinfo.json here, only logs" \
  test -z "$(ls "$VMCLOAK_HOME"/vms/libvirt/*/ 2>/dev/null | grep -E 'memory|machineinfo|qcow2')" -a -d "$VMCLOAK_HOME/vms/libvirt/vm1"

# CAPE's start (kvm.py): the domain must be shut off; the named snapshot; revertToSnapshot(snap, 0); wait for running.
cape_revert() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import libvirt, sys, time
c = libvirt.open(sys.argv[1]); d = c.lookupByName(sys.argv[2])
assert d.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF, d.state()
snap = d.snapshotLookupByName("vmcloak")
d.revertToSnapshot(snap, 0)
for _ in range(600):
    if d.state()[0] == libvirt.VIR_DOMAIN_RUNNING:
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
}
for i in 1 2; do
  uri=$([ "$i" = 1 ] && echo "$U1" || echo "$U2")
  ip=192.168.30.2$((i - 1))
  host=$(python3 -c "import json,sys; print([s for s in json.load(sys.stdin) if s['vmname']=='vm$i'][0]['hostname'])" <<<"$json")
  t=$(now)
  cape_revert "$uri" vm$i
  tap_check "vm$i: CAPE's revert (flags 0) on $uri leaves it running" test $? = 0
  AGENT_HOST=$ip AGENT_PORT=8000
  agent_up
  tap_check "vm$i: its agent answers GET / at $ip:8000" test $? = 0
  echo "# figure: vm$i revert to agent $(secs "$t" "$(now)") s"
  tap_check "vm$i: hostname $host" test "$(gout hostname)" = "$host"
  tap_check "vm$i: address $ip/24" grep -q "inet $ip/24" <<<"$(gout 'ip -4 -o addr')"
  virsh -c "$uri" destroy vm$i >/dev/null 2>&1
done

# CAPE runs one kvm machinery per libvirt URI (dsn): one kvm.conf per host.
if "$VM" export --help 2>&1 | grep -q -- '--cape'; then
  "$VM" export --cape --host "$U1" > "$T/h1-kvm.conf" 2>"$T/export.err" &&
    "$VM" export --cape --host "$U2" > "$T/h2-kvm.conf" 2>>"$T/export.err"
  tap_check "export --cape of each host" test $? = 0
  tap_check "the kvm.conf files parse with configparser and name both domains, each with its host's dsn" \
    python3 - "$T/h1-kvm.conf" "$T/h2-kvm.conf" "$U1" "$U2" <<'PY'
import configparser, sys
for path, vm, uri in ((sys.argv[1], "vm1", sys.argv[3]), (sys.argv[2], "vm2", sys.argv[4])):
    c = configparser.ConfigParser()
    c.read(path)
    machines = [m.strip() for m in c["kvm"]["machines"].split(",")]
    labels = {c[m]["label"] for m in machines}
    assert labels == {vm}, (path, labels)
    assert c["kvm"].get("dsn", "qemu:///system") == uri, (path, c["kvm"].get("dsn"))
    m = c[machines[0]]
    assert m["snapshot"] == "vmcloak" and m["platform"] == "linux", dict(m)
PY
  [ -s "$T/export.err" ] && sed 's/^/# export: /' "$T/export.err"
else
  tap_skip "export --cape names both domains" "this vmcloak has no export --cape (branch lvcape not merged)"
fi

vols() { virsh -c "$1" pool-info vmcloak >/dev/null 2>&1 && virsh -c "$1" vol-list vmcloak | awk 'NR > 2 && $1 { print $1 }' | sort | tr '\n' ' '; }
tap_check "h1's pool holds vm1.qcow2 and the image's volume, h2's vm2.qcow2 and its own copy" \
  test -n "$(vols "$U1" | grep -E '^vm1\.qcow2 vmcloak-lbr-[0-9a-f]{12}\.qcow2 $')" -a -n "$(vols "$U2" | grep -E '^vm2\.qcow2 vmcloak-lbr-[0-9a-f]{12}\.qcow2 $')"
# Nothing left on the hosts: no domain, the pool empty, no definition in the daemon's /etc/libvirt/qemu.
host_empty() {
  local uri=$1 h=$2
  test -z "$(virsh -c "$uri" list --all --name | grep -v '^$')" && virsh -c "$uri" pool-info vmcloak >/dev/null 2>&1 &&
    test -z "$(vols "$uri")" && test -z "$(ls "$T/lv-$h/etc/qemu/"*.xml 2>/dev/null)"
}
# Another user of h1's image volume that no row of this home knows (another vmcloak home, or
# this host under another URI): an overlay made with virsh. delvm vm1 must leave the base.
BASEVOL=$(vols "$U1" | tr ' ' '\n' | grep -E '^vmcloak-lbr-')
virsh -c "$U1" vol-create-as vmcloak foreign.qcow2 1G --format qcow2 --backing-vol "$BASEVOL" --backing-vol-format qcow2 >/dev/null 2>&1
tap_check "a foreign overlay on h1's image volume" test -n "$(vols "$U1" | grep -w foreign.qcow2)"
out=$("$VM" delvm vm1 2>&1) && out2=$("$VM" delvm vm2 2>&1)
tap_check "delvm vm1 and vm2" test $? = 0
tap_check "  h1's image volume stays: the host says a volume is backed by it" \
  test -n "$(vols "$U1" | grep -w "$BASEVOL")" -a -n "$(grep -F "volume $BASEVOL kept on $U1: 1 volume(s)" <<<"$out")"
virsh -c "$U1" vol-delete --pool vmcloak foreign.qcow2 >/dev/null 2>&1
virsh -c "$U1" vol-delete --pool vmcloak "$BASEVOL" >/dev/null 2>&1
tap_check "h1: no domain, no volume, no domain XML left" host_empty "$U1" h1
tap_check "h2: no domain, no volume, no domain XML left" host_empty "$U2" h2
tap_check "no rows left" test -z "$("$VM" list snapshots --name-only)"
tap_check "no log folders left" test -z "$(ls "$VMCLOAK_HOME/vms/libvirt" 2>/dev/null)"

# Ctrl-C while the VM boots on the remote host: its domain, its overlay volume and the image's
# volume (no other VM there uses it) are removed, and no row is written.
"$VM" snapshot --accel tcg --connect "$U2" lbr cvm 192.168.30.30 > "$T/ctrlc.log" 2>&1 &
pid=$!
for i in $(seq 1 600); do grep -q 'cvm: booting on' "$T/ctrlc.log" && break; sleep 0.1; done
sleep 2
tap_check "an interrupted snapshot --connect had its domain defined on h2" test -n "$(virsh -c "$U2" list --all --name | grep -x cvm)"
kill -INT "$pid"; wait "$pid"; rc=$?
tap_check "Ctrl-C: snapshot --connect stops (exit 130) naming what it removed" \
  test "$rc" = 130 -a -n "$(grep -F 'cvm: interrupted while' "$T/ctrlc.log" | grep -F 'removed what this run had made on the host')"
tap_check "Ctrl-C: h2 holds no domain, no volume, no domain XML" host_empty "$U2" h2
tap_check "Ctrl-C: no row" test -z "$("$VM" list snapshots --name-only)"
tap_done
EOF
ip netns exec "$ns" unshare -m --propagation private bash "$tmp/inside.sh"
