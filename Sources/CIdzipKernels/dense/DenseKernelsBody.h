// One body per instruction set; DenseKernels.c includes it with SUFFIX and TARGET set.
#define NAME2(a, b) a##_##b
#define NAME(a, b) NAME2(a, b)

#ifndef HALF_ONLY
TARGET static void NAME(project_rows, SUFFIX)(const float *m, size_t d, size_t rows, const float *v, float *out) {
    size_t wide = d & ~(size_t)31;
    for (size_t r = 0; r < rows; r++) {
        const float *row = m + r * d;
        f8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (size_t j = 0; j < wide; j += 32) {
            a0 += load8(row + j) * load8(v + j);
            a1 += load8(row + j + 8) * load8(v + j + 8);
            a2 += load8(row + j + 16) * load8(v + j + 16);
            a3 += load8(row + j + 24) * load8(v + j + 24);
        }
        // Lanes 0...31 are a0, a1, a2, a3; w = 16, then w = 8, 4, 2, 1 within a0.
        a0 += a2;
        a1 += a3;
        a0 += a1;
        f4 h = a0.lo + a0.hi;
        f2 q = h.lo + h.hi;
        float s = q.x + q.y;
        for (size_t j = wide; j < d; j++) s += row[j] * v[j];
        out[r] = s;
    }
}

TARGET static void NAME(accumulate_rows, SUFFIX)(const float *m, size_t d, size_t rows, const float *g, float *sums) {
    size_t wide = d & ~(size_t)7;
    size_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        const float *r0 = m + i * d, *r1 = r0 + d, *r2 = r1 + d, *r3 = r2 + d;
        const float *r4 = r3 + d, *r5 = r4 + d, *r6 = r5 + d, *r7 = r6 + d;
        float g0 = g[i], g1 = g[i + 1], g2 = g[i + 2], g3 = g[i + 3];
        float g4 = g[i + 4], g5 = g[i + 5], g6 = g[i + 6], g7 = g[i + 7];
        for (size_t j = 0; j < wide; j += 8) {
            f8 s = load8(sums + j);
            s += load8(r0 + j) * g0;
            s += load8(r1 + j) * g1;
            s += load8(r2 + j) * g2;
            s += load8(r3 + j) * g3;
            s += load8(r4 + j) * g4;
            s += load8(r5 + j) * g5;
            s += load8(r6 + j) * g6;
            s += load8(r7 + j) * g7;
            store8(sums + j, s);
        }
        for (size_t j = wide; j < d; j++) {
            float s = sums[j];
            s += r0[j] * g0;
            s += r1[j] * g1;
            s += r2[j] * g2;
            s += r3[j] * g3;
            s += r4[j] * g4;
            s += r5[j] * g5;
            s += r6[j] * g6;
            s += r7[j] * g7;
            sums[j] = s;
        }
    }
    for (; i < rows; i++) {
        const float *row = m + i * d;
        float gi = g[i];
        for (size_t j = 0; j < d; j++) sums[j] += row[j] * gi;
    }
}

#endif

// The same two products over a matrix of binary16 entries, each widened exactly to float32
// (widen8) before the same float operations in the same order as above.
TARGET static void NAME(project_half_rows, SUFFIX)(const uint16_t *m, size_t d, size_t rows, const float *v, float *out) {
    size_t wide = d & ~(size_t)31;
    for (size_t r = 0; r < rows; r++) {
        const uint16_t *row = m + r * d;
        f8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (size_t j = 0; j < wide; j += 32) {
            a0 += loadh8(row + j) * load8(v + j);
            a1 += loadh8(row + j + 8) * load8(v + j + 8);
            a2 += loadh8(row + j + 16) * load8(v + j + 16);
            a3 += loadh8(row + j + 24) * load8(v + j + 24);
        }
        a0 += a2;
        a1 += a3;
        a0 += a1;
        f4 h = a0.lo + a0.hi;
        f2 q = h.lo + h.hi;
        float s = q.x + q.y;
        for (size_t j = wide; j < d; j++) s += idz_half_to_float(row[j]) * v[j];
        out[r] = s;
    }
}

TARGET static void NAME(accumulate_half_rows, SUFFIX)(const uint16_t *m, size_t d, size_t rows, const float *g, float *sums) {
    size_t wide = d & ~(size_t)7;
    size_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        const uint16_t *r0 = m + i * d, *r1 = r0 + d, *r2 = r1 + d, *r3 = r2 + d;
        const uint16_t *r4 = r3 + d, *r5 = r4 + d, *r6 = r5 + d, *r7 = r6 + d;
        float g0 = g[i], g1 = g[i + 1], g2 = g[i + 2], g3 = g[i + 3];
        float g4 = g[i + 4], g5 = g[i + 5], g6 = g[i + 6], g7 = g[i + 7];
        for (size_t j = 0; j < wide; j += 8) {
            f8 s = load8(sums + j);
            s += loadh8(r0 + j) * g0;
            s += loadh8(r1 + j) * g1;
            s += loadh8(r2 + j) * g2;
            s += loadh8(r3 + j) * g3;
            s += loadh8(r4 + j) * g4;
            s += loadh8(r5 + j) * g5;
            s += loadh8(r6 + j) * g6;
            s += loadh8(r7 + j) * g7;
            store8(sums + j, s);
        }
        for (size_t j = wide; j < d; j++) {
            float s = sums[j];
            s += idz_half_to_float(r0[j]) * g0;
            s += idz_half_to_float(r1[j]) * g1;
            s += idz_half_to_float(r2[j]) * g2;
            s += idz_half_to_float(r3[j]) * g3;
            s += idz_half_to_float(r4[j]) * g4;
            s += idz_half_to_float(r5[j]) * g5;
            s += idz_half_to_float(r6[j]) * g6;
            s += idz_half_to_float(r7[j]) * g7;
            sums[j] = s;
        }
    }
    for (; i < rows; i++) {
        const uint16_t *row = m + i * d;
        float gi = g[i];
        for (size_t j = 0; j < d; j++) sums[j] += idz_half_to_float(row[j]) * gi;
    }
}

#undef NAME
#undef NAME2
