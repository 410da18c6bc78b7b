#!/usr/bin/env bash
# Checks the operations files:
#   1. systemd/zoomsync.service: `systemd-analyze verify` (any warning fails) and
#      `systemd-analyze security --offline=true` (overall exposure must be <= 2.0);
#   2. docs/prometheus/alerts.yml: `promtool check rules` and `promtool test rules`
#      (docs/prometheus/alerts_test.yml).
# Installs systemd / prometheus (for promtool) from Debian when the tools are missing, with
# --no-install-recommends and a temporary policy-rc.d so that no service gets started.
# Prints the figures; exits non-zero on any problem.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
unit="$repo_root/systemd/zoomsync.service"
rules="$repo_root/docs/prometheus/alerts.yml"
rules_test="$repo_root/docs/prometheus/alerts_test.yml"
max_exposure=${ZOOMSYNC_MAX_EXPOSURE:-2.0}

# --- tools ------------------------------------------------------------------------------
need_apt=()
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "check-ops: need root to apt-get install ${need_apt[*]}" >&2; exit 1; }
    as_root=(sudo -E)
  fi
  # Package scripts would start prometheus (and more); policy-rc.d forbids service starts.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${as_root[@]}" chmod +x /usr/sbin/policy-rc.d
    trap '"${as_root[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  echo "check-ops: installing ${need_apt[*]}" >&2
  "${as_root[@]}" apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
  "${as_root[@]}" rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# --- 1. the unit ------------------------------------------------------------------------
echo "== systemd unit: $unit ($(systemd-analyze --version | head -1))"
# verify needs ExecStart= to exist: check a copy whose ExecStart points at the built binary
# (target/release or target/debug), or at a stand-in when nothing is built.
exe=""
for candidate in "$repo_root/target/release/zoomsync" "$repo_root/target/debug/zoomsync"; do
  if [ -x "$candidate" ]; then exe=$candidate; break; fi
done
if [ -z "$exe" ]; then
  exe="$work/zoomsync"
  printf '#!/bin/sh\nexit 0\n' >"$exe"
  chmod +x "$exe"
  echo "(no built binary: ExecStart= checked against a stand-in)"
fi
grep -q '^ExecStart=/usr/local/bin/zoomsync run ' "$unit" || {
  echo "FAIL: ExecStart= is not '/usr/local/bin/zoomsync run ...' (docs/operations.md installs it there)"; failed=1; }
mkdir -p "$work/unit"
sed "s#^ExecStart=/usr/local/bin/zoomsync #ExecStart=$exe #" "$unit" >"$work/unit/zoomsync.service"
verify_rc=0
verify_out=$(cd "$work/unit" && systemd-analyze verify --man=no zoomsync.service 2>&1) || verify_rc=$?
if [ "$verify_rc" -ne 0 ] || [ -n "$verify_out" ]; then
  echo "FAIL: systemd-analyze verify (exit $verify_rc):"
  printf '%s\n' "$verify_out" | sed "s#$work/unit/#systemd/#"
  failed=1
else
  echo "systemd-analyze verify: OK (no warnings)"
fi

security_out=$(systemd-analyze security --offline=true --no-pager "$work/unit/zoomsync.service" 2>&1) || {
  echo "FAIL: systemd-analyze security:"; printf '%s\n' "$security_out"; failed=1; }
# The remaining findings (✗ lines), then the verdict line.
printf '%s\n' "$security_out" | grep -E '^✗' || true
verdict=$(printf '%s\n' "$security_out" | grep -E 'Overall exposure level' || true)
echo "${verdict:-FAIL: no exposure figure in systemd-analyze security output}"
exposure=$(printf '%s\n' "$verdict" | sed -nE 's/.*: ([0-9]+\.[0-9]+) .*/\1/p')
if [ -z "$exposure" ]; then
  failed=1
elif awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e > m) }'; then
  echo "FAIL: exposure $exposure is above $max_exposure"
  failed=1
else
  echo "exposure $exposure <= $max_exposure: OK"
fi

# --- 2. the alerting rules ----------------------------------------------------------------
echo "== Prometheus rules: $rules ($(promtool --version 2>&1 | head -1))"
if ! promtool check rules "$rules"; then
  echo "FAIL: promtool check rules"
  failed=1
fi
# The unit tests pin expressions, `for:` and labels; they run against a copy without the
# annotations so rewording a description needs no test change.
awk '
  /^        annotations:/ { skip = 1; next }
  skip && (/^         / || length($0) == 0) { next }
  { skip = 0; print }
' "$rules" >"$work/alerts-noannotations.yml"
cp "$rules_test" "$work/alerts_test.yml"
if ! (cd "$work" && promtool test rules alerts_test.yml); then
  echo "FAIL: promtool test rules (docs/prometheus/alerts_test.yml)"
  failed=1
fi

if [ "$failed" -ne 0 ]; then
  echo "check-ops: FAILED"
  exit 1
fi
echo "check-ops: all checks passed"
