#!/usr/bin/env bash
# Builds the Debian package of zoomsync with cargo-deb ([package.metadata.deb] in Cargo.toml)
# and prints its path: <target dir>/debian/zoomsync_<version>-1_<arch>.deb, where the target
# dir is $CARGO_TARGET_DIR or target/.
#
#   1. cargo build --release (the binary cargo-deb packages as /usr/bin/zoomsync);
#   2. stages what the package needs but the repository does not hold as such, in
#      target/deb-staging/ (always under the repository, since cargo-deb reads these paths
#      relative to Cargo.toml):
#      - man/*.1 and completions/ from the binary's own clap definitions
#        (`zoomsync generate man|completions`), so they match its --help;
#      - systemd/zoomsync.service: systemd/zoomsync.service (the unit scripts/check-ops.sh
#        checks) with ExecStart= in /usr/bin instead of /usr/local/bin, nothing else changed;
#      - changelog: one entry for this version, dated by the last commit (reproducible);
#   3. cargo deb --no-build.
# Installs cargo-deb (`cargo install --locked cargo-deb`) when it is missing.
# Check the result with scripts/check-package.sh.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
target_dir=${CARGO_TARGET_DIR:-target}
stage=target/deb-staging

if ! cargo deb --version >/dev/null 2>&1; then
  echo "package: installing cargo-deb" >&2
  # Its own temporary build directory, not ours: cargo install honours CARGO_TARGET_DIR.
  env -u CARGO_TARGET_DIR cargo install --locked cargo-deb
fi

cargo build --release --locked
bin=$target_dir/release/zoomsync

rm -rf "$stage"
mkdir -p "$stage/systemd"
"$bin" generate man "$stage/man" >/dev/null
"$bin" generate completions "$stage/completions" >/dev/null

unit=$stage/systemd/zoomsync.service
sed 's#^ExecStart=/usr/local/bin/zoomsync #ExecStart=/usr/bin/zoomsync #' systemd/zoomsync.service >"$unit"
if ! grep -q '^ExecStart=/usr/bin/zoomsync run ' "$unit" || grep -q '/usr/local/bin' "$unit"; then
  echo "package: systemd/zoomsync.service no longer has 'ExecStart=/usr/local/bin/zoomsync run ...'" \
    "as its only /usr/local/bin path; adjust the sed in $0" >&2
  exit 1
fi

version=$("$bin" --version | awk '{ print $2 }')
maintainer=$(sed -n 's/^maintainer = "\(.*\)"$/\1/p' Cargo.toml)
date=$(git log -1 --format=%cD 2>/dev/null || date -R)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cat >"$stage/changelog" <<EOF
zoomsync ($version-1) unstable; urgency=medium

  * zoomsync $version, built from commit $commit (changes: the git history).

 -- $maintainer  $date
EOF

cargo deb --no-build --locked "$@"
