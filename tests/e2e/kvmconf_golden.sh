#!/usr/bin/env bash
# The golden kvm.conf and kvm.yaml files (tests/kvmconf, written by pipeline/kvmconf.c: the unit
# test pipeline_kvmconf compares them byte for byte) read the way CAPE and Cuckoo3 read them:
# check-kvmconf.py with configparser (CAPE's Config) and PyYAML (Cuckoo3's types); and export's
# argument rules, which refuse before the repository is read. No libvirt, no root.
source "$(dirname "$0")/tap.sh"
SRC=${VMCLOAK_SOURCE_ROOT:?}
CHECK=$SRC/tests/e2e/check-kvmconf.py
if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
  tap_skip "golden kvm.conf/kvm.yaml as CAPE and Cuckoo3 read them" "no python3-yaml"; tap_done; exit 0
fi
reads() { /usr/bin/python3 "$CHECK" "$@" >/dev/null; }   # its "ok: ..." line is no TAP line
for f in "$SRC"/tests/kvmconf/*.kvm.conf; do
  tap_check "CAPE reads $(basename "$f")" reads "$f"
done
for f in "$SRC"/tests/kvmconf/*.kvm.yaml; do
  tap_check "Cuckoo3 reads $(basename "$f")" reads --cuckoo3 "$f"
done
# The checker itself refuses what CAPE would misread (a test that cannot fail is worthless).
bad=$(mktemp)
printf '[kvm]\nmachines = a\ninterface = br0\ndsn = qemu:///system\n[a]\nlabel = yes\nplatform = windows\nip = 10.0.0.5\narch = x64\ntags = x64\n' > "$bad"
out=$(/usr/bin/python3 "$CHECK" "$bad" 2>&1); rc=$?
tap_check "the checker refuses a boolean label and a Windows machine without its OS tag" \
  test "$rc" = 1 -a -n "$(grep -F 'label True' <<<"$out")" -a -n "$(grep -F 'needs one of the OS tags' <<<"$out")"
tap_check "the checker refuses a file whose machines are not the expected ones" \
  test "$(/usr/bin/python3 "$CHECK" --expect nope "$SRC/tests/kvmconf/win10_two.kvm.conf" >/dev/null 2>&1; echo $?)" = 1

VM=${VMCLOAK_BIN:?}
home=$(mktemp -d); trap 'rm -f "$bad"; rm -rf "$home"' EXIT
ex() { VMCLOAK_HOME=$home "$VM" export "$@" 2>&1; echo "rc=$?"; }
tap_check "export without --cape or --bundle: usage error" grep -qx 'rc=2' <<<"$(ex vm1)"
tap_check "export --cape --bundle together: usage error" grep -qx 'rc=2' <<<"$(ex --cape --bundle vm1 f)"
tap_check "export --cape of a name no VM can have: usage error" grep -qx 'rc=2' <<<"$(ex --cape a/b)"
tap_check "export --bundle takes VM FILE: a path is no VM name" \
  test -n "$(ex --bundle vm1 /tmp/x.tar | grep -F "no snapshot VM named 'vm1'")"
tap_check "--force without --output, --with-image without --bundle: usage errors" \
  test "$(ex --cape --force vm1 | tail -1)" = rc=2 -a "$(ex --cape --with-image vm1 | tail -1)" = rc=2
tap_check "export --cape in an empty home: no VM on a libvirt host, exit 1" \
  test -n "$(ex --cape | grep -F 'snapshot --connect')" -a "$(ex --cape | tail -1)" = rc=1
tap_done
