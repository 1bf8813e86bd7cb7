import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

/// `idzip compress`: the smallest model file that reaches a target accuracy.
struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the smallest model file that reaches a target accuracy.",
        discussion: """
            For each codebook size of --levels, trains theta_d with a codebook learned with the model \
            (--quantizer) and searches d (doubling from the low end of --search, then bisection down to \
            --resolution) for the smallest subspace whose model reaches the target, writing every candidate \
            in every container profile. Every decision (pass or fail, early stopping) is taken on a \
            validation split held out from the training set (--validation-fraction, 0.1 unless given); the \
            test accuracy is reported beside it. Prints the Pareto front (whole-file bytes against test \
            accuracy) and writes the smallest passing model to -o. --out DIR receives results.json, \
            summary.json, plot.svg and every candidate in models/; running the same search again resumes.
            """
    )

    @Option(help: ArgumentHelp(ModelArgument.helpWithDefault), transform: ModelArgument.parse)
    var model: ModelArgument = .fullyConnected

    @Option(help: "Projection: dense, sparse or fastfood (default: fastfood).", transform: FormatArgument.projection)
    var projection: ProjectionKind = .fastfood

    @OptionGroup var dataOptions: DataOptions

    @OptionGroup(title: "Input preprocessing") var preprocessingOptions: PreprocessingOptions

    @Option(help: "Target: the validation accuracy the model must reach (0 < a <= 1).")
    var targetAccuracy: Double?

    @Option(help: "Target: this fraction of the validation accuracy of the network trained directly (a baseline run).")
    var targetFraction: Double?

    @Option(help: "Codebook sizes to try, comma-separated (each 2-256) (default: 8,16,32).", transform: Compress.levelList)
    var levels: [Int] = [8, 16, 32]

    @Option(help: "Search d in LOW-HIGH (default: 16 to D/10).", transform: DimensionRange.parse)
    var search: DimensionRange?

    @Option(help: "Stop bisecting d when the interval is this narrow.")
    var resolution: Int = 8

    @OptionGroup(title: "Codebook") var quantizerOptions: QuantizerOptions

    @OptionGroup var training: TrainingOptions

    @Flag(inversion: .prefixedNo, help: "Stop a run after an epoch once it is clearly above the level or clearly cannot reach it.")
    var earlyStop = true

    @Option(name: .customLong("out"), help: "Output directory (created; an existing search there is resumed).", completion: .directory)
    var directory: String

    @Option(name: .shortAndLong, help: "Where to write the smallest passing model (.idz).", completion: .file())
    var output: String

    @Flag(help: "Print the summary as JSON on standard output (progress goes to standard error).")
    var json = false

    static func levelList(_ text: String) throws -> [Int] {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.count <= 16, values.allSatisfy({ $0.map((2...256).contains) == true }) else {
            throw ValidationError("--levels must be a comma-separated list of up to 16 codebook sizes, each 2-256, such as 8,16,32")
        }
        return values.compactMap { $0 }
    }

    func validate() throws {
        switch (targetAccuracy, targetFraction) {
        case (nil, nil): throw ValidationError("give a target: --target-accuracy A or --target-fraction F")
        case (.some, .some): throw ValidationError("give either --target-accuracy or --target-fraction, not both")
        case (let accuracy?, nil):
            guard accuracy > 0, accuracy <= 1 else { throw ValidationError("--target-accuracy must be above 0 and at most 1") }
        case (nil, let fraction?):
            guard fraction > 0, fraction <= 1 else { throw ValidationError("--target-fraction must be above 0 and at most 1") }
        }
        guard !model.isToy else { throw ValidationError("compress needs a data set; the toy model has no accuracy") }
        guard projection != .identity else { throw ValidationError("--projection must be dense, sparse or fastfood") }
        guard resolution >= 1 else { throw ValidationError("--resolution must be at least 1") }
        guard dataOptions.shuffleLabels == false else { throw ValidationError("--shuffle-labels: compress measures test accuracy; leave it out") }
        guard URL(fileURLWithPath: output).pathExtension.lowercased() == "idz" else {
            throw ValidationError("compress writes a .idz file; name the output model.idz")
        }
        // The directory keeps every candidate and the resume state: the chosen copy goes elsewhere.
        let outside = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath().path
        let inside = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
        guard !outside.hasPrefix(inside.hasSuffix("/") ? inside : inside + "/") else {
            throw ValidationError("-o \(output) is inside --out \(directory), which holds the candidate models; write it elsewhere")
        }
        guard range.high <= Limits.maxSubspaceDimension else { throw ValidationError("--search must end at most at \(Limits.maxSubspaceDimension)") }
        try model.check(dimension: range.high)
        _ = try training.configuration(base: .recommendedSubspace())
    }

    var range: DimensionRange {
        search ?? DimensionRange(low: min(16, max(1, model.parameterCount / 10)), high: min(Limits.maxSubspaceDimension, max(1, model.parameterCount / 10)))
    }

    var target: CompressionTarget {
        if let targetAccuracy { return .accuracy(targetAccuracy) }
        return .fraction(targetFraction ?? 1)
    }

    func run() throws {
        let inputs = DatasetCatalog.inputFiles(of: dataOptions.selection.name)
        try OutputCheck.directory(directory, role: "--out", inputs: inputs)
        _ = try OutputCheck.file(output, role: "-o", inputs: inputs, streams: false)
        var selection = dataOptions.selection
        selection.preprocessing = preprocessingOptions.choice
        if selection.variant.validationFraction == 0 {
            selection.variant.validationFraction = 0.1
            StandardOutput.line("deciding on 0.1 of the training set held out for validation (--validation-fraction)", toError: true)
        }
        let settings = CompressionSettings(
            model: model.name, architecture: model.architecture, data: selection, projection: projection, overrides: training.overrides,
            method: quantizerOptions.quantizer, warmupEpochs: quantizerOptions.warmupEpochs, earlyStop: earlyStop)
        let search = CompressionSearch(
            settings: settings, levels: levels,
            search: IntrinsicDimensionSearch(low: range.low, high: range.high, resolution: resolution), target: target,
            directory: SweepDirectory(directory))
        search.say = { StandardOutput.line($0, toError: true) }
        let outcome = try failing { try search.run() }
        let summary = outcome.summary
        if let chosen = summary.smallest_passing {
            try failing("-o") {
                let bytes = try [UInt8](Data(contentsOf: search.directory.file(chosen.model)))
                let writer = try AtomicFileWriter(destination: URL(fileURLWithPath: output))
                try writer.write(bytes)
                try writer.commit()
            }
        }
        if json { return try printJSON(summary) }
        printLine(String(format: "Pareto front of %@ (whole-file bytes vs test accuracy); level %.4f on the validation split:",
            summary.model, summary.level))
        printLine("   bytes       d    K  profile    validation    test")
        for point in summary.pareto_front {
            let mark = point == summary.smallest_passing ? "  <- smallest passing" : ""
            printLine(pad(grouped(point.bytes), 8) + "  " + pad(grouped(point.d), 6) + "  " + pad("\(point.levels)", 3) + "  "
                + point.profile.padding(toLength: 9, withPad: " ", startingAt: 0)
                + String(format: "  %9.2f%%  %6.2f%%", point.validation_accuracy * 100, point.test_accuracy * 100) + mark)
        }
        let runs = String(format: "%@, %@, %.1f s of training, %.1f s wall", counted(summary.training_runs, "run"),
            counted(summary.epochs_trained, "epoch"), summary.run_seconds, summary.wall_seconds)
        if let chosen = summary.smallest_passing {
            printLine(String(format: "wrote %@: %@ bytes (d = %@, K = %d, %@ container), validation %.2f%%, test %.2f%%; %@",
                output, grouped(chosen.bytes), grouped(chosen.d), chosen.levels, chosen.profile,
                chosen.validation_accuracy * 100, chosen.test_accuracy * 100, runs))
        } else {
            printLine("no candidate reached the level; no model written; \(runs)")
        }
        printLine("wrote \(directory)/summary.json, results.json, plot.svg")
        if summary.smallest_passing == nil { throw ExitCode(1) }
    }

    /// `text` right-aligned in `width` characters.
    private func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
