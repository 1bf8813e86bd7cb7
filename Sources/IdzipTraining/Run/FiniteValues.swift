import IdzipCore

/// idzip's one finite-value policy (README "Numbers that are not numbers"):
///
/// - data: every float feature of a training or test set is finite, checked when the data
///   set is built (`Dataset.init`), so NaN in the data is reported as bad data, never as
///   divergence;
/// - training: a batch loss that is not finite stops the run (`TrainingError.diverged`);
/// - sealing: the final weights and the final test loss (the toy problem's loss) must be
///   finite, else the run failed (`TrainingError.diverged`) and no model is written;
/// - reports: `--json` writes a number that is not finite as `null` (`prettyJSON`).
public enum FiniteValues {
    /// The index of the first value that is NaN or infinite, if any.
    public static func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
        for index in values.indices where !values[index].isFinite { return index }
        return nil
    }

    /// The index of the first value that is NaN or infinite, if any.
    public static func firstNonFinite(_ values: [Float]) -> Int? {
        values.withUnsafeBufferPointer { firstNonFinite($0) }
    }

    /// Checks the weights a run is about to seal.
    /// - Throws: `TrainingError.diverged` naming the first weight that is not finite.
    public static func checkFinal(weights: [Float], name: String = "weight") throws(TrainingError) {
        if let index = firstNonFinite(weights) {
            throw .divergedAfterTraining(what: "\(name) \(index) is \(weights[index])")
        }
    }

    /// Checks the loss of the weights a run is about to seal.
    /// - Throws: `TrainingError.diverged` when `loss` is NaN or infinite.
    public static func checkFinal(loss: Double, of what: String) throws(TrainingError) {
        guard loss.isFinite else { throw .divergedAfterTraining(what: "the \(what) is \(loss)") }
    }
}
