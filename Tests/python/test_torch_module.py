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
import math
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


def _conv(x, weight, bias, stride=1, padding=0, groups=1):
    """Cross-correlation as torch.nn.functional.conv2d: x [N, C, H, W], weight [F, C/g, k, k]."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    k = weight.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    per_in, per_out = x.shape[1] // groups, weight.shape[0] // groups
    parts = [np.einsum("ncijkl,ockl->noij", windows[:, g * per_in:(g + 1) * per_in], weight[g * per_out:(g + 1) * per_out])
             for g in range(groups)]
    out = np.concatenate(parts, axis=1).astype(np.float32)
    return out if bias is None else out + bias[None, :, None, None]


def _pool(x, size, reduce):
    n, c, h, w = x.shape
    s = size
    return reduce(x[:, :, : h // s * s, : w // s * s].reshape(n, c, h // s, s, w // s, s), axis=(3, 5))


_erf = np.frompyfunc(math.erf, 1, 1)


def fake_torch():
    """The parts of torch the README block and the description modules use, in numpy, with
    torch's naming rules: parameters and buffers (BatchNorm's running statistics and its
    int64 num_batches_tracked) in state_dict, nested modules (add_module), strict loading."""
    torch = types.ModuleType("torch")
    nn = types.ModuleType("torch.nn")
    functional = types.ModuleType("torch.nn.functional")

    class Module:
        def __init__(self):
            object.__setattr__(self, "_modules", {})
            object.__setattr__(self, "_parameters", {})
            object.__setattr__(self, "_buffers", {})
            object.__setattr__(self, "training", True)

        def __setattr__(self, name, value):
            if isinstance(value, Module):
                self._modules[name] = value
            object.__setattr__(self, name, value)

        def add_module(self, name, module):
            self._modules[name] = module

        def __getattr__(self, name):
            modules = object.__getattribute__(self, "_modules")
            if name in modules:
                return modules[name]
            raise AttributeError(name)

        def state_dict(self, prefix=""):
            result = {prefix + name: value for name, value in self._parameters.items() if value is not None}
            result.update({prefix + name: value for name, value in self._buffers.items()})
            for name, module in self._modules.items():
                result.update(module.state_dict(prefix + name + "."))
            return result

        def load_state_dict(self, state, strict=True):
            own = self.state_dict()
            # As torch's BatchNorm: a missing num_batches_tracked is filled in, not an error.
            state = dict(state)
            for key in own:
                if key.endswith(".num_batches_tracked") and key not in state:
                    state[key] = own[key]
            missing = sorted(set(own) - set(state))
            unexpected = sorted(set(state) - set(own))
            if strict and (missing or unexpected):
                raise RuntimeError(f"Error(s) in loading state_dict: missing {missing}, unexpected {unexpected}")
            for key, value in state.items():
                if key in own and tuple(own[key].shape) != tuple(np.shape(value)):
                    raise RuntimeError(f"size mismatch for {key}: {np.shape(value)} vs {own[key].shape}")
            for key in own:
                if key in state:
                    self._assign(key.split("."), np.asarray(state[key]))

        def _assign(self, path, value):
            if len(path) == 1:
                target = self._parameters if path[0] in self._parameters else self._buffers
                target[path[0]][...] = value.astype(target[path[0]].dtype)
            else:
                self._modules[path[0]]._assign(path[1:], value)

        def get_submodule(self, path):
            module = self
            for part in path.split("."):
                module = module._modules[part]
            return module

        def eval(self):
            object.__setattr__(self, "training", False)
            for module in self._modules.values():
                module.eval()
            return self

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
        def __init__(self, inputs, outputs, kernel_size, stride=1, padding=0, groups=1, bias=True):
            super().__init__()
            assert inputs % groups == 0 and outputs % groups == 0
            self.settings = (stride, padding, groups)
            self._parameters["weight"] = np.zeros((outputs, inputs // groups, kernel_size, kernel_size), np.float32)
            self._parameters["bias"] = np.zeros(outputs, np.float32) if bias else None

        def forward(self, x):
            stride, padding, groups = self.settings
            return _conv(x, self._parameters["weight"], self._parameters["bias"], stride, padding, groups)

    class MaxPool2d(Module):
        def __init__(self, size):
            super().__init__()
            self.size = size

        def forward(self, x):
            return _pool(x, self.size, np.max)

    class _BatchNorm(Module):
        def __init__(self, channels, eps=1e-5, momentum=0.1):
            super().__init__()
            self.eps = eps
            self._parameters["weight"] = np.ones(channels, np.float32)
            self._parameters["bias"] = np.zeros(channels, np.float32)
            self._buffers["running_mean"] = np.zeros(channels, np.float32)
            self._buffers["running_var"] = np.ones(channels, np.float32)
            self._buffers["num_batches_tracked"] = np.zeros((), np.int64)

        def forward(self, x):
            assert not self.training, "the stand-in implements inference only"
            shape = (1, -1) + (1,) * (x.ndim - 2)
            b = self._buffers
            scale = (self._parameters["weight"] / np.sqrt(b["running_var"] + np.float32(self.eps))).astype(np.float32)
            return ((x - b["running_mean"].reshape(shape)) * scale.reshape(shape)
                    + self._parameters["bias"].reshape(shape)).astype(np.float32)

    class BatchNorm2d(_BatchNorm):
        pass

    class BatchNorm1d(_BatchNorm):
        pass

    functional.relu = lambda x: np.maximum(x, np.float32(0))
    functional.leaky_relu = lambda x, slope=0.01: np.where(x >= 0, x, x * np.float32(slope)).astype(np.float32)
    functional.gelu = lambda x: (0.5 * x.astype(np.float64) * (1 + _erf(x.astype(np.float64) / math.sqrt(2)).astype(np.float64))).astype(np.float32)
    functional.dropout = lambda x, rate, training: x if not training else None
    functional.max_pool2d = lambda x, size: _pool(x, size, np.max)
    functional.avg_pool2d = lambda x, size: _pool(x, size, np.mean).astype(np.float32)

    def adaptive_avg_pool2d(x, size):
        assert size == 1
        return x.mean(axis=(2, 3), keepdims=True).astype(np.float32)

    functional.adaptive_avg_pool2d = adaptive_avg_pool2d
    for cls in (Module, Sequential, Linear, ReLU, Flatten, Conv2d, MaxPool2d, BatchNorm2d, BatchNorm1d):
        setattr(nn, cls.__name__, cls)
    nn.functional = functional
    torch.nn = nn
    torch.flatten = lambda x, start_dim=0: x.reshape(x.shape[:start_dim] + (-1,))
    torch.tanh = lambda x: np.tanh(x).astype(np.float32)
    torch.relu = lambda x: np.maximum(x, np.float32(0))
    torch.tensor = lambda values: np.asarray(values, np.float32)
    torch.sigmoid = lambda x: (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32)
    torch.float32 = np.float32
    torch.from_numpy = lambda x: x
    torch.no_grad = lambda: types.SimpleNamespace(__enter__=lambda *a: None, __exit__=lambda *a: None)
    safetensors_torch = types.ModuleType("safetensors.torch")
    safetensors_torch.load_file = lambda path: numpy_load_file(path)
    return {"torch": torch, "torch.nn": nn, "torch.nn.functional": functional, "safetensors.torch": safetensors_torch}


def mnist_test_pixels():
    with gzip.open(ROOT / "samples" / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28).astype(np.float32)


def assert_predicts_like_idzip(model, expected, real):
    """`model` (real torch or the stand-in) classifies the 10,000 MNIST test images as
    `idzip eval` did (`expected`), except at most 2 near ties (top two logits within 1e-4)."""
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
    assert_predicts_like_idzip(model, expected, real)


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


DESCRIPTIONS = ROOT / "Tests" / "python" / "fixtures" / "architectures"


def test_stand_in_convolution_matches_a_direct_loop():
    """The stand-in's strided, padded, grouped convolution against the definition."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 7, 6)).astype(np.float32)
    for stride, padding, groups in ((1, 0, 1), (2, 1, 1), (2, 2, 2), (1, 1, 4), (3, 0, 4)):
        weight = rng.standard_normal((8, 4 // groups, 3, 3)).astype(np.float32)
        bias = rng.standard_normal(8).astype(np.float32)
        got = _conv(x, weight, bias, stride, padding, groups)
        padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        h = (7 + 2 * padding - 3) // stride + 1
        w = (6 + 2 * padding - 3) // stride + 1
        want = np.zeros((2, 8, h, w))
        per_in, per_out = 4 // groups, 8 // groups
        for n in range(2):
            for o in range(8):
                g = o // per_out
                for i in range(h):
                    for j in range(w):
                        window = padded[n, g * per_in:(g + 1) * per_in, i * stride:i * stride + 3, j * stride:j * stride + 3]
                        want[n, o, i, j] = (window * weight[o]).sum() + bias[o]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_description_module_names_every_tensor_and_buffer(monkeypatch):
    """The generator's module has PyTorch's state_dict for the hand-written description:
    nested names, no bias where bias is false, BatchNorm buffers with num_batches_tracked."""
    import json

    sys.path.insert(0, str(ROOT / "Tests" / "python"))
    from torch_from_description import build

    for name, module in fake_torch().items():
        monkeypatch.setitem(sys.modules, name, module)
    torch = sys.modules["torch"]
    description = json.loads((DESCRIPTIONS / "small-residual.json").read_text())
    model = build(description, torch).eval()
    state = {key: tuple(np.shape(value)) for key, value in model.state_dict().items()}
    assert state["stem.conv.weight"] == (4, 1, 3, 3) and "stem.conv.bias" not in state
    assert state["block.conv1.weight"] == (4, 1, 3, 3)
    assert state["down.conv.weight"] == (8, 4, 3, 3) and state["down.conv.bias"] == (8,)
    assert state["stem.bn.running_var"] == (4,) and state["stem.bn.num_batches_tracked"] == ()
    assert state["fc1_bn.running_mean"] == (16,)
    assert state["head.weight"] == (10, 16)
    assert len(state) == 26
    x = np.random.default_rng(0).standard_normal((3, 1, 12, 12)).astype(np.float32)
    assert model(x).shape == (3, 10)
