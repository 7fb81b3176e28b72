#!/usr/bin/env bash
# End-to-end: the pipeline in bridge mode (the seed's way), inside a network namespace this
# test creates: `vmcloak bridge --setup-helper` makes the bridge and allows it in the real
# qemu-bridge-helper's ACL (a private /etc and helper copy in a private mount namespace, so the
# host's stay untouched), then init --linux on that bridge, snapshot with a new address, and
# restore from machineinfo.json's start_args; the agent answers at the guest's bridge address.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
HELPER=/usr/lib/qemu/qemu-bridge-helper

skip_all() { tap_skip "pipeline on a bridge" "$1"; tap_done; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces)"
[ -x "$HELPER" ] || skip_all "no $HELPER"
[ "$(strings -a "$HELPER" | grep -m1 '^/.*/bridge\.conf$')" = /etc/qemu/bridge.conf ] || skip_all "helper ACL is not /etc/qemu/bridge.conf"
grep -qw overlay /proc/filesystems || skip_all "no overlayfs"
if ! [ -x "$BUILD/agent/vmcloak-agent" ] || file -L "$BUILD/agent/vmcloak-agent" | grep -q 'dynamically linked'; then
  skip_all "no static agent in $BUILD/agent (sanitizer build?)"
fi

tmp=$(mktemp -d /tmp/vmcloak-pbr.XXXXXX)
ns=vmcloak-pbr-$$
cleanup() {
  pkill -KILL -f -- "$tmp/" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
cache=${VMCLOAK_TEST_CACHE:-/var/tmp/vmcloak-test-cache}/vmcloak-cache
mkdir -p "$cache" "$tmp/home"
ln -s "$cache" "$tmp/home/cache"
host_etc=$(ls -la /etc/qemu 2>&1; cat /etc/qemu/bridge.conf 2>&1)
host_mode=$(stat -c %a "$HELPER")
ip netns add "$ns" || skip_all "cannot create a network namespace"

cat > "$tmp/inside.sh" <<EOF
set -u
T=$tmp; VM=$VM; HELPER=$HELPER
export VMCLOAK_HOME=\$T/home
mkdir -p \$T/etc-up \$T/etc-work \$T/helper
mount -t overlay overlay -o lowerdir=/etc,upperdir=\$T/etc-up,workdir=\$T/etc-work /etc || exit 10
cp \$HELPER \$T/helper/qemu-bridge-helper && chmod 0755 \$T/helper/qemu-bridge-helper
mount --bind \$T/helper/qemu-bridge-helper \$HELPER || exit 11
ip link set lo up
echo "== bridge"; \$VM bridge --setup-helper br-test 192.168.30.1/24 2>&1; echo "rc=\$?"
echo "== init"; \$VM init --linux --accel tcg --ip 192.168.30.15 lbr br-test 2>&1; echo "rc=\$?"
echo "== list"; \$VM list images --format table
echo "== snapshot"; \$VM snapshot --accel tcg lbr brvm 192.168.30.20 2>&1; echo "rc=\$?"
echo "== restore"; \$VM restore brvm --exec 'hostname; ip -4 -o addr show eth0' 2>&1; echo "rc=\$?"
echo "== machineinfo"; cat \$VMCLOAK_HOME/vms/qemu/brvm/machineinfo.json
echo "== wrong-bridge"; \$VM init --linux --accel tcg nobr br-missing 2>&1; echo "rc=\$?"
EOF
out=$(ip netns exec "$ns" unshare -m bash "$tmp/inside.sh" 2>&1); rc=$?
sect() { awk -v s="== $1" '$0==s{p=1;next} /^== /{p=0} p' <<<"$out"; }
ok_rc() { grep -qx 'rc=0' <<<"$(sect "$1")"; }

tap_check "namespace set-up (private /etc and helper copy)" test "$rc" -lt 10 -o "$rc" -gt 11
tap_check "vmcloak bridge --setup-helper in the namespace" ok_rc bridge
tap_check "init --linux on the bridge" ok_rc init
tap_check "the image is a bridge image at 192.168.30.15" grep -q '^lbr .*192.168.30.15 .*br-test .*bridge' <<<"$(sect list)"
tap_check "snapshot on the bridge, moved to 192.168.30.20" ok_rc snapshot
tap_check "restore from start_args: the agent answers at 192.168.30.20" \
  test -n "$(grep 'restored: .*192.168.30.20:8000' <<<"$(sect restore)")" -a -n "$(grep -x 'rc=0' <<<"$(sect restore)")"
tap_check "the restored guest has its bridge address" grep -q 'inet 192.168.30.20/24' <<<"$(sect restore)"
tap_check "machineinfo.json names the bridge" grep -q '"bridge": "br-test"' <<<"$(sect machineinfo)"
tap_check "start_args use -netdev bridge with the checked helper" grep -q '"type=bridge,br=br-test,helper=' <<<"$(sect machineinfo)"
tap_check "init on a missing bridge stops with the doctor's fix" \
  test -n "$(grep -F 'fix: sudo vmcloak bridge br-missing' <<<"$(sect wrong-bridge)")" -a -n "$(grep -x 'rc=1' <<<"$(sect wrong-bridge)")"
tap_check "no QEMU left" test -z "$(pgrep -f -- "$tmp/home")"
tap_check "the host's /etc/qemu is unchanged" test "$(ls -la /etc/qemu 2>&1; cat /etc/qemu/bridge.conf 2>&1)" = "$host_etc"
tap_check "the host's helper mode is unchanged" test "$(stat -c %a "$HELPER")" = "$host_mode"
if [ "$_tap_fail" != 0 ]; then echo "# --- inside output ---"; sed 's/^/# /' <<<"$out" | tail -60; fi
tap_done
