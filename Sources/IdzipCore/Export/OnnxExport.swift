import Foundation
import SwiftProtobuf

/// A model as an ONNX file: the network with its regenerated weights theta = theta0 + P
/// theta_d (expanded and checked against the `.idz` file's SHA-256) as initializers, and
/// the model's preprocessing as explicit nodes, so the graph takes raw inputs.
///
/// The graph, in the `ai.onnx` domain at opset `opsetVersion`:
/// - input `input`, float32 [N, ...inputShape] with a symbolic batch dimension N: raw values
///   as the data set stores them (pixels 0 ... 255 as floats);
/// - `Mul` by `preprocessing.input_scale`, `Sub` of `preprocessing.mean`, `Div` by
///   `preprocessing.std` (scalars, or [C, 1, 1] per channel): x = (raw * scale - mean) / std,
///   the order idzip computes it in (Formats/idz-v1.md section 13);
/// - one node per layer: dense `Gemm` (transB = 1, weights [out, in] as stored), conv2d
///   `Conv` (pads (k - 1) / 2 for same, 0 for valid; stride 1), maxpool `MaxPool` (kernel
///   = stride = size, floor: a partial window is dropped), relu `Relu`, flatten `Flatten`
///   (axis 1, C order), and a final `Flatten` when the last layer's output is not flat;
/// - output `logits`, float32 [N, classes].
///
/// Initializers keep the tensor names of `Architecture.parameterTensors()`
/// (`layers.0.weight`, ...), as `idzip expand` names them in safetensors. The same model
/// always gives the same bytes. The toy objective has no network and is refused.
public enum OnnxExport {
    /// The `ai.onnx` operator set the graph is written against.
    public static let opsetVersion = 18
    /// The ONNX IR version that goes with opset 18 (ONNX 1.13).
    public static let irVersion = 8
    /// The graph's input: raw values, [N, ...inputShape].
    public static let inputName = "input"
    /// The graph's output: [N, classes].
    public static let outputName = "logits"
    /// The symbolic batch dimension of the input and output.
    public static let batchDimension = "N"
    /// A protobuf message is at most 2 GiB; larger models would need ONNX's external data,
    /// which this exporter does not write. Weights take 4 D bytes; this leaves room for the rest.
    public static let maxParameterCount = 500_000_000

    /// Refuses a network that cannot become an ONNX graph: the toy objective (no input, no
    /// layers to run), an invalid architecture, or one too large for one protobuf.
    /// - Throws: `OnnxExportError.unsupported` naming the reason.
    public static func check(_ architecture: Architecture) throws(OnnxExportError) {
        if architecture.layers.contains(where: { if case .toyGroupSum = $0 { true } else { false } }) {
            throw .unsupported("the toy problem has no network to export (it takes no input and computes no logits)")
        }
        if architecture.needsVersion3 {
            throw .unsupported("the ONNX export takes sequential networks of dense, conv2d, maxpool, relu and flatten layers; this one has \(CHeaderExport.version3Feature(of: architecture))")
        }
        let parameterCount: Int
        do {
            parameterCount = try architecture.parameterCount()
        } catch {
            throw .unsupported(error.description)
        }
        guard parameterCount <= maxParameterCount else {
            throw .unsupported("\(parameterCount) parameters exceed the \(maxParameterCount) that fit in one ONNX protobuf (2 GiB); external data is not written")
        }
    }

    /// The ONNX file's bytes for `model`: its weights are expanded and verified first.
    /// - Throws: `OnnxExportError.unsupported` (see `check(_:)`, or a preprocessing that
    ///   does not fit the input), `.expansion` when the weights cannot be regenerated or do
    ///   not match the recorded SHA-256.
    public static func serializedModel(
        _ model: IdzModel, threads: Int = ParallelLoop.defaultThreads
    ) throws(OnnxExportError) -> [UInt8] {
        try build(model, threads: threads).bytes
    }

    /// Writes `model` as an ONNX file at `url`. The file appears only when complete; on
    /// any error no output file is left behind.
    /// - Returns: what was written (sizes, graph, digest, seconds).
    /// - Throws: as `serializedModel(_:threads:)`, or `OnnxExportError.output` when the
    ///   file cannot be written.
    @discardableResult
    public static func write(
        _ model: IdzModel, to url: URL, threads: Int = ParallelLoop.defaultThreads
    ) throws(OnnxExportError) -> OnnxExportReport {
        try write(model, to: .file(url), threads: threads)
    }

    /// Writes `model` as ONNX to `target` (a file as `write(_:to:threads:)`; a stream or
    /// standard output receives the bytes once they are complete and verified).
    @discardableResult
    public static func write(
        _ model: IdzModel, to target: OutputTarget, threads: Int = ParallelLoop.defaultThreads
    ) throws(OnnxExportError) -> OnnxExportReport {
        let started = DispatchTime.now().uptimeNanoseconds
        let built = try build(model, threads: threads)
        do {
            try AtomicFileWriter.write(built.bytes, to: target)
        } catch {
            throw .output(error.description)
        }
        var report = built.report
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return report
    }

    private static func build(_ model: IdzModel, threads: Int) throws(OnnxExportError) -> (bytes: [UInt8], report: OnnxExportReport) {
        try check(model.architecture)
        let theta: [Float]
        do {
            // The initializers in the message and its serialized bytes are two more copies.
            var copies = MemoryBudget()
            copies.add("ONNX initializers and serialized model (2 copies)", floats: model.parameterCount, copies: 2)
            theta = try ModelExpansion.weights(of: model, threads: threads, alongside: copies, task: "exporting to ONNX")
        } catch {
            throw .expansion(error)
        }
        // The full digest of the expanded weights (a compact file may keep a prefix or none).
        let digest = IdzChecksum.weightsSHA256(theta)
        let proto = try modelProto(
            architecture: model.architecture, theta: theta, preprocessing: model.preprocessing,
            labels: model.labels, weightsSHA256: digest)
        let bytes: [UInt8]
        do {
            bytes = try proto.serializedBytes()
        } catch {
            throw .unsupported("the ONNX protobuf cannot be encoded: \(error)")
        }
        let shapes = (try? model.architecture.outputShapes()) ?? []
        let report = OnnxExportReport(
            parameterCount: theta.count, bytesWritten: bytes.count, nodeCount: proto.graph.node.count,
            initializerCount: proto.graph.initializer.count, operatorTypes: proto.graph.node.map(\.opType),
            inputShape: model.architecture.inputShape, outputCount: shapes.last?.reduce(1, *) ?? 0,
            weightsSHA256: digest, seconds: 0)
        return (bytes, report)
    }

    /// The ONNX model for a network with full weights `theta` (D values in parameter order).
    /// - Throws: `OnnxExportError.unsupported` as `check(_:)`, when theta does not have D
    ///   values, or when the preprocessing does not fit the input.
    package static func modelProto(
        architecture: Architecture, theta: [Float], preprocessing: Preprocessing,
        labels: [String] = [], weightsSHA256: [UInt8] = []
    ) throws(OnnxExportError) -> Onnx_ModelProto {
        try check(architecture)
        let shapes: [[Int]], tensors: [TensorSpec]
        do {
            shapes = try architecture.outputShapes()
            tensors = try architecture.parameterTensors()
        } catch {
            throw .unsupported(error.description)
        }
        let parameterCount = tensors.reduce(0) { $0 + $1.count }
        guard theta.count == parameterCount else {
            throw .unsupported("theta has \(theta.count) values; the network has \(parameterCount) parameters")
        }
        do {
            try IdzModelCheck.checkPreprocessing(preprocessing, inputShape: architecture.inputShape)
        } catch {
            throw .unsupported(error.message)
        }

        var graph = Onnx_GraphProto()
        graph.name = "idzip"
        graph.docString = "\(architecture.layerSummary); input: raw values (pixels 0...255 as float32), "
            + "preprocessed in the graph as (input * input_scale - mean) / std"

        // Preprocessing: (raw * scale - mean) / std, in idzip's order.
        let perChannel = preprocessing.mean.count > 1
        let channelShape = perChannel ? [preprocessing.mean.count, 1, 1] : []
        graph.initializer.append(floatTensor("preprocessing.input_scale", shape: [], values: [preprocessing.inputScale]))
        graph.initializer.append(floatTensor("preprocessing.mean", shape: channelShape, values: preprocessing.mean))
        graph.initializer.append(floatTensor("preprocessing.std", shape: channelShape, values: preprocessing.standardDeviation))
        graph.node.append(node("Mul", name: "preprocessing.scale", inputs: [inputName, "preprocessing.input_scale"], output: "preprocessing.scaled"))
        graph.node.append(node("Sub", name: "preprocessing.center", inputs: ["preprocessing.scaled", "preprocessing.mean"], output: "preprocessing.centered"))
        graph.node.append(node("Div", name: "preprocessing.normalize", inputs: ["preprocessing.centered", "preprocessing.std"], output: "preprocessing.output"))

        // The layers, with their tensors as initializers in theta order.
        var current = "preprocessing.output"
        var tensorIndex = 0
        func parameters() -> [String] {
            let names = [tensors[tensorIndex].name, tensors[tensorIndex + 1].name]
            for tensor in tensors[tensorIndex...(tensorIndex + 1)] {
                graph.initializer.append(floatTensor(tensor.name, shape: tensor.shape, values: theta[tensor.range]))
            }
            tensorIndex += 2
            return names
        }
        for (index, layer) in architecture.layers.enumerated() {
            let name = "layers.\(index).\(layer.typeName)"
            let output = "layers.\(index).output"
            switch layer {
            case .dense:
                graph.node.append(node("Gemm", name: name, inputs: [current] + parameters(), output: output,
                                       attributes: [intAttribute("transB", 1)]))
            case .conv2d(_, let kernel, let padding):
                let pad = padding == .same ? (kernel - 1) / 2 : 0
                graph.node.append(node("Conv", name: name, inputs: [current] + parameters(), output: output, attributes: [
                    intsAttribute("kernel_shape", [kernel, kernel]), intsAttribute("pads", [pad, pad, pad, pad]),
                    intsAttribute("strides", [1, 1]), intsAttribute("dilations", [1, 1]), intAttribute("group", 1),
                ]))
            case .maxPool(let size):
                graph.node.append(node("MaxPool", name: name, inputs: [current], output: output, attributes: [
                    intsAttribute("kernel_shape", [size, size]), intsAttribute("strides", [size, size]),
                    intsAttribute("pads", [0, 0, 0, 0]), intAttribute("ceil_mode", 0),
                ]))
            case .relu:
                graph.node.append(node("Relu", name: name, inputs: [current], output: output))
            case .flatten:
                graph.node.append(node("Flatten", name: name, inputs: [current], output: output, attributes: [intAttribute("axis", 1)]))
            case .toyGroupSum:
                throw .unsupported("the toy problem has no network to export")  // refused by check(_:)
            case .convolution, .batchNorm, .averagePool, .globalAveragePool, .add, .dropout, .activation:
                throw .unsupported("layer type \(layer.typeName) is not exported to ONNX yet")  // refused by check(_:)
            }
            current = output
        }
        // idzip's logits are rows of C, H, W order when the last layer is not flat.
        let last = shapes.last ?? []
        if last.count != 1 {
            graph.node.append(node("Flatten", name: "logits.flatten", inputs: [current], output: "logits.flat", attributes: [intAttribute("axis", 1)]))
            current = "logits.flat"
        }
        // The last node writes the graph's output.
        graph.node[graph.node.count - 1].output = [outputName]

        graph.input = [valueInfo(inputName, shape: architecture.inputShape)]
        graph.output = [valueInfo(outputName, shape: [last.reduce(1, *)])]

        var model = Onnx_ModelProto()
        model.irVersion = Int64(irVersion)
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(opsetVersion)
        model.opsetImport = [opset]
        model.producerName = "idzip"
        model.producerVersion = IdzipVersion.current
        model.docString = "Exported by \(IdzipVersion.producer) from a .idz model; the weights are theta = theta0 + P theta_d, regenerated and checked against weights_sha256."
        var properties: [(String, String)] = [
            ("idzip.architecture", architecture.spec ?? architecture.layerSummary),
            ("idzip.preprocessing", "x = (input * input_scale - mean[c]) / std[c]; input_scale \(preprocessing.inputScale), mean \(preprocessing.mean), std \(preprocessing.standardDeviation)"),
        ]
        if !weightsSHA256.isEmpty { properties.append(("weights_sha256", hexString(weightsSHA256))) }
        if !labels.isEmpty, let json = try? JSONEncoder().encode(labels) {
            properties.append(("labels", String(decoding: json, as: UTF8.self)))
        }
        model.metadataProps = properties.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        model.graph = graph
        return model
    }

    // MARK: Message parts

    private static func node(
        _ type: String, name: String, inputs: [String], output: String, attributes: [Onnx_AttributeProto] = []
    ) -> Onnx_NodeProto {
        var node = Onnx_NodeProto()
        node.opType = type
        node.name = name
        node.input = inputs
        node.output = [output]
        node.attribute = attributes
        return node
    }

    private static func intAttribute(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    private static func intsAttribute(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }

    /// A float32 tensor, its values as little-endian raw data.
    private static func floatTensor<Values: Collection<Float>>(_ name: String, shape: [Int], values: Values) -> Onnx_TensorProto {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var bytes = Data(capacity: values.count * 4)
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        tensor.rawData = bytes
        return tensor
    }

    /// A float32 tensor value [N, ...shape].
    private static func valueInfo(_ name: String, shape: [Int]) -> Onnx_ValueInfoProto {
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = batchDimension
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape.dim = [batch] + shape.map { size in
            var dimension = Onnx_TensorShapeProto.Dimension()
            dimension.dimValue = Int64(size)
            return dimension
        }
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensorType
        return info
    }
}

/// What `OnnxExport.write` produced.
public struct OnnxExportReport: Sendable, Equatable {
    /// D, the weights in the graph's initializers.
    public var parameterCount: Int
    /// The file's size in bytes.
    public var bytesWritten: Int
    /// Nodes of the graph (3 of preprocessing, one per layer, and a final `Flatten` when
    /// the last layer's output is not flat).
    public var nodeCount: Int
    /// Initializers (3 of preprocessing, then each weight and bias).
    public var initializerCount: Int
    /// The nodes' operator types in order, e.g. ["Mul", "Sub", "Div", "Gemm", "Relu", "Gemm"].
    public var operatorTypes: [String]
    /// The input's shape after the batch dimension.
    public var inputShape: [Int]
    /// Logits per example (classes).
    public var outputCount: Int
    /// SHA-256 of the weights (32 bytes), verified against the model's.
    public var weightsSHA256: [UInt8]
    /// Wall-clock seconds of the expansion, encoding and write.
    public var seconds: Double
}

/// A model that could not be exported to ONNX.
public enum OnnxExportError: Error, CustomStringConvertible, Equatable {
    /// The network cannot become an ONNX graph (the toy objective, too many parameters, an
    /// invalid architecture or preprocessing); the message says why.
    case unsupported(String)
    /// The weights could not be regenerated, or do not match the recorded SHA-256.
    case expansion(ExpansionError)
    /// The output file could not be written; the message names it and the reason.
    case output(String)

    /// One line naming the problem.
    public var description: String {
        switch self {
        case .unsupported(let message): "cannot export to ONNX: \(message)"
        case .expansion(let error): "\(error.description)"
        case .output(let message): message
        }
    }
}
