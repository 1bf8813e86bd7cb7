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
        if case .environment(let task) = run.problem {
            return "training \(spec.model) (D = \(grouped(run.parameterCount))) in \(task.environment.title): \(space); "
                + "\(spec.configuration.summary); \(task.settingsSummary)"
        }
        if case .toy = run.problem {
            return "training \(spec.model) (D = \(grouped(run.parameterCount))), no data: \(space); "
                + "\(spec.configuration.toySummary) steps=\(spec.configuration.epochs)"
        }
        return "training \(spec.model) (D = \(grouped(run.parameterCount))) on \(run.dataSummary): \(space); "
            + "\(spec.configuration.summary) epochs=\(spec.configuration.epochs)" + (spec.quantization.map { "; \($0.summary)" } ?? "")
    }

    func print(json: Bool) throws {
        let D = run.parameterCount
        if let summary = run.policySummary(sealed: sealed, output: output, wallSeconds: seconds) {
            if json { return try printJSON(summary) }
            printLine("wrote \(output): \(grouped(sealed.fileBytes)) bytes for \(grouped(D)) parameters ("
                + Self.sizeComparison(fileBytes: sealed.fileBytes, parameters: D) + ")")
            Swift.print(String(format: "return %.2f +- %.2f (min %g, max %g) over %@ of the policy as stored; performance %.2f; %@ in %.1f s",
                summary.return_mean, summary.return_std, summary.return_min, summary.return_max, counted(summary.episodes, "episode"),
                summary.performance, counted(summary.steps, "step"), seconds))
            return
        }
        if let loss = sealed.loss {
            let summary = run.toySummary(sealed: sealed, output: output, wallSeconds: seconds)
            if json { return try printJSON(summary) }
            printLine("wrote \(output): \(grouped(sealed.fileBytes)) bytes for \(grouped(D)) parameters")
            Swift.print(String(format: "performance exp(-loss) %.6f, loss %.6g (of the weights as stored); %@ in %.2f s",
                sealed.performance, loss, counted(run.epochsCompleted, "step"), seconds))
            return
        }
        let summary = run.summary(sealed: sealed, reports: reports, output: output, wallSeconds: seconds)
        if json { return try printJSON(summary) }
        printLine("wrote \(output): \(grouped(sealed.fileBytes)) bytes for \(grouped(D)) parameters ("
            + Self.sizeComparison(fileBytes: sealed.fileBytes, parameters: D) + ")")
        Swift.print(String(format: "test accuracy %.2f%%, train accuracy %.2f%% (of the weights as stored); %@ in %.1f s, %@ ex/s",
            summary.test_accuracy * 100, summary.train_accuracy * 100, counted(run.epochsCompleted, "epoch"), seconds,
            grouped(Int(summary.examples_per_second))))
        if let codebook = run.codebook {
            Swift.print(String(format: "codebook: %d levels, entropy %.2f bits per coordinate, theta_d range-coded in %@ bytes",
                codebook.levels.count, codebook.entropyBits / Double(max(1, codebook.symbols.count)),
                grouped(RangeCoder.codedSize(codebook.symbols, alphabetSize: codebook.levels.count))))
        }
        if let validation = summary.validation_accuracy {
            Swift.print(String(format: "validation accuracy %.2f%% on the %@", validation * 100, summary.selected_on))
        }
    }

    /// "196.7x smaller than float32 weights", or "1.3x larger than float32 weights" when the
    /// file is the larger (direct training stored as a .idz file, a tiny network).
    static func sizeComparison(fileBytes: Int, parameters: Int) -> String {
        let weights = Double(parameters * 4), file = Double(max(fileBytes, 1))
        if abs(file / weights - 1) < 0.05 { return "about the size of float32 weights" }
        if file > weights { return String(format: "%.1fx larger than float32 weights", file / weights) }
        return String(format: "%.1fx smaller than float32 weights", weights / file)
    }
}
