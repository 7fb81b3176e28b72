#!/usr/bin/env bash
# End-to-end: the QEMU driver through the driver table (machine/driver.h) on the tiny counting
# guest: guest reboots counted as events, a guest power-off, -no-reboot turning a reboot into
# the end of the run, QEMU killed (DIED with its reason), state, CD-ROM media, keys, a PNG
# screenshot, the power button ignored then a forced stop, a memory file saved and started from,
# and Cuckoo3's start_args run on another disk. No QEMU may be left.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/qemu-guest.sh"
DRIVE=${1:?usage: qemu_driver.sh DRIVER-DRIVE}
tmp=$(mktemp -d /tmp/vmcloak-driver.XXXXXX)
export TMPDIR=$tmp
cleanup() { pkill -KILL -f -- "$tmp/" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
if ! guest_build "$tmp"; then
  tap_skip "qemu driver" "cannot build the test guest (no static busybox or Debian kernel)"
  tap_done; exit 0
fi
qemu-img create -q -f qcow2 "$tmp/disk.qcow2" 64M
conf() { # NAME [CMDLINE WORD] -> a config whose serial log is NAME.serial
  guest_conf "$tmp" "$tmp/$1.serial" | sed "s/^extra_arg=console=ttyS0 quiet panic=-1$/& ${2:-}/" >"$tmp/$1.conf"
}
qemus() { pgrep -f -- "qemu-system.*$tmp/" || true; }

conf reboot vmcloak_test=reboot
out=$("$DRIVE" events "$tmp/reboot.conf" "$tmp/reboot.log" 3 2>&1); rc=$?
tap_check "three guest reboots are three REBOOT events" test "$rc" = 0 -a "$(grep -c '^event=reboot$' <<<"$out")" = 3
tap_check "... and the guest really booted three times" test "$(grep -c 'rebooting' "$tmp/reboot.serial")" -ge 3
tap_check "no QEMU left after freeing the domain" test -z "$(qemus)"

out=$("$DRIVE" events "$tmp/reboot.conf" "$tmp/noreboot.log" 5 no-reboot 2>&1); rc=$?
tap_check "with reboot_powers_off a reboot ends the run: REBOOT, then POWEROFF" \
  test "$rc" = 0 -a "$(grep '^event=' <<<"$out" | tr '\n' ' ')" = "event=reboot event=poweroff "
tap_check "... and the machine is off" grep -qx 'state=off' <<<"$out"

conf off vmcloak_test=poweroff
out=$("$DRIVE" events "$tmp/off.conf" "$tmp/off.log" 5 2>&1); rc=$?
tap_check "a guest power-off is POWEROFF" test "$rc" = 0 -a "$(grep '^event=' <<<"$out")" = "event=poweroff"
tap_check "once off, every wait answers the event that ended the run" grep -qx 'again=poweroff' <<<"$out"

conf count
"$DRIVE" events "$tmp/count.conf" "$tmp/count.log" 5 >"$tmp/died.out" 2>&1 &
dpid=$!
for _ in $(seq 1 300); do pid=$(sed -n 's/^describe=QEMU pid //p' "$tmp/died.out"); [ -n "$pid" ] && break; sleep 0.1; done
for _ in $(seq 1 300); do grep -q ' n=1' "$tmp/count.serial" 2>/dev/null && break; sleep 0.1; done
[ -n "$pid" ] && kill -KILL "$pid"
wait $dpid; rc=$?
tap_check "QEMU killed is DIED, naming the signal" \
  test "$rc" = 0 -a -n "$(grep '^event=died detail=QEMU ended with killed by signal 9' "$tmp/died.out")"

printf 'iso' >"$tmp/media.iso"
out=$("$DRIVE" ops "$tmp/count.conf" "$tmp/ops.log" "$tmp/media.iso" "$tmp/screen.png" 2>&1); rc=$?
tap_check "a running machine is running" grep -qx 'state=running' <<<"$out"
tap_check "CD-ROM media go in and out of drive 0" test -n "$(grep -x 'insert=0' <<<"$out")" -a -n "$(grep -x 'eject=0' <<<"$out")"
tap_check "a drive the machine lacks is refused" grep -qx 'bad_drive=-2' <<<"$out"
tap_check "keys are sent" grep -qx 'keys=0' <<<"$out"
tap_check "the screenshot is a PNG" test -n "$(grep -x 'screenshot=0' <<<"$out")" -a "$(head -c 4 "$tmp/screen.png" | od -An -c | tr -d ' ')" = '211PNG'
tap_check "a guest deaf to the power button is switched off after the grace time" \
  test -n "$(grep -E '^shutdown=1 ms=(3|4|5|6|7|8)[0-9]{3}$' <<<"$out")" -a -n "$(grep -x 'after_shutdown=died' <<<"$out")"
tap_check "... and it is off, with no QEMU left" test "$rc" = 0 -a -n "$(grep -x 'state=off' <<<"$out")" -a -z "$(qemus)"

qemu-img create -q -f qcow2 -F qcow2 -b "$tmp/disk.qcow2" "$tmp/disposable,1.qcow2"
out=$("$DRIVE" save-restore "$tmp/count.conf" "$tmp/save.log" "$tmp/memory.snapshot" "$tmp/disposable,1.qcow2" 2>&1); rc=$?
tap_check "save-restore runs" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/# /' <<<"$out"
tap_check "the memory file is lz4" test "$(head -c 4 "$tmp/memory.snapshot" | od -An -tx1 | tr -d ' ')" = 04224d18
tap_check "after the save the machine is off" grep -qx 'saved_state=off' <<<"$out"
tap_check "started from its memory file it runs" grep -qx 'restored_state=running' <<<"$out"
tap_check "start_args hold the placeholder and no host path of the run" \
  test -n "$(grep -F 'file=%DISPOSABLE_DISK_PATH%' <<<"$out")" -a -z "$(grep -E '^start_args=.*(-qmp|\.serial)' <<<"$out")"
tap_check "Cuckoo3's start_args run on another disk (a comma in its path)" grep -qx 'cuckoo_state=running' <<<"$out"
if command -v swtpm >/dev/null; then
  mkdir -p "$tmp/tpm, state"
  { cat "$tmp/count.conf"; printf 'tpm=on\ntpm_state=%s\n' "$tmp/tpm, state"; } >"$tmp/tpm.conf"
  out=$("$DRIVE" tpm "$tmp/tpm.conf" "$tmp/tpm.log" 2>&1); rc=$?
  tap_check "a TPM whose state folder holds a comma: swtpm runs it" test "$rc" = 0 -a -n "$(grep -x 'tpm_state=running' <<<"$out")"
  [ "$rc" = 0 ] || sed 's/^/# /' <<<"$out"
  tap_check "... and keeps its state there" test -n "$(ls "$tmp/tpm, state")"
else
  tap_skip "a TPM whose state folder holds a comma" "no swtpm"
fi
tap_check "no QEMU left at the end" test -z "$(qemus)"
tap_done
