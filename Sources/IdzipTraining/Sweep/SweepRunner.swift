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
    /// Reinforcement learning in an environment instead of a data set (`data` is then nil).
    public var environment: ReinforcementTask?

    public init(
        model: String, architecture: Architecture, data: DataSelection?, projection: ProjectionKind,
        overrides: TrainingOverrides, encoding: ThetaEncoding, earlyStop: Bool, environment: ReinforcementTask? = nil
    ) {
        self.environment = environment
        self.model = model
        self.architecture = architecture
        self.data = data
        self.projection = projection
        self.overrides = overrides
        self.encoding = encoding
        self.earlyStop = earlyStop
    }

    public var isToy: Bool { environment == nil && ToyObjective(architecture) != nil }

    /// A pre-trained base every run fine-tunes (theta0 := its weights); nil: seeded theta0.
    public var base: BaseWeights? = nil
    /// The base's locator stored in each model.
    public var baseLocator: String = ""
    /// Per-tensor modes and SAID scales of every subspace run.
    public var tensorStructure: TensorStructureSettings? = nil

    /// Numbers each model stores beside theta_d (scales and direct values). A sweep's d
    /// counts every stored number: a run of d trains theta_d of d - extraNumbers.
    public var extraNumbers: Int {
        guard let structure = tensorStructure, !structure.isPlain, let tensors = try? architecture.parameterTensors() else { return 0 }
        return StructuredSubspace(tensors: tensors, dimension: 0, settings: structure).trainedCount
    }

    /// The run spec for d (stored numbers; nil: direct) with the base and tensor modes.
    func runSpec(d: Int?, seed: UInt64, configuration: TrainingConfiguration) -> TrainingRunSpec {
        var spec = TrainingRunSpec(
            model: model, architecture: architecture, dimension: d.map { $0 - extraNumbers }, projection: projection,
            seed: seed, configuration: configuration, encoding: encoding)
        spec.base = base
        spec.baseLocator = baseLocator
        if d != nil { spec.tensorStructure = tensorStructure }
        return spec
    }

    /// The recommended settings the overrides apply to: reinforcement learning's, the toy
    /// problem's, or the data-set ones for subspace or direct training.
    public func baseConfiguration(subspace: Bool) -> TrainingConfiguration {
        if let environment { return ReinforcementTask.recommendedConfiguration(subspace: subspace, algorithm: environment.algorithm) }
        return TrainingRunSpec.recommendedConfiguration(for: architecture, subspace: subspace)
    }

    /// What the runs learn from, as reports name it: the data set, or "cartpole (dqn)".
    public var problemSummary: String? {
        if let environment { return "\(environment.summary) (\(environment.algorithm.rawValue))" }
        return data?.summary
    }

    /// "scale=0.5 mean=[0.1] std=[0.3]" (unset parts: "default").
    static func describe(_ choice: InputPreprocessing) -> String {
        func list(_ values: [Float]?) -> String { values.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" } ?? "default" }
        return "scale=\(choice.scale.map { "\($0)" } ?? "default") mean=\(list(choice.mean)) std=\(list(choice.standardDeviation))"
    }

    /// The settings.txt text: a directory holding finished runs of other settings is refused.
    /// - Throws: `TrainingError.configuration` when the training overrides are invalid.
    public func settingsText() throws(TrainingError) -> String {
        var configuration = try overrides.configuration(base: baseConfiguration(subspace: true))
        configuration.seed = 0
        configuration.threads = 1
        return "model \(model)\ndata \(data?.summary ?? "none")\nprojection \(projection.name)\n"
            + "training \(configuration.summary)\(environment == nil ? " epochs=\(configuration.epochs)" : "")\nencoding \(encoding.name)\n"
            + "early-stop \(earlyStop && !isToy ? "on" : "off")\n"
            + (data?.preprocessing.map { "preprocessing \(Self.describe($0))\n" } ?? "")
            + (environment.map { "environment \($0.environment.rawValue) \($0.algorithm.rawValue) \($0.settingsSummary)\n" } ?? "")
            + (base.map { "base \(hexString($0.sha256))\n" } ?? "")
            + (tensorStructure.flatMap { $0.isPlain ? nil : "tensor-modes \($0.summary); d counts theta_d + \(extraNumbers) stored numbers\n" } ?? "")
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
        let extra = settings.extraNumbers
        if extra > 0 {
            let smallest: Int
            switch dimensions {
            case .list(let list): smallest = list.min() ?? 0
            case .search(let low, _, _): smallest = low
            }
            guard smallest > extra else {
                throw SweepError("with these tensor modes every model stores \(extra) scales and direct values, and d counts them: start --dims or --search above \(extra)")
            }
        }
        if case .list(let list) = dimensions, MemoryBudget.product([list.count, runs]) > SweepPlan.maxRuns {
            throw SweepError("the plan has \(list.count) x \(runs) runs; a sweep plans at most \(SweepPlan.maxRuns)")
        }
        try checkMemory()
        try directory.create()
        // Held while this run works in the directory: a second sweep on it is refused.
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
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
                let stopped = record.failure.map { ", failed: \($0)" }
                    ?? record.stopped.map { $0 == .passed ? ", stopped: passed" : ", stopped: cannot reach" } ?? ""
                say(String(format: "[%@] %@ performance %.6f (%@%@, %.2f s)",
                    isSearch ? "\(trained)" : "\(trained)/\(pending.count)", key.fileStem,
                    record.performance, counted(record.epochs, settings.environment != nil ? "evaluation" : settings.isToy ? "step" : "epoch"), stopped, record.seconds))
            }
        }
        // The baseline first: a local one sets the level the early stops judge against.
        try runAll(pending.filter { $0.projection == SweepRecord.directName })
        let baselineValue: Double? = switch baseline {
        case .global(let value): value
        case .local: records.first { $0.isDirect && $0.seed == firstSeed }?.performance
        }
        if settings.earlyStop, !settings.isToy, let baselineValue { level = threshold * baselineValue }
        if let note = try judgementChange(records: records, level: level) { say(note) }
        // Every run here now counts for this threshold (re-judged when it changed).
        records = records.map { record in
            var record = record
            if !record.isDirect { record.threshold = threshold }
            return record
        }
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
        var description = SweepDescription(
            model: settings.model, data: settings.problemSummary, parameters: parameterCount, projection: settings.projection.name)
        if let task = settings.environment {
            description.selectedOn = "best evaluation's mean return over \(counted(task.evaluationEpisodes, "episode")) "
                + "(the paper's maximum-attained mean evaluation reward), minus the lowest possible return \(task.environment.make().returnFloor)"
        }
        let summary = SweepSummary(
            description: description,
            baselineKind: baseline, baseline: baselineValue, threshold: threshold, runs: runs, records: used,
            wallSeconds: Date().timeIntervalSince(started))
        try directory.writeReport(summary, records: used)
        return .complete(summary, records: used, modelCount: records.count)
    }

    /// Compares the --threshold (and early-stopping level) of this invocation with those the
    /// runs already in the directory were trained under. Runs that early stopping ended
    /// against another level cannot be compared with the new one (a run stopped as
    /// "cannot reach" 0.90 might pass 0.85, a run stopped as "passed" 0.90 says nothing about
    /// 0.97), so a change is refused, naming the old and new value; runs trained out are
    /// re-judged against the new level, and the returned line says so.
    /// - Throws: `SweepError` when runs stopped early were judged against another level.
    func judgementChange(records: [SweepRecord], level: Double?) throws(SweepError) -> String? {
        let subspace = records.filter { !$0.isDirect }
        // Results written before the threshold was recorded per run: the report's threshold.
        let reported = Self.reportedThreshold(in: directory)
        let changed = subspace.filter { record in
            guard let old = record.threshold ?? reported else { return false }
            return old != threshold || (record.stopped != nil && record.level != nil && level != nil && record.level != level)
        }
        guard let first = changed.first else { return nil }
        let oldThreshold = first.threshold ?? reported ?? threshold
        let stopped = changed.filter { $0.stopped != nil }
        if !stopped.isEmpty {
            if oldThreshold != threshold {
                throw SweepError("\(directory.path) holds runs of --threshold \(oldThreshold), \(stopped.count) of them stopped early "
                    + "against its level; --threshold \(threshold) would mix runs judged against different levels: give --threshold "
                    + "\(oldThreshold) again, or another --out (or --no-early-stop into a new directory to train every run out)")
            }
            let oldLevel = stopped.first?.level ?? 0
            throw SweepError("\(directory.path) holds \(stopped.count) runs stopped early against level \(oldLevel); this sweep's level is "
                + "\(level ?? 0) (--baseline changed from the one they were judged with): give the same --baseline again, or another --out")
        }
        return "--threshold changed from \(oldThreshold) to \(threshold): the \(changed.count) runs already here were trained out "
            + "(none stopped early), so they are re-judged against the new level"
    }

    /// The threshold of the report a finished sweep left in `directory` (summary.json), if any.
    static func reportedThreshold(in directory: SweepDirectory) -> Double? {
        guard let data = try? Data(contentsOf: directory.file("summary.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["threshold"] as? Double
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
            + (settings.environment.map { "in \($0.environment.title) (\($0.algorithm.rawValue))" } ?? settings.data.map { "on \($0.summary)" } ?? "with no data")
            + ": \(settings.projection.name), "
            + "\(scope), baseline \(baseline.name)" + (shard.map { ", shard \($0.name)" } ?? "") + "; " + progress
    }

    /// Refuses, before anything is created or trained, a plan whose largest run (or direct
    /// baseline run) needs more memory than `MemoryBudget` allows.
    private func checkMemory() throws(SweepError) {
        let largest: [Int?] = (dimensions.largest > 0 ? [dimensions.largest] : []) + (baseline == .local ? [nil] : [])
        for dimension in largest {
            let overrides = dimension == nil ? settings.overrides.withoutOptimizerChoices : settings.overrides
            guard let configuration = try? overrides.configuration(
                base: settings.baseConfiguration(subspace: dimension != nil))
            else { continue }
            let spec = settings.runSpec(d: dimension, seed: settings.overrides.seed, configuration: configuration)
            do {
                try spec.checkMemory()
            } catch {
                throw SweepError(error.description)
            }
        }
    }

    /// Trains one run and writes its model; with a `level`, a subspace run may stop early.
    private func train(_ key: SweepRunKey, data: SelectedData?, level: Double?) throws(SweepError) -> SweepRecord {
        let direct = key.projection == SweepRecord.directName
        let relative = "models/" + key.fileStem + ".idz"
        var overrides = direct ? settings.overrides.withoutOptimizerChoices : settings.overrides
        overrides.seed = key.seed
        let started = Date()
        var epochs = 0
        do {
            var configuration = try overrides.configuration(base: settings.baseConfiguration(subspace: !direct))
            if let task = settings.environment {
                return try trainPolicy(key, task: task, configuration: configuration, level: direct ? nil : level, relative: relative, started: started)
            }
            // Performance is judged on the test set, or on the training set with shuffled
            // labels (as trained in the epoch: the running accuracy, no extra pass).
            let shuffledLabels = data?.selection.variant.shuffleLabels ?? false
            let stopping = direct || data == nil ? nil : level.map { EarlyStopping(level: $0) }
            if data != nil { configuration.evaluateEveryEpoch = stopping != nil && !shuffledLabels }
            let spec = settings.runSpec(d: direct ? nil : key.d, seed: key.seed, configuration: configuration)
            let run = try TrainingRun(spec: spec, problem: data.map { .dataset($0) } ?? .toy(ToyObjective(settings.architecture) ?? ToyObjective()))
            let judge = stopping.map { EarlyStopJudge($0, shuffledLabels: shuffledLabels, totalEpochs: configuration.epochs) }
            defer { epochs = run.epochsCompleted }
            try run.train(observer: judge)
            let sealed = try run.seal(to: directory.file(relative))
            return SweepRecord(
                d: key.d, seed: key.seed, projection: key.projection, performance: sealed.performance,
                epochs: run.epochsCompleted, seconds: Date().timeIntervalSince(started), model: relative, stopped: judge?.outcome,
                threshold: direct ? nil : threshold, level: judge == nil ? nil : stopping?.level,
                testAccuracy: sealed.validation == nil ? nil : sealed.test?.accuracy)
        } catch {
            guard error.isDivergence else { throw SweepError(error.description) }
            // A diverged run is a result (it did not reach any level), not the end of the sweep.
            return SweepRecord(
                d: key.d, seed: key.seed, projection: key.projection, performance: 0, epochs: epochs,
                seconds: Date().timeIntervalSince(started), model: relative, failure: error.description)
        }
    }
}

extension SweepRunner {
    /// One reinforcement-learning run of the sweep. Its performance is the best evaluation's
    /// mean return (the paper's "maximum-attained mean evaluation reward", Sec. 3.3) minus
    /// the environment's floor, measured again on the stored policy. With a `level`, the run
    /// stops after the first evaluation above it: since the performance is a maximum over
    /// evaluations, the run has passed whatever follows ("cannot reach" is not judged: returns
    /// jump from tens to hundreds within a few evaluations).
    fileprivate func trainPolicy(
        _ key: SweepRunKey, task: ReinforcementTask, configuration: TrainingConfiguration, level: Double?, relative: String, started: Date
    ) throws(TrainingError) -> SweepRecord {
        let direct = key.projection == SweepRecord.directName
        let spec = TrainingRunSpec(
            model: settings.model, architecture: settings.architecture, dimension: direct ? nil : key.d,
            projection: settings.projection, seed: key.seed, configuration: configuration, encoding: settings.encoding)
        let run = try TrainingRun(spec: spec, problem: .environment(task))
        let judge = PolicyStopJudge(level: settings.earlyStop ? level : nil)
        try run.train(observer: judge)
        let sealed = try run.seal(to: directory.file(relative))
        return SweepRecord(
            d: key.d, seed: key.seed, projection: key.projection, performance: sealed.performance,
            epochs: judge.evaluations, seconds: Date().timeIntervalSince(started), model: relative,
            stopped: judge.stopped ? .passed : nil, threshold: direct ? nil : threshold, level: judge.level)
    }
}

/// Stops a policy's training once its best evaluation is above the level.
private final class PolicyStopJudge: TrainingObserver {
    let level: Double?
    var evaluations = 0
    var stopped = false

    init(level: Double?) { self.level = level }

    func evaluation(_ report: PolicyEvaluationReport) -> TrainingDecision {
        evaluations += 1
        guard let level, report.bestPerformance > level, report.index + 1 < report.plannedCount else { return .proceed }
        stopped = true
        return .stop
    }
}

/// Stops a run after an epoch by the `EarlyStopping` rule, judged on the selection (validation
/// or test) accuracy, or on the training accuracy for shuffled labels; a quantised run
/// (`idzip compress`) is judged only from epoch `from` on, once its codebook is active.
final class EarlyStopJudge: TrainingObserver {
    let rule: EarlyStopping
    let shuffledLabels: Bool
    let from: Int
    let totalEpochs: Int
    var history: [Double] = []
    var outcome: EarlyStopping.Outcome?

    init(_ rule: EarlyStopping, shuffledLabels: Bool = false, from: Int = 1, totalEpochs: Int) {
        self.rule = rule
        self.shuffledLabels = shuffledLabels
        self.from = from
        self.totalEpochs = totalEpochs
    }

    func epoch(_ report: EpochReport) -> TrainingDecision {
        history.append(shuffledLabels ? report.trainAccuracy : report.selectionAccuracy ?? 0)
        guard history.count >= from else { return .proceed }
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
