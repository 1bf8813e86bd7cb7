"""Reading and validating `.idz` files (Formats/idz-v1.md sections 2-6 and 12-15, and
version 2, Formats/idz-v2.md: codebook theta_d and the compact layout, in ``version2``).

The checks run in the order of idzip's Swift reader, so a file is rejected with the same
error kind: preamble, trailer, capped inflation, sections, then each required section in tag
order, the optional ones, and last the model as a whole. Every count is checked against its
limit and against the bytes that remain before anything is allocated for it.
"""
import hashlib
import math
import os
import struct
import zlib

import numpy as np

from . import errors as E
from . import version2 as V2
from . import version3_base as V3B
from .architecture import (
    INIT_SCHEMES, MAX_DIMENSION, MAX_LAYERS, MAX_PARAMETERS, MAX_RANK, Architecture, Layer,
)

__all__ = [
    "MAGIC", "PREAMBLE_SIZE", "TRAILER_SIZE", "MAX_COMPRESSED_PAYLOAD", "MAX_UNCOMPRESSED_PAYLOAD",
    "MAX_FILE_SIZE", "MAX_SUBSPACE_DIMENSION", "PROJECTION_KINDS", "THETA_ENCODINGS",
    "Projection", "Preprocessing", "ThetaD", "decode", "read_bytes",
]

MAGIC = bytes([0x89, 0x49, 0x44, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A])
PREAMBLE_SIZE = 32
TRAILER_SIZE = 32
MAX_COMPRESSED_PAYLOAD = 256 << 20
MAX_UNCOMPRESSED_PAYLOAD = 256 << 20
MAX_INFLATION_RATIO = 1032
INFLATION_SLACK = 1024
MAX_FILE_SIZE = PREAMBLE_SIZE + MAX_COMPRESSED_PAYLOAD + TRAILER_SIZE
MAX_SUBSPACE_DIMENSION = 1 << 26
MAX_NAME_BYTES = 4 << 10
MAX_METADATA_VALUE_BYTES = 64 << 10
MAX_METADATA_ENTRIES = 4096
MAX_LABELS = 65536
MAX_PREPROCESSING_CHANNELS = 4096

TAG_ARCHITECTURE, TAG_TENSOR_TABLE, TAG_THETA0, TAG_PROJECTION = 0x0001, 0x0002, 0x0003, 0x0004
TAG_THETA_D, TAG_PREPROCESSING, TAG_WEIGHTS_SHA256 = 0x0005, 0x0006, 0x0007
TAG_LABELS, TAG_METADATA = 0x8001, 0x8002
TAG_BUFFERS, TAG_LAYER_GRAPH = 0x0008, 0x0009  # version 3 (Formats/idz-v3.md sections 4 and 5)
VERSION3_SECTION_NAMES = {TAG_BUFFERS: "buffers", TAG_LAYER_GRAPH: "layer graph"}
SECTION_NAMES = {
    TAG_ARCHITECTURE: "architecture", TAG_TENSOR_TABLE: "tensor table", TAG_THETA0: "theta0",
    TAG_PROJECTION: "projection", TAG_THETA_D: "theta_d", TAG_PREPROCESSING: "preprocessing",
    TAG_WEIGHTS_SHA256: "weights SHA-256", TAG_LABELS: "labels", TAG_METADATA: "metadata",
}
SECTION_NAMES.update(V3B.SECTION_NAMES)  # version 3: base (0x000A), tensor modes (0x000B)

#: Projection kind codes (section 4.4).
PROJECTION_KINDS = {0: "identity", 1: "dense", 2: "sparse", 3: "fastfood"}
#: theta_d encoding codes (section 4.5).
THETA_ENCODINGS = {1: "float32", 2: "float16", 3: "int8", 4: "codebook"}
_LAYER_CODES = {1: "dense", 2: "conv2d", 3: "maxpool", 4: "relu", 5: "flatten", 6: "toy"}
#: Version 3's layer codes (Formats/idz-v3.md section 3).
_V3_LAYER_CODES = {7: "convolution", 8: "batchnorm", 9: "avgpool", 10: "global_avgpool", 11: "add", 12: "dropout",
                   13: "leaky_relu", 14: "gelu", 15: "tanh", 16: "sigmoid"}
_PADDINGS = {0: "valid", 1: "same"}


class Projection:
    """The projection section: P is a frozen random D x d matrix regenerated from ``seed``.

    Attributes:
        kind: ``"identity"``, ``"dense"``, ``"sparse"`` or ``"fastfood"``.
        code: the kind's code (0 ..= 3).
        seed: the 64-bit projection seed.
        d: the subspace dimension (number of theta_d values).
    """

    def __init__(self, code, seed, d):
        self.code, self.kind, self.seed, self.d = code, PROJECTION_KINDS[code], seed, d

    def __repr__(self):
        return "Projection(kind=%r, seed=%d, d=%d)" % (self.kind, self.seed, self.d)


class ThetaD:
    """theta_d as stored (section 4.5) and decoded (section 12).

    Attributes:
        encoding: ``"float32"``, ``"float16"``, ``"int8"`` or ``"codebook"`` (version 2).
        raw: the stored values: float32 / float16 arrays reassembled from their byte planes,
            the int8 array, or the codebook's uint16 symbols.
        scale: the int8 scale (float), None for the other encodings.
        levels: float32 array [K] of a codebook, else None.
        values: float32 array [d], the decoded values (float16 widened exactly,
            int8 as float32(q) * scale, a codebook's levels[symbol]).
    """

    def __init__(self, encoding, raw, scale=None, levels=None):
        self.encoding, self.raw, self.scale, self.levels = encoding, raw, scale, levels
        if encoding == "codebook":
            values = levels[raw.astype(np.int64)] if len(raw) else np.zeros(0, np.float32)
        elif encoding == "int8":
            values = raw.astype(np.float32) * np.float32(scale)
        else:
            values = raw.astype(np.float32)
        values.setflags(write=False)
        self.values = values

    @property
    def count(self):
        return len(self.raw)


class Preprocessing:
    """x = (raw * input_scale - mean[c]) / std[c] in float32 (section 13).

    Attributes:
        input_scale: float (float32 value), e.g. 1/255.
        mean, std: float32 arrays [K]; K = 1 (shared) or the C of a [C, H, W] input.
    """

    def __init__(self, input_scale, mean, std):
        self.input_scale, self.mean, self.std = input_scale, np.asarray(mean, np.float32), np.asarray(std, np.float32)

    def __repr__(self):
        return "Preprocessing(input_scale=%r, mean=%s, std=%s)" % (self.input_scale, self.mean.tolist(), self.std.tolist())


class _Reader:
    """Little-endian fields from a bytes object, never past its end (malformed section)."""

    def __init__(self, data, context):
        self.data, self.pos, self.context = data, 0, context

    @property
    def remaining(self):
        return len(self.data) - self.pos

    def raw(self, count, field):
        if count < 0 or count > self.remaining:
            raise E.MalformedSection("%s ends inside %s: needs %d bytes, %d remain" % (self.context, field, count, self.remaining))
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def _unpack(self, fmt, size, field):
        return struct.unpack(fmt, self.raw(size, field))[0]

    def u8(self, field): return self._unpack("<B", 1, field)
    def u16(self, field): return self._unpack("<H", 2, field)
    def u32(self, field): return self._unpack("<I", 4, field)
    def u64(self, field): return self._unpack("<Q", 8, field)
    def i64(self, field): return self._unpack("<q", 8, field)
    def f32(self, field): return self._unpack("<f", 4, field)
    def f64(self, field): return self._unpack("<d", 8, field)

    def count(self, field, limit):
        value = self.u64(field)
        if value > limit:
            raise E.LimitExceeded("%s %d exceeds the limit %d (%s)" % (field, value, limit, self.context))
        return value

    def count32(self, field, limit):
        value = self.u32(field)
        if value > limit:
            raise E.LimitExceeded("%s %d exceeds the limit %d (%s)" % (field, value, limit, self.context))
        return value

    def blob(self, field, limit):
        length = self.u32(field + " length")
        if length > limit:
            raise E.LimitExceeded("%s of %d bytes exceeds the limit %d (%s)" % (field, length, limit, self.context))
        return self.raw(length, field)

    def string(self, field, limit):
        data = self.blob(field, limit)
        try:
            return data.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise E.InvalidUTF8("%s is not valid UTF-8 (%s)" % (field, self.context)) from None

    def check_room(self, count, size, items):
        needed = count * size
        if needed > self.remaining:
            raise E.MalformedSection("more %s than bytes: %d %s need at least %d bytes, %d remain (%s)"
                                     % (items, count, items, needed, self.remaining, self.context))

    def expect_end(self):
        if self.remaining:
            raise E.MalformedSection("%d unexpected trailing bytes in the %s" % (self.remaining, self.context))


# MARK: Preamble, trailer, compression

def _version(data):
    """Magic, version and (version 2) layout: (version, layout)."""
    n = len(data)
    if data[:min(8, n)] != MAGIC[:min(8, n)]:
        raise E.BadMagic("not an .idz file (bad magic)")
    if n < 12:
        raise E.Truncated("truncated file: %d bytes, shorter than the %d-byte preamble" % (n, PREAMBLE_SIZE))
    version = struct.unpack("<I", data[8:12])[0]
    if n < PREAMBLE_SIZE and version not in (2, 3):
        raise E.Truncated("truncated file: %d bytes, shorter than the %d-byte preamble" % (n, PREAMBLE_SIZE))
    if version not in (1, 2, 3):
        raise E.UnsupportedVersion("unsupported .idz version %d (this reader reads versions 1 to 3)" % version)
    if version == 1:
        return 1, 0
    if n < 13:
        raise E.Truncated("truncated file: %d bytes end before the version %d layout byte" % (n, version))
    if version == 3:
        if data[12] != 0:
            raise E.UnsupportedFlags("unknown layout %d (version 3 defines only 0, the standard layout)" % data[12])
        return 3, 0
    if data[12] not in (0, 1, 2):
        raise E.UnsupportedFlags("unknown layout %d (version 2 defines 0, 1 and 2)" % data[12])
    return version, data[12]


def _preamble(data, head=PREAMBLE_SIZE):
    n = len(data)
    if n < head:
        raise E.Truncated("truncated file: %d bytes, shorter than the %d-byte preamble" % (n, head))
    flags, compressed, uncompressed = struct.unpack("<IQQ", data[head - 20:head])
    if flags != 0:
        raise E.UnsupportedFlags("unsupported flags 0x%x (versions 1 and 2 define none)" % flags)
    if compressed > MAX_COMPRESSED_PAYLOAD:
        raise E.LimitExceeded("declared compressed payload of %d bytes exceeds the limit %d" % (compressed, MAX_COMPRESSED_PAYLOAD))
    if uncompressed > MAX_UNCOMPRESSED_PAYLOAD:
        raise E.LimitExceeded("declared uncompressed payload of %d bytes exceeds the limit %d" % (uncompressed, MAX_UNCOMPRESSED_PAYLOAD))
    expected = head + compressed + TRAILER_SIZE
    if n < expected:
        raise E.Truncated("truncated file: the preamble declares %d bytes, the file has %d" % (expected, n))
    if n > expected:
        raise E.TrailingBytes("%d trailing bytes after the end of the file (%d bytes)" % (n - expected, expected))
    if uncompressed > compressed * MAX_INFLATION_RATIO + INFLATION_SLACK:
        raise E.BadCompression("declared uncompressed payload of %d bytes is impossible for %d compressed bytes (a zlib bomb?)"
                               % (uncompressed, compressed))
    return compressed, uncompressed


def _inflate(compressed, expected):
    """One zlib stream of exactly ``expected`` bytes; output capped at expected + 1 bytes."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(compressed, expected + 1)
    except zlib.error as error:
        raise E.BadCompression("corrupt zlib stream: %s" % error) from None
    if len(out) > expected:
        raise E.BadCompression("the payload inflates past its declared %d bytes (a zlib bomb?)" % expected)
    if not inflater.eof:
        raise E.BadCompression("the zlib stream is truncated")
    if len(out) != expected:
        raise E.BadCompression("the payload inflates to %d bytes, not the declared %d" % (len(out), expected))
    if inflater.unused_data:
        raise E.BadCompression("%d bytes follow the end of the zlib stream" % len(inflater.unused_data))
    return out


def _split_sections(payload, version=1):
    names = {**SECTION_NAMES, **VERSION3_SECTION_NAMES} if version >= 3 else SECTION_NAMES
    reader, sections = _Reader(payload, "payload"), {}
    while reader.remaining:
        tag = reader.u16("a section tag")
        length = reader.u32("the length of section 0x%04X" % tag)
        if length > reader.remaining:
            raise E.MalformedSection("section 0x%04X declares %d bytes, but only %d remain in the payload" % (tag, length, reader.remaining))
        body = reader.raw(length, "section 0x%04X" % tag)
        if tag not in names:
            if tag & 0x8000:
                continue
            raise E.UnknownSection("unknown critical section 0x%04X (written by a newer idzip?)" % tag)
        if tag in sections:
            raise E.DuplicateSection("duplicate %s section (0x%04X)" % (names[tag], tag))
        sections[tag] = body
    return sections


# MARK: Sections

def _read_architecture(r, version=1):
    rank = r.u8("input rank")
    if rank > MAX_RANK:
        raise E.LimitExceeded("input rank %d exceeds the limit %d" % (rank, MAX_RANK))
    r.check_room(rank, 8, "input dimensions")
    input_shape = tuple(r.count("input dimension", MAX_DIMENSION) for _ in range(rank))
    layer_count = r.count32("layer count", MAX_LAYERS)
    r.check_room(layer_count, 1, "layers")
    layers = []
    for index in range(layer_count):
        code = r.u8("layer %d type" % index)
        if version >= 3 and code in _V3_LAYER_CODES:
            layers.append(_read_v3_layer(r, code, index))
            continue
        if code not in _LAYER_CODES:
            raise E.UnknownValue("unknown layer type %d (layer %d)" % (code, index))
        kind = _LAYER_CODES[code]

        def dimension(name):
            return r.count("layer %d %s" % (index, name), MAX_DIMENSION)

        if kind == "dense":
            layers.append(Layer("dense", units=dimension("units")))
        elif kind == "conv2d":
            filters, kernel = dimension("filters"), dimension("kernel")
            padding = r.u8("layer %d padding" % index)
            if padding not in _PADDINGS:
                raise E.UnknownValue("unknown padding %d (layer %d)" % (padding, index))
            layers.append(Layer("conv2d", filters=filters, kernel=kernel, padding=_PADDINGS[padding]))
        elif kind == "maxpool":
            layers.append(Layer("maxpool", size=dimension("pool size")))
        elif kind == "toy":
            groups = dimension("groups")
            layers.append(Layer("toy", groups=groups, group_size=dimension("group size")))
        else:
            layers.append(Layer(kind))
    return input_shape, tuple(layers)


def _read_v3_layer(r, code, index):
    """A layer of codes 7 to 16 (Formats/idz-v3.md section 3); rules are checked by Architecture."""
    kind = _V3_LAYER_CODES[code]

    def dimension(name):
        return r.count("layer %d %s" % (index, name), MAX_DIMENSION)

    if kind == "convolution":
        filters, kernel, stride, pad, groups = (dimension(n) for n in ("filters", "kernel", "stride", "padding", "groups"))
        bias = r.u8("layer %d bias" % index)
        if bias > 1:
            raise E.InvalidValue("layer %d (convolution) has bias byte %d; only 0 and 1 are allowed" % (index, bias))
        return Layer("convolution", filters=filters, kernel=kernel, stride=stride, pad=pad, groups=groups, bias=bias == 1)
    if kind == "batchnorm":
        epsilon = r.f32("layer %d epsilon" % index)
        return Layer("batchnorm", epsilon=epsilon, momentum=r.f32("layer %d momentum" % index))
    if kind == "avgpool":
        return Layer("avgpool", size=dimension("pool size"))
    if kind == "add":
        return Layer("add", other=r.u32("layer %d other layer" % index) - 1)
    if kind == "dropout":
        return Layer("dropout", rate=r.f32("layer %d rate" % index))
    if kind == "leaky_relu":
        return Layer("leaky_relu", slope=r.f32("layer %d slope" % index))
    return Layer(kind)


def _read_layer_graph(r, count):
    """Section 0x0009: (sources, names); the rules are Architecture's."""
    flags = r.u8("layer graph flags")
    if flags == 0 or flags & ~3:
        raise E.InvalidValue("layer graph flags 0x%x (1: sources, 2: names, 3: both)" % flags)
    sources, names = (), ()
    if flags & 1:
        r.check_room(count, 4, "layer sources")
        sources = tuple(r.u32("layer source") - 1 for _ in range(count))
    if flags & 2:
        r.check_room(count, 4, "layer names")
        names = tuple(r.string("layer name", 256) for _ in range(count))
    return sources, names


def _read_buffers(r, architecture):
    """Section 0x0008: (float32 buffers, batches tracked), checked as Formats/idz-v3.md section 5 says."""
    batches = r.u64("batches tracked")
    if batches > (1 << 63) - 1:
        raise E.InvalidValue("%d batches tracked is above 2^63 - 1" % batches)
    count = r.u64("buffer count")
    if count > r.remaining // 4:
        raise E.MalformedSection("more buffer values than bytes: %d float32 values need %d x 4 bytes, %d remain" % (count, count, r.remaining))
    if count != architecture.buffer_count:
        raise E.InconsistentShapes("inconsistent shapes: the buffers section holds %d values, the batch-norm layers need %d"
                                   % (count, architecture.buffer_count))
    values = np.frombuffer(bytes(r.raw(4 * count, "buffer values")), dtype="<f4").astype(np.float32)
    for tensor in architecture.buffers:
        part = values[tensor.offset:tensor.offset + tensor.count]
        if not np.all(np.isfinite(part)) or (tensor.init_scheme == 5 and np.any(part < 0)):
            raise E.InvalidValue("buffer %s must be finite (and a variance not negative)" % tensor.name)
    return values, batches


def _check_tensor_table(r, expected):
    count = r.count32("tensor count", MAX_PARAMETERS)
    r.check_room(count, 6, "tensors")
    if count != len(expected):
        raise E.InconsistentShapes("inconsistent shapes: the tensor table lists %d tensors, the architecture defines %d"
                                   % (count, len(expected)))
    for tensor in expected:
        name = r.string("tensor name", MAX_NAME_BYTES)
        rank = r.u8("rank of %r" % name)
        if rank > MAX_RANK:
            raise E.LimitExceeded("tensor %r has rank %d, over the limit %d" % (name, rank, MAX_RANK))
        r.check_room(rank, 8, "dimensions")
        shape = tuple(r.count("dimension of %r" % name, MAX_PARAMETERS) for _ in range(rank))
        scheme = r.u8("init scheme of %r" % name)
        if scheme not in INIT_SCHEMES:
            raise E.UnknownValue("unknown init scheme %d (tensor %r)" % (scheme, name))
        if name.encode("utf-8") != tensor.name.encode("utf-8") or shape != tensor.shape or scheme != tensor.init_scheme:
            raise E.InconsistentShapes("inconsistent shapes: the tensor table has %r %s %s, the architecture defines %s %s %s"
                                       % (name, list(shape), INIT_SCHEMES[scheme], tensor.name, list(tensor.shape),
                                          INIT_SCHEMES[tensor.init_scheme]))


def _read_projection(r):
    code = r.u8("projection kind")
    if code not in PROJECTION_KINDS:
        raise E.UnknownValue("unknown projection kind %d" % code)
    seed = r.u64("projection seed")
    d = r.u64("d")
    if d > MAX_SUBSPACE_DIMENSION:
        raise E.LimitExceeded("declared d %d exceeds the limit %d" % (d, MAX_SUBSPACE_DIMENSION))
    return Projection(code, seed, d)


def _join_planes(planes, count, width):
    """Reassemble little-endian values from ``width`` byte planes of ``count`` bytes (section 4.5)."""
    dtype = np.dtype("<u4") if width == 4 else np.dtype("<u2")
    grid = np.frombuffer(planes, dtype=np.uint8).reshape(width, count)
    return np.ascontiguousarray(grid.T).view(dtype).reshape(count)


def _read_theta(r, version=1, projection=None, parameter_count=0):
    code = r.u8("theta encoding")
    if code not in THETA_ENCODINGS:
        raise E.UnknownValue("unknown theta encoding %d" % code)
    count = r.count("theta_d count", MAX_SUBSPACE_DIMENSION)
    if code == 4:
        if version < 2:
            raise E.UnknownValue("theta encoding 4 (codebook) needs format version 2; this file is version 1")
        # idz-v2.md section 4: count = d and the projection rules before the symbols.
        if count != projection.d:
            raise E.InvalidValue("theta_d has %d values, but d is %d" % (count, projection.d))
        _check_projection(projection, parameter_count)
        levels, symbols = V2.read_codebook(r, count)
        return ("codebook", symbols, levels)
    if code == 1:
        r.check_room(count, 4, "float32 values")
        bits = _join_planes(r.raw(4 * count, "float32 byte planes"), count, 4)
        return ("float32", bits, None)
    if code == 2:
        r.check_room(count, 2, "float16 values")
        bits = _join_planes(r.raw(2 * count, "float16 byte planes"), count, 2)
        return ("float16", bits, None)
    scale = r.f32("int8 scale")
    values = np.frombuffer(r.raw(count, "int8 values"), dtype=np.int8).copy()
    return ("int8", values, scale)


def _read_preprocessing(r):
    scale = r.f32("input scale")
    channels = r.count32("channel count", MAX_PREPROCESSING_CHANNELS)
    r.check_room(channels, 8, "channels")
    mean = np.frombuffer(r.raw(4 * channels, "mean"), dtype="<f4").astype(np.float32)
    std = np.frombuffer(r.raw(4 * channels, "std"), dtype="<f4").astype(np.float32)
    return scale, mean, std


def _read_labels(r):
    count = r.count32("label count", MAX_LABELS)
    if count == 0:  # section 4.8: a file without labels omits the section
        raise E.InvalidValue("the labels section has no labels (a file without labels omits the section)")
    r.check_room(count, 4, "labels")
    return [r.string("label %d" % i, MAX_NAME_BYTES) for i in range(count)]


def _read_metadata(r):
    count = r.count32("metadata entry count", MAX_METADATA_ENTRIES)
    r.check_room(count, 5, "metadata entries")
    entries = []
    for _ in range(count):
        key = r.string("metadata key", MAX_NAME_BYTES)
        field = "metadata %r" % key
        code = r.u8("type of " + field)
        if code == 1:
            value = r.i64(field)
        elif code == 2:
            value = r.f64(field)
        elif code == 3:
            value = r.string(field, MAX_METADATA_VALUE_BYTES)
        elif code == 4:
            byte = r.u8(field)
            if byte > 1:
                raise E.InvalidValue("metadata %r is a bool stored as %d; only 0 and 1 are allowed" % (key, byte))
            value = byte == 1
        elif code == 5:
            value = bytes(r.blob(field, MAX_METADATA_VALUE_BYTES))
        else:
            raise E.UnknownValue("unknown metadata type %d for key %r" % (code, key))
        entries.append((key, value))
    return entries


# MARK: Whole-model checks (in the Swift reader's order)

def _check_projection(projection, parameter_count):
    d = projection.d
    if d < 1:
        raise E.InvalidValue("d is %d; it must be at least 1" % d)
    if d > MAX_SUBSPACE_DIMENSION:
        raise E.LimitExceeded("declared d %d exceeds the limit %d" % (d, MAX_SUBSPACE_DIMENSION))
    if d > parameter_count:
        raise E.InvalidValue("d %d exceeds the %d parameters (D) of the architecture" % (d, parameter_count))
    if projection.kind == "identity" and d != parameter_count:
        raise E.InvalidValue("the identity projection needs d = D = %d, got d %d" % (parameter_count, d))
    if projection.kind == "fastfood":
        length = 1 << (d - 1).bit_length()
        blocks = -(-parameter_count // length)
        if blocks > 1 << 32:
            raise E.LimitExceeded("Fastfood with d %d needs %d blocks for D %d, more than the limit 2^32" % (d, blocks, parameter_count))


def _check_theta(encoding, raw, scale, d):
    if len(raw) != d:
        raise E.InvalidValue("theta_d has %d values, but d is %d" % (len(raw), d))
    if encoding == "codebook":
        bad = ()  # levels and symbols were checked as they were read
    elif encoding == "float32":
        bad = np.flatnonzero((raw & np.uint32(0x7F800000)) == 0x7F800000)
    elif encoding == "float16":
        bad = np.flatnonzero((raw & np.uint16(0x7C00)) == 0x7C00)
    else:
        if not (math.isfinite(scale) and scale > 0):
            raise E.InvalidValue("the int8 scale of theta_d is %r; it must be finite and positive" % scale)
        bad = ()
    if len(bad):
        raise E.InvalidValue("theta_d value %d is not finite" % bad[0])


def _check_preprocessing(scale, mean, std, input_shape):
    channels = len(mean)
    input_channels = input_shape[0] if len(input_shape) == 3 else 1
    if channels != 1 and channels != input_channels:
        raise E.InvalidValue("preprocessing has %d channels; the input has %d (use 1 to share one mean and std)" % (channels, input_channels))
    if not math.isfinite(scale):
        raise E.InvalidValue("the preprocessing input scale is %r" % scale)
    for c in range(channels):
        m, s = float(mean[c]), float(std[c])
        if not (math.isfinite(m) and math.isfinite(s) and s > 0):
            raise E.InvalidValue("preprocessing channel %d has mean %r and std %r; both must be finite and std positive" % (c, m, s))


def _check_labels(labels, architecture):
    if labels and len(labels) != architecture.output_count:
        raise E.InvalidValue("%d labels for a network with %d outputs" % (len(labels), architecture.output_count))


def _check_metadata(entries):
    keys = set()
    for key, _ in entries:
        if not key:
            raise E.InvalidValue("a metadata key is empty")
        raw = key.encode("utf-8")
        if raw in keys:
            raise E.DuplicateMetadataKey("duplicate metadata key %r" % key)
        keys.add(raw)


def decode(data):
    """Parse and validate the bytes of a `.idz` file.

    Returns:
        a dict of the file's fields (``idzip.read`` wraps it in a ``Model``).
    Raises:
        IdzError: the subclass of the first rule the bytes break (section 15).
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    version, layout = _version(data)
    if layout in (1, 2):
        return _decode_compact(data)
    head = PREAMBLE_SIZE if version == 1 else PREAMBLE_SIZE + 1
    compressed, uncompressed = _preamble(data, head)
    end = head + compressed
    view = memoryview(data)  # no copies of the (up to 256 MiB) payload
    if hashlib.sha256(view[:end]).digest() != data[end:]:
        raise E.ChecksumMismatch("checksum mismatch: the file is corrupt")
    payload = _inflate(view[head:end], uncompressed)
    sections = _split_sections(payload, version)
    V3B.check_version(sections, version)

    def required(tag):
        if tag not in sections:
            raise E.MissingSection("missing required %s section (0x%04X)" % (SECTION_NAMES[tag], tag))
        return _Reader(sections[tag], SECTION_NAMES[tag] + " section")

    r = required(TAG_ARCHITECTURE)
    input_shape, layers = _read_architecture(r, version)
    r.expect_end()
    sources, names = (), ()
    if TAG_LAYER_GRAPH in sections:
        r = _Reader(sections[TAG_LAYER_GRAPH], "layer graph section")
        sources, names = _read_layer_graph(r, len(layers))
        r.expect_end()
    architecture = Architecture(input_shape, layers, sources, names)

    r = required(TAG_TENSOR_TABLE)
    _check_tensor_table(r, architecture.tensors)
    r.expect_end()

    r = required(TAG_THETA0)
    theta0_seed = r.u64("seed")
    r.expect_end()

    r = required(TAG_PROJECTION)
    projection = _read_projection(r)
    r.expect_end()

    r = required(TAG_THETA_D)
    encoding, raw, scale = _read_theta(r, version, projection, architecture.parameter_count)
    r.expect_end()

    r = required(TAG_PREPROCESSING)
    input_scale, mean, std = _read_preprocessing(r)
    r.expect_end()

    r = required(TAG_WEIGHTS_SHA256)
    weights_sha256 = bytes(r.raw(32, "the SHA-256"))
    r.expect_end()

    buffers, batches_tracked = np.zeros(0, np.float32), 0
    if TAG_BUFFERS in sections:
        if not architecture.buffers:
            raise E.InconsistentShapes("inconsistent shapes: a buffers section, but the network has no batch normalisation")
        r = _Reader(sections[TAG_BUFFERS], "buffers section")
        buffers, batches_tracked = _read_buffers(r, architecture)
        r.expect_end()
    elif architecture.buffers:
        raise E.MissingSection("missing required buffers section (0x0008)")

    labels = []
    if TAG_LABELS in sections:
        r = _Reader(sections[TAG_LABELS], "labels section")
        labels = _read_labels(r)
        r.expect_end()
    metadata = []
    if TAG_METADATA in sections:
        r = _Reader(sections[TAG_METADATA], "metadata section")
        metadata = _read_metadata(r)
        r.expect_end()

    base, modes = V3B.read_sections(sections, _Reader, architecture.tensors)

    _check_projection(projection, architecture.parameter_count)
    _check_theta(encoding, raw, scale, projection.d)
    _check_preprocessing(input_scale, mean, std, architecture.input_shape)
    _check_labels(labels, architecture)
    _check_metadata(metadata)
    V3B.check(base, modes, theta0_seed, projection.kind)

    return {
        "architecture": architecture, "theta0_seed": theta0_seed, "projection": projection,
        "theta_d": _theta_d(encoding, raw, scale),
        "preprocessing": Preprocessing(input_scale, mean, std), "labels": labels,
        "metadata": dict(metadata), "weights_sha256": weights_sha256,
        "file_sha256": data[end:], "file_size": len(data),
        "buffers": buffers, "batches_tracked": batches_tracked, "base": base, "tensor_modes": modes, "version": version,
    }


def _theta_d(encoding, raw, scale):
    if encoding == "codebook":
        return ThetaD("codebook", raw, levels=scale)
    if encoding == "float32":
        raw = raw.view("<f4").astype(np.float32)
    elif encoding == "float16":
        raw = raw.view("<f2").astype(np.float16)
    return ThetaD(encoding, raw, scale)


def _decode_compact(data):
    """Version 2's compact layout (idz-v2.md section 3), in the Swift reader's order."""
    r = _Reader(V2.compact_body(data), "compact body")
    rank = V2.varint_count(r, "input rank", MAX_RANK)
    input_shape = tuple(V2.varint_count(r, "input dimension", MAX_DIMENSION) for _ in range(rank))
    layer_count = V2.varint_count(r, "layer count", MAX_LAYERS)
    r.check_room(layer_count, 1, "layers")
    layers = []
    for index in range(layer_count):
        code = r.u8("layer %d type" % index)
        if code not in _LAYER_CODES:
            raise E.UnknownValue("unknown layer type %d (layer %d)" % (code, index))
        kind = _LAYER_CODES[code]

        def dimension(name):
            return V2.varint_count(r, "layer %d %s" % (index, name), MAX_DIMENSION)

        if kind == "dense":
            layers.append(Layer("dense", units=dimension("units")))
        elif kind == "conv2d":
            filters, kernel = dimension("filters"), dimension("kernel")
            padding = r.u8("layer %d padding" % index)
            if padding not in _PADDINGS:
                raise E.UnknownValue("unknown padding %d (layer %d)" % (padding, index))
            layers.append(Layer("conv2d", filters=filters, kernel=kernel, padding=_PADDINGS[padding]))
        elif kind == "maxpool":
            layers.append(Layer("maxpool", size=dimension("pool size")))
        elif kind == "toy":
            groups = dimension("groups")
            layers.append(Layer("toy", groups=groups, group_size=dimension("group size")))
        else:
            layers.append(Layer(kind))
    architecture = Architecture(input_shape, tuple(layers))
    architecture.tensors  # the rules of section 6, before anything else is read
    theta0_seed = V2.read_varint(r, "theta0 seed")
    kind_byte = r.u8("projection kind")
    if kind_byte & 0x7F not in PROJECTION_KINDS:
        raise E.UnknownValue("unknown projection kind %d" % (kind_byte & 0x7F))
    seed = theta0_seed ^ V2.DERIVED_SEED_XOR if kind_byte & 0x80 else V2.read_varint(r, "projection seed")
    d = V2.varint_count(r, "d", MAX_SUBSPACE_DIMENSION)
    projection = Projection(kind_byte & 0x7F, seed, d)
    _check_projection(projection, architecture.parameter_count)
    form = r.u8("preprocessing form")
    if form == 0:
        input_scale, mean, std = float(np.float32(1.0 / 255.0)), np.zeros(1, np.float32), np.ones(1, np.float32)
    elif form == 1:
        input_scale = r.f32("input scale")
        channels = V2.varint_count(r, "channel count", MAX_PREPROCESSING_CHANNELS)
        r.check_room(channels, 8, "channels")
        mean = np.frombuffer(bytes(r.raw(4 * channels, "mean")), dtype="<f4").astype(np.float32)
        std = np.frombuffer(bytes(r.raw(4 * channels, "std")), dtype="<f4").astype(np.float32)
    else:
        raise E.UnknownValue("unknown preprocessing form %d" % form)
    form = r.u8("label form")
    labels = []
    if form == 1:
        outputs = architecture.output_count
        if outputs > MAX_LABELS:
            raise E.LimitExceeded("%d decimal labels exceed the limit %d" % (outputs, MAX_LABELS))
        labels = [str(i) for i in range(outputs)]
    elif form == 2:
        count = V2.varint_count(r, "label count", MAX_LABELS)
        if count == 0:
            raise E.InvalidValue("stored labels with a count of 0 (use the form 0)")
        r.check_room(count, 1, "labels")
        labels = [V2.varint_string(r, "label %d" % i, MAX_NAME_BYTES) for i in range(count)]
    elif form != 0:
        raise E.UnknownValue("unknown label form %d" % form)
    count = V2.varint_count(r, "metadata entry count", MAX_METADATA_ENTRIES)
    r.check_room(count, 2, "metadata entries")
    metadata = []
    for _ in range(count):
        key = V2.varint_string(r, "metadata key", MAX_NAME_BYTES)
        field = "metadata %r" % key
        code = r.u8("type of " + field)
        if code == 1:
            value = r.i64(field)
        elif code == 2:
            value = r.f64(field)
        elif code == 3:
            value = V2.varint_string(r, field, MAX_METADATA_VALUE_BYTES)
        elif code == 4:
            byte = r.u8(field)
            if byte > 1:
                raise E.InvalidValue("metadata %r is a bool stored as %d; only 0 and 1 are allowed" % (key, byte))
            value = byte == 1
        elif code == 5:
            value = bytes(V2.varint_blob(r, field, MAX_METADATA_VALUE_BYTES))
        else:
            raise E.UnknownValue("unknown metadata type %d for key %r" % (code, key))
        metadata.append((key, value))
    digest_length = r.u8("weights digest length")
    if digest_length not in (0, 4, 8, 16, 32):
        raise E.InvalidValue("a weights digest of %d bytes (allowed: 0, 4, 8, 16, 32)" % digest_length)
    weights_sha256 = bytes(r.raw(digest_length, "the weights digest"))
    code = r.u8("theta encoding")
    if code not in THETA_ENCODINGS:
        raise E.UnknownValue("unknown theta encoding %d" % code)
    scale = None
    if code == 1:
        r.check_room(d, 4, "float32 values")
        encoding, raw = "float32", _join_planes(r.raw(4 * d, "float32 byte planes"), d, 4)
    elif code == 2:
        r.check_room(d, 2, "float16 values")
        encoding, raw = "float16", _join_planes(r.raw(2 * d, "float16 byte planes"), d, 2)
    elif code == 3:
        scale = r.f32("int8 scale")
        encoding, raw = "int8", np.frombuffer(bytes(r.raw(d, "int8 values")), dtype=np.int8).copy()
    else:
        encoding = "codebook"
        scale, raw = V2.read_codebook(r, d)
    r.expect_end()
    _check_projection(projection, architecture.parameter_count)
    _check_theta(encoding, raw, scale, projection.d)
    _check_preprocessing(input_scale, mean, std, architecture.input_shape)
    _check_labels(labels, architecture)
    _check_metadata(metadata)
    return {
        "architecture": architecture, "theta0_seed": theta0_seed, "projection": projection,
        "theta_d": _theta_d(encoding, raw, scale),
        "preprocessing": Preprocessing(input_scale, mean, std), "labels": labels,
        "metadata": dict(metadata), "weights_sha256": weights_sha256,
        "file_sha256": bytes(data[-4:]), "file_size": len(data),
    }


def read_bytes(path):
    """The bytes of the file at ``path``, refusing files larger than an `.idz` can be.

    Raises:
        LimitExceeded: the file has more than 32 + 256 MiB + 32 bytes.
        IdzIOError: the file cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_SIZE:
                raise E.LimitExceeded("%s has %d bytes, more than an .idz file can have (%d)" % (path, size, MAX_FILE_SIZE))
            data = handle.read(MAX_FILE_SIZE + 1)
    except OSError as error:
        raise E.IdzIOError("cannot read %s: %s" % (path, error.strerror or error)) from None
    if len(data) > MAX_FILE_SIZE:
        raise E.LimitExceeded("%s has more bytes than an .idz file can have (%d)" % (path, MAX_FILE_SIZE))
    return data
