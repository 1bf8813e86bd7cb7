import Foundation
import IdzipCore
import IdzipTraining

/// Writes what training produced, after evaluating the weights exactly as they are stored
/// (theta_d quantised, then expanded), so the recorded accuracy is what `idzip eval` reports.
struct TrainedModelWriter {
    var architecture: Architecture
    var theta0Seed: UInt64
    var data: DatasetPair
    var dataSummary: String
    var configuration: TrainingConfiguration
    var epochsCompleted: Int

    struct Result {
        var fileBytes: Int
        var test: Evaluation
        var train: Evaluation
    }

    /// - Parameters:
    ///   - trained: theta_d (subspace) or theta (direct).
    ///   - theta: the full weights of direct training, nil for subspace training.
    ///   - projection: the subspace, nil for direct training.
    func write(
        trained: [Float], theta: [Float]?, theta0: [Float], projection: ProjectionSpec?, encoding: ThetaEncoding, to output: String
    ) throws -> Result {
        let url = URL(fileURLWithPath: output)
        if let theta, url.pathExtension.lowercased() == "safetensors" {
            let (test, train) = try evaluate(theta, preprocessing: preprocessing)
            try writeSafetensors(theta, test: test, train: train, to: url)
            return Result(fileBytes: ModelFile.size(output), test: test, train: train)
        }
        let spec: ProjectionSpec
        let thetaD: [Float]
        if let projection {
            spec = projection
            thetaD = trained
        } else {
            // Direct training stored as theta0 + I (theta - theta0).
            spec = ProjectionSpec(kind: .identity, seed: 0, dimension: theta0.count)
            thetaD = zip(theta ?? trained, theta0).map { $0 - $1 }
        }
        var model = IdzModel(
            architecture: architecture, theta0Seed: theta0Seed, projection: spec,
            theta: StoredTheta.encode(thetaD, as: encoding),
            preprocessing: preprocessing,
            labels: labels(), metadata: [], weightsSHA256: [UInt8](repeating: 0, count: 32))
        let weights: [Float]
        do {
            weights = try ModelExpansion.expander(for: model, threads: configuration.threads).expandAll()
        } catch {
            throw CommandFailure(error.description)
        }
        model.weightsSHA256 = IdzChecksum.weightsSHA256(weights)
        let (test, train) = try evaluate(weights, preprocessing: model.preprocessing)
        model.metadata = metadata(test: test, train: train).map { MetadataEntry(key: $0.key, value: $0.value) }
        do {
            try IdzFile.write(model, to: url)
        } catch {
            throw CommandFailure(error.description)
        }
        return Result(fileBytes: ModelFile.size(output), test: test, train: train)
    }

    /// The data set's class names, unless they are just 0, 1, 2, ... (then the file stores none).
    func labels() -> [String] {
        let classes = (try? architecture.outputCount()) ?? 0
        let names = data.train.classNames
        return names.count == classes && names != (0..<classes).map(String.init) ? names : []
    }

    /// What training applied to the inputs: bytes / 255, float features as they are.
    var preprocessing: Preprocessing {
        Preprocessing(inputScale: data.train.trainingInputScale, mean: [0], standardDeviation: [1])
    }

    /// Evaluated on raw inputs through `preprocessing`, exactly as `idzip eval` does.
    func evaluate(_ weights: [Float], preprocessing: Preprocessing) throws -> (test: Evaluation, train: Evaluation) {
        do {
            let predictor = try Predictor(
                architecture: architecture, theta: weights, preprocessing: preprocessing, threads: configuration.threads)
            return (try predictor.evaluate(raw: data.test), try predictor.evaluate(raw: data.train))
        } catch {
            throw CommandFailure(error.description)
        }
    }

    /// Provenance, kept short so that a model with d = 1000 stays under 4 KB: the data set
    /// and its digest, the accuracy of the stored weights (training accuracy too when the
    /// labels are shuffled, where it is the measure of performance) and the epochs. The full
    /// settings are in `idzip train --json`'s summary.
    func metadata(test: Evaluation, train: Evaluation) -> [(key: String, value: MetadataValue)] {
        var entries: [(key: String, value: MetadataValue)] = [
            ("dataset", .string(dataSummary)),
            ("dataset.sha256", .bytes(data.digest)),
            ("test.accuracy", .double(test.accuracy)),
        ]
        if dataSummary.contains("shuffled labels") { entries.append(("train.accuracy", .double(train.accuracy))) }
        entries.append(("epochs", .int(Int64(epochsCompleted))))
        return entries
    }

    func writeSafetensors(_ theta: [Float], test: Evaluation, train: Evaluation, to url: URL) throws {
        var entries: [(key: String, value: String)] = [
            ("format", "pt"), ("producer", "idzip \(IdzipVersion.current)"), ("idzip.training", configuration.summary),
            (SafetensorsWriter.architectureKey, ""),  // the writer records the architecture here
        ]
        for (key, value) in metadata(test: test, train: train) {
            let text = switch value {
            case .string(let string): string
            case .double(let number): String(number)
            case .int(let number): String(number)
            case .bool(let flag): String(flag)
            case .bytes(let bytes): hexString(bytes)
            }
            entries.append(("idzip.\(key)", text))
        }
        do {
            try SafetensorsWriter.write(theta, architecture: architecture, metadata: entries, to: url)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
