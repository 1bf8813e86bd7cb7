"""A second, independent implementation of the .idz format, written from
Formats/idz-v1.md and Formats/idz-v1-projections.md alone: it reads a file and expands
its weights with numpy float32/float64 arithmetic in the orders the spec fixes. The tests
compare its bytes with `idzip expand` to show the spec is complete and the Swift code
follows it. Meant for small models (theta0 and P are generated in pure Python)."""
import hashlib
import math
import struct
import zlib

import numpy as np

from idz_random import Stream, portable_log

MAGIC = bytes([0x89, 0x49, 0x44, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A])


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        assert self.pos + n <= len(self.data), "section runs past its end"
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack("<H", self.take(2))[0]
    def u32(self): return struct.unpack("<I", self.take(4))[0]
    def u64(self): return struct.unpack("<Q", self.take(8))[0]
    def i64(self): return struct.unpack("<q", self.take(8))[0]
    def f32(self): return struct.unpack("<f", self.take(4))[0]
    def f64(self): return struct.unpack("<d", self.take(8))[0]
    def string(self): return self.take(self.u32()).decode("utf-8")
    def done(self): return self.pos == len(self.data)


def read_idz(data):
    assert data[:8] == MAGIC, "bad magic"
    version, flags, clen, ulen = struct.unpack("<IIQQ", data[8:32])
    assert version == 1 and flags == 0
    assert len(data) == 32 + clen + 32, "length"
    assert hashlib.sha256(data[:32 + clen]).digest() == data[32 + clen:], "trailer"
    payload = zlib.decompress(data[32:32 + clen])
    assert len(payload) == ulen
    sections, r = {}, Reader(payload)
    while not r.done():
        tag, length = r.u16(), r.u32()
        assert tag not in sections
        sections[tag] = r.take(length)
    model = {}
    a = Reader(sections[0x0001])
    model["input_shape"] = [a.u64() for _ in range(a.u8())]
    layers = []
    for _ in range(a.u32()):
        code = a.u8()
        if code == 1: layers.append(("dense", a.u64()))
        elif code == 2: layers.append(("conv2d", a.u64(), a.u64(), a.u8()))
        elif code == 3: layers.append(("maxpool", a.u64()))
        elif code == 4: layers.append(("relu",))
        elif code == 5: layers.append(("flatten",))
        elif code == 6: layers.append(("toy", a.u64(), a.u64()))
        else: raise ValueError("unknown layer %d" % code)
    assert a.done()
    model["layers"] = layers
    t = Reader(sections[0x0002])
    table = []
    for _ in range(t.u32()):
        name = t.string()
        shape = [t.u64() for _ in range(t.u8())]
        table.append((name, shape, t.u8()))
    assert t.done()
    model["tensor_table"] = table
    model["theta0_seed"] = Reader(sections[0x0003]).u64()
    p = Reader(sections[0x0004])
    model["projection"] = (p.u8(), p.u64(), p.u64())
    th = Reader(sections[0x0005])
    encoding, count = th.u8(), th.u64()
    if encoding in (1, 2):
        # Byte planes (spec 4.5): plane k holds byte k (little-endian) of every value.
        width, dtype = (4, "<f4") if encoding == 1 else (2, "<f2")
        planes = np.frombuffer(th.take(width * count), dtype=np.uint8).reshape(width, count)
        theta = np.ascontiguousarray(planes.T).view(dtype).reshape(count).astype(np.float32)
        assert np.all(np.isfinite(theta)), "non-finite theta_d value"
    else:
        scale = np.float32(th.f32())
        theta = np.frombuffer(th.take(count), dtype=np.int8).astype(np.float32) * scale
    assert th.done()
    model["theta_d"] = theta
    model["weights_sha256"] = sections[0x0007]
    return model


def tensors(model):
    """(name, shape, init scheme code, fan_in, fan_out) in theta order (spec section 7)."""
    shape, out = list(model["input_shape"]), []
    for index, layer in enumerate(model["layers"]):
        kind = layer[0]
        if kind == "dense":
            units = layer[1]
            out.append(("layers.%d.weight" % index, [units, shape[0]], 1, shape[0], units))
            out.append(("layers.%d.bias" % index, [units], 0, shape[0], units))
            shape = [units]
        elif kind == "conv2d":
            filters, k, padding = layer[1:]
            out.append(("layers.%d.weight" % index, [filters, shape[0], k, k], 1, shape[0] * k * k, filters * k * k))
            out.append(("layers.%d.bias" % index, [filters], 0, shape[0] * k * k, filters * k * k))
            shape = [filters, shape[1] - k + 1, shape[2] - k + 1] if padding == 0 else [filters, shape[1], shape[2]]
        elif kind == "maxpool":
            shape = [shape[0], shape[1] // layer[1], shape[2] // layer[1]]
        elif kind == "flatten":
            shape = [int(np.prod(shape))]
        elif kind == "toy":
            out.append(("layers.%d.theta" % index, [layer[1] * layer[2]], 4, 1, 1))
            shape = [layer[1]]
    return out


def theta0(model):
    parts = []
    for index, (_, shape, scheme, fan_in, fan_out) in enumerate(tensors(model)):
        n = int(np.prod(shape))
        stream = Stream(model["theta0_seed"], "theta0", index)
        if scheme == 0:
            parts.append(np.zeros(n, np.float32))
            continue
        if scheme == 3:
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            parts.append(np.array([(2 * stream.uniform_double(k) - 1) * limit for k in range(n)], np.float32))
            continue
        std = {1: math.sqrt(2.0 / fan_in), 2: math.sqrt(1.0 / fan_in), 4: 1.0}[scheme]
        values = []
        for pair in range((n + 1) // 2):
            values.extend(stream.normal_pair(pair))
        parts.append(np.array([v * std for v in values[:n]], np.float64).astype(np.float32))
    return np.concatenate(parts)


def walsh_hadamard(x):
    x = x.copy()
    h = 1
    while h < len(x):
        y = x.reshape(-1, 2, h)
        a, b = y[:, 0, :].copy(), y[:, 1, :].copy()
        y[:, 0, :] = a + b
        y[:, 1, :] = a - b
        x = y.reshape(-1)
        h *= 2
    return x


def project(kind, seed, D, d, v):
    """P v as float32 (spec: idz-v1-projections.md)."""
    if kind == 0:
        return v.astype(np.float32)
    if kind == 1:
        s = Stream(seed, "dense_projection", 0)
        z = [[s.normal(i * d + j) for j in range(d)] for i in range(D)]
        norms = []
        for j in range(d):
            acc = 0.0
            for i in range(D):
                acc += z[i][j] * z[i][j]
            norms.append(math.sqrt(acc))
        w = [float(v[j]) / norms[j] for j in range(d)]
        out = []
        for i in range(D):
            acc = 0.0
            for j in range(d):
                acc += z[i][j] * w[j]
            out.append(acc)
        return np.array(out, np.float64).astype(np.float32)
    if kind == 2:
        density = 1 / math.sqrt(float(D))
        log_keep = portable_log(1 - density) if D > 1 else None
        chunk_rows = 4096
        entries = {}  # column -> list of (row, sign)
        for j in range(d):
            s = Stream(seed, "sparse_projection", j)
            column = []
            for c in range((D + chunk_rows - 1) // chunk_rows):
                n_c = min(chunk_rows, D - c * chunk_rows)
                p, k = -1, 0
                while True:
                    w = s.block((c << 32) | k)
                    k += 1
                    u = 1 - float((w[1] << 32 | w[0]) >> 11) * 2.0 ** -53
                    gap = 0.0 if D == 1 else math.floor(portable_log(u) / log_keep)
                    if gap >= n_c:
                        break
                    p = p + 1 + int(gap)
                    if p >= n_c:
                        break
                    column.append((c * chunk_rows + p, -1.0 if w[2] & 1 else 1.0))
            entries[j] = column
        acc = [0.0] * D
        for j in range(d):
            scale = 1 / math.sqrt(float(len(entries[j]))) if entries[j] else 0.0
            t = scale * float(v[j])
            for row, sign in entries[j]:
                acc[row] += t if sign > 0 else -t
        return np.array(acc, np.float64).astype(np.float32)
    if kind == 3:
        L = 1
        while L < d:
            L *= 2
        blocks = (D + L - 1) // L
        out = np.zeros(blocks * L, np.float32)
        for b in range(blocks):
            signs = np.array([Stream(seed, "fastfood_signs", b).sign(k) for k in range(L)], np.float32)
            perm = Stream(seed, "fastfood_permutation", b).permutation(L)
            g = np.array([Stream(seed, "fastfood_gaussian", b).normal(k) for k in range(L)], np.float64).astype(np.float32)
            gg = 0.0
            for value in g:
                gg += float(value) * float(value)
            scale = np.float32(1 / math.sqrt(gg * float(D)))
            x = np.zeros(L, np.float32)
            x[:d] = v
            x = walsh_hadamard(x * signs)
            y = walsh_hadamard(g * x[perm])
            out[b * L:(b + 1) * L] = y * scale
        return out[:D]
    raise ValueError("unknown projection kind %d" % kind)


def expand(model):
    """theta = Float(theta0 + Float(P theta_d)) and its SHA-256."""
    base = theta0(model)
    kind, seed, d = model["projection"]
    theta = base + project(kind, seed, len(base), d, model["theta_d"])
    return theta.astype(np.float32), hashlib.sha256(theta.astype("<f4").tobytes()).digest()
