/// Parses the uncompressed payload into a model. Every count is checked against a limit
/// and against the bytes that remain before anything is allocated for it.
enum PayloadDecoder {
    /// - Parameter version: the file's format version (1 or 2; 2 allows codebook theta_d).
    static func model(from payload: [UInt8], version: UInt32 = 1) throws(IdzError) -> IdzModel {
        let sections = try splitSections(payload, version: version)
        func required(_ tag: SectionTag) throws(IdzError) -> ByteReader {
            guard let body = sections[tag] else {
                throw IdzError(.missingSection, "missing required \(tag.name) section (\(SectionTag.hex(tag.rawValue)))")
            }
            return ByteReader(body, context: "\(tag.name) section")
        }

        var reader = try required(.architecture)
        var architecture = try readArchitecture(&reader, version: version)
        try reader.expectEnd()
        if let body = sections[.layerGraph] {
            // Version 3's sources and names, read before the architecture rules are checked.
            reader = ByteReader(body, context: "layer graph section")
            let graph = try Version3Sections.readGraph(&reader, layerCount: architecture.layers.count)
            try reader.expectEnd()
            architecture = Architecture(inputShape: architecture.inputShape, layers: architecture.layers, sources: graph.sources, names: graph.names)
        }
        let tensors = try IdzModelCheck.parameterTensors(of: architecture)

        reader = try required(.tensorTable)
        try checkTensorTable(&reader, against: tensors)
        try reader.expectEnd()

        reader = try required(.theta0)
        let theta0Seed = try reader.u64("seed")
        try reader.expectEnd()

        reader = try required(.projection)
        let projection = try readProjection(&reader)
        try reader.expectEnd()

        reader = try required(.thetaD)
        let parameterCount = tensors.last.map { $0.offset + $0.count } ?? 0
        let theta = try readTheta(&reader, allowCodebook: version >= 2, projection: projection, parameterCount: parameterCount)
        try reader.expectEnd()

        reader = try required(.preprocessing)
        let preprocessing = try readPreprocessing(&reader)
        try reader.expectEnd()

        reader = try required(.weightsSHA256)
        let weightsSHA256 = Array(try reader.raw(IdzLayout.sha256Size, "the SHA-256"))
        try reader.expectEnd()

        // Version 3's buffers (Formats/idz-v3.md section 5), in tag order after 0x0007.
        let bufferTensors: [TensorSpec]
        do { bufferTensors = try architecture.bufferTensors() } catch { throw IdzError(.invalidArchitecture, error.description) }
        var buffers: [Float] = []
        var batchesTracked: UInt64 = 0
        if let body = sections[.buffers] {
            guard !bufferTensors.isEmpty else {
                throw IdzError(.inconsistentShapes, "inconsistent shapes: a buffers section, but the network has no batch normalisation")
            }
            reader = ByteReader(body, context: "buffers section")
            (buffers, batchesTracked) = try Version3Sections.readBuffers(&reader, expected: bufferTensors)
            try reader.expectEnd()
        } else if !bufferTensors.isEmpty {
            throw IdzError(.missingSection, "missing required buffers section (0x0008): the network has batch normalisation")
        }

        var labels: [String] = []
        if let body = sections[.labels] {
            reader = ByteReader(body, context: "labels section")
            labels = try readLabels(&reader)
            try reader.expectEnd()
        }

        var metadata: [MetadataEntry] = []
        if let body = sections[.metadata] {
            reader = ByteReader(body, context: "metadata section")
            metadata = try readMetadata(&reader)
            try reader.expectEnd()
        }

        var model = IdzModel(
            architecture: architecture, theta0Seed: theta0Seed, projection: projection, theta: theta,
            preprocessing: preprocessing, labels: labels, metadata: metadata, weightsSHA256: weightsSHA256,
            buffers: buffers, batchesTracked: batchesTracked
        )
        try readVersion3Sections(sections, into: &model, version: version, tensors: tensors)
        try IdzModelCheck.check(model)
        return model
    }

    /// Sections 0x000A (base) and 0x000B (tensor modes), which only version 3 holds.
    static func readVersion3Sections(
        _ sections: [SectionTag: ArraySlice<UInt8>], into model: inout IdzModel, version: UInt32, tensors: [TensorSpec]
    ) throws(IdzError) {
        if let body = sections[.base] {
            var reader = ByteReader(body, context: "base section")
            model.base = try BaseSections.readBase(&reader)
            try reader.expectEnd()
        }
        if let body = sections[.tensorModes] {
            var reader = ByteReader(body, context: "tensor modes section")
            model.tensorModes = try BaseSections.readModes(&reader, tensors: tensors)
            try reader.expectEnd()
        }
    }

    /// The body of each known section; unknown ancillary sections are skipped.
    /// A section of a later version than the file's (version 3's 0x0008 and 0x0009 in a
    /// version 1 or 2 file) is an unknown critical section.
    static func splitSections(_ payload: [UInt8], version: UInt32 = 1) throws(IdzError) -> [SectionTag: ArraySlice<UInt8>] {
        var reader = ByteReader(payload[...], context: "payload")
        var sections: [SectionTag: ArraySlice<UInt8>] = [:]
        while !reader.isAtEnd {
            let tag = try reader.u16("a section tag")
            let length = try reader.u32("the length of section \(SectionTag.hex(tag))")
            guard Int(length) <= reader.remaining else {
                throw IdzError(.malformedSection, "section \(SectionTag.hex(tag)) declares \(length) bytes, but only \(reader.remaining) remain in the payload")
            }
            let body = try reader.raw(Int(length), "section \(SectionTag.hex(tag))")
            guard let known = SectionTag(rawValue: tag), known.version <= version else {
                if SectionTag.isAncillary(tag) { continue }
                if let known = SectionTag(rawValue: tag), known == .base || known == .tensorModes {
                    throw IdzError(.unknownSection, "the \(known.name) section (\(SectionTag.hex(tag))) needs format version 3; this file is version \(version)")
                }
                throw IdzError(.unknownSection, "unknown critical section \(SectionTag.hex(tag)) (written by a newer idzip?)")
            }
            guard sections[known] == nil else {
                throw IdzError(.duplicateSection, "duplicate \(known.name) section (\(SectionTag.hex(tag)))")
            }
            sections[known] = body
        }
        return sections
    }

    // MARK: Sections

    /// - Parameter version: the file's format version; layer codes 7 to 16 need version 3.
    static func readArchitecture(_ reader: inout ByteReader, version: UInt32 = 1) throws(IdzError) -> Architecture {
        let rank = Int(try reader.u8("input rank"))
        guard rank <= Limits.maxRank else {
            throw IdzError(.limitExceeded, "input rank \(rank) exceeds the limit \(Limits.maxRank)")
        }
        try reader.checkRoom(for: rank, of: 8, "input dimensions")
        var inputShape: [Int] = []
        for _ in 0..<rank {
            inputShape.append(try reader.count("input dimension", limit: Limits.maxDimension))
        }
        let layerCount = try reader.count32("layer count", limit: Limits.maxLayers)
        try reader.checkRoom(for: layerCount, of: 1, "layers")
        var layers: [Layer] = []
        for index in 0..<layerCount {
            layers.append(try readLayer(&reader, index: index, version: version))
        }
        return Architecture(inputShape: inputShape, layers: layers)
    }

    private static func readLayer(_ reader: inout ByteReader, index: Int, version: UInt32) throws(IdzError) -> Layer {
        let code = try reader.u8("layer \(index) type")
        if let newCode = Version3Sections.Code(rawValue: code) {
            guard version >= 3 else {
                throw IdzError(.unknownValue, "unknown layer type \(code) (layer \(index)): it needs format version 3, this file is version \(version)")
            }
            return try Version3Sections.readLayer(&reader, code: newCode, index: index)
        }
        guard let type = LayerCode(rawValue: code) else {
            throw IdzError(.unknownValue, "unknown layer type \(code) (layer \(index))")
        }
        func dimension(_ name: String) throws(IdzError) -> Int {
            try reader.count("layer \(index) \(name)", limit: Limits.maxDimension)
        }
        switch type {
        case .dense:
            return .dense(units: try dimension("units"))
        case .conv2d:
            let filters = try dimension("filters")
            let kernel = try dimension("kernel")
            let paddingCode = try reader.u8("layer \(index) padding")
            guard let padding = Padding(rawValue: paddingCode) else {
                throw IdzError(.unknownValue, "unknown padding \(paddingCode) (layer \(index))")
            }
            return .conv2d(filters: filters, kernel: kernel, padding: padding)
        case .maxPool:
            return .maxPool(size: try dimension("pool size"))
        case .relu:
            return .relu
        case .flatten:
            return .flatten
        case .toyGroupSum:
            let groups = try dimension("groups")
            return .toyGroupSum(groups: groups, size: try dimension("group size"))
        }
    }

    /// The stored table must repeat exactly the tensors the architecture defines.
    static func checkTensorTable(_ reader: inout ByteReader, against expected: [TensorSpec]) throws(IdzError) {
        let count = try reader.count32("tensor count", limit: Limits.maxParameters)
        // A tensor takes at least a name length (4), a rank (1) and an init scheme (1).
        try reader.checkRoom(for: count, of: 6, "tensors")
        guard count == expected.count else {
            throw IdzError(.inconsistentShapes, "inconsistent shapes: the tensor table lists \(count) tensors, the architecture defines \(expected.count)")
        }
        for tensor in expected {
            let name = try reader.string("tensor name", limit: ContainerLimits.maxNameBytes)
            let quoted = IdzError.quote(name)
            let rank = Int(try reader.u8("rank of \(quoted)"))
            guard rank <= Limits.maxRank else {
                throw IdzError(.limitExceeded, "tensor \(quoted) has rank \(rank), over the limit \(Limits.maxRank)")
            }
            try reader.checkRoom(for: rank, of: 8, "dimensions")
            var shape: [Int] = []
            for _ in 0..<rank {
                shape.append(try reader.count("dimension of \(quoted)", limit: Limits.maxParameters))
            }
            let schemeCode = try reader.u8("init scheme of \(quoted)")
            guard let scheme = InitScheme(rawValue: schemeCode) else {
                throw IdzError(.unknownValue, "unknown init scheme \(schemeCode) (tensor \(quoted))")
            }
            guard Array(name.utf8) == Array(tensor.name.utf8), shape == tensor.shape, scheme == tensor.initScheme else {
                throw IdzError(.inconsistentShapes, "inconsistent shapes: the tensor table has \(quoted) \(shape) \(scheme.name), the architecture defines \(tensor.name) \(tensor.shape) \(tensor.initScheme.name)")
            }
        }
    }

    static func readProjection(_ reader: inout ByteReader) throws(IdzError) -> ProjectionSpec {
        let code = try reader.u8("projection kind")
        guard let kind = ProjectionKind(rawValue: code) else {
            throw IdzError(.unknownValue, "unknown projection kind \(code)")
        }
        let seed = try reader.u64("projection seed")
        let dimension = try reader.u64("d")
        guard dimension <= UInt64(Limits.maxSubspaceDimension) else {
            throw IdzError(.limitExceeded, "declared d \(dimension) exceeds the limit \(Limits.maxSubspaceDimension)")
        }
        return ProjectionSpec(kind: kind, seed: seed, dimension: Int(dimension))
    }

    /// `projection` and `parameterCount` (D): a codebook's count and the projection rules
    /// are checked before its symbols are decoded (Formats/idz-v2.md section 4).
    static func readTheta(
        _ reader: inout ByteReader, allowCodebook: Bool, projection: ProjectionSpec, parameterCount: Int
    ) throws(IdzError) -> StoredTheta {
        let code = try reader.u8("theta encoding")
        guard let encoding = ThetaEncoding(rawValue: code) else {
            throw IdzError(.unknownValue, "unknown theta encoding \(code)")
        }
        let count = try reader.count("theta_d count", limit: Limits.maxSubspaceDimension)
        switch encoding {
        case .float32:
            // Four byte planes of n bytes (section 4.5); n <= 2^26, so 4·n cannot overflow.
            try reader.checkRoom(for: count, of: 4, "float32 values")
            let planes = try reader.raw(4 * count, "float32 byte planes")
            return .float32(BytePlanes.joinFloat32(planes, count: count))
        case .float16:
            try reader.checkRoom(for: count, of: 2, "float16 values")
            let planes = try reader.raw(2 * count, "float16 byte planes")
            return .float16(BytePlanes.joinFloat16(planes, count: count))
        case .int8:
            let scale = try reader.f32("int8 scale")
            let bytes = try reader.raw(count, "int8 values")
            return .int8(bytes.map { Int8(bitPattern: $0) }, scale: scale)
        case .codebook:
            // The sections layout holds a codebook only in version 2.
            guard allowCodebook else {
                throw IdzError(.unknownValue, "theta encoding 4 (codebook) needs format version 2; this file is version 1")
            }
            guard count == projection.dimension else {
                throw IdzError(.invalidValue, "theta_d has \(count) values, but d is \(projection.dimension)")
            }
            try IdzModelCheck.checkProjection(projection, parameterCount: parameterCount)
            return try CodebookBlock.read(&reader, count: count)
        }
    }

    static func readPreprocessing(_ reader: inout ByteReader) throws(IdzError) -> Preprocessing {
        let inputScale = try reader.f32("input scale")
        let channels = try reader.count32("channel count", limit: ContainerLimits.maxPreprocessingChannels)
        try reader.checkRoom(for: channels, of: 8, "channels")
        var mean: [Float] = []
        for _ in 0..<channels { mean.append(try reader.f32("mean")) }
        var deviation: [Float] = []
        for _ in 0..<channels { deviation.append(try reader.f32("std")) }
        return Preprocessing(inputScale: inputScale, mean: mean, standardDeviation: deviation)
    }

    static func readLabels(_ reader: inout ByteReader) throws(IdzError) -> [String] {
        let count = try reader.count32("label count", limit: ContainerLimits.maxLabels)
        // Section 4.8: a labels section names every output; a file without labels omits it.
        guard count > 0 else { throw IdzError(.invalidValue, "the labels section has no labels (a file without labels omits the section)") }
        try reader.checkRoom(for: count, of: 4, "labels")
        var labels: [String] = []
        for index in 0..<count {
            labels.append(try reader.string("label \(index)", limit: ContainerLimits.maxNameBytes))
        }
        return labels
    }

    static func readMetadata(_ reader: inout ByteReader) throws(IdzError) -> [MetadataEntry] {
        let count = try reader.count32("metadata entry count", limit: ContainerLimits.maxMetadataEntries)
        // An entry takes at least a key length (4) and a type (1).
        try reader.checkRoom(for: count, of: 5, "metadata entries")
        var entries: [MetadataEntry] = []
        for _ in 0..<count {
            let key = try reader.string("metadata key", limit: ContainerLimits.maxNameBytes)
            let field = "metadata \(IdzError.quote(key))"
            let code = try reader.u8("type of \(field)")
            guard let type = MetadataTypeCode(rawValue: code) else {
                throw IdzError(.unknownValue, "unknown metadata type \(code) for key \(IdzError.quote(key))")
            }
            let value: MetadataValue
            switch type {
            case .int:
                value = .int(Int64(bitPattern: try reader.u64(field)))
            case .double:
                value = .double(try reader.f64(field))
            case .string:
                value = .string(try reader.string(field, limit: ContainerLimits.maxMetadataValueBytes))
            case .bool:
                let byte = try reader.u8(field)
                guard byte <= 1 else {
                    throw IdzError(.invalidValue, "metadata \(IdzError.quote(key)) is a bool stored as \(byte); only 0 and 1 are allowed")
                }
                value = .bool(byte == 1)
            case .bytes:
                value = .bytes(Array(try reader.blob(field, limit: ContainerLimits.maxMetadataValueBytes)))
            }
            entries.append(MetadataEntry(key: key, value: value))
        }
        return entries
    }
}
