#!/usr/bin/env bash
# End-to-end: the cloak scorecard on the built-in linux guest under TCG, two inits.
# A plain image (QEMU's own machine): cloakcheck IMAGE shows the tells a command line can hide
# as detected and systemd-detect-virt/virt-what say qemu; --json; --fail-on-detected; the
# image unchanged and nothing left; snapshot --cloakcheck refusing a VM that scores worse than
# the image's (stored) scorecard; --agent on a guest kept running by restore --keep.
# An image with a hardware profile (init --hardware, realistic CPUs, RAM and disk): every check
# cloak_check_limit() calls hideable is hidden, systemd-detect-virt prints none, virt-what
# nothing; snapshot --cloakcheck records the VM with its scorecard; cloakcheck VM restores it.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
if ! pipeline_home vmcloak-cloakcheck; then
  tap_skip "cloakcheck" "no static agent in ${VMCLOAK_BUILD_ROOT:?}/agent (sanitizer build?)"
  tap_done; exit 0
fi
qemus() { pgrep -f -- "$VMCLOAK_HOME" | grep -v "^$$\$" || true; }
db() { sqlite3 "$VMCLOAK_HOME/repository.db" "$1"; }
# verdict NAME < table: the verdict of one check in the printed scorecard
verdict() { awk -v n="$1" '$2 == n { sub(/\*$/, "", $1); print $1 }'; }
# The checks that a QEMU 7.2 command line cannot hide, from cloakcheck's own note (up to the
# hints note that follows it).
limits() { sed -n '/^\* not hidden by a QEMU/,$p' | awk 'NR > 1 && /^detected, and how/ { exit } NR > 1 { print $1 }'; }
have_sdv=false; have_vw=false
[ -x /usr/bin/systemd-detect-virt ] && have_sdv=true
[ -x /usr/sbin/virt-what ] && [ -x /usr/sbin/dmidecode ] && [ -x /usr/libexec/virt-what-cpuid-helper ] && have_vw=true

# --- a plain image ---------------------------------------------------------------------------
out=$(pipeline_image plain lnet --net user --accel tcg 2>&1); rc=$?
tap_check "init of a plain image" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; exit 1; }
ls_before=$(ls "$VMCLOAK_HOME/image")
out=$("$VM" cloakcheck --accel tcg plain 2>"$tmp/err"); rc=$?
echo "$out" | sed 's/^/# /'
tap_check "cloakcheck IMAGE runs (exit 0) and prints a scorecard" test "$rc" = 0 -a -n "$(grep -E '^[0-9]+ hidden, [0-9]+ detected, [0-9]+ skipped$' <<<"$out")"
tap_check "the plain image's DMI says QEMU" test "$(verdict dmi.sys_vendor <<<"$out")" = detected \
  -a -n "$(grep -E '^  detected +dmi.sys_vendor +QEMU$' <<<"$out")"
for c in cpuid.hypervisor cpu.model_name acpi.oem_id acpi.table_id disk.model cdrom.model kernel.log; do
  tap_check "plain: $c detected" test "$(verdict $c <<<"$out")" = detected
done
if $have_sdv; then
  tap_check "plain: systemd-detect-virt says qemu" grep -qE '^  detected +tool.systemd_detect_virt +qemu$' <<<"$out"
else
  tap_skip "plain: systemd-detect-virt says qemu" "no systemd-detect-virt on this host"
fi
if $have_vw; then
  tap_check "plain: virt-what (under BusyBox sh) says qemu" grep -qE '^  detected +tool.virt_what +.*qemu' <<<"$out"
else
  tap_skip "plain: virt-what says qemu" "no virt-what and dmidecode on this host"
fi
tap_check "the limits note lists fw_cfg.acpi and pci.vga" \
  test "$(limits <<<"$out" | grep -cxE 'fw_cfg.acpi|pci.vga')" = 2
tap_check "the hints note says how to hide the DMI vendor" \
  grep -qE '^  dmi.sys_vendor +init --hardware NAME \(vmcloak list hardware\)$' <<<"$(sed -n '/^detected, and how to hide it:$/,$p' <<<"$out")"
tap_check "cloakcheck IMAGE leaves the image folder as it was and no QEMU" \
  test "$(ls "$VMCLOAK_HOME/image")" = "$ls_before" -a -z "$(qemus)"
tap_check "the image's scorecard is stored (image.cloakcheck)" \
  python3 -c 'import json,sys; d = json.loads(sys.argv[1]); assert d["os"] == "linux" and d["detected"] > 10 and d["name"] == "plain"' \
  "$(db "SELECT cloakcheck FROM image WHERE name='plain'")"
plain_sc=$(db "SELECT cloakcheck FROM image WHERE name='plain'")

# snapshot --cloakcheck refuses a VM worse than the image: the stored scorecard says the image
# hides its DMI vendor, which every VM of it shows.
fake=$(python3 -c 'import json,sys; d = json.loads(sys.argv[1])
for c in d["checks"]:
    if c["name"] == "dmi.sys_vendor": c["verdict"] = "hidden"; c["seen"] = "Dell Inc."
print(json.dumps(d))' "$plain_sc")
db "UPDATE image SET cloakcheck='${fake//\'/\'\'}' WHERE name='plain'"   # SQL quoting: the limits say "fw_cfg's"
out=$("$VM" snapshot --cloakcheck --accel tcg plain worsevm 2>&1); rc=$?
tap_check "snapshot --cloakcheck refuses a VM that scores worse than its image, naming the check" \
  test "$rc" != 0 -a -n "$(grep -F 'worsevm scores worse than its image: dmi.sys_vendor is detected (QEMU) where the image hides it' <<<"$out")"
tap_check "the refused VM left no row, no folder, no QEMU" \
  test "$(db "SELECT count(*) FROM snapshot")" = 0 -a ! -e "$VMCLOAK_HOME/vms/qemu/worsevm" -a -z "$(qemus)"
db "UPDATE image SET cloakcheck=NULL WHERE name='plain'"

# --agent: a guest vmcloak did not start for this command (restore --keep holds one running).
out=$("$VM" snapshot --accel tcg plain pvm 2>&1); rc=$?
tap_check "snapshot of the plain image" test "$rc" = 0
"$VM" restore --keep pvm >"$tmp/keep.out" 2>"$tmp/keep.err" &
keep=$!
for _ in $(seq 120); do grep -q 'keeps running (agent at' "$tmp/keep.err" && break; sleep 0.5; done
addr=$(sed -n 's/.*keeps running (agent at \([0-9.:]*\)).*/\1/p' "$tmp/keep.err")
out=$("$VM" cloakcheck --agent "$addr" --os linux --json 2>"$tmp/err"); rc=$?
tap_check "cloakcheck --agent IP:PORT --os linux --json on a running guest" test "$rc" = 0 -a -n "$addr"
tap_check "--json is a scorecard that python3 reads" python3 -c 'import json,sys
d = json.load(sys.stdin)
assert d["os"] == "linux" and d["detector_version"]
names = [c["name"] for c in d["checks"]]
assert len(names) == len(set(names)) and "dmi.sys_vendor" in names
assert d["hidden"] + d["detected"] + d["skipped"] == len(d["checks"])
assert all(c["verdict"] in ("hidden", "detected", "skipped") for c in d["checks"])
assert d["name"] is None
c = {c["name"]: c for c in d["checks"]}
assert c["fw_cfg.acpi"]["limit"] and c["fw_cfg.acpi"]["hint"] is None
assert c["dmi.sys_vendor"]["limit"] is None and c["dmi.sys_vendor"]["hint"].startswith("init --hardware")' <<<"$out"
"$VM" cloakcheck --agent "$addr" --os linux --fail-on-detected >/dev/null 2>"$tmp/err"; rc=$?
tap_check "--fail-on-detected exits 3 when a hideable check is detected, naming them on stderr" test "$rc" = 3 \
  -a "$(wc -l <"$tmp/err")" = 1 -a -n "$(grep -E -- '^.*--fail-on-detected: [0-9]+ checks a QEMU command line can hide are detected: .*dmi.sys_vendor' "$tmp/err")"
"$VM" cloakcheck --agent "$addr" --os windows >/dev/null 2>"$tmp/err"; rc=$?
tap_check "--os windows on the linux guest: the detector could not run, is this a windows guest?" test "$rc" = 1 \
  -a -n "$(grep -F 'the detector could not run: is this a windows guest? (--os)' "$tmp/err")"
[ "$rc" = 1 ] || sed 's/^/# /' "$tmp/err"
kill -INT "$keep"; wait "$keep"
tap_check "--agent stores nothing" test -z "$(db "SELECT cloakcheck FROM snapshot WHERE vmname='pvm'")"
"$VM" cloakcheck --agent 127.0.0.1 >/dev/null 2>"$tmp/err"; rc=$?
tap_check "--agent without --os is a usage error" test "$rc" = 2 -a -n "$(grep -F -- '--agent needs --os' "$tmp/err")"
"$VM" cloakcheck --agent 127.0.0.1 --os linux pvm >/dev/null 2>&1; rc=$?
tap_check "a name and --agent together are a usage error" test "$rc" = 2
"$VM" cloakcheck nosuch >/dev/null 2>"$tmp/err"; rc=$?
tap_check "an unknown name is refused with one line" test "$rc" = 1 -a "$(wc -l <"$tmp/err")" = 1

# --- an image with a hardware profile ---------------------------------------------------------
out=$("$VM" init --linux --net user --accel tcg --hardware dell-optiplex-7050 --cpus 2 --ramsize 2048 --hddsize 64 \
      hw lnet 2>&1); rc=$?
tap_check "init --hardware of a linux image" test "$rc" = 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; exit 1; }
out=$("$VM" snapshot --cloakcheck --accel tcg hw hwvm 2>&1); rc=$?
tap_check "snapshot --cloakcheck checks the image first and records the VM" test "$rc" = 0 \
  -a -n "$(grep -F 'Image hw has no scorecard yet' <<<"$out")" -a -n "$(grep -F 'not worse than its image' <<<"$out")"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_check "the VM's scorecard is in its row" test -n "$(db "SELECT cloakcheck FROM snapshot WHERE vmname='hwvm'")"
tap_check "... and the image's it checked first in the image's (the next snapshot does not boot it again)" \
  python3 -c 'import json,sys; assert json.loads(sys.argv[1])["name"] == "hw"' "$(db "SELECT cloakcheck FROM image WHERE name='hw'")"
out=$("$VM" cloakcheck hwvm 2>"$tmp/err"); rc=$?
echo "$out" | sed 's/^/# /'
tap_check "cloakcheck VM restores the VM and prints its scorecard" test "$rc" = 0 -a -z "$(qemus)"
if ! $have_sdv; then
  tap_skip "profile: systemd-detect-virt prints none" "no systemd-detect-virt on this host"
else
  tap_check "profile: systemd-detect-virt prints none ($(verdict tool.systemd_detect_virt <<<"$out"))" \
    grep -qE '^  hidden +tool.systemd_detect_virt +none$' <<<"$out"
fi
if ! $have_vw; then
  tap_skip "profile: virt-what prints nothing" "no virt-what and dmidecode on this host"
else
  tap_check "profile: virt-what prints nothing" grep -qE '^  hidden +tool.virt_what +\(nothing\)$' <<<"$out"
fi
# Every check that is not in the limits note is hidden (or skipped: the guest cannot look).
lim=$(limits <<<"$out")
left=""
for c in $(awk '/^  (hidden|detected|skipped)/ { v = $1; sub(/\*$/, "", v); if (v == "detected") print $2 }' <<<"$out" |
           grep -vxF "$lim"); do
  case $c in tool.*) continue ;; esac   # the judges: above
  left="$left $c"
done
tap_check "profile: every check a QEMU 7.2 command line can hide is hidden" test -z "$left"
[ -z "$left" ] || echo "# detected although hideable:$left"
"$VM" cloakcheck hwvm --fail-on-detected >/dev/null 2>&1; rc=$?
if [ -z "$left" ] && ! grep -qE '^  detected +(dmi|cpuid)' <<<"$out"; then
  tap_check "profile: --fail-on-detected exits 0" test "$rc" = 0
else
  tap_check "profile: --fail-on-detected exits 3 while a hideable check shows" test "$rc" = 3
fi
tap_check "the VM's stored scorecard is the latest" python3 -c 'import json,sys; d = json.loads(sys.argv[1])
v = {c["name"]: c["verdict"] for c in d["checks"]}
assert v["dmi.sys_vendor"] == "hidden" and v["cpuid.hypervisor"] == "hidden"' \
  "$(db "SELECT cloakcheck FROM snapshot WHERE vmname='hwvm'")"
tap_check "no QEMU left" test -z "$(qemus)"
tap_done
