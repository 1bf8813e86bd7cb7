import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a network, directly or in a random subspace, and write the model.",
        discussion: """
            With --dim, only theta_d (d numbers) is trained and the output is a .idz file of a \
            few kilobytes. Without it, all parameters are trained and the output is safetensors \
            (or a .idz file with the identity projection). A checkpoint is kept beside the output \
            after every epoch; after an interruption, the same command with --resume continues. \
            With --env, the network is a policy learnt in that environment (--algorithm dqn for \
            --steps environment steps, or es for --iterations); the best evaluated policy is written \
            (a .idz file) with its returns on --eval-episodes episodes.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var dataOptions: DataOptions

    @OptionGroup(title: "Input preprocessing") var preprocessingOptions: PreprocessingOptions

    @OptionGroup(title: "Reinforcement learning") var reinforcement: ReinforcementOptions

    @Option(name: [.customLong("dim"), .customShort("d")], help: "Subspace dimension d; without it, direct training of all parameters.")
    var dimension: Int?

    @Option(help: "Seed of the projection P (default: derived from --seed).")
    var projectionSeed: UInt64?

    @OptionGroup var training: TrainingOptions

    @OptionGroup(title: "Codebook") var quantizerOptions: QuantizerOptions

    @OptionGroup(title: "Fine-tuning") var fineTuning: FineTuningOptions

    @Option(name: .shortAndLong, help: "Output: .idz (subspace or direct) or .safetensors (direct).", completion: .file())
    var output: String

    @Option(help: "Class names to store in the model, one per line in class order (default: the data set's, from classes.txt or batches.meta.txt).", completion: .file())
    var labels: String?

    @Option(help: ArgumentHelp(EncodingChoice.containerHelp), transform: FormatArgument.container)
    var container: ContainerProfile = .standard

    @Flag(help: "Continue from the checkpoint a previous run of this command left.")
    var resume = false

    @Flag(help: "Keep the last epoch's checkpoint after a successful run (to train further later with --resume).")
    var keepCheckpoint = false

    @Flag(help: "Print a JSON summary on standard output (progress goes to standard error).")
    var json = false

    func validate() throws {
        try reinforcement.check(data: dataOptions, preprocessing: preprocessingOptions, epochs: training.epochs)
        let model = try reinforcement.model(modelOptions)
        if reinforcement.env != nil {
            guard URL(fileURLWithPath: output).pathExtension.lowercased() == "idz" else {
                throw ValidationError("a policy is written as a .idz file; name the output policy.idz")
            }
            if labels != nil { throw ValidationError("--labels does not apply with --env: a policy's outputs are actions") }
        }
        let pathExtension = URL(fileURLWithPath: output).pathExtension.lowercased()
        if let dimension {
            guard dimension >= 1, dimension <= Limits.maxSubspaceDimension else {
                throw ValidationError("--dim must be between 1 and \(Limits.maxSubspaceDimension)")
            }
            guard modelOptions.projection != .identity else { throw ValidationError("for direct training leave out --dim") }
            guard pathExtension == "idz" else { throw ValidationError("subspace training writes a .idz file; name the output model.idz") }
        } else {
            guard pathExtension == "idz" || pathExtension == "safetensors" else {
                throw ValidationError("direct training writes .safetensors or .idz; name the output accordingly")
            }
        }
        if quantizerOptions.given, reinforcement.env != nil {
            throw ValidationError("--quantizer and --warmup-epochs shape a codebook learned on data; a policy's codebook is fitted after training")
        }
        if quantizerOptions.given, modelOptions.encoding.encoding != .codebook || dimension == nil {
            throw ValidationError("--quantizer and --warmup-epochs shape a learned codebook: give --encoding codebook:K and --dim")
        }
        if model.isToy, pathExtension != "idz" { throw ValidationError("the toy problem writes a .idz file; name the output model.idz") }
        if model.isToy, labels != nil { throw ValidationError("--labels: the toy problem has no classes") }
        if container != .standard, pathExtension != "idz" { throw ValidationError("--container needs a .idz output") }
        if labels != nil, pathExtension != "idz" { throw ValidationError("--labels needs a .idz output; safetensors files store no class names") }
        try fineTuning.validate(dimension: dimension, environment: reinforcement.env != nil)
        // With --base and no --model, the architecture is the base's (read in run()).
        if fineTuning.base == nil || modelOptions.model != nil { try model.check(dimension: dimension) }
        _ = try training.configuration(base: baseConfiguration(model))
    }

    /// The recommended settings this run starts from.
    func baseConfiguration(_ model: ModelArgument) -> TrainingConfiguration {
        reinforcement.env == nil
            ? TrainingRunSpec.recommendedConfiguration(for: model.architecture, subspace: dimension != nil)
            : ReinforcementTask.recommendedConfiguration(subspace: dimension != nil, algorithm: reinforcement.algorithm)
    }

    /// The data with the chosen preprocessing; a missing or damaged data set is one line, exit 1.
    /// The data set, its variant and the preprocessing chosen.
    var dataSelection: DataSelection {
        var selection = dataOptions.selection
        selection.preprocessing = preprocessingOptions.choice
        return selection
    }

    func loadData() throws -> SelectedData {
        try failing { try SelectedData(dataSelection) }
    }

    func run() throws {
        let fallback = try reinforcement.model(modelOptions)
        if let env = reinforcement.env { return try trainPolicy(fallback, environment: env) }
        let (model, base, baseLocator) = try fineTuning.resolve(model: modelOptions.model, fallback: fallback)
        if base != nil { try model.check(dimension: dimension) }
        // Outputs are checked before the data is loaded or a step is taken.
        let dataFiles = model.isToy ? [] : DatasetCatalog.inputFiles(of: dataOptions.selection.name)
        _ = try OutputCheck.file(output, role: "-o", inputs: dataFiles + fineTuning.inputFiles)
        if !model.isToy { _ = try OutputCheck.file(output + ".checkpoint", role: "the checkpoint", inputs: dataFiles + fineTuning.inputFiles, streams: false) }
        var spec = TrainingRunSpec(
            model: model.name, architecture: model.architecture, dimension: dimension, projection: modelOptions.projection,
            projectionSeed: projectionSeed, seed: training.seed,
            configuration: try training.configuration(
                base: TrainingRunSpec.recommendedConfiguration(for: model.architecture, subspace: dimension != nil)),
            encoding: modelOptions.encoding.encoding, labels: try labels.map { path in try failing { try ClassNames.read(path: path) } })
        spec.codebookLevels = modelOptions.encoding.levels
        spec.container = container
        spec.base = base
        spec.baseLocator = baseLocator
        spec.tensorStructure = try fineTuning.structure()
        try fineTuning.checkRules(model.architecture)
        if spec.base != nil || spec.activeStructure != nil, container.layout == .compact {
            throw ValidationError("--container compact cannot hold a base or tensor modes; write the standard layout")
        }
        if modelOptions.encoding.encoding == .codebook, dimension != nil {
            spec.quantization = quantizerOptions.settings(levels: modelOptions.encoding.levels)
        }
        // Before the data set is read: its example counts and bytes from the file headers
        // (a data set that cannot be opened is reported by the loader below).
        let footprint = model.isToy ? nil : try? dataSelection.footprint()
        try failing {
            try spec.checkMemory(
                testExamples: footprint.map { max($0.testExamples, $0.validationExamples) }, trainExamples: footprint?.trainExamples,
                dataBytes: footprint?.heldBytes ?? 0, readingBytes: footprint?.bytes ?? 0)
        }
        let problem: TrainingProblem = model.isToy ? .toy(ToyObjective(model.architecture) ?? ToyObjective()) : .dataset(try loadData())
        let run = try failing { try TrainingRun(spec: spec, problem: problem) }
        let progress = TrainingProgress(totalEpochs: spec.configuration.epochs, json: json)
        progress.say(TrainReport.headline(run))
        let checkpoint = URL(fileURLWithPath: output + ".checkpoint")
        if resume, model.isToy {
            progress.say("the toy problem keeps no checkpoints (a run takes a fraction of a second): training from the start")
        } else if resume {
            try failing { try run.resume(from: checkpoint) }
            progress.say("resuming after epoch \(run.epochsCompleted)")
        }
        InterruptMessage.install()
        let started = Date()
        let reports: [EpochReport]
        let sealed: SealedRun
        do {
            reports = try run.train(observer: progress, checkpoint: model.isToy ? nil : checkpoint)
            sealed = try run.seal(to: URL(fileURLWithPath: output))
        } catch {
            // A diverged run resumes into the same divergence: it leaves no file (FiniteValues).
            if error.isDivergence { try? FileManager.default.removeItem(at: checkpoint) }
            throw CommandFailure(error)
        }
        if !keepCheckpoint { try? FileManager.default.removeItem(at: checkpoint) }
        try TrainReport(run: run, sealed: sealed, reports: reports, output: output, seconds: Date().timeIntervalSince(started)).print(json: json)
    }
}

extension Train {
    /// `idzip train --env`: a policy learnt by reinforcement learning, written as a .idz file.
    func trainPolicy(_ model: ModelArgument, environment: EnvironmentKind) throws {
        _ = try OutputCheck.file(output, role: "-o", inputs: [])
        let configuration = try training.configuration(base: baseConfiguration(model))
        let task = try reinforcement.task(environment: environment, batchSize: configuration.batchSize)
        var spec = TrainingRunSpec(
            model: model.name, architecture: model.architecture, dimension: dimension, projection: modelOptions.projection,
            projectionSeed: projectionSeed, seed: training.seed, configuration: configuration, encoding: modelOptions.encoding.encoding)
        spec.codebookLevels = modelOptions.encoding.levels
        spec.container = container
        try failing { try spec.checkMemory() }
        let run = try failing { try TrainingRun(spec: spec, problem: .environment(task)) }
        let progress = TrainingProgress(totalEpochs: task.plannedProgress, json: json)
        progress.evolutionStrategies = task.algorithm == .es
        progress.say(TrainReport.headline(run))
        if resume { progress.say("reinforcement learning keeps no checkpoints: training from the start") }
        InterruptMessage.install()
        let started = Date()
        let sealed = try failing {
            try run.train(observer: progress)
            return try run.seal(to: URL(fileURLWithPath: output))
        }
        try TrainReport(run: run, sealed: sealed, reports: [], output: output, seconds: Date().timeIntervalSince(started)).print(json: json)
    }
}

/// Prints one line on Ctrl-C; the process then dies of the signal. Outputs are written
/// atomically and checkpoints after each epoch, so nothing partial is left (temporaries are
/// removed, see `OutputCleanup`); `--resume` continues.
enum InterruptMessage {
    static func install() {
        OutputCleanup.installSignalHandlers(
            interruptMessage: "\ninterrupted: no output written; the same command with --resume continues from the last finished epoch\n")
    }
}
