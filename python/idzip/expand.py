"""Expansion (Formats/idz-v1.md sections 9 and 11): theta = theta0 + P theta_d."""
import hashlib
import math

import numpy as np

from .errors import WeightsChecksumMismatch
from .projections import project
from .random import PURPOSE_THETA0, Stream

__all__ = ["theta0", "tensor_theta0", "expand", "weights_digest"]

_CHUNK = 1 << 20


def tensor_theta0(seed, tensor):
    """theta0 of one tensor (section 9): float32 array [tensor.count], C order.

    Element k draws from the stream (seed, purpose 1, sub-stream = tensor index) at position k.
    """
    n = tensor.count
    out = np.empty(n, np.float32)
    scheme = tensor.init_scheme
    if scheme == 0:
        out[:] = 0
        return out
    if scheme == 5:  # ones (Formats/idz-v3.md section 3)
        out[:] = 1
        return out
    stream = Stream(seed, PURPOSE_THETA0, tensor.index)
    if scheme == 3:
        limit = math.sqrt(6.0 / float(tensor.fan_in + tensor.fan_out))
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            u = stream.uniform_float64(np.arange(start, stop, dtype=np.uint64))
            out[start:stop] = ((2.0 * u - 1.0) * limit).astype(np.float32)
        return out
    std = {1: lambda: math.sqrt(2.0 / float(tensor.fan_in)),
           2: lambda: math.sqrt(1.0 / float(tensor.fan_in)),
           4: lambda: None}[scheme]()
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        normals = stream.normals(start, stop - start)
        out[start:stop] = (normals if std is None else normals * std).astype(np.float32)
    return out


def theta0(architecture, seed):
    """The frozen initialisation: float32 array [D] in parameter order."""
    out = np.empty(architecture.parameter_count, np.float32)
    for tensor in architecture.tensors:
        out[tensor.offset:tensor.offset + tensor.count] = tensor_theta0(seed, tensor)
    return out


def weights_digest(theta):
    """SHA-256 of theta as D little-endian float32 values (section 11): 32 bytes."""
    return hashlib.sha256(np.ascontiguousarray(theta, dtype="<f4").tobytes()).digest()


def expand(architecture, theta0_seed, projection_kind, projection_seed, theta_d, expected_sha256=None,
           theta0_values=None, tensor_modes=None):
    """theta = Float(theta0 + Float(P theta_d)): float32 array [D].

    Args:
        architecture: an ``Architecture``.
        theta0_seed: the 64-bit theta0 seed.
        projection_kind, projection_seed: the projection.
        theta_d: float32 array [d], decoded.
        expected_sha256: the weights SHA-256 section; when given, the digest is compared
            (a compact version 2 file may keep only its first 4, 8 or 16 bytes, or none:
            then only those bytes, or nothing, are compared).
        theta0_values: theta0 [D] when it is a base's weights (version 3, idz-v3.md
            section 6), already checked against the recorded digest; None: from the seed.
        tensor_modes: ``TensorModes`` (idz-v3.md section 7) or None.
    Raises:
        WeightsChecksumMismatch: the weights' digest differs from ``expected_sha256``.
    """
    base = theta0(architecture, theta0_seed) if theta0_values is None else np.array(theta0_values, dtype=np.float32)
    y = project(projection_kind, projection_seed, len(base), theta_d)
    if tensor_modes is None:
        base += y
    else:
        from .version3_base import compose
        base = compose(architecture, base, np.asarray(y, dtype=np.float32), tensor_modes)
    if expected_sha256 is not None:
        digest = weights_digest(base)
        if digest[:len(expected_sha256)] != bytes(expected_sha256):
            error = WeightsChecksumMismatch(
                "expanded weights do not match the file's checksum (expected sha256 %s, got %s)"
                % (bytes(expected_sha256).hex(), digest.hex()))
            error.expected, error.actual = bytes(expected_sha256).hex(), digest.hex()
            raise error
    return base
