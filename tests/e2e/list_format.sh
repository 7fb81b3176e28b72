#!/usr/bin/env bash
# vmcloak list images|snapshots: VMCloak's own lines on a pipe, byte for byte against goldens; the
# table on a terminal (a pseudo-terminal from script(1)); --format vmcloak|table|json forcing one.
#
# The goldens (tests/e2e/list/list-vmcloak-*.txt) are what VMCloak itself printed for this
# repository: cert-ee/vmcloak a591ae07d08af7e576e09f8da1addd2c7e3d5a2a (vmcloak/main.py's
# list_images and list_snapshots), run with Debian 12's python3-sqlalchemy 1.4.46 in a temp HOME
# whose ~/.vmcloak/repository.db was made from tests/fixtures/vmcloak-head.sql +
# tests/fixtures/vmcloak-list.sql. VMCloak's code is not part of this repository.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
src=${VMCLOAK_SOURCE_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-listfmt.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMCLOAK_HOME=$tmp/home
mkdir -p "$VMCLOAK_HOME/image"
cat "$src/tests/fixtures/vmcloak-head.sql" "$src/tests/fixtures/vmcloak-list.sql" | sqlite3 "$VMCLOAK_HOME/repository.db"
s0=$(sha256sum <"$VMCLOAK_HOME/repository.db")

# On a terminal: run under script(1) (util-linux), which gives the command a pseudo-terminal as
# stdout; its output comes back with the terminal's CRLF line ends.
on_tty() { script -qec "$(printf '%q ' "$@")" /dev/null </dev/null | tr -d '\r'; }

for w in images snapshots; do
  golden=$src/tests/e2e/list/list-vmcloak-$w.txt
  "$VM" list "$w" >"$tmp/$w.pipe" 2>"$tmp/err"; rc=$?
  tap_check "list $w on a pipe exits 0, nothing on stderr" test "$rc" = 0 -a ! -s "$tmp/err"
  tap_check "list $w on a pipe: VMCloak's bytes" cmp "$golden" "$tmp/$w.pipe"
  tap_check "list $w --format vmcloak on a terminal: VMCloak's bytes" cmp "$golden" <(on_tty "$VM" list "$w" --format vmcloak)
  on_tty "$VM" list "$w" >"$tmp/$w.tty"
  tap_check "list $w on a terminal: the table" grep -q '^\(NAME\|VMNAME\)  .* TAGS ' "$tmp/$w.tty"
  tap_check "list $w --format table on a pipe: the terminal's table" cmp "$tmp/$w.tty" <("$VM" list "$w" --format table)
  "$VM" list "$w" --format json >"$tmp/$w.json"
  tap_check "list $w --format json: a JSON array" python3 -c 'import json,sys; assert isinstance(json.load(open(sys.argv[1])), list)' "$tmp/$w.json"
  tap_check "list $w --format json is --json" cmp "$tmp/$w.json" <("$VM" list "$w" --json)
  tap_check "list $w --json --format json agree" cmp "$tmp/$w.json" <("$VM" --json list "$w" --format json)
  "$VM" --json list "$w" --format table >/dev/null 2>"$tmp/err"; rc=$?
  tap_check "list $w --json --format table: a usage error (exit 2) in one line" \
    test "$rc" = 2 -a "$(grep -c . "$tmp/err")" = 1 -a -n "$(grep -F -- '--json and --format table disagree' "$tmp/err")"
  tap_check "list $w --name-only on a pipe: the names only" test -z "$("$VM" list "$w" --name-only | grep '[ |]')"
done
tap_check "table and pipe layouts differ (the test can fail)" bash -c "! cmp -s '$tmp/images.tty' '$tmp/images.pipe'"
"$VM" list images --format yaml >/dev/null 2>"$tmp/err"; rc=$?
tap_check "--format yaml: exit 2 naming the choices" test "$rc" = 2 -a -n "$(grep -F 'auto, vmcloak, table or json' "$tmp/err")"
tap_check "the VMCloak-made repository is left byte-identical" test "$(sha256sum <"$VMCLOAK_HOME/repository.db")" = "$s0"

# A VM whose image row is gone (VMCloak stops with a traceback): under a header of Nones, first
# (SQLite sorts the missing name first), the rest unchanged.
o=$tmp/orphan; mkdir -p "$o"; cp "$VMCLOAK_HOME/repository.db" "$o/"
sqlite3 "$o/repository.db" "INSERT INTO snapshot VALUES (7, 99, 'orphan', '192.168.30.99', 8000, 'h', NULL)"
tap_check "a VM without its image: listed under 'None None(None) (None)'" test "$("$VM" --home "$o" list snapshots)" = \
  "$(printf 'None None(None) (None)\n- orphan 192.168.30.99\n'; cat "$src/tests/e2e/list/list-vmcloak-snapshots.txt")"

# --name-only --json: an array of the names (as list deps and list hardware give), not the objects.
for w in images snapshots; do
  tap_check "list $w --name-only --json: a JSON array of the names" python3 -c 'import json,sys
l = json.load(sys.stdin); n = sys.argv[1].split()
assert l == n and all(isinstance(x, str) for x in l), (l, n)' "$("$VM" list "$w" --name-only | tr '\n' ' ')" \
    <<<"$("$VM" --json list "$w" --name-only)"
done

# A VMCloak row of another platform with nothing stored (no ip, adapter, cpus, ram, netmode): the
# table shows "-" for each unknown value (not "bridge", "0", "0M" or a blank), JSON null for net.
u=$tmp/unknown; mkdir -p "$u"; cp "$VMCLOAK_HOME/repository.db" "$u/"
sqlite3 "$u/repository.db" "INSERT INTO image VALUES (9, 'normal', 'virtualbox', 'vb', '/z', 'win7x64', NULL, NULL, 8000, NULL, NULL, NULL, NULL, NULL, 16, 'default', NULL, NULL)"
tap_check "table: a row of unknowns shows '-' in IP, ADAPTER, NET, CPUS, RAM, INSTALLED" \
  grep -qE '^vb +win7x64 +- +- +- +- +- +normal +- +- +-$' <("$VM" --home "$u" list images --format table)
tap_check "table: the VMCloak qemu row with no IP shows '-' there, bridged" \
  grep -qE '^lin +linux +- +- +bridge +1 +512M ' <("$VM" --home "$u" list images --format table)
tap_check "--json: net is null for the virtualbox row" python3 -c 'import json,sys
d = {i["name"]: i for i in json.load(sys.stdin)}; assert d["vb"]["net"] is None and d["lin"]["net"] == "bridge"' \
  <<<"$("$VM" --home "$u" list images --json)"

# list deps of the shipped catalog: VMCloak's `list deps` printed for its own dependencies, run
# the same way (tests/e2e/list/list-vmcloak-deps.txt), less its three installer lines of
# chrome:latest and flash:latest, which have no hash and the catalog leaves out
# (docs/dependencies.md). A catalog change that VMCloak did not have shows here.
tap_check "list deps on a pipe: VMCloak's bytes for its dependencies" \
  cmp "$src/tests/e2e/list/list-vmcloak-deps.txt" <(VMCLOAK_HOME=$tmp/deps "$VM" list deps)

# An empty repository: VMCloak prints nothing; the table says how to make one.
export VMCLOAK_HOME=$tmp/empty
tap_check "empty: nothing on a pipe" test -z "$("$VM" list images)$("$VM" list snapshots)"
tap_check "empty: the table's hint on a terminal" grep -q 'No images' <(on_tty "$VM" list images)
tap_done
