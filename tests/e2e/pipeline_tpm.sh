#!/usr/bin/env bash
# End-to-end: an image with a TPM through every step of the real pipeline (QEMU under TCG,
# swtpm), in a home whose path holds a comma, spaces, quotes, '$' and non-ASCII letters. The
# built-in linux guest stands in for Windows 11 (its row gets a TPM; the linux profile boots
# with SeaBIOS, so UEFI is proven by uefi_chain.sh):
#  - install works on a copy of the TPM state, committed with the disk; a failed install leaves
#    the image's TPM state byte for byte;
#  - snapshot VMs run without the TPM by default (Cuckoo3 restores them without swtpm): their
#    start_args have no TPM, their guest sees none, they restore;
#  - snapshot --tpm keeps it, with the warning; the VM has its own TPM state, restore starts
#    swtpm for it and the restored guest sees a TPM 2.0;
#  - clone copies the TPM state, delimg removes it; no QEMU or swtpm is left.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
if ! pipeline_home vmcloak-pipetpm "home, it's \"tpm\" \$HOME-ünï"; then
  tap_skip "pipeline with a TPM" "no static agent in $BUILD/agent (sanitizer build?)"; tap_done; exit 0
fi
if ! command -v swtpm >/dev/null; then
  tap_skip "pipeline with a TPM" "swtpm is not installed (packaging/debian-packages.txt)"; tap_done; exit 0
fi
left() { pgrep -f -- "$tmp/" | grep -v "^$$\$" || true; }
img=$VMCLOAK_HOME/image
md5() { md5sum <"$1" | cut -d' ' -f1; }

out=$("$VM" init --linux --net user --accel tcg lt lnet 2>&1); rc=$?
tap_check "init --linux in the odd home" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; exit 1; }
tap_check "the row says BIOS, no TPM (the linux profile's needs)" \
  test "$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT firmware || ',' || secure_boot || ',' || tpm FROM image")" = "bios,0,0"
# Windows 11's TPM on this image (what init writes for win11x64).
sqlite3 "$VMCLOAK_HOME/repository.db" "UPDATE image SET tpm = 1 WHERE name = 'lt'"
out=$("$VM" list images --json 2>&1)
tap_check "list --json shows the firmware facts" test -n "$(grep '"tpm": true' <<<"$out")" -a -n "$(grep '"firmware": "bios"' <<<"$out")"

out=$("$VM" install --accel tcg lt 'run:cat /sys/class/tpm/tpm0/tpm_version_major > /root/tpm.txt' 2>&1); rc=$?
tap_check "install boots the image with its TPM (the guest sees TPM 2.0)" test "$rc" = 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_check "the TPM state is committed beside the image's disk" test -s "$img/lt.qcow2.tpm/tpm2-00.permall"
tap_check "no overlay, copy or swtpm left" test "$(ls "$img" | tr '\n' ' ')" = "lt.qcow2 lt.qcow2.tpm " -a -z "$(left)"
before=$(md5 "$img/lt.qcow2.tpm/tpm2-00.permall")
out=$("$VM" install --accel tcg lt 'run:false' 2>&1); rc=$?
tap_check "a failed install leaves the image's TPM state byte for byte" \
  test "$rc" != 0 -a "$(md5 "$img/lt.qcow2.tpm/tpm2-00.permall")" = "$before"
tap_check "... and no copy of it" test "$(ls "$img" | tr '\n' ' ')" = "lt.qcow2 lt.qcow2.tpm "

out=$("$VM" snapshot --accel tcg lt lv 10.0.2.20 2>&1); rc=$?
tap_check "snapshot of a TPM image succeeds and says its VMs run without the TPM" \
  test "$rc" = 0 -a -n "$(grep -F 'run without its TPM' <<<"$out")"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
d=$VMCLOAK_HOME/vms/qemu/lv
tap_check "its start_args have no TPM and no TPM state is copied" \
  test -z "$(grep -e tpmdev "$d/machineinfo.json")" -a ! -e "$d/disk.qcow2.tpm"
tap_check "its machineinfo.json passes Cuckoo3's import rules" "$BUILD/tests/e2e/check-machineinfo" "$d/machineinfo.json" lv
out=$("$VM" restore lv --exec 'ls /sys/class/tpm/ | wc -l; cat /root/tpm.txt' 2>&1); rc=$?
tap_check "it restores without swtpm; the guest sees no TPM now, but did at install" \
  test "$rc" = 0 -a -n "$(grep -x 0 <<<"$out")" -a -n "$(grep -x 2 <<<"$out")"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'

out=$("$VM" snapshot --accel tcg --tpm lt lvt 10.0.2.21 2>&1); rc=$?
tap_check "snapshot --tpm succeeds and warns that Cuckoo3 cannot restore it" \
  test "$rc" = 0 -a -n "$(grep -F 'Cuckoo3 cannot restore' <<<"$out")"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
d=$VMCLOAK_HOME/vms/qemu/lvt
tap_check "its start_args keep the TPM and it has its own TPM state" \
  test -n "$(grep -e tpmdev "$d/machineinfo.json")" -a -s "$d/disk.qcow2.tpm/tpm2-00.permall"
vt_before=$(md5 "$d/disk.qcow2.tpm/tpm2-00.permall")
out=$("$VM" restore lvt --exec 'cat /sys/class/tpm/tpm0/tpm_version_major' 2>&1); rc=$?
tap_check "restore starts swtpm for it; the restored guest sees a TPM 2.0" test "$rc" = 0 -a -n "$(grep -x 2 <<<"$out")"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
echo "# $(grep restored <<<"$out")"
tap_check "... on a copy: the VM's TPM state is unchanged, no copy is left" \
  test "$(md5 "$d/disk.qcow2.tpm/tpm2-00.permall")" = "$vt_before" -a -z "$(ls "$d" | grep disposable)"
tap_check "no QEMU or swtpm left after the restores" test -z "$(left)"

out=$("$VM" clone lt lt2 2>&1); rc=$?
tap_check "clone copies the TPM state" test "$rc" = 0 -a -s "$img/lt2.qcow2.tpm/tpm2-00.permall"
out=$("$VM" delimg lt2 2>&1); rc=$?
tap_check "delimg removes it" test "$rc" = 0 -a ! -e "$img/lt2.qcow2.tpm"
out=$("$VM" delvm lvt 2>&1); rc=$?
tap_check "delvm removes the VM's TPM state with its folder" test "$rc" = 0 -a ! -e "$VMCLOAK_HOME/vms/qemu/lvt"
tap_check "no QEMU or swtpm left" test -z "$(left)"
echo "# whole test: $SECONDS s"
tap_done
