#!/usr/bin/env bash
# Copy the source tree SRC into DEST (made if missing) as a clean checkout would have it: in a
# git checkout its tracked and new files (not what .gitignore names: build dirs, package
# output), else the tree without its build dirs. The Debian package is built from such a copy.
# Usage: scripts/source-copy.sh SRC DEST
set -euo pipefail
src=${1:?usage: $0 SRC DEST}
dest=${2:?usage: $0 SRC DEST}
mkdir -p "$dest"
if command -v git >/dev/null && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
     [ -e "$f" ] && printf '%s\0' "$f"   # a tracked file deleted in the work tree is left out
   done | tar --null -cf - -T -) | tar -xf - -C "$dest"
else
  # .gitignore's list, by hand
  tar -C "$src" --exclude='./build*' --exclude='./obj-*' --exclude=./debian/vmcloak \
    --exclude=./debian/vmcloak-dbgsym --exclude=./debian/.debhelper --exclude=./debian/files \
    --exclude='./debian/*.substvars' --exclude='./debian/*.debhelper.log' \
    --exclude=./debian/debhelper-build-stamp --exclude='*.o' --exclude=__pycache__ -cf - . | tar -xf - -C "$dest"
fi
