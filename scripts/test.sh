#!/usr/bin/env bash
# The whole test suite, as a newcomer or CI runs it on a fresh machine:
# installs missing test servers, checks formatting and lints, then runs every test (unit,
# the hermetic tier, and the tiers against real private slapd, Samba AD and scim2-server
# instances on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --lib --bins --tests
# The README's first command, as a newcomer runs it (the debug build is already there).
cargo run --locked --quiet -- demo > /dev/null
echo "demo: ok"
# The systemd unit (systemd-analyze verify/security) and the alert rules (promtool).
scripts/check-ops.sh
