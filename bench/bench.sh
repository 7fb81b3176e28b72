#!/usr/bin/env bash
# Benchmark of the linux guest pipeline under the accelerator in use: init time; per
# compressor and level, snapshot time and memory-file size against guest RAM; restore to
# agent-ready the way Cuckoo3 does (start_args + -incoming "exec:<decompressor> < file")
# next to a bare decompression of the same file; and --count 4 with -j 1 vs -j 4.
# Usage: bench/bench.sh [BUILD_DIR] [RAM_MB...]   (defaults: build, 512 1024)
set -euo pipefail
build=${1:-build}; shift || true
rams=("$@"); [ ${#rams[@]} -gt 0 ] || rams=(512 1024)
VM=$(cd "$build" && pwd)/vmcloak
home=$(mktemp -d "${TMPDIR:-/tmp}/vmcloak-bench.XXXXXX")
export VMCLOAK_HOME=$home
cache=${VMCLOAK_DEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmcloak-demo}
mkdir -p "$cache"; ln -s "$cache" "$home/cache"
trap 'pkill -KILL -f -- "$home/" 2>/dev/null; rm -rf "$home"' EXIT

now() { date +%s%N; }
el() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
best_of() { sort -n | head -1; }

if "$VM" doctor --json | grep -A3 '"id":"kvm"' | grep -q '"status":"ok"'; then accel=kvm; else accel=tcg; fi
echo "vmcloak benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), accelerator: $accel"
echo

t=$(now); "$VM" init --linux --net user --accel "$accel" bbase bnet >/dev/null 2>&1; t1=$(now)
echo "init --linux (ISO build, unattended install, first boot to agent, power-off): $(el "$t" "$t1") s"
echo

printf '%-6s %-18s %10s %12s %12s %14s %15s\n' "RAM" "compressor" "snapshot" "memory file" "raw stream" "restore->agent" "bare decompress"
n=0
for ram in "${rams[@]}"; do
  for spec in none lz4:1 lz4:9 gzip:3 zstd:3; do
    comp=${spec%%:*}; lvl=${spec#*:}; [ "$lvl" = "$spec" ] && lvl=
    n=$((n + 1)); vm=b$n
    args=(--compress "$comp"); [ -n "$lvl" ] && args+=(--compress-level "$lvl")
    t=$(now); "$VM" snapshot --accel "$accel" --ramsize "$ram" "${args[@]}" bbase "$vm" >/dev/null 2>&1; t1=$(now)
    f=$home/vms/qemu/$vm/memory.snapshot
    size=$(stat -c %s "$f")
    raw=$(case $comp in lz4) lz4 -d -c "$f" | wc -c ;; gzip) gzip -d -c "$f" | wc -c ;; zstd) zstd -d -c -q "$f" | wc -c ;; *) stat -c %s "$f" ;; esac)
    rs=()
    for _ in 1 2 3; do
      rs+=("$("$VM" restore "$vm" 2>/dev/null | sed -n 's/.*agent answering after \([0-9.]*\) s.*/\1/p')")
    done
    restore=$(printf '%s\n' "${rs[@]}" | best_of)
    ds=()
    for _ in 1 2 3; do
      a=$(now)
      case $comp in lz4) lz4 -d -c "$f" >/dev/null ;; gzip) gzip -d -c "$f" >/dev/null ;; zstd) zstd -d -c -q "$f" >/dev/null ;; *) cat "$f" >/dev/null ;; esac
      ds+=("$(el "$a" "$(now)")")
    done
    dec=$(printf '%s\n' "${ds[@]}" | best_of)
    label=$comp${lvl:+ -$lvl}
    [ "$spec" = lz4:1 ] && label="$label (VMCloak)"
    [ "$spec" = lz4:9 ] && label="$label (default)"
    printf '%-6s %-18s %9ss %8s MiB %8s MiB %13ss %14ss\n' "${ram}M" "$label" "$(el "$t" "$t1")" "$(mib "$size")" \
      "$(mib "$raw")" "$restore" "$dec"
    "$VM" delvm "$vm" >/dev/null 2>&1 || true
  done
done
echo

for j in 1 4; do
  t=$(now); made=$("$VM" snapshot --accel "$accel" --count 4 -j "$j" bbase "j${j}vm" 2>&1 | sed -n 's/.*Created \([0-9]* of [0-9]*\) snapshot VMs.*/\1/p'); t1=$(now)
  echo "snapshot --count 4 -j $j: $(el "$t" "$t1") s ($made VMs made)"
  for i in 1 2 3 4; do "$VM" delvm "j${j}vm$i" >/dev/null 2>&1 || true; done
done
exit 0
