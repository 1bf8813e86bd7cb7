// Float32 products with a row-compressed (CSR) copy of the sparse projection, for
// training (IdzipTraining's SparseRowsProjection). Plain loops, the same operations on
// every processor: float multiplications and additions in the order stated, never fused.

#include "CIdzipKernels.h"

#pragma STDC FP_CONTRACT OFF

void idz_sparse_project_rows(const uint32_t *offsets, const uint32_t *columns, const float *values,
                             size_t firstRow, size_t rowCount, const float *v, float *out) {
    for (size_t r = 0; r < rowCount; r++) {
        size_t row = firstRow + r;
        float sum = 0;
        for (uint32_t k = offsets[row]; k < offsets[row + 1]; k++) {
            float product = values[k] * v[columns[k]];
            sum += product;
        }
        out[r] = sum;
    }
}

void idz_sparse_accumulate_rows(const uint32_t *offsets, const uint32_t *columns, const float *values,
                                size_t firstRow, size_t rowCount, const float *g, float *sums) {
    for (size_t r = 0; r < rowCount; r++) {
        size_t row = firstRow + r;
        float gradient = g[r];
        for (uint32_t k = offsets[row]; k < offsets[row + 1]; k++) {
            float product = values[k] * gradient;
            sums[columns[k]] += product;
        }
    }
}
