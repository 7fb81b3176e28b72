#!/usr/bin/env bash
# End-to-end: the Windows profiles' shrink_memory, `"{agent}" memprep`, run the way the snapshot
# pipeline runs it: expanded with the agent's own path (GET /path), sent to POST /execute
# without a shell, on vmcloak-agent.exe under Wine on 127.0.0.1. Wine has no memory lists
# (NtQuerySystemInformation class 80 is an unknown class, NtSetSystemInformation a stub), so
# this checks that every step is reported and the exit code is 0, not what a real Windows frees
# (docs/windows.md, "Memory before the snapshot"). Also: the Linux agent answers exit 2.
source "$(dirname "$0")/tap.sh"
BUILD=${VMCLOAK_BUILD_ROOT:?}
PROFILE_CMD=${1:?usage: memprep_wine.sh PROFILE_CMD}
exe=$BUILD/agent/vmcloak-agent.exe

# --- the Linux build: the subcommand is Windows-only ---------------------------------------
out=$("$BUILD/agent/vmcloak-agent" memprep 2>&1); rc=$?
tap_check "the Linux agent's memprep exits 2" test "$rc" = 2
tap_check "... saying it is not supported on this OS" grep -q '^memprep: not supported on this OS' <<<"$out"

# --- the profile's command --------------------------------------------------------------------
cmd=$("$PROFILE_CMD" win10x64 shrink_memory 'agent=C:\vmcloak\agent.exe')
tap_check "win10x64's shrink_memory is the agent's memprep subcommand, the path quoted" \
  test "$cmd" = '"C:\vmcloak\agent.exe" memprep'
tap_check "win7x64 has the same" test "$("$PROFILE_CMD" win7x64 shrink_memory 'agent=C:\a b\x.exe')" = '"C:\a b\x.exe" memprep'

find_wine
if [ -z "$wine" ] || [ ! -f "$exe" ]; then
  tap_skip "memprep under Wine" "wine64 or vmcloak-agent.exe missing (Debian packages wine64, gcc-mingw-w64-x86-64)"
  tap_done
  exit
fi

tmp=$(mktemp -d /tmp/vmcloak-memprep.XXXXXX)
export WINEPREFIX=$tmp/prefix WINEDEBUG=-all
cleanup() {
  # Only this test's prefix: its wineserver ends the agent.
  [ -d "$WINEPREFIX" ] && "$(dirname "$wine")/wineserver" -k 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir -p "$tmp/guest"
cp "$exe" "$tmp/guest/vmcloak-agent.exe"
port=$(free_port)
"$wine" "$tmp/guest/vmcloak-agent.exe" --host 127.0.0.1 --port "$port" >"$tmp/agent.log" 2>&1 &
AGENT_PORT=$port AGENT_MAX_TIME=120
up=0
agent_up && up=1
tap_check "the Windows agent answers under Wine on 127.0.0.1:$port" test "$up" = 1
if [ "$up" != 1 ]; then sed 's/^/# agent: /' "$tmp/agent.log"; tap_done; exit; fi

# What snapshot_shrink_memory does: {agent} from GET /path, the command without a shell.
path=$(agent "http://127.0.0.1:$port/path" | python3 -c 'import json,sys; print(json.load(sys.stdin)["filepath"])')
cmd=$("$PROFILE_CMD" win10x64 shrink_memory "agent=$path")
echo "# $cmd"
agent --data-urlencode "command=$cmd" --data-urlencode timeout=120 "http://127.0.0.1:$port/execute" >"$tmp/answer.json"
field() { python3 -c 'import json,sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; sys.stdout.write("" if v is None else str(v))' "$tmp/answer.json" "$1"; }
stdout=$(field stdout | tr -d "\r")   # msvcrt text mode: CRLF
sed 's/^/# guest: /' <<<"$stdout"
tap_check "memprep under Wine exits 0 through /execute" test "$(field exit_code)" = 0
tap_check "... with nothing on stderr" test -z "$(field stderr)"
tap_check "... the privilege step reported" grep -q '^memprep: SeProfileSingleProcessPrivilege \(enabled\|could not be enabled\)' <<<"$stdout"
n=0
for s in MemoryEmptyWorkingSets MemoryFlushModifiedList MemoryPurgeStandbyList; do
  grep -Eq "^memprep: [a-z0-9 -]+ \\($s\\)(: ok|: accepted \\(|: not supported here \\()" <<<"$stdout" && n=$((n + 1))
done
tap_check "... each of the three commands reported (ok, accepted or not supported)" test "$n" = 3
# Either the lists can be read (a Wine that implements them) and the totals are printed, or
# the line says they cannot and the zero-page wait is skipped: never a silent middle.
if grep -q '^memprep: the memory lists cannot be read here (0x' <<<"$stdout"; then
  tap_check "... lists unreadable: the zero-page wait says it is skipped" \
    grep -q '^memprep: wait for the zero-page thread: skipped' <<<"$stdout"
else
  tap_check "... lists readable: before, after and in all printed" test \
    "$(grep -c '^memprep: \(lists before\|lists after\|in all\): ' <<<"$stdout")" = 3
fi
tap_check "... and a last line saying it is over" grep -Eq '^memprep: (done|nothing this system supports was done) in [0-9]+\.[0-9] s$' \
  <<<"$(tail -n 1 <<<"$stdout")"

# A bad option through the same path: exit 2 and one line on stderr.
agent --data-urlencode "command=\"$path\" memprep --timeout=soon" "http://127.0.0.1:$port/execute" >"$tmp/answer.json"
tap_check "memprep --timeout=soon exits 2" test "$(field exit_code)" = 2
tap_check "... naming the bad value" grep -q "invalid --timeout 'soon'" <<<"$(field stderr)"
tap_done
