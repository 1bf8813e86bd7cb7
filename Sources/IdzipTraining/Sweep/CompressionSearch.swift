import Foundation
import IdzipCore

/// The accuracy a compressed model must reach.
public enum CompressionTarget: Sendable, Hashable {
    /// An absolute accuracy (0 < a <= 1).
    case accuracy(Double)
    /// A fraction of the accuracy of the network trained directly (all parameters), as
    /// measured by a baseline run on the same validation split.
    case fraction(Double)

    /// "accuracy 0.95" / "fraction 0.9 of the direct baseline".
    public var description: String {
        switch self {
        case .accuracy(let value): "accuracy \(value)"
        case .fraction(let value): "\(value) of the direct baseline"
        }
    }
}

/// What every run of a compression search shares (settings.txt: a directory holding runs of
/// other settings is refused; the target, codebook sizes and d range may change between
/// invocations to extend a search).
public struct CompressionSettings: Sendable, Hashable {
    public var model: String
    public var architecture: Architecture
    public var data: DataSelection
    public var projection: ProjectionKind
    public var overrides: TrainingOverrides
    public var method: QuantizationMethod
    public var warmupEpochs: Int?
    public var earlyStop: Bool

    public init(
        model: String, architecture: Architecture, data: DataSelection, projection: ProjectionKind, overrides: TrainingOverrides,
        method: QuantizationMethod, warmupEpochs: Int?, earlyStop: Bool
    ) {
        self.model = model
        self.architecture = architecture
        self.data = data
        self.projection = projection
        self.overrides = overrides
        self.method = method
        self.warmupEpochs = warmupEpochs
        self.earlyStop = earlyStop
    }

    /// The subspace runs' configuration.
    public func configuration() throws(TrainingError) -> TrainingConfiguration {
        try overrides.configuration(base: .recommendedSubspace())
    }

    /// settings.txt.
    public func settingsText() throws(TrainingError) -> String {
        var configuration = try configuration()
        configuration.seed = 0
        configuration.threads = 1
        return "command compress\nmodel \(model)\ndata \(data.summary)\nprojection \(projection.name)\n"
            + "training \(configuration.summary) epochs=\(configuration.epochs)\n"
            + "quantizer \(method.rawValue) warmup=\(warmupEpochs.map(String.init) ?? "half")\n"
            + "early-stop \(earlyStop ? "on" : "off")\n"
            + (data.preprocessing.map { "preprocessing \(SweepSettings.describe($0))\n" } ?? "")
    }
}

/// One trained candidate of a compression search: a subspace of dimension d with a
/// codebook of K levels, and the size of its file in each container profile.
public struct CompressionRecord: Codable, Sendable, Hashable {
    public struct File: Codable, Sendable, Hashable {
        /// The container profile ("standard", "compact").
        public var profile: String
        /// Relative to the output directory: models/<stem>-<profile>.idz.
        public var model: String
        /// Whole-file bytes as written.
        public var bytes: Int
    }

    public var d: Int
    public var levels: Int
    public var seed: UInt64
    /// Validation accuracy of the stored model: what decides.
    public var validation_accuracy: Double
    /// Test accuracy of the stored model: what is reported.
    public var test_accuracy: Double
    /// Entropy of the codebook's symbols in bits (sum over d).
    public var entropy_bits: Double
    public var files: [File]
    public var epochs: Int
    public var seconds: Double
    /// Why the run ended before its last epoch, if it did.
    public var stopped: EarlyStopping.Outcome?
    /// The level the early stops judged against.
    public var level: Double?
    /// A run that diverged: it has no files and counts as not reaching any target.
    public var failure: String?

    /// "d300-k16-s1".
    public var stem: String { Self.stem(d: d, levels: levels, seed: seed) }
    static func stem(d: Int, levels: Int, seed: UInt64) -> String { "d\(d)-k\(levels)-s\(seed)" }
}

/// A point of the Pareto front: a file no other file beats on both size and test accuracy.
public struct CompressionPoint: Codable, Sendable, Hashable {
    public var bytes: Int
    public var d: Int
    public var levels: Int
    public var profile: String
    public var validation_accuracy: Double
    public var test_accuracy: Double
    public var model: String
}

/// summary.json of a compression search.
public struct CompressionSummary: Codable, Sendable {
    public var model: String
    public var data: String
    public var parameters: Int
    public var projection: String
    public var quantizer: String
    public var target: String
    /// The validation accuracy a model must reach.
    public var level: Double
    /// The direct baseline's validation accuracy (a fraction target).
    public var baseline: Double?
    /// Smallest file first; every file no smaller file matches in test accuracy.
    public var pareto_front: [CompressionPoint]
    /// The smallest file whose validation accuracy reaches the level; nil when none does.
    public var smallest_passing: CompressionPoint?
    /// Training runs behind the result, their epochs and summed seconds (over every invocation).
    public var training_runs: Int
    public var epochs_trained: Int
    public var run_seconds: Double
    /// Seconds this invocation took.
    public var wall_seconds: Double
}

/// The outcome of `CompressionSearch.run`.
public struct CompressionOutcome: Sendable {
    public var summary: CompressionSummary
    public var records: [CompressionRecord]
}

/// Searches for the smallest `.idz` file that reaches a target accuracy (issue 11, the
/// "intrinsic description length in bytes"): for each codebook size K, finds the smallest d
/// whose quantised model passes the level on the validation split (`IntrinsicDimensionSearch`:
/// doubling, then bisection), writes each candidate in every container profile, and keeps
/// the smallest passing file. Every decision (pass or fail, early stopping) is taken on the
/// validation split held out from the training set; the test accuracy is only reported.
/// Finished runs in the directory are reused (resume).
public final class CompressionSearch {
    public let settings: CompressionSettings
    public let levels: [Int]
    public let search: IntrinsicDimensionSearch
    public let target: CompressionTarget
    public let directory: SweepDirectory
    /// Writes the model files of a sealed draft in every profile: (profile, bytes) in order.
    public let profiles: [ContainerProfile]
    public var say: (String) -> Void = { _ in }

    public init(
        settings: CompressionSettings, levels: [Int], search: IntrinsicDimensionSearch, target: CompressionTarget,
        profiles: [ContainerProfile] = [.compact, .standard], directory: SweepDirectory
    ) {
        self.settings = settings
        self.levels = Array(Set(levels)).sorted()
        self.search = search
        self.target = target
        self.profiles = profiles
        self.directory = directory
    }

    static let baselineStem = "direct"

    /// Runs (or resumes) the search.
    /// - Throws: `SweepError` for a directory of other settings, data without a validation
    ///   split, a failed run or a report that cannot be written.
    public func run() throws(SweepError) -> CompressionOutcome {
        let started = Date()
        let parameterCount: Int
        do {
            parameterCount = try settings.architecture.parameterCount()
        } catch {
            throw SweepError(error.description)
        }
        guard search.high <= parameterCount else {
            throw SweepError("d = \(search.high) exceeds the number of parameters D = \(parameterCount) of \(settings.model)")
        }
        guard settings.data.variant.validationFraction > 0 else {
            throw SweepError("compress decides on a validation split: give --validation-fraction (e.g. 0.1)")
        }
        let configuration: TrainingConfiguration
        let settingsText: String
        do {
            configuration = try settings.configuration()
            settingsText = try settings.settingsText()
            try TrainingRunSpec(
                model: settings.model, architecture: settings.architecture, dimension: search.high, projection: settings.projection,
                seed: settings.overrides.seed, configuration: configuration).checkMemory()
        } catch {
            throw SweepError(error.description)
        }
        try directory.create()
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        try directory.adopt(settings: settingsText)
        var records = try readRecords()
        let data: SelectedData
        do {
            data = try SelectedData(settings.data)
        } catch {
            throw SweepError(error.description)
        }
        say("compress \(settings.model) (D = \(grouped(parameterCount))) on \(settings.data.summary): target \(target.description), "
            + "codebooks \(levels.map(String.init).joined(separator: ", ")) (\(settings.method.title)), d in \(search.low)-\(search.high); "
            + (records.isEmpty ? "no finished runs yet" : "\(counted(records.count, "finished run")) in the directory, reused where the search needs them"))

        // The level on the validation split.
        var baseline: Double?
        let level: Double
        switch target {
        case .accuracy(let value):
            level = value
        case .fraction(let fraction):
            let value = try baselineAccuracy(data: data)
            baseline = value
            level = fraction * value
            say(String(format: "baseline (direct training): validation accuracy %.4f; level %.4f", value, level))
        }

        var trainedRuns = 0
        for k in levels {
            var tried: [Int: Double] = [:]
            while true {
                guard let d = search.next(means: tried, level: level.nextDown),
                      tried[d] == nil
                else { break }
                let seed = settings.overrides.seed
                let existing = records.first { $0.d == d && $0.levels == k && $0.seed == seed && reusable($0, level: level) }
                let record: CompressionRecord
                if let existing {
                    record = existing
                } else {
                    record = try train(d: d, levels: k, seed: seed, configuration: configuration, data: data, level: level)
                    records.removeAll { $0.d == d && $0.levels == k && $0.seed == seed }
                    records.append(record)
                    try saveRecords(records)
                    trainedRuns += 1
                    let bytes = record.files.map { "\($0.profile) \(grouped($0.bytes)) B" }.joined(separator: ", ")
                    let stopped = record.failure.map { ", failed: \($0)" }
                        ?? record.stopped.map { $0 == .passed ? ", stopped: passed" : ", stopped: cannot reach" } ?? ""
                    say(String(format: "[%d] %@ validation %.4f test %.4f (%@%@, %.1f s): %@",
                        trainedRuns, record.stem, record.validation_accuracy, record.test_accuracy,
                        counted(record.epochs, "epoch"), stopped, record.seconds, bytes))
                }
                tried[d] = record.validation_accuracy
            }
        }

        let inSearch = records.filter { levels.contains($0.levels) && (search.low...search.high).contains($0.d) && $0.failure == nil }
        let points = inSearch.flatMap { record in
            record.files.map { file in
                CompressionPoint(
                    bytes: file.bytes, d: record.d, levels: record.levels, profile: file.profile,
                    validation_accuracy: record.validation_accuracy, test_accuracy: record.test_accuracy, model: file.model)
            }
        }
        let front = Self.paretoFront(points)
        let passing = points.filter { $0.validation_accuracy >= level }
        let smallest = passing.min { ($0.bytes, $0.d, $0.levels, $0.profile) < ($1.bytes, $1.d, $1.levels, $1.profile) }
        let summary = CompressionSummary(
            model: settings.model, data: settings.data.summary, parameters: parameterCount, projection: settings.projection.name,
            quantizer: settings.method.rawValue, target: target.description, level: level, baseline: baseline,
            pareto_front: front, smallest_passing: smallest, training_runs: inSearch.count,
            epochs_trained: inSearch.reduce(0) { $0 + $1.epochs }, run_seconds: inSearch.reduce(0) { $0 + $1.seconds },
            wall_seconds: Date().timeIntervalSince(started))
        try directory.write(encoding: summary, to: "summary.json")
        try directory.write(Data(CompressionPlot.svg(points: points, summary: summary).utf8), to: "plot.svg")
        return CompressionOutcome(summary: summary, records: inSearch)
    }

    /// A run of an earlier invocation counts when it was trained out or stopped against this level.
    private func reusable(_ record: CompressionRecord, level: Double) -> Bool {
        record.stopped == nil || record.level == level
    }

    /// A profile's name as a file name part: "compact-8" for "compact:8".
    static func fileName(_ profile: ContainerProfile) -> String { profile.name.replacingOccurrences(of: ":", with: "-") }

    /// Files no smaller-or-equal file matches in test accuracy, smallest first.
    public static func paretoFront(_ points: [CompressionPoint]) -> [CompressionPoint] {
        let sorted = points.sorted { ($0.bytes, -$0.test_accuracy, $0.d, $0.levels) < ($1.bytes, -$1.test_accuracy, $1.d, $1.levels) }
        var front: [CompressionPoint] = []
        for point in sorted where point.test_accuracy > (front.last?.test_accuracy ?? -1) { front.append(point) }
        return front
    }

    // MARK: Runs

    private func baselineAccuracy(data: SelectedData) throws(SweepError) -> Double {
        let url = directory.file("baseline.json")
        if let saved = try? JSONDecoder().decode([String: Double].self, from: Data(contentsOf: url)), let value = saved["validation_accuracy"] {
            return value
        }
        say("training the direct baseline")
        let sealed: SealedRun
        do throws(TrainingError) {
            let configuration = try settings.overrides.withoutOptimizerChoices.configuration(base: .recommended())
            let spec = TrainingRunSpec(
                model: settings.model, architecture: settings.architecture, dimension: nil, seed: settings.overrides.seed,
                configuration: configuration)
            let run = try TrainingRun(spec: spec, problem: .dataset(data))
            try run.train()
            sealed = try run.seal(to: directory.file("models/direct.idz"))
        } catch {
            throw SweepError(error.description)
        }
        let value = sealed.validation?.accuracy ?? sealed.performance
        try directory.write(encoding: ["validation_accuracy": value, "test_accuracy": sealed.test?.accuracy ?? 0], to: "baseline.json")
        return value
    }

    private func train(
        d: Int, levels k: Int, seed: UInt64, configuration: TrainingConfiguration, data: SelectedData, level: Double
    ) throws(SweepError) -> CompressionRecord {
        let started = Date()
        let quantization = QuantizationSettings(levels: k, method: settings.method, warmupEpochs: settings.warmupEpochs)
        var configuration = configuration
        let stopping = settings.earlyStop ? EarlyStopping(level: level) : nil
        configuration.evaluateEveryEpoch = stopping != nil
        let spec = TrainingRunSpec(
            model: settings.model, architecture: settings.architecture, dimension: d, projection: settings.projection,
            seed: seed, configuration: configuration, quantization: quantization)
        let stem = CompressionRecord.stem(d: d, levels: k, seed: seed)
        var epochs = 0
        do throws(TrainingError) {
            let run = try TrainingRun(spec: spec, problem: .dataset(data))
            defer { epochs = run.epochsCompleted }
            let judge = stopping.map {
                EarlyStopJudge($0, from: quantization.fitEpoch(totalEpochs: configuration.epochs), totalEpochs: configuration.epochs)
            }
            try run.train(observer: judge)
            let relative = profiles.map { "models/\(stem)-\(Self.fileName($0)).idz" }
            let results = try run.seal(files: zip(relative, profiles).map { (directory.file($0), $1) })
            let files = zip(zip(profiles, relative), results).map { CompressionRecord.File(profile: $0.0.name, model: $0.1, bytes: $1.fileBytes) }
            guard let sealed = results.first, let test = sealed.test else { throw TrainingError.network("internal: no profile to write") }
            return CompressionRecord(
                d: d, levels: k, seed: seed, validation_accuracy: sealed.validation?.accuracy ?? sealed.performance,
                test_accuracy: test.accuracy, entropy_bits: run.codebook?.entropyBits ?? 0, files: files,
                epochs: run.epochsCompleted, seconds: Date().timeIntervalSince(started), stopped: judge?.outcome,
                level: judge == nil ? nil : level)
        } catch {
            guard error.isDivergence else { throw SweepError(error.description) }
            return CompressionRecord(
                d: d, levels: k, seed: seed, validation_accuracy: 0, test_accuracy: 0, entropy_bits: 0, files: [], epochs: epochs,
                seconds: Date().timeIntervalSince(started), failure: error.description)
        }
    }

    // MARK: Results file

    private func readRecords() throws(SweepError) -> [CompressionRecord] {
        let url = directory.file("results.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let records: [CompressionRecord]
        do {
            records = try JSONDecoder().decode([CompressionRecord].self, from: Data(contentsOf: url))
        } catch {
            throw SweepError("\(url.path): not a compression search's results (\(error.localizedDescription))")
        }
        // Model files live at models/<stem>-<profile>.idz; any other path is damaged or crafted.
        for record in records {
            for file in record.files {
                guard ContainerProfile(name: file.profile) != nil else {
                    throw SweepError("\(url.path): run \(record.stem) names an unknown container profile '\(file.profile)'")
                }
                let expected = "models/\(record.stem)-\(file.profile.replacingOccurrences(of: ":", with: "-")).idz"
                guard file.model == expected else {
                    throw SweepError("\(url.path): run \(record.stem) names the model file '\(file.model)', not \(expected)")
                }
            }
        }
        // A run counts when it failed (no files) or every file it wrote is there.
        return records.filter { record in
            record.failure != nil || record.files.allSatisfy { FileManager.default.fileExists(atPath: directory.file($0.model).path) }
        }
    }

    private func saveRecords(_ records: [CompressionRecord]) throws(SweepError) {
        let sorted = records.sorted { ($0.levels, $0.d, $0.seed) < ($1.levels, $1.d, $1.seed) }
        try directory.write(encoding: sorted, to: "results.json")
    }
}
