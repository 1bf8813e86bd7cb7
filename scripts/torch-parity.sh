#!/bin/bash
# The PyTorch modules, checked with PyTorch itself: installs torch (CPU) into .venv-torch when
# it is missing (as scripts/bench-torch.sh does; not part of the default suite, which runs the
# same tests against a numpy stand-in), then runs with the real torch:
# - Tests/python/test_torch_module.py: the README's module loads the weights `idzip expand`
#   writes with load_state_dict(strict=True) and predicts what `idzip eval` predicts on the
#   10,000 MNIST test images;
# - Tests/python/test_torch_parity.py: every preset and a hand-written architecture file
#   (batch norm, residual connections, strided and depthwise convolutions, pools, the
#   activations), built from `idzip info --description` and printed by `idzip info --pytorch`:
#   strict loads, the probabilities of `idzip predict` and the classes of `idzip eval`.
# Usage: scripts/torch-parity.sh   (needs the release build: swift build -c release --product idzip)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv-torch/bin/python -c 'import torch, numpy, safetensors, pytest' 2>/dev/null; then
    python3 -m venv .venv-torch
    .venv-torch/bin/pip install --quiet numpy safetensors pytest
    # A CPU wheel in the folder pip's configuration names (find-links), else PyTorch's CPU index.
    links=$(.venv-torch/bin/pip config get global.find-links 2>/dev/null || true)
    wheel=$(ls "${links:-/nonexistent}"/torch-*+cpu-*.whl 2>/dev/null | tail -1 || true)
    [ -n "$wheel" ] && .venv-torch/bin/pip install --quiet "$wheel" || .venv-torch/bin/pip install --quiet torch \
        --index-url "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" --extra-index-url https://pypi.org/simple
fi
IDZIP_REAL_TORCH=1 .venv-torch/bin/python -m pytest -q Tests/python/test_torch_module.py Tests/python/test_torch_parity.py \
    -k "matches_idzip or buffers_pytorch_expects or agree_with_the_stand_in"
# A torch.nn LeNet's state_dict as the base of a fine-tuned model (issue 13).
IDZIP_REAL_TORCH=1 .venv-torch/bin/python -m pytest -q Tests/python/test_torch_base.py
