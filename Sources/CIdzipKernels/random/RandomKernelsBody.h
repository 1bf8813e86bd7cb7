// The kernels for one instruction set, included by RandomKernels.c (several times) with
//   LANES   the number of Philox blocks per batch;
//   SUFFIX  a name suffix;
//   TARGET  the function attribute selecting the instruction set (may be empty).
// Generic vectors hold one block per lane; every operation is an exact integer operation
// or one IEEE double operation in the order of the scalar reference (no contraction: the
// file sets fp contract off), so each lane computes exactly what the scalar code does.

#define GLUE2(a, b) a##_##b
#define GLUE(a, b) GLUE2(a, b)
#define NAME(x) GLUE(x, SUFFIX)

typedef uint64_t NAME(U64V) __attribute__((vector_size(LANES * 8)));
typedef double NAME(F64V) __attribute__((vector_size(LANES * 8)));
typedef float NAME(F32V) __attribute__((vector_size(LANES * 4)));

#define U64V NAME(U64V)
#define F64V NAME(F64V)
#define F32V NAME(F32V)

/// Philox4x32-10 of blocks first ..< first + LANES; 32-bit words in 64-bit lanes.
TARGET static inline __attribute__((always_inline)) void NAME(philox)(
    uint64_t seed, uint32_t substream, uint32_t purpose, uint64_t first,
    U64V *w0, U64V *w1, U64V *w2, U64V *w3) {
    const U64V low = (U64V){0} + 0xFFFFFFFFull;
    U64V index = (U64V){0} + first;
    for (int lane = 0; lane < LANES; lane++) index[lane] += (uint64_t)lane;
    U64V c0 = index & low, c1 = index >> 32;
    U64V c2 = (U64V){0} + (uint64_t)substream, c3 = (U64V){0} + (uint64_t)purpose;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        U64V product0 = (c0 & low) * 0xD2511F53ull;
        U64V product1 = (c2 & low) * 0xCD9E8D57ull;
        U64V next0 = (product1 >> 32) ^ c1 ^ (uint64_t)k0;
        U64V next2 = (product0 >> 32) ^ c3 ^ (uint64_t)k1;
        c1 = product1 & low;
        c3 = product0 & low;
        c0 = next0;
        c2 = next2;
    }
    *w0 = c0; *w1 = c1; *w2 = c2; *w3 = c3;
}

/// The double of integers below 2^52, exactly: 2^52 + w read as a double, minus 2^52.
TARGET static inline __attribute__((always_inline)) F64V NAME(toDouble)(U64V w) {
    return (F64V)(w | 0x4330000000000000ull) - 0x1p52;
}

/// Box-Muller's inputs from the blocks' words: u1 = 1 - ((w1 << 32 | w0) >> 11) 2^-53 and
/// u2 = ((w3 << 32 | w2) >> 11) 2^-53, where the 53-bit integer high 2^21 + (low >> 11) is
/// summed exactly.
TARGET static inline __attribute__((always_inline)) void NAME(uniforms)(
    U64V w0, U64V w1, U64V w2, U64V w3, F64V *u1, F64V *u2) {
    *u1 = 1.0 - (NAME(toDouble)(w1) * 0x1p21 + NAME(toDouble)(w0 >> 11)) * 0x1p-53;
    *u2 = (NAME(toDouble)(w3) * 0x1p21 + NAME(toDouble)(w2 >> 11)) * 0x1p-53;
}

/// Box-Muller: normals 2q (r cos 2 pi u2) and 2q+1 (r sin 2 pi u2), r = sqrt(-2 log u1).
TARGET static inline __attribute__((always_inline)) void NAME(boxMuller)(
    F64V u1, F64V u2, F64V *even, F64V *odd) {

    // PortableMath.log(u1), u1 in [2^-53, 1] (normal numbers).
    U64V bits = (U64V)u1;
    U64V mantissaBits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    U64V halve = (SQRT2_BITS - mantissaBits) >> 63;  // 1 where mantissa > sqrt(2)
    mantissaBits -= halve << 52;
    F64V exponent = (NAME(toDouble)((bits >> 52) & 0x7FF) - 1023.0) + NAME(toDouble)(halve);
    F64V mantissa = (F64V)mantissaBits;
    F64V s = (mantissa - 1.0) / (mantissa + 1.0);
    F64V z = s * s;
    F64V series = (F64V){0} + ATANH_COEFFICIENTS[9];
    for (int k = 8; k >= 0; k--) series = series * z + ATANH_COEFFICIENTS[k];
    F64V logMantissa = 2.0 * s + 2.0 * s * (z * series);
    F64V logU1 = exponent * LN2_HI + (exponent * LN2_LO + logMantissa);
    F64V radius = __builtin_elementwise_sqrt(-2.0 * logU1);

    // PortableMath.sinCosTwoPi(u2): 4 u2 + 2^52 rounds 4 u2 to the nearest integer (ties
    // to even), whose low bits are the quadrant.
    F64V fourT = u2 * 4.0;
    F64V shifted = fourT + 0x1p52;
    F64V quadrant = shifted - 0x1p52;
    U64V quadrantBits = (U64V)shifted & 3;
    F64V angle = (fourT - quadrant) * HALF_PI;
    F64V a2 = angle * angle;
    F64V sinSeries = (F64V){0} + SINE_COEFFICIENTS[7];
    for (int k = 6; k >= 0; k--) sinSeries = sinSeries * a2 + SINE_COEFFICIENTS[k];
    F64V sinA = angle + angle * (a2 * sinSeries);
    F64V cosSeries = (F64V){0} + COSINE_COEFFICIENTS[8];
    for (int k = 7; k >= 0; k--) cosSeries = cosSeries * a2 + COSINE_COEFFICIENTS[k];
    F64V cosA = 1.0 + a2 * cosSeries;
    // Quadrant 0: (sinA, cosA); 1: (cosA, -sinA); 2: (-sinA, -cosA); 3: (-cosA, sinA).
    U64V sinBits = (U64V)sinA, cosBits = (U64V)cosA;
    U64V oddQuadrant = (U64V){0} - (quadrantBits & 1);
    U64V sine = (sinBits & ~oddQuadrant) | (cosBits & oddQuadrant);
    U64V cosine = (cosBits & ~oddQuadrant) | (sinBits & oddQuadrant);
    sine ^= (quadrantBits >> 1) << 63;
    cosine ^= ((quadrantBits ^ (quadrantBits >> 1)) & 1) << 63;
    *even = radius * (F64V)cosine;
    *odd = radius * (F64V)sine;
}

TARGET static void NAME(philoxBlocks)(uint64_t seed, uint32_t substream, uint32_t purpose,
                                      uint64_t first, size_t count, uint32_t *out) {
    for (size_t done = 0; done < count; done += LANES) {
        U64V w0, w1, w2, w3;
        NAME(philox)(seed, substream, purpose, first + done, &w0, &w1, &w2, &w3);
        size_t lanes = count - done < LANES ? count - done : LANES;
        for (size_t lane = 0; lane < lanes; lane++) {
            uint32_t *words = out + 4 * (done + lane);
            words[0] = (uint32_t)w0[lane];
            words[1] = (uint32_t)w1[lane];
            words[2] = (uint32_t)w2[lane];
            words[3] = (uint32_t)w3[lane];
        }
    }
}

/// Normals 2q and 2q+1 for the blocks q = first ..< first + LANES.
TARGET static inline __attribute__((always_inline)) void NAME(normalPairs)(
    uint64_t seed, uint32_t substream, uint32_t purpose, uint64_t first, F64V *even, F64V *odd) {
    U64V w0, w1, w2, w3;
    F64V u1, u2;
    NAME(philox)(seed, substream, purpose, first, &w0, &w1, &w2, &w3);
    NAME(uniforms)(w0, w1, w2, w3, &u1, &u2);
    NAME(boxMuller)(u1, u2, even, odd);
}

TARGET static void NAME(fillFloatNormalPairs)(uint64_t seed, uint32_t substream, uint32_t purpose,
                                              uint64_t firstBlock, size_t blockCount, double scale,
                                              float *out, double *squaredNorm) {
    double sum = squaredNorm ? *squaredNorm : 0.0;
    for (size_t done = 0; done < blockCount; done += LANES) {
        F64V even, odd;
        NAME(normalPairs)(seed, substream, purpose, firstBlock + done, &even, &odd);
        F32V evenFloat = __builtin_convertvector(even * scale, F32V);
        F32V oddFloat = __builtin_convertvector(odd * scale, F32V);
        size_t lanes = blockCount - done < LANES ? blockCount - done : LANES;
        float *pair = out + 2 * done;
        if (lanes == LANES) {
            for (int lane = 0; lane < LANES; lane++) {
                pair[2 * lane] = evenFloat[lane];
                pair[2 * lane + 1] = oddFloat[lane];
            }
        } else {
            for (size_t lane = 0; lane < lanes; lane++) {
                pair[2 * lane] = evenFloat[lane];
                pair[2 * lane + 1] = oddFloat[lane];
            }
        }
        if (squaredNorm) {
            for (size_t k = 0; k < 2 * lanes; k++) {
                double wide = (double)pair[k];
                sum += wide * wide;
            }
        }
    }
    if (squaredNorm) *squaredNorm = sum;
}

TARGET static void NAME(fillDoubleNormalPairs)(uint64_t seed, uint32_t substream, uint32_t purpose,
                                               uint64_t firstBlock, size_t blockCount, double *out) {
    for (size_t done = 0; done < blockCount; done += LANES) {
        F64V even, odd;
        NAME(normalPairs)(seed, substream, purpose, firstBlock + done, &even, &odd);
        size_t lanes = blockCount - done < LANES ? blockCount - done : LANES;
        double *pair = out + 2 * done;
        for (size_t lane = 0; lane < lanes; lane++) {
            pair[2 * lane] = even[lane];
            pair[2 * lane + 1] = odd[lane];
        }
    }
}

/// The high 64 bits of draw * bound for bound < 2^32, exactly: with draw = h 2^32 + l,
/// draw * bound = h bound 2^32 + l bound, and h bound + (l bound >> 32) < 2^64.
TARGET static inline __attribute__((always_inline)) U64V NAME(scaledDraw)(U64V draw, U64V bound) {
    const U64V low = (U64V){0} + 0xFFFFFFFFull;
    return ((draw >> 32) * bound + (((draw & low) * bound) >> 32)) >> 32;
}

/// The permutation; when `values` is not NULL, also adds (double)values[i]^2 to
/// *squaredNorm in ascending i, one per swap: the two dependent chains (the swaps and the
/// sum) then overlap instead of running one after the other.
TARGET static void NAME(permutation)(uint64_t seed, uint32_t substream, uint32_t purpose,
                                     uint64_t count, uint32_t *out,
                                     const float *values, size_t valueCount, double *squaredNorm) {
    double sum = values ? *squaredNorm : 0.0;
    size_t nextValue = 0;
#define ADD_NEXT_SQUARE()                                   \
    if (values && nextValue < valueCount) {                 \
        double wide = (double)values[nextValue++];          \
        sum += wide * wide;                                 \
    }
    for (uint64_t i = 0; i < count; i++) out[i] = (uint32_t)i;
    // Step s (k = count-1-s) swaps entries k and j = high64(draw s * (k+1)); draw 2q is
    // words 1:0 of block q, draw 2q+1 words 3:2. The targets j of a few batches of blocks
    // are computed in vectors, then the swaps run in order.
    enum { BLOCKS = LANES * 8 };
    uint64_t lowTargets[BLOCKS], highTargets[BLOCKS];
    uint64_t k = count > 0 ? count - 1 : 0;
    uint64_t nextBlock = 0;
    U64V laneSteps = {0};
    for (int lane = 0; lane < LANES; lane++) laneSteps[lane] = 2 * (uint64_t)lane;
    while (k >= 1) {
        // Bounds k+1 below 2^32 (always, but for the first step of count = 2^32).
        int vectorised = k + 1 < (1ull << 32);
        for (int batch = 0; batch < BLOCKS && vectorised; batch += LANES) {
            U64V w0, w1, w2, w3;
            NAME(philox)(seed, substream, purpose, nextBlock + (uint64_t)batch, &w0, &w1, &w2, &w3);
            // Bound of draw 2(batch + lane) of this refill: k + 1 - 2 (batch + lane); steps
            // past the end get meaningless targets that are never used.
            U64V bound = ((U64V){0} + (k + 1 - 2 * (uint64_t)batch)) - laneSteps;
            U64V lowTarget = NAME(scaledDraw)((w1 << 32) | w0, bound);
            U64V highTarget = NAME(scaledDraw)((w3 << 32) | w2, bound - 1);
            __builtin_memcpy(lowTargets + batch, &lowTarget, sizeof lowTarget);
            __builtin_memcpy(highTargets + batch, &highTarget, sizeof highTarget);
        }
        if (!vectorised) {
            // Only the first step of count = 2^32 (bound 2^32) needs the 128-bit product.
            uint32_t words[4];
            philoxBlocks_portable(seed, substream, purpose, nextBlock, 1, words);
            uint64_t draw = ((uint64_t)words[1] << 32) | words[0];
            uint64_t j = (uint64_t)(((unsigned __int128)draw * (k + 1)) >> 64);
            uint32_t swapped = out[k];
            out[k] = out[j];
            out[j] = swapped;
            k--;
            draw = ((uint64_t)words[3] << 32) | words[2];
            j = (uint64_t)(((unsigned __int128)draw * (k + 1)) >> 64);
            swapped = out[k];
            out[k] = out[j];
            out[j] = swapped;
            k--;
            nextBlock += 1;
            continue;
        }
        nextBlock += BLOCKS;
        for (int q = 0; q < BLOCKS; q++) {
            uint64_t j = lowTargets[q];
            uint32_t swapped = out[k];
            out[k] = out[j];
            out[j] = swapped;
            ADD_NEXT_SQUARE()
            if (--k < 1) break;
            j = highTargets[q];
            swapped = out[k];
            out[k] = out[j];
            out[j] = swapped;
            ADD_NEXT_SQUARE()
            if (--k < 1) break;
        }
    }
    while (values && nextValue < valueCount) {
        ADD_NEXT_SQUARE()
    }
    if (values) *squaredNorm = sum;
#undef ADD_NEXT_SQUARE
}

#undef U64V
#undef F64V
#undef F32V
#undef NAME
#undef GLUE
#undef GLUE2
