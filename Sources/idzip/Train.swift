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
            after every epoch; after an interruption, the same command with --resume continues.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var dataOptions: DataOptions

    @Option(name: [.customLong("dim"), .customShort("d")], help: "Subspace dimension d; without it, direct training of all parameters.")
    var dimension: Int?

    @Option(help: "Seed of the projection P (default: derived from --seed).")
    var projectionSeed: UInt64?

    @OptionGroup var training: TrainingOptions

    @Option(name: .shortAndLong, help: "Output: .idz (subspace or direct) or .safetensors (direct).", completion: .file())
    var output: String

    @Option(help: "Class names to store in the model, one per line in class order (default: the data set's, from classes.txt or batches.meta.txt).", completion: .file())
    var labels: String?

    @Flag(help: "Continue from the checkpoint a previous run of this command left.")
    var resume = false

    @Flag(help: "Keep the last epoch's checkpoint after a successful run (to train further later with --resume).")
    var keepCheckpoint = false

    @Flag(help: "Print a JSON summary on standard output (progress goes to standard error).")
    var json = false

    func validate() throws {
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
        if modelOptions.model.isToy, pathExtension != "idz" { throw ValidationError("the toy problem writes a .idz file; name the output model.idz") }
        if modelOptions.model.isToy, labels != nil { throw ValidationError("--labels: the toy problem has no classes") }
        if labels != nil, pathExtension != "idz" { throw ValidationError("--labels needs a .idz output; safetensors files store no class names") }
        try modelOptions.model.check(dimension: dimension)
        _ = try training.configuration(
            base: TrainingRunSpec.recommendedConfiguration(for: modelOptions.model.architecture, subspace: dimension != nil))
    }

    func run() throws {
        let model = modelOptions.model
        let spec = TrainingRunSpec(
            model: model.name, architecture: model.architecture, dimension: dimension, projection: modelOptions.projection,
            projectionSeed: projectionSeed, seed: training.seed,
            configuration: try training.configuration(
                base: TrainingRunSpec.recommendedConfiguration(for: model.architecture, subspace: dimension != nil)),
            encoding: modelOptions.encoding, labels: try labels.map { path in try failing { try ClassNames.read(path: path) } })
        let problem: TrainingProblem = model.isToy ? .toy(ToyObjective(model.architecture) ?? ToyObjective()) : .dataset(try dataOptions.load())
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
        let reports = try failing { try run.train(observer: progress, checkpoint: model.isToy ? nil : checkpoint) }
        let sealed = try failing { try run.seal(to: URL(fileURLWithPath: output)) }
        if !keepCheckpoint { try? FileManager.default.removeItem(at: checkpoint) }
        try TrainReport(run: run, sealed: sealed, reports: reports, output: output, seconds: Date().timeIntervalSince(started)).print(json: json)
    }
}

/// Prints one line and exits on Ctrl-C. Outputs are written atomically and checkpoints after
/// each epoch, so nothing partial is left; `--resume` continues.
enum InterruptMessage {
    static func install() {
        signal(SIGINT) { _ in
            let message = "\ninterrupted: no output written; the same command with --resume continues from the last finished epoch\n"
            message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
            _exit(130)
        }
    }
}
