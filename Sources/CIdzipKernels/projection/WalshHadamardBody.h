// The blocked Walsh-Hadamard transform, included once per instruction set by
// WalshHadamard.c with these macros defined:
//   KERNEL_NAME(name)  the name with the level's suffix
//   KERNEL_TARGET      the function attribute selecting the instruction set (or nothing)
//   LANES              floats per vector (4 or 8)
// Only additions and subtractions of floats, so no contraction can change the bits.

typedef float KERNEL_NAME(vector) __attribute__((vector_size(LANES * 4)));
#define VECTOR KERNEL_NAME(vector)

KERNEL_TARGET static inline __attribute__((always_inline)) VECTOR KERNEL_NAME(load)(const float *p) {
    VECTOR v;
    memcpy(&v, p, sizeof v);
    return v;
}

KERNEL_TARGET static inline __attribute__((always_inline)) void KERNEL_NAME(store)(float *p, VECTOR v) {
    memcpy(p, &v, sizeof v);
}

/// One butterfly stride inside every vector: partner is v with the lanes of each pair
/// swapped; lower lanes take v + partner (a + b), upper lanes partner - v (a - b).
#define IN_VECTOR_STRIDE(v, swap, pick) \
    do { \
        VECTOR partner = __builtin_shufflevector(v, v, swap); \
        v = __builtin_shufflevector(v + partner, partner - v, pick); \
    } while (0)

/// Strides 1, 2, ..., LANES/2 on each group of LANES floats (count a multiple of LANES),
/// in that order, each butterfly with the lower index as first operand.
KERNEL_TARGET static void KERNEL_NAME(small_strides)(float *base, size_t count) {
    for (size_t offset = 0; offset < count; offset += LANES) {
        VECTOR v = KERNEL_NAME(load)(base + offset);
#if LANES == 4
        IN_VECTOR_STRIDE(v, LIST(1, 0, 3, 2), LIST(0, 5, 2, 7));
        IN_VECTOR_STRIDE(v, LIST(2, 3, 0, 1), LIST(0, 1, 6, 7));
#elif LANES == 8
        IN_VECTOR_STRIDE(v, LIST(1, 0, 3, 2, 5, 4, 7, 6), LIST(0, 9, 2, 11, 4, 13, 6, 15));
        IN_VECTOR_STRIDE(v, LIST(2, 3, 0, 1, 6, 7, 4, 5), LIST(0, 1, 10, 11, 4, 5, 14, 15));
        IN_VECTOR_STRIDE(v, LIST(4, 5, 6, 7, 0, 1, 2, 3), LIST(0, 1, 2, 3, 12, 13, 14, 15));
#else
#error "LANES must be 4 or 8"
#endif
        KERNEL_NAME(store)(base + offset, v);
    }
}

#undef IN_VECTOR_STRIDE

/// Copies `count` floats (a multiple of LANES) without a library call (strips are short).
KERNEL_TARGET static inline __attribute__((always_inline)) void KERNEL_NAME(copy)(
    float *target, const float *source, size_t count) {
    for (size_t i = 0; i < count; i += LANES) KERNEL_NAME(store)(target + i, KERNEL_NAME(load)(source + i));
}

/// Butterflies of strides first_stride, 2 first_stride, ..., count/2 over `count`
/// contiguous floats; first_stride is a power of two >= LANES. Three strides per pass
/// while they fit, then two or one.
KERNEL_TARGET static void KERNEL_NAME(butterflies)(float *base, size_t count, size_t first_stride) {
    size_t h = first_stride;
    for (; h * 8 <= count; h *= 8) {
        for (size_t start = 0; start < count; start += 8 * h) {
            for (size_t i = 0; i < h; i += LANES) {
                float *q = base + start + i;
                VECTOR a0 = KERNEL_NAME(load)(q), a1 = KERNEL_NAME(load)(q + h);
                VECTOR a2 = KERNEL_NAME(load)(q + 2 * h), a3 = KERNEL_NAME(load)(q + 3 * h);
                VECTOR a4 = KERNEL_NAME(load)(q + 4 * h), a5 = KERNEL_NAME(load)(q + 5 * h);
                VECTOR a6 = KERNEL_NAME(load)(q + 6 * h), a7 = KERNEL_NAME(load)(q + 7 * h);
                // Stride h.
                VECTOR b0 = a0 + a1, b1 = a0 - a1, b2 = a2 + a3, b3 = a2 - a3;
                VECTOR b4 = a4 + a5, b5 = a4 - a5, b6 = a6 + a7, b7 = a6 - a7;
                // Stride 2h.
                VECTOR c0 = b0 + b2, c2 = b0 - b2, c1 = b1 + b3, c3 = b1 - b3;
                VECTOR c4 = b4 + b6, c6 = b4 - b6, c5 = b5 + b7, c7 = b5 - b7;
                // Stride 4h.
                KERNEL_NAME(store)(q, c0 + c4);
                KERNEL_NAME(store)(q + h, c1 + c5);
                KERNEL_NAME(store)(q + 2 * h, c2 + c6);
                KERNEL_NAME(store)(q + 3 * h, c3 + c7);
                KERNEL_NAME(store)(q + 4 * h, c0 - c4);
                KERNEL_NAME(store)(q + 5 * h, c1 - c5);
                KERNEL_NAME(store)(q + 6 * h, c2 - c6);
                KERNEL_NAME(store)(q + 7 * h, c3 - c7);
            }
        }
    }
    if (h * 4 <= count) {
        for (size_t start = 0; start < count; start += 4 * h) {
            for (size_t i = 0; i < h; i += LANES) {
                float *q = base + start + i;
                VECTOR a0 = KERNEL_NAME(load)(q), a1 = KERNEL_NAME(load)(q + h);
                VECTOR a2 = KERNEL_NAME(load)(q + 2 * h), a3 = KERNEL_NAME(load)(q + 3 * h);
                VECTOR b0 = a0 + a1, b1 = a0 - a1, b2 = a2 + a3, b3 = a2 - a3;
                KERNEL_NAME(store)(q, b0 + b2);
                KERNEL_NAME(store)(q + h, b1 + b3);
                KERNEL_NAME(store)(q + 2 * h, b0 - b2);
                KERNEL_NAME(store)(q + 3 * h, b1 - b3);
            }
        }
        h *= 4;
    }
    if (h * 2 <= count) {
        for (size_t i = 0; i < h; i += LANES) {
            VECTOR a = KERNEL_NAME(load)(base + i), b = KERNEL_NAME(load)(base + h + i);
            KERNEL_NAME(store)(base + i, a + b);
            KERNEL_NAME(store)(base + h + i, a - b);
        }
    }
}

/// The transform of count >= LANES floats: all strides below the tile length tile by tile
/// (in the level-1 cache), then the larger strides, which act on the rows of the
/// (count / tile) x tile matrix independently for every column. With more than 8 rows, a
/// strip of columns is copied into contiguous scratch, where the row strides become
/// strides strip_width, 2 strip_width, ... (and do not collide in the cache).
KERNEL_TARGET static void KERNEL_NAME(walsh_hadamard)(float *base, size_t count, float *scratch) {
    size_t tile = count < WALSH_HADAMARD_TILE ? count : WALSH_HADAMARD_TILE;
    for (size_t start = 0; start < count; start += tile) {
        KERNEL_NAME(small_strides)(base + start, tile);
        KERNEL_NAME(butterflies)(base + start, tile, LANES);
    }
    if (count <= tile) return;
    size_t rows = count / tile;
    if (rows <= 8) {
        KERNEL_NAME(butterflies)(base, count, tile);
        return;
    }
    size_t width = WALSH_HADAMARD_STRIP / rows;
    if (width > tile) width = tile;
    if (width < LANES) width = LANES;
    for (size_t column = 0; column < tile; column += width) {
        for (size_t row = 0; row < rows; row++) KERNEL_NAME(copy)(scratch + row * width, base + row * tile + column, width);
        KERNEL_NAME(butterflies)(scratch, rows * width, width);
        for (size_t row = 0; row < rows; row++) KERNEL_NAME(copy)(base + row * tile + column, scratch + row * width, width);
    }
}

#undef VECTOR
