#!/usr/bin/env bash
# The Windows config disc: built through the library (winconfig-drive), read back with xorriso
# and checked (answer file at the root, bootstrap scripts, settings, PE agents, Joliet); then
# its bootstrap run under Wine the way Windows runs it (the answer file's first-logon command
# through the agent's /execute) inside a network namespace of its own whose veth interfaces
# have chosen MACs, so netcfg must pick the adapter by MAC. Wine's netsh is a stub (exit 0,
# nothing applied), so a recording netsh.exe placed beside netcfg.exe checks the exact
# commands; the real stub runs in a second pass. All traffic stays on 127.0.0.1 in the namespace.
source "$(dirname "$0")/tap.sh"
DRIVE=${1:?usage: win_config.sh WINCONFIG_DRIVE}
ROOT=${VMCLOAK_BUILD_ROOT:?}
SRC=${VMCLOAK_SOURCE_ROOT:?}

work=$(mktemp -d /tmp/vmcloak-winconfig.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$ROOT/agent/vmcloak-agent.exe" ]; then
  echo "1..0 # SKIP vmcloak-agent.exe was not built (x86_64-w64-mingw32-gcc missing)"
  exit 0
fi

MAC=52:54:00:aa:bb:cc
OTHER_MAC=52:54:00:12:34:56
AGENT=svcmon.exe
PORT=18765
"$DRIVE" iso "$work/config.iso" win10x64 "$MAC" 192.168.30.10 24 192.168.30.1 "$PORT" "$AGENT" 2>"$work/err"
tap_check "win_config_iso_build makes the ISO" test -s "$work/config.iso"
mkdir "$work/tree"
"$DRIVE" dir "$work/tree" win10x64 "$MAC" 192.168.30.10 24 192.168.30.1 "$PORT" "$AGENT" 2>>"$work/err"
tap_check "win_config_write_dir fills a folder" test -s "$work/tree/autounattend.xml"
tap_check "a second write into the same folder is refused" \
  bash -c '! "$1" dir "$2" win10x64 "$3" 192.168.30.10 24 192.168.30.1 "$4" "$5" 2>/dev/null' _ \
  "$DRIVE" "$work/tree" "$MAC" "$PORT" "$AGENT"
tap_check "a bad MAC is refused" \
  bash -c 'mkdir "$2/bad" && ! "$1" dir "$2/bad" win10x64 52:54:00:zz 192.168.30.10 24 192.168.30.1 1 a.exe 2>/dev/null' \
  _ "$DRIVE" "$work"
# A failure after files were written (the agent binary is missing) leaves the folder as it was.
tap_check "a failure part-way leaves nothing in the folder" \
  bash -c 'mkdir "$2/empty" && ! WINCONFIG_AGENT_EXE=/nonexistent.exe "$1" dir "$2/empty" win10x64 "$3" 192.168.30.10 24 \
           192.168.30.1 1 a.exe 2>/dev/null && [ -z "$(ls -A "$2/empty")" ]' _ "$DRIVE" "$work" "$MAC"

# Read the ISO back with xorriso (libisofs' reader, a different program from the writer).
listing=$(xorriso -indev "$work/config.iso" -ls / -ls /vmcloak 2>/dev/null)
for f in "'autounattend.xml'" "'vmcloak'" "'bootstrap.cmd'" "'settings.ps1'" "'settings.ini'" "'netcfg.exe'" "'$AGENT'"; do
  tap_check "the ISO holds $f" grep -qxF "$f" <<<"$listing"
done
mkdir "$work/x"
xorriso -osirrox on -indev "$work/config.iso" -extract / "$work/x" >/dev/null 2>&1
tap_check "the answer file on the ISO is the one written to the folder" cmp -s "$work/x/autounattend.xml" "$work/tree/autounattend.xml"
tap_check "the answer file is well-formed (xmllint)" xmllint --noout "$work/x/autounattend.xml"
tap_check "the agent on the ISO is a PE32+ executable" grep -q 'PE32+ executable' <<<"$(file "$work/x/vmcloak/$AGENT")"
tap_check "netcfg.exe on the ISO is a PE32+ console executable" \
  grep -q 'PE32+ executable (console)' <<<"$(file "$work/x/vmcloak/netcfg.exe")"
tap_check "the agent is the console-less build" cmp -s "$work/x/vmcloak/$AGENT" "$ROOT/agent/vmcloak-agentw.exe"
tap_check "bootstrap.cmd has CRLF line ends" \
  bash -c '[ "$(grep -c $'"'"'\r$'"'"' "$1")" = "$(wc -l <"$1")" ]' _ "$work/x/vmcloak/bootstrap.cmd"
tap_check "bootstrap.cmd is the data file (with CRLF)" \
  bash -c 'cmp -s <(tr -d "\r" <"$1") "$2"' _ "$work/x/vmcloak/bootstrap.cmd" "$SRC/data/windows/bootstrap/bootstrap.cmd"
want=$(printf 'MAC=%s\r\nIP=192.168.30.10/24\r\nGATEWAY=192.168.30.1\r\nDNS=127.0.0.53\r\nDNS2=127.0.0.54\r\nAGENT_FILE=%s\r\nAGENT_PORT=%s\r\nRUN_NAME=VmcloakE2eAgent\r\nWIDTH=1024\r\nHEIGHT=768\r\n' "$MAC" "$AGENT" "$PORT")
tap_check "settings.ini holds the values" test "$(cat "$work/x/vmcloak/settings.ini")" = "$want"
# Joliet: a supplementary volume descriptor (type 2, CD001) in sectors 16..31.
tap_check "the ISO has a Joliet volume descriptor" \
  bash -c 'dd if="$1" bs=2048 skip=16 count=16 2>/dev/null | grep -qaP "\x02CD001\x01"' _ "$work/config.iso"

# --- the bootstrap under Wine, in a network namespace ---
find_wine
if [ -z "$wine" ] || ! unshare -n -m true 2>/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  tap_skip "bootstrap under Wine" "needs wine64, x86_64-w64-mingw32-gcc and unshare -n -m (root)"
  tap_done
  exit
fi

# A netsh.exe that records its command line: CreateProcess looks in netcfg.exe's own folder
# before system32, so this one answers instead of Wine's stub.
cat >"$work/netsh.c" <<'EOF'
#include <stdio.h>
#include <windows.h>
int main(void) {
        FILE *f = fopen("C:\\vmcloak\\netsh-calls.txt", "a");
        const char *cl = GetCommandLineA();
        if (!f)
                return 3;
        fprintf(f, "%s\n", cl);
        fclose(f);
        return 0;
}
EOF
x86_64-w64-mingw32-gcc -O2 -s -o "$work/netsh.exe" "$work/netsh.c"

cmdline=$(xmllint --xpath 'string(//*[local-name()="FirstLogonCommands"]/*[local-name()="SynchronousCommand"]/*[local-name()="CommandLine"])' "$work/tree/autounattend.xml")

# Runs inside the namespace: two veth pairs (eth7/lan2 and wan0/wan1) with chosen MACs, a
# fresh prefix with the tree as drive E:, the console agent on 127.0.0.1, then the first-logon
# command. Prints key=value lines and JSON answers for the checks below.
cat >"$work/inside.sh" <<'EOF'
set -u
work=$1 wine=$2 agent_exe=$3 cmdline=$4 mac=$5 other=$6 port=$7 tree=$8
mount -t sysfs sysfs /sys
ip link set lo up
ip link add eth7 type veth peer name lan2
ip link set eth7 address "$other"
ip link set lan2 address "$mac"
ip link add wan0 type veth peer name wan1
export WINEPREFIX=$work/prefix WINEDEBUG=-all
mkdir -p "$WINEPREFIX"
"$wine" wineboot -i >/dev/null 2>&1
ln -s "$tree" "$WINEPREFIX/dosdevices/e:"
"$wine" "$agent_exe" --host 127.0.0.1 --port 18764 2>"$work/agent.log" &
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18764/ && break; sleep 0.2; done
ex() { curl -s --data-urlencode "command=$1" --data-urlencode timeout=120 http://127.0.0.1:18764/execute; echo; }
echo "first_logon=$(ex "$cmdline")"
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
echo "autostart_agent=$(curl -s "http://127.0.0.1:$port/")"
echo "runkey=$(ex 'reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run /v VmcloakE2eAgent')"
echo "wrong_mac=$(ex 'C:\vmcloak\netcfg.exe netcfg --mac 52:54:00:99:99:99 --ip 192.168.30.10/24')"
rm -f "$WINEPREFIX/drive_c/vmcloak/netsh.exe"
echo "real_netsh=$(ex 'C:\vmcloak\netcfg.exe netcfg --mac 52:54:00:aa:bb:cc --ip 192.168.30.10/24 --gateway 192.168.30.1')"
echo "lan2_ipv4=$(ip -4 -o addr show lan2 | wc -l)"
# The Linux agent's netcfg reads /sys/class/net: the same choice, commands printed (--dry-run).
echo "linux_dry_run=$("${10}" netcfg --mac 52:54:00:AA:BB:CC --ip 192.168.30.10/24 --dns 127.0.0.53 --dry-run 2>&1 | tr '\n' '|')"
echo "linux_apply=$({ "${10}" netcfg --mac 52:54:00:aa:bb:cc --ip 192.168.30.10/24 2>&1; echo "rc=$?"; } | tr '\n' '|')"
echo "lan2_ifindex=$(cat /sys/class/net/lan2/ifindex)"
cp "$WINEPREFIX/drive_c/vmcloak/bootstrap.log" "$work/bootstrap.log" 2>/dev/null
cp "$WINEPREFIX/drive_c/vmcloak/netsh-calls.txt" "$work/netsh-calls.txt" 2>/dev/null
test -f "$WINEPREFIX/drive_c/windows/system32/$9" && echo "agent_installed=yes"
ln -s "$work/tree2" "$WINEPREFIX/dosdevices/f:"
echo "bad_mac_bootstrap=$(ex 'cmd /d /c call F:\vmcloak\bootstrap.cmd')"
cp "$WINEPREFIX/drive_c/vmcloak/bootstrap.log" "$work/bootstrap2.log" 2>/dev/null
echo "second_agent=$(curl -s -m 2 http://127.0.0.1:18766/ || echo none)"
test -f "$WINEPREFIX/drive_c/windows/system32/other.exe" && echo "second_agent_installed=yes"
"$(dirname "$wine")/wineserver" -k 2>/dev/null
EOF

cp "$work/netsh.exe" "$work/tree/vmcloak/netsh.exe"
# A second disc whose MAC no adapter has: the bootstrap must stop at the network step.
mkdir "$work/tree2"
"$DRIVE" dir "$work/tree2" win10x64 52:54:00:99:99:99 192.168.30.11 24 192.168.30.1 18766 other.exe 2>>"$work/err"
start=$(date +%s%N)
out=$(timeout 300 unshare -n -m bash "$work/inside.sh" "$work" "$wine" "$ROOT/agent/vmcloak-agent.exe" "$cmdline" \
      "$MAC" "$OTHER_MAC" "$PORT" "$work/tree" "$AGENT" "$ROOT/agent/vmcloak-agent" 2>"$work/inside.err")
echo "# namespace run (Wine prefix, agent, bootstrap, checks): $(( ($(date +%s%N) - start) / 1000000 )) ms"
val() { sed -n "s/^$1=//p" <<<"$out"; }
log=$(cat "$work/bootstrap.log" 2>/dev/null | tr -d '\r')
calls=$(cat "$work/netsh-calls.txt" 2>/dev/null | tr -d '\r')
idx=$(val lan2_ifindex)

tap_check "the first-logon command found the config disc and ran the bootstrap" grep -q '"exit_code":0' <<<"$(val first_logon)"
tap_check "bootstrap: first-logon phase" grep -qx 'vmcloak-phase: first-logon' <<<"$log"
tap_check "netcfg chose the adapter with the configured MAC (lan2, index $idx), not the other one" \
  grep -qF "netcfg: chose adapter index $idx \"lan2\" ($MAC)" <<<"$log"
tap_check "netsh was called by interface index with the address, mask and gateway" \
  grep -qxF "netsh interface ipv4 set address name=$idx source=static address=192.168.30.10 mask=255.255.255.0 gateway=192.168.30.1 gwmetric=1" <<<"$calls"
tap_check "netsh set the first DNS server" \
  grep -qxF "netsh interface ipv4 set dnsservers name=$idx source=static address=127.0.0.53 register=none validate=no" <<<"$calls"
tap_check "netsh added the second DNS server" \
  grep -qxF "netsh interface ipv4 add dnsservers name=$idx address=127.0.0.54 index=2 validate=no" <<<"$calls"
tap_check "exactly three netsh calls" test "$(wc -l <<<"$calls")" = 3
tap_check "bootstrap: network-set phase" grep -qx 'vmcloak-phase: network-set' <<<"$log"
tap_check "the agent was copied into system32 under its random name" grep -qx 'agent_installed=yes' <<<"$out"
tap_check "the HKLM Run value starts the agent from system32 with its port" \
  grep -qiF "REG_SZ    \\\"C:\\\\windows\\\\system32\\\\$AGENT\\\" --host 0.0.0.0 --port $PORT" <<<"$(val runkey)"
tap_check "bootstrap: agent-started phase" grep -qx 'vmcloak-phase: agent-started' <<<"$log"
tap_check "the started agent answers on port $PORT" grep -q '"message": *"Cuckoo Agent!"' <<<"$(val autostart_agent)"
tap_check "netcfg refuses a MAC no adapter has, listing the adapters' MACs" \
  bash -c 'grep -q "\"exit_code\":1" <<<"$1" && grep -q "no adapter has the MAC 52:54:00:99:99:99" <<<"$1" &&
           grep -q "52:54:00:aa:bb:cc" <<<"$1" && grep -q "52:54:00:12:34:56" <<<"$1"' _ "$(val wrong_mac)"
# Wine's own netsh: runs, answers 0, and applies nothing (documented, not a success claim).
tap_check "with Wine's netsh stub netcfg runs to the end" grep -q '"exit_code":0' <<<"$(val real_netsh)"
tap_check "Wine's netsh stub applies no address (lan2 has no IPv4)" test "$(val lan2_ipv4)" = 0
log2=$(tr -d '\r' <"$work/bootstrap2.log" 2>/dev/null)
tap_check "a bootstrap whose MAC no adapter has exits 1" grep -q '"exit_code":1' <<<"$(val bad_mac_bootstrap)"
tap_check "... and names the failed step (vmcloak-phase: failed network)" grep -qx 'vmcloak-phase: failed network' <<<"$log2"
tap_check "... and its log lists the adapters it saw" grep -q 'no adapter has the MAC 52:54:00:99:99:99; adapters: .*52:54:00:aa:bb:cc' <<<"$log2"
tap_check "... and stops there: no agent installed or started" \
  bash -c '! grep -q "agent-started" <<<"$1" && ! grep -q "second_agent_installed" <<<"$2" && grep -q "second_agent=none" <<<"$2"' \
  _ "$log2" "$out"
tap_check "the Linux agent's netcfg --dry-run picks the same adapter and prints the commands" \
  grep -qF "netcfg: chose adapter index $idx \"lan2\" ($MAC)|netcfg: run: netsh interface ipv4 set address name=$idx source=static address=192.168.30.10 mask=255.255.255.0 gateway=none|netcfg: run: netsh interface ipv4 set dnsservers name=$idx source=static address=127.0.0.53 register=none validate=no|netcfg: would set 192.168.30.10/24" <<<"$(val linux_dry_run)"
tap_check "the Linux agent's netcfg refuses to apply (netsh is Windows')" \
  bash -c 'grep -q "needs Windows" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$(val linux_apply)"
if [ "$_tap_fail" != 0 ]; then
  sed 's/^/# inside: /' <<<"$out"
  sed 's/^/# bootstrap.log: /' <<<"$log"
  sed 's/^/# stderr: /' "$work/inside.err" | head -20
fi
tap_done
