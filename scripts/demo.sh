#!/usr/bin/env bash
# The main job, end to end, on MNIST shipped in samples/mnist: train a 784-200-200-10
# network in a 1,000-dimensional Fastfood subspace, write the .idz model, show its size and
# compression ratio, expand it to safetensors (checked against its SHA-256) and evaluate it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dependencies.sh
swift build -c release --product idzip
idzip=.build/release/idzip
out=${IDZIP_DEMO_DIR:-out/demo}
mkdir -p "$out"

echo "== train (only theta_d, 1,000 numbers, is trained; theta0 and P come from seeds)"
$idzip train --model fc:784-200-200-10 --data mnist --dim 1000 --projection fastfood -o "$out/mnist-fc-d1000.idz"

echo "== inspect"
$idzip info "$out/mnist-fc-d1000.idz"

echo "== expand to the full 199,210 weights"
$idzip expand "$out/mnist-fc-d1000.idz" -o "$out/mnist-fc-d1000.safetensors"

echo "== evaluate"
$idzip eval "$out/mnist-fc-d1000.idz" --data mnist

echo "== the same job coded: LeNet, theta_d a 16-level codebook learned with the model, compact container (266 bytes)"
$idzip train --model lenet --data mnist --dim 350 --encoding codebook:16 --container compact -o "$out/mnist-lenet-d350-k16.idz"
$idzip eval "$out/mnist-lenet-d350-k16.idz" --data mnist
