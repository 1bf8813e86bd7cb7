import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the intrinsic dimension: train in subspaces of several d and find d_int90.",
        discussion: """
            Trains every d of --dims with --runs seeds (seed, seed+1, ...), each in its own random \
            subspace, and reports d_int90: the first d whose seed-mean performance is strictly above \
            threshold x baseline (the authors' rule), and d_int100, the first d whose mean reaches \
            the baseline (within 0.1%). Performance is test accuracy (training accuracy with --shuffle-labels; \
            exp(-loss) for the toy model). --out DIR receives results.csv, results.json, \
            summary.json, plot.svg and every run's model in models/. Running the same sweep again resumes: \
            finished runs are kept.
            """
    )

    @Option(help: "Architecture: fc:784-200-200-10, fc5, lenet, lenet:3x32x32 or toy.")
    var model: String = "fc:784-200-200-10"

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Subspace dimensions: a list and/or ranges, e.g. 100,200,400 or 1-20.")
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
    }

    func run() throws {
        let started = Date()
        let architecture: Architecture
        do { architecture = try Architecture(spec: model) } catch { throw ValidationError(error.description) }
        let parameterCount = try architecture.parameterCount()
        let searchRange = search.flatMap(IntrinsicDimensionSearch.parseRange)
        var dimensions = searchRange.map { [$0.low, $0.high] } ?? SweepPlan.parseDimensions(dims ?? "")!
        if let largest = dimensions.last, largest > parameterCount {
            throw ValidationError("d = \(largest) exceeds the number of parameters D = \(parameterCount) of \(model)")
        }
        let isToy = ToyObjective(architecture) != nil
        let seeds = (0..<UInt64(runs)).map { training.seed &+ $0 }
        var plan = SweepPlan(dimensions: searchRange == nil ? dimensions : [], seeds: seeds, projection: projection.name)
        let baselineKind = SweepBaseline(baseline)!

        let root = URL(fileURLWithPath: directory)
        let models = root.appendingPathComponent("models")
        do {
            try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("cannot create \(models.path): \(error.localizedDescription)")
        }
        try checkSettings(in: root, isToy: isToy)
        let resultsURL = root.appendingPathComponent("results.json")
        var records: [SweepRecord]
        do {
            records = try SweepResultsFile.read(resultsURL)
        } catch {
            throw CommandFailure("\(resultsURL.path): not a sweep's results (\(error.localizedDescription))")
        }
        // A run counts as done only with its model file.
        records.removeAll { !FileManager.default.fileExists(atPath: root.appendingPathComponent($0.model).path) }
        let done = Set(records.map(\.key))

        var pending: [SweepRunKey] = []
        if baselineKind == .local {
            pending.append(SweepRunKey(d: parameterCount, seed: training.seed, projection: SweepRecord.directName))
        }
        pending += plan.runs
        pending.removeAll { done.contains($0) }
        let say = { (line: String) in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        let scope = searchRange.map { "search of d in \(grouped($0.low))...\(grouped($0.high)) (resolution \(resolution))" }
            ?? "\(dimensions.count) dimensions"
        say("sweep \(model) (D = \(grouped(parameterCount))) " + (isToy ? "with no data" : "on \(dataOptions.summary)") + ": \(projection.name), "
            + "\(scope) x \(runs) runs, baseline \(baselineKind.name); "
            + "\(plan.runs.count + (baselineKind == .local ? 1 : 0) - pending.count) done, \(pending.count) to run")

        let data: DatasetPair? = isToy ? nil : try dataOptions.load()
        var trained = 0
        func runAll(_ keys: [SweepRunKey]) throws {
            for key in keys {
                let record = try train(key, architecture: architecture, data: data, models: models)
                records.removeAll { $0.key == key }
                records.append(record)
                try save(records, in: root)
                trained += 1
                say(String(format: "[%@] %@ performance %.6f (%d %@, %.2f s)",
                    searchRange == nil ? "\(trained)/\(pending.count)" : "\(trained)", key.fileStem,
                    record.performance, record.epochs, isToy ? "steps" : "epochs", record.seconds))
            }
        }
        try runAll(pending)
        try save(records, in: root)

        let baselineValue: Double = switch baselineKind {
        case .global(let value): value
        case .local: records.first { $0.isDirect && $0.seed == training.seed }?.performance ?? 1
        }
        if let searchRange {
            // Each step trains all seeds of one d, then picks the next d from the means.
            let searcher = IntrinsicDimensionSearch(low: searchRange.low, high: searchRange.high, resolution: resolution)
            var tried: [Int] = []
            while true {
                let current = SweepPlan(dimensions: tried, seeds: seeds, projection: projection.name)
                let means = IntrinsicDimensionEstimate(
                    records: records.filter { Set(current.runs).contains($0.key) }, baseline: baselineValue, threshold: threshold
                ).means
                guard let next = searcher.next(
                    means: Dictionary(uniqueKeysWithValues: means.map { ($0.d, $0.mean) }), level: threshold * baselineValue)
                else { break }
                guard !tried.contains(next) else { break }
                tried.append(next)
                let keys = SweepPlan(dimensions: [next], seeds: seeds, projection: projection.name).runs
                try runAll(keys.filter { key in !records.contains { $0.key == key } })
            }
            dimensions = tried.sorted()
            plan = SweepPlan(dimensions: dimensions, seeds: seeds, projection: projection.name)
        }
        let inPlan = Set(plan.runs)
        let estimate = IntrinsicDimensionEstimate(
            records: records.filter { inPlan.contains($0.key) }, baseline: baselineValue, threshold: threshold)
        let bootstrap = runs >= 2 ? IntrinsicDimensionBootstrap(
            records: records.filter { inPlan.contains($0.key) }, baseline: baselineValue, threshold: threshold) : nil
        let summary = SweepSummary(
            model: model, data: isToy ? nil : dataOptions.summary, parameters: parameterCount, projection: projection.name,
            baseline_kind: baselineKind == .local ? "local" : "global", baseline: baselineValue, threshold: threshold,
            d_int90: estimate.dInt90, d_int100: estimate.dInt100, runs: runs, dims: dimensions,
            means: estimate.means.map { SweepSummary.Mean(d: $0.d, mean_performance: $0.mean, runs: $0.runs) },
            d_int90_bootstrap: bootstrap.map(SweepSummary.Bootstrap.init),
            wall_seconds: Date().timeIntervalSince(started))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try writeAtomically(encoder.encode(summary), to: root.appendingPathComponent("summary.json"))
        let title = "\(model) (D = \(grouped(parameterCount))), \(projection.name): d_int90 = " + (estimate.dInt90.map(String.init) ?? "not reached")
        try writeAtomically(
            Data(SweepPlot.svg(records: records.filter { inPlan.contains($0.key) }, estimate: estimate, title: title).utf8),
            to: root.appendingPathComponent("plot.svg"))
        if json {
            try printJSON(summary)
        } else {
            for mean in estimate.means {
                print(String(format: "d %8d  mean performance %.6f  (%d runs)", mean.d, mean.mean, mean.runs))
            }
            let level = threshold * baselineValue
            print("d_int90 = " + (estimate.dInt90.map { grouped($0) } ?? "not reached")
                + String(format: " (first mean above %.4g = %.4g x baseline %.4g)", level, threshold, baselineValue)
                + "; d_int100 = " + (estimate.dInt100.map { grouped($0) } ?? "not reached"))
            if let bootstrap, let mean = bootstrap.mean, let deviation = bootstrap.standardDeviation,
               let lower = bootstrap.lower, let upper = bootstrap.upper {
                print(String(format: "bootstrap over seeds (%d replicates): d_int90 %.1f +- %.1f, 95%% interval %d...%d, reached in %.1f%%",
                    bootstrap.replicates, mean, deviation, lower, upper, bootstrap.reachedFraction * 100))
            }
            print("wrote \(root.appendingPathComponent("summary.json").path), results.csv, results.json, plot.svg and \(records.count) models")
        }
    }

    /// Trains one run and writes its model.
    func train(_ key: SweepRunKey, architecture: Architecture, data: DatasetPair?, models: URL) throws -> SweepRecord {
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
        configuration.evaluateEveryEpoch = false  // the writer evaluates the stored weights
        let parameterCount = try architecture.parameterCount()
        let space: ParameterSpace = direct ? .direct : .subspace(makeProjection(
            kind: projection, rowCount: parameterCount, columnCount: key.d, seed: projectionSeed, threads: configuration.threads))
        let trainer: Trainer
        do {
            trainer = try Trainer(architecture: architecture, theta0Seed: key.seed, space: space, configuration: configuration)
            try trainer.train(on: data)
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
            epochs: trainer.epochsCompleted, seconds: Date().timeIntervalSince(started), model: relative)
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
    }

    func checkSettings(in root: URL, isToy: Bool) throws {
        let url = root.appendingPathComponent("settings.txt")
        let settings = try settingsText(isToy: isToy)
        if let existing = try? String(contentsOf: url, encoding: .utf8) {
            guard existing == settings else {
                let old = existing.split(separator: "\n").joined(separator: "; ")
                throw CommandFailure("\(root.path) holds a sweep with other settings (\(old)); use another --out or the same settings")
            }
        } else {
            try writeAtomically(Data(settings.utf8), to: url)
        }
    }

    func save(_ records: [SweepRecord], in root: URL) throws {
        let sorted = SweepResultsFile.sorted(records)
        try writeAtomically(SweepResultsFile.json(sorted), to: root.appendingPathComponent("results.json"))
        try writeAtomically(Data(SweepResultsFile.csv(sorted).utf8), to: root.appendingPathComponent("results.csv"))
    }

    func writeAtomically(_ data: Data, to url: URL) throws {
        do {
            let writer = try AtomicFileWriter(destination: url)
            try writer.write([UInt8](data))
            try writer.commit()
        } catch {
            throw CommandFailure("cannot write \(url.path): \(error)")
        }
    }
}

struct SweepSummary: Encodable {
    struct Mean: Encodable {
        var d: Int
        var mean_performance: Double
        var runs: Int
    }

    var model: String
    var data: String?
    var parameters: Int
    var projection: String
    var baseline_kind: String
    var baseline: Double
    var threshold: Double
    var d_int90: Int?
    var d_int100: Int?
    var runs: Int
    var dims: [Int]
    var means: [Mean]
    var d_int90_bootstrap: Bootstrap?
    var wall_seconds: Double

    struct Bootstrap: Encodable {
        var replicates: Int
        var reached_fraction: Double
        var mean: Double?
        var standard_deviation: Double?
        var lower_2_5: Int?
        var upper_97_5: Int?

        init(_ estimate: IntrinsicDimensionBootstrap) {
            replicates = estimate.replicates
            reached_fraction = estimate.reachedFraction
            mean = estimate.mean
            standard_deviation = estimate.standardDeviation
            lower_2_5 = estimate.lower
            upper_97_5 = estimate.upper
        }
    }

    enum CodingKeys: String, CodingKey {
        case model, data, parameters, projection, baseline_kind, baseline, threshold, d_int90, d_int100, runs, dims, means
        case d_int90_bootstrap, wall_seconds
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encodeIfPresent(data, forKey: .data)
        try container.encode(parameters, forKey: .parameters)
        try container.encode(projection, forKey: .projection)
        try container.encode(baseline_kind, forKey: .baseline_kind)
        try container.encode(baseline, forKey: .baseline)
        try container.encode(threshold, forKey: .threshold)
        // null when not reached, so readers always find the keys.
        try container.encode(d_int90, forKey: .d_int90)
        try container.encode(d_int100, forKey: .d_int100)
        try container.encode(runs, forKey: .runs)
        try container.encode(dims, forKey: .dims)
        try container.encode(means, forKey: .means)
        try container.encodeIfPresent(d_int90_bootstrap, forKey: .d_int90_bootstrap)
        try container.encode(wall_seconds, forKey: .wall_seconds)
    }
}
