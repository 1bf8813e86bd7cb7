"""Format version 2 (Formats/idz-v2.md): codebook theta_d, its range decoder, and the
compact layout. ``container.decode`` calls in here for version 2 files; the checks run in
the order of idzip's Swift reader, so a file is rejected with the same error kind."""
import struct
import zlib

import numpy as np

from . import errors as E

MAX_LEVELS = 4096
_TOP = 1 << 24
_MAX_TOTAL = 1 << 16
DERIVED_SEED_XOR = 0x9E3779B97F4A7C15


def read_varint(r, field):
    """Unsigned LEB128 in its shortest form (at most 10 bytes, value < 2^64)."""
    value = 0
    for index in range(10):
        byte = r.u8(field)
        if index == 9 and byte > 1:
            raise E.MalformedSection("%s is a varint above 2^64 - 1 (%s)" % (field, r.context))
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            if byte == 0 and index > 0:
                raise E.MalformedSection("%s is a varint with a redundant zero byte (%s)" % (field, r.context))
            return value
    raise E.MalformedSection("%s is a varint longer than 10 bytes (%s)" % (field, r.context))


def varint_count(r, field, limit):
    value = read_varint(r, field)
    if value > limit:
        raise E.LimitExceeded("%s %d exceeds the limit %d (%s)" % (field, value, limit, r.context))
    return value


def varint_blob(r, field, limit):
    length = read_varint(r, field + " length")
    if length > limit:
        raise E.LimitExceeded("%s of %d bytes exceeds the limit %d (%s)" % (field, length, limit, r.context))
    return r.raw(length, field)


def varint_string(r, field, limit):
    try:
        return bytes(varint_blob(r, field, limit)).decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise E.InvalidUTF8("%s is not valid UTF-8 (%s)" % (field, r.context)) from None


def range_decode(stream, count, k):
    """The ``count`` symbols (each < k) coded in ``stream`` (idz-v2.md section 5).

    Raises:
        InvalidValue: the stream is not the canonical coding of ``count`` symbols.
    """
    stream = bytes(stream)
    counts, total, pos = [1] * k, k, 0
    n = len(stream)

    def nxt():
        nonlocal pos
        b = stream[pos] if pos < n else 0
        pos += 1
        return b

    code = (nxt() << 24) | (nxt() << 16) | (nxt() << 8) | nxt()
    rng = 0xFFFFFFFF
    out = np.empty(count, dtype=np.uint16)
    for index in range(count):
        r = rng // total
        value = code // r
        if value >= total:
            raise E.InvalidValue("the coded theta_d stream is corrupt at symbol %d of %d" % (index, count))
        s, start = 0, 0
        while start + counts[s] <= value:
            start += counts[s]
            s += 1
        code -= r * start
        rng = r * counts[s]
        while rng < _TOP:
            code = ((code << 8) | nxt()) & 0xFFFFFFFF
            rng <<= 8
        counts[s] += 1
        total += 1
        if total > _MAX_TOTAL:
            counts = [(c + 1) >> 1 for c in counts]
            total = sum(counts)
        out[index] = s
    if n > pos:
        raise E.InvalidValue("the coded theta_d stream has %d bytes, but its %d symbols end after %d" % (n, count, pos))
    if n and stream[-1] == 0:
        raise E.InvalidValue("the coded theta_d stream ends with a zero byte (not canonical)")
    return out


def read_codebook(r, count):
    """The codebook block to the end of ``r``: (levels float32 [K], symbols uint16 [count])."""
    k = varint_count(r, "codebook level count", MAX_LEVELS)
    if k == 0:
        raise E.InvalidValue("the codebook has no levels")
    form = r.u8("codebook level format")
    if form not in (0, 1):
        raise E.UnknownValue("unknown codebook level format %d" % form)
    width = 4 if form == 0 else 2
    r.check_room(k, width, "codebook levels")
    levels = np.frombuffer(bytes(r.raw(width * k, "codebook levels")), dtype="<f4" if form == 0 else "<f2").astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(levels))
    if len(bad):
        raise E.InvalidValue("codebook level %d is %r, not a finite number" % (bad[0], float(levels[bad[0]])))
    symbols = range_decode(r.raw(r.remaining, "coded symbols"), count, k)
    return levels, symbols


def compact_body(data):
    """The body of a compact file after its CRC-32 is checked and (layout 2) inflated."""
    if len(data) < 17:
        raise E.Truncated("truncated file: %d bytes, shorter than the 17 bytes of a compact header and trailer" % len(data))
    if zlib.crc32(data[:-4]) != struct.unpack("<I", data[-4:])[0]:
        raise E.ChecksumMismatch("checksum mismatch: the file is corrupt (CRC-32)")
    if data[12] == 1:
        return bytes(data[13:-4])
    from .container import _Reader, MAX_UNCOMPRESSED_PAYLOAD, MAX_INFLATION_RATIO, INFLATION_SLACK
    h = _Reader(bytes(data[13:-4]), "compact header")
    length = varint_count(h, "body length", MAX_UNCOMPRESSED_PAYLOAD)
    compressed = h.raw(h.remaining, "body")
    if length > len(compressed) * MAX_INFLATION_RATIO + INFLATION_SLACK:
        raise E.BadCompression("declared body of %d bytes is impossible for %d compressed bytes (a zlib bomb?)" % (length, len(compressed)))
    inflater = zlib.decompressobj(-15)
    try:
        body = inflater.decompress(compressed, length + 1)
    except zlib.error as error:
        raise E.BadCompression("corrupt deflate stream: %s" % error) from None
    if len(body) != length or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise E.BadCompression("the body does not inflate to exactly its declared %d bytes" % length)
    return body
