import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

/// `--base` of the commands that read a model (expand, eval, predict, export, info): the
/// pre-trained base a fine-tuned `.idz` needs (Formats/idz-v3.md section 6).
struct BaseOption: ParsableArguments {
    @Option(help: "The base a fine-tuned model was trained from (.safetensors, .npy with its .npy.json sidecar, or .idz); its tensors' digest must be the one the model records.", completion: .file(extensions: ["safetensors", "npy", "idz"]))
    var base: String?

    /// Attaches the base to `model` (read from `path`): refuses a model that needs a base
    /// when none is given, a base for a model without one, and a base of another digest.
    func attach(to model: inout IdzModel, path: String) throws {
        try Self.attach(base: base, to: &model, path: path)
    }

    static func attach(base: String?, to model: inout IdzModel, path: String) throws {
        guard let base else {
            if let reference = model.base {
                throw CommandFailure("\(terminalSafe(path)) is fine-tuned from a base (\(terminalSafe(reference.summary))); give it with --base FILE")
            }
            return
        }
        guard model.base != nil else {
            throw ValidationError("--base: \(path) is not fine-tuned from a base (its theta0 is generated from its seed)")
        }
        let architecture = model.architecture
        let read = try failing { try BaseFile.read(contentsOf: URL(fileURLWithPath: base), architecture: architecture) }
        try failing(base) { try model.attachBase(read.weights) }
    }
}

/// Fine-tuning options of `train` and `sweep`: the base (theta0 := its weights) and the
/// per-tensor modes and SAID scales (Formats/idz-v3.md sections 6 and 7).
struct FineTuningOptions: ParsableArguments {
    @Option(help: "Fine-tune this pre-trained base: theta0 := its weights (.safetensors, .npy with sidecar, or .idz); the architecture comes from the file (idzip.architecture metadata) unless --model is given. The .idz records the base's digest.", completion: .file(extensions: ["safetensors", "npy", "idz"]))
    var base: String?

    @Option(help: "Name or locator of the base stored in the model (default: the base's file name).")
    var baseLocator: String?

    @Option(name: .customLong("tensor-mode"), help: "PATTERN=MODE, repeatable, later wins: MODE is subspace (theta0 + scale * (P theta_d) on the tensor), direct (trained directly, stored as is) or frozen (= theta0); PATTERN is a glob on the tensor name (layers.0.weight) or its last part (bias, weight), e.g. 'bias=direct'.")
    var tensorModes: [String] = []

    @Option(help: "Train tensors of at most N elements directly (applied before --tensor-mode).")
    var directSmall: Int?

    @Flag(help: "Learn one scale per subspace tensor (SAID, Aghajanyan et al. 2021): theta_t = theta0_t + lambda_t (P theta_d)_t, lambda_t starting at 1; stored in the file.")
    var tensorScales = false

    @Option(help: "Base learning rate of the tensor scales (follows the schedule). (default: 0.01)")
    var scaleLearningRate: Float?

    @Option(help: "Base learning rate of direct tensors (follows the schedule). (default: 0.001)")
    var directLearningRate: Float?

    /// The base file, when given: an input that no output may overwrite.
    var inputFiles: [String] { [base].compactMap { $0 } }

    /// Refuses a `--tensor-mode` pattern that matches no tensor of `architecture` (before any
    /// training: a rule that changes nothing is a typo).
    func checkRules(_ architecture: Architecture) throws {
        let tensors = (try? architecture.parameterTensors()) ?? []
        for text in tensorModes {
            guard let rule = TensorModeRule(text: text) else { continue }
            if !tensors.contains(where: { rule.matches($0.name) }) {
                throw ValidationError("--tensor-mode \(text): '\(rule.pattern)' matches no tensor of the network (names like \(tensors.first?.name ?? "layers.0.weight") or their last part, weight or bias)")
            }
        }
    }

    /// The structure chosen; nil when none of its options is given.
    func structure() throws -> TensorStructureSettings? {
        var rules: [TensorModeRule] = []
        for text in tensorModes {
            guard let rule = TensorModeRule(text: text) else {
                throw ValidationError("--tensor-mode \(text): expected PATTERN=MODE with MODE subspace, direct or frozen")
            }
            rules.append(rule)
        }
        if let directSmall, directSmall < 1 { throw ValidationError("--direct-small must be at least 1") }
        for (name, rate) in [("--scale-learning-rate", scaleLearningRate), ("--direct-learning-rate", directLearningRate)] {
            if let rate, !(rate.isFinite && rate > 0) { throw ValidationError("\(name) must be a positive number") }
        }
        let settings = TensorStructureSettings(
            rules: rules, directSmall: directSmall, scales: tensorScales,
            scaleLearningRate: scaleLearningRate ?? TensorStructureSettings.defaultScaleLearningRate,
            directLearningRate: directLearningRate ?? TensorStructureSettings.defaultDirectLearningRate)
        if settings.isPlain {
            if scaleLearningRate != nil || directLearningRate != nil {
                throw ValidationError("--scale-learning-rate and --direct-learning-rate need --tensor-scales, --tensor-mode or --direct-small")
            }
            return nil
        }
        return settings
    }

    /// Checks what does not need files: modes need --dim, a base needs data.
    func validate(dimension: Int?, environment: Bool) throws {
        let structure = try structure()
        if structure != nil, dimension == nil {
            throw ValidationError("--tensor-mode, --direct-small and --tensor-scales shape a subspace: give --dim")
        }
        if environment, base != nil || structure != nil {
            throw ValidationError("--base and tensor modes need training on a data set, not --env")
        }
        if baseLocator != nil, base == nil { throw ValidationError("--base-locator needs --base") }
        if let baseLocator, baseLocator.utf8.count > 4096 { throw ValidationError("--base-locator has more than 4,096 bytes") }
    }

    /// The model to train and its base: the base's architecture unless `--model` is given
    /// (then they must agree).
    func resolve(model given: ModelArgument?, fallback: ModelArgument) throws -> (model: ModelArgument, base: BaseWeights?, locator: String) {
        guard let base else { return (given ?? fallback, nil, "") }
        let read = try failing { try BaseFile.read(contentsOf: URL(fileURLWithPath: base), architecture: given?.architecture) }
        let model: ModelArgument
        if let given {
            model = given
        } else {
            let name = read.architecture.spec ?? read.architecture.layerSummary
            model = ModelArgument(name: name, architecture: read.architecture, parameterCount: try failing { try read.architecture.parameterCount() })
        }
        if model.isToy { throw ValidationError("--base: the toy problem has no data to fine-tune on") }
        return (model, read.weights, baseLocator ?? URL(fileURLWithPath: base).lastPathComponent)
    }
}
