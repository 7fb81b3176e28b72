#!/usr/bin/env bash
# init --linux per phase, median of N runs: install media, installer (boot + install), first
# boot to agent, shutdown, total. Usage: bench/init-phases.sh VMCLOAK_BINARY [N=3]
# (uses a fresh VMCLOAK_HOME with the demo kernel cache linked in, as bench.sh does)
set -euo pipefail
VM=$(realpath "$1"); n=${2:-3}
home=$(mktemp -d "${TMPDIR:-/tmp}/vmcloak-initbench.XXXXXX")
export VMCLOAK_HOME=$home
cache=${VMCLOAK_DEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmcloak-demo}
mkdir -p "$cache"; ln -s "$cache" "$home/cache"
trap 'pkill -KILL -f -- "$home/" 2>/dev/null || true; rm -rf "$home"' EXIT
med() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for i in $(seq "$n"); do
  "$VM" init --linux --net user "ib$i" "ibnet$i" >"$home/init$i.log" 2>&1
  "$VM" delimg "ib$i" >/dev/null 2>&1 || true
done
phase() { for i in $(seq "$n"); do sed -n "s/^$1: [a-z ]*(\([0-9.]*\) s)\$/\1/p" "$home/init$i.log" | tail -1; done | med; }
total() { for i in $(seq "$n"); do sed -n 's/.*is ready (.*, \([0-9.]*\) s).*/\1/p' "$home/init$i.log"; done | med; }
echo "init --linux, median of $n ($VM):"
echo "  install media   $(phase 'Building the install media') s"
echo "  installer       $(phase 'Installing the OS') s"
echo "  first boot      $(phase 'Booting the installed system') s"
echo "  shutdown        $(phase 'Shutting down') s"
echo "  total           $(total) s"
