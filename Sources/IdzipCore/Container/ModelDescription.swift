import Foundation

/// What a `.idz` file holds, in the shape of `idzip info --json`: architecture, tensor
/// table, seeds, projection, theta_d, preprocessing, labels, metadata and the weights digest.
public struct ModelDescription: Encodable, Sendable {
    public struct Tensor: Encodable, Sendable { public var name: String; public var shape: [Int]; public var `init`: String }
    public struct ProjectionInfo: Encodable, Sendable { public var kind: String; public var seed: UInt64; public var d: Int }
    /// theta_d: d, the encoding, the int8 scale; for a codebook the levels K, the level
    /// bytes (2 or 4 per level), the range-coded symbol bytes and bits per coordinate
    /// (8 · (level bytes + coded bytes) / d).
    public struct ThetaInfo: Encodable, Sendable {
        public var count: Int
        public var encoding: String
        public var scale: Float?
        public var levels: Int?
        public var level_bytes: Int?
        public var coded_bytes: Int?
        public var bits_per_coordinate: Double?
    }
    public struct PreprocessingInfo: Encodable, Sendable { public var input_scale: Float; public var mean: [Float]; public var standard_deviation: [Float] }
    /// One layer: its `type` (`Layer.typeName`: dense, conv2d, convolution, batchnorm, ...), the settings of
    /// that type (absent otherwise) and the shape of its output.
    public struct LayerInfo: Encodable, Sendable, Equatable {
        public var type: String
        public var units: Int?
        public var filters: Int?
        public var kernel: Int?
        public var padding: String?
        public var size: Int?
        public var groups: Int?
        /// Convolutions (version 3): stride, zero padding on each side, whether a bias.
        public var stride: Int?
        public var pad: Int?
        public var bias: Bool?
        /// Batch normalisation.
        public var epsilon: Float?
        public var momentum: Float?
        /// `add`: the other layer added (-1: the input).
        public var other: Int?
        /// Dropout.
        public var rate: Float?
        /// Leaky ReLU.
        public var slope: Float?
        /// The layer read (-1: the input) when it is not the layer before.
        public var source: Int?
        /// The layer's name (module path) when the network has names.
        public var name: String?
        public var output_shape: [Int]

        public init(_ layer: Layer, outputShape: [Int], source: Int? = nil, name: String? = nil) {
            type = layer.typeName
            output_shape = outputShape
            self.source = source
            self.name = name
            switch layer {
            case .dense(let units): self.units = units
            case .conv2d(let filters, let kernel, let padding):
                self.filters = filters
                self.kernel = kernel
                self.padding = padding == .same ? "same" : "valid"
            case .maxPool(let size): self.size = size
            case .relu, .flatten: break
            case .toyGroupSum(let groups, let size):
                self.groups = groups
                self.size = size
            case .convolution(let c):
                filters = c.filters
                kernel = c.kernel
                stride = c.stride
                pad = c.padding
                groups = c.groups
                bias = c.bias
            case .batchNorm(let epsilon, let momentum):
                self.epsilon = epsilon
                self.momentum = momentum
            case .averagePool(let size): self.size = size
            case .globalAveragePool: break
            case .add(let other): self.other = other
            case .dropout(let rate): self.rate = rate
            case .activation(let activation):
                if case .leakyReLU(let slope) = activation { self.slope = slope }
            }
        }
    }

    public var file: String
    public var file_bytes: Int
    public var format_version: UInt32
    /// The container profile: "standard", "compact" or "compact:N" (N digest bytes kept).
    public var container: String
    public var input_shape: [Int]
    /// The network layer by layer.
    public var layers: [LayerInfo]
    /// The same in one line: "dense 200, relu, dense 200, relu, dense 10".
    public var layer_summary: String
    public var parameters: Int
    public var expanded_bytes: Int
    public var compression_ratio: Double
    public var theta0_seed: UInt64
    public var tensors: [Tensor]
    public var projection: ProjectionInfo
    public var theta_d: ThetaInfo
    public var preprocessing: PreprocessingInfo
    public var labels: [String]
    public var metadata: [String: MetadataJSON]
    public var weights_sha256: String
    /// The base a fine-tuned model needs (Formats/idz-v3.md section 6); absent otherwise.
    public var base: BaseInfo?
    /// Per-tensor modes and scales (Formats/idz-v3.md section 7); absent otherwise.
    public var tensor_modes: TensorModesInfo?

    public struct BaseInfo: Encodable, Sendable { public var sha256: String; public var locator: String }
    public struct TensorModesInfo: Encodable, Sendable {
        /// Mode of each tensor, in tensor order.
        public var modes: [String: String]
        /// Scale of each subspace tensor (absent without scales).
        public var scales: [String: Float]?
        public var direct_values: Int
        /// d + scales + direct values: every number the file stores for the model.
        public var stored_numbers: Int
    }

    /// - Parameters:
    ///   - path: the file's path as shown; `fileBytes`: its size.
    /// - Throws: `ArchitectureError` for an architecture without a valid tensor table.
    /// - Parameter container: what `IdzFile.container(of:)` says of the file (nil: a
    ///   version 1 standard file).
    public init(model: IdzModel, path: String, fileBytes: Int, container: ContainerInfo? = nil) throws(ArchitectureError) {
        let tensors = try model.architecture.parameterTensors()
        file = path
        file_bytes = fileBytes
        let info = container ?? ContainerInfo(version: IdzFile.formatVersion, layout: .standard, bodyCoding: "zlib")
        format_version = info.version
        self.container = info.profile(of: model).name
        input_shape = model.architecture.inputShape
        let shapes = try model.architecture.outputShapes()
        let architecture = model.architecture
        layers = architecture.layers.indices.map { index in
            let source = architecture.source(of: index)
            return LayerInfo(
                architecture.layers[index], outputShape: shapes[index],
                source: source == index - 1 ? nil : source,
                name: architecture.names.isEmpty ? nil : architecture.names[index])
        }
        layer_summary = model.architecture.layerSummary
        parameters = model.parameterCount
        expanded_bytes = model.parameterCount * 4
        compression_ratio = fileBytes > 0 ? Double(expanded_bytes) / Double(fileBytes) : 0
        theta0_seed = model.theta0Seed
        self.tensors = tensors.map { Tensor(name: $0.name, shape: $0.shape, init: $0.initScheme.name) }
        projection = ProjectionInfo(kind: model.projection.kind.name, seed: model.projection.seed, d: model.projection.dimension)
        var scale: Float?
        if case .int8(_, let value) = model.theta { scale = value }
        theta_d = ThetaInfo(count: model.theta.count, encoding: model.theta.encoding.name, scale: scale)
        if case .codebook(let levels, let symbols) = model.theta {
            let coded = RangeCoder.codedSize(symbols, alphabetSize: levels.count)
            let levelBytes = CodebookBlock.levelBytes(levels)
            theta_d.levels = levels.count
            theta_d.level_bytes = levelBytes
            theta_d.coded_bytes = coded
            theta_d.bits_per_coordinate = symbols.isEmpty ? 0 : Double(8 * (levelBytes + coded)) / Double(symbols.count)
        }
        preprocessing = PreprocessingInfo(
            input_scale: model.preprocessing.inputScale, mean: model.preprocessing.mean,
            standard_deviation: model.preprocessing.standardDeviation)
        labels = model.labels
        metadata = Dictionary(model.metadata.map { ($0.key, MetadataJSON($0.value)) }, uniquingKeysWith: { first, _ in first })
        weights_sha256 = hexString(model.weightsSHA256)
        base = model.base.map { BaseInfo(sha256: hexString($0.sha256), locator: $0.locator) }
        if let modes = model.tensorModes, modes.modes.count == tensors.count {
            var scales: [String: Float]?
            if let values = modes.scales {
                let names = zip(tensors, modes.modes).filter { $0.1 == .subspace }.map(\.0.name)
                scales = Dictionary(zip(names, values), uniquingKeysWith: { first, _ in first })
            }
            tensor_modes = TensorModesInfo(
                modes: Dictionary(zip(tensors.map(\.name), modes.modes.map(\.name)), uniquingKeysWith: { first, _ in first }),
                scales: scales, direct_values: modes.directValues.count,
                stored_numbers: model.projection.dimension + modes.storedNumberCount)
        }
    }

}

/// A metadata value as JSON: numbers, strings and booleans as themselves, bytes as hex.
public struct MetadataJSON: Encodable, Sendable {
    public var value: MetadataValue
    public init(_ value: MetadataValue) { self.value = value }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch value {
        case .int(let number): try container.encode(number)
        case .double(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        case .bool(let flag): try container.encode(flag)
        case .bytes(let bytes): try container.encode(hexString(bytes))
        }
    }

    /// The value as `idzip info` prints it.
    public var text: String {
        switch value {
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .string(let text): text
        case .bool(let flag): String(flag)
        case .bytes(let bytes): hexString(bytes)
        }
    }
}
