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
