import Foundation
import Testing
import IdzipCore

/// Moments and a Kolmogorov-Smirnov statistic on a million samples of each distribution.
struct RandomStatisticsTests {
    static let sampleCount = 1_000_000
    /// The KS critical value for significance 0.001: 1.95 / sqrt(n).
    static let ksCritical = 1.95 / Double(sampleCount).squareRoot()

    struct Moments {
        var mean = 0.0, variance = 0.0, skewness = 0.0, excessKurtosis = 0.0
        init(_ values: [Double]) {
            let n = Double(values.count)
            mean = values.reduce(0, +) / n
            var m2 = 0.0, m3 = 0.0, m4 = 0.0
            for value in values {
                let d = value - mean
                m2 += d * d; m3 += d * d * d; m4 += d * d * d * d
            }
            m2 /= n; m3 /= n; m4 /= n
            variance = m2
            skewness = m3 / pow(m2, 1.5)
            excessKurtosis = m4 / (m2 * m2) - 3
        }
    }

    /// sup |F_empirical - F| for sorted samples.
    static func ksStatistic(_ values: [Double], cdf: (Double) -> Double) -> Double {
        let sorted = values.sorted()
        let n = Double(sorted.count)
        var worst = 0.0
        for (i, value) in sorted.enumerated() {
            let f = cdf(value)
            worst = max(worst, abs(Double(i + 1) / n - f), abs(f - Double(i) / n))
        }
        return worst
    }

    @Test func uniformFloat32() {
        let stream = RandomStream(seed: 11, purpose: .theta0)
        let values = (0..<Self.sampleCount).map { Double(stream.uniformFloat(UInt64($0))) }
        #expect(values.allSatisfy { $0 >= 0 && $0 < 1 })
        let moments = Moments(values)
        #expect(abs(moments.mean - 0.5) < 0.002)
        #expect(abs(moments.variance - 1.0 / 12) < 0.001)
        #expect(abs(moments.skewness) < 0.01)
        #expect(abs(moments.excessKurtosis + 1.2) < 0.01)
        #expect(Self.ksStatistic(values) { min(max($0, 0), 1) } < Self.ksCritical)
    }

    @Test func uniformFloat64() {
        let stream = RandomStream(seed: 12, purpose: .denseProjection, substream: 9)
        let values = (0..<Self.sampleCount).map { stream.uniformDouble(UInt64($0)) }
        #expect(values.allSatisfy { $0 >= 0 && $0 < 1 })
        let moments = Moments(values)
        #expect(abs(moments.mean - 0.5) < 0.002)
        #expect(abs(moments.variance - 1.0 / 12) < 0.001)
        #expect(Self.ksStatistic(values) { min(max($0, 0), 1) } < Self.ksCritical)
    }

    @Test func standardNormal() {
        let stream = RandomStream(seed: 13, purpose: .fastfoodGaussian, substream: 1)
        let values = (0..<Self.sampleCount).map { stream.normal(UInt64($0)) }
        let moments = Moments(values)
        #expect(abs(moments.mean) < 0.005)
        #expect(abs(moments.variance - 1) < 0.005)
        #expect(abs(moments.skewness) < 0.01)
        #expect(abs(moments.excessKurtosis) < 0.03)
        #expect(Self.ksStatistic(values) { 0.5 * erfc(-$0 / 2.0.squareRoot()) } < Self.ksCritical)
        // The even (cosine) and odd (sine) halves are each normal and uncorrelated.
        let even = stride(from: 0, to: values.count, by: 2).map { values[$0] }
        let odd = stride(from: 1, to: values.count, by: 2).map { values[$0] }
        let correlation = zip(even, odd).reduce(0) { $0 + $1.0 * $1.1 } / Double(even.count)
        #expect(abs(correlation) < 0.01)
        #expect(Self.ksStatistic(even) { 0.5 * erfc(-$0 / 2.0.squareRoot()) } < 1.95 / Double(even.count).squareRoot())
    }

    @Test func signsAreBalanced() {
        let stream = RandomStream(seed: 14, purpose: .fastfoodSigns)
        let total = (0..<Self.sampleCount).reduce(0.0) { $0 + Double(stream.sign(UInt64($1))) }
        // Standard deviation of the sum is 1000; 5 sigma.
        #expect(abs(total) < 5000)
    }

    /// Every permutation of 4 elements is equally likely (chi-square, 23 degrees of freedom).
    @Test func permutationsAreUniform() {
        var counts: [[UInt32]: Int] = [:]
        let trials = 48_000
        for seed in 0..<trials {
            counts[RandomStream(seed: UInt64(seed), purpose: .pixelPermutation).permutation(count: 4), default: 0] += 1
        }
        #expect(counts.count == 24)
        let expected = Double(trials) / 24
        let chiSquare = counts.values.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        #expect(chiSquare < 49.7)  // the 0.999 quantile of chi-square(23)
        let large = RandomStream(seed: 5, purpose: .pixelPermutation).permutation(count: 100_000)
        #expect(Set(large).count == 100_000)
    }

    @Test func integersBelowABound() {
        let stream = RandomStream(seed: 15, purpose: .exampleOrder)
        var counts = [Int](repeating: 0, count: 10)
        for n in 0..<100_000 { counts[Int(stream.integer(UInt64(n), below: 10))] += 1 }
        let chiSquare = counts.reduce(0.0) { $0 + pow(Double($1) - 10_000, 2) / 10_000 }
        #expect(chiSquare < 27.9)  // 0.999 quantile of chi-square(9)
    }
}
