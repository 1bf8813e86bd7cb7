/// Batch normalisation (Ioffe and Szegedy 2015, section 3; PyTorch's `BatchNorm1d` and
/// `BatchNorm2d`) on a batch, forward passes. The backward pass is IdzipTraining's
/// `BatchNormGradient`.
///
/// Channel c's numbers are the `batch * planeSize` values of its planes: every example's
/// [H, W] plane for 2-D inputs (`planeSize = H * W`), one value per example for 1-D
/// [batch, C] rows (`planeSize = 1`, `layout = .exampleMajor`). Outputs keep the input's
/// layout.
///
/// Determinism: one piece of work per channel, and every per-channel sum is a float64 sum in
/// a fixed order (eight lanes over each plane, lanes added in order, planes in example
/// order), so results do not depend on the thread count.
package enum BatchNormKernel {
    /// The shape of one batch-normalised activation.
    package struct Shape: Sendable, Hashable {
        /// C.
        package var channels: Int
        /// H * W for a [C, H, W] input; 1 for a [C] input.
        package var planeSize: Int
        package var layout: ActivationLayout
        /// Added to the variance before the square root (PyTorch's default 1e-5).
        package var epsilon: Float
        /// Weight of the batch statistic in the running averages (PyTorch's default 0.1).
        package var momentum: Float

        package init(channels: Int, planeSize: Int, layout: ActivationLayout, epsilon: Float = 1e-5, momentum: Float = 0.1) {
            self.channels = channels
            self.planeSize = planeSize
            self.layout = layout
            self.epsilon = epsilon
            self.momentum = momentum
        }

        /// Numbers per example: C * planeSize.
        package var count: Int { channels * planeSize }

        /// Offset of the plane of (channel, example).
        @inline(__always)
        package func planeOffset(channel: Int, example: Int, batch: Int) -> Int {
            layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
        }
    }

    /// Training forward: normalises each channel with its batch mean and biased variance,
    /// y = gamma (x - mean) / sqrt(var + epsilon) + beta, computed as y = x a + b with
    /// a = gamma / sqrt(var + epsilon) and b = beta - mean a (PyTorch's CPU order).
    ///
    /// - Parameters:
    ///   - input, output: `batch * shape.count` numbers in `shape.layout`; may be the same
    ///     buffer.
    ///   - gamma, beta: C numbers each (the layer's `weight` and `bias`).
    ///   - saved: 2 C numbers written for the backward pass: the batch means (0..<C), then
    ///     1 / sqrt(var + epsilon) (C..<2C), both rounded from float64.
    ///   - runningMean, runningVariance: C numbers each, updated in place when given:
    ///     running = (1 - momentum) running + momentum statistic, in float64 then rounded,
    ///     with the mean and the UNBIASED variance var * n / (n - 1), n = batch * planeSize,
    ///     as PyTorch does. With n = 1 there is no unbiased variance; the biased one (0) is
    ///     used (PyTorch refuses that batch).
    ///   - relu: applies max(0, .) to the output (a following ReLU fused; its backward pass
    ///     is `ReluGradient` on this output, before `BatchNormGradient`, which reads only the
    ///     input and `saved`).
    package static func trainingForward(
        _ shape: Shape, input: UnsafePointer<Float>, batch: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, saved: UnsafeMutablePointer<Float>,
        runningMean: UnsafeMutablePointer<Float>?, runningVariance: UnsafeMutablePointer<Float>?,
        relu: Bool = false, threads: Int
    ) {
        let plane = shape.planeSize
        let n = batch * plane
        let momentum = Double(shape.momentum)
        ParallelLoop.forEach(pieces: shape.channels, threads: threads) { channel in
            var total = 0.0
            for example in 0..<batch {
                total += FixedOrderSum.sum(input + shape.planeOffset(channel: channel, example: example, batch: batch), count: plane)
            }
            let mean = total / Double(max(1, n))
            var squares = 0.0
            for example in 0..<batch {
                squares += FixedOrderSum.squaredDeviations(
                    input + shape.planeOffset(channel: channel, example: example, batch: batch), count: plane, from: mean)
            }
            let variance = squares / Double(max(1, n))
            let inverseDeviation = 1 / (variance + Double(shape.epsilon)).squareRoot()
            saved[channel] = Float(mean)
            saved[shape.channels + channel] = Float(inverseDeviation)
            let scale = Float(Double(gamma[channel]) * inverseDeviation)
            let shift = Float(Double(beta[channel]) - mean * Double(scale))
            for example in 0..<batch {
                let offset = shape.planeOffset(channel: channel, example: example, batch: batch)
                affine(input + offset, output + offset, count: plane, scale: scale, shift: shift, relu: relu)
            }
            if let runningMean {
                runningMean[channel] = Float((1 - momentum) * Double(runningMean[channel]) + momentum * mean)
            }
            if let runningVariance {
                let unbiased = n > 1 ? squares / Double(n - 1) : variance
                runningVariance[channel] = Float((1 - momentum) * Double(runningVariance[channel]) + momentum * unbiased)
            }
        }
    }

    /// Inference forward: y = x a + b with a = gamma / sqrt(runningVariance + epsilon) and
    /// b = beta - runningMean a (a and b from float64, rounded). `input` and `output` may be
    /// the same buffer; `relu` applies max(0, .) to the output.
    package static func inferenceForward(
        _ shape: Shape, input: UnsafePointer<Float>, batch: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVariance: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, relu: Bool = false, threads: Int
    ) {
        let plane = shape.planeSize
        ParallelLoop.forEach(pieces: shape.channels, threads: threads) { channel in
            let inverseDeviation = 1 / (Double(runningVariance[channel]) + Double(shape.epsilon)).squareRoot()
            let scale = Float(Double(gamma[channel]) * inverseDeviation)
            let shift = Float(Double(beta[channel]) - Double(runningMean[channel]) * Double(scale))
            for example in 0..<batch {
                let offset = shape.planeOffset(channel: channel, example: example, batch: batch)
                affine(input + offset, output + offset, count: plane, scale: scale, shift: shift, relu: relu)
            }
        }
    }

    /// target[i] = source[i] * scale + shift (one rounding for the product, one for the
    /// sum), then max(0, .) when `relu`.
    @inline(__always)
    static func affine(
        _ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float, relu: Bool
    ) {
        var i = 0
        let scales = SIMD8<Float>(repeating: scale), shifts = SIMD8<Float>(repeating: shift)
        let zero = SIMD8<Float>(repeating: 0)
        if relu {
            while i + 8 <= count {
                // replacing(with:where:) compiles to a compare and blend; pointwiseMax was a
                // generic call per vector in perf's profile of ResNet-20.
                let value = SIMDMemory.load(source + i) * scales + shifts
                SIMDMemory.store(value.replacing(with: zero, where: value .< zero), target + i)
                i += 8
            }
            while i < count {
                let value = source[i] * scale + shift
                target[i] = value < 0 ? 0 : value
                i += 1
            }
            return
        }
        while i + 8 <= count {
            SIMDMemory.store(SIMDMemory.load(source + i) * scales + shifts, target + i)
            i += 8
        }
        while i < count {
            target[i] = source[i] * scale + shift
            i += 1
        }
    }
}

/// Float64 sums of float32 numbers in a fixed order: eight lanes (lane j takes elements
/// j, j + 8, ...), the lanes added in order 0...7, then the tail in order. The same bits on
/// every run and thread count.
package enum FixedOrderSum {
    @inline(__always)
    package static func sum(_ values: UnsafePointer<Float>, count: Int) -> Double {
        var lanes = SIMD8<Double>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            lanes += widen(SIMDMemory.load(values + i))
            i += 8
        }
        var total = reduce(lanes)
        while i < count {
            total += Double(values[i])
            i += 1
        }
        return total
    }

    /// Sum of (x - center)^2, in float64.
    @inline(__always)
    package static func squaredDeviations(_ values: UnsafePointer<Float>, count: Int, from center: Double) -> Double {
        var lanes = SIMD8<Double>(repeating: 0)
        let centers = SIMD8<Double>(repeating: center)
        var i = 0
        while i + 8 <= count {
            let deviation = widen(SIMDMemory.load(values + i)) - centers
            lanes += deviation * deviation
            i += 8
        }
        var total = reduce(lanes)
        while i < count {
            let deviation = Double(values[i]) - center
            total += deviation * deviation
            i += 1
        }
        return total
    }

    /// Sum of a * (b - center), in float64.
    @inline(__always)
    package static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, center: Double) -> Double {
        var lanes = SIMD8<Double>(repeating: 0)
        let centers = SIMD8<Double>(repeating: center)
        var i = 0
        while i + 8 <= count {
            lanes += widen(SIMDMemory.load(a + i)) * (widen(SIMDMemory.load(b + i)) - centers)
            i += 8
        }
        var total = reduce(lanes)
        while i < count {
            total += Double(a[i]) * (Double(b[i]) - center)
            i += 1
        }
        return total
    }

    @inline(__always)
    static func widen(_ value: SIMD8<Float>) -> SIMD8<Double> {
        SIMD8<Double>(
            Double(value[0]), Double(value[1]), Double(value[2]), Double(value[3]),
            Double(value[4]), Double(value[5]), Double(value[6]), Double(value[7]))
    }

    /// Lanes added in order 0...7 (not `.sum()`, whose order is unspecified).
    @inline(__always)
    static func reduce(_ lanes: SIMD8<Double>) -> Double {
        var total = lanes[0]
        for j in 1..<8 { total += lanes[j] }
        return total
    }
}
