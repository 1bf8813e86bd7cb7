import Foundation
import IdzipCore

/// What performance is compared with: a fixed number (the paper's MNIST figures use a
/// global 1.0) or the performance of the same network trained directly (local).
public enum SweepBaseline: Sendable, Hashable {
    case global(Double)
    case local

    /// "1.0" or "local".
    public init?(_ text: String) {
        if text.lowercased() == "local" {
            self = .local
        } else if let value = Double(text), value.isFinite, value > 0 {
            self = .global(value)
        } else {
            return nil
        }
    }

    public var name: String {
        switch self {
        case .global(let value): "global \(value)"
        case .local: "local"
        }
    }
}

/// One finished training run of a sweep.
public struct SweepRecord: Codable, Sendable, Hashable {
    /// Subspace dimension (D for the direct baseline run).
    public var d: Int
    public var seed: UInt64
    /// Projection name, or `direct` for the baseline run.
    public var projection: String
    /// Test accuracy (training accuracy for shuffled labels, exp(-loss) for the toy problem).
    public var performance: Double
    /// Epochs (steps for the toy problem) trained.
    public var epochs: Int
    public var seconds: Double
    /// The model file, relative to the sweep's directory.
    public var model: String
    /// Why the run ended before its last epoch, if it did.
    public var stopped: EarlyStopping.Outcome?
    /// The --threshold of the sweep that trained the run (nil in results written before it
    /// was recorded, and for the direct baseline run).
    public var threshold: Double?
    /// The level (threshold x baseline) early stopping judged the run against; nil when it
    /// was not judged (early stopping off, the toy problem, the direct run).
    public var level: Double?
    /// The test accuracy, when `performance` is measured on a held-out validation set
    /// (`--validation-fraction`); nil when the performance is the test accuracy itself.
    public var testAccuracy: Double?
    /// Why the run failed (it diverged: `FiniteValues`), if it did. A failed run wrote no
    /// model; its performance counts as 0. Absent from results.json for runs that succeeded.
    public var failure: String?

    enum CodingKeys: String, CodingKey {
        case d, seed, projection, performance, epochs, seconds, model, stopped, threshold, level, failure
        case testAccuracy = "test_accuracy"
    }

    public init(
        d: Int, seed: UInt64, projection: String, performance: Double, epochs: Int, seconds: Double, model: String,
        stopped: EarlyStopping.Outcome? = nil, threshold: Double? = nil, level: Double? = nil, testAccuracy: Double? = nil, failure: String? = nil
    ) {
        self.failure = failure
        self.d = d
        self.seed = seed
        self.projection = projection
        self.performance = performance
        self.epochs = epochs
        self.seconds = seconds
        self.model = model
        self.stopped = stopped
        self.threshold = threshold
        self.level = level
        self.testAccuracy = testAccuracy
    }

    public static let directName = "direct"
    public var isDirect: Bool { projection == Self.directName }

    /// Identifies the run: its dimension, seed and projection.
    public var key: SweepRunKey { SweepRunKey(d: d, seed: seed, projection: projection) }
}

public struct SweepRunKey: Sendable, Hashable {
    public var d: Int
    public var seed: UInt64
    public var projection: String

    public init(d: Int, seed: UInt64, projection: String) {
        self.d = d
        self.seed = seed
        self.projection = projection
    }

    /// "d400-seed1" or "direct-seed1": the model's file name without extension.
    public var fileStem: String { projection == SweepRecord.directName ? "direct-seed\(seed)" : "d\(d)-seed\(seed)" }
}

/// Mean performance at one dimension.
public struct DimensionMean: Codable, Sendable, Hashable {
    public var d: Int
    public var mean: Double
    public var runs: Int
}

/// The authors' rule (their notebook): d_int90 is the first d, in sorted order, whose
/// seed-mean performance is strictly above threshold x baseline; no interpolation.
/// d_int100 is the first d whose mean reaches the baseline, within a relative `tolerance100`
/// (default 1e-3: exp(-loss) of the toy problem is 1 - 1e-7 at best in float32, never 1).
public struct IntrinsicDimensionEstimate: Sendable, Hashable {
    public var baseline: Double
    public var threshold: Double
    /// Seed means of the subspace runs, by increasing d.
    public var means: [DimensionMean]
    public var dInt90: Int?
    public var dInt100: Int?
    public var tolerance100: Double

    public init(records: [SweepRecord], baseline: Double, threshold: Double, tolerance100: Double = 1e-3) {
        self.tolerance100 = tolerance100
        self.baseline = baseline
        self.threshold = threshold
        var sums: [Int: (Double, Int)] = [:]
        for record in records where !record.isDirect {
            let (sum, count) = sums[record.d] ?? (0, 0)
            sums[record.d] = (sum + record.performance, count + 1)
        }
        means = sums.keys.sorted().map { d in
            let (sum, count) = sums[d]!
            return DimensionMean(d: d, mean: sum / Double(count), runs: count)
        }
        dInt90 = means.first { $0.mean > threshold * baseline }?.d
        dInt100 = means.first { $0.mean >= baseline * (1 - tolerance100) }?.d
    }

    /// What reports call the estimate at `threshold`: "d_int90" at 0.9 (the paper's),
    /// "d_int95" at 0.95, "d_int97.5" at 0.975. JSON keeps the field name `d_int90` for any
    /// threshold, next to `threshold`.
    public static func name(threshold: Double) -> String {
        "d_int" + String(format: "%.4g", threshold * 100)
    }

    /// `name(threshold:)` of this estimate's threshold.
    public var name: String { Self.name(threshold: threshold) }
}

/// Which runs a sweep consists of: every d with every seed, in increasing d.
public struct SweepPlan: Sendable, Hashable {
    public var dimensions: [Int]
    public var seeds: [UInt64]
    public var projection: String

    public init(dimensions: [Int], seeds: [UInt64], projection: String) {
        self.dimensions = Array(Set(dimensions)).sorted()
        self.seeds = seeds
        self.projection = projection
    }

    public var runs: [SweepRunKey] {
        dimensions.flatMap { d in seeds.map { SweepRunKey(d: d, seed: $0, projection: projection) } }
    }

    /// The most runs (d values times seeds) one sweep plans: a plan is checked against it
    /// before anything is built or trained.
    public static let maxRuns = 100_000

    /// Parses "100,200,400", ranges "1-20" (or "1...20") and stepped ranges "100-1500:100",
    /// mixed: "1-5,10,20-100:20". Returns sorted distinct values, or nil when the text is
    /// not such a list or names more than `maxRuns` values.
    public static func parseDimensions(_ text: String) -> [Int]? {
        try? dimensions(from: text)
    }

    /// `parseDimensions` with the reason: counts the values of every range first and
    /// refuses more than `maxRuns` of them before any list is built (memory stays bounded
    /// whatever the ranges).
    /// - Throws: `SweepError` naming the bad item or the count.
    public static func dimensions(from text: String) throws(SweepError) -> [Int] {
        var segments: [(low: Int, high: Int, step: Int)] = []
        var total = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            var part = item.trimmingCharacters(in: .whitespaces)
            var step = 1
            let bad = SweepError("--dims must be a comma-separated list of positive integers and ranges such as 1-20 or 100-1500:100; '\(part)' is not")
            if let colon = part.firstIndex(of: ":") {
                guard let value = Int(part[part.index(after: colon)...]), value >= 1 else { throw bad }
                step = value
                part = String(part[..<colon])
            }
            let bounds = part.contains("...") ? part.components(separatedBy: "...") : part.components(separatedBy: "-")
            if bounds.count == 2 {
                guard let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 1, low <= high else { throw bad }
                segments.append((low, high, step))
                total = MemoryBudget.sum(total, (high - low) / step + 1)
            } else {
                guard step == 1, let value = Int(part), value >= 1 else { throw bad }
                segments.append((value, value, 1))
                total = MemoryBudget.sum(total, 1)
            }
            guard total <= maxRuns else {
                throw SweepError("--dims names more than \(maxRuns) values; a sweep plans at most \(maxRuns) runs (d values x --runs)")
            }
        }
        var result = Set<Int>()
        for segment in segments {
            for value in stride(from: segment.low, through: segment.high, by: segment.step) { result.insert(value) }
        }
        guard !result.isEmpty else { throw SweepError("--dims names no dimension") }
        return result.sorted()
    }
}

/// results.json and results.csv of a sweep: one row per finished run.
public enum SweepResultsFile {
    public static func read(_ url: URL) throws -> [SweepRecord] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try JSONDecoder().decode([SweepRecord].self, from: Data(contentsOf: url))
    }

    public static func json(_ records: [SweepRecord]) throws -> Data {
        try prettyJSON(records)
    }

    public static func csv(_ records: [SweepRecord]) -> String {
        var lines = ["d,seed,projection,performance,epochs,seconds,model,stopped"]
        for record in records {
            lines.append(
                "\(record.d),\(record.seed),\(record.projection),\(record.performance),\(record.epochs),"
                    + String(format: "%.3f", record.seconds) + ",\(record.model),\(record.stopped?.rawValue ?? "")")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Records in a stable order: the direct run first, then by d, seed.
    public static func sorted(_ records: [SweepRecord]) -> [SweepRecord] {
        records.sorted { a, b in
            if a.isDirect != b.isDirect { return a.isDirect }
            return (a.d, a.seed, a.projection) < (b.d, b.seed, b.projection)
        }
    }
}
