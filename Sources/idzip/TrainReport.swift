import Foundation
import IdzipCore
import IdzipTraining

/// What `idzip train` prints when it is done: two lines, or `--json` (`TrainSummary` or
/// `ToyTrainSummary`).
struct TrainReport {
    var run: TrainingRun
    var sealed: SealedRun
    var reports: [EpochReport]
    var output: String
    var seconds: Double

    /// "training fc:784-200-200-10 (D = 199,210) on mnist: fastfood subspace d = 1,000; adam ..."
    static func headline(_ run: TrainingRun) -> String {
        let spec = run.spec
        let space = spec.dimension.map { "\(spec.projection.name) subspace d = \(grouped($0))" } ?? "direct"
        if case .toy = run.problem {
            return "training \(spec.model) (D = \(grouped(run.parameterCount))), no data: \(space); "
                + "\(spec.configuration.toySummary) steps=\(spec.configuration.epochs)"
        }
        return "training \(spec.model) (D = \(grouped(run.parameterCount))) on \(run.dataSummary): \(space); "
            + "\(spec.configuration.summary) epochs=\(spec.configuration.epochs)"
    }

    func print(json: Bool) throws {
        let spec = run.spec
        let D = run.parameterCount
        let subspace = spec.dimension != nil
        if let loss = sealed.loss {
            if json {
                return try printJSON(ToyTrainSummary(
                    output: output, file_bytes: sealed.fileBytes, parameters: D, d: spec.dimension,
                    projection: subspace ? spec.projection.name : nil, loss: loss, performance: sealed.performance,
                    steps: run.epochsCompleted, wall_seconds: seconds, settings: spec.configuration.toySummary, seed: spec.seed,
                    projection_seed: subspace ? spec.projectionSeed : nil))
            }
            Swift.print("wrote \(output): \(grouped(sealed.fileBytes)) bytes for \(grouped(D)) parameters")
            Swift.print(String(format: "performance exp(-loss) %.6f, loss %.6g (of the weights as stored); %d steps in %.2f s",
                sealed.performance, loss, run.epochsCompleted, seconds))
            return
        }
        let test = sealed.test ?? Evaluation(classCount: 0)
        let train = sealed.train ?? Evaluation(classCount: 0)
        let trainingSeconds = reports.reduce(0) { $0 + $1.trainingSeconds }
        let examples = reports.reduce(0) { $0 + $1.exampleCount }
        let summary = TrainSummary(
            output: output, file_bytes: sealed.fileBytes, parameters: D, d: spec.dimension,
            projection: subspace ? spec.projection.name : nil, compression_ratio: Double(D * 4) / Double(max(1, sealed.fileBytes)),
            test_accuracy: test.accuracy, test_loss: test.meanLoss, train_accuracy: train.accuracy,
            epochs: run.epochsCompleted, wall_seconds: seconds,
            examples_per_second: trainingSeconds > 0 ? Double(examples) / trainingSeconds : 0,
            settings: spec.configuration.summary, seed: spec.seed, projection_seed: subspace ? spec.projectionSeed : nil,
            history: reports.map(EpochSummary.init))
        if json { return try printJSON(summary) }
        Swift.print("wrote \(output): \(grouped(sealed.fileBytes)) bytes for \(grouped(D)) parameters ("
            + String(format: "%.1fx smaller than float32 weights", summary.compression_ratio) + ")")
        Swift.print(String(format: "test accuracy %.2f%%, train accuracy %.2f%% (of the weights as stored); %d epochs in %.1f s, %@ ex/s",
            test.accuracy * 100, train.accuracy * 100, run.epochsCompleted, seconds, grouped(Int(summary.examples_per_second))))
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
