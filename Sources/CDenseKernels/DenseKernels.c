// Float32 dense products: one generic-vector body compiled for AVX2 and the baseline
// instruction set, chosen at run time. See include/CDenseKernels.h.
#pragma clang fp contract(off)
#pragma clang diagnostic ignored "-Wgnu-statement-expression"

#include "CDenseKernels.h"

#include <string.h>

typedef float f8 __attribute__((ext_vector_type(8)));
typedef float f4 __attribute__((ext_vector_type(4)));
typedef float f2 __attribute__((ext_vector_type(2)));

// Unaligned loads and stores as macros, so no vector crosses a function boundary.
#define load8(p) ({ f8 x_; memcpy(&x_, (p), sizeof x_); x_; })
#define store8(p, x) do { f8 y_ = (x); memcpy((p), &y_, sizeof y_); } while (0)

#define SUFFIX portable
#define TARGET
#include "DenseKernelsBody.h"
#undef SUFFIX
#undef TARGET

#if defined(__x86_64__)
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2")))
#include "DenseKernelsBody.h"
#undef SUFFIX
#undef TARGET

static int hasAVX2(void) {
    static _Atomic int known = 0; // 0 unknown, 1 no, 2 yes
    int value = known;
    if (value == 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx2") ? 2 : 1;
        known = value;
    }
    return value == 2;
}
#endif

void idz_dense_project_rows(const float *m, size_t d, size_t rows, const float *v, float *out) {
#if defined(__x86_64__)
    if (hasAVX2()) {
        project_rows_avx2(m, d, rows, v, out);
        return;
    }
#endif
    project_rows_portable(m, d, rows, v, out);
}

void idz_dense_accumulate_rows(const float *m, size_t d, size_t rows, const float *g, float *sums) {
#if defined(__x86_64__)
    if (hasAVX2()) {
        accumulate_rows_avx2(m, d, rows, g, sums);
        return;
    }
#endif
    accumulate_rows_portable(m, d, rows, g, sums);
}
