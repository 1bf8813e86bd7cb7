"""Version 3, sections 6 and 7 of Formats/idz-v3.md, in Python: the independent reference
(idz_reference.py) and the package (python/idzip) read base-relative samples and samples with
tensor modes and scales, expand them to the published digests given the base, and refuse a
missing or wrong base naming both digests."""
import hashlib
import pathlib
import sys

import numpy as np
import pytest

from idz_reference import BaseMismatch as ReferenceBaseMismatch, base_digest, check_idz, expand as reference_expand, read_idz

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
import idzip  # noqa: E402

SAMPLES = ROOT / "Formats" / "samples"
VERSION3 = ["lenet-base-said-d120.idz", "lenet-modes-frozen-direct-d100.idz"]


def _published():
    sums = {}
    for line in (SAMPLES / "SHA256SUMS-weights").read_text().splitlines():
        digest, name = line.split()
        sums[name] = digest
    return sums


def _reference_base(model):
    """The reference's theta_base of a sample: the sample its locator names, expanded."""
    if "base" not in model:
        return None
    theta, _ = reference_expand(read_idz((SAMPLES / model["base"]["locator"]).read_bytes()))
    return theta


@pytest.mark.parametrize("name", VERSION3)
def test_the_reference_expands_version_3_samples(name):
    data = (SAMPLES / name).read_bytes()
    assert data[8:13] == bytes([3, 0, 0, 0, 0])
    assert check_idz(data) == "ok"
    model = read_idz(data)
    assert "modes" in model
    theta, digest = reference_expand(model, base=_reference_base(model))
    assert digest.hex() == _published()[name] == model["weights_sha256"].hex()


def test_the_reference_refuses_a_missing_or_wrong_base():
    model = read_idz((SAMPLES / "lenet-base-said-d120.idz").read_bytes())
    with pytest.raises(ReferenceBaseMismatch):
        reference_expand(model)
    base = _reference_base(model).copy()
    assert base_digest(base) == model["base"]["sha256"]
    base[0] = np.float32(base[0] + 1e-3)
    with pytest.raises(ReferenceBaseMismatch, match="wrong base: the model was fine-tuned from sha256 [0-9a-f]{64}, the base given has sha256 [0-9a-f]{64}"):
        reference_expand(model, base=base)


def test_the_package_reads_and_expands_a_base_relative_model():
    model = idzip.read(SAMPLES / "lenet-base-said-d120.idz")
    assert model.base.locator == "lenet-fastfood-d300-float16.idz"
    modes = model.tensor_modes
    assert modes.modes == ["subspace", "direct"] * 5
    assert len(modes.scales) == 5 and len(modes.direct) == 6 + 16 + 120 + 84 + 10
    base_model = idzip.read(SAMPLES / model.base.locator)
    base = base_model.expand()
    assert idzip.base_digest(base) == model.base.sha256
    theta = model.expand(base=base)
    assert hashlib.sha256(theta.astype("<f4").tobytes()).hexdigest() == _published()["lenet-base-said-d120.idz"]
    # A state_dict works as a base, and the direct biases are the stored values.
    state = base_model.state_dict(theta=base)
    assert np.array_equal(model.expand(base=state), theta)
    weights = model.state_dict(theta=theta)
    assert np.array_equal(weights["layers.0.bias"], modes.direct[:6])
    with pytest.raises(idzip.BaseMismatch, match="give it with base="):
        model.expand()
    wrong = base.copy()
    wrong[5] += np.float32(1.0)
    with pytest.raises(idzip.BaseMismatch) as caught:
        model.expand(base=wrong)
    assert caught.value.expected == model.base.sha256.hex() and caught.value.actual == idzip.base_digest(wrong).hex()
    assert "\n" not in str(caught.value)


def test_a_frozen_tensor_is_theta0():
    model = idzip.read(SAMPLES / "lenet-modes-frozen-direct-d100.idz")
    assert model.base is None and model.tensor_modes.scales is None
    theta = model.expand()
    frozen = [t for t, mode in zip(model.tensors, model.tensor_modes.modes) if mode == "frozen"]
    assert [t.name for t in frozen] == ["layers.0.weight"]
    theta0 = model.theta0()
    for t in frozen:
        assert np.array_equal(theta[t.offset:t.offset + t.count], theta0[t.offset:t.offset + t.count])
