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
