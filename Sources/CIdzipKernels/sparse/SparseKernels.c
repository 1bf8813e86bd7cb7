// Products with a row-compressed (CSR) copy of the sparse projection's cached nonzeros
// (IdzipTraining's SparseRowsProjection). The forward product adds the same double terms in
// the same order as SparseProjection's (Formats/idz-v1-projections.md, "Sparse"),
// so it gives its bits: plain loops, no reassociation, no fused operations.

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
