"""Version 3, sections 6 and 7 of Formats/idz-v3.md: models fine-tuned from a base
(section ``0x000A``) and per-tensor modes and scales (section ``0x000B``, SAID).

A base-relative model's theta0 is the base's weights; the file stores only their digest
(SHA-256 of D little-endian float32 values in parameter order). ``Model.expand(base=...)``
takes the base as a flat float32 array [D] or a state_dict (name -> array) and refuses one
whose digest differs (``BaseMismatch``).
"""
import hashlib

import numpy as np

from . import errors as E

TAG_BASE, TAG_TENSOR_MODES = 0x000A, 0x000B
SECTION_NAMES = {TAG_BASE: "base", TAG_TENSOR_MODES: "tensor modes"}
MODE_NAMES = ("subspace", "direct", "frozen")
MAX_PARAMETERS = 2**36

BaseMismatch = E._kind(
    "BaseMismatch", "base-mismatch",
    "A base-relative model was expanded without its base, or with a base whose digest "
    "differs from the one the file records (idz-v3.md section 6); the message names both digests.")
E.ERROR_KINDS[BaseMismatch.kind] = BaseMismatch


class Base:
    """The base a model was fine-tuned from: ``sha256`` (32 bytes) and ``locator`` (str)."""

    def __init__(self, sha256, locator):
        self.sha256, self.locator = bytes(sha256), locator

    def __repr__(self):
        return "<idzip.Base sha256 %s%s>" % (self.sha256.hex(), " (%s)" % self.locator if self.locator else "")


class TensorModes:
    """``modes``: one of "subspace", "direct", "frozen" per tensor (tensor order);
    ``scales``: float32 array [S] (one per subspace tensor) or None; ``direct``: float32
    array [V], the direct tensors' values concatenated in tensor order."""

    def __init__(self, modes, scales, direct):
        self.modes, self.scales, self.direct = modes, scales, direct

    def stored_numbers(self):
        """Scales plus direct values: the numbers stored beside theta_d."""
        return (0 if self.scales is None else len(self.scales)) + len(self.direct)


def check_version(sections, version):
    """Step 10: sections 0x000A and 0x000B exist only in version 3."""
    for tag in (TAG_BASE, TAG_TENSOR_MODES):
        if tag in sections and version < 3:
            raise E.UnknownSection("the %s section (0x%04X) needs format version 3; this file is version %d"
                                   % (SECTION_NAMES[tag], tag, version))


def read_sections(sections, reader_class, tensors):
    """Step 11: the fields of sections 0x000A and 0x000B, checked as read. Returns (Base or
    None, TensorModes or None)."""
    base = modes = None
    if TAG_BASE in sections:
        r = reader_class(sections[TAG_BASE], "base section")
        digest = bytes(r.raw(32, "the base SHA-256"))
        base = Base(digest, r.string("base locator", 4096))
        r.expect_end()
    if TAG_TENSOR_MODES in sections:
        r = reader_class(sections[TAG_TENSOR_MODES], "tensor modes section")
        flags = r.u8("tensor mode flags")
        if flags & ~1:
            raise E.InvalidValue("tensor mode flags 0x%x: version 3 defines only bit 0 (scales)" % flags)
        count = r.u32("tensor mode count")
        if count != len(tensors):
            raise E.InconsistentShapes("inconsistent shapes: the tensor modes section lists %d tensors, the architecture defines %d"
                                       % (count, len(tensors)))
        r.check_room(count, 1, "tensor modes")
        codes = list(bytes(r.raw(count, "tensor modes")))
        for tensor, code in zip(tensors, codes):
            if code > 2:
                raise E.UnknownValue("unknown tensor mode %d (tensor %s)" % (code, tensor.name))
        scales = None
        if flags & 1:
            subspace = codes.count(0)
            r.check_room(subspace, 4, "tensor scales")
            scales = np.frombuffer(bytes(r.raw(4 * subspace, "tensor scales")), dtype="<f4").astype(np.float32)
        expected = sum(t.count for t, code in zip(tensors, codes) if code == 1)
        n = r.count("direct value count", MAX_PARAMETERS)
        if n != expected:
            raise E.InconsistentShapes("inconsistent shapes: the tensor modes section stores %d direct values, its direct tensors have %d"
                                       % (n, expected))
        r.check_room(n, 4, "direct values")
        planes = np.frombuffer(bytes(r.raw(4 * n, "direct value byte planes")), dtype=np.uint8).reshape(4, n)
        direct = np.ascontiguousarray(planes.T).view("<f4").reshape(n).astype(np.float32)
        r.expect_end()
        modes = TensorModes([MODE_NAMES[c] for c in codes], scales, direct)
    return base, modes


def check(base, modes, theta0_seed, projection_kind):
    """Step 12, after version 1's model checks: idz-v3.md sections 6 and 7's rules."""
    if base is not None and theta0_seed != 0:
        raise E.InvalidValue("a model with a base stores theta0 seed 0 (theta0 is the base), not %d" % theta0_seed)
    if modes is None:
        return
    if modes.scales is None and all(m == "subspace" for m in modes.modes):
        raise E.InvalidValue("the tensor modes section puts every tensor in the subspace with no scales; a file without modes omits it")
    if projection_kind == "identity":
        raise E.InvalidValue("tensor modes need a random projection; the identity projection already trains every tensor directly")
    if modes.scales is not None and not np.all(np.isfinite(modes.scales)):
        raise E.InvalidValue("a tensor scale is not a finite number")
    if not np.all(np.isfinite(modes.direct)):
        raise E.InvalidValue("a direct value is not finite")


def base_digest(values):
    """SHA-256 of a base: D float32 values, little-endian, in parameter order."""
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f4").tobytes()).digest()


def base_values(architecture, base):
    """theta_base [D] from a flat array or a state_dict (name -> array of the tensor's shape)."""
    if isinstance(base, dict):
        parts = []
        for tensor in architecture.tensors:
            if tensor.name not in base:
                raise BaseMismatch("the base has no tensor %s" % tensor.name)
            value = np.asarray(base[tensor.name], dtype=np.float32)
            if list(value.shape) != list(tensor.shape):
                raise BaseMismatch("base tensor %s has shape %s, the model needs %s" % (tensor.name, list(value.shape), list(tensor.shape)))
            parts.append(value.reshape(-1))
        values = np.concatenate(parts)
    else:
        values = np.asarray(base, dtype=np.float32).reshape(-1)
    if values.shape != (architecture.parameter_count,):
        raise BaseMismatch("the base has %d values, the architecture %d" % (values.size, architecture.parameter_count))
    if not np.all(np.isfinite(values)):
        raise BaseMismatch("the base has a value that is not finite")
    return values


def theta0_from_base(architecture, recorded, base):
    """The checked theta_base for a model that records ``recorded`` (a ``Base``)."""
    if base is None:
        raise BaseMismatch("the model is fine-tuned from a base (sha256 %s%s); give it with base=..."
                           % (recorded.sha256.hex(), " (%s)" % recorded.locator if recorded.locator else ""))
    values = base_values(architecture, base)
    digest = base_digest(values)
    if digest != recorded.sha256:
        error = BaseMismatch("wrong base: the model was fine-tuned from sha256 %s, the base given has sha256 %s"
                             % (recorded.sha256.hex(), digest.hex()))
        error.expected, error.actual = recorded.sha256.hex(), digest.hex()
        raise error
    return values


def compose(architecture, theta0, y, modes):
    """theta from theta0 and y = P theta_d (float32 [D] each) under ``modes`` (section 7)."""
    if modes is None:
        return theta0 + y
    theta = np.empty_like(theta0)
    scale_index = direct_offset = 0
    for tensor, mode in zip(architecture.tensors, modes.modes):
        rows = slice(tensor.offset, tensor.offset + tensor.count)
        if mode == "subspace":
            if modes.scales is None:
                theta[rows] = theta0[rows] + y[rows]
            else:
                theta[rows] = theta0[rows] + (np.float32(modes.scales[scale_index]) * y[rows]).astype(np.float32)
                scale_index += 1
        elif mode == "direct":
            theta[rows] = modes.direct[direct_offset:direct_offset + tensor.count]
            direct_offset += tensor.count
        else:
            theta[rows] = theta0[rows]
    return theta
