#!/usr/bin/env bash
# Installs what the integration tests need, only when it is missing, without prompts and
# without letting Debian start system services (the tests run private servers on loopback).
#   slapd, ldap-utils, openssl : the private OpenLDAP server and its test certificates
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
