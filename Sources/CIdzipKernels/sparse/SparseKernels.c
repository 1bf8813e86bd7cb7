// Products with a row-compressed (CSR) copy of the sparse projection's cached nonzeros
// (IdzipTraining's SparseRowsProjection). They add the same double terms in the same order
// as the chunked products of SparseProjection (Formats/idz-v1-projections.md, "Sparse"),
// so they give its bits: plain loops, no reassociation, no fused operations.

#include "CIdzipKernels.h"

#pragma STDC FP_CONTRACT OFF

void idz_sparse_project_rows(const uint32_t *offsets, const uint32_t *codes, const double *weights,
                             size_t firstRow, size_t rowCount, float *out) {
    for (size_t r = 0; r < rowCount; r++) {
        size_t row = firstRow + r;
        double sum = 0;
        for (uint32_t k = offsets[row]; k < offsets[row + 1]; k++) {
            uint32_t code = codes[k];
            double w = weights[code >> 1];
            sum += (code & 1) ? -w : w;
        }
        out[r] = (float)sum;
    }
}

void idz_sparse_accumulate_columns(const uint32_t *offsets, const uint32_t *codes, size_t rowCount,
                                   const float *g, uint32_t firstColumn, uint32_t endColumn, double *sums) {
    for (size_t row = 0; row < rowCount; row++) {
        uint32_t start = offsets[row], end = offsets[row + 1];
        if (start == end) continue;
        double value = (double)g[row];
        for (uint32_t k = start; k < end; k++) {
            uint32_t column = codes[k] >> 1;
            if (column < firstColumn) continue;
            if (column >= endColumn) break;  // a row's columns ascend
            sums[column - firstColumn] += (codes[k] & 1) ? -value : value;
        }
    }
}
