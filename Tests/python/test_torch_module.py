"""The README's PyTorch module (the block after `<!-- torch-module -->`) loads the weights
`idzip expand` writes with load_state_dict(strict=True) and predicts what `idzip eval`
predicts.

PyTorch is several GB, so by default the block runs against a small numpy stand-in for the
parts of `torch` it uses (Module attribute registration and state_dict names, Sequential,
Linear, ReLU, Conv2d, MaxPool2d, Flatten, torch.flatten, strict load_state_dict with its
key and shape checks, safetensors.torch.load_file). With IDZIP_REAL_TORCH=1 (see
scripts/torch-parity.sh) the same test runs with the real torch.
"""
import gzip
import os
import pathlib
import sys
import types

import numpy as np
import pytest
from safetensors.numpy import load_file as numpy_load_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "Formats" / "samples" / "fc-fastfood-d750.idz"


def readme_block():
    text = (ROOT / "README.md").read_text()
    start = text.index("<!-- torch-module -->")
    body = text[start:].split("```python\n", 1)[1]
    return body.split("```", 1)[0]


def fake_torch():
    """The parts of torch the README block uses, in numpy, with torch's naming rules."""
    torch = types.ModuleType("torch")
    nn = types.ModuleType("torch.nn")

    class Module:
        def __init__(self):
            object.__setattr__(self, "_modules", {})
            object.__setattr__(self, "_parameters", {})

        def __setattr__(self, name, value):
            if isinstance(value, Module):
                self._modules[name] = value
            object.__setattr__(self, name, value)

        def state_dict(self, prefix=""):
            result = {prefix + name: value for name, value in self._parameters.items()}
            for name, module in self._modules.items():
                result.update(module.state_dict(prefix + name + "."))
            return result

        def load_state_dict(self, state, strict=True):
            own = self.state_dict()
            missing = sorted(set(own) - set(state))
            unexpected = sorted(set(state) - set(own))
            if strict and (missing or unexpected):
                raise RuntimeError(f"Error(s) in loading state_dict: missing {missing}, unexpected {unexpected}")
            for key, value in state.items():
                if key in own and tuple(own[key].shape) != tuple(value.shape):
                    raise RuntimeError(f"size mismatch for {key}: {value.shape} vs {own[key].shape}")
            for key in own:
                if key in state:
                    self._assign(key.split("."), np.asarray(state[key], np.float32))

        def _assign(self, path, value):
            if len(path) == 1:
                self._parameters[path[0]][...] = value
            else:
                self._modules[path[0]]._assign(path[1:], value)

        def __call__(self, x):
            return self.forward(x)

    class Sequential(Module):
        def __init__(self, *modules):
            super().__init__()
            for index, module in enumerate(modules):
                setattr(self, str(index), module)

        def forward(self, x):
            for module in self._modules.values():
                x = module(x)
            return x

    class Linear(Module):
        def __init__(self, inputs, outputs):
            super().__init__()
            self._parameters["weight"] = np.zeros((outputs, inputs), np.float32)
            self._parameters["bias"] = np.zeros(outputs, np.float32)

        def forward(self, x):
            assert x.ndim == 2 and x.shape[1] == self._parameters["weight"].shape[1]
            return x @ self._parameters["weight"].T + self._parameters["bias"]

    class ReLU(Module):
        def forward(self, x):
            return np.maximum(x, np.float32(0))

    class Flatten(Module):
        def forward(self, x):
            return x.reshape(x.shape[0], -1)

    class Conv2d(Module):
        def __init__(self, inputs, outputs, kernel_size):
            super().__init__()
            self._parameters["weight"] = np.zeros((outputs, inputs, kernel_size, kernel_size), np.float32)
            self._parameters["bias"] = np.zeros(outputs, np.float32)

        def forward(self, x):
            k = self._parameters["weight"].shape[-1]
            windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
            return np.einsum("ncijkl,ockl->noij", windows, self._parameters["weight"]) + self._parameters["bias"][None, :, None, None]

    class MaxPool2d(Module):
        def __init__(self, size):
            super().__init__()
            self.size = size

        def forward(self, x):
            n, c, h, w = x.shape
            s = self.size
            return x[:, :, : h // s * s, : w // s * s].reshape(n, c, h // s, s, w // s, s).max(axis=(3, 5))

    for cls in (Module, Sequential, Linear, ReLU, Flatten, Conv2d, MaxPool2d):
        setattr(nn, cls.__name__, cls)
    torch.nn = nn
    torch.flatten = lambda x, start_dim=0: x.reshape(x.shape[:start_dim] + (-1,))
    torch.float32 = np.float32
    torch.from_numpy = lambda x: x
    torch.no_grad = lambda: types.SimpleNamespace(__enter__=lambda *a: None, __exit__=lambda *a: None)
    safetensors_torch = types.ModuleType("safetensors.torch")
    safetensors_torch.load_file = lambda path: numpy_load_file(path)
    return {"torch": torch, "torch.nn": nn, "safetensors.torch": safetensors_torch}


def mnist_test_pixels():
    with gzip.open(ROOT / "samples" / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28).astype(np.float32)


def test_readme_module_matches_idzip_eval(idzip, tmp_path, monkeypatch):
    real = os.environ.get("IDZIP_REAL_TORCH") == "1"
    if not real:
        for name, module in fake_torch().items():
            monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.chdir(tmp_path)
    idzip("expand", SAMPLE, "-o", tmp_path / "weights.safetensors")
    idzip("eval", SAMPLE, "--data", "mnist", "--predictions", tmp_path / "p.txt")
    expected = np.array([int(line) for line in (tmp_path / "p.txt").read_text().split()])

    namespace = {}
    exec(compile(readme_block(), "README.md (torch module)", "exec"), namespace)
    model = namespace["model"]
    pixels = mnist_test_pixels()
    if real:
        import torch

        with torch.no_grad():
            logits = model(torch.from_numpy(pixels)).numpy()
    else:
        logits = model(pixels)
    predicted = logits.argmax(axis=1)
    top2 = np.sort(logits, axis=1)[:, -2:]
    near_tie = (top2[:, 1] - top2[:, 0]) < 1e-4
    differ = predicted != expected
    assert len(expected) == 10_000
    assert not np.any(differ & ~near_tie), "predictions differ where the decision is not a near tie"
    assert differ.sum() <= 2


def test_strict_load_refuses_other_names(tmp_path, monkeypatch):
    """The stand-in is strict as torch is: a renamed tensor or another shape is refused."""
    for name, module in fake_torch().items():
        monkeypatch.setitem(sys.modules, name, module)
    torch = sys.modules["torch"]
    module = torch.nn.Sequential(torch.nn.Linear(4, 3))
    good = {"0.weight": np.ones((3, 4), np.float32), "0.bias": np.ones(3, np.float32)}
    module.load_state_dict(good, strict=True)
    with pytest.raises(RuntimeError):
        module.load_state_dict({"layers.0.weight": good["0.weight"], "0.bias": good["0.bias"]}, strict=True)
    with pytest.raises(RuntimeError):
        module.load_state_dict({"0.weight": np.ones((4, 3), np.float32), "0.bias": good["0.bias"]}, strict=True)
