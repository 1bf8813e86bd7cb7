// The Fastfood permute-and-scale steps: one float multiplication per entry, so every
// instruction set gives the same bits.
#pragma clang fp contract(off)

#include "CIdzipKernels.h"
#include "../levels.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static void gather_portable(float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count) {
    for (size_t k = 0; k < count; k++) y[k] = gaussian[k] * x[permutation[k]];
}

#if defined(__x86_64__)
IDZ_TARGET_AVX2
static void gather_instructions_avx2(float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count) {
    size_t k = 0;
    for (; k + 8 <= count; k += 8) {
        __m256i index = _mm256_loadu_si256((const __m256i *)(permutation + k));
        __m256 values = _mm256_i32gather_ps(x, index, 4);
        _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_loadu_ps(gaussian + k), values));
    }
    for (; k < count; k++) y[k] = gaussian[k] * x[permutation[k]];
}

IDZ_TARGET_AVX512
static void gather_instructions_avx512(float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count) {
    size_t k = 0;
    for (; k + 16 <= count; k += 16) {
        __m512i index = _mm512_loadu_si512((const void *)(permutation + k));
        __m512 values = _mm512_i32gather_ps(index, x, 4);
        _mm512_storeu_ps(y + k, _mm512_mul_ps(_mm512_loadu_ps(gaussian + k), values));
    }
    for (; k < count; k++) y[k] = gaussian[k] * x[permutation[k]];
}

/// From this many entries on, the gather instructions are used (x no longer fits the
/// level-2 cache, and the instructions' parallel misses win: 2.0 ms against 2.4 ms for
/// 2^20 entries); below it, entries are loaded one at a time (see gather_loads_avx2).
#define GATHER_INSTRUCTIONS_FROM ((size_t)1 << 19)

// Below GATHER_INSTRUCTIONS_FROM the vector levels load the eight entries one at a time and
// assemble the vector: on the Zen 4 processor where training is measured, a 1024-entry
// block took 270 ns this way against 380 ns with AVX-512's vpgatherdd and 390 ns with
// AVX2's, and 4096 entries 1.4 against 1.7 us (thread CPU time, 2026-12-01). The products
// are the same.
IDZ_TARGET_AVX2
static void gather_loads_avx2(float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count) {
    size_t k = 0;
    for (; k + 8 <= count; k += 8) {
        const uint32_t *p = permutation + k;
        __m256 values = _mm256_setr_ps(x[p[0]], x[p[1]], x[p[2]], x[p[3]], x[p[4]], x[p[5]], x[p[6]], x[p[7]]);
        _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_loadu_ps(gaussian + k), values));
    }
    for (; k < count; k++) y[k] = gaussian[k] * x[permutation[k]];
}

// The scatter multiplies eight entries at a time and stores them one by one (vector
// scatters are slower still): 325 ns against 460 ns a block for the scalar loop, measured
// as above.
IDZ_TARGET_AVX2
static void scatter_avx2(float *z, const float *y, const uint32_t *permutation, const float *gaussian, size_t count) {
    size_t k = 0;
    for (; k + 8 <= count; k += 8) {
        float products[8];
        _mm256_storeu_ps(products, _mm256_mul_ps(_mm256_loadu_ps(y + k), _mm256_loadu_ps(gaussian + k)));
        const uint32_t *p = permutation + k;
        for (int i = 0; i < 8; i++) z[p[i]] = products[i];
    }
    for (; k < count; k++) z[permutation[k]] = y[k] * gaussian[k];
}
#endif

void idz_fastfood_gather(float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count) {
    idz_fastfood_gather_at_level(idz_kernels_level(), y, x, permutation, gaussian, count);
}

void idz_fastfood_gather_at_level(
    int level, float *y, const float *x, const uint32_t *permutation, const float *gaussian,
    size_t count
) {
#if defined(__x86_64__)
    int supported = idz_kernels_supported(level);
    if (supported >= IDZ_KERNELS_AVX2 && count < GATHER_INSTRUCTIONS_FROM) {
        gather_loads_avx2(y, x, permutation, gaussian, count);
        return;
    }
    // Indices must fit the signed 32-bit lanes of the gather instructions.
    if (count <= ((size_t)1 << 31)) {
        switch (supported) {
        case IDZ_KERNELS_AVX512:
            gather_instructions_avx512(y, x, permutation, gaussian, count);
            return;
        case IDZ_KERNELS_AVX2:
            gather_instructions_avx2(y, x, permutation, gaussian, count);
            return;
        default:
            break;
        }
    }
#else
    (void)level;
#endif
    gather_portable(y, x, permutation, gaussian, count);
}

// MARK: Sign flips

static inline uint32_t sign_bit(const uint32_t *signWords, size_t k) {
    return ((signWords[k >> 5] >> (k & 31)) & 1u) << 31;
}

static void sign_flip_portable(
    const uint32_t *signWords, const float *source, size_t sourceCount, float *destination, size_t count
) {
    for (size_t k = 0; k < count; k++) {
        uint32_t bits = 0;
        if (k < sourceCount) memcpy(&bits, source + k, 4);
        bits ^= sign_bit(signWords, k);
        memcpy(destination + k, &bits, 4);
    }
}

#if defined(__x86_64__)
IDZ_TARGET_AVX2
static void sign_flip_avx2(
    const uint32_t *signWords, const float *source, size_t sourceCount, float *destination, size_t count
) {
    const __m256i laneBits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    size_t k = 0;
    // Eight signs from one byte of a word: lane i is flipped when bit i is set.
    for (; k + 8 <= sourceCount; k += 8) {
        __m256i byte = _mm256_set1_epi32((int)((signWords[k >> 5] >> (k & 31)) & 0xFFu));
        __m256i flip = _mm256_slli_epi32(_mm256_cmpeq_epi32(_mm256_and_si256(byte, laneBits), laneBits), 31);
        __m256i bits = _mm256_loadu_si256((const __m256i *)(source + k));
        _mm256_storeu_si256((__m256i *)(destination + k), _mm256_xor_si256(bits, flip));
    }
    for (; k < sourceCount && k < count; k++) {
        uint32_t bits;
        memcpy(&bits, source + k, 4);
        bits ^= sign_bit(signWords, k);
        memcpy(destination + k, &bits, 4);
    }
    for (; k < count && (k & 7) != 0; k++) {
        uint32_t bits = sign_bit(signWords, k);
        memcpy(destination + k, &bits, 4);
    }
    for (; k + 8 <= count; k += 8) {
        __m256i byte = _mm256_set1_epi32((int)((signWords[k >> 5] >> (k & 31)) & 0xFFu));
        __m256i flip = _mm256_slli_epi32(_mm256_cmpeq_epi32(_mm256_and_si256(byte, laneBits), laneBits), 31);
        _mm256_storeu_si256((__m256i *)(destination + k), flip);
    }
    for (; k < count; k++) {
        uint32_t bits = sign_bit(signWords, k);
        memcpy(destination + k, &bits, 4);
    }
}

IDZ_TARGET_AVX512
static void sign_flip_avx512(
    const uint32_t *signWords, const float *source, size_t sourceCount, float *destination, size_t count
) {
    const __m512i signBit = _mm512_set1_epi32((int)0x80000000u);
    // Sixteen signs from one half of a word; masked loads supply the zero padding and
    // masked stores the tail.
    size_t k = 0;
    for (; k + 16 <= sourceCount; k += 16) {
        __mmask16 flip = (__mmask16)(signWords[k >> 5] >> (k & 31));
        __m512i bits = _mm512_loadu_si512((const void *)(source + k));
        _mm512_storeu_si512((void *)(destination + k), _mm512_mask_xor_epi32(bits, flip, bits, signBit));
    }
    for (; k < count; k += 16) {
        size_t lanes = count - k < 16 ? count - k : 16;
        size_t loaded = sourceCount > k ? (sourceCount - k < lanes ? sourceCount - k : lanes) : 0;
        __mmask16 store = (__mmask16)((1u << lanes) - 1u);
        __mmask16 load = (__mmask16)((1u << loaded) - 1u);
        __mmask16 flip = (__mmask16)((signWords[k >> 5] >> (k & 31)) & 0xFFFFu);
        __m512i bits = _mm512_maskz_loadu_epi32(load, source + k);
        _mm512_mask_storeu_epi32(destination + k, store, _mm512_mask_xor_epi32(bits, flip, bits, signBit));
    }
}
#endif

void idz_fastfood_sign_flip(
    const uint32_t *signWords, const float *source, size_t sourceCount, float *destination, size_t count
) {
    idz_fastfood_sign_flip_at_level(idz_kernels_level(), signWords, source, sourceCount, destination, count);
}

void idz_fastfood_sign_flip_at_level(
    int level, const uint32_t *signWords, const float *source, size_t sourceCount, float *destination, size_t count
) {
    if (sourceCount > count) sourceCount = count;
    switch (idz_kernels_supported(level)) {
#if defined(__x86_64__)
    case IDZ_KERNELS_AVX512:
        sign_flip_avx512(signWords, source, sourceCount, destination, count);
        return;
    case IDZ_KERNELS_AVX2:
        sign_flip_avx2(signWords, source, sourceCount, destination, count);
        return;
#endif
    default:
        sign_flip_portable(signWords, source, sourceCount, destination, count);
        return;
    }
}

// MARK: Scatter

static void scatter_portable(float *z, const float *y, const uint32_t *permutation, const float *gaussian, size_t count) {
    for (size_t k = 0; k < count; k++) z[permutation[k]] = y[k] * gaussian[k];
}

void idz_fastfood_scatter(float *z, const float *y, const uint32_t *permutation, const float *gaussian, size_t count) {
    idz_fastfood_scatter_at_level(idz_kernels_level(), z, y, permutation, gaussian, count);
}

void idz_fastfood_scatter_at_level(
    int level, float *z, const float *y, const uint32_t *permutation, const float *gaussian, size_t count
) {
    switch (idz_kernels_supported(level)) {
#if defined(__x86_64__)
    case IDZ_KERNELS_AVX512:
    case IDZ_KERNELS_AVX2:
        scatter_avx2(z, y, permutation, gaussian, count);
        return;
#endif
    default:
        scatter_portable(z, y, permutation, gaussian, count);
        return;
    }
}
