/// Version 2's compact layout (Formats/idz-v2.md, "The compact layout"):
///
///     magic (8) | u32 version = 2 | u8 layout (1 = stored body, 2 = raw-deflated body)
///     | [varint body length, layout 2 only] | body | u32 CRC-32 of every byte before it
///
/// The body is a fixed sequence of fields (varints for sizes and seeds) ending with
/// theta_d, which runs to the end of the body.
enum CompactLayout {
    static let storedBody: UInt8 = 1
    static let deflatedBody: UInt8 = 2
    static let headerSize = IdzLayout.magic.count + 4 + 1
    static let trailerSize = 4

    /// Preprocessing forms.
    static let defaultPreprocessing: UInt8 = 0
    static let storedPreprocessing: UInt8 = 1
    /// Label forms.
    static let noLabels: UInt8 = 0
    static let decimalLabels: UInt8 = 1
    static let storedLabels: UInt8 = 2
    /// Bit 7 of the projection kind: the seed is theta0's XOR `derivedSeedMask`, not stored
    /// (`idzip train`'s default, `TrainingRunSpec.derivedProjectionSeed`).
    static let derivedSeedBit: UInt8 = 0x80
    static let derivedSeedMask: UInt64 = 0x9E37_79B9_7F4A_7C15

    // MARK: Writing

    /// The complete file of a checked model.
    static func encode(_ model: IdzModel, digestBytes: Int) throws(IdzError) -> [UInt8] {
        let body = try self.body(of: model, digestBytes: digestBytes)
        let deflated = try Zlib.rawDeflate(body)
        var writer = ByteWriter()
        writer.raw(IdzLayout.magic)
        writer.u32(2)
        var lengthPrefix = ByteWriter()
        lengthPrefix.varint(body.count)
        if deflated.count + lengthPrefix.bytes.count < body.count {
            writer.u8(deflatedBody)
            writer.raw(lengthPrefix.bytes)
            writer.raw(deflated)
        } else {
            writer.u8(storedBody)
            writer.raw(body)
        }
        var bytes = writer.bytes
        let crc = Zlib.crc32(bytes[...])
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        return bytes
    }

    static func body(of model: IdzModel, digestBytes: Int) throws(IdzError) -> [UInt8] {
        guard model.weightsSHA256.count >= digestBytes else {
            throw IdzError(.invalidValue, "the profile keeps \(digestBytes) bytes of the weights SHA-256; the model has \(model.weightsSHA256.count)")
        }
        var w = ByteWriter()
        let architecture = model.architecture
        w.varint(architecture.inputShape.count)
        for dimension in architecture.inputShape { w.varint(dimension) }
        w.varint(architecture.layers.count)
        for layer in architecture.layers {
            guard let code = LayerCode(layer) else {
                throw IdzError(.unsupportedVersion, "the compact layout cannot hold layer type \(layer.typeName) yet (it needs format version 3)")
            }
            w.u8(code.rawValue)
            switch layer {
            case .dense(let units):
                w.varint(units)
            case .conv2d(let filters, let kernel, let padding):
                w.varint(filters)
                w.varint(kernel)
                w.u8(padding.rawValue)
            case .maxPool(let size):
                w.varint(size)
            case .relu, .flatten:
                break
            case .toyGroupSum(let groups, let size):
                w.varint(groups)
                w.varint(size)
            case .convolution, .batchNorm, .averagePool, .globalAveragePool, .add, .dropout, .activation:
                break
            }
        }
        w.varint(model.theta0Seed)
        if model.projection.seed == model.theta0Seed ^ derivedSeedMask {
            w.u8(model.projection.kind.rawValue | derivedSeedBit)
        } else {
            w.u8(model.projection.kind.rawValue)
            w.varint(model.projection.seed)
        }
        w.varint(model.projection.dimension)
        let preprocessing = model.preprocessing
        if isDefault(preprocessing) {
            w.u8(defaultPreprocessing)
        } else {
            w.u8(storedPreprocessing)
            w.f32(preprocessing.inputScale)
            w.varint(preprocessing.mean.count)
            for mean in preprocessing.mean { w.f32(mean) }
            for deviation in preprocessing.standardDeviation { w.f32(deviation) }
        }
        if model.labels.isEmpty {
            w.u8(noLabels)
        } else if model.labels == decimal(model.labels.count) {
            w.u8(decimalLabels)
        } else {
            w.u8(storedLabels)
            w.varint(model.labels.count)
            for label in model.labels { w.varintBytes(Array(label.utf8)) }
        }
        w.varint(model.metadata.count)
        for entry in model.metadata {
            w.varintBytes(Array(entry.key.utf8))
            w.u8(entry.value.typeCode.rawValue)
            switch entry.value {
            case .int(let value): w.u64(UInt64(bitPattern: value))
            case .double(let value): w.f64(value)
            case .string(let value): w.varintBytes(Array(value.utf8))
            case .bool(let value): w.u8(value ? 1 : 0)
            case .bytes(let value): w.varintBytes(value)
            }
        }
        w.u8(UInt8(digestBytes))
        w.raw(Array(model.weightsSHA256.prefix(digestBytes)))
        // theta_d: as the sections layout, without the count (d is the projection's).
        w.u8(model.theta.encoding.rawValue)
        switch model.theta {
        case .float32(let values): w.raw(BytePlanes.split(values))
        case .float16(let values): w.raw(BytePlanes.split(values))
        case .int8(let values, let scale):
            w.f32(scale)
            for value in values { w.u8(UInt8(bitPattern: value)) }
        case .codebook(let levels, let symbols):
            CodebookBlock.write(&w, levels: levels, symbols: symbols)
        }
        return w.bytes
    }

    static func isDefault(_ preprocessing: Preprocessing) -> Bool {
        preprocessing.inputScale.bitPattern == Float(1.0 / 255.0).bitPattern
            && preprocessing.mean.map(\.bitPattern) == [Float(0).bitPattern]
            && preprocessing.standardDeviation.map(\.bitPattern) == [Float(1).bitPattern]
    }

    static func decimal(_ count: Int) -> [String] { (0..<count).map { String($0) } }

    // MARK: Reading

    /// The model in a compact file whose first 12 bytes (magic, version 2) are checked.
    static func decode(_ bytes: [UInt8]) throws(IdzError) -> IdzModel {
        guard bytes.count >= headerSize + trailerSize else {
            throw IdzError(.truncated, "truncated file: \(bytes.count) bytes, shorter than the \(headerSize + trailerSize) bytes of a compact header and trailer")
        }
        let end = bytes.count - trailerSize
        var stored: UInt32 = 0
        for index in 0..<4 { stored |= UInt32(bytes[end + index]) << UInt32(8 * index) }
        guard Zlib.crc32(bytes[..<end]) == stored else {
            throw IdzError(.checksumMismatch, "checksum mismatch: the file is corrupt (CRC-32)")
        }
        let layout = bytes[headerSize - 1]
        var body: [UInt8]
        switch layout {
        case storedBody:
            body = Array(bytes[headerSize..<end])
        case deflatedBody:
            var reader = ByteReader(bytes[headerSize..<end], context: "compact header")
            let length = try reader.varintCount("body length", limit: ContainerLimits.maxUncompressedPayload)
            let compressed = reader.rest()
            let possible = compressed.count * ContainerLimits.maxInflationRatio + ContainerLimits.inflationSlack
            guard length <= possible else {
                throw IdzError(.badCompression, "declared body of \(length) bytes is impossible for \(compressed.count) compressed bytes (a zlib bomb?)")
            }
            body = try Zlib.rawInflate(compressed, expectedLength: length)
        default:
            throw IdzError(.unsupportedFlags, "unknown layout \(layout) (version 2 defines 0, 1 and 2)")
        }
        let model = try readBody(body)
        try IdzModelCheck.check(model)
        return model
    }

    static func readBody(_ body: [UInt8]) throws(IdzError) -> IdzModel {
        var r = ByteReader(body[...], context: "compact body")
        let rank = try r.varintCount("input rank", limit: Limits.maxRank)
        var inputShape: [Int] = []
        for _ in 0..<rank { inputShape.append(try r.varintCount("input dimension", limit: Limits.maxDimension)) }
        let layerCount = try r.varintCount("layer count", limit: Limits.maxLayers)
        try r.checkRoom(for: layerCount, of: 1, "layers")
        var layers: [Layer] = []
        for index in 0..<layerCount {
            let code = try r.u8("layer \(index) type")
            guard let type = LayerCode(rawValue: code) else {
                throw IdzError(.unknownValue, "unknown layer type \(code) (layer \(index))")
            }
            func dimension(_ name: String) throws(IdzError) -> Int {
                try r.varintCount("layer \(index) \(name)", limit: Limits.maxDimension)
            }
            switch type {
            case .dense: layers.append(.dense(units: try dimension("units")))
            case .conv2d:
                let filters = try dimension("filters")
                let kernel = try dimension("kernel")
                let paddingCode = try r.u8("layer \(index) padding")
                guard let padding = Padding(rawValue: paddingCode) else {
                    throw IdzError(.unknownValue, "unknown padding \(paddingCode) (layer \(index))")
                }
                layers.append(.conv2d(filters: filters, kernel: kernel, padding: padding))
            case .maxPool: layers.append(.maxPool(size: try dimension("pool size")))
            case .relu: layers.append(.relu)
            case .flatten: layers.append(.flatten)
            case .toyGroupSum:
                let groups = try dimension("groups")
                layers.append(.toyGroupSum(groups: groups, size: try dimension("group size")))
            }
        }
        let architecture = Architecture(inputShape: inputShape, layers: layers)
        let tensors = try IdzModelCheck.parameterTensors(of: architecture)
        let parameterCount = tensors.last.map { $0.offset + $0.count } ?? 0
        let theta0Seed = try r.varint("theta0 seed")
        let kindByte = try r.u8("projection kind")
        guard let kind = ProjectionKind(rawValue: kindByte & ~derivedSeedBit) else {
            throw IdzError(.unknownValue, "unknown projection kind \(kindByte & ~derivedSeedBit)")
        }
        let projectionSeed = kindByte & derivedSeedBit != 0 ? theta0Seed ^ derivedSeedMask : try r.varint("projection seed")
        let d = try r.varintCount("d", limit: Limits.maxSubspaceDimension)
        let projection = ProjectionSpec(kind: kind, seed: projectionSeed, dimension: d)
        // Before any theta_d byte: a file cannot make the reader decode d symbols for a
        // model it then refuses (Formats/idz-v2.md 3.1).
        try IdzModelCheck.checkProjection(projection, parameterCount: parameterCount)

        let preprocessing: Preprocessing
        let form = try r.u8("preprocessing form")
        switch form {
        case defaultPreprocessing:
            preprocessing = Preprocessing()
        case storedPreprocessing:
            let scale = try r.f32("input scale")
            let channels = try r.varintCount("channel count", limit: ContainerLimits.maxPreprocessingChannels)
            try r.checkRoom(for: channels, of: 8, "channels")
            var mean: [Float] = [], deviation: [Float] = []
            for _ in 0..<channels { mean.append(try r.f32("mean")) }
            for _ in 0..<channels { deviation.append(try r.f32("std")) }
            preprocessing = Preprocessing(inputScale: scale, mean: mean, standardDeviation: deviation)
        default:
            throw IdzError(.unknownValue, "unknown preprocessing form \(form)")
        }

        var labels: [String] = []
        let labelForm = try r.u8("label form")
        switch labelForm {
        case noLabels:
            break
        case decimalLabels:
            let outputs: Int
            do { outputs = try architecture.outputCount() } catch { throw IdzError(.invalidArchitecture, error.description) }
            guard outputs <= ContainerLimits.maxLabels else {
                throw IdzError(.limitExceeded, "\(outputs) decimal labels exceed the limit \(ContainerLimits.maxLabels)")
            }
            labels = decimal(outputs)
        case storedLabels:
            let count = try r.varintCount("label count", limit: ContainerLimits.maxLabels)
            guard count > 0 else { throw IdzError(.invalidValue, "stored labels with a count of 0 (use the form 0)") }
            try r.checkRoom(for: count, of: 1, "labels")
            for index in 0..<count { labels.append(try r.varintString("label \(index)", limit: ContainerLimits.maxNameBytes)) }
        default:
            throw IdzError(.unknownValue, "unknown label form \(labelForm)")
        }

        let entryCount = try r.varintCount("metadata entry count", limit: ContainerLimits.maxMetadataEntries)
        try r.checkRoom(for: entryCount, of: 2, "metadata entries")
        var metadata: [MetadataEntry] = []
        for _ in 0..<entryCount {
            let key = try r.varintString("metadata key", limit: ContainerLimits.maxNameBytes)
            let field = "metadata \(IdzError.quote(key))"
            let code = try r.u8("type of \(field)")
            guard let type = MetadataTypeCode(rawValue: code) else {
                throw IdzError(.unknownValue, "unknown metadata type \(code) for key \(IdzError.quote(key))")
            }
            let value: MetadataValue
            switch type {
            case .int: value = .int(Int64(bitPattern: try r.u64(field)))
            case .double: value = .double(try r.f64(field))
            case .string: value = .string(try r.varintString(field, limit: ContainerLimits.maxMetadataValueBytes))
            case .bool:
                let byte = try r.u8(field)
                guard byte <= 1 else {
                    throw IdzError(.invalidValue, "metadata \(IdzError.quote(key)) is a bool stored as \(byte); only 0 and 1 are allowed")
                }
                value = .bool(byte == 1)
            case .bytes: value = .bytes(Array(try r.varintBlob(field, limit: ContainerLimits.maxMetadataValueBytes)))
            }
            metadata.append(MetadataEntry(key: key, value: value))
        }

        let digestLength = Int(try r.u8("weights digest length"))
        guard ContainerProfile.allowedDigestBytes.contains(digestLength) else {
            throw IdzError(.invalidValue, "a weights digest of \(digestLength) bytes (allowed: 0, 4, 8, 16, 32)")
        }
        let digest = Array(try r.raw(digestLength, "the weights digest"))

        let code = try r.u8("theta encoding")
        guard let encoding = ThetaEncoding(rawValue: code) else {
            throw IdzError(.unknownValue, "unknown theta encoding \(code)")
        }
        let theta: StoredTheta
        switch encoding {
        case .float32:
            try r.checkRoom(for: d, of: 4, "float32 values")
            theta = .float32(BytePlanes.joinFloat32(try r.raw(4 * d, "float32 byte planes"), count: d))
        case .float16:
            try r.checkRoom(for: d, of: 2, "float16 values")
            theta = .float16(BytePlanes.joinFloat16(try r.raw(2 * d, "float16 byte planes"), count: d))
        case .int8:
            let scale = try r.f32("int8 scale")
            theta = .int8(try r.raw(d, "int8 values").map { Int8(bitPattern: $0) }, scale: scale)
        case .codebook:
            theta = try CodebookBlock.read(&r, count: d)
        }
        try r.expectEnd()
        return IdzModel(
            architecture: architecture, theta0Seed: theta0Seed, projection: projection, theta: theta,
            preprocessing: preprocessing, labels: labels, metadata: metadata, weightsSHA256: digest)
    }
}

extension ByteWriter {
    /// A varint length, then the bytes.
    mutating func varintBytes(_ value: [UInt8]) {
        varint(value.count)
        raw(value)
    }
}
