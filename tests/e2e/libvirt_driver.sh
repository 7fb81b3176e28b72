#!/usr/bin/env bash
# End-to-end: the libvirt driver (src/libvirt/driver.c) through the driver table, driven by
# tests/e2e/libvirt-drive (its path is the first argument) against two libvirtd daemons this
# test starts inside a network namespace it creates (tests/e2e/libvirtd.sh): "local" on
# qemu:///system and "remote" on qemu+tcp://127.0.0.1:16509/system (a stand-in for another
# host, with its own state). The linux guest image is built once with vmcloak init --net user.
#   local:  volume upload (reuse, a cut volume replaced, Ctrl-C leaves none), overlay volume,
#           persistent user-mode domain: start, agent, one REBOOT event per guest reboot, keys,
#           running-state snapshot, keep, info after destroy, CAPE's revert (flags 0) and the
#           agent again, remove + volume delete leave nothing; a name that exists (-EEXIST).
#   remote: upload, user mode refused, a transient bridged domain whose agent answers at the
#           guest's own address, destroy -> DIED, the domain gone.
#   bad URIs: one line each.
source "$(dirname "$0")/tap.sh"
source "$(dirname "$0")/pipeline-home.sh"
DRV=${1:?libvirt-drive program}
VM=${VMCLOAK_BIN:?}

skip_all() { tap_skip "libvirt driver" "$1"; tap_done; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root (network and mount namespaces, libvirtd)"
command -v libvirtd >/dev/null && command -v virtlogd >/dev/null && command -v virsh >/dev/null ||
  skip_all "libvirt-daemon-driver-qemu and libvirt-clients are not installed"
grep -qw overlay /proc/filesystems || skip_all "no overlayfs"
pipeline_home vmcloak-lvd || skip_all "no static agent in $VMCLOAK_BUILD_ROOT/agent (sanitizer build?)"
ns=vmcloak-lvd-$$
trap 'pkill -KILL -f -- "$tmp/" 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT

pipeline_image limg lnet --net user --accel tcg >"$tmp/init.log" 2>&1 ||
  { tap_fail "vmcloak init --linux --net user" "$(tail -3 "$tmp/init.log")"; tap_done; exit 1; }
IMG=$VMCLOAK_HOME/image/limg.qcow2
ip netns add "$ns" || skip_all "cannot create a network namespace"

# LV_QEMU_DEFAULT_USER=1: QEMU runs as libvirt-qemu (a stock host's qemu.conf), the way to
# check by hand that what vmcloak hands QEMU itself (the SMBIOS side volumes) is readable.
[ -n "${LV_QEMU_DEFAULT_USER:-}" ] && chmod 0755 "$tmp"
cat > "$tmp/inside.sh" <<EOF
set -u
T=$tmp; DRV=$DRV; IMG=$IMG; LV_QEMU_DEFAULT_USER=${LV_QEMU_DEFAULT_USER:-}
E2E=$(cd "$(dirname "$0")" && pwd)
EOF
cat >> "$tmp/inside.sh" <<'EOF'
source "$E2E/tap.sh"
source "$E2E/libvirtd.sh"
mkdir -p "$T/etc-up" "$T/etc-work"
mount -t overlay overlay -o lowerdir=/etc,upperdir="$T/etc-up",workdir="$T/etc-work" /etc || { echo "Bail out! no overlay /etc"; exit 1; }
ip link set lo up
trap lv_stop_all EXIT
lv_prepare && lv_start local && lv_start remote 16509 ||
  { tap_fail "libvirtd daemons start" "$(tail -3 "$T"/lv-*/libvirtd.log 2>/dev/null)"; tap_done; exit 1; }
tap_ok "two libvirtd daemons with private state answer"
LOCAL=qemu:///system
REMOTE=$(lv_uri remote)
POOLDIR=/var/lib/libvirt/images/vmcloak

# The program answers each command with one line; its log lines go to drv.err.
cd "$T" || exit 1   # the program writes each domain's log_path (lvdrive-NAME.log) here
coproc D { "$DRV" 2>>"$T/drv.err"; }
say() {
  echo "$*" >&"${D[1]}"
  ans=""
  read -r -t 600 ans <&"${D[0]}"
  echo "# $* -> $ans"
}
val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $ans"; }
rc0() { test "$(val rc)" = 0; }
errs() { local n; n=$(wc -l < "$T/drv.err"); sed -n "$((mark + 1)),${n}p" "$T/drv.err" | grep -v '^> '; }
mark_err() { mark=$(wc -l < "$T/drv.err"); }
touch "$T/drv.err"; mark=0

# ---- local daemon ----
say open "$LOCAL"
tap_check "connect to $LOCAL" rc0
echo "# figure: connect $LOCAL $(val ms) ms"
say hostinfo
tap_check "host info: libvirt driver, the daemon's libvirt version, TCG, local" \
  test "$(val driver)" = libvirt -a -n "$(val manager | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$')" -a "$(val accel)" = tcg -a "$(val local)" = 1

say upload "$IMG" base.qcow2
tap_check "the image is uploaded as a volume (pool vmcloak made)" test "$(val rc)" = 0 -a "$(val uploaded)" = 1
echo "# figure: upload $(stat -c %s "$IMG") bytes to $LOCAL $(val ms) ms"
BASE=$(val path)
tap_check "the volume is the image byte for byte" cmp -s "$IMG" "$BASE"
tap_check "the pool is persistent, autostarted and running" \
  test -n "$(virsh -c "$LOCAL" pool-info vmcloak | grep -E '^Autostart: +yes')" -a -n "$(virsh -c "$LOCAL" pool-info vmcloak | grep -E '^State: +running')"
say upload "$IMG" base.qcow2
tap_check "a second upload is skipped (same size)" test "$(val rc)" = 0 -a "$(val uploaded)" = 0
truncate -s -65536 "$BASE"
say upload "$IMG" base.qcow2
tap_check "a cut volume is replaced" test "$(val rc)" = 0 -a "$(val uploaded)" = 1 -a "$(val path)" = "$BASE"
tap_check "and holds the image again" cmp -s "$IMG" "$BASE"
mark_err
say upload-interrupt "$IMG" cut.qcow2
tap_check "Ctrl-C during an upload: -ECANCELED" test "$(val rc)" = -125
say vollist
tap_check "an interrupted upload leaves no volume" test "$(val volumes)" = base.qcow2
tap_check "  and no file in the pool" test ! -e "$POOLDIR/cut.qcow2"

# An upload killed outright (no cleanup): the volume it leaves is shorter, so it is replaced.
"$DRV" < <(echo "open $LOCAL"; echo "upload $IMG killed.qcow2"; sleep 60) >/dev/null 2>&1 &
kpid=$!
for _ in $(seq 1 200000); do [ -s "$POOLDIR/killed.qcow2" ] && break; kill -0 "$kpid" 2>/dev/null || break; done
kill -KILL "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null
tap_check "an upload killed with SIGKILL leaves a volume shorter than the image" \
  test -e "$POOLDIR/killed.qcow2" -a "$(stat -c %s "$POOLDIR/killed.qcow2" 2>/dev/null || echo 0)" -lt "$(stat -c %s "$IMG")"
say upload "$IMG" killed.qcow2
replaced() { test "$(val rc)" = 0 -a "$(val uploaded)" = 1 && cmp -s "$IMG" "$POOLDIR/killed.qcow2"; }
tap_check "  which the next upload replaces with the whole image" replaced
say voldelete killed.qcow2

say overlay ov1.qcow2 "$BASE"
tap_check "an overlay volume on the image" rc0
OV=$(val path)
tap_check "  qcow2 backed by the image volume" \
  test -n "$(qemu-img info -U "$OV" | grep -Fx "backing file: $BASE")" -a -n "$(qemu-img info -U "$OV" | grep -x 'virtual size: .*(2147483648 bytes)')"
say overlay ov1.qcow2 "$BASE"
tap_check "the same overlay name again: -EEXIST" test "$(val rc)" = -17
say volusers base.qcow2
tap_check "the image volume has one user on the host (the overlay)" test "$(val rc)" = 0 -a "$(val users)" = 1
say volusers ov1.qcow2
tap_check "  the overlay has none" test "$(val rc)" = 0 -a "$(val users)" = 0
say volusers nosuch.qcow2
tap_check "  no such volume: -ENOENT" test "$(val rc)" = -2

say define lv1 "$OV" persistent user 10.0.2.15 smbios
tap_check "a persistent domain with user-mode networking is defined" rc0
echo "# figure: define $(val ms) ms"
tap_check "  libvirt lists it (shut off)" grep -qE ' lv1 +shut off' <<<"$(virsh -c "$LOCAL" list --all)"
say vollist
tap_check "  its SMBIOS type 0 and 3 tables are volumes" \
  test "$(val volumes)" = "base.qcow2,lv1-smbios-type0.bin,lv1-smbios-type3.bin,ov1.qcow2"
tap_check "  readable by QEMU as libvirt-qemu (mode 0644; -smbios file= is no disk libvirt relabels)" \
  test "$(stat -c %a "$POOLDIR/lv1-smbios-type0.bin" "$POOLDIR/lv1-smbios-type3.bin" | sort -u)" = 644
mark_err
say define lv1 "$OV" transient user 10.0.2.15
tap_check "a name that exists: -EEXIST" test "$(val rc)" = -17
tap_check "  with one line naming the host and the fix" \
  test "$(errs | grep -c 'libvirt at qemu:///system has a domain named lv1 already, which vmcloak leaves alone: pick another VM name')" = 1 -a "$(errs | wc -l)" = 1

say start
tap_check "the domain starts" rc0
echo "# figure: start $(val ms) ms"
say endpoint 0
AGENT_PORT=$(val port)
tap_check "the agent endpoint is a forwarded 127.0.0.1 port" test "$(val host)" = 127.0.0.1 -a -n "$AGENT_PORT"
say endpoint 1
tap_check "  no second address: -ENOENT" test "$(val rc)" = -2
tap_check "the agent answers" agent_up
tap_check "the guest sees the SMBIOS type 0 vendor from the volume" \
  test "$(gout 'cat /sys/class/dmi/id/bios_vendor')" = "American Megatrends Inc."
say state
tap_check "state: running" test "$(val state)" = running
say keys ret
tap_check "keys (ret) are sent" rc0
dd if=/dev/zero of="$T/media.iso" bs=1k count=64 status=none
say media 0 "$T/media.iso"
tap_check "a medium goes into CD-ROM drive 0" \
  test "$(val rc)" = 0 -a -n "$(virsh -c "$LOCAL" domblklist lv1 | grep -F "$T/media.iso")"
say media 0 -
tap_check "  and out again" test "$(val rc)" = 0 -a -z "$(virsh -c "$LOCAL" domblklist lv1 | grep -F "$T/media.iso")"
say media 7 "$T/media.iso"
tap_check "  a drive it does not have: -ENOENT" test "$(val rc)" = -2
say keys ctrl nosuchkey
tap_check "an unknown key name: -EINVAL" test "$(val rc)" = -22
gexec "(sleep 1; reboot) >/dev/null 2>&1 &" >/dev/null
say event 180000
tap_check "a guest reboot is a REBOOT event" test "$(val rc)" = 0 -a "$(val event)" = reboot
tap_check "  the agent answers after it" agent_up
say event 1000
tap_check "  and only one (then nothing: -ETIMEDOUT)" test "$(val rc)" = -110
say event-interrupt 60000
tap_check "Ctrl-C during a wait: -ECANCELED" test "$(val rc)" = -125
echo "# figure: Ctrl-C to -ECANCELED $(( $(val ms) - 300 )) ms"
gexec "echo before > /root/mark" >/dev/null
say snapshot s1
tap_check "a running-state snapshot" rc0
echo "# figure: snapshot $LOCAL $(val ms) ms"
gexec "echo after > /root/mark" >/dev/null
say keep
tap_check "keep" rc0
say destroy
say event 0
tap_check "destroy: the run ended as DIED" test "$(val rc)" = 0 -a "$(val event)" = died
say info lv1
tap_check "domain info: shut off, 1 snapshot, current s1 in running state" \
  test "$(val active)" = 0 -a "$(val snapshots)" = 1 -a "$(val current)" = s1 -a "$(val running)" = 1
say free
tap_check "libvirt's QEMU log of the run is appended to the domain's log_path" \
  grep -q "starting up libvirt version" "$T/lvdrive-lv1.log"
tap_check "a kept domain outlives its handle" grep -qE ' lv1 +shut off' <<<"$(virsh -c "$LOCAL" list --all)"
t0=$(date +%s%N)
/usr/bin/python3 -c 'import libvirt,sys; c=libvirt.open(sys.argv[1]); d=c.lookupByName("lv1"); d.revertToSnapshot(d.snapshotCurrent(), 0)' "$LOCAL"
tap_check "CAPE's revert (flags 0) leaves it running" grep -qE ' lv1 +running' <<<"$(virsh -c "$LOCAL" list --all)"
echo "# figure: revert $(( ($(date +%s%N) - t0) / 1000000 )) ms"
tap_check "  the agent answers again" agent_up
tap_check "  with the snapshot's state" test "$(gout 'cat /root/mark')" = before
say info lv1
tap_check "domain info while it runs: active" test "$(val active)" = 1
say remove lv1
tap_check "remove: switched off and undefined" test "$(val rc)" = 0 -a -z "$(virsh -c "$LOCAL" list --all --name | grep .)"
say remove lv1
tap_check "  again: -ENOENT" test "$(val rc)" = -2
say info lv1
tap_check "  info: -ENOENT" test "$(val rc)" = -2
say voldelete ov1.qcow2
tap_check "the overlay volume is deleted" rc0
say voldelete base.qcow2
say voldelete base.qcow2
tap_check "  a volume that is not there: -ENOENT" test "$(val rc)" = -2
tap_check "nothing is left: no domain, no volume, no file" \
  test -z "$(virsh -c "$LOCAL" list --all --name | grep .)" -a -z "$(virsh -c "$LOCAL" vol-list vmcloak | tail -n +3 | grep .)" -a -z "$(ls -A "$POOLDIR")"

# A transient domain is gone after free; a domain freed before keep is undefined.
say define lv2 /nonexistent.qcow2 persistent none 10.0.2.15
say free
tap_check "a persistent domain never kept is undefined by free" test -z "$(virsh -c "$LOCAL" list --all --name | grep .)"
say define lv3 /nonexistent.qcow2 persistent none 10.0.2.15
say start-memory
tap_check "start from a memory file: -EOPNOTSUPP" test "$(val rc)" = -95
say free
# UEFI: libvirt picks OVMF itself; 9.0 refuses an internal snapshot of a pflash domain.
say upload "$IMG" base.qcow2
say overlay ovu.qcow2 "$(val path)"
OVU=$(val path)
say define lvu "$OVU" persistent none 10.0.2.15 uefi
tap_check "a UEFI domain is defined with the OVMF the host lists" \
  test "$(val rc)" = 0 -a -n "$(virsh -c "$LOCAL" dumpxml lvu | grep -E "<loader .*type=.pflash.*>$(sed -n 's|.*<value>\(/.*OVMF_CODE[^<]*\)</value>.*|\1|p' <<<"$(virsh -c "$LOCAL" domcapabilities --virttype qemu)" | head -1)<")"
tap_check "  its NVRAM path is libvirt's choice (nvram_dir), the XML vmcloak gave names none" \
  test -n "$(virsh -c "$LOCAL" dumpxml lvu | grep -E '<nvram template=.*OVMF_VARS[^ ]*>/var/lib/libvirt/qemu/nvram/lvu_VARS.fd</nvram>')"
say start
tap_check "  and starts" rc0
tap_check "  libvirt made that NVRAM from the template" test -s /var/lib/libvirt/qemu/nvram/lvu_VARS.fd
mark_err
say snapshot s1
tap_check "  a snapshot of it: -EOPNOTSUPP" test "$(val rc)" = -95
tap_check "  one line naming libvirt's limit for UEFI" \
  test "$(errs | grep -c 'libvirt 9.0.0 takes no internal snapshot of a UEFI (pflash) domain')" = 1 -a "$(errs | wc -l)" = 1
say free
tap_check "  free undefines it with its NVRAM" \
  test -z "$(virsh -c "$LOCAL" list --all --name | grep .)" -a -z "$(ls -A /var/lib/libvirt/qemu/nvram 2>/dev/null)"
say define lvs "$OVU" persistent none 10.0.2.15 uefi-sb
say start
tap_check "a Secure Boot domain starts on OVMF's secboot build with Microsoft's keys" \
  test "$(val rc)" = 0 -a -n "$(virsh -c "$LOCAL" dumpxml lvs | grep -E "<loader .*secure=.yes.*OVMF_CODE[^<]*secboot")" \
       -a -n "$(virsh -c "$LOCAL" dumpxml lvs | grep -E "<nvram template=.[^ ]*OVMF_VARS[^ ]*\.ms\.fd")"
say free
say voldelete ovu.qcow2
say voldelete base.qcow2
say close

# ---- remote daemon ----
say open "$REMOTE"
tap_check "connect to $REMOTE" rc0
echo "# figure: connect $REMOTE $(val ms) ms"
say hostinfo
tap_check "  it is not local" test "$(val local)" = 0
say upload "$IMG" rbase.qcow2
tap_check "upload to the remote host" test "$(val rc)" = 0 -a "$(val uploaded)" = 1
echo "# figure: upload $(stat -c %s "$IMG") bytes to $REMOTE $(val ms) ms"
RBASE=$(val path)
tap_check "  the volume is in the remote daemon's pool only" \
  test -n "$(virsh -c "$REMOTE" vol-list vmcloak | grep -w rbase.qcow2)" -a ! -e "$RBASE"
say overlay rov.qcow2 "$RBASE"
tap_check "an overlay volume there" rc0
ROV=$(val path)
mark_err
say define rv1 "$ROV" transient user 10.0.2.15
tap_check "user-mode networking on a remote host is refused" test "$(val rc)" = -22
tap_check "  in one line that says to use a bridged image" \
  test "$(errs | grep -c 'use a bridged image')" = 1 -a "$(errs | wc -l)" = 1
ip link add br-lv type bridge && ip addr add 10.0.2.2/24 dev br-lv && ip link set br-lv up
say define rv1 "$ROV" transient bridge:br-lv 10.0.2.15
tap_check "a transient bridged domain" rc0
say start noreboot
tap_check "  starts on the remote host (a reboot ends the run)" rc0
echo "# figure: start $REMOTE $(val ms) ms"
tap_check "  transient there" \
  test -n "$(virsh -c "$REMOTE" list --name | grep -x rv1)" -a -z "$(virsh -c "$REMOTE" list --all --persistent --name | grep .)"
say endpoint 0
tap_check "  its agent endpoint is the guest's own address" test "$(val host)" = 10.0.2.15 -a "$(val port)" = 8000
ok=1; for _ in $(seq 1 600); do curl -s -o /dev/null --max-time 2 http://10.0.2.15:8000/ && { ok=0; break; }; sleep 0.2; done
tap_check "  the agent answers at 10.0.2.15:8000 over the bridge" test "$ok" = 0
say snapshot rs1
tap_check "  a snapshot of a transient domain works too" rc0
echo "# figure: snapshot $REMOTE $(val ms) ms"
say keep
tap_check "  keep on a transient domain: -EINVAL" test "$(val rc)" = -22
curl -s -o /dev/null --max-time 10 --data-urlencode "command=(sleep 1; reboot) >/dev/null 2>&1 &" http://10.0.2.15:8000/execute
say event 180000
tap_check "a guest reboot under reboot_powers_off: REBOOT" test "$(val rc)" = 0 -a "$(val event)" = reboot
say event 60000
tap_check "  then POWEROFF" test "$(val rc)" = 0 -a "$(val event)" = poweroff
say state
tap_check "  and the domain is off (gone: transient)" test "$(val state)" = off -a -z "$(virsh -c "$REMOTE" list --all --name | grep .)"
say start
tap_check "a transient domain starts again after its run ended" rc0
say shutdown 2000
tap_check "shutdown: switched off once the grace ran out, or the guest went down" test "$(val rc)" = 0
say event 0
tap_check "  the run ended (POWEROFF or DIED)" grep -qE '^(poweroff|died)$' <<<"$(val event)"
say state
tap_check "  state: off (the transient domain is gone)" test "$(val state)" = off -a -z "$(virsh -c "$REMOTE" list --all --name | grep .)"
say free
say voldelete rov.qcow2
say voldelete rbase.qcow2
say vollist
tap_check "the remote pool is empty again" test "$(val rc)" = 0 -a -z "$(val volumes)"
say close

# ---- bad URIs ----
mark_err
say open notauri
tap_check "a string that is no URI: -EINVAL, one line" test "$(val rc)" = -22 -a "$(errs | wc -l)" = 1
mark_err
say open qemu+tcp://127.0.0.1:1/system
tap_check "a host where no libvirtd listens: one line naming the URI and libvirt's reason" \
  test "$(val rc)" = -111 -a "$(errs | grep -c 'libvirt at qemu+tcp://127.0.0.1:1/system: cannot connect: .*Connection refused')" = 1 -a "$(errs | wc -l)" = 1
echo quit >&"${D[1]}"
wait "$D_PID" 2>/dev/null

qemus=""; for p in $(cat "$T"/lv-*/run/qemu/*.pid 2>/dev/null); do kill -0 "$p" 2>/dev/null && qemus="$qemus $p"; done
lv_stop_all
tap_check "no QEMU was left running by the driver" test -z "$qemus"
left=""; for p in $(cat "$T"/lv-*/*.pid 2>/dev/null); do kill -0 "$p" 2>/dev/null && left="$left $p"; done
tap_check "the daemons are gone" test -z "$left"
echo "# --- driver log ---"; sed 's/^/# /' "$T/drv.err" | grep -v '^# uploading.*%' | tail -40
tap_done
EOF
ip netns exec "$ns" unshare -m bash "$tmp/inside.sh"
