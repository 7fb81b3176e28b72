#!/usr/bin/env bash
# VM lifecycle through the library against a real QEMU (TCG): SIGINT/SIGTERM/SIGKILL of the
# process driving a VM leave no QEMU, graceful stop escalates, CD-ROM change/eject, QEMU dying
# at start-up is reported with its own words, probes and the doctor's data.
# Usage: qemu_lifecycle.sh QEMU_DRIVE
source "$(dirname "$0")/tap.sh"
DRIVE=${1:?usage: qemu_lifecycle.sh QEMU_DRIVE}
tmp=$(mktemp -d /tmp/vmcloak-life.XXXXXX)
driver=
cleanup() {
  [ -n "$driver" ] && kill -9 "$driver" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
# Run dirs of VMs land here, so even the SIGKILL case leaves nothing behind.
export TMPDIR=$tmp

qemu-img create -q -f qcow2 "$tmp/disk.qcow2" 64M
head -c 1M /dev/zero >"$tmp/media.iso"
# A guest with nothing to boot: SeaBIOS keeps the vCPU busy, and nothing answers ACPI.
cat >"$tmp/idle.conf" <<EOF
accel=tcg
version=$(qemu-system-x86_64 --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)
ram_mb=128
net=user
disk=$tmp/disk.qcow2
EOF

alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# Start "qemu-drive run" in the background and read QEMU's pid from its output.
start_run() {
  : >"$tmp/run.out"
  "$DRIVE" run "$tmp/idle.conf" >"$tmp/run.out" 2>"$tmp/run.err" &
  driver=$!
  for _ in $(seq 200); do
    qpid=$(sed -n 's/^qemu_pid=//p' "$tmp/run.out")
    [ -n "$qpid" ] && return 0
    sleep 0.05
  done
  return 1
}

for sig in INT TERM; do
  if start_run; then
    alive "$qpid"; tap_check "SIG$sig: QEMU (pid $qpid) runs under the driver" test $? = 0
    kill -"$sig" "$driver"
    wait "$driver"; rc=$?
    driver=
    tap_check "SIG$sig: the driver unwinds and exits 130" test "$rc" = 130
    tap_check "SIG$sig: no QEMU left (pid $qpid)" test ! -e "/proc/$qpid"
  else
    tap_fail "SIG$sig: the VM started" "$(cat "$tmp/run.err")"
  fi
done

# SIGKILL cannot be caught: PR_SET_PDEATHSIG takes QEMU down with its parent.
if start_run; then
  kill -KILL "$driver"; wait "$driver" 2>/dev/null; driver=
  for _ in $(seq 100); do alive "$qpid" || break; sleep 0.05; done
  alive "$qpid"; tap_check "SIGKILL: QEMU dies with its parent (PR_SET_PDEATHSIG)" test $? != 0
else
  tap_fail "SIGKILL: the VM started" "$(cat "$tmp/run.err")"
fi

# Graceful stop on a guest that ignores the power button: powerdown, then quit.
out=$("$DRIVE" stop "$tmp/idle.conf" 2>&1); rc=$?
tap_check "vm_stop escalates to quit and QEMU is gone" test $rc = 0 -a -n "$(grep -F 'stopped=1 gone=1' <<<"$out")"

# CD-ROM media over QMP (VMCloak's attach/detach ISO).
out=$("$DRIVE" cdrom "$tmp/idle.conf" "$tmp/media.iso" 2>&1); rc=$?
tap_check "cdrom: starts with an empty tray" grep -qx 'before=' <<<"$out"
tap_check "cdrom: change inserts the ISO" grep -qx "inserted=$tmp/media.iso" <<<"$out"
tap_check "cdrom: eject empties the tray" grep -qx 'after=' <<<"$out"
tap_check "cdrom: a missing ISO is refused before QEMU sees it" grep -q 'missing_iso=-2' <<<"$out"
tap_check "cdrom: an unknown drive is an error" grep -q 'bad_drive=-121' <<<"$out"
tap_check "cdrom: QEMU quits cleanly afterwards" test $rc = 0

# QEMU dying at start-up: its own message is in the error line.
cp "$tmp/idle.conf" "$tmp/bad.conf"
echo "extra_arg=-device" >>"$tmp/bad.conf"
echo "extra_arg=no-such-device" >>"$tmp/bad.conf"
out=$("$DRIVE" run "$tmp/bad.conf" 2>&1); rc=$?
tap_check "early death: the error quotes QEMU" test $rc != 0 -a -n "$(grep -F "QEMU exited during start-up" <<<"$out" | grep -F no-such-device)"
echo "# $out"

# A config vm_config_check refuses never reaches QEMU.
printf 'accel=auto\ndisk=%s\n' "$tmp/disk.qcow2" >"$tmp/auto.conf"
out=$("$DRIVE" run "$tmp/auto.conf" 2>&1); rc=$?
tap_check "an unresolved accelerator is refused with one line" test $rc != 0 -a "$(wc -l <<<"$out")" = 1

# start_args of a real config pass Cuckoo3's rules and carry the placeholder.
out=$("$DRIVE" start-args "$tmp/idle.conf" 2>&1); rc=$?
tap_check "start_args: placeholder, no binary, no runtime arguments" \
  test $rc = 0 -a -n "$(grep -F 'file=%DISPOSABLE_DISK_PATH%,format=qcow2' <<<"$out")" \
       -a -z "$(grep -E 'qemu-system|-qmp|-monitor|-incoming' <<<"$out")"

# Probes: a private cache; a short KVM deadline so a hanging KVM costs little.
export VMCLOAK_KVM_PROBE_CACHE=$tmp/kvm-probe VMCLOAK_KVM_PROBE_TIMEOUT_MS=3000
out=$("$DRIVE" probe no-cache 2>&1); rc=$?
echo "$out" | grep -v '^json=' | sed 's/^/# /'
tap_check "probe: the TCG test guest runs" grep -q 'tcg_ok=1' <<<"$out"
tap_check "probe: no FAIL lines" grep -q 'fails=0' <<<"$out"
if grep -q 'kvm_openable=1' <<<"$out"; then
  tap_check "probe: KVM answer written to the cache" grep -q '^usable=[01]$' "$tmp/kvm-probe"
  usable=$(sed -n 's/^usable=//p' "$tmp/kvm-probe")
  tap_check "probe: auto picks kvm exactly when the test guest ran" \
    grep -qx "auto=$([ "$usable" = 1 ] && echo kvm || echo tcg)" <<<"$out"
  out2=$("$DRIVE" probe 2>&1)
  tap_check "probe: the second run uses the cache" grep -q 'kvm_cached=1' <<<"$out2"
  tap_check "probe: ... with the same answer" grep -q "kvm_usable=$usable" <<<"$out2"
  if [ "$usable" = 0 ]; then
    tap_check "probe: auto falls back to TCG with one warning line" \
      test "$(grep -c 'KVM is not usable' <<<"$out2")" = 1
  else
    tap_skip "probe: TCG fallback warning" "KVM works here"
  fi
else
  tap_check "probe: no /dev/kvm access means auto=tcg" grep -qx 'auto=tcg' <<<"$out"
fi
tap_check "probe: doctor JSON parses" python3 -c 'import json,sys; json.loads(sys.argv[1])' \
  "$(sed -n 's/^json=//p' <<<"$out")"
out=$("$DRIVE" resolve "$tmp/auto.conf" 2>&1); rc=$?
tap_check "resolve: auto becomes kvm or tcg, the version is QEMU's" \
  test $rc = 0 -a -n "$(grep -E "^binary=/.*qemu-system-x86_64 version=$(qemu-system-x86_64 --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1) accel=(kvm|tcg)$" <<<"$out")"
# A broken QEMU binary is reported, not crashed on.
printf '#!/bin/sh\necho "not qemu"\n' >"$tmp/fake-qemu"; chmod +x "$tmp/fake-qemu"
out=$(VMCLOAK_QEMU=$tmp/fake-qemu "$DRIVE" probe no-cache 2>&1)
tap_check "probe: a binary without a version is a FAIL" grep -q 'FAIL qemu-system-x86_64: .*cannot read its version' <<<"$out"
printf '#!/bin/sh\necho "QEMU emulator version 2.10.9"\n' >"$tmp/fake-qemu"
out=$(VMCLOAK_QEMU=$tmp/fake-qemu "$DRIVE" probe no-cache 2>&1)
tap_check "probe: QEMU 2.10 is too old" grep -q 'FAIL qemu-system-x86_64: .* is 2.10.9; vmcloak needs 2.11' <<<"$out"
tap_done
