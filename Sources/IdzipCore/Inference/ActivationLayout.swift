/// Memory order of a batch of [channels, height, width] activations.
package enum ActivationLayout: Sendable, Hashable {
    /// [batch, channels, height, width]: PyTorch's NCHW, how examples arrive.
    case exampleMajor
    /// [channels, batch, height, width]: what a batched convolution produces, so that one
    /// matrix product covers the whole batch.
    case channelMajor

    /// Offset of the plane of `channel` for `example` in a batch of `batch` examples.
    @inline(__always)
    package func planeOffset(channel: Int, example: Int, channels: Int, batch: Int, planeSize: Int) -> Int {
        switch self {
        case .exampleMajor: (example * channels + channel) * planeSize
        case .channelMajor: (channel * batch + example) * planeSize
        }
    }
}
