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
        let D = run.parameterCount
        if let loss = sealed.loss {
            let summary = run.toySummary(sealed: sealed, output: output, wallSeconds: seconds)
            if json { return try printJSON(summary) }
            printLine("wrote \(output): \(grouped(sealed.fileBytes)) bytes for \(grouped(D)) parameters")
            Swift.print(String(format: "performance exp(-loss) %.6f, loss %.6g (of the weights as stored); %d steps in %.2f s",
                sealed.performance, loss, run.epochsCompleted, seconds))
            return
        }
        let summary = run.summary(sealed: sealed, reports: reports, output: output, wallSeconds: seconds)
        if json { return try printJSON(summary) }
        let ratio = summary.compression_ratio
        printLine("wrote \(output): \(grouped(sealed.fileBytes)) bytes for \(grouped(D)) parameters ("
            + (ratio >= 1 ? String(format: "%.1fx smaller than float32 weights", ratio)
                : String(format: "%.2fx the size of float32 weights", 1 / ratio)) + ")")
        Swift.print(String(format: "test accuracy %.2f%%, train accuracy %.2f%% (of the weights as stored); %d %@ in %.1f s, %@ ex/s",
            summary.test_accuracy * 100, summary.train_accuracy * 100, run.epochsCompleted,
            run.epochsCompleted == 1 ? "epoch" : "epochs", seconds,
            grouped(Int(summary.examples_per_second))))
        if let validation = summary.validation_accuracy {
            Swift.print(String(format: "validation accuracy %.2f%% on the %@", validation * 100, summary.selected_on))
        }
    }
}
