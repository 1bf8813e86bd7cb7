"""A PyTorch model as a base (issue 13; Formats/idz-v3.md section 6): a ``torch.nn`` LeNet's
state_dict saved with the ``safetensors`` package is fine-tuned in idzip with ``--base``
(SAID scales, biases trained directly), expanded with the same base, and loaded back into
PyTorch with load_state_dict(strict=True); its predictions on the MNIST test set match
``idzip eval --base``. A base of other tensors is refused with one line naming both digests.

By default the module runs against the numpy stand-in of torch that test_torch_module.py
defines (PyTorch is several GB); with IDZIP_REAL_TORCH=1 (scripts/torch-parity.sh) it runs
with the real torch.
"""
import os
import sys

import numpy as np

from test_torch_module import assert_predicts_like_idzip, fake_torch

LENET = """
import torch


class LeNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(1, 6, 5),  # layers.0
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(6, 16, 5),  # layers.3
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(256, 120),  # layers.7
            torch.nn.ReLU(),
            torch.nn.Linear(120, 84),  # layers.9
            torch.nn.ReLU(),
            torch.nn.Linear(84, 10),  # layers.11
        )

    def forward(self, raw):  # raw pixels 0...255 as float32, [N, 28, 28]
        x = raw.reshape(raw.shape[0], 1, 28, 28) * 0.003921569
        return self.layers(x)
"""


def _lenet(monkeypatch):
    real = os.environ.get("IDZIP_REAL_TORCH") == "1"
    if not real:
        for name, module in fake_torch().items():
            monkeypatch.setitem(sys.modules, name, module)
    namespace = {}
    exec(compile(LENET, "LeNet", "exec"), namespace)
    return namespace["LeNet"], real


def _save_base(model, path, real):
    """The state_dict as safetensors, as a PyTorch user saves it (no idzip metadata)."""
    if real:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    else:
        from safetensors.numpy import save_file
        rng = np.random.default_rng(13)
        state = {}
        for name, value in model.state_dict().items():
            fan_in = int(np.prod(value.shape[1:])) if value.ndim > 1 else 10
            state[name] = (rng.standard_normal(value.shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        model.load_state_dict(state, strict=True)
        save_file(state, str(path))


def test_a_torch_state_dict_is_a_base(idzip, tmp_path, monkeypatch):
    LeNet, real = _lenet(monkeypatch)
    base = tmp_path / "torch-lenet.safetensors"
    _save_base(LeNet(), base, real)

    model = tmp_path / "finetuned.idz"
    idzip("train", "--base", base, "--model", "lenet", "--data", "mnist", "--train-fraction", "0.05",
          "--dim", "200", "--epochs", "1", "--tensor-scales", "--tensor-mode", "bias=direct", "-o", model)
    info = idzip("info", model, "--json").stdout
    assert '"locator" : "torch-lenet.safetensors"' in info or '"locator": "torch-lenet.safetensors"' in info
    idzip("expand", model, "--base", base, "-o", tmp_path / "weights.safetensors")
    idzip("eval", model, "--base", base, "--data", "mnist", "--predictions", tmp_path / "p.txt")
    expected = np.array([int(line) for line in (tmp_path / "p.txt").read_text().split()])

    from safetensors.torch import load_file
    network = LeNet()
    network.load_state_dict(load_file(str(tmp_path / "weights.safetensors")), strict=True)
    assert_predicts_like_idzip(network, expected, real)

    # Another base (one weight changed) is refused with one line naming both digests.
    from safetensors.numpy import load_file as numpy_load, save_file as numpy_save
    state = numpy_load(str(base))
    state["layers.0.bias"] = state["layers.0.bias"].copy()
    state["layers.0.bias"][0] += np.float32(1e-3)
    other = tmp_path / "other.safetensors"
    numpy_save(state, str(other))
    result = idzip("eval", model, "--base", other, "--data", "mnist", check=False)
    assert result.returncode != 0
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "wrong base" in message and message.count("sha256") == 2
    result = idzip("expand", model, "-o", tmp_path / "nobase.safetensors", check=False)
    assert result.returncode != 0 and "give it with --base" in result.stderr
    assert not (tmp_path / "nobase.safetensors").exists()
