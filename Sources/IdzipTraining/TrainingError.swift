import IdzipCore

/// Why training cannot start or go on. Each description is one line.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case configuration(String)
    case network(String)
    case data(String)
    case checkpoint(String)
    /// A model, checkpoint or report could not be written.
    case output(String)
    /// The loss became NaN or infinite during training (the data is checked finite when it
    /// is loaded, so the cause is the optimisation).
    case diverged(epoch: Int, batch: Int)
    /// The run would need more memory than `MemoryBudget` allows (checked before allocating).
    case memory(String)
    /// The final weights or their loss are not finite (`FiniteValues`): `what` names the
    /// value. No model is written.
    case divergedAfterTraining(what: String)
    /// The toy problem's loss became NaN or infinite at a step (0-based).
    case divergedAtStep(Int)

    /// Whether training diverged (the run failed; the settings and data were fine).
    public var isDivergence: Bool {
        switch self {
        case .diverged, .divergedAfterTraining, .divergedAtStep: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .configuration(let message): "invalid training settings: \(message)"
        case .network(let message): message
        case .data(let message): message
        case .checkpoint(let message): "cannot resume: \(message)"
        case .output(let message): message
        case .memory(let message): message
        case .diverged(let epoch, let batch):
            "training diverged (loss is not finite) in epoch \(epoch + 1), batch \(batch + 1); no model written; "
                + "try a lower learning rate"
        case .divergedAfterTraining(let what):
            "training diverged (\(what) after training); no model written; try a lower learning rate"
        case .divergedAtStep(let step):
            "training diverged (loss is not finite) at step \(step + 1); no model written; try a lower learning rate"
        }
    }
}
