import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a .idz file holds: architecture, seeds, projection, theta_d and provenance."
    )

    @Argument(help: "The .idz model.", completion: .file(extensions: ["idz"]))
    var model: String

    @Flag(help: "Print JSON for pipelines.")
    var json = false

    func run() throws {
        let model = try ModelFile.read(self.model)
        let report = try ModelReport(model: model, path: self.model, fileBytes: ModelFile.size(self.model))
        if json {
            try printJSON(report)
        } else {
            print(report.text(model: model))
        }
    }
}

/// Everything `idzip info` shows, in the shape of its JSON output.
struct ModelReport: Encodable {
    struct Tensor: Encodable { var name: String; var shape: [Int]; var `init`: String }
    struct ProjectionInfo: Encodable { var kind: String; var seed: UInt64; var d: Int }
    struct ThetaInfo: Encodable { var count: Int; var encoding: String; var scale: Float? }
    struct PreprocessingInfo: Encodable { var input_scale: Float; var mean: [Float]; var standard_deviation: [Float] }

    var file: String
    var file_bytes: Int
    var format_version: UInt32
    var input_shape: [Int]
    var layers: String
    var parameters: Int
    var expanded_bytes: Int
    var compression_ratio: Double
    var theta0_seed: UInt64
    var tensors: [Tensor]
    var projection: ProjectionInfo
    var theta_d: ThetaInfo
    var preprocessing: PreprocessingInfo
    var labels: [String]
    var metadata: [String: MetadataJSON]
    var weights_sha256: String

    init(model: IdzModel, path: String, fileBytes: Int) throws {
        let tensors: [TensorSpec]
        do { tensors = try model.architecture.parameterTensors() } catch { throw CommandFailure("\(path): \(error.description)") }
        file = path
        file_bytes = fileBytes
        format_version = IdzFile.formatVersion
        input_shape = model.architecture.inputShape
        layers = model.architecture.layerSummary
        parameters = model.parameterCount
        expanded_bytes = model.parameterCount * 4
        compression_ratio = fileBytes > 0 ? Double(expanded_bytes) / Double(fileBytes) : 0
        theta0_seed = model.theta0Seed
        self.tensors = tensors.map { Tensor(name: $0.name, shape: $0.shape, init: $0.initScheme.name) }
        projection = ProjectionInfo(kind: model.projection.kind.name, seed: model.projection.seed, d: model.projection.dimension)
        var scale: Float?
        if case .int8(_, let value) = model.theta { scale = value }
        theta_d = ThetaInfo(count: model.theta.count, encoding: model.theta.encoding.name, scale: scale)
        preprocessing = PreprocessingInfo(
            input_scale: model.preprocessing.inputScale, mean: model.preprocessing.mean,
            standard_deviation: model.preprocessing.standardDeviation)
        labels = model.labels
        metadata = Dictionary(model.metadata.map { ($0.key, MetadataJSON($0.value)) }, uniquingKeysWith: { first, _ in first })
        weights_sha256 = hexString(model.weightsSHA256)
    }

    func text(model: IdzModel) -> String {
        var lines: [String] = []
        func row(_ label: String, _ value: String) {
            lines.append(label.padding(toLength: 15, withPad: " ", startingAt: 0) + value)
        }
        lines.append("\(file): idzip model, format version \(format_version), \(grouped(file_bytes)) bytes")
        row("architecture", "input \(input_shape.map(String.init).joined(separator: "x")); \(layers)")
        row("parameters", "D = \(grouped(parameters)) (\(grouped(expanded_bytes)) bytes as float32, \(String(format: "%.1f", compression_ratio))x this file)")
        row("theta0", "seed \(theta0_seed); " + Set(tensors.map(\.`init`)).sorted().joined(separator: ", "))
        row("projection", "\(projection.kind), d = \(grouped(projection.d)), seed \(projection.seed)")
        row("theta_d", "\(grouped(theta_d.count)) values, \(theta_d.encoding)" + (theta_d.scale.map { ", scale \($0)" } ?? ""))
        row("preprocessing", "x * \(preprocessing.input_scale), mean \(preprocessing.mean), std \(preprocessing.standard_deviation)")
        row("labels", labels.isEmpty ? "(none)" : labels.joined(separator: " "))
        row("weights", "sha256 \(weights_sha256)")
        if !model.metadata.isEmpty {
            lines.append("metadata")
            for entry in model.metadata {
                lines.append("  \(entry.key) = \(MetadataJSON(entry.value).text)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// A metadata value as JSON: numbers, strings and booleans as themselves, bytes as hex.
struct MetadataJSON: Encodable {
    var value: MetadataValue
    init(_ value: MetadataValue) { self.value = value }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch value {
        case .int(let number): try container.encode(number)
        case .double(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        case .bool(let flag): try container.encode(flag)
        case .bytes(let bytes): try container.encode(hexString(bytes))
        }
    }

    var text: String {
        switch value {
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .string(let text): text
        case .bool(let flag): String(flag)
        case .bytes(let bytes): hexString(bytes)
        }
    }
}
