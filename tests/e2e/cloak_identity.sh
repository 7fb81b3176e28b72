#!/usr/bin/env bash
# End-to-end: a hardware profile through the pipeline on the built-in linux guest under TCG
# (issue 13). init --hardware (the tests' own profile in the home's hardware.d, so shipped data
# cannot change the test), snapshot --count 2, then each VM restored twice: inside the guest its
# DMI serials and UUID, vendor and product, machine id, NIC MAC and disk serial are read through
# the agent (restore --exec) and must be its own (different between the two VMs), what its
# snapshot row's identity says, what its machineinfo.json start_args carry, and the same on the
# second restore. Also: an unknown profile name and a profile gone from the catalog are refused
# before anything boots, and the QEMU log of a named CPU model under TCG holds only warnings.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
SRC=${VMCLOAK_SOURCE_ROOT:?}
if ! pipeline_home vmcloak-cloakid; then
  tap_skip "cloak_identity" "no static agent in $VMCLOAK_BUILD_ROOT/agent (sanitizer build?)"
  tap_done; exit 0
fi
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
qemus() { pgrep -f -- "$VMCLOAK_HOME" | grep -v "^$$\$" || true; }
one_line() { test "$(printf '%s\n' "$1" | grep -c .)" = 1; }
# exit code $1 is $2 and output $3 is one line
rc_one_line() { test "$1" = "$2" && one_line "$3"; }
# two files alike; else their difference as TAP comments
same() { cmp -s "$1" "$2" || { diff "$1" "$2" | sed 's/^/# /'; return 1; }; }
mkdir -p "$VMCLOAK_HOME/hardware.d"
cp "$SRC/tests/fixtures/hardware/test-pc.yaml" "$VMCLOAK_HOME/hardware.d/"

# An unknown name: one line listing the names, before anything is made.
out=$("$VM" init --linux --net user --accel tcg --hardware nosuch-pc cbad cnet 2>&1); rc=$?
tap_check "init --hardware with an unknown name is a usage error in one line" rc_one_line "$rc" 2 "$out"
tap_check "the line lists the profiles, the user's too" grep -q "unknown hardware profile 'nosuch-pc' (known: .*test-pc" <<<"$out"
tap_check "nothing was made for it" test ! -e "$VMCLOAK_HOME/image/cbad.qcow2" -a -z "$(qemus)"

# A Windows guest takes the profile's CPUs, RAM and disk size unless told otherwise (seen in
# init's first lines; the missing ISO then stops it before any machine starts).
out=$("$VM" init --win10x64 --iso "$tmp/none.iso" --net user --hardware test-pc w10 wnet 2>&1)
tap_check "Windows takes the profile's RAM, CPUs and disk (256 GB as sold)" test -n "$(grep -F '8192 MiB RAM' <<<"$out")" -a \
  -n "$(grep -F 'Hardware test-pc: Test PC, a Dell OptiPlex 7060 Tower (2018, Core i5-8500, Q370); 6 CPUs, a 238.4 GiB disk' <<<"$out")"
out=$("$VM" init --win10x64 --iso "$tmp/none.iso" --net user --hardware test-pc --cpus 2 --ramsize 4096 --hddsize 64 w10 wnet 2>&1)
tap_check "--cpus, --ramsize and --hddsize win over the profile's" test -n "$(grep -F '4096 MiB RAM' <<<"$out")" -a \
  -n "$(grep -F '2 CPUs, a 64.0 GiB disk' <<<"$out")"
tap_check "nothing was made for them" test -z "$(ls "$VMCLOAK_HOME/image")" -a -z "$(qemus)"

t=$(now)
out=$("$VM" init --linux --net user --accel tcg --hardware test-pc cbase cnet 2>&1); rc=$?
echo "# init --hardware test-pc: $(secs "$t" "$(now)") s"
tap_check "init --linux --hardware test-pc succeeds" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; exit 1; }
tap_check "list images shows the profile" bash -c "'$VM' list images --format table | grep -q '^cbase .* test-pc '"
tap_check "list images --json has it" python3 -c 'import json,sys; assert json.load(sys.stdin)[0]["hardware"] == "test-pc"' \
  <<<"$("$VM" list images --json)"
tap_check "the linux guest keeps its own CPUs and RAM (1, 512 MiB)" \
  test "$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT cpus || ' ' || ramsize FROM image WHERE name='cbase'")" = "1 512"
tap_check "the image's MAC is its identity's, of one of the profile's OUIs" python3 - "$VMCLOAK_HOME/repository.db" <<'P'
import json, sqlite3, sys
mac, ident = sqlite3.connect(sys.argv[1]).execute("SELECT mac, identity FROM image WHERE name='cbase'").fetchone()
assert json.loads(ident)["mac"] == mac and mac[:8] in ("d8:9e:f3", "e4:54:e8"), (mac, ident)
P

t=$(now)
out=$("$VM" snapshot --accel tcg --count 2 cbase cvm 2>&1); rc=$?
echo "# snapshot --count 2: $(secs "$t" "$(now)") s"
tap_check "snapshot --count 2 of a profile image succeeds" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; exit 1; }
tap_check "no QEMU left after snapshot" test -z "$(qemus)"
log=$VMCLOAK_HOME/vms/qemu/cvm1/qemu.log
warn=$(grep -c "warning: TCG doesn't support requested feature" "$log")
echo "# Skylake-Client under TCG: $warn feature warnings in cvm1's qemu.log"
tap_check "the QEMU log holds nothing but TCG's CPU feature warnings" \
  test -z "$(grep -v "warning: TCG doesn't support requested feature" "$log")"

# What the guest reads; the identity each VM must show, from its row (list snapshots --json)
# and its start_args, as key=value lines.
read_cmd='cd /sys/class/dmi/id && for f in product_serial product_uuid board_serial chassis_serial sys_vendor product_name; do echo "$f=$(cat $f)"; done; echo "machine_id=$(cat /etc/machine-id)"; echo "mac=$(cat /sys/class/net/eth0/address)"; echo "disk_serial=$(tail -c +5 /sys/block/sda/device/vpd_pg80 | tr -d " \0")"'
"$VM" list snapshots --json > "$tmp/snaps.json"
expect() {
  python3 - "$tmp/snaps.json" "$VMCLOAK_HOME/vms/qemu/$1/machineinfo.json" "$1" <<'P'
import json, sys
vm = sys.argv[3]
row = [s for s in json.load(open(sys.argv[1])) if s["vmname"] == vm][0]
i = row["identity"]
mi = json.load(open(sys.argv[2]))["machine"]
args = mi["start_args"]
# start_args describe the same machine: each identifier in the QEMU option that sets it.
opt = lambda prefix: [a for a in args if a.startswith(prefix)]
assert "serial=%s,uuid=%s," % (i["system_serial"], i["uuid"]) in opt("type=1,")[0], opt("type=1,")
assert "serial=" + i["baseboard_serial"] in opt("type=2,")[0]
# The chassis (type 3) is a binary table beside the VM's disk (-smbios file=): its serial is in it.
t3 = [a[len("file="):] for a in opt("file=") if a.endswith("/type3.bin")]
assert len(t3) == 1 and i["chassis_serial"].encode() + b"\0" in open(t3[0], "rb").read(), t3
assert ",serial=%s," % i["disk_serial"] in opt("ide-hd,")[0]
assert ",mac=%s," % i["mac"] in opt("e1000e,")[0]
assert row["mac"] == mi["mac"] == i["mac"], (row["mac"], mi["mac"], i["mac"])
for k, v in (("product_serial", i["system_serial"]), ("product_uuid", i["uuid"]),
             ("board_serial", i["baseboard_serial"]), ("chassis_serial", i["chassis_serial"]),
             ("sys_vendor", "Dell Inc."), ("product_name", "OptiPlex 7060"), ("machine_id", i["machine_id"]),
             ("mac", i["mac"]), ("disk_serial", i["disk_serial"])):
    print("%s=%s" % (k, v))
P
}
for v in cvm1 cvm2; do
  tap_check "$v's machineinfo.json passes Cuckoo3's import rules" \
    "$VMCLOAK_BUILD_ROOT/tests/e2e/check-machineinfo" "$VMCLOAK_HOME/vms/qemu/$v/machineinfo.json" "$v"
  expect "$v" > "$tmp/$v.want"; rc=$?
  tap_check "$v: its row's identity is what its machineinfo.json start_args carry" test "$rc" = 0 -a -s "$tmp/$v.want"
  for n in 1 2; do
    "$VM" restore "$v" --exec "$read_cmd" > "$tmp/$v.out$n" 2>&1; rc=$?
    grep -E '^[a-z_]+=' "$tmp/$v.out$n" > "$tmp/$v.got$n"
    tap_check "$v, restore $n: the agent answers" test "$rc" = 0
    tap_check "$v, restore $n: the guest sees its own identity" same "$tmp/$v.want" "$tmp/$v.got$n"
  done
  tap_check "$v: the same identity on both restores" same "$tmp/$v.got1" "$tmp/$v.got2"
done
tap_check "no QEMU left after restore" test -z "$(qemus)"
for k in product_serial product_uuid board_serial chassis_serial machine_id mac disk_serial; do
  a=$(grep "^$k=" "$tmp/cvm1.got1") b=$(grep "^$k=" "$tmp/cvm2.got1")
  tap_check "the two VMs differ in $k" test -n "${a#*=}" -a "$a" != "$b"
done
tap_check "and have the profile's vendor and product alike" \
  test "$(grep -E '^(sys_vendor|product_name)=' "$tmp/cvm1.got1")" = "$(grep -E '^(sys_vendor|product_name)=' "$tmp/cvm2.got1")"

# The profile's file goes: snapshot refuses before any QEMU starts, naming the file to put back.
mv "$VMCLOAK_HOME/hardware.d/test-pc.yaml" "$tmp/"
out=$("$VM" snapshot --accel tcg cbase cgone 2>&1); rc=$?
tap_check "a profile gone from the catalog is refused in one line" rc_one_line "$rc" 1 "$out"
tap_check "the line names the image, the profile and where to put it back" \
  grep -qF "image cbase was made with hardware profile test-pc, which is in neither $SRC/data/hardware nor $VMCLOAK_HOME/hardware.d: put its YAML file back" <<<"$out"
tap_check "nothing was made for it" test ! -e "$VMCLOAK_HOME/vms/qemu/cgone" -a -z "$(qemus)" -a \
  "$(sqlite3 "$VMCLOAK_HOME/repository.db" 'SELECT count(*) FROM snapshot')" = 2

# Put back edited (another BIOS version): the image's VMs would be another machine, which one
# warning says before anything starts (--tpm on an image without one stops snapshot right after).
sed 's/^  version: 1\.4\.2$/  version: 1.5.0/' "$tmp/test-pc.yaml" >"$VMCLOAK_HOME/hardware.d/test-pc.yaml"
tap_check "(the edit took)" grep -qx '  version: 1.5.0' "$VMCLOAK_HOME/hardware.d/test-pc.yaml"
out=$("$VM" snapshot --accel tcg --tpm cbase cedit 2>&1)
tap_check "a profile edited since init is named in one warning" test "$(grep -c 'changed since' <<<"$out")" = 1 -a -n "$(grep -F \
  "vmcloak: warning: hardware profile test-pc changed since image cbase was made ($VMCLOAK_HOME/hardware.d/test-pc.yaml): its VMs get the new values, and Windows may see new devices; put the old file back to keep the image's machine" <<<"$out")"
cp "$tmp/test-pc.yaml" "$VMCLOAK_HOME/hardware.d/test-pc.yaml"
out=$("$VM" snapshot --accel tcg --tpm cbase cedit 2>&1)
tap_check "the file as it was: no warning" test -z "$(grep -F 'changed since' <<<"$out")"

# A clone's identity has the clone's own MAC, as its row does.
"$VM" clone cbase cclone >/dev/null 2>&1
tap_check "clone: the row's MAC is its identity's, another than the source's, of the same OUI" python3 - "$VMCLOAK_HOME/repository.db" <<'P'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = "SELECT mac, json_extract(identity, '$.mac') FROM image WHERE name=?"
(m1, i1), (m2, i2) = db.execute(q, ("cbase",)).fetchone(), db.execute(q, ("cclone",)).fetchone()
assert m2 == i2 and m1 == i1 and m1 != m2 and m1[:9] == m2[:9], (m1, i1, m2, i2)
P
tap_done
