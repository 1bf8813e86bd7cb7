import Foundation

/// The learning rate for each epoch, from the base rate.
public enum LearningRateSchedule: Sendable, Hashable {
    case constant
    /// Multiply by `factor` every `every` epochs: base * factor^(epoch / every).
    case step(every: Int, factor: Float)
    /// Cosine from the base rate down to base * `floor` over the run, one value per epoch.
    case cosine(floor: Float)

    /// The rate in epoch `epoch` (0-based) of `totalEpochs`.
    public func rate(base: Float, epoch: Int, totalEpochs: Int) -> Float {
        switch self {
        case .constant:
            return base
        case .step(let every, let factor):
            var rate = Double(base)
            for _ in 0..<(epoch / max(1, every)) { rate *= Double(factor) }
            return Float(rate)
        case .cosine(let floor):
            guard totalEpochs > 1 else { return base }
            let progress = Double(epoch) / Double(totalEpochs - 1)
            let fraction = Double(floor) + (1 - Double(floor)) * 0.5 * (1 + cos(Double.pi * progress))
            return Float(Double(base) * fraction)
        }
    }

    public func validate() throws(TrainingError) {
        switch self {
        case .constant:
            break
        case .step(let every, let factor):
            guard every >= 1 else { throw .configuration("step decay needs an interval of at least 1 epoch, got \(every)") }
            guard factor > 0, factor.isFinite else { throw .configuration("step decay factor must be positive, got \(factor)") }
        case .cosine(let floor):
            guard floor >= 0, floor <= 1 else { throw .configuration("cosine floor must be between 0 and 1, got \(floor)") }
        }
    }
}
