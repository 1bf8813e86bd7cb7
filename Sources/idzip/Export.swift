import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a model for deployment: a C header with the weights and a forward pass.",
        discussion: """
            c: one C99 header with the expanded weights (bit for bit, checked against the .idz \
            file's SHA-256) as static const float arrays, their shapes, the preprocessing \
            constants and idz_predict(raw_input, logits); define IDZ_IMPLEMENTATION in one C \
            file before including it. On any error no output file is left behind.
            """
    )

    @Argument(help: "The .idz model.", completion: .file(extensions: ["idz"]))
    var model: String

    @Option(help: "The deployment format: c (a C99 header for microcontrollers and apps).")
    var format: ExportFormat

    @Option(name: .shortAndLong, help: "Output file (default: the model's name with the format's extension).", completion: .file())
    var output: String?

    @Flag(help: "Print a JSON report instead of a sentence.")
    var json = false

    var outputPath: String {
        output ?? ((model as NSString).deletingPathExtension + "." + format.pathExtension)
    }

    func validate() throws {
        if output?.isEmpty == true { throw ValidationError("-o needs a file name") }
        if URL(fileURLWithPath: outputPath).standardizedFileURL == URL(fileURLWithPath: model).standardizedFileURL {
            throw ValidationError("the output \(outputPath) would overwrite the model; name another file with -o")
        }
    }

    func run() throws {
        let idz = try ModelFile.read(model)
        let outputPath = self.outputPath
        switch format {
        case .c:
            let report = try failing(model) {
                try CHeaderExport.write(idz, to: URL(fileURLWithPath: outputPath), source: (model as NSString).lastPathComponent)
            }
            if json {
                try printJSON(ExportReport(
                    model: model, output: outputPath, format: format.rawValue, parameters: report.parameterCount,
                    bytes: report.bytesWritten, weights_sha256: hexString(report.sha256), verified: true))
            } else {
                print("exported \(grouped(report.parameterCount)) parameters of \(model) to \(outputPath) (\(grouped(report.bytesWritten)) bytes, C99 header with idz_predict); sha256 \(hexString(report.sha256)) verified")
            }
        }
    }
}

/// A deployment format of `idzip export`.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case c

    /// The output's extension when -o is not given.
    var pathExtension: String {
        switch self {
        case .c: "h"
        }
    }
}

private struct ExportReport: Encodable {
    var model: String
    var output: String
    var format: String
    var parameters: Int
    var bytes: Int
    var weights_sha256: String
    var verified: Bool
}
