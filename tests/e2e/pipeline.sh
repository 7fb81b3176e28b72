#!/usr/bin/env bash
# End-to-end: the whole pipeline on the built-in linux guest under TCG, as the demo runs it:
# init --linux --net user, install (script, file, run, a deps.d entry), snapshot --count 2,
# restore of each, list; machine tags from --tag on init, install and snapshot and from the
# installed entry's catalog tags, checked in machineinfo.json as Cuckoo3 reads it; then the
# failure paths: QEMU killed during init, an agent that never starts with
# --timeout, SIGINT during snapshot. After each failure: no QEMU, no new rows, no leftover
# disk files, a non-zero exit and one clear message.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
SRC=${VMCLOAK_SOURCE_ROOT:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
if ! pipeline_home vmcloak-pipeline; then
  tap_skip "pipeline" "no static agent in $BUILD/agent (sanitizer build?)"
  tap_done; exit 0
fi
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
qemus() { pgrep -f -- "$VMCLOAK_HOME" | grep -v "^$$\$" || true; }
rows() { sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT (SELECT count(*) FROM image) || '/' || (SELECT count(*) FROM snapshot)"; }

# --- the demo sequence -----------------------------------------------------------------------
t=$(now)
# --json here and on install, snapshot and one restore: the result on stdout, the logs on stderr.
"$VM" init --json --linux --net user --accel tcg --tag lab --tag linux.6-1 --tag lab lbase lnet >"$tmp/init.json" 2>"$tmp/init.err"; rc=$?
out=$(cat "$tmp/init.err")
echo "# init: $(secs "$t" "$(now)") s"
tap_check "init --linux --net user succeeds" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; }
tap_check "init --json: stdout is one JSON document with the image" python3 - "$tmp/init.json" "$VMCLOAK_HOME" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
i = d["image"]
assert set(d) == {"image", "seconds"} and d["seconds"] > 0, d
assert i["name"] == "lbase" and i["osversion"] == "linux" and i["ip"] == "10.0.2.15" and i["net"] == "user", i
assert i["path"] == sys.argv[2] + "/image/lbase.qcow2" and i["firmware"] in ("bios", "uefi"), i
assert len(i["mac"]) == 17 and i["tags"] == ["lab", "linux.6-1"] and i["installed"] == [], i
EOF2
tap_check "the image is listed" bash -c "'$VM' list images --format table | grep -q '^lbase .*10.0.2.15 .*user'"
tap_check "init --tag: the image's tags, sorted, each once" \
  test "$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT tags FROM image WHERE name='lbase'")" = "lab,linux.6-1"
tap_check "its disk exists" test -s "$VMCLOAK_HOME/image/lbase.qcow2"
tap_check "no QEMU left after init" test -z "$(qemus)"
tap_check "no work folder left after init" test -z "$(ls "$VMCLOAK_HOME/iso")"

cat > "$tmp/setup.sh" <<'S'
#!/bin/sh
echo "written by install $(uname -r)" > /root/installed.txt
S
echo "a host file" > "$tmp/payload.txt"
# A user's catalog entry (deps.d) with machine tags, installed with the generic steps.
mkdir -p "$VMCLOAK_HOME/deps.d"
cat > "$VMCLOAK_HOME/deps.d/labtools.yaml" <<'Y'
name: labtools
description: the e2e test's own tools
os: [linux]
tags: [labtools, pdfreader]
steps:
  - run: 'touch /root/labtools'
Y
t=$(now)
"$VM" install --json --accel tcg --tag office lbase "script:$tmp/setup.sh" "file:$tmp/payload.txt:/root/payload.txt" \
      'run:test -s /root/installed.txt' labtools >"$tmp/install.json" 2>"$tmp/install.err"; rc=$?
out=$(cat "$tmp/install.err")
echo "# install: $(secs "$t" "$(now)") s"
tap_check "install runs a script, uploads a file, runs a command, a deps.d entry" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; }
tap_check "install records the entry and puts its tags and --tag on the image" \
  test "$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT _installed || ' ' || tags FROM image WHERE name='lbase'")" = \
  "labtools: lab,labtools,linux.6-1,office,pdfreader"
tap_check "install --json: what ran, the image as it is now" python3 - "$tmp/install.json" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["installed"] == [{"name": "labtools", "version": None}] and d["skipped"] == [] and d["left_out"] == [], d
assert d["steps"] == 3 and d["reboots"] == 0 and d["seconds"] > 0, d
assert d["image"]["name"] == "lbase" and d["image"]["installed"] == [{"name": "labtools", "version": None}], d
assert d["image"]["tags"] == ["lab", "labtools", "linux.6-1", "office", "pdfreader"], d
EOF2
"$VM" --json install --tag sysinternals lbase >"$tmp/tags.json" 2>"$tmp/tags.err"; rc=$?
out=$(cat "$tmp/tags.err")
tap_check "install --tag alone stores the tag without booting" test "$rc" = 0 -a -z "$(qemus)" -a \
  -n "$(grep -F 'has the machine tags lab,labtools,linux.6-1,office,pdfreader,sysinternals' <<<"$out")"
tap_check "install --tag alone --json: nothing ran, the image's tags" python3 -c 'import json,sys; d = json.load(open(sys.argv[1]))
assert d["installed"] == [] and d["steps"] == 0 and d["image"]["tags"][-1] == "sysinternals", d' "$tmp/tags.json"
out=$("$VM" install --tag Office lbase 2>&1); rc=$?
tap_check "a tag Cuckoo3 would not keep is a usage error naming the rule" test "$rc" = 2 -a \
  -n "$(grep -F "invalid machine tag 'Office': it contains the upper-case 'O'; a machine tag is" <<<"$out")"
out=$("$VM" list images --format table)
tap_check "list images shows the tags" grep -q '^lbase .* lab,labtools,linux.6-1,office,pdfreader,sysinternals ' <<<"$out"
out=$("$VM" list images --json)
tap_check "list images --json has them as a list" python3 -c 'import json,sys; \
  assert json.load(sys.stdin)[0]["tags"] == ["lab", "labtools", "linux.6-1", "office", "pdfreader", "sysinternals"]' <<<"$out"
out=$("$VM" install --accel tcg lbase 'run:test -e /root/does-not-exist' 2>&1); rc=$?
tap_check "a failing run step fails install with its exit code" test "$rc" = 1 -a -n "$(grep -F 'exit code 1' <<<"$out")"
tap_check "a failed install leaves no overlay" test -z "$(ls "$VMCLOAK_HOME/image" | grep -v '^lbase.qcow2$')"
out=$("$VM" install lbase dotnet 2>&1); rc=$?
tap_check "a Windows dependency is refused on linux before any VM starts" \
  test "$rc" = 1 -a -n "$(grep -F 'dotnet does not install on linux' <<<"$out")" -a -z "$(qemus)"
"$VM" install --json lbase dotnet >"$tmp/fail.json" 2>"$tmp/fail.err"; rc=$?
tap_check "a failure with --json: exit 1, the error line on stderr, nothing on stdout" \
  test "$rc" = 1 -a ! -s "$tmp/fail.json" -a -n "$(grep -F 'dotnet does not install on linux' "$tmp/fail.err")"

# --- catalog dependencies from deps.d (the runner) -----------------------------------------------
# appa depends on appb (b runs first), gets its installer from a server on 127.0.0.1 (fetched
# before the boot), runs a script from its entry's folder and reboots in its middle; each step
# appends to /root/order.txt, which generic steps read back in the same install.
mkdir -p "$tmp/srv" "$VMCLOAK_HOME/deps.d"
printf '#!/bin/sh\necho "tool $1" > /root/tool-ran\n' > "$tmp/srv/appa-tool.sh"
toolsum=$(sha256sum "$tmp/srv/appa-tool.sh" | cut -d' ' -f1)
python3 "$SRC/tests/e2e/download-server.py" "$tmp/srv" "$tmp/srvport" "$tmp/srvlog" &
for _ in $(seq 50); do [ -s "$tmp/srvport" ] && break; sleep 0.1; done
srvport=$(cat "$tmp/srvport")
cat > "$VMCLOAK_HOME/deps.d/appb.yaml" <<'Y'
name: appb
description: e2e, installed first as appa's sub-dependency
os: [linux]
steps:
  - run: echo b >> /root/order.txt
Y
cat > "$VMCLOAK_HOME/deps.d/appa.yaml" <<Y
name: appa
description: e2e, a served installer, a data script, a reboot in the middle
os: [linux]
default: "1.0"
depends: [appb]
installers:
  - version: "1.0"
    filename: appa-tool.sh
    sha256: $toolsum
    urls: ["http://127.0.0.1:$srvport/f/appa-tool.sh"]
steps:
  - upload: installer
    to: /root/appa-tool.sh
  - run: /bin/sh /root/appa-tool.sh {{version}}
  - script: data:appa-data.sh
  - run: cat /proc/sys/kernel/random/boot_id > /root/boot-before
  - reboot: true
  - run: 'test "\$(cat /proc/sys/kernel/random/boot_id)" != "\$(cat /root/boot-before)" && echo rebooted >> /root/order.txt'
Y
printf '#!/bin/sh\necho a >> /root/order.txt\n' > "$VMCLOAK_HOME/deps.d/appa-data.sh"
cat > "$VMCLOAK_HOME/deps.d/appfail.yaml" <<'Y'
name: appfail
description: e2e, a step that fails
os: [linux]
steps:
  - run: echo fine
  - run: 'echo some output; echo last words >&2; exit 3'
Y
cat > "$VMCLOAK_HOME/deps.d/appset.yaml" <<'Y'
name: appset
description: e2e, a required setting
os: [linux]
settings:
  need: {required: true, description: a value}
steps:
  - run: echo {{need}}
Y
t=$(now)
out=$("$VM" install --accel tcg lbase appa 'run:test "$(tr "\n" " " < /root/order.txt)" = "b a rebooted "' \
      'run:grep -qx "tool 1.0" /root/tool-ran' 2>&1); rc=$?
echo "# install appa (2 reboots): $(secs "$t" "$(now)") s"
tap_check "install appa: appb first, the served installer, the data script, reboot and wait" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; }
tap_check "the installer came from the server on 127.0.0.1 into the cache" \
  test "$(grep -c 'GET /f/appa-tool.sh' "$tmp/srvlog")" -ge 1 -a -s "$VMCLOAK_HOME/files/appa-tool.sh"
installed=$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT _installed FROM image WHERE name='lbase'")
tap_check "appa:1.0 and its sub-dependency appb are recorded" test -n "$(grep 'appb:' <<<"$installed")" -a -n "$(grep 'appa:1.0' <<<"$installed")"
tap_check "the summary counts the reboots" grep -q '2 reboots' <<<"$out"
out=$("$VM" install --accel tcg lbase appa 2>&1); rc=$?
tap_check "a second install skips what is recorded, without a boot" \
  test "$rc" = 0 -a -n "$(grep -F 'Nothing to install into lbase: appa is already installed' <<<"$out")" -a -z "$(grep -F 'Booting' <<<"$out")"
out=$("$VM" install --accel tcg -r lbase 2>&1); rc=$?
tap_check "-r on linux names the OSes that have a recommended set, before any VM starts" \
  test "$rc" = 1 -a -n "$(grep -F 'no recommended set for OS linux; the catalog has one for: ' <<<"$out")" -a -z "$(grep -F 'Booting' <<<"$out")"
out=$("$VM" install --accel tcg lbase appa nosuch1 nosuch2 2>&1); rc=$?
tap_check "unknown names are all listed, before any VM starts" \
  test "$rc" = 1 -a -n "$(grep -F 'unknown dependencies: nosuch1, nosuch2; see vmcloak list deps' <<<"$out")"
out=$("$VM" install --accel tcg lbase appset 2>&1); rc=$?
tap_check "a required setting missing is refused before any VM starts" \
  test "$rc" = 1 -a -n "$(grep -F 'appset needs the setting appset.need=... (a value)' <<<"$out")" -a -z "$(grep -F 'Booting' <<<"$out")"
t=$(now)
out=$("$VM" install --accel tcg --force-reinstall lbase appa appfail 2>&1); rc=$?
echo "# install --force-reinstall appa appfail: $(secs "$t" "$(now)") s"
tap_check "--force-reinstall runs appa again (not appb, its sub-dependency)" \
  test -n "$(grep -F '[1/2] appa 1.0' <<<"$out")" -a -z "$(grep -F 'appb' <<<"$out")"
tap_check "a failing step names the dependency, step, command and exit code" \
  test "$rc" = 1 -a -n "$(grep -F "appfail: step 2 (run) failed: 'echo some output; echo last words >&2; exit 3' returned exit code 3" <<<"$out")"
tap_check "... then its output's last lines" test -n "$(grep -F 'some output' <<<"$out")" -a -n "$(grep -F 'last words' <<<"$out")"
tap_check "... and the image is unchanged" test -n "$(grep -F 'install of lbase failed; the image is unchanged' <<<"$out")" -a \
  "$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT _installed FROM image WHERE name='lbase'")" = "$installed"

# modify: the guest changes itself and shuts down; the change is kept. The agent stands in for
# the person at the VNC console.
http() { # METHOD PATH [BODY] -> the response body, over bash's /dev/tcp
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '%s %s HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %s\r\n\r\n%s' \
    "$1" "$2" "${#3}" "$3" >&3
  timeout 10 cat <&3 | tail -1; exec 3<&-
}
"$VM" modify --accel tcg --vrde-port 47 lbase >"$tmp/modify.out" 2>&1 &
mpid=$!
port=
for _ in $(seq 1 100); do port=$(sed -n 's/.*agent answers at 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/modify.out"); [ -n "$port" ] && break; sleep 0.1; done
for _ in $(seq 1 120); do http GET / "" 2>/dev/null | grep -q 'Cuckoo Agent' && break; sleep 1; done
http POST /execute 'command=touch+%2Froot%2Fmodified%3B+sync%3B+poweroff&async=1' >/dev/null 2>&1
wait $mpid; rc=$?
tap_check "modify keeps what the guest changed before it shut down" test "$rc" = 0 -a -n "$(grep 'Changes to lbase saved' "$tmp/modify.out")"
tap_check "modify offered VNC on 127.0.0.1:5947" grep -q '127.0.0.1:5947 (display 47)' "$tmp/modify.out"

t=$(now)
"$VM" snapshot --json --accel tcg --count 2 --tag snaptag lbase lvm 10.0.2.20 >"$tmp/snap.json" 2>"$tmp/snap.err"; rc=$?
out=$(cat "$tmp/snap.err")
echo "# snapshot --count 2: $(secs "$t" "$(now)") s"
tap_check "snapshot --count 2 succeeds" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; }
tap_check "snapshot --json: each VM made, with its address, MAC and files" python3 - "$tmp/snap.json" "$VMCLOAK_HOME" <<'EOF2'
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["image"] == "lbase" and d["seconds"] > 0 and [v["vmname"] for v in d["vms"]] == ["lvm1", "lvm2"], d
for v, ip in zip(d["vms"], ["10.0.2.20", "10.0.2.21"]):
    vd = sys.argv[2] + "/vms/qemu/" + v["vmname"]
    assert v["status"] == "made" and v["ip"] == ip and v["image"] == "lbase" and len(v["mac"]) == 17, v
    assert v["vmdir"] == vd and v["memory_file"] == vd + "/memory.snapshot" and v["machineinfo"] == vd + "/machineinfo.json", v
    assert os.path.getsize(v["memory_file"]) > 0 and json.load(open(v["machineinfo"]))["machine"]["name"] == v["vmname"], v
    assert "snaptag" in v["tags"] and v["libvirt_uri"] is None, v
EOF2
out=$("$VM" list snapshots --format table)
tap_check "both snapshot VMs are listed" test -n "$(grep '^lvm1 .*lbase .*10.0.2.20' <<<"$out")" -a \
  -n "$(grep '^lvm2 .*lbase .*10.0.2.21' <<<"$out")"
tap_check "the image is frozen for snapshots" bash -c "'$VM' list images --format table | grep -q 'multiattach'"
for v in lvm1 lvm2; do
  d=$VMCLOAK_HOME/vms/qemu/$v
  tap_check "$v has disk.qcow2, memory.snapshot, machineinfo.json" test -s "$d/disk.qcow2" -a -s "$d/memory.snapshot" -a -s "$d/machineinfo.json"
  tap_check "$v's memory file is lz4 (what Cuckoo3 recognises)" bash -c "file -b '$d/memory.snapshot' | grep -qi lz4"
  tap_check "$v's machineinfo.json passes Cuckoo3's import rules, with the image's, the entry's and --tag's tags" \
    "$BUILD/tests/e2e/check-machineinfo" "$d/machineinfo.json" "$v" \
    --tags lab,labtools,linux.6-1,office,pdfreader,sysinternals,snaptag
done
tap_check "the checker refuses other tags" bash -c '! "$1" "$2" lvm1 --tags lab,office 2>/dev/null' _ \
  "$BUILD/tests/e2e/check-machineinfo" "$VMCLOAK_HOME/vms/qemu/lvm1/machineinfo.json"
tap_check "snapshot rows hold the VMs' tags" test "$(sqlite3 "$VMCLOAK_HOME/repository.db" \
  "SELECT DISTINCT tags FROM snapshot WHERE vmname LIKE 'lvm_'")" = "lab,labtools,linux.6-1,office,pdfreader,snaptag,sysinternals"
out=$("$VM" list snapshots --format table)
tap_check "list snapshots shows them" grep -q '^lvm1 .* lab,labtools,linux.6-1,office,pdfreader,snaptag,sysinternals  *local$' <<<"$out"
out=$("$VM" list snapshots --json)
tap_check "list snapshots --json has them as a list" python3 -c 'import json,sys; \
  assert json.load(sys.stdin)[0]["tags"][-2:] == ["snaptag", "sysinternals"]' <<<"$out"
tap_check "no QEMU left after snapshot" test -z "$(qemus)"

for v in lvm1:10.0.2.20 lvm2:10.0.2.21; do
  name=${v%%:*} ip=${v#*:}
  host=$(sqlite3 "$VMCLOAK_HOME/repository.db" "SELECT hostname FROM snapshot WHERE vmname='$name'")
  cmd='hostname; ip -4 -o addr show eth0; cat /root/installed.txt /root/payload.txt; ls /root/modified /root/labtools; tr "\n" " " < /root/order.txt; echo'
  if [ "$name" = lvm2 ]; then
    # --json: the figures and the command's output in one document, the timing line on stderr.
    "$VM" restore --json "$name" --exec "$cmd" >"$tmp/restore.json" 2>"$tmp/restore.err"; rc=$?
    tap_check "restore --json: the figures, the address and --exec's result" python3 - "$tmp/restore.json" "$ip" "$cmd" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["vmname"] == "lvm2" and d["ip"] == sys.argv[2] and d["port"] > 0, d
assert 0 < d["running_after_s"] <= d["agent_after_s"], d
assert d["exec"]["command"] == sys.argv[3] and d["exec"]["exit_code"] == 0 and "written by install" in d["exec"]["stdout"], d
EOF2
    tap_check "restore --json: the timing line went to stderr" grep -q 'lvm2 restored: running after' "$tmp/restore.err"
    out=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["exec"]["stdout"], end="")' "$tmp/restore.json"; cat "$tmp/restore.err")
  else
    out=$("$VM" restore "$name" --exec "$cmd" 2>&1); rc=$?
  fi
  echo "# $(grep 'restored' <<<"$out")"
  tap_check "restore $name: agent answers" test "$rc" = 0
  tap_check "restore $name: the hostname given at snapshot" test -n "$host" -a -n "$(grep -x "$host" <<<"$out")"
  tap_check "restore $name: the IP given at snapshot" grep -q "inet $ip/24" <<<"$out"
  tap_check "restore $name: files from install and modify are there" test -n "$(grep 'written by install' <<<"$out")" -a \
    -n "$(grep 'a host file' <<<"$out")" -a -n "$(grep -x /root/modified <<<"$out")" -a -n "$(grep -x /root/labtools <<<"$out")"
  tap_check "restore $name: the failed install left the catalog's writes as they were" grep -qx 'b a rebooted ' <<<"$out"
done
# A command of --exec that fails: the restore's result still comes, with its exit code; exit 1.
"$VM" restore --json lvm1 --exec 'echo out; echo err >&2; exit 3' >"$tmp/rx.json" 2>"$tmp/rx.err"; rc=$?
tap_check "restore --json --exec failing: exit 1, the document with exit_code 3 and both outputs" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert sys.argv[2] == "1" and d["exec"]["exit_code"] == 3 and d["exec"]["stdout"] == "out\n" and d["exec"]["stderr"] == "err\n", d
' "$tmp/rx.json" "$rc"
tap_check "no QEMU left after restore" test -z "$(qemus)"
tap_check "restore leaves no disposable overlay" test -z "$(ls "$VMCLOAK_HOME"/vms/qemu/*/ | grep disposable)"

# --- failures ----------------------------------------------------------------------------------
before=$(rows)
# 1. QEMU killed during the install of init.
"$VM" init --linux --net user --accel tcg killed lnet >"$tmp/killed.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do q=$(pgrep -f -- "qemu-system.*$VMCLOAK_HOME/image/killed.qcow2" | head -1); [ -n "$q" ] && break; sleep 0.1; done
sleep 3
[ -n "$q" ] && kill -KILL "$q"
wait $pid; rc=$?
tap_check "init with QEMU killed exits non-zero" test "$rc" -ne 0 -a -n "$q"
tap_check "init with QEMU killed says what failed" grep -q 'init of killed failed' "$tmp/killed.out"
tap_check "init with QEMU killed: no disk left" test ! -e "$VMCLOAK_HOME/image/killed.qcow2"
tap_check "init with QEMU killed: no row, no QEMU" test "$(rows)" = "$before" -a -z "$(qemus)"

# 2. An agent that never starts: BusyBox (static) does not know the applet 'vmcloak-agent'.
t=$(now)
out=$(VMCLOAK_GUEST_AGENT=/bin/busybox "$VM" init --linux --net user --accel tcg --timeout 45 noagent lnet 2>&1); rc=$?
echo "# init with no agent: $(secs "$t" "$(now)") s"
tap_check "init whose agent never answers exits 1" test "$rc" = 1
tap_check "it names the address and --timeout" grep -q 'did not answer at 127.0.0.1:[0-9]* within 45 s (--timeout)' <<<"$out"
tap_check "it says where the logs are" grep -q "logs\? .*$VMCLOAK_HOME/log/noagent\|serial console are in $VMCLOAK_HOME/log/noagent" <<<"$out"
tap_check "no agent: no disk, no row, no QEMU" test ! -e "$VMCLOAK_HOME/image/noagent.qcow2" -a "$(rows)" = "$before" -a -z "$(qemus)"

# 3. SIGINT during snapshot.
"$VM" snapshot --accel tcg lbase sigvm 10.0.2.30 >"$tmp/sig.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q 'booting' "$tmp/sig.out" && break; sleep 0.1; done
sleep 2
q=$(qemus | head -1)
kill -INT $pid
wait $pid; rc=$?
tap_check "SIGINT during snapshot exits non-zero" test "$rc" -ne 0 -a -n "$q"
tap_check "SIGINT during snapshot: QEMU is gone" bash -c "! kill -0 $q 2>/dev/null" 
tap_check "SIGINT during snapshot: no VM folder, no row" test ! -e "$VMCLOAK_HOME/vms/qemu/sigvm" -a "$(rows)" = "$before"
tap_check "SIGINT during snapshot says so" grep -q 'interrupted' "$tmp/sig.out"

# --- deleting ------------------------------------------------------------------------------
"$VM" delvm lvm2 >/dev/null 2>&1
tap_check "delvm removes the VM's folder" test ! -e "$VMCLOAK_HOME/vms/qemu/lvm2"
"$VM" delimg --force lbase >/dev/null 2>&1
tap_check "delimg --force removes image, VMs and disk" test ! -e "$VMCLOAK_HOME/image/lbase.qcow2" -a \
  ! -e "$VMCLOAK_HOME/vms/qemu/lvm1" -a "$(rows)" = "0/0"
tap_done
