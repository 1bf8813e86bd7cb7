import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Expand: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate a model's full weights and write them as safetensors or .npy.",
        discussion: """
            The weights are checked against the SHA-256 stored in the .idz file; on a mismatch \
            or any error no output file is left behind.
            """
    )

    @Argument(help: "The .idz model.", completion: .file(extensions: ["idz"]))
    var model: String

    @Option(name: .shortAndLong, help: "Output file (default: the model's name with the format's extension).", completion: .file())
    var output: String?

    @Option(help: "safetensors (named tensors) or npy (one flat float32 vector). Default: from the output's extension, else safetensors.")
    var format: WeightsFileFormat?

    @Flag(help: "Print a JSON report instead of a sentence.")
    var json = false

    func validate() throws {
        guard let output, format == nil else { return }
        let pathExtension = URL(fileURLWithPath: output).pathExtension
        if !pathExtension.isEmpty, WeightsFileFormat(pathExtension: pathExtension) == nil {
            throw ValidationError("cannot tell the format from '.\(pathExtension)'; name the output .safetensors or .npy, or pass --format")
        }
    }

    func run() throws {
        let model = try ModelFile.read(self.model)
        let chosenFormat = format ?? output.flatMap { WeightsFileFormat(pathExtension: URL(fileURLWithPath: $0).pathExtension) } ?? .safetensors
        let outputPath = output ?? ((self.model as NSString).deletingPathExtension + "." + chosenFormat.rawValue)
        let report: ExpansionReport
        do {
            report = try ModelExpansion.write(
                model, to: URL(fileURLWithPath: outputPath), format: chosenFormat,
                metadata: [("format", "pt"), ("producer", "idzip \(IdzipVersion.current)"), ("weights_sha256", hexString(model.weightsSHA256))])
        } catch {
            throw CommandFailure("\(self.model): \(error.description)")
        }
        if json {
            try printJSON(ExpandReport(
                model: self.model, output: outputPath, format: chosenFormat.rawValue, parameters: report.parameterCount,
                bytes: report.bytesWritten, seconds: report.seconds, weights_sha256: hexString(report.sha256), verified: true))
        } else {
            let seconds = String(format: "%.3f", report.seconds)
            printLine("expanded \(grouped(report.parameterCount)) parameters to \(outputPath) (\(grouped(report.bytesWritten)) bytes, \(chosenFormat.rawValue)) in \(seconds) s; sha256 \(hexString(report.sha256)) verified")
        }
    }
}

extension WeightsFileFormat: ExpressibleByArgument {}

private struct ExpandReport: Encodable {
    var model: String
    var output: String
    var format: String
    var parameters: Int
    var bytes: Int
    var seconds: Double
    var weights_sha256: String
    var verified: Bool
}
