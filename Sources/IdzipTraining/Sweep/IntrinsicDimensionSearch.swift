/// Finds d_int90 without a fixed list: doubles d from `low` until the seed-mean performance
/// passes the level, then bisects between the last d that failed and the first that passed,
/// down to `resolution`. Assumes performance grows with d (as the paper observes); the
/// answer is then what the fixed-list rule would give on every d in low...high tried at
/// that resolution.
public struct IntrinsicDimensionSearch: Sendable, Hashable {
    public var low: Int
    public var high: Int
    public var resolution: Int

    public init(low: Int, high: Int, resolution: Int = 1) {
        self.low = max(1, low)
        self.high = max(self.low, high)
        self.resolution = max(1, resolution)
    }

    /// The next d to train, given the seed-mean performance of every d tried so far (and
    /// the level to pass: threshold x baseline); nil when the search is over.
    public func next(means: [Int: Double], level: Double) -> Int? {
        let tried = means.filter { (low...high).contains($0.key) }
        let passed = tried.filter { $0.value > level }.keys
        guard let firstPass = passed.min() else {
            guard let largest = tried.keys.max() else { return low }
            // Geometric phase: every tried d failed.
            return largest >= high ? nil : min(high, largest * 2)
        }
        if firstPass == low { return nil }
        let lastFail = tried.filter { $0.value <= level && $0.key < firstPass }.keys.max() ?? (low - 1)
        if firstPass - lastFail <= resolution { return nil }
        if lastFail < low { return low }
        return lastFail + (firstPass - lastFail) / 2
    }

    /// "1-1000" or "1...1000".
    public static func parseRange(_ text: String) -> (low: Int, high: Int)? {
        let bounds = text.contains("...") ? text.components(separatedBy: "...") : text.components(separatedBy: "-")
        guard bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 1, low <= high else { return nil }
        return (low, high)
    }
}
