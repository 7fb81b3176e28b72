#!/usr/bin/env bash
# End-to-end: the dependency runner on a Windows guest, for real, under Wine. The Windows agent
# (build/agent/vmcloak-agent.exe) runs under wine64 in a prefix of its own on 127.0.0.1; an
# image row of a test home says win10x64 behind that agent; `vmcloak install --no-machine-start`
# takes catalog entries from the home's deps.d (tests/fixtures/deps-installers.sh: MSIs built
# with wixl, an NSIS installer, a hand-made .msu), fetches their files from a local HTTP server
# into the home's file cache and runs their steps through the agent. What they installed is
# read back through the agent (reg query, /retrieve), not through vmcloak.
# A reboot under Wine: `shutdown /r` does nothing there, so the runner must say the guest did
# not reboot; with tests/fixtures/wine-reboot.c as the guest's shutdown.exe the agent is ended
# and started again, which is a reboot as the host sees one.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
SRC=${VMCLOAK_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
exe=$BUILD/agent/vmcloak-agent.exe

need_wine_agent "$exe"
for t in wixl makensis gcab; do
  if ! command -v "$t" >/dev/null; then
    echo "1..0 # SKIP $t is missing (Debian packages wixl, nsis, gcab)"
    exit 0
  fi
done

tmp=$(mktemp -d /tmp/vmcloak-depswine.XXXXXX)
export WINEPREFIX=$tmp/prefix WINEDEBUG=-all
unset VMCLOAK_HOME
home=$tmp/home
srv_pid= loop_pid=
cleanup() {
  [ -n "$loop_pid" ] && kill "$loop_pid" 2>/dev/null
  touch "$tmp/stop"
  # Only this test's prefix: its wineserver ends the agent and whatever it started.
  [ -d "$WINEPREFIX" ] && "$(dirname "$wine")/wineserver" -k 2>/dev/null
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- the guest: the agent under Wine, started again whenever it ends (a "reboot") ------------
mkdir -p "$tmp/guest"
cp "$exe" "$tmp/guest/vmcloak-agent.exe"
port=$(free_port)
t=$(now)
(
  while [ ! -e "$tmp/stop" ]; do
    echo start >>"$tmp/agent-starts"
    "$wine" "$tmp/guest/vmcloak-agent.exe" --host 127.0.0.1 --port "$port" >>"$tmp/agent.log" 2>&1
    sleep 0.5
  done
) &
loop_pid=$!
AGENT_PORT=$port AGENT_MAX_TIME=60
up=0
agent_up && up=1
echo "# fresh Wine prefix + agent answering: $(secs "$t" "$(now)") s"
tap_check "the Windows agent answers under Wine on 127.0.0.1:$port" test "$up" = 1
if [ "$up" != 1 ]; then sed 's/^/# agent: /' "$tmp/agent.log"; tap_done; exit; fi
# has_all TEXT PATTERN...: every pattern matches a line of TEXT.
has_all() { local text=$1 p; shift; for p; do grep -q -- "$p" <<<"$text" || return 1; done; }

# --- the files on a local HTTP server, the catalog entries in the home's deps.d --------------
mkdir -p "$tmp/srv"
python3 "$(dirname "$0")/download-server.py" "$tmp/srv" "$tmp/srv.port" "$tmp/srv.log" &
srv_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/srv.port" ] && break; sleep 0.1; done
t=$(now)
"$SRC/tests/fixtures/deps-installers.sh" "$tmp/srv" "http://127.0.0.1:$(cat "$tmp/srv.port")/f"
echo "# installers built (wixl, makensis, gcab): $(secs "$t" "$(now)") s"
mkdir -p "$home"
mv "$tmp/srv/deps.d" "$home/deps.d"
# Beside the shipped catalog, as a user's entries are.
unset VMCLOAK_DATADIR
out=$("$VM" --home "$home" list deps --name-only 2>&1)
tap_check "the five fixture entries load from deps.d beside the shipped catalog" \
  has_all "$out" '^testmsi$' '^testmsi-fail$' '^testmsi-reboot$' '^testnsis$' '^testmsu$' '^dotnet$'

# --- an image row behind that agent: win10x64, bridge mode on a bridge that does not exist ----
"$VM" --home "$home" list images >/dev/null   # creates the repository
qemu-img create -q -f qcow2 "$home/image/wine10.qcow2" 64M
sqlite3 "$home/repository.db" "INSERT INTO image (mode, vm, name, path, osversion, ipaddr, port, adapter, netmask,
  gateway, cpus, ramsize, netmode) VALUES ('normal', 'qemu', 'wine10', '$home/image/wine10.qcow2', 'win10x64',
  '127.0.0.1', $port, 'vmcloakbr-none', '255.255.255.0', '127.0.0.1', 2, 2048, 'bridge')"
installed() { sqlite3 "$home/repository.db" "SELECT coalesce(_installed, '') FROM image WHERE name = 'wine10'"; }
install() { "$VM" --home "$home" install wine10 --no-machine-start "$@"; }

# --- MSI (0), NSIS, MSU in one run --------------------------------------------------------------
t=$(now)
out=$(install testmsi testnsis testmsu 2>&1); rc=$?
echo "# install testmsi testnsis testmsu: $(secs "$t" "$(now)") s"
sed 's/^/# /' <<<"$out"
tap_check "install testmsi testnsis testmsu --no-machine-start exits 0 (no bridge needed)" test "$rc" = 0
ok=1
for f in testmsi.msi testnsis.exe testmsu.msu; do
  cmp -s "$home/files/$f" "$tmp/srv/$f" || ok=0
  grep -q "GET /f/$f " "$tmp/srv.log" || ok=0
done
tap_check "the three files came from the local server into the home's cache, byte for byte" test "$ok" = 1
tap_check "... uploaded to C:\vmcloak-deps and removed from there by the remove steps" test \
  "$(gexit 'cmd /c dir C:\vmcloak-deps')/$(gexit 'cmd /c dir C:\vmcloak-deps\*.msi C:\vmcloak-deps\*.exe C:\vmcloak-deps\*.msu')" = 0/1
tap_check "the MSI's file is in Program Files" \
  cmp -s <(gfile 'C:\Program Files\VmcloakTestMsi\payload.txt') "$tmp/srv/payload-testmsi.txt"
tap_check "the MSI's HKLM value is set" grep -q 'Version *REG_SZ *1.0.0' \
  <<<"$(gexec 'reg query HKLM\SOFTWARE\VmcloakTestMsi /v Version')"
tap_check "the NSIS installer's file is in Program Files" \
  cmp -s <(gfile 'C:\Program Files\VmcloakTestNsis\payload.txt') "$tmp/srv/payload-testnsis.txt"
tap_check "the NSIS installer's 64-bit HKLM values are set (REG_SZ, REG_DWORD)" \
  has_all "$(gexec 'reg query HKLM\SOFTWARE\VmcloakTestNsis')" 'Version *REG_SZ *2.0' 'Build *REG_DWORD *0x7'
tap_check "the .msu's file is in Program Files (wusa.exe)" \
  cmp -s <(gfile 'C:\Program Files\VmcloakTestMsu\payload.txt') "$tmp/srv/payload-testmsu.txt"
tap_check "the .msu's HKLM value is set" grep -q 'Version *REG_SZ *3.0' \
  <<<"$(gexec 'reg query HKLM\SOFTWARE\VmcloakTestMsu /v Version')"
reg=$(gexec 'reg query HKLM\SOFTWARE\VmcloakTestDeps')
tap_check "each entry's registry step ran ({{version}} expanded)" \
  has_all "$reg" 'testmsi *REG_SZ *1.0.0' 'testnsis *REG_SZ *2.0' 'testmsu *REG_SZ *3.0'
inst=$(installed)
echo "# image.installed: $inst"
tap_check "image.installed records the three with their versions" \
  has_all "$inst" 'testmsi:1.0.0' 'testnsis:2.0' 'testmsu:3.0'

# --- 1603: the failure names the dependency, step, command and exit code -----------------------
before=$(installed)
t=$(now)
out=$(install testmsi-fail 2>&1); rc=$?
echo "# install testmsi-fail: $(secs "$t" "$(now)") s"
sed 's/^/# /' <<<"$out"
tap_check "an MSI ending with 1603 fails the install (exit 1)" test "$rc" = 1
line=$(grep -- 'testmsi-fail' <<<"$out" | grep -- '1603' | grep -F -- 'msiexec /i C:\vmcloak-deps\testmsi-fail.msi /qn /norestart' | grep -i 'step' || true)
echo "# the line: $line"
tap_check "one line names the dependency, the step, the command and exit code 1603" test -n "$line"
tap_check "... nothing of it is in the guest" test "$(gexit 'reg query HKLM\SOFTWARE\VmcloakTestMsiFail')" = 1
tap_check "... its registry step did not run" test "$(gexit 'reg query HKLM\SOFTWARE\VmcloakTestDeps /v testmsi-fail')" = 1
tap_check "... image.installed is unchanged" test "$(installed)" = "$before"

# --- 3010 under Wine: shutdown /r does nothing, the runner says the guest did not reboot --------
# The reboot comes after the dependency's steps; with --no-machine-start the guest keeps running,
# so the last dependency's reboot is done too.
starts=$(wc -l <"$tmp/agent-starts")
t=$(now)
out=$(install testmsi-reboot --timeout 15 2>&1); rc=$?
echo "# install testmsi-reboot, no reboot (Wine): $(secs "$t" "$(now)") s"
sed 's/^/# /' <<<"$out"
tap_check "an MSI ending with 3010 is reported as working, with a reboot to come" \
  grep -q "testmsi-reboot: step 2 (run): 'msiexec .*' exited with 3010: it worked, and the guest must reboot" <<<"$out"
said=0
grep -q 'wine10 did not reboot: its agent at 127.0.0.1:[0-9]* kept answering as before for 15 s' <<<"$out" && said=1
tap_check "Wine's shutdown /r does not reboot: the install fails (exit 1) saying so" test "$rc/$said" = 1/1
tap_check "... the agent was not restarted" test "$(wc -l <"$tmp/agent-starts")" = "$starts"
tap_check "... the MSI installed (its value is set) and its steps ran to the end" test \
  "$(gexit 'reg query HKLM\SOFTWARE\VmcloakTestMsiReboot /v Version')/$(gexit 'reg query HKLM\SOFTWARE\VmcloakTestDeps /v testmsi-reboot')" = 0/0
tap_check "... so image.installed records it: the running guest keeps it (no overlay to discard)" \
  has_all "$(installed)" 'testmsi-reboot:1.0.0' 'testmsi:1.0.0'

# --- 3010 with a guest that reboots: the runner waits for the new agent and goes on -----------
x86_64-w64-mingw32-gcc -O2 -o "$tmp/guest/shutdown.exe" "$SRC/tests/fixtures/wine-reboot.c"
gexec 'reg delete HKLM\SOFTWARE\VmcloakTestDeps /f' >/dev/null
t=$(now)
out=$(install testmsi-reboot testnsis --force-reinstall --timeout 60 2>&1); rc=$?
echo "# install testmsi-reboot testnsis with a reboot between: $(secs "$t" "$(now)") s"
sed 's/^/# /' <<<"$out"
tap_check "with a guest that reboots, 3010 then another dependency: exit 0, one reboot" \
  test "$rc/$(grep -c '1 reboot;' <<<"$out")" = 0/1
tap_check "... the agent went away and a fresh one answered (one more start)" \
  test "$(wc -l <"$tmp/agent-starts")" = "$((starts + 1))"
tap_check "... the next dependency ran after the reboot, through the fresh agent" \
  has_all "$(gexec 'reg query HKLM\SOFTWARE\VmcloakTestDeps')" 'testmsi-reboot *REG_SZ' 'testnsis *REG_SZ *2.0'
starts=$(wc -l <"$tmp/agent-starts")
out=$(install testmsi-reboot --force-reinstall --timeout 60 2>&1); rc=$?
sed 's/^/# /' <<<"$out"
# At least one more start: the harness's loop starts Wine's agent again at once, and a start
# that finds the port still held by the agent going down ends and is counted too (seen once in a
# fresh-root run under load: rc 0 and "1 reboot", the start count off).
tap_check "3010 from the last dependency: the running guest is rebooted too (exit 0, one more start)" \
  test "$rc/$(grep -c '1 reboot;' <<<"$out")" = "0/1" -a "$(wc -l <"$tmp/agent-starts")" -gt "$starts"
tap_check "... the file is in Program Files" \
  cmp -s <(gfile 'C:\Program Files\VmcloakTestMsiReboot\payload.txt') "$tmp/srv/payload-testmsi-reboot.txt"
tap_check "... and image.installed has the four, each once" test \
  "$(tr ',' '\n' <<<"$(installed)" | sort | tr '\n' ' ')" = "testmsi-reboot:1.0.0 testmsi:1.0.0 testmsu:3.0 testnsis:2.0 "

# --- a file in the cache is used again -------------------------------------------------------------
n=$(grep -c 'GET /f/testnsis.exe ' "$tmp/srv.log")
out=$(install testnsis --force-reinstall 2>&1); rc=$?
tap_check "an installer already in the cache is not downloaded again" \
  test "$rc" = 0 -a "$(grep -c 'GET /f/testnsis.exe ' "$tmp/srv.log")" = "$n"

# --- a guest that goes down and does not come back: --timeout, and the line says so ------------
touch "$tmp/stop"   # the loop starts no new agent
t=$(now)
out=$(install testmsi-reboot --force-reinstall --timeout 10 2>&1); rc=$?
echo "# install testmsi-reboot, the guest does not come back: $(secs "$t" "$(now)") s"
sed 's/^/# /' <<<"$out"
said=0
grep -q 'wine10 went down to reboot but its agent at 127.0.0.1:[0-9]* did not answer again within 10 s (--timeout)' \
  <<<"$out" && said=1
tap_check "a guest that went down to reboot and does not come back fails the install within --timeout" \
  test "$rc/$said" = 1/1
tap_done
