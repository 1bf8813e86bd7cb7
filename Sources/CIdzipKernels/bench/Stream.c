// STREAM-like memory kernels for `idzip bench`'s machine ceilings (McCalpin, "Memory
// Bandwidth and Machine Balance in Current High Performance Computers", 1995): plain loops
// the compiler may vectorise; they measure the memory system, not arithmetic.

#include "CIdzipKernels.h"

void idz_stream_copy(float *restrict destination, const float *restrict source, size_t count) {
    for (size_t i = 0; i < count; i++) destination[i] = source[i];
}

void idz_stream_triad(float *restrict a, const float *restrict b, const float *restrict c, float scalar, size_t count) {
    for (size_t i = 0; i < count; i++) a[i] = b[i] + scalar * c[i];
}
