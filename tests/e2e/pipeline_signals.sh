#!/usr/bin/env bash
# End-to-end: the signal/kill matrix on the built-in linux guest under TCG. QEMU is killed
# (SIGKILL), or vmcloak gets SIGINT or SIGTERM, at several moments of init, install, snapshot
# --count 2 and restore [--keep]. After each case:
#   - the exit code is exactly 1 (QEMU killed), 130 (SIGINT) or 143 (SIGTERM); never a crash,
#     never 0 for a killed QEMU (restore --keep ended by Ctrl-C after its agent answered is the
#     documented way to stop it: 0 there);
#   - no QEMU, swtpm or other process naming the home is left;
#   - nothing is left but logs and complete VMs (per command: no disk/row/work folder after
#     init; the image byte-identical and no overlay after install; each snapshot VM complete
#     or gone; the restored VM unchanged and no disposable overlay), and no run folder in TMPDIR;
#   - one line says what happened.
# One base image is built once and used by install, snapshot and restore.
# VMCLOAK_TEST_WRAP, e.g. 'valgrind -q --error-exitcode=99', runs each case's vmcloak under a
# checker: a bad free on an unwinding path then fails the case every time, not only when the
# heap happens to make it crash.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
VM=${VMCLOAK_BIN:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-signals.XXXXXX)
export VMCLOAK_HOME=$tmp/home
H=$VMCLOAK_HOME
cleanup() {
  pkill -KILL -f -- "$tmp/" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
# The Debian kernel package is cached between runs, like a user's ~/.vmcloak/cache.
cache=${VMCLOAK_TEST_CACHE:-/var/tmp/vmcloak-test-cache}/vmcloak-cache
mkdir -p "$cache" "$H" "$tmp/out" "$tmp/run"
ln -s "$cache" "$H/cache"
# Run folders (restore's QMP socket) land here, so a left-over one is seen.
export TMPDIR=$tmp/run
unset VMCLOAK_GUEST_AGENT
if ! [ -x "$BUILD/agent/vmcloak-agent" ] || file -L "$BUILD/agent/vmcloak-agent" | grep -q 'dynamically linked'; then
  # A sanitizer build links the agent dynamically; the guest has no C library for it.
  tap_skip "pipeline_signals" "no static agent in $BUILD/agent (sanitizer build?)"
  tap_done; exit 0
fi
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
T0=$(now)
db() { sqlite3 "$H/repository.db" "$1"; }
# Every process whose command line names the home: QEMU, swtpm, a decompressor QEMU ran.
procs() { pgrep -af -- "$H" | grep -v "^$$ " || true; }
# The newest QEMU whose command line matches PATTERN (a regex after the home).
qemu_pid() { pgrep -n -f -- "qemu-system.*$H.*$1"; }
read -ra WRAP <<<"${VMCLOAK_TEST_WRAP:-}"
want_rc() { case $1 in kill) echo 1 ;; INT) echo 130 ;; TERM) echo 143 ;; esac; }

# --- one case: start, wait for the moment, hit, wait for the exit -----------------------------
# begin CASE CMD...: the vmcloak command runs in the background, its output in $out.
begin() {
  c=$1; shift
  out=$tmp/out/${c//\//_}.out
  case_fail=$_tap_fail
  hit_at='' missed='' rc=''
  t0=$(now)
  "${WRAP[@]}" "$@" >"$out" 2>&1 &
  pid=$!
}
# Running and not yet a zombie (kill -0 succeeds on a zombie).
alive() {
  local s
  read -r s 2>/dev/null </proc/"$pid"/stat || return 1
  s=${s##*) }
  [ "${s%% *}" != Z ]
}
# await PRED [SECONDS]: poll PRED while vmcloak runs; 1 when it exited first or time ran out.
await() {
  local limit=$((SECONDS + ${2:-180}))
  until "$1"; do
    alive && [ "$SECONDS" -lt "$limit" ] || return 1
    sleep 0.02
  done
}
# hit HOW [QEMU-PATTERN]: HOW is kill (SIGKILL to the newest matching qemu-system), INT or TERM
# (to vmcloak). 1 when there was nothing to hit.
hit() {
  local q='' i
  hit_at=$(now)
  case $1 in
    kill)
      for i in $(seq 50); do q=$(qemu_pid "${2:-}") && break; sleep 0.01; done
      [ -n "$q" ] && kill -KILL "$q" 2>/dev/null ;;
    *) kill -"$1" "$pid" 2>/dev/null ;;
  esac
}
# reap: wait for vmcloak (SIGKILL after 150 s: it hangs); its exit code in rc.
reap() {
  local i=0
  [ -n "$hit_at" ] || hit_at=$(now)
  hung=
  while alive && [ $i -lt 1500 ]; do sleep 0.1; i=$((i + 1)); done
  if alive; then kill -KILL "$pid"; hung=1; fi
  wait "$pid"; rc=$?
}
# finish HOW MOMENT-REACHED(0/1) [WANT-RC]: reap (unless done) and check the moment, the exit
# code and that no process is left.
finish() {
  local how=$1 reached=$2 i want what=
  [ -n "$rc" ] || reap
  echo "# $c: hit after $(secs "$t0" "$hit_at") s, exit $rc after $(secs "$t0" "$(now)") s${missed:+ ($missed)}"
  tap_check "$c: the moment was reached and hit" test "$reached" = 0
  want=${3:-$(want_rc "$how")}
  case $rc in 139) what=" SIGSEGV" ;; 134) what=" SIGABRT" ;; 137) what=" SIGKILL" ;; esac
  [ -n "$hung" ] && what=" hung, killed after 150 s"
  tap_check "$c: exits $want (got $rc$what)" test "$rc" = "$want"
  local left=
  for i in $(seq 20); do left=$(procs); [ -z "$left" ] && break; sleep 0.1; done
  tap_check "$c: no QEMU, swtpm or helper process left" test -z "$left"
  if [ -n "$left" ]; then
    echo "$left" | cut -c1-200 | sed 's/^/#   left: /'
    pkill -KILL -f -- "$H" 2>/dev/null; sleep 0.5
  fi
}
# said [AFTER-REGEX]: one line says what happened (after the line matching AFTER-REGEX).
said() {
  local from=${1:-} re='interrupted|failed'
  if [ -n "$from" ]; then
    tap_check "$c: a line after '$from' says the VM was stopped" \
      bash -c 'sed -n "/$1/,\$p" "$2" | sed 1d | grep -Eqi "interrupted|failed|stopped|discarded"' _ "$from" "$out"
  else
    tap_check "$c: one line says it was interrupted or failed" grep -Eq "$re" "$out"
  fi
}
endcase() {
  [ "$_tap_fail" = "$case_fail" ] && return
  # A checker's first report (VMCLOAK_TEST_WRAP), then the end of the output.
  grep -m 4 '^==[0-9]*== [A-Z]' "$out" | cut -c1-200 | sed 's/^/#   | /'
  grep -v '^==[0-9]*==' "$out" | tail -n 8 | cut -c1-200 | sed 's/^/#   | /'
}
no_run_dirs() { test -z "$(ls -A "$TMPDIR")"; }
only_base() { test "$(ls -A "$H/image")" = "base.qcow2"; }

# --- the base image ----------------------------------------------------------------------------
t=$(now)
out=$(pipeline_image base snet --net user --accel tcg 2>&1); rc=$?
echo "# init base: $(secs "$t" "$(now)") s"
tap_check "init of the base image succeeds" test "$rc" = 0
if [ "$rc" != 0 ]; then
  echo "$out" | sed 's/^/# /'
  tap_done; exit 1
fi

# --- init -----------------------------------------------------------------------------------
init_left() { # NAME
  tap_check "$c: no disk, no row, no work folder, no run folder" test ! -e "$H/image/$1.qcow2" -a \
    "$(db "SELECT count(*) FROM image WHERE name='$1'")" = 0 -a -z "$(ls -A "$H/iso")" -a -z "$(ls -A "$TMPDIR")"
  tap_check "$c: the image folder holds only the base image" only_base
}
m_media() { grep -q 'Building the install media' "$out"; }
m_installer() { qemu_pid "install\.iso" >/dev/null; }
m_firstboot() { q=$(pgrep -af -- "qemu-system.*$H/image/$name\.qcow2") && ! grep -q 'install\.iso' <<<"$q"; }
n=0
for how in kill INT TERM; do
  n=$((n + 1)); name=media$n
  if [ "$how" = kill ]; then
    tap_skip "init/media/kill" "no QEMU runs while the install media is built"
    continue
  fi
  begin "init/media/$how" "$VM" init --linux --net user --accel tcg "$name" snet
  await m_media 60; reached=$?
  qemu_pid "" >/dev/null && reached=1  # QEMU must not have started yet
  hit "$how"
  reap
  grep -q 'Installing the OS' "$out" && { reached=1; missed="QEMU started before the signal took effect"; }
  finish "$how" "$reached"
  init_left "$name"; said; endcase
done
for phase in installer firstboot; do
  for how in kill INT TERM; do
    n=$((n + 1)); name=$phase$n
    begin "init/$phase/$how" "$VM" init --linux --net user --accel tcg "$name" snet
    await "m_$phase" 180; reached=$?
    sleep 1                            # early in the phase, but inside it
    [ "$reached" = 0 ] && { "m_$phase" || reached=1; }
    if [ "$phase" = installer ]; then hit "$how" "install\.iso"; else hit "$how" "image/$name\.qcow2"; fi || reached=1
    finish "$how" "$reached"
    init_left "$name"; said; endcase
  done
done

# --- install ----------------------------------------------------------------------------------
img_sum=$(sha256sum <"$H/image/base.qcow2")
m_boot() { grep -q 'Booting the image' "$out" && qemu_pid "" >/dev/null; }
m_step() { grep -q '\[1/1\] run' "$out"; }
for phase in boot step; do
  for how in kill INT TERM; do
    begin "install/$phase/$how" "$VM" install --accel tcg base 'run:sleep 60'
    await "m_$phase" 180; reached=$?
    sleep 1
    [ "$phase" = step ] && [ "$reached" = 0 ] && ! grep -q '\[1/1\] run' "$out" && reached=1
    hit "$how" "base" || reached=1
    finish "$how" "$reached"
    tap_check "$c: the image is byte-identical, no overlay, no run folder" test "$(sha256sum <"$H/image/base.qcow2")" = "$img_sum" -a \
      -z "$(ls -A "$H/image" | grep -v '^base\.qcow2$')" -a -z "$(ls -A "$TMPDIR")"
    tap_check "$c: no row changed" test "$(db "SELECT count(*) || '/' || ifnull(_installed, '') FROM image")" = "1/"
    said; endcase
  done
done

# --- snapshot --count 2 ----------------------------------------------------------------------
vm_state() { # VM -> complete | absent | partial(...)
  local d=$H/vms/qemu/$1 n
  n=$(db "SELECT count(*) FROM snapshot WHERE vmname='$1'")
  if [ "$n" = 1 ] && [ -s "$d/disk.qcow2" ] && [ -s "$d/memory.snapshot" ] && [ -s "$d/machineinfo.json" ]; then
    echo complete
  elif [ "$n" = 0 ] && [ ! -e "$d" ]; then
    echo absent
  else
    echo "partial: $n row(s), files: $(ls "$d" 2>/dev/null | tr '\n' ' ')"
  fi
}
vm_is() { # VM WANT-REGEX
  local s; s=$(vm_state "$1")
  tap_check "$c: $1 is ${2//|/ or } (is $s)" grep -Eqx "$2" <<<"$s"
}
rvm=  # a complete VM kept for restore
m_vm1boot() { grep -q "${v}1: booting" "$out" && qemu_pid "vms/qemu/${v}1/" >/dev/null; }
m_vm1mem() { [ -e "$H/vms/qemu/${v}1/memory.snapshot.part" ] || grep -q 'Saving memory' "$out"; }
m_vm2boot() { grep -q "${v}2: booting" "$out" && qemu_pid "vms/qemu/${v}2/" >/dev/null; }
# A fleet (issue 15): the template's boot, and VM 1 started from the template's memory.
m_tplboot() { grep -q "Booting the template once" "$out" && qemu_pid "fleet/" >/dev/null; }
m_vm1clone() { grep -q "${v}1: restored from the template" "$out" && qemu_pid "vms/qemu/${v}1/" >/dev/null; }
no_template() { tap_check "$c: no template folder left" test -z "$(ls -A "$H/fleet" 2>/dev/null)"; }
k=0
for phase in vm1boot vm1mem vm2boot tplboot vm1clone; do
  for how in kill INT TERM; do
    k=$((k + 1)); v=v$(printf "\\x$(printf %x $((96 + k)))")   # va, vb, ...
    # Two addresses of its own per case: an address in use is refused, never moved (issue 10).
    # The boot phases are each VM's own boot (--boot-each); the others the fleet's.
    each=; case $phase in vm1boot | vm1mem | vm2boot) each=--boot-each ;; esac
    begin "snapshot/$phase/$how" "$VM" snapshot --accel tcg $each --count 2 base "$v" "10.0.2.$((38 + 2 * k))"
    await "m_$phase" 180; reached=$?
    case $phase in
      vm1mem) hit "$how" "vms/qemu/${v}1/" ;;   # at once: writing the memory takes about 2 s
      vm1boot | vm1clone) sleep 1; hit "$how" "vms/qemu/${v}1/" ;;
      vm2boot) sleep 1; hit "$how" "vms/qemu/${v}2/" ;;
      tplboot) sleep 1; hit "$how" "fleet/" ;;
    esac || reached=1
    reap
    if [ "$phase" = vm1mem ] && grep -q "${v}1: memory snapshot" "$out"; then
      reached=1; missed="the memory was written before the hit landed"
    fi
    finish "$how" "$reached"
    case $phase/$how in
      vm1boot/kill) vm_is "${v}1" absent; vm_is "${v}2" 'complete|absent' ;;   # VM 2 may still be made
      vm1boot/*) vm_is "${v}1" absent; vm_is "${v}2" absent ;;
      vm1mem/kill) vm_is "${v}1" absent; vm_is "${v}2" 'complete|absent' ;;
      vm1mem/*) vm_is "${v}1" 'complete|absent'; vm_is "${v}2" absent ;;      # the hit may land after the write
      vm2boot/*) vm_is "${v}1" complete; vm_is "${v}2" absent ;;
      tplboot/*) vm_is "${v}1" absent; vm_is "${v}2" absent; no_template ;;   # no VM without it
      vm1clone/kill) vm_is "${v}1" absent; vm_is "${v}2" 'complete|absent'; no_template ;;
      vm1clone/*) vm_is "${v}1" absent; vm_is "${v}2" absent; no_template ;;
    esac
    tap_check "$c: no run folder left" no_run_dirs
    said; endcase
    for x in "${v}1" "${v}2"; do
      [ "$(vm_state "$x")" = complete ] || continue
      if [ -z "$rvm" ]; then rvm=$x; else "$VM" delvm "$x" >/dev/null 2>&1; fi
    done
  done
done

# --- restore [--keep] --------------------------------------------------------------------------
if [ -z "$rvm" ]; then
  tap_skip "restore cases" "no complete snapshot VM was left by the snapshot cases"
else
  rdir=$H/vms/qemu/$rvm
  vm_sum() { (cd "$rdir" && sha256sum disk.qcow2 memory.snapshot machineinfo.json); }
  sum=$(vm_sum)
  m_load() { [ -e "$rdir/restore.log" ]; }
  m_running() { grep -q 'keeps running' "$out"; }
  for mode in load keep-load keep-running; do
    for how in kill INT TERM; do
      args=(restore "$rvm")
      [ "$mode" != load ] && args=(restore --keep "$rvm")
      rm -f "$rdir/restore.log"
      begin "restore/$mode/$how" "$VM" "${args[@]}"
      if [ "$mode" = keep-running ]; then
        await m_running 60; reached=$?
        sleep 0.3
      else
        # The memory loads in about 0.3 s: poll without forking, hit at once.
        limit=$((SECONDS + 60)); reached=1
        while alive && [ "$SECONDS" -lt "$limit" ]; do m_load && { reached=0; break; }; done
      fi
      # The restore's QEMU runs the VM's disk under snapshot=on (no disposable overlay file).
      hit "$how" "vms/qemu/$rvm/disk.qcow2,.*snapshot=on" || reached=1
      reap
      if [ "$mode" != keep-running ] && grep -q ' restored: ' "$out"; then
        reached=1; missed="the memory had loaded before the hit landed"
      fi
      want=
      [ "$mode/$how" = keep-running/INT ] && want=0    # Ctrl-C is how --keep is ended
      finish "$how" "$reached" $want
      tap_check "$c: the VM's files are unchanged, no disposable overlay, no run folder" \
        test "$(vm_sum)" = "$sum" -a -z "$(ls "$rdir" | grep disposable)" -a -z "$(ls -A "$TMPDIR")"
      if [ "$mode" = keep-running ]; then said 'keeps running'; else said; fi
      endcase
    done
  done
fi

tap_check "nothing of vmcloak runs at the end" test -z "$(procs)"
echo "# whole matrix: $(secs "$T0" "$(now)") s"
tap_done
