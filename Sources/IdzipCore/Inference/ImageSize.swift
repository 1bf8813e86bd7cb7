/// [channels, height, width] of one example's activation, as the layer kernels of format
/// version 3 take it (batch norm, strided convolution, average pooling, add, dropout).
/// The same numbers as `NetworkPlan.ImageShape`, with a package initialiser.
package struct ImageSize: Sendable, Hashable {
    package var channels: Int
    package var height: Int
    package var width: Int

    package init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    package init(_ shape: NetworkPlan.ImageShape) {
        self.init(channels: shape.channels, height: shape.height, width: shape.width)
    }

    /// H * W.
    package var planeSize: Int { height * width }
    /// C * H * W: numbers per example.
    package var count: Int { channels * height * width }
}
