/// Padding of a 2D convolution.
public enum Padding: UInt8, Sendable, Hashable, CaseIterable {
    /// No padding: output = input - kernel + 1.
    case valid = 0
    /// Zero padding of (kernel - 1) / 2 on each side (odd kernels): output = input.
    case same = 1
}

/// A 2D convolution with stride, zero padding, groups and an optional bias, as PyTorch's
/// `nn.Conv2d(C, filters, kernel, stride, padding, groups=groups, bias=bias)` with an
/// integer padding (Formats/idz-v3.md section 3).
///
/// On a [C, H, W] input the output is [filters, floor((H + 2p - k) / s) + 1,
/// floor((W + 2p - k) / s) + 1]. The weight is [filters, C / groups, k, k] (he_normal with
/// fan_in = (C / groups) k^2, fan_out = (filters / groups) k^2), the bias [filters] (zeros).
public struct Convolution2D: Sendable, Hashable {
    /// Output channels, 1 to 2^24; a multiple of `groups`.
    public var filters: Int
    /// Square kernel size, 1 to 64.
    public var kernel: Int
    /// Step between windows in both directions, 1 to 64.
    public var stride: Int
    /// Zero padding on each side, 0 to 64 (PyTorch's integer `padding`).
    public var padding: Int
    /// 1 (an ordinary convolution) or the input channels (depthwise).
    public var groups: Int
    /// Whether the layer has a bias tensor.
    public var bias: Bool

    /// A convolution; `Architecture.outputShapes()` checks the ranges.
    public init(filters: Int, kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1, bias: Bool = true) {
        self.filters = filters
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.bias = bias
    }

    /// The version 1 `conv2d` layer as a convolution (stride 1, groups 1, with bias).
    public init(filters: Int, kernel: Int, padding: Padding) {
        self.init(filters: filters, kernel: kernel, stride: 1, padding: padding == .same ? (kernel - 1) / 2 : 0, groups: 1, bias: true)
    }
}

/// The activations beyond ReLU (which stays its own layer): elementwise, any shape.
/// Inference values need not be bit-identical across platforms (they use the C library's
/// `tanh`, `exp`, `erf`); weights are.
public enum Activation: Sendable, Hashable {
    /// x for x >= 0, slope * x otherwise (PyTorch `nn.LeakyReLU(slope)`, default 0.01).
    case leakyReLU(slope: Float)
    /// x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)) (PyTorch `nn.GELU()`, the erf form).
    case gelu
    /// tanh(x) (`nn.Tanh`).
    case tanh
    /// 1 / (1 + exp(-x)) (`nn.Sigmoid`).
    case sigmoid

    /// The stable name: "leaky_relu", "gelu", "tanh" or "sigmoid".
    public var name: String {
        switch self {
        case .leakyReLU: "leaky_relu"
        case .gelu: "gelu"
        case .tanh: "tanh"
        case .sigmoid: "sigmoid"
        }
    }
}

/// One layer of a network. Tensors are laid out as in PyTorch: activations NCHW,
/// dense weights [out, in], convolution weights [out, in / groups, kernel, kernel].
///
/// A layer reads the output of its source (`Architecture.sources`; by default the layer
/// before, or the network input for layer 0).
public enum Layer: Sendable, Hashable {
    /// y = W x + b on a rank-1 input.
    case dense(units: Int)
    /// Square kernel, stride 1, on a [channels, height, width] input (version 1).
    case conv2d(filters: Int, kernel: Int, padding: Padding)
    /// Non-overlapping max pooling (stride = size); a partial window at the edge is dropped.
    case maxPool(size: Int)
    case relu
    /// [C, H, W] -> [C * H * W], C-order.
    case flatten
    /// The paper's toy objective: one parameter vector of groups * size entries whose
    /// consecutive groups must sum to 1, 2, ..., groups. Takes no input.
    case toyGroupSum(groups: Int, size: Int)

    // Version 3 (Formats/idz-v3.md section 3).

    /// A convolution with stride, padding, groups and optional bias on [C, H, W].
    /// One that `conv2d` can express is canonicalised to it (`Layer.canonical`).
    case convolution(Convolution2D)
    /// Batch normalisation (Ioffe and Szegedy 2015) over the channels of [C, H, W]
    /// (PyTorch `BatchNorm2d`) or the features of [C] (`BatchNorm1d`):
    /// y = (x - mean) / sqrt(var + epsilon) * weight + bias. Training uses the batch's
    /// statistics (biased variance) and updates the running ones,
    /// running = (1 - momentum) running + momentum batch, with the unbiased variance
    /// n / (n - 1); inference uses the running statistics (buffers, not theta).
    /// Parameters weight [C] (`ones`) and bias [C] (zeros). PyTorch: epsilon 1e-5, momentum 0.1.
    case batchNorm(epsilon: Float, momentum: Float)
    /// Non-overlapping average pooling (stride = size); a partial window at the edge is
    /// dropped (PyTorch `AvgPool2d(size)`).
    case averagePool(size: Int)
    /// [C, H, W] -> [C], the mean of each channel (`AdaptiveAvgPool2d(1)` then flatten).
    case globalAveragePool
    /// The output of this layer's source plus the output of layer `other` (an earlier
    /// layer, or -1 for the network input), elementwise; the shapes must be equal.
    case add(other: Int)
    /// Inverted dropout: in training each entry is zeroed with probability `rate` (a Philox
    /// mask, `StreamPurpose.dropout`) and the rest scaled by 1 / (1 - rate); identity at
    /// inference. 0 <= rate < 1.
    case dropout(rate: Float)
    /// An elementwise activation other than ReLU.
    case activation(Activation)

    /// The stable name used in files and on the command line.
    public var typeName: String {
        switch self {
        case .dense: "dense"
        case .conv2d: "conv2d"
        case .maxPool: "maxpool"
        case .relu: "relu"
        case .flatten: "flatten"
        case .toyGroupSum: "toy"
        case .convolution: "convolution"
        case .batchNorm: "batchnorm"
        case .averagePool: "avgpool"
        case .globalAveragePool: "global_avgpool"
        case .add: "add"
        case .dropout: "dropout"
        case .activation(let activation): activation.name
        }
    }

    /// Whether only format version 3 can store this layer type.
    public var needsVersion3: Bool {
        switch self {
        case .dense, .conv2d, .maxPool, .relu, .flatten, .toyGroupSum: false
        case .convolution, .batchNorm, .averagePool, .globalAveragePool, .add, .dropout, .activation: true
        }
    }

    /// Whether the layer has parameter tensors (dense, convolutions, batch norm, toy).
    public var hasTensors: Bool {
        switch self {
        case .dense, .conv2d, .toyGroupSum, .convolution, .batchNorm: true
        case .maxPool, .relu, .flatten, .averagePool, .globalAveragePool, .add, .dropout, .activation: false
        }
    }

    /// The convolution this layer computes, for `conv2d` and `convolution`; nil otherwise.
    public var convolutionParameters: Convolution2D? {
        switch self {
        case .conv2d(let filters, let kernel, let padding): Convolution2D(filters: filters, kernel: kernel, padding: padding)
        case .convolution(let convolution): convolution
        default: nil
        }
    }

    /// The same layer in its canonical form: a `convolution` with stride 1, groups 1, a
    /// bias and padding 0 (or (k - 1) / 2 for an odd k > 1) becomes the version 1 `conv2d`
    /// (valid, or same); every other layer is itself. `Architecture.init` canonicalises.
    public var canonical: Layer {
        guard case .convolution(let c) = self, c.stride == 1, c.groups == 1, c.bias else { return self }
        if c.padding == 0 { return .conv2d(filters: c.filters, kernel: c.kernel, padding: .valid) }
        if c.kernel % 2 == 1, c.padding == (c.kernel - 1) / 2 { return .conv2d(filters: c.filters, kernel: c.kernel, padding: .same) }
        return self
    }

    /// PyTorch's default batch normalisation: epsilon 1e-5, momentum 0.1.
    public static let standardBatchNorm = Layer.batchNorm(epsilon: 1e-5, momentum: 0.1)
}
