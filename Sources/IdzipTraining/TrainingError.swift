import IdzipCore

/// Why training cannot start or go on. Each description is one line.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case configuration(String)
    case network(String)
    case data(String)
    case checkpoint(String)
    /// A model, checkpoint or report could not be written.
    case output(String)
    /// The loss became NaN or infinite.
    case diverged(epoch: Int, batch: Int)
    /// The run would need more memory than `MemoryBudget` allows (checked before allocating).
    case memory(String)

    public var description: String {
        switch self {
        case .configuration(let message): "invalid training settings: \(message)"
        case .network(let message): message
        case .data(let message): message
        case .checkpoint(let message): "cannot resume: \(message)"
        case .output(let message): message
        case .memory(let message): message
        case .diverged(let epoch, let batch):
            "training diverged (loss is not finite) in epoch \(epoch + 1), batch \(batch + 1); try a lower learning rate"
        }
    }
}
