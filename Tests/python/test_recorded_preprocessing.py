"""The preprocessing a model records is exactly what training applied (issue 10, section 6).

Outside idzip, numpy reads the recorded preprocessing (from `idzip info --json`, from the
safetensors metadata and from the .npy.json sidecar that `idzip expand` writes), applies it
to the raw inputs, x = (raw * input_scale - mean[c]) / std[c] in float32, runs the network
on the expanded weights and must get idzip's own predictions (`idzip eval --predictions`),
for uint8 IDX data (MNIST) and for float32 .npy features, with the default preprocessing
and with an explicit `--scale/--mean/--std`.
"""
import gzip
import json
import pathlib

import numpy as np
import pytest
from safetensors import safe_open

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = "fc:784-32-10"


def mnist(kind, count):
    prefix = "train" if kind == "train" else "t10k"
    with gzip.open(ROOT / "samples" / "mnist" / f"{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(ROOT / "samples" / "mnist" / f"{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images[:count], labels[:count]


def preprocess(raw, recorded):
    """The recorded formula, written from its description alone, in float32."""
    scale = np.float32(recorded["input_scale"])
    mean = np.asarray(recorded["mean"], np.float32)
    std = np.asarray(recorded["std"] if "std" in recorded else recorded["standard_deviation"], np.float32)
    assert mean.shape == std.shape == (1,)
    return (raw.astype(np.float32) * scale - mean[0]) / std[0]


def logits(tensors, x):
    hidden = np.maximum(x @ tensors["layers.0.weight"].T + tensors["layers.0.bias"], 0)
    return hidden @ tensors["layers.2.weight"].T + tensors["layers.2.bias"]


def check(idzip, tmp_path, model_path, raw, data_args, expect_scale=None, expect_mean=None, expect_std=None):
    info = json.loads(idzip("info", model_path, "--json").stdout)["preprocessing"]
    if expect_scale is not None:
        assert np.float32(info["input_scale"]) == np.float32(expect_scale)
    if expect_mean is not None:
        assert np.array_equal(np.float32(info["mean"]), np.float32(expect_mean))
    if expect_std is not None:
        assert np.array_equal(np.float32(info["standard_deviation"]), np.float32(expect_std))

    idzip("expand", model_path, "-o", tmp_path / "w.safetensors")
    with safe_open(str(tmp_path / "w.safetensors"), "numpy") as f:
        tensors = {key: f.get_tensor(key) for key in f.keys()}
        metadata = f.metadata()
    from_safetensors = json.loads(metadata["idzip.preprocessing"])
    assert metadata["idzip.architecture"] == MODEL

    idzip("expand", model_path, "-o", tmp_path / "w.npy")
    sidecar = json.loads((tmp_path / "w.npy.json").read_text())
    assert sidecar["architecture"] == MODEL
    flat = np.load(tmp_path / "w.npy")
    assert flat.shape == (sidecar["parameters"],)

    idzip("eval", model_path, *data_args, "--predictions", tmp_path / "p.txt")
    expected = np.array([int(line) for line in (tmp_path / "p.txt").read_text().split()])
    for recorded in (info, from_safetensors, sidecar["preprocessing"]):
        out = logits(tensors, preprocess(raw, recorded))
        predicted = out.argmax(axis=1)
        top2 = np.sort(out, axis=1)[:, -2:]
        near_tie = (top2[:, 1] - top2[:, 0]) < 1e-4
        differ = predicted != expected
        assert not np.any(differ & ~near_tie), "predictions differ where the decision is not a near tie"
        assert differ.sum() <= 2
    # The .npy weights with their sidecar evaluate without --model, to the same predictions.
    idzip("eval", tmp_path / "w.npy", *data_args, "--predictions", tmp_path / "q.txt")
    assert (tmp_path / "q.txt").read_text() == (tmp_path / "p.txt").read_text()
    return expected


@pytest.mark.parametrize("explicit", [False, True])
def test_uint8_idx(idzip, tmp_path, explicit):
    extra = ["--scale", "0.00392156862745098", "--mean", "0.1307", "--std", "0.3081"] if explicit else []
    model = tmp_path / "m.idz"
    idzip("train", "--model", MODEL, "--data", "mnist", "--train-fraction", "0.05", "--epochs", "1", "--dim", "300",
          "--learning-rate", "0.05", *extra, "-o", model)
    raw, _ = mnist("test", 10_000)
    if explicit:
        check(idzip, tmp_path, model, raw, ["--data", "mnist"], 1 / 255, [0.1307], [0.3081])
    else:
        check(idzip, tmp_path, model, raw, ["--data", "mnist"], 1 / 255, [0], [1])


@pytest.mark.parametrize("explicit", [False, True])
def test_float_npy(idzip, tmp_path, explicit):
    """Float features far from [0, 1] (pixels x 3 + 5): scale 1 by default, or as given."""
    data = tmp_path / "data"
    data.mkdir()
    for kind, count in (("train", 3000), ("test", 2000)):
        images, labels = mnist(kind, count)
        np.save(data / f"{kind}_x.npy", images.astype(np.float32) * np.float32(3) + np.float32(5))
        np.save(data / f"{kind}_y.npy", labels.astype(np.int64))
    extra = ["--scale", "0.5", "--mean", "100", "--std", "200"] if explicit else []
    model = tmp_path / "m.idz"
    idzip("train", "--model", MODEL, "--data", data, "--epochs", "1", "--dim", "300", "--learning-rate", "0.05",
          *extra, "-o", model)
    raw = np.load(data / "test_x.npy")
    if explicit:
        check(idzip, tmp_path, model, raw, ["--data", data], 0.5, [100], [200])
    else:
        check(idzip, tmp_path, model, raw, ["--data", data], 1, [0], [1])
