import IdzipCore

/// Backward pass of `AddKernel`: d(first + second)/d(first) = d(...)/d(second) = 1, so the
/// output gradient goes unchanged to both operands (call once per operand). Where an
/// activation feeds several layers (a residual block's input feeds the block and its
/// shortcut), the gradients of all its consumers add up: the first call overwrites
/// (`accumulate: false`), the later ones add (`accumulate: true`), in a fixed order of the
/// caller's choosing.
package enum AddGradient {
    /// target (op)= outputGradient, both `batch * shape.count` numbers, each in its layout.
    /// Each number is one copy or one float32 addition, so results do not depend on the
    /// thread count.
    package static func backward(
        _ shape: ImageSize, outputGradient: UnsafePointer<Float>, outputLayout: ActivationLayout, batch: Int,
        inputGradient: UnsafeMutablePointer<Float>, inputLayout: ActivationLayout, accumulate: Bool, threads: Int
    ) {
        let planeSize = shape.planeSize, channels = shape.channels
        @inline(__always) func move(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, count: Int) {
            if accumulate {
                SIMDMemory.add(source, into: target, count: count)
            } else {
                SIMDMemory.copy(source, target, count: count)
            }
        }
        if outputLayout == inputLayout || channels == 1 {
            WorkSplit(count: batch * shape.count, grain: 65_536).forEach(threads: threads) { range in
                move(outputGradient + range.lowerBound, inputGradient + range.lowerBound, count: range.count)
            }
            return
        }
        WorkSplit(count: batch * channels, grain: max(1, 16_384 / max(1, planeSize))).forEach(threads: threads) { range in
            for index in range {
                let example = index / channels, channel = index % channels
                func at(_ layout: ActivationLayout) -> Int {
                    layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                }
                move(outputGradient + at(outputLayout), inputGradient + at(inputLayout), count: planeSize)
            }
        }
    }
}
