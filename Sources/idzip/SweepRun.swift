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
            of the plan into its own directory; `idzip sweep merge` combines the shards. With neither \
            --dims nor --search, the sweep searches 1 to D/10 (every network of the paper has d_int90 \
            well below D/10). A plan holds at most 100,000 runs (d values x --runs). One sweep at a time \
            writes to a directory: a second one on the same --out is refused while the first runs. \
            With --env, every run learns a policy in that environment (--algorithm, --steps) and its \
            performance is the best evaluation's mean return, shifted so that the lowest possible return \
            is 0 (the paper's rule for RL); the baseline is then the directly trained policy (local) \
            unless --baseline gives a number, and a run stops once it is above the level.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var dataOptions: DataOptions

    @OptionGroup(title: "Input preprocessing") var preprocessingOptions: PreprocessingOptions

    @OptionGroup(title: "Reinforcement learning") var reinforcement: ReinforcementOptions

    @Option(help: "Subspace dimensions: a list and/or ranges, e.g. 100,200,400, 1-20 or 100-1500:100 (step 100).", transform: DimensionList.parse)
    var dims: DimensionList?

    @Option(help: "Instead of --dims, search LOW-HIGH: double d from LOW until it passes, then bisect (default with neither: 1 to D/10).", transform: DimensionRange.parse)
    var search: DimensionRange?

    @Option(help: "With --search: stop bisecting when the interval is this narrow.")
    var resolution: Int = 1

    @Option(help: "Seeds per d.")
    var runs: Int = 1

    @OptionGroup var training: TrainingOptions

    @OptionGroup(title: "Fine-tuning") var fineTuning: FineTuningOptions

    @Option(name: .customLong("baseline"), help: "Baseline performance: a positive number (global) or 'local' (train directly once) (default: 1.0; with --env, local).", transform: SweepArgument.baseline)
    var baselineChoice: SweepBaseline?

    /// --baseline, else 1.0 (accuracy), else, with --env, the directly trained policy.
    var baseline: SweepBaseline { baselineChoice ?? (reinforcement.env == nil ? .global(1.0) : .local) }

    @Option(help: "d_int90 is the first d whose mean performance is above threshold x baseline.")
    var threshold: Double = 0.9

    @Option(name: .customLong("out"), help: "Output directory (created; an existing sweep there is resumed).", completion: .directory)
    var directory: String

    @Flag(inversion: .prefixedNo, help: "Stop a run after an epoch once it is clearly above the level or clearly cannot reach it.")
    var earlyStop = true

    @Option(help: "Run only shard i of n (1 <= i <= n) of the runs of --dims; combine the shards with `idzip sweep merge`.", transform: SweepArgument.shard)
    var shard: SweepShard?

    @Flag(help: "Print the summary as JSON on standard output (progress goes to standard error).")
    var json = false

    func validate() throws {
        try reinforcement.check(data: dataOptions, preprocessing: preprocessingOptions, epochs: training.epochs)
        let model = try reinforcement.model(modelOptions)
        if modelOptions.encoding.encoding == .codebook, modelOptions.encoding.levels != StoredTheta.defaultCodebookLevels {
            throw ValidationError("a sweep stores a codebook with \(StoredTheta.defaultCodebookLevels) levels; use --encoding codebook")
        }
        guard dims == nil || search == nil else { throw ValidationError("give either --dims or --search, not both") }
        guard resolution >= 1 else { throw ValidationError("--resolution must be at least 1") }
        guard dimensions.largest <= Limits.maxSubspaceDimension else {
            throw ValidationError("--dims must be at most \(Limits.maxSubspaceDimension)")
        }
        guard runs >= 1, runs <= 1000 else { throw ValidationError("--runs must be between 1 and 1000") }
        if let dims, dims.dimensions.count * runs > SweepPlan.maxRuns {
            throw ValidationError("--dims with --runs \(runs) plans \(dims.dimensions.count) x \(runs) = \(dims.dimensions.count * runs) runs; a sweep plans at most \(SweepPlan.maxRuns)")
        }
        guard threshold > 0, threshold <= 1 else { throw ValidationError("--threshold must be above 0 and at most 1") }
        if shard != nil, dims == nil {
            throw ValidationError("--shard needs --dims: a --search picks each d from the results before it, so it cannot be split")
        }
        guard modelOptions.projection != .identity else { throw ValidationError("--projection must be dense, sparse or fastfood") }
        try fineTuning.validate(dimension: 1, environment: reinforcement.env != nil)
        if fineTuning.base == nil || modelOptions.model != nil { try model.check(dimension: dimensions.largest) }
        _ = try training.configuration(
            base: reinforcement.env == nil
                ? TrainingRunSpec.recommendedConfiguration(for: model.architecture, subspace: true)
                : ReinforcementTask.recommendedConfiguration(subspace: true, algorithm: reinforcement.algorithm))
    }

    var dimensions: SweepDimensions {
        if let search { return .search(low: search.low, high: search.high, resolution: resolution) }
        if let dims { return .list(dims.dimensions) }
        return .search(low: 1, high: defaultSearchHigh, resolution: resolution)
    }

    /// The top of the default search: D/10 (at least 1, at most the format's largest d).
    var defaultSearchHigh: Int {
        min(Limits.maxSubspaceDimension, max(1, ((try? reinforcement.model(modelOptions)) ?? .fullyConnected).parameterCount / 10))
    }

    func run() throws {
        let (model, base, baseLocator) = try fineTuning.resolve(model: modelOptions.model, fallback: try reinforcement.model(modelOptions))
        let environment = try reinforcement.env.map {
            try reinforcement.task(environment: $0, batchSize: try training.configuration(base: ReinforcementTask.recommendedConfiguration(subspace: true, algorithm: reinforcement.algorithm)).batchSize)
        }
        let noData = model.isToy || environment != nil
        try OutputCheck.directory(directory, role: "--out", inputs: noData ? [] : DatasetCatalog.inputFiles(of: dataOptions.selection.name))
        var selection = dataOptions.selection
        selection.preprocessing = preprocessingOptions.choice
        var settings = SweepSettings(
            model: model.name, architecture: model.architecture, data: noData ? nil : selection,
            projection: modelOptions.projection, overrides: training.overrides, encoding: modelOptions.encoding.encoding, earlyStop: earlyStop,
            environment: environment)
        settings.base = base
        settings.baseLocator = baseLocator
        settings.tensorStructure = try fineTuning.structure()
        try fineTuning.checkRules(model.architecture)
        let runner = SweepRunner(
            settings: settings, dimensions: dimensions, runs: runs, baseline: baseline, threshold: threshold, shard: shard,
            directory: SweepDirectory(directory))
        runner.say = { StandardOutput.line($0, toError: true) }
        if dims == nil, search == nil {
            runner.say("no --dims or --search given: searching d in 1-\(defaultSearchHigh) (D/10)")
        }
        let outcome = try failing { try runner.run() }
        switch outcome {
        case .shard(let shard, let planned, let finished):
            runner.say("shard \(shard.name): \(finished) of \(counted(planned, "run")) finished in \(runner.directory.path); "
                + "combine the shards with `idzip sweep merge --out DIR SHARD_DIR...`")
            if json { try printJSON(["shard": shard.name, "runs": "\(planned)", "finished": "\(finished)"]) }
        case .complete(let summary, _, let modelCount):
            try SweepReport.print(summary, json: json, closing: "wrote \(runner.directory.path)/summary.json, "
                + "results.csv, results.json, plot.svg, index.html and \(counted(modelCount, "model"))")
        }
    }
}

/// How `idzip sweep` and `idzip sweep merge` print a finished sweep.
enum SweepReport {
    static func print(_ summary: SweepSummary, json: Bool, closing: String) throws {
        if json { return try printJSON(summary) }
        summary.text.forEach(printLine)
        printLine(closing)
    }
}
