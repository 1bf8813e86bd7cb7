import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Expand: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate a model's full weights and write them as safetensors or .npy.",
        discussion: """
            The weights are checked against the SHA-256 stored in the .idz file; on a mismatch \
            or any error no output file is left behind. The architecture, the input preprocessing and the \
            data set travel with the weights: as idzip.* metadata in safetensors, in a JSON sidecar \
            (OUTPUT.npy.json) beside a .npy, so that `idzip eval` needs no --model.
            """
    )

    @Argument(help: "The .idz model.", completion: .file(extensions: ["idz"]))
    var model: String

    @Option(name: .shortAndLong, help: "Output file, or - for standard output (default: the model's name with the format's extension).", completion: .file())
    var output: String?

    @Option(help: "safetensors (named tensors) or npy (one flat float32 vector). Default: from the output's extension, else safetensors.")
    var format: WeightsFileFormat?

    @Flag(help: "Print a JSON report instead of a sentence.")
    var json = false

    @OptionGroup var baseOption: BaseOption

    func validate() throws {
        if output == "-", json { throw ValidationError("-o - sends the weights to standard output; leave out --json") }
        guard let output, format == nil, output != "-" else { return }
        let pathExtension = URL(fileURLWithPath: output).pathExtension
        if !pathExtension.isEmpty, WeightsFileFormat(pathExtension: pathExtension) == nil {
            throw ValidationError("cannot tell the format from '.\(pathExtension)'; name the output .safetensors or .npy, or pass --format")
        }
    }

    func run() throws {
        let chosenFormat = format ?? output.flatMap { WeightsFileFormat(pathExtension: URL(fileURLWithPath: $0).pathExtension) } ?? .safetensors
        let outputPath = output ?? ((self.model as NSString).deletingPathExtension + "." + chosenFormat.rawValue)
        let target = try OutputCheck.file(outputPath, role: "-o", inputs: [self.model] + [baseOption.base].compactMap { $0 }, standardOutput: true)
        var model = try ModelFile.read(self.model)
        try baseOption.attach(to: &model, path: self.model)
        // The architecture, preprocessing and data set travel with the weights.
        let description = WeightsDescription(model: model)
        let report: ExpansionReport
        do {
            report = try ModelExpansion.write(
                model, to: target, format: chosenFormat,
                metadata: [("format", "pt"), ("producer", "idzip \(IdzipVersion.current)"), ("weights_sha256", hexString(model.weightsSHA256))]
                    + (description?.safetensorsMetadata ?? []))
        } catch {
            throw CommandFailure("\(self.model): \(error.description)")
        }
        // A .npy vector cannot say what it is: the sidecar beside it does (a stream gets none).
        var isFile: ObjCBool = false
        if chosenFormat == .npy, let description, FileManager.default.fileExists(atPath: outputPath, isDirectory: &isFile), !isFile.boolValue,
           (try? FileManager.default.attributesOfItem(atPath: outputPath)[.type] as? FileAttributeType) == .typeRegular {
            let sidecar = WeightsDescription.sidecarPath(of: outputPath)
            try failing { try AtomicFileWriter.write(Array(description.sidecarJSON.utf8), to: URL(fileURLWithPath: sidecar)) }
        }
        if json {
            try printJSON(ExpandReport(
                model: self.model, output: outputPath, format: chosenFormat.rawValue, parameters: report.parameterCount,
                bytes: report.bytesWritten, seconds: report.seconds, weights_sha256: hexString(report.sha256), verified: !model.weightsSHA256.isEmpty))
        } else {
            let seconds = String(format: "%.3f", report.seconds)
            StandardOutput.line("expanded \(grouped(report.parameterCount)) parameters to \(target == .standardOutput ? "standard output" : outputPath) (\(grouped(report.bytesWritten)) bytes, \(chosenFormat.rawValue)) in \(seconds) s; sha256 \(hexString(report.sha256)) \(Self.verification(model))", toError: target == .standardOutput)
        }
    }
}

extension Expand {
    /// "verified", "verified (first N bytes of the digest)" or "not verified (...)".
    static func verification(_ model: IdzModel) -> String {
        switch model.weightsSHA256.count {
        case 0: "not verified (the file keeps no weights digest)"
        case 32: "verified"
        default: "verified (first \(model.weightsSHA256.count) bytes of the digest)"
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
    /// false when the file keeps no weights digest (a compact file): nothing was checked.
    var verified: Bool
}
