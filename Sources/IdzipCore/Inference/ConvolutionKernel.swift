/// Forward pass of a stride-1 2D convolution on a batch, as im2col and one matrix product.
package enum ConvolutionKernel {
    /// Fills `columns`, a [patchSize, batch * outH * outW] matrix whose row (c, ki, kj)
    /// holds input[c, y + ki - pad, x + kj - pad] (zero outside) for every output position.
    package static func im2col(
        _ shape: NetworkPlan.Convolution, input: UnsafePointer<Float>, batch: Int,
        columns: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let channels = shape.input.channels
        let height = shape.input.height, width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let kernel = shape.kernel, pad = shape.padding
        let columnCount = batch * outHeight * outWidth
        let planeSize = height * width
        let layout = shape.inputLayout
        ParallelLoop.forEach(pieces: shape.patchSize, threads: threads) { row in
            let channel = row / (kernel * kernel)
            let ki = (row / kernel) % kernel
            let kj = row % kernel
            let firstX = max(0, pad - kj)
            let endX = min(outWidth, width + pad - kj)
            var target = columns + row * columnCount
            for example in 0..<batch {
                let plane = input + layout.planeOffset(
                    channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                for y in 0..<outHeight {
                    let sourceY = y + ki - pad
                    // Rows are short, so inline vector copies beat memcpy calls.
                    if sourceY < 0 || sourceY >= height || firstX >= endX {
                        for x in 0..<outWidth { target[x] = 0 }
                    } else {
                        let source = plane + sourceY * width + (kj - pad)
                        for x in 0..<firstX { target[x] = 0 }
                        SIMDMemory.copy(source + firstX, target + firstX, count: endX - firstX)
                        for x in endX..<outWidth { target[x] = 0 }
                    }
                    target += outWidth
                }
            }
        }
    }

    /// output[filters, batch * outH * outW] (channel-major) = W columns + b, then max(0, .)
    /// when `relu`. `columns` must hold `im2col` of the input.
    package static func forward(
        _ shape: NetworkPlan.Convolution, columns: UnsafePointer<Float>, batch: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, relu: Bool,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let filters = shape.output.channels
        let columnCount = batch * shape.output.planeSize
        let chunk = shape.examplesPerProduct
        var first = 0
        while first < batch {
            let offset = first * shape.output.planeSize
            let width = min(chunk, batch - first) * shape.output.planeSize
            Gemm.multiply(
                transposeA: false, transposeB: false, m: filters, n: width, k: shape.patchSize,
                a: weight, lda: shape.patchSize, b: columns + offset, ldb: columnCount, beta: 0,
                c: output + offset, ldc: columnCount)
            first += chunk
        }
        let split = WorkSplit(count: filters * columnCount, grain: 32_768)
        split.forEach(threads: threads) { range in
            var index = range.lowerBound
            while index < range.upperBound {
                let filter = index / columnCount
                let end = min(range.upperBound, (filter + 1) * columnCount)
                let value = bias[filter]
                if relu {
                    for i in index..<end { output[i] = max(output[i] + value, 0) }
                } else {
                    for i in index..<end { output[i] += value }
                }
                index = end
            }
        }
    }
}
