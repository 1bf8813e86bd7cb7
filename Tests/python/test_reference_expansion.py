"""The independent Python implementation of the spec (idz_reference.py) reads files that
idzip writes and expands them to the same bytes as `idzip expand`."""
import numpy as np
import pytest
from safetensors.numpy import load_file

from idz_reference import buffers_v3, expand, read_idz, tensors

import pathlib

RESIDUAL = str(pathlib.Path(__file__).parent / "fixtures" / "architectures" / "small-residual.json")

CASES = [
    ("fc:30-12-5", "fastfood", 9, "float32"),
    ("fc:30-12-5", "fastfood", 16, "float16"),
    ("fc:30-12-5", "dense", 7, "float32"),
    ("fc:30-12-5", "sparse", 11, "int8"),
    ("lenet:1x16x16:3", "fastfood", 40, "float32"),
    ("lenet:1x16x16:3", "sparse", 5, "float32"),
    ("toy", "fastfood", 10, "float32"),
    ("fc:20-6-3", "identity", None, "float32"),
    # Format version 3 (Formats/idz-v3.md): every new layer type, names, a branch, buffers.
    (RESIDUAL, "fastfood", 40, "float32"),
    ("mnist-bn:1x12x12:4", "sparse", 12, "float16"),
]


@pytest.mark.parametrize("spec,projection,dim,encoding", CASES)
def test_python_reference_matches_idzip(idzip, tmp_path, spec, projection, dim, encoding):
    model_path = tmp_path / "m.idz"
    args = ["create", "--model", spec, "--projection", projection, "--theta-scale", "0.3",
            "--seed", "5", "--projection-seed", "77", "--encoding", encoding, "-o", model_path]
    if dim is not None:
        args += ["--dim", dim]
    idzip(*args)
    model = read_idz(model_path.read_bytes())
    theta, digest = expand(model)
    assert digest == model["weights_sha256"], "the reference reproduces the digest idzip recorded"

    if model.get("buffers") is not None and len(model["buffers"]):
        # One .npy vector of theta cannot hold batch norm's running statistics.
        assert idzip("expand", model_path, "-o", tmp_path / "w.npy", check=False).returncode == 1
    else:
        idzip("expand", model_path, "-o", tmp_path / "w.npy")
        swift_theta = np.load(tmp_path / "w.npy")
        assert swift_theta.dtype == np.float32 and swift_theta.shape == theta.shape
        assert swift_theta.tobytes() == theta.tobytes()

    idzip("expand", model_path, "-o", tmp_path / "w.safetensors")
    named = load_file(str(tmp_path / "w.safetensors"))
    offset = 0
    for name, shape, *_ in tensors(model):
        count = int(np.prod(shape))
        assert list(named[name].shape) == shape
        assert named[name].tobytes() == theta[offset:offset + count].tobytes()
        offset += count
    assert offset == len(theta)
    if model.get("version", 1) >= 3:
        buffers = buffers_v3(model)
        assert buffers, "a version 3 model with batch norm has buffers"
        for name, values in buffers:
            assert named[name].dtype == values.dtype and named[name].tobytes() == values.tobytes(), name
        assert set(named) == {t[0] for t in tensors(model)} | {b[0] for b in buffers}


def test_python_reference_reads_the_spec_test_vector():
    """Section 17 of the spec: the complete file in hex, float32 theta_d in byte planes."""
    import pathlib
    text = (pathlib.Path(__file__).parents[2] / "Formats" / "idz-v1.md").read_text()
    block = text.split("<!-- test-vector:begin -->")[1].split("<!-- test-vector:end -->")[0]
    data = bytes(int(field, 16) for line in block.splitlines() if line and not line.startswith("```")
                 for field in line.split()[1:])
    assert len(data) == 455
    model = read_idz(data)
    expected = np.arange(23, dtype=np.float32) * np.float32(0.01) - np.float32(0.1)
    assert model["theta_d"].tobytes() == expected.tobytes()
    theta, digest = expand(model)
    assert digest == model["weights_sha256"]
    assert digest.hex() == "62b7c70cf1e333cf7552c69a2d6c7819613cbfcab201e8476fe99871e72d4c2c"
