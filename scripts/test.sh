#!/usr/bin/env bash
# Runs the whole test suite: the Swift tests (release build), the Python cross-checks and, as
# root, the sharded sweep on a real one-node Slurm cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dependencies.sh
swift build -c release --product idzip
swift test -c release 2>&1 | tee .build/swift-test.log | grep -vE '^(◇|↳)|started\.$'
.venv/bin/python -m pytest -q Tests/python
# The release tarball (scripts/release.sh): built with the static Swift standard library, installed
# with make install and run with the toolchain's libraries hidden (a relink, then about a minute).
if [ "${IDZIP_RELEASE_TEST:-1}" != 0 ]; then
    scripts/test-release.sh
else
    echo "release test: skipped (IDZIP_RELEASE_TEST=0)"
fi
# The Slurm job array of docs/cluster.md on a real one-node cluster on localhost (about half a
# minute; it installs slurm-wlm and munge where missing and starts their daemons, so it needs
# root). Runs as root (CI) or with IDZIP_SLURM_TEST=1 (through sudo); IDZIP_SLURM_TEST=0 skips it.
if [ "${IDZIP_SLURM_TEST:-}" = 1 ] || { [ -z "${IDZIP_SLURM_TEST:-}" ] && [ "$(id -u)" -eq 0 ]; }; then
    scripts/cluster/test-slurm.sh
else
    echo "slurm sweep test: skipped (needs root; run as root or with IDZIP_SLURM_TEST=1)"
fi
