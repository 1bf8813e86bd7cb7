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

    @Option(help: "Architecture: fc:784-200-200-10, fc5, lenet, lenet:3x32x32 or toy.")
    var model: String = "fc:784-200-200-10"

    @OptionGroup var dataOptions: DataOptions

    @Option(name: [.customLong("dim"), .customShort("d")], help: "Subspace dimension d; without it, direct training of all parameters.")
    var dimension: Int?

    @Option(help: "Projection for subspace training: dense, sparse or fastfood.")
    var projection: ProjectionKind = .fastfood

    @Option(help: "Seed of the projection P (default: derived from --seed).")
    var projectionSeed: UInt64?

    @OptionGroup var training: TrainingOptions

    @Option(help: "Stored precision of theta_d: float32, float16 or int8.")
    var encoding: ThetaEncoding = .float32

    @Option(name: .shortAndLong, help: "Output: .idz (subspace or direct) or .safetensors (direct).", completion: .file())
    var output: String

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
            guard projection != .identity else { throw ValidationError("for direct training leave out --dim") }
            guard pathExtension == "idz" else { throw ValidationError("subspace training writes a .idz file; name the output model.idz") }
        } else {
            guard pathExtension == "idz" || pathExtension == "safetensors" else {
                throw ValidationError("direct training writes .safetensors or .idz; name the output accordingly")
            }
        }
    }

    func run() throws {
        let architecture: Architecture
        do { architecture = try Architecture(spec: model) } catch { throw ValidationError(error.description) }
        let parameterCount = try architecture.parameterCount()
        if let dimension, dimension > parameterCount {
            throw ValidationError("d = \(dimension) exceeds the number of parameters D = \(parameterCount) of \(model)")
        }
        if ToyObjective(architecture) != nil {
            return try runToy(architecture: architecture, parameterCount: parameterCount)
        }
        let base: TrainingConfiguration = dimension == nil ? .recommended() : .recommendedSubspace()
        let configuration = try training.configuration(base: base)
        let data = try dataOptions.load()
        let projectionSeed = self.projectionSeed ?? Self.derivedProjectionSeed(training.seed)
        let space: ParameterSpace = dimension.map {
            .subspace(trainingProjection(
                kind: projection, rowCount: parameterCount, columnCount: $0, seed: projectionSeed, threads: configuration.threads))
        } ?? .direct
        let progress = TrainingProgress(totalEpochs: configuration.epochs, json: json)
        let started = Date()
        let trainer: Trainer
        do {
            trainer = try Trainer(architecture: architecture, theta0Seed: training.seed, space: space, configuration: configuration)
        } catch {
            throw CommandFailure(error.description)
        }
        progress.say(
            "training \(model) (D = \(grouped(parameterCount))) on \(dataOptions.summary): "
                + (dimension.map { "\(projection.name) subspace d = \(grouped($0))" } ?? "direct") + "; \(configuration.summary) epochs=\(configuration.epochs)")

        let checkpointURL = URL(fileURLWithPath: output + ".checkpoint")
        let fingerprint = fingerprint(configuration: configuration, projectionSeed: projectionSeed)
        if resume {
            do {
                try trainer.restore(CheckpointFile.read(from: checkpointURL, fingerprint: fingerprint))
            } catch {
                throw CommandFailure(error.description)
            }
            progress.say("resuming after epoch \(trainer.epochsCompleted)")
        }
        InterruptMessage.install()
        let reports = try Self.train(trainer, on: data, progress: progress, checkpoint: checkpointURL, fingerprint: fingerprint)

        let result = try TrainedModelWriter(
            architecture: architecture, theta0Seed: training.seed, data: data, dataSummary: dataOptions.summary,
            configuration: configuration, epochsCompleted: trainer.epochsCompleted
        ).write(
            trained: trainer.parameters, theta: dimension == nil ? trainer.theta() : nil,
            theta0: trainer.theta0, projection: dimension.map { ProjectionSpec(kind: projection, seed: projectionSeed, dimension: $0) },
            encoding: encoding, to: output)
        if !keepCheckpoint { try? FileManager.default.removeItem(at: checkpointURL) }

        let seconds = Date().timeIntervalSince(started)
        let trainingSeconds = reports.reduce(0) { $0 + $1.trainingSeconds }
        let examples = reports.reduce(0) { $0 + $1.exampleCount }
        let summary = TrainSummary(
            output: output, file_bytes: result.fileBytes, parameters: parameterCount, d: dimension,
            projection: dimension == nil ? nil : projection.name, compression_ratio: Double(parameterCount * 4) / Double(max(1, result.fileBytes)),
            test_accuracy: result.test.accuracy, test_loss: result.test.meanLoss, train_accuracy: result.train.accuracy,
            epochs: trainer.epochsCompleted, wall_seconds: seconds,
            examples_per_second: trainingSeconds > 0 ? Double(examples) / trainingSeconds : 0,
            settings: configuration.summary, seed: training.seed, projection_seed: dimension == nil ? nil : projectionSeed,
            history: reports.map(EpochSummary.init))
        if json {
            try printJSON(summary)
        } else {
            print("wrote \(output): \(grouped(result.fileBytes)) bytes for \(grouped(parameterCount)) parameters ("
                + String(format: "%.1fx smaller than float32 weights", summary.compression_ratio) + ")")
            print(String(format: "test accuracy %.2f%%, train accuracy %.2f%% (of the weights as stored); %d epochs in %.1f s, %@ ex/s",
                result.test.accuracy * 100, result.train.accuracy * 100, trainer.epochsCompleted, seconds,
                grouped(Int(summary.examples_per_second))))
        }
    }

    /// The toy problem: no data set; each "epoch" is one full gradient step; performance is
    /// exp(-loss). No checkpoint (the whole run takes well under a second).
    func runToy(architecture: Architecture, parameterCount: Int) throws {
        let configuration = try training.configuration(base: ToyTrainer.recommended())
        let settings = configuration.summary.replacingOccurrences(of: " batch=\(configuration.batchSize)", with: "")
        let projectionSeed = self.projectionSeed ?? Self.derivedProjectionSeed(training.seed)
        let progress = TrainingProgress(totalEpochs: configuration.epochs, json: json)
        progress.say(
            "training toy (D = \(grouped(parameterCount))), no data: "
                + (dimension.map { "\(projection.name) subspace d = \(grouped($0))" } ?? "direct")
                + "; \(settings) steps=\(configuration.epochs)")
        let started = Date()
        let reportEvery = max(1, configuration.epochs / 10)
        let (trainer, result) = try ToyModelWriter.trainAndWrite(
            architecture: architecture, seed: training.seed, dimension: dimension, projection: projection,
            projectionSeed: projectionSeed, configuration: configuration, encoding: encoding, output: output
        ) { step, loss in
            if step % reportEvery == 0 { progress.say(String(format: "step %d/%d  loss %.6g", step + 1, configuration.epochs, loss)) }
            return .proceed
        }
        let seconds = Date().timeIntervalSince(started)
        let summary = ToyTrainSummary(
            output: output, file_bytes: result.fileBytes, parameters: parameterCount, d: dimension,
            projection: dimension == nil ? nil : projection.name, loss: result.loss, performance: result.performance,
            steps: trainer.stepsCompleted, wall_seconds: seconds, settings: settings, seed: training.seed,
            projection_seed: dimension == nil ? nil : projectionSeed)
        if json {
            try printJSON(summary)
        } else {
            print("wrote \(output): \(grouped(result.fileBytes)) bytes for \(grouped(parameterCount)) parameters")
            print(String(format: "performance exp(-loss) %.6f, loss %.6g (of the weights as stored); %d steps in %.2f s",
                result.performance, result.loss, trainer.stepsCompleted, seconds))
        }
    }

    /// Trains to the configured epochs, writing a checkpoint after every epoch.
    static func train(
        _ trainer: Trainer, on data: DatasetPair, progress: TrainingProgress, checkpoint: URL, fingerprint: String
    ) throws -> [EpochReport] {
        var checkpointFailure: String?
        let reports: [EpochReport]
        do {
            reports = try trainer.train(on: data, onBatch: progress.batch) { report in
                progress.epoch(report)
                do {
                    try CheckpointFile.write(trainer.checkpoint(), fingerprint: fingerprint, to: checkpoint)
                    return .proceed
                } catch {
                    checkpointFailure = "\(error)"
                    return .stop
                }
            }
        } catch {
            throw CommandFailure(error.description)
        }
        if let checkpointFailure { throw CommandFailure(checkpointFailure) }
        return reports
    }

    /// Everything that must match for --resume to continue the same run.
    func fingerprint(configuration: TrainingConfiguration, projectionSeed: UInt64) -> String {
        var settings = configuration
        settings.epochs = 0
        settings.threads = 1
        return "model \(model); data \(dataOptions.summary); dim \(dimension.map(String.init) ?? "direct"); "
            + "projection \(projection.name) seed \(projectionSeed); seed \(training.seed); \(settings.summary)"
    }

    /// The projection seed used when --projection-seed is not given.
    static func derivedProjectionSeed(_ seed: UInt64) -> UInt64 {
        seed ^ 0x9E37_79B9_7F4A_7C15
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

struct EpochSummary: Encodable {
    var epoch: Int
    var learning_rate: Float
    var train_loss: Double
    var train_accuracy: Double
    var test_accuracy: Double?
    var test_loss: Double?
    var seconds: Double
    var examples_per_second: Double

    init(_ report: EpochReport) {
        epoch = report.epoch + 1
        learning_rate = report.learningRate
        train_loss = report.trainLoss
        train_accuracy = report.trainAccuracy
        test_accuracy = report.test?.accuracy
        test_loss = report.test?.meanLoss
        seconds = report.trainingSeconds + report.evaluationSeconds
        examples_per_second = report.examplesPerSecond
    }
}

struct TrainSummary: Encodable {
    var output: String
    var file_bytes: Int
    var parameters: Int
    var d: Int?
    var projection: String?
    var compression_ratio: Double
    var test_accuracy: Double
    var test_loss: Double
    var train_accuracy: Double
    var epochs: Int
    var wall_seconds: Double
    var examples_per_second: Double
    var settings: String
    var seed: UInt64
    var projection_seed: UInt64?
    var history: [EpochSummary]
}

struct ToyTrainSummary: Encodable {
    var output: String
    var file_bytes: Int
    var parameters: Int
    var d: Int?
    var projection: String?
    var loss: Double
    var performance: Double
    var steps: Int
    var wall_seconds: Double
    var settings: String
    var seed: UInt64
    var projection_seed: UInt64?
}
