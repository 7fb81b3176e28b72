#!/usr/bin/env bash
# Memory snapshot and restore of a running guest under TCG, through the library's QMP code:
# boot a counting guest, lz4-snapshot it, kill QEMU, restore with -incoming, and show it is the
# same running guest (same boot token, counter past its pre-snapshot value, no new boot).
# Also: a gzip snapshot restores, a damaged file is refused. Usage: qemu_memsnap.sh QEMU_DRIVE
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/qemu-guest.sh"
DRIVE=${1:?usage: qemu_memsnap.sh QEMU_DRIVE}
tmp=$(mktemp -d /tmp/vmcloak-memsnap.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! guest_build "$tmp"; then
  tap_skip "memory snapshot round trip" "no kernel fixture or static busybox"; tap_done; exit
fi
qemu-img create -q -f qcow2 "$tmp/disk.qcow2" 64M
guest_conf "$tmp" "$tmp/serial1.log" >"$tmp/boot.conf"
guest_conf "$tmp" "$tmp/serial2.log" >"$tmp/restore.conf"

# 1. Boot, wait for the counter to reach 4, snapshot to lz4. The driver quits QEMU afterwards.
out=$("$DRIVE" snapshot "$tmp/boot.conf" "$tmp/memory.snapshot" lz4 " n=4" 2>&1); rc=$?
tap_check "lz4 snapshot of a running guest" test $rc = 0
[ $rc = 0 ] || echo "# $(tr '\n' ' ' <<<"$out")"
qpid=$(sed -n 's/^qemu_pid=//p' <<<"$out")
tap_check "QEMU exited after the snapshot" test -n "$qpid" -a ! -e "/proc/${qpid:-0}"
tap_check "no leftover temporary files" test ! -e "$tmp/memory.snapshot.part" -a ! -e "$tmp/memory.snapshot.done"
magic=$(head -c 4 "$tmp/memory.snapshot" 2>/dev/null | od -An -tx1 | tr -d ' \n')
tap_check "the file is an lz4 frame (04 22 4d 18)" test "$magic" = 04224d18
tap_check "libmagic calls it lz4 (what Cuckoo3 checks)" grep -qi lz4 <<<"$(file -b "$tmp/memory.snapshot")"
tap_check "lz4 -t verifies it" lz4 -t -q "$tmp/memory.snapshot"
tok=$(grep -o 'tok=[0-9a-f]*' "$tmp/serial1.log" | tail -n1)
last=$(grep -o ' n=[0-9]*' "$tmp/serial1.log" | tail -n1 | tr -dc 0-9)
tap_check "the guest printed a token and a counter before the snapshot" test -n "$tok" -a -n "$last"
echo "# before the snapshot: $tok n=$last ($(stat -c %s "$tmp/memory.snapshot") bytes)"

# 2. Restore: the same token must keep counting past the last pre-snapshot value.
want=$((last + 3))
out=$("$DRIVE" restore "$tmp/restore.conf" "$tmp/memory.snapshot" "$tok n=$want" 2>&1); rc=$?
tap_check "restore with -incoming reaches the running state" test $rc = 0 -a -n "$(grep -x 'status=running' <<<"$out")"
[ $rc = 0 ] || echo "# $(tr '\n' ' ' <<<"$out")"
echo "# $(grep restore_ms <<<"$out")"
first=$(grep -o ' n=[0-9]*' "$tmp/serial2.log" 2>/dev/null | head -n1 | tr -dc 0-9)
tap_check "the restored guest continues the counter (first n=$first > $last)" test -n "$first" -a "${first:-0}" -gt "$last"
tap_check "the restored guest has the same boot token" \
  test -z "$(grep -o 'tok=[0-9a-f]*' "$tmp/serial2.log" | grep -vx -- "$tok")" -a -n "$(grep -F -- "$tok" "$tmp/serial2.log")"
tap_check "the restored guest did not boot again (no kernel messages, no n=0)" \
  test -z "$(grep -E 'Linux version|Booting| n=0$' "$tmp/serial2.log")"

# 3. gzip (also restorable by Cuckoo3) round trip on a fresh boot.
rm -f "$tmp/serial1.log" "$tmp/serial2.log"
out=$("$DRIVE" snapshot "$tmp/boot.conf" "$tmp/memory.gz" gzip " n=2" 2>&1); rc=$?
magic=$(head -c 2 "$tmp/memory.gz" 2>/dev/null | od -An -tx1 | tr -d ' \n')
tap_check "gzip snapshot (1f 8b)" test $rc = 0 -a "$magic" = 1f8b
tok=$(grep -o 'tok=[0-9a-f]*' "$tmp/serial1.log" | tail -n1)
last=$(grep -o ' n=[0-9]*' "$tmp/serial1.log" | tail -n1 | tr -dc 0-9)
out=$("$DRIVE" restore "$tmp/restore.conf" "$tmp/memory.gz" "$tok n=$((last + 1))" 2>&1); rc=$?
tap_check "gzip snapshot restores the same guest" test $rc = 0
[ $rc = 0 ] || echo "# $(tr '\n' ' ' <<<"$out")"

# 4. A second snapshot right after a completed one (QEMU refuses a plain second migrate in
#    "postmigrate"), in zstd this time (vmcloak's own restore reads it; Cuckoo3 would not).
rm -f "$tmp/serial1.log" "$tmp/serial2.log"
out=$("$DRIVE" snapshot-twice "$tmp/boot.conf" "$tmp/first.lz4" "$tmp/second.zst" zstd " n=2" 2>&1); rc=$?
tap_check "the VM is in postmigrate after the first snapshot" grep -qx 'between=postmigrate' <<<"$out"
magic=$(head -c 4 "$tmp/second.zst" 2>/dev/null | od -An -tx1 | tr -d ' \n')
tap_check "a second snapshot of the same VM works (zstd: 28 b5 2f fd)" test $rc = 0 -a "$magic" = 28b52ffd
[ $rc = 0 ] || echo "# $(tr '\n' ' ' <<<"$out")"
tok=$(grep -o 'tok=[0-9a-f]*' "$tmp/serial1.log" | tail -n1)
last=$(grep -o ' n=[0-9]*' "$tmp/serial1.log" | tail -n1 | tr -dc 0-9)
out=$("$DRIVE" restore "$tmp/restore.conf" "$tmp/second.zst" "$tok n=$((last + 1))" 2>&1); rc=$?
tap_check "the zstd snapshot restores the same guest" test $rc = 0
[ $rc = 0 ] || echo "# $(tr '\n' ' ' <<<"$out")"

# 5. A damaged memory file: refused before QEMU starts, or QEMU's failure is reported.
head -c 4096 /dev/urandom >"$tmp/garbage.snapshot"
out=$("$DRIVE" restore "$tmp/restore.conf" "$tmp/garbage.snapshot" "x" 2>&1); rc=$?
tap_check "a file that is no snapshot is refused with a clear line" \
  test $rc != 0 -a -n "$(grep -F 'is not a memory snapshot' <<<"$out")"
# Cut inside the first lz4 block: the decompressor writes nothing and QEMU would wait forever.
head -c 100000 "$tmp/memory.snapshot" >"$tmp/truncated.snapshot"
out=$("$DRIVE" restore "$tmp/restore.conf" "$tmp/truncated.snapshot" "x" 2>&1); rc=$?
tap_check "a snapshot cut inside its first block fails quickly, saying why" \
  test $rc != 0 -a -n "$(grep -F 'truncated or damaged' <<<"$out")"
# Cut later: QEMU itself fails to load and its reason is reported.
head -c 10000000 "$tmp/memory.snapshot" >"$tmp/truncated.snapshot"
out=$("$DRIVE" restore "$tmp/restore.conf" "$tmp/truncated.snapshot" "x" 2>&1); rc=$?
tap_check "a truncated snapshot fails with QEMU's reason" \
  test $rc != 0 -a -n "$(grep -F 'load of migration failed' <<<"$out")"
tap_done
