"""The Python package (python/, `import idzip`): it reads and validates `.idz` files as the
Swift reader does (the hostile corpus, error kind for error kind) and expands them to the same
bytes as `idzip expand` and as the independent reference of this directory (idz_reference.py),
which the package does not import. `scripts/install-dependencies.sh` installs it (editable)
into .venv; nothing is installed here."""
import doctest
import hashlib
import json
import os
import pathlib
import struct
import zlib

import numpy as np
import pytest
from safetensors.numpy import load_file

import idzip
import idzip.projections
import idzip.random
from idz_random import Stream as ReferenceStream
from idz_reference import expand as reference_expand, read_idz as reference_read, tensors as reference_tensors

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "Formats" / "hostile"
SAMPLES = ROOT / "Formats" / "samples"


def test_the_package_is_this_checkouts():
    """An editable install of python/ (scripts/install-dependencies.sh), not a stale copy."""
    assert pathlib.Path(idzip.__file__).resolve() == ROOT / "python" / "idzip" / "__init__.py", (
        "idzip is imported from %s; run scripts/install-dependencies.sh" % idzip.__file__)
    for module in ("container", "random", "projections", "expand", "model", "architecture", "errors"):
        source = (ROOT / "python" / "idzip" / (module + ".py")).read_text()
        assert "idz_reference" not in source and "idz_random" not in source, "the package has its own code"


# MARK: Random streams


def test_random_streams_match_the_committed_vectors():
    """Formats/test-vectors/random.json (written by the reference, checked by the Swift tests)."""
    cases = json.loads((ROOT / "Formats" / "test-vectors" / "random.json").read_text())["cases"]
    for case in cases:
        s = idzip.random.Stream(int(case["seed"]), case["purpose_value"], case["substream"])
        indices = [int(b) for b in case["block_indices"]]  # named by the file (spec section 8.6)
        assert indices == [0, 1, 2**32 + 5]
        w = s.block(np.array(indices, np.uint64))
        assert [[int(x) for x in word] for word in np.array(w).T] == [[int(x, 16) for x in b] for b in case["blocks"]]
        n = np.arange(len(case["uint64"]))
        assert [int(x) for x in s.uint64(n)] == [int(x, 16) for x in case["uint64"]]
        u32 = s.uniform_float32(np.arange(len(case["uniform_float32_bits"])))
        assert [int(x) for x in u32.view(np.uint32)] == [int(x, 16) for x in case["uniform_float32_bits"]]
        u64 = s.uniform_float64(np.arange(len(case["uniform_float64_bits"])))
        assert [int(x) for x in u64.view(np.uint64)] == [int(x, 16) for x in case["uniform_float64_bits"]]
        assert s.sign(np.arange(len(case["signs"]))).tolist() == case["signs"]
        normals = s.normals(0, len(case["normal_float64_bits"]))
        assert [int(x) for x in normals.view(np.uint64)] == [int(x, 16) for x in case["normal_float64_bits"]]
        assert s.integer(np.arange(len(case["integer_below_1000"])), 1000).tolist() == case["integer_below_1000"]
        assert s.permutation(10).tolist() == case["permutation_10"]


def test_philox_known_answers_and_spec_vectors():
    """Random123's known answers and the vectors of the spec's section 8.5."""
    path = ROOT / "Tests" / "IdzipCoreTests" / "Fixtures" / "philox4x32-10-kat.txt"
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        words = [int(w, 16) for w in line.split()[2:]]
        out = idzip.random.philox4x32_10(*words[0:4], words[4] | words[5] << 32)
        assert [int(x) for x in out] == words[6:10]
    s = idzip.random.Stream(0x0123456789ABCDEF, 1, 2)
    assert [int(x) for x in s.block(0)] == [0x20F4D595, 0xE9627D16, 0x7BBAEEB8, 0xDF7A77A7]
    assert int(s.word(5)) == 0x3250FF87 and int(s.uint64(3)) == 0x6522B8297D0B63B7
    assert int(s.normals(0, 2).view(np.uint64)[1]) == 0xBFF93DA8F4F6CAE9
    assert s.permutation(8).tolist() == [3, 4, 0, 2, 5, 1, 6, 7]
    assert int(idzip.random.portable_log(np.array([0.3])).view(np.uint64)[0]) == 0xBFF34378FCBDA721
    sin, cos = idzip.random.sin_cos_two_pi(np.array([0.3]))
    assert (int(sin.view(np.uint64)[0]), int(cos.view(np.uint64)[0])) == (0x3FEE6F0E13445500, 0xBFD3C6EF372FE94E)


def test_vectorised_normals_and_permutations_equal_the_reference():
    """Many positions and sub-streams at once (the vectorised paths) against the pure-Python reference."""
    seed = 0x9E3779B97F4A7C15
    mine = idzip.random.Stream(seed, 6, 3).normals(5, 301)
    ref = [ReferenceStream(seed, 6, 3).normal(n) for n in range(5, 306)]
    assert mine.tobytes() == np.array(ref, np.float64).tobytes()
    perms = idzip.random.permutations(seed, 5, [0, 7, 2**32 - 1], 37)
    for row, substream in zip(perms, [0, 7, 2**32 - 1]):
        assert row.tolist() == ReferenceStream(seed, 5, substream).permutation(37)


# MARK: Projections: the golden vectors of Formats/idz-v1-projections.md


def _bits(values):
    return [int(x) for x in np.asarray(values, np.float32).view(np.uint32)]


@pytest.mark.parametrize("kind,D,d,rows,expected", [
    ("dense", 10, 4, [0, 1, 2, 3], [0x405FBF46, 0xBFB8EEA9, 0x3D4B27E3, 0xBF39BA46]),
    ("sparse", 100, 30, [0, 1, 2, 3], [0x3F1ADAEB, 0xBE919CFC, 0x3FB23FAA, 0xC00C1C0C]),
    ("sparse", 10000, 8, [4106, 4119, 4124, 4138], [0x3E48D2AB, 0xBEA0239A, 0x3E48D2AB, 0xBE9E6D22]),
    ("fastfood", 1000, 100, [0, 1, 2, 3], [0x3EA678CB, 0x3F1D39B8, 0x3E8F6443, 0x3E18C40B]),
    ("fastfood", 1000, 100, [896, 897, 898, 899], [0x3DB2EE3D, 0x3E0B328A, 0xBE4CD5E0, 0x3E3A17D9]),
    ("fastfood", 5, 1, [0, 1, 2, 3], [0x3FABBAE3, 0x3FABBAE3, 0xBFABBAE2, 0x3FABBAE2]),
    ("identity", 8, 8, [0, 1, 2, 3], [0xC0400000, 0xC0000000, 0xBF800000, 0x00000000]),
])
def test_projection_golden_vectors(kind, D, d, rows, expected):
    v = (np.arange(d) % 7).astype(np.float32) - np.float32(3)
    out = idzip.projections.project(kind, 2018, D, v)
    assert out.dtype == np.float32 and out.shape == (D,)
    assert _bits(out[rows]) == expected


def test_sparse_nonzeros_golden_vectors():
    rows, cols, negative, nnz = idzip.projections.sparse_columns(2018, 100, 30)
    assert nnz[:4].tolist() == [8, 11, 5, 10]
    assert rows[cols == 0].tolist() == [13, 15, 40, 42, 66, 71, 78, 86] and not negative[cols == 0].any()
    rows, cols, negative, nnz = idzip.projections.sparse_columns(2018, 10000, 8)
    assert nnz[:4].tolist() == [94, 86, 103, 98]
    column0 = list(zip(rows[cols == 0].tolist(), negative[cols == 0].tolist()))
    assert column0[:6] == [(r, False) for r in (137, 154, 415, 429, 680, 724)]
    assert [entry for entry in column0 if entry[0] >= 4096][:3] == [(4138, False), (4429, False), (4684, True)]


# MARK: Files


def spec_test_vector():
    text = (ROOT / "Formats" / "idz-v1.md").read_text()
    block = text.split("<!-- test-vector:begin -->")[1].split("<!-- test-vector:end -->")[0]
    return bytes(int(field, 16) for line in block.splitlines() if line and not line.startswith("```")
                 for field in line.split()[1:])


def test_reads_and_expands_the_spec_test_vector():
    model = idzip.read(spec_test_vector())
    arch = model.architecture
    assert arch.input_shape == (4,) and arch.spec == "fc:4-3-2" and arch.output_shapes == ((3,), (3,), (2,))
    assert [(t.name, t.shape, t.offset) for t in model.tensors] == [
        ("layers.0.weight", (3, 4), 0), ("layers.0.bias", (3,), 12), ("layers.2.weight", (2, 3), 15), ("layers.2.bias", (2,), 21)]
    assert (model.theta0_seed, model.projection.kind, model.projection.seed, model.projection.d) == (7, "identity", 0, 23)
    expected = np.arange(23, dtype=np.float32) * np.float32(0.01) - np.float32(0.1)
    assert model.theta_d.tobytes() == expected.tobytes() and model.theta_d_stored.encoding == "float32"
    assert _bits(model.theta0()[:3]) == [0x3EC1A628, 0x3F2AE93C, 0xBEA9E575]
    theta = model.expand()
    assert hashlib.sha256(theta.astype("<f4").tobytes()).hexdigest() == "62b7c70cf1e333cf7552c69a2d6c7819613cbfcab201e8476fe99871e72d4c2c"
    assert model.labels == [] and model.metadata == {}
    assert model.preprocessing.input_scale == np.float32(1 / 255) and model.preprocessing.mean.tolist() == [0.0]


def _samples():
    sums = {}
    for line in (SAMPLES / "SHA256SUMS-weights").read_text().splitlines():
        digest, name = line.split()
        sums[name] = digest
    return sorted(sums.items())


@pytest.mark.parametrize("name,digest", _samples())
def test_expands_every_sample_to_its_published_digest(name, digest):
    model = idzip.read(SAMPLES / name)
    # A version 3 sample's base is another sample, named by its locator (idz-v3.md section 6).
    base = idzip.read(SAMPLES / model.base.locator).expand() if model.base is not None else None
    theta = model.expand(base=base)
    assert hashlib.sha256(theta.astype("<f4").tobytes()).hexdigest() == digest
    assert model.weights_sha256.hex() == digest


CASES = [
    ("fc:30-12-5", "fastfood", 9, "float32"),
    ("fc:30-12-5", "fastfood", 16, "float16"),
    ("fc:30-12-5", "dense", 7, "float32"),
    ("fc:30-12-5", "dense", 5, "int8"),
    ("fc:30-12-5", "sparse", 11, "int8"),
    ("fc:30-12-5", "sparse", 13, "float16"),
    ("lenet:1x16x16:3", "fastfood", 40, "float32"),
    ("lenet:2x16x16:4", "sparse", 5, "float32"),
    ("toy", "fastfood", 10, "int8"),
    ("toy", "dense", 3, "float16"),
    ("fc:20-6-3", "identity", None, "float32"),
    ("fc:20-6-3", "identity", None, "float16"),
]


@pytest.mark.parametrize("spec,projection,dim,encoding", CASES)
def test_expansion_equals_idzip_expand_and_the_reference(idzip, tmp_path, spec, projection, dim, encoding):
    """Byte for byte: the package, `idzip expand` (.npy and .safetensors) and idz_reference.py."""
    import idzip as package  # the fixture named idzip runs the binary
    path = tmp_path / "m.idz"
    args = ["create", "--model", spec, "--projection", projection, "--theta-scale", "0.3",
            "--seed", "5", "--projection-seed", "77", "--encoding", encoding, "-o", path]
    if dim is not None:
        args += ["--dim", dim]
    idzip(*args)
    model = package.read(path)
    assert model.projection.kind == projection and model.theta_d_stored.encoding == encoding
    assert model.architecture.spec == (spec if spec != "toy" else "toy")
    theta = model.expand()

    idzip("expand", path, "-o", tmp_path / "w.npy")
    swift = np.load(tmp_path / "w.npy")
    assert swift.dtype == np.float32 and swift.tobytes() == theta.tobytes()

    reference = reference_read(path.read_bytes())
    assert reference["theta_d"].tobytes() == model.theta_d.tobytes()
    ref_theta, ref_digest = reference_expand(reference)
    assert ref_theta.tobytes() == theta.tobytes() and ref_digest == model.weights_sha256

    idzip("expand", path, "-o", tmp_path / "w.safetensors")
    named = load_file(str(tmp_path / "w.safetensors"))
    weights = model.state_dict()
    assert list(weights) == list(named) == [t[0] for t in reference_tensors(reference)]
    for name, array in weights.items():
        assert array.dtype == np.float32 and array.shape == named[name].shape
        assert array.tobytes() == named[name].tobytes()


def test_state_dict_reuses_given_weights_and_checks_framework():
    model = idzip.read(SAMPLES / "toy-sparse-d10-int8.idz")
    theta = model.expand()
    weights = model.state_dict(theta=theta)
    assert list(weights) == ["layers.0.theta"] and weights["layers.0.theta"].shape == (1000,)
    assert np.shares_memory(weights["layers.0.theta"], theta)
    with pytest.raises(ValueError):
        model.state_dict(framework="jax", theta=theta)
    with pytest.raises(ValueError):
        model.state_dict(theta=theta[:-1])


def test_torch_state_dict_loads_into_an_equivalent_module():
    torch = pytest.importorskip("torch")
    model = idzip.read(SAMPLES / "lenet-fastfood-d300-float16.idz")
    theta = model.expand()
    state = model.state_dict("torch", theta=theta)
    numpy_state = model.state_dict(theta=theta)
    for name, tensor in state.items():
        assert tensor.dtype == torch.float32 and tensor.numpy().tobytes() == numpy_state[name].tobytes()
    net = torch.nn.Module()  # parameters named layers.<i>.weight, as section 7 says
    net.layers = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(256, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84),
        torch.nn.ReLU(), torch.nn.Linear(84, 10))
    net.load_state_dict(state)  # strict: every name and shape must match
    x = torch.from_numpy(model.preprocess(np.zeros((2, 1, 28, 28), np.uint8)))
    assert net.layers(x).shape == (2, 10)


def test_architecture_metadata_and_preprocessing():
    model = idzip.read(SAMPLES / "lenet-fastfood-d300-float16.idz")
    arch = model.architecture
    assert arch.spec == "lenet:1x28x28:10" and arch.parameter_count == 44426 and arch.output_count == 10
    assert arch.layer_summary.startswith("conv 5x5x6 valid, relu, maxpool 2, conv 5x5x16 valid")
    assert arch.output_shapes[6] == (256,)
    assert [(t.name, t.shape, idzip.architecture.INIT_SCHEMES[t.init_scheme]) for t in model.tensors][:2] == [
        ("layers.0.weight", (6, 1, 5, 5), "he_normal"), ("layers.0.bias", (6,), "zeros")]
    raw = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 1, 28, 28)
    p = model.preprocessing
    expected = (raw.astype(np.float32) * np.float32(p.input_scale) - p.mean[0]) / p.std[0]
    x = model.preprocess(raw)
    assert x.dtype == np.float32 and x.tobytes() == expected.tobytes()
    assert model.preprocess(raw[0]).shape == (1, 28, 28)
    with pytest.raises(ValueError):
        model.preprocess(np.zeros((28, 28)))
    assert isinstance(model.metadata, dict)


def test_preprocessing_per_channel():
    """Three channels with their own mean and std (section 13), in a file built here."""
    payload = _sections(spec_test_vector())
    arch = struct.pack("<BQQQI", 3, 3, 4, 4, 2) + bytes([5]) + struct.pack("<BQ", 1, 2)
    payload[0x0001] = arch
    table = struct.pack("<I", 2)
    for name, shape, scheme in (("layers.1.weight", (2, 48), 1), ("layers.1.bias", (2,), 0)):
        table += struct.pack("<I", len(name)) + name.encode() + bytes([len(shape)])
        table += b"".join(struct.pack("<Q", s) for s in shape) + bytes([scheme])
    payload[0x0002] = table
    payload[0x0004] = struct.pack("<BQQ", 3, 1, 4)
    planes = np.zeros(4, np.float32).view(np.uint8).reshape(4, 4).T.tobytes()
    payload[0x0005] = struct.pack("<BQ", 1, 4) + planes
    payload[0x0006] = struct.pack("<fI", 0.5, 3) + struct.pack("<3f", 1, 2, 3) + struct.pack("<3f", 2, 4, 8)
    model = idzip.read(_seal(payload))
    raw = np.full((3, 4, 4), 10, np.uint8)
    x = model.preprocess(raw)
    assert x[:, 0, 0].tolist() == [2.0, 0.75, 0.25]


# MARK: Errors


def _manifest():
    out = []
    for line in (HOSTILE / "MANIFEST").read_text().splitlines():
        if line and not line.startswith("#"):
            name, kind = line.split()
            out.append((name, kind))
    return out


def test_the_hostile_corpus_is_complete():
    listed = {name for name, _ in _manifest()}
    assert len(listed) >= 100 and listed == {p.name for p in HOSTILE.glob("*.idz")}


@pytest.mark.parametrize("name,kind", _manifest())
def test_hostile_corpus_raises_the_swift_readers_error_kind(name, kind):
    if kind == "ok":
        model = idzip.read(HOSTILE / name)
        assert model.parameter_count >= 1
        model2 = idzip.read((HOSTILE / name).read_bytes())
        assert model2.weights_sha256 == model.weights_sha256
        return
    with pytest.raises(idzip.IdzError) as caught:
        idzip.read(HOSTILE / name)
    assert caught.value.kind == kind, "%s: %s" % (name, caught.value)
    assert type(caught.value) is idzip.errors.error_class(kind)
    assert "\n" not in str(caught.value) and str(caught.value)


def _sections(data):
    """The sections of a file's payload: tag -> body (known and unknown)."""
    clen = struct.unpack("<Q", data[16:24])[0]
    payload = zlib.decompress(data[32:32 + clen])
    out, pos = {}, 0
    while pos < len(payload):
        tag, length = struct.unpack("<HI", payload[pos:pos + 6])
        out[tag] = payload[pos + 6:pos + 6 + length]
        pos += 6 + length
    return out


def _seal(sections):
    payload = b"".join(struct.pack("<HI", tag, len(body)) + body for tag, body in sections.items())
    compressed = zlib.compress(payload, 9)
    head = idzip.container.MAGIC + struct.pack("<IIQQ", 1, 0, len(compressed), len(payload)) + compressed
    return head + hashlib.sha256(head).digest()


def test_wrong_weights_digest_is_refused_on_expansion():
    sections = _sections(spec_test_vector())
    sections[0x0007] = bytes(32)
    model = idzip.read(_seal(sections))  # the reader does not expand, so it accepts the file
    with pytest.raises(idzip.WeightsChecksumMismatch) as caught:
        model.expand()
    assert caught.value.kind == "weights-checksum-mismatch" and isinstance(caught.value, idzip.ChecksumMismatch)
    assert caught.value.expected == "00" * 32 and caught.value.actual.startswith("62b7c70c")
    assert model.expand(verify=False).shape == (23,)


def test_labels_and_metadata_are_read():
    sections = _sections(spec_test_vector())
    sections[0x8001] = struct.pack("<I", 2) + b"".join(struct.pack("<I", len(s)) + s for s in (b"cat", "d\u00f6g".encode()))
    entries = [(b"n", 1, struct.pack("<q", -3)), (b"x", 2, struct.pack("<d", 0.25)),
               (b"s", 3, struct.pack("<I", 2) + b"hi"), (b"b", 4, b"\x01"), (b"r", 5, struct.pack("<I", 3) + b"\x00\x01\x02")]
    sections[0x8002] = struct.pack("<I", len(entries)) + b"".join(
        struct.pack("<I", len(k)) + k + bytes([t]) + v for k, t, v in entries)
    model = idzip.read(_seal(sections))
    assert model.labels == ["cat", "d\u00f6g"]
    assert model.metadata == {"n": -3, "x": 0.25, "s": "hi", "b": True, "r": b"\x00\x01\x02"}
    assert list(model.metadata) == ["n", "x", "s", "b", "r"]


def test_unreadable_and_oversized_files(tmp_path):
    with pytest.raises(idzip.IdzIOError) as caught:
        idzip.read(tmp_path / "missing.idz")
    assert caught.value.kind == "io"
    big = tmp_path / "big.idz"
    with open(big, "wb") as f:
        f.truncate(idzip.container.MAX_FILE_SIZE + 1)  # sparse: no disk used
    with pytest.raises(idzip.LimitExceeded):
        idzip.read(big)


def test_every_error_kind_of_the_spec_has_a_class():
    swift = (ROOT / "Sources" / "IdzipCore" / "Container" / "IdzError.swift").read_text()
    kinds = {line.split('"')[1] for line in swift.splitlines() if line.strip().startswith("case ") and '"' in line}
    assert kinds <= set(idzip.errors.ERROR_KINDS)
    for kind, cls in idzip.errors.ERROR_KINDS.items():
        assert issubclass(cls, idzip.IdzError) and cls.kind == kind and cls.__doc__


# MARK: README


def test_the_readme_python_example_runs_as_shown():
    """The doctest in README's "Python package" section, run from the repository root."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python package", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    test = doctest.DocTestParser().get_doctest(code, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        runner.run(test)
    finally:
        os.chdir(cwd)
    assert test.examples and runner.failures == 0


# MARK: Differential: mutated files, the package against the Swift reader


def _payload(data):
    clen = struct.unpack("<Q", data[16:24])[0]
    return zlib.decompress(data[32:32 + clen])


def _seal_payload(payload):
    compressed = zlib.compress(payload, 6)
    head = idzip.container.MAGIC + struct.pack("<IIQQ", 1, 0, len(compressed), len(payload)) + compressed
    return head + hashlib.sha256(head).digest()


def test_mutated_files_are_accepted_exactly_when_idzip_accepts_them(idzip, tmp_path):
    """Seeded random edits of valid payloads (resealed, so they pass the trailer): the package
    reads a file exactly when `idzip info --json` does, and then reads the same fields; it never
    raises anything but an IdzError."""
    import idzip as package
    rng = np.random.default_rng(14)
    bases = [_payload((HOSTILE / name).read_bytes()) for name in
             ("valid-small-conv-float16.idz", "valid-tiny-dense-float32.idz", "valid-toy-int8.idz")]
    bases.append(_payload(spec_test_vector()))
    accepted = rejected = 0
    for trial in range(150):
        payload = bytearray(bases[trial % len(bases)])
        for _ in range(int(rng.integers(1, 3))):
            anywhere = trial % 3 == 0  # else the headers, where the structure is
            position = int(rng.integers(0, len(payload) if anywhere else min(len(payload), 160)))
            edit = 0 if anywhere else int(rng.integers(0, 4))
            if edit == 0:
                payload[position] ^= 1 << int(rng.integers(0, 8))
            elif edit == 1:
                payload[position] = int(rng.choice([0, 1, 2, 3, 7, 0x7F, 0x80, 0xFF]))
            elif edit == 2:
                del payload[position]
            else:
                payload.insert(position, int(rng.integers(0, 256)))
        path = tmp_path / ("m%d.idz" % trial)
        path.write_bytes(_seal_payload(bytes(payload)))
        swift = idzip("info", "--json", path, check=False)
        try:
            model = package.read(path)
        except package.IdzError as error:
            assert swift.returncode != 0, "trial %d: idzip reads a file the package rejects (%s)" % (trial, error)
            rejected += 1
            continue
        assert swift.returncode == 0, "trial %d: the package reads a file idzip rejects: %s" % (trial, swift.stderr)
        accepted += 1
        info = json.loads(swift.stdout)
        assert info["parameters"] == model.parameter_count and info["layer_summary"] == model.architecture.layer_summary
        assert info["input_shape"] == list(model.architecture.input_shape)
        assert [(t["name"], t["shape"]) for t in info["tensors"]] == [(t.name, list(t.shape)) for t in model.tensors]
        assert info["theta0_seed"] == model.theta0_seed and info["weights_sha256"] == model.weights_sha256.hex()
        assert (info["projection"]["kind"], info["projection"]["seed"], info["projection"]["d"]) == (
            model.projection.kind, model.projection.seed, model.projection.d)
        assert (info["theta_d"]["encoding"], info["theta_d"]["count"]) == (model.theta_d_stored.encoding, len(model.theta_d))
        assert info["labels"] == model.labels
    assert accepted >= 10 and rejected >= 60, (accepted, rejected)


# MARK: The vectorised paths: their batch and chunk sizes never change a bit


def test_batch_and_chunk_sizes_do_not_change_the_bits(monkeypatch):
    """Dense without its cache and in many row chunks, sparse with columns that need more
    batches of draws, Fastfood in batches of one and of several blocks, permutations done
    row by row and column by column, theta0 in small chunks: all equal the default settings
    and the pure-Python reference."""
    import idzip.expand as expand
    v = (np.arange(37) % 7).astype(np.float32) * np.float32(0.25) - np.float32(0.5)
    D = 9000
    default = {kind: idzip.projections.project(kind, 99, D, v) for kind in ("dense", "sparse", "fastfood")}
    monkeypatch.setattr(idzip.projections, "_DENSE_CACHE_ENTRIES", 0)
    monkeypatch.setattr(idzip.projections, "_DENSE_CHUNK_ENTRIES", 37 * 100 + 5)
    monkeypatch.setattr(idzip.projections, "_SPARSE_DRAW_BATCH", 2)
    monkeypatch.setattr(idzip.projections, "_FASTFOOD_BATCH_ENTRIES", 64)  # one block of L = 64 per batch
    for kind, expected in default.items():
        assert idzip.projections.project(kind, 99, D, v).tobytes() == expected.tobytes(), kind
    monkeypatch.setattr(idzip.projections, "_FASTFOOD_BATCH_ENTRIES", 64 * 20)  # 20 blocks: column-wise swaps
    assert idzip.projections.project("fastfood", 99, D, v).tobytes() == default["fastfood"].tobytes()

    from idz_reference import project as reference_project
    for kind in ("sparse", "fastfood"):
        assert reference_project({"sparse": 2, "fastfood": 3}[kind], 99, D, 37, v).tobytes() == default[kind].tobytes()
    assert reference_project(1, 99, 300, 37, v).tobytes() == idzip.projections.project("dense", 99, 300, v).tobytes()

    model = idzip.read(SAMPLES / "lenet-fastfood-d300-float16.idz")
    theta0 = model.theta0()
    monkeypatch.setattr(expand, "_CHUNK", 1000)
    assert model.theta0().tobytes() == theta0.tobytes()


def test_init_schemes_the_v1_architectures_do_not_use():
    """lecun_normal and glorot_uniform (section 9) against the reference stream, in binary64 then one rounding."""
    import math
    from idzip.architecture import TensorSpec
    from idzip.expand import tensor_theta0
    for scheme in (2, 3):
        tensor = TensorSpec("t", (5, 7), scheme, 7, 5, 0, 35, 3)
        values = tensor_theta0(11, tensor)
        s = ReferenceStream(11, 1, 3)
        if scheme == 2:
            expected = [s.normal(k) * math.sqrt(1.0 / 7) for k in range(35)]
        else:
            expected = [(2 * s.uniform_double(k) - 1) * math.sqrt(6.0 / 12) for k in range(35)]
        assert values.tobytes() == np.array(expected, np.float64).astype(np.float32).tobytes()


def _toy_file(groups, size, kind, d):
    """A file of the toy architecture with the given projection (theta_d: d float16 zeros)."""
    sections = _sections(spec_test_vector())
    sections[0x0001] = struct.pack("<BI", 0, 1) + struct.pack("<BQQ", 6, groups, size)
    name = b"layers.0.theta"
    sections[0x0002] = struct.pack("<I", 1) + struct.pack("<I", len(name)) + name + struct.pack("<BQB", 1, groups * size, 4)
    sections[0x0004] = struct.pack("<BQQ", kind, 5, d)
    sections[0x0005] = struct.pack("<BQ", 2, d) + bytes(2 * d)
    return _seal(sections)


def test_huge_declared_models_are_checked_without_allocating_them():
    """D = 2^36 (the limit) reads at once; Fastfood with d = 1 would need 2^36 blocks (limit 2^32)."""
    model = idzip.read(_toy_file(1 << 24, 1 << 12, 3, 1 << 10))
    assert model.parameter_count == 1 << 36 and model.tensors[0].shape == (1 << 36,)
    with pytest.raises(idzip.LimitExceeded, match="blocks"):
        idzip.read(_toy_file(1 << 24, 1 << 12, 3, 1))
    with pytest.raises(idzip.InvalidArchitecture):
        idzip.read(_toy_file(1 << 24, 1 << 13, 3, 1))
    with pytest.raises(idzip.InvalidValue):
        idzip.read(_toy_file(10, 100, 0, 999))


def test_version3_model_state_dict_equals_idzip_expand(idzip, tmp_path):
    """Format version 3 (Formats/idz-v3.md): the sample with every new layer type, names, a
    branch and batch-norm buffers reads, expands to its digest, and its state_dict is the
    safetensors `idzip expand` writes, buffers and num_batches_tracked included."""
    from safetensors.numpy import load_file

    sample = ROOT / "Formats" / "samples" / "residual-fastfood-d40.idz"
    import idzip as package

    model = package.read(sample)
    assert model.version == 3 and model.architecture.names[0] == "stem.conv"
    assert model.architecture.source(12) == 8
    assert len(model.buffers) == model.architecture.buffer_count == 48
    idzip("expand", sample, "-o", tmp_path / "w.safetensors")
    expected = load_file(str(tmp_path / "w.safetensors"))
    state = model.state_dict()
    assert set(state) == set(expected)
    for name, value in expected.items():
        assert state[name].dtype == value.dtype and state[name].tobytes() == value.tobytes(), name
