"""PyTorch parity of every preset and of a hand-written architecture file (issue 12).

For each network: a model with batch-norm statistics that are not the initial ones (trained
for one short epoch on a small data directory where the training engine allows, else
created with a random theta_d), its weights from `idzip expand` (safetensors, with the
buffers), and the module built from its description (`idzip info --description`) by the
independent generator torch_from_description.py: the module loads the weights with a
strict `load_state_dict`, and on the same raw inputs gives the probabilities `idzip
predict` prints within 2e-4 and the classes `idzip eval` predicts (a class may differ only
where the two best logits are within 1e-4 of each other). The module `idzip info --pytorch`
prints is run the same way.

By default torch is the numpy stand-in of test_torch_module.py (BatchNorm eval, strided,
padded and grouped Conv2d, pools, activations, nested modules); IDZIP_REAL_TORCH=1 (see
scripts/torch-parity.sh) runs the same tests with PyTorch.
"""
import json
import os
import sys

import numpy as np
import pytest

from test_torch_module import DESCRIPTIONS, ROOT, fake_torch, mnist_test_pixels
from torch_from_description import build

REAL = os.environ.get("IDZIP_REAL_TORCH") == "1"
# (model, input shape, examples): every preset that is a network, and the hand-written file.
CASES = [
    ("fc:784-64-10", (784,)),
    ("fc5", (784,)),
    ("lenet", (1, 28, 28)),
    ("lenet:3x32x32:10", (3, 32, 32)),
    ("mnist-bn", (1, 28, 28)),
    ("resnet20:1x28x28", (1, 28, 28)),
    ("resnet20", (3, 32, 32)),
    ("small-residual.json", (1, 12, 12)),
]
EXAMPLES = 48


@pytest.fixture
def torch_module(monkeypatch):
    if REAL:
        import torch
        return torch
    for name, module in fake_torch().items():
        monkeypatch.setitem(sys.modules, name, module)
    return sys.modules["torch"]


def _data_directory(path, shape, rng):
    """A data directory (train_x.npy, ...) of raw uint8 inputs: MNIST's first test images for
    28x28 inputs, random images otherwise; labels 0 to 9."""
    path.mkdir()
    if shape in ((784,), (1, 28, 28)):
        pixels = mnist_test_pixels()[:EXAMPLES].astype(np.uint8)
        test_x = pixels.reshape((EXAMPLES,) + shape)
    else:
        test_x = rng.integers(0, 256, (EXAMPLES,) + shape, dtype=np.uint8)
    train_x = rng.integers(0, 256, (64,) + shape, dtype=np.uint8)
    np.save(path / "train_x.npy", train_x)
    np.save(path / "train_y.npy", rng.integers(0, 10, 64).astype(np.uint8))
    np.save(path / "test_x.npy", test_x)
    np.save(path / "test_y.npy", rng.integers(0, 10, EXAMPLES).astype(np.uint8))
    return test_x


def _model(idzip, tmp_path, spec, data):
    """A trained subspace model (one epoch: batch-norm statistics move), or a created one."""
    model = tmp_path / "m.idz"
    trained = idzip("train", "--model", spec, "--data", data, "--dim", "40", "--epochs", "1", "--batch-size", "16",
                    "--seed", "3", "-o", model, check=False)
    if trained.returncode != 0:
        idzip("create", "--model", spec, "--dim", "40", "--theta-scale", "0.5", "--seed", "3", "-o", model)
    return model


@pytest.mark.parametrize("spec,shape", CASES, ids=[case[0] for case in CASES])
def test_pytorch_module_matches_idzip(idzip, tmp_path, torch_module, spec, shape):
    torch = torch_module
    if spec.endswith(".json"):
        spec = str(DESCRIPTIONS / spec)
    rng = np.random.default_rng(7)
    raw = _data_directory(tmp_path / "data", shape, rng)
    model_path = _model(idzip, tmp_path, spec, tmp_path / "data")
    info = json.loads(idzip("info", model_path, "--json").stdout)
    description = json.loads(idzip("info", model_path, "--description").stdout)
    idzip("expand", model_path, "-o", tmp_path / "w.safetensors")
    idzip("eval", model_path, "--data", tmp_path / "data", "--predictions", tmp_path / "p.txt")
    expected_classes = np.array([int(line) for line in (tmp_path / "p.txt").read_text().split()])
    np.save(tmp_path / "x.npy", raw.astype(np.float32))
    records = json.loads(idzip("predict", model_path, tmp_path / "x.npy", "--json").stdout)
    expected_probabilities = np.array([record["probabilities"] for record in records])

    from safetensors.torch import load_file

    state = load_file(str(tmp_path / "w.safetensors"))
    module = build(description, torch)
    module.load_state_dict(state, strict=True)
    module.eval()
    p = info["preprocessing"]
    x = raw.astype(np.float32).reshape((EXAMPLES,) + tuple(info["input_shape"]))
    mean, std = np.float32(p["mean"][0]), np.float32(p["standard_deviation"][0])
    x = ((x * np.float32(p["input_scale"]) - mean) / std).astype(np.float32)
    logits = _run(torch, module, x)
    printed = {}
    exec(compile(idzip("info", model_path, "--pytorch").stdout.replace("weights.safetensors", str(tmp_path / "w.safetensors")),
                 "idzip info --pytorch", "exec"), printed)
    printed_logits = _run(torch, printed["model"], raw.astype(np.float32))

    for name, values in (("generator", logits), ("idzip info --pytorch", printed_logits)):
        probabilities = np.exp(values - values.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        assert np.abs(probabilities - expected_probabilities).max() < 2e-4, name
        top2 = np.sort(values, axis=1)[:, -2:]
        differ = values.argmax(axis=1) != expected_classes
        assert not np.any(differ & ((top2[:, 1] - top2[:, 0]) >= 1e-4)), name


def _run(torch, module, x):
    if REAL:
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy().astype(np.float64)
    return np.asarray(module(x), np.float64)


def test_state_dict_has_the_buffers_pytorch_expects(idzip, tmp_path, torch_module):
    """The expansion carries every buffer under PyTorch's name and type (num_batches_tracked
    an int64 scalar, which torch would otherwise fill in silently); a strict load fails
    without a running variance."""
    torch = torch_module
    idzip("create", "--model", "mnist-bn", "--dim", "10", "-o", tmp_path / "m.idz")
    idzip("expand", tmp_path / "m.idz", "-o", tmp_path / "w.safetensors")
    from safetensors.torch import load_file

    state = load_file(str(tmp_path / "w.safetensors"))
    assert tuple(np.shape(state["bn1.num_batches_tracked"])) == ()
    assert str(state["bn1.num_batches_tracked"].dtype).endswith("int64")
    assert np.allclose(np.asarray(state["bn3.running_var"]), 1)
    module = build(json.loads(idzip("info", tmp_path / "m.idz", "--description").stdout), torch)
    module.load_state_dict(state, strict=True)
    del state["bn2.running_var"]
    with pytest.raises(RuntimeError):
        module.load_state_dict(state, strict=True)


@pytest.mark.parametrize("spec,shape", [case for case in CASES if case[0] not in ("fc5",)], ids=[c[0] for c in CASES if c[0] != "fc5"])
def test_both_modules_load_strictly_and_agree_with_the_stand_in(idzip, tmp_path, torch_module, spec, shape):
    """Without idzip's forward pass: the generator's module and the printed one load the
    expansion strictly and compute the same logits; with IDZIP_REAL_TORCH=1 both also match
    the numpy stand-in, which checks the stand-in's layers against PyTorch's."""
    torch = torch_module
    if spec.endswith(".json"):
        spec = str(DESCRIPTIONS / spec)
    idzip("create", "--model", spec, "--dim", "30", "--theta-scale", "0.5", "--seed", "4", "-o", tmp_path / "m.idz")
    idzip("expand", tmp_path / "m.idz", "-o", tmp_path / "w.safetensors")
    description = json.loads(idzip("info", tmp_path / "m.idz", "--description").stdout)
    raw = np.random.default_rng(5).integers(0, 256, (6,) + shape).astype(np.float32)
    x = raw.reshape((6,) + tuple(description["input_shape"])) * np.float32(1 / 255)
    from safetensors.torch import load_file

    module = build(description, torch)
    module.load_state_dict(load_file(str(tmp_path / "w.safetensors")), strict=True)
    module.eval()
    logits = _run(torch, module, x.astype(np.float32))
    printed = {}
    exec(compile(idzip("info", tmp_path / "m.idz", "--pytorch").stdout.replace("weights.safetensors", str(tmp_path / "w.safetensors")),
                 "idzip info --pytorch", "exec"), printed)
    assert np.abs(_run(torch, printed["model"], raw) - logits).max() < 1e-5
    if REAL:
        from safetensors.numpy import load_file as numpy_load_file

        stand_in = build(description, fake_torch()["torch"])
        stand_in.load_state_dict(numpy_load_file(str(tmp_path / "w.safetensors")), strict=True)
        stand_in.eval()
        assert np.abs(np.asarray(stand_in(x.astype(np.float32)), np.float64) - logits).max() < 1e-4
