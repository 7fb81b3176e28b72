#!/usr/bin/env bash
# Helper for the pipeline e2e tests: a throwaway vmcloak home for the built-in linux guest.
# Usage: source this file, then
#   pipeline_home PREFIX [HOME]  -> $tmp (mktemp -d /tmp/PREFIX.XXXXXX), VMCLOAK_HOME=$tmp/HOME
#                                   (default "home") with the Debian kernel cache linked in (kept
#                                   between runs, like a user's ~/.vmcloak/cache); on exit every
#                                   process naming $tmp/ is killed and $tmp removed. Returns 1
#                                   when the build has no static guest agent (a sanitizer build).
pipeline_home() {
  tmp=$(mktemp -d "/tmp/$1.XXXXXX") || return 2
  export VMCLOAK_HOME=$tmp/${2:-home}
  trap 'pkill -KILL -f -- "$tmp/" 2>/dev/null; rm -rf "$tmp"' EXIT
  local cache=${VMCLOAK_TEST_CACHE:-/var/tmp/vmcloak-test-cache}/vmcloak-cache
  mkdir -p "$cache" "$VMCLOAK_HOME"
  ln -s "$cache" "$VMCLOAK_HOME/cache"
  unset VMCLOAK_GUEST_AGENT
  # A sanitizer build links the agent dynamically; the guest has no C library for it.
  [ -x "$VMCLOAK_BUILD_ROOT/agent/vmcloak-agent" ] &&
    ! file -L "$VMCLOAK_BUILD_ROOT/agent/vmcloak-agent" | grep -q 'dynamically linked'
}

# pipeline_image NAME NET [INIT OPTION...]
#   A built-in linux image NAME on network/adapter NET in $VMCLOAK_HOME (made by pipeline_home),
#   for the tests whose subject is what comes after init (install, snapshot, restore, ...). The
#   image is built by a real `vmcloak init --linux INIT OPTION... img cachenet` once per build and
#   kept in the test cache (${VMCLOAK_TEST_CACHE:-/var/tmp/vmcloak-test-cache}/images/KEY, KEY a
#   hash of the vmcloak binary, the static agent, data/linux/*, the QEMU version and the
#   options); each call copies its disk (sparse, reflinked where the file system can) and its
#   repository row, renamed to NAME on NET, as `vmcloak clone` would. The guest keeps the cached
#   image's own name (VMCLOAK_NAME=img), as a clone keeps its source's. A flock makes a second
#   test wait for a build in progress rather than build twice. The tests of init itself (its
#   options, failures, interruption) run a real init instead. Returns non-zero (init's output on
#   stderr) when the build fails. Bridge networks are not supported (NET is only a row field).
pipeline_image() {
  local name=$1 net=$2; shift 2
  local root=${VMCLOAK_TEST_CACHE:-/var/tmp/vmcloak-test-cache}/images key fd
  key=$( { cat "$VMCLOAK_BIN" "$VMCLOAK_BUILD_ROOT/agent/vmcloak-agent" | sha256sum
           (cd "${VMCLOAK_SOURCE_ROOT:?}/data/linux" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
           qemu-system-x86_64 --version | head -1
           printf '%s\n' "$@"; } | sha256sum | cut -c1-16) || return 2
  local dir=$root/$key
  mkdir -p "$root" || return 2
  exec {fd}>"$root/$key.lock" || return 2
  flock "$fd"
  if [ ! -e "$dir/done" ]; then
    local b=$tmp/imagebuild
    rm -rf "$b" "$dir"; mkdir -p "$b/home"
    ln -s "${VMCLOAK_TEST_CACHE:-/var/tmp/vmcloak-test-cache}/vmcloak-cache" "$b/home/cache"
    if ! VMCLOAK_HOME=$b/home "$VMCLOAK_BIN" init --linux "$@" img cachenet >"$b/init.out" 2>&1; then
      echo "pipeline_image: vmcloak init --linux $* failed:" >&2; cat "$b/init.out" >&2
      exec {fd}>&-; return 1
    fi
    mkdir -p "$dir.part" &&
      sqlite3 "$b/home/repository.db" ".backup '$dir.part/repository.db'" &&
      mv "$b/home/image/img.qcow2" "$dir.part/img.qcow2" && touch "$dir.part/done" &&
      mv "$dir.part" "$dir" || { rm -rf "$dir.part"; exec {fd}>&-; return 2; }
    rm -rf "$b"
    # Entries of other builds unused for three days go.
    find "$root" -mindepth 1 -maxdepth 1 -type d -mtime +3 -exec rm -rf {} + 2>/dev/null
  fi
  touch "$dir"
  mkdir -p "$VMCLOAK_HOME/image"
  local disk=$VMCLOAK_HOME/image/$name.qcow2
  cp --sparse=always --reflink=auto "$dir/img.qcow2" "$disk" || { exec {fd}>&-; return 2; }
  _pi_q() { printf "'%s'" "${1//\'/\'\'}"; }
  local db=$VMCLOAK_HOME/repository.db cols
  if [ ! -e "$db" ]; then
    sqlite3 "$dir/repository.db" ".backup $(_pi_q "$db")" &&
      sqlite3 "$db" "UPDATE image SET name = $(_pi_q "$name"), path = $(_pi_q "$disk"), adapter = $(_pi_q "$net")"
  else
    cols=$(sqlite3 "$dir/repository.db" "SELECT group_concat(name, ',') FROM pragma_table_info('image') WHERE name NOT IN ('id', 'name', 'path', 'adapter')") &&
      sqlite3 "$db" "ATTACH $(_pi_q "$dir/repository.db") AS c;
        INSERT INTO image (name, path, adapter, $cols) SELECT $(_pi_q "$name"), $(_pi_q "$disk"), $(_pi_q "$net"), $cols FROM c.image"
  fi || { rm -f "$disk"; exec {fd}>&-; return 2; }
  exec {fd}>&-
}
