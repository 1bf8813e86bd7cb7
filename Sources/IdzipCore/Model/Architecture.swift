/// A network: the shape of one input example and the layers applied to it, with the
/// source of each layer's input (the layer graph) and the names of its tensors.
///
/// The parameter vector theta is the concatenation, in layer order, of each layer's
/// weight and then its bias, each flattened in C order. The network's output is the
/// output of the last layer.
public struct Architecture: Sendable, Hashable {
    /// Shape of one example without the batch dimension: [features] or [channels, height, width].
    public var inputShape: [Int]
    /// The layers in order (spec section 6 lists the rules they must follow).
    public var layers: [Layer]
    /// Where each layer reads its input (Formats/idz-v3.md section 4): empty for a
    /// sequential network (layer i reads layer i - 1, layer 0 the input); otherwise one
    /// entry per layer, -1 for the network input or the index of an EARLIER layer.
    public var sources: [Int]
    /// The PyTorch module path of each layer (e.g. `layer1.0.conv1`), whose tensors are
    /// `<name>.weight`, `<name>.bias` and buffers `<name>.running_mean`, ...: empty for
    /// the default names `layers.<i>`; otherwise one per layer, ASCII letters, digits,
    /// `_` and `.`, dot-separated segments non-empty, at most 256 bytes, unique among
    /// layers with tensors.
    public var names: [String]

    /// The longest layer name, in bytes.
    public static let maxNameBytes = 256

    /// An architecture from its parts; `parameterTensors()` and `IdzFile` check the rules.
    /// Layers are canonicalised (`Layer.canonical`), `sources` equal to the sequential
    /// default and `names` equal to the default `layers.<i>` become empty, so that equal
    /// networks compare equal and are stored in the lowest format version.
    public init(inputShape: [Int], layers: [Layer], sources: [Int] = [], names: [String] = []) {
        self.inputShape = inputShape
        self.layers = layers.map(\.canonical)
        self.sources = sources == Array(-1..<(layers.count - 1)) ? [] : sources
        self.names = names == (0..<layers.count).map { "layers.\($0)" } ? [] : names
    }

    /// The layer whose output layer `index` reads: -1 for the network input.
    /// Assumes `sources` is empty or has one entry per layer (`outputShapes()` checks).
    public func source(of index: Int) -> Int {
        sources.isEmpty ? index - 1 : sources[index]
    }

    /// The name of layer `index`: `names[index]`, or `layers.<index>` by default.
    public func name(of index: Int) -> String {
        names.isEmpty ? "layers.\(index)" : names[index]
    }

    /// Whether only format version 3 can store this network: a version 3 layer type, a
    /// non-sequential graph or non-default names.
    public var needsVersion3: Bool {
        !sources.isEmpty || !names.isEmpty || layers.contains { $0.needsVersion3 }
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
    ///   (Formats/idz-v1.md section 6, Formats/idz-v3.md sections 3 and 4): a source that
    ///   is not an earlier layer (a cycle), an invalid or duplicate name, a shape mismatch.
    public func outputShapes() throws(ArchitectureError) -> [[Int]] {
        try layerShapes().outputs
    }

    /// The input shape (the output of its source) and the output shape of each layer.
    /// - Throws: `ArchitectureError.invalid` as `outputShapes()`.
    public func layerShapes() throws(ArchitectureError) -> (inputs: [[Int]], outputs: [[Int]]) {
        guard layers.count <= Limits.maxLayers else {
            throw .invalid("\(layers.count) layers exceed the limit of \(Limits.maxLayers)")
        }
        guard !layers.isEmpty else { throw .invalid("the network has no layers") }
        try checkGraph()
        try Self.checkShape(inputShape, what: "input shape")
        var inputs: [[Int]] = []
        var shapes: [[Int]] = []
        func output(of source: Int) -> [Int] { source < 0 ? inputShape : shapes[source] }
        for (index, layer) in layers.enumerated() {
            let input = output(of: source(of: index))
            if case .add(let other) = layer {
                guard other >= -1, other < index else {
                    throw .invalid("layer \(index) (add) adds layer \(other), which is not an earlier layer or -1 (the input): a cycle")
                }
                guard output(of: other) == input else {
                    throw .invalid("layer \(index) (add) adds shapes \(input) and \(output(of: other)), which differ")
                }
            }
            let shape = try Self.outputShape(of: layer, input: input, index: index)
            try Self.checkShape(shape, what: "output of layer \(index) (\(layer.typeName))")
            inputs.append(input)
            shapes.append(shape)
        }
        try checkNames()
        return (inputs, shapes)
    }

    private func checkGraph() throws(ArchitectureError) {
        guard !sources.isEmpty else { return }
        guard sources.count == layers.count else {
            throw .invalid("\(sources.count) sources for \(layers.count) layers (one per layer, or none for a sequential network)")
        }
        for (index, source) in sources.enumerated() {
            guard source >= -1, source < index else {
                throw .invalid("layer \(index) reads layer \(source), which is not an earlier layer or -1 (the input): a cycle")
            }
        }
    }

    private func checkNames() throws(ArchitectureError) {
        guard !names.isEmpty else { return }
        guard names.count == layers.count else {
            throw .invalid("\(names.count) names for \(layers.count) layers (one per layer, or none for layers.<i>)")
        }
        var taken = Set<String>()
        for (index, name) in names.enumerated() {
            let bytes = Array(name.utf8)
            guard !bytes.isEmpty, bytes.count <= Self.maxNameBytes else {
                throw .invalid("layer \(index) has a name of \(bytes.count) bytes (1 to \(Self.maxNameBytes))")
            }
            let allowed = bytes.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2E
            }
            guard allowed, !bytes.split(separator: 0x2E, omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
                throw .invalid("layer \(index) has the name '\(String(decoding: bytes.prefix(64).map { $0 < 0x20 || $0 > 0x7E ? 0x3F : $0 }, as: UTF8.self))'; use letters, digits, _ and non-empty dot-separated parts like layer1.0.conv1")
            }
            if layers[index].hasTensors {
                guard taken.insert(name).inserted else {
                    throw .invalid("two layers with tensors are both named '\(name)'")
                }
            }
        }
        // A module holding tensors cannot also contain modules (PyTorch's state dict could
        // not be loaded into Conv2d, Linear or BatchNorm modules otherwise).
        for (index, name) in names.enumerated() where layers[index].hasTensors {
            var prefix = Substring(name)
            while let dot = prefix.lastIndex(of: ".") {
                prefix = prefix[..<dot]
                if taken.contains(String(prefix)) {
                    throw .invalid("layer name '\(prefix)' has tensors and also contains the layer '\(name)'")
                }
            }
        }
    }

    /// The parameter tensors in theta order, with their offsets (Formats/idz-v1.md section 7).
    /// - Throws: `ArchitectureError.invalid` as `outputShapes()`.
    public func parameterTensors() throws(ArchitectureError) -> [TensorSpec] {
        let inputs = try layerShapes().inputs
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
            let input = inputs[index]
            let name = self.name(of: index)
            switch layer {
            case .dense(let units):
                let inputs = input[0]
                try append("\(name).weight", [units, inputs], .heNormal, fanIn: inputs, fanOut: units)
                try append("\(name).bias", [units], .zeros, fanIn: inputs, fanOut: units)
            case .conv2d(let filters, let kernel, _):
                let fanIn = input[0] * kernel * kernel
                let fanOut = filters * kernel * kernel
                try append("\(name).weight", [filters, input[0], kernel, kernel], .heNormal, fanIn: fanIn, fanOut: fanOut)
                try append("\(name).bias", [filters], .zeros, fanIn: fanIn, fanOut: fanOut)
            case .convolution(let c):
                let groupInputs = input[0] / c.groups
                let fanIn = groupInputs * c.kernel * c.kernel
                let fanOut = c.filters / c.groups * c.kernel * c.kernel
                try append("\(name).weight", [c.filters, groupInputs, c.kernel, c.kernel], .heNormal, fanIn: fanIn, fanOut: fanOut)
                if c.bias { try append("\(name).bias", [c.filters], .zeros, fanIn: fanIn, fanOut: fanOut) }
            case .batchNorm:
                try append("\(name).weight", [input[0]], .ones, fanIn: 1, fanOut: 1)
                try append("\(name).bias", [input[0]], .zeros, fanIn: 1, fanOut: 1)
            case .toyGroupSum(let groups, let size):
                try append("\(name).theta", [groups * size], .standardNormal, fanIn: 1, fanOut: 1)
            case .maxPool, .relu, .flatten, .averagePool, .globalAveragePool, .add, .dropout, .activation:
                break
            }
        }
        return tensors
    }

    /// The buffers (Formats/idz-v3.md section 5): `<name>.running_mean` [C] (init zeros)
    /// then `<name>.running_var` [C] (init ones) of every batch-norm layer in layer order,
    /// with offsets into one flat float32 vector (`IdzModel.buffers`). Each batch-norm
    /// layer's `<name>.num_batches_tracked` (int64 scalar) is the one count per model
    /// `IdzModel.batchesTracked`, not part of the vector.
    /// - Throws: `ArchitectureError.invalid` as `outputShapes()`.
    public func bufferTensors() throws(ArchitectureError) -> [TensorSpec] {
        let inputs = try layerShapes().inputs
        var tensors: [TensorSpec] = []
        var offset = 0
        for (index, layer) in layers.enumerated() {
            guard case .batchNorm = layer else { continue }
            let channels = inputs[index][0]
            let name = self.name(of: index)
            tensors.append(TensorSpec(name: "\(name).running_mean", shape: [channels], initScheme: .zeros, fanIn: 1, fanOut: 1, offset: offset))
            tensors.append(TensorSpec(name: "\(name).running_var", shape: [channels], initScheme: .ones, fanIn: 1, fanOut: 1, offset: offset + channels))
            offset += 2 * channels
        }
        return tensors
    }

    /// Floats in the buffer vector (`bufferTensors()`); 0 without batch normalisation.
    /// - Throws: `ArchitectureError.invalid` as `outputShapes()`.
    public func bufferCount() throws(ArchitectureError) -> Int {
        try bufferTensors().reduce(0) { $0 + $1.count }
    }

    /// The buffers of a fresh model: running means 0, running variances 1 (PyTorch's
    /// initial values), in `bufferTensors()` order.
    /// - Throws: `ArchitectureError.invalid` as `outputShapes()`.
    public func initialBuffers() throws(ArchitectureError) -> [Float] {
        var values: [Float] = []
        for tensor in try bufferTensors() {
            values += [Float](repeating: tensor.initScheme == .ones ? 1 : 0, count: tensor.count)
        }
        return values
    }

    /// The names of the batch-norm layers' `num_batches_tracked` counters, in layer order.
    public var batchesTrackedNames: [String] {
        layers.indices.compactMap { index in
            if case .batchNorm = layers[index] { "\(name(of: index)).num_batches_tracked" } else { nil }
        }
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
        case .convolution(let c):
            guard input.count == 3 else { throw .invalid("\(label) needs a [channels, height, width] input, got \(input)") }
            guard c.filters >= 1, c.filters <= Limits.maxDimension else { throw .invalid("\(label) has \(c.filters) filters") }
            guard c.kernel >= 1, c.kernel <= 64 else { throw .invalid("\(label) has kernel size \(c.kernel), outside 1 to 64") }
            guard c.stride >= 1, c.stride <= 64 else { throw .invalid("\(label) has stride \(c.stride), outside 1 to 64") }
            guard c.padding >= 0, c.padding <= 64 else { throw .invalid("\(label) has padding \(c.padding), outside 0 to 64") }
            guard c.groups == 1 || c.groups == input[0] else {
                throw .invalid("\(label) has \(c.groups) groups; use 1 or the \(input[0]) input channels (depthwise)")
            }
            guard c.filters % c.groups == 0 else {
                throw .invalid("\(label): \(c.filters) filters are not a multiple of the \(c.groups) groups")
            }
            let height = input[1] + 2 * c.padding, width = input[2] + 2 * c.padding
            guard height >= c.kernel, width >= c.kernel else {
                throw .invalid("\(label): kernel \(c.kernel) is larger than the padded input \(height)x\(width)")
            }
            return [c.filters, (height - c.kernel) / c.stride + 1, (width - c.kernel) / c.stride + 1]
        case .batchNorm(let epsilon, let momentum):
            guard input.count == 3 || input.count == 1 else {
                throw .invalid("\(label) needs a [channels, height, width] or [features] input, got \(input)")
            }
            guard epsilon.isFinite, epsilon > 0 else { throw .invalid("\(label) has epsilon \(epsilon); it must be finite and positive") }
            guard momentum.isFinite, momentum >= 0, momentum <= 1 else {
                throw .invalid("\(label) has momentum \(momentum), outside 0 to 1")
            }
            return input
        case .averagePool(let size):
            guard input.count == 3 else { throw .invalid("\(label) needs a [channels, height, width] input, got \(input)") }
            guard size >= 1, input[1] >= size, input[2] >= size else {
                throw .invalid("\(label): pool size \(size) does not fit the input \(input)")
            }
            return [input[0], input[1] / size, input[2] / size]
        case .globalAveragePool:
            guard input.count == 3 else { throw .invalid("\(label) needs a [channels, height, width] input, got \(input)") }
            return [input[0]]
        case .add:
            return input
        case .dropout(let rate):
            guard rate.isFinite, rate >= 0, rate < 1 else { throw .invalid("\(label) has rate \(rate); it must be at least 0 and below 1") }
            return input
        case .activation(let activation):
            if case .leakyReLU(let slope) = activation, !slope.isFinite {
                throw .invalid("\(label) has slope \(slope); it must be finite")
            }
            return input
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
