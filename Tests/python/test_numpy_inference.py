"""An independent numpy forward pass over the weights `idzip expand` writes gives the same
predictions as `idzip eval` (PyTorch layouts: NCHW activations, [out, in] dense weights,
[out, in, k, k] convolution weights, C-order flatten)."""
import gzip
import pathlib

import numpy as np
import pytest
from safetensors.numpy import load_file

ROOT = pathlib.Path(__file__).resolve().parents[2]


def mnist_test_images():
    with gzip.open(ROOT / "samples" / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        data = f.read()
    assert int.from_bytes(data[0:4], "big") == 0x803
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255)


def conv2d_valid(x, w, b):
    n, c, h, width = x.shape
    out_c, _, k, _ = w.shape
    oh, ow = h - k + 1, width - k + 1
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # n, c, oh, ow, k, k
    return np.einsum("ncijkl,ockl->noij", windows, w, optimize=True) + b[None, :, None, None]


def maxpool2(x):
    n, c, h, w = x.shape
    x = x[:, :, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def forward(layers, tensors, x):
    for index, layer in enumerate(layers):
        if layer == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif layer == "relu":
            x = np.maximum(x, 0)
        elif layer == "pool":
            x = maxpool2(x)
        elif layer == "conv":
            x = conv2d_valid(x, tensors["layers.%d.weight" % index], tensors["layers.%d.bias" % index])
        elif layer == "dense":
            x = x @ tensors["layers.%d.weight" % index].T + tensors["layers.%d.bias" % index]
    return x


LENET = ["conv", "relu", "pool", "conv", "relu", "pool", "flatten", "dense", "relu", "dense", "relu", "dense"]


@pytest.mark.parametrize("model,layers,extra", [
    ("fc:784-32-10", ["dense", "relu", "dense"], ["--dim", "300", "--learning-rate", "0.05"]),
    ("lenet", LENET, []),
])
def test_numpy_forward_matches_idzip_eval(idzip, tmp_path, model, layers, extra):
    out = tmp_path / "m.idz"
    idzip("train", "--model", model, "--data", "mnist", "--train-fraction", "0.05", "--epochs", "1", *extra, "-o", out)
    idzip("expand", out, "-o", tmp_path / "w.safetensors")
    idzip("eval", out, "--data", "mnist", "--predictions", tmp_path / "p.txt")
    expected = np.array([int(line) for line in (tmp_path / "p.txt").read_text().split()])

    tensors = load_file(str(tmp_path / "w.safetensors"))
    x = mnist_test_images()
    if layers[0] == "dense":
        x = x.reshape(len(x), -1)
    logits = np.concatenate([forward(layers, tensors, x[i:i + 1000]) for i in range(0, len(x), 1000)])
    predicted = logits.argmax(axis=1)
    top2 = np.sort(logits, axis=1)[:, -2:]
    close = (top2[:, 1] - top2[:, 0]) < 1e-3
    differ = predicted != expected
    assert len(expected) == 10_000
    assert not np.any(differ & ~close), "predictions differ where the decision is not a near tie"
    assert differ.sum() <= 3
