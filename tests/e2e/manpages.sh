#!/usr/bin/env bash
# The man pages and the bash/zsh completions the build generates (vmcloak __generate): every
# option each --help shows (parsed from --help, not from the tables, so drift shows) is in the
# command's page and in both completions; the pages lint clean (mandoc, groff -ww); bash and zsh
# really complete commands, options, values and repository names; meson install puts them where
# Debian looks. Arguments: the generated man1/, bash completions/ and zsh vendor-completions/.
source "$(dirname "$0")/tap.sh"
VM=${VMCLOAK_BIN:?}
MAN=${1:?man1 folder}
BASHC=${2:?bash completions folder}/vmcloak
ZSHC=${3:?zsh completions folder}/_vmcloak
tmp=$(mktemp -d /tmp/vmcloak-manpages.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMCLOAK_HOME=$tmp/nohome

# Options of a --help text: "--name" and "-x", one a line.
help_options() { grep -E '^  (-[a-zA-Z], |    )--[a-z0-9]' | sed -E 's/^  (-([a-zA-Z]), |    )--([a-z0-9-]+).*/--\3 -\2/' | tr ' ' '\n' | grep -v '^-$'; }
# The commands of vmcloak --help.
"$VM" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF && !/^Commands:/ {print $1}' >"$tmp/commands"
tap_check "vmcloak --help lists commands" test -s "$tmp/commands"

# A page as text, hyphens plain ASCII.
render() { groff -man -Tascii -P-cbou -rLL=400n -rHY=0 "$1" 2>/dev/null; }

# Bash: COMPREPLY for the words given (the last one the word being completed), one a line.
bcomp() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vmcloak; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$BASHC" "$@"
}

# --- (a) every option of each --help in its page and in both completions ---
"$VM" --help | help_options >"$tmp/opts-main"
missing=
for o in $(cat "$tmp/opts-main"); do
  render "$MAN/vmcloak.1" | grep -qwF -e "$o" || missing+=" man:$o"
  bcomp "$VM" "${o:0:2}" | grep -qxF -e "$o" || missing+=" bash:$o"
  sed -n '/^_vmcloak() {/,$p' "$ZSHC" | grep -qF -e "'$o" -e "'($o" -e ")$o" || missing+=" zsh:$o"
done
tap_check "every global option of vmcloak --help is in vmcloak.1 and both completions${missing:+ (missing:$missing)}" test -z "$missing"

missing=
n=0
while read -r c; do
  "$VM" "$c" --help >"$tmp/help-$c" 2>&1 || true
  if [ "$c" = help ]; then continue; fi
  page=$MAN/vmcloak-$c.1
  [ -f "$page" ] || { missing+=" page:$c"; continue; }
  render "$page" >"$tmp/page-$c"
  render "$MAN/vmcloak.1" | grep -qw -e "$c" || missing+=" vmcloak.1:$c"
  bcomp "$VM" "$c" - >"$tmp/bash-$c"
  sed -n "/^_vmcloak_cmd_$c() {/,/^}/p" "$ZSHC" >"$tmp/zsh-$c"
  for o in $(help_options <"$tmp/help-$c"); do
    n=$((n + 1))
    grep -qwF -e "$o" "$tmp/page-$c" || missing+=" man:$c:$o"
    grep -qxF -e "$o" "$tmp/bash-$c" || missing+=" bash:$c:$o"
    grep -qF -e "'$o" -e "'($o" -e ")$o" -e "'*$o" "$tmp/zsh-$c" || missing+=" zsh:$c:$o"
  done
  # The synopsis and every default --help shows.
  usage=$(sed -n '1s/^Usage: //p' "$tmp/help-$c")
  grep -qF -e "$usage" "$tmp/page-$c" || missing+=" synopsis:$c"
  for d in $(grep -o '\[default: [^]]*\]' "$tmp/help-$c" | sed 's/\[default: //; s/\]$//' | tr ' ' '\n' | grep -v '^$' | sort -u); do
    grep -qF -e "$d" "$tmp/page-$c" || missing+=" default:$c:$d"
  done
done <"$tmp/commands"
tap_check "every option of every command's --help ($n) is in its page and both completions${missing:+ (missing:$missing)}" test -z "$missing"
pages=$(ls "$MAN" | grep -c '^vmcloak-.*\.1$')
cmds=$(grep -vcx help "$tmp/commands")
tap_check "one page per command ($pages pages, $cmds commands)" test "$pages" = "$cmds"
bcomp "$VM" "" | sort >"$tmp/bash-cmds"
tap_check "bash completes every command" cmp -s <(sort "$tmp/commands") "$tmp/bash-cmds"
missing=
for c in $(cat "$tmp/commands"); do grep -q "^    '$c:" "$ZSHC" || missing+=" $c"; done
tap_check "zsh completes every command${missing:+ (missing:$missing)}" test -z "$missing"

# Every VMCLOAK_* variable the sources read is in vmcloak.1's ENVIRONMENT.
src=${VMCLOAK_SOURCE_ROOT:?}/src
envs=$(grep -rhoE 'getenv\("[A-Z_]+"\)|define [A-Z_]+_ENV "[A-Z_]+"' "$src" | grep -oE '"[A-Z_]+"' | tr -d '"' | sort -u)
render "$MAN/vmcloak.1" | sed -n '/^ENVIRONMENT/,/^FILES/p' >"$tmp/env"
missing=
for e in $envs; do grep -qw -e "$e" "$tmp/env" || missing+=" $e"; done
tap_check "every environment variable of src/ is in vmcloak.1 (ENVIRONMENT)${missing:+ (missing:$missing)}" test -z "$missing"
missing=
for s in SYNOPSIS DESCRIPTION COMMANDS 'GLOBAL OPTIONS' ENVIRONMENT FILES 'EXIT STATUS' 'SEE ALSO'; do
  render "$MAN/vmcloak.1" | grep -qx "$s" || missing+=" $s"
done
tap_check "vmcloak.1 has its sections${missing:+ (missing:$missing)}" test -z "$missing"

# --- (b) lint ---
if command -v mandoc >/dev/null; then
  out=$(for f in "$MAN"/*.1; do mandoc -Tlint -Wwarning "$f" 2>&1; done)
  tap_check "mandoc -Tlint: no warnings${out:+ ($(echo "$out" | head -3 | tr '\n' ' '))}" test -z "$out"
else
  tap_skip "mandoc -Tlint: no warnings" "mandoc is not installed (Debian package mandoc)"
fi
out=$(for f in "$MAN"/*.1; do groff -man -Tutf8 -ww -z "$f" 2>&1; done)
tap_check "groff -man -ww: no warnings${out:+ ($(echo "$out" | head -3 | tr '\n' ' '))}" test -z "$out"
tap_check "man -l reads vmcloak-init.1" bash -c 'MANPAGER=cat man -l "$1" 2>&1 | grep -q -- "--cpus"' _ "$MAN/vmcloak-init.1"
# Reproducible: the .TH date is SOURCE_DATE_EPOCH's, and two runs write the same bytes.
SOURCE_DATE_EPOCH=86400 "$VM" __generate man "$tmp/m1" && SOURCE_DATE_EPOCH=86400 "$VM" __generate man "$tmp/m2"
tap_check "the pages are reproducible (.TH date from SOURCE_DATE_EPOCH)" \
  bash -c 'diff -r "$1" "$2" >/dev/null && grep -q "^\.TH VMCLOAK 1 1970-01-02 " "$1/vmcloak.1"' _ "$tmp/m1" "$tmp/m2"

# --- (c) bash completes: a command, an option, values, names from a repository ---
home=$tmp/home
mkdir -p "$home"
sqlite3 "$home/repository.db" <"$VMCLOAK_SOURCE_ROOT/tests/fixtures/vmcloak-head.sql"
cp "$home/repository.db" "$tmp/repo-before"
tap_check "bash: 'vmcloak sn' completes to snapshot" test "$(bcomp "$VM" sn)" = snapshot
tap_check "bash: 'vmcloak snapshot --cp' completes to --cpus" test "$(bcomp "$VM" snapshot --cp)" = --cpus
tap_check "bash: 'vmcloak init --accel' offers the enum's choices" test "$(bcomp "$VM" init --accel '' | tr '\n' ' ')" = "auto kvm tcg "
tap_check "bash: 'vmcloak list' offers images snapshots deps hardware" \
  test "$(bcomp "$VM" list '' | tr '\n' ' ')" = "images snapshots deps hardware "
tap_check "bash: --home typed on the line: image names (clone)" \
  test "$(bcomp "$VM" --home "$home" clone w | tr '\n' ' ')" = "win10base win7base "
tap_check "bash: --home=DIR split at '=' (bash's word breaks): VM names (delvm)" \
  test "$(bcomp "$VM" --home = "$home" delvm '' | tr '\n' ' ')" = "win10vm_1 win10vm_2 "
tap_check "bash: \$VMCLOAK_HOME: image names (snapshot's first argument)" \
  test "$(VMCLOAK_HOME=$home bcomp "$VM" snapshot '' | tr '\n' ' ')" = "win10base win7base "
tap_check "bash: snapshot's second argument (a new name) offers nothing" test -z "$(VMCLOAK_HOME=$home bcomp "$VM" snapshot win7base '')"
tap_check "bash: a PATH option completes files" bash -c 'cd "$1" && [ "$(bash -c "source \"\$1\"; COMP_WORDS=(vm createiso --iso rep); COMP_CWORD=3; _vmcloak; echo \${COMPREPLY[*]}" _ "$2")" = repo-before ]' _ "$tmp" "$BASHC"
tap_check "bash: vmcloak-qemubridge completes bridge's options" test "$(bcomp vmcloak-qemubridge --setup)" = --setup-helper
tap_check "bash: install's further arguments are dependencies" bash -c 'bc=$(VMCLOAK_HOME=$1 bash -c "source \"\$1\"; COMP_WORDS=(\"\$2\" install win7base ado); COMP_CWORD=3; _vmcloak; printf \"%s\n\" \"\${COMPREPLY[@]}\"" _ "$2" "$3"); grep -qx adobe9 <<<"$bc"' _ "$home" "$BASHC" "$VM"
tap_check "bash: 'vmcloak internet' offers on off status" test "$(bcomp "$VM" internet '' | tr '\n' ' ')" = "on off status "
# internet on: only the bridged images (a user-mode one has no route to give): a migrated copy
# (netmode stored) with win7base on user-mode networking.
bh=$tmp/bridged; mkdir -p "$bh"; cp "$home/repository.db" "$bh/"
"$VM" --home "$bh" migrate >/dev/null 2>&1 && sqlite3 "$bh/repository.db" "UPDATE image SET netmode='user' WHERE name='win7base'"
tap_check "bash: 'vmcloak internet on' offers the bridged images only" \
  test "$(bcomp "$VM" --home "$bh" internet on '' | tr '\n' ' ')" = "win10base "
tap_check "bash: 'migrate --revision' offers head and VMCloak's revisions" \
  test "$(bcomp "$VM" migrate --revision '' | tr '\n' ' ')" = "head 34c908159434 5a5957711538 f5b14c62e62c d6c5bf858df1 "
tap_check "bash: '-u ro' offers user names (root)" grep -qx root <(bcomp "$VM" -u ro)
tap_check "bash: 'list --user ro' too" grep -qx root <(bcomp "$VM" list --user ro)
tap_check "completing names created nothing (no home, repository unchanged)" \
  bash -c 'test ! -e "$1" && cmp -s "$2" "$3/repository.db" && test "$(ls "$3")" = repository.db' _ "$VMCLOAK_HOME" "$tmp/repo-before" "$home"
tap_check "__complete with no repository prints nothing and creates nothing" \
  bash -c 'test -z "$("$1" --home "$2/none" __complete names)" && test ! -e "$2/none"' _ "$VM" "$tmp"
# The repository is opened read-only: an empty file gets no schema, vmcloak's own (WAL) gets no
# -wal/-shm left beside it, and a lock another process holds (a migrate) makes it print nothing
# rather than wait (the timeout only guards against a hang: 30 s was the old busy timeout).
mkdir "$tmp/empty"; : >"$tmp/empty/repository.db"
tap_check "__complete on an empty repository.db prints nothing and writes nothing" \
  bash -c 'test -z "$("$1" --home "$2" __complete names)" && test ! -s "$2/repository.db" && test "$(ls "$2")" = repository.db' _ "$VM" "$tmp/empty"
"$VM" --home "$tmp/cur" list images >/dev/null && sqlite3 "$tmp/cur/repository.db" \
  "INSERT INTO image (name, path, osversion, servicepack, mode, ipaddr, port, adapter, netmask, gateway, cpus, ramsize, vm) VALUES ('curimg', '/x', 'win10x64', '', 'normal', '192.168.56.2', 8000, 'qemubr0', '255.255.255.0', '192.168.56.1', 1, 1024, 'qemu')"
cp "$tmp/cur/repository.db" "$tmp/cur-before"
tap_check "__complete on vmcloak's own (WAL) repository: its names" test "$("$VM" --home "$tmp/cur" __complete images)" = curimg
tap_check "... the file unchanged, no -wal/-shm left" \
  bash -c 'cmp -s "$1/repository.db" "$2" && test ! -e "$1/repository.db-wal" -a ! -e "$1/repository.db-shm"' _ "$tmp/cur" "$tmp/cur-before"
mkfifo "$tmp/lockfifo"
sqlite3 "$home/repository.db" <"$tmp/lockfifo" >/dev/null 2>&1 & lockpid=$!
exec 9>"$tmp/lockfifo"
echo "BEGIN EXCLUSIVE;" >&9
for _ in $(seq 100); do sqlite3 "$home/repository.db" "SELECT 1" >/dev/null 2>&1 || break; sleep 0.1; done
locked=$(timeout 20 "$VM" --home "$home" __complete names; echo "rc=$?")
tap_check "__complete on a locked repository (BEGIN EXCLUSIVE held) prints nothing" test "$locked" = rc=0
echo "ROLLBACK;" >&9; exec 9>&-; wait "$lockpid"
tap_check "... and the repository is unchanged" cmp -s "$tmp/repo-before" "$home/repository.db"

# --- (d) zsh ---
if command -v zsh >/dev/null; then
  tap_check "zsh -n _vmcloak" zsh -n "$ZSHC"
  tap_check "zsh: compinit loads _vmcloak for vmcloak and vmcloak-qemubridge" zsh -f -c \
    "fpath=(${ZSHC%/*} \$fpath); autoload -Uz compinit; compinit -u -d $tmp/zcompdump; [[ \$_comps[vmcloak] == _vmcloak && \$_comps[vmcloak-qemubridge] == _vmcloak ]]"
  # A real completion in an interactive zsh (zpty): compadd prints what it is given.
  zcomp() {
    PATH=$(dirname "$VM"):$PATH timeout 30 zsh -f "$(dirname "$0")/zsh-complete.zsh" "${ZSHC%/*}" "$1" | sort -u | tr '\n' ' '
  }
  tap_check "zsh: 'vmcloak sn' completes to snapshot" test "$(zcomp 'vmcloak sn')" = "snapshot "
  tap_check "zsh: 'vmcloak snapshot --cp' completes to --cpus" test "$(zcomp 'vmcloak snapshot --cp')" = "--cpus "
  tap_check "zsh: 'vmcloak init --accel ' offers the enum's choices" test "$(zcomp 'vmcloak init --accel ')" = "auto kvm tcg "
  tap_check "zsh: --home typed on the line: image names" test "$(zcomp "vmcloak --home $home clone w")" = "win10base win7base "
  tap_check "zsh: delvm offers VM names" test "$(zcomp "vmcloak --home=$home delvm ")" = "win10vm_1 win10vm_2 "
  tap_check "zsh: 'vmcloak internet ' offers on off status" test "$(zcomp 'vmcloak internet ')" = "off on status "
  tap_check "zsh: 'vmcloak internet on ' offers the bridged images only" test "$(zcomp "vmcloak --home $bh internet on ")" = "win10base "
  tap_check "zsh: 'migrate --revision ' offers head and VMCloak's revisions" \
    test "$(zcomp 'vmcloak migrate --revision ')" = "34c908159434 5a5957711538 d6c5bf858df1 f5b14c62e62c head "
  tap_check "zsh: '-u ro' offers user names (root)" grep -qw root <<<"$(zcomp 'vmcloak -u ro')"
else
  tap_skip "zsh completion" "zsh is not installed (Debian package zsh)"
fi

# --- (e) installed where Debian looks ---
if meson install -C "${VMCLOAK_BUILD_ROOT:?}" --no-rebuild --quiet --destdir "$tmp/dest" >"$tmp/install.log" 2>&1; then
  prefix=$(meson introspect --buildoptions "$VMCLOAK_BUILD_ROOT" | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
  d=$tmp/dest$prefix/share
  tap_check "installed: man1/vmcloak.1 and a page per command (+ the qemubridge and iptables links)" \
    bash -c 'test -f "$1/man/man1/vmcloak.1" && test "$(ls "$1/man/man1" | grep -c "^vmcloak-.*\.1$")" = "$2"' _ "$d" "$((pages + 2))"
  tap_check "installed: man1/vmcloak-qemubridge.1 is bridge's page" test "$(readlink "$d/man/man1/vmcloak-qemubridge.1")" = vmcloak-bridge.1
  tap_check "installed: man1/vmcloak-iptables.1 is internet's page" test "$(readlink "$d/man/man1/vmcloak-iptables.1")" = vmcloak-internet.1
  tap_check "installed: bin/vmcloak-iptables -> vmcloak" test "$(readlink "$tmp/dest$prefix/bin/vmcloak-iptables")" = vmcloak
  tap_check "installed: bash-completion/completions/vmcloak (+ vmcloak-qemubridge)" \
    bash -c 'cmp -s "$1/bash-completion/completions/vmcloak" "$2" && test "$(readlink "$1/bash-completion/completions/vmcloak-qemubridge")" = vmcloak' _ "$d" "$BASHC"
  tap_check "installed: zsh/vendor-completions/_vmcloak" cmp -s "$d/zsh/vendor-completions/_vmcloak" "$ZSHC"
else
  tap_fail "meson install --destdir" "$(tail -3 "$tmp/install.log" | tr '\n' ' ')"
fi
tap_done
