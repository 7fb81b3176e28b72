#!/usr/bin/env bash
# Every command's --help (and vmcloak --help) byte for byte against tests/e2e/help/<command>.txt,
# so a change to an option table or to the help printer shows as a diff. After an intended
# change, regenerate: for c in ...; do vmcloak $c --help > tests/e2e/help/$c.txt; done
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
dir=$(dirname "$0")/help
tmp=$(mktemp -d /tmp/vmcloak-help.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMCLOAK_HOME=$tmp/home

for f in "$dir"/*.txt; do
  c=$(basename "$f" .txt)
  if [ "$c" = main ]; then "$VM" --help >"$tmp/out" 2>&1; else "$VM" "$c" --help >"$tmp/out" 2>&1; fi
  if cmp -s "$f" "$tmp/out"; then tap_ok "$c --help is unchanged"; else tap_fail "$c --help is unchanged" "$(diff "$f" "$tmp/out" | head -5 | tr '\n' ' ')"; fi
done
"$(dirname "$VM")/vmcloak-qemubridge" --help >"$tmp/out" 2>&1
tap_check "vmcloak-qemubridge --help is bridge's" cmp -s "$dir/bridge.txt" "$tmp/out"
"$VM" help snapshot >"$tmp/out" 2>&1
tap_check "vmcloak help snapshot is snapshot --help" cmp -s "$dir/snapshot.txt" "$tmp/out"
# The printer adds "(may be repeated)" to list options: an option's own text must not say it too.
tap_check "no option says (may be repeated) twice" bash -c '! grep -rh "may be repeated" "$1"/*.txt | grep -q "may be repeated.*may be repeated"' _ "$dir"
tap_check "--help does not create the home" test ! -e "$VMCLOAK_HOME"
tap_done
