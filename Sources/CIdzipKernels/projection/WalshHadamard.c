// The Walsh-Hadamard transform for every instruction set, and its dispatch.
#pragma clang fp contract(off)

#include "CIdzipKernels.h"
#include "../levels.h"
#include <string.h>

/// Floats in one tile that stays in the level-1 cache.
#define WALSH_HADAMARD_TILE ((size_t)4096)
/// Floats in the scratch that holds one strip of the large strides.
#define WALSH_HADAMARD_STRIP ((size_t)8192)
/// Passes a comma-separated list as one macro argument.
#define LIST(...) __VA_ARGS__

#define KERNEL_NAME(name) name##_portable
#define KERNEL_TARGET
#define LANES 4
#include "WalshHadamardBody.h"
#undef KERNEL_NAME
#undef KERNEL_TARGET
#undef LANES

// AVX-512 machines run the AVX2 kernels too: with 64-byte vectors on buffers that are
// only 16-byte aligned, nearly every load and store splits a cache line, and measured
// transforms were no faster (Zen 4 executes 512-bit operations as two 256-bit halves).
#if defined(__x86_64__)
#define KERNEL_NAME(name) name##_avx2
#define KERNEL_TARGET IDZ_TARGET_AVX2
#define LANES 8
#include "WalshHadamardBody.h"
#undef KERNEL_NAME
#undef KERNEL_TARGET
#undef LANES

#endif

size_t idz_walsh_hadamard_scratch_count(size_t count) {
    if (count <= WALSH_HADAMARD_TILE) return 0;
    size_t rows = count / WALSH_HADAMARD_TILE;
    // Strips are at least one vector (8 floats) wide.
    return rows * 8 > WALSH_HADAMARD_STRIP ? rows * 8 : WALSH_HADAMARD_STRIP;
}

/// The defining order, one butterfly at a time (for lengths below one vector).
static void walsh_hadamard_scalar(float *x, size_t count) {
    for (size_t h = 1; h < count; h <<= 1) {
        for (size_t i = 0; i < count; i++) {
            if (i & h) continue;
            float a = x[i], b = x[i + h];
            x[i] = a + b;
            x[i + h] = a - b;
        }
    }
}

void idz_walsh_hadamard(float *x, size_t count, float *scratch) {
    idz_walsh_hadamard_at_level(idz_kernels_level(), x, count, scratch);
}

void idz_walsh_hadamard_at_level(int level, float *x, size_t count, float *scratch) {
    switch (idz_kernels_supported(level)) {
#if defined(__x86_64__)
    case IDZ_KERNELS_AVX512:
    case IDZ_KERNELS_AVX2:
        if (count >= 8) {
            walsh_hadamard_avx2(x, count, scratch);
            return;
        }
        break;
#endif
    default:
        if (count >= 4) {
            walsh_hadamard_portable(x, count, scratch);
            return;
        }
        break;
    }
    walsh_hadamard_scalar(x, count);
}
