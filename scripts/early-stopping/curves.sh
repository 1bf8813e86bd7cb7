#!/bin/bash
# Trains runs out (every epoch, no early stopping) and records their test accuracy after
# each epoch, for replay.py. One line of RUNS per run: "MODEL D SEED". A sweep's run of
# seed s at dimension d is `idzip train --model MODEL --dim d --seed s` with the sweep's
# defaults (the reproducibility contract), so these are the curves the sweeps' runs follow.
# Usage: scripts/early-stopping/curves.sh IDZIP OUT_DIR < RUNS
#        then: python3 scripts/early-stopping/collect.py OUT_DIR > curves.json
set -u
idzip=$1; out=$2; mkdir -p "$out"
while read -r model d seed; do
    [ -z "${model:-}" ] && continue
    tag=$(echo "$model" | tr ':' '_')-d$d-s$seed
    [ -s "$out/$tag.json" ] && continue
    if "$idzip" train --model "$model" --dim "$d" --seed "$seed" -o "$out/$tag.idz" --json > "$out/$tag.tmp" 2> "$out/$tag.err"; then
        mv "$out/$tag.tmp" "$out/$tag.json"
    fi
    rm -f "$out/$tag.idz"
done
