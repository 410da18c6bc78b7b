#!/usr/bin/env bash
# Checks the Debian package end to end in a throwaway Debian root (debootstrap minbase, then
# systemd, man-db, lintian, zsh and fish installed into it); nothing is installed on this
# machine, and the root is deleted at the end, pass or fail.
#
#   scripts/check-package.sh [path/to/zoomsync_*.deb]
#
# Without an argument it checks the newest .deb in <target dir>/debian/ ($CARGO_TARGET_DIR or
# target/), building one with scripts/package.sh when there is none. In the root it checks:
#   - dpkg -i works; /usr/bin/zoomsync --version;
#   - the unit is systemd/zoomsync.service with ExecStart in /usr/bin (nothing else differs),
#     `systemd-analyze verify` is silent, `systemd-analyze security` exposure <= 2.0, and it is
#     neither enabled nor started;
#   - /etc/zoomsync/zoomsync.toml is a conffile that `zoomsync check` refuses with exit 2,
#     naming the keys to fill in (directory.url first);
#   - the docs are in /usr/share/doc/zoomsync; `man zoomsync` and `man zoomsync-check` render;
#     the bash, zsh and fish completions are installed and parse in their shells;
#   - `dpkg -r` and then `dpkg -P` leave the state (/var/lib/zoomsync, laid out as systemd's
#     DynamicUser= does: /var/lib/private/zoomsync) untouched, and remove the rest;
#   - lintian reports no error (its warnings are printed).
# Needs root (debootstrap, chroot), Debian's package mirror, ~600 MB in $TMPDIR and about
# 3.5 minutes (3 of them building the root: minbase, then lintian's Perl), downloading ~200 MB
# every run: so scripts/test.sh (CI, on every submission) does not run it. debootstrap is used from this machine if installed, else unpacked (not installed)
# from its Debian package.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mirror=${ZOOMSYNC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${ZOOMSYNC_DEBIAN_SUITE:-$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")}
suite=${suite:-bookworm}
max_exposure=${ZOOMSYNC_MAX_EXPOSURE:-2.0}

[ "$(id -u)" -eq 0 ] || { echo "check-package: needs root (debootstrap, chroot)" >&2; exit 1; }

deb=${1:-}
if [ -z "$deb" ]; then
  debs_dir=$(cd "$repo_root" && realpath -m "${CARGO_TARGET_DIR:-target}/debian")
  deb=$(ls -t "$debs_dir"/zoomsync_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    "$repo_root/scripts/package.sh" >&2
    deb=$(ls -t "$debs_dir"/zoomsync_*.deb | head -1)
  fi
fi
deb=$(realpath "$deb")
echo "== package: $deb"

work=$(mktemp -d "${TMPDIR:-/tmp}/zoomsync-check-package.XXXXXX")
root=$work/root
cleanup() {
  # Mounts live in the namespaces `in_root` creates and end with them; nothing to unmount.
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# --- the throwaway root ------------------------------------------------------------------
if command -v debootstrap >/dev/null 2>&1; then
  debootstrap=(debootstrap)
else
  (cd "$work" && apt-get download debootstrap >/dev/null 2>&1) || {
    echo "check-package: no debootstrap, and 'apt-get download debootstrap' failed (apt-get update?)" >&2
    exit 1; }
  dpkg-deb -x "$work"/debootstrap_*.deb "$work/debootstrap"
  export DEBOOTSTRAP_DIR=$work/debootstrap/usr/share/debootstrap
  debootstrap=("$work/debootstrap/usr/sbin/debootstrap")
fi
echo "== debootstrap $suite (minbase) from $mirror"
start=$(date +%s)
"${debootstrap[@]}" --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2; echo "check-package: debootstrap failed" >&2; exit 1; }
# No service may start from a maintainer script inside the root.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/zoomsync.deb"
cp "$repo_root/systemd/zoomsync.service" "$root/tmp/repo-zoomsync.service"

# Runs a command in the root, in private mount and PID namespaces with its own /proc, so
# nothing is mounted on this machine and nothing outlives the command.
in_root() {
  unshare --mount --pid --fork --mount-proc="$root/proc" chroot "$root" /usr/bin/env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb "$@"
}

# The tools the checks use. apt, not debootstrap --include: debootstrap does not resolve
# virtual packages (lintian's perl needs perl-openssl-abi-3).
echo "== apt-get install systemd man-db lintian zsh fish (in the root)"
{ in_root apt-get update -q && in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  --no-install-recommends systemd man-db lintian zsh fish; } >"$work/apt.log" 2>&1 || {
  tail -30 "$work/apt.log" >&2; echo "check-package: apt-get install in the root failed" >&2; exit 1; }
echo "root ready in $(($(date +%s) - start)) s"

failed=0
fail() { echo "FAIL: $*"; failed=1; }
ok() { echo "ok: $*"; }

# --- install -----------------------------------------------------------------------------
echo "== dpkg -i"
in_root dpkg -i /tmp/zoomsync.deb
version=$(in_root /usr/bin/zoomsync --version) || fail "/usr/bin/zoomsync --version"
echo "/usr/bin/zoomsync --version: $version"

# --- the unit ----------------------------------------------------------------------------
echo "== unit"
unit=/usr/lib/systemd/system/zoomsync.service
[ -f "$root$unit" ] || unit=/lib/systemd/system/zoomsync.service
if diff <(sed 's#^ExecStart=/usr/local/bin/zoomsync #ExecStart=/usr/bin/zoomsync #' "$root/tmp/repo-zoomsync.service") \
    "$root$unit"; then
  ok "$unit is systemd/zoomsync.service with ExecStart=$(sed -n 's/^ExecStart=//p' "$root$unit")"
else
  fail "$unit differs from systemd/zoomsync.service beyond ExecStart (diff above)"
fi
verify_out=$(in_root systemd-analyze verify --man=no "$unit" 2>&1) && [ -z "$verify_out" ] \
  && ok "systemd-analyze verify: no warnings" \
  || { printf '%s\n' "$verify_out"; fail "systemd-analyze verify"; }
security_out=$(in_root systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
verdict=$(printf '%s\n' "$security_out" | grep 'Overall exposure level' || true)
exposure=$(printf '%s\n' "$verdict" | sed -nE 's/.*: ([0-9]+\.[0-9]+) .*/\1/p')
echo "systemd-analyze security: ${verdict:-no verdict}"
if [ -z "$exposure" ] || awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e > m) }'; then
  printf '%s\n' "$security_out" | grep -E '^✗' || true
  fail "exposure ${exposure:-?} is not <= $max_exposure"
else
  ok "exposure $exposure <= $max_exposure"
fi
enabled=$(in_root systemctl is-enabled zoomsync.service 2>&1 || true)
[ "$enabled" = "disabled" ] && ok "systemctl is-enabled: disabled" || fail "systemctl is-enabled: $enabled"
wants=$(find "$root/etc/systemd/system" -name 'zoomsync.service' 2>/dev/null || true)
[ -z "$wants" ] && ok "no enablement link under /etc/systemd/system" || fail "enabled: $wants"

# --- config ------------------------------------------------------------------------------
echo "== config"
conffiles=$(in_root dpkg-query -W -f='${Conffiles}' zoomsync)
grep -q '/etc/zoomsync/zoomsync.toml' <<<"$conffiles" && ok "conffile: /etc/zoomsync/zoomsync.toml" \
  || fail "/etc/zoomsync/zoomsync.toml is not a conffile: $conffiles"
check_rc=0
check_out=$(in_root /usr/bin/zoomsync check 2>&1) || check_rc=$?
echo "zoomsync check (exit $check_rc): $check_out"
[ "$check_rc" -eq 2 ] && grep -q 'directory\.url: required' <<<"$check_out" \
  && ok "the shipped config is refused with exit 2, naming the keys" \
  || fail "zoomsync check on the shipped config: exit $check_rc, not 2 naming directory.url"

# --- documentation and completions --------------------------------------------------------
echo "== docs, man pages, completions"
for f in config.example.toml README.md operations.md configuration.md prometheus/alerts.yml \
    grafana/zoomsync.json copyright changelog.Debian.gz; do
  [ -f "$root/usr/share/doc/zoomsync/$f" ] || fail "missing /usr/share/doc/zoomsync/$f"
done
ok "docs: $(cd "$root/usr/share/doc/zoomsync" && find . -type f | sed 's#^\./##' | sort | tr '\n' ' ')"
man_out=$(in_root sh -c 'MANPAGER=cat MANWIDTH=100 man zoomsync 2>&1') || true
if grep -q 'zoomsync-check(1)' <<<"$man_out" && grep -q 'SUBCOMMANDS' <<<"$man_out"; then
  ok "man zoomsync renders ($(wc -l <<<"$man_out") lines; $(ls "$root/usr/share/man/man1" | grep -c '^zoomsync') pages)"
  printf '%s\n' "$man_out" | sed -n '1,12p'
else
  printf '%s\n' "$man_out" | head -20; fail "man zoomsync"
fi
in_root sh -c 'MANPAGER=cat man zoomsync-check 2>&1' | grep -q 'rejected entries' \
  && ok "man zoomsync-check renders" || fail "man zoomsync-check"
bash_c=/usr/share/bash-completion/completions/zoomsync
zsh_c=/usr/share/zsh/vendor-completions/_zoomsync
fish_c=/usr/share/fish/vendor_completions.d/zoomsync.fish
in_root bash -c "source $bash_c && complete -p zoomsync" && ok "bash: $bash_c" || fail "bash completion"
in_root zsh -n "$zsh_c" && grep -q '#compdef zoomsync' "$root$zsh_c" && ok "zsh: $zsh_c" || fail "zsh completion"
in_root fish -n "$fish_c" && grep -q 'complete -c zoomsync' "$root$fish_c" && ok "fish: $fish_c" \
  || fail "fish completion"

# --- lintian -----------------------------------------------------------------------------
echo "== lintian"
lintian_out=$(in_root lintian --allow-root --info --no-tag-display-limit /tmp/zoomsync.deb 2>&1) || true
printf '%s\n' "$lintian_out" | grep -E '^[EWI]:' || echo "(no tags)"
if grep -qE '^E:' <<<"$lintian_out"; then
  fail "lintian reports errors"
else
  ok "lintian: no errors ($(grep -cE '^W:' <<<"$lintian_out" || true) warnings)"
fi

# --- removal keeps the state -------------------------------------------------------------
echo "== remove and purge"
# The state as systemd lays it out for DynamicUser=yes + StateDirectory=zoomsync.
mkdir -p "$root/var/lib/private/zoomsync/snapshots"
chmod 0700 "$root/var/lib/private" "$root/var/lib/private/zoomsync"
echo "store" >"$root/var/lib/private/zoomsync/db"
echo "{}" >"$root/var/lib/private/zoomsync/integrity.json"
echo "snapshot" >"$root/var/lib/private/zoomsync/snapshots/state-1.json"
ln -s private/zoomsync "$root/var/lib/zoomsync"
state_before=$(cd "$root/var/lib" && find private zoomsync -printf '%p %m %s\n' | sort | md5sum)
in_root dpkg -r zoomsync
[ ! -e "$root/usr/bin/zoomsync" ] && [ -f "$root/etc/zoomsync/zoomsync.toml" ] \
  && ok "dpkg -r: binary gone, conffile kept" || fail "dpkg -r"
[ "$(cd "$root/var/lib" && find private zoomsync -printf '%p %m %s\n' | sort | md5sum)" = "$state_before" ] \
  && ok "dpkg -r: /var/lib/zoomsync untouched" || fail "dpkg -r changed /var/lib/zoomsync"
in_root dpkg -P zoomsync
[ ! -e "$root/etc/zoomsync/zoomsync.toml" ] && ok "dpkg -P: conffile gone" || fail "dpkg -P kept the conffile"
[ "$(cd "$root/var/lib" && find private zoomsync -printf '%p %m %s\n' | sort | md5sum)" = "$state_before" ] \
  && ok "dpkg -P: /var/lib/zoomsync untouched ($(find "$root/var/lib/private/zoomsync" -type f | wc -l) files)" \
  || fail "dpkg -P changed /var/lib/zoomsync"
left=$(in_root dpkg -S zoomsync 2>/dev/null || true)
[ -z "$left" ] && ok "dpkg -S zoomsync: nothing left registered" || fail "still registered: $left"

if [ "$failed" -ne 0 ]; then
  echo "check-package: FAILED"
  exit 1
fi
echo "check-package: all checks passed ($(($(date +%s) - start)) s after debootstrap began)"
