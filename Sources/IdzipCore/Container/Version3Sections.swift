/// Format version 3's layers, layer graph and buffers (Formats/idz-v3.md sections 3 to 5):
/// layer codes 7 to 16 in the architecture section, the layer graph and names section
/// `0x0009` and the buffers section `0x0008`. A model that uses none of them is written
/// as version 1 or 2, byte for byte as before.
enum Version3Sections {
    /// Layer codes of version 3 (section 3).
    enum Code: UInt8 {
        case convolution = 7
        case batchNorm = 8
        case averagePool = 9
        case globalAveragePool = 10
        case add = 11
        case dropout = 12
        case leakyReLU = 13
        case gelu = 14
        case tanh = 15
        case sigmoid = 16
    }

    /// The version 3 code of `layer`; nil for a version 1 layer type.
    static func code(of layer: Layer) -> Code? {
        switch layer {
        case .dense, .conv2d, .maxPool, .relu, .flatten, .toyGroupSum: nil
        case .convolution: .convolution
        case .batchNorm: .batchNorm
        case .averagePool: .averagePool
        case .globalAveragePool: .globalAveragePool
        case .add: .add
        case .dropout: .dropout
        case .activation(.leakyReLU): .leakyReLU
        case .activation(.gelu): .gelu
        case .activation(.tanh): .tanh
        case .activation(.sigmoid): .sigmoid
        }
    }

    /// Writes a version 3 layer: its code, then its fields (section 3).
    static func write(_ writer: inout ByteWriter, _ layer: Layer) {
        guard let code = code(of: layer) else { preconditionFailure("not a version 3 layer") }
        writer.u8(code.rawValue)
        switch layer {
        case .convolution(let c):
            for field in [c.filters, c.kernel, c.stride, c.padding, c.groups] { writer.count(field) }
            writer.u8(c.bias ? 1 : 0)
        case .batchNorm(let epsilon, let momentum):
            writer.f32(epsilon)
            writer.f32(momentum)
        case .averagePool(let size):
            writer.count(size)
        case .add(let other):
            writer.u32(UInt32(clamping: other + 1))
        case .dropout(let rate):
            writer.f32(rate)
        case .activation(.leakyReLU(let slope)):
            writer.f32(slope)
        default:
            break
        }
    }

    /// Reads the fields of the layer with version 3 code `code` (already read).
    /// - Throws: `IdzError` `.limitExceeded` for a dimension above 2^24, `.invalidValue`
    ///   for a bias byte other than 0 and 1, `.malformedSection` for a field cut short.
    static func readLayer(_ reader: inout ByteReader, code: Code, index: Int) throws(IdzError) -> Layer {
        func dimension(_ name: String) throws(IdzError) -> Int {
            try reader.count("layer \(index) \(name)", limit: Limits.maxDimension)
        }
        switch code {
        case .convolution:
            let filters = try dimension("filters"), kernel = try dimension("kernel"), stride = try dimension("stride")
            let padding = try dimension("padding"), groups = try dimension("groups")
            let bias = try reader.u8("layer \(index) bias")
            guard bias <= 1 else { throw IdzError(.invalidValue, "layer \(index) (convolution) has bias byte \(bias); only 0 and 1 are allowed") }
            return .convolution(Convolution2D(filters: filters, kernel: kernel, stride: stride, padding: padding, groups: groups, bias: bias == 1))
        case .batchNorm:
            let epsilon = try reader.f32("layer \(index) epsilon")
            return .batchNorm(epsilon: epsilon, momentum: try reader.f32("layer \(index) momentum"))
        case .averagePool:
            return .averagePool(size: try dimension("pool size"))
        case .globalAveragePool:
            return .globalAveragePool
        case .add:
            return .add(other: Int(try reader.u32("layer \(index) other layer")) - 1)
        case .dropout:
            return .dropout(rate: try reader.f32("layer \(index) rate"))
        case .leakyReLU:
            return .activation(.leakyReLU(slope: try reader.f32("layer \(index) slope")))
        case .gelu:
            return .activation(.gelu)
        case .tanh:
            return .activation(.tanh)
        case .sigmoid:
            return .activation(.sigmoid)
        }
    }

    // MARK: Layer graph and names (0x0009, section 4)

    /// Whether the architecture needs the layer graph section.
    static func hasGraph(_ architecture: Architecture) -> Bool {
        !architecture.sources.isEmpty || !architecture.names.isEmpty
    }

    static func writeGraph(_ writer: inout ByteWriter, _ architecture: Architecture) {
        writer.u8((architecture.sources.isEmpty ? 0 : 1) | (architecture.names.isEmpty ? 0 : 2))
        for source in architecture.sources { writer.u32(UInt32(clamping: source + 1)) }
        for name in architecture.names { writer.string(name) }
    }

    /// The sources and names of `layerCount` layers (empty when not stored); the rules are
    /// the architecture's (`Architecture.layerShapes()`).
    /// - Throws: `IdzError` `.invalidValue` for flags 0 or unknown bits, `.limitExceeded`
    ///   for a name above 256 bytes, `.invalidUTF8`, `.malformedSection`.
    static func readGraph(_ reader: inout ByteReader, layerCount: Int) throws(IdzError) -> (sources: [Int], names: [String]) {
        let flags = try reader.u8("layer graph flags")
        guard flags != 0, flags & ~3 == 0 else {
            throw IdzError(.invalidValue, "layer graph flags 0x\(String(flags, radix: 16)) (1: sources, 2: names, 3: both)")
        }
        var sources: [Int] = []
        var names: [String] = []
        if flags & 1 != 0 {
            try reader.checkRoom(for: layerCount, of: 4, "layer sources")
            for _ in 0..<layerCount { sources.append(Int(try reader.u32("layer source")) - 1) }
        }
        if flags & 2 != 0 {
            try reader.checkRoom(for: layerCount, of: 4, "layer names")
            for _ in 0..<layerCount { names.append(try reader.string("layer name", limit: Architecture.maxNameBytes)) }
        }
        return (sources, names)
    }

    // MARK: Buffers (0x0008, section 5)

    static func writeBuffers(_ writer: inout ByteWriter, _ model: IdzModel) {
        writer.u64(model.batchesTracked)
        writer.count(model.buffers.count)
        for value in model.buffers { writer.f32(value) }
    }

    /// The buffer values and batches tracked, checked against the architecture's buffers.
    /// - Throws: `IdzError` `.invalidValue` (count of batches above 2^63 - 1, a non-finite
    ///   value, a negative variance), `.malformedSection`, `.inconsistentShapes` (a count
    ///   other than the architecture's).
    static func readBuffers(_ reader: inout ByteReader, expected: [TensorSpec]) throws(IdzError) -> (buffers: [Float], batchesTracked: UInt64) {
        let batches = try reader.u64("batches tracked")
        guard batches <= UInt64(Int64.max) else {
            throw IdzError(.invalidValue, "\(batches) batches tracked is above 2^63 - 1 (PyTorch's int64 num_batches_tracked)")
        }
        let declared = try reader.u64("buffer count")
        guard declared <= UInt64(reader.remaining / 4) else {
            throw IdzError(.malformedSection, "more buffer values than bytes: \(declared) float32 values need \(declared) x 4 bytes, \(reader.remaining) remain")
        }
        let count = Int(declared)
        let expectedCount = expected.reduce(0) { $0 + $1.count }
        guard count == expectedCount else {
            throw IdzError(.inconsistentShapes, "inconsistent shapes: the buffers section holds \(count) values, the batch-norm layers need \(expectedCount)")
        }
        var values: [Float] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try reader.f32("buffer value")) }
        for tensor in expected {
            for index in tensor.range {
                let value = values[index]
                guard value.isFinite, tensor.initScheme != .ones || value >= 0 else {
                    throw IdzError(.invalidValue, "buffer \(tensor.name) entry \(index - tensor.offset) is \(value); it must be finite (and a variance not negative)")
                }
            }
        }
        return (values, batches)
    }
}
