// Direct stride-1 "same" convolutions (a k x k window, padding (k - 1) / 2, output planes
// as large as the input's) of one example, for StridedConvolutionKernel's forward pass
// and StridedConvolutionGradient's transposed input gradient: no im2col matrix and no
// packing by the matrix library. The example is first copied into a zero-bordered plane
// per channel (idz_conv_same_pad); then each output number is
//
//     sum = 0; for c, ki, kj in order: sum = fma(weight[f][c][ki][kj], padded[c][y + ki][x + kj], sum)
//
// one fused multiply-add per term in the (channel, ki, kj) order of im2col's rows: the
// order and rounding of a matrix product W im2col(x) whose inner loop runs in order. Every
// level (AVX-512: 16 filters x 16 or 8 positions per block; AVX2 with FMA: 16 filters x 8
// positions; portable: fmaf) computes exactly that, so the bits do not depend on the level.

#include "CIdzipKernels.h"
#include "../levels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma STDC FP_CONTRACT OFF

void idz_conv_same_pad(const float *input, int channelMajor, size_t channels, size_t batch, size_t height,
                       size_t width, size_t padding, size_t example, float *padded) {
    size_t paddedWidth = width + 2 * padding, paddedPlane = (height + 2 * padding) * paddedWidth;
    size_t planeSize = height * width;
    for (size_t c = 0; c < channels; c++) {
        const float *plane = input + (channelMajor ? (c * batch + example) * planeSize : (example * channels + c) * planeSize);
        float *target = padded + c * paddedPlane;
        memset(target, 0, padding * paddedWidth * sizeof(float));
        for (size_t y = 0; y < height; y++) {
            float *row = target + (y + padding) * paddedWidth;
            for (size_t x = 0; x < padding; x++) row[x] = 0;
            memcpy(row + padding, plane + y * width, width * sizeof(float));
            for (size_t x = padding + width; x < paddedWidth; x++) row[x] = 0;
        }
        memset(target + (height + padding) * paddedWidth, 0, padding * paddedWidth * sizeof(float));
    }
}

/// One output number by the defining order (every level's tail and the portable path).
static inline float idz_conv_same_point(const float *padded, size_t channels, size_t kernel, size_t paddedWidth,
                                        size_t paddedPlane, const float *filterWeights, size_t y, size_t x) {
    float sum = 0;
    const float *w = filterWeights;
    for (size_t c = 0; c < channels; c++) {
        const float *plane = padded + c * paddedPlane;
        for (size_t ki = 0; ki < kernel; ki++) {
            const float *line = plane + (y + ki) * paddedWidth + x;
            for (size_t kj = 0; kj < kernel; kj++) sum = fmaf(*w++, line[kj], sum);
        }
    }
    return sum;
}

/// The portable level: each output row is built in place, term by term in the defining
/// (channel, ki, kj) order, with the row's positions in the inner loop. Every position's
/// chain of fused multiply-adds is the one of `idz_conv_same_point`, but the positions are
/// independent, so a compiler can vectorise the inner loop where the processor has a fused
/// multiply-add (e.g. aarch64's NEON) without changing a bit.
static void conv_same_portable(const float *padded, size_t channels, size_t height, size_t width, size_t kernel,
                               const float *weight, size_t filters, float *output, size_t filterStride) {
    size_t paddedWidth = width + kernel - 1, paddedPlane = (height + kernel - 1) * paddedWidth;
    size_t patch = channels * kernel * kernel;
    for (size_t f = 0; f < filters; f++) {
        for (size_t y = 0; y < height; y++) {
            float *row = output + f * filterStride + y * width;
            for (size_t x = 0; x < width; x++) row[x] = 0;
            const float *w = weight + f * patch;
            for (size_t c = 0; c < channels; c++) {
                const float *plane = padded + c * paddedPlane;
                for (size_t ki = 0; ki < kernel; ki++) {
                    const float *line = plane + (y + ki) * paddedWidth;
                    for (size_t kj = 0; kj < kernel; kj++) {
                        float term = *w++;
                        const float *source = line + kj;
                        for (size_t x = 0; x < width; x++) row[x] = fmaf(term, source[x], row[x]);
                    }
                }
            }
        }
    }
}

#if defined(__x86_64__)

#define IDZ_TARGET_AVX2_FMA __attribute__((target("avx2,fma")))

// FB filters (a constant) x one vector of positions: the block's accumulators stay in
// registers. `packed` holds the block's weights patch row by patch row (FB numbers per row),
// so every broadcast reads one base pointer. KERNEL is the window side: a constant (3) for
// a fully unrolled window, or the runtime `kernel`.
#define CONV_BLOCK(NAME, TARGET, VEC, FB, KERNEL, ZERO, LOAD, FMA, SET1, STORE)                                \
    TARGET static inline __attribute__((always_inline)) void NAME(                                              \
        const float *padded, size_t channels, size_t kernel, size_t paddedWidth, size_t paddedPlane,            \
        const float *packed, float *output, size_t filterStride, size_t width, size_t y, size_t x0) {           \
        (void)kernel;                                                                                            \
        VEC acc[FB];                                                                                             \
        for (size_t f = 0; f < FB; f++) acc[f] = ZERO;                                                           \
        const float *w = packed;                                                                                 \
        for (size_t c = 0; c < channels; c++) {                                                                  \
            const float *plane = padded + c * paddedPlane + y * paddedWidth + x0;                                \
            for (size_t ki = 0; ki < (KERNEL); ki++) {                                                           \
                const float *line = plane + ki * paddedWidth;                                                    \
                for (size_t kj = 0; kj < (KERNEL); kj++, w += FB) {                                              \
                    VEC v = LOAD(line + kj);                                                                     \
                    for (size_t f = 0; f < FB; f++) acc[f] = FMA(SET1(w[f]), v, acc[f]);                        \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        for (size_t f = 0; f < FB; f++) STORE(output + f * filterStride + y * width + x0, acc[f]);              \
    }

// CONV_BLOCK on the first lanes only (the rest of a row): `mask` selects them; the other
// lanes are neither read nor written.
#define CONV_BLOCK_MASKED(NAME, TARGET, VEC, MASK, FB, KERNEL, ZERO, LOAD, FMA, SET1, STORE)                   \
    TARGET static inline __attribute__((always_inline)) void NAME(                                              \
        const float *padded, size_t channels, size_t kernel, size_t paddedWidth, size_t paddedPlane,            \
        const float *packed, float *output, size_t filterStride, size_t width, size_t y, size_t x0,             \
        MASK mask) {                                                                                             \
        (void)kernel;                                                                                            \
        VEC acc[FB];                                                                                             \
        for (size_t f = 0; f < FB; f++) acc[f] = ZERO;                                                           \
        const float *w = packed;                                                                                 \
        for (size_t c = 0; c < channels; c++) {                                                                  \
            const float *plane = padded + c * paddedPlane + y * paddedWidth + x0;                                \
            for (size_t ki = 0; ki < (KERNEL); ki++) {                                                           \
                const float *line = plane + ki * paddedWidth;                                                    \
                for (size_t kj = 0; kj < (KERNEL); kj++, w += FB) {                                              \
                    VEC v = LOAD(line + kj, mask);                                                               \
                    for (size_t f = 0; f < FB; f++) acc[f] = FMA(SET1(w[f]), v, acc[f]);                        \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        for (size_t f = 0; f < FB; f++) STORE(output + f * filterStride + y * width + x0, mask, acc[f]);        \
    }

#define CONV_BLOCKS_MASKED(PREFIX, TARGET, VEC, MASK, ZERO, LOAD, FMA, SET1, STORE)                             \
    CONV_BLOCK_MASKED(PREFIX##_16, TARGET, VEC, MASK, 16, kernel, ZERO, LOAD, FMA, SET1, STORE)                 \
    CONV_BLOCK_MASKED(PREFIX##_8, TARGET, VEC, MASK, 8, kernel, ZERO, LOAD, FMA, SET1, STORE)                   \
    CONV_BLOCK_MASKED(PREFIX##_4, TARGET, VEC, MASK, 4, kernel, ZERO, LOAD, FMA, SET1, STORE)                   \
    CONV_BLOCK_MASKED(PREFIX##_1, TARGET, VEC, MASK, 1, kernel, ZERO, LOAD, FMA, SET1, STORE)                   \
    CONV_BLOCK_MASKED(PREFIX##_16_k3, TARGET, VEC, MASK, 16, 3, ZERO, LOAD, FMA, SET1, STORE)                   \
    CONV_BLOCK_MASKED(PREFIX##_8_k3, TARGET, VEC, MASK, 8, 3, ZERO, LOAD, FMA, SET1, STORE)                     \
    CONV_BLOCK_MASKED(PREFIX##_4_k3, TARGET, VEC, MASK, 4, 3, ZERO, LOAD, FMA, SET1, STORE)                     \
    CONV_BLOCK_MASKED(PREFIX##_1_k3, TARGET, VEC, MASK, 1, 3, ZERO, LOAD, FMA, SET1, STORE)

#define CONV_BLOCKS(PREFIX, TARGET, VEC, ZERO, LOAD, FMA, SET1, STORE)                                          \
    CONV_BLOCK(PREFIX##_16, TARGET, VEC, 16, kernel, ZERO, LOAD, FMA, SET1, STORE)                              \
    CONV_BLOCK(PREFIX##_8, TARGET, VEC, 8, kernel, ZERO, LOAD, FMA, SET1, STORE)                                \
    CONV_BLOCK(PREFIX##_4, TARGET, VEC, 4, kernel, ZERO, LOAD, FMA, SET1, STORE)                                \
    CONV_BLOCK(PREFIX##_1, TARGET, VEC, 1, kernel, ZERO, LOAD, FMA, SET1, STORE)                                \
    CONV_BLOCK(PREFIX##_16_k3, TARGET, VEC, 16, 3, ZERO, LOAD, FMA, SET1, STORE)                                \
    CONV_BLOCK(PREFIX##_8_k3, TARGET, VEC, 8, 3, ZERO, LOAD, FMA, SET1, STORE)                                  \
    CONV_BLOCK(PREFIX##_4_k3, TARGET, VEC, 4, 3, ZERO, LOAD, FMA, SET1, STORE)                                  \
    CONV_BLOCK(PREFIX##_1_k3, TARGET, VEC, 1, 3, ZERO, LOAD, FMA, SET1, STORE)

CONV_BLOCKS(wide_avx512, IDZ_TARGET_AVX512, __m512, _mm512_setzero_ps(), _mm512_loadu_ps, _mm512_fmadd_ps,
            _mm512_set1_ps, _mm512_storeu_ps)
CONV_BLOCKS(narrow_avx512, IDZ_TARGET_AVX512, __m256, _mm256_setzero_ps(), _mm256_loadu_ps, _mm256_fmadd_ps,
            _mm256_set1_ps, _mm256_storeu_ps)
// Planes 8 wide: two rows (y, y + 1) in one 16-lane vector, which is also where the two
// output rows lie (contiguous).
#define LOAD_TWO_ROWS(p) \
    _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(p)), _mm256_loadu_ps((p) + paddedWidth), 1)
CONV_BLOCKS(pair_avx512, IDZ_TARGET_AVX512, __m512, _mm512_setzero_ps(), LOAD_TWO_ROWS, _mm512_fmadd_ps,
            _mm512_set1_ps, _mm512_storeu_ps)
CONV_BLOCKS(narrow_avx2, IDZ_TARGET_AVX2_FMA, __m256, _mm256_setzero_ps(), _mm256_loadu_ps, _mm256_fmadd_ps,
            _mm256_set1_ps, _mm256_storeu_ps)
// Tails of fewer than 8 positions: 8-lane vectors (AVX-512VL masks at that level).
#define MASKED_LOAD8VL(p, m) _mm256_maskz_loadu_ps(m, p)
#define MASKED_STORE8VL(p, m, v) _mm256_mask_storeu_ps(p, m, v)
CONV_BLOCKS_MASKED(masked_avx512, IDZ_TARGET_AVX512, __m256, __mmask8, _mm256_setzero_ps(), MASKED_LOAD8VL,
                   _mm256_fmadd_ps, _mm256_set1_ps, MASKED_STORE8VL)
#define MASKED_LOAD8(p, m) _mm256_maskload_ps(p, m)
#define MASKED_STORE8(p, m, v) _mm256_maskstore_ps(p, m, v)
CONV_BLOCKS_MASKED(masked_avx2, IDZ_TARGET_AVX2_FMA, __m256, __m256i, _mm256_setzero_ps(), MASKED_LOAD8,
                   _mm256_fmadd_ps, _mm256_set1_ps, MASKED_STORE8)

// The rows of filters [f0, f0 + FB) (weights `w`, packed into `packed` first): vectors of 16
// (WIDE), then 8, then single positions.
#define CONV_ROWS(NAME, TARGET, FB, WIDE, NARROW, PAIRS, TAIL)                                                                \
    TARGET static inline __attribute__((always_inline)) void NAME(                                              \
        const float *padded, size_t channels, size_t height, size_t kernel, size_t paddedWidth,                 \
        size_t paddedPlane, const float *w, size_t patch, float *packed, float *out, size_t filterStride,       \
        size_t width) {                                                                                          \
        for (size_t k = 0; k < patch; k++)                                                                       \
            for (size_t f = 0; f < FB; f++) packed[k * FB + f] = w[f * patch + k];                              \
        size_t y = 0;                                                                                            \
        PAIRS(FB)                                                                                                \
        for (; y < height; y++) {                                                                                \
            size_t x = 0;                                                                                        \
            if (kernel == 3) {                                                                                   \
                WIDE(FB##_k3)                                                                                    \
                for (; x + 8 <= width; x += 8)                                                                   \
                    NARROW##_##FB##_k3(padded, channels, kernel, paddedWidth, paddedPlane, packed, out,          \
                                       filterStride, width, y, x);                                               \
            } else {                                                                                             \
                WIDE(FB)                                                                                         \
                for (; x + 8 <= width; x += 8)                                                                   \
                    NARROW##_##FB(padded, channels, kernel, paddedWidth, paddedPlane, packed, out, filterStride, \
                                  width, y, x);                                                                  \
            }                                                                                                    \
            TAIL(FB)                                                                                             \
            for (; x < width; x++) {                                                                             \
                for (size_t f = 0; f < FB; f++) {                                                                \
                    out[f * filterStride + y * width + x] =                                                      \
                        idz_conv_same_point(padded, channels, kernel, paddedWidth, paddedPlane, w + f * patch, y, x); \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
    }

#define WIDE16(FB) for (; x + 16 <= width; x += 16) \
    wide_avx512_##FB(padded, channels, kernel, paddedWidth, paddedPlane, packed, out, filterStride, width, y, x);
#define NO_WIDE(FB)
#define PAIRS16(FB)                                                                                              \
    if (width == 8) {                                                                                            \
        for (; y + 2 <= height; y += 2) {                                                                        \
            if (kernel == 3)                                                                                     \
                pair_avx512_##FB##_k3(padded, channels, kernel, paddedWidth, paddedPlane, packed, out,           \
                                      filterStride, width, y, 0);                                                \
            else                                                                                                 \
                pair_avx512_##FB(padded, channels, kernel, paddedWidth, paddedPlane, packed, out, filterStride,  \
                                 width, y, 0);                                                                   \
        }                                                                                                        \
    }
#define NO_PAIRS(FB)
// The last width - x (< 8) positions of a row, as the first lanes of one 8-lane vector.
#define TAIL16(FB)                                                                                               \
    if (x < width) {                                                                                             \
        __mmask8 mask = (__mmask8)((1u << (width - x)) - 1);                                                   \
        if (kernel == 3)                                                                                         \
            masked_avx512_##FB##_k3(padded, channels, kernel, paddedWidth, paddedPlane, packed, out,             \
                                    filterStride, width, y, x, mask);                                            \
        else                                                                                                     \
            masked_avx512_##FB(padded, channels, kernel, paddedWidth, paddedPlane, packed, out, filterStride,    \
                               width, y, x, mask);                                                               \
        x = width;                                                                                               \
    }
#define TAIL8(FB)                                                                                                \
    if (x < width) {                                                                                             \
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(width - x)),                                   \
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));                            \
        if (kernel == 3)                                                                                         \
            masked_avx2_##FB##_k3(padded, channels, kernel, paddedWidth, paddedPlane, packed, out, filterStride, \
                                  width, y, x, mask);                                                            \
        else                                                                                                     \
            masked_avx2_##FB(padded, channels, kernel, paddedWidth, paddedPlane, packed, out, filterStride,      \
                             width, y, x, mask);                                                                 \
        x = width;                                                                                               \
    }
CONV_ROWS(rows_avx512_16, IDZ_TARGET_AVX512, 16, WIDE16, narrow_avx512, PAIRS16, TAIL16)
CONV_ROWS(rows_avx512_8, IDZ_TARGET_AVX512, 8, WIDE16, narrow_avx512, PAIRS16, TAIL16)
CONV_ROWS(rows_avx512_4, IDZ_TARGET_AVX512, 4, WIDE16, narrow_avx512, PAIRS16, TAIL16)
CONV_ROWS(rows_avx512_1, IDZ_TARGET_AVX512, 1, WIDE16, narrow_avx512, PAIRS16, TAIL16)
CONV_ROWS(rows_avx2_16, IDZ_TARGET_AVX2_FMA, 16, NO_WIDE, narrow_avx2, NO_PAIRS, TAIL8)
CONV_ROWS(rows_avx2_8, IDZ_TARGET_AVX2_FMA, 8, NO_WIDE, narrow_avx2, NO_PAIRS, TAIL8)
CONV_ROWS(rows_avx2_4, IDZ_TARGET_AVX2_FMA, 4, NO_WIDE, narrow_avx2, NO_PAIRS, TAIL8)
CONV_ROWS(rows_avx2_1, IDZ_TARGET_AVX2_FMA, 1, NO_WIDE, narrow_avx2, NO_PAIRS, TAIL8)

// Filters in blocks of 16 (when USE16), then 8, 4 and 1; rows inside a block. `packed`: 16
// patch numbers.
#define CONV_SAME(NAME, TARGET, ROWS, USE16)                                                                          \
    TARGET static void NAME(const float *padded, size_t channels, size_t height, size_t width, size_t kernel,    \
                            const float *weight, size_t filters, float *output, size_t filterStride,             \
                            float *packed) {                                                                     \
        size_t paddedWidth = width + kernel - 1, paddedPlane = (height + kernel - 1) * paddedWidth;              \
        size_t patch = channels * kernel * kernel;                                                               \
        size_t f0 = 0;                                                                                           \
        for (; (USE16) && f0 + 16 <= filters; f0 += 16)                                                          \
            ROWS##_16(padded, channels, height, kernel, paddedWidth, paddedPlane, weight + f0 * patch, patch,   \
                      packed, output + f0 * filterStride, filterStride, width);                                  \
        for (; f0 + 8 <= filters; f0 += 8)                                                                       \
            ROWS##_8(padded, channels, height, kernel, paddedWidth, paddedPlane, weight + f0 * patch, patch,    \
                     packed, output + f0 * filterStride, filterStride, width);                                   \
        for (; f0 + 4 <= filters; f0 += 4)                                                                       \
            ROWS##_4(padded, channels, height, kernel, paddedWidth, paddedPlane, weight + f0 * patch, patch,    \
                     packed, output + f0 * filterStride, filterStride, width);                                   \
        for (; f0 < filters; f0++)                                                                               \
            ROWS##_1(padded, channels, height, kernel, paddedWidth, paddedPlane, weight + f0 * patch, patch,    \
                     packed, output + f0 * filterStride, filterStride, width);                                   \
    }

CONV_SAME(conv_same_avx512, IDZ_TARGET_AVX512, rows_avx512, 1)
// 16 ymm registers: blocks of at most 8 filters.
CONV_SAME(conv_same_avx2, IDZ_TARGET_AVX2_FMA, rows_avx2, 0)

static int has_fma(void) {
    static _Atomic int known = -1;
    int value = known;
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("fma") ? 1 : 0;
        known = value;
    }
    return value;
}
#endif

void idz_conv_same_at_level(int level, const float *padded, size_t channels, size_t height, size_t width,
                            size_t kernel, const float *weight, size_t filters, float *output, size_t filterStride) {
#if defined(__x86_64__)
    int supported = idz_kernels_supported(level);
    if (supported == IDZ_KERNELS_AVX512 || (supported == IDZ_KERNELS_AVX2 && has_fma())) {
        // The weights of one block of up to 16 filters, patch row by patch row.
        float *packed = malloc(16 * channels * kernel * kernel * sizeof(float));
        if (packed) {
            if (supported == IDZ_KERNELS_AVX512)
                conv_same_avx512(padded, channels, height, width, kernel, weight, filters, output, filterStride, packed);
            else
                conv_same_avx2(padded, channels, height, width, kernel, weight, filters, output, filterStride, packed);
            free(packed);
            return;
        }
    }
#else
    (void)level;
#endif
    conv_same_portable(padded, channels, height, width, kernel, weight, filters, output, filterStride);
}

void idz_conv_same(const float *padded, size_t channels, size_t height, size_t width, size_t kernel,
                   const float *weight, size_t filters, float *output, size_t filterStride) {
    idz_conv_same_at_level(idz_kernels_level(), padded, channels, height, width, kernel, weight, filters, output,
                           filterStride);
}

// MARK: Weight gradient of a 3 x 3 "same" convolution on planes a multiple of 16 wide.
//
// dW[f][c][ki][kj] of one example is a sum over the output positions p = y width + x: lane
// l (0..15) takes the positions with x = 16 j + l, j and y in order, each by one fused
// multiply-add fma(dOut[f][p], padded[c][y + ki][x + kj], lane) from 0; then the lanes are
// added in order 0..15 (float additions), and the result is written to dW (accumulate 0)
// or added to it (accumulate 1).

static inline float idz_lanes_sum(const float *lanes) {
    float sum = lanes[0];
    for (int l = 1; l < 16; l++) sum += lanes[l];
    return sum;
}

static void weight_gradient_portable(const float *padded, size_t channels, size_t height, size_t width,
                                     const float *outputGradient, size_t filters, size_t filterStride,
                                     float *weightGradient, int accumulate) {
    size_t paddedWidth = width + 2, paddedPlane = (height + 2) * paddedWidth, patch = channels * 9;
    for (size_t f = 0; f < filters; f++) {
        const float *dy = outputGradient + f * filterStride;
        for (size_t c = 0; c < channels; c++) {
            for (size_t ki = 0; ki < 3; ki++) {
                for (size_t kj = 0; kj < 3; kj++) {
                    float lanes[16] = {0};
                    for (size_t y = 0; y < height; y++) {
                        const float *line = padded + c * paddedPlane + (y + ki) * paddedWidth + kj;
                        for (size_t x0 = 0; x0 < width; x0 += 16)
                            for (int l = 0; l < 16; l++)
                                lanes[l] = fmaf(dy[y * width + x0 + l], line[x0 + l], lanes[l]);
                    }
                    float *target = weightGradient + f * patch + (c * 3 + ki) * 3 + kj;
                    float sum = idz_lanes_sum(lanes);
                    *target = accumulate ? *target + sum : sum;
                }
            }
        }
    }
}

#if defined(__x86_64__)

// FB filters x the three kj of one (c, ki): 3 FB accumulators of 16 lanes (one zmm, or two
// ymm halves at the AVX2 level).
#define WG_BLOCK_AVX512(FB)                                                                                      \
    IDZ_TARGET_AVX512 static inline __attribute__((always_inline)) void wg_block_avx512_##FB(                   \
        const float *line0, size_t paddedWidth, size_t height, size_t width, const float *dy,                   \
        size_t filterStride, float *target, size_t patch, int accumulate) {                                      \
        __m512 acc[FB][3];                                                                                       \
        for (int f = 0; f < FB; f++)                                                                             \
            for (int j = 0; j < 3; j++) acc[f][j] = _mm512_setzero_ps();                                        \
        for (size_t y = 0; y < height; y++) {                                                                    \
            const float *line = line0 + y * paddedWidth;                                                         \
            for (size_t x0 = 0; x0 < width; x0 += 16) {                                                          \
                __m512 p0 = _mm512_loadu_ps(line + x0), p1 = _mm512_loadu_ps(line + x0 + 1);                     \
                __m512 p2 = _mm512_loadu_ps(line + x0 + 2);                                                      \
                for (int f = 0; f < FB; f++) {                                                                   \
                    __m512 d = _mm512_loadu_ps(dy + f * filterStride + y * width + x0);                         \
                    acc[f][0] = _mm512_fmadd_ps(d, p0, acc[f][0]);                                               \
                    acc[f][1] = _mm512_fmadd_ps(d, p1, acc[f][1]);                                               \
                    acc[f][2] = _mm512_fmadd_ps(d, p2, acc[f][2]);                                               \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        for (int f = 0; f < FB; f++) {                                                                           \
            for (int j = 0; j < 3; j++) {                                                                        \
                float lanes[16];                                                                                 \
                _mm512_storeu_ps(lanes, acc[f][j]);                                                              \
                float sum = idz_lanes_sum(lanes);                                                                \
                float *t = target + f * patch + j;                                                               \
                *t = accumulate ? *t + sum : sum;                                                                \
            }                                                                                                    \
        }                                                                                                        \
    }
WG_BLOCK_AVX512(4)
WG_BLOCK_AVX512(1)

#define WG_BLOCK_AVX2(FB)                                                                                        \
    IDZ_TARGET_AVX2_FMA static inline __attribute__((always_inline)) void wg_block_avx2_##FB(                   \
        const float *line0, size_t paddedWidth, size_t height, size_t width, const float *dy,                   \
        size_t filterStride, float *target, size_t patch, int accumulate) {                                      \
        __m256 lo[FB][3], hi[FB][3];                                                                             \
        for (int f = 0; f < FB; f++)                                                                             \
            for (int j = 0; j < 3; j++) lo[f][j] = hi[f][j] = _mm256_setzero_ps();                              \
        for (size_t y = 0; y < height; y++) {                                                                    \
            const float *line = line0 + y * paddedWidth;                                                         \
            for (size_t x0 = 0; x0 < width; x0 += 16) {                                                          \
                for (int j = 0; j < 3; j++) {                                                                    \
                    __m256 pl = _mm256_loadu_ps(line + x0 + j), ph = _mm256_loadu_ps(line + x0 + 8 + j);        \
                    for (int f = 0; f < FB; f++) {                                                               \
                        const float *d = dy + f * filterStride + y * width + x0;                                 \
                        lo[f][j] = _mm256_fmadd_ps(_mm256_loadu_ps(d), pl, lo[f][j]);                           \
                        hi[f][j] = _mm256_fmadd_ps(_mm256_loadu_ps(d + 8), ph, hi[f][j]);                       \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        for (int f = 0; f < FB; f++) {                                                                           \
            for (int j = 0; j < 3; j++) {                                                                        \
                float lanes[16];                                                                                 \
                _mm256_storeu_ps(lanes, lo[f][j]);                                                               \
                _mm256_storeu_ps(lanes + 8, hi[f][j]);                                                           \
                float sum = idz_lanes_sum(lanes);                                                                \
                float *t = target + f * patch + j;                                                               \
                *t = accumulate ? *t + sum : sum;                                                                \
            }                                                                                                    \
        }                                                                                                        \
    }
WG_BLOCK_AVX2(2)
WG_BLOCK_AVX2(1)

#define WG_SAME(NAME, TARGET, BLOCK, FB)                                                                         \
    TARGET static void NAME(const float *padded, size_t channels, size_t height, size_t width,                  \
                            const float *outputGradient, size_t filters, size_t filterStride,                    \
                            float *weightGradient, int accumulate) {                                             \
        size_t paddedWidth = width + 2, paddedPlane = (height + 2) * paddedWidth, patch = channels * 9;          \
        size_t f0 = 0;                                                                                           \
        for (; f0 + FB <= filters; f0 += FB)                                                                     \
            for (size_t c = 0; c < channels; c++)                                                                \
                for (size_t ki = 0; ki < 3; ki++)                                                                \
                    BLOCK##_##FB(padded + c * paddedPlane + ki * paddedWidth, paddedWidth, height, width,       \
                                 outputGradient + f0 * filterStride, filterStride,                               \
                                 weightGradient + f0 * patch + (c * 3 + ki) * 3, patch, accumulate);             \
        for (; f0 < filters; f0++)                                                                               \
            for (size_t c = 0; c < channels; c++)                                                                \
                for (size_t ki = 0; ki < 3; ki++)                                                                \
                    BLOCK##_1(padded + c * paddedPlane + ki * paddedWidth, paddedWidth, height, width,          \
                              outputGradient + f0 * filterStride, filterStride,                                  \
                              weightGradient + f0 * patch + (c * 3 + ki) * 3, patch, accumulate);                \
    }
WG_SAME(weight_gradient_avx512, IDZ_TARGET_AVX512, wg_block_avx512, 4)
WG_SAME(weight_gradient_avx2, IDZ_TARGET_AVX2_FMA, wg_block_avx2, 2)
#endif

void idz_conv3_same_weight_gradient_at_level(int level, const float *padded, size_t channels, size_t height,
                                             size_t width, const float *outputGradient, size_t filters,
                                             size_t filterStride, float *weightGradient, int accumulate) {
#if defined(__x86_64__)
    int supported = idz_kernels_supported(level);
    if (supported == IDZ_KERNELS_AVX512) {
        weight_gradient_avx512(padded, channels, height, width, outputGradient, filters, filterStride, weightGradient,
                               accumulate);
        return;
    }
    if (supported == IDZ_KERNELS_AVX2 && has_fma()) {
        weight_gradient_avx2(padded, channels, height, width, outputGradient, filters, filterStride, weightGradient,
                             accumulate);
        return;
    }
#else
    (void)level;
#endif
    weight_gradient_portable(padded, channels, height, width, outputGradient, filters, filterStride, weightGradient,
                             accumulate);
}

void idz_conv3_same_weight_gradient(const float *padded, size_t channels, size_t height, size_t width,
                                    const float *outputGradient, size_t filters, size_t filterStride,
                                    float *weightGradient, int accumulate) {
    idz_conv3_same_weight_gradient_at_level(idz_kernels_level(), padded, channels, height, width, outputGradient,
                                            filters, filterStride, weightGradient, accumulate);
}
