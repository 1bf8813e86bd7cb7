#!/usr/bin/env bash
# Regenerates the golden --help texts that HelpGoldenTests compares (80 columns).
# Run after `swift build -c release --product idzip`, then review `git diff Tests/IdzipCLITests/Fixtures/help`.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${IDZIP_BINARY:-.build/release/idzip}")
out=Tests/IdzipCLITests/Fixtures/help
mkdir -p "$out"
while read -r file arguments; do
    # shellcheck disable=SC2086
    (cd /tmp && COLUMNS=80 "$binary" $arguments --help) > "$out/$file.txt"
done <<'LIST'
idzip
train train
sweep sweep
compress compress
sweep-run sweep run
sweep-merge sweep merge
eval eval
predict predict
expand expand
export export
info info
create create
bench bench
LIST
echo "wrote $(ls "$out" | wc -l) files to $out"
