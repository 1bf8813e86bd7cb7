/// When a sweep may end a run before its last epoch, judged from its performance after
/// each epoch against the level it must pass (threshold x baseline):
/// - passed: the performance is at least `margin` above the level. Training further
///   only raises it (the recorded value understates the run, never flips a pass).
/// - cannot reach: even gaining `optimism` times the last epoch's gain in every remaining
///   epoch, the run would end `margin` or more below the level. Judged only after a third
///   of the epochs (at least two): slow starts, such as memorising shuffled labels, sit
///   near chance for several epochs before they climb.
/// The last epoch never stops early (the run is complete anyway).
public struct EarlyStopping: Sendable, Hashable {
    public enum Outcome: String, Codable, Sendable, Hashable {
        case passed
        case cannotReach = "cannot_reach"
    }

    public var level: Double
    public var margin: Double
    public var optimism: Double

    public init(level: Double, margin: Double = 0.01, optimism: Double = 2) {
        self.level = level
        self.margin = margin
        self.optimism = optimism
    }

    /// The decision after `history.count` of `totalEpochs` epochs, given the performance
    /// after each; nil to go on.
    public func outcome(history: [Double], totalEpochs: Int) -> Outcome? {
        guard let latest = history.last, history.count < totalEpochs else { return nil }
        if latest >= level + margin { return .passed }
        guard history.count >= max(2, (totalEpochs + 2) / 3) else { return nil }
        let gain = max(0, latest - history[history.count - 2])
        let remaining = Double(totalEpochs - history.count)
        return latest + optimism * remaining * gain + margin <= level ? .cannotReach : nil
    }
}
