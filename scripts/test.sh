#!/usr/bin/env bash
# Runs the whole test suite: the Swift tests (release build) and the Python cross-checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dependencies.sh
swift build -c release --product idzip
swift test -c release 2>&1 | tee .build/swift-test.log | grep -vE '^(◇|↳)|started\.$'
.venv/bin/python -m pytest -q Tests/python
