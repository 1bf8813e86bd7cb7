import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model (.idz, safetensors or .npy weights) on a data set: accuracy, loss, per-class accuracy.",
        discussion: """
            A .idz model is expanded and checked against its SHA-256 first. Safetensors and .npy weights \
            take their architecture and preprocessing from the file's idzip metadata or the .npy.json sidecar \
            that `idzip expand` writes (--model names the architecture of other files). Without --data, the \
            data set the model records is used, and standard error says so; a data set whose SHA-256 differs \
            from the recorded one is reported. With --env (or for a policy whose file records its \
            environment, without --data), the model is a policy: it plays --episodes greedy episodes, \
            seeded from --seed, and the mean, standard deviation, minimum and maximum of the returns are reported.
            """
    )

    @Argument(help: "A .idz model, or full weights as safetensors or .npy.", completion: .file(extensions: ["idz", "safetensors", "npy"]))
    var modelFile: String

    @Option(help: "Architecture of safetensors or .npy weights (default: the one their metadata or sidecar names).", transform: ModelArgument.parse)
    var model: ModelArgument?

    @OptionGroup var dataOptions: DataOptions

    @OptionGroup var baseOption: BaseOption

    @Option(help: "Which part of the data set: test, train or validation (held out with --validation-fraction).")
    var split: Split = .test

    @Flag(help: "Also print the confusion matrix (rows: true class, columns: predicted).")
    var confusion = false

    @Option(help: "Write the predicted class of every example to this file (- for standard output), one number per line.", completion: .file())
    var predictions: String?

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print JSON for pipelines.")
    var json = false

    @Option(help: "Evaluate a policy in this environment instead of on a data set: \(EnvironmentKind.allCases.map(\.rawValue).joined(separator: ", ")) (default for a policy: the environment its file records).", transform: ReinforcementArgument.environment)
    var env: EnvironmentKind?

    @Option(help: "With --env: greedy episodes to play (default: 100).")
    var episodes: Int?

    @Option(help: "With --env: seed of the episodes; episode k resets from the 64-bit value k of the Philox stream (seed, purpose 25, sub-stream 1) (default: 0).")
    var seed: UInt64?

    @Option(help: "With --env: write every episode's seed, initial state and steps (action, reward, flags, float64 state, observation) as JSON to this file.", completion: .file())
    var trace: String?

    enum Split: String, ExpressibleByArgument, CaseIterable { case test, train, validation }

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if predictions == "-", json { throw ValidationError("--predictions - sends the predictions to standard output; leave out --json") }
        if let episodes, episodes < 1 || episodes > 1_000_000 { throw ValidationError("--episodes must be between 1 and 1,000,000") }
        if env != nil {
            if dataOptions.data != nil { throw ValidationError("--env and --data exclude each other: a policy is evaluated in its environment") }
            if split != .test || confusion || predictions != nil {
                throw ValidationError("--split, --confusion and --predictions are for data sets; with --env the report is the returns")
            }
        }
        if trace == "-", json { throw ValidationError("--trace - sends the trace to standard output; leave out --json") }
    }

    /// The environment of a policy evaluation: --env, else the one the .idz records when no
    /// --data is given; nil for a data-set evaluation.
    func environment(recorded: String?) throws -> EnvironmentKind? {
        if let env { return env }
        guard dataOptions.data == nil, let recorded else {
            if episodes != nil || seed != nil || trace != nil { throw ValidationError("--episodes, --seed and --trace need --env (or a policy's file)") }
            return nil
        }
        let kind = try ReinforcementArgument.environment(recorded)
        FileHandle.standardError.write(Data("evaluating in \(kind.rawValue), the environment \(modelFile) records (--env chooses another)\n".utf8))
        return kind
    }

    func run() throws {
        let predictionsTarget = try predictions.map {
            try OutputCheck.file(
                $0, role: "--predictions", inputs: [modelFile] + [baseOption.base].compactMap { $0 } + DatasetCatalog.inputFiles(of: dataOptions.selection.name), standardOutput: true)
        }
        let weights = try loadWeights()
        if let environment = try environment(recorded: weights.environment) {
            return try evaluatePolicy(weights, environment: environment)
        }
        let selection = dataSelection(recorded: weights.dataset)
        // Every further allocation of the evaluation, checked before the data is read: the
        // data as its file headers declare it, the examples of the split from them.
        let footprint = try failing { try selection.footprint() }
        let examples = footprint.examples(of: split.rawValue)
        let threadCount = threads ?? ParallelLoop.defaultThreads
        let batchSize = min(Self.batchSize, max(1, examples))
        var budget = Predictor.memoryBudget(architecture: weights.architecture, examples: examples, batchSize: batchSize, threads: threadCount)
        // --predictions classifies the whole split at once.
        if predictionsTarget != nil { budget.add(Predictor.inputsAndOutputs(architecture: weights.architecture, examples: examples)) }
        let later = budget.totalBytes  // allocated once the data is read
        budget.add(MemoryBudget.weights(of: weights.architecture))
        budget.add("data set", bytes: footprint.heldBytes)
        budget.add("data files while they are read", bytes: footprint.bytes - footprint.heldBytes, freedBefore: later)
        budget.addProcessBaseline()
        try failing { try budget.check("evaluating \(modelFile)", hint: Self.memoryHint) }
        let data = try loadData(selection, digest: weights.datasetDigest, recorded: weights.dataset)
        let dataset: Dataset
        switch split {
        case .test: dataset = data.pair.test
        case .train: dataset = data.pair.train
        case .validation:
            guard let held = data.pair.validation else {
                throw ValidationError("--split validation needs a validation set: --validation-fraction, or a model trained with one")
            }
            dataset = held
        }
        // Weights that record no preprocessing: bytes / 255 and float features as they are, as in training.
        let preprocessing = weights.preprocessing ?? Preprocessing(inputScale: dataset.trainingInputScale)
        let predictor = try failing {
            try Predictor(
                architecture: weights.architecture, theta: weights.theta, preprocessing: preprocessing,
                batchSize: min(Self.batchSize, max(1, dataset.count)), threads: threadCount, buffers: weights.buffers)
        }
        let evaluation = try failing { try predictor.evaluate(raw: dataset) }
        // A logit that overflows float32 (or a NaN) makes the loss NaN: no accuracy to report.
        guard evaluation.lossSum.isFinite else {
            throw CommandFailure(
                "\(terminalSafe(modelFile)): the network's outputs are not finite on the \(split.rawValue) set (a logit overflows float32 or is NaN); the model cannot be evaluated")
        }
        if let predictionsTarget {
            let labels = try failing { try predictor.predictions(raw: dataset) }
            try failing {
                try AtomicFileWriter.write(Array(labels.map(String.init).joined(separator: "\n").appending("\n").utf8), to: predictionsTarget)
            }
        }
        let report = EvalReport(
            model: modelFile, data: data.selection.summary, split: split.rawValue, evaluation: evaluation,
            classNames: weights.labels.isEmpty ? dataset.classNames : weights.labels, confusion: confusion)
        if json { return try printJSON(report) }
        report.text.forEach { StandardOutput.line($0, toError: predictionsTarget == .standardOutput) }
    }

    static let memoryHint = "evaluate a smaller model, or fewer --threads"
    /// Examples run together on one thread (fewer for a smaller split).
    static let batchSize = 256

    /// The data: --data as given, else the data set the model records (said on standard
    /// error), else MNIST (said too).
    func dataSelection(recorded: String?) -> DataSelection {
        var selection = dataOptions.selection
        if dataOptions.data == nil {
            if let recorded {
                selection = DataSelection(recorded: recorded)
                note("evaluating on \(terminalSafe(recorded)), the data set \(modelFile) records (--data chooses another)")
            } else {
                note("\(modelFile) records no data set: evaluating on \(selection.summary) (--data chooses another)")
            }
        }
        return selection
    }

    /// Loads `selection`; a recorded SHA-256 that the data does not match is reported. The
    /// recorded digest is of the variant trained on: the same data set given without a
    /// `--train-fraction` variant is said to be that data set, with the part evaluated.
    func loadData(_ selection: DataSelection, digest: String?, recorded: String?) throws -> SelectedData {
        let data = try failing { try SelectedData(selection) }
        let trained = recorded.map { DataSelection(recorded: $0) }
        // (Only for a fraction of the training set: its copy is small beside the data.)
        if let digest, let trained, selection.variant.isIdentity, trained.variant.trainingFraction < 1, !trained.variant.shufflePixels,
           trained.name == selection.name, let variant = try? data.pair.applying(trained.variant),
           digest.lowercased() == hexString(variant.digest) {
            note("\(terminalSafe(selection.name)) is the data set \(modelFile) was trained on (\(terminalSafe(recorded ?? ""))); evaluating its whole "
                + (split == .train ? "training set, beyond the part trained on" : "\(split.rawValue) set"))
        } else if let digest, digest.lowercased() != hexString(data.pair.digest) {
            note("warning: \(selection.summary) has sha256 \(hexString(data.pair.digest)), but \(modelFile) records sha256 "
                + "\(terminalSafe(digest)) for the data it was trained on (\(terminalSafe(recorded ?? "unnamed"))): not the same data")
        }
        return data
    }

    private func note(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    /// A model file's weights and what it records about them.
    struct LoadedWeights {
        var architecture: Architecture
        /// The full weights, D floats in parameter order.
        var theta: [Float]
        /// The batch-norm running statistics (empty without batch norm).
        var buffers: [Float] = []
        var preprocessing: Preprocessing?
        /// The data set it was trained on and its SHA-256 (hex), if recorded.
        var dataset: String?
        var datasetDigest: String?
        /// The class names the model stores (empty when it has none).
        var labels: [String] = []
        /// The environment a policy was trained in (`--env`), if recorded.
        var environment: String?
    }

    /// The architecture, the full weights, the input preprocessing and the recorded data set
    /// of a .idz, a safetensors file (idzip.* metadata) or a .npy vector (its .npy.json sidecar).
    func loadWeights() throws -> LoadedWeights {
        /// The weights must fit before they are read or expanded (`MemoryBudget`).
        func checkMemory(_ architecture: Architecture) throws {
            try failing { try MemoryBudget.weights(of: architecture).check("evaluating \(modelFile)", hint: Self.memoryHint) }
        }
        let url = URL(fileURLWithPath: modelFile)
        if baseOption.base != nil, ["safetensors", "npy"].contains(url.pathExtension.lowercased()) {
            throw ValidationError("--base applies to a fine-tuned .idz model; \(modelFile) holds full weights")
        }
        switch url.pathExtension.lowercased() {
        case "safetensors":
            let file = try failing(modelFile) { try SafetensorsFile(contentsOf: url) }
            // A bad architecture inside the file is a bad file (exit 1), not a bad command line.
            guard let architecture = try model?.architecture
                ?? file.metadata[SafetensorsWriter.architectureKey].map({ text in try failing(modelFile) { try Architecture(spec: text) } })
            else {
                throw ValidationError("\(modelFile) does not name its architecture; give it with --model, e.g. --model fc:784-200-200-10")
            }
            let preprocessing = try file.metadata[WeightsDescription.preprocessingKey].map { text in
                try failing(modelFile) { try WeightsDescription.preprocessing(json: text) }
            }
            try checkMemory(architecture)
            return LoadedWeights(
                architecture: architecture, theta: try failing(modelFile) { try file.parameters(for: architecture) },
                buffers: try failing(modelFile) { try file.buffers(for: architecture).buffers },
                preprocessing: preprocessing, dataset: file.metadata[WeightsDescription.datasetKey],
                datasetDigest: file.metadata[WeightsDescription.datasetDigestKey])
        case "npy":
            let sidecarPath = WeightsDescription.sidecarPath(of: modelFile)
            let description = try FileManager.default.fileExists(atPath: sidecarPath)
                ? failing(sidecarPath) { try WeightsDescription(sidecar: ModelInputs.read(path: sidecarPath)) } : nil
            guard let architecture = try model?.architecture
                ?? description.map({ text in try failing(sidecarPath) { try Architecture(spec: text.architecture) } })
            else {
                throw ValidationError("\(modelFile) has no sidecar \(sidecarPath) naming its architecture; give it with --model")
            }
            try checkMemory(architecture)
            let theta = try failing(modelFile) { try NpyWeights.read(url) }
            let count = try failing { try architecture.parameterCount() }
            guard theta.count == count else {
                throw CommandFailure("\(modelFile): \(grouped(theta.count)) weights, but the architecture has \(grouped(count)) parameters")
            }
            if let expected = description?.weightsSHA256, hexString(IdzChecksum.weightsSHA256(theta)) != expected.lowercased() {
                throw CommandFailure("\(modelFile): the weights do not match the sha256 its sidecar records (\(terminalSafe(expected)))")
            }
            return LoadedWeights(
                architecture: architecture, theta: theta, preprocessing: description?.preprocessing,
                dataset: description?.dataset, datasetDigest: description?.datasetSHA256)
        default:
            var idz = try ModelFile.read(modelFile)
            try baseOption.attach(to: &idz, path: modelFile)
            if let model, model.architecture != idz.architecture {
                throw ValidationError("--model \(model.name) does not match the architecture stored in \(modelFile)")
            }
            try checkMemory(idz.architecture)
            let theta = try failing(modelFile) { try ModelExpansion.weights(of: idz, threads: threads ?? ParallelLoop.defaultThreads) }
            let description = WeightsDescription(model: idz)
            var dataset: String?
            if case .string(let name) = idz.metadata["dataset"] { dataset = name }
            var environment: String?
            if case .string(let name) = idz.metadata["environment"] { environment = name }
            return LoadedWeights(
                architecture: idz.architecture, theta: theta, buffers: idz.buffers, preprocessing: idz.preprocessing, dataset: dataset,
                datasetDigest: description?.datasetSHA256, labels: idz.labels, environment: environment)
        }
    }
}

extension Eval {
    /// `idzip eval --env`: the returns of the greedy policy over --episodes episodes.
    func evaluatePolicy(_ weights: LoadedWeights, environment: EnvironmentKind) throws {
        let traceTarget = try trace.map { try OutputCheck.file($0, role: "--trace", inputs: [modelFile], standardOutput: true) }
        do {
            try ReinforcementTask.check(architecture: weights.architecture, environment: environment)
        } catch {
            throw ValidationError("\(modelFile): \(error.description)")
        }
        let count = episodes ?? 100
        let episodeSeed = seed ?? 0
        var traces: [EpisodeTrace] = []
        let returns = try failing {
            try withUnsafeMutablePointer(to: &traces) { traces in
                try PolicyEvaluation.run(
                    architecture: weights.architecture, theta: weights.theta, environment: environment, episodes: count,
                    seed: episodeSeed, threads: threads ?? ParallelLoop.defaultThreads, traces: traceTarget == nil ? nil : traces)
            }
        }
        if let traceTarget {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let bytes = try failing { try encoder.encode(PolicyTrace(environment: environment.rawValue, seed: episodeSeed, episodes: traces)) }
            try failing { try AtomicFileWriter.write(Array(bytes) + [10], to: traceTarget) }
        }
        let report = PolicyEvalReport(
            model: modelFile, environment: environment.rawValue, episodes: count, seed: episodeSeed, mean: returns.mean,
            std: returns.standardDeviation, min: returns.minimum, max: returns.maximum,
            performance: returns.mean - environment.make().returnFloor, returns: returns.returns)
        if json { return try printJSON(report) }
        StandardOutput.line(String(format: "%@ in %@: return %.2f +- %.2f (min %g, max %g) over %@ (greedy policy, seed %@)",
            modelFile, environment.title, report.mean, report.std, report.min, report.max, counted(count, "episode"), String(episodeSeed)),
            toError: traceTarget == .standardOutput)
    }
}

/// `idzip eval --trace`: every episode as played.
private struct PolicyTrace: Encodable {
    var environment: String
    var seed: UInt64
    var episodes: [EpisodeTrace]
}

/// What `idzip eval --env` reports, in the shape of its JSON output.
private struct PolicyEvalReport: Encodable {
    var model: String
    var environment: String
    var episodes: Int
    var seed: UInt64
    var mean: Double
    var std: Double
    var min: Double
    var max: Double
    /// Mean return minus the environment's floor (the paper's RL performance).
    var performance: Double
    var returns: [Double]
}

/// What `idzip eval` reports, in the shape of its JSON output.
private struct EvalReport: Encodable {
    var model: String
    var data: String
    var split: String
    var examples: Int
    var accuracy: Double
    var loss: Double
    var per_class_accuracy: [String: Double]
    var confusion: [[Int]]?
    /// Class names in class order (not encoded).
    let classNames: [String]
    let perClass: [Double?]

    enum CodingKeys: String, CodingKey { case model, data, split, examples, accuracy, loss, per_class_accuracy, confusion }

    init(model: String, data: String, split: String, evaluation: Evaluation, classNames names: [String], confusion: Bool) {
        let count = evaluation.classCount
        classNames = names.count == count ? names : (0..<count).map(String.init)
        perClass = evaluation.perClassAccuracy
        self.model = model
        self.data = data
        self.split = split
        examples = evaluation.exampleCount
        accuracy = evaluation.accuracy
        loss = evaluation.meanLoss
        // Class names are unique (the data set refuses repeats when it loads); keep the first anyway.
        per_class_accuracy = Dictionary(
            zip(classNames, perClass).compactMap { name, value in value.map { (name, $0) } }, uniquingKeysWith: { first, _ in first })
        self.confusion = confusion
            ? (0..<count).map { actual in (0..<count).map { evaluation.count(actual: actual, predicted: $0) } } : nil
    }

    var text: [String] {
        let classNames = self.classNames.map(terminalSafe)
        var lines = [
            String(format: "%@ on %@ %@ (%@): accuracy %.2f%%, loss %.4f",
                model, data, split, counted(examples, "example"), accuracy * 100, loss),
            "per class: " + zip(classNames, perClass).map { name, value in
                "\(name) " + (value.map { String(format: "%.1f%%", $0 * 100) } ?? "-")
            }.joined(separator: ", "),
        ]
        guard let confusion else { return lines }
        // Every column as wide as its widest entry (the class name over it, or a count), names
        // and counts right-aligned, so that each count sits under its class's name; the row
        // names form a left-aligned first column. Names over 12 characters are clipped.
        func clip(_ name: String) -> String { name.count > 12 ? String(name.prefix(11)) + "~" : name }
        let names = classNames.map(clip)
        let columnWidths = names.indices.map { column in
            max(names[column].count, confusion.map { String($0[column]).count }.max() ?? 1)
        }
        let rowWidth = names.map(\.count).max() ?? 1
        func pad(_ text: String, _ width: Int, right: Bool) -> String {
            let space = String(repeating: " ", count: max(0, width - text.count))
            return right ? space + text : text + space
        }
        lines.append("confusion (rows: true class, columns: predicted):")
        lines.append(pad("", rowWidth, right: false) + zip(names, columnWidths).map { "  " + pad($0, $1, right: true) }.joined())
        for (name, row) in zip(names, confusion) {
            lines.append(pad(name, rowWidth, right: false) + zip(row, columnWidths).map { "  " + pad(String($0), $1, right: true) }.joined())
        }
        return lines
    }
}
