/// Inverted dropout (Srivastava et al. 2014, section 10; PyTorch's `Dropout`): during
/// training each number is kept with probability 1 - rate and scaled by 1 / (1 - rate), or
/// set to 0; at inference the layer is the identity (nothing to call).
///
/// The mask is a pure function of a `RandomStream` and a start position, so a training
/// run is reproducible and the backward pass needs no stored mask: it is the same call on
/// the output gradient (dx = dy * mask), with the same stream and start.
///
/// Positions: the number of example e (0-based in the batch), channel c and in-plane index
/// p of an activation of `shape` uses position start + e * C*H*W + c * H*W + p of the
/// stream, whatever the layout: word w of that position (`RandomStream.word`), uniform
/// u = (w >> 8) * 2^-24 (`uniformFloat`); the number is kept when u >= rate. A layer's
/// mask for one batch therefore takes positions start ..< start + batch * C*H*W.
/// The caller fixes the stream (seed, purpose `StreamPurpose.dropout`, sub-stream) and the
/// start so that no two masks of a run share positions.
package enum DropoutKernel {
    /// output = input * mask, `batch * shape.count` numbers in `layout` (a [C] activation is
    /// `ImageSize(channels: C, height: 1, width: 1)` in `.exampleMajor`). `output` may be
    /// `input`. `rate` in 0..<1; with rate 0 every number is kept (copied).
    package static func apply(
        _ shape: ImageSize, layout: ActivationLayout, input: UnsafePointer<Float>, batch: Int,
        rate: Float, stream: RandomStream, start: UInt64,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let scale = 1 / (1 - rate)
        let planeSize = shape.planeSize, channels = shape.channels, count = shape.count
        if layout == .exampleMajor || channels == 1 {
            WorkSplit(count: batch * count, grain: 16_384).forEach(threads: threads) { range in
                maskRun(
                    input + range.lowerBound, output + range.lowerBound, count: range.count,
                    firstPosition: start &+ UInt64(range.lowerBound), stream: stream, rate: rate, scale: scale)
            }
            return
        }
        WorkSplit(count: batch * channels, grain: max(1, 16_384 / max(1, planeSize))).forEach(threads: threads) { range in
            for index in range {
                let example = index / channels, channel = index % channels
                let offset = layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                maskRun(
                    input + offset, output + offset, count: planeSize,
                    firstPosition: start &+ UInt64(example * count + channel * planeSize), stream: stream, rate: rate, scale: scale)
            }
        }
    }

    /// The mask of positions firstPosition ..< firstPosition + count, applied in order; one
    /// Philox block per four positions.
    @inline(__always)
    static func maskRun(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
        firstPosition: UInt64, stream: RandomStream, rate: Float, scale: Float
    ) {
        var i = 0
        while i < count {
            let position = firstPosition &+ UInt64(i)
            let words = stream.block(position >> 2)
            let lane = Int(position & 3)
            let available = min(4 - lane, count - i)
            for k in 0..<available {
                let word: UInt32
                switch lane + k {
                case 0: word = words.0
                case 1: word = words.1
                case 2: word = words.2
                default: word = words.3
                }
                let uniform = Float(word >> 8) * 0x1p-24
                output[i + k] = uniform >= rate ? input[i + k] * scale : 0
            }
            i += available
        }
    }
}
