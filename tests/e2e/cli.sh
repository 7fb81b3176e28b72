#!/usr/bin/env bash
# End-to-end CLI checks against the built binary: help for every command, dispatch errors,
# vmcloak-qemubridge, list on fresh/VMCloak repositories, delimg/delvm/clone, concurrency.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
tmp=$(mktemp -d /tmp/vmcloak-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMCLOAK_HOME=$tmp/home

for c in init install modify snapshot restore list delimg delvm clone createiso isodownload bridge doctor \
         migrate export cleanup help; do
  out=$("$VM" "$c" --help 2>&1); rc=$?
  tap_check "$c --help exits 0 and shows usage" test "$rc" = 0 -a -n "$(grep -F "Usage: vmcloak" <<<"$out")"
done
out=$("$VM" init --help)
for o in --ip --port --network --gateway --dns --dns2 --cpus --ramsize --vramsize --hddsize --tempdir \
         --resolution --vm-visible --vrde --vrde-port --win7x64 --win81x64 --win10x64 --linux --iso-mount \
         --serial-key --product --python-version --iso --vm --net; do
  tap_check "init --help names $o" grep -qF -- "$o" <<<"$out"
done
tap_check "init --help shows defaults" grep -qF '[default: 8000]' <<<"$out"

"$VM" --version | grep -q '^vmcloak ' ; tap_check "--version" test $? = 0
"$VM" --help | grep -q 'Commands:' ; tap_check "--help lists commands" test $? = 0

out=$("$VM" snapshto 2>&1); rc=$?
tap_check "unknown command exits 2" test "$rc" = 2
tap_check "unknown command suggests" grep -q "did you mean 'snapshot'" <<<"$out"
out=$("$VM" init --hdsize 3 a b 2>&1); rc=$?
tap_check "unknown option exits 2" test "$rc" = 2
tap_check "unknown option suggests" grep -q "did you mean '--hddsize'" <<<"$out"
"$VM" list 2>/dev/null; tap_check "missing argument exits 2" test $? = 2
"$VM" --bogus list 2>/dev/null; tap_check "unknown global option exits 2" test $? = 2

# --json to a command with no JSON document: a usage error in one line (not plain text on stdout
# that a script's JSON parser chokes on), before the home is touched; the list it names is the one
# the global --json help line gives.
for c in "migrate" "delvm x" "cleanup x" "clone a b" "delimg x" "deps fetch" "export x" "createiso x"; do
  out=$("$VM" --json $c 2>"$tmp/err"); rc=$?
  tap_check "--json $c: exit 2, nothing on stdout, one line" \
    test "$rc" = 2 -a -z "$out" -a "$(grep -c . "$tmp/err")" = 1 -a -n "$(grep -F "${c%% *} has no --json output; the commands that have it: " "$tmp/err")"
done
"$VM" migrate --json >/dev/null 2>"$tmp/err"; tap_check "migrate --json (after the command): exit 2 too" test $? = 2
have=$(sed -n 's/.*the commands that have it: //p' "$tmp/err")
tap_check "the refusal names init, list and internet status" grep -qF 'init, install, snapshot, restore, cloakcheck, list, internet status, doctor' <<<"$have"
tap_check "--json's help line lists the same commands" test -n "$("$VM" --help | grep -F -- "--json" | grep -F "($have;")"
tap_check "--json refused before the home is made" test ! -e "$VMCLOAK_HOME"

out=$("$(dirname "$VM")/vmcloak-qemubridge" --help 2>&1); rc=$?
tap_check "vmcloak-qemubridge --help" test "$rc" = 0 -a -n "$(grep -F 'vmcloak bridge' <<<"$out")"

# vmcloak-iptables (VMCloak's script's name): -h or fewer than 3 arguments show its usage;
# do|undo map onto internet on|off, seen here in the refusal as nobody (tests/e2e/internet.sh runs
# them as root in network namespaces).
IPT=$(dirname "$VM")/vmcloak-iptables
out=$("$IPT" -h 2>&1); rc=$?
tap_check "vmcloak-iptables -h: its usage, exit 0" test "$rc" = 0 -a -n "$(grep -Fx 'Usage: vmcloak-iptables do|undo VM_IP IFACE...' <<<"$out")"
out=$("$IPT" do 192.168.30.9 2>&1 >/dev/null); rc=$?
tap_check "vmcloak-iptables with 2 arguments: its usage on stderr, exit 2" test "$rc" = 2 -a -n "$(grep -F 'Usage: vmcloak-iptables' <<<"$out")"
out=$("$IPT" redo 192.168.30.9 eth0 2>&1); rc=$?
tap_check "vmcloak-iptables redo: exit 2 naming do and undo" test "$rc" = 2 -a -n "$(grep -F 'use do or undo' <<<"$out")"
nobody() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi; }
# lo: --via must name an interface that exists here (the only one every host has).
out=$(nobody "$IPT" do 192.168.30.9 lo 2>&1); rc=$?
tap_check "vmcloak-iptables do IP IF as nobody: internet on IP --via IF, refused" \
  test "$rc" = 1 -a -n "$(grep -F "run: sudo $(dirname "$VM")/vmcloak internet on 192.168.30.9 --via lo" <<<"$out")"
out=$(nobody "$IPT" undo 192.168.30.9 eth0 2>&1); rc=$?
tap_check "vmcloak-iptables undo IP IF as nobody: internet off IP, refused" \
  test "$rc" = 1 -a -n "$(grep -E "run: sudo .*/vmcloak internet off 192.168.30.9\$" <<<"$out")"
tap_check "--help does not create the home" test ! -e "$VMCLOAK_HOME"
out=$("$VM" list images --format table 2>&1); rc=$?
tap_check "list images on a new home" test "$rc" = 0 -a -n "$(grep -F 'No images' <<<"$out")"
tap_check "home created 0700" test "$(stat -c %a "$VMCLOAK_HOME")" = 700
tap_check "repository created" test -s "$VMCLOAK_HOME/repository.db"
tap_check "layout created" test -d "$VMCLOAK_HOME/image" -a -d "$VMCLOAK_HOME/deps" -a -d "$VMCLOAK_HOME/iso"
tap_check "list json is an empty array" test "$("$VM" list images --json | tr -d ' \n')" = "[]"
"$VM" list frobs 2>/dev/null; tap_check "unknown list kind exits 2" test $? = 2

# list hardware: the shipped profiles; ~/.vmcloak/hardware.d replaces one whole; a bad one is
# refused with FILE:LINE: PROFILE: FIELD.
out=$("$VM" list hardware); rc=$?
tap_check "list hardware: a header and one line per shipped profile" \
  test "$rc" = 0 -a "$(wc -l <<<"$out")" = "$(( $(ls "$VMCLOAK_SOURCE_ROOT"/data/hardware/*.yaml | wc -l) + 1 ))"
tap_check "... name, vendor, form, year, description" grep -qE '^dell-optiplex-7050 +Dell +desktop +2017 Dell OptiPlex 7050' <<<"$out"
tap_check "list hardware --json has every field" bash -c "'$VM' list hardware --json | python3 -c 'import json,sys; p=json.load(sys.stdin)[0]; sys.exit(0 if p[\"nic\"][\"ouis\"] and p[\"bios\"][\"date\"] and p[\"disks\"][0][\"firmware\"] and p[\"acpi\"][\"oem_id\"] else 1)'"
mkdir -p "$VMCLOAK_HOME/hardware.d"
sed 's/^description: .*/description: My own OptiPlex/' "$VMCLOAK_SOURCE_ROOT/data/hardware/dell-optiplex-7050.yaml" \
  >"$VMCLOAK_HOME/hardware.d/dell-optiplex-7050.yaml"
tap_check "hardware.d replaces a shipped profile" bash -c "'$VM' list hardware | grep -q '^dell-optiplex-7050 .*My own OptiPlex'"
sed 's/^year: .*/year: 1999/' "$VMCLOAK_SOURCE_ROOT/data/hardware/dell-optiplex-7050.yaml" \
  >"$VMCLOAK_HOME/hardware.d/dell-optiplex-7050.yaml"
out=$("$VM" list hardware 2>&1); rc=$?
tap_check "a bad profile: exit 1 and FILE:LINE: PROFILE: FIELD" test "$rc" = 1 -a -n "$(grep -E "hardware.d/dell-optiplex-7050.yaml:[0-9]+: dell-optiplex-7050: year: '1999' is not" <<<"$out")"
tap_check "... and then says to fix or move it" test "$(tail -n1 <<<"$out")" = "vmcloak: fix that file or move it out of $VMCLOAK_HOME/hardware.d"
out=$("$VM" --json doctor 2>/dev/null)
tap_check "doctor warns about it, with the fix" python3 -c '
import json, sys
c = {x["id"]: x for x in json.loads(sys.argv[1])["checks"]}["hardware"]
assert c["status"] == "warn" and "FILE:LINE above" in c["detail"], c
assert c["fix"] == "fix that file or move it out of " + sys.argv[2], c' "$out" "$VMCLOAK_HOME/hardware.d"
rm -r "$VMCLOAK_HOME/hardware.d"
out=$("$VM" doctor 2>&1)
tap_check "doctor counts the profiles when they load" \
  grep -qE "hardware profiles \(init --hardware\) +$(ls "$VMCLOAK_SOURCE_ROOT"/data/hardware/*.yaml | wc -l) loaded" <<<"$out"
sed 's/^  date: .*/  date: 2018-03-23/' "$VMCLOAK_SOURCE_ROOT/data/hardware/dell-optiplex-7050.yaml" >"$tmp/dell-optiplex-7050.yaml"
out=$("$VM" list hardware --file "$tmp/dell-optiplex-7050.yaml" 2>&1); rc=$?
tap_check "list hardware --file checks a profile you write" test "$rc" = 1 -a "$(grep -c . <<<"$out")" = 1 -a \
  -n "$(grep -F "$tmp/dell-optiplex-7050.yaml:11: dell-optiplex-7050: bios.date: '2018-03-23' is not MM/DD/YYYY" <<<"$out")"
out=$("$VM" list hardware --name-only --file "$VMCLOAK_SOURCE_ROOT/data/hardware/dell-optiplex-7050.yaml"); rc=$?
tap_check "... and lists only it when it is good" test "$rc" = 0 -a "$out" = dell-optiplex-7050
"$VM" list images --file x.yaml 2>/dev/null; tap_check "--file goes with list hardware only (exit 2)" test $? = 2

# A VMCloak-made repository: listed as is, writes need migrate, then work.
vh=$tmp/vmcloak-home; mkdir -p "$vh/image"
sqlite3 "$vh/repository.db" < "$VMCLOAK_SOURCE_ROOT/tests/fixtures/vmcloak-head.sql"
out=$("$VM" --home "$vh" list images --format table); rc=$?
tap_check "VMCloak repository lists" test "$rc" = 0 -a -n "$(grep -F win10base <<<"$out")"
# VMCloak stored no tags: the column shows those the catalog gives what the image has installed.
tap_check "a VMCloak image's tags come from its installed dependencies" \
  grep -qE '^win10base .* dotnet,threemonpatch,vcredist +dotnet:4.7.2' <<<"$out"
tap_check "... in --json too" bash -c "'$VM' --home '$vh' list images --json | tr -d ' \n' | grep -qF '\"tags\":[\"dotnet\",\"threemonpatch\",\"vcredist\"]'"
out=$("$VM" --home "$vh" list snapshots)
tap_check "VMCloak snapshots list" grep -q 'win10vm_2 .*192.168.30.11' <<<"$out"
tap_check "list images --json parses" bash -c "'$VM' --home '$vh' list images --json | grep -q '\"osversion\": \"win10x64\"'"
out=$("$VM" --home "$vh" delvm win10vm_1 2>&1); rc=$?
tap_check "write on old schema asks for migrate" test "$rc" = 1 -a -n "$(grep -F "vmcloak migrate" <<<"$out")"
out=$("$VM" --home "$vh" migrate 2>&1); rc=$?
tap_check "migrate upgrades" test "$rc" = 0 -a -n "$(grep -F 'from schema 1 to 6' <<<"$out")"
out=$("$VM" --home "$vh" migrate 2>&1)
tap_check "migrate again is a no-op" grep -qF 'already at the latest' <<<"$out"
# Schema 5's scorecards in list --json: the stored JSON as an object, null when never checked.
sqlite3 "$vh/repository.db" "UPDATE image SET cloakcheck='{\"name\":\"win10base\",\"os\":\"windows\",\"detector_version\":\"1\",\"checks\":[]}' WHERE name='win10base'"
tap_check "list images --json has each image's scorecard (or null)" python3 -c 'import json,sys
d = {i["name"]: i for i in json.load(sys.stdin)}
assert d["win10base"]["cloakcheck"]["os"] == "windows" and d["win10base"]["cloakcheck"]["name"] == "win10base"
assert d["win7base"]["cloakcheck"] is None' <<<"$("$VM" --home "$vh" list images --json)"
tap_check "list snapshots --json has each VM's scorecard (null: none)" python3 -c 'import json,sys
l = json.load(sys.stdin)
assert l and all("cloakcheck" in s and s["cloakcheck"] is None for s in l)' <<<"$("$VM" --home "$vh" list snapshots --json)"
out=$("$VM" --home "$vh" delimg win10base 2>&1); rc=$?
tap_check "delimg refuses with snapshots" test "$rc" = 1 -a -n "$(grep -F 'still has 2 snapshot' <<<"$out")"
mkdir -p "$vh/vms/qemu/win10vm_1"; touch "$vh/vms/qemu/win10vm_1/disk.qcow2"
"$VM" --home "$vh" delvm win10vm_1 >/dev/null 2>&1
tap_check "delvm removes row and folder" test $? = 0 -a ! -e "$vh/vms/qemu/win10vm_1"
"$VM" --home "$vh" delvm win10vm_1 2>/dev/null; tap_check "delvm of a missing VM fails" test $? = 1
"$VM" --home "$vh" delvm win10base 2>&1 | grep -q 'is an image'; tap_check "delvm names images" test $? = 0

# clone and delimg with a real (sparse) disk file.
truncate -s 1G "$vh/image/win7base.qcow2"; printf 'data' | dd of="$vh/image/win7base.qcow2" conv=notrunc 2>/dev/null
sqlite3 "$vh/repository.db" "UPDATE image SET path='$vh/image/win7base.qcow2' WHERE name='win7base'"
"$VM" --home "$vh" clone win7base win7copy >/dev/null 2>&1
tap_check "clone copies the disk" cmp -s "$vh/image/win7base.qcow2" "$vh/image/win7copy.qcow2"
m1=$("$VM" --home "$vh" list images --json | grep -A30 '"win7base"' | grep '"mac"' | head -1)
m2=$("$VM" --home "$vh" list images --json | grep -A30 '"win7copy"' | grep '"mac"' | head -1)
tap_check "clone gets its own MAC" test -n "$m2" -a "$m1" != "$m2"
"$VM" --home "$vh" clone win7base win7copy 2>/dev/null; tap_check "clone refuses an existing name" test $? = 1
"$VM" --home "$vh" clone nosuch x 2>/dev/null; tap_check "clone of a missing image fails" test $? = 1
"$VM" --home "$vh" clone win7base 'bad/name' 2>/dev/null; tap_check "clone rejects a bad name" test $? = 2
"$VM" --home "$vh" delimg win7copy >/dev/null 2>&1
tap_check "delimg removes row and disk" test $? = 0 -a ! -e "$vh/image/win7copy.qcow2"
"$VM" --home "$vh" delimg --force win10base >/dev/null 2>&1
tap_check "delimg --force removes snapshots too" test "$("$VM" --home "$vh" list snapshots --name-only)" = ""

# cleanup: leftovers of a vmcloak killed hard.
ch2=$tmp/cleanup; mkdir -p "$ch2/image" "$ch2/iso/vmcloak-img1-AbCdEf" "$ch2/vms/qemu/orphan"
sqlite3 "$ch2/repository.db" < "$VMCLOAK_SOURCE_ROOT/tests/fixtures/vmcloak-head.sql"
sqlite3 "$ch2/repository.db" "UPDATE image SET name='img1', path='$ch2/image/img1.qcow2' WHERE name='win7base'"
qemu-img create -q -f qcow2 "$ch2/image/img1.qcow2" 64M
: > "$ch2/image/img1.qcow2.install-999999.qcow2"      # a run that is gone
: > "$ch2/image/img1.qcow2.install-$$.qcow2"          # a run that is alive (this shell)
setsid qemu-system-x86_64 -S -nodefaults -display none -accel tcg -drive "file=$ch2/image/img1.qcow2,format=qcow2,if=none,id=d" </dev/null >/dev/null 2>&1 &
qpid=$!
sleep 1
out=$("$VM" --home "$ch2" cleanup img1 2>&1); rc=$?
tap_check "cleanup of an image exits 0" test "$rc" = 0
tap_check "cleanup kills a QEMU still using the image" bash -c "sleep 0.5; ! kill -0 $qpid 2>/dev/null"
tap_check "cleanup removes a dead run's overlay" test ! -e "$ch2/image/img1.qcow2.install-999999.qcow2"
tap_check "cleanup keeps a live run's overlay" test -e "$ch2/image/img1.qcow2.install-$$.qcow2"
tap_check "cleanup removes init work folders" test ! -e "$ch2/iso/vmcloak-img1-AbCdEf"
tap_check "cleanup keeps the image" test -s "$ch2/image/img1.qcow2"
"$VM" --home "$ch2" cleanup orphan >/dev/null 2>&1
tap_check "cleanup removes a VM folder no row names" test ! -e "$ch2/vms/qemu/orphan"
out=$("$VM" --home "$ch2" cleanup nothing-here 2>&1); rc=$?
tap_check "cleanup of an unknown name exits 0 as VMCloak's, with one line saying there was nothing" \
  test "$rc" = 0 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -F "nothing to clean up: no image or snapshot VM named 'nothing-here'" <<<"$out")"
tap_check "... and no internet hint for a name" test -z "$(grep -F 'internet off' <<<"$out")"
out=$("$VM" --home "$ch2" cleanup 192.168.30.9 2>&1); rc=$?
tap_check "cleanup of an address: exit 0, one line pointing at 'vmcloak internet off ADDRESS'" \
  test "$rc" = 0 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -F "nothing to clean up: no image or snapshot VM named '192.168.30.9'" <<<"$out" | grep -F '; to remove guest internet rules for an address: vmcloak internet off 192.168.30.9')"
kill -9 $qpid 2>/dev/null

# Two processes listing for 10 s: never "database is locked".
ch=$tmp/conc; "$VM" --home "$ch" list images >/dev/null
end=$((SECONDS + 10)); : > "$tmp/errs"
for p in 1 2; do
  ( while [ $SECONDS -lt $end ]; do "$VM" --home "$ch" list images >/dev/null 2>>"$tmp/errs" || echo "rc=$?" >>"$tmp/errs"; done ) &
done
wait
tap_check "two processes listing for 10 s: no errors" test ! -s "$tmp/errs"


# Issue 10, faults 6 and 10: a name every consumer can carry, and every argument's syntax checked
# before the repository or any file is looked at. Each refusal: exit 2, the exact one line, and
# a VMCLOAK_HOME that does not exist afterwards.
never=$tmp/never-created
refuse() { # NAME LINE CMD...
  local name=$1 line=$2; shift 2
  local err rc
  err=$(VMCLOAK_HOME=$never "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" = 2 ] && [ "$err" = "vmcloak: $line" ] && [ ! -e "$never" ]; then tap_ok "$name"
  else tap_fail "$name" "rc=$rc home=$([ -e "$never" ] && echo created || echo absent) got: $err"; fi
}
r_image="an image name is 1 to 64 ASCII letters, digits, '.', '_' or '-', starts with a letter or digit and does not contain '.qcow2' (its disk is NAME.qcow2, its work files NAME.qcow2.*)"
r_vm="a VM name is 1 to 64 ASCII letters, digits, '.', '_' or '-' and starts with a letter or digit (its folder, its machine in Cuckoo3, its section in CAPE's kvm.conf)"
r_bridge="a bridge name is 1 to 15 ASCII letters, digits, '.', '_' or '-', starts with a letter or digit and is not 'all' (Linux interface names, qemu-bridge-helper's ACL, QEMU's -netdev bridge,br=)"
r_network="a network name is 1 to 15 ASCII letters, digits, '.', '_' or '-' and starts with a letter or digit (it is recorded where a bridge name goes)"
r_host="a hostname is a DNS label: 1 to 63 ASCII letters, digits or '-', not starting or ending with '-'"
r_tag="a share tag is 1 to 31 ASCII letters, digits, '.', '_' or '-' and starts with a letter (QEMU makes it the -fsdev id; virtio-9p takes at most 31 bytes)"
r_dep="a dependency name is 1 to 64 ASCII letters, digits, '_' or '-' and starts with a letter or digit (':' starts its version, '.' a setting)"
ip_rule="(expected four numbers 0-255, e.g. 192.168.30.2)"
qb="$(dirname "$VM")/vmcloak-qemubridge"

# Fault 6: names other tools cannot carry are refused in one line naming the rule.
refuse "bridge 'br0;id' refused" "invalid bridge name 'br0;id': ';' is not allowed; $r_bridge" "$VM" bridge 'br0;id' 10.0.0.1/24
refuse "qemubridge 'br,0' refused" "invalid bridge name 'br,0': ',' is not allowed; $r_bridge" "$qb" 'br,0' 10.0.0.1/24
refuse "bridge 'all' refused (the ACL's word)" "invalid bridge name 'all': 'allow all' in qemu-bridge-helper's ACL means every bridge; $r_bridge" "$VM" bridge all 10.0.0.1/24
refuse "init 'a;b' refused" "invalid image name 'a;b': ';' is not allowed; $r_image" "$VM" init --linux 'a;b' qemubr0
refuse "init 'ä' refused" "invalid image name 'ä': it contains a non-ASCII character; $r_image" "$VM" init --linux 'ä' qemubr0
refuse "init 'a\$(id)' refused" "invalid image name 'a\$(id)': '\$' is not allowed; $r_image" "$VM" init --linux 'a$(id)' qemubr0
refuse "init '.hidden' refused" "invalid image name '.hidden': it starts with '.'; $r_image" "$VM" init --linux .hidden qemubr0
refuse "init 'x.qcow2' refused" "invalid image name 'x.qcow2': it contains '.qcow2'; $r_image" "$VM" init --linux x.qcow2 qemubr0
refuse "init ADAPTER 'br;0' refused" "invalid bridge name 'br;0': ';' is not allowed; $r_bridge" "$VM" init --linux img 'br;0'
refuse "init --net user ADAPTER 'net;1' refused" "invalid network name 'net;1': ';' is not allowed; $r_network" "$VM" init --linux --net user img 'net;1'
refuse "snapshot VMNAME 'vm,1' refused" "invalid VM name 'vm,1': ',' is not allowed; $r_vm" "$VM" snapshot img 'vm,1'
long=$(printf 'v%.0s' $(seq 63))
refuse "snapshot --count: the last name is checked" "invalid VM name '${long}10' (the last of --count 10): it is 65 bytes long; $r_vm" "$VM" snapshot --count 10 img "$long"
refuse "snapshot --hostname 'a_b' refused" "invalid hostname 'a_b': '_' is not allowed; $r_host" "$VM" snapshot --hostname a_b img vm
refuse "--share tag '1abc' refused" "invalid share tag '1abc': it starts with '1'; $r_tag" "$VM" snapshot --share 1abc=/tmp img vm
refuse "--share tag twice refused" "--share s=/: the tag 's' is already used by --share s=/tmp; give each share its own tag" "$VM" modify --share s=/tmp --share s=/ img
refuse "install dependency 'a;b' refused" "invalid dependency name 'a;b': ';' is not allowed; $r_dep" "$VM" install img 'a;b'
refuse "clone OUTNAME 'new;img' refused" "invalid image name 'new;img': ';' is not allowed; $r_image" "$VM" clone img 'new;img'

# Names an older rule or VMCloak let in stay listable, usable and deletable.
oh=$tmp/oldnames; mkdir -p "$oh/image"
sqlite3 "$oh/repository.db" < "$VMCLOAK_SOURCE_ROOT/tests/fixtures/vmcloak-head.sql"
"$VM" --home "$oh" migrate >/dev/null 2>&1
sqlite3 "$oh/repository.db" "UPDATE image SET name='old;img', path='$oh/image/old;img.qcow2' WHERE name='win7base'; UPDATE snapshot SET vmname='.oldvm' WHERE vmname='win10vm_1'"
tap_check "an old image name is listed" grep -qx 'old;img' <<<"$("$VM" --home "$oh" list images --name-only)"
tap_check "an old VM name is listed" grep -qx '.oldvm' <<<"$("$VM" --home "$oh" list snapshots --name-only)"
out=$("$VM" --home "$oh" snapshot 'old;img' vmx 2>&1); rc=$?
tap_check "an old image name is looked up (not refused)" test "$rc" = 1 -a -z "$(grep -F 'invalid' <<<"$out")"
"$VM" --home "$oh" delvm .oldvm >/dev/null 2>&1; tap_check "an old VM name can be deleted" test $? = 0
"$VM" --home "$oh" delimg 'old;img' >/dev/null 2>&1; tap_check "an old image name can be deleted" test $? = 0
tap_check "both are gone" test -z "$("$VM" --home "$oh" list images --name-only | grep -F 'old;img')"

# Fault 10: the first error a user sees is the first one typed, before any state.
out=$("$VM" --home "$oh" snapshot win10base vmx 192.168.30.300 2>&1); rc=$?
tap_check "snapshot's bad IP comes before the image's missing disk" test "$rc" = 2 -a "$out" = "vmcloak: invalid IP address '192.168.30.300' for IP $ip_rule"
out=$("$VM" --home "$oh" snapshot win10base vmx 192.168.30.30 2>&1); rc=$?
tap_check "with a good IP the missing disk is next" test "$rc" = 1 -a -n "$(grep -F 'is missing' <<<"$out")"
refuse "snapshot IP syntax before any state" "invalid IP address '192.168.30.300' for IP $ip_rule" "$VM" snapshot img vm 192.168.30.300
refuse "init: --ip typed first, named first" "invalid IP address '1.2.3.300' for --ip $ip_rule" "$VM" init --linux --ip 1.2.3.300 'a;b' qemubr0
refuse "init: NAME typed first, named first" "invalid image name 'a;b': ';' is not allowed; $r_image" "$VM" init --linux 'a;b' qemubr0 --ip 1.2.3.300
refuse "init --gateway syntax" "invalid IP address '1.2.3' for --gateway $ip_rule" "$VM" init --linux --gateway 1.2.3 img qemubr0
refuse "init --dns syntax" "invalid IP address 'dns' for --dns $ip_rule" "$VM" init --linux --dns dns img qemubr0
refuse "init --dns2 syntax" "invalid IP address '8.8.4' for --dns2 $ip_rule" "$VM" init --linux --dns2 8.8.4 img qemubr0
refuse "init --network syntax" "invalid network '10.0.0.0/33' for --network (expected ADDRESS/PREFIX, e.g. 192.168.30.0/24)" "$VM" init --linux --network 10.0.0.0/33 img qemubr0
refuse "init --network room" "invalid network '10.0.0.0/31' for --network: a /31 leaves no room for a guest and a gateway; use a prefix of /30 or shorter" "$VM" init --linux --network 10.0.0.0/31 img qemubr0
refuse "init --mac syntax" "invalid MAC address '01:00:00:00:00:00' for --mac: it is a multicast address (first byte must be even)" "$VM" init --linux --mac 01:00:00:00:00:00 img qemubr0
refuse "init --iso ''" "--iso needs a path, not an empty string" "$VM" init --linux --iso '' img qemubr0
refuse "createiso --ip syntax" "invalid IP address '10.0.0.300' for --ip $ip_rule" "$VM" createiso --linux --network 10.0.0.0/24 --ip 10.0.0.300 --gateway 10.0.0.1 out.iso
refuse "restore --timeout" "invalid value '0' for --timeout (expected a whole number from 1 to 86400)" "$VM" restore vm --timeout 0
refuse "install --serial" "invalid --serial 'bogus': use file, file:PATH, pty, unix:PATH or none" "$VM" install --serial bogus img run:true
refuse "install step syntax" "invalid step 'run:': expected run:COMMAND" "$VM" install img run:
refuse "install: --timeout typed first, named first" "invalid value '0' for --timeout (expected a whole number from 1 to 604800)" "$VM" install --timeout 0 img 'a;b'
refuse "snapshot --compress-level" "--compress-level does not apply to --compress none" "$VM" snapshot img vm --compress none --compress-level 3
refuse "modify --iso-path ''" "--iso-path needs a path, not an empty string" "$VM" modify --iso-path '' img
refuse "cleanup --vm" "--vm vbox is not supported: only qemu" "$VM" cleanup --vm vbox img

# Issue 10: vmcloak never writes to data it does not understand. Each case: the refusal (one
# line, exit 1) or the read (with what it ignored), and the repository byte-identical after.
head_sql=$VMCLOAK_SOURCE_ROOT/tests/fixtures/vmcloak-head.sql
sum() { sha256sum "$1" | cut -d' ' -f1; }
one_line() { test "$(printf '%s\n' "$1" | grep -c .)" = 1; }

# A VMCloak repository at an alembic revision vmcloak does not know (a newer or forked VMCloak).
uh=$tmp/unknown-rev; mkdir -p "$uh"
sed "s/VALUES ('d6c5bf858df1')/VALUES ('fe7656c21eaa')/" "$head_sql" | sqlite3 "$uh/repository.db"
s0=$(sum "$uh/repository.db")
out=$("$VM" --home "$uh" migrate 2>&1); rc=$?
tap_check "unknown revision: migrate exits 1" test "$rc" = 1
tap_check "unknown revision: migrate says so in one line" one_line "$out"
tap_check "unknown revision: the line names it and the known ones" \
  bash -c "grep -q 'fe7656c21eaa, which this vmcloak does not know' <<<\"\$1\" && grep -q '34c908159434, 5a5957711538, f5b14c62e62c and d6c5bf858df1' <<<\"\$1\" && grep -q 'use the VMCloak' <<<\"\$1\"" _ "$out"
tap_check "unknown revision: migrate claims no migration" bash -c "! grep -q 'migrated' <<<\"\$1\"" _ "$out"
for c in "init --linux newimg qemubr0" "install win7base dotnet" "modify win7base" "snapshot win7base vmx" \
         "delimg win7base" "delvm win10vm_1" "clone win7base copy" "cleanup win10vm_1"; do
  out=$("$VM" --home "$uh" $c 2>&1); rc=$?
  tap_check "unknown revision: '${c%% *}' refuses in one line" \
    bash -c "test $rc = 1 && grep -q 'fe7656c21eaa' <<<\"\$1\" && test \"\$(grep -c . <<<\"\$1\")\" = 1" _ "$out"
done
out=$("$VM" --home "$uh" list images 2>&1); rc=$?
tap_check "unknown revision: list reads what it understands" test "$rc" = 0 -a -n "$(grep -F win10base <<<"$out")"
tap_check "unknown revision: list warns" grep -q 'warning: .*fe7656c21eaa.*reading only what this vmcloak understands' <<<"$out"
tap_check "unknown revision: repository byte-identical (sha256)" test "$(sum "$uh/repository.db")" = "$s0"
tap_check "unknown revision: no WAL switch" test ! -e "$uh/repository.db-wal" -a "$(sqlite3 "$uh/repository.db" 'PRAGMA journal_mode')" = delete

# A repository a newer vmcloak wrote (PRAGMA user_version 7, a column of its own).
nh=$tmp/newer; "$VM" --home "$nh" list images >/dev/null 2>&1
sqlite3 "$nh/repository.db" "PRAGMA journal_mode=DELETE; PRAGMA user_version=7; ALTER TABLE image ADD COLUMN hwprofile TEXT" >/dev/null
s0=$(sum "$nh/repository.db")
out=$("$VM" --home "$nh" migrate 2>&1); rc=$?
tap_check "newer schema: migrate refuses" test "$rc" = 1 -a -n "$(grep -F 'newer vmcloak (schema 7; this one knows schemas up to 6)' <<<"$out")"
out=$("$VM" --home "$nh" clone a b 2>&1); rc=$?
tap_check "newer schema: a writer refuses with the same line" test "$rc" = 1 -a -n "$(grep -F 'upgrade vmcloak' <<<"$out")"
out=$("$VM" --home "$nh" list images 2>&1); rc=$?
tap_check "newer schema: list reads, ignoring its column" test "$rc" = 0 -a -n "$(grep -F 'ignoring column image.hwprofile' <<<"$out")"
tap_check "newer schema: repository byte-identical" test "$(sum "$nh/repository.db")" = "$s0"

# Columns and tables no known schema has; an SQLite file that is no repository at all.
ch3=$tmp/unknown-col; mkdir -p "$ch3"; sqlite3 "$ch3/repository.db" < "$head_sql"
sqlite3 "$ch3/repository.db" "ALTER TABLE image ADD COLUMN snapshot_count INTEGER; CREATE TABLE hwprofile (id INTEGER)"
s0=$(sum "$ch3/repository.db")
out=$("$VM" --home "$ch3" migrate 2>&1); rc=$?
tap_check "unknown column and table: migrate refuses naming them" \
  test "$rc" = 1 -a -n "$(grep -F 'has what no known schema has (table hwprofile, column image.snapshot_count)' <<<"$out")"
out=$("$VM" --home "$ch3" list snapshots 2>&1); rc=$?
tap_check "unknown column and table: list reads the rows" test "$rc" = 0 -a -n "$(grep -F win10vm_2 <<<"$out")"
tap_check "unknown column and table: byte-identical" test "$(sum "$ch3/repository.db")" = "$s0"
oh=$tmp/other-db; mkdir -p "$oh"; sqlite3 "$oh/repository.db" "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine')"
s0=$(sum "$oh/repository.db")
out=$("$VM" --home "$oh" list images 2>&1); rc=$?
tap_check "another tool's SQLite file: refused, even for list" test "$rc" = 1 -a -n "$(grep -F 'not a VMCloak repository' <<<"$out")"
tap_check "another tool's SQLite file: byte-identical, no tables added" test "$(sum "$oh/repository.db")" = "$s0"

# Rows of another machinery (VMCloak 0.4.8's VirtualBox image): listed, never changed.
vb=$tmp/vbox; mkdir -p "$vb/image"; sqlite3 "$vb/repository.db" < "$VMCLOAK_SOURCE_ROOT/tests/fixtures/vmcloak-0.4.8.sql"
printf 'vdi' > "$vb/image/win7.vdi"
sqlite3 "$vb/repository.db" "UPDATE image SET path='$vb/image/win7.vdi'"
"$VM" --home "$vb" migrate >/dev/null 2>&1; tap_check "VMCloak 0.4.8 repository migrates" test $? = 0
s0=$(sum "$vb/repository.db")
out=$("$VM" --home "$vb" delimg win7 2>&1); rc=$?
tap_check "virtualbox image: delimg refuses" test "$rc" = 1 -a -n "$(grep -F 'belongs to virtualbox, not QEMU' <<<"$out")"
out=$("$VM" --home "$vb" delvm win7vm 2>&1); rc=$?
tap_check "virtualbox snapshot: delvm refuses" test "$rc" = 1 -a -n "$(grep -F 'snapshot VM win7vm belongs to virtualbox' <<<"$out")"
out=$("$VM" --home "$vb" clone win7 win7copy 2>&1); rc=$?
tap_check "virtualbox image: clone refuses" test "$rc" = 1 -a ! -e "$vb/image/win7copy.qcow2"
out=$("$VM" --home "$vb" install win7 dotnet 2>&1); rc=$?
tap_check "virtualbox image: install refuses" test "$rc" != 0 -a -n "$(grep -F 'made for virtualbox' <<<"$out")"
tap_check "virtualbox image: its disk and rows are untouched" test "$(cat "$vb/image/win7.vdi")" = vdi -a "$(sum "$vb/repository.db")" = "$s0"

# Row values vmcloak does not know: a mode, a network mode, an OS without a profile.
rv=$tmp/rowvals; "$VM" --home "$rv" list images >/dev/null 2>&1
qemu-img create -q -f qcow2 "$rv/image/img.qcow2" 64M
sqlite3 "$rv/repository.db" "INSERT INTO image (mode, vm, name, path, osversion, ipaddr, port, netmask, gateway, cpus, ramsize, netmode) VALUES ('frozen', 'qemu', 'img', '$rv/image/img.qcow2', 'linux', '10.0.2.15', 8000, '255.255.255.0', '10.0.2.2', 1, 256, 'user')"
s0=$(sum "$rv/repository.db")
out=$("$VM" --home "$rv" snapshot img vm1 2>&1); rc=$?
tap_check "unknown mode: snapshot refuses, keeping it" test "$rc" = 1 -a -n "$(grep -F "mode 'frozen', which this vmcloak does not know" <<<"$out")"
sqlite3 "$rv/repository.db" "UPDATE image SET mode='normal', netmode='vde'"; s0=$(sum "$rv/repository.db")
out=$("$VM" --home "$rv" install img dotnet 2>&1); rc=$?
tap_check "unknown network mode: install refuses" test "$rc" != 0 -a -n "$(grep -F "network mode 'vde'" <<<"$out")"
sqlite3 "$rv/repository.db" "UPDATE image SET netmode='user', osversion='winxp'"; s0=$(sum "$rv/repository.db")
out=$("$VM" --home "$rv" snapshot img vm1 2>&1); rc=$?
tap_check "OS without a profile: snapshot refuses" test "$rc" = 1 -a -n "$(grep -F "OS 'winxp'" <<<"$out")"
tap_check "refused rows are byte-identical" test "$(sum "$rv/repository.db")" = "$s0"
# A VM folder that exists without a row is not snapshotted over.
sqlite3 "$rv/repository.db" "UPDATE image SET osversion='linux'"
mkdir -p "$rv/vms/qemu/vm1"; echo mine > "$rv/vms/qemu/vm1/machineinfo.json"
out=$("$VM" --home "$rv" snapshot img vm1 2>&1); rc=$?
tap_check "snapshot over an existing VM folder refuses" test "$rc" = 1 -a "$(cat "$rv/vms/qemu/vm1/machineinfo.json")" = mine
tap_check "the image was not frozen by the refused snapshot" test "$(sqlite3 "$rv/repository.db" "SELECT mode FROM image")" = normal

# cleanup removes only what it can name.
out=$("$VM" --home "$rv" cleanup vm1 2>&1); rc=$?
tap_check "cleanup leaves a rowless folder of a finished VM (Cuckoo3 may use it)" \
  test "$rc" = 1 -a -n "$(grep -F 'no leftover of an interrupted snapshot: it holds machineinfo.json (machineinfo.json marks a finished VM' <<<"$out")" -a "$(cat "$rv/vms/qemu/vm1/machineinfo.json" 2>/dev/null)" = mine
echo notes > "$rv/vms/qemu/vm1/README"; rm "$rv/vms/qemu/vm1/machineinfo.json"
out=$("$VM" --home "$rv" cleanup vm1 2>&1); rc=$?
tap_check "cleanup names the file it does not know" test "$rc" = 1 -a -n "$(grep -F 'it holds README;' <<<"$out")" -a -e "$rv/vms/qemu/vm1/README"
mkdir -p "$rv/vms/qemu/vm2"; : > "$rv/vms/qemu/vm2/disk.qcow2"; : > "$rv/vms/qemu/vm2/qemu.log"; : > "$rv/vms/qemu/vm2/memory.snapshot.part"
"$VM" --home "$rv" cleanup vm2 >/dev/null 2>&1
tap_check "cleanup removes a rowless folder of a snapshot's own files" test $? = 0 -a ! -e "$rv/vms/qemu/vm2"
sqlite3 "$rv/repository.db" "INSERT INTO image (mode, vm, name, path, osversion) VALUES ('normal', 'qemu', 'img-b', '$rv/image/img-b.qcow2', 'linux')"
mkdir -p "$rv/iso/vmcloak-img-b-AbCdEf" "$rv/iso/vmcloak-img-XyZ123"; : > "$rv/iso/vmcloak-img-notes"
"$VM" --home "$rv" cleanup img >/dev/null 2>&1
tap_check "cleanup of image img keeps image img-b's init work folder" test -d "$rv/iso/vmcloak-img-b-AbCdEf"
tap_check "cleanup of image img removes its own work folder only" test ! -e "$rv/iso/vmcloak-img-XyZ123" -a -e "$rv/iso/vmcloak-img-notes"

# restore reads machineinfo.json only as far as it understands it.
sqlite3 "$rv/repository.db" "INSERT INTO snapshot (image_id, vmname, ipaddr, port) VALUES (1, 'vm3', '10.0.2.15', 8000)"
mkdir -p "$rv/vms/qemu/vm3"
mi='{"machinery": "libvirt", "machine": {"name": "vm3", "ip": "10.0.2.15", "agent_port": 8000, "os_name": "linux",
 "os_version": "6", "architecture": "amd64", "bridge": null, "disk": "disk.qcow2", "memory_snapshot": "memory.snapshot",
 "tags": [], "start_args": ["-drive", "file=%DISPOSABLE_DISK_PATH%,format=qcow2,if=none,id=disk"]}}'
printf '%s\n' "$mi" > "$rv/vms/qemu/vm3/machineinfo.json"; m0=$(sum "$rv/vms/qemu/vm3/machineinfo.json")
out=$("$VM" --home "$rv" restore vm3 2>&1); rc=$?
tap_check "restore refuses another machinery's VM" test "$rc" = 1 -a -n "$(grep -F 'machinery is not qemu' <<<"$out")"
printf '%s\n' "${mi/libvirt/qemu}" | sed 's/"tags"/"tpm": "2.0", "tags"/' > "$rv/vms/qemu/vm3/machineinfo.json"
out=$("$VM" --home "$rv" restore vm3 2>&1)
tap_check "restore says which keys it ignores" grep -qF 'has keys this vmcloak does not know (machine.tpm)' <<<"$out"

# A user-chosen KVM probe cache path holding someone else's file is not replaced.
printf 'my notes\n' > "$tmp/notes.txt"
out=$(VMCLOAK_KVM_DEVICE=/dev/null VMCLOAK_KVM_PROBE_CACHE=$tmp/notes.txt VMCLOAK_KVM_PROBE_TIMEOUT_MS=1000 \
      "$VM" --home "$rv" doctor 2>&1)
tap_check "KVM probe cache: another file is left as it is" test "$(cat "$tmp/notes.txt")" = "my notes"
tap_check "KVM probe cache: and it says so" grep -qF 'is not a KVM probe cache of vmcloak' <<<"$out"

tap_done
