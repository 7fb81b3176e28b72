#!/usr/bin/env bash
# End-to-end CLI checks against the built binary: help for every command, dispatch errors,
# vmcloak-qemubridge, list on fresh/VMCloak repositories, delimg/delvm/clone, concurrency.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
tmp=$(mktemp -d /tmp/vmcloak-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMCLOAK_HOME=$tmp/home

for c in init install modify snapshot restore list delimg delvm clone createiso isodownload bridge doctor \
         migrate export cleanup help; do
  out=$("$VM" "$c" --help 2>&1); rc=$?
  tap_check "$c --help exits 0 and shows usage" test "$rc" = 0 -a -n "$(grep -F "Usage: vmcloak" <<<"$out")"
done
out=$("$VM" init --help)
for o in --ip --port --network --gateway --dns --dns2 --cpus --ramsize --vramsize --hddsize --tempdir \
         --resolution --vm-visible --vrde --vrde-port --win7x64 --win81x64 --win10x64 --linux --iso-mount \
         --serial-key --product --python-version --iso --vm --net; do
  tap_check "init --help names $o" grep -qF -- "$o" <<<"$out"
done
tap_check "init --help shows defaults" grep -qF '[default: 8000]' <<<"$out"

"$VM" --version | grep -q '^vmcloak ' ; tap_check "--version" test $? = 0
"$VM" --help | grep -q 'Commands:' ; tap_check "--help lists commands" test $? = 0

out=$("$VM" snapshto 2>&1); rc=$?
tap_check "unknown command exits 2" test "$rc" = 2
tap_check "unknown command suggests" grep -q "did you mean 'snapshot'" <<<"$out"
out=$("$VM" init --hdsize 3 a b 2>&1); rc=$?
tap_check "unknown option exits 2" test "$rc" = 2
tap_check "unknown option suggests" grep -q "did you mean '--hddsize'" <<<"$out"
"$VM" list 2>/dev/null; tap_check "missing argument exits 2" test $? = 2
"$VM" --bogus list 2>/dev/null; tap_check "unknown global option exits 2" test $? = 2

out=$("$(dirname "$VM")/vmcloak-qemubridge" --help 2>&1); rc=$?
tap_check "vmcloak-qemubridge --help" test "$rc" = 0 -a -n "$(grep -F 'vmcloak bridge' <<<"$out")"

tap_check "--help does not create the home" test ! -e "$VMCLOAK_HOME"
out=$("$VM" list images 2>&1); rc=$?
tap_check "list images on a new home" test "$rc" = 0 -a -n "$(grep -F 'No images' <<<"$out")"
tap_check "home created 0700" test "$(stat -c %a "$VMCLOAK_HOME")" = 700
tap_check "repository created" test -s "$VMCLOAK_HOME/repository.db"
tap_check "layout created" test -d "$VMCLOAK_HOME/image" -a -d "$VMCLOAK_HOME/deps" -a -d "$VMCLOAK_HOME/iso"
tap_check "list json is an empty array" test "$("$VM" list images --json | tr -d ' \n')" = "[]"
"$VM" list frobs 2>/dev/null; tap_check "unknown list kind exits 2" test $? = 2

# A VMCloak-made repository: listed as is, writes need migrate, then work.
vh=$tmp/vmcloak-home; mkdir -p "$vh/image"
sqlite3 "$vh/repository.db" < "$VMCLOAK_SOURCE_ROOT/tests/fixtures/vmcloak-head.sql"
out=$("$VM" --home "$vh" list images); rc=$?
tap_check "VMCloak repository lists" test "$rc" = 0 -a -n "$(grep -F win10base <<<"$out")"
out=$("$VM" --home "$vh" list snapshots)
tap_check "VMCloak snapshots list" grep -q 'win10vm_2 .*192.168.30.11' <<<"$out"
tap_check "list images --json parses" bash -c "'$VM' --home '$vh' list images --json | grep -q '\"osversion\": \"win10x64\"'"
out=$("$VM" --home "$vh" delvm win10vm_1 2>&1); rc=$?
tap_check "write on old schema asks for migrate" test "$rc" = 1 -a -n "$(grep -F "vmcloak migrate" <<<"$out")"
out=$("$VM" --home "$vh" migrate 2>&1); rc=$?
tap_check "migrate upgrades" test "$rc" = 0 -a -n "$(grep -F 'from schema 1 to 2' <<<"$out")"
out=$("$VM" --home "$vh" migrate 2>&1)
tap_check "migrate again is a no-op" grep -qF 'already at the latest' <<<"$out"
out=$("$VM" --home "$vh" delimg win10base 2>&1); rc=$?
tap_check "delimg refuses with snapshots" test "$rc" = 1 -a -n "$(grep -F 'still has 2 snapshot' <<<"$out")"
mkdir -p "$vh/vms/qemu/win10vm_1"; touch "$vh/vms/qemu/win10vm_1/disk.qcow2"
"$VM" --home "$vh" delvm win10vm_1 >/dev/null 2>&1
tap_check "delvm removes row and folder" test $? = 0 -a ! -e "$vh/vms/qemu/win10vm_1"
"$VM" --home "$vh" delvm win10vm_1 2>/dev/null; tap_check "delvm of a missing VM fails" test $? = 1
"$VM" --home "$vh" delvm win10base 2>&1 | grep -q 'is an image'; tap_check "delvm names images" test $? = 0

# clone and delimg with a real (sparse) disk file.
truncate -s 1G "$vh/image/win7base.qcow2"; printf 'data' | dd of="$vh/image/win7base.qcow2" conv=notrunc 2>/dev/null
sqlite3 "$vh/repository.db" "UPDATE image SET path='$vh/image/win7base.qcow2' WHERE name='win7base'"
"$VM" --home "$vh" clone win7base win7copy >/dev/null 2>&1
tap_check "clone copies the disk" cmp -s "$vh/image/win7base.qcow2" "$vh/image/win7copy.qcow2"
m1=$("$VM" --home "$vh" list images --json | grep -A30 '"win7base"' | grep '"mac"' | head -1)
m2=$("$VM" --home "$vh" list images --json | grep -A30 '"win7copy"' | grep '"mac"' | head -1)
tap_check "clone gets its own MAC" test -n "$m2" -a "$m1" != "$m2"
"$VM" --home "$vh" clone win7base win7copy 2>/dev/null; tap_check "clone refuses an existing name" test $? = 1
"$VM" --home "$vh" clone nosuch x 2>/dev/null; tap_check "clone of a missing image fails" test $? = 1
"$VM" --home "$vh" clone win7base 'bad/name' 2>/dev/null; tap_check "clone rejects a bad name" test $? = 2
"$VM" --home "$vh" delimg win7copy >/dev/null 2>&1
tap_check "delimg removes row and disk" test $? = 0 -a ! -e "$vh/image/win7copy.qcow2"
"$VM" --home "$vh" delimg --force win10base >/dev/null 2>&1
tap_check "delimg --force removes snapshots too" test "$("$VM" --home "$vh" list snapshots --name-only)" = ""

# cleanup: leftovers of a vmcloak killed hard.
ch2=$tmp/cleanup; mkdir -p "$ch2/image" "$ch2/iso/vmcloak-img1-AbCdEf" "$ch2/vms/qemu/orphan"
sqlite3 "$ch2/repository.db" < "$VMCLOAK_SOURCE_ROOT/tests/fixtures/vmcloak-head.sql"
sqlite3 "$ch2/repository.db" "UPDATE image SET name='img1', path='$ch2/image/img1.qcow2' WHERE name='win7base'"
qemu-img create -q -f qcow2 "$ch2/image/img1.qcow2" 64M
: > "$ch2/image/img1.qcow2.install-999999.qcow2"      # a run that is gone
: > "$ch2/image/img1.qcow2.install-$$.qcow2"          # a run that is alive (this shell)
setsid qemu-system-x86_64 -S -nodefaults -display none -accel tcg -drive "file=$ch2/image/img1.qcow2,format=qcow2,if=none,id=d" </dev/null >/dev/null 2>&1 &
qpid=$!
sleep 1
out=$("$VM" --home "$ch2" cleanup img1 2>&1); rc=$?
tap_check "cleanup of an image exits 0" test "$rc" = 0
tap_check "cleanup kills a QEMU still using the image" bash -c "sleep 0.5; ! kill -0 $qpid 2>/dev/null"
tap_check "cleanup removes a dead run's overlay" test ! -e "$ch2/image/img1.qcow2.install-999999.qcow2"
tap_check "cleanup keeps a live run's overlay" test -e "$ch2/image/img1.qcow2.install-$$.qcow2"
tap_check "cleanup removes init work folders" test ! -e "$ch2/iso/vmcloak-img1-AbCdEf"
tap_check "cleanup keeps the image" test -s "$ch2/image/img1.qcow2"
"$VM" --home "$ch2" cleanup orphan >/dev/null 2>&1
tap_check "cleanup removes a VM folder no row names" test ! -e "$ch2/vms/qemu/orphan"
"$VM" --home "$ch2" cleanup nothing-here 2>/dev/null; tap_check "cleanup of an unknown name fails" test $? = 1
kill -9 $qpid 2>/dev/null

# Two processes listing for 10 s: never "database is locked".
ch=$tmp/conc; "$VM" --home "$ch" list images >/dev/null
end=$((SECONDS + 10)); : > "$tmp/errs"
for p in 1 2; do
  ( while [ $SECONDS -lt $end ]; do "$VM" --home "$ch" list images >/dev/null 2>>"$tmp/errs" || echo "rc=$?" >>"$tmp/errs"; done ) &
done
wait
tap_check "two processes listing for 10 s: no errors" test ! -s "$tmp/errs"

tap_done
