/// Elementwise sum of two activations of the same shape: the merge of a residual block
/// (He et al. 2016, section 3.2: y = F(x) + x). The operands and the output may each be in
/// either layout. The backward pass is IdzipTraining's `AddGradient`.
package enum AddKernel {
    /// output = first + second, `batch * shape.count` numbers each, every one in its own
    /// layout (a [C] activation is `ImageSize(channels: C, height: 1, width: 1)` in
    /// `.exampleMajor`). `output` may be either operand's buffer when it has that operand's
    /// layout. Each output number is one float32 addition, so results do not depend on the
    /// thread count. `relu` applies max(0, .) to the sum (the ReLU that ends a residual
    /// block, fused; its backward pass is `ReluGradient` on this output, then `AddGradient`).
    package static func forward(
        _ shape: ImageSize, first: UnsafePointer<Float>, firstLayout: ActivationLayout,
        second: UnsafePointer<Float>, secondLayout: ActivationLayout, batch: Int,
        output: UnsafeMutablePointer<Float>, outputLayout: ActivationLayout, relu: Bool = false, threads: Int
    ) {
        let planeSize = shape.planeSize, channels = shape.channels
        // One channel: both layouts are the same order.
        if (firstLayout == outputLayout && secondLayout == outputLayout) || channels == 1 {
            WorkSplit(count: batch * shape.count, grain: 65_536).forEach(threads: threads) { range in
                add(first + range.lowerBound, second + range.lowerBound, output + range.lowerBound, count: range.count, relu: relu)
            }
            return
        }
        WorkSplit(count: batch * channels, grain: max(1, 16_384 / max(1, planeSize))).forEach(threads: threads) { range in
            for index in range {
                let example = index / channels, channel = index % channels
                func at(_ layout: ActivationLayout) -> Int {
                    layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                }
                add(first + at(firstLayout), second + at(secondLayout), output + at(outputLayout), count: planeSize, relu: relu)
            }
        }
    }

    @inline(__always)
    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, count: Int, relu: Bool) {
        var i = 0
        if relu {
            let zero = SIMD8<Float>(repeating: 0)
            while i + 8 <= count {
                let value = SIMDMemory.load(a + i) + SIMDMemory.load(b + i)
                SIMDMemory.store(value.replacing(with: zero, where: value .< zero), c + i)
                i += 8
            }
            while i < count {
                let value = a[i] + b[i]
                c[i] = value < 0 ? 0 : value
                i += 1
            }
            return
        }
        while i + 8 <= count {
            SIMDMemory.store(SIMDMemory.load(a + i) + SIMDMemory.load(b + i), c + i)
            i += 8
        }
        while i < count {
            c[i] = a[i] + b[i]
            i += 1
        }
    }
}
