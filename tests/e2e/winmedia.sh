#!/usr/bin/env bash
# End-to-end: the Windows install media layer on media made by real tools (wimlib-imagex WIM,
# solid ESD and split SWM; a Windows-like UDF-only ISO from pycdlib, a genisoimage UDF bridge
# ISO, a plain xorriso ISO 9660 one, folders). Editions, --product picks, product keys, files
# read case-insensitively, El Torito images, and one combined bootable ISO read back with
# xorriso and isoinfo. $1: the winmedia-drive program.
source "$(dirname "$0")/tap.sh"
DRIVE=${1:?winmedia-drive}
SRC=${VMCLOAK_SOURCE_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-winmedia.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
drive() { "$DRIVE" "$@" 2>"$tmp/err"; }

t0=$(now)
if ! bash "$SRC/tests/fixtures/windows-media.sh" "$tmp/m" >"$tmp/fixture.log" 2>&1; then
  tap_fail "fixtures built" "$(tail -5 "$tmp/fixture.log")"
  tap_done
  exit 1
fi
echo "# fixtures built in $(ms "$t0" "$(now)") ms"
M=$tmp/m
cd "$M" || exit 1

# The fixtures are what they claim: the UDF-only image shows only README.TXT through ISO 9660.
iso9660_view=$(xorriso -indev udf.iso -find / -type f 2>/dev/null | tr '\n' ' ')
tap_check "UDF-only fixture: ISO 9660 holds only README.TXT" test "$iso9660_view" = "'/README.TXT' "
tap_check "UDF-only fixture: UDF holds the tree" sh -c 'udfinfo udf.iso | grep -q "^numfiles=9$"'

# --- sources -------------------------------------------------------------------------------
for c in "udf.iso UDF" "udf-esd.iso UDF" "udf-swm.iso UDF" "bridge.iso UDF" "plain.iso ISO 9660" "tree folder"; do
  set -- $c; f=$1; shift; kind=$*
  out=$(drive kind "$f")
  tap_check "$f opens as $kind" test "${out% *}" = "$kind" -o "$out" = "$kind "
done
drive kind README.TXT; rc=$?
tap_check "a non-ISO file is refused with one line" test $rc = 1 -a "$(cat "$tmp/err")" = "vmcloak: README.TXT: not an ISO 9660/UDF image"
drive kind "$M/nonexistent.iso"; rc=$?
tap_check "a missing path is refused" sh -c "test $rc = 1 && grep -q 'No such file' '$tmp/err'"

# --- editions ------------------------------------------------------------------------------
golden=$SRC/tests/fixtures/windows-media-editions.tsv
for c in "udf.iso sources/install.wim 1/1" "udf-esd.iso sources/install.esd 1/1" "udf-swm.iso sources/install.swm 1/6" \
         "bridge.iso sources/install.wim 1/1" "plain.iso sources/install.wim 1/1" "tree sources/install.wim 1/1" \
         "tree-swm sources/install.swm 1/6"; do
  set -- $c
  t0=$(now)
  drive editions "$1" >"$tmp/ed"; rc=$?
  t1=$(now)
  tap_check "$1: editions read from $2 (part $3)" test $rc = 0 -a "$(head -1 "$tmp/ed")" = "wim	$2	$3"
  tap_check "$1: index, NAME, DISPLAYNAME, EDITIONID, arch, build, language, type, flags as golden" \
    diff -u "$golden" <(tail -n +2 "$tmp/ed")
  echo "# $1: editions in $(ms "$t0" "$t1") ms"
done
# Cross-check against wimlib itself.
wimlib_names=$(wiminfo install.esd | sed -n 's/^Name: *//p' | tr '\n' '|')
tap_check "the names are the ones wiminfo lists" test "$wimlib_names" = "Windows 10 Home|Windows 10 Pro|Windows 10 Education|"
drive editions udf-swm.iso >/dev/null
cp -r tree-swm tree-swm2 && rm tree-swm2/sources/install.swm && mv tree-swm2/sources/install2.swm tree-swm2/sources/install.swm
drive editions tree-swm2; rc=$?
tap_check "a later .swm part is refused (only part 1 lists editions)" sh -c "test $rc = 1 && grep -q 'part 2 of 6' '$tmp/err'"
mkdir -p nowim/sources && head -c 4096 /dev/urandom > nowim/sources/install.wim
drive editions nowim; rc=$?
tap_check "a file that is no WIM is refused" sh -c "test $rc = 1 && grep -q 'no WIM (no MSWIM magic)' '$tmp/err'"
drive editions tree/boot; rc=$?
tap_check "media without a WIM: -ENOENT for the caller to handle" sh -c "test $rc = 1 && grep -q 'no sources/install.wim, install.esd or install.swm' '$tmp/err'"

# --- --product -----------------------------------------------------------------------------
pick() { drive pick "$1" win10x64 "$2"; }
for c in "2:2" "windows 10 education:3" "Windows 10 PRO:2" "Professional:2" "pro:2" "home:1" "education:3" "core:1" "-:2"; do
  p=${c%:*}; want=${c##*:}
  for f in udf.iso udf-esd.iso plain.iso; do
    got=$(pick $f "$p")
    tap_check "$f: --product '$p' picks image $want" test "$got" = "$want"
  done
done
pick udf.iso ultimate >/dev/null; rc=$?
tap_check "an edition the media lack is refused" sh -c "test $rc = 1 && grep -q 'product \"ultimate\" matches no image' '$tmp/err'"
tap_check "the refusal lists index, name, edition, arch, build, language of each image" \
  sh -c "grep -qF '1  \"Windows 10 Home\"  (edition Core, amd64, build 19045, en-US)' '$tmp/err' &&
         grep -qF '2  \"Windows 10 Pro\"  (edition Professional, amd64, build 19045, en-US)' '$tmp/err' &&
         grep -qF '3  \"Windows 10 Education\"  (edition Education, amd64, build 19045, de-DE)' '$tmp/err'"
pick udf.iso 7 >/dev/null; rc=$?
tap_check "an index the WIM lacks is refused" sh -c "test $rc = 1 && grep -q 'no image has index 7' '$tmp/err'"
drive pick udf.iso win11x64 pro >/dev/null; rc=$?
tap_check "a Windows 10 WIM is refused for win11x64" \
  sh -c "test $rc = 1 && grep -q 'image 2 \"Windows 10 Pro\" is Windows version 10.0.19045, not Windows 11 (win11x64)' '$tmp/err'"
got=$(drive pick udf.iso - "Windows 10 Pro")
tap_check "without an OS profile the exact NAME still picks" test "$got" = 2
drive pick udf.iso - pro >/dev/null; rc=$?
tap_check "without an OS profile short names are not guessed" test $rc = 1

# product.ini fallback (VMCloak's rule): staged editions, else the first preference.
got=$(drive productini udf.iso win10x64 -)
tap_check "product.ini: first staged edition when none is preferred" test "$got" = "Windows 10 CORE"
mkdir -p noini && cp -r tree/boot noini/
got=$(drive productini noini win10x64 -)
tap_check "product.ini missing: the first preference" test "$got" = "Windows 10 PRO"
got=$(drive productini noini win7x64 ultimate)
tap_check "product.ini: --product from the preference list" test "$got" = "Windows 7 ULTIMATE"
drive productini noini win10x64 ultimate >/dev/null; rc=$?
tap_check "product.ini: --product outside the list refused" sh -c "test $rc = 1 && grep -q 'use one of: pro, enterprise, home' '$tmp/err'"

# --- product keys --------------------------------------------------------------------------
key() { drive key "$@"; }
tap_check "the edition's own public key matches" test "$(key win10x64 Professional W269N-WFGWX-YVC9B-4J6C9-T83GX)" = matches
tap_check "keys compare in any case" test "$(key win10x64 Professional w269n-wfgwx-yvc9b-4j6c9-t83gx)" = matches
key win10x64 Professional NPPR9-FWDCX-D2C8J-H872K-2YT43 >/dev/null; rc=$?
tap_check "another edition's key is refused naming both editions" \
  sh -c "test $rc = 1 && grep -q 'public key of Windows 10 Enterprise, not of Windows 10 Professional' '$tmp/err'"
key win7x64 Professional 33PXH-7Y6KF-2VJC9-XBBR8-HVTHH >/dev/null; rc=$?
tap_check "VMCloak's Win7 key on Professional is refused (Setup's endless wait)" \
  sh -c "test $rc = 1 && grep -q 'Windows 7 Enterprise, not of Windows 7 Professional' '$tmp/err'"
tap_check "an unknown key is accepted unchecked" test "$(key win10x64 Professional ABCDE-12345-FGHIJ-67890-KLMNO)" = unchecked
key win10x64 Professional ABCDE-12345-FGHIJ >/dev/null; rc=$?
tap_check "a key of the wrong syntax is refused" sh -c "test $rc = 1 && grep -q 'not five groups of five' '$tmp/err'"
key win10x64 Professional 'ABCDE-12345-FGHIJ-67890-KLMN!' >/dev/null; rc=$?
tap_check "a key with other characters is refused" test $rc = 1
tap_check "default key: the edition's public key" test "$(drive default-key win10x64 Professional)" = W269N-WFGWX-YVC9B-4J6C9-T83GX
tap_check "default key: Home's own" test "$(drive default-key win11x64 Core)" = TX9XD-98N7V-6WMQ6-BX7FG-H8Q99
tap_check "default key: none for evaluation media" test "$(drive default-key win10x64 EnterpriseEval)" = none
tap_check "default key: none when no public key is known" test "$(drive default-key win7x64 Ultimate)" = none

# --- files ---------------------------------------------------------------------------------
for f in udf.iso bridge.iso plain.iso tree; do
  got=$(drive read "$f" SOURCES/Product.INI)
  tap_check "$f: files found in any case" test "$got" = "$(cat tree/sources/product.ini)"
  tap_check "$f: a missing file is absent" sh -c "! '$DRIVE' exists '$f' sources/nope.txt"
  rm -f "$tmp/x.wim"
  drive extract "$f" Sources/Install.WIM "$tmp/x.wim"
  tap_check "$f: install.wim extracted byte-identical" cmp -s "$tmp/x.wim" install.wim
done
drive extract udf.iso sources/install.wim "$tmp/x.wim"; rc=$?
tap_check "extract never overwrites" sh -c "test $rc = 1 && grep -q 'already exists' '$tmp/err'"
(cd tree && find . -mindepth 1 -printf '%P%y\n' | sed 's/d$/\//; s/f$//' | sort) >"$tmp/tree.list"
for f in udf.iso bridge.iso plain.iso; do
  drive list "$f" | grep -v -e '^README.TXT$' -e '^boot.cat$' -e '^boot.catalog$' | sort >"$tmp/list"
  tap_check "$f: the walk lists every file and folder (empty ones too)" diff -u "$tmp/tree.list" "$tmp/list"
done
got=$(drive list udf.iso efi | tr '\n' ' ')
tap_check "a sub-folder walk gives paths relative to it" test "$got" = "microsoft/ microsoft/boot/ microsoft/boot/efisys.bin "

# --- El Torito -----------------------------------------------------------------------------
# image bytes at a sector of an ISO
sectors() { dd if="$1" bs=2048 skip="$2" count=$((($3 + 2047) / 2048)) status=none | head -c "$3"; }
for c in "udf.iso 8 1" "udf-esd.iso 8 1" "bridge.iso 8 2880" "plain.iso 8 2880"; do
  set -- $c
  drive boot "$1" >"$tmp/boot"
  bios=$(grep '^bios' "$tmp/boot"); uefi=$(grep '^uefi' "$tmp/boot")
  tap_check "$1: BIOS entry: etfsboot.com, no emulation, load size $2" \
    sh -c "echo '$bios' | grep -q 'platform=0x00 media=0 seg=0 load=$2 .* size=4096 path=boot/etfsboot.com'"
  tap_check "$1: UEFI entry: efisys.bin, platform 0xEF, load size $3" \
    sh -c "echo '$uefi' | grep -q 'platform=0xEF media=0 seg=0 load=$3 .* path=efi/microsoft/boot/efisys.bin'"
  lba=$(echo "$bios" | sed 's/.*lba=\([0-9]*\).*/\1/')
  tap_check "$1: the BIOS image at its sector is etfsboot.com" cmp -s <(sectors "$1" "$lba" 4096) tree/boot/etfsboot.com
done

# --- one combined ISO ----------------------------------------------------------------------
mkdir -p cfg/vmcloak cfg/SOURCES
echo '<unattend xmlns="urn:schemas-microsoft-com:unattend"/>' > cfg/autounattend.xml
echo 'set GUEST_IP=192.168.30.2' > cfg/vmcloak/settings.bat
echo 'replaced' > cfg/SETUP.EXE
echo '[BuildInfo]' > cfg/SOURCES/product.ini
for c in "udf.iso 8 1" "udf-esd.iso 8 1" "plain.iso 8 2880" "tree 8 2880"; do
  set -- $c; f=$1
  wim=install.wim; [ "$f" = udf-esd.iso ] && wim=install.esd
  out=$tmp/out-$f.iso
  t0=$(now)
  drive combine "$f" cfg "$out"; rc=$?
  echo "# combine $f: $(ms "$t0" "$(now)") ms, $(stat -c %s "$out" 2>/dev/null) bytes"
  tap_check "$f: combined ISO written" test $rc = 0 -a -s "$out"
  xorriso -indev "$out" -report_el_torito plain 2>/dev/null >"$tmp/elt"
  tap_check "$f: out has a BIOS no-emulation entry, load size $2" grep -Eq "boot img :   1  BIOS  y   none  0x0000  0x00 +$2 " "$tmp/elt"
  tap_check "$f: out has a UEFI entry, load size $3" grep -Eq "boot img :   2  UEFI  y   none  0x0000  0x00 +$3 " "$tmp/elt"
  blba=$(sed -n 's/^El Torito boot img :   1  BIOS .* \([0-9]*\)$/\1/p' "$tmp/elt")
  ulba=$(sed -n 's/^El Torito boot img :   2  UEFI .* \([0-9]*\)$/\1/p' "$tmp/elt")
  tap_check "$f: out's BIOS image is the source's, byte for byte" cmp -s <(sectors "$out" "$blba" 4096) tree/boot/etfsboot.com
  tap_check "$f: out's UEFI image is the source's, byte for byte" \
    cmp -s <(sectors "$out" "$ulba" "$(stat -c %s efisys.bin)") efisys.bin
  rm -rf "$tmp/x" && mkdir "$tmp/x"
  xorriso -osirrox on -indev "$out" -extract /autounattend.xml "$tmp/x/a.xml" -extract "/sources/$wim" "$tmp/x/i.wim" \
    -extract /vmcloak/settings.bat "$tmp/x/s.bat" >/dev/null 2>&1
  tap_check "$f: autounattend.xml at the root" cmp -s "$tmp/x/a.xml" cfg/autounattend.xml
  tap_check "$f: vmcloak/ at the root" cmp -s "$tmp/x/s.bat" cfg/vmcloak/settings.bat
  tap_check "$f: $wim identical" cmp -s "$tmp/x/i.wim" "$wim"
  isoinfo -J -f -i "$out" 2>/dev/null >"$tmp/joliet"
  tap_check "$f: Joliet: a config file replaces the source's of another case" \
    test "$(grep -ic '^/setup.exe$' "$tmp/joliet")" = 1 -a "$(drive read "$out" setup.exe)" = replaced
  tap_check "$f: Joliet: config folders merge into the source's" \
    sh -c "grep -qx '/sources/$wim' '$tmp/joliet' && test \"\$('$DRIVE' read '$out' sources/product.ini)\" = '[BuildInfo]'"
  tap_check "$f: Joliet: names without version or forced dot" grep -qx /bootmgr "$tmp/joliet"
  tap_check "$f: Joliet: long names kept" grep -qx "/support/A file with a rather long name, longer than 64 characters in Joliet.txt" "$tmp/joliet"
  tap_check "$f: Joliet: the boot catalog is hidden" sh -c "! grep -qi 'boot.cat' '$tmp/joliet'"
  drive editions "$out" >"$tmp/ed"
  tap_check "$f: out's editions read back" diff -u "$golden" <(tail -n +2 "$tmp/ed")
done
# Nothing left when the source cannot be read to the end.
cp plain.iso trunc.iso && truncate -s $(( $(stat -c %s plain.iso) - 600000 )) trunc.iso
mkdir outdir
drive combine trunc.iso cfg outdir/out.iso; rc=$?
tap_check "an unreadable source fails the combine" sh -c "test $rc = 1 && grep -q 'cannot read' '$tmp/err'"
tap_check "and leaves nothing behind" test -z "$(ls -A outdir)"
drive combine udf.iso "$M/nocfg" outdir/out.iso; rc=$?
tap_check "a missing config folder is refused" sh -c "test $rc = 1 && grep -q 'nocfg: no such folder' '$tmp/err' && test -z \"\$(ls -A outdir)\""
# Ctrl-C part-way: a folder source with a 3 GB (sparse) install.wim takes seconds to write.
cp -r tree slow && cp install.wim slow/sources/install.wim && truncate -s 3000000000 slow/sources/install.wim
"$DRIVE" combine slow cfg outdir/out.iso 2>"$tmp/err" &
pid=$!
writing=no
for _ in $(seq 100); do ls outdir/out.iso.tmp* >/dev/null 2>&1 && { writing=yes; break; }; sleep 0.1; done
sleep 0.3
kill -INT $pid
wait $pid; rc=$?
tap_check "Ctrl-C came while the ISO was being written" test $writing = yes
tap_check "Ctrl-C stops the combine (exit 130)" test $rc = 130
tap_check "Ctrl-C leaves nothing behind" test -z "$(ls -A outdir)"
rm -rf slow
tap_done
