#!/usr/bin/env bash
# The Debian package (debian/): built with dpkg-buildpackage -us -uc -b from a clean copy of the
# source tree, lintian without errors, the .deb holding everything `meson install` installs;
# then the package used: installed with apt-get and purged again when VMCLOAK_TEST_INSTALL_DEB=1
# and root (CI), else extracted with dpkg-deb -x. About 2 to 3 minutes (the package build).
source "$(dirname "$0")/tap.sh"
SRC=${VMCLOAK_SOURCE_ROOT:?}

missing=()
for t in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian man:man-db; do
  command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "1..0 # SKIP not installed: ${missing[*]} (make deps installs them)"
  exit 0
fi

tmp=$(mktemp -d /tmp/vmcloak-deb.XXXXXX)
installed=
cleanup() {
  if [ -n "$installed" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vmcloak >"$tmp/purge.log" 2>&1 ||
      { echo "# apt-get purge vmcloak failed:"; sed 's/^/#   /' "$tmp/purge.log"; }
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SRC/meson.build" | head -n 1)
changelog_version=$(cd "$SRC" && dpkg-parsechangelog -S Version)
tap_check "debian/changelog's version ($changelog_version) is meson.build's ($version)" \
  test "$changelog_version" = "$version"

# Every dependency() of the meson.build files comes from a package debian/control's Build-Depends lists
# (the pkg-config file's owner), so a library added to the build is not forgotten there.
bdeps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$SRC/debian/control" | grep -v '^#')
unlisted=()
for name in $(find "$SRC" -name meson.build -not -path "$SRC/build*" -not -path "$SRC/obj-*" -exec cat {} + |
               grep -o "dependency('[^']*'" | sed "s/dependency('//; s/'//" | sort -u); do
  [ "$name" = threads ] && continue
  pc=$(pkg-config --path "$name" 2>/dev/null) || { unlisted+=("$name(no .pc here)"); continue; }
  owner=$( (dpkg -S "$pc" || dpkg -S "$(realpath "$pc")") 2>/dev/null | head -n 1 | cut -d: -f1)
  [ -n "$owner" ] && grep -qw -- "$owner" <<<"$bdeps" || unlisted+=("$name(${owner:-no package})")
done
tap_check "every meson dependency() is in Build-Depends${unlisted:+ (missing: ${unlisted[*]})}" \
  test ${#unlisted[@]} -eq 0

# A clean copy: what a checkout holds, without build dirs or old package output.
"$SRC/scripts/source-copy.sh" "$SRC" "$tmp/src/vmcloak"

# nocheck: the unit suite runs in this test run already; dh_auto_test would run it again.
# The build profile alone (without DEB_BUILD_OPTIONS=nocheck), as `dpkg-buildpackage -Pnocheck`
# gives it: it drops cmocka and the other test Build-Depends, so debian/rules must turn the
# tests off for it too (make deb sets both).
if (cd "$tmp/src/vmcloak" && dpkg-buildpackage -us -uc -b -Pnocheck -j2) >"$tmp/build.log" 2>&1; then
  tap_ok "dpkg-buildpackage -us -uc -b builds from a clean copy"
else
  tap_fail "dpkg-buildpackage -us -uc -b builds from a clean copy" "last lines of its log:"
  tail -n 25 "$tmp/build.log" | sed 's/^/#   /'
  tap_done
  exit 1
fi
deb=$(ls "$tmp"/src/vmcloak_"$version"_*.deb 2>/dev/null | head -n 1)
tap_check "the package is vmcloak_${version}_*.deb" test -f "$deb"
[ -f "$deb" ] || { tap_done; exit 1; }
echo "# $(basename "$deb"): $(stat -c %s "$deb") bytes"

lintian --tag-display-limit 0 "$tmp"/src/vmcloak_"$version"_*.changes >"$tmp/lintian.txt" 2>&1
grep -E '^[EW]: ' "$tmp/lintian.txt" | sed 's/^/# lintian: /'
tap_check "lintian reports no error" sh -c "! grep -q '^E: ' '$tmp/lintian.txt'"

# Reproducible from any build path: the package is built with -Ddev_paths=false (debian/rules),
# so neither the build tree nor the source tree is named in the binary.
pkgbin=$tmp/pkgbin
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/vmcloak >"$pkgbin"
tap_check "the packaged vmcloak names no build path ($tmp/src)" \
  sh -c "test -s '$pkgbin' && ! strings -a '$pkgbin' | grep -qF '$tmp/src'"

dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); print p, $7, $8 }' >"$tmp/list.txt"
has() { grep -qE "^$1( |\$)" "$tmp/list.txt"; }
tap_check "the .deb has /usr/bin/vmcloak" has /usr/bin/vmcloak
tap_check "the .deb has /usr/bin/vmcloak-qemubridge -> vmcloak" grep -qx '/usr/bin/vmcloak-qemubridge -> vmcloak' "$tmp/list.txt"
for f in vmcloak-agent vmcloak-agent.exe vmcloak-agentw.exe; do
  tap_check "the .deb has the agent $f" has "/usr/share/vmcloak/agent/$f"
done
for f in windows/isos.json deps/recipes.yaml hardware/dell-optiplex-7050.yaml linux/rcS cloak/detect-linux.sh; do
  tap_check "the .deb has the data file $f" has "/usr/share/vmcloak/$f"
done
tap_check "the .deb has the man page vmcloak(1)" has '/usr/share/man/man1/vmcloak\.1\.gz'
tap_check "the .deb has the --json fields (json.md, which vmcloak(1) points at)" has '/usr/share/doc/vmcloak/json\.md(\.gz)?'
tap_check "the .deb has the link vmcloak-iptables (VMCloak's script)" has '/usr/bin/vmcloak-iptables'
tap_check "the .deb has the bash completion" has '/usr/share/bash-completion/completions/vmcloak'
tap_check "the .deb has the zsh completion" has '/usr/share/zsh/(vendor-completions|site-functions)/_vmcloak'

# Everything meson installs is in the package (man pages compressed by dh_compress).
# A custom target whose output is a folder (the man pages, the completions) counts file by file.
inst=$(meson introspect --installed "$tmp/src/vmcloak/obj-"*/ 2>/dev/null | python3 -c '
import json, os, sys
out = []
for built, dest in json.load(sys.stdin).items():
    if os.path.isdir(built):
        for d, _, files in os.walk(built):
            out += [os.path.join(dest, os.path.relpath(os.path.join(d, f), built)) for f in files]
    else:
        out.append(dest)
print("\n".join(sorted(out)))')
absent=()
while read -r p; do
  [ -z "$p" ] && continue
  has "$(sed 's/[.+]/\\&/g' <<<"$p")(\\.gz)?" || absent+=("$p")
done <<<"$inst"
tap_check "every file meson installs ($(wc -l <<<"$inst")) is in the .deb${absent:+ (missing: ${absent[*]:0:5})}" \
  test -n "$inst" -a ${#absent[@]} -eq 0

# doctor from the package: it runs its checks and finds the packaged agents and profiles.
# Its exit code is 0 only when nothing fails (warnings, such as no KVM, do not fail), else 1.
# check_doctor BINARY DATADIR
check_doctor() {
  local out=$tmp/doctor.txt rc=0
  "$1" doctor >"$out" 2>"$tmp/doctor.err" || rc=$?
  sed 's/^/#   /' "$out" "$tmp/doctor.err"
  { [ $rc = 0 ] && grep -qE '^Everything .* in place' "$out"; } ||
    { [ $rc = 1 ] && grep -qE '^[0-9]+ problems? to fix' "$out"; } || return 1
  grep -qE "\[ok\] +agent binary \(Linux\) +$2/agent/vmcloak-agent\$" "$out" &&
    grep -qE "\[ok\] +agent binary \(Windows\) +$2/agent/vmcloak-agent.exe\$" "$out" &&
    grep -qE '\[ok\] +hardware profiles' "$out"
}
export VMCLOAK_HOME=$tmp/home
unset VMCLOAK_DATADIR VMCLOAK_BIN VMCLOAK_BUILD_ROOT VMCLOAK_SOURCE_ROOT

if [ "${VMCLOAK_TEST_INSTALL_DEB:-}" = 1 ] && [ "$(id -u)" = 0 ]; then
  if dpkg-query -W -f='${db:Status-Status}' vmcloak 2>/dev/null | grep -qx installed; then
    tap_fail "vmcloak is not installed already" "this test installs and purges the package; remove the installed one first"
    tap_done
    exit 1
  fi
  # The man page is wanted even where dpkg excludes /usr/share/man (minimal images).
  installed=1
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
       -o DPkg::Options::=--path-include='/usr/share/man/man1/vmcloak*' "$deb" >"$tmp/install.log" 2>&1; then
    tap_ok "apt-get install ./$(basename "$deb")"
  else
    tap_fail "apt-get install ./$(basename "$deb")" "last lines:"
    tail -n 15 "$tmp/install.log" | sed 's/^/#   /'
  fi
  tap_check "vmcloak --version says $version" sh -c "/usr/bin/vmcloak --version | grep -qw '$version'"
  tap_check "vmcloak doctor runs its checks and finds the packaged agents" check_doctor /usr/bin/vmcloak /usr/share/vmcloak
  tap_check "man vmcloak shows the page" sh -c "MANPAGER=cat man -P cat vmcloak 2>/dev/null | grep -q vmcloak"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vmcloak >"$tmp/purge.log" 2>&1 && installed=
  tap_check "apt-get purge vmcloak leaves nothing of it" \
    sh -c "! dpkg-query -W -f='\${db:Status-Status}' vmcloak 2>/dev/null | grep -q . && [ ! -e /usr/bin/vmcloak ] && [ ! -e /usr/share/vmcloak ]"
else
  root=$tmp/root
  dpkg-deb -x "$deb" "$root"
  tap_check "the extracted vmcloak --version says $version" sh -c "'$root/usr/bin/vmcloak' --version | grep -qw '$version'"
  export VMCLOAK_DATADIR=$root/usr/share/vmcloak   # the binary looks in /usr/share/vmcloak otherwise
  tap_check "the extracted vmcloak doctor finds the packaged agents" \
    check_doctor "$root/usr/bin/vmcloak" "$root/usr/share/vmcloak"
  unset VMCLOAK_DATADIR
  tap_check "man -l shows the extracted page" sh -c "MANPAGER=cat man -P cat -l '$root/usr/share/man/man1/vmcloak.1.gz' 2>/dev/null | grep -q vmcloak"
  tap_skip "install with apt-get and purge" "set VMCLOAK_TEST_INSTALL_DEB=1 and run as root (CI does)"
fi
tap_done
