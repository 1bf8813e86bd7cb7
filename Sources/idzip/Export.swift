import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model in a deployment format: ONNX (the network, its regenerated weights and its preprocessing).",
        discussion: """
            The weights are regenerated and checked against the SHA-256 stored in the .idz file. \
            The ONNX graph takes raw inputs (pixels 0...255 as float32) named 'input' [N, ...] and \
            applies the model's preprocessing itself; its output is 'logits' [N, classes]. On any \
            error no output file is left behind.
            """
    )

    @Argument(help: "The .idz model.", completion: .file(extensions: ["idz"]))
    var model: String

    @Option(help: "Deployment format.")
    var format: ExportFormat = .onnx

    @Option(name: .shortAndLong, help: "Output file (default: the model's name with the format's extension).", completion: .file())
    var output: String?

    @Option(help: "Threads for the expansion (default: all cores; the bits do not depend on it).")
    var threads: Int?

    @Flag(help: "Print a JSON report instead of a sentence.")
    var json = false

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be in 1...256") }
    }

    func run() throws {
        let idz = try ModelFile.read(model)
        let outputPath = output ?? ((model as NSString).deletingPathExtension + "." + format.rawValue)
        let threads = threads ?? ParallelLoop.defaultThreads
        switch format {
        case .onnx:
            let report = try failing(model) { try OnnxExport.write(idz, to: URL(fileURLWithPath: outputPath), threads: threads) }
            let input = "[N, " + report.inputShape.map(String.init).joined(separator: ", ") + "]"
            if json {
                return try printJSON(ExportReport(
                    model: model, output: outputPath, format: format.rawValue, bytes: report.bytesWritten,
                    parameters: report.parameterCount, opset: OnnxExport.opsetVersion, ir_version: OnnxExport.irVersion,
                    nodes: report.operatorTypes, initializers: report.initializerCount,
                    input: OnnxExport.inputName, input_shape: ["N"] + report.inputShape.map(String.init),
                    output_name: OnnxExport.outputName, output_shape: ["N", String(report.outputCount)],
                    weights_sha256: hexString(report.weightsSHA256), verified: true, seconds: report.seconds))
            }
            print("exported \(model) to \(outputPath): ONNX opset \(OnnxExport.opsetVersion), \(grouped(report.parameterCount)) parameters, \(grouped(report.bytesWritten)) bytes; sha256 \(hexString(report.weightsSHA256)) verified")
            print("graph: \(report.operatorTypes.joined(separator: ", "))")
            print("input '\(OnnxExport.inputName)' \(input) float32, raw values (pixels 0...255); output '\(OnnxExport.outputName)' [N, \(report.outputCount)]")
        }
    }
}

/// The formats `idzip export` writes.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case onnx
}

private struct ExportReport: Encodable {
    var model: String
    var output: String
    var format: String
    var bytes: Int
    var parameters: Int
    var opset: Int
    var ir_version: Int
    var nodes: [String]
    var initializers: Int
    var input: String
    var input_shape: [String]
    var output_name: String
    var output_shape: [String]
    var weights_sha256: String
    var verified: Bool
    var seconds: Double
}
