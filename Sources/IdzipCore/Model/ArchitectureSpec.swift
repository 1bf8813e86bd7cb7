extension Architecture {
    /// Parses the command-line names of architectures:
    /// - `fc:784-200-200-10`: fully connected ReLU network, input width first;
    /// - `fc5`: the paper's FC-5 for shuffled labels (784, five layers of 400, 10);
    /// - `lenet`, `lenet:1x28x28`, `lenet:3x32x32`, optionally `lenet:3x32x32:10` classes;
    /// - `toy`: the paper's toy objective (D = 1000);
    /// - `resnet20`, `resnet20:1x28x28`, `resnet20:3x32x32:100`: ResNet-20 (`resNet20`);
    /// - `mnist-bn`, `mnist-bn:1x28x28:10`: the small batch-normalised MNIST CNN (`mnistBatchNorm`);
    /// - a path ending in `.json`: an architecture file (docs/architecture-files.md), read
    ///   with `ArchitectureDescription.read`; a text starting with `{`: such a description inline.
    /// - Throws: `ArchitectureError.invalid` for an unknown name, an unreadable or invalid
    ///   description or an invalid network.
    public init(spec: String) throws(ArchitectureError) {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "fc":
            guard parts.count == 2 else { throw .invalid("write a fully connected model as fc:784-200-200-10") }
            let widths = parts[1].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard widths.count >= 2, let values = widths as? [Int], values.allSatisfy({ $0 >= 1 && $0 <= Limits.maxDimension }) else {
                throw .invalid("'\(parts[1])' is not a list of layer widths like 784-200-200-10")
            }
            self = .fullyConnected(inputShape: [values[0]], widths: Array(values.dropFirst()))
        case "fc5":
            guard parts.count == 1 else { throw .invalid("fc5 takes no options") }
            self = .fullyConnected(inputShape: [784], widths: [400, 400, 400, 400, 400, 10])
        case "lenet":
            guard parts.count <= 3 else { throw .invalid("write LeNet as lenet, lenet:3x32x32 or lenet:3x32x32:10") }
            var inputShape = [1, 28, 28]
            var classes = 10
            if parts.count >= 2 {
                let dimensions = parts[1].split(separator: "x").compactMap { Int($0) }
                guard dimensions.count == 3, dimensions.allSatisfy({ $0 >= 1 && $0 <= Limits.maxDimension }) else {
                    throw .invalid("'\(parts[1])' is not an input shape like 1x28x28 (channels x height x width)")
                }
                inputShape = dimensions
            }
            if parts.count == 3 {
                guard let value = Int(parts[2]), value >= 1, value <= Limits.maxDimension else {
                    throw .invalid("'\(parts[2])' is not a number of classes")
                }
                classes = value
            }
            self = .leNet(inputShape: inputShape, classes: classes)
        case "toy":
            guard parts.count == 1 else { throw .invalid("toy takes no options") }
            self = .toy()
        case "resnet20", "mnist-bn":
            let preset = parts[0]
            guard parts.count <= 3 else { throw .invalid("write \(preset) as \(preset), \(preset):3x32x32 or \(preset):3x32x32:10") }
            let inputShape = parts.count >= 2 ? try Self.imageShape(parts[1]) : preset == "resnet20" ? [3, 32, 32] : [1, 28, 28]
            let classes = parts.count == 3 ? try Self.classCount(parts[2]) : 10
            self = preset == "resnet20" ? .resNet20(inputShape: inputShape, classes: classes) : .mnistBatchNorm(inputShape: inputShape, classes: classes)
        default:
            // An architecture file (docs/architecture-files.md), or its text inline (as
            // expanded weights record it).
            if spec.hasPrefix("{") {
                self = try ArchitectureDescription.parse(Array(spec.utf8), source: "the architecture description")
            } else if spec.lowercased().hasSuffix(".json") {
                self = try ArchitectureDescription.read(path: spec)
            } else {
                throw .invalid("unknown model '\(spec)'; use fc:784-200-200-10, fc5, lenet, lenet:3x32x32, toy, resnet20, mnist-bn or an architecture file net.json")
            }
        }
        _ = try parameterTensors()
    }

    private static func imageShape(_ text: String) throws(ArchitectureError) -> [Int] {
        let dimensions = text.split(separator: "x").compactMap { Int($0) }
        guard dimensions.count == 3, dimensions.allSatisfy({ $0 >= 1 && $0 <= Limits.maxDimension }) else {
            throw .invalid("'\(text)' is not an input shape like 1x28x28 (channels x height x width)")
        }
        return dimensions
    }

    private static func classCount(_ text: String) throws(ArchitectureError) -> Int {
        guard let value = Int(text), value >= 1, value <= Limits.maxDimension else {
            throw .invalid("'\(text)' is not a number of classes")
        }
        return value
    }

    /// A one-line description, e.g. "flatten, dense 200, relu, dense 10"; a layer whose
    /// source is not the layer before says so ("conv 1x1x32 stride 2 (from 4)", "(from input)").
    public var layerSummary: String {
        layers.indices.map { index in
            var text = Self.summary(of: layers[index])
            let source = sources.isEmpty || sources.count != layers.count ? index - 1 : sources[index]
            if source != index - 1 { text += source < 0 ? " (from input)" : " (from \(source))" }
            return text
        }.joined(separator: ", ")
    }

    private static func summary(of layer: Layer) -> String {
        switch layer {
        case .dense(let units): return "dense \(units)"
        case .conv2d(let filters, let kernel, let padding): return "conv \(kernel)x\(kernel)x\(filters) \(padding == .valid ? "valid" : "same")"
        case .maxPool(let size): return "maxpool \(size)"
        case .relu: return "relu"
        case .flatten: return "flatten"
        case .toyGroupSum(let groups, let size): return "toy \(groups)x\(size)"
        case .convolution(let c):
            var text = "conv \(c.kernel)x\(c.kernel)x\(c.filters)"
            if c.stride != 1 { text += " stride \(c.stride)" }
            text += " pad \(c.padding)"
            if c.groups != 1 { text += " depthwise" }
            if !c.bias { text += " no bias" }
            return text
        case .batchNorm(let epsilon, let momentum):
            return epsilon == 1e-5 && momentum == 0.1 ? "batchnorm" : "batchnorm eps \(epsilon) momentum \(momentum)"
        case .averagePool(let size): return "avgpool \(size)"
        case .globalAveragePool: return "global avgpool"
        case .add(let other): return other < 0 ? "add input" : "add \(other)"
        case .dropout(let rate): return "dropout \(rate)"
        case .activation(.leakyReLU(let slope)): return "leaky_relu \(slope)"
        case .activation(let activation): return activation.name
        }
    }
}

extension Architecture {
    /// The command-line name that builds exactly this architecture, if there is one
    /// (`fc:784-200-200-10`, `lenet:1x28x28:10`, `toy`).
    public var spec: String? {
        var candidates: [String] = ["toy"]
        let denseWidths = layers.compactMap { layer -> Int? in
            if case .dense(let units) = layer { return units }
            return nil
        }
        if inputShape.count == 1 {
            candidates.append("fc:" + ([inputShape[0]] + denseWidths).map(String.init).joined(separator: "-"))
        }
        if inputShape.count == 3, let classes = denseWidths.last {
            let shape = inputShape.map(String.init).joined(separator: "x")
            candidates.append("lenet:\(shape):\(classes)")
            candidates += ["resnet20", "mnist-bn"].flatMap { [$0, "\($0):\(shape):\(classes)"] }
        }
        return candidates.first { (try? Architecture(spec: $0)) == self }
    }
}
