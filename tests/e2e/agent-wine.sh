#!/usr/bin/env bash
# The agent protocol suite (tests/unit/agent_protocol.c) against vmcloak-agent.exe under Wine,
# in a fresh WINEPREFIX, on 127.0.0.1; plus checks of the two Windows builds.
source "$(dirname "$0")/tap.sh"
ROOT=${VMCLOAK_BUILD_ROOT:?}
exe=$ROOT/agent/vmcloak-agent.exe
exew=$ROOT/agent/vmcloak-agentw.exe
suite=$ROOT/tests/test_agent_protocol

need_wine_agent "$exe"

tap_check "vmcloak-agent.exe is a console PE32+" grep -q 'PE32+ executable (console) x86-64' <<<"$(file "$exe")"
tap_check "vmcloak-agentw.exe is a console-less (GUI subsystem) PE32+" grep -q 'PE32+ executable (GUI) x86-64' <<<"$(file "$exew")"
# Static: no DLLs beyond those every Windows has.
dlls=$(x86_64-w64-mingw32-objdump -p "$exe" 2>/dev/null | sed -n 's/^\s*DLL Name: //p' | tr 'A-Z' 'a-z' | sort -u | tr '\n' ' ')
tap_check "the .exe imports only system DLLs ($dlls)" \
  test -z "$(tr ' ' '\n' <<<"$dlls" | grep -v -E '^(kernel32|ws2_32|msvcrt|advapi32|user32|ntdll|iphlpapi|)\.?(dll)?$')"

export WINEPREFIX
WINEPREFIX=$(mktemp -d /tmp/vmcloak-wine.XXXXXX)
export WINEDEBUG=-all
trap 'WINEPREFIX=$WINEPREFIX "$(dirname "$wine")/wineserver" -k 2>/dev/null; rm -rf "$WINEPREFIX" "$WINEPREFIX.stderr"' EXIT

errlog=$WINEPREFIX.stderr
out=$(VMCLOAK_TEST_AGENT=$exe VMCLOAK_TEST_AGENT_WRAPPER=$wine "$suite" 2>"$errlog"); rc=$?
# Renumber the suite's cases into this script's plan.
while IFS= read -r line; do
  if [[ $line =~ ^(not\ ok|ok)\ [0-9]+\ \#\ SKIP\ (.*)$ ]]; then
    tap_skip "wine: ${BASH_REMATCH[2]}" "native agent only"
  elif [[ $line =~ ^(not\ ok|ok)\ [0-9]+\ -\ (.*)$ ]]; then
    name="wine: ${BASH_REMATCH[2]}"
    if [[ ${BASH_REMATCH[1]} == ok ]]; then
      if [[ $name == *"# SKIP"* ]]; then tap_skip "${name%% # SKIP*}" "${name#*# SKIP}"; else tap_ok "$name"; fi
    else
      tap_fail "$name"
    fi
  elif [[ $line == \#* ]]; then
    echo "$line"
  elif [[ -n $line && ! $line =~ ^1\.\.[0-9]+$ ]]; then
    echo "# $line"
  fi
done <<<"$out"
if [ "$rc" != 0 ]; then
  sed 's/^/# stderr: /' "$errlog"
  grep -q '^not ok [0-9]* -' <<<"$out" || tap_fail "protocol suite under Wine exited with $rc"
fi
rm -f "$errlog"
tap_done
