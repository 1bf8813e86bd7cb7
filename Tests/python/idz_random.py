"""An independent reference of idzip's portable random streams (Formats/idz-v1.md,
"Randomness"), written from the spec in plain Python.

Python floats are IEEE-754 doubles and +, -, *, / and math.sqrt are correctly rounded, so
this reproduces idzip's values bit for bit. It does not call math.log, sin or cos.
"""
import math
import struct

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = 0xFFFFFFFF

PURPOSES = {
    "theta0": 1, "dense_projection": 2, "sparse_projection": 3,
    "fastfood_signs": 4, "fastfood_permutation": 5, "fastfood_gaussian": 6,
    "example_order": 16, "pixel_permutation": 17, "label_shuffle": 18, "subset_selection": 19, "bootstrap": 20, "validation_split": 21,
    "environment_reset": 24, "episode_seed": 25, "exploration": 26, "replay_sampling": 27, "es_perturbation": 28,
    "sample_theta": 32,
}


def philox4x32_10(counter, key):
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r > 0:
            k0 = (k0 + W0) & MASK32
            k1 = (k1 + W1) & MASK32
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32)
    return (c0, c1, c2, c3)


def f64(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def bits64(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def f32(x):
    """Round a double to the nearest float32 (ties to even), returned as a double."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


LN2_HI = f64(0x3FE62E42FEE00000)
LN2_LO = f64(0x3DEA39EF35793C76)
SQRT2 = f64(0x3FF6A09E667F3BCD)
HALF_PI = f64(0x3FF921FB54442D18)
ATANH = [1.0 / (2 * k + 1) for k in range(1, 11)]


def _sin_coefficients():
    out, fact = [], 1.0
    for k in range(1, 9):
        fact = fact * float(2 * k) * float(2 * k + 1)
        out.append((1.0 if k % 2 == 0 else -1.0) / fact)
    return out


def _cos_coefficients():
    out, fact = [], 1.0
    for k in range(1, 10):
        fact = fact * float(2 * k - 1) * float(2 * k)
        out.append((1.0 if k % 2 == 0 else -1.0) / fact)
    return out


SIN = _sin_coefficients()
COS = _cos_coefficients()


def portable_log(x):
    b = bits64(x)
    e = (b >> 52) & 0x7FF
    if e == 0:
        b = bits64(x * 2.0 ** 54)
        e = ((b >> 52) & 0x7FF) - 54
    e -= 1023
    m = f64((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    if m > SQRT2:
        m = m * 0.5
        e += 1
    s = (m - 1) / (m + 1)
    z = s * s
    series = ATANH[9]
    for k in range(8, -1, -1):
        series = series * z + ATANH[k]
    log_m = 2 * s + 2 * s * (z * series)
    ef = float(e)
    return ef * LN2_HI + (ef * LN2_LO + log_m)


def sin_cos_two_pi(t):
    four_t = t * 4
    q = round(four_t)  # Python rounds half to even, as Swift's .toNearestOrEven
    a = (four_t - q) * HALF_PI
    a2 = a * a
    s = SIN[7]
    for k in range(6, -1, -1):
        s = s * a2 + SIN[k]
    sin_a = a + a * (a2 * s)
    c = COS[8]
    for k in range(7, -1, -1):
        c = c * a2 + COS[k]
    cos_a = 1 + a2 * c
    return [(sin_a, cos_a), (cos_a, -sin_a), (-sin_a, -cos_a), (-cos_a, sin_a)][int(q) & 3]


class Stream:
    def __init__(self, seed, purpose, substream=0):
        self.key = (seed & MASK32, (seed >> 32) & MASK32)
        self.purpose = PURPOSES[purpose] if isinstance(purpose, str) else purpose
        self.substream = substream

    def block(self, index):
        return philox4x32_10((index & MASK32, (index >> 32) & MASK32, self.substream, self.purpose), self.key)

    def word(self, n):
        return self.block(n >> 2)[n & 3]

    def uint64(self, n):
        w = self.block(n >> 1)
        return (w[1] << 32 | w[0]) if n & 1 == 0 else (w[3] << 32 | w[2])

    def uniform_float(self, n):
        return float(self.word(n) >> 8) * 2.0 ** -24

    def uniform_double(self, n):
        return float(self.uint64(n) >> 11) * 2.0 ** -53

    def sign(self, n):
        return -1.0 if (self.word(n >> 5) >> (n & 31)) & 1 else 1.0

    def integer(self, n, bound):
        return (self.uint64(n) * bound) >> 64

    def normal_pair(self, block_index):
        w = self.block(block_index)
        u1 = 1 - float((w[1] << 32 | w[0]) >> 11) * 2.0 ** -53
        u2 = float((w[3] << 32 | w[2]) >> 11) * 2.0 ** -53
        r = math.sqrt(-2 * portable_log(u1))
        s, c = sin_cos_two_pi(u2)
        return (r * c, r * s)

    def normal(self, n):
        return self.normal_pair(n >> 1)[n & 1]

    def permutation(self, count):
        p = list(range(count))
        for k in range(count - 1, 0, -1):
            j = self.integer(count - 1 - k, k + 1)
            p[k], p[j] = p[j], p[k]
        return p
