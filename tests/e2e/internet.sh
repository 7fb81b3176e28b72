#!/usr/bin/env bash
# End-to-end: `vmcloak internet on|off|status` and `vmcloak cleanup IMAGE` in three network
# namespaces this test creates (guest -- router -- "internet", 10.77.x.x only inside them):
# the rules appear in table ip vmcloak, the guest's TCP connection is forwarded and the
# "internet" sees the router's address (masqueraded), `on` twice is one rule set, `off` and
# `cleanup` remove everything and traffic stops, other tables stay as they were, IP forwarding
# goes back to what it was, and non-root runs are refused. Needs root; never touches the host's
# network.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
tmp=$(mktemp -d /tmp/vmcloak-internet.XXXXXX)
G=vmci-g-$$ R=vmci-r-$$ I=vmci-i-$$
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
  ip netns del "$G" 2>/dev/null; ip netns del "$R" 2>/dev/null; ip netns del "$I" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
export VMCLOAK_HOME=$tmp/home

if [ "$(id -u)" != 0 ] || ! ip netns add "$G" 2>/dev/null; then
  echo "1..0 # SKIP needs root to create network namespaces (CI runs as root)"; exit 0
fi
if ! command -v nft >/dev/null || ! command -v python3 >/dev/null; then
  echo "1..0 # SKIP needs nft (Debian package nftables) and python3"; exit 0
fi
ip netns add "$R"; ip netns add "$I"
if ! ip netns exec "$R" nft -c -f - <<<'table ip t { chain p { type nat hook postrouting priority srcnat; masquerade; }; }' 2>/dev/null; then
  echo "1..0 # SKIP the kernel lacks nf_tables with NAT and masquerade (modprobe -a nf_tables nft_chain_nat nft_masq)"; exit 0
fi
inG() { ip netns exec "$G" "$@"; }
inR() { ip netns exec "$R" "$@"; }
inI() { ip netns exec "$I" "$@"; }
# guest g0 10.77.1.2 (and .3) -- r0 10.77.1.1 | router | r1 10.77.2.1 -- i0 10.77.2.2 "internet"
ip link add g0 netns "$G" type veth peer name r0 netns "$R"
ip link add r1 netns "$R" type veth peer name i0 netns "$I"
for ns in "$G" "$R" "$I"; do ip netns exec "$ns" ip link set lo up; done
inG ip addr add 10.77.1.2/24 dev g0; inG ip addr add 10.77.1.3/24 dev g0; inG ip link set g0 up
inG ip route add default via 10.77.1.1
inR ip addr add 10.77.1.1/24 dev r0; inR ip link set r0 up
inR ip addr add 10.77.2.1/24 dev r1; inR ip link set r1 up
inI ip addr add 10.77.2.2/24 dev i0; inI ip link set i0 up   # no route back to 10.77.1.0/24
inR sysctl -qw net.ipv4.ip_forward=0

# The "internet": a TCP server that answers each connection with the address it came from.
cat > "$tmp/srv.py" <<'EOF'
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.2.2", 8080)); s.listen(8)
while True:
    c, a = s.accept(); c.sendall((a[0] + "\n").encode()); c.close()
EOF
ip netns exec "$I" python3 "$tmp/srv.py" >/dev/null 2>&1 </dev/null & srv_pid=$!   # ip netns exec execs python3: $! is the server
# What the server saw as our source, from guest address $1 ("" when no connection).
probe() {
  inG python3 -c '
import socket, sys
try:
    s = socket.create_connection(("10.77.2.2", 8080), timeout=3, source_address=(sys.argv[1], 0))
    print(s.recv(64).decode().strip())
except OSError:
    pass' "$1"
}
for _i in $(seq 1 50); do inI python3 -c 'import socket; socket.create_connection(("10.77.2.2", 8080), 1)' 2>/dev/null && break; sleep 0.1; done

# Another firewall's table in the router: vmcloak must leave it as it is.
inR nft add table ip other
inR nft add chain ip other input '{ type filter hook input priority 0; policy accept; }'
inR nft add rule ip other input tcp dport 9 counter
other0=$(inR nft list table ip other)

tap_check "without rules the guest does not get through" test -z "$(probe 10.77.1.2)"

# --- on ---
out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "on exits 0" test "$rc" = 0
tap_check "on says it switched forwarding on" grep -qF 'switched IP forwarding on' <<<"$out"
tap_check "... and warns, in one line, that the host now routes for every guest on the bridge" \
  test "$(grep -c 'IP forwarding is on now: the host routes for every guest on that bridge, not only 10.77.1.2' <<<"$out")" = 1
tab=$(inR nft list table ip vmcloak 2>&1)
tap_check "table ip vmcloak holds the guest through r1, asked for by the bare address" grep -qF 'elements = { 10.77.1.2 . "r1" comment "10.77.1.2" }' <<<"$tab"
tap_check "it masquerades" grep -qF 'ip saddr . oifname @out masquerade' <<<"$tab"
tap_check "it forwards the guest's traffic" grep -qF 'ip saddr . oifname @out accept' <<<"$tab"
tap_check "it forwards the replies" grep -qF 'ct state established,related ip daddr . iifname @out accept' <<<"$tab"
tap_check "it records that vmcloak switched forwarding on" grep -qF 'chain ip_forward_was_off' <<<"$tab"
tap_check "IP forwarding is on" test "$(inR sysctl -n net.ipv4.ip_forward)" = 1
tap_check "the internet sees the router's address (masqueraded)" test "$(probe 10.77.1.2)" = 10.77.2.1
tap_check "another guest address does not get through" test -z "$(probe 10.77.1.3)"

out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "on twice exits 0 and says nothing to do" test "$rc" = 0 -a -n "$(grep -F 'already has internet via r1; nothing to do' <<<"$out")"
tap_check "on twice is one rule set" test "$(inR nft list table ip vmcloak)" = "$tab"
out=$(inR "$VM" internet status 10.77.1.2 2>&1)
tap_check "status names the interface" grep -qF '10.77.1.2 has internet via r1' <<<"$out"
out=$(inR "$VM" --json internet status 10.77.1.2 2>/dev/null)
tap_check "status --json" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d=={"address":"10.77.1.2","internet":True,"via":["r1"],"for":["10.77.1.2"],"table":True,"ip_forward":True}, d' "$out"

# A second guest, through two interfaces (VMCloak's IFACE...).
inR "$VM" internet on 10.77.1.3 --via r1 --via lo >/dev/null 2>&1
tap_check "a second guest through two interfaces" \
  test "$(inR nft list set ip vmcloak out | grep -o '10.77.1.3 \. "[a-z0-9]*"' | sort | tr '\n' ' ')" = '10.77.1.3 . "lo" 10.77.1.3 . "r1" '
tap_check "the second guest gets through" test "$(probe 10.77.1.3)" = 10.77.2.1

# --- off ---
out=$(inR "$VM" internet off 10.77.1.2 2>&1); rc=$?
tap_check "off of one guest exits 0" test "$rc" = 0 -a -n "$(grep -F 'removed the internet rules for 10.77.1.2' <<<"$out")"
tap_check "... its traffic stops" test -z "$(probe 10.77.1.2)"
tap_check "... the other guest keeps its internet" test "$(probe 10.77.1.3)" = 10.77.2.1
tap_check "... and IP forwarding stays on for it" test "$(inR sysctl -n net.ipv4.ip_forward)" = 1
out=$(inR "$VM" internet off 10.77.1.2 2>&1); rc=$?
tap_check "off when off exits 0 and says nothing to do" test "$rc" = 0 -a -n "$(grep -F 'nothing to do' <<<"$out")"
inR "$VM" internet off 10.77.1.3 >/dev/null 2>&1
tap_check "off of the last guest removes table ip vmcloak" bash -c "! ip netns exec $R nft list table ip vmcloak >/dev/null 2>&1"
tap_check "... and switches forwarding back off" test "$(inR sysctl -n net.ipv4.ip_forward)" = 0
tap_check "... and traffic stops" test -z "$(probe 10.77.1.3)"
tap_check "the other table is untouched" test "$(inR nft list table ip other)" = "$other0"
out=$(inR "$VM" internet off 10.77.1.3 2>&1); rc=$?
tap_check "off without a table exits 0" test "$rc" = 0 -a -n "$(grep -F 'nothing to do' <<<"$out")"

# Concurrent runs: one rule set with every guest, and the last off removes the table.
pids=(); for n in 11 12 13 14 15 16; do inR "$VM" internet on 10.77.1.$n --via r1 >/dev/null 2>&1 & pids+=($!); done
rcs=0; for p in "${pids[@]}"; do wait "$p" || rcs=1; done
tab=$(inR nft list table ip vmcloak 2>&1)
tap_check "six concurrent on: all exit 0" test "$rcs" = 0
tap_check "... one rule set" test "$(grep -c masquerade <<<"$tab")" = 1 -a "$(grep -c 'chain ' <<<"$tab")" = 3 -a "$(grep -c '@out accept' <<<"$tab")" = 2
tap_check "... with all six guests" test "$(inR nft list set ip vmcloak out | grep -o '10\.77\.1\.1[1-6] \. "r1"' | sort -u | wc -l)" = 6
pids=(); for n in 11 12 13 14 15 16; do inR "$VM" internet off 10.77.1.$n >/dev/null 2>&1 & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
tap_check "six concurrent off: the table is gone and forwarding is off" \
  bash -c "! ip netns exec $R nft list table ip vmcloak >/dev/null 2>&1 && test \$(ip netns exec $R sysctl -n net.ipv4.ip_forward) = 0"

# Forwarding that was on before stays on.
inR sysctl -qw net.ipv4.ip_forward=1
inR "$VM" internet on 10.77.1.2 --via r1 >/dev/null 2>&1; inR "$VM" internet off 10.77.1.2 >/dev/null 2>&1
tap_check "forwarding that was on stays on after off" test "$(inR sysctl -n net.ipv4.ip_forward)" = 1
inR sysctl -qw net.ipv4.ip_forward=0

# VMCloak's vmcloak-iptables do|undo VM_IP IFACE... (this binary by that name): internet on|off.
IPT=$(dirname "$VM")/vmcloak-iptables
inR "$IPT" do 10.77.1.2 r1 >/dev/null 2>&1
tap_check "vmcloak-iptables do IP IFACE: the guest gets through IFACE" test "$(probe 10.77.1.2)" = 10.77.2.1
inR "$IPT" undo 10.77.1.2 r1 >/dev/null 2>&1
tap_check "vmcloak-iptables undo IP IFACE: the guest's traffic stops" test -z "$(probe 10.77.1.2)"
tap_check "... and table ip vmcloak is gone" bash -c "! ip netns exec $R nft list table ip vmcloak >/dev/null 2>&1"

# Another table that drops forwarded packets by default: vmcloak warns and leaves it alone.
# doctor's nftables check: a rolled-back transaction that leaves nothing.
nft_status() { python3 -c 'import json,sys; print([c for c in json.load(sys.stdin)["checks"] if c["id"]==sys.argv[1]][0]["status"])' "$1"; }
tap_check "doctor as root: the kernel takes vmcloak's table" test "$(inR "$VM" --json doctor 2>/dev/null | nft_status nftables)" = ok
tap_check "... and its check left no table" bash -c "! ip netns exec $R nft list table ip vmcloak >/dev/null 2>&1"
tap_check "doctor as nobody skips the nftables check" \
  test "$(inR setpriv --reuid=65534 --regid=65534 --clear-groups "$VM" --json doctor 2>/dev/null | nft_status nftables)" = skip
tap_check "doctor names libudfread" test "$(inR "$VM" --json doctor 2>/dev/null | nft_status libudfread)" = ok
inR nft add chain ip other fwdrop '{ type filter hook forward priority 0; policy drop; }'
tap_check "doctor warns about another table's forward drop" test "$(inR "$VM" --json doctor 2>/dev/null | nft_status nftables)" = warn
doc=$(inR "$VM" --json doctor 2>/dev/null)
tap_check "... naming the chain and the nft command that allows a guest" python3 -c '
import json,sys; c=[c for c in json.loads(sys.argv[1])["checks"] if c["id"]=="nftables"][0]
assert "ip other fwdrop (policy drop)" in c["detail"] and "nft insert rule ip other fwdrop ip saddr GUEST_IP accept" in c["fix"], c' "$doc"
out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "on refuses when another table drops forwarded packets: exit 1, one line" test "$rc" = 1 -a "$(grep -c . <<<"$out")" = 1
tap_check "... naming the chain" grep -qF 'ip other fwdrop (policy drop) drops 10.77.1.2' <<<"$out"
tap_check "... having changed nothing (no table, forwarding off)" \
  bash -c "! ip netns exec $R nft list table ip vmcloak >/dev/null 2>&1 && test \$(ip netns exec $R sysctl -n net.ipv4.ip_forward) = 0"
out=$(inR "$VM" internet on 10.77.1.2 --via r1 --force 2>&1); rc=$?
tap_check "--force goes on, with a warning" test "$rc" = 0 -a -n "$(grep -F -- '--force: ip other fwdrop (policy drop) still drops 10.77.1.2' <<<"$out")"
tap_check "... and the chain indeed blocks the guest" test -z "$(probe 10.77.1.2)"
inR "$VM" internet off 10.77.1.2 >/dev/null 2>&1
out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1)
fix=$(sed -n 's/.*allow the guest there first (\(.*\)), or give --force.*/\1/p' <<<"$out")
tap_check "the refusal gives nft insert rule commands" grep -qF 'nft insert rule ip other fwdrop ip saddr 10.77.1.2 accept && nft insert rule ip other fwdrop ip daddr 10.77.1.2 ct state established,related accept' <<<"$fix"
inR bash -c "$fix"
out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "after running them, on goes through without --force" test "$rc" = 0 -a -z "$(grep -F 'drops' <<<"$out")"
tap_check "... and the guest gets through" test "$(probe 10.77.1.2)" = 10.77.2.1
inR "$VM" internet off 10.77.1.2 >/dev/null 2>&1
inR nft delete chain ip other fwdrop
# iptables-nft's FORWARD with policy DROP and Docker's DOCKER-USER, made with nft as they look.
inR nft -f - <<'EOF'
table ip filter {
  chain DOCKER-USER { }
  chain FORWARD { type filter hook forward priority filter; policy drop; jump DOCKER-USER; }
}
EOF
out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "iptables' FORWARD policy drop: refused with the DOCKER-USER iptables commands" test "$rc" = 1 -a \
  -n "$(grep -F 'ip filter FORWARD (policy drop) drops 10.77.1.2' <<<"$out" | grep -F 'iptables -I DOCKER-USER -s 10.77.1.2 -j ACCEPT && iptables -I DOCKER-USER -d 10.77.1.2 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')"
# What those iptables commands make (iptables-nft writes them as native nft rules).
inR nft insert rule ip filter DOCKER-USER ip saddr 10.77.1.2 counter accept
inR nft insert rule ip filter DOCKER-USER ip daddr 10.77.1.2 ct state established,related counter accept
out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "... once DOCKER-USER accepts the guest, on goes through" test "$rc" = 0 -a "$(probe 10.77.1.2)" = 10.77.2.1
inR "$VM" internet off 10.77.1.2 >/dev/null 2>&1
inR nft delete table ip filter
# firewalld: policy accept, but the chain ends in a reject.
inR nft -f - <<'EOF'
table inet fwall {
  chain filter_FORWARD { type filter hook forward priority filter + 10; policy accept; ct state established,related accept; reject with icmpx admin-prohibited; }
}
EOF
out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "a forward chain ending in reject (firewalld) is refused too" test "$rc" = 1 -a -n "$(grep -F 'inet fwall filter_FORWARD (ends in reject)' <<<"$out")"
tap_check "... and doctor warns about it" test "$(inR "$VM" --json doctor 2>/dev/null | nft_status nftables)" = warn
inR nft delete table inet fwall
if command -v iptables-legacy >/dev/null; then
  inR iptables-legacy -P FORWARD DROP
  out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
  tap_check "iptables-legacy's FORWARD policy DROP is refused, one line" test "$rc" = 1 -a "$(grep -c . <<<"$out")" = 1 -a \
    -n "$(grep -F 'iptables-legacy filter FORWARD (policy DROP) drops 10.77.1.2' <<<"$out" | grep -F 'iptables-legacy -I FORWARD -s 10.77.1.2 -j ACCEPT')"
  tap_check "... having changed nothing" bash -c "! ip netns exec $R nft list table ip vmcloak >/dev/null 2>&1"
  fix=$(sed -n 's/.*allow the guest there first (\(.*\)), or give --force.*/\1/p' <<<"$out")
  inR bash -c "$fix"
  out=$(inR "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
  tap_check "... after its commands, on goes through and the guest gets through" test "$rc" = 0 -a "$(probe 10.77.1.2)" = 10.77.2.1
  inR "$VM" internet off 10.77.1.2 >/dev/null 2>&1
  inR iptables-legacy -F FORWARD; inR iptables-legacy -P FORWARD ACCEPT
else
  tap_skip "iptables-legacy's FORWARD policy DROP" "no iptables-legacy here (Debian package iptables)"
fi

# IP forwarding: a table that forwards or NATs appearing after on keeps it on at the last off;
# one that was there before does not.
inR nft add table ip before
inR nft add chain ip before post '{ type nat hook postrouting priority srcnat; policy accept; }'
inR "$VM" internet on 10.77.1.2 --via r1 >/dev/null 2>&1
tap_check "on records the tables that NAT then" bash -c "ip netns exec $R nft list table ip vmcloak | grep -qF 'chain then_ip_before'"
out=$(inR "$VM" internet off 10.77.1.2 2>&1)
tap_check "a table there before on does not keep forwarding on" test "$(inR sysctl -n net.ipv4.ip_forward)" = 0 -a -n "$(grep -F 'IP forwarding is off again' <<<"$out")"
inR "$VM" internet on 10.77.1.2 --via r1 >/dev/null 2>&1
inR nft add table ip dock
inR nft add chain ip dock post '{ type nat hook postrouting priority srcnat; policy accept; }'
out=$(inR "$VM" internet off 10.77.1.2 2>&1); rc=$?
tap_check "a NAT table that appeared since on keeps forwarding on" test "$rc" = 0 -a "$(inR sysctl -n net.ipv4.ip_forward)" = 1
tap_check "... said in one line naming it" test "$(grep -c 'IP forwarding stays on although vmcloak switched it on: ip dock appeared since' <<<"$out")" = 1
inR nft delete table ip dock; inR nft delete table ip before
inR sysctl -qw net.ipv4.ip_forward=0

# --- images from the repository, and cleanup IMAGE ---
"$VM" list images >/dev/null 2>&1
db=$VMCLOAK_HOME/repository.db
sqlite3 "$db" "INSERT INTO image (mode, vm, name, path, osversion, ipaddr, port, adapter, netmask, gateway, cpus, ramsize, netmode)
  VALUES ('normal', 'qemu', 'bimg', '$VMCLOAK_HOME/image/bimg.qcow2', 'linux', '10.77.1.2', 8000, 'br0', '255.255.255.0', '10.77.1.1', 1, 256, 'bridge'),
         ('normal', 'qemu', 'cimg', '$VMCLOAK_HOME/image/cimg.qcow2', 'linux', '10.77.1.2', 8000, 'br0', '255.255.255.0', '10.77.1.1', 1, 256, 'bridge'),
         ('normal', 'qemu', 'uimg', '$VMCLOAK_HOME/image/uimg.qcow2', 'linux', '10.0.2.15', 8000, 'lnet', '255.255.255.0', '10.0.2.2', 1, 256, 'user')"
out=$(inR "$VM" internet on bimg --via r1 2>&1); rc=$?
tap_check "on IMAGE uses the image's address" test "$rc" = 0 -a -n "$(grep -F '10.77.1.2 has internet via r1' <<<"$out")"
tap_check "... and the guest gets through" test "$(probe 10.77.1.2)" = 10.77.2.1
out=$(inR "$VM" cleanup bimg 2>&1); rc=$?
tap_check "cleanup IMAGE removes its internet rules" test "$rc" = 0 -a -n "$(grep -F 'removed the internet rules for 10.77.1.2 (image bimg)' <<<"$out")"
tap_check "... the table is gone" bash -c "! ip netns exec $R nft list table ip vmcloak >/dev/null 2>&1"
tap_check "... forwarding is off again and traffic stops" test "$(inR sysctl -n net.ipv4.ip_forward)" = 0 -a -z "$(probe 10.77.1.2)"
# Two images of one address: each asks for itself, cleanup of one leaves the other's internet.
inR "$VM" internet on bimg --via r1 >/dev/null 2>&1; inR "$VM" internet on cimg --via r1 >/dev/null 2>&1
tap_check "two images of one address are both recorded on the element" \
  bash -c "ip netns exec $R nft list set ip vmcloak out | grep -qF '10.77.1.2 . \"r1\" comment \"bimg cimg\"'"
out=$(inR "$VM" internet status 10.77.1.2 2>&1)
tap_check "status names who asked" grep -qF '10.77.1.2 has internet via r1 (for bimg, cimg)' <<<"$out"
out=$(inR "$VM" cleanup bimg 2>&1); rc=$?
tap_check "cleanup of one image says the address keeps the other's internet" \
  test "$rc" = 0 -a -n "$(grep -F 'removed the internet rules for 10.77.1.2 (image bimg); the address keeps the internet others asked for' <<<"$out")"
tap_check "... the other image's guest still gets through" test "$(probe 10.77.1.2)" = 10.77.2.1
tap_check "... and the element is the other image's alone" \
  bash -c "ip netns exec $R nft list set ip vmcloak out | grep -qF '10.77.1.2 . \"r1\" comment \"cimg\"'"
out=$(inR "$VM" internet off bimg 2>&1); rc=$?
tap_check "off of an image that no longer asks: nothing to do" test "$rc" = 0 -a -n "$(grep -F 'no internet from vmcloak for image bimg; nothing to do' <<<"$out")"
inR "$VM" internet on 10.77.1.2 --via r1 >/dev/null 2>&1
inR "$VM" internet off cimg >/dev/null 2>&1
tap_check "off IMAGE leaves what the bare address asked for" test "$(probe 10.77.1.2)" = 10.77.2.1
inR "$VM" internet on bimg --via r1 >/dev/null 2>&1
out=$(inR "$VM" internet off 10.77.1.2 2>&1)
tap_check "off IP removes every rule of the address, whoever asked" \
  bash -c "! ip netns exec $R nft list table ip vmcloak >/dev/null 2>&1 && test \$(ip netns exec $R sysctl -n net.ipv4.ip_forward) = 0"
out=$(inR "$VM" internet on uimg --via r1 2>&1); rc=$?
tap_check "a user-mode image is refused with one line" test "$rc" = 1 -a "$(grep -c . <<<"$out")" = 1
tap_check "... saying why (restrict=on)" grep -qF 'restrict=on' <<<"$out"
out=$(inR "$VM" internet on nosuch --via r1 2>&1); rc=$?
tap_check "an unknown image is refused" test "$rc" = 1 -a -n "$(grep -F 'no image named nosuch' <<<"$out")"

# --- refusals ---
out=$(inR setpriv --reuid=65534 --regid=65534 --clear-groups "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "non-root is refused with one line" test "$rc" = 1 -a "$(grep -c . <<<"$out")" = 1
tap_check "... naming CAP_NET_ADMIN and the command" grep -qF "which needs CAP_NET_ADMIN (root); run: sudo $VM internet on 10.77.1.2 --via r1" <<<"$out"
# nobody's own home for the run: -u refuses a home the user cannot write before anything else.
mkdir -p "$tmp/nobody-home" && chown 65534:65534 "$tmp/nobody-home" && chmod o+x "$tmp"
out=$(inR "$VM" -u nobody --home "$tmp/nobody-home" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "root with -u USER is refused with one line telling to leave -u out, no sudo" \
  test "$rc" = 1 -a "$(grep -c . <<<"$out")" = 1 -a -n "$(grep -F -- '-u/--user nobody gave root up before it: leave -u out' <<<"$out")" -a -z "$(grep -F sudo <<<"$out")"
out=$(inR setpriv --inh-caps=-all --bounding-set=-net_admin "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
tap_check "root without CAP_NET_ADMIN is refused with one line, no sudo" \
  test "$rc" = 1 -a "$(grep -c . <<<"$out")" = 1 -a -n "$(grep -F 'which this root lacks' <<<"$out")" -a -z "$(grep -F sudo <<<"$out")"
if unshare -U -r true 2>/dev/null; then
  out=$(inR unshare -U -r "$VM" internet on 10.77.1.2 --via r1 2>&1); rc=$?
  tap_check "root of an unprivileged user namespace is refused by the kernel, one line" \
    test "$rc" = 1 -a "$(grep -c . <<<"$out")" = 1 -a -n "$(grep -F 'not permitted' <<<"$out")"
else
  tap_skip "unprivileged user namespace" "unshare -U is not allowed here"
fi
tap_check "nothing was added by the refused runs" bash -c "! ip netns exec $R nft list table ip vmcloak >/dev/null 2>&1"
inR "$VM" internet on 10.77.1.2 2>/dev/null; tap_check "on without --via is a usage error" test $? = 2
inR "$VM" internet on 127.0.0.1 --via r1 2>/dev/null; tap_check "a loopback address is a usage error" test $? = 2
inR "$VM" internet on 10.77.1.2 --via 'bad/if' 2>/dev/null; tap_check "an invalid interface is a usage error" test $? = 2
out=$(inR "$VM" internet on 10.77.1.2 --via nosuch0 2>&1); rc=$?
tap_check "an interface that does not exist is a usage error, one line" test "$rc" = 2 -a "$(grep -c . <<<"$out")" = 1
tap_check "... pointing at ip route show default" grep -qF -- "--via nosuch0: no such interface on this host; the one to the internet is named after 'dev' in: ip route show default" <<<"$out"
inR "$VM" internet off 10.77.1.2 --force 2>/dev/null; tap_check "--force with off is a usage error" test $? = 2
inR "$VM" internet up 10.77.1.2 2>/dev/null; tap_check "an unknown action is a usage error" test $? = 2
tap_check "the other table is still untouched" test "$(inR nft list table ip other)" = "$other0"
tap_done
