"""`idzip export --format onnx` writes a valid ONNX model that onnxruntime runs on raw MNIST
pixels (float32 0..255, the preprocessing is in the graph) to the same answers as idzip:

- predictions agree with `idzip eval --predictions` on >= 99.9% of the 10,000 test images,
  and any disagreement is a near tie (top-two logits within 1e-3); the mean cross-entropy
  of onnxruntime's logits is `idzip eval`'s loss within 1e-5 relative;
- logits agree with a float64 numpy forward pass over the weights `idzip expand` writes
  (the cross-check of test_numpy_inference.py) within 1e-3 absolute + 1e-4 relative.

Models are trained for one short epoch (5% of the training set) so that ties are rare."""
import gzip
import json
import pathlib

import numpy as np
import onnx
import onnxruntime
import pytest
from safetensors.numpy import load_file

from test_numpy_inference import LENET, forward

ROOT = pathlib.Path(__file__).resolve().parents[2]
ABSOLUTE, RELATIVE = 1e-3, 1e-4


def mnist_test_pixels():
    """The raw test images, bytes as float32 0..255, [10000, 1, 28, 28]."""
    with gzip.open(ROOT / "samples" / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        data = f.read()
    assert int.from_bytes(data[0:4], "big") == 0x803
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32)


def mnist_test_labels():
    with gzip.open(ROOT / "samples" / "mnist" / "t10k-labels-idx1-ubyte.gz") as f:
        return np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)


def run_onnx(path, pixels):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    return np.concatenate([session.run(["logits"], {"input": pixels[i:i + 2500]})[0] for i in range(0, len(pixels), 2500)])


@pytest.mark.parametrize("model,layers,extra", [
    ("fc:784-32-10", ["dense", "relu", "dense"], ["--dim", "300", "--learning-rate", "0.05"]),
    ("lenet", LENET, []),
])
def test_onnxruntime_matches_idzip(idzip, tmp_path, model, layers, extra):
    out = tmp_path / "m.idz"
    idzip("train", "--model", model, "--data", "mnist", "--train-fraction", "0.05", "--epochs", "1", *extra, "-o", out)
    report = json.loads(idzip("export", out, "--format", "onnx", "-o", tmp_path / "m.onnx", "--json").stdout)
    info = json.loads(idzip("info", "--json", out).stdout)
    assert report["verified"] and report["weights_sha256"] == info["weights_sha256"]
    assert report["bytes"] == (tmp_path / "m.onnx").stat().st_size

    graph = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(graph, full_check=True)
    assert graph.opset_import[0].version == 18 and graph.ir_version == 8
    assert [n.op_type for n in graph.graph.node[:3]] == ["Mul", "Sub", "Div"]

    pixels = mnist_test_pixels()
    if layers[0] == "dense":
        pixels = pixels.reshape(len(pixels), -1)
    logits = run_onnx(tmp_path / "m.onnx", pixels)
    assert logits.shape == (10_000, 10) and logits.dtype == np.float32

    # Against idzip itself: the predicted classes, and the mean cross-entropy (of idzip's own
    # float32 logits, which the command line does not print) within 1e-5 relative.
    evaluation = json.loads(idzip("eval", out, "--data", "mnist", "--predictions", tmp_path / "p.txt", "--json").stdout)
    expected = np.array([int(line) for line in (tmp_path / "p.txt").read_text().split()])
    top2 = np.sort(logits, axis=1)[:, -2:]
    differ = logits.argmax(axis=1) != expected
    assert not np.any(differ & ((top2[:, 1] - top2[:, 0]) >= 1e-3)), "predictions differ where the decision is not a near tie"
    assert differ.mean() <= 0.001
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    loss = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), mnist_test_labels()])
    assert abs(loss - evaluation["loss"]) <= 1e-5 * evaluation["loss"]

    # Against the numpy reference in float64 on the same float32 network inputs.
    preprocessing = info["preprocessing"]
    x = pixels * np.float32(preprocessing["input_scale"])
    x = (x - np.float32(preprocessing["mean"][0])) / np.float32(preprocessing["standard_deviation"][0])
    idzip("expand", out, "-o", tmp_path / "w.safetensors")
    tensors = {k: v.astype(np.float64) for k, v in load_file(str(tmp_path / "w.safetensors")).items()}
    reference = forward(layers, tensors, x.astype(np.float64))
    error = np.abs(logits - reference)
    assert np.all(error <= ABSOLUTE + RELATIVE * np.abs(reference)), f"max |logit difference| {error.max():.3g}"


def test_toy_model_is_refused(idzip, tmp_path):
    idzip("create", "--model", "toy", "--dim", "10", "--theta-scale", "1", "-o", tmp_path / "toy.idz")
    result = idzip("export", tmp_path / "toy.idz", "--format", "onnx", "-o", tmp_path / "toy.onnx", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "toy problem has no network" in result.stderr
    assert not (tmp_path / "toy.onnx").exists()
    bad = idzip("export", tmp_path / "toy.idz", "--format", "tflite", check=False)
    assert bad.returncode == 64


def conv2d(x, w, b, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w.shape[2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # n, c, oh, ow, k, k
    return np.einsum("ncijkl,ockl->noij", windows, w, optimize=True) + b[None, :, None, None]


def maxpool(x, size):
    n, c, h, w = x.shape
    x = x[:, :, : h // size * size, : w // size * size]
    return x.reshape(n, c, h // size, size, w // size, size).max(axis=(3, 5))


def forward_summary(summary, tensors, x):
    """A float64 forward pass from `idzip info`'s layer summary ("conv 3x3x4 same, relu, ...")."""
    for index, layer in enumerate(summary.split(", ")):
        kind, *rest = layer.split(" ")
        weight, bias = tensors.get("layers.%d.weight" % index), tensors.get("layers.%d.bias" % index)
        if kind == "conv":
            x = conv2d(x, weight, bias, (weight.shape[2] - 1) // 2 if rest[1] == "same" else 0)
        elif kind == "maxpool":
            x = maxpool(x, int(rest[0]))
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "flatten":
            x = x.reshape(len(x), -1)
        elif kind == "dense":
            x = x @ weight.T + bias
        else:
            raise AssertionError(f"unknown layer {layer}")
    return x.reshape(len(x), -1)


@pytest.mark.parametrize("fixture", ["conv-same-rgb.idz", "conv-image-output.idz", "fc-image.idz"])
def test_other_layer_kinds_run_in_onnxruntime(idzip, tmp_path, fixture):
    """Same padding, a pool dropping a partial window, per-channel preprocessing, an
    image-shaped FC input and a last output that is not flat (models written by
    Tests/IdzipCoreTests/OnnxExportTests.swift), on random bytes."""
    model = ROOT / "Tests" / "python" / "fixtures" / fixture
    idzip("export", model, "--format", "onnx", "-o", tmp_path / "m.onnx")
    graph = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(graph, full_check=True)
    info = json.loads(idzip("info", "--json", model).stdout)
    pixels = np.random.default_rng(5).integers(0, 256, size=(64, *info["input_shape"])).astype(np.float32)
    logits = run_onnx(tmp_path / "m.onnx", pixels)

    preprocessing = info["preprocessing"]
    channels = (-1, 1, 1) if len(preprocessing["mean"]) > 1 else (-1,)
    x = pixels * np.float32(preprocessing["input_scale"])
    x = (x - np.float32(preprocessing["mean"]).reshape(channels)) / np.float32(preprocessing["standard_deviation"]).reshape(channels)
    idzip("expand", model, "-o", tmp_path / "w.safetensors")
    tensors = {k: v.astype(np.float64) for k, v in load_file(str(tmp_path / "w.safetensors")).items()}
    reference = forward_summary(info["layer_summary"], tensors, x.astype(np.float64))
    assert logits.shape == reference.shape
    error = np.abs(logits - reference)
    assert np.all(error <= ABSOLUTE + RELATIVE * np.abs(reference)), f"max |logit difference| {error.max():.3g}"
