/// Padding of a 2D convolution.
public enum Padding: UInt8, Sendable, Hashable, CaseIterable {
    /// No padding: output = input - kernel + 1.
    case valid = 0
    /// Zero padding of (kernel - 1) / 2 on each side (odd kernels): output = input.
    case same = 1
}

/// One layer of a network. Tensors are laid out as in PyTorch: activations NCHW,
/// dense weights [out, in], convolution weights [out, in, kernel, kernel].
public enum Layer: Sendable, Hashable {
    /// y = W x + b on a rank-1 input.
    case dense(units: Int)
    /// Square kernel, stride 1, on a [channels, height, width] input.
    case conv2d(filters: Int, kernel: Int, padding: Padding)
    /// Non-overlapping max pooling (stride = size); a partial window at the edge is dropped.
    case maxPool(size: Int)
    case relu
    /// [C, H, W] -> [C * H * W], C-order.
    case flatten
    /// The paper's toy objective: one parameter vector of groups * size entries whose
    /// consecutive groups must sum to 1, 2, ..., groups. Takes no input.
    case toyGroupSum(groups: Int, size: Int)

    /// The stable name used in files and on the command line.
    public var typeName: String {
        switch self {
        case .dense: "dense"
        case .conv2d: "conv2d"
        case .maxPool: "maxpool"
        case .relu: "relu"
        case .flatten: "flatten"
        case .toyGroupSum: "toy"
        }
    }
}
