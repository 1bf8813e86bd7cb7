import Foundation
import IdzipCore

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
        let stream = RandomStream(seed: seed, purpose: .bootstrap)
        var draw: UInt64 = 0
        var found: [Int] = []
        for _ in 0..<max(0, replicates) {
            for (index, values) in samples.enumerated() {
                var sum = 0.0
                for _ in values.indices {
                    sum += values[Int(stream.integer(draw, below: UInt64(values.count)))]
                    draw += 1
                }
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
