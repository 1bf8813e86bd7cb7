import Foundation

/// The spread of d_int90 over seeds, as the authors estimated it (FC on MNIST: 786 +- 66 from
/// 3 seeds): each replicate resamples, for every d, its runs with replacement, and applies
/// the d_int90 rule to the resampled means. Deterministic for a given `seed`.
public struct IntrinsicDimensionBootstrap: Sendable, Hashable {
    public var replicates: Int
    /// Fraction of replicates in which some d passed the threshold.
    public var reachedFraction: Double
    /// Mean and standard deviation of d_int90 over the replicates that reached it.
    public var mean: Double?
    public var standardDeviation: Double?
    /// 2.5% and 97.5% quantiles (nearest rank) over the replicates that reached it.
    public var lower: Int?
    public var upper: Int?

    public init(records: [SweepRecord], baseline: Double, threshold: Double, replicates: Int = 1000, seed: UInt64 = 0) {
        self.replicates = replicates
        var byDimension: [Int: [Double]] = [:]
        for record in records where !record.isDirect { byDimension[record.d, default: []].append(record.performance) }
        let dimensions = byDimension.keys.sorted()
        let samples = dimensions.map { byDimension[$0]! }
        var generator = SplitMix64(seed: seed)
        var found: [Int] = []
        for _ in 0..<max(0, replicates) {
            for (index, values) in samples.enumerated() {
                var sum = 0.0
                for _ in values.indices { sum += values[Int(generator.next() % UInt64(values.count))] }
                if sum / Double(values.count) > threshold * baseline {
                    found.append(dimensions[index])
                    break
                }
            }
        }
        reachedFraction = replicates > 0 ? Double(found.count) / Double(replicates) : 0
        guard !found.isEmpty else { return }
        let mean = Double(found.reduce(0, +)) / Double(found.count)
        self.mean = mean
        standardDeviation = (found.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(found.count)).squareRoot()
        let sorted = found.sorted()
        let rank = { (q: Double) in sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))] }
        lower = rank(0.025)
        upper = rank(0.975)
    }
}

/// Vigna's SplitMix64: a small, fast, portable generator for resampling.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
