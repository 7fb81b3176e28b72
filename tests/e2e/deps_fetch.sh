#!/usr/bin/env bash
# vmcloak deps fetch|verify and list deps against a test catalog ($VMCLOAK_DATADIR/deps/*.yaml,
# a recipe, a deps.d entry) whose URLs point at a local HTTP server on 127.0.0.1
# (tests/e2e/download-server.py): into the cache, sub-dependencies, resume after a cut, a wrong
# file refused, a 404 then a mirror, offline, dead URLs never tried, --files-dir matched by hash,
# VMCloak's ~/.vmcloak/deps reused, the memory of verified files, verify finding a corrupted
# file, list deps as text and JSON, --recommended. Nothing leaves 127.0.0.0/8.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
tmp=$(mktemp -d /tmp/vmcloak-depsfetch.XXXXXX)
srv_pid=
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export VMCLOAK_HOME=$tmp/home VMCLOAK_DATADIR=$tmp/data
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
cache=$VMCLOAK_HOME/files

mkdir -p "$tmp/srv" "$tmp/data/deps" "$VMCLOAK_HOME/deps.d"
for f in hello-1.0.exe hello-2.0.exe helper.cer cut.exe wrong.exe offline.exe dead.exe mixed.exe mine.exe old.exe user.exe slow.exe; do
  head -c $((300000 + RANDOM)) /dev/urandom >"$tmp/srv/$f"
done
sha256() { sha256sum "$tmp/srv/$1" | cut -d' ' -f1; }
sha1() { sha1sum "$tmp/srv/$1" | cut -d' ' -f1; }
python3 "$(dirname "$0")/download-server.py" "$tmp/srv" "$tmp/port" "$tmp/log" &
srv_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
base=http://127.0.0.1:$port
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
closed2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
requests() { grep -cF "GET $1 " "$tmp/log"; }

# One entry per file: name, filename, then the URL lines.
entry() {
  local name=$1 file=$2; shift 2
  {
    echo "name: $name"
    echo "description: test entry $name"
    echo "os: [win10x64, win7x64]"
    echo "installers:"
    echo "  - filename: $file"
    echo "    sha256: $(sha256 "$file")"
    echo "    urls:"
    for u in "$@"; do echo "      - $u"; done
  } >"$tmp/data/deps/$name.yaml"
}
cat >"$tmp/data/deps/hello.yaml" <<EOF
name: hello
description: A test installer with two versions
os: [win10x64, win7x64]
default: "1.0"
recommended: true
tags: [hello, greeting]
depends: [helper]
installers:
  - version: "1.0"
    filename: hello-1.0.exe
    sha1: $(sha1 hello-1.0.exe)
    urls: ["$base/f/hello-1.0.exe"]
  - version: "2.0"
    filename: hello-2.0.exe
    sha256: $(sha256 hello-2.0.exe)
    urls: ["$base/f/hello-2.0.exe"]
EOF
cat >"$tmp/data/deps/helper.yaml" <<EOF
name: helper
description: Extra files only; its first URL answers 404
files:
  - filename: helper.cer
    sha1: $(sha1 helper.cer)
    urls: ["$base/status/404/helper.cer", "$base/f/helper.cer"]
EOF
entry cut cut.exe "$base/cut/65536/cut.exe"
entry wrong wrong.exe "$base/wrong/wrong.exe"
entry offline offline.exe "http://127.0.0.1:$closed/offline.exe" "http://127.0.0.1:$closed2/offline.exe"
entry dead dead.exe "{url: \"$base/f/dead.exe\", dead: \"the host went dark\"}"
entry mixed mixed.exe "{url: \"$base/f/mixed.exe?dead\", dead: \"gone since 2023\"}" "$base/f/mixed.exe"
entry mine mine.exe "$base/f/mine.exe"
entry slow slow.exe "$base/slow/100000/slow.exe"
entry old old.exe "$base/f/old.exe"
# The catalog renamed a file VMCloak cached under its URL's basename (vcredist_x64.exe -> ...-2013.exe).
head -c 200000 /dev/urandom >"$tmp/srv/vc-2013.exe"
entry vcold vc-2013.exe "$base/f/vcold.exe"
cat >"$tmp/data/deps/hola.yaml" <<EOF
name: hola
description: hello's old name
alias_of: hello
EOF
# A shipped entry the user's deps.d replaces.
cat >"$tmp/data/deps/over.yaml" <<EOF
name: over
description: shipped
EOF
cat >"$VMCLOAK_HOME/deps.d/over.yaml" <<EOF
name: over
description: the user's own
EOF
cat >"$tmp/data/deps/recipes.yaml" <<EOF
win10x64: [hello, mixed]
EOF
cat >"$VMCLOAK_HOME/deps.d/user.yaml" <<EOF
name: user
description: An entry of the user's
os_depends: {win7x64: [helper]}
settings:
  level: {default: "3", description: how hard}
  key: {required: true}
installers:
  - filename: user.exe
    arch: amd64
    sha1: $(sha1 user.exe)
    urls: ["$base/f/user.exe"]
EOF

# A name, its installer and its sub-dependency's file; the 404 is asked once, then the mirror.
out=$("$VM" deps fetch hello 2>"$tmp/err"); rc=$?
tap_check "deps fetch hello exits 0" test "$rc" = 0
tap_check "the default version's installer is cached" cmp -s "$tmp/srv/hello-1.0.exe" "$cache/hello-1.0.exe"
tap_check "the other version is not fetched" test ! -e "$cache/hello-2.0.exe"
tap_check "the sub-dependency's file is cached (404, then the mirror)" cmp -s "$tmp/srv/helper.cer" "$cache/helper.cer"
tap_check "the 404 was asked once" test "$(requests /status/404/helper.cer)" = 1
tap_check "the summary counts 2 fetched" grep -qx "2 fetched, 0 already cached, 0 user-supplied, 0 missing" <<<"$out"
tap_check "verified files are remembered" grep -q "hello-1.0.exe" "$cache/.verified"

# A second run: nothing downloaded.
n0=$(grep -c . "$tmp/log")
out=$("$VM" deps fetch hello 2>"$tmp/err"); rc=$?
tap_check "a second run exits 0 without a request" test "$rc" = 0 -a "$(grep -c . "$tmp/log")" = "$n0"
tap_check "a second run counts 2 already cached" grep -qx "0 fetched, 2 already cached, 0 user-supplied, 0 missing" <<<"$out"

# A same-size rewrite that puts the old mtime back is not trusted (the ctime moved): hashed again,
# found wrong, deleted and fetched anew.
cp -p "$cache/hello-1.0.exe" "$tmp/keep"
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); b=f.read(1); f.seek(0); f.write(bytes([b[0]^255]))' "$cache/hello-1.0.exe"
touch -r "$tmp/keep" "$cache/hello-1.0.exe"
sleep 0.01
out=$("$VM" deps fetch hello 2>"$tmp/err"); rc=$?
tap_check "a rewrite keeping size and mtime is hashed again and replaced" \
  test "$rc" = 0 && cmp -s "$tmp/srv/hello-1.0.exe" "$cache/hello-1.0.exe" && grep -q "not the catalog's file" "$tmp/err"

# A FIFO named *.yaml in deps.d is not opened (it would block every command).
mkfifo "$VMCLOAK_HOME/deps.d/pipe.yaml"
out=$(timeout 20 "$VM" list deps --name-only 2>"$tmp/err"); rc=$?
tap_check "a FIFO in deps.d is skipped with a warning" test "$rc" = 0 && grep -q "pipe.yaml is not read: it is no regular file" "$tmp/err"
rm -f "$VMCLOAK_HOME/deps.d/pipe.yaml"

# NAME:VERSION picks that version.
"$VM" deps fetch hello:2.0 >/dev/null 2>"$tmp/err"; rc=$?
tap_check "hello:2.0 fetches version 2.0" test "$rc" = 0 && cmp -s "$tmp/srv/hello-2.0.exe" "$cache/hello-2.0.exe"

# A cut connection: resumed with a Range.
"$VM" deps fetch cut >/dev/null 2>"$tmp/err"; rc=$?
tap_check "a cut download completes" test "$rc" = 0 && cmp -s "$tmp/srv/cut.exe" "$cache/cut.exe"
tap_check "the retry asked for the rest" grep -qF "GET /cut/65536/cut.exe range=bytes=65536-" "$tmp/log"

# Ctrl-C half-way: exit 130, the .part kept; the next run resumes it.
"$VM" deps fetch slow >/dev/null 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do [ "$(stat -c %s "$cache/slow.exe.part" 2>/dev/null || echo 0)" -ge 50000 ] && break; sleep 0.1; done
kill -INT "$pid"; wait "$pid"; rc=$?
kept=$(stat -c %s "$cache/slow.exe.part" 2>/dev/null || echo 0)
tap_check "Ctrl-C exits 130" test "$rc" = 130
tap_check "Ctrl-C keeps the .part ($kept bytes) and no final file" test "$kept" -ge 50000 -a ! -e "$cache/slow.exe"
"$VM" deps fetch slow >/dev/null 2>"$tmp/err"; rc=$?
tap_check "the next run resumes from the kept size" \
  test "$rc" = 0 && grep -qF "GET /slow/100000/slow.exe range=bytes=$kept-" "$tmp/log" && cmp -s "$tmp/srv/slow.exe" "$cache/slow.exe"

# A wrong file: refused with both hashes, nothing cached.
wrong=$(python3 -c 'import hashlib,sys; d=bytearray(open(sys.argv[1],"rb").read()); d[0]^=255; print(hashlib.sha256(d).hexdigest())' "$tmp/srv/wrong.exe")
out=$("$VM" deps fetch wrong 2>"$tmp/err"); rc=$?
tap_check "a wrong file exits 1" test "$rc" = 1
tap_check "a wrong file: the line shows both hashes" grep -q "$wrong, expected $(sha256 wrong.exe)" "$tmp/err"
tap_check "a wrong file: nothing cached" test ! -e "$cache/wrong.exe" -a ! -e "$cache/wrong.exe.part"
tap_check "a wrong file: counted missing" grep -qx "0 fetched, 0 already cached, 0 user-supplied, 1 missing" <<<"$out"

# Offline: every URL refused; one line naming each URL and the way out.
"$VM" deps fetch offline >/dev/null 2>"$tmp/err"; rc=$?
tap_check "offline exits 1" test "$rc" = 1
tap_check "offline: one line" test "$(wc -l <"$tmp/err")" = 1
tap_check "offline: the line names both URLs" \
  grep -qF "http://127.0.0.1:$closed/offline.exe: could not connect (refused or unreachable); http://127.0.0.1:$closed2/offline.exe: could not connect" "$tmp/err"
tap_check "offline: the line names the entry and the way out" \
  grep -qF "offline (offline.exe)" "$tmp/err" && grep -qF "put offline.exe (SHA-256 $(sha256 offline.exe)) in $cache or --files-dir DIR" "$tmp/err"
tap_check "offline: nothing left" test ! -e "$cache/offline.exe" -a ! -e "$cache/offline.exe.part"

# Dead URLs are never asked; a dead-only file is to be brought by hand.
out=$("$VM" deps fetch dead mixed 2>"$tmp/err"); rc=$?
tap_check "a dead-only file exits 1" test "$rc" = 1
tap_check "the live mirror of a half-dead file delivers" cmp -s "$tmp/srv/mixed.exe" "$cache/mixed.exe"
tap_check "no dead URL was asked" test "$(requests /f/dead.exe)" = 0 -a "$(requests '/f/mixed.exe?dead')" = 0
tap_check "the dead-only file is listed to be brought by hand, with its hash" \
  grep -qF "dead.exe (SHA-256 $(sha256 dead.exe)) for dead: every URL is dead" <<<"$out"
tap_check "... under the heading" grep -q "^Must be brought by hand" <<<"$out"
tap_check "the dead URL and its reason are in the error line" grep -qF "$base/f/dead.exe (dead: the host went dark)" "$tmp/err"
tap_check "1 fetched, 1 missing" grep -qx "1 fetched, 0 already cached, 0 user-supplied, 1 missing" <<<"$out"

# --files-dir: the user's file, matched by hash, used where it is; a same-name other file refused.
mkdir -p "$tmp/usb"
cp "$tmp/srv/dead.exe" "$tmp/usb/dead.exe"
out=$("$VM" deps fetch dead --files-dir "$tmp/usb" 2>"$tmp/err"); rc=$?
tap_check "a user-supplied file makes a dead-only entry work" test "$rc" = 0
tap_check "it is counted user-supplied" grep -qx "0 fetched, 0 already cached, 1 user-supplied, 0 missing" <<<"$out"
tap_check "it is not copied into the cache" test ! -e "$cache/dead.exe"
echo "not the installer" >"$tmp/usb/mine.exe"
n0=$(requests /f/mine.exe)
out=$("$VM" deps fetch mine --files-dir "$tmp/usb" 2>"$tmp/err"); rc=$?
tap_check "a same-name other file in --files-dir is refused" test "$rc" = 1
tap_check "... with both hashes" \
  grep -qF "its SHA-256 is $(sha256sum "$tmp/usb/mine.exe" | cut -d' ' -f1), expected $(sha256 mine.exe)" "$tmp/err"
tap_check "... left alone" test "$(cat "$tmp/usb/mine.exe")" = "not the installer"
tap_check "... and nothing downloaded instead" test "$(requests /f/mine.exe)" = "$n0"
mkdir -p "$tmp/usb2"; ln -s "$tmp/nowhere/dead.exe" "$tmp/usb2/dead.exe"
"$VM" deps fetch dead --files-dir "$tmp/usb2" >/dev/null 2>"$tmp/err"; rc=$?
tap_check "a dangling link in --files-dir is named, not skipped in silence" \
  test "$rc" != 0 && grep -qF "$tmp/usb2/dead.exe is no regular file" "$tmp/err"

# VMCloak's cache (~/.vmcloak/deps) is reused in place.
mkdir -p "$VMCLOAK_HOME/deps"
cp "$tmp/srv/old.exe" "$VMCLOAK_HOME/deps/old.exe"
out=$("$VM" deps fetch old 2>"$tmp/err"); rc=$?
tap_check "VMCloak's cached file is used" test "$rc" = 0 && grep -qx "0 fetched, 1 already cached, 0 user-supplied, 0 missing" <<<"$out"
tap_check "... without a request" test "$(requests /f/old.exe)" = 0
tap_check "... where it is" grep -qF "$VMCLOAK_HOME/deps/old.exe" <<<"$out"
echo "another version" >"$VMCLOAK_HOME/deps/vcold.exe"
"$VM" deps fetch vcold --files-dir "$tmp/nothing" >/dev/null 2>"$tmp/err"; rc=$?
tap_check "VMCloak's file under its URL name is not taken when its hash differs" \
  test "$rc" != 0 -a "$(cat "$VMCLOAK_HOME/deps/vcold.exe")" = "another version"
cp "$tmp/srv/vc-2013.exe" "$VMCLOAK_HOME/deps/vcold.exe"
out=$("$VM" deps fetch vcold 2>"$tmp/err"); rc=$?
tap_check "VMCloak's file under its URL name is used once its hash matches" \
  test "$rc" = 0 && grep -qF "$VMCLOAK_HOME/deps/vcold.exe" <<<"$out"

# --recommended: the OS's recipe and the sub-dependencies.
rm -rf "$cache"
out=$("$VM" deps fetch --recommended --os win10x64 2>"$tmp/err"); rc=$?
tap_check "--recommended --os win10x64 exits 0" test "$rc" = 0
tap_check "--recommended fetched the recipe and its sub-dependency" \
  test -e "$cache/hello-1.0.exe" -a -e "$cache/mixed.exe" -a -e "$cache/helper.cer"
tap_check "--recommended: 3 fetched" grep -qx "3 fetched, 0 already cached, 0 user-supplied, 0 missing" <<<"$out"
"$VM" deps fetch --recommended --os win81x64 >/dev/null 2>"$tmp/err"; rc=$?
tap_check "an OS without a recipe is refused" test "$rc" = 1 && grep -q "no recommended set for win81x64" "$tmp/err"

# deps verify: a corrupted cache file is found and deleted, an unknown one listed and kept.
printf 'x' | dd of="$cache/mixed.exe" bs=1 seek=100 conv=notrunc status=none
echo stray >"$cache/stray.txt"
echo half >"$cache/hello-2.0.exe.part"
echo orphan >"$cache/stray.bin.part"
out=$("$VM" deps verify 2>"$tmp/err"); rc=$?
tap_check "verify with a corrupted file exits 1" test "$rc" = 1
tap_check "verify names the mismatch with both hashes" \
  grep -qE "^MISMATCH +$cache/mixed.exe: its SHA-256 is [0-9a-f]{64}, expected $(sha256 mixed.exe); deleted" <<<"$out"
tap_check "the corrupted file is deleted" test ! -e "$cache/mixed.exe"
tap_check "the unknown file is listed and kept" grep -qE "^unknown +$cache/stray.txt" <<<"$out" && test -e "$cache/stray.txt"
tap_check "the good files are ok" grep -qE "^ok +$cache/hello-1.0.exe$" <<<"$out"
tap_check "a catalog file's .part is partial" grep -qE "^partial +$cache/hello-2.0.exe.part \(an unfinished download" <<<"$out"
tap_check "a .part of no catalog file is unknown, not partial" grep -qE "^unknown +$cache/stray.bin.part \(not in the catalog" <<<"$out"
rm -f "$cache/hello-2.0.exe.part" "$cache/stray.bin.part"
tap_check "verify's summary" grep -qx "2 matched, 1 mismatched, 2 unknown" <<<"$out"
"$VM" deps verify >/dev/null 2>&1; rc=$?
tap_check "verify again exits 0" test "$rc" = 0
# A rewrite that keeps size and time: fetch trusts its memory, verify reads the file.
touch -r "$cache/hello-1.0.exe" "$tmp/stamp"
printf 'y' | dd of="$cache/hello-1.0.exe" bs=1 seek=10 conv=notrunc status=none
touch -r "$tmp/stamp" "$cache/hello-1.0.exe"
out=$("$VM" deps verify --files-dir "$tmp/usb" 2>"$tmp/err"); rc=$?
tap_check "verify re-hashes (its memory is not trusted)" test "$rc" = 1 && grep -q "^MISMATCH.*hello-1.0.exe" <<<"$out"
tap_check "a mismatch in --files-dir is left alone" grep -q "^MISMATCH.*usb/mine.exe.*left alone" <<<"$out" && test -e "$tmp/usb/mine.exe"

# list deps: VMCloak's lines, the extensions (the table), --name-only, --json.
"$VM" deps fetch hello >/dev/null 2>&1
"$VM" list deps --format table --files-dir "$tmp/usb" >"$tmp/list" 2>"$tmp/err"; rc=$?
tap_check "list deps exits 0" test "$rc" = 0
tap_check "list deps: VMCloak's header" test "$(head -1 "$tmp/list")" = "Name version target sha1 arch"
tap_check "list deps: the default marked" grep -qx "hello \* 1.0 None $(sha1 hello-1.0.exe) " "$tmp/list"
tap_check "list deps: another version unmarked" grep -qx "hello  2.0 None None " "$tmp/list"
tap_check "list deps: versions, OS, recommended, tags" \
  grep -qx "  versions: 1.0\* 2.0; os: win10x64 win7x64; recommended; tags: hello greeting; depends: helper" "$tmp/list"
tap_check "list deps: where the default installer is" grep -qF "  hello-1.0.exe (1.0): cached $cache/hello-1.0.exe" "$tmp/list"
tap_check "list deps: dead" grep -qF "  dead.exe: user-supplied $tmp/usb/dead.exe" "$tmp/list"
# An installer with an arch but no version: "(amd64)", not "( amd64)".
tap_check "list deps: must download" grep -qx "  user.exe (amd64): must download (SHA-1 $(sha1 user.exe))" "$tmp/list"
tap_check "list deps: os_depends" grep -q "^  os: any; on win7x64 depends: helper; from " "$tmp/list"
tap_check "list deps: a setting with its default" grep -qx "  setting user.level=... (default '3'): how hard" "$tmp/list"
tap_check "list deps: a required setting" grep -qx "  setting user.key=... (required)" "$tmp/list"
tap_check "list deps: the user's entry says where it comes from" grep -qF "from $VMCLOAK_HOME/deps.d/user.yaml" "$tmp/list"
tap_check "list deps: an alias has its target's installers" grep -qx "hola \* 1.0 None $(sha1 hello-1.0.exe) " "$tmp/list"
tap_check "list deps: an alias says so" grep -q "^  versions: 1.0\* 2.0; .*alias of hello$" "$tmp/list"
tap_check "list deps: a replaced entry says so" grep -qF "from $VMCLOAK_HOME/deps.d/over.yaml (replaces the shipped entry)" "$tmp/list"
"$VM" list deps --format table >"$tmp/list2" 2>&1
tap_check "list deps: dead without --files-dir" grep -qx "  dead.exe: dead (bring it by hand) (SHA-256 $(sha256 dead.exe))" "$tmp/list2"
"$VM" list deps --name-only --format table >"$tmp/names" 2>&1
tap_check "list deps --name-only" test "$(tr '\n' ' ' <"$tmp/names")" = "cut dead hello helper hola mine mixed offline old over slow user vcold wrong "
# On a pipe: VMCloak's lines only (spec §2.14), its header before the names of --name-only too.
"$VM" list deps >"$tmp/vmc" 2>&1
tap_check "list deps on a pipe: VMCloak's lines of an entry, nothing else" \
  test "$(grep -A3 -x hello "$tmp/vmc")" = "$(printf 'hello\nhello * 1.0 None %s \nhello  2.0 None None \n--------------------' "$(sha1 hello-1.0.exe)")"
tap_check "list deps on a pipe: none of the table's extra lines" test -z "$(grep '^  ' "$tmp/vmc")"
tap_check "list deps --format vmcloak is the pipe's layout" cmp -s "$tmp/vmc" <("$VM" list deps --format vmcloak 2>&1)
"$VM" list deps --name-only >"$tmp/vnames" 2>&1
tap_check "list deps --name-only on a pipe: VMCloak's header, a blank line, the names" \
  test "$(tr '\n' ' ' <"$tmp/vnames")" = "Name version target sha1 arch  cut dead hello helper hola mine mixed offline old over slow user vcold wrong "
tap_check "list deps --name-only --json: the names as a JSON array" python3 -c 'import json,sys; \
  assert json.load(sys.stdin)[:3] == ["cut", "dead", "hello"]' < <("$VM" list deps --name-only --json)
"$VM" list deps --json >"$tmp/json" 2>"$tmp/err"; rc=$?
tap_check "list deps --json exits 0" test "$rc" = 0
tap_check "list deps --json: the fields" python3 - "$tmp/json" "$cache" <<'EOF'
import json, sys
d = {e["name"]: e for e in json.load(open(sys.argv[1]))}
h = d["hello"]
assert h["default"] == "1.0" and h["versions"] == ["1.0", "2.0"], h
assert h["recommended"] is True and h["tags"] == ["hello", "greeting"] and h["depends"] == ["helper"]
assert h["os"] == ["win10x64", "win7x64"] and h["user"] is False and h["alias_of"] is None
for k in ("description", "multiversion", "must_reboot", "files"):
    assert k in h, k
f = {x["filename"]: x for x in h["files"]}
assert f["hello-1.0.exe"]["where"] == "cached" and f["hello-1.0.exe"]["path"] == sys.argv[2] + "/hello-1.0.exe"
assert f["hello-1.0.exe"]["version"] == "1.0" and f["hello-1.0.exe"]["sha1"] and f["hello-1.0.exe"]["sha256"] is None
assert f["hello-2.0.exe"]["where"] == "download", f["hello-2.0.exe"]
assert d["dead"]["files"][0]["where"] == "dead"
assert d["dead"]["files"][0]["urls"][0]["dead"] == "the host went dark"
assert d["mixed"]["files"][0]["urls"][1] == {"url": d["mixed"]["files"][0]["urls"][1]["url"], "dead": None}
assert d["user"]["user"] is True
assert d["user"]["settings"] == [{"key": "level", "required": False, "default": "3", "description": "how hard"},
                                 {"key": "key", "required": True, "default": None, "description": None}], d["user"]["settings"]
assert d["hello"]["settings"] == []
assert d["helper"]["files"][0]["kind"] == "file"
assert d["hola"]["alias_of"] == "hello" and d["hola"]["default"] == "1.0" and len(d["hola"]["files"]) == 2
assert d["over"]["user"] is True and d["over"]["overrides"] is True and d["over"]["description"] == "the user's own"
EOF

# --all: every file of every entry, once each (12 in this catalog).
out=$("$VM" deps fetch --all 2>"$tmp/err"); rc=$?
total=$(tail -1 <<<"$out" | awk '{print $1 + $3 + $6 + $8}')
tap_check "--all looks at each of the 13 files once (got $total)" test "$total" = 13
tap_check "--all: one line per file" test "$(grep -cE '^(fetched|cached|user-supplied|missing) ' <<<"$out")" = 13

# An entry without files: nothing to do, said so.
out=$("$VM" deps fetch over 2>"$tmp/err"); rc=$?
tap_check "an entry without files exits 0 and says so" test "$rc" = 0 && grep -q "^Nothing to fetch" <<<"$out"

# Usage errors: exit 2, nothing made.
"$VM" deps fetch >/dev/null 2>"$tmp/err"; rc=$?
tap_check "deps fetch without names is a usage error" test "$rc" = 2
"$VM" deps verify --all >/dev/null 2>"$tmp/err"; rc=$?
tap_check "deps verify --all is a usage error" test "$rc" = 2
"$VM" deps frob >/dev/null 2>"$tmp/err"; rc=$?
tap_check "an unknown verb is a usage error" test "$rc" = 2
"$VM" deps fetch nosuchdep >/dev/null 2>"$tmp/err"; rc=$?
tap_check "an unknown name is refused with one line" test "$rc" = 1 -a "$(wc -l <"$tmp/err")" = 1
# An unknown --os names every OS profile (linux was hidden behind "...").
out=$("$VM" deps fetch hello --os lnux 2>&1); rc=$?
tap_check "deps fetch --os lnux: exit 1, every OS profile named" test "$rc" = 1 && grep -qF "(the OS profiles: linux, win7x64, win81x64, win10x64, win11x64;" <<<"$out"
tap_done
