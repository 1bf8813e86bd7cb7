import Foundation
import IdzipCore
import Testing

/// The ONNX export's structure: preprocessing nodes, one node per layer with the right
/// attributes, initializers with PyTorch shapes and exactly the expanded weights, a named
/// input and output with a symbolic batch; the toy objective and bad weights are refused
/// without leaving a file. (onnxruntime runs the graphs in Tests/python/test_onnx_export.py.)
struct OnnxExportTests {
    static func sample(_ name: String) throws -> IdzModel {
        try IdzFile.read(contentsOf: RepositoryFiles.url("Formats/samples/\(name)"))
    }

    /// The exported bytes, decoded again.
    static func exported(_ model: IdzModel, threads: Int = 2) throws -> Onnx_ModelProto {
        try Onnx_ModelProto(serializedBytes: OnnxExport.serializedModel(model, threads: threads))
    }

    static func shapes(_ proto: Onnx_ModelProto) -> [String: [Int64]] {
        Dictionary(uniqueKeysWithValues: proto.graph.initializer.map { ($0.name, $0.dims) })
    }

    static func dimensions(_ info: Onnx_ValueInfoProto) -> [String] {
        info.type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? String($0.dimValue) : $0.dimParam }
    }

    static func attribute(_ node: Onnx_NodeProto, _ name: String) -> [Int64]? {
        node.attribute.first { $0.name == name }.map { $0.type == .ints ? $0.ints : [$0.i] }
    }

    static func littleEndianBytes(_ values: ArraySlice<Float>) -> Data {
        var data = Data()
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    @Test func leNetBecomesConvPoolGemm() throws {
        let model = try Self.sample("lenet-fastfood-d300-float16.idz")
        let proto = try Self.exported(model)
        #expect(proto.irVersion == 8)
        #expect(proto.opsetImport.map(\.version) == [18] && proto.opsetImport[0].domain.isEmpty)
        #expect(proto.graph.node.map(\.opType) == [
            "Mul", "Sub", "Div",
            "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten",
            "Gemm", "Relu", "Gemm", "Relu", "Gemm",
        ])
        #expect(Self.shapes(proto) == [
            "preprocessing.input_scale": [], "preprocessing.mean": [], "preprocessing.std": [],
            "layers.0.weight": [6, 1, 5, 5], "layers.0.bias": [6],
            "layers.3.weight": [16, 6, 5, 5], "layers.3.bias": [16],
            "layers.7.weight": [120, 256], "layers.7.bias": [120],
            "layers.9.weight": [84, 120], "layers.9.bias": [84],
            "layers.11.weight": [10, 84], "layers.11.bias": [10],
        ])
        let conv = proto.graph.node[3]
        #expect(conv.input == ["preprocessing.output", "layers.0.weight", "layers.0.bias"])
        #expect(Self.attribute(conv, "kernel_shape") == [5, 5] && Self.attribute(conv, "pads") == [0, 0, 0, 0])
        #expect(Self.attribute(conv, "strides") == [1, 1])
        let pool = proto.graph.node[5]
        #expect(Self.attribute(pool, "kernel_shape") == [2, 2] && Self.attribute(pool, "strides") == [2, 2])
        #expect(Self.attribute(pool, "ceil_mode") == [0])
        #expect(Self.attribute(proto.graph.node[9], "axis") == [1])
        #expect(proto.graph.node.allSatisfy { Self.attribute($0, "transB") == ($0.opType == "Gemm" ? [1] : nil) })

        #expect(proto.graph.input.map(\.name) == ["input"] && proto.graph.output.map(\.name) == ["logits"])
        #expect(Self.dimensions(proto.graph.input[0]) == ["N", "1", "28", "28"])
        #expect(Self.dimensions(proto.graph.output[0]) == ["N", "10"])
        #expect(proto.graph.node.first?.input.first == "input" && proto.graph.node.last?.output == ["logits"])

        // Every initializer holds exactly the verified weights, little-endian float32.
        let theta = try ModelExpansion.weights(of: model)
        for tensor in try model.architecture.parameterTensors() {
            let initializer = try #require(proto.graph.initializer.first { $0.name == tensor.name })
            #expect(initializer.dataType == 1)
            #expect(initializer.rawData == Self.littleEndianBytes(theta[tensor.range]))
        }
        let properties = Dictionary(uniqueKeysWithValues: proto.metadataProps.map { ($0.key, $0.value) })
        #expect(properties["weights_sha256"] == hexString(model.weightsSHA256))
        #expect(properties["idzip.architecture"] == "lenet:1x28x28:10")
    }

    @Test func fullyConnectedBecomesGemmChain() throws {
        let model = try Self.sample("fc-dense-d100.idz")
        let proto = try Self.exported(model)
        #expect(proto.graph.node.map(\.opType) == ["Mul", "Sub", "Div", "Gemm", "Relu", "Gemm", "Relu", "Gemm"])
        #expect(Self.shapes(proto)["layers.0.weight"] == [200, 784] && Self.shapes(proto)["layers.4.bias"] == [10])
        #expect(Self.dimensions(proto.graph.input[0]) == ["N", "784"])
        #expect(Self.dimensions(proto.graph.output[0]) == ["N", "10"])
        let scale = try #require(proto.graph.initializer.first { $0.name == "preprocessing.input_scale" })
        #expect(scale.rawData == Self.littleEndianBytes([model.preprocessing.inputScale]))
    }

    /// The same model gives the same bytes, whatever the threads of the expansion.
    @Test func exportIsDeterministic() throws {
        let model = try Self.sample("fc-sparse-d750.idz")
        #expect(try OnnxExport.serializedModel(model, threads: 1) == OnnxExport.serializedModel(model, threads: 3))
    }

    /// An image-shaped FC network is flattened first; same padding pads (k - 1) / 2; a
    /// per-channel preprocessing is [C, 1, 1]; a network whose last output is not flat
    /// ends in a Flatten to [N, C * H * W], as idzip's logits rows.
    @Test func otherLayerKindsAndPreprocessing() throws {
        let fc = Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [32, 10])
        let fcProto = try OnnxExport.modelProto(
            architecture: fc, theta: [Float](repeating: 0.5, count: try fc.parameterCount()), preprocessing: Preprocessing())
        #expect(fcProto.graph.node.map(\.opType) == ["Mul", "Sub", "Div", "Flatten", "Gemm", "Relu", "Gemm"])
        #expect(Self.dimensions(fcProto.graph.input[0]) == ["N", "1", "28", "28"])
        #expect(Self.shapes(fcProto)["layers.1.weight"] == [32, 784])

        let conv = Architecture(inputShape: [3, 8, 8], layers: [.conv2d(filters: 4, kernel: 3, padding: .same), .relu])
        let preprocessing = Preprocessing(inputScale: 1.0 / 255, mean: [0.5, 0.4, 0.3], standardDeviation: [0.2, 0.25, 0.3])
        let convProto = try OnnxExport.modelProto(
            architecture: conv, theta: [Float](repeating: 0.25, count: try conv.parameterCount()), preprocessing: preprocessing)
        #expect(convProto.graph.node.map(\.opType) == ["Mul", "Sub", "Div", "Conv", "Relu", "Flatten"])
        #expect(Self.attribute(convProto.graph.node[3], "pads") == [1, 1, 1, 1])
        #expect(Self.shapes(convProto)["preprocessing.mean"] == [3, 1, 1] && Self.shapes(convProto)["preprocessing.std"] == [3, 1, 1])
        #expect(Self.dimensions(convProto.graph.output[0]) == ["N", "256"])
        #expect(convProto.graph.node.last?.output == ["logits"])
    }

    @Test func toyModelIsRefused() throws {
        let model = try Self.sample("toy-sparse-d10-int8.idz")
        let error = #expect(throws: OnnxExportError.self) { try OnnxExport.serializedModel(model) }
        #expect(error?.description == "cannot export to ONNX: the toy problem has no network to export (it takes no input and computes no logits)")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-onnx-\(UUID().uuidString).onnx")
        #expect(throws: OnnxExportError.self) { try OnnxExport.write(model, to: url) }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func wrongChecksumWritesNothing() throws {
        var model = try Self.sample("fc-dense-d100.idz")
        model.weightsSHA256[0] ^= 1
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-onnx-\(UUID().uuidString).onnx")
        let error = #expect(throws: OnnxExportError.self) { try OnnxExport.write(model, to: url) }
        guard case .expansion(.checksumMismatch) = error else {
            Issue.record("expected a checksum mismatch, got \(String(describing: error))")
            return
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    // MARK: Fixtures for onnxruntime

    /// Models with what the named architectures do not reach: same padding, a pool that drops
    /// a partial window, per-channel preprocessing, an image-shaped FC input, a last output
    /// that is not flat. Tests/python/test_onnx_export.py exports them and runs them in
    /// onnxruntime; the files in Tests/python/fixtures must be exactly what this writes
    /// (`IDZIP_WRITE_FIXTURES=1 swift test -c release --filter OnnxExportTests` rewrites them).
    static func fixtureModels() throws -> [(name: String, model: IdzModel)] {
        let rgb = Preprocessing(inputScale: 1.0 / 255, mean: [0.5, 0.4, 0.3], standardDeviation: [0.25, 0.2, 0.3])
        let cases: [(String, Architecture, Preprocessing)] = [
            ("conv-same-rgb.idz", Architecture(inputShape: [3, 9, 9], layers: [
                .conv2d(filters: 4, kernel: 3, padding: .same), .relu, .maxPool(size: 2),
                .conv2d(filters: 3, kernel: 3, padding: .valid), .relu, .flatten, .dense(units: 5),
            ]), rgb),
            ("conv-image-output.idz", Architecture(inputShape: [2, 7, 7], layers: [
                .conv2d(filters: 3, kernel: 5, padding: .same), .relu, .maxPool(size: 3),
            ]), Preprocessing(inputScale: 1.0 / 255, mean: [0.1307], standardDeviation: [0.3081])),
            ("fc-image.idz", .fullyConnected(inputShape: [1, 28, 28], widths: [16, 10]), Preprocessing()),
        ]
        return try cases.map { name, architecture, preprocessing in
            let d = 24
            var model = IdzModel(
                architecture: architecture, theta0Seed: 21, projection: ProjectionSpec(kind: .fastfood, seed: 22, dimension: d),
                theta: .float32((0..<d).map { Float(($0 * 37) % 19 - 9) / 20 }), preprocessing: preprocessing,
                weightsSHA256: [UInt8](repeating: 0, count: 32))
            model.weightsSHA256 = try ModelExpansion.digest(of: model)
            return (name, model)
        }
    }

    @Test func onnxruntimeFixturesAreCurrent() throws {
        let directory = RepositoryFiles.url("Tests/python/fixtures")
        let rewrite = ProcessInfo.processInfo.environment["IDZIP_WRITE_FIXTURES"] == "1"
        for (name, model) in try Self.fixtureModels() {
            let bytes = try IdzFile.encode(model)
            let url = directory.appendingPathComponent(name)
            if rewrite {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try Data(bytes).write(to: url)
            }
            #expect(try [UInt8](Data(contentsOf: url)) == bytes, "\(name) is stale: rewrite it with IDZIP_WRITE_FIXTURES=1")
            #expect(try OnnxExport.serializedModel(model).count > 0)
        }
    }
}
