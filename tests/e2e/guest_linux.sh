#!/usr/bin/env bash
# End-to-end: the built-in linux guest. `vmcloak createiso --linux` (kernel from the Debian
# package through vmcloak's cache, and from --kernel/--modules), an unattended install under
# QEMU/TCG with VMCloak's argument model (user networking instead of the bridge), a failing
# install that must report its step, then the disk boots alone through extlinux and the agent
# answers on a forwarded 127.0.0.1 port. Timings are printed as TAP comments.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
SRC=${VMCLOAK_SOURCE_ROOT:?}
BUILD=${VMCLOAK_BUILD_ROOT:?}
tmp=$(mktemp -d /tmp/vmcloak-guest.XXXXXX)
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
export VMCLOAK_HOME=$tmp/home
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# The agent copied into the guest: the real one once it is built, else a stand-in that
# answers HTTP GET / like the agent (BusyBox httpd serving a JSON body).
# (A sanitizer build links the agent dynamically; the guest has no C library for it.)
if [ -x "$BUILD/agent/vmcloak-agent" ] && ! file -L "$BUILD/agent/vmcloak-agent" | grep -q 'dynamically linked'; then
  unset VMCLOAK_GUEST_AGENT
  echo "# agent: $BUILD/agent/vmcloak-agent"
else
  # The stand-in answers GET / and runs POST /cgi-bin/execute (command=...) with /bin/sh -c,
  # returning exit_code and stdout like the agent's /execute.
  cat > "$tmp/agent-standin" <<'AGENT'
#!/bin/sh
port=8000
while [ $# -gt 0 ]; do case $1 in --port) port=$2; shift ;; esac; shift; done
www=/run/standin
mkdir -p $www/cgi-bin
echo '{"message": "Cuckoo Agent!", "version": "stand-in"}' > $www/index.html
cat > $www/cgi-bin/execute <<'CGI'
#!/bin/sh
body=$(head -c "${CONTENT_LENGTH:-0}")
cmd=$(httpd -d "${body#command=}")
out=$(/bin/sh -c "$cmd" 2>&1 </dev/null)
rc=$?
esc=$(printf '%s' "$out" | sed 's/\\/\\\\/g; s/"/\\"/g' | awk 'BEGIN { ORS = "\\n" } { print }')
printf 'Content-Type: application/json\r\n\r\n{"message": "ok", "exit_code": %d, "stdout": "%s"}\n' "$rc" "$esc"
CGI
chmod +x $www/cgi-bin/execute
exec busybox httpd -f -p "0.0.0.0:$port" -h $www
AGENT
  chmod +x "$tmp/agent-standin"
  export VMCLOAK_GUEST_AGENT=$tmp/agent-standin
  EXEC_PATH=/cgi-bin/execute
  echo "# agent: stand-in (no static $BUILD/agent/vmcloak-agent)"
fi
EXEC_PATH=${EXEC_PATH:-/execute}

NETOPTS=(--ip 10.0.2.15 --network 10.0.2.0/24 --gateway 10.0.2.2 --dns 10.0.2.3 --port 8123)

# --- option errors -------------------------------------------------------------------------
out=$("$VM" createiso "${NETOPTS[@]}" "$tmp/x.iso" 2>&1); rc=$?
tap_check "createiso without an OS flag exits 2" test "$rc" = 2
tap_check "createiso without an OS flag names the flags" grep -q -- "--linux" <<<"$out"
out=$("$VM" createiso --win10x64 "${NETOPTS[@]}" "$tmp/x.iso" 2>&1); rc=$?
tap_check "createiso --win10x64 without Windows media exits 1 and says how to give them" \
  test "$rc" = 1 -a -n "$(grep -- '--iso PATH' <<<"$out")" -a ! -e "$tmp/x.iso"
out=$("$VM" createiso --linux --win7x64 "${NETOPTS[@]}" "$tmp/x.iso" 2>&1); rc=$?
tap_check "createiso with two OS flags exits 2" test "$rc" = 2
out=$("$VM" createiso --linux --network 10.0.2.0/24 --gateway 10.0.2.2 "$tmp/x.iso" 2>&1); rc=$?
tap_check "createiso without --ip exits 2 and says so" test "$rc" = 2 -a -n "$(grep -- 'missing option --ip' <<<"$out")"
out=$("$VM" createiso --linux --ip 10.0.3.15 --network 10.0.2.0/24 --gateway 10.0.2.2 "$tmp/x.iso" 2>&1); rc=$?
tap_check "createiso with --ip outside --network exits 2" test "$rc" = 2
out=$("$VM" createiso --linux "${NETOPTS[@]}" --kernel "$tmp/no-such-kernel" "$tmp/x.iso" 2>&1); rc=$?
tap_check "createiso with a missing --kernel exits 1 and names it" \
  test "$rc" = 1 -a -n "$(grep -F "$tmp/no-such-kernel" <<<"$out")"
out=$("$VM" createiso --linux "${NETOPTS[@]}" --kernel /dev/null --modules "$tmp" "$tmp/x.iso" 2>&1); rc=$?
tap_check "createiso with no usable kernel tree exits 1" test "$rc" = 1 -a -n "$(grep -- '--modules' <<<"$out")"
# Like VMCloak, an address an image or snapshot already uses is refused.
vh=$tmp/vmcloak-home; mkdir -p "$vh"
sqlite3 "$vh/repository.db" < "$SRC/tests/fixtures/vmcloak-head.sql"
out=$("$VM" --home "$vh" createiso --linux --ip 192.168.30.10 --network 192.168.30.0/24 --gateway 192.168.30.1 \
      "$tmp/x.iso" 2>&1); rc=$?
tap_check "createiso refuses an IP a snapshot uses" test "$rc" = 1 -a -n "$(grep 'already used' <<<"$out")"
tap_check "failed createiso leaves no ISO" test ! -e "$tmp/x.iso"
tap_check "failed createiso leaves no work folder" test -z "$(ls -A "$VMCLOAK_HOME/iso" 2>/dev/null)"

# --- the kernel from Debian's linux-image-amd64, through vmcloak's cache ----------------------
# The cache is kept between runs (like a user's ~/.vmcloak/cache), so only the first run downloads.
cache=${VMCLOAK_TEST_CACHE:-/var/tmp/vmcloak-test-cache}/vmcloak-cache
mkdir -p "$cache" "$VMCLOAK_HOME"
ln -s "$cache" "$VMCLOAK_HOME/cache"
apt_iso=
if apt-cache depends linux-image-amd64 2>/dev/null | grep -q 'Depends: linux-image-[0-9]'; then
  t0=$(now)
  out=$("$VM" createiso --linux "${NETOPTS[@]}" "$tmp/apt.iso" 2>&1); rc=$?
  t1=$(now)
  tap_check "createiso --linux with the Debian kernel package" test "$rc" = 0 -a -s "$tmp/apt.iso"
  [ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
  echo "# createiso with the Debian package: $(secs "$t0" "$t1") s (downloads on the first run only)"
  tap_check "the package is unpacked in vmcloak's cache" test -n "$(ls -d "$cache"/linux-kernel/linux-image-*/lib/modules/* 2>/dev/null)"
  out=$("$VM" createiso --linux "${NETOPTS[@]}" "$tmp/apt2.iso" 2>&1); rc=$?
  tap_check "a second createiso reuses the cached package" test "$rc" = 0 -a -z "$(grep 'Downloading' <<<"$out")"
  [ "$rc" = 0 ] && apt_iso=$tmp/apt.iso
  rm -f "$tmp/apt2.iso"
else
  tap_skip "createiso --linux with the Debian kernel package" "apt-cache cannot resolve linux-image-amd64 (apt-get update)"
fi
rm -f "$VMCLOAK_HOME/cache"

# --- --kernel/--modules --------------------------------------------------------------------
kdir=$("$SRC/tests/fixtures/debian-kernel.sh") || { tap_fail "Debian kernel fixture"; tap_done; exit; }
kimg=$(ls "$kdir"/boot/vmlinuz-* | head -1)
release=$(basename "$(ls -d "$kdir"/lib/modules/* | head -1)")
t0=$(now)
out=$("$VM" createiso --linux "${NETOPTS[@]}" --kernel "$kimg" --modules "$kdir/lib/modules" "$tmp/linux.iso" 2>&1); rc=$?
t1=$(now)
tap_check "createiso --linux --kernel --modules" test "$rc" = 0 -a -s "$tmp/linux.iso"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_check "createiso names the kernel release" grep -qF "$release" <<<"$out"
echo "# ISO build: $(secs "$t0" "$t1") s, $(stat -c %s "$tmp/linux.iso" 2>/dev/null) bytes, kernel $release"
tap_check "the ISO is ISO 9660" test "$(dd if="$tmp/linux.iso" bs=1 skip=32769 count=5 2>/dev/null)" = CD001
tap_check "the ISO is El Torito bootable" \
  test "$(dd if="$tmp/linux.iso" bs=1 skip=$((17 * 2048 + 7)) count=23 2>/dev/null)" = "EL TORITO SPECIFICATION"
tap_check "createiso cleans its work folder" test -z "$(ls -A "$VMCLOAK_HOME/iso" 2>/dev/null)"
out=$(VMCLOAK_GUEST_AGENT=$tmp/no-agent "$VM" createiso --linux "${NETOPTS[@]}" --kernel "$kimg" \
      --modules "$kdir/lib/modules" "$tmp/x.iso" 2>&1); rc=$?
tap_check "createiso without an agent binary exits 1 and says how to get one" \
  test "$rc" = 1 -a -n "$(grep VMCLOAK_GUEST_AGENT <<<"$out")" -a ! -e "$tmp/x.iso"
iso=${apt_iso:-$tmp/linux.iso}

# --- QEMU, VMCloak's argument model (spec 6.5) with user networking ------------------------------
free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 50); do
    ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
  echo 28123
}
PORT=$(free_port)
PORT2=$(free_port)
qemu_argv() {  # $1: ISO or "" (empty tray), $2: disk, $3: serial log
  local cd=(-drive if=none,id=cdrom,readonly=on)
  [ -n "$1" ] && cd=(-drive "file=$1,format=raw,if=none,id=cdrom,readonly=on")
  echo qemu-system-x86_64 -nodefaults -M q35 -vga std -smp 1 -overcommit mem-lock=off \
    -rtc base=localtime,driftfix=slew -m 512 \
    -netdev "user,id=net0,net=10.0.2.0/24,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-10.0.2.15:8123,hostfwd=tcp:127.0.0.1:$PORT2-10.0.2.20:8123" \
    -device rtl8139,netdev=net0,mac=52:54:00:3a:81:07,bus=pcie.0,addr=3 \
    -device ich9-ahci,id=ahci \
    -device ide-hd,bus=ahci.0,unit=0,drive=disk,bootindex=2 \
    -device ide-cd,bus=ahci.1,unit=0,drive=cdrom,bootindex=1 \
    -device usb-ehci,id=ehci -device usb-tablet,bus=ehci.0 \
    -audiodev none,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0 \
    -accel tcg "${cd[@]}" -drive "file=$2,format=qcow2,if=none,id=disk" \
    -display none -serial "file:$3" -no-reboot
}
http_get() {  # a real HTTP answer, not just an accepted connection
  timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 || exit 1
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3; cat <&3" 2>/dev/null
}
urlencode() {
  local s=$1 out= c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [a-zA-Z0-9.~_-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}
# guest_exec PORT COMMAND: run a command through the agent's /execute; prints its stdout,
# returns its exit code (255 when there was no answer).
guest_exec() {
  local body resp code
  body="command=$(urlencode "$2")"
  resp=$(timeout 60 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 || exit 1
    printf 'POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s' \
      '$EXEC_PATH' ${#body} '$body' >&3; cat <&3" 2>/dev/null)
  code=$(grep -o '"exit_code": *-\?[0-9]*' <<<"$resp" | grep -o -- '-\?[0-9]*$')
  sed -n 's/.*"stdout": *"\([^"]*\)".*/\1/p' <<<"$resp" | sed 's/\\n/\n/g'
  return "${code:-255}"
}
wait_agent() {  # PORT PID SECONDS: poll until the agent answers; prints nothing, returns 0/1
  local t0=$(now)
  while [ $(( ($(now) - t0) / 1000000000 )) -lt "$3" ] && kill -0 "$2" 2>/dev/null; do
    grep -q '"message"' <<<"$(http_get "$1")" && return 0
    sleep 0.5
  done
  return 1
}

# A failing install must say which step failed and power off (no hang): a 1 MiB disk has no
# room for the partition.
qemu-img create -q -f qcow2 "$tmp/tiny.qcow2" 1M
timeout 300 $(qemu_argv "$iso" "$tmp/tiny.qcow2" "$tmp/tiny.log") 2>"$tmp/tiny.err"; rc=$?
tap_check "a failing install powers off (QEMU exits 0)" test "$rc" = 0
tap_check "a failing install names its step" grep -aq "VMCLOAK: install: FAILED partitioning" "$tmp/tiny.log"
tap_check "a failing install never says done" test -z "$(grep -a 'VMCLOAK: install: done' "$tmp/tiny.log")"

qemu-img create -q -f qcow2 -o lazy_refcounts=on,cluster_size=2M "$tmp/disk.qcow2" 2G
t0=$(now)
timeout 300 $(qemu_argv "$iso" "$tmp/disk.qcow2" "$tmp/install.log") 2>"$tmp/install.err"; rc=$?
t1=$(now)
tap_check "install run exits 0" test "$rc" = 0
tap_check "install printed its steps" grep -aq "VMCLOAK: install: bootloader" "$tmp/install.log"
tap_check "install done marker" grep -aq "VMCLOAK: install: done" "$tmp/install.log"
tap_check "install reports no failure" test -z "$(grep -a 'FAILED' "$tmp/install.log")"
echo "# install (QEMU start to exit, TCG, 512 MB, 2 GiB disk): $(secs "$t0" "$t1") s"
grep -a "VMCLOAK:" "$tmp/install.log" | tail -3 | sed 's/^/# serial: /'

# The disk alone (empty CD tray): SeaBIOS -> extlinux -> kernel + its initramfs -> agent.
t0=$(now)
$(qemu_argv "" "$tmp/disk.qcow2" "$tmp/boot.log") 2>"$tmp/boot.err" &
qemu_pid=$!
answer=
while [ $(( ($(now) - t0) / 1000000000 )) -lt 180 ] && kill -0 "$qemu_pid" 2>/dev/null; do
  answer=$(http_get "$PORT")
  grep -q '"message"' <<<"$answer" && break
  answer=
  sleep 0.5
done
t1=$(now)
tap_check "the agent answers HTTP on 127.0.0.1:$PORT" test -n "$answer"
[ -n "$answer" ] && echo "# disk boot to agent answering (TCG): $(secs "$t0" "$t1") s"
tap_check "the agent's answer is HTTP 200" grep -q '^HTTP/1\.[01] 200' <<<"$answer"
tap_check "booted from the disk through extlinux" grep -aq "^SYSLINUX" "$tmp/boot.log"
tap_check "not from the install CD" test -z "$(grep -a 'ISOLINUX\|VMCLOAK: install' "$tmp/boot.log")"
tap_check "boot markers: network up, agent started" \
  test -n "$(grep -a 'VMCLOAK: boot: network up' "$tmp/boot.log")" -a -n "$(grep -a 'VMCLOAK: boot: agent started (port 8123)' "$tmp/boot.log")"
tap_check "boot reports no failure" test -z "$(grep -a 'FAILED' "$tmp/boot.log")"
if [ -z "$answer" ]; then
  echo "# boot serial log:"; tail -30 "$tmp/boot.log" | sed 's/^/#   /'
  echo "# QEMU stderr:"; tail -5 "$tmp/boot.err" | sed 's/^/#   /'
fi

# --- the guest commands of the profile, through the agent ---------------------------------------
out=$(guest_exec "$PORT" "/sbin/vmcloak-sethostname vmtest-7"); rc=$?
tap_check "set_hostname runs" test "$rc" = 0
out=$(guest_exec "$PORT" "hostname")
tap_check "the host name is set" test "$out" = vmtest-7
out=$(guest_exec "$PORT" "/sbin/vmcloak-sethostname 'bad name'"); rc=$?
tap_check "vmcloak-sethostname refuses a bad name" test "$rc" = 2
out=$(guest_exec "$PORT" "/sbin/vmcloak-setnet 10.0.2.999 24 10.0.2.2 10.0.2.3"); rc=$?
tap_check "vmcloak-setnet refuses a bad address" test "$rc" = 2
out=$(guest_exec "$PORT" "sync; echo 3 > /proc/sys/vm/drop_caches"); rc=$?
tap_check "shrink_memory runs" test "$rc" = 0
out=$(guest_exec "$PORT" "cat /proc/cmdline")
tap_check "the kernel runs with init_on_free=1" grep -q "init_on_free=1" <<<"$out"
# The address changes under the agent's feet, so the command detaches (the pipeline runs it async).
out=$(guest_exec "$PORT" "(sleep 1; /sbin/vmcloak-setnet 10.0.2.20 24 10.0.2.2 10.0.2.3) >/dev/null 2>&1 &"); rc=$?
tap_check "set_network starts" test "$rc" = 0
wait_agent "$PORT2" "$qemu_pid" 60
tap_check "the agent answers on the new address 10.0.2.20" test $? = 0
out=$(guest_exec "$PORT2" "ip -4 addr show eth0; ip route; cat /etc/resolv.conf")
tap_check "the new address, route and resolver are in place" \
  test -n "$(grep '10.0.2.20/24' <<<"$out")" -a -n "$(grep 'default via 10.0.2.2' <<<"$out")" \
       -a -n "$(grep 'nameserver 10.0.2.3' <<<"$out")" -a -z "$(grep '10.0.2.15' <<<"$out")"
out=$(guest_exec "$PORT2" "echo kept > /tmp/vmcloak-e2e"); rc=$?
tap_check "a file is written into the guest's temp dir" test "$rc" = 0
out=$(guest_exec "$PORT2" "poweroff"); rc=$?
tap_check "poweroff is accepted" test "$rc" = 0
t0=$(now)
while kill -0 "$qemu_pid" 2>/dev/null && [ $(( ($(now) - t0) / 1000000000 )) -lt 60 ]; do sleep 0.2; done
if kill -0 "$qemu_pid" 2>/dev/null; then
  tap_fail "poweroff stops the VM"
  kill "$qemu_pid" 2>/dev/null
  wait "$qemu_pid" 2>/dev/null
  tap_fail "QEMU exits 0 after poweroff"
else
  tap_ok "poweroff stops the VM"
  wait "$qemu_pid" 2>/dev/null; rc=$?
  tap_check "QEMU exits 0 after poweroff" test "$rc" = 0
fi
tap_check "the guest shut down cleanly" grep -aq "VMCLOAK: shutdown" "$tmp/boot.log"
qemu_pid=

# Settings survive a reboot.
$(qemu_argv "" "$tmp/disk.qcow2" "$tmp/boot2.log") 2>"$tmp/boot2.err" &
qemu_pid=$!
wait_agent "$PORT2" "$qemu_pid" 180
tap_check "after a reboot the agent answers on the saved address" test $? = 0
out=$(guest_exec "$PORT2" "hostname")
tap_check "after a reboot the host name is kept" test "$out" = vmtest-7
out=$(guest_exec "$PORT2" "cat /tmp/vmcloak-e2e")
tap_check "after a reboot the file in the temp dir is kept" test "$out" = kept
out=$(guest_exec "$PORT2" "dmesg | grep -q 'recovery complete' && echo dirty || echo clean")
tap_check "the root filesystem was left clean (no journal recovery)" test "$out" = clean
kill "$qemu_pid" 2>/dev/null
wait "$qemu_pid" 2>/dev/null
qemu_pid=

tap_done
