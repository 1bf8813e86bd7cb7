#!/bin/bash
# idzip bench beside PyTorch, side by side in one run (issue 16): installs torch (CPU) from
# PyPI into .venv-torch when it is missing, builds idzip (release), then runs
# scripts/bench_torch.py, which alternates `idzip bench --match FIGURE` with a faithful
# PyTorch version of each projection and training figure and prints medians and ratios.
# Usage: scripts/bench-torch.sh [--rounds 5] [--threads N] [--quick] [--match TEXT] [--json FILE]
# torch comes from PyTorch's CPU index (no CUDA libraries; TORCH_INDEX_URL overrides it), its
# dependencies from PyPI; where that index is unreachable, torch comes from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv-torch/bin/python -c 'import torch, numpy' 2>/dev/null; then
    python3 -m venv .venv-torch
    .venv-torch/bin/pip install --quiet numpy
    # Where PyTorch's CPU index cannot be reached, PyPI's build (it brings CUDA libraries,
    # about 5 GB installed, but runs on the CPU all the same; the header records which build ran).
    .venv-torch/bin/pip install --quiet torch \
        --index-url "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" --extra-index-url https://pypi.org/simple \
        || .venv-torch/bin/pip install --quiet torch
fi
swift build -c release --product idzip >/dev/null
# On a machine shared with other work, OpenMP's spinning waits stall PyTorch's small
# operations for whole scheduler slices; OMP_WAIT_POLICY=PASSIVE (set it to ACTIVE to
# compare) keeps its figures from collapsing there. The header line records the setting.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec .venv-torch/bin/python scripts/bench_torch.py --idzip .build/release/idzip "$@"
