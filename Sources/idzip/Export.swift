import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model in a deployment format: ONNX, or a C header with the weights and a forward pass.",
        discussion: """
            The weights are regenerated and checked against the SHA-256 stored in the .idz file; \
            on any error no output file is left behind. onnx: the network with its weights as \
            initializers; the graph takes raw inputs (pixels 0...255 as float32) named 'input' \
            [N, ...], applies the model's preprocessing itself and outputs 'logits' [N, classes]. \
            c: one C99 header with the weights (bit for bit) as static const float arrays, their \
            shapes, the preprocessing constants and idz_predict(raw_input, logits); define \
            IDZ_IMPLEMENTATION in one C file before including it.
            """
    )

    @Argument(help: "The .idz model.", completion: .file(extensions: ["idz"]))
    var model: String

    @Option(help: "The deployment format: onnx, or c (a C99 header for microcontrollers and apps).")
    var format: ExportFormat

    @Option(name: .shortAndLong, help: "Output file, or - for standard output (default: the model's name with the format's extension).", completion: .file())
    var output: String?

    @Option(help: "Threads for the expansion (default: all cores; the bits do not depend on it).")
    var threads: Int?

    @Flag(help: "Print a JSON report instead of a sentence.")
    var json = false

    var outputPath: String {
        output ?? ((model as NSString).deletingPathExtension + "." + format.pathExtension)
    }

    @OptionGroup var baseOption: BaseOption

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if output?.isEmpty == true { throw ValidationError("-o needs a file name") }
        if output == "-", json { throw ValidationError("-o - sends the export to standard output; leave out --json") }
        if URL(fileURLWithPath: outputPath).standardizedFileURL == URL(fileURLWithPath: model).standardizedFileURL {
            throw ValidationError("the output \(outputPath) would overwrite the model; name another file with -o")
        }
    }

    func run() throws {
        let url = try OutputCheck.file(outputPath, role: "-o", inputs: [model] + [baseOption.base].compactMap { $0 }, standardOutput: true)
        var idz = try ModelFile.read(model)
        try baseOption.attach(to: &idz, path: model)
        switch format {
        case .onnx:
            let report = try failing(model) { try OnnxExport.write(idz, to: url, threads: threads ?? ParallelLoop.defaultThreads) }
            try printOnnx(report, model: idz)
        case .c:
            let report = try failing(model) { try CHeaderExport.write(idz, to: url, source: (model as NSString).lastPathComponent) }
            if json {
                return try printJSON(CHeaderReport(
                    model: model, output: outputPath, format: format.rawValue, parameters: report.parameterCount,
                    bytes: report.bytesWritten, weights_sha256: hexString(report.sha256), verified: !idz.weightsSHA256.isEmpty))
            }
            StandardOutput.line("exported \(grouped(report.parameterCount)) parameters of \(model) to \(outputPath) (\(grouped(report.bytesWritten)) bytes, C99 header with idz_predict); sha256 \(hexString(report.sha256)) \(Expand.verification(idz))", toError: output == "-")
        }
    }

    private func printOnnx(_ report: OnnxExportReport, model idz: IdzModel) throws {
        if json {
            return try printJSON(OnnxReport(
                model: model, output: outputPath, format: format.rawValue, bytes: report.bytesWritten,
                parameters: report.parameterCount, opset: OnnxExport.opsetVersion, ir_version: OnnxExport.irVersion,
                nodes: report.operatorTypes, initializers: report.initializerCount,
                input: OnnxExport.inputName, input_shape: ["N"] + report.inputShape.map(String.init),
                output_name: OnnxExport.outputName, output_shape: ["N", String(report.outputCount)],
                weights_sha256: hexString(report.weightsSHA256), verified: !idz.weightsSHA256.isEmpty, seconds: report.seconds))
        }
        let input = "[N, " + report.inputShape.map(String.init).joined(separator: ", ") + "]"
        let print = { StandardOutput.line($0, toError: output == "-") }
        print("exported \(model) to \(outputPath): ONNX opset \(OnnxExport.opsetVersion), \(grouped(report.parameterCount)) parameters, \(grouped(report.bytesWritten)) bytes; sha256 \(hexString(report.weightsSHA256)) \(Expand.verification(idz))")
        print("graph: \(report.operatorTypes.joined(separator: ", "))")
        print("input '\(OnnxExport.inputName)' \(input) float32, raw values (pixels 0 to 255); output '\(OnnxExport.outputName)' [N, \(report.outputCount)]")
    }
}

/// The deployment formats of `idzip export`.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case onnx
    case c

    /// The output's extension when -o is not given.
    var pathExtension: String {
        switch self {
        case .onnx: "onnx"
        case .c: "h"
        }
    }
}

private struct OnnxReport: Encodable {
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

private struct CHeaderReport: Encodable {
    var model: String
    var output: String
    var format: String
    var parameters: Int
    var bytes: Int
    var weights_sha256: String
    var verified: Bool
}
