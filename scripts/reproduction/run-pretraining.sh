#!/usr/bin/env bash
# The pre-training experiment of docs/reproduction.md (issue 13): LeNet trained directly on
# MNIST and on Fashion-MNIST (the bases), then d_int90 on each data set from scratch and
# fine-tuned from the other's base (theta0 := the base's weights), with and without one
# learned scale per tensor (SAID). Baselines are the directly trained bases' test accuracies
# (global baseline = that number), so each level is 90% of what direct training reached.
# One seed per d and a resolution of 20 (the machine is shared); each sweep writes command.txt as
# run-sweeps.sh does.
#   scripts/reproduction/run-pretraining.sh                 # the bases and every sweep
#   scripts/reproduction/run-pretraining.sh fmnist-scratch   # some sweeps (bases first if missing)
# IDZIP names the binary (default .build/release/idzip); OUT the directory (out/reproduction).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/reproduction}
IDZIP=${IDZIP:-.build/release/idzip}
[ -x "$IDZIP" ] || swift build -c release --product idzip
BASES="$OUT/bases"
mkdir -p "$BASES"

# The bases: Adam 1e-3 halved every 3 epochs, 10 epochs (the local baseline's recipe).
for data in mnist fashion-mnist; do
  if [ ! -f "$BASES/base-$data.idz" ]; then
    "$IDZIP" train --model lenet --data "$data" --projection identity --epochs 10 --optimizer adam \
      --learning-rate 0.001 --lr-decay-every 3 --lr-decay 0.5 --seed 1 -o "$BASES/base-$data.idz" 2>&1 | tee "$BASES/train-$data.log"
  fi
  [ -f "$BASES/base-$data.safetensors" ] || "$IDZIP" expand "$BASES/base-$data.idz" -o "$BASES/base-$data.safetensors"
done
accuracy() { "$IDZIP" info --json "$1" | sed -n 's/.*"test.accuracy" : \([0-9.]*\).*/\1/p'; }
MNIST=$(accuracy "$BASES/base-mnist.idz")
FASHION=$(accuracy "$BASES/base-fashion-mnist.idz")
echo "baselines: mnist $MNIST, fashion-mnist $FASHION"

declare -A SWEEPS=(
  [fmnist-scratch]="--model lenet --data fashion-mnist --search 25-3200 --resolution 25 --runs 1 --baseline $FASHION"
  [fmnist-from-mnist]="--base $BASES/base-mnist.safetensors --data fashion-mnist --search 5-1600 --resolution 20 --runs 1 --baseline $FASHION"
  [fmnist-from-mnist-said]="--base $BASES/base-mnist.safetensors --tensor-scales --data fashion-mnist --search 15-1600 --resolution 20 --runs 1 --baseline $FASHION"
  [mnist-from-fmnist]="--base $BASES/base-fashion-mnist.safetensors --data mnist --search 20-1600 --resolution 20 --runs 1 --baseline $MNIST"
  [mnist-from-fmnist-said]="--base $BASES/base-fashion-mnist.safetensors --tensor-scales --data mnist --search 30-1600 --resolution 20 --runs 1 --baseline $MNIST"
)
DEFAULT="fmnist-scratch fmnist-from-mnist fmnist-from-mnist-said mnist-from-fmnist mnist-from-fmnist-said"

# shellcheck source=run-sweep-list.sh
source scripts/reproduction/run-sweep-list.sh
# shellcheck disable=SC2086
run_sweep_list ${@:-$DEFAULT}
