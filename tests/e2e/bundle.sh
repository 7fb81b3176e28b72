#!/usr/bin/env bash
# End-to-end: a snapshot VM moved to another home with export --bundle / import --bundle (issue 14).
# One linux image with a hardware profile (its VMs' start_args name SMBIOS files in the VM's
# folder: paths that must move), one snapshot VM, bundles with and without the image; a second
# home takes them; the VM restores there with the first home gone, its machineinfo.json passes
# Cuckoo3's import rules and names no path of the first home; refusals (no image with that hash,
# a name in use, a cut, altered, foreign or newer file) and interruptions leave nothing.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
SRC=${VMCLOAK_SOURCE_ROOT:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
if ! pipeline_home vmcloak-bundle home1; then
  tap_skip "bundle" "no static agent in $BUILD/agent (sanitizer build?)"
  tap_done; exit 0
fi
H1=$VMCLOAK_HOME H2=$tmp/home2
mkdir -p "$H2"
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
rows() { sqlite3 "$1/repository.db" "SELECT (SELECT count(*) FROM image) || '/' || (SELECT count(*) FROM snapshot)" 2>/dev/null || echo none; }
# What a home holds besides its repository, logs, locks, the folder vms/qemu that holds VMs and
# image/.hashes (the remembered SHA-256 of its images' disks, core/hashmemo.h: a cache) — a
# refusal must not change it.
files() { (cd "$1" && find . -path ./locks -prune -o -path ./log -prune -o -path ./cache -prune -o \
  ! -name 'repository.db*' ! -path ./vms ! -path ./vms/qemu ! -path ./image/.hashes -print | sort); }
# A copy of bundle $1 as $2 with bundle.json changed by the Python expression $3 (on dict m).
retar() {
  python3 - "$1" "$2" "$3" <<'P'
import io, json, sys, tarfile
src, dst, expr = sys.argv[1:]
with tarfile.open(src) as t, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as o:
    for ti in t:
        data = t.extractfile(ti).read()
        if ti.name == "bundle.json":
            m = json.loads(data); exec(expr); data = json.dumps(m).encode()
            ti.size = len(data)
        o.addfile(ti, io.BytesIO(data))
P
}

mkdir -p "$H1/hardware.d"
cp "$SRC/tests/fixtures/hardware/test-pc.yaml" "$H1/hardware.d/"
t=$(now)
out=$("$VM" init --linux --net user --accel tcg --hardware test-pc bbase bnet 2>&1 &&
      "$VM" snapshot --accel tcg bbase bvm 10.0.2.20 2>&1); rc=$?
echo "# init + snapshot: $(secs "$t" "$(now)") s"
tap_check "init and snapshot of the VM to move" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; exit 1; }
host=$(sqlite3 "$H1/repository.db" "SELECT hostname FROM snapshot WHERE vmname='bvm'")
tap_check "its start_args name files of its folder in the first home (what must move)" \
  grep -qF "file=$H1/vms/qemu/bvm/disk.qcow2.smbios/type0.bin" "$H1/vms/qemu/bvm/machineinfo.json"

# --- export ------------------------------------------------------------------------------------
t=$(now)
out=$("$VM" export --bundle bvm "$tmp/bvm.tar" 2>&1); rc=$?
echo "# export --bundle: $(secs "$t" "$(now)") s, $(stat -c %s "$tmp/bvm.tar" 2>/dev/null) bytes (the folder: $(du -sb "$H1/vms/qemu/bvm" | cut -f1) bytes)"
tap_check "export --bundle writes the bundle" test "$rc" = 0 -a -s "$tmp/bvm.tar"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
t=$(now)
out=$("$VM" export --bundle --with-image bvm "$tmp/bvm-img.tar" 2>&1); rc=$?
echo "# export --bundle --with-image: $(secs "$t" "$(now)") s, $(stat -c %s "$tmp/bvm-img.tar" 2>/dev/null) bytes (the image: $(stat -c %s "$H1/image/bbase.qcow2") bytes)"
tap_check "export --bundle --with-image writes the bundle" test "$rc" = 0 -a -s "$tmp/bvm-img.tar"
members=$(tar tf "$tmp/bvm.tar" | tr '\n' ' ')
tap_check "the bundle: bundle.json first, the VM's folder without its logs" test "$members" = \
  "bundle.json vm/disk.qcow2 vm/disk.qcow2.smbios/type0.bin vm/disk.qcow2.smbios/type3.bin vm/machineinfo.json vm/memory.snapshot "
tap_check "with the image: its disk too" bash -c "tar tf '$tmp/bvm-img.tar' | grep -qx image/bbase.qcow2"
sum=$(sha256sum "$H1/image/bbase.qcow2" | cut -d' ' -f1)
tap_check "bundle.json: format 1, the VM's row, the image's name, size and SHA-256" python3 -c '
import json, sys, tarfile
m = json.load(tarfile.open(sys.argv[1]).extractfile("bundle.json"))
assert m["format"] == 1 and m["vm"]["vmname"] == "bvm" and m["vm"]["hostname"] == sys.argv[4], m
assert m["image"]["name"] == "bbase" and m["image_sha256"] == sys.argv[2] and m["image_size"] == int(sys.argv[3]), m
assert m["home"] == sys.argv[5] and not m["with_image"]' "$tmp/bvm.tar" "$sum" "$(stat -c %s "$H1/image/bbase.qcow2")" "$host" "$H1"
before=$(sha256sum "$tmp/bvm.tar")
out=$("$VM" export --bundle bvm "$tmp/bvm.tar" 2>&1); rc=$?
tap_check "export refuses an existing FILE and leaves it" test "$rc" = 1 -a "$(sha256sum "$tmp/bvm.tar")" = "$before" -a \
  -n "$(grep -F 'exists; vmcloak does not overwrite it' <<<"$out")"
out=$("$VM" export --bundle nosuch "$tmp/nosuch.tar" 2>&1); rc=$?
tap_check "export of an unknown VM is refused, no file" test "$rc" = 1 -a ! -e "$tmp/nosuch.tar" -a ! -e "$tmp/nosuch.tar.part"
# A failed write (the file size limit: EFBIG) leaves neither FILE nor FILE.part.
out=$(trap '' XFSZ; ulimit -f 20000; "$VM" export --bundle bvm "$tmp/big.tar" 2>&1); rc=$?
tap_check "a failed export leaves no file and no .part" test "$rc" = 1 -a ! -e "$tmp/big.tar" -a ! -e "$tmp/big.tar.part"
[ "$rc" = 1 ] || echo "$out" | sed 's/^/# /'
# Ctrl-C while the tar is written: stopped as soon as FILE.part appears, then SIGINT.
"$VM" export --bundle --with-image bvm "$tmp/int.tar" >"$tmp/int.out" 2>&1 &
pid=$!
seen=
while kill -0 $pid 2>/dev/null; do
  if [ -e "$tmp/int.tar.part" ]; then kill -STOP $pid; seen=1; break; fi
done
kill -INT $pid 2>/dev/null; kill -CONT $pid 2>/dev/null
wait $pid; rc=$?
tap_check "Ctrl-C during export: exits non-zero, no file, no .part" test -n "$seen" -a "$rc" -ne 0 -a ! -e "$tmp/int.tar" -a ! -e "$tmp/int.tar.part"
tap_check "... and says so" grep -q 'export of bvm interrupted; no bundle was written' "$tmp/int.out"

# --- refusals in the second home ----------------------------------------------------------------
export VMCLOAK_HOME=$H2
refused() { # NAME RC-OUT-PATTERN: exit 1, the line, and the second home unchanged
  tap_check "$1: refused with one line" test "$rc" = 1 -a -n "$(grep -F -- "$2" <<<"$out")"
  [ "$rc" = 1 ] && grep -qF -- "$2" <<<"$out" || echo "$out" | sed 's/^/# /'
  tap_check "$1: nothing written" test "$(rows "$H2")" = "$rows_before" -a "$(files "$H2")" = "$files_before"
}
"$VM" list images >/dev/null 2>&1 # the repository, created empty
rows_before=$(rows "$H2") files_before=$(files "$H2")
out=$("$VM" import --bundle "$tmp/bvm.tar" 2>&1); rc=$?
refused "no local image with the bundle's hash" \
  "no image here has the disk of image bbase ($(stat -c %s "$H1/image/bbase.qcow2") bytes, SHA-256 $sum) that bvm is an overlay of: import that image first, or export the VM with 'vmcloak export --bundle bvm FILE --with-image'"
out=$("$VM" import --bundle "$SRC/README.md" 2>&1); rc=$?
refused "a file that is no tar" "is not a bundle of 'vmcloak export --bundle'"
tar cf "$tmp/foreign.tar" -C "$SRC" README.md
out=$("$VM" import --bundle "$tmp/foreign.tar" 2>&1); rc=$?
refused "a tar without bundle.json" "is not a bundle of 'vmcloak export --bundle' (its first member is not bundle.json)"
retar "$tmp/bvm-img.tar" "$tmp/newer.tar" 'm["format"] = 2'
out=$("$VM" import --bundle "$tmp/newer.tar" 2>&1); rc=$?
refused "a newer format" "is a bundle of format 2, made by a newer vmcloak; this one (0.1.0) reads format 1: update vmcloak"
retar "$tmp/bvm-img.tar" "$tmp/libvirt.tar" 'm["vm"]["libvirt_uri"] = "qemu+ssh://sandbox2/system"'
out=$("$VM" import --bundle "$tmp/libvirt.tar" 2>&1); rc=$?
refused "a libvirt VM" "a VM of the libvirt host qemu+ssh://sandbox2/system: a bundle carries local VMs only"
head -c $(( $(stat -c %s "$tmp/bvm-img.tar") / 2 )) "$tmp/bvm-img.tar" > "$tmp/cut.tar"
out=$("$VM" import --bundle "$tmp/cut.tar" 2>&1); rc=$?
refused "a cut bundle (half of it)" "cut.tar is damaged ("
# One byte of the memory file changed: the tar is whole, the member's SHA-256 is not.
cp "$tmp/bvm-img.tar" "$tmp/flip.tar"
python3 - "$tmp/flip.tar" <<'P'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    off = t.getmember("vm/memory.snapshot").offset_data + 4096
with open(sys.argv[1], "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xff]))
P
out=$("$VM" import --bundle "$tmp/flip.tar" 2>&1); rc=$?
refused "a bundle with one byte changed" "vm/memory.snapshot is not what bundle.json says"
# Hostile bundles (issue 14 review #6): one thing changed, bundle.json's size and SHA-256 of the
# changed member fixed up, so only the check under test can refuse it.
craft() { # SRC DST MODE [ARG]
  python3 - "$@" <<'P'
import hashlib, io, json, sys, tarfile
src, dst, mode = sys.argv[1:4]
arg = sys.argv[4] if len(sys.argv) > 4 else None
with tarfile.open(src) as t:
    members = [(ti, t.extractfile(ti).read()) for ti in t]
m = json.loads(members[0][1])
def fix(name, data):
    for f in m["files"]:
        if f["name"] == name:
            f["size"] = len(data); f["sha256"] = hashlib.sha256(data).hexdigest()
out = []
for ti, data in members:
    if mode == "start_args" and ti.name == "vm/machineinfo.json":
        mi = json.loads(data); mi["machine"]["start_args"] += json.loads(arg)
        data = json.dumps(mi).encode(); fix(ti.name, data)
    if mode == "disk" and ti.name == "vm/disk.qcow2":
        data = open(arg, "rb").read(); fix(ti.name, data)
    if mode == "space":
        for f in m["files"]:
            if f["name"] == "vm/memory.snapshot": f["size"] = 1 << 60
    out.append((ti, data))
with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as o:
    for ti, data in out:
        if ti.name == "bundle.json":
            data = json.dumps(m).encode()
        if mode.startswith("sparse") and ti.name == "vm/memory.snapshot":
            # A PAX 0.1 sparse member of the listed size: blocks 0-8191, then one past the end
            # (sparse-far, 1 TiB) or one rewinding into what was written (sparse-back).
            far = mode == "sparse-far"
            ti.pax_headers = {"GNU.sparse.size": str(len(data)), "GNU.sparse.numblocks": "2",
                              "GNU.sparse.map": "0,8192,%d,4096" % ((1 << 40) if far else 4096),
                              "GNU.sparse.name": ti.name}
            data = data[:12288]
        ti.size = len(data)
        o.addfile(ti, io.BytesIO(data))
P
}
hostile() { # NAME MODE ARG PATTERN
  craft "$tmp/bvm-img.tar" "$tmp/hostile.tar" "$2" "$3"
  out=$("$VM" import --bundle "$tmp/hostile.tar" 2>&1); rc=$?
  refused "$1" "$4"
  rm -f "$tmp/hostile.tar"
}
hostile "start_args with -netdev helper= (runs a program)" start_args '["-netdev", "bridge,id=x,helper=/tmp/x"]' \
  "its start_args are not what vmcloak snapshot makes ('-netdev bridge,id=x,helper=/tmp/x': 'helper=/tmp/x' is not a value vmcloak renders there)"
hostile "start_args with -chardev file= outside the VM's folder" start_args '["-chardev", "file,id=c,path=/root/.ssh/authorized_keys"]' \
  "its start_args are not what vmcloak snapshot makes ('-chardev file,id=c,path=/root/.ssh/authorized_keys'"
hostile "start_args with a -drive of /dev/sda" start_args '["-drive", "file=/dev/sda,format=raw,if=none,id=d2"]' \
  "the file /dev/sda is neither the disposable disk nor in the VM's folder"
hostile "start_args with -plugin" start_args '["-plugin", "/tmp/evil.so"]' \
  "'-plugin': vmcloak never renders this in start_args"
tap_check "the unchanged start_args of the same bundle pass (the refusals above are the new check's)" \
  "$BUILD/tests/e2e/check-machineinfo" "$H1/vms/qemu/bvm/machineinfo.json" bvm
qemu-img create -q -f raw "$tmp/victim.raw" 1M
qemu-img create -q -f qcow2 -o data_file="$tmp/victim.raw" "$tmp/datafile.qcow2" 1M
hostile "an overlay with a qcow2 data-file" disk "$tmp/datafile.qcow2" \
  "its qcow2 header names an external data file $tmp/victim.raw (vmcloak makes plain qcow2 overlays); refusing it"
qemu-img create -q -f raw "$tmp/rawdisk.raw" 1M
hostile "an overlay that is no qcow2" disk "$tmp/rawdisk.raw" "it is no qcow2 (vmcloak makes plain qcow2 overlays)"
hostile "a sparse member with a block 1 TiB past its listed size" sparse-far "" \
  "member vm/memory.snapshot has data at bytes 1099511627776-1099511631872, outside the"
hostile "a sparse member that rewinds into what it wrote" sparse-back "" \
  "member vm/memory.snapshot has data at bytes 4096-8192, outside the"
hostile "listed sizes larger than the free space" space "" "to unpack; $H2/vms/qemu has"
tap_check "no temp folder left in the second home" test -z "$(find "$H2" -name '.*.bundle-*')"

# --- import with the image ----------------------------------------------------------------------
t=$(now)
out=$("$VM" import --bundle "$tmp/bvm-img.tar" 2>&1); rc=$?
echo "# import --bundle (with the image): $(secs "$t" "$(now)") s"
tap_check "import --bundle of the bundle with the image" test "$rc" = 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_check "the image and the VM are recorded" test "$(rows "$H2")" = "1/1" -a \
  "$(sqlite3 "$H2/repository.db" "SELECT path || ' ' || mode FROM image WHERE name='bbase'")" = "$H2/image/bbase.qcow2 multiattach"
tap_check "the image's disk is the same" test "$(sha256sum < "$H2/image/bbase.qcow2")" = "$(sha256sum < "$H1/image/bbase.qcow2")"
tap_check "the overlay is backed by the second home's image" test \
  "$(qemu-img info -U --output=json "$H2/vms/qemu/bvm/disk.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["backing-filename"])')" = "$H2/image/bbase.qcow2"
mi=$H2/vms/qemu/bvm/machineinfo.json
tap_check "machineinfo.json passes Cuckoo3's import rules" "$BUILD/tests/e2e/check-machineinfo" "$mi" bvm
tap_check "its start_args name the second home's SMBIOS files" \
  grep -qF "file=$H2/vms/qemu/bvm/disk.qcow2.smbios/type0.bin" "$mi"
tap_check "no file of the second home names the first" test -z "$(grep -rlaF "$H1/" "$H2" --exclude-dir=cache --exclude-dir=log)"
tap_check "the row keeps the VM's address, hostname and MAC" test \
  "$(sqlite3 "$H2/repository.db" "SELECT ipaddr || ' ' || hostname || ' ' || mac FROM snapshot WHERE vmname='bvm'")" = \
  "$(sqlite3 "$H1/repository.db" "SELECT ipaddr || ' ' || hostname || ' ' || mac FROM snapshot WHERE vmname='bvm'")"
# The first home gone (moved away): whatever still named it would fail now.
mv "$H1" "$tmp/home1-away"
out=$("$VM" restore bvm --exec hostname 2>&1); rc=$?
echo "# $(grep restored <<<"$out")"
tap_check "restore in the second home, the first one gone: the agent answers with the VM's hostname" \
  test "$rc" = 0 -a -n "$host" -a -n "$(grep -x "$host" <<<"$out")"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
mv "$tmp/home1-away" "$H1"

# --- import by hash, refusals against a home that has the image ----------------------------------
rows_before=$(rows "$H2") files_before=$(files "$H2")
out=$("$VM" import --bundle "$tmp/bvm.tar" 2>&1); rc=$?
refused "a name in use" "a snapshot VM named bvm exists here; import under another name with --name NAME"
retar "$tmp/bvm.tar" "$tmp/wrong.tar" 'm["image_sha256"] = "ab" * 32'
out=$("$VM" import --bundle "$tmp/wrong.tar" --name bwrong 2>&1); rc=$?
refused "an image of the same name and size but another hash" "no image here has the disk of image bbase"
retar "$tmp/bvm-img.tar" "$tmp/clash.tar" 'm["image_sha256"] = "ab" * 32
for f in m["files"]:
    if f["name"] == "image/bbase.qcow2": f["sha256"] = "ab" * 32'
out=$("$VM" import --bundle "$tmp/clash.tar" --name bclash 2>&1); rc=$?
refused "a bundled image whose name is taken by another disk" \
  "image bbase exists here with another disk than the bundle's; record the bundle's image under another name with --image NEWNAME"
out=$("$VM" import --bundle "$tmp/bvm.tar" --name bnone --image nosuch 2>&1); rc=$?
refused "--image naming no image" "no image named 'nosuch' here"
# Ctrl-C while the bundle is unpacked: stopped as soon as its temp folder appears, then SIGINT.
"$VM" import --bundle "$tmp/bvm.tar" --name bint >"$tmp/iint.out" 2>&1 &
pid=$!
seen=
while kill -0 $pid 2>/dev/null; do
  if compgen -G "$H2/vms/qemu/.bint.bundle-*" >/dev/null; then kill -STOP $pid; seen=1; break; fi
done
kill -INT $pid 2>/dev/null; kill -CONT $pid 2>/dev/null
wait $pid; rc=$?
tap_check "Ctrl-C during import: exits non-zero" test -n "$seen" -a "$rc" -ne 0
tap_check "Ctrl-C during import: no folder, no row, no temp folder" test "$(rows "$H2")" = "$rows_before" -a \
  "$(files "$H2")" = "$files_before"
# Killed hard while unpacking: its temp folder stays until 'vmcloak cleanup VM'.
"$VM" import --bundle "$tmp/bvm.tar" --name bkill >/dev/null 2>&1 &
pid=$!
seen=
while kill -0 $pid 2>/dev/null; do
  if compgen -G "$H2/vms/qemu/.bkill.bundle-*" >/dev/null; then kill -KILL $pid; seen=1; break; fi
done
wait $pid 2>/dev/null
tap_check "SIGKILL during import leaves its temp folder and no row" test -n "$seen" -a "$(rows "$H2")" = "$rows_before" -a \
  -d "$H2/vms/qemu/.bkill.bundle-$pid"
out=$("$VM" cleanup bkill 2>&1); rc=$?
tap_check "cleanup VM removes it" test "$rc" = 0 -a "$(files "$H2")" = "$files_before" -a \
  -n "$(grep -F "removed $H2/vms/qemu/.bkill.bundle-$pid" <<<"$out")"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'

t=$(now)
out=$("$VM" import --bundle "$tmp/bvm.tar" --name bvm2 2>&1); rc=$?
echo "# import --bundle (image found by hash): $(secs "$t" "$(now)") s"
tap_check "import --bundle --name: the image found here by its SHA-256" test "$rc" = 0 -a \
  -n "$(grep -F 'Importing bvm2 from' <<<"$out")" -a -n "$(grep -F 'found by its SHA-256' <<<"$out")"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_check "... one image, two VMs" test "$(rows "$H2")" = "1/2"
tap_check "... machineinfo.json names the new VM and its own folder" \
  "$BUILD/tests/e2e/check-machineinfo" "$H2/vms/qemu/bvm2/machineinfo.json" bvm2
tap_check "... and no other VM's folder" bash -c "! grep -qF '$H2/vms/qemu/bvm/' '$H2/vms/qemu/bvm2/machineinfo.json' && grep -qF '$H2/vms/qemu/bvm2/disk.qcow2.smbios/' '$H2/vms/qemu/bvm2/machineinfo.json'"
out=$("$VM" restore bvm2 --exec hostname 2>&1); rc=$?
tap_check "restore bvm2: the agent answers with the VM's hostname" test "$rc" = 0 -a -n "$(grep -x "$host" <<<"$out")"
tap_check "no QEMU left" test -z "$(pgrep -f -- "$tmp/" | grep -v "^$$\$")"

# --- the command line ---------------------------------------------------------------------------
out=$("$VM" import --bundle "$tmp/bvm.tar" bx disk lnet 2>&1); rc=$?
tap_check "--bundle with NAME DISK ADAPTER is a usage error" test "$rc" = 2 -a -n "$(grep -F 'takes no NAME DISK ADAPTER' <<<"$out")"
out=$("$VM" import --bundle "$tmp/bvm.tar" --linux 2>&1); rc=$?
tap_check "--bundle with a disk import's option is a usage error" test "$rc" = 2 -a -n "$(grep -F -- '--linux is an option of importing a disk' <<<"$out")"
out=$("$VM" import --name x 2>&1); rc=$?
tap_check "--name without --bundle is a usage error" test "$rc" = 2 -a -n "$(grep -F -- '--name goes with --bundle FILE' <<<"$out")"
tap_done
