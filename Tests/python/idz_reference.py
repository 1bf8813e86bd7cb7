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
    """A version 1, 2 or 3 file (any layout) as a dict; asserts instead of full checks."""
    assert data[:8] == MAGIC, "bad magic"
    version = struct.unpack("<I", data[8:12])[0]
    assert version in (1, 2, 3), "version"
    head = 32
    if version >= 2:
        layout = data[12]
        if layout in (1, 2):
            return read_compact(data)
        assert layout == 0, "layout"
        head = 33  # the standard layout of version 2: version 1's plus the layout byte
    flags, clen, ulen = struct.unpack("<IQQ", data[head - 20:head])
    assert flags == 0
    assert len(data) == head + clen + 32, "length"
    assert hashlib.sha256(data[:head + clen]).digest() == data[head + clen:], "trailer"
    payload = zlib.decompress(data[head:head + clen])
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
        elif version >= 3: layers.append(read_v3_layer(a, code))
        else: raise ValueError("unknown layer %d" % code)
    assert a.done()
    model["layers"] = layers
    model["version"] = version
    if version >= 3:
        read_v3_sections(model, sections)
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
    elif encoding == 3:
        scale = np.float32(th.f32())
        theta = np.frombuffer(th.take(count), dtype=np.int8).astype(np.float32) * scale
    else:
        assert encoding == 4 and version == 2
        theta = read_codebook(th, count)
    assert th.done()
    model["theta_d"] = theta
    model["weights_sha256"] = sections[0x0007]
    read_base_and_modes(model, sections, version)
    return model


# ---------------------------------------------------------------------------------------
# Version 3, sections 6 and 7 of Formats/idz-v3.md: base-relative models, tensor modes.

MODE_SUBSPACE, MODE_DIRECT, MODE_FROZEN = 0, 1, 2


class BaseMismatch(Exception):
    """The base given is not the one the model records (or none was given)."""


def read_base_and_modes(model, sections, version):
    """Sections 0x000A (base digest, locator) and 0x000B (modes, scales, direct values)."""
    assert version >= 3 or not (0x000A in sections or 0x000B in sections), "version 3 sections"
    if 0x000A in sections:
        r = Reader(sections[0x000A])
        model["base"] = {"sha256": r.take(32), "locator": r.string()}
        assert r.done()
    if 0x000B in sections:
        r = Reader(sections[0x000B])
        flags, count = r.u8(), r.u32()
        assert flags in (0, 1) and count == len(tensors(model))
        modes = list(r.take(count))
        assert all(mode in (0, 1, 2) for mode in modes)
        scales = None
        if flags & 1:
            scales = np.frombuffer(r.take(4 * modes.count(MODE_SUBSPACE)), dtype="<f4").astype(np.float32)
        n = r.u64()
        planes = np.frombuffer(r.take(4 * n), dtype=np.uint8).reshape(4, n)
        direct = np.ascontiguousarray(planes.T).view("<f4").reshape(n).astype(np.float32)
        assert r.done()
        model["modes"] = {"modes": modes, "scales": scales, "direct": direct}


def base_digest(values):
    """SHA-256 of a base: D float32 values, little-endian, in parameter order."""
    return hashlib.sha256(np.asarray(values, dtype=np.float32).astype("<f4").tobytes()).digest()


def base_from_state_dict(model, state):
    """theta_base in parameter order from named tensors (safetensors / a state_dict)."""
    parts = []
    for name, shape, _, _, _ in tensors(model):
        value = np.asarray(state[name], dtype=np.float32)
        assert list(value.shape) == list(shape), name
        parts.append(value.reshape(-1))
    return np.concatenate(parts)


def compose(model, theta0_values, y):
    """theta from theta0 and y = P theta_d under the tensor modes (idz-v3.md section 7)."""
    if "modes" not in model:
        return theta0_values + y
    spec = model["modes"]
    theta = np.empty_like(theta0_values)
    offset, scale_index, direct_offset = 0, 0, 0
    for (name, shape, _, _, _), mode in zip(tensors(model), spec["modes"]):
        n = int(np.prod(shape))
        rows = slice(offset, offset + n)
        if mode == MODE_SUBSPACE:
            if spec["scales"] is None:
                theta[rows] = theta0_values[rows] + y[rows]
            else:
                scaled = (np.float32(spec["scales"][scale_index]) * y[rows]).astype(np.float32)
                theta[rows] = theta0_values[rows] + scaled
                scale_index += 1
        elif mode == MODE_DIRECT:
            theta[rows] = spec["direct"][direct_offset:direct_offset + n]
            direct_offset += n
        else:
            theta[rows] = theta0_values[rows]
        offset += n
    return theta


# ---------------------------------------------------------------------------------------
# Version 2 (Formats/idz-v2.md): the range coder, codebook theta_d, the compact layout.

RC_TOP = 1 << 24
RC_MAX_TOTAL = 1 << 16
MAX_LEVELS = 4096


class RangeCoderError(Exception):
    pass


class AdaptiveModel:
    """Every symbol starts at count 1; +1 per coded symbol; halve (c + 1) >> 1 when the
    total exceeds 2^16 (idz-v2.md, "The symbol model")."""

    def __init__(self, k):
        self.counts = [1] * k
        self.total = k

    def update(self, s):
        self.counts[s] += 1
        self.total += 1
        if self.total > RC_MAX_TOTAL:
            self.counts = [(c + 1) >> 1 for c in self.counts]
            self.total = sum(self.counts)


def rc_encode(symbols, k):
    """The canonical coded bytes of `symbols` (each < k) (idz-v2.md, "Encoder")."""
    model, low, rng, out = AdaptiveModel(k), 0, 0xFFFFFFFF, bytearray()

    def carry():
        i = len(out) - 1
        while out[i] == 0xFF:
            out[i] = 0
            i -= 1
        out[i] += 1

    for s in symbols:
        r = rng // model.total
        low += r * sum(model.counts[:s])
        rng = r * model.counts[s]
        if low >= 1 << 32:
            low -= 1 << 32
            carry()
        while rng < RC_TOP:
            out.append(low >> 24)
            low = (low << 8) & 0xFFFFFFFF
            rng <<= 8
        model.update(s)
    for n in range(5):
        step = 1 << (32 - 8 * n)
        value = -(-low // step) * step
        if value < low + rng:
            break
    if value >= 1 << 32:
        value -= 1 << 32
        carry()
    for i in range(n):
        out.append((value >> (24 - 8 * i)) & 0xFF)
    while out and out[-1] == 0:
        out.pop()
    return bytes(out)


def rc_decode(data, count, k):
    """The `count` symbols coded in `data`; RangeCoderError unless `data` is their canonical
    coding (idz-v2.md, "Decoder")."""
    model, pos = AdaptiveModel(k), 0

    def byte():
        nonlocal pos
        b = data[pos] if pos < len(data) else 0
        pos += 1
        return b

    code = 0
    for _ in range(4):
        code = (code << 8) | byte()
    rng, out = 0xFFFFFFFF, []
    for index in range(count):
        r = rng // model.total
        value = code // r
        if value >= model.total:
            raise RangeCoderError("corrupt at symbol %d" % index)
        s, start = 0, 0
        while start + model.counts[s] <= value:
            start += model.counts[s]
            s += 1
        code -= r * start
        rng = r * model.counts[s]
        while rng < RC_TOP:
            code = (code << 8) | byte()
            rng <<= 8
        model.update(s)
        out.append(s)
    if len(data) > pos:
        raise RangeCoderError("%d bytes, the symbols end after %d" % (len(data), pos))
    if data and data[-1] == 0:
        raise RangeCoderError("trailing zero byte")
    if rc_encode(out, k) != bytes(data):
        raise RangeCoderError("not the canonical coding")
    return out


def read_varint(r):
    """Unsigned LEB128, shortest form, at most 10 bytes (idz-v2.md, "Varints")."""
    value = 0
    for index in range(10):
        b = r.u8()
        if index == 9 and b > 1:
            raise ValueError("varint above 2^64 - 1")
        value |= (b & 0x7F) << (7 * index)
        if not b & 0x80:
            if b == 0 and index > 0:
                raise ValueError("redundant zero byte")
            return value
    raise ValueError("varint longer than 10 bytes")


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_codebook(r, count):
    """The codebook block (varint K, level format, K levels, the coded symbols to the end
    of the field) as float32 theta_d."""
    k = read_varint(r)
    assert 1 <= k <= MAX_LEVELS, "level count"
    form = r.u8()
    assert form in (0, 1), "level format"
    if form == 0:
        levels = np.frombuffer(r.take(4 * k), dtype="<f4").astype(np.float32)
    else:
        levels = np.frombuffer(r.take(2 * k), dtype="<f2").astype(np.float32)
    assert np.all(np.isfinite(levels)), "non-finite level"
    symbols = rc_decode(r.take(len(r.data) - r.pos), count, k)
    return levels[np.array(symbols, dtype=np.int64)] if count else np.zeros(0, np.float32)


def _compact_body(data):
    """The body of a compact file after its CRC-32 is checked."""
    assert len(data) >= 17 and zlib.crc32(data[:-4]) == struct.unpack("<I", data[-4:])[0], "CRC-32"
    if data[12] == 1:
        return data[13:-4]
    h = Reader(data[13:-4])
    length = read_varint(h)
    inflater = zlib.decompressobj(-15)
    body = inflater.decompress(h.data[h.pos:], length + 1)
    assert len(body) == length and inflater.eof and not inflater.unused_data
    return body


def read_compact(data):
    r = Reader(_compact_body(data))
    model = {"input_shape": [read_varint(r) for _ in range(read_varint(r))]}
    layers = []
    for _ in range(read_varint(r)):
        code = r.u8()
        if code == 1: layers.append(("dense", read_varint(r)))
        elif code == 2: layers.append(("conv2d", read_varint(r), read_varint(r), r.u8()))
        elif code == 3: layers.append(("maxpool", read_varint(r)))
        elif code == 4: layers.append(("relu",))
        elif code == 5: layers.append(("flatten",))
        elif code == 6: layers.append(("toy", read_varint(r), read_varint(r)))
        else: raise ValueError("unknown layer %d" % code)
    model["layers"] = layers
    model["tensor_table"] = [(name, shape, scheme) for name, shape, scheme, _, _ in tensors(model)]
    model["theta0_seed"] = read_varint(r)
    kind_byte = r.u8()  # bit 7: the seed is derived from theta0's (idz-v2.md 3.1)
    seed = model["theta0_seed"] ^ 0x9E3779B97F4A7C15 if kind_byte & 0x80 else read_varint(r)
    model["projection"] = (kind_byte & 0x7F, seed, read_varint(r))
    d = model["projection"][2]
    form = r.u8()
    if form == 0:
        model["preprocessing"] = (np.float32(1 / 255), [0.0], [1.0])
    else:
        assert form == 1
        scale, k = r.f32(), read_varint(r)
        means = [r.f32() for _ in range(k)]
        model["preprocessing"] = (scale, means, [r.f32() for _ in range(k)])
    form = r.u8()
    if form == 0:
        model["labels"] = []
    elif form == 1:
        model["labels"] = None  # decimal: "0" ... "n-1", n = the network's outputs
    else:
        assert form == 2
        model["labels"] = [r.take(read_varint(r)).decode("utf-8") for _ in range(read_varint(r))]
    metadata = {}
    for _ in range(read_varint(r)):
        key = r.take(read_varint(r)).decode("utf-8")
        code = r.u8()
        if code == 1: metadata[key] = r.i64()
        elif code == 2: metadata[key] = r.f64()
        elif code == 3: metadata[key] = r.take(read_varint(r)).decode("utf-8")
        elif code == 4: metadata[key] = bool(r.u8())
        elif code == 5: metadata[key] = r.take(read_varint(r))
        else: raise ValueError("metadata type %d" % code)
    model["metadata"] = metadata
    n = r.u8()
    assert n in (0, 4, 8, 16, 32)
    model["weights_sha256"] = r.take(n)
    encoding = r.u8()
    if encoding in (1, 2):
        width, dtype = (4, "<f4") if encoding == 1 else (2, "<f2")
        planes = np.frombuffer(r.take(width * d), dtype=np.uint8).reshape(width, d)
        theta = np.ascontiguousarray(planes.T).view(dtype).reshape(d).astype(np.float32)
    elif encoding == 3:
        scale = np.float32(r.f32())
        theta = np.frombuffer(r.take(d), dtype=np.int8).astype(np.float32) * scale
    else:
        assert encoding == 4
        theta = read_codebook(r, d)
    assert r.done()
    assert np.all(np.isfinite(theta)), "non-finite theta_d value"
    model["theta_d"] = theta
    return model


def tensors(model):
    """(name, shape, init scheme code, fan_in, fan_out) in theta order (spec section 7)."""
    if model.get("version", 1) >= 3:
        return tensors_v3(model)
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
        if scheme == 5:  # ones (idz-v3.md section 3)
            parts.append(np.ones(n, np.float32))
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


def expand(model, base=None):
    """theta = Float(theta0 + Float(P theta_d)) and its SHA-256. A base-relative model
    (version 3) needs `base`, its D values in parameter order, with the recorded digest."""
    if "base" in model:
        if base is None:
            raise BaseMismatch("the model is fine-tuned from base sha256 %s; give the base" % model["base"]["sha256"].hex())
        base = np.asarray(base, dtype=np.float32).reshape(-1)
        if base_digest(base) != model["base"]["sha256"]:
            raise BaseMismatch("wrong base: the model was fine-tuned from sha256 %s, the base given has sha256 %s"
                               % (model["base"]["sha256"].hex(), base_digest(base).hex()))
        start = base
    else:
        assert base is None, "the model has no base"
        start = theta0(model)
    kind, seed, d = model["projection"]
    y = np.asarray(project(kind, seed, len(start), d, model["theta_d"]), dtype=np.float32)
    theta = compose(model, start, y)
    return theta.astype(np.float32), hashlib.sha256(theta.astype("<f4").tobytes()).digest()


# ---------------------------------------------------------------------------------------
# Version 3, sections 3 to 5 of Formats/idz-v3.md: the new layers, the layer graph and names
# (0x0009), buffers (0x0008) and init scheme 5 (ones).

V3_LAYER_CODES = tuple(range(7, 17))


def read_v3_layer(a, code):
    """One layer of codes 7 to 16 (idz-v3.md section 3) as a tuple."""
    if code == 7:
        filters, kernel, stride, padding, groups = (a.u64() for _ in range(5))
        return ("conv", filters, kernel, stride, padding, groups, a.u8())
    if code == 8: return ("batchnorm", a.f32(), a.f32())
    if code == 9: return ("avgpool", a.u64())
    if code == 10: return ("global_avgpool",)
    if code == 11: return ("add", a.u32() - 1)
    if code == 12: return ("dropout", a.f32())
    if code == 13: return ("leaky_relu", a.f32())
    if code == 14: return ("gelu",)
    if code == 15: return ("tanh",)
    if code == 16: return ("sigmoid",)
    raise ValueError("unknown layer %d" % code)


def read_v3_sections(model, sections):
    """Sources and names (0x0009) and buffers (0x0008) into model["sources"], ["names"],
    ["buffers"] (float32 array) and ["batches_tracked"]."""
    n = len(model["layers"])
    model["sources"] = [i - 1 for i in range(n)]
    model["names"] = ["layers.%d" % i for i in range(n)]
    if 0x0009 in sections:
        g = Reader(sections[0x0009])
        flags = g.u8()
        if flags & 1:
            model["sources"] = [g.u32() - 1 for _ in range(n)]
        if flags & 2:
            model["names"] = [g.string() for _ in range(n)]
        assert g.done()
    model["buffers"], model["batches_tracked"] = np.zeros(0, np.float32), 0
    if 0x0008 in sections:
        b = Reader(sections[0x0008])
        model["batches_tracked"] = b.u64()
        count = b.u64()
        model["buffers"] = np.frombuffer(b.take(4 * count), "<f4").astype(np.float32)
        assert b.done()


def v3_shapes(model):
    """The output shape of every layer, following each layer's source (no rule checks)."""
    outputs = []
    for index, layer in enumerate(model["layers"]):
        src = model["sources"][index]
        shape = list(model["input_shape"]) if src == -1 else list(outputs[src])
        outputs.append(_v3_output_shape(layer, shape, index, outputs, model["input_shape"], check=False))
    return outputs


def _v3_output_shape(layer, shape, index, outputs, input_shape, check=True):
    """idz-v3.md section 3's rules; the old layer types by idz-v1.md section 6."""
    kind = layer[0]
    bad = IdzReject("invalid-architecture", "layer %d (%s)" % (index, kind))
    if kind == "conv":
        filters, k, s, p, g, bias = layer[1:]
        if check and (len(shape) != 3 or not 1 <= filters <= MAX_DIMENSION or not 1 <= k <= 64 or not 1 <= s <= 64
                      or not 0 <= p <= 64 or g not in (1, shape[0]) or filters % g
                      or shape[1] + 2 * p < k or shape[2] + 2 * p < k):
            raise bad
        return [filters, (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1]
    if kind == "batchnorm":
        eps, momentum = layer[1:]
        if check and (len(shape) not in (1, 3) or not (math.isfinite(eps) and eps > 0)
                      or not (math.isfinite(momentum) and 0 <= momentum <= 1)):
            raise bad
        return list(shape)
    if kind == "avgpool":
        return _output_shape(("maxpool", layer[1]), shape, index) if check else [shape[0], shape[1] // layer[1], shape[2] // layer[1]]
    if kind == "global_avgpool":
        if check and len(shape) != 3:
            raise bad
        return [shape[0]]
    if kind == "add":
        other = layer[1]
        if check and not -1 <= other < index:
            raise bad
        if check and list(input_shape if other == -1 else outputs[other]) != list(shape):
            raise bad
        return list(shape)
    if kind == "dropout":
        if check and not (0 <= layer[1] < 1):
            raise bad
        return list(shape)
    if kind == "leaky_relu":
        if check and not math.isfinite(layer[1]):
            raise bad
        return list(shape)
    if kind in ("gelu", "tanh", "sigmoid"):
        return list(shape)
    if check:
        return _output_shape(layer, shape, index)
    if kind == "conv2d":
        filters, k, padding = layer[1:]
        return [filters, shape[1] - k + 1, shape[2] - k + 1] if padding == 0 else [filters, shape[1], shape[2]]
    if kind in ("maxpool",):
        return [shape[0], shape[1] // layer[1], shape[2] // layer[1]]
    if kind == "dense":
        return [layer[1]]
    if kind == "flatten":
        return [int(np.prod(shape, dtype=object))] if shape else [1]
    if kind == "relu":
        return list(shape)
    return [layer[1]]  # toy


def tensors_v3(model):
    """The tensors of a version 3 model (idz-v3.md section 3), named by the layer names."""
    outputs, out = v3_shapes(model), []
    for index, layer in enumerate(model["layers"]):
        src = model["sources"][index]
        shape = list(model["input_shape"]) if src == -1 else outputs[src]
        name = model["names"][index]
        kind = layer[0]
        if kind == "dense":
            out.append((name + ".weight", [layer[1], shape[0]], 1, shape[0], layer[1]))
            out.append((name + ".bias", [layer[1]], 0, shape[0], layer[1]))
        elif kind == "conv2d":
            filters, k = layer[1], layer[2]
            out.append((name + ".weight", [filters, shape[0], k, k], 1, shape[0] * k * k, filters * k * k))
            out.append((name + ".bias", [filters], 0, shape[0] * k * k, filters * k * k))
        elif kind == "conv":
            filters, k, _, _, g, bias = layer[1:]
            fan_in, fan_out = shape[0] // g * k * k, filters // g * k * k
            out.append((name + ".weight", [filters, shape[0] // g, k, k], 1, fan_in, fan_out))
            if bias:
                out.append((name + ".bias", [filters], 0, fan_in, fan_out))
        elif kind == "batchnorm":
            out.append((name + ".weight", [shape[0]], 5, 1, 1))
            out.append((name + ".bias", [shape[0]], 0, 1, 1))
        elif kind == "toy":
            out.append((name + ".theta", [layer[1] * layer[2]], 4, 1, 1))
    return out


def buffers_v3(model):
    """(name, float32 array) of every buffer, as `idzip expand` writes them (idz-v3.md 5):
    running_mean, running_var and num_batches_tracked (int64) per batchnorm layer."""
    outputs, out, offset = v3_shapes(model), [], 0
    for index, layer in enumerate(model["layers"]):
        if layer[0] != "batchnorm":
            continue
        c = outputs[index][0]
        name = model["names"][index]
        out.append((name + ".running_mean", model["buffers"][offset:offset + c]))
        out.append((name + ".running_var", model["buffers"][offset + c:offset + 2 * c]))
        out.append((name + ".num_batches_tracked", np.array(model["batches_tracked"], np.int64)))
        offset += 2 * c
    return out


# --- Validation, written from Formats/idz-v1.md sections 1 to 6 and 15 alone ----------------
#
# check_idz(data) returns the kind of the first error the spec's reading order finds
# (section 2, steps 1 to 12), in the kebab-case names of Formats/hostile/MANIFEST, or "ok".

class IdzReject(Exception):
    def __init__(self, kind, message=""):
        super().__init__("%s: %s" % (kind, message))
        self.kind = kind


class CheckedReader(Reader):
    """Reads one section's fields; every length is compared with its limit, then with the
    bytes that remain (section 1, section 5)."""

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n > self.remaining():
            raise IdzReject("malformed-section", "field runs past the end of its section")
        return Reader.take(self, n)

    def limited(self, value, limit):
        if value > limit:
            raise IdzReject("limit-exceeded", "%d > %d" % (value, limit))
        return value

    def room(self, count, size):
        if count * size > self.remaining():
            raise IdzReject("malformed-section", "%d items of %d bytes do not fit" % (count, size))

    def blob(self, limit):
        return self.take(self.limited(self.u32(), limit))

    def string(self, limit):
        raw = self.blob(limit)
        try:
            return raw.decode("utf-8", errors="strict")  # RFC 3629: no overlong forms, no surrogates
        except UnicodeDecodeError:
            raise IdzReject("invalid-utf8")

    def end(self):
        if self.remaining():
            raise IdzReject("malformed-section", "bytes after the last field")


REQUIRED_TAGS = (0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007)
V3_BASE_TAGS = (0x000A, 0x000B)
KNOWN_TAGS = REQUIRED_TAGS + (0x8001, 0x8002) + V3_BASE_TAGS
MAX_DIMENSION, MAX_PARAMETERS, MAX_D = 2**24, 2**36, 2**26


def _check_version(data):
    """Steps 1 to 3 (version 2: section 2 and 7 of idz-v2.md); returns (version, layout)."""
    head = data[:8]
    if head != MAGIC[:len(head)]:
        raise IdzReject("bad-magic")
    if len(data) < 12:
        raise IdzReject("truncated")
    version = struct.unpack("<I", data[8:12])[0]
    if len(data) < 32 and version not in (2, 3):
        raise IdzReject("truncated")
    if version not in (1, 2, 3):
        raise IdzReject("unsupported-version")
    if version == 1:
        return 1, 0
    if len(data) < 13:
        raise IdzReject("truncated")
    if version == 3:
        if data[12] != 0:
            raise IdzReject("unsupported-flags")
        return 3, 0
    if data[12] not in (0, 1, 2):
        raise IdzReject("unsupported-flags")
    return version, data[12]


def _check_preamble_and_inflate(data, head=32):
    """Steps 2 and 4 to 9 of section 2 (head: 32, or 33 for version 2's standard layout);
    returns the payload."""
    if len(data) < head:
        raise IdzReject("truncated")
    flags, clen, ulen = struct.unpack("<IQQ", data[head - 20:head])
    if flags != 0:
        raise IdzReject("unsupported-flags")
    if clen > 256 * 2**20 or ulen > 256 * 2**20:
        raise IdzReject("limit-exceeded")
    if len(data) < head + clen + 32:
        raise IdzReject("truncated")
    if len(data) > head + clen + 32:
        raise IdzReject("trailing-bytes")
    if ulen > clen * 1032 + 1024:
        raise IdzReject("bad-compression")
    if hashlib.sha256(data[:head + clen]).digest() != data[head + clen:]:
        raise IdzReject("checksum-mismatch")
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(data[head:head + clen], ulen + 1)  # output capped at U + 1
    except zlib.error:
        raise IdzReject("bad-compression")
    if len(payload) != ulen or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise IdzReject("bad-compression")
    return payload


def _split(payload, known=KNOWN_TAGS):
    """Step 10: framing, unknown critical tags and repeated known tags, in file order."""
    r, sections = CheckedReader(payload), {}
    while r.remaining():
        tag = r.u16()
        body = r.take(r.u32())
        if tag not in known:
            if tag & 0x8000:
                continue
            raise IdzReject("unknown-section", "0x%04x" % tag)
        if tag in sections:
            raise IdzReject("duplicate-section", "0x%04x" % tag)
        sections[tag] = body
    return sections


def _output_shape(layer, shape, index):
    kind = layer[0]
    bad = IdzReject("invalid-architecture", "layer %d" % index)
    if kind == "dense":
        if len(shape) != 1 or layer[1] < 1:
            raise bad
        return [layer[1]]
    if kind == "conv2d":
        filters, k, padding = layer[1:]
        if len(shape) != 3 or filters < 1 or not 1 <= k <= 64:
            raise bad
        if padding == 0:
            if shape[1] < k or shape[2] < k:
                raise bad
            return [filters, shape[1] - k + 1, shape[2] - k + 1]
        if k % 2 == 0:
            raise bad
        return [filters, shape[1], shape[2]]
    if kind == "maxpool":
        s = layer[1]
        if len(shape) != 3 or s < 1 or shape[1] < s or shape[2] < s:
            raise bad
        return [shape[0], shape[1] // s, shape[2] // s]
    if kind == "relu":
        return list(shape)
    if kind == "flatten":
        return [int(np.prod(shape, dtype=object))] if shape else [1]
    g, m = layer[1], layer[2]  # toy
    if index != 0 or shape or g < 1 or m < 1 or g * m > MAX_PARAMETERS:
        raise bad
    return [g]


def _check_shape(shape):
    entries = 1
    for dimension in shape:
        if not 1 <= dimension <= MAX_DIMENSION:
            raise IdzReject("invalid-architecture", "dimension %d" % dimension)
        entries *= dimension
        if entries > 2**31:
            raise IdzReject("invalid-architecture", "more than 2^31 entries")


def _architecture_rules(input_shape, layers):
    """Section 6; returns the tensor list of section 7 and the number of outputs."""
    if not layers:
        raise IdzReject("invalid-architecture", "no layers")
    _check_shape(input_shape)
    shape, parameters = list(input_shape), 0
    model = {"input_shape": input_shape, "layers": layers}
    for index, layer in enumerate(layers):
        shape = _output_shape(layer, shape, index)
        _check_shape(shape)
    expected = tensors(model)
    for _, tensor_shape, _, _, _ in expected:
        parameters += int(np.prod(tensor_shape, dtype=object))
        if parameters > MAX_PARAMETERS:
            raise IdzReject("invalid-architecture", "D above 2^36")
    return expected, parameters, int(np.prod(shape, dtype=object))


def _projection_rules(kind, d, D):
    if d < 1 or d > D or (kind == 0 and d != D):
        raise IdzReject("invalid-value", "d")
    if kind == 3:
        block = 1 << max(0, (d - 1).bit_length())  # smallest power of two >= d
        if -(-D // block) > 2**32:
            raise IdzReject("limit-exceeded", "Fastfood blocks")


def _varint(r, limit=None):
    try:
        value = read_varint(r)
    except ValueError:
        raise IdzReject("malformed-section", "varint")
    return value if limit is None else r.limited(value, limit)


def _vblob(r, limit):
    return r.take(_varint(r, limit))


def _vstring(r, limit):
    try:
        return _vblob(r, limit).decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise IdzReject("invalid-utf8")


def _check_codebook(r, n):
    """idz-v2.md section 4, to the end of the field; returns the values (float32 bits)."""
    k = _varint(r, MAX_LEVELS)
    if k == 0:
        raise IdzReject("invalid-value", "no levels")
    form = r.u8()
    if form not in (0, 1):
        raise IdzReject("unknown-value", "level format")
    r.room(k, 4 if form == 0 else 2)
    levels = np.frombuffer(r.take((4 if form == 0 else 2) * k), dtype="<f4" if form == 0 else "<f2").astype(np.float32)
    if not np.all(np.isfinite(levels)):
        raise IdzReject("invalid-value", "non-finite level")
    try:
        symbols = rc_decode(r.take(r.remaining()), n, k)
    except RangeCoderError:
        raise IdzReject("invalid-value", "coded stream")
    return levels[np.array(symbols, dtype=np.int64)].view("<u4") if n else np.zeros(0, "<u4")


def _check_compact(data):
    """idz-v2.md section 7."""
    if len(data) < 17:
        raise IdzReject("truncated")
    if zlib.crc32(data[:-4]) != struct.unpack("<I", data[-4:])[0]:
        raise IdzReject("checksum-mismatch")
    if data[12] == 1:
        body = data[13:-4]
    else:
        h = CheckedReader(data[13:-4])
        length = _varint(h, 256 * 2**20)
        compressed = h.take(h.remaining())
        if length > len(compressed) * 1032 + 1024:
            raise IdzReject("bad-compression")
        inflater = zlib.decompressobj(-15)
        try:
            body = inflater.decompress(compressed, length + 1)
        except zlib.error:
            raise IdzReject("bad-compression")
        if len(body) != length or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
            raise IdzReject("bad-compression")
    r = CheckedReader(body)
    rank = _varint(r, 8)
    input_shape = [_varint(r, MAX_DIMENSION) for _ in range(rank)]
    count = _varint(r, 1024)
    r.room(count, 1)
    layers = []
    for _ in range(count):
        code = r.u8()
        if code == 1:
            layers.append(("dense", _varint(r, MAX_DIMENSION)))
        elif code == 2:
            filters, kernel = _varint(r, MAX_DIMENSION), _varint(r, MAX_DIMENSION)
            padding = r.u8()
            if padding not in (0, 1):
                raise IdzReject("unknown-value", "padding")
            layers.append(("conv2d", filters, kernel, padding))
        elif code == 3:
            layers.append(("maxpool", _varint(r, MAX_DIMENSION)))
        elif code == 4:
            layers.append(("relu",))
        elif code == 5:
            layers.append(("flatten",))
        elif code == 6:
            layers.append(("toy", _varint(r, MAX_DIMENSION), _varint(r, MAX_DIMENSION)))
        else:
            raise IdzReject("unknown-value", "layer type %d" % code)
    _, D, outputs = _architecture_rules(input_shape, layers)
    _varint(r)  # theta0 seed
    kind_byte = r.u8()
    kind = kind_byte & 0x7F
    if kind not in (0, 1, 2, 3):
        raise IdzReject("unknown-value", "projection kind")
    if not kind_byte & 0x80:
        _varint(r)
    d = _varint(r, MAX_D)
    _projection_rules(kind, d, D)
    form = r.u8()
    channels, input_scale, means, stds = 1, 1 / 255, [0.0], [1.0]
    if form == 1:
        input_scale = r.f32()
        channels = _varint(r, 4096)
        r.room(channels, 8)
        means = [r.f32() for _ in range(channels)]
        stds = [r.f32() for _ in range(channels)]
    elif form != 0:
        raise IdzReject("unknown-value", "preprocessing form")
    form = r.u8()
    labels = None
    if form == 1:
        if outputs > 65536:
            raise IdzReject("limit-exceeded", "decimal labels")
        labels = [str(i) for i in range(outputs)]
    elif form == 2:
        count = _varint(r, 65536)
        if count == 0:
            raise IdzReject("invalid-value", "stored labels with count 0")
        r.room(count, 1)
        labels = [_vstring(r, 4096) for _ in range(count)]
    elif form != 0:
        raise IdzReject("unknown-value", "label form")
    count = _varint(r, 4096)
    r.room(count, 2)
    keys = []
    for _ in range(count):
        keys.append(_vstring(r, 4096).encode())
        code = r.u8()
        if code in (1, 2):
            r.take(8)
        elif code == 3:
            _vstring(r, 65536)
        elif code == 4:
            if r.u8() > 1:
                raise IdzReject("invalid-value", "bool")
        elif code == 5:
            _vblob(r, 65536)
        else:
            raise IdzReject("unknown-value", "metadata type")
    digest = r.u8()
    if digest not in (0, 4, 8, 16, 32):
        raise IdzReject("invalid-value", "digest length")
    r.take(digest)
    encoding = r.u8()
    if encoding not in (1, 2, 3, 4):
        raise IdzReject("unknown-value", "theta encoding")
    scale = None
    if encoding == 4:
        values = _check_codebook(r, d)
    elif encoding == 3:
        scale = r.f32()
        r.take(d)
    else:
        width = 4 if encoding == 1 else 2
        r.room(d, width)
        planes = np.frombuffer(r.take(width * d), dtype=np.uint8).reshape(width, d)
        values = np.ascontiguousarray(planes.T).view("<u4" if width == 4 else "<u2").reshape(d)
    r.end()
    # The remaining model checks (idz-v1.md step 12 after the projection).
    if encoding == 1 and np.any((values & 0x7F800000) == 0x7F800000):
        raise IdzReject("invalid-value", "non-finite float32")
    if encoding == 2 and np.any((values & 0x7C00) == 0x7C00):
        raise IdzReject("invalid-value", "non-finite float16")
    if encoding == 3 and not (math.isfinite(scale) and scale > 0):
        raise IdzReject("invalid-value", "int8 scale")
    input_channels = input_shape[0] if len(input_shape) == 3 else 1
    if channels not in (1, input_channels):
        raise IdzReject("invalid-value", "preprocessing channels")
    if not math.isfinite(input_scale):
        raise IdzReject("invalid-value", "input scale")
    for mean, std in zip(means, stds):
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise IdzReject("invalid-value", "mean or std")
    if labels is not None and len(labels) != outputs:
        raise IdzReject("invalid-value", "label count")
    seen = set()
    for key in keys:
        if not key:
            raise IdzReject("invalid-value", "empty metadata key")
        if key in seen:
            raise IdzReject("duplicate-metadata-key")
        seen.add(key)


V3_TAGS = (0x0008, 0x0009)
_TENSOR_KINDS = ("dense", "conv2d", "toy", "conv", "batchnorm")


def _check_v3_layer(r, code):
    """Codes 7 to 16, each u64 dimension against 2^24 as read (idz-v3.md section 3)."""
    if code == 7:
        fields = [r.limited(r.u64(), MAX_DIMENSION) for _ in range(5)]
        bias = r.u8()
        if bias > 1:
            raise IdzReject("invalid-value", "conv bias byte")
        return ("conv",) + tuple(fields) + (bias,)
    if code == 9:
        return ("avgpool", r.limited(r.u64(), MAX_DIMENSION))
    return read_v3_layer(r, code)


def _check_v3_graph(body, layers):
    """Section 0x0009 (idz-v3.md section 4) as read: flags, sources, names (rules later)."""
    n = len(layers)
    sources = [i - 1 for i in range(n)]
    names = ["layers.%d" % i for i in range(n)]
    if body is None:
        return sources, names
    r = CheckedReader(body)
    flags = r.u8()
    if flags == 0 or flags & ~3:
        raise IdzReject("invalid-value", "graph flags")
    if flags & 1:
        r.room(n, 4)
        sources = [r.u32() - 1 for _ in range(n)]
    if flags & 2:
        r.room(n, 4)
        names = [r.string(256) for _ in range(n)]
    r.end()
    return sources, names


def _check_v3_names(layers, names):
    """Rule 3 of idz-v3.md section 4."""
    taken = set()
    for i, name in enumerate(names):
        raw = name.encode()
        ok = 1 <= len(raw) <= 256 and all(c.isascii() and (c.isalnum() or c in "_.") for c in name)
        if not ok or "" in name.split("."):
            raise IdzReject("invalid-architecture", "layer name %r" % name)
        if layers[i][0] in _TENSOR_KINDS:
            if name in taken:
                raise IdzReject("invalid-architecture", "duplicate layer name %r" % name)
            taken.add(name)
    for name in taken:
        parts = name.split(".")
        if any(".".join(parts[:k]) in taken for k in range(1, len(parts))):
            raise IdzReject("invalid-architecture", "layer name %r inside a layer with tensors" % name)


def _architecture_rules_v3(input_shape, layers, sources, names):
    """idz-v1.md section 6 with idz-v3.md sections 3 and 4: (tensors, D, outputs, channels
    of each batchnorm layer)."""
    if not layers:
        raise IdzReject("invalid-architecture", "no layers")
    for i, src in enumerate(sources):
        if not -1 <= src < i:
            raise IdzReject("invalid-architecture", "layer %d reads a later layer" % i)
    _check_shape(input_shape)
    outputs = []
    for index, layer in enumerate(layers):
        src = sources[index]
        shape = list(input_shape) if src == -1 else list(outputs[src])
        shape = _v3_output_shape(layer, shape, index, outputs, input_shape)
        _check_shape(shape)
        outputs.append(shape)
    _check_v3_names(layers, names)
    model = {"version": 3, "input_shape": input_shape, "layers": layers, "sources": sources, "names": names}
    expected, parameters = tensors_v3(model), 0
    for _, tensor_shape, _, _, _ in expected:
        parameters += int(np.prod(tensor_shape, dtype=object))
        if parameters > MAX_PARAMETERS:
            raise IdzReject("invalid-architecture", "D above 2^36")
    channels = [outputs[i][0] for i, layer in enumerate(layers) if layer[0] == "batchnorm"]
    return expected, parameters, int(np.prod(outputs[-1], dtype=object)), channels


def _check_v3_buffers(body, channels):
    """Section 0x0008 (idz-v3.md section 5), in tag order after 0x0007; `channels`: C of
    each batchnorm layer in order."""
    buffer_count = 2 * sum(channels)
    if body is None:
        if buffer_count:
            raise IdzReject("missing-section", "0x0008")
        return
    if not buffer_count:
        raise IdzReject("inconsistent-shapes", "buffers without a batchnorm layer")
    r = CheckedReader(body)
    if r.u64() >= 2**63:
        raise IdzReject("invalid-value", "batches tracked")
    count = r.u64()
    r.room(count, 4)
    if count != buffer_count:
        raise IdzReject("inconsistent-shapes", "buffer count")
    values = np.frombuffer(r.take(4 * count), "<f4")
    r.end()
    if not np.all(np.isfinite(values)):
        raise IdzReject("invalid-value", "non-finite buffer")
    offset = 0
    for c in channels:
        if np.any(values[offset + c:offset + 2 * c] < 0):
            raise IdzReject("invalid-value", "negative running variance")
        offset += 2 * c


def check_idz(data):
    """The kind of the first error of `data` (spec section 2's order), or "ok"."""
    try:
        _check(data)
        return "ok"
    except IdzReject as reject:
        return reject.kind


def _check(data):
    version, layout = _check_version(data)
    if layout in (1, 2):
        return _check_compact(data)
    known = KNOWN_TAGS + V3_TAGS if version >= 3 else KNOWN_TAGS
    sections = _split(_check_preamble_and_inflate(data, 32 if version == 1 else 33), known)
    _check_base_tags_version(sections, version)

    def section(tag):
        if tag not in sections:
            raise IdzReject("missing-section", "0x%04x" % tag)
        return CheckedReader(sections[tag])

    # Step 11: sections in tag order, fields checked as read.
    r = section(0x0001)
    rank = r.limited(r.u8(), 8)
    r.room(rank, 8)
    input_shape = [r.limited(r.u64(), MAX_DIMENSION) for _ in range(rank)]
    count = r.limited(r.u32(), 1024)
    r.room(count, 1)
    layers = []
    for _ in range(count):
        code = r.u8()
        if code == 1:
            layers.append(("dense", r.limited(r.u64(), MAX_DIMENSION)))
        elif code == 2:
            filters, kernel = r.limited(r.u64(), MAX_DIMENSION), r.limited(r.u64(), MAX_DIMENSION)
            padding = r.u8()
            if padding not in (0, 1):
                raise IdzReject("unknown-value", "padding")
            layers.append(("conv2d", filters, kernel, padding))
        elif code == 3:
            layers.append(("maxpool", r.limited(r.u64(), MAX_DIMENSION)))
        elif code == 4:
            layers.append(("relu",))
        elif code == 5:
            layers.append(("flatten",))
        elif code == 6:
            layers.append(("toy", r.limited(r.u64(), MAX_DIMENSION), r.limited(r.u64(), MAX_DIMENSION)))
        elif version >= 3 and code in V3_LAYER_CODES:
            layers.append(_check_v3_layer(r, code))
        else:
            raise IdzReject("unknown-value", "layer type %d" % code)
    r.end()
    if version >= 3:
        sources, names = _check_v3_graph(sections.get(0x0009), layers)
        expected, D, outputs, bn_channels = _architecture_rules_v3(input_shape, layers, sources, names)
    else:
        expected, D, outputs = _architecture_rules(input_shape, layers)

    r = section(0x0002)
    count = r.u32()
    r.room(count, 6)
    if count != len(expected):
        raise IdzReject("inconsistent-shapes")
    for name, shape, scheme, _, _ in expected:
        stored_name = r.blob(4096)
        try:
            stored_name.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise IdzReject("invalid-utf8")
        stored_rank = r.limited(r.u8(), 8)
        r.room(stored_rank, 8)
        stored_shape = [r.limited(r.u64(), MAX_PARAMETERS) for _ in range(stored_rank)]
        stored_scheme = r.u8()
        if stored_scheme not in (0, 1, 2, 3, 4, 5):  # 5 (ones, idz-v3.md) cannot match a version 1 network
            raise IdzReject("unknown-value", "init scheme")
        if stored_name != name.encode() or stored_shape != shape or stored_scheme != scheme:
            raise IdzReject("inconsistent-shapes", name)
    r.end()

    r = section(0x0003)
    theta0_seed = r.u64()
    r.end()

    r = section(0x0004)
    kind = r.u8()
    if kind not in (0, 1, 2, 3):
        raise IdzReject("unknown-value", "projection kind")
    r.u64()
    d = r.limited(r.u64(), MAX_D)
    r.end()

    r = section(0x0005)
    encoding = r.u8()
    if encoding not in ((1, 2, 3) if version == 1 else (1, 2, 3, 4)):
        raise IdzReject("unknown-value", "theta encoding")
    n = r.limited(r.u64(), MAX_D)
    scale = None
    if encoding == 4:
        # idz-v2.md section 4: n = d and the projection rules before the symbols are decoded.
        if n != d:
            raise IdzReject("invalid-value", "theta count")
        _projection_rules(kind, d, D)
        values = _check_codebook(r, n)
    elif encoding == 3:
        scale = r.f32()
        values = np.frombuffer(r.take(n), dtype=np.int8)
    else:
        width = 4 if encoding == 1 else 2
        r.room(n, width)
        planes = np.frombuffer(r.take(width * n), dtype=np.uint8).reshape(width, n)
        values = np.ascontiguousarray(planes.T).view("<u4" if width == 4 else "<u2").reshape(n)
    r.end()

    r = section(0x0006)
    input_scale = r.f32()
    channels = r.limited(r.u32(), 4096)
    r.room(channels, 8)
    means = [r.f32() for _ in range(channels)]
    stds = [r.f32() for _ in range(channels)]
    r.end()

    r = section(0x0007)
    r.take(32)
    r.end()

    if version >= 3:
        _check_v3_buffers(sections.get(0x0008), bn_channels)

    labels = None
    if 0x8001 in sections:
        r = CheckedReader(sections[0x8001])
        count = r.limited(r.u32(), 65536)
        if count == 0:
            raise IdzReject("invalid-value", "a labels section with no labels")
        r.room(count, 4)
        labels = [r.string(4096) for _ in range(count)]
        r.end()

    keys = []
    if 0x8002 in sections:
        r = CheckedReader(sections[0x8002])
        count = r.limited(r.u32(), 4096)
        r.room(count, 5)
        for _ in range(count):
            keys.append(r.blob(4096))
            try:
                keys[-1].decode("utf-8", errors="strict")
            except UnicodeDecodeError:
                raise IdzReject("invalid-utf8")
            kind_code = r.u8()
            if kind_code in (1, 2):
                r.take(8)
            elif kind_code == 3:
                r.string(65536)
            elif kind_code == 4:
                if r.u8() > 1:
                    raise IdzReject("invalid-value", "bool")
            elif kind_code == 5:
                r.blob(65536)
            else:
                raise IdzReject("unknown-value", "metadata type")
        r.end()

    base, modes = _check_base_sections(sections, expected)

    # Step 12: model checks, in order.
    _projection_rules(kind, d, D)
    if n != d:
        raise IdzReject("invalid-value", "theta count")
    if encoding == 1 and np.any((values & 0x7F800000) == 0x7F800000):
        raise IdzReject("invalid-value", "non-finite float32")
    if encoding == 2 and np.any((values & 0x7C00) == 0x7C00):
        raise IdzReject("invalid-value", "non-finite float16")
    if encoding == 3 and not (math.isfinite(scale) and scale > 0):
        raise IdzReject("invalid-value", "int8 scale")
    input_channels = input_shape[0] if len(input_shape) == 3 else 1
    if channels not in (1, input_channels):
        raise IdzReject("invalid-value", "preprocessing channels")
    if not math.isfinite(input_scale):
        raise IdzReject("invalid-value", "input scale")
    for mean, std in zip(means, stds):
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise IdzReject("invalid-value", "mean or std")
    if labels is not None and len(labels) != outputs:
        raise IdzReject("invalid-value", "label count")
    seen = set()
    for key in keys:
        if not key:
            raise IdzReject("invalid-value", "empty metadata key")
        if key in seen:
            raise IdzReject("duplicate-metadata-key")
        seen.add(key)
    _base_and_mode_rules(base, modes, theta0_seed, kind)


def _check_base_tags_version(sections, version):
    """Step 10 for version 3's sections 0x000A and 0x000B: unknown below version 3."""
    for tag in V3_BASE_TAGS:
        if tag in sections and version < 3:
            raise IdzReject("unknown-section", "0x%04x needs version 3" % tag)


def _check_base_sections(sections, expected):
    """Step 11 for sections 0x000A and 0x000B (idz-v3.md sections 6 and 7): fields as read."""
    base = modes = None
    if 0x000A in sections:
        r = CheckedReader(sections[0x000A])
        digest = r.take(32)
        base = (digest, r.string(4096))
        r.end()
    if 0x000B in sections:
        r = CheckedReader(sections[0x000B])
        flags = r.u8()
        if flags & ~1:
            raise IdzReject("invalid-value", "tensor mode flags")
        count = r.u32()
        if count != len(expected):
            raise IdzReject("inconsistent-shapes", "tensor mode count")
        r.room(count, 1)
        codes = list(r.take(count))
        for code in codes:
            if code not in (0, 1, 2):
                raise IdzReject("unknown-value", "tensor mode")
        scales = None
        if flags & 1:
            s = codes.count(MODE_SUBSPACE)
            r.room(s, 4)
            scales = np.frombuffer(r.take(4 * s), dtype="<u4")
        direct_expected = sum(int(np.prod(shape)) for (_, shape, _, _, _), code in zip(expected, codes) if code == MODE_DIRECT)
        n = r.limited(r.u64(), MAX_PARAMETERS)
        if n != direct_expected:
            raise IdzReject("inconsistent-shapes", "direct value count")
        r.room(n, 4)
        planes = np.frombuffer(r.take(4 * n), dtype=np.uint8).reshape(4, n)
        direct = np.ascontiguousarray(planes.T).view("<u4").reshape(n)
        r.end()
        modes = (codes, scales, direct)
    return base, modes


def _base_and_mode_rules(base, modes, theta0_seed, kind):
    """Step 12 for version 3's sections 6 and 7, after version 1's model checks."""
    if base is not None and theta0_seed != 0:
        raise IdzReject("invalid-value", "a base-relative model stores theta0 seed 0")
    if modes is None:
        return
    codes, scales, direct = modes
    if scales is None and all(code == MODE_SUBSPACE for code in codes):
        raise IdzReject("invalid-value", "a tensor modes section that says nothing")
    if kind == 0:
        raise IdzReject("invalid-value", "tensor modes with the identity projection")
    if scales is not None and np.any((scales & 0x7F800000) == 0x7F800000):
        raise IdzReject("invalid-value", "non-finite tensor scale")
    if np.any((direct & 0x7F800000) == 0x7F800000):
        raise IdzReject("invalid-value", "non-finite direct value")
