#!/usr/bin/env bash
# End-to-end: a guest on a bridge through the real qemu-bridge-helper, run by a user who is not
# root, inside a network namespace this test creates. The seed's mandatory steps are done by
# `vmcloak bridge --setup-helper` against the helper's compiled-in paths; a private mount
# namespace gives it a private /etc (overlay), a private copy of the helper and a /dev/net/tun
# node that users may open, so the host's /etc, helper and devices stay untouched.
# Guest: the Debian test kernel + a BusyBox initramfs with a static IP and httpd.
# LEAD: once the built-in linux guest exists, boot it here instead (vmcloak init --linux ...
# br-test) and wait for its agent at 192.168.30.15:8000; the namespace/mount set-up stays.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
SRC=${VMCLOAK_SOURCE_ROOT:?}
HELPER=/usr/lib/qemu/qemu-bridge-helper
GUEST_IP=192.168.30.15

skip_all() { tap_skip "guest on a bridge" "$1"; tap_done; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64"
[ -x "$HELPER" ] || skip_all "no $HELPER"
[ "$(strings -a "$HELPER" | grep -m1 '^/.*/bridge\.conf$')" = /etc/qemu/bridge.conf ] || skip_all "helper ACL is not /etc/qemu/bridge.conf"
grep -qw overlay /proc/filesystems || skip_all "no overlayfs"
[ -x /bin/busybox ] || skip_all "no /bin/busybox (busybox-static)"
kdir=$("$SRC/tests/fixtures/debian-kernel.sh") || skip_all "no Debian kernel (tests/fixtures/debian-kernel.sh)"

tmp=$(mktemp -d /tmp/vmcloak-brboot.XXXXXX)
chmod 0755 "$tmp"
ns=vmcloak-brboot-$$
cleanup() {
  [ -s "$tmp/qemu.pid" ] && kill "$(cat "$tmp/qemu.pid")" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- the guest: kernel + initramfs (rtl8139 needs 8139cp, which needs mii) ---
mkdir -p "$tmp/initrd/bin" "$tmp/initrd/proc" "$tmp/initrd/sys" "$tmp/initrd/dev" "$tmp/initrd/www"
cp /bin/busybox "$tmp/initrd/bin/busybox"
for m in mii 8139cp; do
  cp "$(find "$kdir/lib/modules" -name "$m.ko" | head -1)" "$tmp/initrd/$m.ko" || skip_all "kernel module $m.ko missing"
done
cat > "$tmp/initrd/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
insmod /mii.ko; insmod /8139cp.ko
ip link set lo up; ip link set eth0 up; ip addr add $GUEST_IP/24 dev eth0
echo vmcloak-bridge-ok > /www/index.html
httpd -p 8000 -h /www
echo GUEST-READY
while :; do sleep 3600; done
EOF
chmod 0755 "$tmp/initrd/init"
(cd "$tmp/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$tmp/initrd.gz"
cp "$(ls "$kdir"/boot/vmlinuz-* | head -1)" "$tmp/vmlinuz"
mkdir -m 0777 "$tmp/run"

host_etc=$(ls -la /etc/qemu 2>&1; cat /etc/qemu/bridge.conf 2>&1)
host_mode=$(stat -c %a "$HELPER")
ip netns add "$ns" || skip_all "cannot create a network namespace"

# --- inside the namespaces ---
cat > "$tmp/inside.sh" <<EOF
set -u
T=$tmp; VM=$VM; HELPER=$HELPER
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
mkdir -p \$T/etc-up \$T/etc-work \$T/helper
mount -t overlay overlay -o lowerdir=/etc,upperdir=\$T/etc-up,workdir=\$T/etc-work /etc || exit 10
cp \$HELPER \$T/helper/qemu-bridge-helper && chmod 0755 \$T/helper/qemu-bridge-helper
mount --bind \$T/helper/qemu-bridge-helper \$HELPER || exit 11
echo "== bridge"; \$VM bridge br-test 192.168.30.1/24 2>&1
echo "== doctor-before"; \$NOBODY \$VM doctor --bridge br-test --json 2>/dev/null > \$T/run/doctor-before.json
echo "== qemu-before"
\$NOBODY qemu-system-x86_64 -accel tcg -M pc -m 128 -nodefaults -display none -kernel \$T/vmlinuz -initrd \$T/initrd.gz \
  -append "console=ttyS0" -netdev bridge,id=n0,br=br-test -device rtl8139,netdev=n0 -serial null 2>&1 | head -3
echo "== setup"; \$VM bridge --setup-helper br-test 192.168.30.1/24 2>&1
echo "== acl"; cat /etc/qemu/bridge.conf
echo "== mode"; stat -c %a \$HELPER
echo "== qemu-tun"
if [ "\$(stat -c %a /dev/net/tun)" != 666 ]; then
  \$NOBODY \$VM doctor --bridge br-test --json 2>/dev/null > \$T/run/doctor-tun.json
  \$NOBODY qemu-system-x86_64 -accel tcg -M pc -m 64 -nodefaults -display none \
    -netdev bridge,id=n0,br=br-test -device rtl8139,netdev=n0 2>&1 | head -3
else
  echo "tun-already-open"
fi
mknod \$T/tun c 10 200 && chmod 0666 \$T/tun && mount --bind \$T/tun /dev/net/tun || exit 12
echo "== doctor-after"; \$NOBODY \$VM doctor --bridge br-test --json 2>/dev/null > \$T/run/doctor-after.json
echo "== boot"
start=\$(date +%s%N)
\$NOBODY qemu-system-x86_64 -accel tcg -M pc -m 128 -nodefaults -display none -kernel \$T/vmlinuz -initrd \$T/initrd.gz \
  -append "console=ttyS0,115200" -netdev bridge,id=n0,br=br-test -device rtl8139,netdev=n0 \
  -serial file:\$T/run/serial.log -pidfile \$T/run/qemu.pid -daemonize 2>&1
cp \$T/run/qemu.pid \$T/qemu.pid 2>/dev/null
ans=
for i in \$(seq 1 120); do
  # A real HTTP reply, not just a connect (BusyBox's static wget crashes on this host).
  ans=\$(timeout 3 bash -c 'exec 3<>/dev/tcp/$GUEST_IP/8000 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3' 2>/dev/null | tail -1)
  [ "\$ans" = vmcloak-bridge-ok ] && break
  sleep 1
done
end=\$(date +%s%N)
echo "answer=\$ans"
echo "ms=\$(( (end - start) / 1000000 ))"
echo "== ports"; ip -o link show master br-test
echo "== qemu-user"; ps -o user= -p \$(cat \$T/run/qemu.pid)
kill \$(cat \$T/run/qemu.pid)
EOF
out=$(ip netns exec "$ns" unshare -m bash "$tmp/inside.sh" 2>&1); rc=$?
sect() { awk -v s="== $1" '$0==s{p=1;next} /^== /{p=0} p' <<<"$out"; }
json_status() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(c["id"]+"="+c["status"] for c in d["checks"] if c["id"] in ("bridge-exists","bridge-up","bridge-address","tun","helper-found","helper-setuid","acl")))' "$1" 2>/dev/null; }

tap_check "namespace set-up (private /etc, helper copy, tun node)" test "$rc" -lt 10 -o "$rc" -gt 12
tap_check "vmcloak bridge created br-test in the namespace" grep -qF 'created bridge br-test (STP off)' <<<"$(sect bridge)"
before=$(json_status "$tmp/run/doctor-before.json")
tap_check "doctor (as a user) flags the helper before set-up" \
  test -n "$(grep -o 'helper-setuid=fail' <<<"$before")" -a -n "$(grep -o 'acl=fail' <<<"$before")"
tap_check "QEMU as a user fails before set-up, as doctor said" grep -qiE 'acl|tun|bridge helper' <<<"$(sect qemu-before)"
tap_check "--setup-helper created the ACL at the compiled-in path" grep -qF 'created /etc/qemu/bridge.conf' <<<"$(sect setup)"
tap_check "--setup-helper set the setuid bit" grep -qF "set the setuid bit on $HELPER" <<<"$(sect setup)"
tap_check "ACL holds 'allow br-test'" test "$(sect acl)" = "allow br-test"
tap_check "helper is mode 4755" test "$(sect mode)" = 4755
if [ "$(sect qemu-tun)" = tun-already-open ]; then
  tap_skip "a /dev/net/tun users cannot open: doctor and QEMU agree" "this host's /dev/net/tun is 0666"
else
  tap_check "a /dev/net/tun users cannot open: doctor flags it" grep -q 'tun=fail' <<<"$(json_status "$tmp/run/doctor-tun.json")"
  tap_check "a /dev/net/tun users cannot open: QEMU fails as doctor said" grep -qF 'failed to open /dev/net/tun' <<<"$(sect qemu-tun)"
fi
after=$(json_status "$tmp/run/doctor-after.json")
tap_check "doctor (as a user) passes every bridge check after set-up" \
  test -n "$after" -a -z "$(grep -oE '=(fail|warn|skip)' <<<"$after")"
ans=$(grep '^answer=' <<<"$out" | cut -d= -f2-)
ms=$(grep '^ms=' <<<"$out" | cut -d= -f2)
tap_check "the guest answers at $GUEST_IP:8000 over the bridge (from inside the namespace)" test "$ans" = vmcloak-bridge-ok
echo "# guest answered ${ms:-?} ms after QEMU started"
tap_check "QEMU's tap is a port of br-test" grep -q 'master br-test' <<<"$(sect ports)"
tap_check "QEMU ran as a user, not root" test "$(sect qemu-user | tr -d ' ')" = nobody
tap_check "the host's /etc/qemu is unchanged" test "$(ls -la /etc/qemu 2>&1; cat /etc/qemu/bridge.conf 2>&1)" = "$host_etc"
tap_check "the host's helper mode is unchanged" test "$(stat -c %a "$HELPER")" = "$host_mode"
if [ "$ans" != vmcloak-bridge-ok ]; then
  echo "# --- inside output ---"; sed 's/^/# /' <<<"$out"
  echo "# --- serial ---"; sed 's/^/# /' "$tmp/run/serial.log" 2>/dev/null | tail -30
fi
tap_done
