#!/usr/bin/env bash
# End-to-end (issue 15): snapshot --count 3 -j 2 on the built-in linux guest boots the image once
# (the template) and makes each VM from that saved state; each VM restores with its own MAC,
# hostname and address, its disk its own overlay on the image, its clock the host's; no template
# folder stays; a clone keeps its MAC across a guest reboot. Then
# --boot-each, SIGINT during the clones, and cleanup of a killed run's template folder.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
if ! pipeline_home vmcloak-fleet; then
  tap_skip "snapshot fleet" "no static agent in $BUILD/agent (sanitizer build?)"
  tap_done; exit 0
fi
qemus() { pgrep -f -- "$VMCLOAK_HOME" | grep -v "^$$\$" || true; }
rows() { sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT count(*) FROM snapshot"; }
fleet_left() { ls -A "$VMCLOAK_HOME/fleet" 2>/dev/null; }

out=$("$VM" init --linux --net user --accel tcg lbase lnet 2>&1); rc=$?
tap_check "init --linux --net user succeeds" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; exit 0; }

# --- the fleet: one boot for three VMs --------------------------------------------------------
out=$("$VM" snapshot --accel tcg --count 3 -j 2 lbase fvm 2>&1); rc=$?
tap_check "snapshot --count 3 -j 2 succeeds" test "$rc" = 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_check "it boots the template once for the three VMs" \
  test "$(grep -c 'Booting the template once for 3 VMs' <<<"$out")" = 1 -a "$(grep -c ': booting' <<<"$out")" = 0
tap_check "each VM says it was restored from the template" test "$(grep -c 'restored from the template in' <<<"$out")" = 3
tap_check "the last line counts the VMs" grep -q '^Created 3 of 3 snapshot VMs in ' <<<"$out"
tap_check "no template folder is left" test -z "$(fleet_left)"
tap_check "no QEMU is left" test -z "$(qemus)"
img=$VMCLOAK_HOME/image/lbase.qcow2
declare -A seen_mac seen_ip
for v in fvm1 fvm2 fvm3; do
  d=$VMCLOAK_HOME/vms/qemu/$v
  tap_check "$v's machineinfo.json passes Cuckoo3's import rules" "$BUILD/tests/e2e/check-machineinfo" "$d/machineinfo.json" "$v"
  tap_check "$v's disk is an overlay on the image" \
    bash -c "qemu-img info --output=json -U '$d/disk.qcow2' | python3 -c 'import json,sys; i=json.load(sys.stdin); \
      assert i[\"format\"] == \"qcow2\" and i[\"full-backing-filename\"] == \"$img\", i'"
  read -r mac ip host <<<"$(sqlite3 -separator ' ' "$VMCLOAK_HOME/repository.db" \
    "SELECT mac, ipaddr, hostname FROM snapshot WHERE vmname='$v'")"
  seen_mac[$mac]=1 seen_ip[$ip]=1
  tap_check "$v's start_args carry its own MAC" grep -q "mac=$mac" "$d/machineinfo.json"
  r=$("$VM" restore "$v" --exec 'cat /sys/class/net/eth0/address; hostname; ip -4 addr show eth0; echo "clock $(date +%s)"' 2>&1); rc=$?
  tap_check "$v restores, its agent answering at its own address" \
    test "$rc" = 0 -a -n "$(grep -F "agent answering" <<<"$r" | grep -F "($ip:")"
  tap_check "$v's guest has its own MAC, hostname and address" \
    test -n "$(grep -x "$mac" <<<"$r")" -a -n "$(grep -x "$host" <<<"$r")" -a -n "$(grep -F "inet $ip/" <<<"$r")"
  [ "$rc" = 0 ] || echo "$r" | sed 's/^/# /'
  # A restore brings back the guest's clock of the snapshot moment: the host's time then (set from
  # the RTC after the start from the template), not the template's save time plus the wait.
  # serial.log's last write is the agent's log of the last command before the save (hwclock has
  # 1 s steps, mtimes too); memory.snapshot's is the save's end.
  clock=$(sed -n 's/^clock //p' <<<"$r")
  lo=$(($(stat -c %Y "$d/serial.log") - 2)) hi=$(($(stat -c %Y "$d/memory.snapshot") + 1))
  tap_check "$v's guest clock at its snapshot is the host's then ($lo..$hi: ${clock:-none})" \
    test -n "$clock" -a "${clock:-0}" -ge "$lo" -a "${clock:-0}" -le "$hi"
done
tap_check "three MACs and three addresses" test "${#seen_mac[@]}" = 3 -a "${#seen_ip[@]}" = 3
tap_check "the disks differ per VM" test "$(md5sum "$VMCLOAK_HOME"/vms/qemu/fvm?/disk.qcow2 | cut -d' ' -f1 | sort -u | wc -l)" = 3

# --- a clone's MAC after a guest reboot -------------------------------------------------------------
# Its NIC's EEPROM (device state, loaded with the template's memory) holds the template's MAC, which
# the driver reads at boot; vmcloak-setnet --boot applies the VM's own from /etc/vmcloak/mac.
mac=$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT mac FROM snapshot WHERE vmname='fvm3'")
"$VM" restore fvm3 --keep >"$tmp/keep.out" 2>&1 &
keep=$!
for _ in $(seq 1 1200); do grep -q 'keeps running' "$tmp/keep.out" && break; sleep 0.1; done
AGENT_PORT=$(sed -n 's/.*(agent at 127\.0\.0\.1:\([0-9]*\)).*/\1/p' "$tmp/keep.out")
boot1=$( [ -n "$AGENT_PORT" ] && gout 'cat /proc/sys/kernel/random/boot_id')
[ -n "$boot1" ] && AGENT_MAX_TIME=10 gexec 'reboot' >/dev/null
boot2=$boot1
for _ in $(seq 1 120); do
  [ -n "$boot1" ] || break
  boot2=$(AGENT_MAX_TIME=5 gout 'cat /proc/sys/kernel/random/boot_id' 2>/dev/null)
  [ -n "$boot2" ] && [ "$boot2" != "$boot1" ] && break
  sleep 1
done
tap_check "a kept fvm3 reboots through its agent" test -n "$boot1" -a -n "$boot2" -a "$boot2" != "$boot1"
after=$( [ "$boot2" != "$boot1" ] && gout 'cat /sys/class/net/eth0/address')
tap_check "fvm3 has its own MAC after the guest's reboot ($mac: ${after:-none})" test "$after" = "$mac"
kill -INT $keep; wait $keep
[ -n "$boot1" ] && [ "$after" = "$mac" ] || sed 's/^/# /' "$tmp/keep.out"
tap_check "the kept VM's QEMU is gone" test -z "$(qemus)"

# --- --boot-each: VMCloak's way ------------------------------------------------------------------
out=$("$VM" snapshot --accel tcg --boot-each --count 2 lbase bvm 2>&1); rc=$?
tap_check "--boot-each succeeds" test "$rc" = 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_check "--boot-each boots each VM and says why" \
  test "$(grep -c ': booting' <<<"$out")" = 2 -a -n "$(grep -F 'Each VM boots the image: --boot-each' <<<"$out")" \
  -a -z "$(grep -F 'template' <<<"$out")"
r=$("$VM" restore bvm2 --exec hostname 2>&1)
tap_check "a --boot-each VM restores" test -n "$(grep -x "$(sqlite3 "$VMCLOAK_HOME/repository.db" \
  "SELECT hostname FROM snapshot WHERE vmname='bvm2'")" <<<"$r")"

# --- SIGINT while the VMs are made from the template ----------------------------------------------
before=$(rows)
"$VM" snapshot --accel tcg --count 2 lbase svm >"$tmp/sig.out" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do grep -q 'svm1: restored from the template' "$tmp/sig.out" && break; sleep 0.1; done
q=$(qemus | head -1)
kill -INT $pid
wait $pid; rc=$?
tap_check "SIGINT during the clones exits non-zero" test "$rc" -ne 0 -a -n "$q"
[ -n "$q" ] || sed 's/^/# /' "$tmp/sig.out"
tap_check "SIGINT during the clones: no QEMU left" test -z "$(qemus)"
tap_check "SIGINT during the clones: no template folder, no VM folder, no row" \
  test -z "$(fleet_left)" -a ! -e "$VMCLOAK_HOME/vms/qemu/svm1" -a "$(rows)" = "$before"
tap_check "SIGINT during the clones says so" grep -q 'interrupted' "$tmp/sig.out"

# --- cleanup: a killed run's template folder --------------------------------------------------------
sh -c 'exit 0' & dead=$!; wait $dead
mkdir -p "$VMCLOAK_HOME/fleet/lbase.template-$dead"
qemu-img create -q -f qcow2 -b "$img" -F qcow2 "$VMCLOAK_HOME/fleet/lbase.template-$dead/disk.qcow2"
out=$("$VM" cleanup lbase 2>&1); rc=$?
tap_check "cleanup removes a killed run's template folder" test "$rc" = 0 -a -z "$(fleet_left)"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_done
