import Foundation
import IdzipCore
import IdzipTraining

/// Shows training progress: a live bar on a terminal, one line per epoch otherwise (the toy
/// problem: one line every tenth of its steps). With `--json` the lines go to standard
/// error so that standard output holds only the JSON.
final class TrainingProgress: TrainingObserver {
    private let totalEpochs: Int
    private let liveBar: Bool
    private let linesToStandardError: Bool
    private var epochStarted = Date()
    private var lossSum = 0.0
    private var lossCount = 0
    private var examples = 0
    private var correct = 0
    private var firstBatchExamples = 0
    private var lastDrawn = Date.distantPast

    init(totalEpochs: Int, json: Bool) {
        self.totalEpochs = totalEpochs
        liveBar = isatty(STDERR_FILENO) == 1
        linesToStandardError = json
    }

    func batch(_ progress: BatchProgress) {
        if progress.batch == 0 {
            epochStarted = Date()
            lossSum = 0
            lossCount = 0
            examples = 0
            correct = 0
            firstBatchExamples = progress.examples
        }
        lossSum += progress.loss
        lossCount += 1
        examples += progress.examples
        correct += progress.correct
        guard liveBar else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDrawn) > 0.1 || progress.batch + 1 == progress.batchesPerEpoch else { return }
        lastDrawn = now
        let done = Double(progress.batch + 1) / Double(progress.batchesPerEpoch)
        let elapsed = now.timeIntervalSince(epochStarted)
        let width = 24
        let filled = Int(done * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let remaining = elapsed / max(done, 1e-9) * (1 - done)
            + elapsed / max(done, 1e-9) * Double(totalEpochs - progress.epoch - 1)
        let accuracy = examples > 0 ? Double(correct) / Double(examples) * 100 : 0
        // The clock starts after batch 0, so batch 0's examples are not counted.
        let rate = progress.batch > 0 && elapsed > 0
            ? grouped(Int(Double(examples - firstBatchExamples) / elapsed)) : "--"
        let line = String(
            format: "\repoch %d/%d [%@] %d/%d loss %.4f acc %.1f%% %@ ex/s ETA %@ ",
            progress.epoch + 1, totalEpochs, bar, progress.batch + 1, progress.batchesPerEpoch,
            lossSum / Double(lossCount), accuracy, rate, Self.clock(remaining))
        StandardOutput.error(line)
    }

    func step(_ step: Int, loss: Double) -> TrainingDecision {
        if step % max(1, totalEpochs / 10) == 0 { say(String(format: "step %d/%d  loss %.6g", step + 1, totalEpochs, loss)) }
        return .proceed
    }

    func epoch(_ report: EpochReport) -> TrainingDecision {
        if liveBar { StandardOutput.error("\r\u{1B}[K") }
        var line = String(
            format: "epoch %d/%d  loss %.4f  train %.2f%%", report.epoch + 1, totalEpochs, report.trainLoss, report.trainAccuracy * 100)
        if let test = report.test {
            line += String(format: "  test %.2f%% (loss %.4f)", test.accuracy * 100, test.meanLoss)
        }
        line += "  \(grouped(Int(report.examplesPerSecond))) ex/s  " + String(format: "%.1f s", report.trainingSeconds + report.evaluationSeconds)
        say(line)
        return .proceed
    }

    /// Evolution strategies: progress in iterations, the last iteration's candidates' mean return.
    var evolutionStrategies = false

    func evaluation(_ report: PolicyEvaluationReport) -> TrainingDecision {
        if evolutionStrategies {
            say(String(format: "iteration %@/%@  eval return %.1f (best %.1f)  perturbed policies' mean return %.1f (%@ in all)  %.1f s",
                grouped(report.step), grouped(totalEpochs), report.returns.mean, report.bestMean, report.recentTrainingReturn,
                counted(report.trainingEpisodes, "episode"), report.seconds))
            return .proceed
        }
        say(String(format: "step %@/%@  eval return %.1f (best %.1f)  training return %.1f (last 100 of %@)  epsilon %.3f  %.1f s",
            grouped(report.step), grouped(totalEpochs), report.returns.mean, report.bestMean, report.recentTrainingReturn,
            counted(report.trainingEpisodes, "episode"), report.epsilon, report.seconds))
        return .proceed
    }

    func say(_ line: String) {
        StandardOutput.line(line, toError: linesToStandardError)
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let total = Int(seconds.rounded())
        return total >= 3600
            ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%02d:%02d", total / 60, total % 60)
    }
}
