#!/usr/bin/env bash
# Every option and command of VMCloak's CLI (../shared/reference/vmcloak-spec.md §2): vmcloak
# accepts it and does what it documents, as far as shows without booting a guest (a run that
# stops at a later check: a missing image or bridge; the install media createiso writes; the
# repository; log lines; the argv a stand-in QEMU is started with). Where vmcloak differs on
# purpose, README's "Differences from VMCloak worth knowing" says so and this checks that.
# What needs a boot is covered elsewhere; the comments name the test.
# Usage: vmcloak_options.sh FAKE-QEMU (tests/e2e/fake-qemu.c: logs its argv, exits 1).
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
ROOT=${VMCLOAK_SOURCE_ROOT:?}
fake=${1:?usage: vmcloak_options.sh FAKE-QEMU}
tmp=$(mktemp -d /tmp/vmcloak-options.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMCLOAK_HOME=$tmp/home
unset VMCLOAK_LIBVIRT_URI VMCLOAK_QEMU
nobr=vmcnobr$$   # a bridge that does not exist: init stops there, after every option checked out
nobr=${nobr:0:15}

# run ARGS...: $out (stdout and stderr, debug lines left out), $raw (with them) and $rc.
run() {
  "$VM" "$@" >"$tmp/run.out" 2>&1; rc=$?
  raw=$(cat "$tmp/run.out"); out=$(grep -v '^debug: ' "$tmp/run.out")
}
# run, then: exit code $1, and the output holds the fixed string $2.
expect() {
  local name=$1 want_rc=$2 want=$3; shift 3
  run "$@"
  if [ "$rc" = "$want_rc" ] && grep -qF -- "$want" <<<"$out"; then tap_ok "$name"
  else tap_fail "$name" "rc=$rc (want $want_rc): $(head -3 <<<"$out" | tr '\n' ' ')"; fi
}
lines() { grep -c . <<<"$1"; }

# ---- §2.1 global options ----
# -q/--quiet: VMCloak's takes a value (any value means quiet); ours also works as a flag.
"$VM" list images >/dev/null 2>&1   # the home, for migrate's "already" line
run migrate; tap_check "without -q migrate says where it stands" grep -q "already at the latest" <<<"$out"
for q in "-q" "-q 1" "-q yes" "--quiet" "--quiet 1" "--quiet yes" "--quiet=1"; do
  run $q migrate
  tap_check "vmcloak $q migrate: accepted, info lines gone" test "$rc" = 0 -a -z "$out"
done
run -q list images; tap_check "-q before a command name stays a flag (-q list images)" test "$rc" = 0
run migrate --quiet=x; tap_check "--quiet=X after the command too" test "$rc" = 0 -a -z "$out"
run -q -d list images; tap_check "-q does not swallow an option" test "$rc" = 0
run --quiet list images; tap_check "--quiet before a command name stays a flag (--quiet list images)" test "$rc" = 0
run --quiet -d list images; tap_check "--quiet does not swallow an option" test "$rc" = 0
# After the command -q is a flag (VMCloak had no -q there): the next word stays a positional,
# and when it is one too many the line says how to write the value form.
expect "list images -q 1: refused, the line names --quiet=1" 2 "write --quiet=1" list images -q 1
expect "list images --quiet 1: refused the same way" 2 "write --quiet=1" list images --quiet 1
run list images -q; tap_check "list images -q: a flag after the command" test "$rc" = 0 -a -z "$out"

# -d/--debug: debug lines.
run -d --home "$tmp/dbg1" list images; tap_check "-d shows debug output" grep -q '^debug: ' <<<"$raw"
run list images --home "$tmp/dbg2" --debug; tap_check "--debug after the command too" grep -q '^debug: ' <<<"$raw"
run --home "$tmp/dbg3" list images; tap_check "without it, none" test -z "$(grep '^debug: ' <<<"$raw")"

# --debug's VNC side effect (init, install, modify, snapshot): on the --vrde-port display, on
# 127.0.0.1 unless --vnc-listen; seen in the argv of a stand-in QEMU that exits at once.
cp "$fake" "$tmp/fake-qemu"
export FAKE_QEMU_LOG=$tmp/qemu.calls
qemu-img create -q -f qcow2 "$VMCLOAK_HOME/image/img.qcow2" 64M 2>/dev/null || truncate -s 64M "$VMCLOAK_HOME/image/img.qcow2"
sqlite3 "$VMCLOAK_HOME/repository.db" "INSERT INTO image (mode, vm, name, path, osversion, ipaddr, port, adapter,
  netmask, gateway, cpus, ramsize, netmode) VALUES ('normal', 'qemu', 'img', '$VMCLOAK_HOME/image/img.qcow2', 'linux',
  '10.0.2.15', 8000, 'net1', '255.255.255.0', '10.0.2.2', 1, 256, 'user')"
vnc_of() { grep -v -e '^--version$' -e '^-accel help$' "$FAKE_QEMU_LOG" | grep -o -- '-vnc [^ ]*' | sort -u; }
: >"$FAKE_QEMU_LOG"; run --qemu-binary "$tmp/fake-qemu" install img run:true --accel tcg
tap_check "install without --debug: QEMU gets no -vnc" test -z "$(vnc_of)" -a "$rc" != 0
: >"$FAKE_QEMU_LOG"; run --qemu-binary "$tmp/fake-qemu" -d install img run:true --accel tcg
tap_check "install --debug: QEMU gets -vnc 127.0.0.1:3389 (display 3389, as --vrde)" test "$(vnc_of)" = "-vnc 127.0.0.1:3389"
tap_check "... and a line says where to connect" grep -qF "connect a VNC viewer to 127.0.0.1:9289 (display 3389)" <<<"$out"
: >"$FAKE_QEMU_LOG"; run --qemu-binary "$tmp/fake-qemu" install img run:true --accel tcg -d --vrde-port 7 --vnc-listen 127.0.0.2
tap_check "install --debug --vrde-port 7 --vnc-listen 127.0.0.2: there" test "$(vnc_of)" = "-vnc 127.0.0.2:7"
tap_check "... a loopback address: no warning of an open display" test -z "$(grep -F "no loopback" <<<"$out")"
# A display anyone on the network can reach: it has no password and shows an administrator session.
: >"$FAKE_QEMU_LOG"; run --qemu-binary "$tmp/fake-qemu" install img run:true --accel tcg -d --vnc-listen 0.0.0.0
tap_check "install --debug --vnc-listen 0.0.0.0: one warning line (no password, administrator session)" \
  test "$(grep -c "no loopback address.*no password.*administrator session" <<<"$out")" = 1
: >"$FAKE_QEMU_LOG"; run --qemu-binary "$tmp/fake-qemu" -d modify img --vm-visible --accel tcg
tap_check "modify --debug --vm-visible: VNC as well" test "$(vnc_of)" = "-vnc 127.0.0.1:3389"
: >"$FAKE_QEMU_LOG"; run --qemu-binary "$tmp/fake-qemu" -d snapshot img vm1 --accel tcg --boot-each
tap_check "snapshot --debug: VNC" test "$(vnc_of)" = "-vnc 127.0.0.1:3389"
expect "init --debug: the VNC line (it stops at the missing bridge)" 1 "connect a VNC viewer to 127.0.0.1:9289" \
  -d init --linux ini1 "$nobr"
expect "--vnc-listen is checked" 2 "invalid IP address" install img run:true --vnc-listen bad
run list images --debug
tap_check "--debug does not speak of VNC for other commands" test -z "$(grep -F VNC <<<"$out")"

# -u/--user USER: become USER after the options checked out (root only, or USER is you).
rm -f "$FAKE_QEMU_LOG"
expect "-u with an unknown user: one line, usage error" 2 "no such user" --home "$tmp/nohome" -u no-such-user-$$ list images
tap_check "... and nothing is touched" test ! -e "$tmp/nohome" -a "$(lines "$out")" = 1
run -u "$(id -un)" list images; tap_check "-u yourself is accepted" test "$rc" = 0
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  nb_uid=$(id -u nobody)
  chmod 711 "$tmp"; mkdir "$tmp/nb"; chown nobody "$tmp/nb"
  run -u nobody --home "$tmp/nb/home" list images
  tap_check "-u nobody: runs (list images)" test "$rc" = 0
  tap_check "... as nobody: the home it made is nobody's" \
    test "$(stat -c %u "$tmp/nb/home/repository.db")" = "$nb_uid" -a "$(stat -c %u "$tmp/nb/home/image")" = "$nb_uid"
  run -u nobody -d --home "$tmp/nb/home" list images
  tap_check "... with HOME set to nobody's home" grep -qF "HOME=$(getent passwd nobody | cut -d: -f6)" <<<"$raw"
  # The environment of USER: USER/LOGNAME, no XDG_RUNTIME_DIR of root's, no TMPDIR it cannot write.
  mkdir -m 700 "$tmp/roottmp"
  XDG_RUNTIME_DIR=/run/user/0 TMPDIR=$tmp/roottmp run -u nobody -d --home "$tmp/nb/home" list images
  tap_check "... USER and LOGNAME are nobody" grep -qF "USER=LOGNAME=nobody " <<<"$raw"
  nbrun=/run/user/$nb_uid
  if [ -d "$nbrun" ] && [ "$(stat -c %u "$nbrun")" = "$nb_uid" ]; then want_xdg=$nbrun; else want_xdg="(unset)"; fi
  tap_check "... root's XDG_RUNTIME_DIR is not kept ($want_xdg)" grep -qF "XDG_RUNTIME_DIR=$want_xdg " <<<"$raw"
  tap_check "... a TMPDIR nobody cannot write is unset" grep -qF "TMPDIR=(unset)" <<<"$raw"
  TMPDIR=/tmp run -u nobody -d --home "$tmp/nb/home" list images
  tap_check "... a TMPDIR nobody can write stays" grep -qF "TMPDIR=/tmp" <<<"$raw"
  # --home / VMCLOAK_HOME that USER cannot write: one line before anything (as root it would pass).
  mkdir -m 755 "$tmp/roothome"
  expect "-u nobody --home DIR of root's: refused with one line" 1 "is not writable by nobody" \
    -u nobody --home "$tmp/roothome" list images
  tap_check "... nothing made in it" test "$(lines "$out")" = 1 -a -z "$(ls -A "$tmp/roothome")"
  VMCLOAK_HOME=$tmp/roothome/sub run -u nobody list images
  tap_check "VMCLOAK_HOME below a folder of root's: refused, not made" \
    test "$rc" = 1 -a "$(lines "$out")" = 1 -a ! -e "$tmp/roothome/sub"
  # --qemu-binary is checked before -u takes effect: a binary nobody cannot run is refused after.
  cp "$fake" "$tmp/rootqemu"; chmod 700 "$tmp/rootqemu"
  expect "-u nobody --qemu-binary only root can run: refused with one line" 1 "not executable by nobody" \
    --qemu-binary "$tmp/rootqemu" -u nobody --home "$tmp/nb/home" list images
  tap_check "... one line" test "$(lines "$out")" = 1
  run list images -u nobody --home "$tmp/nb/h2"
  tap_check "-u after the command too" test "$rc" = 0 -a "$(stat -c %u "$tmp/nb/h2/repository.db")" = "$nb_uid"
  # Without --home the home is USER's ~/.vmcloak (VMCloak kept the invoking user's, which USER
  # cannot write: README's Differences). nobody's home does not exist, so it says so.
  nbhome=$(getent passwd nobody | cut -d: -f6)
  if [ ! -e "$nbhome" ]; then
    VMCLOAK_HOME= run -u nobody list images
    tap_check "-u nobody without --home: nobody's ~/.vmcloak, not root's" \
      test "$rc" != 0 -a -n "$(grep -F "$nbhome/.vmcloak" <<<"$out")" -a ! -e "$nbhome"
  fi
  env -u VMCLOAK_HOME setpriv --reuid="$nb_uid" --regid="$(id -g nobody)" --clear-groups -- \
    "$VM" --home "$tmp/nb/h3" -u root list images >"$tmp/o" 2>&1; rc=$?
  tap_check "not root: -u another user is refused with one line, nothing touched" \
    test "$rc" = 2 -a "$(lines "$(cat "$tmp/o")")" = 1 -a ! -e "$tmp/nb/h3" -a -n "$(grep -F "only root" "$tmp/o")"
  chmod 700 "$tmp"
else
  tap_skip "-u another user" "not root, or no user nobody"
fi

# ---- §2.2 the shared blocks and §2.3 init: every option parses and checks; init stops at the
# bridge that does not exist (the full runs: tests/e2e/guest_linux.sh, net_bridge_boot.sh;
# Windows: windows_init.sh, win_config.sh, winmedia.sh). ----
mkdir -p "$tmp/tempdir" "$tmp/mnt"
expect "init: every VM attribute accepted" 1 "no interface named $nobr" \
  init --linux --ip 192.168.30.20 --port 8001 --network 192.168.30.0/24 --gateway 192.168.30.1 --dns 1.1.1.1 \
  --dns2 1.0.0.1 --cpus 2 --ramsize 512 --vramsize 16 --hddsize 2 --tempdir "$tmp/tempdir" --resolution 800x600 \
  --vm-visible --vrde --vrde-port 5 --vnc-listen 127.0.0.1 ini2 "$nobr"
expect "init: a bare --network address means /24" 1 "no interface named $nobr" \
  init --linux --network 192.168.31.7 --ip 192.168.31.20 ini2 "$nobr"
expect "init: ISO attributes (--win7x64 --iso-mount --serial-key --product --python-version) accepted" 1 \
  "no interface named $nobr" init --win7x64 --iso-mount "$tmp/mnt" --serial-key ABCDE-ABCDE-ABCDE-ABCDE-ABCDE \
  --product ultimate --python-version 2.7.13 ini3 "$nobr"
for os in --win81x64 --win10x64; do
  expect "init $os accepted" 1 "no interface named $nobr" init $os ini4 "$nobr"
done
expect "init without an OS flag: VMCloak's error" 2 "please provide one of --win7x64, --win81x64, --win10x64" init ini5 "$nobr"
expect "init --serial-key must be 5 groups of 5" 2 "five groups of five" init --win7x64 --serial-key ABCDE ini6 "$nobr"
expect "init --vm qemu (any case) accepted" 1 "no interface named $nobr" init --linux --vm QEMU ini7 "$nobr"
expect "init --vm virtualbox refused" 2 "vmcloak builds QEMU images only" init --linux --vm virtualbox ini8 "$nobr"
: >"$tmp/given.iso"
expect "init --iso PATH accepted" 1 "no interface named $nobr" init --linux --iso "$tmp/given.iso" ini9 "$nobr"
expect "init: --vrde-port 0 is display 0 (VMCloak: no VNC; README)" 1 "connect a VNC viewer to 127.0.0.1:5900 (display 0)" \
  -d init --linux --vrde-port 0 ini10 "$nobr"
run list images
tap_check "no init above left an image" test -z "$(grep -F ini <<<"$out")"
tap_check "--help shows VMCloak's defaults (--port 8000, --dns2 8.8.4.4, --cpus 1, --vramsize 16, --resolution, --vrde-port 3389)" \
  bash -c "h=\$('$VM' init --help); for d in 'port PORT.*default: 8000' 'dns2 IP.*default: 8.8.4.4' 'cpus N.*default: 1\\]' \
    'vramsize MIB.*default: 16' 'resolution WxH.*default: 1024x768' 'vrde-port N.*default: 3389' 'hddsize SIZE.*default: 256' \
    'tempdir DIR.*default: ~/.vmcloak/iso' 'dns IP.*default: 8.8.8.8'; do grep -qE -- \"\$d\" <<<\"\$h\" || exit 1; done"

# ---- §2.4 createiso: --network, --gateway, --ip mandatory; the values land in the media ----
expect "createiso without --ip: the missing option named" 2 "missing option --ip" createiso --linux "$tmp/a.iso"
expect "createiso without --gateway" 2 "missing option --gateway" \
  createiso --linux --ip 192.168.30.5 --network 192.168.30.0/24 "$tmp/a.iso"
cache=${VMCLOAK_TEST_CACHE:-/var/tmp/vmcloak-test-cache}/vmcloak-cache
agent=${VMCLOAK_BUILD_ROOT:-}/agent/vmcloak-agent
if [ -n "$(ls -A "$cache" 2>/dev/null)" ] && command -v isoinfo >/dev/null && [ -x "$agent" ] &&
   ! file -L "$agent" | grep -q 'dynamically linked'; then
  ln -s "$cache" "$VMCLOAK_HOME/cache"
  run createiso --linux --ip 192.168.30.5 --network 192.168.30.0/25 --gateway 192.168.30.1 --dns 1.1.1.1 --dns2 1.0.0.1 \
    --port 8123 --cpus 2 --ramsize 512 --vramsize 8 --hddsize 3 --resolution 800x600 --vrde --vrde-port 9 "$tmp/a.iso"
  ans=$(isoinfo -R -i "$tmp/a.iso" -x /vmcloak/answers.sh 2>/dev/null)
  tap_check "createiso: --ip, --network, --gateway, --dns, --dns2, --port in the media" bash -c '
    for l in "VMCLOAK_IP='\''192.168.30.5'\''" "VMCLOAK_NETMASK='\''255.255.255.128'\''" "VMCLOAK_GATEWAY='\''192.168.30.1'\''" \
      "VMCLOAK_DNS='\''1.1.1.1'\''" "VMCLOAK_DNS2='\''1.0.0.1'\''" "VMCLOAK_AGENT_PORT='\''8123'\''"; do
      grep -qxF "$l" <<<"$1" || exit 1; done' _ "$ans"
  tap_check "createiso: no image row (only the one inserted above)" \
    test "$(sqlite3 "$VMCLOAK_HOME/repository.db" 'SELECT group_concat(name) FROM image')" = img
  # Windows media (answer file with key, product, resolution): tests/e2e/win_config.sh, winmedia.sh.
else
  tap_skip "createiso's media" "no kernel in the test cache ($cache), no isoinfo, or no static agent (a sanitizer build)"
fi

# ---- §2.5 install: every option and the dependency grammar (name, name:version, pkg.key=value,
# pkg.version=V); it stops at the missing image. Runs: tests/e2e/pipeline.sh, deps_wine.sh. ----
expect "install: --vm-visible --vrde --vrde-port --force-reinstall --no-machine-start -r -d accepted" 1 "no image named 'nosuch'" \
  install --vm-visible --vrde --vrde-port 2 --force-reinstall --no-machine-start -r -d nosuch
expect "install: name, name:version, pkg.key=value, pkg.version=V accepted" 1 "no image named 'nosuch'" \
  install nosuch dotnet:4.7.2 office office.isopath=/x.iso office.version=2010 wallpaper
expect "install with nothing to install: refused" 2 "nothing to install" install nosuch
expect "--recommended is -r" 1 "no image named 'nosuch'" install --recommended nosuch

# ---- §2.6 modify; §2.7 snapshot ----
expect "modify: --vm-visible --vrde --vrde-port --iso-path accepted" 1 "no image named 'nosuch'" \
  modify --vm-visible --vrde --vrde-port 3 --iso-path "$tmp/given.iso" nosuch
expect "snapshot: every VMCloak option accepted" 1 "no image named 'nosuch'" \
  snapshot --resolution 800x600 --ramsize 512 --cpus 1 --vm-visible --count 1 --vrde --vrde-port 4 --interactive --com1 \
  --nopatch nosuch vm 192.168.30.20
expect "snapshot --hostname works with --count 1 (VMCloak refused it always; README)" 1 "no image named 'nosuch'" \
  snapshot --hostname host1 nosuch vm
expect "snapshot --hostname with --count 2 is refused" 2 "--hostname names one VM" snapshot --hostname h --count 2 nosuch vm
# VMNAME1..VMNAMEn, the IP per VM, display+i: tests/e2e/snapshot_fleet.sh, pipeline.sh.

# ---- §2.8 clone, §2.13 delimg, §2.12 delvm, §2.10 cleanup, §2.14 list: on VMCloak's own repository ----
vh=$tmp/vmcloak-home; mkdir -p "$vh/image"
sqlite3 "$vh/repository.db" <"$ROOT/tests/fixtures/vmcloak-head.sql"
expect "migrate on VMCloak's repository" 0 "migrated from schema 1 to" --home "$vh" migrate
expect "clone of an unknown image: exit 1" 1 "no image named 'nosuch'" --home "$vh" clone nosuch out
expect "delimg of an image with snapshots: refused" 1 "snapshot" --home "$vh" delimg win10base
tap_check "... and it is still there" bash -c "'$VM' --home '$vh' list images | grep -q win10base"
expect "delimg of an unknown image: exit 1" 1 "no image named 'nosuch'" --home "$vh" delimg nosuch
expect "delvm of an unknown name: 'not found', exit 1 (as VMCloak)" 1 "not found: nosuch" --home "$vh" delvm nosuch
expect "delvm of an image's name: refused, pointing at delimg (README)" 1 "delete it with 'vmcloak delimg win7base'" \
  --home "$vh" delvm win7base
tap_check "... and it is still there" bash -c "'$VM' --home '$vh' list images | grep -q win7base"
expect "cleanup of an unknown name: exit 0 (as VMCloak), one warning" 0 "nothing to clean up" --home "$vh" cleanup nosuch
expect "cleanup --vm qemu accepted" 0 "nothing to clean up" --home "$vh" cleanup --vm qemu nosuch
expect "cleanup --vm virtualbox refused" 2 "only qemu" --home "$vh" cleanup --vm virtualbox nosuch
# clone's copy and delimg/delvm of real ones: tests/e2e/cli.sh, pipeline.sh.
# The text layout, byte for byte with VMCloak's: the list work of issue 16 (its own test).
expect "list images" 0 "win10base" --home "$vh" list images
expect "list snapshots" 0 "win10vm_1" --home "$vh" list snapshots
expect "list deps" 0 "dotnet" list deps
# On a pipe VMCloak's own layout: its header line and a blank line, then one name per line.
run list deps --name-only
tap_check "list deps --name-only: VMCloak's header, then names only" test "$rc" = 0 \
  -a "$(head -1 <<<"$out")" = "Name version target sha1 arch" -a -z "$(tail -n +3 <<<"$out" | grep -F ' ')"

# ---- §2.9 isodownload: no flag or both flags is a usage error (both: VMCloak takes win7; README).
# The downloads, the hash check and --download-to: tests/e2e/download.sh. ----
expect "isodownload without a flag: refused" 2 "nothing to download" isodownload
expect "isodownload --win7x64 --win10x64: refused (README)" 2 "more than one source" isodownload --win7x64 --win10x64
tap_check "isodownload --help names --download-to" bash -c "'$VM' isodownload --help | grep -q -- '--download-to'"

# ---- §2.11 migrate --revision: head or VMCloak's alembic revisions, up to it, never down ----
mh=$tmp/old-home; mkdir -p "$mh"
sqlite3 "$mh/repository.db" <"$ROOT/tests/fixtures/vmcloak-0.4.8.sql"   # at 5a5957711538
rev() { sqlite3 "$mh/repository.db" "SELECT version_num FROM alembic_version; PRAGMA user_version" | tr '\n' ' '; }
expect "migrate --revision 5a5957711538 on a repository there: nothing to do" 0 "already at revision 5a5957711538" \
  --home "$mh" migrate --revision 5a5957711538
expect "migrate --revision f5b14c62e62c: one step" 0 "to f5b14c62e62c" --home "$mh" migrate --revision f5b14c62e62c
tap_check "... stops there (alembic f5b14c62e62c, mac columns, no _installed)" bash -c "
  test \"\$(sqlite3 '$mh/repository.db' \"SELECT version_num FROM alembic_version; PRAGMA user_version;
    SELECT count(*) FROM pragma_table_info('image') WHERE name IN ('mac', '_installed')\" | tr '\n' ' ')\" = 'f5b14c62e62c 0 1 '"
s0=$(sum "$mh/repository.db")
expect "migrate --revision 34c908159434 (past it): exit 0, as VMCloak, one line" 0 "already past revision 34c908159434" \
  --home "$mh" migrate --revision 34c908159434
tap_check "... the file unchanged" test "$(sum "$mh/repository.db")" = "$s0" -a "$(lines "$out")" = 1
expect "migrate --revision nonsense: usage error naming VMCloak's revisions" 2 "d6c5bf858df1" \
  --home "$mh" migrate --revision nonsense
expect "migrate --revision d6c5bf858df1" 0 "to d6c5bf858df1" --home "$mh" migrate --revision d6c5bf858df1
expect "migrate --revision head: on to this vmcloak's schema" 0 "migrated from schema 1" --home "$mh" migrate --revision head
tap_check "... now current" test "$(rev)" = "d6c5bf858df1 6 "
expect "migrate (default head) again: already" 0 "already at the latest" --home "$mh" migrate
s0=$(sum "$mh/repository.db")
expect "migrate --revision 34c908159434 at head: exit 0, nothing changed" 0 "nothing was changed" \
  --home "$mh" migrate --revision 34c908159434
tap_check "... the file unchanged" test "$(sum "$mh/repository.db")" = "$s0" -a "$(lines "$out")" = 1

tap_done
