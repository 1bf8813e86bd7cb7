// Bulk random numbers: one generic-vector body compiled for AVX-512, AVX2 and the
// baseline instruction set, chosen at run time by the kernels' level (cpu.c). See
// include/CIdzipKernels.h.
#pragma clang fp contract(off)
// The helpers that take vectors by value are always inlined, so no vector crosses a call.
#pragma clang diagnostic ignored "-Wpsabi"

#include "CIdzipKernels.h"
#include "../levels.h"


// PortableMath's constants (Formats/idz-v1.md): ln 2 in two parts, sqrt(2), pi/2, and the
// series coefficients 1/(2k+1), (-1)^k/(2k+1)!, (-1)^k/(2k)!, each a correctly rounded
// quotient like the reference's run-time divisions.
#define LN2_HI 0x1.62e42fee00000p-1
#define LN2_LO 0x1.a39ef35793c76p-33
#define HALF_PI 0x1.921fb54442d18p+0
#define SQRT2_BITS 0x3FF6A09E667F3BCDull
static const double ATANH_COEFFICIENTS[10] = {
    1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21,
};
static const double SINE_COEFFICIENTS[8] = {
    -1.0 / 6.0, 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362880.0, -1.0 / 39916800.0,
    1.0 / 6227020800.0, -1.0 / 1307674368000.0, 1.0 / 355687428096000.0,
};
static const double COSINE_COEFFICIENTS[9] = {
    -1.0 / 2.0, 1.0 / 24.0, -1.0 / 720.0, 1.0 / 40320.0, -1.0 / 3628800.0, 1.0 / 479001600.0,
    -1.0 / 87178291200.0, 1.0 / 20922789888000.0, -1.0 / 6402373705728000.0,
};

#define LANES 4
#define SUFFIX portable
#define TARGET
#include "RandomKernelsBody.h"
#undef LANES
#undef SUFFIX
#undef TARGET

#if defined(__x86_64__)
#define LANES 8
#define SUFFIX avx2
#define TARGET IDZ_TARGET_AVX2
#include "RandomKernelsBody.h"
#undef LANES
#undef SUFFIX
#undef TARGET

#define LANES 16
#define SUFFIX avx512
#define TARGET IDZ_TARGET_AVX512
#include "RandomKernelsBody.h"
#undef LANES
#undef SUFFIX
#undef TARGET
#endif

#if defined(__x86_64__)
#define DISPATCH(function, ...)                                                   \
    switch (idz_kernels_level()) {                                                \
    case IDZ_KERNELS_AVX512: function##_avx512(__VA_ARGS__); return;              \
    case IDZ_KERNELS_AVX2: function##_avx2(__VA_ARGS__); return;                  \
    default: function##_portable(__VA_ARGS__); return;                            \
    }
#else
#define DISPATCH(function, ...) function##_portable(__VA_ARGS__);
#endif

void idz_philox_blocks(uint64_t seed, uint32_t substream, uint32_t purpose,
                       uint64_t first, size_t count, uint32_t *out) {
    DISPATCH(philoxBlocks, seed, substream, purpose, first, count, out)
}

void idz_fill_float_normal_pairs(uint64_t seed, uint32_t substream, uint32_t purpose,
                                 uint64_t firstBlock, size_t blockCount, double scale,
                                 float *out, double *squaredNorm) {
    DISPATCH(fillFloatNormalPairs, seed, substream, purpose, firstBlock, blockCount, scale, out, squaredNorm)
}

void idz_fill_double_normal_pairs(uint64_t seed, uint32_t substream, uint32_t purpose,
                                  uint64_t firstBlock, size_t blockCount, double *out) {
    DISPATCH(fillDoubleNormalPairs, seed, substream, purpose, firstBlock, blockCount, out)
}

void idz_permutation(uint64_t seed, uint32_t substream, uint32_t purpose,
                     uint64_t count, uint32_t *out) {
    DISPATCH(permutation, seed, substream, purpose, count, out, NULL, 0, NULL)
}

void idz_permutation_summing_squares(uint64_t seed, uint32_t substream, uint32_t purpose,
                                     uint64_t count, uint32_t *out,
                                     const float *values, size_t valueCount, double *squaredNorm) {
    DISPATCH(permutation, seed, substream, purpose, count, out, values, valueCount, squaredNorm)
}
