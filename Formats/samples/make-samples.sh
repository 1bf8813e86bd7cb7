#!/usr/bin/env bash
# Writes the sample models of this folder and SHA256SUMS-weights (the digest of each one's
# expanded weights). Untrained models with a random theta_d (idzip create), so they
# exercise every projection; run from the repository root after `swift build -c release`.
set -euo pipefail
cd "$(dirname "$0")"
idzip=../../.build/release/idzip
$idzip create --model fc:784-200-200-10 --projection fastfood --dim 750 --theta-scale 0.05 --seed 1 --projection-seed 2 -o fc-fastfood-d750.idz
$idzip create --model fc:784-200-200-10 --projection sparse --dim 750 --theta-scale 0.05 --seed 1 --projection-seed 3 -o fc-sparse-d750.idz
$idzip create --model fc:784-200-200-10 --projection dense --dim 100 --theta-scale 0.05 --seed 1 --projection-seed 4 -o fc-dense-d100.idz
$idzip create --model lenet --projection fastfood --dim 300 --theta-scale 0.05 --encoding float16 --seed 5 --projection-seed 6 -o lenet-fastfood-d300-float16.idz
$idzip create --model toy --projection sparse --dim 10 --theta-scale 1 --encoding int8 --seed 7 --projection-seed 8 -o toy-sparse-d10-int8.idz
# Version 2 (Formats/idz-v2.md): codebook theta_d, the compact layout (keeping the whole
# weights digest so that a new implementation can check its expansion), and a compact file
# whose projection seed is derived from theta0's (7 XOR 0x9E3779B97F4A7C15).
$idzip create --model lenet --projection fastfood --dim 231 --theta-scale 0.05 --encoding codebook:16 --container compact:32 --seed 9 --projection-seed 10 -o lenet-fastfood-d231-codebook16-compact.idz
$idzip create --model lenet --projection fastfood --dim 231 --theta-scale 0.05 --encoding codebook:16 --seed 9 --projection-seed 10 -o lenet-fastfood-d231-codebook16.idz
$idzip create --model toy --projection sparse --dim 10 --theta-scale 1 --encoding int8 --container compact:32 --seed 7 --projection-seed 11400714819323198482 -o toy-sparse-d10-int8-compact.idz
# Version 3 (Formats/idz-v3.md): a described network with every new layer type, names,
# a branch and batch-norm buffers.
$idzip create --model ../../Tests/python/fixtures/architectures/small-residual.json --projection fastfood --dim 40 --theta-scale 0.05 --seed 12 --projection-seed 13 -o residual-fastfood-d40.idz
# Version 3 (Formats/idz-v3.md sections 6 and 7): a model fine-tuned from a base (the
# lenet sample above: its expanded weights are theta0, the file records their digest and
# the sample's name as locator) with one scale per subspace tensor and the biases stored
# directly; and a model without a base whose first layer is frozen and biases direct.
$idzip create --model lenet --base lenet-fastfood-d300-float16.idz --projection fastfood --dim 120 --theta-scale 0.05 --tensor-scales --tensor-mode bias=direct --projection-seed 12 -o lenet-base-said-d120.idz
$idzip create --model lenet --projection sparse --dim 100 --theta-scale 0.05 --tensor-mode 'layers.0.*=frozen' --tensor-mode bias=direct --seed 13 --projection-seed 14 -o lenet-modes-frozen-direct-d100.idz
: > SHA256SUMS-weights
for model in *.idz; do
    digest=$($idzip info --json "$model" | sed -n 's/.*"weights_sha256" : "\([0-9a-f]*\)".*/\1/p')
    echo "$digest  $model" >> SHA256SUMS-weights
done
cat SHA256SUMS-weights
