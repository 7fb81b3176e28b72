#!/usr/bin/env bash
# Helper for the QEMU e2e tests: build a tiny counting guest (Debian kernel + a BusyBox
# initramfs whose init prints "tok=<random> n=<counter>" to the serial port every 0.5 s, or
# reboots or powers off when the kernel command line says vmcloak_test=reboot|poweroff)
# and write a VM config for it. Usage: source this file, then
#   guest_build DIR        -> DIR/vmlinuz, DIR/initrd.gz (return 1 if it cannot)
#   guest_conf DIR SERIAL  -> prints a key=value VM config (src/qemu/conffile.c) for it
#   guest_initrd INIT OUT [DIR] -> OUT: a gzip'ed BusyBox initramfs whose /init is the script
#                          INIT (plus DIR's tree when given)
#   guest_modules KDIR DIR NAME... -> DIR/lib/modules/NAME.ko for the kernel unpacked in KDIR
#                          (debian-kernel.sh) with their dependencies, and DIR/modules: the
#                          load order for `insmod` (return 1 if one is missing)
#   guest_counter PREFIX   -> prints the counting end of such an init script
guest_initrd() {
  local init=$1 out=$2 extra=${3:-} busybox root rc
  busybox=$(command -v busybox) || return 1
  file -L "$busybox" | grep -q 'statically linked' || return 1
  root=$(mktemp -d "${TMPDIR:-/tmp}/initramfs.XXXXXX") || return 1
  mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
  if [ -n "$extra" ]; then cp -a "$extra/." "$root/" || { rm -rf "$root"; return 1; }; fi
  cp "$busybox" "$root/bin/busybox" && cp "$init" "$root/init" && chmod +x "$root/init" &&
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 >"$out")
  rc=$?
  rm -rf "$root"
  return $rc
}

guest_modules() {
  local kdir=$1 dir=$2 m
  shift 2
  mkdir -p "$dir/lib/modules" && : >"$dir/modules" || return 1
  for m in "$@"; do _guest_module "$kdir" "$dir" "$m" || return 1; done
}
# One module after its dependencies (the .modinfo "depends=" list; dpkg -x leaves no modules.dep).
_guest_module() {
  local kdir=$1 dir=$2 name=${3//_/-} f dep
  grep -qx "$name" "$dir/modules" && return 0
  f=$(find "$kdir"/lib/modules/*/kernel \( -name "$name.ko" -o -name "${name//-/_}.ko" \) | head -n1)
  [ -n "$f" ] || return 1
  for dep in $(strings -a "$f" | sed -n 's/^depends=//p' | tr ',' ' '); do
    _guest_module "$kdir" "$dir" "$dep" || return 1
  done
  cp "$f" "$dir/lib/modules/$name.ko" && echo "$name" >>"$dir/modules"
}

guest_build() {
  local dir=$1 kdir
  kdir=$("$VMCLOAK_SOURCE_ROOT/tests/fixtures/debian-kernel.sh") || return 1
  cp "$(ls "$kdir"/boot/vmlinuz-* | head -n1)" "$dir/vmlinuz" || return 1
  { cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
# A token only this boot has: a restored guest shows the same one, a rebooted guest a new one.
tok=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
# vmcloak_test=reboot|poweroff on the kernel command line: do that after a moment.
case " $(cat /proc/cmdline) " in
*" vmcloak_test=reboot "*) echo "tok=$tok rebooting" >/dev/ttyS0; sleep 1; reboot -f ;;
*" vmcloak_test=poweroff "*) echo "tok=$tok powering off" >/dev/ttyS0; sleep 1; poweroff -f ;;
esac
EOF
    guest_counter ""; } >"$dir/init"
  guest_initrd "$dir/init" "$dir/initrd.gz"
}

# The end of an init script: "<PREFIX>tok=$tok n=<counter>" on the serial port every 0.5 s, for
# ever (a restored guest shows its token and counts on from where it was saved).
guest_counter() {
  cat <<EOF
i=0
while true; do
  echo "${1}tok=\$tok n=\$i" >/dev/ttyS0
  i=\$((i + 1))
  usleep 500000
done
EOF
}

guest_conf() {
  local dir=$1 serial=$2
  cat <<EOF
name=counter
version=$(qemu-system-x86_64 --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)
accel=tcg
cpus=1
ram_mb=256
net=user
user_net=10.0.2.0/24
disk=$dir/disk.qcow2
rtc=utc
serial=file
serial_path=$serial
extra_arg=-kernel
extra_arg=$dir/vmlinuz
extra_arg=-initrd
extra_arg=$dir/initrd.gz
extra_arg=-append
extra_arg=console=ttyS0 quiet panic=-1
EOF
}
