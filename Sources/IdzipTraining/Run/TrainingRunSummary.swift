import IdzipCore

// The JSON records of a finished training run (`idzip train --json`), as library types so
// that any caller of `TrainingRun` can keep the same record.

/// One epoch of a run.
public struct EpochSummary: Encodable, Sendable {
    public var epoch: Int
    public var learning_rate: Float
    public var train_loss: Double
    public var train_accuracy: Double
    public var test_accuracy: Double?
    public var test_loss: Double?
    /// With a held-out validation set (`--validation-fraction`).
    public var validation_accuracy: Double?
    public var seconds: Double
    public var examples_per_second: Double

    public init(_ report: EpochReport) {
        epoch = report.epoch + 1
        learning_rate = report.learningRate
        train_loss = report.trainLoss
        train_accuracy = report.trainAccuracy
        test_accuracy = report.test?.accuracy
        test_loss = report.test?.meanLoss
        validation_accuracy = report.validation?.accuracy
        seconds = report.trainingSeconds + report.evaluationSeconds
        examples_per_second = report.examplesPerSecond
    }
}

/// A data-set run: the model, encoding and data set, the file, its accuracy (of the
/// weights as stored) and every epoch.
public struct TrainSummary: Encodable, Sendable {
    /// The architecture as named ("fc:784-200-200-10").
    public var model: String
    /// Stored precision of theta_d (float32 for safetensors).
    public var encoding: String
    /// The data set with its variants ("mnist", "mnist (shuffled labels, seed 0)").
    public var data: String
    public var dataset_sha256: String
    public var producer: String
    public var output: String
    public var file_bytes: Int
    public var parameters: Int
    public var d: Int?
    public var projection: String?
    public var compression_ratio: Double
    public var test_accuracy: Double
    public var test_loss: Double
    public var train_accuracy: Double
    /// The held-out validation set's accuracy (`--validation-fraction`), else absent.
    public var validation_accuracy: Double?
    /// What decisions on this run (a sweep's early stopping, search, best epoch) are taken on.
    public var selected_on: String
    public var epochs: Int
    public var wall_seconds: Double
    public var examples_per_second: Double
    public var settings: String
    public var seed: UInt64
    public var projection_seed: UInt64?
    public var history: [EpochSummary]
}

/// A toy-problem run: the file and the loss and performance exp(-loss) of the stored weights.
public struct ToyTrainSummary: Encodable, Sendable {
    public var model: String
    public var encoding: String
    /// "toy (no data)".
    public var data: String
    public var producer: String
    public var output: String
    public var file_bytes: Int
    public var parameters: Int
    public var d: Int?
    public var projection: String?
    public var loss: Double
    public var performance: Double
    public var steps: Int
    public var wall_seconds: Double
    public var settings: String
    public var seed: UInt64
    public var projection_seed: UInt64?
}

extension TrainingRun {
    /// The record of this run after `sealed` was written to `output`.
    /// - Parameters:
    ///   - reports: the epochs' reports (`train`'s result).
    ///   - wallSeconds: the run's wall time, from its start to the sealed file.
    public func summary(sealed: SealedRun, reports: [EpochReport], output: String, wallSeconds: Double) -> TrainSummary {
        let subspace = spec.dimension != nil
        let trainingSeconds = reports.reduce(0) { $0 + $1.trainingSeconds }
        let examples = reports.reduce(0) { $0 + $1.exampleCount }
        var digest = ""
        if case .dataset(let data) = problem { digest = hexString(data.pair.digest) }
        return TrainSummary(
            model: spec.model, encoding: output.lowercased().hasSuffix(".safetensors") ? "float32" : spec.encoding.name,
            data: dataSummary, dataset_sha256: digest,
            producer: IdzipVersion.producer, output: output, file_bytes: sealed.fileBytes, parameters: parameterCount, d: spec.dimension,
            projection: subspace ? spec.projection.name : nil,
            compression_ratio: Double(parameterCount * 4) / Double(max(1, sealed.fileBytes)),
            test_accuracy: sealed.test?.accuracy ?? 0, test_loss: sealed.test?.meanLoss ?? 0, train_accuracy: sealed.train?.accuracy ?? 0,
            validation_accuracy: sealed.validation?.accuracy,
            selected_on: SweepDescription(model: spec.model, data: dataSummary, parameters: parameterCount, projection: "").selectedOn ?? "",
            epochs: epochsCompleted, wall_seconds: wallSeconds,
            examples_per_second: trainingSeconds > 0 ? Double(examples) / trainingSeconds : 0,
            settings: spec.configuration.summary, seed: spec.seed, projection_seed: subspace ? spec.projectionSeed : nil,
            history: reports.map(EpochSummary.init))
    }

    /// The record of this toy-problem run after `sealed` was written to `output`.
    public func toySummary(sealed: SealedRun, output: String, wallSeconds: Double) -> ToyTrainSummary {
        let subspace = spec.dimension != nil
        return ToyTrainSummary(
            model: spec.model, encoding: spec.encoding.name, data: dataSummary, producer: IdzipVersion.producer, output: output, file_bytes: sealed.fileBytes, parameters: parameterCount, d: spec.dimension,
            projection: subspace ? spec.projection.name : nil, loss: sealed.loss ?? 0, performance: sealed.performance,
            steps: epochsCompleted, wall_seconds: wallSeconds, settings: spec.configuration.toySummary, seed: spec.seed,
            projection_seed: subspace ? spec.projectionSeed : nil)
    }
}
