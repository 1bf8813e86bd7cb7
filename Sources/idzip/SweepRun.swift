import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct SweepRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Measure the intrinsic dimension: train in subspaces of several d and find d_int90.",
        discussion: """
            Trains every d of --dims with --runs seeds (seed, seed+1, ...), each in its own random \
            subspace, and reports d_int90: the first d whose seed-mean performance is strictly above \
            threshold x baseline (the authors' rule), and d_int100, the first d whose mean reaches \
            the baseline (within 0.1%). Performance is test accuracy (training accuracy with --shuffle-labels; \
            exp(-loss) for the toy model). --out DIR receives results.csv, results.json, \
            summary.json, plot.svg, index.html and every run's model in models/. Running the same sweep again \
            resumes: finished runs are kept. A run stops early once it is clearly above the level or clearly \
            cannot reach it (--no-early-stop trains every run to the end). --shard i/n runs every n-th run \
            of the plan into its own directory; `idzip sweep merge` combines the shards.
            """
    )

    @Option(help: "Architecture: fc:784-200-200-10, fc5, lenet, lenet:3x32x32 or toy.")
    var model: String = "fc:784-200-200-10"

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Subspace dimensions: a list and/or ranges, e.g. 100,200,400, 1-20 or 100-1500:100 (step 100).")
    var dims: String?

    @Option(help: "Instead of --dims, search LOW-HIGH: double d from LOW until it passes, then bisect.")
    var search: String?

    @Option(help: "With --search: stop bisecting when the interval is this narrow.")
    var resolution: Int = 1

    @Option(help: "Seeds per d.")
    var runs: Int = 1

    @Option(help: "Projection: dense, sparse or fastfood.")
    var projection: ProjectionKind = .fastfood

    @OptionGroup var training: TrainingOptions

    @Option(help: "Baseline performance: a number (global, e.g. 1.0) or 'local' (train directly once).")
    var baseline: String = "1.0"

    @Option(help: "d_int90 is the first d whose mean performance is above threshold x baseline.")
    var threshold: Double = 0.9

    @Option(help: "Stored precision of theta_d: float32, float16 or int8.")
    var encoding: ThetaEncoding = .float32

    @Option(name: .customLong("out"), help: "Output directory (created; an existing sweep there is resumed).", completion: .directory)
    var directory: String

    @Flag(inversion: .prefixedNo, help: "Stop a run after an epoch once it is clearly above the level or clearly cannot reach it.")
    var earlyStop = true

    @Option(help: "Run only shard i of n (1 <= i <= n) of the runs of --dims; combine the shards with `idzip sweep merge`.")
    var shard: String?

    @Flag(help: "Print the summary as JSON on standard output (progress goes to standard error).")
    var json = false

    func validate() throws {
        guard (dims == nil) != (search == nil) else { throw ValidationError("give either --dims or --search") }
        guard resolution >= 1 else { throw ValidationError("--resolution must be at least 1") }
        let dimensions: [Int]
        if let search {
            guard let range = IntrinsicDimensionSearch.parseRange(search) else {
                throw ValidationError("--search must be a range LOW-HIGH of positive integers, such as 1-1000")
            }
            dimensions = [range.low, range.high]
        } else {
            guard let list = dims.flatMap(SweepPlan.parseDimensions) else {
                throw ValidationError("--dims must be a comma-separated list of positive integers and ranges such as 1-20")
            }
            dimensions = list
        }
        guard dimensions.allSatisfy({ $0 <= Limits.maxSubspaceDimension }) else {
            throw ValidationError("--dims must be at most \(Limits.maxSubspaceDimension)")
        }
        guard runs >= 1, runs <= 1000 else { throw ValidationError("--runs must be in 1...1000") }
        guard SweepBaseline(baseline) != nil else { throw ValidationError("--baseline must be a positive number or 'local'") }
        guard threshold > 0, threshold <= 1 else { throw ValidationError("--threshold must be in (0, 1]") }
        guard projection != .identity else { throw ValidationError("--projection must be dense, sparse or fastfood") }
        if let shard {
            guard SweepShard(shard) != nil else { throw ValidationError("--shard must be i/n with 1 <= i <= n, such as 2/4") }
            guard search == nil else {
                throw ValidationError("--shard needs --dims: a --search picks each d from the results before it, so it cannot be split")
            }
        }
    }

    func run() throws {
        let started = Date()
        let architecture: Architecture
        do { architecture = try Architecture(spec: model) } catch { throw ValidationError(error.description) }
        let parameterCount = try architecture.parameterCount()
        let searchRange = search.flatMap(IntrinsicDimensionSearch.parseRange)
        let listed = searchRange.map { [$0.low, $0.high] } ?? SweepPlan.parseDimensions(dims ?? "")!
        if let largest = listed.last, largest > parameterCount {
            throw ValidationError("d = \(largest) exceeds the number of parameters D = \(parameterCount) of \(model)")
        }
        let isToy = ToyObjective(architecture) != nil
        let seeds = (0..<UInt64(runs)).map { training.seed &+ $0 }
        let baselineKind = SweepBaseline(baseline)!
        let shard = self.shard.flatMap(SweepShard.init)

        let directory = SweepDirectory(self.directory)
        try directory.create()
        try directory.adopt(settings: try settingsText(isToy: isToy))
        if let existing = try directory.shardFile()?.shard, existing != shard {
            throw CommandFailure("\(directory.path) holds shard \(existing.name); "
                + (shard == nil ? "give --shard \(existing.name) or combine shards with `idzip sweep merge`" : "give each shard its own --out"))
        }
        var records = try directory.records()
        let done = Set(records.map(\.key))

        // The plan: the direct baseline run (local baseline), then every d x seed in order.
        var planned: [SweepRunKey] = baselineKind == .local
            ? [SweepRunKey(d: parameterCount, seed: training.seed, projection: SweepRecord.directName)] : []
        if searchRange == nil { planned += SweepPlan(dimensions: listed, seeds: seeds, projection: projection.name).runs }
        if let shard {
            planned = shard.share(of: planned)
            try directory.saveShardFile(.init(
                shard: shard, baseline: baseline, threshold: threshold, runs: runs, assigned: planned.map { "models/\($0.fileStem).idz" }))
        }
        let pending = planned.filter { !done.contains($0) }
        let say = { (line: String) in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        let scope = searchRange.map { "search of d in \(grouped($0.low))...\(grouped($0.high)) (resolution \(resolution))" }
            ?? "\(listed.count) dimensions"
        say("sweep \(model) (D = \(grouped(parameterCount))) " + (isToy ? "with no data" : "on \(dataOptions.summary)") + ": \(projection.name), "
            + "\(scope) x \(runs) runs, baseline \(baselineKind.name)" + (shard.map { ", shard \($0.name)" } ?? "") + "; "
            + "\(planned.count - pending.count) done, \(pending.count) to run")

        let data: DatasetPair? = isToy ? nil : try dataOptions.load()
        var trained = 0
        var level: Double?
        func runAll(_ keys: [SweepRunKey]) throws {
            for key in keys {
                let record = try train(key, architecture: architecture, data: data, models: directory.models, level: level)
                records.removeAll { $0.key == key }
                records.append(record)
                try directory.save(records)
                trained += 1
                let stopped = record.stopped.map { $0 == .passed ? ", stopped: passed" : ", stopped: cannot reach" } ?? ""
                say(String(format: "[%@] %@ performance %.6f (%d %@%@, %.2f s)",
                    searchRange == nil ? "\(trained)/\(pending.count)" : "\(trained)", key.fileStem,
                    record.performance, record.epochs, isToy ? "steps" : "epochs", stopped, record.seconds))
            }
        }
        // The baseline first: a local one sets the level the early stops judge against.
        let baselineRuns = pending.filter { $0.projection == SweepRecord.directName }
        try runAll(baselineRuns)
        let baselineValue: Double? = switch baselineKind {
        case .global(let value): value
        case .local: records.first { $0.isDirect && $0.seed == training.seed }?.performance
        }
        if earlyStop, let baselineValue { level = threshold * baselineValue }
        try runAll(pending.filter { $0.projection != SweepRecord.directName })
        try directory.save(records)

        if let shard {
            let finished = Set(records.map(\.key))
            let missing = planned.filter { !finished.contains($0) }.count
            say("shard \(shard.name): \(planned.count - missing) of \(planned.count) runs finished in \(directory.path); "
                + "combine the shards with `idzip sweep merge --out DIR SHARD_DIR...`")
            if json { try printJSON(["shard": shard.name, "runs": "\(planned.count)", "finished": "\(planned.count - missing)"]) }
            return
        }
        guard let baselineValue else { throw CommandFailure("the baseline run is missing") }

        var dimensions = listed
        if let searchRange {
            // Each step trains all seeds of one d, then picks the next d from the means.
            let searcher = IntrinsicDimensionSearch(low: searchRange.low, high: searchRange.high, resolution: resolution)
            var tried: [Int] = []
            while true {
                let current = Set(SweepPlan(dimensions: tried, seeds: seeds, projection: projection.name).runs)
                let means = IntrinsicDimensionEstimate(
                    records: records.filter { current.contains($0.key) }, baseline: baselineValue, threshold: threshold
                ).means
                guard let next = searcher.next(
                    means: Dictionary(uniqueKeysWithValues: means.map { ($0.d, $0.mean) }), level: threshold * baselineValue)
                else { break }
                guard !tried.contains(next) else { break }
                tried.append(next)
                let keys = SweepPlan(dimensions: [next], seeds: seeds, projection: projection.name).runs
                try runAll(keys.filter { key in !records.contains { $0.key == key } })
            }
            dimensions = tried
        }
        var inPlan = Set(SweepPlan(dimensions: dimensions, seeds: seeds, projection: projection.name).runs)
        if baselineKind == .local { inPlan.insert(SweepRunKey(d: parameterCount, seed: training.seed, projection: SweepRecord.directName)) }
        let used = records.filter { inPlan.contains($0.key) }
        let summary = SweepSummary(
            description: SweepDescription(
                model: model, data: isToy ? nil : dataOptions.summary, parameters: parameterCount, projection: projection.name),
            baselineKind: baselineKind, baseline: baselineValue, threshold: threshold, runs: runs, records: used,
            wallSeconds: Date().timeIntervalSince(started))
        try directory.publish(
            summary, records: used, json: json,
            closing: "wrote \(directory.file("summary.json").path), results.csv, results.json, plot.svg, index.html and \(records.count) models")
    }

    /// Trains one run and writes its model; with a `level`, a subspace run may stop early.
    func train(_ key: SweepRunKey, architecture: Architecture, data: DatasetPair?, models: URL, level: Double?) throws -> SweepRecord {
        let direct = key.projection == SweepRecord.directName
        let output = models.appendingPathComponent(key.fileStem + ".idz").path
        let relative = "models/" + key.fileStem + ".idz"
        let projectionSeed = Train.derivedProjectionSeed(key.seed)
        var options = training
        options.seed = key.seed
        if direct {
            // The baseline trains all parameters with the direct defaults; the optimiser
            // options given are for the subspace runs.
            options.optimizer = nil
            options.learningRate = nil
            options.beta1 = nil
            options.beta2 = nil
            options.momentum = nil
            options.lrDecayEvery = nil
            options.lrDecay = nil
        }
        let started = Date()
        guard let data else {
            let configuration = try options.configuration(base: ToyTrainer.recommended())
            let (trainer, result) = try ToyModelWriter.trainAndWrite(
                architecture: architecture, seed: key.seed, dimension: direct ? nil : key.d, projection: projection,
                projectionSeed: projectionSeed, configuration: configuration, encoding: encoding, output: output)
            return SweepRecord(
                d: key.d, seed: key.seed, projection: key.projection, performance: result.performance,
                epochs: trainer.stepsCompleted, seconds: Date().timeIntervalSince(started), model: relative)
        }
        var configuration = try options.configuration(base: direct ? .recommended() : .recommendedSubspace())
        // Performance is judged on the test set, or on the training set with shuffled labels
        // (as trained in the epoch: the running accuracy, no extra pass).
        let stopping = direct ? nil : level.map { EarlyStopping(level: $0) }
        configuration.evaluateEveryEpoch = stopping != nil && !dataOptions.shuffleLabels
        let parameterCount = try architecture.parameterCount()
        let space: ParameterSpace = direct ? .direct : .subspace(trainingProjection(
            kind: projection, rowCount: parameterCount, columnCount: key.d, seed: projectionSeed, threads: configuration.threads))
        let trainer: Trainer
        var history: [Double] = []
        var stopped: EarlyStopping.Outcome?
        do {
            trainer = try Trainer(architecture: architecture, theta0Seed: key.seed, space: space, configuration: configuration)
            let shuffleLabels = dataOptions.shuffleLabels
            try trainer.train(on: data, onEpoch: { report in
                guard let stopping else { return .proceed }
                history.append(shuffleLabels ? report.trainAccuracy : report.test?.accuracy ?? 0)
                stopped = stopping.outcome(history: history, totalEpochs: configuration.epochs)
                return stopped == nil ? .proceed : .stop
            })
        } catch {
            throw CommandFailure(error.description)
        }
        let result = try TrainedModelWriter(
            architecture: architecture, theta0Seed: key.seed, data: data, dataSummary: dataOptions.summary,
            configuration: configuration, epochsCompleted: trainer.epochsCompleted
        ).write(
            trained: trainer.parameters, theta: direct ? trainer.theta() : nil, theta0: trainer.theta0,
            projection: direct ? nil : ProjectionSpec(kind: projection, seed: projectionSeed, dimension: key.d),
            encoding: encoding, to: output)
        let performance = dataOptions.shuffleLabels ? result.train.accuracy : result.test.accuracy
        return SweepRecord(
            d: key.d, seed: key.seed, projection: key.projection, performance: performance,
            epochs: trainer.epochsCompleted, seconds: Date().timeIntervalSince(started), model: relative, stopped: stopped)
    }

    /// The settings every run of the sweep shares (not d, seeds, baseline or threshold, which
    /// may change between invocations to extend a sweep). Kept in DIR/settings.txt; resuming
    /// with different settings is refused, since the finished runs would not match.
    func settingsText(isToy: Bool) throws -> String {
        var configuration = try training.configuration(base: isToy ? ToyTrainer.recommended() : .recommendedSubspace())
        configuration.seed = 0
        configuration.threads = 1
        return "model \(model)\ndata \(isToy ? "none" : dataOptions.summary)\nprojection \(projection.name)\n"
            + "training \(configuration.summary) epochs=\(configuration.epochs)\nencoding \(encoding.name)\n"
            + "early-stop \(earlyStop && !isToy ? "on" : "off")\n"
    }
}
