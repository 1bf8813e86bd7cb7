#ifndef C_DENSE_KERNELS_H
#define C_DENSE_KERNELS_H

// Float32 products with a materialised row-major matrix (training's dense projection
// cache). Every instruction-set path does the same float operations in the same order
// (no fused multiply-add), so results do not depend on the processor's vector width.

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// out[r] = sum_j m[r*d + j] v[j] for r in 0 ..< rows: products j mod 32 summed into 32
/// lanes in ascending j, the lanes added pairwise (lane l += lane l + w for w = 16, 8, 4, 2,
/// 1), then the last d mod 32 products in ascending j. Each row's result depends only on
/// that row and v.
void idz_dense_project_rows(const float *m, size_t d, size_t rows, const float *v, float *out);

/// sums[j] += m[i*d + j] g[i] for i in 0 ..< rows ascending, for each j in 0 ..< d (one
/// float addition per row, in row order).
void idz_dense_accumulate_rows(const float *m, size_t d, size_t rows, const float *g, float *sums);

#ifdef __cplusplus
}
#endif

#endif
