#ifndef C_PROJECTION_KERNELS_H
#define C_PROJECTION_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Instruction sets the kernels can run on. Every level gives the same bits: the kernels
/// only add, subtract and multiply floats, never contract them into fused operations.
typedef enum {
    IDZ_KERNEL_LEVEL_PORTABLE = 0,
    IDZ_KERNEL_LEVEL_AVX2 = 1,
    IDZ_KERNEL_LEVEL_AVX512 = 2,
} idz_kernel_level;

/// The best level this processor supports.
idz_kernel_level idz_kernel_best_level(void);

/// The level in use: the best one, or a lower one named by the environment variable
/// IDZIP_PROJECTION_KERNELS (portable, avx2 or avx512), read once.
idz_kernel_level idz_kernel_level_in_use(void);

/// `level`, lowered to the best supported one.
idz_kernel_level idz_kernel_supported(idz_kernel_level level);

/// Floats of scratch idz_walsh_hadamard needs for `count` entries.
size_t idz_walsh_hadamard_scratch_count(size_t count);

/// The unnormalised Walsh-Hadamard transform of x[0 ..< count] in place (count a power of
/// two). The butterflies are reordered for the cache, but every element goes through the
/// operations of the defining stride order, so the bits equal the one-at-a-time definition.
void idz_walsh_hadamard(float *x, size_t count, float *scratch);

/// idz_walsh_hadamard with the kernels of `level` (lowered to a supported one).
void idz_walsh_hadamard_at_level(idz_kernel_level level, float *x, size_t count, float *scratch);

/// y[k] = gaussian[k] * x[permutation[k]] for k < count.
void idz_fastfood_gather(
    float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count);

/// idz_fastfood_gather with the kernels of `level` (lowered to a supported one).
void idz_fastfood_gather_at_level(
    idz_kernel_level level, float *y, const float *x, const uint32_t *permutation, const float *gaussian,
    size_t count);

/// z[permutation[k]] = y[k] * gaussian[k] for k < count.
void idz_fastfood_scatter(
    float *z, const float *y, const uint32_t *permutation, const float *gaussian, size_t count);

#endif
