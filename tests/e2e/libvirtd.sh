# libvirtd for end-to-end tests, without systemd (shared/reference/libvirt.md §1 and §5).
#
# Source this in a script that already runs inside a network namespace the test made, in a
# private mount namespace, with an overlay on /etc (tests/e2e/pipeline_bridge.sh's pattern),
# as root, with $T naming the test's temp dir:
#   lv_prepare              the libvirt-qemu user and group (the QEMU driver resolves them before
#                           it reads qemu.conf), qemu.conf with user/group root and no cgroups
#                           (with LV_QEMU_DEFAULT_USER set: QEMU runs as libvirt-qemu, as on a
#                           stock Debian host; $T must then be searchable by that user)
#   lv_start NAME [PORT]    a libvirtd + virtlogd whose state (/etc/libvirt, /run/libvirt,
#                           /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt) lives under
#                           $T/lv-NAME. The first started without PORT is bound in the caller's
#                           mount namespace: qemu:///system reaches it. With PORT the daemon runs
#                           in a nested mount namespace with its own binds and listens on
#                           127.0.0.1:PORT without auth, with its own host_uuid (a stand-in for
#                           a remote host): qemu+tcp://127.0.0.1:PORT/system. Waits until
#                           `virsh -c URI version` answers (60 s). Prints nothing; 1 on failure
#                           (the daemon's log tail on stderr).
#   lv_uri NAME             that daemon's URI
#   lv_stop NAME            kill that daemon's QEMUs (their pid files), libvirtd and virtlogd by
#                           PID and wait for them; never by program name
#   lv_stop_all             lv_stop for every daemon started here (for an EXIT trap)
# Several daemons may run at once; each has its own QEMUs, pools, networks and definitions.

_lv_names=""

lv_prepare() {
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu || return 1
  id libvirt-qemu >/dev/null 2>&1 ||
    useradd --system -g libvirt-qemu -d /var/lib/libvirt -M -s /usr/sbin/nologin libvirt-qemu || return 1
  mkdir -p /etc/libvirt || return 1
  if [ -n "${LV_QEMU_DEFAULT_USER:-}" ]; then
    # a stock host's QEMU user (libvirt-qemu; libvirt's DAC driver relabels what it knows)
    printf 'cgroup_controllers = [ ]\n' > /etc/libvirt/qemu.conf || return 1
  else
    printf 'user = "root"\ngroup = "root"\ncgroup_controllers = [ ]\n' > /etc/libvirt/qemu.conf || return 1
  fi
  # every daemon's /etc/libvirt starts from this copy (not from another daemon's bound one)
  rm -rf "$T/lv-etc" && cp -a /etc/libvirt "$T/lv-etc"
}

lv_uri() {
  local port
  port=$(cat "$T/lv-$1/port" 2>/dev/null)
  if [ -n "$port" ]; then echo "qemu+tcp://127.0.0.1:$port/system"; else echo "qemu:///system"; fi
}

# The mounts and daemons of one state dir D; run in the mount namespace that should see them.
_lv_bind_and_run() {
  local D=$1 port=$2 d
  for d in run lib cache log; do mkdir -p "$D/$d" || return 1; done
  mkdir -p "$D/log/qemu" "$D/lib/images" || return 1
  mount --bind "$D/etc" /etc/libvirt &&
    mount --bind "$D/run" /run/libvirt &&
    mount --bind "$D/lib" /var/lib/libvirt &&
    mount --bind "$D/cache" /var/cache/libvirt &&
    mount --bind "$D/log" /var/log/libvirt || return 1
  virtlogd -d -p "$D/virtlogd.pid" || return 1
  if [ -n "$port" ]; then
    libvirtd -d -l -f "$D/libvirtd.conf" -p "$D/libvirtd.pid"
  else
    libvirtd -d -f "$D/libvirtd.conf" -p "$D/libvirtd.pid"
  fi
}

lv_start() {
  local name=$1 port=${2:-} D="$T/lv-$1" uri i
  [ -n "${T:-}" ] || { echo "lv_start: \$T is not set" >&2; return 1; }
  [ -e "$D" ] && { echo "lv_start: $D exists" >&2; return 1; }
  [ -d "$T/lv-etc" ] || { echo "lv_start: run lv_prepare first" >&2; return 1; }
  mkdir -p "$D/etc" /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt || return 1
  cp -a "$T/lv-etc/." "$D/etc/" || return 1
  {
    echo "log_outputs = \"3:file:$D/libvirtd.log\""
    echo "host_uuid = \"$(cat /proc/sys/kernel/random/uuid)\""
    if [ -n "$port" ]; then
      printf 'listen_tls = 0\nlisten_tcp = 1\nlisten_addr = "127.0.0.1"\ntcp_port = "%s"\nauth_tcp = "none"\n' "$port"
    fi
  } > "$D/libvirtd.conf"
  [ -n "$port" ] && echo "$port" > "$D/port"
  _lv_names="$_lv_names $name"
  if [ -n "$port" ]; then
    unshare -m --propagation private bash -c "$(declare -f _lv_bind_and_run); _lv_bind_and_run '$D' '$port'" || {
      echo "lv_start $name: the daemon did not start (see $D/libvirtd.log)" >&2; return 1; }
  else
    _lv_bind_and_run "$D" "" || { echo "lv_start $name: the daemon did not start" >&2; return 1; }
    echo yes > "$D/bound-here"
  fi
  uri=$(lv_uri "$name")
  for i in $(seq 1 300); do
    virsh -c "$uri" version >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "lv_start $name: $uri does not answer after 60 s; log tail:" >&2
  tail -5 "$D/libvirtd.log" >&2
  return 1
}

# Wait until none of the PIDs lives (10 s), then SIGKILL what is left.
_lv_reap() {
  local p i alive
  for i in $(seq 1 100); do
    alive=""
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  for p in $alive; do kill -KILL "$p" 2>/dev/null; done
  return 0
}

lv_stop() {
  local name=$1 D="$T/lv-$1" f p pids=""
  [ -d "$D" ] || return 0
  for f in "$D"/run/qemu/*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f" 2>/dev/null)
    [ -n "$p" ] && kill -KILL "$p" 2>/dev/null && pids="$pids $p"
  done
  _lv_reap $pids
  pids=""
  for f in libvirtd virtlogd; do
    p=$(cat "$D/$f.pid" 2>/dev/null)
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && pids="$pids $p"
  done
  _lv_reap $pids
  if [ -f "$D/bound-here" ]; then
    umount /var/log/libvirt /var/cache/libvirt /var/lib/libvirt /run/libvirt /etc/libvirt 2>/dev/null
    rm -f "$D/bound-here"
  fi
  _lv_names=$(echo "$_lv_names" | tr ' ' '\n' | grep -vx "$name" | tr '\n' ' ')
  return 0
}

lv_stop_all() {
  local n
  for n in $_lv_names; do lv_stop "$n"; done
}
