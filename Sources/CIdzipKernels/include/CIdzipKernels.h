#ifndef C_IDZIP_KERNELS_H
#define C_IDZIP_KERNELS_H

// idzip's C kernels, one target for every family: bulk randomness (random/), the
// projections' transforms (projection/) and training's float32 dense products (dense/).
// Each family has portable, AVX2 and AVX-512 paths (a family without an AVX-512 kernel
// runs its AVX2 one at that level), chosen at run time by one level (cpu.c). Every level
// gives the same bits: the kernels do exact integer operations and IEEE float/double
// operations in a fixed order, never contracted into fused ones.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Levels (cpu.c)

/// Instruction-set levels, shared by every kernel family. AVX-512 means AVX512F, AVX512DQ
/// and AVX512VL together; AVX2 means AVX2.
enum {
    IDZ_KERNELS_AUTO = -1,
    IDZ_KERNELS_PORTABLE = 0,
    IDZ_KERNELS_AVX2 = 1,
    IDZ_KERNELS_AVX512 = 2,
};

/// The best level this processor supports (detected once).
int idz_kernels_best(void);

/// `level` lowered to the best supported one (a level below PORTABLE gives PORTABLE).
int idz_kernels_supported(int level);

/// The level every family uses: the level forced by idz_kernels_force, else the one the
/// environment requests (read once, see idz_kernels_requested), else the best; always
/// lowered to a supported one.
int idz_kernels_level(void);

/// Uses `level` from now on (AUTO: back to the environment's request or the best),
/// lowered to a supported one; returns the level now in use. Process-wide.
int idz_kernels_force(int level);

/// The level requested by the values of the environment variables IDZIP_KERNELS and its
/// older aliases IDZIP_RANDOM_KERNELS and IDZIP_PROJECTION_KERNELS (NULL when unset), each
/// "portable", "avx2" or "avx512": the first of the three, in that order, that names a
/// level wins; AUTO when none does (unknown names are ignored).
int idz_kernels_requested(const char *kernels, const char *randomAlias, const char *projectionAlias);

// MARK: Random (random/)
// Bulk Philox4x32-10 and Box-Muller: lane by lane exactly the operations of the Swift
// scalar reference (RandomStream, PortableMath). A stream is (seed, substream, purpose):
// counter (index low, index high, substream, purpose), key (seed low, seed high). See
// Formats/idz-v1.md, "Randomness".

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

// MARK: Projection (projection/)
// The Walsh-Hadamard transform and the Fastfood permutations: only float additions,
// subtractions and multiplications.

/// Floats of scratch idz_walsh_hadamard needs for `count` entries.
size_t idz_walsh_hadamard_scratch_count(size_t count);

/// The unnormalised Walsh-Hadamard transform of x[0 ..< count] in place (count a power of
/// two). The butterflies are reordered for the cache, but every element goes through the
/// operations of the defining stride order, so the bits equal the one-at-a-time definition.
void idz_walsh_hadamard(float *x, size_t count, float *scratch);

/// idz_walsh_hadamard with the kernels of `level` (lowered to a supported one).
void idz_walsh_hadamard_at_level(int level, float *x, size_t count, float *scratch);

/// y[k] = gaussian[k] * x[permutation[k]] for k < count.
void idz_fastfood_gather(
    float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count);

/// idz_fastfood_gather with the kernels of `level` (lowered to a supported one).
void idz_fastfood_gather_at_level(
    int level, float *y, const float *x, const uint32_t *permutation, const float *gaussian, size_t count);

/// The Fastfood sign diagonal B: destination[k] = s_k * (k < sourceCount ? source[k] : 0)
/// for k < count, s_k = -1 when bit k mod 32 of signWords[k / 32] is set, done by flipping
/// the float's sign bit (exact; the zero padding becomes +0 or -0). source may equal
/// destination; sourceCount <= count.
void idz_fastfood_sign_flip(
    const uint32_t *signWords, const float *source, size_t sourceCount, float *destination, size_t count);

/// idz_fastfood_sign_flip with the kernels of `level` (lowered to a supported one).
void idz_fastfood_sign_flip_at_level(
    int level, const uint32_t *signWords, const float *source, size_t sourceCount, float *destination, size_t count);

/// z[permutation[k]] = y[k] * gaussian[k] for k < count.
void idz_fastfood_scatter(
    float *z, const float *y, const uint32_t *permutation, const float *gaussian, size_t count);

/// idz_fastfood_scatter with the kernels of `level` (lowered to a supported one).
void idz_fastfood_scatter_at_level(
    int level, float *z, const float *y, const uint32_t *permutation, const float *gaussian, size_t count);

// MARK: Dense (dense/)
// Float32 products with a materialised row-major matrix (training's dense projection
// cache): every level does the same float operations in the same order, so results do
// not depend on the processor's vector width.

/// out[r] = sum_j m[r*d + j] v[j] for r in 0 ..< rows: products j mod 32 summed into 32
/// lanes in ascending j, the lanes added pairwise (lane l += lane l + w for w = 16, 8, 4, 2,
/// 1), then the last d mod 32 products in ascending j. Each row's result depends only on
/// that row and v.
void idz_dense_project_rows(const float *m, size_t d, size_t rows, const float *v, float *out);

/// idz_dense_project_rows with the kernels of `level` (lowered to a supported one).
void idz_dense_project_rows_at_level(int level, const float *m, size_t d, size_t rows, const float *v, float *out);

/// sums[j] += m[i*d + j] g[i] for i in 0 ..< rows ascending, for each j in 0 ..< d (one
/// float addition per row, in row order).
void idz_dense_accumulate_rows(const float *m, size_t d, size_t rows, const float *g, float *sums);

/// idz_dense_accumulate_rows with the kernels of `level` (lowered to a supported one).
void idz_dense_accumulate_rows_at_level(int level, const float *m, size_t d, size_t rows, const float *g, float *sums);

/// idz_dense_project_rows over a matrix of IEEE binary16 entries (bits), each widened
/// exactly to float32 first: the same float operations in the same order.
void idz_dense_project_half_rows_at_level(int level, const uint16_t *m, size_t d, size_t rows, const float *v, float *out);

/// idz_dense_accumulate_rows over a matrix of IEEE binary16 entries (bits), each widened
/// exactly to float32 first: the same float operations in the same order.
void idz_dense_accumulate_half_rows_at_level(int level, const uint16_t *m, size_t d, size_t rows, const float *g, float *sums);

/// The float32 value of the IEEE binary16 number with bits `h` (exact), as the kernels above
/// widen it.
float idz_half_to_float_scalar(uint16_t h);

// MARK: Convolution (convolution/Im2col.c)
// The im2col and col2im of the strided convolutions: copies, zeros and float additions in
// the reference's order, the same bits on every processor. A plane (channel c, example e)
// of a batch of `batch` examples starts at ((c batch + e) H W) when channelMajor is not 0,
// else at ((e channels + c) H W). Patch rows are in (channel, ki, kj) order; a patch row
// holds the output positions (example, y, x) of the examples firstExample ..<
// firstExample + exampleCount in that order. Output sides: outHeight = (height + 2 padding
// - kernel) / stride + 1, and the same for widths (the caller's; not checked here).

/// columns[row (c, ki, kj)][(e, y, x)] = input[c, e][y stride + ki - padding][x stride +
/// kj - padding], 0 outside the input; every entry of the channels * kernel^2 rows of
/// exampleCount * outHeight * outWidth numbers is written.
void idz_im2col(const float *input, int channelMajor, size_t channels, size_t batch, size_t height, size_t width,
                size_t kernel, size_t stride, size_t padding, size_t outHeight, size_t outWidth,
                size_t firstExample, size_t exampleCount, float *columns);

/// The adjoint of idz_im2col for the same examples: each of their planes of `output` is
/// zeroed, then every column entry is added onto the input position it was copied from
/// (zero-padding positions dropped), per example, channel, ki, kj, y, x in that order.
void idz_col2im(const float *columns, int channelMajor, size_t channels, size_t batch, size_t height, size_t width,
                size_t kernel, size_t stride, size_t padding, size_t outHeight, size_t outWidth,
                size_t firstExample, size_t exampleCount, float *output);

/// Copies example `example` of a batch (planes laid out as for idz_im2col) into `padded`:
/// channels planes of (height + 2 padding) x (width + 2 padding), zero outside the input.
void idz_conv_same_pad(const float *input, int channelMajor, size_t channels, size_t batch, size_t height,
                       size_t width, size_t padding, size_t example, float *padded);

/// A stride-1 convolution of one example whose output planes are as large as its input's
/// (odd kernel, padding (kernel - 1) / 2), read from idz_conv_same_pad's `padded` planes:
/// output[f filterStride + y width + x] = the sum over c, ki, kj IN THAT ORDER of
/// weight[((f channels + c) kernel + ki) kernel + kj] * padded[c][y + ki][x + kj], each term
/// added by one fused multiply-add onto a sum that starts at 0 (the rounding of a matrix
/// product of the weights and the im2col matrix with its inner loop in order). The same bits
/// on every level. filters * height * width numbers written.
void idz_conv_same(const float *padded, size_t channels, size_t height, size_t width, size_t kernel,
                   const float *weight, size_t filters, float *output, size_t filterStride);

/// idz_conv_same with the kernels of `level` (lowered to a supported one; the AVX2 level
/// needs FMA too, else the portable code runs).
void idz_conv_same_at_level(int level, const float *padded, size_t channels, size_t height, size_t width,
                            size_t kernel, const float *weight, size_t filters, float *output, size_t filterStride);

/// The weight gradient of one example of a 3 x 3, padding-1, stride-1 convolution whose
/// planes are a multiple of 16 wide, from idz_conv_same_pad's `padded` input (padding 1)
/// and the output gradient outputGradient[f filterStride + y width + x]: for each
/// weightGradient[((f channels + c) 3 + ki) 3 + kj], 16 lanes (lane l: the positions with
/// x mod 16 = l, in y then x order) each summed from 0 by fused multiply-adds
/// fma(dOut[f][y][x], padded[c][y + ki][x + kj], lane), then the lanes added in order 0..15;
/// the result is written (accumulate 0) or added to the entry (accumulate 1). The same bits
/// on every level.
void idz_conv3_same_weight_gradient(const float *padded, size_t channels, size_t height, size_t width,
                                    const float *outputGradient, size_t filters, size_t filterStride,
                                    float *weightGradient, int accumulate);

/// idz_conv3_same_weight_gradient with the kernels of `level` (lowered to a supported one;
/// the AVX2 level needs FMA too, else the portable code runs).
void idz_conv3_same_weight_gradient_at_level(int level, const float *padded, size_t channels, size_t height,
                                             size_t width, const float *outputGradient, size_t filters,
                                             size_t filterStride, float *weightGradient, int accumulate);

// MARK: Sparse (sparse/)
// Float32 products with training's row-compressed copy of the sparse projection
// (IdzipTraining's SparseRowsProjection): row r's nonzeros are k = offsets[r] ..< offsets[r + 1]
// in ascending column, each a code: the column in bits 0-30, bit 31 set for a negative sign.
// The column's scale is applied outside (forward: in the weights; transpose: to the sums).

/// out[r] = the float32 sum, starting at 0 and in ascending k, of +-weights[column of k] over
/// row firstRow + r's nonzeros, for r < rowCount.
void idz_sparse_project_rows(const uint32_t *offsets, const uint32_t *codes, const float *weights,
                             size_t firstRow, size_t rowCount, float *out);

/// sums[column of k] += +-g[r] for rows firstRow + r, r < rowCount ascending, each row's k
/// ascending (one float32 addition per nonzero, in that order).
void idz_sparse_accumulate_rows(const uint32_t *offsets, const uint32_t *codes,
                                size_t firstRow, size_t rowCount, const float *g, float *sums);

/// idz_sparse_project_rows (the same additions in the same order, so the same bits) as
/// one loop over the nonzeros, each added into out[its row - firstRow]: rowBits[k] is the low
/// 16 bits of nonzero k's row. Faster when rows hold few nonzeros. rowCount <= 65536.
void idz_sparse_project_flat(const uint32_t *offsets, const uint32_t *codes, const uint16_t *rowBits,
                             const float *weights, size_t firstRow, size_t rowCount, float *out);

/// idz_sparse_accumulate_rows (the same additions in the same order, so the same bits) as
/// one loop over the nonzeros, g read at [row - firstRow] from rowBits as above. rowCount <= 65536.
void idz_sparse_accumulate_flat(const uint32_t *offsets, const uint32_t *codes, const uint16_t *rowBits,
                                size_t firstRow, size_t rowCount, const float *g, float *sums);

// MARK: Machine ceilings (bench/Stream.c)
// STREAM-like kernels that `idzip bench` times to measure this machine's memory bandwidth.

/// destination[i] = source[i] for i < count (STREAM "copy": 8 bytes moved per element).
void idz_stream_copy(float *restrict destination, const float *restrict source, size_t count);

/// a[i] = b[i] + scalar * c[i] for i < count (STREAM "triad": 12 bytes moved per element).
void idz_stream_triad(float *restrict a, const float *restrict b, const float *restrict c, float scalar, size_t count);

// MARK: Output files (files/OutputFiles.c)

/// An unnamed temporary file in `directory` (Linux O_TMPFILE), open for writing with
/// permissions `mode`: a descriptor, or -1 with errno (EOPNOTSUPP where the file system or
/// system has none). Nothing is left on disk if the process dies before it is linked.
int idz_open_unnamed_temporary(const char *directory, unsigned mode);

/// Gives the unnamed temporary `fd` the name `path` (linkat). -1 with errno EEXIST when
/// `path` exists: link never replaces a file.
int idz_link_unnamed_temporary(int fd, const char *path);

/// 1 when idz_link_unnamed_temporary can work here (Linux with /proc mounted), else 0.
int idz_can_link_unnamed_temporaries(void);

/// Records a named temporary file that SIGINT, SIGTERM and SIGHUP remove (64 at a time):
/// its slot, or -1 when none is free or the path is too long.
int idz_temporary_register(const char *path);

/// Forgets the temporary of `slot` (after it was renamed or removed).
void idz_temporary_unregister(int slot);

/// Installs, once, handlers of SIGINT, SIGTERM and SIGHUP (unless ignored) that remove
/// every registered temporary, write `message` (if not NULL) to standard error on SIGINT,
/// and die of the same signal. `message` must stay valid; a later call replaces it.
void idz_temporary_install_handlers(const char *message);

/// Flushes C's standard output: 0, or the errno of a write that failed now or earlier
/// (EIO when none was recorded).
int idz_standard_output_flush(void);

/// Writes `text` to C's standard output (or standard error when `to_error` is not 0) and
/// flushes it; a failure is left for idz_standard_output_flush to report.
void idz_standard_stream_write(int to_error, const char *text);

#ifdef __cplusplus
}
#endif

#endif
