#!/usr/bin/env bash
# Every golden argv (tests/argv/*.args, and tests/hardware/*.args: one per hardware profile) goes
# through the real qemu-system-x86_64: it must start paused (-S), answer QMP and quit with exit
# code 0. Usage: qemu_accept.sh QEMU_DRIVE
#
# What cannot run verbatim on this host is swapped for its nearest equivalent, and only that:
#  - -enable-kvm / --enable-kvm -> -accel tcg: nested KVM hangs here (probe.c checks KVM);
#  - QEMU < 4.1 forms (-realtime mlock=off, ide-drive) -> the 4.1+ forms: QEMU 7.2 no longer
#    has them; the golden files pin the old spelling, this run checks the rest of the line;
#  - -netdev type=bridge,... -> -netdev type=user,id=net0,restrict=on: no bridge exists here
#    (and the network rule keeps tests off the host's networks);
#  - -display gtk -> -display none: there is no X display;
#  - -vnc HOST:N -> the same host (0.0.0.0 -> 127.0.0.1) with a random high display number;
#  - -incoming exec:... -> -incoming defer: qemu_memsnap.sh does a real restore;
#  - @TMP@ -> a throwaway directory with the disks, ISOs, UEFI vars, shared folders it names,
#    the SMBIOS structure files beside the disks (written by the driver's own code from the
#    cases' configs: every hardware profile names @TMP@/disk.qcow2's, as full_cloak does), and
#    swtpm started for the TPM case, Debian's kernel as the direct kernel boot's.
source "$(dirname "$0")/tap.sh"
DRIVE=${1:?usage: qemu_accept.sh QEMU_DRIVE}
ROOT=${VMCLOAK_SOURCE_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-accept.XXXXXX)
swtpm_pid=
cleanup() {
  [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v qemu-system-x86_64 >/dev/null; then
  tap_skip "golden argv accepted by QEMU" "qemu-system-x86_64 not installed"; tap_done; exit
fi

# Throwaway files every case may name.
qemu-img create -q -f qcow2 "$tmp/disk.qcow2" 64M
qemu-img create -q -f qcow2 "$tmp/my disk,v2.qcow2" 64M
qemu-img create -q -f raw "$tmp/disk.img" 64M
for iso in install.iso config.iso extra1.iso extra2.iso "win,10 x64.iso"; do
  head -c 1M /dev/zero >"$tmp/$iso"
done
# The direct kernel boot's kernel: QEMU loads it before -S, so it must be a real one. Debian's
# bzImage stands in for the vmlinux vmcloak extracts from it (QEMU takes either); the initrd's
# contents are not read before the guest runs.
head -c 1M /dev/zero >"$tmp/install.img"
kdir=$("$ROOT/tests/fixtures/debian-kernel.sh" 2>/dev/null) && cp "$(ls "$kdir"/boot/vmlinuz-* | head -1)" "$tmp/vmlinux"
cp /usr/share/OVMF/OVMF_VARS_4M.ms.fd "$tmp/vars.fd" 2>/dev/null || head -c 540672 /dev/zero >"$tmp/vars.fd"
mkdir -p "$tmp/share" "$tmp/data" "$tmp/tpm" "$tmp/vms/win11vm1"
cp "$tmp/vars.fd" "$tmp/vms/win11vm1/disk.qcow2.nvram"   # a snapshot VM's own vars copy
for conf in "$ROOT"/tests/argv/*.conf; do
  grep -q 'smbios/type' "${conf%.conf}.args" 2>/dev/null || continue
  sed "s#@TMP@#$tmp#g" "$conf" >"$tmp/smbios.conf"
  "$DRIVE" smbios "$tmp/smbios.conf" || echo "# cannot write the SMBIOS files of $(basename "$conf")"
done

start_swtpm() {
  rm -f "$tmp/tpm.sock"
  swtpm socket --tpm2 --tpmstate dir="$tmp/tpm" --ctrl type=unixio,path="$tmp/tpm.sock" --terminate \
    >"$tmp/swtpm.log" 2>&1 &
  swtpm_pid=$!
  for _ in $(seq 100); do [ -S "$tmp/tpm.sock" ] && return 0; sleep 0.05; done
  return 1
}

concrete() {  # golden .args -> runnable argv file (one per line)
  local in=$1 out=$2 first
  first=$(head -n1 "$in")
  {
    # START_ARGS have no binary: Cuckoo3 prepends it.
    case $first in -*) echo qemu-system-x86_64 ;; esac
    sed -e "s#@TMP@#$tmp#g" \
        -e 's#%DISPOSABLE_DISK_PATH%#'"$tmp"'/disk.qcow2#' \
        -e 's#^-*enable-kvm$#-accel\ntcg#' \
        -e 's#^-realtime$#-overcommit#' -e 's#^mlock=off$#mem-lock=off#' \
        -e 's#^ide-drive,#ide-hd,#' \
        -e 's#^type=bridge,.*id=net0$#type=user,id=net0,restrict=on#' \
        -e 's#^gtk$#none#' \
        -e 's#^exec:.*#defer#' \
        "$in" | awk -v d=$((2000 + RANDOM % 20000)) '
          prev == "-vnc" { sub(/^0\.0\.0\.0:/, "127.0.0.1:"); sub(/:[0-9]+$/, ":" d) }
          { print; prev = $0 }'
  } >"$out"
}

n=0
for args in "$ROOT"/tests/argv/*.args "$ROOT"/tests/hardware/*.args; do
  name=$(basename "$args" .args)
  if grep -qx '@TMP@/vmlinux' "$args" && ! [ -s "$tmp/vmlinux" ]; then
    tap_skip "$name: QEMU accepts it" "no Debian kernel (tests/fixtures/debian-kernel.sh failed)"; continue
  fi
  n=$((n + 1))
  concrete "$args" "$tmp/$name.run"
  if grep -q -- '-tpmdev' "$tmp/$name.run"; then
    start_swtpm || { tap_fail "$name: swtpm started"; continue; }
  fi
  rm -f "$tmp/qmp.sock" "$tmp/accept-qmp.sock" "$tmp/serial.sock"
  out=$("$DRIVE" accept "$tmp/$name.run" 2>&1); rc=$?
  if [ $rc = 0 ] && grep -qE '^status=(prelaunch|inmigrate)$' <<<"$out" && grep -q '^exit=exit code 0$' <<<"$out"; then
    tap_ok "$name: QEMU accepts it, starts paused, answers QMP, quits cleanly"
  else
    tap_fail "$name: QEMU accepts it" "$(tr '\n' ' ' <<<"$out") $(tail -n3 "$tmp/accept.log" 2>/dev/null | tr '\n' ' ')"
  fi
  if [ -n "$swtpm_pid" ]; then
    for _ in $(seq 50); do kill -0 "$swtpm_pid" 2>/dev/null || break; sleep 0.1; done
    kill "$swtpm_pid" 2>/dev/null; wait "$swtpm_pid" 2>/dev/null; swtpm_pid=
  fi
done
tap_check "at least 15 golden cases ran" test "$n" -ge 15

# The check is able to fail: a broken argument must be refused.
printf '%s\n' qemu-system-x86_64 -nodefaults -M q35 -device no-such-device -display none >"$tmp/bad.run"
out=$("$DRIVE" accept "$tmp/bad.run" 2>&1); rc=$?
tap_check "a bad argument is refused, with QEMU's own message" \
  test $rc != 0 -a -n "$(grep -F "no-such-device" <<<"$out")"
tap_done
