#!/usr/bin/env bash
# End-to-end: the Windows 11 firmware machinery proven with a real signed boot chain (Debian's
# Microsoft-signed shim -> Debian-signed grub -> Debian-signed kernel, windows-verification.md
# §5), booted through the QEMU driver (machine/driver.h, driver-drive) with UEFI + Secure Boot,
# the machine's own copy of the Microsoft-keys vars and a TPM 2.0, in folders whose names hold a
# comma, spaces, quotes, $ and non-ASCII letters:
#  - Secure Boot enforced (the kernel says so; an unsigned kernel is refused by shim/grub);
#  - swtpm started by the driver, gone after; the guest sees a TPM 2.0;
#  - a memory snapshot, then a restore with a new swtpm: the guest counts on;
#  - the Cuckoo3 decision (docs/architecture.md): a VM without the TPM restores from its
#    start_args with no swtpm and counts on, while a memory file with a TPM cannot be restored
#    that way (QEMU: "Unknown ramblock tpm-ppi").
# The packages are cached between runs; the test skips only when the mirror cannot be reached.
# Usage: uefi_chain.sh DRIVER-DRIVE
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/qemu-guest.sh"
DRIVE=${1:?usage: uefi_chain.sh DRIVER-DRIVE}
ROOT=${VMCLOAK_SOURCE_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-uefichain.XXXXXX)
export TMPDIR=$tmp
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

for t in qemu-system-x86_64 swtpm mkfs.vfat mcopy mmd sfdisk sbattach cpio busybox lz4; do
  if ! command -v "$t" >/dev/null; then
    tap_skip "UEFI Secure Boot + TPM chain" "$t is not installed (packaging/debian-packages.txt)"; tap_done; exit 0
  fi
done
if [ ! -f /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] || [ ! -f /usr/share/OVMF/OVMF_VARS_4M.ms.fd ]; then
  tap_skip "UEFI Secure Boot + TPM chain" "no OVMF Secure Boot firmware (package ovmf)"; tap_done; exit 0
fi
chain=$("$ROOT/tests/fixtures/debian-efi-chain.sh" 2>"$tmp/fetch.err"); rc=$?
kdir=
[ $rc = 0 ] && { kdir=$("$ROOT/tests/fixtures/debian-kernel.sh" 2>>"$tmp/fetch.err") || rc=2; }
if [ $rc != 0 ]; then
  if [ $rc = 2 ] || grep -qiE 'download|resolve|mirror|apt' "$tmp/fetch.err"; then
    tap_skip "UEFI Secure Boot + TPM chain" "the Debian mirror cannot be reached: $(tail -n1 "$tmp/fetch.err")"
    tap_done; exit 0
  fi
  tap_fail "the signed chain's packages are unpacked"; sed 's/^/# /' "$tmp/fetch.err"; tap_done; exit 1
fi
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -n1)

# --- the guest: busybox init printing TPM and Secure Boot facts, then a counter -------------
{ cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
tok=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "CHAIN tpm_version_major=$(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null || echo none)" >/dev/ttyS0
dmesg | grep -q 'Secure boot enabled' && sb=enabled || sb=disabled
echo "CHAIN secureboot=$sb" >/dev/ttyS0
dmesg | grep -q 'locked down from EFI Secure Boot' && echo "CHAIN lockdown=on" >/dev/ttyS0
echo "CHAIN ready tok=$tok" >/dev/ttyS0
INIT
  guest_counter "tick "; } >"$tmp/init"
if ! guest_initrd "$tmp/init" "$tmp/initrd.gz"; then
  tap_skip "UEFI Secure Boot + TPM chain" "cannot build the initramfs (no static busybox)"; tap_done; exit 0
fi

# --- the ESP (FAT) in a GPT disk, all without root or mount -----------------------------------
esp_disk() { # OUT VMLINUZ
  local out=$1 kernel=$2 fat=$tmp/fat.img
  rm -f "$fat"
  mkfs.vfat -C "$fat" 40960 >/dev/null
  mmd -i "$fat" ::EFI ::EFI/BOOT ::EFI/debian
  printf 'set timeout=0\nmenuentry chain {\n  linux /vmlinuz console=ttyS0 panic=-1 quiet\n  initrd /initrd.gz\n}\n' >"$tmp/grub.cfg"
  mcopy -i "$fat" "$chain/shimx64.efi" ::EFI/BOOT/BOOTX64.EFI
  mcopy -i "$fat" "$chain/grubx64.efi" ::EFI/BOOT/grubx64.efi
  mcopy -i "$fat" "$tmp/grub.cfg" ::EFI/BOOT/grub.cfg
  mcopy -i "$fat" "$tmp/grub.cfg" ::EFI/debian/grub.cfg
  mcopy -i "$fat" "$kernel" ::vmlinuz
  mcopy -i "$fat" "$tmp/initrd.gz" ::initrd.gz
  truncate -s $((42 * 1024 * 1024)) "$out"
  printf 'label: gpt\nstart=2048, size=81920, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n' | sfdisk -q "$out" >/dev/null
  dd if="$fat" of="$out" bs=1M seek=1 conv=notrunc status=none
}
vm="$tmp/vm, \"W11\" \$x ü"
mkdir -p "$vm"
esp_disk "$vm/disk.img" "$vmlinuz"

conf() { # NAME TPM(on|off) -> $tmp/NAME.conf: UEFI + Secure Boot, the VM's vars copy, maybe a TPM
  {
    printf 'name=%s\nversion=%s\naccel=tcg\ncpus=1\nram_mb=512\nnet=none\nrtc=utc\nboot=disk\n' "$1" \
      "$(qemu-system-x86_64 --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)"
    printf 'disk=%s\ndisk_format=raw\nserial=file\nserial_path=%s\n' "$vm/disk.img" "$vm/$1.serial"
    printf 'uefi_vars=%s\nsecure_boot=on\n' "$vm/$1.nvram"
    [ "$2" = on ] && printf 'tpm=on\ntpm_state=%s\n' "$vm/$1.tpm"
  } >"$tmp/$1.conf"
}
swtpms() { pgrep -f -- "swtpm socket.*$tmp" || true; }
wait_for() { # FILE PATTERN SECONDS
  for _ in $(seq $(($3 * 10))); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1
}
last_tick() { grep -oE 'tick tok=[0-9a-f]+ n=[0-9]+' "$1" | tail -n1; }

# --- 1. UEFI + Secure Boot + TPM: boot the signed chain -----------------------------------------
conf w11 on
t0=$(date +%s)
"$DRIVE" boot-save "$tmp/w11.conf" "$tmp/w11.log" "CHAIN ready" "$vm/w11.mem" "$tmp/go1" >"$tmp/w11.out" 2>&1 &
pids+=($!); dpid=$!
if ! wait_for "$tmp/w11.out" '^booted$' 170; then
  tap_fail "the signed chain boots under UEFI + Secure Boot + TPM"
  sed 's/^/# /' "$tmp/w11.out"; tail -n 20 "$vm/w11.serial" 2>/dev/null | sed 's/^/# serial: /'
  tap_done; exit 1
fi
echo "# signed chain booted to its init in $(( $(date +%s) - t0 )) s under TCG"
tap_check "the signed chain boots (shim -> grub -> kernel) under UEFI + Secure Boot" grep -q 'CHAIN ready' "$vm/w11.serial"
tap_check "the kernel finds Secure Boot enabled" grep -q 'CHAIN secureboot=enabled' "$vm/w11.serial"
tap_check "... and locks itself down for it" grep -q 'CHAIN lockdown=on' "$vm/w11.serial"
tap_check "the guest sees a TPM 2.0" grep -q 'CHAIN tpm_version_major=2' "$vm/w11.serial"
tap_check "the driver started swtpm on the VM's TPM folder" test -n "$(swtpms)"
tap_check "the VM's own vars copy was made from the Microsoft-keys template" \
  test "$(stat -c %s "$vm/w11.nvram")" = "$(stat -c %s /usr/share/OVMF/OVMF_VARS_4M.ms.fd)"
tap_check "swtpm keeps its state in the VM's TPM folder (odd characters in its path)" test -n "$(ls "$vm/w11.tpm")"
wait_for "$vm/w11.serial" 'tick .* n=3[[:space:]]' 60
touch "$tmp/go1"
wait $dpid; rc=$?
tap_check "the memory snapshot is written and the machine is off" test "$rc" = 0 -a -n "$(grep -x 'saved_state=off' "$tmp/w11.out")"
[ "$rc" = 0 ] || sed 's/^/# /' "$tmp/w11.out"
echo "# $(grep save_ms "$tmp/w11.out"), memory file $(stat -c %s "$vm/w11.mem" 2>/dev/null) bytes"
sleep 0.5
tap_check "swtpm is gone with the machine" test -z "$(swtpms)"
before=$(last_tick "$vm/w11.serial")
tok=$(sed -n 's/.*CHAIN ready tok=\([0-9a-f]*\).*/\1/p' "$vm/w11.serial" | tail -n1)
n_before=${before##*n=}

# --- 2. restore with a new swtpm: the guest counts on --------------------------------------------
"$DRIVE" resume-from "$tmp/w11.conf" "$tmp/w11r.log" "$vm/w11.mem" "$tmp/go2" >"$tmp/w11r.out" 2>&1 &
pids+=($!); dpid=$!
wait_for "$tmp/w11r.out" '^restored_state=' 120
tap_check "restored from its memory file (with a new swtpm) the machine runs" grep -qx 'restored_state=running' "$tmp/w11r.out"
tap_check "... with swtpm running again" test -n "$(swtpms)"
wait_for "$vm/w11.serial" "tick tok=$tok n=$((n_before + 2))[[:space:]]" 60
tap_check "... and the same guest counts on from where it was saved (after n=$n_before)" \
  grep -q "tick tok=$tok n=$((n_before + 2))[[:space:]]" "$vm/w11.serial"
echo "# $(grep restore_ms "$tmp/w11r.out")"
touch "$tmp/go2"
wait $dpid; rc=$?
tap_check "the restored machine is stopped cleanly" test "$rc" = 0
sleep 0.5
tap_check "no swtpm left after the restore" test -z "$(swtpms)"

# --- 2b. vmcloak restore's way for a snapshot --tpm VM: start_args whose TPM chardev the driver
# points at a new swtpm running on a copy of the VM's TPM state --------------------------------
tap_check "the TPM machine's start_args hold its TPM and its own vars copy" \
  test -n "$(grep -x -e '-tpmdev' "$vm/w11.mem.start_args")" \
       -a -n "$(grep -xF "if=pflash,format=raw,unit=1,file=${vm//,/,,}/w11.nvram" "$vm/w11.mem.start_args")"
cp -r "$vm/w11.tpm" "$vm/disposable-1.tpm"
qemu-img create -q -f qcow2 -F raw -b "$vm/disk.img" "$tmp/disposable0.qcow2"
"$DRIVE" cuckoo "$vm/w11.mem.start_args" "$tmp/c0.log" "$vm/w11.mem" "$tmp/disposable0.qcow2" "$tmp/c0.serial" "$tmp/go0" \
  "$vm/disposable-1.tpm" >"$tmp/c0.out" 2>&1 &
pids+=($!); dpid=$!
wait_for "$tmp/c0.out" '^cuckoo_start=' 120
tap_check "start_args with a TPM restore with the driver's swtpm on the VM's TPM copy" \
  test -n "$(grep -x 'cuckoo_state=running' "$tmp/c0.out")" -a -n "$(swtpms)"
[ -n "$(grep -x 'cuckoo_state=running' "$tmp/c0.out")" ] || sed 's/^/# /' "$tmp/c0.out" "$tmp/c0.log"
wait_for "$tmp/c0.serial" "tick tok=$tok n=$((n_before + 2))[[:space:]]" 60
tap_check "... and the saved guest counts on from where it was saved" \
  grep -q "tick tok=$tok n=$((n_before + 2))[[:space:]]" "$tmp/c0.serial"
touch "$tmp/go0"
wait $dpid
sleep 0.5
tap_check "... and its swtpm is gone after" test -z "$(swtpms)"

# --- 3. the Cuckoo3 decision: snapshot VMs without the TPM --------------------------------------
conf vm1 off
"$DRIVE" boot-save "$tmp/vm1.conf" "$tmp/vm1.log" "CHAIN ready" "$vm/vm1.mem" "$tmp/go3" >"$tmp/vm1.out" 2>&1 &
pids+=($!); dpid=$!
wait_for "$tmp/vm1.out" '^booted$' 170
tap_check "without the TPM the chain boots under Secure Boot too (no TPM seen)" \
  test -n "$(grep 'CHAIN tpm_version_major=none' "$vm/vm1.serial")" -a -n "$(grep 'CHAIN secureboot=enabled' "$vm/vm1.serial")"
tap_check "... and no swtpm runs for it" test -z "$(swtpms)"
wait_for "$vm/vm1.serial" 'tick .* n=3[[:space:]]' 60
touch "$tmp/go3"
wait $dpid; rc=$?
tap_check "its memory snapshot is written" test "$rc" = 0 -a -s "$vm/vm1.mem"
tap_check "its start_args use the VM's own vars copy and no TPM" \
  test -n "$(grep -xF "if=pflash,format=raw,unit=1,file=${vm//,/,,}/vm1.nvram" "$vm/vm1.mem.start_args")" \
       -a -z "$(grep -e '-tpmdev' "$vm/vm1.mem.start_args")"
vtok=$(sed -n 's/.*CHAIN ready tok=\([0-9a-f]*\).*/\1/p' "$vm/vm1.serial" | tail -n1)
vb=$(last_tick "$vm/vm1.serial"); vb=${vb##*n=}
qemu-img create -q -f qcow2 -F raw -b "$vm/disk.img" "$tmp/disposable.qcow2"
"$DRIVE" cuckoo "$vm/vm1.mem.start_args" "$tmp/c1.log" "$vm/vm1.mem" "$tmp/disposable.qcow2" "$vm/vm1.serial" "$tmp/go4" \
  >"$tmp/c1.out" 2>&1 &
pids+=($!); dpid=$!
wait_for "$tmp/c1.out" '^cuckoo_start=' 120
tap_check "Cuckoo3's way (start_args, -incoming, no swtpm) restores it" grep -qx 'cuckoo_state=running' "$tmp/c1.out"
wait_for "$vm/vm1.serial" "tick tok=$vtok n=$((vb + 2))[[:space:]]" 60
tap_check "... and the guest counts on" grep -q "tick tok=$vtok n=$((vb + 2))[[:space:]]" "$vm/vm1.serial"
touch "$tmp/go4"
wait $dpid

# The TPM machine's memory file the same way: QEMU refuses it, which is why snapshot VMs run
# without the TPM by default.
qemu-img create -q -f qcow2 -F raw -b "$vm/disk.img" "$tmp/disposable2.qcow2"
"$DRIVE" cuckoo "$vm/vm1.mem.start_args" "$tmp/c2.log" "$vm/w11.mem" "$tmp/disposable2.qcow2" "$tmp/c2.serial" "$tmp/go5" \
  >"$tmp/c2.out" 2>&1; rc=$?
tap_check "a memory file with a TPM cannot be restored without one (Unknown ramblock tpm-ppi)" \
  test "$rc" != 0 -a -n "$(grep -F 'tpm-ppi' "$tmp/c2.log" "$tmp/c2.out")"

# --- 4. an unsigned kernel is refused ------------------------------------------------------------
cp "$vmlinuz" "$tmp/vmlinuz.unsigned"
sbattach --remove "$tmp/vmlinuz.unsigned" >/dev/null
esp_disk "$vm/unsigned.img" "$tmp/vmlinuz.unsigned"
conf uns off
sed -i "s#^disk=.*#disk=$vm/unsigned.img#" "$tmp/uns.conf"
"$DRIVE" boot-save "$tmp/uns.conf" "$tmp/uns.log" "CHAIN ready" "$vm/uns.mem" "$tmp/go6" >"$tmp/uns.out" 2>&1 &
pids+=($!); dpid=$!
wait_for "$vm/uns.serial" 'bad shim signature|CHAIN ready' 120
tap_check "an unsigned kernel is refused under Secure Boot (grub: bad shim signature)" \
  test -n "$(grep 'bad shim signature' "$vm/uns.serial")" -a -z "$(grep 'CHAIN ready' "$vm/uns.serial")"
kill -TERM $dpid 2>/dev/null; wait $dpid 2>/dev/null
sleep 0.5
tap_check "no QEMU or swtpm left" test -z "$(pgrep -f -- "$tmp/" | grep -v "^$$\$")"
echo "# whole test: $SECONDS s"
tap_done
