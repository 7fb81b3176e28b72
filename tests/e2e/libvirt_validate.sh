#!/usr/bin/env bash
# Every golden domain XML (tests/domxml/*.xml, tests/domxml/hardware/*.xml) is valid against
# libvirt's own schema (virt-xml-validate FILE domain, Debian's libvirt-clients). @TMP@ stands
# for the test's throwaway folder (libvirt's schema wants absolute paths): it becomes one here.
# tests/domxml/libvirt-10.10/ is left out on purpose: it holds XML for libvirt >= 10.10.0
# (<nvram templateFormat/format>), which the 9.0 schema installed here does not know.
source "$(dirname "$0")/tap.sh"
ROOT=${VMCLOAK_SOURCE_ROOT:?}
if ! command -v virt-xml-validate >/dev/null; then
  tap_skip "golden domain XML valid for libvirt" "virt-xml-validate not installed (Debian package libvirt-clients)"
  tap_done; exit
fi
tmp=$(mktemp -d /tmp/vmcloak-domxml-validate.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
for f in "$ROOT"/tests/domxml/*.xml "$ROOT"/tests/domxml/hardware/*.xml; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  name=${f#"$ROOT"/tests/domxml/}
  sed "s#@TMP@#$tmp#g" "$f" >"$tmp/d.xml"
  if out=$(virt-xml-validate "$tmp/d.xml" domain 2>&1); then
    tap_ok "$name is valid libvirt domain XML"
  else
    tap_fail "$name is valid libvirt domain XML" "$(head -3 <<<"$out" | tr '\n' ' ')"
  fi
done
# The check can fail: a domain without <name> is refused.
sed '/<name>/d' "$ROOT/tests/domxml/vmcloak_default.xml" | sed "s#@TMP@#$tmp#g" >"$tmp/bad.xml"
tap_check "virt-xml-validate refuses a domain without <name>" bash -c "! virt-xml-validate '$tmp/bad.xml' domain >/dev/null 2>&1"
tap_check "there are golden files to validate" test "$n" -gt 40
tap_done
