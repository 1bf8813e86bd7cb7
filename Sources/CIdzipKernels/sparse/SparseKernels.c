// Float32 products with training's row-compressed (CSR) copy of the sparse projection
// (IdzipTraining's SparseRowsProjection). Plain scalar loops, the same operations on every
// processor: float additions in the order stated, never fused or reordered. The sign of a
// nonzero is bit 31 of its code and is applied by flipping the float's sign bit (exact).

#include "CIdzipKernels.h"

#include <string.h>

#pragma STDC FP_CONTRACT OFF

static inline float idz_signed(float x, uint32_t code) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits ^= code & 0x80000000u;
    memcpy(&x, &bits, sizeof x);
    return x;
}

void idz_sparse_project_rows(const uint32_t *offsets, const uint32_t *codes, const float *weights,
                             size_t firstRow, size_t rowCount, float *out) {
    for (size_t r = 0; r < rowCount; r++) {
        size_t row = firstRow + r;
        float sum = 0;
        for (uint32_t k = offsets[row], end = offsets[row + 1]; k < end; k++) {
            uint32_t code = codes[k];
            sum += idz_signed(weights[code & 0x7fffffffu], code);
        }
        out[r] = sum;
    }
}

void idz_sparse_accumulate_rows(const uint32_t *offsets, const uint32_t *codes,
                                size_t firstRow, size_t rowCount, const float *g, float *sums) {
    for (size_t r = 0; r < rowCount; r++) {
        size_t row = firstRow + r;
        float value = g[r];
        for (uint32_t k = offsets[row], end = offsets[row + 1]; k < end; k++) {
            uint32_t code = codes[k];
            uint32_t column = code & 0x7fffffffu;
            sums[column] += idz_signed(value, code);
        }
    }
}

void idz_sparse_project_flat(const uint32_t *offsets, const uint32_t *codes, const uint16_t *rowBits,
                             const float *weights, size_t firstRow, size_t rowCount, float *out) {
    memset(out, 0, rowCount * sizeof(float));
    uint16_t low = (uint16_t)firstRow;
    for (uint32_t k = offsets[firstRow], end = offsets[firstRow + rowCount]; k < end; k++) {
        uint32_t code = codes[k];
        out[(uint16_t)(rowBits[k] - low)] += idz_signed(weights[code & 0x7fffffffu], code);
    }
}

void idz_sparse_accumulate_flat(const uint32_t *offsets, const uint32_t *codes, const uint16_t *rowBits,
                                size_t firstRow, size_t rowCount, const float *g, float *sums) {
    uint16_t low = (uint16_t)firstRow;
    for (uint32_t k = offsets[firstRow], end = offsets[firstRow + rowCount]; k < end; k++) {
        uint32_t code = codes[k];
        sums[code & 0x7fffffffu] += idz_signed(g[(uint16_t)(rowBits[k] - low)], code);
    }
}
