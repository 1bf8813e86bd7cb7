// The Fastfood permute-and-scale steps: one float multiplication per entry, so every
// instruction set gives the same bits.
#pragma clang fp contract(off)

#include "CIdzipKernels.h"
#include "../levels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static void gather_portable(float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count) {
    for (size_t k = 0; k < count; k++) y[k] = gaussian[k] * x[permutation[k]];
}

#if defined(__x86_64__)
IDZ_TARGET_AVX2
static void gather_avx2(float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count) {
    size_t k = 0;
    for (; k + 8 <= count; k += 8) {
        __m256i index = _mm256_loadu_si256((const __m256i *)(permutation + k));
        __m256 values = _mm256_i32gather_ps(x, index, 4);
        _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_loadu_ps(gaussian + k), values));
    }
    for (; k < count; k++) y[k] = gaussian[k] * x[permutation[k]];
}

IDZ_TARGET_AVX512
static void gather_avx512(float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count) {
    size_t k = 0;
    for (; k + 16 <= count; k += 16) {
        __m512i index = _mm512_loadu_si512((const void *)(permutation + k));
        __m512 values = _mm512_i32gather_ps(index, x, 4);
        _mm512_storeu_ps(y + k, _mm512_mul_ps(_mm512_loadu_ps(gaussian + k), values));
    }
    for (; k < count; k++) y[k] = gaussian[k] * x[permutation[k]];
}
#endif

void idz_fastfood_gather(float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count) {
    idz_fastfood_gather_at_level(idz_kernels_level(), y, x, permutation, gaussian, count);
}

void idz_fastfood_gather_at_level(
    int level, float *y, const float *x, const uint32_t *permutation, const float *gaussian,
    size_t count
) {
    // Indices must fit the signed 32-bit lanes of the gather instructions.
    if (count <= ((size_t)1 << 31)) {
        switch (idz_kernels_supported(level)) {
#if defined(__x86_64__)
        case IDZ_KERNELS_AVX512:
            gather_avx512(y, x, permutation, gaussian, count);
            return;
        case IDZ_KERNELS_AVX2:
            gather_avx2(y, x, permutation, gaussian, count);
            return;
#endif
        default:
            break;
        }
    }
    gather_portable(y, x, permutation, gaussian, count);
}

void idz_fastfood_scatter(float *z, const float *y, const uint32_t *permutation, const float *gaussian, size_t count) {
    for (size_t k = 0; k < count; k++) z[permutation[k]] = y[k] * gaussian[k];
}
