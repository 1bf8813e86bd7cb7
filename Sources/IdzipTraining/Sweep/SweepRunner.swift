import Foundation
import IdzipCore

/// The settings every run of a sweep shares (not d, seeds, baseline or threshold, which
/// may change between invocations to extend a sweep).
public struct SweepSettings: Sendable, Hashable {
    /// The architecture as the user named it.
    public var model: String
    public var architecture: Architecture
    /// The data; nil for the toy problem.
    public var data: DataSelection?
    public var projection: ProjectionKind
    /// The user's training settings; `seed` is the first seed.
    public var overrides: TrainingOverrides
    public var encoding: ThetaEncoding
    /// Stop runs early once clearly above the level or clearly unable to reach it.
    public var earlyStop: Bool

    public init(
        model: String, architecture: Architecture, data: DataSelection?, projection: ProjectionKind,
        overrides: TrainingOverrides, encoding: ThetaEncoding, earlyStop: Bool
    ) {
        self.model = model
        self.architecture = architecture
        self.data = data
        self.projection = projection
        self.overrides = overrides
        self.encoding = encoding
        self.earlyStop = earlyStop
    }

    public var isToy: Bool { ToyObjective(architecture) != nil }

    /// The settings.txt text: a directory holding finished runs of other settings is refused.
    /// - Throws: `TrainingError.configuration` when the training overrides are invalid.
    public func settingsText() throws(TrainingError) -> String {
        var configuration = try overrides.configuration(base: isToy ? ToyTrainer.recommended() : .recommendedSubspace())
        configuration.seed = 0
        configuration.threads = 1
        return "model \(model)\ndata \(data?.summary ?? "none")\nprojection \(projection.name)\n"
            + "training \(configuration.summary) epochs=\(configuration.epochs)\nencoding \(encoding.name)\n"
            + "early-stop \(earlyStop && !isToy ? "on" : "off")\n"
    }
}

/// Which dimensions a sweep trains.
public enum SweepDimensions: Sendable, Hashable {
    /// Every d of the list (sorted, distinct).
    case list([Int])
    /// `IntrinsicDimensionSearch`: doubling from `low`, then bisection down to `resolution`.
    case search(low: Int, high: Int, resolution: Int)

    /// The largest d it can train.
    public var largest: Int {
        switch self {
        case .list(let dimensions): dimensions.max() ?? 0
        case .search(_, let high, _): high
        }
    }
}

/// What a sweep's invocation produced.
public enum SweepOutcome: Sendable {
    /// A shard ran its share: `finished` of its `planned` runs are done.
    case shard(SweepShard, planned: Int, finished: Int)
    /// The whole sweep: its summary and the runs behind it, with the report written.
    case complete(SweepSummary, records: [SweepRecord], modelCount: Int)
}

/// Measures the intrinsic dimension (Li et al. 2018, Sec. 2-3): trains the planned runs
/// into a `SweepDirectory` (resuming finished ones), judges each against the level
/// threshold x baseline, and writes the summary, plot and page.
public final class SweepRunner {
    public let settings: SweepSettings
    public let dimensions: SweepDimensions
    /// Seeds per d: seed, seed + 1, ...
    public let runs: Int
    public let baseline: SweepBaseline
    public let threshold: Double
    public let shard: SweepShard?
    public let directory: SweepDirectory
    /// Receives progress lines for people.
    public var say: (String) -> Void = { _ in }

    public init(
        settings: SweepSettings, dimensions: SweepDimensions, runs: Int, baseline: SweepBaseline, threshold: Double,
        shard: SweepShard?, directory: SweepDirectory
    ) {
        self.settings = settings
        self.dimensions = dimensions
        self.runs = runs
        self.baseline = baseline
        self.threshold = threshold
        self.shard = shard
        self.directory = directory
    }

    private var seeds: [UInt64] { (0..<UInt64(runs)).map { settings.overrides.seed &+ $0 } }
    private var firstSeed: UInt64 { settings.overrides.seed }

    /// Runs the sweep (or this shard of it).
    /// - Throws: `SweepError` for a directory of another sweep or shard, a failed run, or
    ///   a report that cannot be written.
    public func run() throws(SweepError) -> SweepOutcome {
        let started = Date()
        let parameterCount: Int
        do {
            parameterCount = try settings.architecture.parameterCount()
        } catch {
            throw SweepError(error.description)
        }
        guard dimensions.largest <= parameterCount else {
            throw SweepError("d = \(dimensions.largest) exceeds the number of parameters D = \(parameterCount) of \(settings.model)")
        }
        try directory.create()
        do {
            try directory.adopt(settings: try settings.settingsText())
        } catch let error as SweepError {
            throw error
        } catch {
            throw SweepError("\(error)")
        }
        if let existing = try directory.shardFile()?.shard, existing != shard {
            throw SweepError("\(directory.path) holds shard \(existing.name); "
                + (shard == nil ? "give --shard \(existing.name) or combine shards with `idzip sweep merge`" : "give each shard its own --out"))
        }
        var records = try directory.records()
        let done = Set(records.map(\.key))
        let directKey = SweepRunKey(d: parameterCount, seed: firstSeed, projection: SweepRecord.directName)

        // The plan: the direct baseline run (local baseline), then every d x seed in order.
        var planned: [SweepRunKey] = baseline == .local ? [directKey] : []
        if case .list(let list) = dimensions { planned += SweepPlan(dimensions: list, seeds: seeds, projection: settings.projection.name).runs }
        if let shard {
            planned = shard.share(of: planned)
            try directory.saveShardFile(.init(
                shard: shard, baseline: baseline.argument, threshold: threshold, runs: runs,
                assigned: planned.map { "models/\($0.fileStem).idz" }))
        }
        let pending = planned.filter { !done.contains($0) }
        say(headline(parameterCount: parameterCount, planned: planned.count, pending: pending.count, found: records.count))

        let data: SelectedData?
        do {
            data = try settings.data.map { selection throws(DataError) in try SelectedData(selection) }
        } catch {
            throw SweepError(error.description)
        }
        var trained = 0
        var level: Double?
        func runAll(_ keys: [SweepRunKey]) throws(SweepError) {
            for key in keys {
                let record = try train(key, data: data, level: level)
                records.removeAll { $0.key == key }
                records.append(record)
                try directory.save(records)
                trained += 1
                let stopped = record.stopped.map { $0 == .passed ? ", stopped: passed" : ", stopped: cannot reach" } ?? ""
                say(String(format: "[%@] %@ performance %.6f (%@%@, %.2f s)",
                    isSearch ? "\(trained)" : "\(trained)/\(pending.count)", key.fileStem,
                    record.performance, counted(record.epochs, settings.isToy ? "step" : "epoch"), stopped, record.seconds))
            }
        }
        // The baseline first: a local one sets the level the early stops judge against.
        try runAll(pending.filter { $0.projection == SweepRecord.directName })
        let baselineValue: Double? = switch baseline {
        case .global(let value): value
        case .local: records.first { $0.isDirect && $0.seed == firstSeed }?.performance
        }
        if settings.earlyStop, let baselineValue { level = threshold * baselineValue }
        try runAll(pending.filter { $0.projection != SweepRecord.directName })
        try directory.save(records)

        if let shard {
            let finished = Set(records.map(\.key))
            let missing = planned.filter { !finished.contains($0) }.count
            return .shard(shard, planned: planned.count, finished: planned.count - missing)
        }
        guard let baselineValue else { throw SweepError("the baseline run is missing") }

        var trainedDimensions: [Int]
        switch dimensions {
        case .list(let list):
            trainedDimensions = list
        case .search(let low, let high, let resolution):
            // Each step trains all seeds of one d, then picks the next d from the means.
            let searcher = IntrinsicDimensionSearch(low: low, high: high, resolution: resolution)
            trainedDimensions = []
            while true {
                let current = Set(SweepPlan(dimensions: trainedDimensions, seeds: seeds, projection: settings.projection.name).runs)
                let means = IntrinsicDimensionEstimate(
                    records: records.filter { current.contains($0.key) }, baseline: baselineValue, threshold: threshold
                ).means
                guard let next = searcher.next(
                    means: Dictionary(uniqueKeysWithValues: means.map { ($0.d, $0.mean) }), level: threshold * baselineValue),
                    !trainedDimensions.contains(next)
                else { break }
                trainedDimensions.append(next)
                let keys = SweepPlan(dimensions: [next], seeds: seeds, projection: settings.projection.name).runs
                try runAll(keys.filter { key in !records.contains { $0.key == key } })
            }
        }
        var inPlan = Set(SweepPlan(dimensions: trainedDimensions, seeds: seeds, projection: settings.projection.name).runs)
        if baseline == .local { inPlan.insert(directKey) }
        let used = records.filter { inPlan.contains($0.key) }
        let summary = SweepSummary(
            description: SweepDescription(
                model: settings.model, data: settings.data?.summary, parameters: parameterCount, projection: settings.projection.name),
            baselineKind: baseline, baseline: baselineValue, threshold: threshold, runs: runs, records: used,
            wallSeconds: Date().timeIntervalSince(started))
        try directory.writeReport(summary, records: used)
        return .complete(summary, records: used, modelCount: records.count)
    }

    private var isSearch: Bool {
        if case .search = dimensions { return true }
        return false
    }

    /// "sweep toy (D = 1,000) with no data: fastfood, 5 dimensions x 1 run, baseline global 1.0; 0 done, 5 to run".
    /// A search does not know its runs in advance: it says how many finished runs the
    /// directory already holds (reused where the search reaches their d) and, for a local
    /// baseline, whether the baseline run is still to train.
    private func headline(parameterCount: Int, planned: Int, pending: Int, found: Int) -> String {
        let scope = switch dimensions {
        case .search(let low, let high, let resolution):
            "search of d from \(rangeText(low, high)) (resolution \(grouped(resolution))) with \(counted(runs, "seed")) per d"
        case .list(let list): "\(counted(list.count, "dimension")) x \(counted(runs, "run"))"
        }
        let progress: String
        if isSearch {
            progress = (found == 0 ? "no finished runs yet" : "\(counted(found, "finished run")) in the directory, reused where the search needs them")
                + (pending > 0 ? "; the baseline run first" : "")
        } else {
            progress = "\(grouped(planned - pending)) done, \(grouped(pending)) to run"
        }
        return "sweep \(settings.model) (D = \(grouped(parameterCount))) "
            + (settings.data.map { "on \($0.summary)" } ?? "with no data") + ": \(settings.projection.name), "
            + "\(scope), baseline \(baseline.name)" + (shard.map { ", shard \($0.name)" } ?? "") + "; " + progress
    }

    /// Trains one run and writes its model; with a `level`, a subspace run may stop early.
    private func train(_ key: SweepRunKey, data: SelectedData?, level: Double?) throws(SweepError) -> SweepRecord {
        let direct = key.projection == SweepRecord.directName
        let relative = "models/" + key.fileStem + ".idz"
        var overrides = direct ? settings.overrides.withoutOptimizerChoices : settings.overrides
        overrides.seed = key.seed
        let started = Date()
        do {
            var configuration = try overrides.configuration(
                base: TrainingRunSpec.recommendedConfiguration(for: settings.architecture, subspace: !direct))
            // Performance is judged on the test set, or on the training set with shuffled
            // labels (as trained in the epoch: the running accuracy, no extra pass).
            let shuffledLabels = data?.selection.variant.shuffleLabels ?? false
            let stopping = direct || data == nil ? nil : level.map { EarlyStopping(level: $0) }
            if data != nil { configuration.evaluateEveryEpoch = stopping != nil && !shuffledLabels }
            let spec = TrainingRunSpec(
                model: settings.model, architecture: settings.architecture, dimension: direct ? nil : key.d,
                projection: settings.projection, seed: key.seed, configuration: configuration, encoding: settings.encoding)
            let run = try TrainingRun(spec: spec, problem: data.map { .dataset($0) } ?? .toy(ToyObjective(settings.architecture) ?? ToyObjective()))
            let judge = stopping.map { EarlyStopJudge($0, shuffledLabels: shuffledLabels, totalEpochs: configuration.epochs) }
            try run.train(observer: judge)
            let sealed = try run.seal(to: directory.file(relative))
            return SweepRecord(
                d: key.d, seed: key.seed, projection: key.projection, performance: sealed.performance,
                epochs: run.epochsCompleted, seconds: Date().timeIntervalSince(started), model: relative, stopped: judge?.outcome)
        } catch {
            throw SweepError(error.description)
        }
    }
}

/// Stops a run after an epoch by the `EarlyStopping` rule.
private final class EarlyStopJudge: TrainingObserver {
    let rule: EarlyStopping
    let shuffledLabels: Bool
    let totalEpochs: Int
    var history: [Double] = []
    var outcome: EarlyStopping.Outcome?

    init(_ rule: EarlyStopping, shuffledLabels: Bool, totalEpochs: Int) {
        self.rule = rule
        self.shuffledLabels = shuffledLabels
        self.totalEpochs = totalEpochs
    }

    func epoch(_ report: EpochReport) -> TrainingDecision {
        history.append(shuffledLabels ? report.trainAccuracy : report.test?.accuracy ?? 0)
        outcome = rule.outcome(history: history, totalEpochs: totalEpochs)
        return outcome == nil ? .proceed : .stop
    }
}

extension SweepBaseline {
    /// The baseline as the command line takes it: "local" or the number.
    public var argument: String {
        switch self {
        case .global(let value): "\(value)"
        case .local: "local"
        }
    }
}
