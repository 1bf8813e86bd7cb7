import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a .idz model on inputs: PNG or PGM images and .npy arrays; print each class and its probability.",
        discussion: """
            Values are raw (pixels 0...255, arrays as stored); the model's preprocessing is applied, as in idzip eval. \
            An image must have the model's width and height (or give --resize: area resampling, stretched); a color image \
            given to a gray model is converted with L = 0.299 R + 0.587 G + 0.114 B, transparency is composited onto black. \
            A .npy array (uint8, float32 or float64) holds one example ([784], [1,28,28], [28,28] for LeNet) or a batch \
            ([N,784], [N,1,28,28], [N,28,28]). "-" reads one file from standard input.
            """
    )

    @Argument(help: "The .idz model.", completion: .file(extensions: ["idz"]))
    var modelFile: String

    @Argument(help: "PNG, PGM (P2/P5) or .npy files; - for standard input.", completion: .file(extensions: ["png", "pgm", "npy"]))
    var inputs: [String]

    @Option(help: ArgumentHelp("Print the k most probable classes, the predicted one first.", valueName: "k"))
    var top: Int = 1

    @Flag(help: "Resize images whose width or height differs from the model's input (area resampling).")
    var resize = false

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print JSON for pipelines: a list of records.")
    var json = false

    @OptionGroup var baseOption: BaseOption

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input: a PNG, PGM or .npy file, or - for standard input") }
        if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("- (standard input) can be given only once") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
    }

    func run() throws {
        var model = try ModelFile.read(modelFile)
        try baseOption.attach(to: &model, path: modelFile)
        let threadCount = threads ?? ParallelLoop.defaultThreads
        let reader = ModelInputs(inputShape: model.architecture.inputShape, resize: resize)
        // Every input is read and checked before anything is printed; each file's decoded
        // size (from its header) is checked against the memory limit before it is decoded.
        var decodedFloats = 0
        let decoded = try inputs.map { input in
            try failing {
                let bytes = input == "-" ? try ModelInputs.readStandardInput() : try ModelInputs.read(path: input)
                // A file refused from its header (a size over InputLimits) is refused by
                // decoding, which says so without allocating.
                if let floats = reader.decodedFloats(of: bytes) {
                    var reading = MemoryBudget()
                    reading.addProcessBaseline()
                    reading.add("inputs decoded (\(terminalSafe(input)) the last)", floats: MemoryBudget.sum(decodedFloats, floats))
                    reading.add("\(terminalSafe(input)) as read", bytes: bytes.capacity)
                    try reading.check("reading the inputs of \(terminalSafe(modelFile))", hint: "give fewer or smaller inputs")
                }
                let examples = try reader.examples(from: bytes, name: input)
                decodedFloats = MemoryBudget.sum(decodedFloats, examples.raw.count)
                return (name: input, examples: examples)
            }
        }
        let exampleCount = decoded.reduce(0) { $0 + $1.examples.count }
        let batchSize = min(256, max(1, exampleCount))
        var budget = Predictor.memoryBudget(architecture: model.architecture, examples: exampleCount, batchSize: batchSize, threads: threadCount)
        budget.add(Predictor.inputsAndOutputs(architecture: model.architecture, examples: exampleCount, inputFiles: decoded.count))
        budget.addProcessBaseline()
        let theta = try failing(modelFile) {
            try ModelExpansion.weights(of: model, threads: threadCount, alongside: budget, task: "running \(modelFile)")
        }
        let predictor = try failing {
            try Predictor(
                architecture: model.architecture, theta: theta, preprocessing: model.preprocessing, batchSize: batchSize, threads: threadCount,
                buffers: model.buffers)
        }
        // One input file's examples are passed as they are (no copy).
        let raw = decoded.count == 1 ? decoded[0].examples.raw : decoded.flatMap(\.examples.raw)
        let predictions = try failing { try predictor.classify(raw: raw) }
        // A logit that overflows float32 (or a NaN) has no probabilities: nothing is printed.
        if let index = predictions.firstIndex(where: { !$0.probabilities.allSatisfy(\.isFinite) }) {
            var offset = index
            var name = "-"
            for (input, examples) in decoded {
                if offset < examples.count {
                    name = terminalSafe(input) + (examples.count > 1 ? " (example \(offset))" : "")
                    break
                }
                offset -= examples.count
            }
            throw CommandFailure("\(name): the network's outputs are not finite (a logit overflows float32 or is NaN); \(terminalSafe(modelFile)) cannot classify it")
        }
        let labels = model.labels.count == predictor.classCount ? model.labels : []
        var records: [PredictionRecord] = []
        var next = 0
        for (name, examples) in decoded {
            for index in 0..<examples.count {
                records.append(PredictionRecord(
                    input: name, index: examples.count > 1 ? index : nil, prediction: predictions[next], top: top, labels: labels))
                next += 1
            }
        }
        if json { return try printJSON(records) }
        records.forEach { print($0.text) }
    }
}

/// One example's prediction, in the shape of `idzip predict --json`.
private struct PredictionRecord: Encodable {
    struct Candidate: Encodable {
        var `class`: Int
        var label: String?
        var probability: Double

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(`class`, forKey: .class)
            try container.encode(label, forKey: .label)  // null without labels
            try container.encode(probability, forKey: .probability)
        }
    }

    var input: String
    /// The example's index in a batch (an array of several examples), else nil.
    var index: Int?
    var `class`: Int
    var label: String?
    var probability: Double
    var top: [Candidate]
    var probabilities: [Double]

    enum CodingKeys: String, CodingKey { case input, index, `class`, label, probability, top, probabilities }

    init(input: String, index: Int?, prediction: Prediction, top k: Int, labels: [String]) {
        self.input = input
        self.index = index
        `class` = prediction.predictedClass
        label = labels.isEmpty ? nil : labels[prediction.predictedClass]
        probability = prediction.probabilities[prediction.predictedClass]
        top = prediction.top(k).map { Candidate(class: $0.class, label: labels.isEmpty ? nil : labels[$0.class], probability: $0.probability) }
        probabilities = prediction.probabilities
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(input, forKey: .input)
        try container.encode(index, forKey: .index)  // null for a single example
        try container.encode(`class`, forKey: .class)
        try container.encode(label, forKey: .label)  // null without labels
        try container.encode(probability, forKey: .probability)
        try container.encode(top, forKey: .top)
        try container.encode(probabilities, forKey: .probabilities)
    }

    /// `digit.png: 7 (p=0.9981)`, `batch.npy[3]: 2 (p=0.5120); next 7 (p=0.4102), 3 (p=0.0511)`.
    var text: String {
        func candidate(_ item: Candidate) -> String {
            "\(item.class)" + (item.label.map { " " + terminalSafe($0) } ?? "") + String(format: " (p=%.4f)", item.probability)
        }
        let name = terminalSafe(index.map { "\(input)[\($0)]" } ?? input)
        let alternatives = top.dropFirst().map(candidate)
        return "\(name): " + candidate(top[0]) + (alternatives.isEmpty ? "" : "; next " + alternatives.joined(separator: ", "))
    }
}
