#!/usr/bin/env bash
# End-to-end: two commands racing for one name (init/init, clone x4, delvm during restore --keep,
# delimg during snapshot, install during snapshot), and a re-run snapshot finishing a series,
# all in a vmcloak home whose path holds a comma, spaces, quotes, '$' and non-ASCII letters
# (every host path that reaches a QEMU option, also from machineinfo.json, must survive it).
# One wins, the other gets one clear line, and the repository and files stay consistent.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
if ! pipeline_home vmcloak-races "home, it's \"odd\" \$HOME-ünï"; then
  tap_skip "races" "no static agent in $BUILD/agent (sanitizer build?)"
  tap_done; exit 0
fi
rows() { sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT (SELECT count(*) FROM image) || '/' || (SELECT count(*) FROM snapshot)"; }
qemus() { pgrep -f -- "$tmp/" | grep -v "^$$\$" || true; }
wait_for() { # FILE PATTERN SECONDS
  for _ in $(seq 1 $(($3 * 10))); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1
}

# init/init: the same name twice at once; the second is refused at once, the first goes on.
"$VM" init --linux --net user --accel tcg base lnet >"$tmp/init1.out" 2>&1 &
p1=$!
wait_for "$tmp/init1.out" "Creating image" 60
out=$("$VM" init --linux --net user --accel tcg base lnet 2>&1); rc=$?
tap_check "init/init: the second is refused with exit 1" test "$rc" = 1
tap_check "... naming the first one's PID" grep -q "image base is in use by another vmcloak (PID $p1" <<<"$out"
wait $p1; rc=$?
tap_check "... and the first one finishes" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/# /' "$tmp/init1.out"
tap_check "one image row, one disk" test "$(rows)" = "1/0" -a "$(ls "$VMCLOAK_HOME/image")" = "base.qcow2"

# clone x4 to one name: one wins, the others say the name is taken, nothing else is made.
for i in 1 2 3 4; do "$VM" clone base twin >"$tmp/clone$i.out" 2>&1 & eval "c$i=\$!"; done
wins=0 taken=0
for i in 1 2 3 4; do
  eval "wait \$c$i"; rc=$?
  if [ "$rc" = 0 ]; then wins=$((wins + 1))
  elif grep -qE "image twin is in use by another vmcloak \(PID [0-9]+|an image named 'twin' already exists" "$tmp/clone$i.out"; then
    taken=$((taken + 1))
  fi
done
tap_check "clone x4: exactly one wins" test "$wins" = 1
tap_check "... the three others say the name is taken" test "$taken" = 3
tap_check "... one row and one disk for twin" test "$(rows)" = "2/0" -a "$(ls "$VMCLOAK_HOME/image" | tr '\n' ' ')" = "base.qcow2 twin.qcow2 "

# A snapshot VM, built and restored in the odd home (paths from machineinfo.json too).
out=$("$VM" snapshot --accel tcg base vm 10.0.2.20 2>&1); rc=$?
tap_check "snapshot in a home with odd characters" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/# /' <<<"$out"
out=$("$VM" restore vm --exec 'ip -4 -o addr show eth0' 2>&1); rc=$?
tap_check "restore in that home answers at the snapshot's address" test "$rc" = 0 -a -n "$(grep 'inet 10.0.2.20/24' <<<"$out")"

# delvm while restore --keep runs: refused with the PID; the VM stays whole.
"$VM" restore --keep vm >"$tmp/keep.out" 2>&1 &
pk=$!
wait_for "$tmp/keep.out" "keeps running" 120
out=$("$VM" delvm vm 2>&1); rc=$?
tap_check "delvm during restore --keep: exit 1" test "$rc" = 1
tap_check "... naming the restore's PID and how to stop it" grep -q "snapshot VM vm is in use by another vmcloak (PID $pk.*kill $pk" <<<"$out"
tap_check "... the VM's row and files stay" test "$(rows)" = "2/1" -a -s "$VMCLOAK_HOME/vms/qemu/vm/memory.snapshot"
kill -INT $pk; wait $pk; rc=$?
tap_check "restore --keep ends on Ctrl-C" test "$rc" = 0

# delimg and install while a snapshot of the image runs: refused; the snapshot completes.
"$VM" snapshot --accel tcg base vm2 10.0.2.30 >"$tmp/snap.out" 2>&1 &
ps=$!
wait_for "$tmp/snap.out" "booting" 60
out=$("$VM" delimg --force base 2>&1); rc=$?
tap_check "delimg --force during a snapshot: exit 1, naming the snapshot's PID" \
  test "$rc" = 1 -a -n "$(grep "image base is in use by another vmcloak (PID $ps" <<<"$out")"
out=$("$VM" install --accel tcg base run:true 2>&1); rc=$?
tap_check "install during a snapshot of the image: exit 1, naming it" \
  test "$rc" = 1 -a -n "$(grep "image base is in use by another vmcloak (PID $ps" <<<"$out")"
out=$("$VM" cleanup vm2 2>&1); rc=$?
tap_check "cleanup of the VM being built: refused, its folder stays" test "$rc" = 1 -a -d "$VMCLOAK_HOME/vms/qemu/vm2"
wait $ps; rc=$?
tap_check "... the snapshot completes" test "$rc" = 0 -a "$(rows)" = "2/2"

out=$("$VM" install --accel tcg twin 'run:echo installed > /root/mark' 2>&1); rc=$?
tap_check "install in the odd home commits into the clone" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/# /' <<<"$out"

# A --count run interrupted after its first VM, run again: the first is kept, the second built.
"$VM" snapshot --accel tcg --count 2 twin s 10.0.2.40 >"$tmp/count.out" 2>&1 &
pc=$!
wait_for "$tmp/count.out" "s1: ready" 120
wait_for "$tmp/count.out" "s2: restored from the template" 60
kill -INT $pc; wait $pc; rc=$?
tap_check "snapshot --count 2 interrupted after s1: exit 130, s1 complete" test "$rc" = 130 -a -s "$VMCLOAK_HOME/vms/qemu/s1/machineinfo.json"
out=$("$VM" snapshot --accel tcg --count 2 twin s 10.0.2.40 2>&1); rc=$?
tap_check "the same command again completes the series" test "$rc" = 0
tap_check "... keeping s1" grep -q "s1: 10.0.2.40 (complete from an earlier run: kept)" <<<"$out"
tap_check "... and building s2 at 10.0.2.41" test "$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT ipaddr FROM snapshot WHERE vmname='s2'")" = 10.0.2.41
tap_check "no QEMU left" test -z "$(qemus)"
tap_done
