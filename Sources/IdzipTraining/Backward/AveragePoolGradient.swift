import IdzipCore

/// Backward passes of `AveragePoolKernel`.
package enum AveragePoolGradient {
    /// dx = dy / size^2 on every input of its window, 0 on the dropped edge; `inputGradient`
    /// (the input's shape and layout) is overwritten.
    package static func backward(
        _ shape: AveragePoolKernel.Shape, outputGradient: UnsafePointer<Float>, batch: Int,
        inputGradient: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let planes = shape.input.channels * batch
        let inPlane = shape.input.planeSize, outPlane = shape.output.planeSize
        let width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let size = shape.size
        let divisor = Float(size * size)
        WorkSplit(count: planes, grain: max(1, 16_384 / max(1, inPlane))).forEach(threads: threads) { range in
            for plane in range {
                let target = inputGradient + plane * inPlane
                var gradient = outputGradient + plane * outPlane
                target.update(repeating: 0, count: inPlane)
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let value = gradient[x] / divisor
                        let corner = target + y * size * width + x * size
                        for dy in 0..<size {
                            let line = corner + dy * width
                            for dx in 0..<size { line[dx] = value }
                        }
                    }
                    gradient += outWidth
                }
            }
        }
    }

    /// dx = dy[example, channel] / (H * W) on every number of the plane; `outputGradient`
    /// is [batch, C] rows, `inputGradient` the input's planes in `layout`, overwritten.
    package static func globalBackward(
        _ shape: ImageSize, layout: ActivationLayout, outputGradient: UnsafePointer<Float>, batch: Int,
        inputGradient: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let channels = shape.channels, planeSize = shape.planeSize
        let divisor = Float(max(1, planeSize))
        WorkSplit(count: batch * channels, grain: max(1, 16_384 / max(1, planeSize))).forEach(threads: threads) { range in
            for index in range {
                let example = index / channels, channel = index % channels
                let plane = inputGradient + layout.planeOffset(
                    channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                plane.update(repeating: outputGradient[index] / divisor, count: planeSize)
            }
        }
    }
}
