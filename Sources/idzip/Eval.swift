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

    @Option(help: "Architecture of a safetensors file (default: the one its metadata names).")
    var model: String?

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

    func run() throws {
        let (architecture, theta, storedPreprocessing) = try loadWeights()
        let data = try dataOptions.load()
        let dataset = split == .test ? data.test : data.train
        let preprocessing = storedPreprocessing ?? Preprocessing(inputScale: dataset.trainingInputScale)
        let evaluation: Evaluation
        do {
            let predictor = try Predictor(
                architecture: architecture, theta: theta, preprocessing: preprocessing, threads: threads ?? ParallelLoop.defaultThreads)
            evaluation = try predictor.evaluate(raw: dataset)
            if let predictions {
                let labels = try predictor.predictions(raw: dataset)
                do {
                    try AtomicFileWriter.write(Array(labels.map(String.init).joined(separator: "\n").appending("\n").utf8), to: URL(fileURLWithPath: predictions))
                } catch {
                    throw CommandFailure(error.description)
                }
            }
        } catch let error as InferenceError {
            throw CommandFailure(error.description)
        }
        let classNames = dataset.classNames.count == evaluation.classCount
            ? dataset.classNames : (0..<evaluation.classCount).map(String.init)
        let report = EvalReport(
            model: modelFile, data: dataOptions.summary, split: split.rawValue, examples: evaluation.exampleCount,
            accuracy: evaluation.accuracy, loss: evaluation.meanLoss,
            per_class_accuracy: Dictionary(uniqueKeysWithValues: zip(classNames, evaluation.perClassAccuracy).compactMap { name, value in value.map { (name, $0) } }),
            confusion: confusion ? (0..<evaluation.classCount).map { actual in (0..<evaluation.classCount).map { evaluation.count(actual: actual, predicted: $0) } } : nil)
        if json {
            try printJSON(report)
            return
        }
        print(String(format: "%@ on %@ %@ (%@ examples): accuracy %.2f%%, loss %.4f",
            modelFile, dataOptions.summary, split.rawValue, grouped(evaluation.exampleCount), evaluation.accuracy * 100, evaluation.meanLoss))
        let width = max(5, classNames.map(\.count).max() ?? 0)
        print("per class: " + zip(classNames, evaluation.perClassAccuracy).map { name, value in
            "\(name) " + (value.map { String(format: "%.1f%%", $0 * 100) } ?? "-")
        }.joined(separator: ", "))
        if let matrix = report.confusion {
            print("confusion (rows: true class, columns: predicted):")
            print(String(repeating: " ", count: width) + classNames.map { " " + $0.prefix(width).padding(toLength: width, withPad: " ", startingAt: 0) }.joined())
            for (name, row) in zip(classNames, matrix) {
                print(name.prefix(width).padding(toLength: width, withPad: " ", startingAt: 0)
                    + row.map { " " + String(repeating: " ", count: max(0, width - String($0).count)) + String($0) }.joined())
            }
        }
    }

    /// The architecture, the full weights and the input preprocessing of the model file (nil
    /// for safetensors, which stores none: then bytes / 255 and float features as they are,
    /// as in training).
    func loadWeights() throws -> (Architecture, [Float], Preprocessing?) {
        if URL(fileURLWithPath: modelFile).pathExtension.lowercased() == "safetensors" {
            let file: SafetensorsFile
            do { file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: modelFile)) } catch { throw CommandFailure("\(modelFile): \(error.description)") }
            guard let spec = model ?? file.metadata["idzip.architecture"] else {
                throw ValidationError("\(modelFile) does not name its architecture; give it with --model, e.g. --model fc:784-200-200-10")
            }
            let architecture: Architecture
            do { architecture = try Architecture(spec: spec) } catch { throw ValidationError(error.description) }
            do {
                return (architecture, try file.parameters(for: architecture), nil)
            } catch {
                throw CommandFailure("\(modelFile): \(error.description)")
            }
        }
        let idz = try ModelFile.read(modelFile)
        if let model, (try? Architecture(spec: model)) != idz.architecture {
            throw ValidationError("--model \(model) does not match the architecture stored in \(modelFile)")
        }
        do {
            return (idz.architecture, try ModelExpansion.weights(of: idz, threads: threads ?? ParallelLoop.defaultThreads), idz.preprocessing)
        } catch {
            throw CommandFailure("\(modelFile): \(error.description)")
        }
    }
}

private struct EvalReport: Encodable {
    var model: String
    var data: String
    var split: String
    var examples: Int
    var accuracy: Double
    var loss: Double
    var per_class_accuracy: [String: Double]
    var confusion: [[Int]]?
}
