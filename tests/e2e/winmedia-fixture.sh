#!/usr/bin/env bash
# Test fixture: Windows-like install media built with real tools, no Windows needed.
# Usage: winmedia-fixture.sh DIR. Makes in DIR:
#   tree/        a Windows-like tree: sources/install.wim (3 editions with EDITIONID, ARCH,
#                BUILD, LANGUAGES), sources/product.ini, boot/etfsboot.com (8 sectors),
#                efi/microsoft/boot/efisys.bin (a FAT image holding EFI/BOOT/BOOTX64.EFI),
#                setup.exe, bootmgr, a file with a long name, an empty folder
#   install.esd  the same editions, solid LZMS;  install.swm, install2.swm...: split parts
#   udf.iso      Windows-like: UDF 2.60 holds everything, ISO 9660 only README.TXT,
#                El Torito BIOS + UEFI entries (python3-pycdlib)
#   udf-esd.iso  the same with sources/install.esd instead of install.wim
#   udf-swm.iso  the same with sources/install.swm + install2.swm...
#   bridge.iso   ISO 9660 + Joliet + UDF 1.02 bridge (genisoimage -udf)
#   plain.iso    ISO 9660 + Joliet only (xorriso)
set -euo pipefail
out=$1
mkdir -p "$out"
cd "$out"

# Three small image trees, one per edition.
for e in home pro edu; do
  mkdir -p "img_$e/Windows/System32"
  echo "edition $e" > "img_$e/Windows/System32/edition.txt"
  head -c 65536 /dev/urandom > "img_$e/Windows/System32/payload.bin"
done
wimlib-imagex capture img_home install.wim "Windows 10 Home" "Windows 10 Home" --flags=Core >/dev/null
wimlib-imagex append img_pro install.wim "Windows 10 Pro" "Windows 10 Pro" --flags=Professional >/dev/null
wimlib-imagex append img_edu install.wim "Windows 10 Education" "Windows 10 Education" --flags=Education >/dev/null
set_props() {   # index edition-id arch build language
  wiminfo install.wim "$1" --image-property "WINDOWS/EDITIONID=$2" --image-property "WINDOWS/ARCH=$3" \
    --image-property "WINDOWS/VERSION/MAJOR=10" --image-property "WINDOWS/VERSION/MINOR=0" \
    --image-property "WINDOWS/VERSION/BUILD=$4" --image-property "WINDOWS/LANGUAGES/LANGUAGE=$5" \
    --image-property "WINDOWS/LANGUAGES/DEFAULT=$5" --image-property "WINDOWS/INSTALLATIONTYPE=Client" \
    --image-property "DISPLAYNAME=$6" >/dev/null
}
set_props 1 Core 9 19045 en-US "Windows 10 Home"
set_props 2 Professional 9 19045 en-US "Windows 10 Pro"
set_props 3 Education 9 19045 de-DE "Windows 10 Education"
wimlib-imagex export install.wim all install.esd --solid >/dev/null
wimlib-imagex split install.wim install.swm 0.05 >/dev/null

# The Windows-like tree.
mkdir -p tree/sources tree/boot tree/efi/microsoft/boot tree/support/empty "tree/sources/\$OEM\$"
cp install.wim tree/sources/install.wim
printf '[BuildInfo]\r\nbuild=19045\r\nstaged=Core,Professional,Education\r\n' > tree/sources/product.ini
head -c 4096 /dev/urandom > tree/boot/etfsboot.com
head -c 1000 /dev/urandom > tree/setup.exe
head -c 3000 /dev/urandom > tree/bootmgr
echo long > "tree/support/A file with a rather long name, longer than 64 characters in Joliet.txt"
head -c 2048 /dev/urandom > bootx64.efi
mkfs.vfat -C efisys.bin 1440 >/dev/null
MTOOLS_SKIP_CHECK=1 mmd -i efisys.bin ::/EFI ::/EFI/BOOT
MTOOLS_SKIP_CHECK=1 mcopy -i efisys.bin bootx64.efi ::/EFI/BOOT/BOOTX64.EFI
cp efisys.bin tree/efi/microsoft/boot/efisys.bin
printf 'This disc contains a "UDF" file system and requires an operating system\r\nthat supports the ISO-13346 "UDF" file system specification.\r\n' > README.TXT

# A: ISO 9660 + Joliet, El Torito BIOS + UEFI.
xorriso -as mkisofs -quiet -iso-level 3 -J -joliet-long -V CCCOMA_X64FRE -o plain.iso \
  -b boot/etfsboot.com -no-emul-boot -boot-load-size 8 \
  -eltorito-alt-boot -e efi/microsoft/boot/efisys.bin -no-emul-boot tree 2>/dev/null
# B: ISO 9660 + Joliet + UDF bridge.
genisoimage -quiet -udf -J -joliet-long -iso-level 3 -V CCCOMA_X64FRE -o bridge.iso \
  -b boot/etfsboot.com -no-emul-boot -boot-load-size 8 \
  -eltorito-alt-boot -e efi/microsoft/boot/efisys.bin -no-emul-boot tree 2>/dev/null

# C: UDF-only as Windows media are (ISO 9660 holds README.TXT alone).
udf_only() {   # out.iso tree
  /usr/bin/python3 - "$1" "$2" README.TXT <<'PY'
import os, sys, pycdlib
out, tree, readme = sys.argv[1:4]
iso = pycdlib.PyCdlib()
iso.new(interchange_level=3, vol_ident='CCCOMA_X64FRE', udf='2.60')
iso.add_file(readme, iso_path='/README.TXT;1', udf_path='/README.TXT')
boot = {'boot/etfsboot.com': '/ETFSBOOT.COM;1', 'efi/microsoft/boot/efisys.bin': '/EFISYS.BIN;1'}
for root, dirs, files in os.walk(tree):
    rel = os.path.relpath(root, tree)
    for d in sorted(dirs):
        iso.add_directory(udf_path='/' + os.path.normpath(os.path.join(rel, d)))
    for f in sorted(files):
        r = os.path.normpath(os.path.join(rel, f))
        if r in boot:
            iso.add_file(os.path.join(root, f), iso_path=boot[r], udf_path='/' + r)
        else:
            iso.add_file(os.path.join(root, f), udf_path='/' + r)
iso.add_eltorito('/ETFSBOOT.COM;1', bootcatfile='/BOOT.CAT;1', boot_load_size=8)
iso.add_eltorito('/EFISYS.BIN;1', bootcatfile='/BOOT.CAT;1', efi=True, platform_id=0xef, boot_load_size=1)
for p in list(boot.values()) + ['/BOOT.CAT;1']:
    iso.rm_hard_link(iso_path=p)
iso.write(out)
iso.close()
PY
}
udf_only udf.iso tree
cp -r tree tree-esd && rm tree-esd/sources/install.wim && cp install.esd tree-esd/sources/
udf_only udf-esd.iso tree-esd
cp -r tree tree-swm && rm tree-swm/sources/install.wim && cp install*.swm tree-swm/sources/
udf_only udf-swm.iso tree-swm
rm -rf img_home img_pro img_edu bootx64.efi
