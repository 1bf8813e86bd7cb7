"""Format version 2 (Formats/idz-v2.md): the reference's range coder against the spec's
vectors, and the reference and the Python package against idzip, byte for byte, on coded
and compact files (the committed samples and freshly written ones)."""
import hashlib
import json
import pathlib

import numpy as np
import pytest

from idz_reference import check_idz, expand, rc_decode, rc_encode, read_idz
from make_range_coder_vectors import rescale_symbols

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "Formats" / "test-vectors" / "range-coder.json").read_text())["vectors"]
SAMPLES = ROOT / "Formats" / "samples"


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_the_reference_codes_every_vector(vector):
    if "symbols" in vector:
        coded = rc_encode(vector["symbols"], vector["levels"])
        assert coded.hex() == vector["coded_hex"]
        assert rc_decode(coded, len(vector["symbols"]), vector["levels"]) == vector["symbols"]
    else:
        symbols = rescale_symbols(vector["count"])
        coded = rc_encode(symbols, vector["levels"])
        assert len(coded) == vector["coded_bytes"]
        assert hashlib.sha256(coded).hexdigest() == vector["coded_sha256"]
        assert coded[:16].hex() == vector["coded_prefix_hex"]


def test_the_worked_example_of_the_spec():
    text = (ROOT / "Formats" / "idz-v2.md").read_text()
    assert "0 1 0 0 1 1 1 0 code to the two bytes `61 39`" in text
    assert rc_encode([0, 1, 0, 0, 1, 1, 1, 0], 2) == bytes([0x61, 0x39])


def _sums():
    lines = (SAMPLES / "SHA256SUMS-weights").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines)}


V2_SAMPLES = sorted(p.name for p in SAMPLES.glob("*.idz") if "codebook" in p.name or "compact" in p.name)


def test_there_are_version_2_samples():
    assert len(V2_SAMPLES) >= 3


@pytest.mark.parametrize("name", V2_SAMPLES)
def test_the_reference_expands_the_version_2_samples(idzip, tmp_path, name):
    data = (SAMPLES / name).read_bytes()
    assert data[8] == 2 and check_idz(data) == "ok"
    model = read_idz(data)
    theta, digest = expand(model)
    assert digest.hex() == _sums()[name]
    idzip("expand", SAMPLES / name, "-o", tmp_path / "w.npy")
    assert np.load(tmp_path / "w.npy").tobytes() == theta.tobytes()


CASES = [
    ("fc:30-12-5", "fastfood", 9, "codebook:4", "compact"),
    ("fc:30-12-5", "sparse", 16, "codebook:16", "standard"),
    ("fc:30-12-5", "dense", 7, "float32", "compact:8"),
    ("fc:30-12-5", "sparse", 11, "int8", "compact:32"),
    ("lenet:1x16x16:3", "fastfood", 40, "codebook:64", "compact:4"),
    ("lenet:1x16x16:3", "sparse", 5, "float16", "compact:16"),
    ("toy", "fastfood", 10, "codebook:1", "compact"),
]


@pytest.mark.parametrize("spec,projection,dim,encoding,container", CASES)
def test_the_reference_and_the_package_match_idzip(idzip, tmp_path, spec, projection, dim, encoding, container):
    import sys
    sys.path.insert(0, str(ROOT / "python"))
    import idzip as package

    model_path = tmp_path / "m.idz"
    idzip("create", "--model", spec, "--projection", projection, "--theta-scale", "0.3", "--seed", "5",
          "--projection-seed", "77", "--encoding", encoding, "--container", container, "--dim", dim, "-o", model_path)
    data = model_path.read_bytes()
    assert data[8] == (1 if encoding in ("float32", "float16", "int8") and container == "standard" else 2)
    assert check_idz(data) == "ok"
    model = read_idz(data)
    theta, digest = expand(model)
    assert digest.startswith(model["weights_sha256"])
    idzip("expand", model_path, "-o", tmp_path / "w.npy")
    swift_theta = np.load(tmp_path / "w.npy")
    assert swift_theta.tobytes() == theta.tobytes()
    loaded = package.read(str(model_path))
    assert loaded.expand().tobytes() == theta.tobytes()
    assert loaded.theta_d.tobytes() == model["theta_d"].tobytes()
