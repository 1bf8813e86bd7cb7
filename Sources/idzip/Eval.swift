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
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
    }

    func run() throws {
        let (architecture, theta, storedPreprocessing, storedLabels) = try loadWeights()
        let data = try dataOptions.load()
        let dataset = split == .test ? data.pair.test : data.pair.train
        // safetensors store no preprocessing: then bytes / 255 and float features as they are, as in training.
        let preprocessing = storedPreprocessing ?? Preprocessing(inputScale: dataset.trainingInputScale)
        let predictor = try failing {
            try Predictor(architecture: architecture, theta: theta, preprocessing: preprocessing, threads: threads ?? ParallelLoop.defaultThreads)
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
            classNames: storedLabels.isEmpty ? dataset.classNames : storedLabels, confusion: confusion)
        if json { return try printJSON(report) }
        report.text.forEach { print($0) }
    }

    /// The architecture, the full weights, the input preprocessing and the class names
    /// (empty when the file has none) of the model file.
    func loadWeights() throws -> (Architecture, [Float], Preprocessing?, [String]) {
        if URL(fileURLWithPath: modelFile).pathExtension.lowercased() == "safetensors" {
            let file = try failing(modelFile) { try SafetensorsFile(contentsOf: URL(fileURLWithPath: modelFile)) }
            // A bad architecture inside the file is a bad file (exit 1), not a bad command line.
            guard let architecture = try model?.architecture
                ?? file.metadata["idzip.architecture"].map({ text in try failing(modelFile) { try Architecture(spec: text) } })
            else {
                throw ValidationError("\(modelFile) does not name its architecture; give it with --model, e.g. --model fc:784-200-200-10")
            }
            return (architecture, try failing(modelFile) { try file.parameters(for: architecture) }, nil, [])
        }
        let idz = try ModelFile.read(modelFile)
        if let model, model.architecture != idz.architecture {
            throw ValidationError("--model \(model.name) does not match the architecture stored in \(modelFile)")
        }
        return (idz.architecture, try failing(modelFile) { try ModelExpansion.weights(of: idz, threads: threads ?? ParallelLoop.defaultThreads) },
            idz.preprocessing, idz.labels)
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
        per_class_accuracy = Dictionary(
            zip(classNames, perClass).compactMap { name, value in value.map { (name, $0) } }, uniquingKeysWith: { first, _ in first })
        self.confusion = confusion
            ? (0..<count).map { actual in (0..<count).map { evaluation.count(actual: actual, predicted: $0) } } : nil
    }

    var text: [String] {
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
