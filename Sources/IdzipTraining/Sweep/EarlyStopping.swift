/// When a sweep may end a run before its last epoch, judged from its performance after
/// each epoch against the level it must pass (threshold x baseline):
/// - passed: the performance is at least `margin` above the level. Training further
///   rarely lowers it by that much (the recorded value is the stopped run's, above the level).
/// - cannot reach: judged only from half of the epochs on (at least two), and only when
///   even the best plausible rest of the run misses: a gain in every remaining epoch of
///   `optimism` times the largest one-epoch gain so far, and never less than `minimumGain`,
///   would still end `margin` or more below the level. The largest gain, not the last one,
///   because under a decaying learning rate (cosine, steps) the late epochs often gain more
///   than the middle ones: LeNet d = 1,000 on MNIST went 93.6, 94.2, 95.2, 96.9, 97.3% (test
///   accuracy after each of 5 epochs), so a rule extrapolating the last gain from epoch 2
///   stopped such runs at a 0.97 threshold that they pass. docs/early-stopping.md measures
///   the rule on trained-out runs.
/// The last epoch never stops early (the run is complete anyway).
public struct EarlyStopping: Sendable, Hashable {
    public enum Outcome: String, Codable, Sendable, Hashable {
        case passed
        case cannotReach = "cannot_reach"
    }

    public var level: Double
    public var margin: Double
    /// Multiplies the largest one-epoch gain so far.
    public var optimism: Double
    /// The least gain allowed for each remaining epoch (accuracy units).
    public var minimumGain: Double

    public init(level: Double, margin: Double = 0.01, optimism: Double = 3, minimumGain: Double = 0.02) {
        self.level = level
        self.margin = margin
        self.optimism = optimism
        self.minimumGain = minimumGain
    }

    /// The first epoch (1-based count) after which "cannot reach" may be judged: half of
    /// `totalEpochs`, rounded up, and at least 2.
    public static func firstJudgedEpoch(totalEpochs: Int) -> Int { max(2, (totalEpochs + 1) / 2) }

    /// The decision after `history.count` of `totalEpochs` epochs, given the performance
    /// after each; nil to go on.
    public func outcome(history: [Double], totalEpochs: Int) -> Outcome? {
        guard let latest = history.last, history.count < totalEpochs else { return nil }
        if latest >= level + margin { return .passed }
        guard history.count >= Self.firstJudgedEpoch(totalEpochs: totalEpochs) else { return nil }
        let largestGain = zip(history.dropFirst(), history).map { $0 - $1 }.max() ?? 0
        let perEpoch = max(minimumGain, optimism * largestGain)
        let remaining = Double(totalEpochs - history.count)
        return latest + remaining * perEpoch + margin <= level ? .cannotReach : nil
    }
}
