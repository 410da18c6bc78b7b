#!/usr/bin/env bash
# Installs what the integration tests need, only when it is missing, without prompts and
# without letting Debian start system services (the tests run private servers on loopback).
#   slapd, ldap-utils, openssl : the private OpenLDAP server and its test certificates
#   samba, 389-ds-base         : the Active Directory and 389 Directory Server harnesses
# Needs root (or sudo) the first time; later runs find everything and change nothing.
set -euo pipefail

need_apt=()
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || need_apt+=(slapd)
command -v slapadd >/dev/null 2>&1 || [ -x /usr/sbin/slapadd ] || need_apt+=(slapd)
command -v ldapsearch >/dev/null 2>&1 || need_apt+=(ldap-utils)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)

if [ ${#need_apt[@]} -gt 0 ]; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "install-test-deps: need root to apt-get install ${need_apt[*]}" >&2; exit 1; }
    as_root=(sudo -E)
  fi
  # Debian's postinst would start slapd on 0.0.0.0:389; policy-rc.d forbids service starts.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${as_root[@]}" chmod +x /usr/sbin/policy-rc.d
    trap '"${as_root[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  packages=$(printf '%s\n' "${need_apt[@]}" | sort -u | tr '\n' ' ')
  echo "install-test-deps: installing $packages" >&2
  "${as_root[@]}" apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends $packages >/dev/null
fi
echo "install-test-deps: slapd, ldap-utils and openssl present" >&2

# --- Samba AD DC: the Active Directory of tests/ad/ (tests/support/servers/samba.rs) ----------
# An LDAP-only DC provisioned per test run. samba-ad-provision (templates) is only a Recommends
# and samba-vfs-modules is needed by provision's sysvol ACL step, so both are named explicitly.
# No winbind, krb5, bind9 or ldb-tools. policy-rc.d keeps Debian from starting smbd/nmbd/samba.
if ! command -v samba-tool >/dev/null 2>&1 || ! { command -v samba >/dev/null 2>&1 || [ -x /usr/sbin/samba ]; }; then
  samba_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "install-test-deps: need root to apt-get install samba" >&2; exit 1; }
    samba_root=(sudo -E)
  fi
  samba_policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${samba_root[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${samba_root[@]}" chmod +x /usr/sbin/policy-rc.d
    samba_policy_added=1
  fi
  echo "install-test-deps: installing samba samba-dsdb-modules samba-ad-provision samba-vfs-modules" >&2
  samba_rc=0
  { "${samba_root[@]}" apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive "${samba_root[@]}" apt-get install -y -q --no-install-recommends \
      samba samba-dsdb-modules samba-ad-provision samba-vfs-modules >/dev/null; } || samba_rc=$?
  if [ "$samba_policy_added" -eq 1 ]; then "${samba_root[@]}" rm -f /usr/sbin/policy-rc.d; fi
  [ "$samba_rc" -eq 0 ] || { echo "install-test-deps: installing samba failed" >&2; exit "$samba_rc"; }
fi
echo "install-test-deps: samba and samba-tool present" >&2

# --- 389 Directory Server: the directory of tests/ds389/ (tests/support/servers/ds389/) ----
# The harness runs ns-slapd itself from a dse.ldif it writes (no dscreate, no systemd), with
# its TLS certificate in an NSS database made by certutil/pk12util (libnss3-tools, pulled in
# by python3-lib389 but named here since the harness calls it). policy-rc.d keeps Debian from
# starting any dirsrv service (the package ships none enabled, but systemd may come with it).
if ! [ -x /usr/sbin/ns-slapd ] || ! command -v certutil >/dev/null 2>&1 || ! command -v pk12util >/dev/null 2>&1; then
  ds_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "install-test-deps: need root to apt-get install 389-ds-base" >&2; exit 1; }
    ds_root=(sudo -E)
  fi
  ds_policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${ds_root[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${ds_root[@]}" chmod +x /usr/sbin/policy-rc.d
    ds_policy_added=1
  fi
  echo "install-test-deps: installing 389-ds-base libnss3-tools" >&2
  ds_rc=0
  { "${ds_root[@]}" apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive "${ds_root[@]}" apt-get install -y -q --no-install-recommends \
      389-ds-base libnss3-tools >/dev/null; } || ds_rc=$?
  if [ "$ds_policy_added" -eq 1 ]; then "${ds_root[@]}" rm -f /usr/sbin/policy-rc.d; fi
  [ "$ds_rc" -eq 0 ] || { echo "install-test-deps: installing 389-ds-base failed" >&2; exit "$ds_rc"; }
fi
echo "install-test-deps: 389-ds-base (ns-slapd) and certutil present" >&2

# --- scim2-server (PyPI): the generic SCIM 2.0 server of tests/scim2/ -----------------------
# A private venv at target/test-venv (override with $ZOOMSYNC_TEST_VENV), created only when
# its scim2-server is missing. Built as the invoking user, not root, so cargo can use it.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${ZOOMSYNC_TEST_VENV:-$repo_root/target/test-venv}
if [ ! -x "$venv/bin/scim2-server" ]; then
  command -v python3 >/dev/null 2>&1 || {
    echo "install-test-deps: python3 is needed for scim2-server (apt-get install python3-venv)" >&2; exit 1; }
  as_user=()
  if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ]; then as_user=(sudo -u "$SUDO_USER"); fi
  echo "install-test-deps: creating $venv with scim2-server" >&2
  "${as_user[@]}" mkdir -p "$(dirname "$venv")"
  "${as_user[@]}" python3 -m venv "$venv"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "${as_user[@]}" "$venv/bin/pip" install -q --no-input scim2-server
fi
echo "install-test-deps: scim2-server present at $venv/bin/scim2-server" >&2
