"""`idzip export --format c` writes a C99 header that gcc compiles with every warning as an
error; its arrays are the expanded weights bit for bit, and its idz_predict, run on raw MNIST
test images (bytes 0 ... 255 as floats), gives `idzip eval --predictions`' classes and logits
within a stated tolerance of an independent float64 numpy forward pass."""
import gzip
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file

from test_numpy_inference import LENET, forward

ROOT = pathlib.Path(__file__).resolve().parents[2]
GCC = shutil.which("gcc")
CFLAGS = ["-O2", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"]

MAIN = r"""
#include <stdio.h>
#define IDZ_IMPLEMENTATION
#include "model.h"

int check_macros(void);

/* Reads rows of IDZ_INPUT_SIZE float32 raw inputs from argv[1], writes the logits to argv[2]
 * and the predicted classes, one a line, to standard output. */
int main(int argc, char **argv)
{
    static float raw[IDZ_INPUT_SIZE];
    float logits[IDZ_OUTPUT_SIZE];
    FILE *in, *out;
    if (argc != 3 || !check_macros()) return 2;
    in = fopen(argv[1], "rb");
    out = fopen(argv[2], "wb");
    if (!in || !out) return 3;
    while (fread(raw, sizeof(float), IDZ_INPUT_SIZE, in) == (size_t)IDZ_INPUT_SIZE) {
        printf("%d\n", idz_predict(raw, logits));
        if (fwrite(logits, sizeof(float), IDZ_OUTPUT_SIZE, out) != IDZ_OUTPUT_SIZE) return 4;
    }
    return fclose(out) == 0 && fclose(in) == 0 ? 0 : 5;
}
"""

# A second file includes the header without IDZ_IMPLEMENTATION: macros and prototype only.
OTHER = r"""
#include "model.h"

int check_macros(void)
{
    static const long input_shape[IDZ_INPUT_RANK] = IDZ_INPUT_SHAPE;
    static const long weight_shape[] = IDZ_LAYERS_%d_WEIGHT_SHAPE;
    long count = 1;
    int i;
    for (i = 0; i < IDZ_INPUT_RANK; ++i) count *= input_shape[i];
    return count == IDZ_INPUT_SIZE && weight_shape[0] > 0 && sizeof(IDZ_WEIGHTS_SHA256) == 65;
}
"""


def mnist_test_raw():
    with gzip.open(ROOT / "samples" / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        data = f.read()
    assert int.from_bytes(data[0:4], "big") == 0x803
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 1, 28, 28)


def header_arrays(text):
    """The header's static const float arrays: C name -> float32 values, exactly."""
    arrays = {}
    for name, body in re.findall(r"static const float (layers_\w+)\[\w+\] = \{(.*?)\};", text, re.S):
        values = [float.fromhex(token.strip().rstrip("f")) for token in body.split(",")]
        arrays[name] = np.array(values, dtype=np.float64).astype(np.float32)
        assert np.array_equal(arrays[name].astype(np.float64), values), "%s holds a value that is not a float32" % name
    return arrays


@pytest.mark.skipif(GCC is None, reason="gcc is not installed (scripts/install-dependencies.sh installs it)")
@pytest.mark.parametrize("model,layers,first_weighted,extra", [
    ("fc:784-64-10", ["dense", "relu", "dense"], 0, ["--dim", "200"]),
    ("lenet", LENET, 0, ["--dim", "100"]),
])
def test_c_header_matches_idzip_eval(idzip, tmp_path, model, layers, first_weighted, extra):
    idz = tmp_path / "m.idz"
    idzip("train", "--model", model, "--data", "mnist", "--train-fraction", "0.1", "--epochs", "1", *extra, "-o", idz)
    exported = idzip("export", idz, "--format", "c", "-o", tmp_path / "model.h")
    assert exported.stdout.startswith("exported ") and exported.stdout.count("\n") == 1
    idzip("expand", idz, "-o", tmp_path / "w.safetensors")
    idzip("eval", idz, "--data", "mnist", "--predictions", tmp_path / "p.txt")
    expected = np.array([int(line) for line in (tmp_path / "p.txt").read_text().split()])

    # The arrays are the expanded weights, bit for bit, with their shapes.
    text = (tmp_path / "model.h").read_text()
    tensors = load_file(str(tmp_path / "w.safetensors"))
    arrays = header_arrays(text)
    assert sorted(arrays) == sorted(name.replace(".", "_") for name in tensors)
    for name, values in tensors.items():
        c_name = name.replace(".", "_")
        assert arrays[c_name].tobytes() == values.astype("<f4").ravel().tobytes(), name
        shape = "{" + ", ".join(map(str, values.shape)) + "}"
        assert "#define IDZ_%s_SHAPE %s\n" % (c_name.upper(), shape) in text

    # gcc, every warning an error; one file with the implementation, one without.
    (tmp_path / "main.c").write_text(MAIN)
    (tmp_path / "other.c").write_text(OTHER % first_weighted)
    subprocess.run([GCC, *CFLAGS, "-o", tmp_path / "predict", tmp_path / "main.c", tmp_path / "other.c", "-lm"],
                   cwd=tmp_path, check=True, capture_output=True, text=True)

    images = mnist_test_raw()
    images.astype(np.float32).tofile(tmp_path / "raw.f32")
    run = subprocess.run([tmp_path / "predict", tmp_path / "raw.f32", tmp_path / "logits.f32"],
                         check=True, capture_output=True, text=True)
    predicted = np.array([int(line) for line in run.stdout.split()])
    logits = np.fromfile(tmp_path / "logits.f32", dtype=np.float32).reshape(len(images), -1)

    # Against an independent float64 forward pass over the expanded weights, with the
    # recorded preprocessing (bytes / 255, mean 0, std 1: idzip's default for MNIST).
    x = images.astype(np.float64) / 255.0
    if layers[0] == "dense":
        x = x.reshape(len(x), -1)
    weights64 = {name: value.astype(np.float64) for name, value in tensors.items()}
    reference = np.concatenate([forward(layers, weights64, x[i:i + 1000]) for i in range(0, len(x), 1000)])
    error = np.abs(logits - reference) / (1 + np.abs(reference))
    assert error.max() < 1e-4, "logits differ from the float64 reference by %g (relative to 1 + |logit|)" % error.max()
    assert np.array_equal(predicted, logits.argmax(axis=1))

    # The classes are idzip eval's, except at most a few near ties (logits within 1e-4).
    assert len(predicted) == len(expected) == 10_000
    top2 = np.sort(reference, axis=1)[:, -2:]
    near_tie = (top2[:, 1] - top2[:, 0]) < 1e-4
    differ = predicted != expected
    assert not np.any(differ & ~near_tie), "idz_predict and idzip eval disagree where the decision is not a near tie"
    assert differ.sum() <= 2
    print("%s: %d of %d predictions equal to idzip eval, logits within %.2g of float64" % (
        model, (~differ).sum(), len(expected), error.max()))
