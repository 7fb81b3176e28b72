#!/usr/bin/env bash
# --qemu-binary PATH (or a NAME in PATH): refused unless it is an executable whose --version names
# a QEMU system emulator's version;
# `vmcloak doctor --qemu-binary PATH` probes that binary (version, accelerators, the KVM test
# guest) and says whether it looks patched (no stock QEMU strings in the file) or stock.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
tmp=$(mktemp -d /tmp/vmcloak-qbin.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMCLOAK_HOME=$tmp/home
real=$(command -v qemu-system-x86_64) || { echo "1..0 # SKIP qemu-system-x86_64 not installed"; exit 0; }

# A "patched" QEMU: an ELF program (tests/e2e/fake-qemu.c, the first argument) that answers
# --version and -accel help like QEMU and holds none of its strings. Every call is logged, so the
# doctor's use of it shows.
fake=${1:?usage: qemu_binary.sh FAKE-QEMU}
cp "$fake" "$tmp/patched-qemu"
export FAKE_QEMU_LOG=$tmp/patched.calls
out=$("$VM" doctor --qemu-binary "$tmp/patched-qemu" 2>&1)
tap_check "doctor probes the given binary's version" grep -qE "QEMU 2.11 or later +7\.2\.9 \($tmp/patched-qemu\)" <<<"$out"
tap_check "doctor lists its accelerators" grep -qE 'QEMU accelerators \(kvm, tcg\) +tcg, kvm' <<<"$out"
tap_check "a binary without QEMU's strings is reported as patched" \
  grep -qF "patched: none of QEMU HARDDISK, QEMU DVD-ROM, QEMU USB Tablet, QEMU Virtual CPU, QEMU0002, BOCHS, Bochs present in $tmp/patched-qemu" <<<"$out"
tap_check "... and it is that binary doctor ran (--version, -accel help)" \
  test -n "$(grep -x -- '--version' "$tmp/patched.calls")" -a -n "$(grep -x -- '-accel help' "$tmp/patched.calls")"

# A copy of the real QEMU (another path, the same bytes): stock strings, counted.
cp "$real" "$tmp/copy-qemu"
out=$("$VM" --qemu-binary "$tmp/copy-qemu" doctor 2>&1)
tap_check "a stock build is named as such, with how many strings it shows" \
  grep -qE "stock QEMU strings present \(7\): QEMU HARDDISK, QEMU DVD-ROM, QEMU USB Tablet, .*a patched build as CAPE's kvm-qemu.sh makes would hide them" <<<"$out"
tap_check "... with its own version" grep -qE "QEMU 2.11 or later +$("$real" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1) \($tmp/copy-qemu\)" <<<"$out"
json=$("$VM" --json doctor --qemu-binary "$tmp/copy-qemu" 2>/dev/null)
tap_check "doctor --json has the patched check as a warning" python3 -c '
import json, sys
c = {x["id"]: x for x in json.loads(sys.argv[1])["checks"]}
assert c["qemu-patched"]["status"] == "warn" and "(7)" in c["qemu-patched"]["detail"], c["qemu-patched"]
assert c["qemu-accel"]["status"] == "ok"' "$json"

# A wrapper script around the stock QEMU holds none of its strings: doctor cannot tell.
printf '#!/bin/sh\nexec %s "$@"\n' "$real" >"$tmp/wrapper-qemu"; chmod +x "$tmp/wrapper-qemu"
out=$("$VM" doctor --qemu-binary "$tmp/wrapper-qemu" 2>&1)
tap_check "a wrapper script is not called patched" \
  grep -qF "$tmp/wrapper-qemu is a script: the strings of the QEMU it runs cannot be checked" <<<"$out"
tap_check "... nor stock" test -z "$(grep -E 'patched: none of|stock QEMU strings present' <<<"$out")"

# A bare name is looked up in PATH, as the shell does.
out=$(PATH="$tmp:$PATH" "$VM" doctor --qemu-binary patched-qemu 2>&1)
tap_check "--qemu-binary NAME finds NAME in PATH" grep -qE "QEMU 2.11 or later +7\.2\.9 \($tmp/patched-qemu\)" <<<"$out"
out=$("$VM" --qemu-binary no-such-qemu-here list 2>&1); rc=$?
tap_check "a name not in PATH is refused with one line" \
  test "$rc" = 2 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -F "no-such-qemu-here: no such program in PATH" <<<"$out")"

# Refusals: one line each, usage exit code, before any work.
if img=$(command -v qemu-img); then
  out=$("$VM" --qemu-binary "$img" list 2>&1); rc=$?
  tap_check "qemu-img is refused as no system emulator" \
    test "$rc" = 2 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -F "$img is no QEMU system emulator (its --version says \"qemu-img version" <<<"$out")"
fi
chmod -x "$tmp/patched-qemu"
out=$("$VM" doctor --qemu-binary "$tmp/patched-qemu" 2>&1); rc=$?
tap_check "a file that is not executable is refused with one line" \
  test "$rc" = 2 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -F "is not an executable file" <<<"$out")"
out=$("$VM" --qemu-binary "$tmp/nothing-here" list 2>&1); rc=$?
tap_check "a missing file is refused" test "$rc" = 2 -a -n "$(grep -F "$tmp/nothing-here: No such file or directory" <<<"$out")"
printf '#!/bin/sh\necho "not an emulator"\n' >"$tmp/not-qemu"; chmod +x "$tmp/not-qemu"
out=$("$VM" --qemu-binary "$tmp/not-qemu" list 2>&1); rc=$?
tap_check "an executable without a version is refused" \
  test "$rc" = 2 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -F "names no version" <<<"$out")"
out=$("$VM" --qemu-binary "$tmp" list 2>&1); rc=$?
tap_check "a directory is refused" test "$rc" = 2 -a -n "$(grep -F "is a directory" <<<"$out")"
tap_done
