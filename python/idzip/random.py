"""The portable random streams of Formats/idz-v1.md section 8, vectorised with numpy.

Philox4x32-10 is computed on uint64 arrays holding 32-bit words (a 32 x 32-bit product fits
in 64 bits, so every step is exact). The portable ``log`` and ``sin_cos_two_pi`` use only
binary64 ``+ - * /``, ``sqrt`` and bit operations, element by element in the order the spec
writes them; numpy never fuses a multiply and an add, so the results are bit-exact.

Positions and indices are numpy integer arrays (or ints); values come back as arrays of the
same shape. Streams are (seed u64, purpose u32, sub-stream u32); a sub-stream may also be
an array, broadcast against the positions (one sub-stream per row, for example).
"""
import numpy as np

__all__ = [
    "PURPOSE_THETA0", "PURPOSE_DENSE", "PURPOSE_SPARSE", "PURPOSE_FASTFOOD_SIGNS",
    "PURPOSE_FASTFOOD_PERMUTATION", "PURPOSE_FASTFOOD_GAUSSIAN",
    "philox4x32_10", "Stream", "portable_log", "sin_cos_two_pi", "unit_interval",
]

PURPOSE_THETA0 = 1
PURPOSE_DENSE = 2
PURPOSE_SPARSE = 3
PURPOSE_FASTFOOD_SIGNS = 4
PURPOSE_FASTFOOD_PERMUTATION = 5
PURPOSE_FASTFOOD_GAUSSIAN = 6

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = 0xFFFFFFFF
_U32 = np.uint64(_MASK32)
_S32 = np.uint64(32)


def philox4x32_10(c0, c1, c2, c3, key):
    """Philox4x32-10 (section 8.1) on arrays of counters.

    Args:
        c0, c1, c2, c3: the counter words, uint64 arrays (or scalars) of values < 2^32,
            broadcast together.
        key: the 64-bit key as an int (k0 = low 32 bits, k1 = high 32 bits).
    Returns:
        (w0, w1, w2, w3): uint64 arrays of the broadcast shape, each word < 2^32.
    """
    c0, c1, c2, c3 = np.broadcast_arrays(*(np.asarray(c, dtype=np.uint64) for c in (c0, c1, c2, c3)))
    c0, c1, c2, c3 = (np.array(c, dtype=np.uint64, copy=True) for c in (c0, c1, c2, c3))
    k0, k1 = key & _MASK32, (key >> 32) & _MASK32
    for r in range(10):
        if r > 0:
            k0 = (k0 + _W0) & _MASK32
            k1 = (k1 + _W1) & _MASK32
        p0 = c0 * _M0
        p1 = c2 * _M1
        # (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0), in place.
        np.right_shift(p1, _S32, out=c0)
        c0 ^= c1
        c0 ^= np.uint64(k0)
        np.right_shift(p0, _S32, out=c2)
        c2 ^= c3
        c2 ^= np.uint64(k1)
        np.bitwise_and(p1, _U32, out=c1)
        np.bitwise_and(p0, _U32, out=c3)
    return c0, c1, c2, c3


def unit_interval(x):
    """Double(x >> 11) * 2^-53 for uint64 x: a float64 array in [0, 1) (exact)."""
    return (np.asarray(x, dtype=np.uint64) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def _f64(bits):
    return np.array([bits], dtype=np.uint64).view(np.float64)[0].item()


LN2_HI = _f64(0x3FE62E42FEE00000)
LN2_LO = _f64(0x3DEA39EF35793C76)
SQRT2 = _f64(0x3FF6A09E667F3BCD)
HALF_PI = _f64(0x3FF921FB54442D18)
#: a[k] = 1 / (2k + 3), k = 0 ..< 10.
LOG_COEFFICIENTS = [1.0 / float(2 * k + 3) for k in range(10)]


def _factorial_coefficients(count, odd):
    out, fact = [], 1.0
    for k in range(1, count + 1):
        fact = fact * float(2 * k) * float(2 * k + 1) if odd else fact * float(2 * k - 1) * float(2 * k)
        out.append((1.0 if k % 2 == 0 else -1.0) / fact)
    return out


#: s[k] = (-1)^(k+1) / (2k + 3)!, k = 0 ..< 8.
SIN_COEFFICIENTS = _factorial_coefficients(8, odd=True)
#: c[k] = (-1)^(k+1) / (2k + 2)!, k = 0 ..< 9.
COS_COEFFICIENTS = _factorial_coefficients(9, odd=False)


def portable_log(x):
    """The portable natural logarithm of section 8.4, for positive finite float64 x (array)."""
    x = np.asarray(x, dtype=np.float64)
    bits = x.view(np.uint64)
    e = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    subnormal = e == 0
    if np.any(subnormal):
        scaled = (x * 2.0 ** 54).view(np.uint64)
        bits = np.where(subnormal, scaled, bits)
        e = np.where(subnormal, ((scaled >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 54, e)
    e = e - 1023
    m = ((bits & np.uint64(0x000FFFFFFFFFFFFF)) | np.uint64(0x3FF0000000000000)).view(np.float64)
    above = m > SQRT2
    m = np.where(above, m * 0.5, m)
    e = e + above
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    t = np.full_like(z, LOG_COEFFICIENTS[9])
    for k in range(8, -1, -1):
        t = t * z + LOG_COEFFICIENTS[k]
    two_s = 2.0 * s
    series = two_s + two_s * (z * t)
    big_e = e.astype(np.float64)
    return big_e * LN2_HI + (big_e * LN2_LO + series)


def sin_cos_two_pi(t):
    """(sin 2 pi t, cos 2 pi t) for float64 t in [0, 1) (array), section 8.4."""
    f = np.asarray(t, dtype=np.float64) * 4.0
    q = np.rint(f)  # ties to even
    a = (f - q) * HALF_PI
    a2 = a * a
    ps = np.full_like(a, SIN_COEFFICIENTS[7])
    for k in range(6, -1, -1):
        ps = ps * a2 + SIN_COEFFICIENTS[k]
    sin_a = a + a * (a2 * ps)
    pc = np.full_like(a, COS_COEFFICIENTS[8])
    for k in range(7, -1, -1):
        pc = pc * a2 + COS_COEFFICIENTS[k]
    cos_a = 1.0 + a2 * pc
    # By q mod 4: 0: (sinA, cosA)  1: (cosA, -sinA)  2: (-sinA, -cosA)  3: (-cosA, sinA).
    quadrant = q.astype(np.int64) & 3
    odd = (quadrant & 1) == 1
    sin_out = np.where(odd, cos_a, sin_a)
    np.negative(sin_out, out=sin_out, where=(quadrant & 2) == 2)
    cos_out = np.where(odd, sin_a, cos_a)
    np.negative(cos_out, out=cos_out, where=(quadrant == 1) | (quadrant == 2))
    return sin_out, cos_out


def _high_product(x, b):
    """The high 64 bits of the 128-bit product x * b, for uint64 x and 1 <= b < 2^32:
    (x_hi b + (x_lo b >> 32)) >> 32, every step exact in 64 bits."""
    b = np.asarray(b, dtype=np.uint64)
    return ((x >> _S32) * b + (((x & _U32) * b) >> _S32)) >> _S32


class Stream:
    """A random stream (section 8.2): Philox blocks at 64-bit indices with
    key = seed and counter = (index low, index high, sub-stream, purpose).

    Args:
        seed: the 64-bit seed (int).
        purpose: the purpose constant (int, section 8.2).
        substream: an int, or a uint array broadcast against the positions.
    """

    def __init__(self, seed, purpose, substream=0):
        self.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self.purpose = int(purpose)
        self.substream = np.asarray(substream, dtype=np.uint64)

    def block(self, index):
        """The four words of the blocks at ``index`` (uint64 array): (w0, w1, w2, w3)."""
        index = np.asarray(index, dtype=np.uint64)
        return philox4x32_10(index & _U32, index >> _S32, self.substream, np.uint64(self.purpose), self.seed)

    def word(self, n):
        """Word n: word (n mod 4) of block n / 4 (uint64 values < 2^32)."""
        n = np.asarray(n, dtype=np.uint64)
        w = self.block(n >> np.uint64(2))
        lane = n & np.uint64(3)
        return np.select([lane == 0, lane == 1, lane == 2], [w[0], w[1], w[2]], w[3])

    def uint64(self, n):
        """64-bit value n: (w1 << 32) | w0 of block n / 2 for even n, (w3 << 32) | w2 for odd."""
        n = np.asarray(n, dtype=np.uint64)
        w = self.block(n >> np.uint64(1))
        odd = (n & np.uint64(1)) == 1
        return np.where(odd, (w[3] << _S32) | w[2], (w[1] << _S32) | w[0])

    def words(self, count):
        """Words 0 ..< count: uint64 array [..., count] (one Philox block per four words)."""
        w = self.block(np.arange((count + 3) // 4, dtype=np.uint64))
        return np.stack(w, axis=-1).reshape(w[0].shape[:-1] + (-1,))[..., :count]

    def uint64s(self, count):
        """64-bit values 0 ..< count: uint64 array [..., count] (one block per two values)."""
        w0, w1, w2, w3 = self.block(np.arange((count + 1) // 2, dtype=np.uint64))
        pairs = np.stack([(w1 << _S32) | w0, (w3 << _S32) | w2], axis=-1)
        return pairs.reshape(pairs.shape[:-2] + (-1,))[..., :count]

    def signs(self, count):
        """Signs 0 ..< count: float32 array [..., count] of -1 and +1 (32 signs per word)."""
        words = self.words((count + 31) // 32)
        bits = (words[..., :, None] >> np.arange(32, dtype=np.uint64)) & np.uint64(1)
        bits = bits.reshape(bits.shape[:-2] + (-1,))[..., :count]
        return np.where(bits == 1, np.float32(-1), np.float32(1)).astype(np.float32)

    def uniform_float32(self, n):
        """Float32 uniform n: (word n >> 8) * 2^-24, float32 in [0, 1)."""
        return ((self.word(n) >> np.uint64(8)).astype(np.float64) * 2.0 ** -24).astype(np.float32)

    def uniform_float64(self, n):
        """Float64 uniform n: U(64-bit value n), in [0, 1)."""
        return unit_interval(self.uint64(n))

    def sign(self, n):
        """Sign n: float32 -1 where bit (n mod 32) of word n / 32 is set, else +1."""
        n = np.asarray(n, dtype=np.uint64)
        bit = (self.word(n >> np.uint64(5)) >> (n & np.uint64(31))) & np.uint64(1)
        return np.where(bit == 1, np.float32(-1), np.float32(1)).astype(np.float32)

    def integer(self, n, below):
        """Integer n below b: the high 64 bits of (64-bit value n) * b, for 1 <= b < 2^32."""
        return _high_product(self.uint64(n), below)

    def normal_pairs(self, block_index):
        """Box-Muller on the blocks at ``block_index``: (normal 2j, normal 2j+1) as float64 arrays."""
        w0, w1, w2, w3 = self.block(block_index)
        u1 = 1.0 - unit_interval((w1 << _S32) | w0)
        u2 = unit_interval((w3 << _S32) | w2)
        r = np.sqrt(-2.0 * portable_log(u1))
        s, c = sin_cos_two_pi(u2)
        return r * c, r * s

    def normals(self, start, count):
        """Normals start ..< start + count, float64 array of length count (one stream).

        Generated 2^15 blocks at a time (arrays that stay in cache are about twice as fast).
        """
        out = np.empty(max(count, 0), np.float64)
        piece = 1 << 16
        for at in range(0, max(count, 0), piece):
            n = min(piece, count - at)
            first, last = (start + at) // 2, (start + at + n - 1) // 2
            even, odd = self.normal_pairs(np.arange(first, last + 1, dtype=np.uint64))
            both = np.empty(2 * len(even), np.float64)
            both[0::2], both[1::2] = even, odd
            offset = start + at - 2 * first
            out[at:at + n] = both[offset:offset + n]
        return out

    def normal(self, n):
        """Normal n (array of positions), float64."""
        n = np.asarray(n, dtype=np.uint64)
        even, odd = self.normal_pairs(n >> np.uint64(1))
        return np.where((n & np.uint64(1)) == 1, odd, even)

    def permutation(self, count):
        """Fisher-Yates permutation of 0 ..< count (int64 array)."""
        return permutations(self.seed, self.purpose, [int(self.substream)], count)[0]


def permutations(seed, purpose, substreams, count):
    """The Fisher-Yates permutation of 0 ..< count for each sub-stream (section 8.3).

    Returns an int64 array [len(substreams), count]. The swaps are sequential in k, done for
    all sub-streams at once; the integers they use are drawn in one vectorised pass.
    """
    substreams = np.asarray(substreams, dtype=np.uint64).reshape(-1, 1)
    rows = len(substreams)
    perm = np.broadcast_to(np.arange(count, dtype=np.int64), (rows, count)).copy()
    if count <= 1:
        return perm
    stream = Stream(seed, purpose, substreams)
    # Swap step n = 0 .. count-2 handles k = count-1-n with j = integer(n, below: k + 1).
    bounds = np.arange(count, 1, -1, dtype=np.uint64)[None, :]        # k + 1
    x = stream.uint64s(count - 1)
    js = _high_product(x, bounds).astype(np.int64)
    if rows < 16:
        # Few long permutations: plain Python swaps beat one numpy call per swap.
        out = []
        for row, jrow in zip(perm, js):
            p = row.tolist()
            for k, j in zip(range(count - 1, 0, -1), jrow.tolist()):
                p[k], p[j] = p[j], p[k]
            out.append(p)
        return np.array(out, dtype=np.int64).reshape(rows, count)
    index = np.arange(rows)
    for step, k in enumerate(range(count - 1, 0, -1)):
        j = js[:, step]
        held = perm[:, k].copy()
        perm[:, k] = perm[index, j]
        perm[index, j] = held
    return perm
