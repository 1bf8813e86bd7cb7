import IdzipCore

/// Backward pass of the batched im2col convolution.
enum ConvolutionGradient {
    /// dW = dOut columns^T, db = row sums of dOut, and, when `inputGradient` is given,
    /// dColumns = W^T dOut scattered back onto the input (col2im). Products run over
    /// `examplesPerProduct` examples at a time; dW is accumulated transposed in
    /// `weightScratch` (patchSize x filters), the faster form for these shapes.
    static func backward(
        _ shape: NetworkPlan.Convolution, outputGradient: UnsafePointer<Float>, columns: UnsafePointer<Float>, batch: Int,
        weight: UnsafePointer<Float>, weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
        weightScratch: UnsafeMutablePointer<Float>, columnGradient: UnsafeMutablePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, threads: Int
    ) {
        let filters = shape.output.channels
        let plane = shape.output.planeSize
        let columnCount = batch * plane
        let patch = shape.patchSize
        let chunk = shape.examplesPerProduct
        var first = 0
        while first < batch {
            let offset = first * plane
            Gemm.multiply(
                transposeA: false, transposeB: true, m: patch, n: filters, k: min(chunk, batch - first) * plane,
                a: columns + offset, lda: columnCount, b: outputGradient + offset, ldb: columnCount,
                beta: first == 0 ? 0 : 1, c: weightScratch, ldc: filters)
            first += chunk
        }
        for filter in 0..<filters {
            for row in 0..<patch { weightGradient[filter * patch + row] = weightScratch[row * filters + filter] }
        }
        ParallelLoop.forEach(pieces: filters, threads: threads) { filter in
            biasGradient[filter] = VectorSum.sum(outputGradient + filter * columnCount, count: columnCount)
        }
        guard let inputGradient else { return }
        first = 0
        while first < batch {
            let offset = first * plane
            Gemm.multiply(
                transposeA: true, transposeB: false, m: patch, n: min(chunk, batch - first) * plane, k: filters,
                a: weight, lda: patch, b: outputGradient + offset, ldb: columnCount, beta: 0,
                c: columnGradient + offset, ldc: columnCount)
            first += chunk
        }
        col2im(shape, columns: columnGradient, batch: batch, output: inputGradient, threads: threads)
    }

    /// Adds every column entry back onto the input position it was copied from; one piece
    /// per input channel, so no two threads touch the same numbers.
    static func col2im(
        _ shape: NetworkPlan.Convolution, columns: UnsafePointer<Float>, batch: Int,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let channels = shape.input.channels
        let height = shape.input.height, width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let kernel = shape.kernel, pad = shape.padding
        let columnCount = batch * outHeight * outWidth
        let planeSize = height * width
        let layout = shape.inputLayout
        ParallelLoop.forEach(pieces: channels, threads: threads) { channel in
            for example in 0..<batch {
                let plane = output + layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                plane.update(repeating: 0, count: planeSize)
            }
            for ki in 0..<kernel {
                for kj in 0..<kernel {
                    let row = (channel * kernel + ki) * kernel + kj
                    let firstX = max(0, pad - kj)
                    let endX = min(outWidth, width + pad - kj)
                    guard firstX < endX else { continue }
                    var source = columns + row * columnCount
                    for example in 0..<batch {
                        let plane = output + layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                        for y in 0..<outHeight {
                            let targetY = y + ki - pad
                            if targetY >= 0 && targetY < height {
                                let target = plane + targetY * width + (kj - pad)
                                SIMDMemory.add(source + firstX, into: target + firstX, count: endX - firstX)
                            }
                            source += outWidth
                        }
                    }
                }
            }
        }
    }
}
