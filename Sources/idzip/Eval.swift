import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model (.idz or safetensors) on a data set: accuracy, loss, per-class accuracy.",
        discussion: "A .idz model is expanded and checked against its SHA-256 first. A safetensors file needs its architecture, from --model or from the file's idzip metadata."
    )

    @Argument(help: "A .idz model or a safetensors file of full weights.", completion: .file(extensions: ["idz", "safetensors"]))
    var modelFile: String

    @Option(help: "Architecture of a safetensors file (default: the one its metadata names).", transform: ModelArgument.parse)
    var model: ModelArgument?

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Which part of the data set: test or train.")
    var split: Split = .test

    @Flag(help: "Also print the confusion matrix (rows: true class, columns: predicted).")
    var confusion = false

    @Option(help: "Write the predicted class of every example to this file, one number per line.", completion: .file())
    var predictions: String?

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print JSON for pipelines.")
    var json = false

    enum Split: String, ExpressibleByArgument, CaseIterable { case test, train }

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be in 1...256") }
    }

    func run() throws {
        let source = try openModel()
        let threadCount = threads ?? ParallelLoop.defaultThreads
        try failing { try MemoryBudget.weights(of: source.architecture).check("evaluating \(modelFile)", hint: Self.memoryHint) }
        let data = try dataOptions.load()
        let dataset = split == .test ? data.pair.test : data.pair.train
        // Every allocation of the evaluation, checked before the weights are expanded.
        let batchSize = min(256, max(1, dataset.count))
        var budget = Predictor.memoryBudget(architecture: source.architecture, examples: dataset.count, batchSize: batchSize, threads: threadCount)
        budget.add("data set", bytes: data.pair.byteCount)
        let theta = try source.weights(alongside: budget, task: "evaluating \(modelFile)", threads: threadCount)
        // safetensors store no preprocessing: then bytes / 255 and float features as they are, as in training.
        let preprocessing = source.preprocessing ?? Preprocessing(inputScale: dataset.trainingInputScale)
        let predictor = try failing {
            try Predictor(architecture: source.architecture, theta: theta, preprocessing: preprocessing, batchSize: batchSize, threads: threadCount)
        }
        let evaluation = try failing { try predictor.evaluate(raw: dataset) }
        if let predictions {
            let labels = try failing { try predictor.predictions(raw: dataset) }
            try failing {
                try AtomicFileWriter.write(Array(labels.map(String.init).joined(separator: "\n").appending("\n").utf8), to: URL(fileURLWithPath: predictions))
            }
        }
        let report = EvalReport(
            model: modelFile, data: data.selection.summary, split: split.rawValue, evaluation: evaluation,
            classNames: dataset.classNames, confusion: confusion)
        if json { return try printJSON(report) }
        report.text.forEach { print($0) }
    }

    static let memoryHint = "evaluate a smaller model, or fewer --threads"

    /// The model file, read but not expanded: its architecture and preprocessing.
    struct ModelSource {
        var architecture: Architecture
        var preprocessing: Preprocessing?
        var path: String
        var idz: IdzModel?
        var safetensors: SafetensorsFile?

        /// The full weights, once `alongside` and the weights fit the memory limit.
        func weights(alongside budget: MemoryBudget, task: String, threads: Int) throws -> [Float] {
            if let idz {
                return try failing(path) { try ModelExpansion.weights(of: idz, threads: threads, alongside: budget, task: task) }
            }
            var total = MemoryBudget.weights(of: architecture)
            total.add(budget)
            try failing { try total.check(task, hint: Eval.memoryHint) }
            return try failing(path) { try safetensors!.parameters(for: architecture) }
        }
    }

    /// Reads the model file's architecture (and, for a .idz file, its preprocessing).
    func openModel() throws -> ModelSource {
        if URL(fileURLWithPath: modelFile).pathExtension.lowercased() == "safetensors" {
            let file = try failing(modelFile) { try SafetensorsFile(contentsOf: URL(fileURLWithPath: modelFile)) }
            // A bad architecture inside the file is a bad file (exit 1), not a bad command line.
            guard let architecture = try model?.architecture
                ?? file.metadata["idzip.architecture"].map({ text in try failing(modelFile) { try Architecture(spec: text) } })
            else {
                throw ValidationError("\(modelFile) does not name its architecture; give it with --model, e.g. --model fc:784-200-200-10")
            }
            return ModelSource(architecture: architecture, preprocessing: nil, path: modelFile, safetensors: file)
        }
        let idz = try ModelFile.read(modelFile)
        if let model, model.architecture != idz.architecture {
            throw ValidationError("--model \(model.name) does not match the architecture stored in \(modelFile)")
        }
        return ModelSource(architecture: idz.architecture, preprocessing: idz.preprocessing, path: modelFile, idz: idz)
    }
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
        classNames = (names.count == count ? names : (0..<count).map(String.init)).map(terminalSafe)
        perClass = evaluation.perClassAccuracy
        self.model = model
        self.data = data
        self.split = split
        examples = evaluation.exampleCount
        accuracy = evaluation.accuracy
        loss = evaluation.meanLoss
        per_class_accuracy = Dictionary(uniqueKeysWithValues: zip(classNames, perClass).compactMap { name, value in value.map { (name, $0) } })
        self.confusion = confusion
            ? (0..<count).map { actual in (0..<count).map { evaluation.count(actual: actual, predicted: $0) } } : nil
    }

    var text: [String] {
        var lines = [
            String(format: "%@ on %@ %@ (%@ examples): accuracy %.2f%%, loss %.4f",
                model, data, split, grouped(examples), accuracy * 100, loss),
            "per class: " + zip(classNames, perClass).map { name, value in
                "\(name) " + (value.map { String(format: "%.1f%%", $0 * 100) } ?? "-")
            }.joined(separator: ", "),
        ]
        guard let confusion else { return lines }
        let width = max(5, classNames.map(\.count).max() ?? 0)
        func cell(_ text: String, right: Bool = false) -> String {
            let clipped = right ? text : String(text.prefix(width))
            let space = String(repeating: " ", count: max(0, width - clipped.count))
            return right ? space + clipped : clipped + space
        }
        lines.append("confusion (rows: true class, columns: predicted):")
        lines.append(String(repeating: " ", count: width) + classNames.map { " " + cell($0) }.joined())
        for (name, row) in zip(classNames, confusion) {
            lines.append(cell(name) + row.map { " " + cell(String($0), right: true) }.joined())
        }
        return lines
    }
}
