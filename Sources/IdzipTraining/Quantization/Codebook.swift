import Foundation

/// A scalar codebook: K levels (ascending) and, for each of d coordinates, the index of its
/// level. theta_d[i] = levels[symbols[i]] (weight sharing, Han et al. 2016 "Deep
/// Compression", Sec. 3; applied here to the subspace coordinates as Lotfi et al. 2022 do).
public struct Codebook: Sendable, Hashable {
    /// The K levels, ascending (ties allowed only when k-means left a level empty).
    public var levels: [Float]
    /// d indices into `levels`.
    public var symbols: [UInt16]

    public init(levels: [Float], symbols: [UInt16]) {
        self.levels = levels
        self.symbols = symbols
    }

    /// The values the codebook stands for (d numbers).
    public var values: [Float] { symbols.map { levels[Int($0)] } }

    /// How many coordinates use each level (K counts).
    public var counts: [Int] {
        var counts = [Int](repeating: 0, count: levels.count)
        for symbol in symbols { counts[Int(symbol)] += 1 }
        return counts
    }

    /// The empirical (zeroth-order) entropy of the symbols in bits, summed over all d:
    /// sum over levels of -n_k log2(n_k / d). A static arithmetic coder that stores the
    /// counts reaches this within a few bytes; it is the figure that chooses K and d before
    /// a file is written.
    public var entropyBits: Double {
        let total = Double(symbols.count)
        guard total > 0 else { return 0 }
        return counts.reduce(0.0) { sum, count in
            count == 0 ? sum : sum - Double(count) * log2(Double(count) / total)
        }
    }

    /// The index of the level nearest to `value` in ascending `levels` (a tie goes to the
    /// lower index; NaN to 0). Binary search over the midpoints, O(log K).
    @inline(__always)
    public static func nearest(_ value: Float, in levels: UnsafeBufferPointer<Float>) -> Int {
        guard !value.isNaN else { return 0 }
        var low = 0, high = levels.count - 1
        // Invariant: the answer is in low...high.
        while low < high {
            let middle = (low + high) / 2
            // value is nearer levels[middle] (or equally near) than levels[middle + 1]?
            if value - levels[middle] <= levels[middle + 1] - value {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return low
    }

    /// Assigns every value to its nearest level (`nearest`).
    public static func assign(_ values: [Float], to levels: [Float]) -> [UInt16] {
        levels.withUnsafeBufferPointer { levels in values.map { UInt16(nearest($0, in: levels)) } }
    }
}

/// One-dimensional k-means (Lloyd's algorithm) with a deterministic start, so that the
/// same values always give the same codebook on every machine and thread count: no random
/// draws, sums in float64 in index order.
///
/// Start: the K levels are the values at the quantiles (2k + 1) / 2K of the sorted input
/// (k = 0..<K), the centres of K equal-count bins. Then up to `iterations` rounds of: assign
/// each value to its nearest level, set each level to the mean of its values (a level with
/// no values keeps its place), sort; stop early when no assignment changes.
public struct KMeans: Sendable, Hashable {
    public var levels: Int
    public var iterations: Int

    /// - Parameter levels: K, 1...65,536 (symbols are 16-bit).
    public init(levels: Int, iterations: Int = 100) {
        self.levels = min(max(1, levels), 1 << 16)
        self.iterations = max(0, iterations)
    }

    /// The quantile start: K levels from `values` (which must not be empty).
    public func initialLevels(_ values: [Float]) -> [Float] {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else { return [Float](repeating: 0, count: levels) }
        let n = sorted.count
        return (0..<levels).map { k in sorted[min(n - 1, ((2 * k + 1) * n) / (2 * levels))] }
    }

    /// The codebook of `values`, started at `start` (ascending) or at the quantiles.
    public func fit(_ values: [Float], start: [Float]? = nil) -> Codebook {
        var levels = start ?? initialLevels(values)
        levels.sort()
        var symbols = Codebook.assign(values, to: levels)
        for _ in 0..<iterations {
            var sums = [Double](repeating: 0, count: levels.count)
            var counts = [Int](repeating: 0, count: levels.count)
            for (value, symbol) in zip(values, symbols) where !value.isNaN {
                sums[Int(symbol)] += Double(value)
                counts[Int(symbol)] += 1
            }
            for k in levels.indices where counts[k] > 0 { levels[k] = Float(sums[k] / Double(counts[k])) }
            levels.sort()
            let next = Codebook.assign(values, to: levels)
            if next == symbols { break }
            symbols = next
        }
        return Codebook(levels: levels, symbols: symbols)
    }
}
