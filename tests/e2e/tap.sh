# TAP helpers for end-to-end shell tests: tap_check NAME CMD..., tap_skip NAME REASON, tap_done.
_tap_n=0
_tap_fail=0
tap_check() {
  local name=$1; shift
  _tap_n=$((_tap_n + 1))
  if "$@"; then echo "ok $_tap_n - $name"; else echo "not ok $_tap_n - $name"; _tap_fail=$((_tap_fail + 1)); fi
}
tap_ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
tap_fail() { _tap_n=$((_tap_n + 1)); echo "not ok $_tap_n - $1"; _tap_fail=$((_tap_fail + 1)); [ -n "${2:-}" ] && echo "# $2"; }
tap_skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP ${2:-}"; }
tap_done() { echo "1..$_tap_n"; [ "$_tap_fail" = 0 ]; }

# Wine's loader into $wine (Debian keeps wine64 off PATH); empty when it is not installed.
find_wine() {
  wine=$(command -v wine64 || true)
  if [ -z "$wine" ] && [ -x /usr/lib/wine/wine64 ]; then wine=/usr/lib/wine/wine64; fi
}
# The Windows agent EXE under Wine: sets $wine, or skips the whole script when either is missing.
need_wine_agent() {
  find_wine
  if [ -z "$wine" ]; then
    echo "1..0 # SKIP wine64 is not installed (Debian package wine64)"
    exit 0
  fi
  if [ ! -f "$1" ]; then
    echo "1..0 # SKIP vmcloak-agent.exe was not built (x86_64-w64-mingw32-gcc missing)"
    exit 0
  fi
}
# The Cuckoo agent at ${AGENT_HOST:-127.0.0.1}:$AGENT_PORT (a bridged guest: its own IP), through curl alone (what the guest says, not what
# vmcloak makes of it): agent_up waits up to 60 s for its first answer; gexec runs a command
# (the JSON answer), gexit prints its exit code, gout its stdout, gfile a file's content.
agent() { curl -s --max-time "${AGENT_MAX_TIME:-120}" "$@"; }
agent_up() {
  local _i
  for _i in $(seq 1 600); do
    agent -o /dev/null "http://${AGENT_HOST:-127.0.0.1}:$AGENT_PORT/" && return 0
    sleep 0.1
  done
  return 1
}
gexec() { agent --data-urlencode "command=$1" --data-urlencode timeout=120 "http://${AGENT_HOST:-127.0.0.1}:$AGENT_PORT/execute"; }
gexit() { gexec "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["exit_code"])'; }
gout() { gexec "$1" | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["stdout"])'; }
gfile() { agent -f --data-urlencode "filepath=$1" "http://${AGENT_HOST:-127.0.0.1}:$AGENT_PORT/retrieve"; }
