import Foundation
import IdzipCore

/// Version 3's layers, layer graph and buffers (Formats/idz-v3.md sections 3 to 5): an
/// independent writer of version 3 payloads, written from the spec, and the hostile files
/// (`v3-*`) of the corpus, each built field by field and sealed with a correct trailer so
/// that it reaches the check it targets.
enum Version3Bytes {
    static let graphTag: UInt16 = 0x0009
    static let buffersTag: UInt16 = 0x0008

    /// A small residual network with batch norm, a depthwise convolution, a branch and
    /// names: input [2, 6, 6]; D = 171. Layers:
    /// 0 conv 3x3x4 pad 1 no bias, 1 bn, 2 relu, 3 depthwise 3x3 pad 1 no bias, 4 bn,
    /// 5 leaky relu, 6 add 2, 7 conv 1x1x4 from 2, 8 add 6, 9 global avgpool, 10 dense 3.
    static func residualArchitecture() -> Architecture {
        Architecture(
            inputShape: [2, 6, 6],
            layers: [
                .convolution(Convolution2D(filters: 4, kernel: 3, padding: 1, bias: false)), .batchNorm(epsilon: 1e-5, momentum: 0.1), .relu,
                .convolution(Convolution2D(filters: 4, kernel: 3, padding: 1, groups: 4, bias: false)), .batchNorm(epsilon: 1e-3, momentum: 0.01),
                .activation(.leakyReLU(slope: 0.1)), .add(other: 2),
                .convolution(Convolution2D(filters: 4, kernel: 1)), .add(other: 6), .globalAveragePool, .dense(units: 3),
            ],
            sources: [-1, 0, 1, 2, 3, 4, 5, 2, 7, 8, 9],
            names: ["stem.conv", "stem.bn", "stem.relu", "block.conv", "block.bn", "block.act", "block.add", "side.conv", "join", "pool", "head"])
    }

    /// The residual network with float32 theta_d (identity projection), its true digest,
    /// and buffers that are not the initial ones.
    static func residualModel() throws -> IdzModel {
        let architecture = residualArchitecture()
        let d = try architecture.parameterCount()
        var model = try TestModels.model(
            architecture, seed: 99, theta: .float32((0..<d).map { Float($0 % 11) * 0.03125 - 0.15625 }),
            projection: ProjectionSpec(kind: .identity, seed: 0, dimension: d), labels: ["a", "b", "c"])
        model.buffers = (0..<16).map { index in index % 8 < 4 ? Float(index) * 0.25 - 1 : 0.5 + Float(index) * 0.125 }
        model.batchesTracked = 12
        return model
    }

    /// The payload a version 3 writer produces, section by section (ascending tags:
    /// 0x0001 to 0x0009, then the ancillary ones).
    static func payload(for model: IdzModel) throws -> TestPayload {
        let v1 = try TestPayload.standard(for: try stripped(model))
        var sections = v1.sections.filter { $0.tag != Tag.architecture && $0.tag != Tag.tensorTable && $0.tag < 0x8000 }
        sections.insert((Tag.architecture, architecture(model.architecture)), at: 0)
        sections.insert((Tag.tensorTable, tensorTable(try model.architecture.parameterTensors())), at: 1)
        if !model.buffers.isEmpty { sections.append((buffersTag, buffers(model.buffers, batches: model.batchesTracked))) }
        if !model.architecture.sources.isEmpty || !model.architecture.names.isEmpty {
            sections.append((graphTag, graph(sources: model.architecture.sources, names: model.architecture.names)))
        }
        sections += v1.sections.filter { $0.tag >= 0x8000 }
        return TestPayload(sections: sections)
    }

    /// The model with a version 1 stand-in architecture of as many outputs (for the
    /// sections that do not depend on the architecture; its own two are replaced).
    private static func stripped(_ model: IdzModel) throws -> IdzModel {
        var copy = model
        copy.architecture = .fullyConnected(inputShape: [4], widths: [try model.architecture.outputCount()])
        copy.buffers = []
        copy.batchesTracked = 0
        return copy
    }

    static func architecture(_ architecture: Architecture) -> [UInt8] {
        TestPayload.architectureBody(inputShape: architecture.inputShape.map(UInt64.init), layers: architecture.layers.map(layer))
    }

    /// One layer, version 1 codes or version 3's (section 3).
    static func layer(_ layer: Layer) -> [UInt8] {
        TestBytes.build { w in
            switch layer {
            case .dense(let units): w.u8(1); w.u64(UInt64(units))
            case .conv2d(let filters, let kernel, let padding): w.u8(2); w.u64(UInt64(filters)); w.u64(UInt64(kernel)); w.u8(padding.rawValue)
            case .maxPool(let size): w.u8(3); w.u64(UInt64(size))
            case .relu: w.u8(4)
            case .flatten: w.u8(5)
            case .toyGroupSum(let groups, let size): w.u8(6); w.u64(UInt64(groups)); w.u64(UInt64(size))
            case .convolution(let c):
                w.u8(7)
                for field in [c.filters, c.kernel, c.stride, c.padding, c.groups] { w.u64(UInt64(field)) }
                w.u8(c.bias ? 1 : 0)
            case .batchNorm(let epsilon, let momentum): w.u8(8); w.f32(epsilon); w.f32(momentum)
            case .averagePool(let size): w.u8(9); w.u64(UInt64(size))
            case .globalAveragePool: w.u8(10)
            case .add(let other): w.u8(11); w.u32(UInt32(other + 1))
            case .dropout(let rate): w.u8(12); w.f32(rate)
            case .activation(.leakyReLU(let slope)): w.u8(13); w.f32(slope)
            case .activation(.gelu): w.u8(14)
            case .activation(.tanh): w.u8(15)
            case .activation(.sigmoid): w.u8(16)
            }
        }
    }

    static func tensorTable(_ tensors: [TensorSpec]) -> [UInt8] {
        TestBytes.build { w in
            w.u32(UInt32(tensors.count))
            for tensor in tensors {
                w.string(tensor.name)
                w.u8(UInt8(tensor.shape.count))
                for dimension in tensor.shape { w.u64(UInt64(dimension)) }
                w.u8(tensor.initScheme.rawValue)
            }
        }
    }

    static func graph(sources: [Int], names: [String], flags: UInt8? = nil) -> [UInt8] {
        TestBytes.build { w in
            w.u8(flags ?? ((sources.isEmpty ? 0 : 1) | (names.isEmpty ? 0 : 2)))
            for source in sources { w.u32(UInt32(source + 1)) }
            for name in names { w.string(name) }
        }
    }

    static func buffers(_ values: [Float], batches: UInt64, count: UInt64? = nil) -> [UInt8] {
        TestBytes.build { w in
            w.u64(batches)
            w.u64(count ?? UInt64(values.count))
            for value in values { w.f32(value) }
        }
    }

    /// A version 3 standard file: magic, version 3, layout 0, flags, lengths, the payload
    /// (stored zlib), SHA-256 (Formats/idz-v2.md section 2's preamble with version 3).
    static func file(_ payload: [UInt8], version: UInt32 = 3) -> [UInt8] {
        let compressed = TestZlib.stored(payload)
        let body = TestBytes.build { w in
            w.raw(TestFile.magic)
            w.u32(version)
            if version >= 2 { w.u8(0) }
            w.u32(0)
            w.u64(UInt64(compressed.count))
            w.u64(UInt64(payload.count))
            w.raw(compressed)
        }
        return body + IdzChecksum.sha256(body)
    }
}

extension HostileCorpus {
    static func version3Cases() throws -> [HostileCase] {
        var cases: [HostileCase] = []
        let model = try Version3Bytes.residualModel()
        let base = try Version3Bytes.payload(for: model)
        let architecture = model.architecture
        func add(_ name: String, _ expected: IdzError.Kind?, _ payload: TestPayload, version: UInt32 = 3) {
            cases.append(HostileCase(name: name, bytes: Version3Bytes.file(payload.bytes, version: version), expected: expected, payload: payload.bytes))
        }
        func layers(_ name: String, _ expected: IdzError.Kind, _ edit: (inout [[UInt8]]) -> Void) {
            var encoded = architecture.layers.map(Version3Bytes.layer)
            edit(&encoded)
            add(name, expected, base.replacing(Tag.architecture, with: TestPayload.architectureBody(inputShape: [2, 6, 6], layers: encoded)))
        }
        func graph(_ name: String, _ expected: IdzError.Kind, sources: [Int]? = nil, names: [String]? = nil, flags: UInt8? = nil) {
            add(name, expected, base.replacing(Version3Bytes.graphTag, with: Version3Bytes.graph(
                sources: sources ?? architecture.sources, names: names ?? architecture.names, flags: flags)))
        }
        func buffers(_ name: String, _ expected: IdzError.Kind?, _ body: [UInt8]) {
            add(name, expected, base.replacing(Version3Bytes.buffersTag, with: body))
        }
        var names = architecture.names

        add("v3-valid-residual-batchnorm.idz", nil, base)
        cases.append(HostileCase(name: "v3-valid-written-by-idzip.idz", bytes: try IdzFile.encode(model), expected: nil))

        // Version 3 features in older versions.
        add("v3-layer-code-in-version-2.idz", .unknownValue, base.removing(Version3Bytes.graphTag).removing(Version3Bytes.buffersTag), version: 2)
        let plain = try TestPayload.standard(for: TestModels.tinyDense())
        add("v3-graph-section-in-version-1.idz", .unknownSection, plain.appending(Version3Bytes.graphTag, Version3Bytes.graph(sources: [], names: ["a", "b", "c"])), version: 1)
        cases.append(HostileCase(name: "v3-compact-layout.idz", bytes: compactFile(CompactBody().bytes, version: 3), expected: .unsupportedFlags))

        // Layers (section 3).
        layers("v3-unknown-layer-17.idz", .unknownValue) { $0[5] = [17] }
        layers("v3-conv-bias-byte-2.idz", .invalidValue) { $0[0][$0[0].count - 1] = 2 }
        layers("v3-conv-stride-2e60.idz", .limitExceeded) { $0[0] = TestBytes.build { w in w.u8(7); for v: UInt64 in [4, 3, 1 << 60, 1, 1] { w.u64(v) }; w.u8(0) } }
        layers("v3-conv-stride-65.idz", .invalidArchitecture) { $0[0] = TestBytes.build { w in w.u8(7); for v: UInt64 in [4, 3, 65, 1, 1] { w.u64(v) }; w.u8(0) } }
        layers("v3-depthwise-groups-not-channels.idz", .invalidArchitecture) { $0[3] = TestBytes.build { w in w.u8(7); for v: UInt64 in [4, 3, 1, 1, 2] { w.u64(v) }; w.u8(0) } }
        layers("v3-batchnorm-epsilon-zero.idz", .invalidArchitecture) { $0[1] = TestBytes.build { $0.u8(8); $0.f32(0); $0.f32(0.1) } }
        layers("v3-batchnorm-momentum-nan.idz", .invalidArchitecture) { $0[1] = TestBytes.build { $0.u8(8); $0.f32(1e-5); $0.f32(.nan) } }
        layers("v3-dropout-rate-1.idz", .invalidArchitecture) { $0[5] = TestBytes.build { $0.u8(12); $0.f32(1) } }
        layers("v3-add-later-layer.idz", .invalidArchitecture) { $0[6] = TestBytes.build { $0.u8(11); $0.u32(10) } }
        layers("v3-add-shape-mismatch.idz", .invalidArchitecture) { $0[8] = TestBytes.build { $0.u8(11); $0.u32(0) } }
        layers("v3-add-cut-short.idz", .malformedSection) { $0[10] = [11, 1] }
        layers("v3-global-avgpool-on-flat.idz", .invalidArchitecture) { $0[10] = [10] }

        // Layer graph and names (section 4).
        graph("v3-graph-flags-zero.idz", .invalidValue, flags: 0)
        graph("v3-graph-flags-unknown-bit.idz", .invalidValue, flags: 7)
        graph("v3-source-later-layer.idz", .invalidArchitecture, sources: [-1, 0, 1, 5, 3, 4, 5, 2, 7, 8, 9])
        graph("v3-source-itself.idz", .invalidArchitecture, sources: [-1, 0, 1, 2, 3, 4, 5, 7, 7, 8, 9])
        graph("v3-source-shape-mismatch.idz", .invalidArchitecture, sources: [-1, 0, 1, 2, 3, 4, 5, 2, 7, 8, 8])
        names[10] = String(repeating: "h", count: 300)
        graph("v3-name-300-bytes.idz", .limitExceeded, names: names)
        names[10] = "head layer"
        graph("v3-name-with-space.idz", .invalidArchitecture, names: names)
        names[10] = "head..fc"
        graph("v3-name-empty-part.idz", .invalidArchitecture, names: names)
        names[10] = "stem.conv"
        graph("v3-name-duplicate.idz", .invalidArchitecture, names: names)
        names[10] = "stem.conv.fc"
        graph("v3-name-inside-a-layer-with-tensors.idz", .invalidArchitecture, names: names)
        names[10] = "h\u{e9}ad"
        graph("v3-name-not-ascii.idz", .invalidArchitecture, names: names)
        add("v3-graph-names-cut-short.idz", .malformedSection, base.replacing(Version3Bytes.graphTag, with: Array(Version3Bytes.graph(sources: architecture.sources, names: architecture.names).dropLast(2))))
        add("v3-tensor-table-default-names.idz", .inconsistentShapes, base.removing(Version3Bytes.graphTag))

        // Init scheme ones (section 3) in the tensor table.
        var tensors = try architecture.parameterTensors()
        tensors[1].initScheme = .zeros
        add("v3-batchnorm-weight-zeros.idz", .inconsistentShapes, base.replacing(Tag.tensorTable, with: Version3Bytes.tensorTable(tensors)))

        // Buffers (section 5).
        add("v3-buffers-missing.idz", .missingSection, base.removing(Version3Bytes.buffersTag))
        buffers("v3-buffers-count-15.idz", .inconsistentShapes, Version3Bytes.buffers(Array(model.buffers.prefix(15)), batches: 12))
        buffers("v3-buffers-count-2e40.idz", .malformedSection, Version3Bytes.buffers(model.buffers, batches: 12, count: 1 << 40))
        buffers("v3-buffers-trailing-byte.idz", .malformedSection, Version3Bytes.buffers(model.buffers, batches: 12) + [0])
        var bad = model.buffers
        bad[3] = .nan
        buffers("v3-buffers-nan.idz", .invalidValue, Version3Bytes.buffers(bad, batches: 12))
        bad = model.buffers
        bad[5] = -0.25
        buffers("v3-buffers-negative-variance.idz", .invalidValue, Version3Bytes.buffers(bad, batches: 12))
        bad = model.buffers
        bad[1] = -0.25
        buffers("v3-buffers-negative-mean-is-valid.idz", nil, Version3Bytes.buffers(bad, batches: 12))
        buffers("v3-buffers-batches-2e63.idz", .invalidValue, Version3Bytes.buffers(model.buffers, batches: 1 << 63))
        let dense = try TestModels.tinyDense()
        var named = dense
        named.architecture = Architecture(inputShape: [4], layers: dense.architecture.layers, names: ["fc1", "act", "fc2"])
        add("v3-buffers-without-batchnorm.idz", .inconsistentShapes,
            try Version3Bytes.payload(for: named).appending(Version3Bytes.buffersTag, Version3Bytes.buffers([], batches: 0)))

        // Two defects: the graph's rules come before the tensor table's.
        add("v3-two-defects-graph-before-tensor-table.idz", .invalidArchitecture,
            base.replacing(Version3Bytes.graphTag, with: Version3Bytes.graph(sources: [-1, 0, 1, 5, 3, 4, 5, 2, 7, 8, 9], names: architecture.names))
                .replacing(Tag.tensorTable, with: Version3Bytes.tensorTable(tensors)))
        return cases
    }
}
