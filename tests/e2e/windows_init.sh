#!/usr/bin/env bash
# End-to-end: `vmcloak init --win10x64` and `createiso --win10x64` through the real CLI on
# Windows-like media made by real tools (tests/fixtures/windows-media.sh: a UDF-only ISO whose
# install.wim holds Home, Pro and Education, build 19045). No Windows can install from them, so
# this checks everything up to and around the boot: editions listed and picked, a key for
# another edition and Windows 10 media under --win11x64 refused before anything is built, the
# createiso output (BIOS + UEFI El Torito, the answer file at its root with the edition, key and
# an escaped password, the bootstrap, the source's install.wim unchanged), then a real boot
# under QEMU/TCG with the untouched ISO read-only beside the config ISO: the fake boot image
# boots nothing, so the stuck report and the timeout come, and nothing is left but the logs.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
SRC=${VMCLOAK_SOURCE_ROOT:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-wininit.XXXXXX)
export VMCLOAK_HOME=$tmp/home
init_pid=
cleanup() {
  if [ -n "$init_pid" ]; then kill "$init_pid" 2>/dev/null; wait "$init_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
for tool in xorriso xmllint wimlib-imagex; do
  command -v "$tool" >/dev/null || { tap_skip "windows init" "$tool is not installed (packaging/debian-packages.txt)"; tap_done; exit 0; }
done
if ! [ -f "$BUILD/agent/vmcloak-agent.exe" ]; then
  tap_skip "windows init" "no Windows agent in $BUILD/agent (mingw-w64 missing?)"; tap_done; exit 0
fi
if ! bash "$SRC/tests/fixtures/windows-media.sh" "$tmp/m" >"$tmp/fixture.log" 2>&1; then
  tap_fail "fixtures built" "$(tail -5 "$tmp/fixture.log")"; tap_done; exit 1
fi
ISO=$tmp/m/udf.iso
sum_before=$(sha256sum <"$ISO")
mkdir -p "$VMCLOAK_HOME"
run() { "$VM" "$@" >"$tmp/out" 2>"$tmp/err"; }
no_image_left() { ! ls "$VMCLOAK_HOME/image/" 2>/dev/null | grep -q . ; }

# --- editions and keys, refused before anything is built or booted -------------------------
run init --win10x64 --iso "$ISO" --product ultimate --net user w10 wnet; rc=$?
tap_check "an edition the media lack: exit 1" test $rc = 1
tap_check "... the error names it and lists the media's editions" \
  sh -c "grep -q ultimate '$tmp/err' && grep -q 'Windows 10 Education' '$tmp/err' && grep -q 'Windows 10 Home' '$tmp/err'"
tap_check "... no disk, no row" sh -c "! ls '$VMCLOAK_HOME/image/' 2>/dev/null | grep -q . && ! '$VM' list images --name-only 2>/dev/null | grep -q w10"
run init --win10x64 --iso "$ISO" --product pro --serial-key NPPR9-FWDCX-D2C8J-H872K-2YT43 --net user w10 wnet; rc=$?
tap_check "the Enterprise key with --product pro is refused (exit 1)" test $rc = 1
tap_check "... naming both editions" sh -c "grep -qi enterprise '$tmp/err' && grep -qi professional '$tmp/err'"
tap_check "... before any QEMU ran (no qemu.log)" sh -c "! find '$VMCLOAK_HOME' -name qemu.log | grep -q ."
run init --win10x64 --iso "$ISO" --product pro --serial-key NOT-A-KEY --net user w10 wnet; rc=$?
tap_check "a malformed key is refused before anything (usage error, one line)" test $rc = 2 -a "$(wc -l <"$tmp/err")" = 1
run init --win11x64 --iso "$ISO" --product pro --net user w11 wnet; rc=$?
tap_check "Windows 10 media under --win11x64 are refused" sh -c "test $rc = 1 && grep -q 19045 '$tmp/err'"
run init --linux --serial-key W269N-WFGWX-YVC9B-4J6C9-T83GX --net user l lnet; rc=$?
tap_check "--serial-key with --linux: usage error, one line" test $rc = 2 -a "$(wc -l <"$tmp/err")" = 1
run init --win10x64 --no-tpm --iso "$ISO" --net user w10 wnet; rc=$?
tap_check "--no-tpm with --win10x64: usage error" test $rc = 2
tap_check "the user's ISO is byte for byte unchanged" test "$(sha256sum <"$ISO")" = "$sum_before"

# --- createiso: one bootable ISO with the answer file ---------------------------------------
out=$tmp/w10.iso
run createiso --win10x64 --iso "$ISO" --product pro --password 'p<&"x' --hostname WS-TEST01 \
  --ip 192.168.30.5 --network 192.168.30.0/24 --gateway 192.168.30.1 "$out"; rc=$?
tap_check "createiso --win10x64 from the UDF-only ISO: exit 0" test $rc = 0
el=$(xorriso -indev "$out" -report_el_torito plain 2>/dev/null)
tap_check "... El Torito has a BIOS entry" sh -c "echo '$el' | grep -q 'El Torito boot img.*BIOS'"
tap_check "... and a UEFI entry" sh -c "echo '$el' | grep -q 'El Torito boot img.*UEFI'"
mkdir -p "$tmp/x"
xorriso -osirrox on -indev "$out" -extract /autounattend.xml "$tmp/x/a.xml" \
  -extract /sources/install.wim "$tmp/x/install.wim" -extract /vmcloak/bootstrap.cmd "$tmp/x/b.cmd" >/dev/null 2>&1
tap_check "... autounattend.xml at its root is well-formed" xmllint --noout "$tmp/x/a.xml"
xp() { xmllint --xpath "$1" "$tmp/x/a.xml" 2>/dev/null; }
U='*[local-name()="unattend"]/*[local-name()="settings"]'
tap_check "... it installs \"Windows 10 Pro\"" \
  sh -c "xmllint --xpath 'string(//*[local-name()=\"MetaData\"]/*[local-name()=\"Value\"])' '$tmp/x/a.xml' | grep -qx 'Windows 10 Pro'"
tap_check "... with Pro's public generic key" sh -c "grep -q W269N-WFGWX-YVC9B-4J6C9-T83GX '$tmp/x/a.xml'"
tap_check "... as computer WS-TEST01" sh -c "grep -q '<ComputerName>WS-TEST01</ComputerName>' '$tmp/x/a.xml'"
tap_check "... the password is not written in clear" sh -c "! grep -q 'p<&' '$tmp/x/a.xml' && ! grep -q 'p&lt;&amp;' '$tmp/x/a.xml'"
tap_check "... BIOS disk layout (no EFI partition) for win10x64" sh -c "! grep -q '<Format>FAT32</Format>' '$tmp/x/a.xml'"
tap_check "... the bootstrap is on it" test -s "$tmp/x/b.cmd"
tap_check "... install.wim is the source's, byte for byte" cmp -s "$tmp/x/install.wim" "$tmp/m/tree/sources/install.wim"
tap_check "... it says which MAC, address and port init must be given" \
  grep -q "install it with 'vmcloak init --win10x64 --iso $out --mac .* --ip 192.168.30.5 --network 192.168.30.0/24 --gateway 192.168.30.1 --dns 8.8.8.8 --port 8000 NAME ADAPTER'" "$tmp/out" "$tmp/err"
mac=$(sed -n 's/.* --mac \([0-9a-f:]*\) .*/\1/p' "$tmp/out" "$tmp/err" | head -1)
xorriso -osirrox on -indev "$out" -extract /vmcloak/settings.ini "$tmp/x/settings.ini" >/dev/null 2>&1
tap_check "... and the ISO's settings carry that MAC and address" \
  sh -c "grep -q '^MAC=$mac' '$tmp/x/settings.ini' && grep -q '^IP=192.168.30.5/24' '$tmp/x/settings.ini'"
run createiso --win10x64 --iso "$ISO" --ip 192.168.30.6 --network 192.168.30.0/24 --gateway 192.168.30.1 "$out"; rc=$?
tap_check "createiso never overwrites its output" test $rc = 1
run init --win10x64 --iso "$out" --net user w10c wnet; rc=$?
tap_check "init of a createiso output made for another MAC and address is refused, naming them" \
  sh -c "test $rc = 1 && grep -q -- '--mac $mac --ip 192.168.30.5 --network 192.168.30.0/24 --gateway 192.168.30.1 --dns 8.8.8.8 --port 8000' '$tmp/err'"
run init --win11x64 --iso "$out" --mac "$mac" --ip 192.168.30.5 --network 192.168.30.0/24 --gateway 192.168.30.1 \
  --dns 8.8.8.8 --net user w11c wnet; rc=$?
tap_check "a Windows 10 createiso output under --win11x64 is refused before booting" \
  sh -c "test $rc = 1 && grep -q 'not Windows 11' '$tmp/err' && ! find '$VMCLOAK_HOME' -name qemu.log | grep -q ."

printf '<unattend/>' >"$tmp/m/tree/autounattend.xml"
xorriso -as mkisofs -quiet -J -o "$tmp/foreign.iso" -b boot/etfsboot.com -no-emul-boot -boot-load-size 8 \
  "$tmp/m/tree" >/dev/null 2>&1
rm -f "$tmp/m/tree/autounattend.xml"
run init --win10x64 --iso "$tmp/foreign.iso" --net user w10f wnet; rc=$?
tap_check "an ISO with someone else's answer file is refused (it would never start the agent)" \
  sh -c "test $rc = 1 && grep -q 'no vmcloak bootstrap' '$tmp/err'"
run init --win11x64 --ramsize 2048 --iso "$ISO" --net user w11 wnet; rc=$?
tap_check "--win11x64 with 2 GiB of RAM is refused before anything (usage error)" test $rc = 2
run init --win10x64 --hddsize 16 --iso "$ISO" --net user w10s wnet; rc=$?
tap_check "--win10x64 on a 16 GiB disk is refused" test $rc = 2

# --- init boots the untouched ISO with the config ISO beside it; nothing installs ----------
t0=$(date +%s)
"$VM" -d init --win10x64 --iso "$ISO" --product education --net user --timeout 45 --stuck-after 8 w10 wnet \
  >"$tmp/init.out" 2>"$tmp/init.err" &
init_pid=$!
wait "$init_pid"; rc=$?; init_pid=
t1=$(date +%s)
echo "# init ran $((t1 - t0)) s"
tap_check "init of media that boot nothing fails (exit 1) at its --timeout" test $rc = 1
tap_check "... it listed nothing (--product given) and built the config ISO" \
  sh -c "grep -q 'config ISO' '$tmp/init.out' '$tmp/init.err'"
grep -h 'Setup seems stuck since' "$tmp/init.out" "$tmp/init.err" >"$tmp/stuck" 2>/dev/null
tap_check "... the stuck report came before the timeout, naming the phase" grep -q 'at "Installing Windows"' "$tmp/stuck"
# Seen once in a full run on a loaded machine (the stuck report and the last screen missing): the
# init's own last lines go into the TAP output then, so the cause is in the log next time.
[ -s "$tmp/stuck" ] || { echo "# init's last lines:"; tail -25 "$tmp/init.err" | sed 's/^/#   /'; }
tap_check "... with Windows Setup's likely causes" grep -qi 'likely: the install media did not boot' "$tmp/init.err"
grep -h 'starting: .*qemu-system' "$tmp/init.err" | head -1 | tr ' ' '\n' >"$tmp/argv"
tap_check "... QEMU had the user's ISO read-only" grep -qx "file=$ISO,format=raw,if=none,id=cdrom,readonly=on" "$tmp/argv"
tap_check "... and a config ISO beside it" grep -q 'config.iso,format=raw,if=none,id=cdrom1,readonly=on' "$tmp/argv"
tap_check "... on an e1000e NIC (an inbox driver of Windows 10)" grep -q '^e1000e,netdev=net0' "$tmp/argv"
tap_check "... with the RTC in local time" grep -q '^base=localtime' "$tmp/argv"
tap_check "... no row, no disk, no work folder left" sh -c \
  "! '$VM' list images --name-only 2>/dev/null | grep -q w10 && ! ls '$VMCLOAK_HOME/image/' 2>/dev/null | grep -q . && ! ls '$VMCLOAK_HOME/iso/' 2>/dev/null | grep -q ."
tap_check "... the last screen is kept with the logs" sh -c "ls '$VMCLOAK_HOME/log/w10/' | grep -q 'last-screen.png'"
tap_check "... no QEMU of this home still runs" sh -c "! pgrep -f 'vmcloak-winini[t]' >/dev/null"
tap_check "the user's ISO is still unchanged" test "$(sha256sum <"$ISO")" = "$sum_before"
tap_done
