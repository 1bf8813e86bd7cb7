// Float32 dense products: one generic-vector body compiled for AVX2 and the baseline
// instruction set, chosen at run time by the kernels' level (cpu.c; the AVX-512 level runs
// the AVX2 body: 8-float vectors, the same operations). See include/CIdzipKernels.h.
#pragma clang fp contract(off)
#pragma clang diagnostic ignored "-Wgnu-statement-expression"

#include "CIdzipKernels.h"
#include "../levels.h"

#include <string.h>

typedef float f8 __attribute__((ext_vector_type(8)));
typedef float f4 __attribute__((ext_vector_type(4)));
typedef float f2 __attribute__((ext_vector_type(2)));

typedef uint16_t h8 __attribute__((ext_vector_type(8)));
typedef uint32_t u8 __attribute__((ext_vector_type(8)));

// Unaligned loads and stores as macros, so no vector crosses a function boundary.
#define load8(p) ({ f8 x_; memcpy(&x_, (p), sizeof x_); x_; })
#define store8(p, x) do { f8 y_ = (x); memcpy((p), &y_, sizeof y_); } while (0)

// Eight binary16 values widened to float32, exactly: the magnitude's bits moved into a
// float's exponent and fraction (13 places up) and multiplied by 2^112 (the difference of
// the biases; exact, subnormal halves included, as IEEE multiplication of a float by a power
// of two in range is), then the sign bit set. Integer operations and one exact
// multiplication: the same bits on every level (idz_half_to_float is the scalar form).
#define loadh8(p) ({ \
    h8 h_; memcpy(&h_, (p), sizeof h_); \
    u8 x_ = __builtin_convertvector(h_, u8); \
    f8 f_ = (f8)((x_ & 0x7fffu) << 13) * 0x1p112f; \
    (f8)((u8)f_ | ((x_ & 0x8000u) << 16)); })

static inline float idz_half_to_float(uint16_t h) {
    uint32_t magnitude = (uint32_t)(h & 0x7fffu) << 13, bits;
    float f;
    memcpy(&f, &magnitude, sizeof f);
    f *= 0x1p112f;
    memcpy(&bits, &f, sizeof bits);
    bits |= (uint32_t)(h & 0x8000u) << 16;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#define SUFFIX portable
#define TARGET
#include "DenseKernelsBody.h"
#undef SUFFIX
#undef TARGET

#if defined(__x86_64__)
#define SUFFIX avx2
#define TARGET IDZ_TARGET_AVX2
#include "DenseKernelsBody.h"
#undef SUFFIX
#undef TARGET

// The binary16 products once more with the F16C conversion instruction (exact, like the
// integer widening above, so the same bits), used at the AVX2 and AVX-512 levels where the
// processor has F16C.
typedef _Float16 hf8 __attribute__((ext_vector_type(8)));
#undef loadh8
#define loadh8(p) ({ hf8 h_; memcpy(&h_, (p), sizeof h_); __builtin_convertvector(h_, f8); })
#define HALF_ONLY
#define SUFFIX f16c
#define TARGET __attribute__((target("avx2,f16c")))
#include "DenseKernelsBody.h"
#undef SUFFIX
#undef TARGET
#undef HALF_ONLY

static int has_f16c(void) {
    static _Atomic int known = -1;
    int value = known;
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("f16c") ? 1 : 0;
        known = value;
    }
    return value;
}
#endif

void idz_dense_project_rows(const float *m, size_t d, size_t rows, const float *v, float *out) {
    idz_dense_project_rows_at_level(idz_kernels_level(), m, d, rows, v, out);
}

void idz_dense_project_rows_at_level(int level, const float *m, size_t d, size_t rows, const float *v, float *out) {
    switch (idz_kernels_supported(level)) {
#if defined(__x86_64__)
    case IDZ_KERNELS_AVX512:
    case IDZ_KERNELS_AVX2:
        project_rows_avx2(m, d, rows, v, out);
        return;
#endif
    default:
        project_rows_portable(m, d, rows, v, out);
        return;
    }
}

void idz_dense_accumulate_rows(const float *m, size_t d, size_t rows, const float *g, float *sums) {
    idz_dense_accumulate_rows_at_level(idz_kernels_level(), m, d, rows, g, sums);
}

void idz_dense_accumulate_rows_at_level(int level, const float *m, size_t d, size_t rows, const float *g, float *sums) {
    switch (idz_kernels_supported(level)) {
#if defined(__x86_64__)
    case IDZ_KERNELS_AVX512:
    case IDZ_KERNELS_AVX2:
        accumulate_rows_avx2(m, d, rows, g, sums);
        return;
#endif
    default:
        accumulate_rows_portable(m, d, rows, g, sums);
        return;
    }
}

float idz_half_to_float_scalar(uint16_t h) { return idz_half_to_float(h); }

void idz_dense_project_half_rows_at_level(int level, const uint16_t *m, size_t d, size_t rows, const float *v, float *out) {
    switch (idz_kernels_supported(level)) {
#if defined(__x86_64__)
    case IDZ_KERNELS_AVX512:
    case IDZ_KERNELS_AVX2:
        if (has_f16c()) project_half_rows_f16c(m, d, rows, v, out);
        else project_half_rows_avx2(m, d, rows, v, out);
        return;
#endif
    default:
        project_half_rows_portable(m, d, rows, v, out);
        return;
    }
}

void idz_dense_accumulate_half_rows_at_level(int level, const uint16_t *m, size_t d, size_t rows, const float *g, float *sums) {
    switch (idz_kernels_supported(level)) {
#if defined(__x86_64__)
    case IDZ_KERNELS_AVX512:
    case IDZ_KERNELS_AVX2:
        if (has_f16c()) accumulate_half_rows_f16c(m, d, rows, g, sums);
        else accumulate_half_rows_avx2(m, d, rows, g, sums);
        return;
#endif
    default:
        accumulate_half_rows_portable(m, d, rows, g, sums);
        return;
    }
}
