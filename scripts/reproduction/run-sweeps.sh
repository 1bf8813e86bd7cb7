#!/usr/bin/env bash
# Runs the sweeps behind docs/reproduction.md, one directory each under $OUT
# (default out/reproduction), each with command.txt (the exact command, start, end and
# wall seconds) and sweep.log. A finished sweep is resumed (nothing retrained).
#   scripts/reproduction/run-sweeps.sh            # every sweep (about 2 hours on 2 cores)
#   scripts/reproduction/run-sweeps.sh toy fc-global lenet-global
# IDZIP names the binary (default .build/release/idzip, built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/reproduction}
IDZIP=${IDZIP:-.build/release/idzip}
[ -x "$IDZIP" ] || swift build -c release
mkdir -p "$OUT"

FC=fc:784-200-200-10
declare -A SWEEPS=(
  [toy]="--model toy --dims 1-20 --runs 3"
  [toy-search]="--model toy --search 1-1000 --runs 3"
  [fc-global]="--model $FC --search 50-3200 --resolution 25 --runs 3"
  [fc-grid]="--model $FC --dims 100-1500:100 --runs 3 --no-early-stop"
  [fc-local]="--model $FC --search 50-3200 --resolution 25 --runs 3 --baseline local"
  [lenet-global]="--model lenet --search 25-1600 --resolution 10 --runs 3"
  [lenet-local]="--model lenet --search 25-1600 --resolution 10 --runs 3 --baseline local"
  [mnist-bn-global]="--model mnist-bn --search 25-1600 --resolution 10 --runs 3"
  [fc-pixels]="--model $FC --search 50-3200 --resolution 25 --runs 3 --shuffle-pixels"
  [lenet-pixels]="--model lenet --search 200-6400 --resolution 50 --runs 3 --shuffle-pixels --learning-rate 0.03"
  [lenet-pixels-lr0.1]="--model lenet --search 25-6400 --resolution 25 --runs 3 --shuffle-pixels"
  [cartpole-dqn]="--env cartpole --algorithm dqn --projection sparse --steps 100000 --learning-rate 0.1 --search 4-256 --resolution 64 --runs 5"
  [cartpole-dqn-195]="--env cartpole --algorithm dqn --projection sparse --steps 100000 --learning-rate 0.1 --search 4-512 --resolution 4 --runs 5 --baseline 195"
  [fc5-labels]="--model fc5 --shuffle-labels --train-fraction 0.1 --epochs 30 --learning-rate 0.01 --no-early-stop --search 5000-160000 --resolution 5000"
  [inverted-pendulum-es]="--env inverted-pendulum --algorithm es --projection dense --dims 1,2,3,4,5,6,8,10,12,16,20,24,32,40 --runs 5 --baseline local"
)
# The FC width/depth grid: L hidden layers of width W.
for depth in 1 3 5; do
  for width in 50 200 400; do
    layers=$(printf -- "-$width%.0s" $(seq "$depth"))
    SWEEPS[fc-L$depth-W$width]="--model fc:784$layers-10 --search 50-3200 --resolution 50 --runs 2"
  done
done
DEFAULT="toy toy-search fc-global fc-grid lenet-global fc-local lenet-local mnist-bn-global fc-pixels lenet-pixels fc5-labels cartpole-dqn cartpole-dqn-195 inverted-pendulum-es
  fc-L1-W50 fc-L1-W200 fc-L1-W400 fc-L3-W50 fc-L3-W200 fc-L3-W400 fc-L5-W50 fc-L5-W200 fc-L5-W400"

# shellcheck source=run-sweep-list.sh
source scripts/reproduction/run-sweep-list.sh
# shellcheck disable=SC2086
run_sweep_list ${@:-$DEFAULT}
