/// Non-overlapping max pooling, plane by plane, keeping the input's layout.
package enum MaxPoolKernel {
    package static func forward(
        _ shape: NetworkPlan.Pooling, input: UnsafePointer<Float>, batch: Int,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        // Both layouts store planes contiguously, in the same plane order for input and output.
        let planes = shape.input.channels * batch
        let inPlane = shape.input.planeSize, outPlane = shape.output.planeSize
        let width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let size = shape.size
        let split = WorkSplit(count: planes, grain: max(1, 16_384 / max(1, inPlane)))
        split.forEach(threads: threads) { range in
            for plane in range {
                let source = input + plane * inPlane
                var target = output + plane * outPlane
                if size == 2 {
                    for y in 0..<outHeight {
                        let top = source + 2 * y * width, bottom = top + width
                        for x in 0..<outWidth {
                            // The same comparisons, in the same order, as the general loop.
                            var best = top[2 * x]
                            if top[2 * x + 1] > best { best = top[2 * x + 1] }
                            if bottom[2 * x] > best { best = bottom[2 * x] }
                            if bottom[2 * x + 1] > best { best = bottom[2 * x + 1] }
                            target[x] = best
                        }
                        target += outWidth
                    }
                    continue
                }
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let corner = source + y * size * width + x * size
                        var best = corner[0]
                        for dy in 0..<size {
                            let line = corner + dy * width
                            for dx in 0..<size where line[dx] > best { best = line[dx] }
                        }
                        target[x] = best
                    }
                    target += outWidth
                }
            }
        }
    }
}
