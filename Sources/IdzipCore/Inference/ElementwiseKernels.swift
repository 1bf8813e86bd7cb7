/// ReLU and the flatten reordering.
package enum ElementwiseKernels {
    /// x = max(0, x) for `count` numbers.
    package static func reluInPlace(_ values: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        WorkSplit(count: count, grain: 65_536).forEach(threads: threads) { range in
            for i in range { values[i] = max(values[i], 0) }
        }
    }

    /// Channel-major [C, batch, H*W] to [batch, C*H*W] rows.
    package static func flattenChannelMajor(
        _ input: UnsafePointer<Float>, shape: NetworkPlan.ImageShape, batch: Int,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let plane = shape.planeSize, channels = shape.channels, rowLength = shape.count
        WorkSplit(count: batch, grain: max(1, 16_384 / max(1, rowLength))).forEach(threads: threads) { examples in
            for example in examples {
                for channel in 0..<channels {
                    (output + example * rowLength + channel * plane)
                        .update(from: input + (channel * batch + example) * plane, count: plane)
                }
            }
        }
    }

    /// The inverse of `flattenChannelMajor`: rows back to channel-major planes.
    package static func unflattenToChannelMajor(
        _ input: UnsafePointer<Float>, shape: NetworkPlan.ImageShape, batch: Int,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let plane = shape.planeSize, channels = shape.channels, rowLength = shape.count
        WorkSplit(count: batch, grain: max(1, 16_384 / max(1, rowLength))).forEach(threads: threads) { examples in
            for example in examples {
                for channel in 0..<channels {
                    (output + (channel * batch + example) * plane)
                        .update(from: input + example * rowLength + channel * plane, count: plane)
                }
            }
        }
    }
}
