#!/usr/bin/env bash
# make demo: the whole pipeline on the built-in linux guest, as any user, in a temporary
# VMCLOAK_HOME: init, install, snapshot --count 2, restore of each, list; with timings.
set -euo pipefail
build=${1:-build}
VM=$(cd "$build" && pwd)/vmcloak
home=$(mktemp -d "${TMPDIR:-/tmp}/vmcloak-demo.XXXXXX")
export VMCLOAK_HOME=$home
# The Debian kernel package the linux guest installs is kept between demos.
cache=${VMCLOAK_DEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmcloak-demo}
mkdir -p "$cache"
ln -s "$cache" "$home/cache"
trap 'rm -rf "$home"' EXIT

timings=()
step() {
  local label=$1; shift
  printf '\n\033[1m==> vmcloak %s\033[0m\n' "$*"
  local t0 t1
  t0=$(date +%s%N)
  "$VM" "$@"
  t1=$(date +%s%N)
  timings+=("$(awk -v l="$label" -v a="$t0" -v b="$t1" 'BEGIN { printf "%-22s %6.1f s", l, (b - a) / 1e9 }')")
}

cat > "$home/demo-setup.sh" <<'EOS'
#!/bin/sh
# Runs inside the guest during 'vmcloak install'.
echo "installed by vmcloak install on $(date)" > /root/demo-installed.txt
EOS
echo "a file uploaded from the host" > "$home/demo-payload.txt"
# A dependency catalog entry of the demo's own (docs/dependencies.md): installed by name, with a
# setting, and its tag reaches each VM's machineinfo.json.
mkdir -p "$home/deps.d/demotools"
cat > "$home/deps.d/demotools.yaml" <<'EOY'
name: demotools
description: The demo's own dependency (a script, a setting, a tag)
os: [linux]
tags: [demotools]
settings:
  greeting: {default: hello, description: what the guest writes}
steps:
  - script: data:demotools/setup.sh
  - run: 'echo "{{greeting}} from the catalog" > /root/demotools.txt'
EOY
cat > "$home/deps.d/demotools/setup.sh" <<'EOS'
#!/bin/sh
echo "demotools: set up by its catalog entry"
EOS

if "$VM" doctor --json | grep -A3 '"id":"kvm"' | grep -q '"status":"ok"'; then accel=KVM; else accel=TCG; fi
"$VM" doctor || true
step "init" init --linux --net user demobase demonet
step "install" install demobase demotools demotools.greeting=hi "script:$home/demo-setup.sh" \
  "file:$home/demo-payload.txt:/root/payload.txt" 'run:test -s /root/demo-installed.txt'
step "snapshot --count 2" snapshot --count 2 --tag demo demobase demovm 10.0.2.20
step "restore demovm1" restore demovm1 --exec 'echo "guest: $(hostname) $(ip -4 -o addr show eth0 | awk "{print \$4}")"; cat /root/demo-installed.txt /root/demotools.txt'
step "restore demovm2" restore demovm2 --exec 'echo "guest: $(hostname) $(ip -4 -o addr show eth0 | awk "{print \$4}")"; cat /root/payload.txt'
step "list images" list images
step "list snapshots" list snapshots

echo
echo "Each snapshot VM's folder (what 'cuckoo machine import qemu' reads):"
ls -l "$home/vms/qemu/demovm1"
echo "Its machine tags (Cuckoo3 routes tasks by them): $(python3 -c 'import json,sys; print(", ".join(json.load(open(sys.argv[1]))["machine"]["tags"]))' "$home/vms/qemu/demovm1/machineinfo.json" 2>/dev/null || grep -o '"tags": \[[^]]*\]' "$home/vms/qemu/demovm1/machineinfo.json")"
echo
echo "Time per step (accelerator: $accel):"
printf '  %s\n' "${timings[@]}"
echo "The demo's VMCLOAK_HOME ($home) is removed now."
