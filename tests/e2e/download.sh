#!/usr/bin/env bash
# vmcloak isodownload (and core/download under it) against a local HTTP server on 127.0.0.1
# (tests/e2e/download-server.py): hash check, cache, resume after a cut and after Ctrl-C, restart
# when Range is ignored, a wrong file refused, mirrors, retries, the offline line, a proxy, the
# known-ISO catalog through the data-folder override, and usage errors.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
tmp=$(mktemp -d /tmp/vmcloak-download.XXXXXX)
srv_pid=
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export VMCLOAK_HOME=$tmp/home
# Only the proxy case below uses a proxy: the caller's must not catch 127.0.0.1.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

mkdir -p "$tmp/srv"
head -c 3145728 /dev/urandom >"$tmp/srv/payload.bin"
sum=$(sha256sum "$tmp/srv/payload.bin" | cut -d' ' -f1)
sha1=$(sha1sum "$tmp/srv/payload.bin" | cut -d' ' -f1)
python3 "$(dirname "$0")/download-server.py" "$tmp/srv" "$tmp/port" "$tmp/log" &
srv_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
base=http://127.0.0.1:$port
requests() { grep -cF "GET $1 " "$tmp/log"; }

# A download into a folder: the URL's file name inside it, verified, no .part left.
mkdir -p "$tmp/out"
out=$("$VM" isodownload --url "$base/f/payload.bin" --sha256 "$sum" --download-to "$tmp/out" 2>"$tmp/err"); rc=$?
tap_check "download exits 0" test "$rc" = 0
tap_check "the file is the server's" cmp -s "$tmp/srv/payload.bin" "$tmp/out/payload.bin"
tap_check "no .part is left" test ! -e "$tmp/out/payload.bin.part"
tap_check "stdout is the path" test "$out" = "$tmp/out/payload.bin"

# Already there and matching: no request at all.
before=$(requests /f/payload.bin)
"$VM" isodownload --url "$base/f/payload.bin" --sha256 "$sum" --download-to "$tmp/out" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "a present file exits 0" test "$rc" = 0
tap_check "a present file is not downloaded again" test "$(requests /f/payload.bin)" = "$before"
tap_check "a present file says so" grep -q "already there" "$tmp/err"

# The default destination: the home, where VMCloak saves it.
"$VM" isodownload --url "$base/f/payload.bin" --sha256 "${sum^^}" 2>/dev/null >/dev/null; rc=$?
tap_check "default destination is <home>/<file name> (and an upper-case hash is taken)" \
  cmp -s "$tmp/srv/payload.bin" "$VMCLOAK_HOME/payload.bin"

# Cut after 1 MiB: retried with a Range from where it stopped.
"$VM" isodownload --url "$base/cut/1048576/payload.bin" --sha256 "$sum" --download-to "$tmp/cut.bin" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "a cut download completes" test "$rc" = 0
tap_check "the cut file is whole" cmp -s "$tmp/srv/payload.bin" "$tmp/cut.bin"
tap_check "the retry asked for the rest (Range: bytes=1048576-)" \
  grep -qF "GET /cut/1048576/payload.bin range=bytes=1048576-" "$tmp/log"

# Ctrl-C half-way keeps the .part and no final file; the next run resumes it.
"$VM" isodownload --url "$base/slow/262144/payload.bin" --sha256 "$sum" --download-to "$tmp/int.bin" 2>"$tmp/err" >/dev/null &
pid=$!
for _ in $(seq 100); do [ "$(stat -c %s "$tmp/int.bin.part" 2>/dev/null || echo 0)" -ge 524288 ] && break; sleep 0.1; done
"$VM" isodownload --url "$base/f/payload.bin" --sha256 "$sum" --download-to "$tmp/int.bin" 2>"$tmp/err2" >/dev/null; rc2=$?
tap_check "a second download of the same file meanwhile is refused" test "$rc2" = 1 && grep -q "is locked" "$tmp/err2"
kill -INT "$pid"; wait "$pid"; rc=$?
kept=$(stat -c %s "$tmp/int.bin.part" 2>/dev/null || echo 0)
tap_check "Ctrl-C exits 130" test "$rc" = 130
tap_check "Ctrl-C keeps the .part ($kept bytes)" test "$kept" -ge 524288 -a "$kept" -lt 3145728
tap_check "Ctrl-C leaves no final file" test ! -e "$tmp/int.bin"
"$VM" isodownload --url "$base/f/payload.bin" --sha256 "$sum" --download-to "$tmp/int.bin" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "the next run completes" test "$rc" = 0
tap_check "the next run sent Range from the kept size" grep -qF "GET /f/payload.bin range=bytes=$kept-" "$tmp/log"
tap_check "the resumed file is whole" cmp -s "$tmp/srv/payload.bin" "$tmp/int.bin"

# A .part and a server that ignores Range (200): started again from 0.
head -c 100000 /dev/zero >"$tmp/nr.bin.part"
"$VM" isodownload --url "$base/norange/payload.bin" --sha256 "$sum" --download-to "$tmp/nr.bin" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "Range ignored: the whole file replaces the .part" test "$rc" = 0
tap_check "Range ignored: the file is whole" cmp "$tmp/srv/payload.bin" "$tmp/nr.bin"
# A .part that is not the file's start: appended to, refused by the hash, fetched again from 0.
head -c 100000 /dev/zero >"$tmp/stale.bin.part"
n0=$(requests /f/payload.bin)
"$VM" isodownload --url "$base/f/payload.bin" --sha256 "$sum" --download-to "$tmp/stale.bin" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "a stale .part: fetched again and verified" cmp -s "$tmp/srv/payload.bin" "$tmp/stale.bin"
tap_check "a stale .part: a Range try, then a whole one" \
  test "$(tail -n +1 "$tmp/log" | grep -F "GET /f/payload.bin " | tail -2 | tr '\n' ' ')" = \
       "GET /f/payload.bin range=bytes=100000- GET /f/payload.bin range=- "

# A .part that is already whole (a run stopped before its rename): 416 for the Range, verified, renamed.
cp "$tmp/srv/payload.bin" "$tmp/whole.bin.part"
"$VM" isodownload --url "$base/f/payload.bin" --sha256 "$sum" --download-to "$tmp/whole.bin" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "a whole .part: the server said 416 and the file is taken" \
  test "$rc" = 0 -a ! -e "$tmp/whole.bin.part" && cmp -s "$tmp/srv/payload.bin" "$tmp/whole.bin"
tap_check "a whole .part: asked for what follows it" grep -qF "GET /f/payload.bin range=bytes=3145728-" "$tmp/log"

# A wrong file: refused with both hashes, nothing kept.
wrong=$(python3 -c 'import hashlib,sys; d=bytearray(open(sys.argv[1],"rb").read()); d[0]^=255; print(hashlib.sha256(d).hexdigest())' "$tmp/srv/payload.bin")
"$VM" isodownload --url "$base/wrong/payload.bin" --sha256 "$sum" --download-to "$tmp/w.bin" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "a wrong file exits 1" test "$rc" = 1
tap_check "a wrong file: one line" test "$(wc -l <"$tmp/err")" = 1
tap_check "a wrong file: the line shows expected and actual" grep -q "$wrong.*expected $sum" "$tmp/err"
tap_check "a wrong file: nothing kept" test ! -e "$tmp/w.bin" -a ! -e "$tmp/w.bin.part"

# Mirrors: a 404 first (not retried), the second URL delivers.
"$VM" isodownload --url "$base/status/404/payload.bin" --url "$base/f/payload.bin" --sha256 "$sum" \
  --download-to "$tmp/m.bin" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "mirror fallback after a 404" test "$rc" = 0 && cmp -s "$tmp/srv/payload.bin" "$tmp/m.bin"
tap_check "a 404 is asked once" test "$(requests /status/404/payload.bin)" = 1

# 500 twice, then the file: retried with a wait.
t0=$(date +%s%N)
"$VM" isodownload --url "$base/flaky/2/payload.bin" --sha256 "$sum" --download-to "$tmp/r.bin" 2>"$tmp/err" >/dev/null; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
tap_check "retries after 500 succeed" test "$rc" = 0 && cmp -s "$tmp/srv/payload.bin" "$tmp/r.bin"
tap_check "three requests for 500, 500, 200" test "$(requests /flaky/2/payload.bin)" = 3
tap_check "the waits doubled (1 s + 2 s; took $ms ms)" test "$ms" -ge 3000
tap_check "the retries were said" grep -q "trying again" "$tmp/err"

# Offline: a name that does not resolve and a closed port; one line, exit 1.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VM" isodownload --url http://vmcloak-offline.invalid/x.iso --url "http://127.0.0.1:$closed/x.iso" \
  --sha256 "$sum" --download-to "$tmp/o.iso" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "offline exits 1" test "$rc" = 1
tap_check "offline: one line" test "$(wc -l <"$tmp/err")" = 1
tap_check "offline: names both URLs" grep -qF "http://vmcloak-offline.invalid/x.iso: could not resolve host (offline?); http://127.0.0.1:$closed/x.iso: could not connect" "$tmp/err"
tap_check "offline: offers the way out" grep -qF "put it at $tmp/o.iso" "$tmp/err"
tap_check "offline: no file left" test ! -e "$tmp/o.iso" -a ! -e "$tmp/o.iso.part"

# Proxies from the environment: a name that cannot resolve, reached through the server as proxy.
http_proxy=$base "$VM" isodownload --url http://vmcloak-proxy.invalid/f/payload.bin --sha256 "$sum" \
  --download-to "$tmp/p.bin" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "http_proxy is used" test "$rc" = 0 && cmp -s "$tmp/srv/payload.bin" "$tmp/p.bin"
tap_check "the proxy saw the absolute URI" grep -qF "GET http://vmcloak-proxy.invalid/f/payload.bin " "$tmp/log"

# A file of the user's at the destination that is something else: refused, untouched.
echo mine >"$tmp/mine.bin"
"$VM" isodownload --url "$base/f/payload.bin" --sha256 "$sum" --download-to "$tmp/mine.bin" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "another file at the destination is refused and kept" test "$rc" = 1 -a "$(cat "$tmp/mine.bin")" = mine
tap_check "... and no empty .part is left beside it" test ! -e "$tmp/mine.bin.part"

# The known-ISO path with the catalog from a data folder ($VMCLOAK_DATADIR): a dead URL listed
# first is tried last, the SHA-1 is what is checked.
mkdir -p "$tmp/data/windows"
catalog() {
  cat >"$tmp/data/windows/isos.json" <<EOF
{ "isos": [ { "key": "win10x64", "description": "test", "filename": "Win10_1703_English_x64.iso",
  "sha1": "$1", "cuckoo3": "supported in this test",
  "urls": [ { "url": "http://vmcloak-offline.invalid/Win10_1703_English_x64.iso", "dead": "2026-11-30" },
            { "url": "$base/f/payload.bin" } ] } ] }
EOF
}
catalog "$sha1"
n0=$(grep -c . "$tmp/log")
VMCLOAK_DATADIR=$tmp/data "$VM" isodownload --win10x64 2>"$tmp/err" >/dev/null; rc=$?
tap_check "--win10x64 from the catalog" test "$rc" = 0 && cmp -s "$tmp/srv/payload.bin" "$VMCLOAK_HOME/Win10_1703_English_x64.iso"
tap_check "--win10x64 shows the Cuckoo3 note and the SHA-256" \
  bash -c "grep -q 'Cuckoo3: supported in this test' '$tmp/err' && grep -q 'SHA-256 is $sum' '$tmp/err'"
tap_check "--win10x64 made one request" test "$(grep -c . "$tmp/log")" = $((n0 + 1))
catalog 0000000000000000000000000000000000000000
VMCLOAK_DATADIR=$tmp/data "$VM" isodownload --win10x64 --download-to "$tmp/bad.iso" 2>"$tmp/err" >/dev/null; rc=$?
tap_check "a SHA-1 mismatch is refused" test "$rc" = 1 -a ! -e "$tmp/bad.iso" -a ! -e "$tmp/bad.iso.part"
tap_check "the SHA-1 line shows both" grep -q "SHA-1 $sha1, expected 0000000000000000000000000000000000000000" "$tmp/err"
VMCLOAK_DATADIR=$tmp/data "$VM" isodownload --win7x64 2>"$tmp/err" >/dev/null; rc=$?
tap_check "a key missing from the catalog exits 1" test "$rc" = 1 && grep -q "no entry win7x64" "$tmp/err"

# Usage errors: exit 2, nothing created.
home2=$tmp/home2
for args in "" "--win7x64 --win10x64" "--url $base/f/payload.bin" "--url $base/f/payload.bin --sha256 abc" \
            "--win10x64 --sha256 $sum" "--url $base/ --sha256 $sum"; do
  VMCLOAK_HOME=$home2 "$VM" isodownload $args 2>/dev/null; rc=$?
  tap_check "usage error exits 2: isodownload $(echo "$args" | sed "s|$base|URL|g; s|$sum|HASH|")" test "$rc" = 2
done
tap_check "usage errors create no home" test ! -e "$home2"
tap_done
