#!/usr/bin/env bash
# make demo: the whole pipeline on the built-in linux guest, as any user, in a temporary
# VMCLOAK_HOME: init, install, snapshot --count 2, restore each, list; with timings.
set -euo pipefail
build=${1:-build}
VM=$(cd "$build" && pwd)/vmcloak
home=$(mktemp -d "${TMPDIR:-/tmp}/vmcloak-demo.XXXXXX")
export VMCLOAK_HOME=$home
# The Debian kernel package is cached between demos (and shared with the tests).
export VMCLOAK_KERNEL_CACHE=${VMCLOAK_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmcloak}
cleanup() { rm -rf "$home"; }
trap cleanup EXIT

step() {
  local label=$1; shift
  echo
  echo "==> vmcloak $*"
  local t0=$(date +%s.%N)
  "$VM" "$@"
  local t1=$(date +%s.%N)
  timings+=("$(printf '%-10s %6.1f s' "$label" "$(echo "$t1 - $t0" | bc)")")
}
timings=()

script=$home/demo-install.sh
cat > "$script" <<'EOS'
#!/bin/sh
# Runs inside the guest during 'vmcloak install'.
echo "installed by vmcloak install on $(date)" > /root/demo-installed.txt
uname -a >> /root/demo-installed.txt
EOS

step doctor doctor || true
step init init --linux --net user --timeout 600 demobase demonet
step install install demobase "script:$script" 'run:test -s /root/demo-installed.txt'
step snapshot snapshot --count 2 demobase demovm 10.0.2.20
step restore1 restore demovm1
step restore2 restore demovm2
step list list images
"$VM" list snapshots

echo
echo "Time per step (accelerator: $("$VM" doctor --json 2>/dev/null | grep -o '"accel": *"[a-z]*"' | grep -o '[a-z]*"$' | tr -d '"' || echo unknown)):"
printf '  %s\n' "${timings[@]}"
echo "Demo home was $home (removed)."
