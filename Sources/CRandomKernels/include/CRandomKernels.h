#ifndef C_RANDOM_KERNELS_H
#define C_RANDOM_KERNELS_H

// Bulk Philox4x32-10 and Box-Muller for idzip: lane by lane exactly the operations of the
// Swift scalar reference (RandomStream, PortableMath), so every path gives the same bits.
// A stream is (seed, substream, purpose): counter (index low, index high, substream,
// purpose), key (seed low, seed high). See Formats/idz-v1.md, "Randomness".

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels of the kernels. All give identical results.
enum {
    IDZ_RANDOM_KERNELS_AUTO = 0,
    IDZ_RANDOM_KERNELS_PORTABLE = 1,
    IDZ_RANDOM_KERNELS_AVX2 = 2,
    IDZ_RANDOM_KERNELS_AVX512 = 3,
};

/// The level in use: the best the processor supports, unless forced (by
/// idz_random_kernels_force, or at first use by the environment variable
/// IDZIP_RANDOM_KERNELS=portable, avx2 or avx512).
int idz_random_kernels_level(void);

/// Forces a level (AUTO restores the automatic choice); a level the processor lacks is
/// lowered to the best it has. Returns the level now in use.
int idz_random_kernels_force(int level);

/// Philox blocks first ..< first + count: words 0..3 of block first + i in out[4 i ..< 4 i + 4].
void idz_philox_blocks(uint64_t seed, uint32_t substream, uint32_t purpose,
                       uint64_t first, size_t count, uint32_t *out);

/// Normals 2 firstBlock ..< 2 (firstBlock + blockCount) of the stream (Box-Muller, cosine
/// for even, sine for odd positions), each multiplied by scale in double and rounded to
/// float. When squaredNorm is not NULL, adds (double)out[k] * (double)out[k] to it in
/// ascending k.
void idz_fill_float_normal_pairs(uint64_t seed, uint32_t substream, uint32_t purpose,
                                 uint64_t firstBlock, size_t blockCount, double scale,
                                 float *out, double *squaredNorm);

/// The same normals as doubles (unscaled).
void idz_fill_double_normal_pairs(uint64_t seed, uint32_t substream, uint32_t purpose,
                                  uint64_t firstBlock, size_t blockCount, double *out);

/// Fisher-Yates permutation of 0 ..< count (count <= 2^32): for k = count-1 down to 1,
/// swap entries k and the high 64 bits of (64-bit value count-1-k) * (k+1).
void idz_permutation(uint64_t seed, uint32_t substream, uint32_t purpose,
                     uint64_t count, uint32_t *out);

/// idz_permutation, and meanwhile adds (double)values[i] * (double)values[i] to
/// *squaredNorm for i = 0 ..< valueCount in ascending i (the same sum as summing after).
void idz_permutation_summing_squares(uint64_t seed, uint32_t substream, uint32_t purpose,
                                     uint64_t count, uint32_t *out,
                                     const float *values, size_t valueCount, double *squaredNorm);

#ifdef __cplusplus
}
#endif

#endif
