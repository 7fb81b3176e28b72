#!/usr/bin/env bash
# End-to-end: the stuck detector on a real guest under QEMU/TCG. The linux guest's install ISO
# is changed to wait at isolinux's "boot:" prompt forever (PROMPT 1, TIMEOUT 0); init with a
# short --stuck-after must print one stuck line naming the phase and a screenshot long before
# its --timeout, the screenshot must show the prompt (OCR by tesseract finds "boot:"), the
# timeout message must name the kept last screen, and nothing else may be left: no row, no
# disk, no QEMU, no rolling screenshots. Then press_key_s on the same ISO: Enter pressed through
# QMP send-key gets isolinux past its prompt and the install finishes (flow-drive, the first
# argument, runs init with that flow).
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
SRC=${VMCLOAK_SOURCE_ROOT:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
FLOW_DRIVE=${1:?flow-drive program}
tmp=$(mktemp -d /tmp/vmcloak-stuck.XXXXXX)
export VMCLOAK_HOME=$tmp/home
init_pid=
cleanup() {
  # Only what this script started: the init, whose own cleanup stops its QEMU.
  if [ -n "$init_pid" ]; then kill "$init_pid" 2>/dev/null; wait "$init_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
for tool in xorriso tesseract; do
  command -v "$tool" >/dev/null || { tap_skip "stuck detector" "$tool is not installed (packaging/debian-packages.txt)"; tap_done; exit 0; }
done
if ! [ -x "$BUILD/agent/vmcloak-agent" ] || file -L "$BUILD/agent/vmcloak-agent" | grep -q 'dynamically linked'; then
  # createiso needs a static agent; a sanitizer build links it dynamically.
  tap_skip "stuck detector" "no static agent in $BUILD/agent (sanitizer build?)"
  tap_done; exit 0
fi
unset VMCLOAK_GUEST_AGENT
mkdir -p "$VMCLOAK_HOME"

# --- an install ISO that waits at its boot loader's prompt ----------------------------------
kdir=$("$SRC/tests/fixtures/debian-kernel.sh") || { tap_fail "Debian kernel fixture"; tap_done; exit; }
kimg=$(ls "$kdir"/boot/vmlinuz-* | head -1)
out=$("$VM" createiso --linux --ip 10.0.2.15 --network 10.0.2.0/24 --gateway 10.0.2.2 --dns 10.0.2.3 \
      --kernel "$kimg" --modules "$kdir/lib/modules" "$tmp/linux.iso" 2>&1); rc=$?
tap_check "createiso --linux" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; exit; }
xorriso -osirrox on -indev "$tmp/linux.iso" -extract /isolinux/isolinux.cfg "$tmp/isolinux.cfg" >/dev/null 2>&1
chmod u+w "$tmp/isolinux.cfg"
sed -i 's/^PROMPT 0$/PROMPT 1/; s/^TIMEOUT .*/TIMEOUT 0/' "$tmp/isolinux.cfg"
tap_check "the boot loader now waits at its prompt" grep -qx 'PROMPT 1' "$tmp/isolinux.cfg"
xorriso -indev "$tmp/linux.iso" -outdev "$tmp/hang.iso" -boot_image any replay \
  -update "$tmp/isolinux.cfg" /isolinux/isolinux.cfg >"$tmp/xorriso.log" 2>&1
tap_check "xorriso rebuilt the ISO with its boot image" test -s "$tmp/hang.iso" \
  -a "$(dd if="$tmp/hang.iso" bs=1 skip=$((17 * 2048 + 7)) count=23 2>/dev/null)" = "EL TORITO SPECIFICATION"

# --- init sits at the prompt ----------------------------------------------------------------
TIMEOUT=30
STUCK=5
logdir=$VMCLOAK_HOME/log/hang
t0=$(now)
"$VM" init --linux --iso "$tmp/hang.iso" --net user --accel tcg --timeout $TIMEOUT --stuck-after $STUCK \
  hang lnet >"$tmp/init.out" 2>&1 &
init_pid=$!
t_stuck=
while kill -0 "$init_pid" 2>/dev/null; do
  if [ -z "$t_stuck" ] && grep -q 'Setup seems stuck' "$tmp/init.out"; then
    t_stuck=$(now)
    # The screenshot while init still waits: it must show the prompt.
    cp "$logdir/stuck.png" "$tmp/while-stuck.png" 2>/dev/null
  fi
  sleep 0.2
done
wait "$init_pid"; rc=$?
init_pid=
t1=$(now)
sed 's/^/# /' "$tmp/init.out"
echo "# stuck line after $( [ -n "$t_stuck" ] && secs "$t0" "$t_stuck" || echo never) s; init ended after $(secs "$t0" "$t1") s (--stuck-after $STUCK, --timeout $TIMEOUT)"
tap_check "init at a prompt fails (exit 1)" test "$rc" = 1
n=$(grep -c "Setup seems stuck since [0-2][0-9]:[0-5][0-9] at \"Installing the OS\": see $logdir/stuck.png\$" "$tmp/init.out")
tap_check "exactly one stuck line, with the phase and the screenshot" test "$n" = 1
tap_check "the stuck line names the likely causes" grep -q 'likely: the install disc does not start its kernel by itself' "$tmp/init.out"
tap_check "the stuck line came well before the timeout" \
  test -n "$t_stuck" -a "$(( (t_stuck - t0) / 1000000000 ))" -lt $((TIMEOUT - 10))
tap_check "the stuck line comes before the timeout message" \
  test "$(grep -n 'Setup seems stuck' "$tmp/init.out" | cut -d: -f1)" -lt "$(grep -n 'did not finish within' "$tmp/init.out" | cut -d: -f1)"
tap_check "the timeout message names the kept last screen" \
  grep -q "did not finish within $TIMEOUT s (--timeout); its last screen: $logdir/last-screen.png" "$tmp/init.out"
tap_check "stuck.png is kept with the logs" test -s "$logdir/stuck.png"
tap_check "last-screen.png is kept with the logs" test -s "$logdir/last-screen.png"
ocr=$(tesseract "$tmp/while-stuck.png" - 2>/dev/null)
echo "# OCR of stuck.png: $(tr '\n' ' ' <<<"$ocr")"
tap_check "the stuck screenshot shows the boot: prompt (OCR)" grep -q 'boot:' <<<"$ocr"
ocr=$(tesseract "$logdir/last-screen.png" - 2>/dev/null)
tap_check "the last screen shows it too (OCR)" grep -q 'boot:' <<<"$ocr"
tap_check "no rolling screenshots are left" test -z "$(ls "$logdir" | grep '^screen-')"
tap_check "no image row" test "$(sqlite3 "$VMCLOAK_HOME/repository.db" 'SELECT count(*) FROM image')" = 0
tap_check "no disk" test -z "$(ls -A "$VMCLOAK_HOME/image")"
tap_check "no work folder" test -z "$(ls -A "$VMCLOAK_HOME/iso" 2>/dev/null)"
tap_check "no QEMU of this home" test -z "$(pgrep -f -- "$VMCLOAK_HOME/" || true)"

# --- press_key_s: Enter gets the same ISO past its prompt ------------------------------------
t0=$(now)
"$FLOW_DRIVE" "$VMCLOAK_HOME" "$tmp/hang.iso" keyed 20 120 >"$tmp/keyed.out" 2>&1; rc=$?
echo "# init of the prompting ISO with press_key_s 20: $(secs "$t0" "$(now)") s"
[ "$rc" = 0 ] || sed 's/^/# /' "$tmp/keyed.out"
tap_check "press_key_s: Enter gets past the boot: prompt and the install finishes" test "$rc" = 0
tap_check "... and the image is recorded" \
  test "$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT count(*) FROM image WHERE name = 'keyed'")" = 1
tap_check "... with no stuck line" test -z "$(grep 'seems stuck' "$tmp/keyed.out")"
# Its address is the one the ISO's guest has: free it for the next init.
"$VM" delimg keyed >/dev/null 2>&1

# --- a guest that installs is never reported ------------------------------------------------
out=$("$VM" init --linux --iso "$tmp/linux.iso" --net user --accel tcg --stuck-after 60 okimg lnet 2>&1); rc=$?
tap_check "init of the unchanged ISO succeeds" test "$rc" = 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_check "... with no stuck line" test -z "$(grep 'seems stuck' <<<"$out")"
tap_check "... and no screenshot left" test -z "$(ls "$VMCLOAK_HOME/log/okimg" | grep '\.png$')"
tap_done
