// im2col and col2im of the strided convolutions (IdzipCore's StridedConvolutionKernel,
// IdzipTraining's StridedConvolutionGradient). Copies, zeros and float additions in the
// order the Swift reference states, so the same bits as that reference on every
// processor; no instruction-set levels (the copies are memcpy and memset).
//
// The fast path: a stride-1 convolution whose output rows are as long as its input rows
// (a k x k window with padding (k - 1) / 2 on each side, as ResNet's 3 x 3, padding 1) copies
// each patch row's valid rows of a plane as ONE contiguous span (consecutive output rows
// read consecutive input rows) and then zeroes the few border entries that span covered,
// instead of one short copy per output row.

#include "CIdzipKernels.h"

#include <string.h>

#pragma STDC FP_CONTRACT OFF

/// Output positions x (0 <= x < outSide) with 0 <= x stride + offset - padding < side: the
/// half-open range [*first, *end) (empty when *first == *end).
static inline void idz_valid_range(size_t offset, size_t side, size_t outSide, size_t stride, size_t padding,
                                   size_t *first, size_t *end) {
    ptrdiff_t low = (ptrdiff_t)padding - (ptrdiff_t)offset;
    size_t f = low <= 0 ? 0 : ((size_t)low + stride - 1) / stride;
    ptrdiff_t high = (ptrdiff_t)side - 1 + (ptrdiff_t)padding - (ptrdiff_t)offset;
    size_t e = 0;
    if (high >= 0) {
        e = (size_t)high / stride + 1;
        if (e > outSide) e = outSide;
    }
    if (f > outSide) f = outSide;
    *first = f;
    *end = e < f ? f : e;
}

static inline size_t idz_plane_offset(int channelMajor, size_t channel, size_t example, size_t channels,
                                      size_t batch, size_t planeSize) {
    return channelMajor ? (channel * batch + example) * planeSize : (example * channels + channel) * planeSize;
}

/// One output plane ([outHeight, outWidth]) of patch row (ki, kj) from one input plane,
/// rows ys = [y0, y1), columns xs = [x0, x1) valid.
static void idz_im2col_plane(const float *restrict plane, float *restrict target, size_t width,
                             size_t outHeight, size_t outWidth, size_t ki, size_t kj, size_t stride,
                             size_t padding, size_t y0, size_t y1, size_t x0, size_t x1) {
    if (y0 == y1 || x0 == x1) {
        memset(target, 0, outHeight * outWidth * sizeof(float));
        return;
    }
    memset(target, 0, y0 * outWidth * sizeof(float));
    memset(target + y1 * outWidth, 0, (outHeight - y1) * outWidth * sizeof(float));
    if (stride == 1 && outWidth == width) {
        // Output row y reads input row y + ki - padding from column x0 + kj - padding on:
        // rows y0..<y1 are one span of the input, copied at once; the entries of the span
        // outside [x0, x1) of each row are zeroed after it.
        const float *source = plane + (y0 + ki - padding) * width + (x0 + kj - padding);
        size_t count = (y1 - 1 - y0) * outWidth + (x1 - x0);
        memcpy(target + y0 * outWidth + x0, source, count * sizeof(float));
        if (x0 > 0 || x1 < outWidth) {
            for (size_t y = y0; y < y1; y++) {
                float *row = target + y * outWidth;
                for (size_t x = 0; x < x0; x++) row[x] = 0;
                for (size_t x = x1; x < outWidth; x++) row[x] = 0;
            }
        }
        return;
    }
    for (size_t y = y0; y < y1; y++) {
        float *row = target + y * outWidth;
        // Input column x stride + kj - padding of this line (>= 0 for x in [x0, x1)).
        const float *line = plane + (y * stride + ki - padding) * width;
        for (size_t x = 0; x < x0; x++) row[x] = 0;
        if (stride == 1) {
            memcpy(row + x0, line + (x0 + kj - padding), (x1 - x0) * sizeof(float));
        } else if (stride == 2) {
            for (size_t x = x0; x < x1; x++) row[x] = line[2 * x + kj - padding];
        } else {
            for (size_t x = x0; x < x1; x++) row[x] = line[x * stride + kj - padding];
        }
        for (size_t x = x1; x < outWidth; x++) row[x] = 0;
    }
}

void idz_im2col(const float *input, int channelMajor, size_t channels, size_t batch, size_t height, size_t width,
                size_t kernel, size_t stride, size_t padding, size_t outHeight, size_t outWidth,
                size_t firstExample, size_t exampleCount, float *columns) {
    size_t planeSize = height * width, outPlane = outHeight * outWidth;
    float *target = columns;
    for (size_t channel = 0; channel < channels; channel++) {
        for (size_t ki = 0; ki < kernel; ki++) {
            size_t y0, y1;
            idz_valid_range(ki, height, outHeight, stride, padding, &y0, &y1);
            for (size_t kj = 0; kj < kernel; kj++) {
                size_t x0, x1;
                idz_valid_range(kj, width, outWidth, stride, padding, &x0, &x1);
                for (size_t e = 0; e < exampleCount; e++) {
                    const float *plane = input + idz_plane_offset(channelMajor, channel, firstExample + e, channels,
                                                                  batch, planeSize);
                    idz_im2col_plane(plane, target, width, outHeight, outWidth, ki, kj, stride, padding, y0, y1, x0, x1);
                    target += outPlane;
                }
            }
        }
    }
}

void idz_col2im(const float *columns, int channelMajor, size_t channels, size_t batch, size_t height, size_t width,
                size_t kernel, size_t stride, size_t padding, size_t outHeight, size_t outWidth,
                size_t firstExample, size_t exampleCount, float *output) {
    size_t planeSize = height * width, outPlane = outHeight * outWidth;
    size_t rowLength = exampleCount * outPlane;
    for (size_t e = 0; e < exampleCount; e++) {
        for (size_t channel = 0; channel < channels; channel++) {
            float *restrict plane = output + idz_plane_offset(channelMajor, channel, firstExample + e, channels,
                                                              batch, planeSize);
            memset(plane, 0, planeSize * sizeof(float));
            for (size_t ki = 0; ki < kernel; ki++) {
                size_t y0, y1;
                idz_valid_range(ki, height, outHeight, stride, padding, &y0, &y1);
                for (size_t kj = 0; kj < kernel; kj++) {
                    size_t x0, x1;
                    idz_valid_range(kj, width, outWidth, stride, padding, &x0, &x1);
                    if (x0 == x1 || y0 == y1) continue;
                    const float *restrict source =
                        columns + ((channel * kernel + ki) * kernel + kj) * rowLength + e * outPlane;
                    for (size_t y = y0; y < y1; y++) {
                        float *restrict line = plane + (y * stride + ki - padding) * width;
                        const float *restrict values = source + y * outWidth;
                        if (stride == 1) {
                            float *restrict shifted = line + (x0 + kj - padding);
                            for (size_t x = 0; x < x1 - x0; x++) shifted[x] += values[x0 + x];
                        } else if (stride == 2) {
                            for (size_t x = x0; x < x1; x++) line[2 * x + kj - padding] += values[x];
                        } else {
                            for (size_t x = x0; x < x1; x++) line[x * stride + kj - padding] += values[x];
                        }
                    }
                }
            }
        }
    }
}
