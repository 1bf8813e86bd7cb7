import IdzipCore

/// Backward pass of max pooling: each window's gradient goes to its first largest input,
/// found by the same scan as the forward pass.
enum MaxPoolGradient {
    static func backward(
        _ shape: NetworkPlan.Pooling, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, batch: Int,
        inputGradient: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let planes = shape.input.channels * batch
        let inPlane = shape.input.planeSize, outPlane = shape.output.planeSize
        let width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let size = shape.size
        WorkSplit(count: planes, grain: max(1, 16_384 / max(1, inPlane))).forEach(threads: threads) { range in
            for plane in range {
                let source = input + plane * inPlane
                let target = inputGradient + plane * inPlane
                var gradient = outputGradient + plane * outPlane
                target.update(repeating: 0, count: inPlane)
                if size == 2 {
                    for y in 0..<outHeight {
                        let top = 2 * y * width, bottom = top + width
                        for x in 0..<outWidth {
                            var bestIndex = top + 2 * x
                            var best = source[bestIndex]
                            if source[top + 2 * x + 1] > best { bestIndex = top + 2 * x + 1; best = source[bestIndex] }
                            if source[bottom + 2 * x] > best { bestIndex = bottom + 2 * x; best = source[bestIndex] }
                            if source[bottom + 2 * x + 1] > best { bestIndex = bottom + 2 * x + 1 }
                            target[bestIndex] = gradient[x]
                        }
                        gradient += outWidth
                    }
                    continue
                }
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let cornerIndex = y * size * width + x * size
                        var bestIndex = cornerIndex
                        var best = source[cornerIndex]
                        for dy in 0..<size {
                            let lineIndex = cornerIndex + dy * width
                            for dx in 0..<size where source[lineIndex + dx] > best {
                                best = source[lineIndex + dx]
                                bestIndex = lineIndex + dx
                            }
                        }
                        target[bestIndex] = gradient[x]
                    }
                    gradient += outWidth
                }
            }
        }
    }
}
