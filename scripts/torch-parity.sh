#!/bin/bash
# The README's PyTorch module, checked with PyTorch itself: installs torch from PyPI
# into .venv-torch (several GB with its CUDA libraries; not part of the default suite, which runs the same
# module text against a numpy stand-in), then runs Tests/python/test_torch_module.py with
# the real torch: load_state_dict(strict=True) on the weights `idzip expand` writes, and the
# same predictions as `idzip eval` on the 10,000 MNIST test images.
# Usage: scripts/torch-parity.sh   (needs the release build: swift build -c release --product idzip)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-torch/bin/python ]; then
    python3 -m venv .venv-torch
    .venv-torch/bin/pip install --quiet numpy safetensors pytest
    # From PyPI (set PIP_INDEX_URL to a CPU-only index to skip the CUDA libraries).
    .venv-torch/bin/pip install --quiet torch
fi
IDZIP_REAL_TORCH=1 .venv-torch/bin/python -m pytest -q Tests/python/test_torch_module.py -k matches_idzip_eval
# A torch.nn LeNet's state_dict as the base of a fine-tuned model (issue 13).
IDZIP_REAL_TORCH=1 .venv-torch/bin/python -m pytest -q Tests/python/test_torch_base.py
