#!/usr/bin/env bash
# End-to-end: `vmcloak bridge` (and vmcloak-qemubridge) inside a network namespace this test
# creates, --setup-helper on temporary paths, `vmcloak doctor` (text, --json, exit codes), and
# the ACL decision compared with the real qemu-bridge-helper's. Needs root; never touches the
# host's interfaces, /etc or the installed helper.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
QB=$(dirname "$VM")/vmcloak-qemubridge
tmp=$(mktemp -d /tmp/vmcloak-net.XXXXXX)
ns=vmcloak-net-$$
cleanup() { ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export VMCLOAK_HOME=$tmp/home
unset VMCLOAK_BRIDGE_HELPER VMCLOAK_BRIDGE_ACL

if [ "$(id -u)" != 0 ] || ! ip netns add "$ns" 2>/dev/null; then
  tap_skip "bridge tests" "need root to create a network namespace"
  tap_done; exit
fi
inns() { ip netns exec "$ns" "$@"; }
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# --- vmcloak bridge ---
out=$(inns "$VM" bridge br-test 192.168.30.1/24 2>&1); rc=$?
tap_check "bridge creates br-test" test "$rc" = 0 -a -n "$(grep -F 'created bridge br-test (STP off)' <<<"$out")"
tap_check "bridge reports the address it added" grep -qF 'added address 192.168.30.1/24 to br-test' <<<"$out"
tap_check "bridge says the helper is not ready yet" grep -qF -- '--setup-helper br-test 192.168.30.1/24' <<<"$out"
link=$(inns ip -d link show br-test)
tap_check "br-test is a bridge" grep -q 'bridge forward_delay' <<<"$link"
tap_check "br-test has STP off" grep -q 'stp_state 0' <<<"$link"
tap_check "br-test is up" grep -q '<.*,UP' <<<"$link"
tap_check "br-test has 192.168.30.1/24" grep -q 'inet 192.168.30.1/24 ' <<<"$(inns ip -4 addr show br-test)"
tap_check "the host has no br-test" bash -c '! ip link show br-test >/dev/null 2>&1'

before=$(inns ip -d addr show br-test | grep -v -e valid_lft -e gc_timer)
out=$(inns "$VM" bridge br-test 192.168.30.1/24 2>&1); rc=$?
tap_check "second run exits 0" test "$rc" = 0
tap_check "second run says nothing changed" grep -qF 'nothing changed' <<<"$out"
tap_check "second run changes nothing" test "$before" = "$(inns ip -d addr show br-test | grep -v -e valid_lft -e gc_timer)"

out=$(inns "$VM" bridge br-test 10.9.9.1/24 2>&1); rc=$?
tap_check "conflicting CIDR exits 1" test "$rc" = 1
tap_check "conflicting CIDR names both" grep -q '192.168.30.1/24.*10.9.9.1/24' <<<"$out"
tap_check "conflicting CIDR changes nothing" bash -c "! ip netns exec $ns ip -4 addr show br-test | grep -q 10.9.9.1"

out=$(inns "${NOBODY[@]}" "$VM" bridge br-test 192.168.30.1/24 2>&1); rc=$?
tap_check "non-root exits 1" test "$rc" = 1
tap_check "non-root gets the exact command" grep -qF "run: sudo $VM bridge br-test 192.168.30.1/24" <<<"$out"
out=$(inns "${NOBODY[@]}" "$QB" --delete br-test 2>&1); rc=$?
tap_check "non-root delete gets the exact command" test "$rc" = 1 -a -n "$(grep -F "run: sudo $QB --delete br-test" <<<"$out")"

out=$("$QB" br-test 2>&1); rc=$?
tap_check "vmcloak-qemubridge with one argument shows help" test "$rc" = 0 -a -n "$(grep -F 'Usage:' <<<"$out")"
out=$("$QB" -h 2>&1); rc=$?
tap_check "vmcloak-qemubridge -h shows help" test "$rc" = 0 -a -n "$(grep -F 'qemubr0 192.168.30.1/24' <<<"$out")"
out=$(inns "$QB" 2>&1); rc=$?
tap_check "vmcloak-qemubridge without arguments makes qemubr0 192.168.30.1/24" \
  test "$rc" = 0 -a -n "$(inns ip -4 addr show qemubr0 2>/dev/null | grep -F 'inet 192.168.30.1/24')"
inns "$VM" bridge bad/name 10.0.0.1/24 2>/dev/null; tap_check "invalid name exits 2" test $? = 2
inns "$VM" bridge br-x 10.0.0.0/24 2>/dev/null; tap_check "network address as CIDR exits 2" test $? = 2
inns "$VM" bridge br-x 10.0.0.300/24 2>/dev/null; tap_check "invalid CIDR exits 2" test $? = 2
inns "$VM" bridge lo 127.0.0.1/8 2>&1 | grep -q 'not a bridge'; tap_check "refuses a non-bridge interface" test $? = 0

# --- --setup-helper on temporary paths ---
cp /usr/lib/qemu/qemu-bridge-helper "$tmp/qemu-bridge-helper" 2>/dev/null || printf 'fake' > "$tmp/qemu-bridge-helper"
chmod 0755 "$tmp/qemu-bridge-helper"
export VMCLOAK_BRIDGE_HELPER=$tmp/qemu-bridge-helper VMCLOAK_BRIDGE_ACL=$tmp/etc/qemu/bridge.conf
out=$(inns "$VM" bridge --setup-helper br-test 192.168.30.1/24 2>&1); rc=$?
tap_check "--setup-helper exits 0" test "$rc" = 0
tap_check "--setup-helper creates the ACL folder" test -d "$tmp/etc/qemu"
tap_check "--setup-helper writes the allow line" test "$(cat "$tmp/etc/qemu/bridge.conf")" = "allow br-test"
tap_check "--setup-helper makes the ACL readable" test "$(stat -c %a "$tmp/etc/qemu/bridge.conf")" = 644
tap_check "--setup-helper sets the setuid bit" test "$(stat -c %a "$tmp/qemu-bridge-helper")" = 4755
tap_check "--setup-helper says what it changed" \
  test -n "$(grep -F "created $tmp/etc/qemu/bridge.conf with 'allow br-test'" <<<"$out")" -a \
       -n "$(grep -F "set the setuid bit on $tmp/qemu-bridge-helper" <<<"$out")"
out=$(inns "$VM" bridge --setup-helper br-test 192.168.30.1/24 2>&1); rc=$?
tap_check "--setup-helper again changes nothing" test "$rc" = 0 -a -n "$(grep -F 'already set up for br-test' <<<"$out")"
tap_check "--setup-helper again keeps one line" test "$(grep -c . "$tmp/etc/qemu/bridge.conf")" = 1

# --- doctor ---
mkdir -p "$tmp/data/agent"; echo agent > "$tmp/data/agent/vmcloak-agent"; echo agent > "$tmp/data/agent/vmcloak-agent.exe"
# doctor also checks the hardware profiles: the real ones beside the stand-in agents.
ln -s "${VMCLOAK_SOURCE_ROOT:?}/data/hardware" "$tmp/data/hardware"
export VMCLOAK_DATADIR=$tmp/data
if command -v qemu-system-x86_64 >/dev/null && command -v qemu-img >/dev/null && command -v lz4 >/dev/null; then
  out=$(inns "$VM" doctor --bridge br-test 2>&1); rc=$?
  tap_check "doctor --bridge passes when all is set up" test "$rc" = 0
  tap_check "doctor names the QEMU version" grep -qE 'QEMU 2.11 or later +[0-9]+\.[0-9]+' <<<"$out"
  tap_check "doctor shows the ACL rule" grep -qF "allowed by $tmp/etc/qemu/bridge.conf:1" <<<"$out"
  tap_check "doctor output is plain when piped" grep -qF '[ok]' <<<"$out"
  json=$(inns "$VM" doctor --bridge br-test --json)
  tap_check "doctor --json parses" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["ok"] and d["mode"]=="bridge"' "$json"
  tap_check "doctor --json has every check" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); ids=[c["id"] for c in d["checks"]]
need=["qemu","qemu-img","kvm","disk","agent-linux","agent-windows","libisofs","libudfread","isolinux","lz4","nftables","bridge-exists","bridge-up","bridge-address","tun","helper-found","helper-setuid","acl"]
assert all(i in ids for i in need), ids' "$json"

  printf 'allow other\n' > "$tmp/etc/qemu/bridge.conf"
  out=$(inns "$VM" doctor --bridge br-test 2>&1); rc=$?
  tap_check "doctor --bridge fails without the allow line" test "$rc" = 1
  tap_check "doctor gives the fix" grep -qF "fix: sudo vmcloak bridge --setup-helper br-test 192.168.30.1/24" <<<"$out"
  tap_check "doctor says what QEMU would say" grep -qF "access denied by acl file" <<<"$out"
  inns "$VM" doctor >/dev/null 2>&1; tap_check "doctor in user mode ignores the bridge" test $? = 0
  inns "$VM" doctor --bridge nosuchbr --json | python3 -c 'import json,sys; d=json.load(sys.stdin); c={x["id"]:x for x in d["checks"]}; assert not d["ok"] and c["bridge-exists"]["status"]=="fail" and c["bridge-up"]["status"]=="skip"'
  tap_check "doctor --json reports a missing bridge" test $? = 0
  rm "$tmp/data/agent/vmcloak-agent.exe"
  out=$(inns "$VM" doctor 2>&1); rc=$?
  tap_check "doctor fails without the Windows agent" test "$rc" = 1 -a -n "$(grep -F 'vmcloak-agent.exe is missing' <<<"$out")"
else
  tap_skip "doctor" "QEMU, qemu-img or lz4 missing"
fi
unset VMCLOAK_BRIDGE_HELPER VMCLOAK_BRIDGE_ACL VMCLOAK_DATADIR

# --- --delete ---
out=$(inns "$VM" bridge --delete br-test 2>&1); rc=$?
tap_check "--delete removes the bridge" test "$rc" = 0 -a -z "$(inns ip link show br-test 2>/dev/null)"
inns "$VM" bridge --delete br-test 2>/dev/null; tap_check "--delete of a missing bridge exits 1" test $? = 1
inns "$VM" bridge --delete lo 2>/dev/null; tap_check "--delete refuses a non-bridge" test $? = 1
inns ip link show lo >/dev/null; tap_check "lo survives" test $? = 0

# --- the ACL decision agrees with the real qemu-bridge-helper ---
# The helper reads the ACL path compiled into it (/etc/qemu/bridge.conf on Debian); give it a
# private one through an overlay on /etc in a private mount namespace, and let it stop at the
# missing bridge: "access denied by acl file" vs anything else tells its decision.
helper=/usr/lib/qemu/qemu-bridge-helper
acl_in=$(strings -a "$helper" 2>/dev/null | grep -m1 '^/.*/bridge\.conf$')
if [ -x "$helper" ] && [ "$acl_in" = /etc/qemu/bridge.conf ] && grep -qw overlay /proc/filesystems; then
  mkdir -p "$tmp/acl"; printf 'allow br0\n' > "$tmp/acl/inc-allow.conf"; printf 'allow br0\nbogus\nallow br1\n' > "$tmp/acl/inc-bad.conf"
  cases=(
    'allow br0' 'allow br1' 'allow all' 'deny br0' 'allow all\ndeny br0' 'deny br0\nallow br0' 'deny all\nallow br0'
    '# c\n\n  allow   br0  ' 'allow\tbr0' 'allow\tbr0 x' 'allow br0\nbogus x' 'ALLOW br0' 'allow br0\nallow'
    'allow abcdefghijklmnop' 'allow all # c' "include $tmp/acl/inc-allow.conf" "include $tmp/acl/missing.conf\nallow br0"
    "include $tmp/acl/inc-bad.conf" 'deny br1\nallow br0' ''
  )
  for bridge in br0 br1; do
    for c in "${cases[@]}"; do
      d=$(mktemp -d "$tmp/ov.XXXXXX"); mkdir -p "$d/up/qemu" "$d/work"; printf "$c\n" > "$d/up/qemu/bridge.conf"
      real=$(unshare -m -n sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$d/up,workdir=$d/work /etc && $helper --br=$bridge --fd=99" 2>&1)
      if grep -q -e 'access denied by acl file' -e 'failed to parse default acl file' <<<"$real"; then want=fail; else want=ok; fi
      got=$(VMCLOAK_BRIDGE_ACL=$d/up/qemu/bridge.conf "$VM" doctor --bridge "$bridge" --json 2>/dev/null |
            python3 -c 'import json,sys; print({"ok":"ok","warn":"ok"}.get([c for c in json.load(sys.stdin)["checks"] if c["id"]=="acl"][0]["status"],"fail"))')
      name=${c//$tmp/TMP}; name=${name//#/<hash>}
      tap_check "ACL '$name' for $bridge: vmcloak and qemu-bridge-helper agree ($want)" test "$want" = "$got"
      rm -rf "$d"
    done
  done
else
  tap_skip "ACL decisions against the real helper" "needs $helper reading /etc/qemu/bridge.conf and overlayfs"
fi
tap_done
