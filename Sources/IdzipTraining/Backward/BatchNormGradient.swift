import IdzipCore

/// Backward pass of training-mode batch normalisation (`BatchNormKernel.trainingForward`;
/// Ioffe and Szegedy 2015, section 3, with the batch statistics differentiated).
///
/// With xhat = (x - mean) invstd over a channel's n = batch * planeSize numbers:
/// dbeta = sum dy, dgamma = sum dy xhat, and
/// dx = gamma invstd (dy - dbeta / n - xhat dgamma / n) (PyTorch's CPU formula).
/// The sums are float64 in a fixed order (`FixedOrderSum`), one channel per piece of work,
/// so results do not depend on the thread count.
package enum BatchNormGradient {
    /// - Parameters:
    ///   - input: the forward pass's input, `batch * shape.count` numbers in `shape.layout`.
    ///   - outputGradient: dL/dy, same shape and layout.
    ///   - saved: the 2 C numbers `trainingForward` wrote (means, then inverse deviations).
    ///   - gamma: C numbers.
    ///   - gammaGradient, betaGradient: C numbers each, overwritten.
    ///   - inputGradient: dL/dx (same shape and layout), overwritten when given; it may be
    ///     `outputGradient` itself, but not `input`.
    package static func backward(
        _ shape: BatchNormKernel.Shape, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, batch: Int,
        saved: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        gammaGradient: UnsafeMutablePointer<Float>, betaGradient: UnsafeMutablePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, threads: Int
    ) {
        let plane = shape.planeSize
        let n = Double(max(1, batch * plane))
        ParallelLoop.forEach(pieces: shape.channels, threads: threads) { channel in
            let mean = Double(saved[channel])
            let inverseDeviation = Double(saved[shape.channels + channel])
            var gradientSum = 0.0, projection = 0.0
            for example in 0..<batch {
                let offset = shape.planeOffset(channel: channel, example: example, batch: batch)
                gradientSum += FixedOrderSum.sum(outputGradient + offset, count: plane)
                projection += FixedOrderSum.dot(outputGradient + offset, input + offset, count: plane, center: mean)
            }
            betaGradient[channel] = Float(gradientSum)
            gammaGradient[channel] = Float(projection * inverseDeviation)
            guard let inputGradient else { return }
            // dx = a dy + b x + c.
            let a = Double(gamma[channel]) * inverseDeviation
            let b = -a * inverseDeviation * inverseDeviation * projection / n
            let c = -a * gradientSum / n - b * mean
            let fa = Float(a), fb = Float(b), fc = Float(c)
            let va = SIMD8<Float>(repeating: fa), vb = SIMD8<Float>(repeating: fb), vc = SIMD8<Float>(repeating: fc)
            for example in 0..<batch {
                let offset = shape.planeOffset(channel: channel, example: example, batch: batch)
                let dy = outputGradient + offset, x = input + offset, dx = inputGradient + offset
                var i = 0
                while i + 8 <= plane {
                    SIMDMemory.store(va * SIMDMemory.load(dy + i) + vb * SIMDMemory.load(x + i) + vc, dx + i)
                    i += 8
                }
                while i < plane {
                    dx[i] = fa * dy[i] + fb * x[i] + fc
                    i += 1
                }
            }
        }
    }
}
