/// Average pooling, forward passes: non-overlapping windows (PyTorch's `AvgPool2d(size)`,
/// stride = size, the edge that does not fill a window dropped) and global average pooling
/// (`AdaptiveAvgPool2d(1)` followed by `flatten`). The backward passes are IdzipTraining's
/// `AveragePoolGradient`.
package enum AveragePoolKernel {
    /// Non-overlapping size x size windows over [C, H, W] planes in `layout`.
    package struct Shape: Sendable, Hashable {
        package var input: ImageSize
        /// [C, floor(H / size), floor(W / size)].
        package var output: ImageSize
        package var size: Int
        package var layout: ActivationLayout

        /// Call with 1 <= size <= min(H, W).
        package init(input: ImageSize, size: Int, layout: ActivationLayout) {
            self.input = input
            self.size = size
            self.layout = layout
            output = ImageSize(channels: input.channels, height: input.height / max(1, size), width: input.width / max(1, size))
        }
    }

    /// output[plane][y, x] = (sum of the size x size window, in float32, row by row) / size^2,
    /// plane by plane, keeping the input's layout (`shape.layout`). One piece of work per
    /// group of planes, so results do not depend on the thread count.
    package static func forward(
        _ shape: Shape, input: UnsafePointer<Float>, batch: Int,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let planes = shape.input.channels * batch
        let inPlane = shape.input.planeSize, outPlane = shape.output.planeSize
        let width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let size = shape.size
        let divisor = Float(size * size)
        WorkSplit(count: planes, grain: max(1, 16_384 / max(1, inPlane))).forEach(threads: threads) { range in
            for plane in range {
                let source = input + plane * inPlane
                var target = output + plane * outPlane
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let corner = source + y * size * width + x * size
                        var total: Float = 0
                        for dy in 0..<size {
                            let line = corner + dy * width
                            for dx in 0..<size { total += line[dx] }
                        }
                        target[x] = total / divisor
                    }
                    target += outWidth
                }
            }
        }
    }

    /// [C, H, W] planes in `layout` to [batch, C] rows (example-major): each the mean of its
    /// plane, a float64 sum in a fixed order (`FixedOrderSum`) divided by H * W, rounded.
    package static func globalForward(
        _ shape: ImageSize, layout: ActivationLayout, input: UnsafePointer<Float>, batch: Int,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let channels = shape.channels, planeSize = shape.planeSize
        WorkSplit(count: batch * channels, grain: max(1, 16_384 / max(1, planeSize))).forEach(threads: threads) { range in
            for index in range {
                let example = index / channels, channel = index % channels
                let plane = input + layout.planeOffset(
                    channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                output[index] = Float(FixedOrderSum.sum(plane, count: planeSize) / Double(max(1, planeSize)))
            }
        }
    }
}
