/// A network: the shape of one input example and the layers applied to it.
///
/// The parameter vector theta is the concatenation, in layer order, of each layer's
/// weight and then its bias, each flattened in C order.
public struct Architecture: Sendable, Hashable {
    /// Shape of one example without the batch dimension: [features] or [channels, height, width].
    public var inputShape: [Int]
    /// The layers in order (spec section 6 lists the rules they must follow).
    public var layers: [Layer]

    /// An architecture from its parts; `parameterTensors()` and `IdzFile` check the rules.
    public init(inputShape: [Int], layers: [Layer]) {
        self.inputShape = inputShape
        self.layers = layers
    }

    /// A fully connected ReLU network on `inputShape`, e.g. widths [200, 200, 10].
    /// An image input is flattened first.
    public static func fullyConnected(inputShape: [Int], widths: [Int]) -> Architecture {
        var layers: [Layer] = inputShape.count > 1 ? [.flatten] : []
        for (index, width) in widths.enumerated() {
            layers.append(.dense(units: width))
            if index < widths.count - 1 { layers.append(.relu) }
        }
        return Architecture(inputShape: inputShape, layers: layers)
    }

    /// LeNet-5 as the paper used it: conv 5x5x6 -> maxpool 2 -> conv 5x5x16 -> maxpool 2
    /// -> FC 120 -> FC 84 -> FC classes, ReLU activations, valid padding.
    public static func leNet(inputShape: [Int] = [1, 28, 28], classes: Int = 10) -> Architecture {
        Architecture(inputShape: inputShape, layers: [
            .conv2d(filters: 6, kernel: 5, padding: .valid), .relu, .maxPool(size: 2),
            .conv2d(filters: 16, kernel: 5, padding: .valid), .relu, .maxPool(size: 2),
            .flatten,
            .dense(units: 120), .relu,
            .dense(units: 84), .relu,
            .dense(units: classes),
        ])
    }

    /// The paper's toy problem (Sec. 2): D = groups * size.
    public static func toy(groups: Int = 10, size: Int = 100) -> Architecture {
        Architecture(inputShape: [], layers: [.toyGroupSum(groups: groups, size: size)])
    }

    // MARK: Shapes

    /// The output shape after each layer (without the batch dimension).
    /// - Throws: `ArchitectureError.invalid` for an inconsistent or oversized network
    ///   (Formats/idz-v1.md section 6).
    public func outputShapes() throws(ArchitectureError) -> [[Int]] {
        guard layers.count <= Limits.maxLayers else {
            throw .invalid("\(layers.count) layers exceed the limit of \(Limits.maxLayers)")
        }
        guard !layers.isEmpty else { throw .invalid("the network has no layers") }
        try Self.checkShape(inputShape, what: "input shape")
        var shape = inputShape
        var shapes: [[Int]] = []
        for (index, layer) in layers.enumerated() {
            shape = try Self.outputShape(of: layer, input: shape, index: index)
            try Self.checkShape(shape, what: "output of layer \(index) (\(layer.typeName))")
            shapes.append(shape)
        }
        return shapes
    }

    /// The parameter tensors in theta order, with their offsets (Formats/idz-v1.md section 7).
    /// - Throws: `ArchitectureError.invalid` as `outputShapes()`.
    public func parameterTensors() throws(ArchitectureError) -> [TensorSpec] {
        let shapes = try outputShapes()
        var tensors: [TensorSpec] = []
        var offset = 0
        func append(_ name: String, _ shape: [Int], _ scheme: InitScheme, fanIn: Int, fanOut: Int) throws(ArchitectureError) {
            let tensor = TensorSpec(name: name, shape: shape, initScheme: scheme, fanIn: fanIn, fanOut: fanOut, offset: offset)
            offset += tensor.count
            guard offset <= Limits.maxParameters else {
                throw .invalid("more than \(Limits.maxParameters) parameters")
            }
            tensors.append(tensor)
        }
        for (index, layer) in layers.enumerated() {
            let input = index == 0 ? inputShape : shapes[index - 1]
            switch layer {
            case .dense(let units):
                let inputs = input[0]
                try append("layers.\(index).weight", [units, inputs], .heNormal, fanIn: inputs, fanOut: units)
                try append("layers.\(index).bias", [units], .zeros, fanIn: inputs, fanOut: units)
            case .conv2d(let filters, let kernel, _):
                let fanIn = input[0] * kernel * kernel
                let fanOut = filters * kernel * kernel
                try append("layers.\(index).weight", [filters, input[0], kernel, kernel], .heNormal, fanIn: fanIn, fanOut: fanOut)
                try append("layers.\(index).bias", [filters], .zeros, fanIn: fanIn, fanOut: fanOut)
            case .toyGroupSum(let groups, let size):
                try append("layers.\(index).theta", [groups * size], .standardNormal, fanIn: 1, fanOut: 1)
            case .maxPool, .relu, .flatten:
                break
            }
        }
        return tensors
    }

    /// D, the number of parameters (at most 2^36).
    /// - Throws: `ArchitectureError.invalid` as `outputShapes()`.
    public func parameterCount() throws(ArchitectureError) -> Int {
        try parameterTensors().reduce(0) { $0 + $1.count }
    }

    /// Number of output classes (the size of the last layer's output).
    /// - Throws: `ArchitectureError.invalid` as `outputShapes()`.
    public func outputCount() throws(ArchitectureError) -> Int {
        try outputShapes().last!.reduce(1, *)
    }

    private static func checkShape(_ shape: [Int], what: String) throws(ArchitectureError) {
        guard shape.count <= Limits.maxRank else { throw .invalid("\(what) has rank \(shape.count) > \(Limits.maxRank)") }
        var count = 1
        for dimension in shape {
            guard dimension >= 1, dimension <= Limits.maxDimension else {
                throw .invalid("\(what) has dimension \(dimension), outside 1 to \(Limits.maxDimension)")
            }
            count *= dimension
            guard count <= Limits.maxActivationCount else {
                throw .invalid("\(what) has more than \(Limits.maxActivationCount) entries")
            }
        }
    }

    private static func outputShape(of layer: Layer, input: [Int], index: Int) throws(ArchitectureError) -> [Int] {
        let label = "layer \(index) (\(layer.typeName))"
        switch layer {
        case .dense(let units):
            guard input.count == 1 else { throw .invalid("\(label) needs a flat input, got shape \(input)") }
            guard units >= 1, units <= Limits.maxDimension else { throw .invalid("\(label) has \(units) units") }
            return [units]
        case .conv2d(let filters, let kernel, let padding):
            guard input.count == 3 else { throw .invalid("\(label) needs a [channels, height, width] input, got \(input)") }
            guard filters >= 1, filters <= Limits.maxDimension else { throw .invalid("\(label) has \(filters) filters") }
            guard kernel >= 1, kernel <= 64 else { throw .invalid("\(label) has kernel size \(kernel), outside 1 to 64") }
            switch padding {
            case .valid:
                guard input[1] >= kernel, input[2] >= kernel else {
                    throw .invalid("\(label): kernel \(kernel) is larger than the input \(input[1])x\(input[2])")
                }
                return [filters, input[1] - kernel + 1, input[2] - kernel + 1]
            case .same:
                guard kernel % 2 == 1 else { throw .invalid("\(label): same padding needs an odd kernel, got \(kernel)") }
                return [filters, input[1], input[2]]
            }
        case .maxPool(let size):
            guard input.count == 3 else { throw .invalid("\(label) needs a [channels, height, width] input, got \(input)") }
            guard size >= 1, input[1] >= size, input[2] >= size else {
                throw .invalid("\(label): pool size \(size) does not fit the input \(input)")
            }
            return [input[0], input[1] / size, input[2] / size]
        case .relu:
            return input
        case .flatten:
            return [input.reduce(1, *)]
        case .toyGroupSum(let groups, let size):
            guard index == 0, input.isEmpty else { throw .invalid("\(label) must be the only layer, with no input") }
            guard groups >= 1, size >= 1, groups <= Limits.maxDimension, size <= Limits.maxDimension,
                  groups * size <= Limits.maxParameters
            else { throw .invalid("\(label) has \(groups) groups of \(size)") }
            return [groups]
        }
    }
}

/// An architecture that cannot be built.
public enum ArchitectureError: Error, CustomStringConvertible, Equatable {
    /// A rule of Formats/idz-v1.md section 6 fails; the message says which.
    case invalid(String)

    /// One line naming the problem.
    public var description: String {
        switch self {
        case .invalid(let message): "invalid architecture: \(message)"
        }
    }
}
