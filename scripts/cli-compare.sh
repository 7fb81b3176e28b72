#!/usr/bin/env bash
# Compare two vmcloak builds on the command lines in a cases file (default: cli-compare.cases
# beside this script): exit code, stdout, stderr and what each leaves in a fresh VMCLOAK_HOME.
# For refactors that promise no visible change:
#   git worktree add /tmp/before HEAD~1 && (cd /tmp/before && meson setup build && ninja -C build)
#   scripts/cli-compare.sh /tmp/before/build/vmcloak build/vmcloak
# Prints each difference; exit 1 when there is one. The cases must fail fast or do nothing
# (usage errors, missing images): never one that builds, boots or changes the host.
set -u
old=$(realpath "${1:?usage: cli-compare.sh OLD_VMCLOAK NEW_VMCLOAK [CASES]}") new=$(realpath "${2:?}")
root=$(cd "$(dirname "$0")/.." && pwd)
cases=${3:-$root/scripts/cli-compare.cases}
fixture=$root/tests/fixtures/vmcloak-head.sql
T=$(mktemp -d /tmp/vmcloak-compare.XXXXXX)
trap 'rm -rf "$T"' EXIT
n=0 diffs=0
while IFS= read -r line; do
  [[ -z $line || $line == \#* ]] && continue
  n=$((n + 1))
  oldhome=0
  [[ $line == @old\ * ]] && { oldhome=1; line=${line#@old }; }
  for which in old new; do
    bin=${!which} d=$T/$which/$n
    home=$d/home
    mkdir -p "$d/work"
    if [ $oldhome = 1 ]; then mkdir -p "$home/image"; sqlite3 "$home/repository.db" <"$fixture"; fi
    eval "set -- ${line//HOMEDIR/$home}"
    (cd "$d/work" && VMCLOAK_HOME=$home VMCLOAK_KVM_PROBE_CACHE=$T/kvm.cache timeout 30 "$bin" "$@" \
       >"$d/out" 2>"$d/err"; echo $? >"$d/rc")
    sed -i "s#$home#HOME#g; s#$d#DIR#g" "$d/out" "$d/err"
    { [ -e "$home" ] && (cd "$home" && find . -path ./log -prune -o -print | sort); ls "$d/work"; } >"$d/files" 2>&1
  done
  for f in rc out err files; do
    if ! cmp -s "$T/old/$n/$f" "$T/new/$n/$f"; then
      diffs=$((diffs + 1))
      echo "=== $f differs: $line"
      diff "$T/old/$n/$f" "$T/new/$n/$f" | head -6
    fi
  done
done <"$cases"
echo "$n command lines, $diffs differences"
[ "$diffs" = 0 ]
