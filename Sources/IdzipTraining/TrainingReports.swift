import IdzipCore

/// Progress after one batch, for progress bars.
public struct BatchProgress: Sendable, Hashable {
    /// 0-based epoch.
    public var epoch: Int
    /// 0-based batch within the epoch.
    public var batch: Int
    public var batchesPerEpoch: Int
    /// Mean cross-entropy of this batch.
    public var loss: Double
    /// Examples in this batch.
    public var examples: Int = 0
    /// Of them, predicted correctly (before this batch's update).
    public var correct: Int = 0
}

/// What happened in one epoch.
public struct EpochReport: Sendable, Hashable {
    /// 0-based epoch just finished.
    public var epoch: Int
    public var learningRate: Float
    /// Mean cross-entropy over the epoch's batches, as trained (weights changing).
    public var trainLoss: Double
    /// Accuracy over the epoch's batches, as trained.
    public var trainAccuracy: Double
    /// l2 * sum(theta^2) at the end of the epoch (0 without a penalty).
    public var penalty: Double
    /// Test-set evaluation at the end of the epoch, when one was run.
    public var test: Evaluation?
    /// Validation-set evaluation at the end of the epoch (with `--validation-fraction`).
    public var validation: Evaluation? = nil
    /// Seconds spent training (without evaluation).
    public var trainingSeconds: Double
    public var evaluationSeconds: Double
    public var examplesPerSecond: Double { trainingSeconds > 0 ? Double(exampleCount) / trainingSeconds : 0 }
    public var exampleCount: Int

    /// The accuracy decisions are taken on: validation when held out, else test.
    public var selectionAccuracy: Double? { validation?.accuracy ?? test?.accuracy }
}

/// What the epoch callback wants next.
public enum TrainingDecision: Sendable {
    case proceed
    case stop
}
