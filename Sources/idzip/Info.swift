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

    @Flag(name: .customLong("description"), help: "Print the network as an architecture file (docs/architecture-files.md), for --model net.json.")
    var printDescription = false

    @Flag(help: "Print a torch.nn.Module whose state_dict matches the weights 'idzip expand' writes.")
    var pytorch = false

    @Option(help: "Check this base against the digest a fine-tuned model records (info needs no base to show the digest).", completion: .file(extensions: ["safetensors", "npy", "idz"]))
    var base: String?

    func validate() throws {
        guard [json, printDescription, pytorch].filter({ $0 }).count <= 1 else {
            throw ValidationError("choose one of --json, --description and --pytorch")
        }
    }

    func run() throws {
        var (model, container) = try ModelFile.readWithContainer(self.model)
        if let base {
            try BaseOption.attach(base: base, to: &model, path: self.model)
        }
        if printDescription {
            print(ArchitectureDescription.json(model.architecture))
            return
        }
        if pytorch {
            print(try failing(self.model) { try TorchModuleSource.source(for: model) }, terminator: "")
            return
        }
        let report = try failing(self.model) {
            try ModelDescription(model: model, path: self.model, fileBytes: ModelFile.size(self.model), container: container)
        }
        if json {
            try printJSON(report)
        } else {
            print(report.text(model: model))
            if base != nil { print("base".padding(toLength: 15, withPad: " ", startingAt: 0) + "verified: the base given has the recorded sha256") }
        }
    }
}

extension ModelDescription {
    /// The lines `idzip info` prints.
    func text(model: IdzModel) -> String {
        var lines: [String] = []
        func row(_ label: String, _ value: String) {
            lines.append(label.padding(toLength: 15, withPad: " ", startingAt: 0) + value)
        }
        let layout = container == "standard" ? "" : ", \(container) container"
        lines.append("\(terminalSafe(file)): idzip model, format version \(format_version)\(layout), \(grouped(file_bytes)) bytes")
        row("architecture", "input \(input_shape.map(String.init).joined(separator: "x")); \(layer_summary)")
        row("parameters", "D = \(grouped(parameters)) (\(grouped(expanded_bytes)) bytes as float32, \(String(format: "%.1f", compression_ratio))x this file)")
        if let base {
            row("theta0", "base sha256 \(base.sha256)" + (base.locator.isEmpty ? "" : " (\(terminalSafe(base.locator)))") + "; expanding needs --base")
        } else {
            row("theta0", "seed \(theta0_seed); " + Set(tensors.map(\.`init`)).sorted().joined(separator: ", "))
        }
        row("projection", "\(projection.kind), d = \(grouped(projection.d)), seed \(projection.seed)")
        var coding = theta_d.scale.map { ", scale \($0)" } ?? ""
        if let levels = theta_d.levels, let levelBytes = theta_d.level_bytes, let coded = theta_d.coded_bytes,
            let bits = theta_d.bits_per_coordinate
        {
            coding = ": \(grouped(levels)) levels (\(grouped(levelBytes)) bytes), \(grouped(coded)) range-coded bytes, "
                + String(format: "%.2f", bits) + " bits per coordinate"
        }
        row("theta_d", "\(grouped(theta_d.count)) values, \(theta_d.encoding)" + coding)
        if let modes = tensor_modes, let tensorModes = model.tensorModes {
            row("tensor modes", "\(tensorModes.summary); \(grouped(modes.stored_numbers)) numbers stored (d + scales + direct values)")
            var scaleIndex = 0
            for tensor in tensors {
                let mode = modes.modes[tensor.name] ?? "?"
                var text = "  \(tensor.name): \(mode)"
                if mode == "subspace", let scales = tensorModes.scales, scaleIndex < scales.count {
                    text += ", scale \(scales[scaleIndex])"
                    scaleIndex += 1
                }
                lines.append(text)
            }
        }
        row("preprocessing", "x * \(preprocessing.input_scale), mean \(preprocessing.mean), std \(preprocessing.standard_deviation)")
        row("labels", labels.isEmpty ? "(none)" : terminalSafe(labels.joined(separator: " ")))
        row("weights", model.weightsSHA256.isEmpty ? "sha256 not stored (compact container)" : model.weightsSHA256.count < 32 ? "sha256 \(weights_sha256)... (first \(model.weightsSHA256.count) bytes)" : "sha256 \(weights_sha256)")
        if !model.metadata.isEmpty {
            lines.append("metadata")
            for entry in model.metadata {
                lines.append("  \(terminalSafe(entry.key)) = \(terminalSafe(MetadataJSON(entry.value).text))")
            }
        }
        return lines.joined(separator: "\n")
    }
}
