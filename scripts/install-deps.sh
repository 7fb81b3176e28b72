#!/usr/bin/env bash
# Install the Debian packages in packaging/debian-packages.txt that are missing (no-op when
# all are present). Uses apt-get as root, or sudo when run as a user.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t pkgs < <(grep -v '^\s*#' packaging/debian-packages.txt | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} Debian packages are installed"
  exit 0
fi
echo "deps: installing ${#missing[@]} missing packages: ${missing[*]}"
as_root=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then as_root=(sudo); else
    echo "deps: run as root: apt-get install -y ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
