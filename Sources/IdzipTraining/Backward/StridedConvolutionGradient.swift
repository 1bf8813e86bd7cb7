import IdzipCore

/// Backward pass of `StridedConvolutionKernel` (strides, zero padding, groups, optional bias).
package enum StridedConvolutionGradient {
    /// Per group g: dW_g = dOut_g columns_g^T, and, when `inputGradient` is given,
    /// dColumns_g = W_g^T dOut_g, scattered back onto the input by `col2im`; db = row sums
    /// of dOut when `shape.bias`. Products run over `examplesPerProduct` examples at a time
    /// and accumulate in a fixed order.
    ///
    /// - Parameters:
    ///   - outputGradient: dL/dOut, channel-major [filters, batch, outH, outW].
    ///   - columns: what `forward` multiplied (`im2col` of the input, or the input itself
    ///     when `shape.columnsAreInput`).
    ///   - weightGradient: `shape.weightCount` numbers, overwritten.
    ///   - biasGradient: `filters` numbers, overwritten when `shape.bias`.
    ///   - columnGradient: scratch of `patchSize * batch * outH * outW` numbers; not used
    ///     (may be nil) when `shape.columnsAreInput`.
    ///   - inputGradient: dL/dInput in `shape.inputLayout`, overwritten when given.
    package static func backward(
        _ shape: StridedConvolutionKernel.Shape, outputGradient: UnsafePointer<Float>, columns: UnsafePointer<Float>,
        batch: Int, weight: UnsafePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?,
        columnGradient: UnsafeMutablePointer<Float>?, inputGradient: UnsafeMutablePointer<Float>?, threads: Int
    ) {
        let plane = shape.output.planeSize
        let columnCount = batch * plane
        let groupFilters = shape.groupFilters, groupPatch = shape.groupPatchSize
        let chunk = shape.examplesPerProduct
        for group in 0..<shape.groups {
            var first = 0
            while first < batch {
                let offset = first * plane
                Gemm.multiply(
                    transposeA: false, transposeB: true, m: groupFilters, n: groupPatch, k: min(chunk, batch - first) * plane,
                    a: outputGradient + group * groupFilters * columnCount + offset, lda: columnCount,
                    b: columns + group * groupPatch * columnCount + offset, ldb: columnCount,
                    beta: first == 0 ? 0 : 1, c: weightGradient + group * groupFilters * groupPatch, ldc: groupPatch)
                first += chunk
            }
        }
        if shape.bias, let biasGradient {
            ParallelLoop.forEach(pieces: shape.output.channels, threads: threads) { filter in
                biasGradient[filter] = VectorSum.sum(outputGradient + filter * columnCount, count: columnCount)
            }
        }
        guard let inputGradient else { return }
        let target = shape.columnsAreInput ? inputGradient : columnGradient!
        for group in 0..<shape.groups {
            var first = 0
            while first < batch {
                let offset = first * plane
                Gemm.multiply(
                    transposeA: true, transposeB: false, m: groupPatch, n: min(chunk, batch - first) * plane, k: groupFilters,
                    a: weight + group * groupFilters * groupPatch, lda: groupPatch,
                    b: outputGradient + group * groupFilters * columnCount + offset, ldb: columnCount, beta: 0,
                    c: target + group * groupPatch * columnCount + offset, ldc: columnCount)
                first += chunk
            }
        }
        if !shape.columnsAreInput {
            col2im(shape, columns: target, batch: batch, output: inputGradient, threads: threads)
        }
    }

    /// Adds every column entry back onto the input position it was copied from (zero-padding
    /// positions are dropped); one piece per input channel, so no two threads touch the same
    /// numbers, and within a channel the order is fixed (ki, kj, example, y, x).
    package static func col2im(
        _ shape: StridedConvolutionKernel.Shape, columns: UnsafePointer<Float>, batch: Int,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let channels = shape.input.channels
        let height = shape.input.height, width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let kernel = shape.kernel, pad = shape.padding, stride = shape.stride
        let columnCount = batch * outHeight * outWidth
        let planeSize = height * width
        let layout = shape.inputLayout
        ParallelLoop.forEach(pieces: channels, threads: threads) { channel in
            for example in 0..<batch {
                let plane = output + layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                plane.update(repeating: 0, count: planeSize)
            }
            for ki in 0..<kernel {
                let ys = shape.validRange(offset: ki, side: height, outSide: outHeight)
                for kj in 0..<kernel {
                    let row = (channel * kernel + ki) * kernel + kj
                    let xs = shape.validRange(offset: kj, side: width, outSide: outWidth)
                    guard !xs.isEmpty, !ys.isEmpty else { continue }
                    let rowStart = columns + row * columnCount
                    for example in 0..<batch {
                        let plane = output + layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                        let source = rowStart + example * outHeight * outWidth
                        for y in ys {
                            let line = plane + (y * stride + ki - pad) * width + (kj - pad)
                            let values = source + y * outWidth
                            if stride == 1 {
                                SIMDMemory.add(values + xs.lowerBound, into: line + xs.lowerBound, count: xs.count)
                            } else {
                                for x in xs { line[x * stride] += values[x] }
                            }
                        }
                    }
                }
            }
        }
    }
}
