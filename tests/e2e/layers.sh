#!/usr/bin/env bash
# The layering of src/ (DESIGN.md, docs/architecture.md) is enforced by the build: each layer
# compiles against build/layers/<layer>/, which holds only the layers it may use. Check, with
# the compiler, that every allowed include compiles and every other one fails.
source "$(dirname "$0")/tap.sh"
SRC=${VMCLOAK_SOURCE_ROOT:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-layers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# What each layer may include besides itself: the design, written down once more on purpose
# (a change to meson.build that lets a layer reach upwards fails here).
declare -A allowed=(
  [core]=""
  [machine]="core"
  [net]="core"
  [qemu]="core machine net"
  [libvirt]="core machine"
  [fake]="core machine"
  [guest]="core"
  [agentclient]="core"
  [deps]="core agentclient guest"
  [cloak]="core machine"
  [pipeline]="core machine guest agentclient deps cloak net"
  [cmd]="core machine qemu libvirt guest agentclient deps cloak net pipeline"
)
flags=$(pkg-config --cflags json-c libxml-2.0 libisofs-1 libnl-3.0 2>/dev/null)
for layer in "${!allowed[@]}"; do
  view=$BUILD/layers/$layer
  [ -d "$view" ] || { tap_fail "$layer has an include view" "no $view"; continue; }
  for other in "${!allowed[@]}"; do
    [ "$other" = "$layer" ] && continue
    header=$(cd "$SRC/src/$other" && ls *.h | head -n1)
    printf '#include "%s/%s"\n' "$other" "$header" >"$tmp/t.c"
    if gcc -std=gnu17 -D_GNU_SOURCE -fsyntax-only -I"$view" $flags "$tmp/t.c" 2>/dev/null; then got=yes; else got=no; fi
    if [[ " ${allowed[$layer]} " == *" $other "* ]]; then want=yes; else want=no; fi
    if [ "$want" = yes ]; then
      tap_check "$layer may include $other/$header" test "$got" = yes
    elif [ "$got" = yes ]; then
      tap_fail "$layer must not see $other, but $other/$header compiles in its view"
    fi
  done
done
# One check per layer that an upward include fails, so a silent pass above is visible.
for pair in "core qemu" "machine qemu" "pipeline qemu" "pipeline fake" "pipeline libvirt" "libvirt qemu" "qemu pipeline" "deps pipeline"; do
  set -- $pair
  header=$(cd "$SRC/src/$2" && ls *.h | head -n1)
  printf '#include "%s/%s"\n' "$2" "$header" >"$tmp/t.c"
  tap_check "$1 cannot include $2/$header" bash -c "! gcc -std=gnu17 -fsyntax-only -I'$BUILD/layers/$1' $flags '$tmp/t.c' 2>/dev/null"
done
tap_done
