#!/usr/bin/env bash
# End-to-end: vmcloak import under QEMU/TCG. A linux guest disk made by `init --linux` in one
# home stands for a hand-built disk: converted to raw (import must convert it back to qcow2), it
# is imported under a new name into a second home, whose image then takes a snapshot and is
# restored. Syntax errors come before any state; an agent that does not answer fails the import
# with no row and no disk; the source is never changed.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-import.XXXXXX)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
if ! [ -x "$BUILD/agent/vmcloak-agent" ] || file -L "$BUILD/agent/vmcloak-agent" | grep -q 'dynamically linked'; then
  tap_skip "import" "no static agent in $BUILD/agent (sanitizer build?)"
  tap_done; exit 0
fi
unset VMCLOAK_GUEST_AGENT VMCLOAK_HOME
A=$tmp/home-a
B=$tmp/home-b
cache=${VMCLOAK_TEST_CACHE:-/var/tmp/vmcloak-test-cache}/vmcloak-cache
mkdir -p "$cache" "$A"
ln -s "$cache" "$A/cache"
rows() { sqlite3 "$1/repository.db" "SELECT (SELECT count(*) FROM image) || '/' || (SELECT count(*) FROM snapshot)"; }
qemus() { pgrep -f -- "$1/" || true; }

# --- syntax before state -----------------------------------------------------------------------
out=$("$VM" --home "$B" import --linux --net user adopted "$tmp/none.img" lnet 2>&1); rc=$?
tap_check "import without --ip exits 2 and says so" test "$rc" = 2 -a -n "$(grep -- '--ip' <<<"$out")"
out=$("$VM" --home "$B" import --ip 10.0.2.15 --net user adopted "$tmp/none.img" lnet 2>&1); rc=$?
tap_check "import without an OS flag exits 2" test "$rc" = 2 -a -n "$(grep -- '--linux' <<<"$out")"
out=$("$VM" --home "$B" import --linux --ip 10.0.2.300 --net user adopted "$tmp/none.img" lnet 2>&1); rc=$?
tap_check "import with a bad --ip exits 2" test "$rc" = 2
out=$("$VM" --home "$B" import --linux --ip 10.0.2.15 --net user 'bad name' "$tmp/none.img" lnet 2>&1); rc=$?
tap_check "import with a bad NAME exits 2" test "$rc" = 2
out=$("$VM" --home "$B" import --linux --ip 10.0.2.15 --net user --tag 'a,b' adopted "$tmp/none.img" lnet 2>&1); rc=$?
tap_check "import with a tag Cuckoo3 would split exits 2" test "$rc" = 2 -a -n "$(grep -F "invalid machine tag 'a,b'" <<<"$out")"
tap_check "usage errors create no home" test ! -e "$B"
out=$("$VM" --home "$B" import --linux --ip 10.0.2.15 --net user adopted "$tmp/none.img" lnet 2>&1); rc=$?
tap_check "import of a missing disk exits 1 and names it" test "$rc" = 1 -a -n "$(grep -F "$tmp/none.img" <<<"$out")"
head -c 1048576 /dev/urandom >"$tmp/junk.img"
out=$("$VM" --home "$B" import --linux --ip 10.0.2.15 --net user adopted "$tmp/junk.img" lnet 2>&1); rc=$?
ok=1
[ "$rc" = 1 ] || ok=0
grep -q 'is not a disk' <<<"$out" || ok=0
! ls "$B/image/" 2>/dev/null | grep -q . || ok=0
! find "$B" -name qemu.log 2>/dev/null | grep -q . || ok=0
tap_check "import of a file that is no disk exits 1 before booting anything, leaving nothing" test "$ok" = 1

# --- a disk to adopt -------------------------------------------------------------------------------
t=$(now)
out=$(VMCLOAK_HOME=$A pipeline_image made lnet --net user --accel tcg 2>&1); rc=$?
echo "# the disk to adopt (the shared cached init --linux image): $(secs "$t" "$(now)") s"
tap_check "init --linux makes the disk to adopt" test "$rc" = 0 -a -s "$A/image/made.qcow2"
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; exit; }
qemu-img convert -O raw "$A/image/made.qcow2" "$tmp/hand.raw"
sum=$(sha256sum < "$tmp/hand.raw")

# --- an agent that does not answer (wrong --port): nothing is left --------------------------------
t=$(now)
out=$("$VM" --home "$B" import --linux --ip 10.0.2.15 --port 8999 --net user --accel tcg --timeout 20 \
      deaf "$tmp/hand.raw" lnet 2>&1); rc=$?
echo "# failed import: $(secs "$t" "$(now)") s"
tap_check "import whose agent does not answer exits 1" test "$rc" = 1
tap_check "... naming the timeout" grep -q 'did not answer.*within 20 s' <<<"$out"
tap_check "... with no row" test "$(rows "$B")" = 0/0
tap_check "... and no disk" test -z "$(ls -A "$B/image")"
tap_check "... and no QEMU" test -z "$(qemus "$B")"

# --- the import --------------------------------------------------------------------------------------
t=$(now)
out=$("$VM" --home "$B" import --linux --ip 10.0.2.15 --net user --accel tcg --tag handmade adopted "$tmp/hand.raw" \
      lnet 2>&1); rc=$?
echo "# import: $(secs "$t" "$(now)") s"
echo "$out" | sed 's/^/# /'
tap_check "import --linux of a raw disk succeeds" test "$rc" = 0
tap_check "import --tag stores the machine tag on the image" \
  test "$(sqlite3 "$B/repository.db" "SELECT tags FROM image WHERE name='adopted'")" = handmade
tap_check "it names the guest's kernel" grep -q 'The guest runs Linux [0-9]' <<<"$out"
tap_check "the image is listed" bash -c "'$VM' --home '$B' list images --format table | grep -q '^adopted .*10.0.2.15 .*user'"
tap_check "its disk is qcow2" test "$(qemu-img info --output=json "$B/image/adopted.qcow2" | grep -o '"format": "[a-z0-9]*"' | head -1)" = '"format": "qcow2"'
tap_check "the source is unchanged" test "$(sha256sum < "$tmp/hand.raw")" = "$sum"
tap_check "no QEMU left after import" test -z "$(qemus "$B")"
out=$("$VM" --home "$B" import --linux --ip 10.0.2.16 --net user adopted "$tmp/hand.raw" lnet 2>&1); rc=$?
tap_check "a second import under the same name is refused" test "$rc" = 1 -a -n "$(grep 'already exists' <<<"$out")"

# --- the imported image works like any other ------------------------------------------------------
out=$("$VM" --home "$B" snapshot --accel tcg adopted advm 10.0.2.20 2>&1); rc=$?
tap_check "snapshot of the imported image succeeds" test "$rc" = 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
out=$("$VM" --home "$B" restore advm --exec 'ip -4 -o addr show eth0' 2>&1); rc=$?
tap_check "restore of its snapshot: the agent answers at the snapshot's address" test "$rc" = 0 -a -n "$(grep 'inet 10.0.2.20/24' <<<"$out")"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_check "no QEMU left" test -z "$(qemus "$B")"
tap_done
